//! Table lifecycle through the AWS SDK for Rust: create, describe, list,
//! update, delete, their errors, and the catalog surviving a restart.

mod common;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ProvisionedThroughput,
    ScalarAttributeType, TableStatus,
};
use common::{Server, create_simple_table, error_message, error_type};

#[tokio::test]
async fn create_describe_list_update_delete() {
    let server = Server::start("tables", 2);
    let client = server.client();
    let created = client
        .create_table()
        .table_name("orders")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("customer")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("ts")
                .attribute_type(ScalarAttributeType::N)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("customer")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("ts")
                .key_type(KeyType::Range)
                .build()
                .unwrap(),
        )
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(5)
                .write_capacity_units(7)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create");
    let description = created.table_description().expect("description");
    assert_eq!(description.table_status(), Some(&TableStatus::Creating));
    assert_eq!(description.key_schema().len(), 2);

    let described = client
        .describe_table()
        .table_name("orders")
        .send()
        .await
        .expect("describe");
    let table = described.table().expect("table");
    assert_eq!(table.table_status(), Some(&TableStatus::Active));
    assert_eq!(table.item_count(), Some(0));
    assert!(table.table_arn().unwrap_or("").ends_with(":table/orders"));
    assert_eq!(
        table
            .provisioned_throughput()
            .and_then(|p| p.write_capacity_units()),
        Some(7)
    );
    assert_eq!(
        table.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::Provisioned)
    );
    assert!(table.table_id().is_some_and(|id| id.len() == 36));

    for name in ["alpha", "beta", "gamma"] {
        create_simple_table(&client, name, None).await;
    }
    let page = client.list_tables().limit(2).send().await.expect("list");
    assert_eq!(page.table_names(), ["alpha", "beta"]);
    assert_eq!(page.last_evaluated_table_name(), Some("beta"));
    let rest = client
        .list_tables()
        .exclusive_start_table_name("beta")
        .send()
        .await
        .expect("list rest");
    assert_eq!(rest.table_names(), ["gamma", "orders"]);
    assert_eq!(rest.last_evaluated_table_name(), None);

    let updated = client
        .update_table()
        .table_name("orders")
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("update");
    assert_eq!(
        updated
            .table_description()
            .and_then(|t| t.billing_mode_summary())
            .and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );

    let deleted = client
        .delete_table()
        .table_name("orders")
        .send()
        .await
        .expect("delete");
    assert_eq!(
        deleted.table_description().and_then(|t| t.table_status()),
        Some(&TableStatus::Deleting)
    );
    let err = client
        .describe_table()
        .table_name("orders")
        .send()
        .await
        .expect_err("gone");
    assert!(err.into_service_error().is_resource_not_found_exception());
}

