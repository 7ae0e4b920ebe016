//! DynamoDB Streams records through the real binary and the AWS SDK's
//! streams client: every view type carries the images it names, and every
//! write path (PutItem, UpdateItem, DeleteItem, BatchWriteItem,
//! TransactWriteItems) publishes exactly one INSERT / MODIFY / REMOVE per
//! change, none for a write that changes nothing; sequence numbers grow
//! per shard.

mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, Put, PutRequest, StreamViewType, TransactWriteItem,
    Update, WriteRequest,
};
use common::Server;
use common::streams::{
    create_streamed_table, event, read_at_least, record_pk, sequence, streams_client,
};

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

/// The writes every table gets, and the (pk, event) records they publish, in per-item order.
async fn write_everything(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<(String, &'static str)> {
    let put = |pk: &str, v: &str| {
        client
            .put_item()
            .table_name(table)
            .item("pk", s(pk))
            .item("v", s(v))
    };
    put("a", "1").send().await.expect("put a");
    put("a", "1").send().await.expect("identical put a"); // no record
    put("a", "2").send().await.expect("overwrite a");
    client
        .update_item()
        .table_name(table)
        .key("pk", s("a"))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", s("3"))
        .send()
        .await
        .expect("update a");
    client
        .update_item()
        .table_name(table)
        .key("pk", s("a"))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", s("3"))
        .send()
        .await
        .expect("no-op update a"); // no record
    client
        .delete_item()
        .table_name(table)
        .key("pk", s("a"))
        .send()
        .await
        .expect("delete a");
    client
        .delete_item()
        .table_name(table)
        .key("pk", s("never"))
        .send()
        .await
        .expect("delete absent"); // no record
    let batch: Vec<WriteRequest> = (0..6)
        .map(|i| {
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .item("pk", s(&format!("b{i}")))
                        .item("v", s("x"))
                        .build()
                        .expect("put request"),
                )
                .build()
        })
        .collect();
    client
        .batch_write_item()
        .request_items(table, batch)
        .send()
        .await
        .expect("batch put");
    client
        .batch_write_item()
        .request_items(
            table,
            vec![
                WriteRequest::builder()
                    .delete_request(
                        DeleteRequest::builder()
                            .key("pk", s("b0"))
                            .build()
                            .expect("del"),
                    )
                    .build(),
            ],
        )
        .send()
        .await
        .expect("batch delete");
    client
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(table)
                        .item("pk", s("t1"))
                        .item("v", s("1"))
                        .build()
                        .expect("put"),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(table)
                        .key("pk", s("b1"))
                        .update_expression("SET v = :v")
                        .expression_attribute_values(":v", s("y"))
                        .build()
                        .expect("update"),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(table)
                        .key("pk", s("b2"))
                        .build()
                        .expect("delete"),
                )
                .build(),
        )
        .send()
        .await
        .expect("transaction");
    let mut expected = vec![
        ("a".to_string(), "INSERT"),
        ("a".to_string(), "MODIFY"),
        ("a".to_string(), "MODIFY"),
        ("a".to_string(), "REMOVE"),
    ];
    for i in 0..6 {
        expected.push((format!("b{i}"), "INSERT"));
    }
    expected.push(("b0".to_string(), "REMOVE"));
    expected.push(("t1".to_string(), "INSERT"));
    expected.push(("b1".to_string(), "MODIFY"));
    expected.push(("b2".to_string(), "REMOVE"));
    expected
}

#[tokio::test(flavor = "multi_thread")]
async fn every_view_type_and_write_path_publishes_one_record_per_change() {
    let server = Server::start("streams-records", 2);
    let client = server.client();
    let streams = streams_client(&server.endpoint());
    for view in [
        StreamViewType::KeysOnly,
        StreamViewType::NewImage,
        StreamViewType::OldImage,
        StreamViewType::NewAndOldImages,
    ] {
        let table = format!("t-{}", view.as_str().to_lowercase().replace('_', "-"));
        let arn = create_streamed_table(&client, &table, view.clone()).await;
        let expected = write_everything(&client, &table).await;
        let records = read_at_least(&streams, &arn, expected.len()).await;
        assert_eq!(
            records.len(),
            expected.len(),
            "{view:?}: one record per change, none for no-ops"
        );
        // Per item, the write order; per shard, increasing sequence numbers.
        let mut per_item: HashMap<String, Vec<&'static str>> = HashMap::new();
        for (pk, e) in &expected {
            per_item.entry(pk.clone()).or_default().push(e);
        }
        let mut seen: HashMap<String, Vec<String>> = HashMap::new();
        let mut last_seq: HashMap<String, String> = HashMap::new();
        for (shard, record) in &records {
            seen.entry(record_pk(record))
                .or_default()
                .push(event(record));
            let seq = sequence(record);
            if let Some(prev) = last_seq.get(shard) {
                assert!(seq > *prev, "sequence numbers grow within shard {shard}");
            }
            last_seq.insert(shard.clone(), seq);
            assert_eq!(record.event_source(), Some("aws:dynamodb"));
            assert_eq!(record.event_version(), Some("1.1"));
            assert_eq!(record.aws_region(), Some("us-east-1"));
            assert!(record.event_id().is_some_and(|id| !id.is_empty()));
            assert!(
                record.user_identity().is_none(),
                "client writes name no service"
            );
            let data = record.dynamodb().expect("dynamodb");
            assert_eq!(
                data.stream_view_type(),
                Some(&aws_sdk_dynamodbstreams::types::StreamViewType::from(
                    view.as_str()
                ))
            );
            assert!(data.size_bytes().is_some_and(|n| n > 0));
            assert!(data.approximate_creation_date_time().is_some());
            let keys = data.keys().expect("keys");
            assert_eq!(keys.len(), 1, "Keys holds the key attributes only");
            let e = event(record);
            let wants_new = matches!(
                view,
                StreamViewType::NewImage | StreamViewType::NewAndOldImages
            ) && e != "REMOVE";
            let wants_old = matches!(
                view,
                StreamViewType::OldImage | StreamViewType::NewAndOldImages
            ) && e != "INSERT";
            assert_eq!(
                data.new_image().is_some(),
                wants_new,
                "{view:?} {e} NewImage"
            );
            assert_eq!(
                data.old_image().is_some(),
                wants_old,
                "{view:?} {e} OldImage"
            );
            if let Some(new) = data.new_image() {
                assert!(new.contains_key("v") && new.contains_key("pk"));
            }
        }
        for (pk, events) in &per_item {
            let got: Vec<&str> = seen
                .get(pk)
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default();
            assert_eq!(&got, events, "{view:?}: events of {pk} in write order");
        }
        if view == StreamViewType::NewAndOldImages {
            // The overwrite of a: old v=1, new v=2.
            let (_, modify) = records
                .iter()
                .find(|(_, r)| record_pk(r) == "a" && event(r) == "MODIFY")
                .expect("first MODIFY of a");
            let data = modify.dynamodb().expect("dynamodb");
            let v =
                |m: Option<&HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
                    m.and_then(|m| m.get("v"))
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                };
            assert_eq!(v(data.old_image()), Some("1".into()));
            assert_eq!(v(data.new_image()), Some("2".into()));
        }
    }
}
