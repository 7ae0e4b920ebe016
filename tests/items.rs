//! PutItem / GetItem / DeleteItem through the AWS SDK for Rust: every
//! attribute type, ReturnValues, projections, and DynamoDB's errors for bad
//! keys and values (which must leave stored data unchanged).

mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use common::values::{n, s};
use common::{Server, create_simple_table, error_message, error_type};

#[tokio::test]
async fn all_types_round_trip_and_return_values() {
    let server = Server::start("items", 2);
    let client = server.client();
    create_simple_table(&client, "things", Some(("sk", "N"))).await;
    let nested = HashMap::from([
        (
            "inner".to_string(),
            AttributeValue::L(vec![s("x"), n("2"), AttributeValue::Null(true)]),
        ),
        ("flag".to_string(), AttributeValue::Bool(false)),
    ]);
    let item = HashMap::from([
        ("pk".to_string(), s("user#1")),
        ("sk".to_string(), n("-1.50")),
        ("name".to_string(), s("")),
        (
            "big".to_string(),
            n("12345678901234567890123456789012345678"),
        ),
        ("tiny".to_string(), n("1E-130")),
        (
            "bin".to_string(),
            AttributeValue::B(Blob::new(vec![0u8, 1, 2, 255])),
        ),
        ("yes".to_string(), AttributeValue::Bool(true)),
        ("nothing".to_string(), AttributeValue::Null(true)),
        ("doc".to_string(), AttributeValue::M(nested)),
        (
            "tags".to_string(),
            AttributeValue::Ss(vec!["a".into(), "b".into()]),
        ),
        (
            "scores".to_string(),
            AttributeValue::Ns(vec!["1".into(), "2.5".into()]),
        ),
        (
            "blobs".to_string(),
            AttributeValue::Bs(vec![Blob::new(vec![1u8]), Blob::new(vec![2u8])]),
        ),
    ]);
    let put = client
        .put_item()
        .table_name("things")
        .set_item(Some(item.clone()))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .expect("put");
    assert!(put.attributes().is_none(), "no old item on first put");

    let key = HashMap::from([
        ("pk".to_string(), s("user#1")),
        ("sk".to_string(), n("-1.5")),
    ]);
    let got = client
        .get_item()
        .table_name("things")
        .set_key(Some(key.clone()))
        .consistent_read(true)
        .send()
        .await
        .expect("get");
    let mut expected = item.clone();
    expected.insert("sk".into(), n("-1.5"));
    // Numbers come back normalized, in plain notation.
    expected.insert("tiny".into(), n(format!("0.{}1", "0".repeat(129))));
    assert_eq!(got.item(), Some(&expected));

    let projected = client
        .get_item()
        .table_name("things")
        .set_key(Some(key.clone()))
        .projection_expression("#n, yes")
        .expression_attribute_names("#n", "name")
        .send()
        .await
        .expect("projected get");
    assert_eq!(
        projected.item(),
        Some(&HashMap::from([
            ("name".to_string(), s("")),
            ("yes".to_string(), AttributeValue::Bool(true))
        ]))
    );

    let mut replacement = key.clone();
    replacement.insert("v".into(), n("2"));
    let replaced = client
        .put_item()
        .table_name("things")
        .set_item(Some(replacement.clone()))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .expect("replace");
    assert_eq!(replaced.attributes(), Some(&expected));

    let deleted = client
        .delete_item()
        .table_name("things")
        .set_key(Some(key.clone()))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.attributes(), Some(&replacement));
    let gone = client
        .get_item()
        .table_name("things")
        .set_key(Some(key))
        .send()
        .await
        .expect("get");
    assert!(gone.item().is_none());
}

