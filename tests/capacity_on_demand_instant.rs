//! On-demand instant capacity (`capacity.on_demand_instant`) through the
//! real binary: with the option on, a new PAY_PER_REQUEST table serves at
//! once only its initial capacity (here 100 write units per second, a
//! second of credit) and a burst past it gets
//! ProvisionedThroughputExceededException with DynamoDB's "automatically
//! scaling" message and a reason; with the option off (the default) the
//! same burst is served whole.
//!
//! Deterministic: each write is ~100 KB (100 write units), so the second
//! write admitted leaves the bucket ~99 units in debt, which takes about
//! a second to repay; the burst is refused unless the client sends less
//! than a write a second.

mod common;

use common::{Server, error_message, error_type, start_with_config};

const TABLE: &str = "ondemand";

fn create(server: &Server) {
    let (status, body) = server.call(
        "CreateTable",
        &format!(
            r#"{{"TableName":"{TABLE}","AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}}],
            "KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}}],"BillingMode":"PAY_PER_REQUEST"}}"#
        ),
    );
    assert_eq!(status, 200, "{body}");
}

/// Sends `n` PutItems of ~100 KB (distinct keys); returns (admitted, the
/// first refusal's body).
fn burst(server: &Server, n: usize) -> (usize, Option<String>) {
    let blob = "x".repeat(99 * 1024);
    let mut admitted = 0;
    for i in 0..n {
        let (status, body) = server.call(
            "PutItem",
            &format!(
                r#"{{"TableName":"{TABLE}","Item":{{"pk":{{"S":"k{i}"}},"v":{{"S":"{blob}"}}}}}}"#
            ),
        );
        match status {
            200 => admitted += 1,
            400 => return (admitted, Some(body)),
            other => panic!("PutItem answered {other}: {body}"),
        }
    }
    (admitted, None)
}

#[test]
fn a_new_on_demand_table_is_throttled_past_its_instant_capacity() {
    let server = start_with_config(
        "capacity-instant",
        1,
        "[capacity]\non_demand_instant = true\non_demand_initial_write_units = 100\n",
    );
    create(&server);
    let (admitted, refusal) = burst(&server, 50);
    let body = refusal.unwrap_or_else(|| panic!("{admitted} writes of 100 units never throttled"));
    assert!(admitted >= 1, "the first write fits the initial capacity");
    assert_eq!(
        error_type(&body),
        "ProvisionedThroughputExceededException",
        "{body}"
    );
    assert_eq!(
        error_message(&body),
        "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically \
         scaling your table or index so please try again shortly. If exceptions persist, check if \
         you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"
    );
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON error");
    assert_eq!(
        json["ThrottlingReasons"][0]["reason"], "TableWriteKeyRangeThroughputExceeded",
        "{body}"
    );
    assert_eq!(
        json["ThrottlingReasons"][0]["resource"],
        format!("arn:aws:dynamodb:us-east-1:000000000000:table/{TABLE}")
    );
}

#[test]
fn without_the_option_on_demand_tables_take_the_burst() {
    let server = Server::start("capacity-instant-off", 1);
    create(&server);
    let (admitted, refusal) = burst(&server, 50);
    assert_eq!((admitted, refusal), (50, None));
}
