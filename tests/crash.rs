//! Crash safety of the real process: SIGKILL the server mid-load several
//! times; after every restart each write that was acknowledged is there.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{Server, create_simple_table};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let mut server = Server::start("crash", 2);
    create_simple_table(&server.client(), "durable", None).await;
    let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    for round in 0..3 {
        let client = server.client();
        let mut writers = Vec::new();
        for writer in 0..8 {
            let client = client.clone();
            let acked = acked.clone();
            writers.push(tokio::spawn(async move {
                for i in 0.. {
                    let key = format!("r{round}-w{writer}-{i}");
                    let value = format!("{}", i * 7 + writer);
                    let result = client
                        .put_item()
                        .table_name("durable")
                        .item("pk", AttributeValue::S(key.clone()))
                        .item("v", AttributeValue::S(value.clone()))
                        .send()
                        .await;
                    match result {
                        Ok(_) => {
                            acked.lock().expect("acked map").insert(key, value);
                        }
                        Err(_) => break,
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        server.kill();
        for w in writers {
            let _ = w.await;
        }
        server.launch().expect("restart after SIGKILL");
        let client = server.client();
        let expected = acked.lock().expect("acked map").clone();
        assert!(
            !expected.is_empty(),
            "round {round}: some writes were acknowledged"
        );
        for (key, value) in &expected {
            let got = client
                .get_item()
                .table_name("durable")
                .key("pk", AttributeValue::S(key.clone()))
                .consistent_read(true)
                .send()
                .await
                .expect("get after restart");
            let stored = got
                .item()
                .and_then(|i| i.get("v"))
                .and_then(|v| v.as_s().ok());
            assert_eq!(
                stored,
                Some(value),
                "round {round}: acknowledged write {key} lost"
            );
        }
    }
}
