//! The TTL expirer through the real binary (2 shards, `test_min`: a pass
//! every 100 ms): expired items disappear from the table and from its LSI
//! and GSI, items with a future, non-Number or ancient TTL stay, item
//! collection sizes shrink, expiry continues after a restart, and a
//! conditional rewrite racing the expirer is never lost.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use common::index_tables::create;
use common::values::{n, s};
use common::{Server, seed, start_with_config, wait_until};

const TABLE: &str = r#"{
  "TableName": "cache",
  "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "S"},
    {"AttributeName": "l", "AttributeType": "S"},
    {"AttributeName": "g", "AttributeType": "S"}
  ],
  "KeySchema": [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"}
  ],
  "LocalSecondaryIndexes": [{
    "IndexName": "byL",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}],
    "Projection": {"ProjectionType": "ALL"}
  }],
  "GlobalSecondaryIndexes": [{
    "IndexName": "byG",
    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
    "Projection": {"ProjectionType": "KEYS_ONLY"}
  }]
}"#;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The fewest TTL passes any shard has completed.
fn fewest_passes(server: &Server) -> u64 {
    let (status, body) = common::raw_get(server.port, "/dynacore/metrics").expect("metrics");
    assert_eq!(status, 200, "{body}");
    body.split("\"ttl_scan_passes_total\":")
        .skip(1)
        .filter_map(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .min()
        .expect("every shard reports its passes")
}

/// Waits until every shard has completed `more` passes from now.
fn wait_for_passes(server: &Server, more: u64) {
    let from = fewest_passes(server);
    let passed = wait_until(Duration::from_secs(60), || {
        fewest_passes(server) >= from + more
    });
    assert!(passed, "the expirer stopped passing");
}

fn enable(server: &Server) {
    let (status, body) = server.call(
        "UpdateTimeToLive",
        r#"{"TableName":"cache","TimeToLiveSpecification":{"Enabled":true,"AttributeName":"exp"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let enabled = wait_until(Duration::from_secs(60), || {
        server
            .call("DescribeTimeToLive", r#"{"TableName":"cache"}"#)
            .1
            .contains("ENABLED")
    });
    assert!(enabled, "TTL never ENABLED");
}

async fn put(client: &Client, pk: &str, sk: &str, exp: Option<AttributeValue>) {
    let mut request = client
        .put_item()
        .table_name("cache")
        .item("pk", s(pk))
        .item("sk", s(sk))
        .item("l", s(&format!("l-{sk}")))
        .item("g", s(&format!("g-{pk}")))
        .item("pad", s(&"x".repeat(200)));
    if let Some(exp) = exp {
        request = request.item("exp", exp);
    }
    request.send().await.expect("put");
}

async fn exists(client: &Client, pk: &str, sk: &str) -> bool {
    client
        .get_item()
        .table_name("cache")
        .key("pk", s(pk))
        .key("sk", s(sk))
        .consistent_read(true)
        .send()
        .await
        .expect("get")
        .item()
        .is_some()
}

/// Sort keys of `pk`'s items through the LSI.
async fn lsi_sort_keys(client: &Client, pk: &str) -> Vec<String> {
    let page = client
        .query()
        .table_name("cache")
        .index_name("byL")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s(pk))
        .send()
        .await
        .expect("lsi query");
    page.items()
        .iter()
        .filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()).cloned())
        .collect()
}

async fn gsi_sort_keys(client: &Client, pk: &str) -> Vec<String> {
    let page = client
        .query()
        .table_name("cache")
        .index_name("byG")
        .key_condition_expression("g = :g")
        .expression_attribute_values(":g", s(&format!("g-{pk}")))
        .send()
        .await
        .expect("gsi query");
    let mut keys: Vec<String> = page
        .items()
        .iter()
        .filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()).cloned())
        .collect();
    keys.sort();
    keys
}