#[test]
fn bad_items_get_dynamodb_errors_and_change_nothing() {
    let server = Server::start("item-errors", 2);
    let create = r#"{"TableName":"tbl","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"}"#;
    assert_eq!(server.call("CreateTable", create).0, 200);
    let good = r#"{"TableName":"tbl","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"v":{"S":"original"}}}"#;
    assert_eq!(server.call("PutItem", good).0, 200);

    let big = "x".repeat(400 * 1024);
    let long_pk = "k".repeat(2049);
    let long_sk_table = r#"{"TableName":"tbs","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"}"#;
    assert_eq!(server.call("CreateTable", long_sk_table).0, 200);
    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("PutItem", r#"{"TableName":"tbl","Item":{"sk":{"N":"1"},"v":{"S":"changed"}}}"#.into(),
         "ValidationException", "One or more parameter values were invalid: Missing the key pk in the item"),
        ("PutItem", r#"{"TableName":"tbl","Item":{"pk":{"N":"1"},"sk":{"N":"1"}}}"#.into(),
         "ValidationException", "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"),
        ("PutItem", r#"{"TableName":"tbl","Item":{"pk":{"S":""},"sk":{"N":"1"}}}"#.into(),
         "ValidationException", "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"),
        ("PutItem", format!(r#"{{"TableName":"tbl","Item":{{"pk":{{"S":"a"}},"sk":{{"N":"1"}},"v":{{"S":"{big}"}}}}}}"#),
         "ValidationException", "Item size has exceeded the maximum allowed size"),
        ("PutItem", format!(r#"{{"TableName":"tbl","Item":{{"pk":{{"S":"{long_pk}"}},"sk":{{"N":"1"}}}}}}"#),
         "ValidationException", "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"),
        ("PutItem", format!(r#"{{"TableName":"tbs","Item":{{"pk":{{"S":"a"}},"sk":{{"S":"{}"}}}}}}"#, "s".repeat(1025)),
         "ValidationException", "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"),
        ("PutItem", r#"{"TableName":"tbl","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"v":{"N":"1e126"}}}"#.into(),
         "ValidationException", "Number overflow. Attempting to store a number with magnitude larger than supported range"),
        ("PutItem", r#"{"TableName":"tbl","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"v":{"N":"123456789012345678901234567890123456789"}}}"#.into(),
         "ValidationException", "Attempting to store more than 38 significant digits in a Number"),
        ("PutItem", r#"{"TableName":"tbl","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"v":{"SS":[]}}}"#.into(),
         "ValidationException", "One or more parameter values were invalid: An string set  may not be empty"),
        ("PutItem", r#"{"TableName":"tbl","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"v":{"SS":["x","x"]}}}"#.into(),
         "ValidationException", "One or more parameter values were invalid: Input collection [x, x] contains duplicates."),
        ("PutItem", r#"{"TableName":"tbl","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"v":{}}}"#.into(),
         "ValidationException", "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"),
        ("PutItem", r#"{"TableName":"tbl","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"v":{"S":"x","N":"1"}}}"#.into(),
         "ValidationException", "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"),
        ("PutItem", r#"{"TableName":"tbl","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"v":{"S":5}}}"#.into(),
         "SerializationException", "NUMBER_VALUE cannot be converted to String"),
        ("PutItem", r#"{"TableName":"tbl","Item":{"pk":{"S":"a"},"sk":{"N":"1"}},"ReturnValues":"ALL_NEW"}"#.into(),
         "ValidationException", "ReturnValues can only be ALL_OLD or NONE"),
        ("PutItem", r#"{"TableName":"nosuch","Item":{"pk":{"S":"a"},"sk":{"N":"1"}}}"#.into(),
         "ResourceNotFoundException", "Requested resource not found"),
        ("PutItem", r#"{"TableName":"tbl"}"#.into(),
         "ValidationException", "1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null"),
        ("GetItem", r#"{"TableName":"tbl","Key":{"pk":{"S":"a"}}}"#.into(),
         "ValidationException", "The provided key element does not match the schema"),
        ("GetItem", r#"{"TableName":"tbl","Key":{"pk":{"S":"a"},"sk":{"S":"1"}}}"#.into(),
         "ValidationException", "The provided key element does not match the schema"),
        ("GetItem", r#"{"TableName":"tbl","Key":{"pk":{"S":"a"},"sk":{"N":"1"},"x":{"S":"1"}}}"#.into(),
         "ValidationException", "The provided key element does not match the schema"),
        ("DeleteItem", r#"{"TableName":"tbl","Key":{"pk":{"S":"a"}}}"#.into(),
         "ValidationException", "The provided key element does not match the schema"),
        // Attribute names: at least one character, under 64 KB, at any depth.
        ("PutItem", r#"{"TableName":"tbl","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"":{"S":"x"}}}"#.into(),
         "ValidationException", "Empty attribute name"),
        ("PutItem", r#"{"TableName":"tbl","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"m":{"M":{"":{"S":"x"}}}}}"#.into(),
         "ValidationException", "Empty attribute name"),
        ("PutItem", format!(r#"{{"TableName":"tbl","Item":{{"pk":{{"S":"a"}},"sk":{{"N":"1"}},"{}":{{"S":"x"}}}}}}"#, "n".repeat(65_536)),
         "ValidationException", "One or more parameter values were invalid: Attribute name size has exceeded the maximum size limit of 65535 bytes"),
        ("PutItem", format!(r#"{{"TableName":"tbl","Item":{{"pk":{{"S":"a"}},"sk":{{"N":"1"}},"m":{{"M":{{"{}":{{"S":"x"}}}}}}}}}}"#, "n".repeat(65_536)),
         "ValidationException", "One or more parameter values were invalid: Attribute name size has exceeded the maximum size limit of 65535 bytes"),
        ("BatchWriteItem", r#"{"RequestItems":{"tbl":[{"PutRequest":{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"":{"S":"x"}}}}]}}"#.into(),
         "ValidationException", "Empty attribute name"),
        ("UpdateItem", r#"{"TableName":"tbl","Key":{"pk":{"S":"a"},"sk":{"N":"1"}},"UpdateExpression":"SET v = :v","ExpressionAttributeValues":{":v":{"M":{"":{"S":"x"}}}}}"#.into(),
         "ValidationException", "ExpressionAttributeValues contains invalid value: Empty attribute name for key :v"),
        ("DeleteItem", r#"{"TableName":"tbl","Key":{"pk":{"S":"a"},"sk":{"N":"1"}},"ReturnValues":"BOGUS"}"#.into(),
         "ValidationException", "1 validation error detected: Value 'BOGUS' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"),
    ];
    for (op, body, kind, message) in &cases {
        let (status, reply) = server.call(op, body);
        assert_eq!(status, 400, "{op} {body}: {reply}");
        assert_eq!(error_type(&reply), *kind, "{op}: {reply}");
        assert_eq!(error_message(&reply), *message, "{op}: {reply}");
    }
    let (_, item) = server.call(
        "GetItem",
        r#"{"TableName":"tbl","Key":{"pk":{"S":"a"},"sk":{"N":"1"}}}"#,
    );
    assert_eq!(
        item,
        r#"{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"v":{"S":"original"}}}"#
    );
}

#[test]
fn consumed_capacity_is_reported() {
    let server = Server::start("capacity", 1);
    let create = r#"{"TableName":"cap","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}"#;
    assert_eq!(server.call("CreateTable", create).0, 200);
    let value = "v".repeat(1500);
    let put = format!(
        r#"{{"TableName":"cap","Item":{{"pk":{{"S":"a"}},"v":{{"S":"{value}"}}}},"ReturnConsumedCapacity":"TOTAL"}}"#
    );
    let (_, reply) = server.call("PutItem", &put);
    assert_eq!(
        reply,
        r#"{"ConsumedCapacity":{"TableName":"cap","CapacityUnits":2.0}}"#
    );
    let (_, reply) = server.call("GetItem", r#"{"TableName":"cap","Key":{"pk":{"S":"a"}},"ReturnConsumedCapacity":"TOTAL","ProjectionExpression":"pk"}"#);
    assert!(
        reply.ends_with(r#""ConsumedCapacity":{"TableName":"cap","CapacityUnits":0.5}}"#),
        "{reply}"
    );
}

/// Capacity as DynamoDB charges it: per page for reads, the larger of old
/// and new item for every write (plain puts and batches included), the
/// table's share under INDEXES, and no ConsumedCapacity member at all when
/// none was asked for.
#[test]
fn consumed_capacity_matches_dynamodb() {
    let server = Server::start("capacity-rules", 2);
    let create = r#"{"TableName":"cap","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}"#;
    assert_eq!(server.call("CreateTable", create).0, 200);
    let call = |op: &str, body: &str| {
        let (status, reply) = server.call(op, body);
        assert_eq!(status, 200, "{op} {body}: {reply}");
        reply
    };
    let big = "v".repeat(3000);
    for pk in ["big", "del"] {
        call(
            "PutItem",
            &format!(r#"{{"TableName":"cap","Item":{{"pk":{{"S":"{pk}"}},"v":{{"S":"{big}"}}}}}}"#),
        );
    }
    // A plain put over a 3 KB item: 3 units, not 1.
    let reply = call(
        "PutItem",
        r#"{"TableName":"cap","Item":{"pk":{"S":"big"}},"ReturnConsumedCapacity":"TOTAL"}"#,
    );
    assert_eq!(
        reply,
        r#"{"ConsumedCapacity":{"TableName":"cap","CapacityUnits":3.0}}"#
    );
    call(
        "PutItem",
        &format!(r#"{{"TableName":"cap","Item":{{"pk":{{"S":"big"}},"v":{{"S":"{big}"}}}}}}"#),
    );
    // BatchWriteItem: the same per-write charge (3 + 3 here).
    let reply = call(
        "BatchWriteItem",
        r#"{"RequestItems":{"cap":[{"PutRequest":{"Item":{"pk":{"S":"big"}}}},{"DeleteRequest":{"Key":{"pk":{"S":"del"}}}}]},"ReturnConsumedCapacity":"INDEXES"}"#,
    );
    assert_eq!(
        reply,
        r#"{"UnprocessedItems":{},"ConsumedCapacity":[{"TableName":"cap","CapacityUnits":6.0,"Table":{"CapacityUnits":6.0}}]}"#
    );
    // Reads: the table's share under INDEXES, also in BatchGetItem.
    let reply = call(
        "BatchGetItem",
        r#"{"RequestItems":{"cap":{"Keys":[{"pk":{"S":"big"}}]}},"ReturnConsumedCapacity":"INDEXES"}"#,
    );
    assert!(
        reply.ends_with(r#""ConsumedCapacity":[{"TableName":"cap","CapacityUnits":0.5,"Table":{"CapacityUnits":0.5}}]}"#),
        "{reply}"
    );
    // A Scan of many small items on both shards: one page, rounded once.
    for i in 0..20 {
        call(
            "PutItem",
            &format!(r#"{{"TableName":"cap","Item":{{"pk":{{"S":"s{i}"}}}}}}"#),
        );
    }
    let reply = call(
        "Scan",
        r#"{"TableName":"cap","Select":"COUNT","ReturnConsumedCapacity":"TOTAL"}"#,
    );
    assert_eq!(
        reply,
        r#"{"Count":21,"ScannedCount":21,"ConsumedCapacity":{"TableName":"cap","CapacityUnits":0.5}}"#
    );
    // Not asked for: no member, not even null.
    for (op, body) in [
        ("GetItem", r#"{"TableName":"cap","Key":{"pk":{"S":"s1"}}}"#),
        ("PutItem", r#"{"TableName":"cap","Item":{"pk":{"S":"s1"}}}"#),
        (
            "UpdateItem",
            r#"{"TableName":"cap","Key":{"pk":{"S":"s1"}}}"#,
        ),
        (
            "DeleteItem",
            r#"{"TableName":"cap","Key":{"pk":{"S":"s2"}}}"#,
        ),
        (
            "Query",
            r#"{"TableName":"cap","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"s3"}}}"#,
        ),
        ("Scan", r#"{"TableName":"cap","Limit":1}"#),
        (
            "BatchGetItem",
            r#"{"RequestItems":{"cap":{"Keys":[{"pk":{"S":"s3"}}]}}}"#,
        ),
        (
            "BatchWriteItem",
            r#"{"RequestItems":{"cap":[{"DeleteRequest":{"Key":{"pk":{"S":"s4"}}}}]}}"#,
        ),
    ] {
        let reply = call(op, body);
        assert!(!reply.contains("ConsumedCapacity"), "{op}: {reply}");
    }
}
