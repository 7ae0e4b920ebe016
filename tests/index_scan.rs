//! Secondary index reads through the AWS SDK against the real binary with
//! two shards (index partitions and LSI base-item fetches are served on the
//! owning shard after forwarding).
//!
//! Scans of LSIs and GSIs, parallel segments included, cover every entry
//! exactly once.

mod common;

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::Select;
use common::Server;
use common::index_tables::{EVENTS, ORDERS, create, put_events, put_order};
use common::values::{Item, names, num, s, set, text};
use common::wait::eventually;

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
