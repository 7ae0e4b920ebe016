//! Index key values are limited as DynamoDB limits them, on every write
//! path, before anything is written: a GSI or LSI partition key attribute
//! value at most 2048 bytes, a sort key attribute value at most 1024
//! (ValidationException "Size limit exceeded for Index Key …"); a backfill
//! over items written before the index existed leaves out the items whose
//! index key violates it (wrong type, too long) and still reaches ACTIVE.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, IndexStatus, PutRequest, WriteRequest};
use common::Server;

const LIMITS: &str = r#"{
  "TableName": "limits",
  "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "S"},
    {"AttributeName": "gp", "AttributeType": "S"},
    {"AttributeName": "gs", "AttributeType": "B"},
    {"AttributeName": "ls", "AttributeType": "S"}
  ],
  "KeySchema": [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"}
  ],
  "LocalSecondaryIndexes": [{
    "IndexName": "byLs",
    "KeySchema": [
      {"AttributeName": "pk", "KeyType": "HASH"},
      {"AttributeName": "ls", "KeyType": "RANGE"}
    ],
    "Projection": {"ProjectionType": "ALL"}
  }],
  "GlobalSecondaryIndexes": [{
    "IndexName": "byGp",
    "KeySchema": [
      {"AttributeName": "gp", "KeyType": "HASH"},
      {"AttributeName": "gs", "KeyType": "RANGE"}
    ],
    "Projection": {"ProjectionType": "ALL"}
  }]
}"#;

type Item = HashMap<String, AttributeValue>;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn chars(n: usize) -> AttributeValue {
    AttributeValue::S("k".repeat(n))
}

fn bytes(n: usize) -> AttributeValue {
    AttributeValue::B(Blob::new(vec![7u8; n]))
}

/// (attribute, value, index, whether it is a HASH attribute) for each
/// index key attribute at `size` bytes.
fn cases(size: usize) -> Vec<(&'static str, AttributeValue, &'static str)> {
    vec![
        ("gp", chars(size), "byGp"),
        ("gs", bytes(size), "byGp"),
        ("ls", chars(size), "byLs"),
    ]
}

fn limit_of(attr: &str) -> usize {
    if attr == "gp" { 2048 } else { 1024 }
}

fn expected_message(attr: &str, size: usize, index: &str) -> String {
    format!(
        "One or more parameter values were invalid: Size limit exceeded for Index Key {attr} Actual Size: {size} bytes Max Size: {} bytes IndexName: {index}",
        limit_of(attr)
    )
}

async fn get(client: &Client, pk: &str) -> Option<Item> {
    client
        .get_item()
        .table_name("limits")
        .key("pk", s(pk))
        .key("sk", s("1"))
        .consistent_read(true)
        .send()
        .await
        .expect("get")
        .item
}

fn item(pk: &str, attr: &str, value: &AttributeValue) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), s(pk));
    item.insert("sk".into(), s("1"));
    item.insert(attr.into(), value.clone());
    item
}

fn assert_rejected<E>(
    result: Result<impl std::fmt::Debug, aws_sdk_dynamodb::error::SdkError<E>>,
    expected: &str,
    what: &str,
) where
    E: std::fmt::Debug + aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    let error = result.expect_err(what);
    let service = error
        .as_service_error()
        .unwrap_or_else(|| panic!("{what}: {error:?}"));
    assert_eq!(service.code(), Some("ValidationException"), "{what}");
    assert_eq!(service.message(), Some(expected), "{what}");
}

