//! A deleted table's stream stays readable, as on DynamoDB: after
//! DeleteTable it is still listed by ListStreams (also with the TableName
//! filter), DescribeStream shows it DISABLED with every shard closed, and
//! GetRecords returns all its records — across a restart too — until the
//! retention has passed; then it is trimmed and disappears. A new table of
//! the same name gets a new stream ARN. The trim horizon is persisted: an
//! iterator into trimmed records still gets TrimmedDataAccessException
//! after a restart.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, StreamViewType, TableStatus};
use aws_sdk_dynamodbstreams::Client as StreamsClient;
use aws_sdk_dynamodbstreams::types::{ShardIteratorType, StreamStatus};
use common::start_with_config;
use common::streams::{
    all_shards, create_streamed_table, read_all, record_pk, sequence, streams_client,
};

fn code<E: ProvideErrorMetadata>(e: &aws_sdk_dynamodbstreams::error::SdkError<E>) -> Option<&str> {
    e.as_service_error().and_then(|e| e.code())
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

async fn listed(streams: &StreamsClient, table: Option<&str>) -> Vec<String> {
    let out = streams
        .list_streams()
        .set_table_name(table.map(str::to_string))
        .send()
        .await
        .expect("list streams");
    out.streams()
        .iter()
        .filter_map(|s| s.stream_arn().map(str::to_string))
        .collect()
}

async fn wait_table_gone(client: &aws_sdk_dynamodb::Client, table: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match client.describe_table().table_name(table).send().await {
            Err(e)
                if e.as_service_error().and_then(|e| e.code())
                    == Some("ResourceNotFoundException") =>
            {
                return;
            }
            _ => {}
        }
        assert!(Instant::now() < deadline, "table {table} never went");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_active(client: &aws_sdk_dynamodb::Client, table: &str) {
    use aws_sdk_dynamodb::types::TableStatus;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = client.describe_table().table_name(table).send().await;
        if let Ok(out) = out
            && out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active)
        {
            return;
        }
        assert!(Instant::now() < deadline, "table {table} never ACTIVE");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The deleted table's stream as a consumer sees it: listed, DISABLED,
/// every shard closed, the same records.
async fn check_deleted_stream(streams: &StreamsClient, arn: &str, records: &[String]) {
    assert!(listed(streams, None).await.contains(&arn.to_string()));
    assert!(
        listed(streams, Some("gone"))
            .await
            .contains(&arn.to_string()),
        "the TableName filter still finds it"
    );
    let description = streams
        .describe_stream()
        .stream_arn(arn)
        .send()
        .await
        .expect("describe the deleted table's stream");
    let description = description.stream_description().expect("description");
    assert_eq!(description.stream_status(), Some(&StreamStatus::Disabled));
    assert_eq!(description.table_name(), Some("gone"));
    let shards = all_shards(streams, arn, 100).await;
    assert!(!shards.is_empty());
    for shard in &shards {
        assert!(
            shard
                .sequence_number_range()
                .and_then(|r| r.ending_sequence_number())
                .is_some(),
            "every shard closed: {shard:?}"
        );
    }
    let read: Vec<String> = read_all(streams, arn)
        .await
        .iter()
        .map(|(_, r)| sequence(r))
        .collect();
    assert_eq!(read, records, "the same records");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_tables_stream_stays_readable() {
    // DELETING lasts 50 ms: the staged path (DELETING, then removed).
    let mut server = start_with_config("streams-deleted", 2, "table_status_transition_ms = 50\n");
    let client = server.client();
    let streams = streams_client(&server.endpoint());
    let arn = create_streamed_table(&client, "gone", StreamViewType::NewAndOldImages).await;
    wait_active(&client, "gone").await;
    for i in 0..20 {
        client
            .put_item()
            .table_name("gone")
            .item("pk", s(&format!("k{i}")))
            .send()
            .await
            .expect("put");
    }
    let records: Vec<String> = read_all(&streams, &arn)
        .await
        .iter()
        .map(|(_, r)| sequence(r))
        .collect();
    assert_eq!(records.len(), 20);
    let deleted = client
        .delete_table()
        .table_name("gone")
        .send()
        .await
        .expect("delete table");
    // DynamoDB's answer still shows the stream the table had.
    let description = deleted.table_description().expect("a description");
    assert_eq!(description.table_status(), Some(&TableStatus::Deleting));
    let spec = description
        .stream_specification()
        .expect("the stream specification");
    assert!(spec.stream_enabled());
    assert_eq!(
        spec.stream_view_type(),
        Some(&StreamViewType::NewAndOldImages)
    );
    assert_eq!(description.latest_stream_arn(), Some(arn.as_str()));
    assert!(arn.ends_with(description.latest_stream_label().expect("a label")));
    wait_table_gone(&client, "gone").await;
    check_deleted_stream(&streams, &arn, &records).await;

    // A new table of the same name: a new stream, the old one untouched.
    let fresh = create_streamed_table(&client, "gone", StreamViewType::KeysOnly).await;
    wait_active(&client, "gone").await;
    assert_ne!(fresh, arn, "a new table gets a new stream ARN");
    client
        .put_item()
        .table_name("gone")
        .item("pk", s("new"))
        .send()
        .await
        .expect("put into the new table");
    let named = listed(&streams, Some("gone")).await;
    assert!(named.contains(&arn) && named.contains(&fresh), "{named:?}");
    let new_records = read_all(&streams, &fresh).await;
    assert_eq!(new_records.len(), 1);
    assert_eq!(record_pk(&new_records[0].1), "new");
    check_deleted_stream(&streams, &arn, &records).await;

    // After a restart: the same (the catalog keeps the deleted stream).
    assert!(server.stop(), "clean stop");
    server.launch().expect("restart");
    let streams = streams_client(&server.endpoint());
    check_deleted_stream(&streams, &arn, &records).await;
    assert_eq!(read_all(&streams, &fresh).await.len(), 1);

    // Deleting the new table too: both deleted streams are listed.
    let client = server.client();
    client
        .delete_table()
        .table_name("gone")
        .send()
        .await
        .expect("delete the new table");
    wait_table_gone(&client, "gone").await;
    let named = listed(&streams, Some("gone")).await;
    assert_eq!(named.len(), 2, "{named:?}");
    check_deleted_stream(&streams, &arn, &records).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_tables_stream_goes_after_the_retention() {
    let server = start_with_config(
        "streams-deleted-retention",
        2,
        "stream_retention_ms = 1500\nstream_trim_interval_ms = 100\n",
    );
    let client = server.client();
    let streams = streams_client(&server.endpoint());
    let arn = create_streamed_table(&client, "gone", StreamViewType::KeysOnly).await;
    client
        .put_item()
        .table_name("gone")
        .item("pk", s("a"))
        .send()
        .await
        .expect("put");
    client
        .delete_table()
        .table_name("gone")
        .send()
        .await
        .expect("delete table");
    wait_table_gone(&client, "gone").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while listed(&streams, None).await.contains(&arn) {
        assert!(Instant::now() < deadline, "the deleted stream never went");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let e = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .expect_err("gone after the retention");
    assert_eq!(code(&e), Some("ResourceNotFoundException"));
    // Its records are gone from storage too.
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.metric_sum("stream_records_trimmed") < 1 {
        assert!(Instant::now() < deadline, "the record never trimmed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let e = streams
        .list_streams()
        .table_name("gone")
        .send()
        .await
        .expect_err("no table and no stream of that name");
    assert_eq!(code(&e), Some("ResourceNotFoundException"));
}

/// GetRecords from `iterator`, and GetShardIterator at `seq`: both must be
/// TrimmedDataAccessException.
async fn assert_trimmed(
    streams: &StreamsClient,
    arn: &str,
    shard: &str,
    seq: &str,
    iterator: &str,
) {
    let e = streams
        .get_records()
        .shard_iterator(iterator)
        .send()
        .await
        .expect_err("reading trimmed records");
    assert_eq!(code(&e), Some("TrimmedDataAccessException"));
    let e = streams
        .get_shard_iterator()
        .stream_arn(arn)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(seq)
        .send()
        .await
        .expect_err("an iterator at a trimmed record");
    assert_eq!(code(&e), Some("TrimmedDataAccessException"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_trim_horizon_survives_a_restart() {
    // One epoch for the whole test: only the horizon tells what was trimmed.
    let mut server = start_with_config(
        "streams-horizon",
        1,
        "stream_shard_rollover_ms = 3600000\nstream_retention_ms = 1500\nstream_trim_interval_ms = 100\n",
    );
    let client = server.client();
    let streams = streams_client(&server.endpoint());
    let arn = create_streamed_table(&client, "hzn", StreamViewType::KeysOnly).await;
    client
        .put_item()
        .table_name("hzn")
        .item("pk", s("old"))
        .send()
        .await
        .expect("put");
    let records = read_all(&streams, &arn).await;
    let (shard, old) = records.first().expect("the old record").clone();
    let seq = sequence(&old);
    let at_old = streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(&seq)
        .send()
        .await
        .expect("iterator at the old record")
        .shard_iterator()
        .expect("it")
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut fresh = 0;
    loop {
        client
            .put_item()
            .table_name("hzn")
            .item("pk", s(&format!("new{fresh}")))
            .send()
            .await
            .expect("put");
        fresh += 1;
        let keys: Vec<String> = read_all(&streams, &arn)
            .await
            .iter()
            .map(|(_, r)| record_pk(r))
            .collect();
        if !keys.contains(&"old".to_string()) {
            break;
        }
        assert!(Instant::now() < deadline, "old record never trimmed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_trimmed(&streams, &arn, &shard, &seq, &at_old).await;
    // Every record trimmed before the restart: after it, only a persisted
    // horizon can tell that the old record was there.
    while !read_all(&streams, &arn).await.is_empty() {
        assert!(Instant::now() < deadline, "records never all trimmed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(server.stop(), "clean stop");
    server.launch().expect("restart");
    let streams = streams_client(&server.endpoint());
    assert_trimmed(&streams, &arn, &shard, &seq, &at_old).await;
    // And after a SIGKILL (nothing trimmed since the restart).
    server.kill();
    server.launch().expect("restart after SIGKILL");
    let streams = streams_client(&server.endpoint());
    assert_trimmed(&streams, &arn, &shard, &seq, &at_old).await;
}
