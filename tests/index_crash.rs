//! Indexes survive SIGKILL of the real process: writers put, update and
//! delete items of a table with two GSIs and an LSI while the server is
//! killed three times; after each restart, once the GSI outboxes drain,
//! every index holds exactly the entries the base table implies (read
//! through Scan with IndexName), and every acknowledged write is there.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use common::Server;
use common::values::{n, s};

type Row = HashMap<String, AttributeValue>;
/// Last acknowledged value of `v` per (pk, sk), None once deleted.
type Acked = Arc<Mutex<HashMap<(u64, u64), Option<u64>>>>;
/// Per writer: the key and outcome of the write it has in flight.
type Inflight = Arc<Mutex<HashMap<u64, (u64, Option<u64>)>>>;

const TABLE: &str = r#"{
  "TableName": "events",
  "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "N"},
    {"AttributeName": "kind", "AttributeType": "S"},
    {"AttributeName": "at", "AttributeType": "N"},
    {"AttributeName": "owner", "AttributeType": "S"}
  ],
  "KeySchema": [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"}
  ],
  "LocalSecondaryIndexes": [{
    "IndexName": "byAt",
    "KeySchema": [
      {"AttributeName": "pk", "KeyType": "HASH"},
      {"AttributeName": "at", "KeyType": "RANGE"}
    ],
    "Projection": {"ProjectionType": "KEYS_ONLY"}
  }],
  "GlobalSecondaryIndexes": [
    {
      "IndexName": "byKind",
      "KeySchema": [
        {"AttributeName": "kind", "KeyType": "HASH"},
        {"AttributeName": "at", "KeyType": "RANGE"}
      ],
      "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["v"]}
    },
    {
      "IndexName": "byOwner",
      "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
      "Projection": {"ProjectionType": "ALL"}
    }
  ]
}"#;

async fn scan_all(client: &Client, index: Option<&str>) -> Vec<Row> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name("events")
            .set_index_name(index.map(str::to_string))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        out.extend(page.items().iter().cloned());
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

fn text(row: &Row, name: &str) -> Option<String> {
    row.get(name).map(|v| match v {
        AttributeValue::S(s) => format!("S:{s}"),
        AttributeValue::N(n) => format!("N:{n}"),
        other => format!("{other:?}"),
    })
}

