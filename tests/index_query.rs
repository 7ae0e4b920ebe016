//! Query and Scan on secondary indexes (`IndexName`) through the AWS SDK for
//! Rust against the real binary with two shards, so index partitions and
//! LSI base-item fetches are served on the owning shard after forwarding:
//! LSI key conditions (strongly consistent), GSIs following writes (polled:
//! they are eventually consistent), sparse indexes, projections and their
//! errors, paging with ExclusiveStartKey in both directions, multi-attribute
//! GSI keys, parallel index scans, and the index read errors.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, ComparisonOperator, Condition, ReturnConsumedCapacity, Select,
};
use common::Server;

type Item = HashMap<String, AttributeValue>;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn num(item: &Item, name: &str) -> i64 {
    match item.get(name) {
        Some(AttributeValue::N(text)) => text.parse().expect("integer"),
        other => panic!("{name}: {other:?} in {item:?}"),
    }
}

fn text(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(text)) => text.clone(),
        other => panic!("{name}: {other:?} in {item:?}"),
    }
}

fn names(item: &Item) -> BTreeSet<String> {
    item.keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// The (code, message) of a failed SDK call.
fn failure<T: Debug, E: ProvideErrorMetadata + Debug, R: Debug>(
    result: Result<T, SdkError<E, R>>,
) -> (String, String) {
    let e = result.expect_err("the request must fail");
    let service = e.as_service_error();
    (
        service.and_then(|s| s.code()).unwrap_or("").to_string(),
        service
            .and_then(|s| s.message())
            .map_or_else(|| format!("{e:?}"), str::to_string),
    )
}

fn assert_validation<T: Debug, E: ProvideErrorMetadata + Debug, R: Debug>(
    result: Result<T, SdkError<E, R>>,
    message: &str,
) {
    let (code, got) = failure(result);
    assert_eq!(code, "ValidationException", "{got}");
    assert_eq!(got, message);
}

fn create(server: &Server, json: &str) {
    let (status, body) = server.call("CreateTable", json);
    assert_eq!(status, 200, "{body}");
}

/// Polls `check` until it holds (a GSI catching up) or 15 s pass.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match check().await {
            Ok(()) => return,
            Err(last) if Instant::now() > deadline => panic!("{what}: {last}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

const EVENTS: &str = r#"{
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

async fn put_events(client: &Client) {
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

/// A key condition, its values, and which `n` values it keeps.
type LsiCase = (
    &'static str,
    Vec<(&'static str, AttributeValue)>,
    Box<dyn Fn(i64) -> bool>,
);

#[tokio::test]
async fn lsi_query_every_sort_key_condition_strongly_consistent() {
    let server = Server::start("idxq-lsi", 2);
    create(&server, EVENTS);
    let client = server.client();
    put_events(&client).await;
    // The n values in p3, in index order (sparse: i % 4 == 3 is absent).
    let all: Vec<i64> = (0..20i64).filter(|i| i % 4 != 3).map(|i| i - 5).collect();
    let cases: Vec<LsiCase> = vec![
        ("pk = :p", vec![], Box::new(|_| true)),
        (
            "pk = :p AND n = :a",
            vec![(":a", n(4))],
            Box::new(|v| v == 4),
        ),
        (
            "pk = :p AND n < :a",
            vec![(":a", n(0))],
            Box::new(|v| v < 0),
        ),
        (
            "pk = :p AND n <= :a",
            vec![(":a", n(0))],
            Box::new(|v| v <= 0),
        ),
        (
            "pk = :p AND n > :a",
            vec![(":a", n(6))],
            Box::new(|v| v > 6),
        ),
        (
            "pk = :p AND n >= :a",
            vec![(":a", n(6))],
            Box::new(|v| v >= 6),
        ),
        (
            "pk = :p AND n BETWEEN :a AND :b",
            vec![(":a", n(-3)), (":b", n(3))],
            Box::new(|v| (-3..=3).contains(&v)),
        ),
    ];
    for (cond, values, keep) in &cases {
        for forward in [true, false] {
            let mut q = client
                .query()
                .table_name("events")
                .index_name("byN")
                .key_condition_expression(*cond)
                .expression_attribute_values(":p", s("p3"))
                .consistent_read(true)
                .scan_index_forward(forward);
            for (k, v) in values {
                q = q.expression_attribute_values(*k, v.clone());
            }
            let out = q.send().await.expect("query");
            let got: Vec<i64> = out.items().iter().map(|i| num(i, "n")).collect();
            let mut want: Vec<i64> = all.iter().copied().filter(|v| keep(*v)).collect();
            if !forward {
                want.reverse();
            }
            assert_eq!(got, want, "{cond} forward={forward}");
            // ALL_PROJECTED_ATTRIBUTES by default: keys and INCLUDE's inc.
            for item in out.items() {
                assert_eq!(names(item), set(&["pk", "sk", "n", "inc"]), "{item:?}");
            }
        }
    }
    // begins_with on an S sort key (the ALL-projected LSI).
    let out = client
        .query()
        .table_name("events")
        .index_name("byTag")
        .key_condition_expression("pk = :p AND begins_with(tag, :t)")
        .expression_attribute_values(":p", s("p1"))
        .expression_attribute_values(":t", s("t1"))
        .consistent_read(true)
        .send()
        .await
        .expect("query");
    let tags: Vec<String> = out.items().iter().map(|i| text(i, "tag")).collect();
    let mut want: Vec<String> = (0..20)
        .filter(|i| i % 3 == 1)
        .map(|i| format!("t1{i}"))
        .collect();
    want.sort();
    assert_eq!(tags, want);
    assert!(out.items().iter().all(|i| i.contains_key("extra")));
    // The same through legacy KeyConditions.
    let out = client
        .query()
        .table_name("events")
        .index_name("byN")
        .key_conditions(
            "pk",
            Condition::builder()
                .comparison_operator(ComparisonOperator::Eq)
                .attribute_value_list(s("p2"))
                .build()
                .expect("condition"),
        )
        .key_conditions(
            "n",
            Condition::builder()
                .comparison_operator(ComparisonOperator::Between)
                .attribute_value_list(n(0))
                .attribute_value_list(n(5))
                .build()
                .expect("condition"),
        )
        .send()
        .await
        .expect("legacy query");
    let got: Vec<i64> = out.items().iter().map(|i| num(i, "n")).collect();
    assert_eq!(got, vec![0, 1, 3, 4, 5]);
    // Unprojected attributes come from the base item on the LSI's shard.
    let out = client
        .query()
        .table_name("events")
        .index_name("byN")
        .key_condition_expression("pk = :p AND n >= :a")
        .projection_expression("n, extra")
        .filter_expression("extra >= :o")
        .expression_attribute_values(":p", s("p4"))
        .expression_attribute_values(":a", n(0))
        .expression_attribute_values(":o", n(100))
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .expect("query with fetch");
    let got: Vec<(i64, i64)> = out
        .items()
        .iter()
        .map(|i| (num(i, "n"), num(i, "extra")))
        .collect();
    let want: Vec<(i64, i64)> = (10..20i64)
        .filter(|i| i % 4 != 3)
        .map(|i| (i - 5, i * 10))
        .collect();
    assert_eq!(got, want);
    assert_eq!(out.scanned_count(), 11, "n >= 0 has 11 entries in p4");
    let capacity = out.consumed_capacity().expect("capacity");
    let lsi = capacity
        .local_secondary_indexes()
        .and_then(|m| m.get("byN"))
        .and_then(|c| c.capacity_units());
    assert_eq!(lsi, Some(0.5));
    let table_units = capacity.table().and_then(|c| c.capacity_units());
    assert!(table_units.is_some_and(|u| u > 0.0), "{capacity:?}");
    assert_eq!(
        capacity.capacity_units(),
        Some(0.5 + table_units.unwrap_or(0.0))
    );
    assert!(capacity.global_secondary_indexes().is_none());
    // ALL_ATTRIBUTES on an LSI returns whole base items.
    let out = client
        .query()
        .table_name("events")
        .index_name("byN")
        .key_condition_expression("pk = :p AND n = :a")
        .expression_attribute_values(":p", s("p0"))
        .expression_attribute_values(":a", n(-5))
        .select(Select::AllAttributes)
        .consistent_read(true)
        .send()
        .await
        .expect("all attributes");
    assert_eq!(out.items().len(), 1);
    assert_eq!(
        names(&out.items()[0]),
        set(&["pk", "sk", "n", "inc", "extra", "tag"])
    );
    // A write is visible to the next strongly consistent LSI query.
    client
        .update_item()
        .table_name("events")
        .key("pk", s("p0"))
        .key("sk", s("s19"))
        .update_expression("SET n = :v")
        .expression_attribute_values(":v", n(1000))
        .send()
        .await
        .expect("update");
    let out = client
        .query()
        .table_name("events")
        .index_name("byN")
        .key_condition_expression("pk = :p AND n >= :a")
        .expression_attribute_values(":p", s("p0"))
        .expression_attribute_values(":a", n(100))
        .consistent_read(true)
        .send()
        .await
        .expect("query");
    assert_eq!(out.items().len(), 1);
    assert_eq!(text(&out.items()[0], "sk"), "s19");
}

const ORDERS: &str = r#"{
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

async fn put_order(client: &Client, pk: &str, status: Option<&str>, placed: i64) {
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
async fn by_status(client: &Client, status: &str) -> Result<Vec<String>, String> {
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

#[tokio::test]
async fn gsi_query_follows_writes_updates_and_deletes() {
    let server = Server::start("idxq-gsi", 2);
    create(&server, ORDERS);
    let client = server.client();
    for i in 0..30i64 {
        // Sparse: every fifth order has no status and no index entry.
        let status = match i % 5 {
            4 => None,
            0 | 1 => Some("open"),
            _ => Some("done"),
        };
        put_order(&client, &format!("o{i:02}"), status, 100 - i).await;
    }
    // Index order is by `placed` (descending in i), not by pk.
    let mut open: Vec<String> = (0..30)
        .filter(|i| i % 5 < 2)
        .map(|i| format!("o{i:02}"))
        .collect();
    open.reverse();
    let want = open.clone();
    eventually("open orders indexed", || {
        let client = client.clone();
        let want = want.clone();
        async move {
            let got = by_status(&client, "open").await?;
            (got == want).then_some(()).ok_or(format!("{got:?}"))
        }
    })
    .await;
    eventually("done orders indexed", || {
        let client = client.clone();
        async move {
            let got = by_status(&client, "done").await?;
            (got.len() == 12).then_some(()).ok_or(format!("{got:?}"))
        }
    })
    .await;
    // Move o00 from open to done, delete o01, add a new open order.
    client
        .update_item()
        .table_name("orders")
        .key("pk", s("o00"))
        .update_expression("SET #s = :d")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":d", s("done"))
        .send()
        .await
        .expect("update");
    client
        .delete_item()
        .table_name("orders")
        .key("pk", s("o01"))
        .send()
        .await
        .expect("delete");
    put_order(&client, "o99", Some("open"), 1).await;
    let mut want: Vec<String> = open
        .iter()
        .filter(|p| *p != "o00" && *p != "o01")
        .cloned()
        .collect();
    want.insert(0, "o99".to_string());
    eventually("open orders after changes", || {
        let client = client.clone();
        let want = want.clone();
        async move {
            let got = by_status(&client, "open").await?;
            (got == want).then_some(()).ok_or(format!("{got:?}"))
        }
    })
    .await;
    eventually("o00 moved to done", || {
        let client = client.clone();
        async move {
            let got = by_status(&client, "done").await?;
            (got.len() == 13 && got.contains(&"o00".to_string()))
                .then_some(())
                .ok_or(format!("{got:?}"))
        }
    })
    .await;
    // Removing the index key takes the item out of the index.
    client
        .update_item()
        .table_name("orders")
        .key("pk", s("o99"))
        .update_expression("REMOVE #s")
        .expression_attribute_names("#s", "status")
        .send()
        .await
        .expect("update");
    eventually("o99 left the index", || {
        let client = client.clone();
        async move {
            let got = by_status(&client, "open").await?;
            (!got.contains(&"o99".to_string()))
                .then_some(())
                .ok_or(format!("{got:?}"))
        }
    })
    .await;
    // Range conditions, ScanIndexForward and capacity on a GSI.
    let out = client
        .query()
        .table_name("orders")
        .index_name("byStatus")
        .key_condition_expression("#s = :s AND placed BETWEEN :a AND :b")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", s("done"))
        .expression_attribute_values(":a", n(80))
        .expression_attribute_values(":b", n(90))
        .scan_index_forward(false)
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .expect("query");
    let placed: Vec<i64> = out.items().iter().map(|i| num(i, "placed")).collect();
    let mut want: Vec<i64> = (10..=20)
        .filter(|i| i % 5 >= 2 && i % 5 != 4)
        .map(|i| 100 - i)
        .collect();
    want.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(placed, want);
    for item in out.items() {
        assert_eq!(names(item), set(&["pk", "status", "placed", "amount"]));
    }
    let capacity = out.consumed_capacity().expect("capacity");
    let gsi = capacity
        .global_secondary_indexes()
        .and_then(|m| m.get("byStatus"))
        .and_then(|c| c.capacity_units());
    assert_eq!(gsi, Some(0.5));
    assert_eq!(capacity.table().and_then(|c| c.capacity_units()), Some(0.0));
    assert_eq!(capacity.capacity_units(), Some(0.5));
}

#[tokio::test]
async fn gsi_projections_and_index_read_errors() {
    let server = Server::start("idxq-proj", 2);
    create(&server, ORDERS);
    let client = server.client();
    for i in 0..10i64 {
        put_order(&client, &format!("o{i}"), Some("open"), i).await;
    }
    let query = |index: &str| {
        client
            .query()
            .table_name("orders")
            .index_name(index)
            .key_condition_expression("#r = :r")
            .expression_attribute_names("#r", "region")
            .expression_attribute_values(":r", s("east"))
    };
    eventually("east orders indexed", || {
        let q = query("everything");
        async move {
            let out = q.send().await.map_err(|e| format!("{e:?}"))?;
            (out.count() == 5).then_some(()).ok_or(format!("{out:?}"))
        }
    })
    .await;
    eventually("keysOnly indexed", || {
        let q = query("keysOnly");
        async move {
            let out = q.send().await.map_err(|e| format!("{e:?}"))?;
            (out.count() == 5).then_some(()).ok_or(format!("{out:?}"))
        }
    })
    .await;
    // KEYS_ONLY: table keys and index keys only.
    let out = query("keysOnly").send().await.expect("keys only");
    for item in out.items() {
        assert_eq!(names(item), set(&["pk", "region"]));
    }
    // ALL: everything, and ALL_ATTRIBUTES is allowed.
    let out = query("everything")
        .select(Select::AllAttributes)
        .send()
        .await
        .expect("all");
    for item in out.items() {
        assert_eq!(
            names(item),
            set(&["pk", "region", "placed", "amount", "note", "status"])
        );
    }
    // Projected attributes may be asked for; unprojected ones may not.
    let out = query("keysOnly")
        .projection_expression("pk")
        .send()
        .await
        .expect("projected");
    assert!(out.items().iter().all(|i| names(i) == set(&["pk"])));
    assert_validation(
        query("keysOnly")
            .projection_expression("pk, note")
            .send()
            .await,
        "One or more parameter values were invalid: Global secondary index keysOnly does not project [note]",
    );
    assert_validation(
        query("keysOnly").select(Select::AllAttributes).send().await,
        "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index keysOnly because its projection type is not ALL",
    );
    assert_validation(
        query("keysOnly")
            .filter_expression("amount > :t")
            .expression_attribute_values(":t", n(1))
            .send()
            .await,
        "One or more parameter values were invalid: Secondary index keysOnly does not project one or more filter attributes: [amount]",
    );
    // A filter on the table's key is fine on a GSI; on the index's key not.
    let out = query("keysOnly")
        .filter_expression("pk = :p")
        .expression_attribute_values(":p", s("o2"))
        .send()
        .await
        .expect("filter on the table key");
    assert_eq!(out.count(), 1);
    assert_eq!(out.scanned_count(), 5);
    assert_validation(
        client
            .query()
            .table_name("orders")
            .index_name("byStatus")
            .key_condition_expression("#s = :s")
            .filter_expression("placed > :p")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":s", s("open"))
            .expression_attribute_values(":p", n(1))
            .send()
            .await,
        "Filter Expression can only contain non-primary key attributes: Primary key attribute: placed",
    );
    assert_validation(
        query("keysOnly").consistent_read(true).send().await,
        "Consistent reads are not supported on global secondary indexes",
    );
    assert_validation(
        query("nope").send().await,
        "The table does not have the specified index: nope",
    );
    assert_validation(
        client
            .query()
            .table_name("orders")
            .index_name("byStatus")
            .key_condition_expression("placed = :p")
            .expression_attribute_values(":p", n(1))
            .send()
            .await,
        "Query condition missed key schema element: status",
    );
    assert_validation(
        client
            .query()
            .table_name("orders")
            .index_name("byStatus")
            .key_condition_expression("#s = :s")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":s", n(1))
            .send()
            .await,
        "One or more parameter values were invalid: Condition parameter type does not match schema type",
    );
    assert_validation(
        client
            .query()
            .table_name("orders")
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("o1"))
            .select(Select::AllProjectedAttributes)
            .send()
            .await,
        "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
    );
    // Scan on an index: the same projection rules.
    assert_validation(
        client
            .scan()
            .table_name("orders")
            .index_name("keysOnly")
            .consistent_read(true)
            .send()
            .await,
        "Consistent reads are not supported on global secondary indexes",
    );
    assert_validation(
        client
            .scan()
            .table_name("orders")
            .index_name("keysOnly")
            .select(Select::AllAttributes)
            .send()
            .await,
        "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index keysOnly because its projection type is not ALL",
    );
    eventually("a keysOnly scan sees all ten", || {
        let client = client.clone();
        async move {
            let out = client
                .scan()
                .table_name("orders")
                .index_name("keysOnly")
                .send()
                .await
                .map_err(|e| format!("{e:?}"))?;
            if !out
                .items()
                .iter()
                .all(|i| names(i) == set(&["pk", "region"]))
            {
                return Err(format!("unprojected attributes: {out:?}"));
            }
            (out.count() == 10)
                .then_some(())
                .ok_or(format!("{}", out.count()))
        }
    })
    .await;
}

#[tokio::test]
async fn gsi_pages_round_trip_in_both_directions() {
    let server = Server::start("idxq-pages", 2);
    create(&server, ORDERS);
    let client = server.client();
    // Equal `placed` values make the base key decide the order within them.
    for i in 0..40i64 {
        put_order(&client, &format!("o{i:02}"), Some("open"), i / 3).await;
    }
    eventually("all 40 indexed", || {
        let client = client.clone();
        async move {
            let got = by_status(&client, "open").await?;
            (got.len() == 40)
                .then_some(())
                .ok_or(format!("{}", got.len()))
        }
    })
    .await;
    let full = by_status(&client, "open").await.expect("query");
    for forward in [true, false] {
        let mut seen = Vec::new();
        let mut start: Option<Item> = None;
        let mut pages = 0;
        loop {
            let out = client
                .query()
                .table_name("orders")
                .index_name("byStatus")
                .key_condition_expression("#s = :s")
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":s", s("open"))
                .scan_index_forward(forward)
                .limit(7)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .expect("page");
            assert!(out.items().len() <= 7);
            seen.extend(out.items().iter().map(|i| text(i, "pk")));
            pages += 1;
            match out.last_evaluated_key {
                Some(key) => {
                    assert_eq!(names(&key), set(&["pk", "status", "placed"]));
                    start = Some(key);
                }
                None => break,
            }
        }
        let mut want = full.clone();
        if !forward {
            want.reverse();
        }
        assert_eq!(seen, want, "forward={forward}");
        assert_eq!(pages, 6, "40 items at 7 a page, the last page ends it");
    }
    // ExclusiveStartKey must name the table's and the index's keys.
    let page = |key: Item| {
        client
            .query()
            .table_name("orders")
            .index_name("byStatus")
            .key_condition_expression("#s = :s")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":s", s("open"))
            .set_exclusive_start_key(Some(key))
    };
    let key = |pairs: &[(&str, AttributeValue)]| -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    assert_validation(
        page(key(&[("pk", s("o01"))])).send().await,
        "The provided starting key is invalid",
    );
    assert_validation(
        page(key(&[("pk", s("o01")), ("status", s("open"))]))
            .send()
            .await,
        "The provided starting key is invalid",
    );
    assert_validation(
        page(key(&[
            ("pk", s("o01")),
            ("status", s("open")),
            ("placed", s("x")),
        ]))
        .send()
        .await,
        "The provided starting key is invalid: The provided key element does not match the schema",
    );
    assert_validation(
        page(key(&[
            ("pk", s("o01")),
            ("status", s("done")),
            ("placed", n(0)),
        ]))
        .send()
        .await,
        "The provided starting key is outside query boundaries based on provided conditions",
    );
    // A start key the range condition excludes.
    assert_validation(
        client
            .query()
            .table_name("orders")
            .index_name("byStatus")
            .key_condition_expression("#s = :s AND placed > :p")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":s", s("open"))
            .expression_attribute_values(":p", n(5))
            .set_exclusive_start_key(Some(key(&[
                ("pk", s("o01")),
                ("status", s("open")),
                ("placed", n(0)),
            ])))
            .send()
            .await,
        "The provided starting key does not match the range key predicate",
    );
}

