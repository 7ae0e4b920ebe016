//! Seeded randomized test of index maintenance against a `BTreeMap` model,
//! through the real binary and the AWS SDK: random puts, updates, deletes
//! and batch writes on a table with an LSI, two GSIs and a multi-attribute
//! GSI; after each round the LSI is checked at once (it is synchronous and
//! strongly consistent), the GSIs once they catch up — every partition of
//! every index is queried (paged) and must return exactly the projected
//! model items, in index order. Replay with `DYNACORE_SEED=<seed>`.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use common::values::{n, s};
use common::{Rng, Server, seed};

type Row = HashMap<String, AttributeValue>;
type Model = BTreeMap<(u64, u64), Row>;

const TABLE: &str = r#"{
  "TableName": "model",
  "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "N"},
    {"AttributeName": "g", "AttributeType": "S"},
    {"AttributeName": "h", "AttributeType": "N"},
    {"AttributeName": "l", "AttributeType": "S"},
    {"AttributeName": "x", "AttributeType": "S"}
  ],
  "KeySchema": [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"}
  ],
  "LocalSecondaryIndexes": [{
    "IndexName": "byL",
    "KeySchema": [
      {"AttributeName": "pk", "KeyType": "HASH"},
      {"AttributeName": "l", "KeyType": "RANGE"}
    ],
    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]}
  }],
  "GlobalSecondaryIndexes": [
    {
      "IndexName": "byG",
      "KeySchema": [
        {"AttributeName": "g", "KeyType": "HASH"},
        {"AttributeName": "h", "KeyType": "RANGE"}
      ],
      "Projection": {"ProjectionType": "KEYS_ONLY"}
    },
    {
      "IndexName": "byX",
      "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
      "Projection": {"ProjectionType": "ALL"}
    },
    {
      "IndexName": "byGX",
      "KeySchema": [
        {"AttributeName": "g", "KeyType": "HASH"},
        {"AttributeName": "x", "KeyType": "HASH"},
        {"AttributeName": "h", "KeyType": "RANGE"}
      ],
      "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["v"]}
    }
  ]
}"#;

const GS: [&str; 3] = ["red", "green", "blue"];
const XS: [&str; 3] = ["x1", "x2", "x3"];
const LS: [&str; 4] = ["a", "b", "c", "d"];

struct Index {
    name: &'static str,
    hash: &'static [&'static str],
    range: Option<&'static str>,
    /// None: ALL.
    projected: Option<&'static [&'static str]>,
}

const INDEXES: [Index; 4] = [
    Index {
        name: "byL",
        hash: &["pk"],
        range: Some("l"),
        projected: Some(&["pk", "sk", "l", "x"]),
    },
    Index {
        name: "byG",
        hash: &["g"],
        range: Some("h"),
        projected: Some(&["pk", "sk", "g", "h"]),
    },
    Index {
        name: "byX",
        hash: &["x"],
        range: None,
        projected: None,
    },
    Index {
        name: "byGX",
        hash: &["g", "x"],
        range: Some("h"),
        projected: Some(&["pk", "sk", "g", "x", "h", "v"]),
    },
];

fn pick<'a>(rng: &mut Rng, options: &[&'a str]) -> &'a str {
    options[rng.below(options.len() as u64) as usize]
}

/// One random write, applied to the server and the model.
async fn random_write(client: &Client, rng: &mut Rng, model: &mut Model) {
    let (p, k) = (rng.below(5), rng.below(8));
    let key = |row: &mut Row| {
        row.insert("pk".into(), s(&format!("p{p}")));
        row.insert("sk".into(), n(k));
    };
    match rng.below(10) {
        0..=3 => {
            let mut row = Row::new();
            key(&mut row);
            if rng.below(5) != 0 {
                row.insert("g".into(), s(pick(rng, &GS)));
            }
            if rng.below(5) != 0 {
                row.insert("h".into(), n(rng.below(6)));
            }
            if rng.below(4) != 0 {
                row.insert("l".into(), s(pick(rng, &LS)));
            }
            if rng.below(4) != 0 {
                row.insert("x".into(), s(pick(rng, &XS)));
            }
            row.insert("v".into(), n(rng.below(1000)));
            if rng.below(3) == 0 {
                client
                    .batch_write_item()
                    .request_items(
                        "model",
                        vec![
                            WriteRequest::builder()
                                .put_request(
                                    PutRequest::builder()
                                        .set_item(Some(row.clone()))
                                        .build()
                                        .expect("put request"),
                                )
                                .build(),
                        ],
                    )
                    .send()
                    .await
                    .expect("batch put");
            } else {
                client
                    .put_item()
                    .table_name("model")
                    .set_item(Some(row.clone()))
                    .send()
                    .await
                    .expect("put");
            }
            model.insert((p, k), row);
        }
        4..=7 => {
            let (name, value) = match rng.below(5) {
                0 => ("g", s(pick(rng, &GS))),
                1 => ("h", n(rng.below(6))),
                2 => ("l", s(pick(rng, &LS))),
                3 => ("x", s(pick(rng, &XS))),
                _ => ("v", n(rng.below(1000))),
            };
            let remove = rng.below(4) == 0;
            let request = client
                .update_item()
                .table_name("model")
                .key("pk", s(&format!("p{p}")))
                .key("sk", n(k))
                .expression_attribute_names("#a", name);
            let request = if remove {
                request.update_expression("REMOVE #a")
            } else {
                request
                    .update_expression("SET #a = :v")
                    .expression_attribute_values(":v", value.clone())
            };
            request.send().await.expect("update");
            // A REMOVE on a missing item creates nothing.
            if remove && !model.contains_key(&(p, k)) {
                return;
            }
            let row = model.entry((p, k)).or_insert_with(|| {
                let mut row = Row::new();
                key(&mut row);
                row
            });
            if remove {
                row.remove(name);
            } else {
                row.insert(name.into(), value);
            }
        }
        _ => {
            client
                .delete_item()
                .table_name("model")
                .key("pk", s(&format!("p{p}")))
                .key("sk", n(k))
                .send()
                .await
                .expect("delete");
            model.remove(&(p, k));
        }
    }
}