/// What an index entry looks like, as a comparable string: its keys and
/// projected attributes.
fn entry(row: &Row, attrs: &[&str]) -> String {
    attrs
        .iter()
        .map(|a| format!("{a}={}", text(row, a).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(",")
}

async fn check_indexes(server: &Server, round: usize) {
    assert!(
        server.gsi_outboxes_drained(Duration::from_secs(30)).await,
        "round {round}: outboxes never drained"
    );
    let client = server.client();
    let base = scan_all(&client, None).await;
    let indexes: [(&str, &[&str], &[&str]); 3] = [
        ("byAt", &["at"], &["pk", "sk", "at"]),
        ("byKind", &["kind", "at"], &["pk", "sk", "kind", "at", "v"]),
        (
            "byOwner",
            &["owner"],
            &["pk", "sk", "owner", "kind", "at", "v"],
        ),
    ];
    for (index, keys, shown) in indexes {
        let expected: BTreeSet<String> = base
            .iter()
            .filter(|row| keys.iter().all(|k| row.contains_key(*k)))
            .map(|row| entry(row, shown))
            .collect();
        let rows = scan_all(&client, Some(index)).await;
        let actual: BTreeSet<String> = rows.iter().map(|row| entry(row, shown)).collect();
        assert_eq!(
            rows.len(),
            actual.len(),
            "round {round}: {index} has duplicate entries"
        );
        let lost: Vec<_> = expected.difference(&actual).collect();
        let phantom: Vec<_> = actual.difference(&expected).collect();
        assert!(
            lost.is_empty() && phantom.is_empty(),
            "round {round}: {index}: {} lost (first {:?}), {} phantom (first {:?})",
            lost.len(),
            lost.iter().take(3).collect::<Vec<_>>(),
            phantom.len(),
            phantom.iter().take(3).collect::<Vec<_>>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_converge_after_sigkill() {
    let mut server = Server::start("idx-crash", 2);
    let (status, body) = server.call("CreateTable", TABLE);
    assert_eq!(status, 200, "{body}");
    let acked: Acked = Arc::default();
    let inflight: Inflight = Arc::default();
    for round in 0..3 {
        inflight.lock().expect("inflight").clear();
        let client = server.client();
        let mut writers = Vec::new();
        for writer in 0..6u64 {
            let (client, acked, inflight) = (client.clone(), acked.clone(), inflight.clone());
            writers.push(tokio::spawn(async move {
                for i in 0u64.. {
                    // Each writer owns its keys, so its acks are ordered.
                    let (pk, sk) = (writer, i % 40);
                    let pk_s = format!("p{pk}");
                    let outcome = if i % 7 == 5 { None } else { Some(i) };
                    inflight
                        .lock()
                        .expect("inflight")
                        .insert(writer, (sk, outcome));
                    let result = match i % 7 {
                        5 => client
                            .delete_item()
                            .table_name("events")
                            .key("pk", s(&pk_s))
                            .key("sk", n(sk))
                            .send()
                            .await
                            .map(|_| None)
                            .map_err(drop),
                        3 | 6 => client
                            .update_item()
                            .table_name("events")
                            .key("pk", s(&pk_s))
                            .key("sk", n(sk))
                            .update_expression("SET v = :v, kind = :k REMOVE #o")
                            .expression_attribute_names("#o", "owner")
                            .expression_attribute_values(":v", n(i))
                            .expression_attribute_values(":k", s(["a", "b"][(i % 2) as usize]))
                            .send()
                            .await
                            .map(|_| Some(i))
                            .map_err(drop),
                        _ => client
                            .put_item()
                            .table_name("events")
                            .item("pk", s(&pk_s))
                            .item("sk", n(sk))
                            .item("v", n(i))
                            .item("at", n(i % 13))
                            .item("kind", s(["a", "b", "c"][(i % 3) as usize]))
                            .item("owner", s(&format!("o{}", i % 5)))
                            .send()
                            .await
                            .map(|_| Some(i))
                            .map_err(drop),
                    };
                    match result {
                        Ok(v) => {
                            acked.lock().expect("acked").insert((pk, sk), v);
                        }
                        Err(_) => break,
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(800)).await;
        server.kill();
        for w in writers {
            let _ = w.await;
        }
        server.launch().expect("restart after SIGKILL");
        let client = server.client();
        let expected = acked.lock().expect("acked").clone();
        assert!(
            !expected.is_empty(),
            "round {round}: nothing was acknowledged"
        );
        // Acknowledged writes are there; only the one write each writer had
        // in flight may or may not have landed.
        let inflight_now = inflight.lock().expect("inflight").clone();
        for ((pk, sk), v) in &expected {
            let got = client
                .get_item()
                .table_name("events")
                .key("pk", s(&format!("p{pk}")))
                .key("sk", n(*sk))
                .consistent_read(true)
                .send()
                .await
                .expect("get");
            let got_v = got.item().map(|i| {
                i.get("v")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<u64>().ok())
            });
            let got_v = got_v.flatten();
            let mut allowed = vec![*v];
            if let Some((in_sk, outcome)) = inflight_now.get(pk)
                && in_sk == sk
            {
                allowed.push(*outcome);
            }
            assert!(
                allowed.contains(&got_v),
                "round {round}: p{pk}/{sk} holds v={got_v:?}, acknowledged {v:?}"
            );
            // What is stored is the truth from here on: an in-flight write
            // that landed is no longer in flight in the next round (each
            // round's writers start over at i = 0).
            acked.lock().expect("acked").insert((*pk, *sk), got_v);
        }
        check_indexes(&server, round).await;
    }
}
