//! UpdateTimeToLive and DescribeTimeToLive through the real binary: the
//! round trip with the AWS SDK, the ENABLING/DISABLING states, the setting
//! surviving a restart, and every error DynamoDB gives (type, message,
//! validation order), each leaving the setting unchanged.

mod common;

use std::time::Duration;

use aws_sdk_dynamodb::types::{TimeToLiveSpecification, TimeToLiveStatus};
use common::{
    Server, create_simple_table, error_message, error_type, start_with_config, wait_until,
};

const TABLE: &str = "sessions";

fn update(server: &Server, body: &str) -> (u16, String) {
    server.call("UpdateTimeToLive", body)
}

fn spec(enabled: bool, attribute: &str) -> String {
    format!(
        r#"{{"TableName":"{TABLE}","TimeToLiveSpecification":{{"Enabled":{enabled},"AttributeName":"{attribute}"}}}}"#
    )
}

/// DescribeTimeToLive's raw TimeToLiveDescription.
fn described(server: &Server) -> String {
    let (status, body) = server.call(
        "DescribeTimeToLive",
        &format!(r#"{{"TableName":"{TABLE}"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn wait_for(server: &Server, description: &str) {
    let expected = format!(r#"{{"TimeToLiveDescription":{description}}}"#);
    let reached = wait_until(Duration::from_secs(60), || described(server) == expected);
    assert!(reached, "never {expected}; now {}", described(server));
}

fn expect_error(server: &Server, body: &str, kind: &str, message: &str) {
    let before = described(server);
    let (status, reply) = update(server, body);
    assert_eq!(status, 400, "{body}: {reply}");
    assert_eq!(error_type(&reply), kind, "{body}: {reply}");
    assert_eq!(error_message(&reply), message, "{body}");
    assert_eq!(described(server), before, "{body} changed the setting");
}

#[tokio::test(flavor = "multi_thread")]
async fn round_trip_with_the_sdk_and_across_a_restart() {
    let mut server = Server::start("ttl-round-trip", 2);
    let client = server.client();
    create_simple_table(&client, TABLE, None).await;
    let ttl = |c: &aws_sdk_dynamodb::Client| {
        let c = c.clone();
        async move {
            c.describe_time_to_live()
                .table_name(TABLE)
                .send()
                .await
                .expect("describe ttl")
                .time_to_live_description()
                .cloned()
                .expect("a description")
        }
    };
    assert_eq!(
        ttl(&client).await.time_to_live_status(),
        Some(&TimeToLiveStatus::Disabled)
    );
    assert_eq!(ttl(&client).await.attribute_name(), None);
    let reply = client
        .update_time_to_live()
        .table_name(TABLE)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expires")
                .build()
                .expect("spec"),
        )
        .send()
        .await
        .expect("enable");
    let echoed = reply.time_to_live_specification().expect("echoed");
    assert!(echoed.enabled());
    assert_eq!(echoed.attribute_name(), "expires");
    wait_for(
        &server,
        r#"{"TimeToLiveStatus":"ENABLED","AttributeName":"expires"}"#,
    );
    // DescribeTable does not report TTL, as DynamoDB's does not.
    let (_, table) = server.call("DescribeTable", &format!(r#"{{"TableName":"{TABLE}"}}"#));
    assert!(!table.contains("TimeToLive"), "{table}");

    server.restart();
    wait_for(
        &server,
        r#"{"TimeToLiveStatus":"ENABLED","AttributeName":"expires"}"#,
    );
    let (status, body) = update(&server, &spec(false, "expires"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, r#"{"TimeToLiveSpecification":{"Enabled":false}}"#);
    wait_for(&server, r#"{"TimeToLiveStatus":"DISABLED"}"#);
    server.restart();
    wait_for(&server, r#"{"TimeToLiveStatus":"DISABLED"}"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn enabling_and_disabling_are_observable_and_end_after_a_restart() {
    // States last 1.5 s here, so they can be seen (and cut by a restart).
    let mut server = start_with_config("ttl-states", 2, "table_status_transition_ms = 1500\n");
    create_simple_table(&server.client(), TABLE, None).await;
    wait_until(Duration::from_secs(60), || {
        server
            .call(
                "DescribeTimeToLive",
                &format!(r#"{{"TableName":"{TABLE}"}}"#),
            )
            .0
            == 200
    });
    let (status, body) = update(&server, &spec(true, "exp"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        r#"{"TimeToLiveSpecification":{"AttributeName":"exp","Enabled":true}}"#
    );
    assert_eq!(
        described(&server),
        r#"{"TimeToLiveDescription":{"TimeToLiveStatus":"ENABLING","AttributeName":"exp"}}"#
    );
    // ENABLING counts as enabled.
    expect_error(
        &server,
        &spec(true, "exp"),
        "ValidationException",
        "TimeToLive is already enabled",
    );
    // A restart in the middle: the state still ends (persisted, resumed).
    server.restart();
    wait_for(
        &server,
        r#"{"TimeToLiveStatus":"ENABLED","AttributeName":"exp"}"#,
    );
    let (status, body) = update(&server, &spec(false, "exp"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        described(&server),
        r#"{"TimeToLiveDescription":{"TimeToLiveStatus":"DISABLING","AttributeName":"exp"}}"#
    );
    expect_error(
        &server,
        &spec(false, "exp"),
        "ValidationException",
        "TimeToLive is already disabled",
    );
    wait_for(&server, r#"{"TimeToLiveStatus":"DISABLED"}"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_change_per_interval() {
    let server = start_with_config("ttl-interval", 2, "ttl_change_interval_ms = 3600000\n");
    create_simple_table(&server.client(), TABLE, None).await;
    let (status, body) = update(&server, &spec(true, "exp"));
    assert_eq!(status, 200, "{body}");
    wait_for(
        &server,
        r#"{"TimeToLiveStatus":"ENABLED","AttributeName":"exp"}"#,
    );
    expect_error(
        &server,
        &spec(false, "exp"),
        "ValidationException",
        "Time to live has been modified multiple times within a fixed interval",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_dynamodbs_errors() {
    let server = Server::start("ttl-errors", 2);
    create_simple_table(&server.client(), TABLE, None).await;
    let v = "ValidationException";
    expect_error(
        &server,
        r#"{"TimeToLiveSpecification":{"Enabled":true,"AttributeName":"a"}}"#,
        v,
        "The parameter 'TableName' is required but was not present in the request",
    );
    expect_error(
        &server,
        r#"{"TableName":"ab","TimeToLiveSpecification":{"Enabled":true,"AttributeName":"a"}}"#,
        v,
        "TableName must be at least 3 characters long and at most 255 characters long",
    );
    expect_error(
        &server,
        r#"{"TableName":"abc;"}"#,
        v,
        "2 validation errors detected: Value 'abc;' at 'tableName' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; \
         Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null",
    );
    expect_error(
        &server,
        r#"{"TableName":"sessions","TimeToLiveSpecification":{}}"#,
        v,
        "2 validation errors detected: Value null at 'timeToLiveSpecification.enabled' failed to \
         satisfy constraint: Member must not be null; Value null at \
         'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must not be null",
    );
    let long = "a".repeat(256);
    expect_error(
        &server,
        &spec(true, &long),
        v,
        &format!(
            "1 validation error detected: Value '{long}' at 'timeToLiveSpecification.attributeName' \
             failed to satisfy constraint: Member must have length less than or equal to 255"
        ),
    );
    expect_error(
        &server,
        &spec(true, ""),
        v,
        "TimeToLiveSpecification.AttributeName must be non empty",
    );
    let (status, reply) = update(
        &server,
        r#"{"TableName":"sessions","TimeToLiveSpecification":{"Enabled":"yes","AttributeName":"a"}}"#,
    );
    assert_eq!(
        (status, error_type(&reply).as_str()),
        (400, "SerializationException"),
        "{reply}"
    );
    // Validation comes before the table lookup.
    expect_error(
        &server,
        r#"{"TableName":"missing","TimeToLiveSpecification":{"Enabled":true,"AttributeName":""}}"#,
        v,
        "TimeToLiveSpecification.AttributeName must be non empty",
    );
    expect_error(
        &server,
        r#"{"TableName":"missing","TimeToLiveSpecification":{"Enabled":true,"AttributeName":"a"}}"#,
        "ResourceNotFoundException",
        "Requested resource not found: Table: missing not found",
    );
    expect_error(
        &server,
        &spec(false, "exp"),
        v,
        "TimeToLive is already disabled",
    );
    let (status, body) = update(&server, &spec(true, "exp"));
    assert_eq!(status, 200, "{body}");
    wait_for(
        &server,
        r#"{"TimeToLiveStatus":"ENABLED","AttributeName":"exp"}"#,
    );
    expect_error(
        &server,
        &spec(true, "exp"),
        v,
        "TimeToLive is already enabled",
    );
    // Another attribute needs a disable first.
    expect_error(
        &server,
        &spec(true, "other"),
        v,
        "TimeToLive is already enabled",
    );
}