const MATCHES: &str = r#"{
  "TableName": "matches",
  "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [
    {"AttributeName": "id", "AttributeType": "S"},
    {"AttributeName": "tournament", "AttributeType": "S"},
    {"AttributeName": "region", "AttributeType": "S"},
    {"AttributeName": "round", "AttributeType": "S"},
    {"AttributeName": "seq", "AttributeType": "N"}
  ],
  "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
  "GlobalSecondaryIndexes": [{
    "IndexName": "byBracket",
    "KeySchema": [
      {"AttributeName": "tournament", "KeyType": "HASH"},
      {"AttributeName": "region", "KeyType": "HASH"},
      {"AttributeName": "round", "KeyType": "RANGE"},
      {"AttributeName": "seq", "KeyType": "RANGE"}
    ],
    "Projection": {"ProjectionType": "ALL"}
  }]
}"#;

#[tokio::test]
async fn multi_attribute_gsi_query() {
    let server = Server::start("idxq-multi", 2);
    create(&server, MATCHES);
    let client = server.client();
    let rounds = ["final", "quarter", "semi"];
    let mut count = 0;
    for t in ["w24", "s25"] {
        for region in ["eu", "na"] {
            for (r, round) in rounds.iter().enumerate() {
                for seq in 0..(r as i64 + 2) {
                    client
                        .put_item()
                        .table_name("matches")
                        .item("id", s(&format!("{t}-{region}-{round}-{seq}")))
                        .item("tournament", s(t))
                        .item("region", s(region))
                        .item("round", s(round))
                        .item("seq", n(10 - seq))
                        .send()
                        .await
                        .expect("put");
                    count += 1;
                }
            }
        }
    }
    // A match without `region` is absent from the index (sparse).
    client
        .put_item()
        .table_name("matches")
        .item("id", s("loose"))
        .item("tournament", s("w24"))
        .item("round", s("final"))
        .item("seq", n(1))
        .send()
        .await
        .expect("put");
    assert_eq!(count, 36);
    let query = |cond: &str| {
        client
            .query()
            .table_name("matches")
            .index_name("byBracket")
            .key_condition_expression(cond)
            .expression_attribute_names("#r", "region")
            .expression_attribute_values(":t", s("w24"))
            .expression_attribute_values(":g", s("eu"))
    };
    let keys_of = |items: &[Item]| -> Vec<(String, i64)> {
        items
            .iter()
            .map(|i| (text(i, "round"), num(i, "seq")))
            .collect()
    };
    eventually("w24/eu indexed", || {
        let q = query("tournament = :t AND #r = :g");
        async move {
            let out = q.send().await.map_err(|e| format!("{e:?}"))?;
            (out.count() == 9)
                .then_some(())
                .ok_or(format!("{}", out.count()))
        }
    })
    .await;
    // Hash only: sorted by (round, seq).
    let out = query("tournament = :t AND #r = :g")
        .send()
        .await
        .expect("q");
    let mut want: Vec<(String, i64)> = Vec::new();
    for (r, round) in rounds.iter().enumerate() {
        let mut seqs: Vec<i64> = (0..(r as i64 + 2)).map(|q| 10 - q).collect();
        seqs.sort_unstable();
        want.extend(seqs.into_iter().map(|q| (round.to_string(), q)));
    }
    assert_eq!(keys_of(out.items()), want);
    // Equality on the first RANGE attribute, then a range on the second.
    let out = query("tournament = :t AND #r = :g AND round = :x AND seq < :q")
        .expression_attribute_values(":x", s("semi"))
        .expression_attribute_values(":q", n(9))
        .scan_index_forward(false)
        .send()
        .await
        .expect("q");
    assert_eq!(
        keys_of(out.items()),
        vec![("semi".to_string(), 8), ("semi".to_string(), 7)]
    );
    // A range condition on the first RANGE attribute alone.
    let out = query("tournament = :t AND #r = :g AND round > :x")
        .expression_attribute_values(":x", s("final"))
        .send()
        .await
        .expect("q");
    assert_eq!(out.count(), 7);
    let out = query("tournament = :t AND #r = :g AND begins_with(round, :x)")
        .expression_attribute_values(":x", s("s"))
        .send()
        .await
        .expect("q");
    assert_eq!(out.count(), 4);
    // Errors: a missing HASH attribute, a gap, a range before the last.
    assert_validation(
        client
            .query()
            .table_name("matches")
            .index_name("byBracket")
            .key_condition_expression("tournament = :t")
            .expression_attribute_values(":t", s("w24"))
            .send()
            .await,
        "Query condition missed key schema element: region",
    );
    assert_validation(
        query("tournament = :t AND #r = :g AND seq = :q")
            .expression_attribute_values(":q", n(9))
            .send()
            .await,
        "Query condition missed key schema element: round",
    );
    assert_validation(
        query("tournament = :t AND #r = :g AND round > :x AND seq = :q")
            .expression_attribute_values(":x", s("a"))
            .expression_attribute_values(":q", n(9))
            .send()
            .await,
        "Query key condition not supported",
    );
    // Legacy KeyConditions with all four key attributes.
    let eq = |v: AttributeValue| {
        Condition::builder()
            .comparison_operator(ComparisonOperator::Eq)
            .attribute_value_list(v)
            .build()
            .expect("condition")
    };
    let out = client
        .query()
        .table_name("matches")
        .index_name("byBracket")
        .key_conditions("tournament", eq(s("s25")))
        .key_conditions("region", eq(s("na")))
        .key_conditions("round", eq(s("quarter")))
        .key_conditions(
            "seq",
            Condition::builder()
                .comparison_operator(ComparisonOperator::Ge)
                .attribute_value_list(n(9))
                .build()
                .expect("condition"),
        )
        .send()
        .await
        .expect("legacy multi-attribute query");
    assert_eq!(
        keys_of(out.items()),
        vec![("quarter".to_string(), 9), ("quarter".to_string(), 10)]
    );
    // Paging keys carry every index key attribute.
    let out = query("tournament = :t AND #r = :g")
        .limit(2)
        .send()
        .await
        .expect("q");
    let key = out.last_evaluated_key().expect("more");
    assert_eq!(
        names(key),
        set(&["id", "tournament", "region", "round", "seq"])
    );
    let next = query("tournament = :t AND #r = :g")
        .set_exclusive_start_key(Some(key.clone()))
        .send()
        .await
        .expect("next page");
    assert_eq!(keys_of(next.items()), want[2..].to_vec());
}

