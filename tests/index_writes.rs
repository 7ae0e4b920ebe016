//! How writes maintain indexes, through the real binary and the AWS SDK:
//! item collection metrics and the item collection size limit of tables
//! with local indexes, index key validation on every write path, and the
//! GSI replication metrics.

mod common;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, PutRequest, ReturnItemCollectionMetrics, WriteRequest,
};
use common::values::{n, s};
use common::{Server, error_message, error_type};

const ORDERS: &str = r#"{
  "TableName": "orders",
  "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "S"},
    {"AttributeName": "placed", "AttributeType": "N"},
    {"AttributeName": "status", "AttributeType": "S"}
  ],
  "KeySchema": [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"}
  ],
  "LocalSecondaryIndexes": [{
    "IndexName": "byPlaced",
    "KeySchema": [
      {"AttributeName": "pk", "KeyType": "HASH"},
      {"AttributeName": "placed", "KeyType": "RANGE"}
    ],
    "Projection": {"ProjectionType": "ALL"}
  }],
  "GlobalSecondaryIndexes": [{
    "IndexName": "byStatus",
    "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
    "Projection": {"ProjectionType": "KEYS_ONLY"}
  }]
}"#;

fn create_orders(server: &Server) {
    let (status, body) = server.call("CreateTable", ORDERS);
    assert_eq!(status, 200, "{body}");
}

async fn get(
    client: &Client,
    pk: &str,
    sk: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    client
        .get_item()
        .table_name("orders")
        .key("pk", s(pk))
        .key("sk", s(sk))
        .consistent_read(true)
        .send()
        .await
        .expect("get")
        .item
}

#[tokio::test]
async fn lsi_tables_report_item_collection_metrics() {
    let server = Server::start("idx-metrics", 2);
    create_orders(&server);
    let client = server.client();
    let put = client
        .put_item()
        .table_name("orders")
        .item("pk", s("c1"))
        .item("sk", s("o1"))
        .item("placed", n(5))
        .item("note", s(&"x".repeat(500)))
        .return_item_collection_metrics(ReturnItemCollectionMetrics::Size)
        .send()
        .await
        .expect("put");
    let metrics = put
        .item_collection_metrics()
        .expect("metrics for an LSI table");
    assert_eq!(
        metrics.item_collection_key().and_then(|k| k.get("pk")),
        Some(&s("c1"))
    );
    assert_eq!(metrics.size_estimate_range_gb(), &[0.0, 1.0]);
    // Without the parameter: nothing.
    let plain = client
        .put_item()
        .table_name("orders")
        .item("pk", s("c1"))
        .item("sk", s("o2"))
        .send()
        .await
        .expect("put");
    assert!(plain.item_collection_metrics().is_none());
    let update = client
        .update_item()
        .table_name("orders")
        .key("pk", s("c1"))
        .key("sk", s("o2"))
        .update_expression("SET placed = :p")
        .expression_attribute_values(":p", n(9))
        .return_item_collection_metrics(ReturnItemCollectionMetrics::Size)
        .send()
        .await
        .expect("update");
    assert!(update.item_collection_metrics().is_some());
    let delete = client
        .delete_item()
        .table_name("orders")
        .key("pk", s("c1"))
        .key("sk", s("o2"))
        .return_item_collection_metrics(ReturnItemCollectionMetrics::Size)
        .send()
        .await
        .expect("delete");
    assert!(delete.item_collection_metrics().is_some());
    let batch = client
        .batch_write_item()
        .request_items(
            "orders",
            vec![
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .item("pk", s("c2"))
                            .item("sk", s("o1"))
                            .build()
                            .expect("put request"),
                    )
                    .build(),
                WriteRequest::builder()
                    .delete_request(
                        DeleteRequest::builder()
                            .key("pk", s("c1"))
                            .key("sk", s("o1"))
                            .build()
                            .expect("delete request"),
                    )
                    .build(),
            ],
        )
        .return_item_collection_metrics(ReturnItemCollectionMetrics::Size)
        .send()
        .await
        .expect("batch");
    let per_table = batch
        .item_collection_metrics()
        .and_then(|m| m.get("orders"))
        .expect("batch metrics for orders");
    let mut keys: Vec<_> = per_table
        .iter()
        .filter_map(|m| m.item_collection_key()?.get("pk")?.as_s().ok().cloned())
        .collect();
    keys.sort();
    assert_eq!(keys, ["c1", "c2"]);
    // An unknown value is DynamoDB's enum error.
    let (status, body) = server.call(
        "PutItem",
        r#"{"TableName":"orders","Item":{"pk":{"S":"a"},"sk":{"S":"b"}},"ReturnItemCollectionMetrics":"ALL"}"#,
    );
    assert_eq!(status, 400);
    assert!(
        error_message(&body).contains("Member must satisfy enum value set: [SIZE, NONE]"),
        "{body}"
    );
}