/// Polls until `check` holds; panics after 60 s with what it last saw.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match check().await {
            Ok(()) => return,
            Err(last) if Instant::now() > deadline => panic!("{what}: {last}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_items_leave_the_table_and_its_indexes_others_stay() {
    let mut server = Server::start("ttl-expiry", 2);
    let client = server.client();
    create(&server, TABLE);
    // Put before TTL is enabled: nothing expires while it is disabled.
    let t = now();
    let ancient = t - 6 * 365 * 24 * 3600;
    for p in 0..8 {
        let pk = format!("p{p}");
        put(&client, &pk, "expired", Some(n(t - 100))).await;
        put(
            &client,
            &pk,
            "expired-fraction",
            Some(n(format!("{}.5", t - 2))),
        )
        .await;
        put(&client, &pk, "future", Some(n(t + 1_000_000))).await;
        put(&client, &pk, "string", Some(s(&(t - 100).to_string()))).await;
        put(
            &client,
            &pk,
            "set",
            Some(AttributeValue::Ns(vec![(t - 100).to_string()])),
        )
        .await;
        put(&client, &pk, "ancient", Some(n(ancient))).await;
        put(&client, &pk, "none", None).await;
    }
    // Passes run while disabled: the expired items are still readable.
    wait_for_passes(&server, 2);
    assert!(
        exists(&client, "p0", "expired").await,
        "deleted while TTL was disabled"
    );
    enable(&server);
    let kept = ["ancient", "future", "none", "set", "string"];
    for p in 0..8 {
        let pk = format!("p{p}");
        eventually("expired items deleted", || {
            let (client, pk) = (client.clone(), pk.clone());
            async move {
                let left = exists(&client, &pk, "expired").await
                    || exists(&client, &pk, "expired-fraction").await;
                if left {
                    Err(format!("{pk} still has them"))
                } else {
                    Ok(())
                }
            }
        })
        .await;
        for sk in kept {
            assert!(exists(&client, &pk, sk).await, "{pk}/{sk} must stay");
        }
        // LSI entries go in the same batch as the deletion.
        let mut lsi = lsi_sort_keys(&client, &pk).await;
        lsi.sort();
        assert_eq!(lsi, kept, "LSI of {pk}");
        // GSI entries follow through the outbox.
        eventually("GSI entries deleted", || {
            let (client, pk) = (client.clone(), pk.clone());
            async move {
                let gsi = gsi_sort_keys(&client, &pk).await;
                if gsi == kept {
                    Ok(())
                } else {
                    Err(format!("GSI of {pk}: {gsi:?}"))
                }
            }
        })
        .await;
    }
    assert_eq!(server.metric_sum("ttl_deleted_total"), 16);

    // After a restart the setting holds and expiry goes on.
    server.restart();
    let client = server.client();
    put(&client, "late", "expired", Some(n(now() - 1))).await;
    put(&client, "late", "future", Some(n(now() + 1_000_000))).await;
    eventually("expired after the restart", || {
        let client = client.clone();
        async move {
            if exists(&client, "late", "expired").await {
                Err("still there".to_string())
            } else {
                Ok(())
            }
        }
    })
    .await;
    assert!(exists(&client, "late", "future").await);
    assert_eq!(lsi_sort_keys(&client, "late").await, ["future"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn deletions_shrink_the_item_collection() {
    // Room for about 8 of these items per partition key.
    let server = start_with_config("ttl-collection", 2, "item_collection_bytes_max = 6000\n");
    let client = server.client();
    create(&server, TABLE);
    enable(&server);
    // Items that expire a few seconds from now fill the collection.
    let soon = now() + 3;
    let mut filled = 0;
    for i in 0..100 {
        let result = client
            .put_item()
            .table_name("cache")
            .item("pk", s("full"))
            .item("sk", s(&format!("{i:03}")))
            .item("l", s("l"))
            .item("g", s("g"))
            .item("exp", n(soon))
            .item("pad", s(&"x".repeat(500)))
            .send()
            .await;
        match result {
            Ok(_) => filled += 1,
            Err(e) => {
                let code = e.as_service_error().and_then(|s| {
                    aws_sdk_dynamodb::error::ProvideErrorMetadata::code(s).map(str::to_string)
                });
                assert_eq!(
                    code.as_deref(),
                    Some("ItemCollectionSizeLimitExceededException"),
                    "{e:?}"
                );
                break;
            }
        }
    }
    assert!((2..100).contains(&filled), "filled {filled} items");
    eventually("the collection expired", || {
        let client = client.clone();
        async move {
            let count = client
                .query()
                .table_name("cache")
                .key_condition_expression("pk = :p")
                .expression_attribute_values(":p", s("full"))
                .consistent_read(true)
                .send()
                .await
                .expect("query")
                .count();
            if count == 0 {
                Ok(())
            } else {
                Err(format!("{count} items left"))
            }
        }
    })
    .await;
    // The counter went down with the deletions: the collection takes as
    // many items again (it would refuse the first if it had not).
    for i in 0..filled {
        client
            .put_item()
            .table_name("cache")
            .item("pk", s("full"))
            .item("sk", s(&format!("again-{i:03}")))
            .item("l", s("l"))
            .item("g", s("g"))
            .item("pad", s(&"x".repeat(500)))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {i} of {filled} after expiry: {e:?}"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conditional_rewrite_racing_the_expirer_is_never_lost() {
    let seed = seed();
    println!("DYNACORE_SEED={seed}");
    // A slow expirer (400 items take it ~2 s): it reads a page, then
    // deletes it batch by batch while the rewrites land.
    let server = start_with_config("ttl-race", 2, "ttl_deletes_per_second_max = 200\n");
    let client = server.client();
    create(&server, TABLE);
    let mut rng = common::Rng::new(seed);
    // Expired items, put while TTL is disabled; the rewrites start as soon
    // as it is enabled, over the ~2 s the expirer needs for them.
    let items = 400;
    let expired = now() - 10;
    for i in 0..items {
        put(
            &client,
            &format!("r{}", i % 20),
            &format!("{i:04}"),
            Some(n(expired)),
        )
        .await;
    }
    enable(&server);
    let mut tasks = Vec::new();
    for i in 0..items {
        let client = client.clone();
        let delay = rng.below(2000);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let result = client
                .update_item()
                .table_name("cache")
                .key("pk", s(&format!("r{}", i % 20)))
                .key("sk", s(&format!("{i:04}")))
                .update_expression("SET exp = :later, v = :v")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":later", n(now() + 1_000_000))
                .expression_attribute_values(":v", n(i))
                .send()
                .await;
            match result {
                Ok(_) => (i, true),
                Err(e) => {
                    let code = e
                        .as_service_error()
                        .and_then(aws_sdk_dynamodb::error::ProvideErrorMetadata::code)
                        .map(str::to_string);
                    assert_eq!(
                        code.as_deref(),
                        Some("ConditionalCheckFailedException"),
                        "{e:?}"
                    );
                    (i, false)
                }
            }
        }));
    }
    let mut outcome: HashMap<usize, bool> = HashMap::new();
    for task in tasks {
        let (i, rewritten) = task.await.expect("task");
        outcome.insert(i, rewritten);
    }
    // Every shard finishes two more full passes after the last rewrite.
    wait_for_passes(&server, 2);
    let mut rewritten = 0;
    for (i, ok) in &outcome {
        let item = client
            .get_item()
            .table_name("cache")
            .key("pk", s(&format!("r{}", i % 20)))
            .key("sk", s(&format!("{i:04}")))
            .consistent_read(true)
            .send()
            .await
            .expect("get")
            .item()
            .cloned();
        if *ok {
            rewritten += 1;
            let item =
                item.unwrap_or_else(|| panic!("rewritten item {i} was deleted (seed {seed})"));
            assert_eq!(item.get("v"), Some(&n(i)), "item {i}");
        } else {
            assert!(
                item.is_none(),
                "item {i}: its rewrite failed, so it had expired"
            );
        }
    }
    println!("{rewritten} of {items} rewritten before the expirer reached them");
    assert_eq!(
        server.metric_sum("ttl_deleted_total") as usize,
        items - rewritten,
        "every item deleted at most once, rewritten ones never"
    );
}
