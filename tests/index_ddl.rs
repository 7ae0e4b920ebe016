//! Secondary index DDL through the real binary: CreateTable with LSIs and
//! GSIs (including multi-attribute GSI keys), their TableDescription, every
//! class of invalid definition, UpdateTable's GlobalSecondaryIndexUpdates,
//! and index definitions surviving a restart.

mod common;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction,
    DeleteGlobalSecondaryIndexAction, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate,
    IndexStatus, KeySchemaElement, KeyType, LocalSecondaryIndex, Projection, ProjectionType,
    ProvisionedThroughput, ScalarAttributeType, TableDescription, UpdateGlobalSecondaryIndexAction,
};
use common::wait::{describe, wait_for_index};
use common::{Server, error_message, error_type};

fn attr(name: &str, t: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(t)
        .build()
        .unwrap()
}

fn key(name: &str, t: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(t)
        .build()
        .unwrap()
}

fn throughput(r: i64, w: i64) -> ProvisionedThroughput {
    ProvisionedThroughput::builder()
        .read_capacity_units(r)
        .write_capacity_units(w)
        .build()
        .unwrap()
}

fn key_names(schema: &[KeySchemaElement]) -> Vec<(String, String)> {
    schema
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Creates `orders` (customer S HASH, ts N RANGE, PROVISIONED 5/5) with an
/// LSI on `total` and a GSI on `status`/`ts`.
async fn create_orders(client: &Client) -> TableDescription {
    client
        .create_table()
        .table_name("orders")
        .attribute_definitions(attr("customer", ScalarAttributeType::S))
        .attribute_definitions(attr("ts", ScalarAttributeType::N))
        .attribute_definitions(attr("total", ScalarAttributeType::N))
        .attribute_definitions(attr("status", ScalarAttributeType::S))
        .key_schema(key("customer", KeyType::Hash))
        .key_schema(key("ts", KeyType::Range))
        .provisioned_throughput(throughput(5, 5))
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("by_total")
                .key_schema(key("customer", KeyType::Hash))
                .key_schema(key("total", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_status")
                .key_schema(key("status", KeyType::Hash))
                .key_schema(key("ts", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .non_key_attributes("zip")
                        .non_key_attributes("amount")
                        .build(),
                )
                .provisioned_throughput(throughput(3, 4))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create with indexes")
        .table_description()
        .expect("description")
        .clone()
}

fn check_orders_indexes(table: &TableDescription, expected_status: IndexStatus) {
    let lsis = table.local_secondary_indexes();
    assert_eq!(lsis.len(), 1);
    let lsi = &lsis[0];
    assert_eq!(lsi.index_name(), Some("by_total"));
    assert_eq!(
        key_names(lsi.key_schema()),
        pairs(&[("customer", "HASH"), ("total", "RANGE")])
    );
    assert_eq!(
        lsi.projection().and_then(|p| p.projection_type()),
        Some(&ProjectionType::KeysOnly)
    );
    assert_eq!(lsi.item_count(), Some(0));
    assert_eq!(lsi.index_size_bytes(), Some(0));
    assert!(lsi.index_arn().is_some_and(
        |a| a.starts_with("arn:aws:dynamodb:") && a.ends_with(":table/orders/index/by_total")
    ));

    let gsis = table.global_secondary_indexes();
    assert_eq!(gsis.len(), 1);
    let gsi = &gsis[0];
    assert_eq!(gsi.index_name(), Some("by_status"));
    assert_eq!(
        key_names(gsi.key_schema()),
        pairs(&[("status", "HASH"), ("ts", "RANGE")])
    );
    let projection = gsi.projection().expect("projection");
    assert_eq!(projection.projection_type(), Some(&ProjectionType::Include));
    assert_eq!(projection.non_key_attributes(), ["amount", "zip"]);
    assert_eq!(gsi.index_status(), Some(&expected_status));
    assert_eq!(gsi.backfilling(), None, "CreateTable GSIs do not backfill");
    let pt = gsi.provisioned_throughput().expect("gsi throughput");
    assert_eq!(
        (pt.read_capacity_units(), pt.write_capacity_units()),
        (Some(3), Some(4))
    );
    assert_eq!(gsi.item_count(), Some(0));
    assert!(gsi.index_arn().is_some_and(
        |a| a.ends_with(":table/orders/index/by_status") && a.starts_with("arn:aws:dynamodb:")
    ));
}

#[tokio::test]
async fn create_table_with_lsi_and_gsi_describes_them() {
    let server = Server::start("index-ddl-create", 2);
    let client = server.client();
    let created = create_orders(&client).await;
    check_orders_indexes(&created, IndexStatus::Creating);
    let described = describe(&client, "orders").await;
    check_orders_indexes(&described, IndexStatus::Active);
    assert_eq!(described.attribute_definitions().len(), 4);
}

#[tokio::test]
async fn multi_attribute_gsi_keys_keep_their_order() {
    let server = Server::start("index-ddl-multi", 1);
    let client = server.client();
    client
        .create_table()
        .table_name("events")
        .attribute_definitions(attr("id", ScalarAttributeType::S))
        .attribute_definitions(attr("tenant", ScalarAttributeType::S))
        .attribute_definitions(attr("region", ScalarAttributeType::S))
        .attribute_definitions(attr("day", ScalarAttributeType::N))
        .attribute_definitions(attr("seq", ScalarAttributeType::N))
        .key_schema(key("id", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_tenant_region")
                .key_schema(key("tenant", KeyType::Hash))
                .key_schema(key("region", KeyType::Hash))
                .key_schema(key("day", KeyType::Range))
                .key_schema(key("seq", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create with a multi-attribute GSI");
    let table = describe(&client, "events").await;
    let gsi = &table.global_secondary_indexes()[0];
    assert_eq!(
        key_names(gsi.key_schema()),
        pairs(&[
            ("tenant", "HASH"),
            ("region", "HASH"),
            ("day", "RANGE"),
            ("seq", "RANGE"),
        ])
    );
    let pt = gsi.provisioned_throughput().expect("throughput");
    assert_eq!(pt.read_capacity_units(), Some(0));
}

const DEFS_ABC: &str = r#""AttributeDefinitions":[{"AttributeName":"a","AttributeType":"S"},{"AttributeName":"b","AttributeType":"S"},{"AttributeName":"c","AttributeType":"N"}]"#;
const KEYS_AB: &str = r#""KeySchema":[{"AttributeName":"a","KeyType":"HASH"},{"AttributeName":"b","KeyType":"RANGE"}]"#;
const PT: &str = r#""ProvisionedThroughput":{"ReadCapacityUnits":1,"WriteCapacityUnits":1}"#;

fn lsi(name: &str, keys: &str, projection: &str) -> String {
    format!(r#"{{"IndexName":"{name}","KeySchema":[{keys}],"Projection":{projection}}}"#)
}

fn gsi(name: &str, keys: &str, projection: &str, pt: bool) -> String {
    let pt = if pt { format!(",{PT}") } else { String::new() };
    format!(r#"{{"IndexName":"{name}","KeySchema":[{keys}],"Projection":{projection}{pt}}}"#)
}

fn h(name: &str) -> String {
    format!(r#"{{"AttributeName":"{name}","KeyType":"HASH"}}"#)
}

fn r(name: &str) -> String {
    format!(r#"{{"AttributeName":"{name}","KeyType":"RANGE"}}"#)
}

const ALL: &str = r#"{"ProjectionType":"ALL"}"#;

fn with_lsis(lsis: &[String]) -> String {
    format!(
        r#"{{"TableName":"bad",{DEFS_ABC},{KEYS_AB},{PT},"LocalSecondaryIndexes":[{}]}}"#,
        lsis.join(",")
    )
}

fn with_gsis(gsis: &[String]) -> String {
    format!(
        r#"{{"TableName":"bad",{DEFS_ABC},{KEYS_AB},{PT},"GlobalSecondaryIndexes":[{}]}}"#,
        gsis.join(",")
    )
}

#[test]
fn invalid_index_definitions_are_rejected_and_create_nothing() {
    let server = Server::start("index-ddl-invalid", 1);
    let prefix = "One or more parameter values were invalid: ";
    let ac = format!("{},{}", h("a"), r("c"));
    let twenty_one: Vec<String> = (0..21)
        .map(|i| gsi(&format!("g{i:02}"), &h("c"), ALL, true))
        .collect();
    let six: Vec<String> = (0..6).map(|i| lsi(&format!("l{i:02}"), &ac, ALL)).collect();
    let many_attrs: Vec<String> = (0..101).map(|i| format!("\"n{i}\"")).collect();
    let include_101 = format!(
        r#"{{"ProjectionType":"INCLUDE","NonKeyAttributes":[{}]}}"#,
        many_attrs.join(",")
    );
    let cases: Vec<(String, String)> = vec![
        (
            with_lsis(&[lsi("h;", "", "{}")]),
            "3 validation errors detected: Value 'h;' at 'localSecondaryIndexes.1.member.indexName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value 'h;' at 'localSecondaryIndexes.1.member.indexName' failed to satisfy constraint: Member must have length greater than or equal to 3; Value '[]' at 'localSecondaryIndexes.1.member.keySchema' failed to satisfy constraint: Member must have length greater than or equal to 1".into(),
        ),
        (
            with_gsis(&["{}".to_string()]),
            "3 validation errors detected: Value null at 'globalSecondaryIndexes.1.member.indexName' failed to satisfy constraint: Member must not be null; Value null at 'globalSecondaryIndexes.1.member.keySchema' failed to satisfy constraint: Member must not be null; Value null at 'globalSecondaryIndexes.1.member.projection' failed to satisfy constraint: Member must not be null".into(),
        ),
        (
            with_gsis(&[gsi("abc", &h("a"), r#"{"ProjectionType":"abc","NonKeyAttributes":[]}"#, true)]),
            "2 validation errors detected: Value 'abc' at 'globalSecondaryIndexes.1.member.projection.projectionType' failed to satisfy constraint: Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]; Value '[]' at 'globalSecondaryIndexes.1.member.projection.nonKeyAttributes' failed to satisfy constraint: Member must have length greater than or equal to 1".into(),
        ),
        (
            with_lsis(&[]),
            format!("{prefix}List of LocalSecondaryIndexes is empty"),
        ),
        (
            with_gsis(&[]),
            format!("{prefix}List of GlobalSecondaryIndexes is empty"),
        ),
        (
            format!(
                r#"{{"TableName":"bad",{DEFS_ABC},"KeySchema":[{}],{PT},"LocalSecondaryIndexes":[{}]}}"#,
                h("a"),
                lsi("abc", &ac, ALL)
            ),
            format!("{prefix}Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex"),
        ),
        (
            with_lsis(&[lsi("abc", &format!("{},{}", h("a"), r("d")), ALL)]),
            format!("{prefix}Some index key attributes are not defined in AttributeDefinitions. Keys: [a, d], AttributeDefinitions: [a, b, c]"),
        ),
        (
            with_lsis(&[lsi("abc", &r("c"), ALL)]),
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type".into(),
        ),
        (
            with_lsis(&[lsi("abc", &format!("{},{}", h("a"), h("c")), ALL)]),
            "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type".into(),
        ),
        (
            with_lsis(&[lsi("abc", &format!("{},{}", h("a"), r("a")), ALL)]),
            "Both the Hash Key and the Range Key element in the KeySchema have the same name".into(),
        ),
        (
            with_lsis(&[lsi("abc", &h("a"), ALL)]),
            format!("{prefix}Index KeySchema does not have a range key for index: abc"),
        ),
        (
            with_lsis(&[lsi("abc", &format!("{},{}", h("b"), r("c")), ALL)]),
            format!("{prefix}Index KeySchema does not have the same leading hash key as table KeySchema for index: abc. index hash key: b, table hash key: a"),
        ),
        (
            with_lsis(&six),
            format!("{prefix}Number of LocalSecondaryIndexes exceeds per-table limit of 5"),
        ),
        (
            with_lsis(&[lsi("abc", &ac, "{}")]),
            format!("{prefix}Unknown ProjectionType: null"),
        ),
        (
            with_lsis(&[lsi("abc", &ac, r#"{"ProjectionType":"ALL","NonKeyAttributes":["x"]}"#)]),
            format!("{prefix}ProjectionType is ALL, but NonKeyAttributes is specified"),
        ),
        (
            with_gsis(&[gsi("abc", &h("c"), r#"{"ProjectionType":"INCLUDE"}"#, true)]),
            format!("{prefix}ProjectionType is INCLUDE, but NonKeyAttributes is not specified"),
        ),
        (
            with_gsis(&[gsi("abc", &h("c"), &include_101, true)]),
            format!("{prefix}Number of projected attributes in all indexes exceeds limit of 100"),
        ),
        (
            with_gsis(&[gsi("abc", &h("c"), ALL, true), gsi("abc", &h("b"), ALL, true)]),
            format!("{prefix}Duplicate index name: abc"),
        ),
        (
            format!(
                r#"{{"TableName":"bad",{DEFS_ABC},{KEYS_AB},{PT},"LocalSecondaryIndexes":[{}],"GlobalSecondaryIndexes":[{}]}}"#,
                lsi("abc", &ac, ALL),
                gsi("abc", &h("c"), ALL, true)
            ),
            format!("{prefix}Duplicate index name: abc"),
        ),
        (
            with_gsis(&twenty_one),
            format!("{prefix}GlobalSecondaryIndex count exceeds the per-table limit of 20"),
        ),
        (
            with_gsis(&[gsi("abc", &r("c"), ALL, true)]),
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type".into(),
        ),
        (
            with_gsis(&[gsi("abc", &format!("{},{},{}", h("c"), r("b"), h("a")), ALL, true)]),
            format!("{prefix}All HASH key attributes must precede RANGE key attributes in the KeySchema"),
        ),
        (
            with_gsis(&[gsi("abc", &format!("{},{},{}", h("c"), h("b"), h("c")), ALL, true)]),
            "The KeySchema contains multiple key attributes with the same name".into(),
        ),
        (
            format!(
                r#"{{"TableName":"bad","AttributeDefinitions":[{}],"KeySchema":[{}],{PT},"GlobalSecondaryIndexes":[{}]}}"#,
                (0..5).map(|i| format!(r#"{{"AttributeName":"k{i}","AttributeType":"S"}}"#)).collect::<Vec<_>>().join(","),
                h("k0"),
                gsi("abc", &(0..5).map(|i| h(&format!("k{i}"))).collect::<Vec<_>>().join(","), ALL, true)
            ),
            format!("{prefix}The KeySchema exceeds the maximum allowed number of HASH key attributes"),
        ),
        (
            with_gsis(&[gsi("abc", &h("c"), ALL, false)]),
            format!("{prefix}ProvisionedThroughput is not specified for index: abc"),
        ),
        (
            format!(
                r#"{{"TableName":"bad",{DEFS_ABC},{KEYS_AB},"BillingMode":"PAY_PER_REQUEST","GlobalSecondaryIndexes":[{}]}}"#,
                gsi("abc", &h("c"), ALL, true)
            ),
            format!("{prefix}ProvisionedThroughput should not be specified for index: abc when BillingMode is PAY_PER_REQUEST"),
        ),
        (
            // c is defined but used by no key schema.
            format!(
                r#"{{"TableName":"bad",{DEFS_ABC},{KEYS_AB},{PT},"GlobalSecondaryIndexes":[{}]}}"#,
                gsi("abc", &h("b"), ALL, true)
            ),
            format!("{prefix}Some AttributeDefinitions are not used. AttributeDefinitions: [a, b, c], keys used: [a, b]"),
        ),
        (
            // Without indexes, the table-only message stands.
            format!(r#"{{"TableName":"bad",{DEFS_ABC},{KEYS_AB},{PT}}}"#),
            format!("{prefix}Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"),
        ),
    ];
    for (request, message) in &cases {
        let (status, body) = server.call("CreateTable", request);
        assert_eq!(
            (status, error_type(&body).as_str()),
            (400, "ValidationException"),
            "{request}\n{body}"
        );
        assert_eq!(&error_message(&body), message, "{request}");
    }
    let (status, body) = server.call("ListTables", "{}");
    assert_eq!(status, 200);
    assert!(
        body.contains(r#""TableNames":[]"#),
        "nothing created: {body}"
    );
}

fn create_action(name: &str, hash: &str) -> GlobalSecondaryIndexUpdate {
    GlobalSecondaryIndexUpdate::builder()
        .create(
            CreateGlobalSecondaryIndexAction::builder()
                .index_name(name)
                .key_schema(key(hash, KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .provisioned_throughput(throughput(2, 2))
                .build()
                .unwrap(),
        )
        .build()
}

#[tokio::test]
async fn update_table_creates_a_gsi_that_becomes_active() {
    let server = Server::start("index-ddl-online", 2);
    let client = server.client();
    create_orders(&client).await;
    let updated = client
        .update_table()
        .table_name("orders")
        .attribute_definitions(attr("region", ScalarAttributeType::S))
        .global_secondary_index_updates(create_action("by_region", "region"))
        .send()
        .await
        .expect("create a GSI online");
    let table = updated.table_description().expect("description");
    let gsi = table
        .global_secondary_indexes()
        .iter()
        .find(|g| g.index_name() == Some("by_region"))
        .expect("the new index is listed");
    assert_eq!(gsi.index_status(), Some(&IndexStatus::Creating));
    assert_eq!(gsi.backfilling(), Some(true));
    assert!(
        table
            .attribute_definitions()
            .iter()
            .any(|d| d.attribute_name() == "region"),
        "the new key attribute is defined"
    );
    // ACTIVE needs every shard's backfill (the write path's part).
    assert!(
        wait_for_index(&client, "orders", "by_region", IndexStatus::Active).await,
        "by_region did not become ACTIVE within 20 s"
    );
}

#[tokio::test]
async fn update_table_updates_and_deletes_gsis() {
    let server = Server::start("index-ddl-update", 2);
    let client = server.client();
    create_orders(&client).await;
    let updated = client
        .update_table()
        .table_name("orders")
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .update(
                    UpdateGlobalSecondaryIndexAction::builder()
                        .index_name("by_status")
                        .provisioned_throughput(throughput(7, 8))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .expect("update GSI throughput alone");
    assert!(updated.table_description().is_some());
    let table = describe(&client, "orders").await;
    let pt = table.global_secondary_indexes()[0]
        .provisioned_throughput()
        .expect("throughput");
    assert_eq!(
        (pt.read_capacity_units(), pt.write_capacity_units()),
        (Some(7), Some(8))
    );

    let deleted = client
        .update_table()
        .table_name("orders")
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .delete(
                    DeleteGlobalSecondaryIndexAction::builder()
                        .index_name("by_status")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .expect("delete GSI");
    let gsis = deleted
        .table_description()
        .expect("description")
        .global_secondary_indexes()
        .to_vec();
    assert_eq!(gsis.len(), 1);
    assert_eq!(gsis[0].index_status(), Some(&IndexStatus::Deleting));
    let table = describe(&client, "orders").await;
    assert!(table.global_secondary_indexes().is_empty());
    assert_eq!(table.local_secondary_indexes().len(), 1, "the LSI stays");
    let defined: Vec<&str> = table
        .attribute_definitions()
        .iter()
        .map(|d| d.attribute_name())
        .collect();
    assert!(
        !defined.contains(&"status"),
        "status was only the deleted GSI's key: {defined:?}"
    );
    assert!(defined.contains(&"ts") && defined.contains(&"total"));

    let err = client
        .update_table()
        .table_name("orders")
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .delete(
                    DeleteGlobalSecondaryIndexAction::builder()
                        .index_name("by_status")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .expect_err("the index is gone");
    assert!(
        err.into_service_error().is_resource_not_found_exception(),
        "deleting an unknown index"
    );
}

#[tokio::test]
async fn update_table_index_errors_match_dynamodb() {
    let server = Server::start("index-ddl-update-errors", 1);
    create_orders(&server.client()).await;
    let prefix = "One or more parameter values were invalid: ";
    let create = |name: &str, hash: &str, pt: bool| {
        let pt = if pt { format!(",{PT}") } else { String::new() };
        format!(
            r#"{{"Create":{{"IndexName":"{name}","KeySchema":[{}],"Projection":{ALL}{pt}}}}}"#,
            h(hash)
        )
    };
    let region_def = r#""AttributeDefinitions":[{"AttributeName":"region","AttributeType":"S"}]"#;
    let updates = |list: &[String]| {
        format!(
            r#"{{"TableName":"orders",{region_def},"GlobalSecondaryIndexUpdates":[{}]}}"#,
            list.join(",")
        )
    };
    let delete = |name: &str| format!(r#"{{"Delete":{{"IndexName":"{name}"}}}}"#);
    let cases: Vec<(String, &str, String)> = vec![
        (
            r#"{"TableName":"orders","GlobalSecondaryIndexUpdates":[]}"#.into(),
            "ValidationException",
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates, SSESpecification, ReplicaUpdates, MultiAccountReplicaReady, ReplicaTransitRoleArn, MultiRegionConsistency, DeletionProtectionEnabled, OnDemandThroughput, WarmThroughput or TableClass is required".into(),
        ),
        (
            updates(&["{}".into()]),
            "ValidationException",
            format!("{prefix}One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null"),
        ),
        (
            updates(&[r#"{"Delete":{"IndexName":"by_status"},"Update":{"IndexName":"by_status","ProvisionedThroughput":{"ReadCapacityUnits":1,"WriteCapacityUnits":1}}}"#.into()]),
            "ValidationException",
            format!("{prefix}Only one global secondary index action is allowed per GlobalSecondaryIndexUpdate object"),
        ),
        (
            updates(&[delete("by_status"), delete("by_status")]),
            "ValidationException",
            format!("{prefix}Only one global secondary index update per index is allowed simultaneously. Index: by_status"),
        ),
        (
            updates(&[create("by_region", "region", true), delete("by_status")]),
            "LimitExceededException",
            "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table -- Table: orders".into(),
        ),
        (
            format!(
                r#"{{"TableName":"orders",{region_def},{PT},"GlobalSecondaryIndexUpdates":[{}]}}"#,
                create("by_region", "region", true)
            ),
            "ValidationException",
            format!("{prefix}You cannot create or delete index while updating table IOPS"),
        ),
        (
            format!(
                r#"{{"TableName":"orders","GlobalSecondaryIndexUpdates":[{}]}}"#,
                create("by_region", "region", true)
            ),
            "ValidationException",
            format!("{prefix}AttributeDefinitions is not specified for index: by_region"),
        ),
        (
            updates(&[create("by_place", "place", true)]),
            "ValidationException",
            format!("{prefix}Some index key attributes are not defined in AttributeDefinitions. Keys: [place], AttributeDefinitions: [region]"),
        ),
        (
            updates(&[create("by_status", "region", true)]),
            "ValidationException",
            "Attempting to create an index which already exists".into(),
        ),
        (
            updates(&[create("by_total", "region", true)]),
            "ValidationException",
            "Attempting to create an index which already exists".into(),
        ),
        (
            updates(&[create("by_region", "region", false)]),
            "ValidationException",
            format!("{prefix}Both ReadCapacityUnits and WriteCapacityUnits must be specified for index: by_region"),
        ),
        (
            format!(
                r#"{{"TableName":"orders","AttributeDefinitions":[{{"AttributeName":"ts","AttributeType":"S"}}],"GlobalSecondaryIndexUpdates":[{}]}}"#,
                create("by_ts", "ts", true)
            ),
            "ValidationException",
            format!("{prefix}Attribute ts is already defined with AttributeType N; it cannot be redefined as S"),
        ),
        (
            updates(&[delete("nothere")]),
            "ResourceNotFoundException",
            "Requested resource not found: Table: orders Index: nothere".into(),
        ),
        (
            updates(&[delete("by_total")]),
            "ValidationException",
            "Cannot delete an index that is not a GlobalSecondaryIndex: by_total".into(),
        ),
        (
            updates(&[r#"{"Update":{"IndexName":"by_status","ProvisionedThroughput":{"ReadCapacityUnits":3,"WriteCapacityUnits":4}}}"#.into()]),
            "ValidationException",
            "The provisioned throughput for the index by_status will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the index: 3. Requested ReadCapacityUnits: 3. Current WriteCapacityUnits provisioned for the index: 4. Requested WriteCapacityUnits: 4. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.".into(),
        ),
        (
            updates(&[r#"{"Update":{"IndexName":"ab","ProvisionedThroughput":{"ReadCapacityUnits":0,"WriteCapacityUnits":1}}}"#.into()]),
            "ValidationException",
            "2 validation errors detected: Value 'ab' at 'globalSecondaryIndexUpdates.1.member.update.indexName' failed to satisfy constraint: Member must have length greater than or equal to 3; Value '0' at 'globalSecondaryIndexUpdates.1.member.update.provisionedThroughput.readCapacityUnits' failed to satisfy constraint: Member must have value greater than or equal to 1".into(),
        ),
        (
            r#"{"TableName":"orders","BillingMode":"PROVISIONED","ProvisionedThroughput":{"ReadCapacityUnits":9,"WriteCapacityUnits":9},"GlobalSecondaryIndexUpdates":[{"Update":{"IndexName":"by_status","ProvisionedThroughput":{"ReadCapacityUnits":3,"WriteCapacityUnits":4}}}]}"#.into(),
            "",
            String::new(),
        ),
    ];
    for (request, error, message) in &cases {
        let (status, body) = server.call("UpdateTable", request);
        if error.is_empty() {
            // Re-sending the index's capacity with a table change is fine.
            assert_eq!(status, 200, "{request}\n{body}");
            continue;
        }
        assert_eq!(
            (status, error_type(&body).as_str()),
            (400, *error),
            "{request}\n{body}"
        );
        assert_eq!(&error_message(&body), message, "{request}");
    }
    // None of the failed requests changed the indexes.
    let table = describe(&server.client(), "orders").await;
    let names: Vec<&str> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|g| g.index_name())
        .collect();
    assert_eq!(names, ["by_status"]);
    assert!(
        !table
            .attribute_definitions()
            .iter()
            .any(|d| d.attribute_name() == "region")
    );
}

#[tokio::test]
async fn pay_per_request_index_throughput_rules() {
    let server = Server::start("index-ddl-ppr", 1);
    let request = format!(
        r#"{{"TableName":"ppr","AttributeDefinitions":[{{"AttributeName":"a","AttributeType":"S"}},{{"AttributeName":"c","AttributeType":"N"}}],"KeySchema":[{}],"BillingMode":"PAY_PER_REQUEST","GlobalSecondaryIndexes":[{}]}}"#,
        h("a"),
        gsi("by_c", &h("c"), ALL, false)
    );
    assert_eq!(server.call("CreateTable", &request).0, 200);
    let prefix = "One or more parameter values were invalid: ";
    let (status, body) = server.call(
        "UpdateTable",
        r#"{"TableName":"ppr","GlobalSecondaryIndexUpdates":[{"Update":{"IndexName":"by_c","ProvisionedThroughput":{"ReadCapacityUnits":3,"WriteCapacityUnits":4}}}]}"#,
    );
    assert_eq!(status, 400);
    assert_eq!(
        error_message(&body),
        format!(
            "{prefix}The only Updates for index: by_c when TableThroughputMode is PAY_PER_REQUEST can be to OnDemandThroughput, WarmThroughput"
        )
    );
    let (status, body) = server.call(
        "UpdateTable",
        &format!(
            r#"{{"TableName":"ppr","AttributeDefinitions":[{{"AttributeName":"d","AttributeType":"S"}}],"GlobalSecondaryIndexUpdates":[{{"Create":{}}}]}}"#,
            gsi("by_d", &h("d"), ALL, true)
        ),
    );
    assert_eq!(status, 400);
    assert_eq!(
        error_message(&body),
        format!(
            "{prefix}Neither ReadCapacityUnits nor WriteCapacityUnits can be specified for index: by_d when BillingMode is PAY_PER_REQUEST"
        )
    );
    let (status, body) = server.call(
        "UpdateTable",
        r#"{"TableName":"ppr","BillingMode":"PROVISIONED","ProvisionedThroughput":{"ReadCapacityUnits":5,"WriteCapacityUnits":5}}"#,
    );
    assert_eq!(status, 400);
    assert_eq!(
        error_message(&body),
        format!("{prefix}ProvisionedThroughput must be specified for index: by_c")
    );
    let (status, body) = server.call(
        "UpdateTable",
        r#"{"TableName":"ppr","BillingMode":"PROVISIONED","ProvisionedThroughput":{"ReadCapacityUnits":5,"WriteCapacityUnits":5},"GlobalSecondaryIndexUpdates":[{"Update":{"IndexName":"by_c","ProvisionedThroughput":{"ReadCapacityUnits":6,"WriteCapacityUnits":7}}}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let table = describe(&server.client(), "ppr").await;
    let pt = table.global_secondary_indexes()[0]
        .provisioned_throughput()
        .expect("throughput");
    assert_eq!(
        (pt.read_capacity_units(), pt.write_capacity_units()),
        (Some(6), Some(7))
    );
}

#[tokio::test]
async fn index_definitions_survive_restart() {
    let mut server = Server::start("index-ddl-restart", 2);
    create_orders(&server.client()).await;
    let before = describe(&server.client(), "orders").await;
    assert!(server.stop(), "clean shutdown on SIGTERM");
    server.launch().expect("restart");
    let after = describe(&server.client(), "orders").await;
    check_orders_indexes(&after, IndexStatus::Active);
    assert_eq!(
        after.global_secondary_indexes(),
        before.global_secondary_indexes()
    );
    assert_eq!(
        after.local_secondary_indexes(),
        before.local_secondary_indexes()
    );
    server.kill();
    server.launch().expect("restart after SIGKILL");
    check_orders_indexes(
        &describe(&server.client(), "orders").await,
        IndexStatus::Active,
    );
}