#[tokio::test]
async fn item_collection_limit_refuses_growth_and_changes_nothing() {
    let dir = common::fresh_data_dir("idx-limit-config");
    std::fs::create_dir_all(&dir).expect("config dir");
    let config = dir.join("limit.toml");
    std::fs::write(&config, "item_collection_bytes_max = 3000\n").expect("config");
    let server = Server::start_with(
        "idx-limit",
        2,
        &["--config", config.to_str().expect("utf-8 path")],
    );
    create_orders(&server);
    let client = server.client();
    let put = |sk: &'static str| {
        client
            .put_item()
            .table_name("orders")
            .item("pk", s("big"))
            .item("sk", s(sk))
            .item("placed", n(1))
            .item("note", s(&"y".repeat(600)))
            .send()
    };
    // Each item counts twice (base + ALL-projected LSI entry) plus overhead.
    put("a").await.expect("first fits");
    put("b").await.expect("second fits");
    let error = put("c").await.expect_err("third exceeds 3000 bytes");
    let error = error.into_service_error();
    assert!(
        error.is_item_collection_size_limit_exceeded_exception(),
        "{error:?}"
    );
    assert!(
        get(&client, "big", "c").await.is_none(),
        "refused write stored"
    );
    // Other partitions are unaffected; shrinking makes room again.
    client
        .put_item()
        .table_name("orders")
        .item("pk", s("small"))
        .item("sk", s("a"))
        .item("note", s(&"y".repeat(600)))
        .send()
        .await
        .expect("another partition");
    client
        .delete_item()
        .table_name("orders")
        .key("pk", s("big"))
        .key("sk", s("a"))
        .send()
        .await
        .expect("delete");
    put("c").await.expect("fits after the delete");
    // Items outside the LSI (no `placed`) count once.
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn wrongly_typed_index_keys_are_rejected_on_every_write_path() {
    let server = Server::start("idx-types", 2);
    create_orders(&server);
    let cases = [
        (
            "PutItem",
            r#"{"TableName":"orders","Item":{"pk":{"S":"a"},"sk":{"S":"1"},"status":{"N":"1"}}}"#,
            "One or more parameter values were invalid: Type mismatch for Index Key status Expected: S Actual: N IndexName: byStatus",
        ),
        (
            "PutItem",
            r#"{"TableName":"orders","Item":{"pk":{"S":"a"},"sk":{"S":"1"},"placed":{"S":"x"}}}"#,
            "One or more parameter values were invalid: Type mismatch for Index Key placed Expected: N Actual: S IndexName: byPlaced",
        ),
        (
            "PutItem",
            r#"{"TableName":"orders","Item":{"pk":{"S":"a"},"sk":{"S":"1"},"status":{"S":""}}}"#,
            "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: byStatus, IndexKey: status",
        ),
        (
            "UpdateItem",
            r##"{"TableName":"orders","Key":{"pk":{"S":"a"},"sk":{"S":"1"}},"UpdateExpression":"SET #s = :v","ExpressionAttributeNames":{"#s":"status"},"ExpressionAttributeValues":{":v":{"SS":["x"]}}}"##,
            "One or more parameter values were invalid: Type mismatch for Index Key status Expected: S Actual: SS IndexName: byStatus",
        ),
        (
            "UpdateItem",
            r##"{"TableName":"orders","Key":{"pk":{"S":"a"},"sk":{"S":"1"}},"UpdateExpression":"SET #s = :v","ExpressionAttributeNames":{"#s":"status"},"ExpressionAttributeValues":{":v":{"S":""}}}"##,
            "One or more parameter values are not valid. The update expression attempted to update a secondary index key to a value that is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: byStatus, IndexKey: status",
        ),
        (
            "BatchWriteItem",
            r#"{"RequestItems":{"orders":[{"PutRequest":{"Item":{"pk":{"S":"a"},"sk":{"S":"2"}}}},{"PutRequest":{"Item":{"pk":{"S":"a"},"sk":{"S":"1"},"placed":{"B":"AA=="}}}}]}}"#,
            "One or more parameter values were invalid: Type mismatch for Index Key placed Expected: N Actual: B IndexName: byPlaced",
        ),
    ];
    for (op, body, message) in cases {
        let (status, reply) = server.call(op, body);
        assert_eq!(status, 400, "{op} {body}: {reply}");
        assert_eq!(error_type(&reply), "ValidationException", "{reply}");
        assert_eq!(error_message(&reply), message, "{op} {body}");
    }
    let client = server.client();
    assert!(
        get(&client, "a", "1").await.is_none(),
        "a rejected write stored an item"
    );
    assert!(
        get(&client, "a", "2").await.is_none(),
        "a rejected batch stored part of itself"
    );
    // Sparse: leaving the index attributes out is fine.
    let (status, reply) = server.call(
        "PutItem",
        r#"{"TableName":"orders","Item":{"pk":{"S":"a"},"sk":{"S":"1"},"other":{"N":"1"}}}"#,
    );
    assert_eq!(status, 200, "{reply}");
}

