//! Sharding: requests that land on the wrong core are forwarded and counted;
//! a data directory refuses a different shard count.

mod common;

use common::{Server, raw_get};

#[tokio::test]
async fn forwarding_is_counted_and_layout_is_enforced() {
    let mut server = Server::start("sharding", 2);
    let client = server.client();
    common::create_simple_table(&client, "spread", None).await;
    for i in 0..50 {
        client
            .put_item()
            .table_name("spread")
            .item(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("key-{i}")),
            )
            .send()
            .await
            .expect("put");
    }
    let (status, metrics) = raw_get(server.port, "/dynacore/metrics").expect("metrics");
    assert_eq!(status, 200);
    let forwarded: u64 = metrics
        .split("\"forwarded_in\":")
        .skip(1)
        .filter_map(|s| s.split([',', '}']).next()?.parse::<u64>().ok())
        .sum();
    assert!(
        forwarded > 0,
        "with 2 shards some of 50 keys must be forwarded: {metrics}"
    );

    server.kill();
    server.shards = 3;
    let err = server
        .launch()
        .expect_err("a different shard count must be refused");
    assert!(err.contains("created with 2 shards"), "{err}");
}