#[test]
fn table_errors_match_dynamodb() {
    let server = Server::start("table-errors", 1);
    let create = r#"{"TableName":"dup","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}"#;
    assert_eq!(server.call("CreateTable", create).0, 200);
    let (status, body) = server.call("CreateTable", create);
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "ResourceInUseException")
    );
    assert_eq!(error_message(&body), "Table already exists: dup");

    let (status, body) = server.call("DescribeTable", r#"{"TableName":"nope"}"#);
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "ResourceNotFoundException")
    );
    assert_eq!(
        error_message(&body),
        "Requested resource not found: Table: nope not found"
    );

    // DescribeTable, DeleteTable and UpdateTable word a bad TableName their
    // own way (and report a missing one before anything else).
    let long = "a".repeat(256);
    let long_name = format!(r#"{{"TableName":"{long}"}}"#);
    let cases = [
        (
            r#"{"TableName":"ab"}"#,
            "TableName must be at least 3 characters long and at most 255 characters long",
        ),
        (
            r#"{"TableName":""}"#,
            "TableName must be at least 3 characters long and at most 255 characters long",
        ),
        (
            long_name.as_str(),
            "TableName must be at least 3 characters long and at most 255 characters long",
        ),
        (
            r#"{}"#,
            "The parameter 'TableName' is required but was not present in the request",
        ),
        (
            r#"{"TableName":"a b"}"#,
            "1 validation error detected: Value 'a b' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        ),
    ];
    for op in ["DescribeTable", "DeleteTable", "UpdateTable"] {
        for (request, message) in &cases {
            let (status, body) = server.call(op, request);
            assert_eq!(
                (status, error_type(&body).as_str()),
                (400, "ValidationException"),
                "{op} {request}"
            );
            assert_eq!(error_message(&body), *message, "{op} {request}");
        }
    }

    let long_key = "k".repeat(256);
    let long_key_schema = format!(
        r#"{{"TableName":"t1x","AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}}],"KeySchema":[{{"AttributeName":"{long_key}","KeyType":"HASH"}}],"BillingMode":"PAY_PER_REQUEST"}}"#
    );
    let long_key_message = format!(
        "1 validation error detected: Value '{long_key}' at 'keySchema.1.member.attributeName' failed to satisfy constraint: Member must have length less than or equal to 255"
    );
    let long_projected = format!(
        r#"{{"TableName":"t1x","AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}},{{"AttributeName":"g","AttributeType":"S"}}],"KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}}],"BillingMode":"PAY_PER_REQUEST","GlobalSecondaryIndexes":[{{"IndexName":"gix","KeySchema":[{{"AttributeName":"g","KeyType":"HASH"}}],"Projection":{{"ProjectionType":"INCLUDE","NonKeyAttributes":["{long_key}"]}}}}]}}"#
    );
    let bad_creates: Vec<(&str, &str)> = vec![
        (
            &long_projected,
            "Names of key attributes and attributes projected into an index must be between 1 and 255 characters, inclusive",
        ),
        (
            r#"{"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"X"}]}"#,
            "The parameter 'TableName' is required but was not present in the request",
        ),
        (
            r#"{"TableName":"","AttributeDefinitions":[],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}]}"#,
            "1 validation error detected: Value '' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ),
        (
            r#"{"TableName":"ab","AttributeDefinitions":[],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}]}"#,
            "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3",
        ),
        (
            r#"{"TableName":"t1x","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"pk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"}"#,
            "Invalid KeySchema: Some index key attribute have no definition",
        ),
        (
            r#"{"TableName":"t1x","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"}"#,
            "Invalid KeySchema: Some index key attribute have no definition",
        ),
        // A key attribute name is 1 to 255 bytes: a member constraint, found
        // before the key schema is matched against the definitions.
        (&long_key_schema, &long_key_message),
        (
            r#"{"TableName":"t1x","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"ProvisionedThroughput":{"ReadCapacityUnits":1000000000001,"WriteCapacityUnits":1}}"#,
            "Given value 1000000000001 for ReadCapacityUnits is out of bounds",
        ),
        (
            r#"{"TableName":"t1x","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}]}"#,
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        ),
        (
            r#"{"TableName":"t1x","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST","ProvisionedThroughput":{"ReadCapacityUnits":1,"WriteCapacityUnits":1}}"#,
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        ),
        (
            r#"{"TableName":"t1x","AttributeDefinitions":[{"AttributeName":"x","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}"#,
            "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [pk], AttributeDefinitions: [x]",
        ),
        (
            r#"{"TableName":"t1x","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"y","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}"#,
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ),
        (
            r#"{"TableName":"t1x","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"}"#,
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ),
        (
            r#"{"TableName":"t1x","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"X"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}"#,
            "1 validation error detected: Value 'X' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
        ),
    ];
    for (request, message) in bad_creates {
        let (status, body) = server.call("CreateTable", request);
        assert_eq!(
            (status, error_type(&body).as_str()),
            (400, "ValidationException"),
            "{request}"
        );
        assert_eq!(error_message(&body), message, "{request}");
    }
    // Too-high capacity is refused before the table is looked up.
    let (status, body) = server.call(
        "UpdateTable",
        r#"{"TableName":"nope","ProvisionedThroughput":{"ReadCapacityUnits":1,"WriteCapacityUnits":1000000000001}}"#,
    );
    assert_eq!(
        (status, error_message(&body).as_str()),
        (
            400,
            "Given value 1000000000001 for WriteCapacityUnits is out of bounds"
        )
    );
    // Nothing was created by the failed requests.
    let (_, list) = server.call("ListTables", "{}");
    assert_eq!(list, r#"{"TableNames":["dup"]}"#);

    let (status, body) = server.call("ListTables", r#"{"Limit":101}"#);
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "ValidationException")
    );
    let (status, body) = server.call("UpdateTable", r#"{"TableName":"dup"}"#);
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "ValidationException")
    );
    let (status, body) = server.call("DeleteTable", r#"{"TableName":"nope"}"#);
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "ResourceNotFoundException")
    );
}

#[tokio::test]
async fn catalog_and_items_survive_restart() {
    let mut server = Server::start("catalog-restart", 2);
    create_simple_table(&server.client(), "kept", None).await;
    create_simple_table(&server.client(), "dropped", None).await;
    server
        .client()
        .delete_table()
        .table_name("dropped")
        .send()
        .await
        .expect("delete");
    assert!(server.stop(), "clean shutdown on SIGTERM");
    server.launch().expect("restart");
    let names = server.client().list_tables().send().await.expect("list");
    assert_eq!(names.table_names(), ["kept"]);
}