#[tokio::test]
async fn index_scans_cover_every_entry_exactly_once() {
    let server = Server::start("idxq-scan", 2);
    create(&server, ORDERS);
    create(&server, EVENTS);
    let client = server.client();
    let mut indexed = BTreeSet::new();
    for i in 0..150i64 {
        let status = (i % 7 != 0).then_some(if i % 2 == 0 { "open" } else { "done" });
        if status.is_some() {
            indexed.insert(format!("o{i:03}"));
        }
        put_order(&client, &format!("o{i:03}"), status, i % 11).await;
    }
    eventually("every order indexed", || {
        let client = client.clone();
        let want = indexed.len();
        async move {
            let mut total = 0;
            let mut start = None;
            loop {
                let out = client
                    .scan()
                    .table_name("orders")
                    .index_name("byStatus")
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                total += out.count();
                start = out.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
            (total as usize == want)
                .then_some(())
                .ok_or(format!("{total}"))
        }
    })
    .await;
    for total in [1, 3, 4] {
        let mut seen = Vec::new();
        for segment in 0..total {
            let mut start: Option<Item> = None;
            loop {
                let out = client
                    .scan()
                    .table_name("orders")
                    .index_name("byStatus")
                    .segment(segment)
                    .total_segments(total)
                    .limit(13)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .expect("segment page");
                for item in out.items() {
                    assert_eq!(names(item), set(&["pk", "status", "placed", "amount"]));
                    seen.push(text(item, "pk"));
                }
                match out.last_evaluated_key {
                    Some(key) => {
                        assert_eq!(names(&key), set(&["pk", "status", "placed"]));
                        start = Some(key);
                    }
                    None => break,
                }
            }
        }
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(seen.len(), unique.len(), "{total} segments: a duplicate");
        assert_eq!(unique, indexed, "{total} segments");
    }
    // A filtered, counted index scan.
    let out = client
        .scan()
        .table_name("orders")
        .index_name("byStatus")
        .filter_expression("#s = :o")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":o", s("open"))
        .select(Select::Count)
        .send()
        .await
        .expect("count");
    let open = (0..150).filter(|i| i % 7 != 0 && i % 2 == 0).count();
    assert_eq!(out.count() as usize, open);
    assert_eq!(out.scanned_count() as usize, indexed.len());
    // An LSI scan, fetching an unprojected attribute from the base items.
    put_events(&client).await;
    let mut seen = 0;
    let mut start: Option<Item> = None;
    loop {
        let out = client
            .scan()
            .table_name("events")
            .index_name("byN")
            .projection_expression("pk, n, extra")
            .consistent_read(true)
            .limit(17)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .expect("lsi scan");
        for item in out.items() {
            let i = num(item, "n") + 5;
            assert_eq!(num(item, "extra"), i * 10, "{item:?}");
        }
        seen += out.items().len();
        match out.last_evaluated_key {
            Some(key) => {
                assert_eq!(names(&key), set(&["pk", "sk", "n"]));
                start = Some(key);
            }
            None => break,
        }
    }
    assert_eq!(seen, 6 * 15, "six partitions of 15 indexed items");
}