#[tokio::test]
async fn index_key_values_at_the_limit_are_stored_and_over_it_rejected_on_every_write_path() {
    let server = Server::start("index-key-limits", 2);
    let (status, body) = server.call("CreateTable", LIMITS);
    assert_eq!(status, 200, "{body}");
    let client = server.client();
    for (attr, _, _) in cases(0) {
        let limit = limit_of(attr);
        let ok = cases(limit)
            .into_iter()
            .find(|c| c.0 == attr)
            .expect("case");
        let over = cases(limit + 1)
            .into_iter()
            .find(|c| c.0 == attr)
            .expect("case");
        let expected = expected_message(attr, limit + 1, over.2);

        // PutItem: exactly at the limit is stored, one byte over is not.
        let pk = format!("put-{attr}");
        client
            .put_item()
            .table_name("limits")
            .set_item(Some(item(&pk, attr, &ok.1)))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{attr} at {limit} bytes: {e:?}"));
        assert_eq!(
            get(&client, &pk).await.and_then(|i| i.get(attr).cloned()),
            Some(ok.1.clone())
        );
        let new_pk = format!("put-over-{attr}");
        let result = client
            .put_item()
            .table_name("limits")
            .set_item(Some(item(&new_pk, attr, &over.1)))
            .send()
            .await;
        assert_rejected(result, &expected, "PutItem over the limit");
        assert!(
            get(&client, &new_pk).await.is_none(),
            "{attr}: refused PutItem stored"
        );

        // Overwriting the stored item with an oversized value leaves it as it was.
        let result = client
            .put_item()
            .table_name("limits")
            .set_item(Some(item(&pk, attr, &over.1)))
            .send()
            .await;
        assert_rejected(result, &expected, "PutItem overwrite over the limit");
        let before = get(&client, &pk).await;
        assert_eq!(before.as_ref().and_then(|i| i.get(attr)), Some(&ok.1));

        // UpdateItem: SET at the limit works, one over is refused and the
        // item is unchanged.
        let update = |value: AttributeValue| {
            client
                .update_item()
                .table_name("limits")
                .key("pk", s(&pk))
                .key("sk", s("1"))
                .update_expression("SET #a = :v, touched = :t")
                .expression_attribute_names("#a", attr)
                .expression_attribute_values(":v", value)
                .expression_attribute_values(":t", s("yes"))
                .send()
        };
        update(ok.1.clone())
            .await
            .unwrap_or_else(|e| panic!("UpdateItem {attr} at {limit}: {e:?}"));
        let before = get(&client, &pk).await;
        assert_rejected(
            update(over.1.clone()).await,
            &expected,
            "UpdateItem over the limit",
        );
        assert_eq!(
            get(&client, &pk).await,
            before,
            "{attr}: refused UpdateItem changed the item"
        );
        // UpdateItem that creates the item: nothing stored.
        let absent = format!("update-over-{attr}");
        let result = client
            .update_item()
            .table_name("limits")
            .key("pk", s(&absent))
            .key("sk", s("1"))
            .update_expression("SET #a = :v")
            .expression_attribute_names("#a", attr)
            .expression_attribute_values(":v", over.1.clone())
            .send()
            .await;
        assert_rejected(result, &expected, "UpdateItem upsert over the limit");
        assert!(
            get(&client, &absent).await.is_none(),
            "{attr}: refused upsert stored"
        );

        // BatchWriteItem: one oversized item refuses the whole batch.
        let fine = format!("batch-fine-{attr}");
        let bad = format!("batch-over-{attr}");
        let put = |item: Item| {
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .expect("put"),
                )
                .build()
        };
        let result = client
            .batch_write_item()
            .request_items(
                "limits",
                vec![
                    put(item(&fine, attr, &ok.1)),
                    put(item(&bad, attr, &over.1)),
                ],
            )
            .send()
            .await;
        assert_rejected(result, &expected, "BatchWriteItem over the limit");
        assert!(
            get(&client, &fine).await.is_none(),
            "{attr}: batch half-written"
        );
        assert!(
            get(&client, &bad).await.is_none(),
            "{attr}: refused batch item stored"
        );
        client
            .batch_write_item()
            .request_items("limits", vec![put(item(&fine, attr, &ok.1))])
            .send()
            .await
            .unwrap_or_else(|e| panic!("BatchWriteItem {attr} at {limit}: {e:?}"));
        assert!(get(&client, &fine).await.is_some());
    }
    // Far over the limit (the ~64 KiB key that used to stall replication).
    let result = client
        .put_item()
        .table_name("limits")
        .set_item(Some(item("huge", "gp", &chars(65_000))))
        .send()
        .await;
    assert_rejected(
        result,
        &expected_message("gp", 65_000, "byGp"),
        "64 KB GSI key",
    );
    assert!(
        server.gsi_outboxes_drained(Duration::from_secs(20)).await,
        "GSI replication stalled"
    );
    assert_eq!(server.metric_sum("gsi_outbox_quarantined_records"), 0);
    assert_eq!(server.metric_sum("gsi_delivery_failures"), 0);
}

async fn index_status(client: &Client, index: &str) -> Option<IndexStatus> {
    let described = client
        .describe_table()
        .table_name("backfilled")
        .send()
        .await
        .expect("describe");
    described
        .table()
        .and_then(|t| {
            t.global_secondary_indexes()
                .iter()
                .find(|g| g.index_name() == Some(index))
        })
        .and_then(|g| g.index_status().cloned())
}

#[tokio::test]
async fn backfill_leaves_out_items_whose_index_key_violates_the_index() {
    let server = Server::start("index-key-backfill", 2);
    let (status, body) = server.call(
        "CreateTable",
        r#"{"TableName":"backfilled","BillingMode":"PAY_PER_REQUEST",
            "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],
            "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let client = server.client();
    // Valid items (2048 bytes is within the limit) and violating ones: a
    // number where the index wants a string, a 2049-byte and a 60 KB string.
    let values = [
        ("ok-1", s("short")),
        ("ok-2", chars(2048)),
        ("ok-3", s("another")),
        ("bad-type", AttributeValue::N("5".into())),
        ("bad-long", chars(2049)),
        ("bad-huge", chars(60_000)),
        ("bad-set", AttributeValue::Ss(vec!["a".into()])),
    ];
    for (pk, value) in &values {
        client
            .put_item()
            .table_name("backfilled")
            .item("pk", s(pk))
            .item("r", value.clone())
            .send()
            .await
            .expect("put before the index exists");
    }
    let (status, body) = server.call(
        "UpdateTable",
        r#"{"TableName":"backfilled",
            "AttributeDefinitions":[{"AttributeName":"r","AttributeType":"S"}],
            "GlobalSecondaryIndexUpdates":[{"Create":{"IndexName":"byR",
              "KeySchema":[{"AttributeName":"r","KeyType":"HASH"}],
              "Projection":{"ProjectionType":"KEYS_ONLY"}}}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while index_status(&client, "byR").await != Some(IndexStatus::Active) {
        assert!(Instant::now() < deadline, "backfill never reached ACTIVE");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let scanned = client
        .scan()
        .table_name("backfilled")
        .index_name("byR")
        .send()
        .await
        .expect("scan the index");
    let mut pks: Vec<String> = scanned
        .items()
        .iter()
        .filter_map(|i| i.get("pk").and_then(|v| v.as_s().ok()).cloned())
        .collect();
    pks.sort();
    assert_eq!(pks, ["ok-1", "ok-2", "ok-3"]);
    assert_eq!(server.metric_sum("gsi_outbox_quarantined_records"), 0);
    // The base table keeps every item.
    let base = client
        .scan()
        .table_name("backfilled")
        .send()
        .await
        .expect("scan");
    assert_eq!(base.items().len(), values.len());
}
