//! Provisioned capacity through the real binary: a 5 RCU table refuses a
//! burst once its burst credit (300 s of throughput) is spent, with
//! DynamoDB's error, message and ThrottlingReasons, and serves again once
//! its bucket has refilled; `capacity.enforce = false` never throttles;
//! throttled batches return what was refused as UnprocessedItems /
//! UnprocessedKeys.

mod common;

use std::time::Duration;

use common::{Server, error_message, error_type, start_with_config, wait_until};

const TABLE: &str = "provisioned5";

fn create_provisioned(server: &Server, rcu: u32, wcu: u32) {
    let (status, body) = server.call(
        "CreateTable",
        &format!(
            r#"{{"TableName":"{TABLE}","AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}}],
            "KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}}],
            "ProvisionedThroughput":{{"ReadCapacityUnits":{rcu},"WriteCapacityUnits":{wcu}}}}}"#
        ),
    );
    assert_eq!(status, 200, "{body}");
}

/// A 40 KB item: 10 read units strongly consistent.
fn put_big_item(server: &Server) {
    let blob = "x".repeat(40 * 1024);
    let (status, body) = server.call(
        "PutItem",
        &format!(r#"{{"TableName":"{TABLE}","Item":{{"pk":{{"S":"k"}},"v":{{"S":"{blob}"}}}}}}"#),
    );
    assert_eq!(status, 200, "{body}");
}

fn get(server: &Server) -> (u16, String) {
    server.call(
        "GetItem",
        &format!(r#"{{"TableName":"{TABLE}","Key":{{"pk":{{"S":"k"}}}},"ConsistentRead":true}}"#),
    )
}

/// Sends strongly consistent GetItems until `refusals` were refused (or
/// `max` were sent); returns (admitted, refused, a refusal's body).
fn burst(server: &Server, refusals: usize, max: usize) -> (usize, usize, String) {
    let (mut ok, mut refused, mut last) = (0, 0, String::new());
    for _ in 0..max {
        let (status, body) = get(server);
        match status {
            200 => ok += 1,
            400 => {
                assert_eq!(
                    error_type(&body),
                    "ProvisionedThroughputExceededException",
                    "{body}"
                );
                refused += 1;
                last = body;
                if refused >= refusals {
                    break;
                }
            }
            other => panic!("GetItem answered {other}: {body}"),
        }
    }
    (ok, refused, last)
}

#[test]
fn a_5_rcu_table_refuses_a_burst_past_its_credit_and_recovers() {
    let server = Server::start("capacity-throttle", 2);
    create_provisioned(&server, 5, 1000);
    put_big_item(&server);
    // 5 RCU × 300 s = 1500 units of credit: 150 reads of 10 units (spread
    // over the shards, each holding its share). Far more are sent.
    let (ok, refused, body) = burst(&server, 20, 5000);
    assert!(refused >= 20, "never throttled after {ok} reads");
    assert!(
        ok <= 400,
        "{ok} reads of 10 units went through a 1500-unit credit"
    );
    assert_eq!(
        error_message(&body),
        "The level of configured provisioned throughput for the table was exceeded. \
         Consider increasing your provisioning level with the UpdateTable API."
    );
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON error");
    let reasons = json["ThrottlingReasons"]
        .as_array()
        .expect("ThrottlingReasons");
    assert_eq!(
        reasons[0]["reason"], "TableReadProvisionedThroughputExceeded",
        "{body}"
    );
    assert_eq!(
        reasons[0]["resource"],
        format!("arn:aws:dynamodb:us-east-1:000000000000:table/{TABLE}")
    );
    // Nothing stored changed, and writes have their own bucket.
    put_big_item(&server);
    // The bucket refills at 5 units/s (2.5 per shard): a read is served
    // again within seconds; the deadline is generous.
    assert!(
        wait_until(Duration::from_secs(120), || get(&server).0 == 200),
        "never recovered"
    );
}

#[test]
fn an_update_table_raising_throughput_applies_at_once() {
    let server = Server::start("capacity-update", 1);
    create_provisioned(&server, 1, 1000);
    put_big_item(&server);
    let (_, refused, _) = burst(&server, 5, 5000);
    assert!(refused >= 5, "a 1 RCU table never throttled");
    let (status, body) = server.call(
        "UpdateTable",
        &format!(
            r#"{{"TableName":"{TABLE}","ProvisionedThroughput":{{"ReadCapacityUnits":40000,"WriteCapacityUnits":1000}}}}"#
        ),
    );
    assert_eq!(status, 200, "{body}");
    // 40000 units/s repay the debt of a few reads in milliseconds.
    assert!(
        wait_until(Duration::from_secs(60), || get(&server).0 == 200),
        "the new throughput never applied"
    );
    let (ok, refused, _) = burst(&server, 1, 100);
    assert_eq!((ok, refused), (100, 0), "throttled under 40000 RCU");
}

#[test]
fn enforce_false_never_throttles() {
    let server = start_with_config("capacity-off", 1, "[capacity]\nenforce = false\n");
    create_provisioned(&server, 1, 1);
    put_big_item(&server);
    // 1 RCU: a 300-unit credit, here 400 reads of 10 units all served.
    let (ok, refused, body) = burst(&server, 1, 400);
    assert_eq!((ok, refused), (400, 0), "{body}");
}

/// A BatchWriteItem of `n` 100 KB items (100 write units each) from `first`.
fn big_batch(first: usize, n: usize) -> String {
    let blob = "x".repeat(100 * 1024);
    let requests: Vec<String> = (first..first + n)
        .map(|i| {
            format!(r#"{{"PutRequest":{{"Item":{{"pk":{{"S":"b{i}"}},"v":{{"S":"{blob}"}}}}}}}}"#)
        })
        .collect();
    format!(
        r#"{{"RequestItems":{{"{TABLE}":[{}]}},"ReturnConsumedCapacity":"TOTAL"}}"#,
        requests.join(",")
    )
}

#[test]
fn a_throttled_batch_write_returns_unprocessed_items_then_refuses_when_empty() {
    // 1 WCU and 1 s of burst: 1 unit of credit. The first 100-unit write is
    // admitted and leaves ~99 s of debt, so what follows is deterministic.
    let server = start_with_config("capacity-batch", 1, "[capacity]\nburst_s = 1\n");
    create_provisioned(&server, 1000, 1);
    let (status, body) = server.call("BatchWriteItem", &big_batch(0, 3));
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let unprocessed = json["UnprocessedItems"][TABLE]
        .as_array()
        .expect("UnprocessedItems");
    assert_eq!(unprocessed.len(), 2, "{}", &body[..body.len().min(300)]);
    assert_eq!(unprocessed[0]["PutRequest"]["Item"]["pk"]["S"], "b1");
    // Only the written item is counted (100 KB of value and its names).
    assert_eq!(json["ConsumedCapacity"][0]["CapacityUnits"], 101.0);
    // An empty bucket: nothing can be written, the batch is refused.
    let (status, refused) = server.call("BatchWriteItem", &big_batch(10, 2));
    assert_eq!(status, 400, "{refused}");
    assert_eq!(
        error_type(&refused),
        "ProvisionedThroughputExceededException"
    );
    // Once the bucket has credit again (raised throughput repays the debt
    // at once), the unprocessed items are written on retry.
    let (status, body) = server.call(
        "UpdateTable",
        &format!(
            r#"{{"TableName":"{TABLE}","ProvisionedThroughput":{{"ReadCapacityUnits":1000,"WriteCapacityUnits":40000}}}}"#
        ),
    );
    assert_eq!(status, 200, "{body}");
    let retry = serde_json::json!({ "RequestItems": json["UnprocessedItems"] }).to_string();
    assert!(
        wait_until(Duration::from_secs(60), || {
            let (status, body) = server.call("BatchWriteItem", &retry);
            status == 200 && body.contains(r#""UnprocessedItems":{}"#)
        }),
        "the unprocessed items were never written"
    );
    let (status, body) = server.call(
        "GetItem",
        &format!(r#"{{"TableName":"{TABLE}","Key":{{"pk":{{"S":"b2"}}}}}}"#),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""pk":{"S":"b2"}"#), "retried item missing");
}

fn create_named(server: &Server, name: &str, rcu: u32, wcu: u32) {
    let (status, body) = server.call(
        "CreateTable",
        &format!(
            r#"{{"TableName":"{name}","AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}}],
            "KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}}],
            "ProvisionedThroughput":{{"ReadCapacityUnits":{rcu},"WriteCapacityUnits":{wcu}}}}}"#
        ),
    );
    assert_eq!(status, 200, "{body}");
}

/// A BatchGetItem over `tables` (each with keys `k` and `k2`), projecting
/// `#p, v` strongly consistent.
fn batch_get_body(tables: &[&str]) -> String {
    let members: Vec<String> = tables
        .iter()
        .map(|t| {
            format!(
                r##""{t}":{{"Keys":[{{"pk":{{"S":"k"}}}},{{"pk":{{"S":"k2"}}}}],"ProjectionExpression":"#p, v","ExpressionAttributeNames":{{"#p":"pk"}},"ConsistentRead":true}}"##
            )
        })
        .collect();
    format!(
        r#"{{"RequestItems":{{{}}},"ReturnConsumedCapacity":"TOTAL"}}"#,
        members.join(",")
    )
}

#[tokio::test]
async fn a_throttled_batch_get_returns_unprocessed_keys_then_refuses_when_none_read() {
    // 1 RCU and 1 s of burst on "hot": 1 unit of credit. A strongly
    // consistent read of a ~390 KB item costs 98 units and leaves ~97 s of
    // debt, so what follows is deterministic. "cold" has plenty.
    let server = start_with_config("capacity-batch-get", 1, "[capacity]\nburst_s = 1\n");
    create_named(&server, "hot", 1, 1000);
    create_named(&server, "cold", 1000, 1000);
    let blob = "x".repeat(390 * 1024);
    for (table, key, value) in [
        ("hot", "k", blob.as_str()),
        ("hot", "k2", "small"),
        ("cold", "k", "small"),
        ("cold", "k2", "small"),
    ] {
        let (status, body) = server.call(
            "PutItem",
            &format!(
                r#"{{"TableName":"{table}","Item":{{"pk":{{"S":"{key}"}},"v":{{"S":"{value}"}},"w":{{"S":"unprojected"}}}}}}"#
            ),
        );
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = server.call(
        "GetItem",
        r#"{"TableName":"hot","Key":{"pk":{"S":"k"}},"ConsistentRead":true}"#,
    );
    assert_eq!(status, 200, "{}", &body[..body.len().min(300)]);

    // Through the SDK: the keys of the table without credit come back in
    // UnprocessedKeys with the request's projection, names and
    // consistency; the other table's are read and alone counted.
    let client = server.client();
    let keys = || {
        let mut k = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
            .projection_expression("#p, v")
            .expression_attribute_names("#p", "pk")
            .consistent_read(true);
        for key in ["k", "k2"] {
            k = k.keys(std::collections::HashMap::from([(
                "pk".to_string(),
                aws_sdk_dynamodb::types::AttributeValue::S(key.into()),
            )]));
        }
        k.build().expect("keys")
    };
    let out = client
        .batch_get_item()
        .request_items("hot", keys())
        .request_items("cold", keys())
        .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
        .send()
        .await
        .expect("a partly throttled batch is answered");
    let responses = out.responses().expect("Responses");
    assert_eq!(
        responses.get("cold").map(Vec::len),
        Some(2),
        "{responses:?}"
    );
    assert!(
        responses
            .get("cold")
            .into_iter()
            .flatten()
            .all(|i| !i.contains_key("w")),
        "projection applied"
    );
    assert_eq!(responses.get("hot").map_or(0, Vec::len), 0, "{responses:?}");
    let unprocessed = out.unprocessed_keys().expect("UnprocessedKeys");
    assert_eq!(unprocessed.len(), 1, "{unprocessed:?}");
    let hot = unprocessed.get("hot").expect("hot's keys unprocessed");
    assert_eq!(hot.keys().len(), 2);
    assert_eq!(hot.projection_expression(), Some("#p, v"));
    assert_eq!(hot.consistent_read(), Some(true));
    assert_eq!(
        hot.expression_attribute_names()
            .and_then(|n| n.get("#p"))
            .map(String::as_str),
        Some("pk")
    );
    let consumed = out.consumed_capacity();
    assert_eq!(consumed.len(), 1, "{consumed:?}");
    assert_eq!(consumed[0].table_name(), Some("cold"));
    assert_eq!(consumed[0].capacity_units(), Some(2.0));

    // Only the table without credit: nothing can be read, the batch is
    // refused with DynamoDB's error and reasons, as a single read is.
    let (status, refused) = server.call("BatchGetItem", &batch_get_body(&["hot"]));
    assert_eq!(status, 400, "{refused}");
    assert_eq!(
        error_type(&refused),
        "ProvisionedThroughputExceededException"
    );
    let json: serde_json::Value = serde_json::from_str(&refused).expect("JSON error");
    assert_eq!(
        json["ThrottlingReasons"][0]["reason"], "TableReadProvisionedThroughputExceeded",
        "{refused}"
    );

    // The retry the SDK's user makes once the table has credit again
    // (raised throughput repays the debt at once) reads them all.
    let (status, body) = server.call(
        "UpdateTable",
        r#"{"TableName":"hot","ProvisionedThroughput":{"ReadCapacityUnits":40000,"WriteCapacityUnits":1000}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let mut retry = client.batch_get_item();
    for (table, keys) in unprocessed {
        retry = retry.request_items(table, keys.clone());
    }
    let mut read = 0;
    for _ in 0..600 {
        let out = retry.clone().send().await.expect("retry");
        read = out
            .responses()
            .and_then(|r| r.get("hot"))
            .map_or(0, Vec::len);
        if read == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(read, 2, "the unprocessed keys were never read");
}
