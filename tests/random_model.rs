//! Seeded random Put/Delete/Get through the real server against a BTreeMap
//! model, across 2 shards (so about half the requests are forwarded), with a
//! restart in the middle. Replay a failure with DYNACORE_SEED=<seed>.

mod common;

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use common::{Rng, Server, create_simple_table, seed};

#[tokio::test]
async fn random_operations_match_a_model() {
    let seed = seed();
    eprintln!("random_model seed: {seed} (replay with DYNACORE_SEED={seed})");
    let mut rng = Rng::new(seed);
    let mut server = Server::start("random-model", 2);
    create_simple_table(&server.client(), "model", Some(("sk", "N"))).await;
    let mut model: BTreeMap<(String, i64), String> = BTreeMap::new();
    let mut puts = 0i64;
    for step in 0..600 {
        if step == 300 {
            // A clean restart must keep everything (SIGTERM path).
            assert!(server.stop(), "seed {seed}: clean stop");
            server.launch().expect("relaunch");
        }
        let client = server.client();
        let pk = format!("p{}", rng.below(20));
        let sk = rng.below(5) as i64 - 2;
        let key = HashMap::from([
            ("pk".to_string(), AttributeValue::S(pk.clone())),
            ("sk".to_string(), AttributeValue::N(sk.to_string())),
        ]);
        match rng.below(3) {
            0 => {
                let value = format!("v{}", rng.next());
                let mut item = key.clone();
                item.insert("v".into(), AttributeValue::S(value.clone()));
                client
                    .put_item()
                    .table_name("model")
                    .set_item(Some(item))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("seed {seed} step {step}: put: {e:?}"));
                model.insert((pk, sk), value);
                puts += 1;
            }
            1 => {
                client
                    .delete_item()
                    .table_name("model")
                    .set_key(Some(key))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("seed {seed} step {step}: delete: {e:?}"));
                model.remove(&(pk, sk));
            }
            _ => {
                let got = client
                    .get_item()
                    .table_name("model")
                    .set_key(Some(key))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("seed {seed} step {step}: get: {e:?}"));
                let value = got
                    .item()
                    .and_then(|i| i.get("v"))
                    .and_then(|v| v.as_s().ok())
                    .cloned();
                assert_eq!(
                    value.as_ref(),
                    model.get(&(pk, sk)),
                    "seed {seed} step {step}"
                );
            }
        }
    }
    let described = server
        .client()
        .describe_table()
        .table_name("model")
        .send()
        .await
        .expect("describe");
    // ItemCount is approximate in DynamoDB (refreshed about every six hours);
    // ours may count an overwritten item more than once until compaction
    // merges its versions, but never misses a live item.
    let count = described.table().and_then(|t| t.item_count()).unwrap_or(-1);
    assert!(
        count >= model.len() as i64 && count <= puts,
        "seed {seed}: ItemCount {count} outside [{}, {puts}]",
        model.len()
    );
}
