//! UpdateTable's provisioned throughput decrease quota through the real
//! binary: 4 decreases at any time of a UTC day, then one per interval
//! without a decrease (DynamoDB's hour, shortened here by
//! `capacity.decrease_interval_s`), LimitExceededException with DynamoDB's
//! message, nothing changed by a refusal, increases always allowed, a GSI
//! counted apart from its table; NumberOfDecreasesToday,
//! LastDecreaseDateTime and LastIncreaseDateTime read through the SDK.
//!
//! Timing never decides the outcome: a refusal is asserted only when the
//! client saw both requests within the interval (else the step is moot,
//! not failed), and waiting for the interval to pass polls with a
//! generous deadline.

mod common;

use std::time::{Duration, Instant};

use common::{Server, error_message, error_type, start_with_config};

const TABLE: &str = "decreasing";
const INTERVAL: Duration = Duration::from_secs(5);

fn update_table(server: &Server, rcu: i64, wcu: i64) -> (u16, String) {
    server.call(
        "UpdateTable",
        &format!(
            r#"{{"TableName":"{TABLE}","ProvisionedThroughput":{{"ReadCapacityUnits":{rcu},"WriteCapacityUnits":{wcu}}}}}"#
        ),
    )
}

fn update_index(server: &Server, rcu: i64, wcu: i64) -> (u16, String) {
    server.call(
        "UpdateTable",
        &format!(
            r#"{{"TableName":"{TABLE}","GlobalSecondaryIndexUpdates":[{{"Update":{{"IndexName":"gsi","ProvisionedThroughput":{{"ReadCapacityUnits":{rcu},"WriteCapacityUnits":{wcu}}}}}}}]}}"#
        ),
    )
}

/// Asserts `(status, body)` is the quota's refusal with `today` decreases.
fn assert_quota_refusal((status, body): (u16, String), today: u32) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_type(&body), "LimitExceededException", "{body}");
    let message = error_message(&body);
    let expected = format!(
        "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. \
         After the first 4 decreases, each subsequent decrease in the same UTC day can be performed at most once every {} seconds. \
         Number of decreases today: {today}. Last decrease at ",
        INTERVAL.as_secs()
    );
    assert!(message.starts_with(&expected), "{message}");
    assert!(
        message.contains(" Coordinated Universal Time. Next decrease can be made at "),
        "{message}"
    );
}

/// (NumberOfDecreasesToday, LastDecreaseDateTime set, LastIncreaseDateTime
/// set, WCU) of the table and of its GSI, through the SDK.
async fn throughput(server: &Server) -> [(i64, bool, bool, i64); 2] {
    let out = server
        .client()
        .describe_table()
        .table_name(TABLE)
        .send()
        .await
        .expect("describe");
    let table = out.table().expect("table");
    let of = |t: &aws_sdk_dynamodb::types::ProvisionedThroughputDescription| {
        (
            t.number_of_decreases_today().unwrap_or(-1),
            t.last_decrease_date_time().is_some(),
            t.last_increase_date_time().is_some(),
            t.write_capacity_units().unwrap_or(-1),
        )
    };
    let gsi = table
        .global_secondary_indexes()
        .first()
        .and_then(|g| g.provisioned_throughput())
        .expect("the GSI's throughput");
    [
        of(table.provisioned_throughput().expect("throughput")),
        of(gsi),
    ]
}

#[tokio::test]
async fn four_decreases_then_one_per_interval_counted_per_table_and_per_index() {
    let server = start_with_config(
        "capacity-decreases",
        1,
        &format!("[capacity]\ndecrease_interval_s = {}\n", INTERVAL.as_secs()),
    );
    let (status, body) = server.call(
        "CreateTable",
        &format!(
            r#"{{"TableName":"{TABLE}","AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}},{{"AttributeName":"g","AttributeType":"S"}}],
            "KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}}],
            "GlobalSecondaryIndexes":[{{"IndexName":"gsi","KeySchema":[{{"AttributeName":"g","KeyType":"HASH"}}],"Projection":{{"ProjectionType":"KEYS_ONLY"}},
              "ProvisionedThroughput":{{"ReadCapacityUnits":10,"WriteCapacityUnits":10}}}}],
            "ProvisionedThroughput":{{"ReadCapacityUnits":10,"WriteCapacityUnits":10}}}}"#
        ),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        throughput(&server).await,
        [(0, false, false, 10), (0, false, false, 10)],
        "a new table has neither time and no decreases"
    );

    // Four decreases at once (both units in one call count once).
    let mut last_sent = Instant::now();
    for (rcu, wcu) in [(9, 9), (9, 8), (9, 7), (9, 6)] {
        last_sent = Instant::now();
        let (status, body) = update_table(&server, rcu, wcu);
        assert_eq!(status, 200, "decrease to {rcu}/{wcu}: {body}");
    }
    assert_eq!(throughput(&server).await[0], (4, true, false, 6));

    // A fifth within the interval is refused and changes nothing; so is a
    // change that lowers one unit and raises the other.
    let fifth = update_table(&server, 9, 5);
    let mixed = update_table(&server, 8, 20);
    if last_sent.elapsed() < INTERVAL {
        assert_quota_refusal(fifth, 4);
        assert_quota_refusal(mixed, 4);
        assert_eq!(throughput(&server).await[0], (4, true, false, 6));
    }

    // An increase is always allowed, and recorded.
    let (status, body) = update_table(&server, 9, 30);
    assert_eq!(status, 200, "increase: {body}");
    let [table, index] = throughput(&server).await;
    assert!(table.2, "LastIncreaseDateTime set");
    assert_eq!(table.3, 30);

    // The GSI has its own quota: four decreases although the table's is
    // spent, then the same refusal.
    assert_eq!(index, (0, false, false, 10));
    let mut index_sent = Instant::now();
    for wcu in [9, 8, 7, 6] {
        index_sent = Instant::now();
        let (status, body) = update_index(&server, 10, wcu);
        assert_eq!(status, 200, "index decrease to {wcu}: {body}");
    }
    let refused = update_index(&server, 10, 5);
    if index_sent.elapsed() < INTERVAL {
        assert_quota_refusal(refused, 4);
    }
    assert_eq!(throughput(&server).await[1].0, 4);

    // Once no decrease happened for the interval, one more is allowed, and
    // then again none within the interval.
    let deadline = Instant::now() + Duration::from_secs(120);
    let accepted_sent = loop {
        let sent = Instant::now();
        let (status, body) = update_table(&server, 9, 25);
        if status == 200 {
            break sent;
        }
        assert_quota_refusal((status, body), 4);
        assert!(Instant::now() < deadline, "the interval never passed");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let next = update_table(&server, 9, 24);
    if accepted_sent.elapsed() < INTERVAL {
        assert_quota_refusal(next, 5);
    }
    let table = throughput(&server).await[0];
    assert!(table.0 >= 5, "{table:?}");
}
