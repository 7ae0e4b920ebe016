//! Stream shards roll over into children (ParentShardId, closed parents
//! ending with no NextShardIterator, ShardFilter CHILD_SHARDS), and
//! records past the retention are trimmed (TrimmedDataAccessException for
//! an iterator into them), with short knobs.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, StreamViewType};
use aws_sdk_dynamodbstreams::types::{ShardFilter, ShardFilterType, ShardIteratorType};
use common::start_with_config;
use common::streams::{
    all_shards, create_streamed_table, read_all, record_pk, sequence, streams_client,
};

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_roll_over_into_children() {
    let server = start_with_config("streams-rollover", 2, "stream_shard_rollover_ms = 1000\n");
    let client = server.client();
    let streams = streams_client(&server.endpoint());
    let arn = create_streamed_table(&client, "roll", StreamViewType::KeysOnly).await;
    let mut written = 0usize;
    let deadline = Instant::now() + Duration::from_secs(60);
    // Write until every Dynacore shard has rolled over at least twice.
    loop {
        client
            .put_item()
            .table_name("roll")
            .item("pk", s(&format!("k{written}")))
            .send()
            .await
            .expect("put");
        written += 1;
        let shards = all_shards(&streams, &arn, 1).await;
        if shards.len() >= 6 && written >= 20 {
            break;
        }
        assert!(Instant::now() < deadline, "no rollover within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let shards = all_shards(&streams, &arn, 2).await;
    let ids: Vec<&str> = shards.iter().filter_map(|s| s.shard_id()).collect();
    let mut seen_ids = ids.clone();
    seen_ids.dedup();
    assert_eq!(seen_ids.len(), ids.len(), "paging lists each shard once");
    for shard in &shards {
        if let Some(parent) = shard.parent_shard_id() {
            let position = |id: &str| ids.iter().position(|x| *x == id);
            if let Some(p) = position(parent) {
                assert!(
                    p < position(shard.shard_id().expect("id")).expect("listed"),
                    "parents first"
                );
                let parent_shard = &shards[p];
                assert!(
                    parent_shard
                        .sequence_number_range()
                        .and_then(|r| r.ending_sequence_number())
                        .is_some(),
                    "a parent is closed"
                );
                // The parent's child, by filter.
                let children = streams
                    .describe_stream()
                    .stream_arn(&arn)
                    .shard_filter(
                        ShardFilter::builder()
                            .r#type(ShardFilterType::ChildShards)
                            .shard_id(parent)
                            .build(),
                    )
                    .send()
                    .await
                    .expect("child shards");
                let children: Vec<String> = children
                    .stream_description()
                    .map(|d| {
                        d.shards()
                            .iter()
                            .filter_map(|s| s.shard_id().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                assert_eq!(children, vec![shard.shard_id().expect("id").to_string()]);
            }
        }
    }
    // A closed shard is read to its end: the last page has no NextShardIterator.
    let closed = shards
        .iter()
        .find(|s| {
            s.sequence_number_range()
                .and_then(|r| r.ending_sequence_number())
                .is_some()
        })
        .expect("a closed shard");
    let mut it = streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(closed.shard_id().expect("id"))
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator")
        .shard_iterator()
        .map(str::to_string);
    let mut pages = 0;
    while let Some(token) = it {
        let out = streams
            .get_records()
            .shard_iterator(token)
            .limit(2)
            .send()
            .await
            .expect("records");
        it = out.next_shard_iterator().map(str::to_string);
        pages += 1;
        assert!(pages < 1000, "a closed shard ends");
    }
    // Every write exactly once across the lineage.
    let records = read_all(&streams, &arn).await;
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (_, r) in &records {
        *counts.entry(record_pk(r)).or_default() += 1;
    }
    assert_eq!(counts.len(), written);
    assert!(counts.values().all(|&n| n == 1), "exactly once");
}

#[tokio::test(flavor = "multi_thread")]
async fn records_past_the_retention_are_trimmed() {
    let server = start_with_config(
        "streams-retention",
        1,
        "stream_shard_rollover_ms = 500\nstream_retention_ms = 2000\nstream_trim_interval_ms = 100\n",
    );
    let client = server.client();
    let streams = streams_client(&server.endpoint());
    let arn = create_streamed_table(&client, "ret", StreamViewType::NewImage).await;
    client
        .put_item()
        .table_name("ret")
        .item("pk", s("old"))
        .send()
        .await
        .expect("put");
    let records = read_all(&streams, &arn).await;
    let (old_shard, old) = records.first().expect("the old record").clone();
    let at_old = streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(&old_shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(sequence(&old))
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
            .table_name("ret")
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
            assert!(
                keys.iter().any(|k| k.starts_with("new")),
                "young records stay"
            );
            break;
        }
        assert!(Instant::now() < deadline, "old record never trimmed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let e = streams
        .get_records()
        .shard_iterator(at_old)
        .send()
        .await
        .expect_err("trimmed");
    assert_eq!(
        e.as_service_error().and_then(|e| e.code()),
        Some("TrimmedDataAccessException")
    );
}
