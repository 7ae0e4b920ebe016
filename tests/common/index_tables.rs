//! Tables the index tests share: their CreateTable requests and the items
//! they put.

use aws_sdk_dynamodb::Client;

use super::Server;
use super::values::{n, s, text};

/// Creates a table from a CreateTable request body.
pub fn create(server: &Server, json: &str) {
    let (status, body) = server.call("CreateTable", json);
    assert_eq!(status, 200, "{body}");
}

pub const EVENTS: &str = r#"{
  "TableName": "events",
  "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "S"},
    {"AttributeName": "n", "AttributeType": "N"},
    {"AttributeName": "tag", "AttributeType": "S"}
  ],
  "KeySchema": [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"}
  ],
  "LocalSecondaryIndexes": [
    {
      "IndexName": "byN",
      "KeySchema": [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "n", "KeyType": "RANGE"}
      ],
      "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["inc"]}
    },
    {
      "IndexName": "byTag",
      "KeySchema": [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "tag", "KeyType": "RANGE"}
      ],
      "Projection": {"ProjectionType": "ALL"}
    }
  ]
}"#;

pub async fn put_events(client: &Client) {
    for p in 0..6 {
        for i in 0..20i64 {
            let mut put = client
                .put_item()
                .table_name("events")
                .item("pk", s(&format!("p{p}")))
                // sk order differs from n order, so the index order shows.
                .item("sk", s(&format!("s{:02}", 19 - i)))
                .item("inc", s(&format!("inc{i}")))
                .item("extra", n(i * 10));
            // Sparse: every fourth item has no n; tags for the others.
            if i % 4 != 3 {
                put = put.item("n", n(i - 5));
            }
            put = put.item("tag", s(&format!("t{}{}", i % 3, i)));
            put.send().await.expect("put");
        }
    }
}

pub const ORDERS: &str = r#"{
  "TableName": "orders",
  "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "status", "AttributeType": "S"},
    {"AttributeName": "placed", "AttributeType": "N"},
    {"AttributeName": "region", "AttributeType": "S"}
  ],
  "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
  "GlobalSecondaryIndexes": [
    {
      "IndexName": "byStatus",
      "KeySchema": [
        {"AttributeName": "status", "KeyType": "HASH"},
        {"AttributeName": "placed", "KeyType": "RANGE"}
      ],
      "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["amount"]}
    },
    {
      "IndexName": "keysOnly",
      "KeySchema": [{"AttributeName": "region", "KeyType": "HASH"}],
      "Projection": {"ProjectionType": "KEYS_ONLY"}
    },
    {
      "IndexName": "everything",
      "KeySchema": [{"AttributeName": "region", "KeyType": "HASH"}],
      "Projection": {"ProjectionType": "ALL"}
    }
  ]
}"#;

pub async fn put_order(client: &Client, pk: &str, status: Option<&str>, placed: i64) {
    let mut put = client
        .put_item()
        .table_name("orders")
        .item("pk", s(pk))
        .item("placed", n(placed))
        .item("amount", n(placed * 3))
        .item("note", s("not projected"))
        .item("region", s(if placed % 2 == 0 { "east" } else { "west" }));
    if let Some(status) = status {
        put = put.item("status", s(status));
    }
    put.send().await.expect("put order");
}

/// The `pk`s a byStatus query returns for `status`, in index order.
pub async fn by_status(client: &Client, status: &str) -> Result<Vec<String>, String> {
    let out = client
        .query()
        .table_name("orders")
        .index_name("byStatus")
        .key_condition_expression("#s = :s")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", s(status))
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(out.items().iter().map(|i| text(i, "pk")).collect())
}
