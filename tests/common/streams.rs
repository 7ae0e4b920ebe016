//! DynamoDB Streams helpers: the AWS SDK's own `dynamodbstreams` client
//! pointed at the test server, and a reader that walks every shard of a
//! stream (parents first) and collects its records.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};
use aws_sdk_dynamodbstreams::Client as StreamsClient;
use aws_sdk_dynamodbstreams::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodbstreams::types::{Record, Shard, ShardIteratorType};

pub fn streams_client(endpoint: &str) -> StreamsClient {
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .build();
    StreamsClient::from_conf(config)
}

/// Creates table `name` (key `pk` S) with a stream of `view`; returns its ARN.
pub async fn create_streamed_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    view: StreamViewType,
) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let out = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attr"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(view)
                .build()
                .expect("spec"),
        )
        .send()
        .await
        .expect("create streamed table");
    out.table_description()
        .and_then(|d| d.latest_stream_arn())
        .expect("LatestStreamArn")
        .to_string()
}

/// Every shard of a stream, in DescribeStream's order (parents first),
/// following LastEvaluatedShardId with pages of `page`.
pub async fn all_shards(client: &StreamsClient, arn: &str, page: i32) -> Vec<Shard> {
    let mut shards = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let out = client
            .describe_stream()
            .stream_arn(arn)
            .limit(page)
            .set_exclusive_start_shard_id(start.clone())
            .send()
            .await
            .expect("describe stream");
        let description = out.stream_description().expect("description");
        shards.extend(description.shards().iter().cloned());
        match description.last_evaluated_shard_id() {
            Some(last) => start = Some(last.to_string()),
            None => return shards,
        }
    }
}

/// Reads one shard from TRIM_HORIZON to its end (a closed shard) or to the
/// first empty page (an open one).
pub async fn read_shard(
    client: &StreamsClient,
    arn: &str,
    shard_id: &str,
    limit: i32,
) -> Vec<Record> {
    let mut iterator = client
        .get_shard_iterator()
        .stream_arn(arn)
        .shard_id(shard_id)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("shard iterator")
        .shard_iterator()
        .map(str::to_string);
    let mut records = Vec::new();
    while let Some(it) = iterator {
        let out = client
            .get_records()
            .shard_iterator(it)
            .limit(limit)
            .send()
            .await
            .expect("get records");
        let page = out.records();
        records.extend(page.iter().cloned());
        if page.is_empty() {
            break;
        }
        iterator = out.next_shard_iterator().map(str::to_string);
    }
    records
}

/// Every record of the stream, shard by shard (parents before children).
pub async fn read_all(client: &StreamsClient, arn: &str) -> Vec<(String, Record)> {
    let mut out = Vec::new();
    for shard in all_shards(client, arn, 100).await {
        let id = shard.shard_id().expect("shard id").to_string();
        for record in read_shard(client, arn, &id, 1000).await {
            out.push((id.clone(), record));
        }
    }
    out
}

/// Polls `read_all` until it holds at least `count` records.
pub async fn read_at_least(
    client: &StreamsClient,
    arn: &str,
    count: usize,
) -> Vec<(String, Record)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let records = read_all(client, arn).await;
        if records.len() >= count || Instant::now() > deadline {
            return records;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The key `pk` of a record, as a string.
pub fn record_pk(record: &Record) -> String {
    let keys = record.dynamodb().and_then(|d| d.keys()).expect("keys");
    match keys.get("pk") {
        Some(aws_sdk_dynamodbstreams::types::AttributeValue::S(s)) => s.clone(),
        other => panic!("record key pk: {other:?}"),
    }
}

pub fn event(record: &Record) -> String {
    record
        .event_name()
        .map(|e| e.as_str().to_string())
        .unwrap_or_default()
}

pub fn sequence(record: &Record) -> String {
    record
        .dynamodb()
        .and_then(|d| d.sequence_number())
        .expect("sequence number")
        .to_string()
}
