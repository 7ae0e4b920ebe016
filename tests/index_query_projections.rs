//! Secondary index reads through the AWS SDK against the real binary with
//! two shards (index partitions and LSI base-item fetches are served on the
//! owning shard after forwarding).
//!
//! GSI projections (KEYS_ONLY, INCLUDE, ALL) and the index read errors.

mod common;

use aws_sdk_dynamodb::types::Select;
use common::Server;
use common::index_tables::{ORDERS, create, put_order};
use common::values::{assert_validation, n, names, s, set};
use common::wait::eventually;

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
