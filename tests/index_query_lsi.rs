//! Secondary index reads through the AWS SDK against the real binary with
//! two shards (index partitions and LSI base-item fetches are served on the
//! owning shard after forwarding).
//!
//! LSI Query: every sort key condition, strongly consistent, both directions;
//! begins_with on an S sort key; legacy KeyConditions.

mod common;

use aws_sdk_dynamodb::types::{
    AttributeValue, ComparisonOperator, Condition, ReturnConsumedCapacity, Select,
};
use common::Server;
use common::index_tables::{EVENTS, create, put_events};
use common::values::{n, names, num, s, set, text};

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
