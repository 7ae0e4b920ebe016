//! Secondary index reads through the AWS SDK against the real binary with
//! two shards (index partitions and LSI base-item fetches are served on the
//! owning shard after forwarding).
//!
//! Paging over a GSI with ExclusiveStartKey in both directions, and the
//! start-key errors.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::Server;
use common::index_tables::{ORDERS, by_status, create, put_order};
use common::values::{Item, assert_validation, n, names, s, set, text};
use common::wait::eventually;

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
