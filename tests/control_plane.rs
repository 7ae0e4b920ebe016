//! The small control-plane calls and table settings through the real
//! binary: DescribeEndpoints, DescribeLimits, DescribeContinuousBackups,
//! DescribeTimeToLive (what Terraform reads after every apply),
//! DeletionProtectionEnabled, TableClass, SSESpecification,
//! OnDemandThroughput, WarmThroughput, a disabled StreamSpecification, and
//! UpdateTable's no-op refusal.

mod common;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, OnDemandThroughput,
    PointInTimeRecoveryStatus, ScalarAttributeType, SseSpecification, SseStatus, SseType,
    TableClass, TimeToLiveStatus, WarmThroughput,
};
use common::{Server, error_message, error_type};

#[tokio::test]
async fn what_terraform_reads_after_apply() {
    let server = Server::start("control-plane", 2);
    let client = server.client();
    client
        .create_table()
        .table_name("tfstate")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .deletion_protection_enabled(true)
        .table_class(TableClass::StandardInfrequentAccess)
        .sse_specification(
            SseSpecification::builder()
                .enabled(true)
                .sse_type(SseType::Kms)
                .kms_master_key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
                .build(),
        )
        .on_demand_throughput(
            OnDemandThroughput::builder()
                .max_read_request_units(100)
                .build(),
        )
        .warm_throughput(
            WarmThroughput::builder()
                .read_units_per_second(13000)
                .write_units_per_second(5000)
                .build(),
        )
        .send()
        .await
        .expect("create with settings");

    let table = client
        .describe_table()
        .table_name("tfstate")
        .send()
        .await
        .expect("describe")
        .table
        .expect("table");
    assert_eq!(table.deletion_protection_enabled(), Some(true));
    assert_eq!(
        table.table_class_summary().and_then(|c| c.table_class()),
        Some(&TableClass::StandardInfrequentAccess)
    );
    // Asked for KMS, but this server has no encryption key: described as
    // it is (DISABLED), never claimed encrypted (tests/encryption.rs has
    // the encrypted case).
    let sse = table.sse_description().expect("SSEDescription");
    assert_eq!(sse.status(), Some(&SseStatus::Disabled));
    assert_eq!(sse.sse_type(), None);
    assert_eq!(sse.kms_master_key_arn(), None);
    let on_demand = table.on_demand_throughput().expect("OnDemandThroughput");
    assert_eq!(on_demand.max_read_request_units(), Some(100));
    assert_eq!(on_demand.max_write_request_units(), Some(-1));
    let warm = table.warm_throughput().expect("WarmThroughput");
    assert_eq!(warm.read_units_per_second(), Some(13000));

    let ttl = client
        .describe_time_to_live()
        .table_name("tfstate")
        .send()
        .await
        .expect("ttl");
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.time_to_live_status()),
        Some(&TimeToLiveStatus::Disabled)
    );
    let backups = client
        .describe_continuous_backups()
        .table_name("tfstate")
        .send()
        .await
        .expect("backups")
        .continuous_backups_description
        .expect("description");
    assert_eq!(backups.continuous_backups_status().as_str(), "ENABLED");
    assert_eq!(
        backups
            .point_in_time_recovery_description()
            .and_then(|p| p.point_in_time_recovery_status()),
        Some(&PointInTimeRecoveryStatus::Disabled)
    );
    let arn = table.table_arn().expect("arn");
    let tags = client
        .list_tags_of_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("tags");
    assert!(tags.tags().is_empty());

    let endpoints = client.describe_endpoints().send().await.expect("endpoints");
    let endpoint = &endpoints.endpoints()[0];
    assert_eq!(endpoint.address(), "dynamodb.us-east-1.amazonaws.com");
    assert_eq!(endpoint.cache_period_in_minutes(), 1440);
    let limits = client.describe_limits().send().await.expect("limits");
    assert_eq!(limits.account_max_read_capacity_units(), Some(80_000));
    assert_eq!(limits.table_max_write_capacity_units(), Some(40_000));

    // Deletion protection refuses DeleteTable until UpdateTable clears it.
    let refused = client
        .delete_table()
        .table_name("tfstate")
        .send()
        .await
        .expect_err("protected");
    let (_, body) = server.call("DeleteTable", r#"{"TableName":"tfstate"}"#);
    assert_eq!(error_type(&body), "ValidationException", "{refused:?}");
    assert_eq!(
        error_message(&body),
        "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first."
    );
    client
        .update_table()
        .table_name("tfstate")
        .deletion_protection_enabled(false)
        .send()
        .await
        .expect("unprotect");
    client
        .update_table()
        .table_name("tfstate")
        .table_class(TableClass::Standard)
        .send()
        .await
        .expect("table class");
    let table = client
        .describe_table()
        .table_name("tfstate")
        .send()
        .await
        .expect("describe")
        .table
        .expect("table");
    assert_eq!(table.deletion_protection_enabled(), Some(false));
    assert_eq!(
        table.table_class_summary().and_then(|c| c.table_class()),
        Some(&TableClass::Standard)
    );
    client
        .delete_table()
        .table_name("tfstate")
        .send()
        .await
        .expect("delete once unprotected");
}

