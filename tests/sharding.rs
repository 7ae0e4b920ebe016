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

/// The default data directory is relative (`./dynacore-data`): a relative
/// path must work, not only the absolute ones the other tests pass.
#[test]
fn relative_data_dir_serves() {
    let port = common::free_port();
    let cwd = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = format!("relative-data-{}", std::process::id());
    let _ = std::fs::remove_dir_all(cwd.join(&dir));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dynacore"))
        .current_dir(cwd)
        .args([
            "serve",
            "--admin-listen",
            "off",
            "--shards",
            "1",
            "--data-dir",
            &dir,
        ])
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn dynacore");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut healthy = false;
    while std::time::Instant::now() < deadline && !healthy {
        healthy = matches!(raw_get(port, "/"), Ok((200, _)));
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(healthy, "dynacore did not serve with a relative --data-dir");
    assert!(cwd.join(&dir).join("shard-000").is_dir());
    let _ = std::fs::remove_dir_all(cwd.join(&dir));
}
