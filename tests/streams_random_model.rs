//! Exactly once and in order under concurrent writes on 2 shards: seeded
//! writers run Put / Update / Delete / BatchWriteItem / TransactWriteItems
//! on overlapping keys; the stream (NEW_AND_OLD_IMAGES) is then replayed
//! into a model, checking that each record's OldImage is the model's
//! current state of its item (a lost, duplicated or reordered record
//! breaks that), and the model must equal a Scan of the table.
//! Replay a failure with DYNACORE_SEED=<seed>.

mod common;

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, Put, PutRequest, StreamViewType, TransactWriteItem,
    Update, WriteRequest,
};
use common::streams::{create_streamed_table, event, read_all, record_pk, streams_client};
use common::{Rng, Server, seed};

type Image = BTreeMap<String, String>;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn from_table(item: &HashMap<String, AttributeValue>) -> Image {
    item.iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_s().cloned().unwrap_or_else(|_| format!("{v:?}")),
            )
        })
        .collect()
}

fn from_stream(item: &HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>) -> Image {
    item.iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_s().cloned().unwrap_or_else(|_| format!("{v:?}")),
            )
        })
        .collect()
}

const KEYS: u64 = 24;

async fn writer(client: aws_sdk_dynamodb::Client, seed: u64, ops: usize) {
    let mut rng = Rng::new(seed);
    let table = "model";
    for op in 0..ops {
        let key = format!("k{}", rng.below(KEYS));
        let value = format!("{seed}-{op}");
        let _ = match rng.below(6) {
            0 | 1 => client
                .put_item()
                .table_name(table)
                .item("pk", s(&key))
                .item("v", s(&value))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            2 => client
                .update_item()
                .table_name(table)
                .key("pk", s(&key))
                .update_expression("SET v = :v, w = :w")
                .expression_attribute_values(":v", s(&value))
                .expression_attribute_values(":w", s(&key))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            3 => client
                .delete_item()
                .table_name(table)
                .key("pk", s(&key))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            4 => {
                let first = rng.below(KEYS);
                let requests: Vec<WriteRequest> = (0..3)
                    .map(|i| {
                        let k = format!("k{}", (first + i * 5) % KEYS);
                        if i == 1 {
                            WriteRequest::builder()
                                .delete_request(
                                    DeleteRequest::builder()
                                        .key("pk", s(&k))
                                        .build()
                                        .expect("delete"),
                                )
                                .build()
                        } else {
                            WriteRequest::builder()
                                .put_request(
                                    PutRequest::builder()
                                        .item("pk", s(&k))
                                        .item("v", s(&value))
                                        .build()
                                        .expect("put"),
                                )
                                .build()
                        }
                    })
                    .collect();
                client
                    .batch_write_item()
                    .request_items(table, requests)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            _ => {
                let first = rng.below(KEYS);
                let a = format!("k{first}");
                let b = format!("k{}", (first + 7) % KEYS);
                let c = format!("k{}", (first + 13) % KEYS);
                client
                    .transact_write_items()
                    .transact_items(
                        TransactWriteItem::builder()
                            .put(
                                Put::builder()
                                    .table_name(table)
                                    .item("pk", s(&a))
                                    .item("v", s(&value))
                                    .build()
                                    .expect("put"),
                            )
                            .build(),
                    )
                    .transact_items(
                        TransactWriteItem::builder()
                            .update(
                                Update::builder()
                                    .table_name(table)
                                    .key("pk", s(&b))
                                    .update_expression("SET v = :v")
                                    .expression_attribute_values(":v", s(&value))
                                    .build()
                                    .expect("update"),
                            )
                            .build(),
                    )
                    .transact_items(
                        TransactWriteItem::builder()
                            .delete(
                                Delete::builder()
                                    .table_name(table)
                                    .key("pk", s(&c))
                                    .build()
                                    .expect("delete"),
                            )
                            .build(),
                    )
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        };
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replayed_stream_equals_the_table() {
    let seed = seed();
    println!("seed {seed} (replay with DYNACORE_SEED={seed})");
    let server = Server::start("streams-model", 2);
    let client = server.client();
    let arn = create_streamed_table(&client, "model", StreamViewType::NewAndOldImages).await;
    let mut tasks = Vec::new();
    for w in 0..6u64 {
        tasks.push(tokio::spawn(writer(
            client.clone(),
            seed.wrapping_add(w),
            120,
        )));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    let streams = streams_client(&server.endpoint());
    let records = read_all(&streams, &arn).await;
    assert!(!records.is_empty(), "seed {seed}: records were published");
    let mut model: BTreeMap<String, Image> = BTreeMap::new();
    for (shard, record) in &records {
        let pk = record_pk(record);
        let data = record.dynamodb().expect("dynamodb");
        let old = data.old_image().map(from_stream);
        let new = data.new_image().map(from_stream);
        assert_eq!(
            old.as_ref(),
            model.get(&pk),
            "seed {seed}: OldImage of {pk} in {shard} is the state before it ({})",
            event(record)
        );
        assert_ne!(old, new, "seed {seed}: a record changes something");
        match new {
            Some(item) => {
                model.insert(pk, item);
            }
            None => {
                model.remove(&pk);
            }
        }
    }
    let mut table: BTreeMap<String, Image> = BTreeMap::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name("model")
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in out.items() {
            let image = from_table(item);
            table.insert(image.get("pk").cloned().unwrap_or_default(), image);
        }
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    assert_eq!(
        model, table,
        "seed {seed}: the replayed stream equals a Scan"
    );
}