fn num(v: Option<&AttributeValue>) -> u64 {
    v.and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn text(v: Option<&AttributeValue>) -> String {
    v.and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
}

/// The model's answer to a whole-partition query of `index`, in order.
fn expected(model: &Model, index: &Index, partition: &[(&str, AttributeValue)]) -> Vec<Row> {
    let mut rows: Vec<&Row> = model
        .values()
        .filter(|row| partition.iter().all(|(a, v)| row.get(*a) == Some(v)))
        .filter(|row| index.range.is_none_or(|r| row.contains_key(r)))
        .collect();
    // Index order: the range key, then the base key (pk, sk).
    rows.sort_by_key(|row| {
        let range = match index.range {
            Some("h") => format!("{:020}", num(row.get("h"))),
            Some(r) => text(row.get(r)),
            None => String::new(),
        };
        (range, text(row.get("pk")), num(row.get("sk")))
    });
    rows.into_iter()
        .map(|row| match index.projected {
            None => row.clone(),
            Some(names) => row
                .iter()
                .filter(|(k, _)| names.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
        .collect()
}

async fn query_all(
    client: &Client,
    index: &Index,
    partition: &[(&str, AttributeValue)],
    limit: i32,
) -> Vec<Row> {
    let condition = partition
        .iter()
        .enumerate()
        .map(|(i, _)| format!("#k{i} = :k{i}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let mut request = client
            .query()
            .table_name("model")
            .index_name(index.name)
            .key_condition_expression(&condition)
            .limit(limit)
            .consistent_read(index.name == "byL")
            .set_exclusive_start_key(start);
        for (i, (name, value)) in partition.iter().enumerate() {
            request = request
                .expression_attribute_names(format!("#k{i}"), *name)
                .expression_attribute_values(format!(":k{i}"), value.clone());
        }
        let page = request.send().await.expect("index query");
        out.extend(page.items().iter().cloned());
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

async fn check_index(
    client: &Client,
    model: &Model,
    index: &Index,
    seed: u64,
    round: u64,
    rng: &mut Rng,
) {
    let values = |attr: &str| -> Vec<AttributeValue> {
        match attr {
            "pk" => (0..5).map(|p| s(&format!("p{p}"))).collect(),
            "g" => GS.iter().map(|v| s(v)).collect(),
            "x" => XS.iter().map(|v| s(v)).collect(),
            _ => unreachable!("hash key {attr}"),
        }
    };
    let mut partitions: Vec<Vec<(&str, AttributeValue)>> = vec![vec![]];
    for attr in index.hash {
        partitions = partitions
            .into_iter()
            .flat_map(|prefix| {
                values(attr).into_iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push((*attr, v));
                    next
                })
            })
            .collect();
    }
    for partition in partitions {
        let limit = 1 + rng.below(4) as i32;
        let got = query_all(client, index, &partition, limit).await;
        let want = expected(model, index, &partition);
        assert_eq!(
            got, want,
            "DYNACORE_SEED={seed} round {round}: index {} partition {partition:?}",
            index.name
        );
    }
}

#[tokio::test]
async fn indexes_match_a_model_under_random_writes() {
    let seed = seed();
    eprintln!("DYNACORE_SEED={seed}");
    let mut rng = Rng::new(seed);
    let mut server = Server::start("idx-model", 2);
    let (status, body) = server.call("CreateTable", TABLE);
    assert_eq!(status, 200, "{body}");
    let mut model = Model::new();
    for round in 0..6 {
        if round == 3 {
            // Indexes and the outbox survive a clean restart too.
            assert!(server.stop(), "clean stop");
            server.launch().expect("restart");
        }
        let client = server.client();
        for _ in 0..60 {
            random_write(&client, &mut rng, &mut model).await;
        }
        // The LSI is written with its base item: consistent at once.
        check_index(&client, &model, &INDEXES[0], seed, round, &mut rng).await;
        assert!(
            server.gsi_outboxes_drained(Duration::from_secs(10)).await,
            "seed {seed}: GSIs never caught up"
        );
        for index in &INDEXES[1..] {
            check_index(&client, &model, index, seed, round, &mut rng).await;
        }
    }
}