#[test]
fn settings_are_validated_as_dynamodb_does() {
    let server = Server::start("control-plane-validation", 1);
    let create = |name: &str, extra: &str| {
        server.call(
            "CreateTable",
            &format!(
                r#"{{"TableName":"{name}","AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}}],
                "KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}}]{extra}}}"#
            ),
        )
    };
    let check = |(status, body): (u16, String), message: &str| {
        assert_eq!(
            (status, error_type(&body).as_str()),
            (400, "ValidationException"),
            "{body}"
        );
        assert_eq!(error_message(&body), message, "{body}");
    };
    let ppr = r#","BillingMode":"PAY_PER_REQUEST""#;
    let provisioned = r#","ProvisionedThroughput":{"ReadCapacityUnits":5,"WriteCapacityUnits":5}"#;
    // A disabled stream is accepted (StreamSpecification is a structure).
    let (status, body) = create(
        "streamless",
        &format!(r#"{ppr},"StreamSpecification":{{"StreamEnabled":false}}"#),
    );
    assert_eq!(status, 200, "{body}");
    check(
        create("case1", &format!(r#"{ppr},"TableClass":"GLACIER""#)),
        "Invalid table-class parameter provided. Please try again with a valid table-class value: [STANDARD, STANDARD_INFREQUENT_ACCESS].",
    );
    check(
        create(
            "case2",
            &format!(r#"{ppr},"SSESpecification":{{"Enabled":false,"SSEType":"KMS"}}"#),
        ),
        "One or more parameter values were invalid: SSEType can not be specified if Enabled is false",
    );
    check(
        create(
            "case3",
            &format!(r#"{ppr},"SSESpecification":{{"Enabled":true,"KMSMasterKeyId":"k"}}"#),
        ),
        "One or more parameter values were invalid: SSEType KMS is required if KMSMasterKeyId is specified",
    );
    check(
        create(
            "case4",
            &format!(r#"{provisioned},"OnDemandThroughput":{{"MaxReadRequestUnits":10}}"#),
        ),
        "One or more parameter values were invalid: MaxReadRequestUnits for OnDemandThroughput cannot be specified when the table BillingMode is PROVISIONED",
    );
    check(
        create(
            "case5",
            &format!(r#"{ppr},"OnDemandThroughput":{{"MaxWriteRequestUnits":0}}"#),
        ),
        "One or more parameter values were invalid: Requested MaxWriteRequestUnits for OnDemandThroughput for table is outside of valid range",
    );
    let (status, body) = create("case6", r#","StreamSpecification":[]"#);
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "SerializationException"),
        "{body}"
    );

    // UpdateTable: a provisioned table restated as it is is a no-op.
    let (status, body) = create("prov", provisioned);
    assert_eq!(status, 200, "{body}");
    check(
        server.call(
            "UpdateTable",
            r#"{"TableName":"prov","BillingMode":"PROVISIONED","ProvisionedThroughput":{"ReadCapacityUnits":5,"WriteCapacityUnits":5}}"#,
        ),
        "The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: 5. Requested ReadCapacityUnits: 5. Current WriteCapacityUnits provisioned for the table: 5. Requested WriteCapacityUnits: 5. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.",
    );
    check(
        server.call(
            "UpdateTable",
            r#"{"TableName":"prov","DeletionProtectionEnabled":true,"ProvisionedThroughput":{"ReadCapacityUnits":6,"WriteCapacityUnits":5}}"#,
        ),
        "One or more parameter values were invalid: DeletionProtection modification must be the only operation in the request",
    );
    check(
        server.call("UpdateTable", r#"{"TableName":"prov"}"#),
        "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates, SSESpecification, ReplicaUpdates, MultiAccountReplicaReady, ReplicaTransitRoleArn, MultiRegionConsistency, DeletionProtectionEnabled, OnDemandThroughput, WarmThroughput or TableClass is required",
    );
    let (status, body) = server.call(
        "UpdateTable",
        r#"{"TableName":"prov","SSESpecification":{"Enabled":true}}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#""SSEDescription":{"Status":"DISABLED"}"#),
        "{body}"
    );
    // DescribeTimeToLive and DescribeContinuousBackups of a missing table.
    let (_, body) = server.call("DescribeTimeToLive", r#"{"TableName":"nope"}"#);
    assert_eq!(error_type(&body), "ResourceNotFoundException", "{body}");
    let (_, body) = server.call("DescribeContinuousBackups", r#"{"TableName":"nope"}"#);
    assert_eq!(error_type(&body), "TableNotFoundException", "{body}");
    assert_eq!(error_message(&body), "Table not found: nope");
}
