//! Table states through the real binary: CreateTable answers CREATING,
//! DeleteTable DELETING (with DynamoDB's reduced TableDescription); the
//! states last `table_status_transition_ms`, item operations meanwhile get
//! ResourceNotFoundException, the SDK's waiters see them end, and a
//! restart finishes what the previous run left in either state.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{AttributeValue, TableStatus};
use common::{create_simple_table, error_message, error_type, start_with_config};

fn status_of(body: &str) -> String {
    body.split("\"TableStatus\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("")
        .to_string()
}

const TABLE: &str = r#"{"TableName":"NAME","BillingMode":"PAY_PER_REQUEST",
    "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],
    "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}]}"#;

#[tokio::test]
async fn states_are_observable_and_waiters_end_them() {
    let server = start_with_config("table-states", 2, "table_status_transition_ms = 400\n");
    let client = server.client();
    let (status, body) = server.call("CreateTable", &TABLE.replace("NAME", "fresh"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_of(&body), "CREATING");
    let (_, described) = server.call("DescribeTable", r#"{"TableName":"fresh"}"#);
    assert_eq!(status_of(&described), "CREATING", "{described}");
    let put = r#"{"TableName":"fresh","Item":{"pk":{"S":"a"}}}"#;
    let (status, body) = server.call("PutItem", put);
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "ResourceNotFoundException")
    );
    assert_eq!(error_message(&body), "Requested resource not found");
    // Changes to a table being created are refused.
    let (_, body) = server.call("DeleteTable", r#"{"TableName":"fresh"}"#);
    assert_eq!(error_type(&body), "ResourceInUseException");
    assert_eq!(
        error_message(&body),
        "Attempt to change a resource which is still in use: Table is being created: fresh"
    );
    // Listed while CREATING, as DynamoDB lists it.
    let (_, listed) = server.call("ListTables", "{}");
    assert!(listed.contains("\"fresh\""), "{listed}");

    // A second table, ACTIVE, then deleted while the first is awaited.
    create_simple_table(&client, "doomed", None).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while status_of(&server.call("DescribeTable", r#"{"TableName":"doomed"}"#).1) != "ACTIVE" {
        assert!(Instant::now() < deadline, "doomed never became ACTIVE");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client
        .put_item()
        .table_name("doomed")
        .item("pk", AttributeValue::S("x".into()))
        .send()
        .await
        .expect("put into an ACTIVE table");
    let (status, body) = server.call("DeleteTable", r#"{"TableName":"doomed"}"#);
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_of(&body), "DELETING");
    // DynamoDB's reduced description: no schema, creation time or indexes.
    for absent in ["KeySchema", "AttributeDefinitions", "CreationDateTime"] {
        assert!(!body.contains(absent), "{absent} in {body}");
    }
    for present in [
        "\"TableName\":\"doomed\"",
        "TableArn",
        "TableId",
        "ItemCount",
        "BillingModeSummary",
    ] {
        assert!(body.contains(present), "{present} missing from {body}");
    }
    let (_, described) = server.call("DescribeTable", r#"{"TableName":"doomed"}"#);
    assert_eq!(status_of(&described), "DELETING", "{described}");
    let (_, body) = server.call(
        "GetItem",
        r#"{"TableName":"doomed","Key":{"pk":{"S":"x"}}}"#,
    );
    assert_eq!(error_type(&body), "ResourceNotFoundException");
    // Deleting a table already DELETING is no error.
    let (status, again) = server.call("DeleteTable", r#"{"TableName":"doomed"}"#);
    assert_eq!(
        (status, status_of(&again).as_str()),
        (200, "DELETING"),
        "{again}"
    );

    // The SDK's waiters poll until the states end (their first retry
    // comes 20 s after the first look, which still sees the state).
    let (exists, gone) = tokio::join!(
        client
            .wait_until_table_exists()
            .table_name("fresh")
            .wait(Duration::from_secs(90)),
        client
            .wait_until_table_not_exists()
            .table_name("doomed")
            .wait(Duration::from_secs(90)),
    );
    exists.expect("fresh became ACTIVE");
    gone.expect("doomed went");
    let table = client
        .describe_table()
        .table_name("fresh")
        .send()
        .await
        .expect("describe")
        .table
        .expect("table");
    assert_eq!(table.table_status(), Some(&TableStatus::Active));
    client
        .put_item()
        .table_name("fresh")
        .item("pk", AttributeValue::S("a".into()))
        .send()
        .await
        .expect("put once ACTIVE");
    let (_, body) = server.call("DescribeTable", r#"{"TableName":"doomed"}"#);
    assert_eq!(error_type(&body), "ResourceNotFoundException");
}

#[tokio::test]
async fn a_restart_finishes_creating_and_deleting_tables() {
    // First run: states end at once; a table with an item to delete later.
    let mut server = start_with_config(
        "table-states-restart",
        2,
        "table_status_transition_ms = 0\n",
    );
    let (status, body) = server.call("CreateTable", &TABLE.replace("NAME", "old"));
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.call("PutItem", r#"{"TableName":"old","Item":{"pk":{"S":"k"}}}"#);
    assert_eq!(status, 200, "{body}");
    // Second run: states that outlast it.
    let long = common::fresh_data_dir("table-states-long").with_extension("toml");
    std::fs::write(&long, "table_status_transition_ms = 600000\n").expect("config");
    server.extra_args = vec!["--config".into(), long.to_string_lossy().to_string()];
    server.restart();
    let (_, body) = server.call("CreateTable", &TABLE.replace("NAME", "new"));
    assert_eq!(status_of(&body), "CREATING", "{body}");
    let (_, body) = server.call("DeleteTable", r#"{"TableName":"old"}"#);
    assert_eq!(status_of(&body), "DELETING", "{body}");
    server.kill();
    // Third run: the states persisted, and end shortly after start-up.
    let short = common::fresh_data_dir("table-states-short").with_extension("toml");
    std::fs::write(&short, "table_status_transition_ms = 50\n").expect("config");
    server.extra_args = vec!["--config".into(), short.to_string_lossy().to_string()];
    server.launch().expect("restarts");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, new) = server.call("DescribeTable", r#"{"TableName":"new"}"#);
        let (_, old) = server.call("DescribeTable", r#"{"TableName":"old"}"#);
        if status_of(&new) == "ACTIVE" && error_type(&old) == "ResourceNotFoundException" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "states did not end: {new} / {old}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The deleted table's data went with it.
    let (_, body) = server.call("CreateTable", &TABLE.replace("NAME", "old"));
    assert_eq!(status_of(&body), "CREATING", "{body}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while status_of(&server.call("DescribeTable", r#"{"TableName":"old"}"#).1) != "ACTIVE" {
        assert!(Instant::now() < deadline, "old never became ACTIVE");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, body) = server.call("Scan", r#"{"TableName":"old"}"#);
    assert!(body.contains("\"Count\":0"), "{body}");
}
