//! The Streams API surface through the AWS SDK: StreamSpecification on
//! CreateTable/UpdateTable with DynamoDB's refusals, TableDescription's
//! stream members, ListStreams paging, disabled streams staying readable
//! and re-enabling making a new ARN, iterator types, GetRecords paging,
//! iterator expiry, and bad input (ARNs, iterators, sequence numbers,
//! limits) getting DynamoDB's errors.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;

use aws_sdk_dynamodb::types::{AttributeValue, StreamSpecification, StreamViewType};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use common::streams::{
    all_shards, create_streamed_table, read_all, record_pk, sequence, streams_client,
};
use common::{Server, error_type, start_with_config};

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn spec(enabled: bool, view: Option<StreamViewType>) -> StreamSpecification {
    StreamSpecification::builder()
        .stream_enabled(enabled)
        .set_stream_view_type(view)
        .build()
        .expect("spec")
}

fn code<E: ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_specification_lifecycle() {
    let server = Server::start("streams-spec", 2);
    let client = server.client();
    let streams = streams_client(&server.endpoint());
    common::create_simple_table(&client, "plain", None).await;
    let described = client
        .describe_table()
        .table_name("plain")
        .send()
        .await
        .expect("describe");
    let table = described.table().expect("table");
    assert!(table.latest_stream_arn().is_none() && table.stream_specification().is_none());
    // Disabling a stream the table does not have.
    let e = client
        .update_table()
        .table_name("plain")
        .stream_specification(spec(false, None))
        .send()
        .await
        .expect_err("no stream to disable");
    assert_eq!(
        code(e.as_service_error().expect("service")),
        "ValidationException"
    );
    // Enabled without a view type.
    let e = client
        .update_table()
        .table_name("plain")
        .stream_specification(spec(true, None))
        .send()
        .await
        .expect_err("view type required");
    assert_eq!(
        code(e.as_service_error().expect("service")),
        "ValidationException"
    );
    let out = client
        .update_table()
        .table_name("plain")
        .stream_specification(spec(true, Some(StreamViewType::KeysOnly)))
        .send()
        .await
        .expect("enable");
    let first_arn = out
        .table_description()
        .and_then(|t| t.latest_stream_arn())
        .expect("arn")
        .to_string();
    let label = out
        .table_description()
        .and_then(|t| t.latest_stream_label())
        .expect("label")
        .to_string();
    assert_eq!(
        first_arn,
        format!("arn:aws:dynamodb:us-east-1:000000000000:table/plain/stream/{label}")
    );
    assert_eq!(label.len(), 23, "ISO-8601 with milliseconds: {label}");
    // Enabling again, or changing the view type without disabling first.
    for view in [StreamViewType::KeysOnly, StreamViewType::NewImage] {
        let e = client
            .update_table()
            .table_name("plain")
            .stream_specification(spec(true, Some(view)))
            .send()
            .await
            .expect_err("already enabled");
        let e = e.as_service_error().expect("service");
        assert_eq!(code(e), "ValidationException");
        assert!(
            e.message()
                .unwrap_or_default()
                .contains("already has an enabled stream")
        );
    }
    let described = client
        .describe_table()
        .table_name("plain")
        .send()
        .await
        .expect("describe");
    let spec_now = described
        .table()
        .and_then(|t| t.stream_specification())
        .expect("spec");
    assert!(spec_now.stream_enabled());
    assert_eq!(spec_now.stream_view_type(), Some(&StreamViewType::KeysOnly));
    client
        .put_item()
        .table_name("plain")
        .item("pk", s("x"))
        .send()
        .await
        .expect("put");
    client
        .update_table()
        .table_name("plain")
        .stream_specification(spec(false, None))
        .send()
        .await
        .expect("disable");
    client
        .put_item()
        .table_name("plain")
        .item("pk", s("after-disable"))
        .send()
        .await
        .expect("put");
    // The disabled stream stays readable, with its record, all shards closed.
    let description = streams
        .describe_stream()
        .stream_arn(&first_arn)
        .send()
        .await
        .expect("describe stream");
    let description = description.stream_description().expect("description");
    assert_eq!(
        description.stream_status().map(|s| s.as_str()),
        Some("DISABLED")
    );
    assert!(description.shards().iter().all(|s| {
        s.sequence_number_range()
            .and_then(|r| r.ending_sequence_number())
            .is_some()
    }));
    let records = read_all(&streams, &first_arn).await;
    let keys: Vec<String> = records.iter().map(|(_, r)| record_pk(r)).collect();
    assert_eq!(
        keys,
        vec!["x".to_string()],
        "only the write made while enabled"
    );
    // Re-enabling makes a new stream (new ARN); both are listed.
    let out = client
        .update_table()
        .table_name("plain")
        .stream_specification(spec(true, Some(StreamViewType::NewImage)))
        .send()
        .await
        .expect("re-enable");
    let second_arn = out
        .table_description()
        .and_then(|t| t.latest_stream_arn())
        .expect("arn")
        .to_string();
    assert_ne!(first_arn, second_arn);
    let arn_other = create_streamed_table(&client, "other", StreamViewType::NewAndOldImages).await;
    let mut listed = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let page = streams
            .list_streams()
            .limit(1)
            .set_exclusive_start_stream_arn(start.clone())
            .send()
            .await
            .expect("list streams");
        assert!(page.streams().len() <= 1);
        listed.extend(
            page.streams()
                .iter()
                .map(|s| s.stream_arn().unwrap_or_default().to_string()),
        );
        match page.last_evaluated_stream_arn() {
            Some(last) => start = Some(last.to_string()),
            None => break,
        }
    }
    assert_eq!(
        listed,
        vec![arn_other.clone(), first_arn.clone(), second_arn.clone()]
    );
    let only = streams
        .list_streams()
        .table_name("other")
        .send()
        .await
        .expect("list one table");
    assert_eq!(only.streams().len(), 1);
    assert_eq!(only.streams()[0].table_name(), Some("other"));
    // CreateTable refusals.
    let e = client
        .create_table()
        .table_name("bad")
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .expect("attr"),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .expect("key"),
        )
        .stream_specification(spec(false, Some(StreamViewType::KeysOnly)))
        .send()
        .await
        .expect_err("disabled with a view type");
    assert_eq!(
        code(e.as_service_error().expect("service")),
        "ValidationException"
    );
    assert!(
        client
            .describe_table()
            .table_name("bad")
            .send()
            .await
            .is_err(),
        "nothing created"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn iterator_types_paging_and_bad_input() {
    let server = start_with_config(
        "streams-iterators",
        1,
        "stream_shard_rollover_ms = 3600000\nstream_iterator_lifetime_ms = 2000\n",
    );
    let client = server.client();
    let streams = streams_client(&server.endpoint());
    let arn = create_streamed_table(&client, "tab", StreamViewType::NewImage).await;
    for i in 0..7 {
        client
            .put_item()
            .table_name("tab")
            .item("pk", s(&format!("k{i}")))
            .send()
            .await
            .expect("put");
    }
    let shards = all_shards(&streams, &arn, 100).await;
    assert_eq!(shards.len(), 1, "one Dynacore shard, no rollover yet");
    let shard_id = shards[0].shard_id().expect("id").to_string();
    let iterator = |kind: ShardIteratorType, seq: Option<String>| {
        streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(&shard_id)
            .shard_iterator_type(kind)
            .set_sequence_number(seq)
            .send()
    };
    // Paging with Limit 3: 3 + 3 + 1 records, then an empty page with an iterator (open shard).
    let mut it = iterator(ShardIteratorType::TrimHorizon, None)
        .await
        .expect("trim horizon")
        .shard_iterator()
        .map(str::to_string);
    let mut pages = Vec::new();
    let mut all = Vec::new();
    loop {
        let out = streams
            .get_records()
            .shard_iterator(it.clone().expect("iterator"))
            .limit(3)
            .send()
            .await
            .expect("get records");
        pages.push(out.records().len());
        all.extend(out.records().iter().cloned());
        it = out.next_shard_iterator().map(str::to_string);
        assert!(it.is_some(), "an open shard always continues");
        if out.records().is_empty() {
            break;
        }
    }
    assert_eq!(pages, vec![3, 3, 1, 0]);
    let keys: Vec<String> = all.iter().map(record_pk).collect();
    assert_eq!(keys, (0..7).map(|i| format!("k{i}")).collect::<Vec<_>>());
    // AT and AFTER a sequence number.
    let third = sequence(&all[2]);
    let at = iterator(ShardIteratorType::AtSequenceNumber, Some(third.clone()))
        .await
        .expect("at");
    let out = streams
        .get_records()
        .shard_iterator(at.shard_iterator().expect("it"))
        .limit(1)
        .send()
        .await
        .expect("records");
    assert_eq!(record_pk(&out.records()[0]), "k2");
    let after = iterator(ShardIteratorType::AfterSequenceNumber, Some(third.clone()))
        .await
        .expect("after");
    let out = streams
        .get_records()
        .shard_iterator(after.shard_iterator().expect("it"))
        .limit(1)
        .send()
        .await
        .expect("records");
    assert_eq!(record_pk(&out.records()[0]), "k3");
    // LATEST sees only later writes.
    let latest = iterator(ShardIteratorType::Latest, None)
        .await
        .expect("latest")
        .shard_iterator()
        .expect("it")
        .to_string();
    client
        .put_item()
        .table_name("tab")
        .item("pk", s("late"))
        .send()
        .await
        .expect("put");
    let out = streams
        .get_records()
        .shard_iterator(&latest)
        .send()
        .await
        .expect("records");
    let keys: Vec<String> = out.records().iter().map(record_pk).collect();
    assert_eq!(keys, vec!["late".to_string()]);

    // Bad input: each refused with DynamoDB's error type.
    let expect = |result: Result<(), String>, want: &str| {
        let got = result.expect_err("refused");
        assert_eq!(got, want);
    };
    let gsi = |arn: String, shard: String, kind: ShardIteratorType, seq: Option<String>| {
        let streams = streams.clone();
        async move {
            streams
                .get_shard_iterator()
                .stream_arn(arn)
                .shard_id(shard)
                .shard_iterator_type(kind)
                .set_sequence_number(seq)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| code(e.as_service_error().expect("service error")))
        }
    };
    expect(
        gsi(
            "arn:aws:dynamodb:us-east-1:000000000000:table/tab/nonsense/x".into(),
            shard_id.clone(),
            ShardIteratorType::TrimHorizon,
            None,
        )
        .await,
        "ValidationException",
    );
    expect(
        gsi(
            arn.replace("/stream/", "/stream/1").replace(".", ":"),
            shard_id.clone(),
            ShardIteratorType::TrimHorizon,
            None,
        )
        .await,
        "ValidationException",
    );
    let missing = arn.replace("table/tab/", "table/missing/");
    expect(
        gsi(
            missing.clone(),
            shard_id.clone(),
            ShardIteratorType::TrimHorizon,
            None,
        )
        .await,
        "ResourceNotFoundException",
    );
    expect(
        gsi(
            arn.clone(),
            "shardId-00000000000000000000-0000000000000009".into(),
            ShardIteratorType::TrimHorizon,
            None,
        )
        .await,
        "ResourceNotFoundException",
    );
    expect(
        gsi(
            arn.clone(),
            shard_id.clone(),
            ShardIteratorType::AtSequenceNumber,
            None,
        )
        .await,
        "ValidationException",
    );
    expect(
        gsi(
            arn.clone(),
            shard_id.clone(),
            ShardIteratorType::AtSequenceNumber,
            Some("123456789012345678901".into()),
        )
        .await,
        "ValidationException",
    );
    expect(
        gsi(
            arn.clone(),
            shard_id.clone(),
            ShardIteratorType::AtSequenceNumber,
            Some("12".into()),
        )
        .await,
        "ValidationException",
    );
    let describe = streams
        .describe_stream()
        .stream_arn(&missing)
        .send()
        .await
        .expect_err("missing stream");
    assert_eq!(
        code(describe.as_service_error().expect("service")),
        "ResourceNotFoundException"
    );
    let get = |token: String, limit: Option<i32>| {
        let streams = streams.clone();
        async move {
            streams
                .get_records()
                .shard_iterator(token)
                .set_limit(limit)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| code(e.as_service_error().expect("service error")))
        }
    };
    expect(
        get("not-an-iterator".into(), None).await,
        "ValidationException",
    );
    // A forged token: flip one character of a real one.
    let mut forged: Vec<char> = latest.chars().collect();
    let at = forged.len() / 2;
    forged[at] = if forged[at] == 'A' { 'B' } else { 'A' };
    expect(
        get(forged.into_iter().collect(), None).await,
        "ValidationException",
    );
    expect(get(latest.clone(), Some(0)).await, "ValidationException");
    expect(get(latest.clone(), Some(1001)).await, "ValidationException");
    let lim = streams
        .list_streams()
        .limit(101)
        .send()
        .await
        .expect_err("limit");
    assert_eq!(
        code(lim.as_service_error().expect("service")),
        "ValidationException"
    );
    // Expiry (lifetime 2 s here): the same iterator is refused once it is old.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match get(latest.clone(), Some(1)).await {
            Ok(()) => assert!(Instant::now() < deadline, "iterator never expired"),
            Err(code) => {
                assert_eq!(code, "ExpiredIteratorException");
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Nothing stored changed: the stream still holds its 8 records.
    assert_eq!(read_all(&streams, &arn).await.len(), 8);
    let raw = server.call("GetRecords", "{}");
    assert_eq!(raw.0, 400, "{}", raw.1);
    assert_eq!(
        error_type(&raw.1),
        "UnknownOperationException",
        "DynamoDB's target does not serve Streams operations"
    );
}