#[tokio::test]
async fn gsi_replication_drains_and_reports_lag() {
    let server = Server::start("idx-lag", 2);
    create_orders(&server);
    let client = server.client();
    for i in 0..200u64 {
        client
            .put_item()
            .table_name("orders")
            .item("pk", s(&format!("c{i}")))
            .item("sk", s("o"))
            .item("status", s(if i % 2 == 0 { "open" } else { "shipped" }))
            .send()
            .await
            .expect("put");
    }
    assert!(
        server.gsi_outboxes_drained(Duration::from_secs(10)).await,
        "the GSI outbox never drained"
    );
    // Every put added one KEYS_ONLY entry somewhere.
    assert!(server.metric_sum("gsi_delivered_ops") >= 200);
    assert!(server.metric_sum("gsi_lag_samples") >= 1);
    assert_eq!(server.metric_sum("gsi_delivery_failures"), 0);
}

/// `ConsumedCapacity` as (total, table, {index: units}) from a raw reply.
fn capacity(body: &str) -> (f64, f64, Vec<(String, f64)>) {
    let json: serde_json::Value = serde_json::from_str(body).expect("json reply");
    let c = json["ConsumedCapacity"]
        .as_array()
        .map_or(&json["ConsumedCapacity"], |a| &a[0]);
    let mut indexes = Vec::new();
    for member in ["LocalSecondaryIndexes", "GlobalSecondaryIndexes"] {
        if let Some(map) = c[member].as_object() {
            for (name, v) in map {
                indexes.push((name.clone(), v["CapacityUnits"].as_f64().expect("units")));
            }
        }
    }
    indexes.sort_by(|a, b| a.0.cmp(&b.0));
    (
        c["CapacityUnits"].as_f64().expect("total"),
        c["Table"]["CapacityUnits"].as_f64().unwrap_or(-1.0),
        indexes,
    )
}

#[tokio::test]
async fn write_capacity_counts_index_writes() {
    let server = Server::start("idx-capacity", 2);
    create_orders(&server);
    let call = |op: &str, body: String| {
        let (status, reply) = server.call(op, &body);
        assert_eq!(status, 200, "{op} {body}: {reply}");
        reply
    };
    let key = r#""Key":{"pk":{"S":"c"},"sk":{"S":"1"}}"#;
    // A new item in both indexes: one write each.
    let put = call(
        "PutItem",
        r#"{"TableName":"orders","Item":{"pk":{"S":"c"},"sk":{"S":"1"},"placed":{"N":"1"},"status":{"S":"open"}},"ReturnConsumedCapacity":"INDEXES"}"#.to_string(),
    );
    let one = |n: &str| (n.to_string(), 1.0);
    assert_eq!(
        capacity(&put),
        (3.0, 1.0, vec![one("byPlaced"), one("byStatus")])
    );
    // A GSI key change is a delete and a put; the ALL-projected LSI entry
    // is rewritten once.
    let update = call(
        "UpdateItem",
        format!(
            r##"{{"TableName":"orders",{key},"UpdateExpression":"SET #s = :s","ExpressionAttributeNames":{{"#s":"status"}},"ExpressionAttributeValues":{{":s":{{"S":"shipped"}}}},"ReturnConsumedCapacity":"INDEXES"}}"##
        ),
    );
    assert_eq!(
        capacity(&update),
        (4.0, 1.0, vec![one("byPlaced"), ("byStatus".into(), 2.0)])
    );
    // A non-key attribute the KEYS_ONLY GSI does not project: no GSI write.
    let update = call(
        "UpdateItem",
        format!(
            r#"{{"TableName":"orders",{key},"UpdateExpression":"SET note = :n","ExpressionAttributeValues":{{":n":{{"S":"x"}}}},"ReturnConsumedCapacity":"INDEXES"}}"#
        ),
    );
    assert_eq!(capacity(&update), (2.0, 1.0, vec![one("byPlaced")]));
    // TOTAL sums table and indexes.
    let update = call(
        "UpdateItem",
        format!(
            r#"{{"TableName":"orders",{key},"UpdateExpression":"SET note = :n","ExpressionAttributeValues":{{":n":{{"S":"y"}}}},"ReturnConsumedCapacity":"TOTAL"}}"#
        ),
    );
    assert_eq!(capacity(&update), (2.0, -1.0, vec![]));
    let delete = call(
        "DeleteItem",
        format!(r#"{{"TableName":"orders",{key},"ReturnConsumedCapacity":"INDEXES"}}"#),
    );
    assert_eq!(
        capacity(&delete),
        (3.0, 1.0, vec![one("byPlaced"), one("byStatus")])
    );
    let batch = call(
        "BatchWriteItem",
        r#"{"RequestItems":{"orders":[{"PutRequest":{"Item":{"pk":{"S":"d"},"sk":{"S":"1"},"status":{"S":"open"}}}}]},"ReturnConsumedCapacity":"INDEXES"}"#.to_string(),
    );
    assert_eq!(capacity(&batch), (2.0, 1.0, vec![one("byStatus")]));
}
