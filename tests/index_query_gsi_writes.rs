//! Secondary index reads through the AWS SDK against the real binary with
//! two shards (index partitions and LSI base-item fetches are served on the
//! owning shard after forwarding).
//!
//! GSI Query follows writes, updates and deletes (polled: GSIs are
//! eventually consistent), sparse entries included.

mod common;

use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use common::Server;
use common::index_tables::{ORDERS, by_status, create, put_order};
use common::values::{n, names, num, s, set};
use common::wait::eventually;

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
