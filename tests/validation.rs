//! DynamoDB's validation order through the real binary: member types
//! (SerializationException, with the reader's messages and its `Message`
//! member) before member constraints; every constraint violation of a
//! request in one "N validation errors detected" message; a request's own
//! values validated before the table is looked up.

mod common;

use common::{Server, create_simple_table, error_message, error_type};

fn assert_error(server: &Server, op: &str, body: &str, kind: &str, message: &str) {
    let (status, reply) = server.call(op, body);
    assert_eq!(status, 400, "{op} {body}: {reply}");
    assert_eq!(error_type(&reply), kind, "{op} {body}: {reply}");
    assert_eq!(error_message(&reply), message, "{op} {body}: {reply}");
}

const CAST: &str = "class sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl cannot be cast to class java.lang.Class (sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl and java.lang.Class are in module java.base of loader 'bootstrap')";

#[test]
fn member_types_are_checked_first_with_dynamodbs_messages() {
    let server = Server::start("validation-types", 1);
    let cases: &[(&str, &str, &str)] = &[
        // A wrong type is reported even though TableName is missing too.
        ("GetItem", r#"{"Key":"x"}"#, "Unexpected field type"),
        (
            "GetItem",
            r#"{"Key":[]}"#,
            "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>",
        ),
        (
            "GetItem",
            r#"{"Key":{"a":"x"}}"#,
            "Unexpected value type in payload",
        ),
        (
            "GetItem",
            r#"{"Key":{"a":[]}}"#,
            "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue",
        ),
        (
            "GetItem",
            r#"{"TableName":true}"#,
            "TRUE_VALUE cannot be converted to String",
        ),
        (
            "GetItem",
            r#"{"TableName":false}"#,
            "FALSE_VALUE cannot be converted to String",
        ),
        (
            "GetItem",
            r#"{"TableName":12}"#,
            "NUMBER_VALUE cannot be converted to String",
        ),
        (
            "GetItem",
            r#"{"TableName":1.5}"#,
            "DECIMAL_VALUE cannot be converted to String",
        ),
        (
            "GetItem",
            r#"{"TableName":[]}"#,
            "Unrecognized collection type class java.lang.String",
        ),
        (
            "GetItem",
            r#"{"TableName":{}}"#,
            "Start of structure or map found where not expected",
        ),
        (
            "GetItem",
            r#"{"ConsistentRead":"yes"}"#,
            "Unexpected token received from parser",
        ),
        (
            "GetItem",
            r#"{"ConsistentRead":1}"#,
            "NUMBER_VALUE cannot be converted to Boolean",
        ),
        (
            "GetItem",
            r#"{"AttributesToGet":"a"}"#,
            "Unexpected field type",
        ),
        (
            "GetItem",
            r#"{"AttributesToGet":{}}"#,
            "Start of structure or map found where not expected",
        ),
        (
            "GetItem",
            r#"{"Key":{"a":{"S":true}}}"#,
            "TRUE_VALUE cannot be converted to String",
        ),
        (
            "GetItem",
            r#"{"Key":{"a":{"B":1}}}"#,
            "only base-64-encoded strings are convertible to bytes",
        ),
        (
            "GetItem",
            r#"{"Key":{"a":{"B":"abcde"}}}"#,
            "Base64 encoded length is expected a multiple of 4 bytes but found: 5",
        ),
        (
            "GetItem",
            r#"{"Key":{"a":{"L":["x"]}}}"#,
            "Unexpected value type in payload",
        ),
        (
            "GetItem",
            r#"{"Key":{"a":{"M":"x"}}}"#,
            "Unexpected field type",
        ),
        (
            "GetItem",
            r#"{"Key":{"a":{"SS":[1]}}}"#,
            "NUMBER_VALUE cannot be converted to String",
        ),
        (
            "GetItem",
            r#"{"ExpressionAttributeNames":[]}"#,
            "Unrecognized collection type java.util.Map<java.lang.String, java.lang.String>",
        ),
        (
            "Scan",
            r#"{"Limit":"3"}"#,
            "STRING_VALUE cannot be converted to Integer",
        ),
        (
            "Scan",
            r#"{"Limit":true}"#,
            "TRUE_VALUE cannot be converted to Integer",
        ),
        (
            "Scan",
            r#"{"Segment":[]}"#,
            "Unrecognized collection type class java.lang.Integer",
        ),
        (
            "Query",
            r#"{"KeyConditions":{"a":"x"}}"#,
            "Unexpected value type in payload",
        ),
        (
            "PutItem",
            r#"{"Expected":{"a":{"Value":"x"}}}"#,
            "Unexpected field type",
        ),
        (
            "CreateTable",
            r#"{"ProvisionedThroughput":{"ReadCapacityUnits":"1"}}"#,
            "STRING_VALUE cannot be converted to Long",
        ),
        (
            "CreateTable",
            r#"{"ProvisionedThroughput":"x"}"#,
            "Unexpected field type",
        ),
        (
            "CreateTable",
            r#"{"ProvisionedThroughput":[]}"#,
            "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.ProvisionedThroughput",
        ),
        (
            "CreateTable",
            r#"{"KeySchema":["x"]}"#,
            "Unexpected value type in payload",
        ),
        (
            "BatchGetItem",
            r#"{"RequestItems":{"abc":{"Keys":["x"]}}}"#,
            CAST,
        ),
        ("BatchWriteItem", r#"{"RequestItems":{"abc":"x"}}"#, CAST),
        (
            "BatchWriteItem",
            r#"{"RequestItems":[]}"#,
            "Unrecognized collection type java.util.Map<java.lang.String, java.util.List<com.amazonaws.dynamodb.v20120810.WriteRequest>>",
        ),
        (
            "ListTables",
            r#"{"Limit":"ten"}"#,
            "STRING_VALUE cannot be converted to Integer",
        ),
    ];
    for (op, body, message) in cases {
        let (status, reply) = server.call(op, body);
        assert_eq!(status, 400, "{op} {body}: {reply}");
        assert_eq!(
            error_type(&reply),
            "SerializationException",
            "{op} {body}: {reply}"
        );
        // The JSON reader's errors spell the member "Message".
        assert!(
            reply.contains(&format!(r#""Message":"{}""#, message.replace('"', "\\\""))),
            "{op} {body}: {reply}"
        );
    }
    // A fractional Limit reads as its floor, as DynamoDB's reader converts it.
    create_simple_table_sync(&server, "floor");
    let (status, reply) = server.call("Scan", r#"{"TableName":"floor","Limit":2.7}"#);
    assert_eq!(status, 200, "{reply}");
}

fn create_simple_table_sync(server: &Server, name: &str) {
    let body = format!(
        r#"{{"TableName":"{name}","AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}}],"KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}}],"BillingMode":"PAY_PER_REQUEST"}}"#
    );
    let (status, reply) = server.call("CreateTable", &body);
    assert_eq!(status, 200, "{reply}");
}

#[test]
fn every_member_violation_is_reported_together() {
    let server = Server::start("validation-collected", 1);
    let v = "ValidationException";
    assert_error(
        &server,
        "PutItem",
        r#"{"TableName":"tbl","Item":{"pk":{"S":"a"}},"ReturnValues":"x","ReturnConsumedCapacity":"y","ReturnItemCollectionMetrics":"z"}"#,
        v,
        "3 validation errors detected: Value 'x' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]; Value 'y' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]; Value 'z' at 'returnItemCollectionMetrics' failed to satisfy constraint: Member must satisfy enum value set: [SIZE, NONE]",
    );
    assert_error(
        &server,
        "GetItem",
        r#"{"TableName":"abc;","ReturnConsumedCapacity":"hi","AttributesToGet":[]}"#,
        v,
        "4 validation errors detected: Value 'abc;' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value null at 'key' failed to satisfy constraint: Member must not be null; Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1; Value 'hi' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]",
    );
    let (_, reply) = server.call(
        "Scan",
        r#"{"TableName":"abc;","ReturnConsumedCapacity":"hi","AttributesToGet":[],"Segment":-1,"TotalSegments":-1,"Select":"hi","Limit":-1,"ScanFilter":{"a":{},"b":{"ComparisonOperator":""}}}"#,
    );
    assert!(
        error_message(&reply).starts_with("9 validation errors detected: "),
        "{reply}"
    );
    let (_, reply) = server.call(
        "Query",
        r#"{"TableName":"abc;","ReturnConsumedCapacity":"hi","AttributesToGet":[],"IndexName":"abc;","Select":"hi","Limit":-1,"KeyConditions":{"a":{},"b":{"ComparisonOperator":""}},"QueryFilter":{"a":{},"b":{"ComparisonOperator":""}}}"#,
    );
    assert!(
        error_message(&reply).starts_with("10 validation errors detected: "),
        "{reply}"
    );
    let (_, reply) = server.call(
        "BatchGetItem",
        r#"{"RequestItems":{"a":{}},"ReturnConsumedCapacity":"hi"}"#,
    );
    assert!(
        reply.contains(r#""3 validation errors detected: Value '{\"a\":{}}' at 'requestItems' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 255, Member must have length greater than or equal to 3, Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+]; Value null at 'requestItems.a.member.keys' failed to satisfy constraint: Member must not be null; Value 'hi' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]""#),
        "{reply}"
    );
    let (_, reply) = server.call(
        "BatchWriteItem",
        r#"{"RequestItems":{"aa;":[{"PutRequest":{},"DeleteRequest":{}}]},"ReturnConsumedCapacity":"hi","ReturnItemCollectionMetrics":"hi"}"#,
    );
    let message = error_message(&reply);
    assert!(
        message.starts_with("5 validation errors detected: "),
        "{reply}"
    );
    for part in [
        "at 'requestItems.aa;.member.1.member.deleteRequest.key' failed to satisfy constraint: Member must not be null",
        "at 'requestItems.aa;.member.1.member.putRequest.item' failed to satisfy constraint: Member must not be null",
        "Value 'hi' at 'returnItemCollectionMetrics'",
    ] {
        assert!(reply.contains(part), "{part}: {reply}");
    }
    // More than 100 keys for one table: the member's own bound.
    let keys: Vec<String> = (0..101)
        .map(|i| format!(r#"{{"pk":{{"S":"{i}"}}}}"#))
        .collect();
    let (_, reply) = server.call(
        "BatchGetItem",
        &format!(
            r#"{{"RequestItems":{{"abc":{{"Keys":[{}]}}}}}}"#,
            keys.join(",")
        ),
    );
    let message = error_message(&reply);
    assert!(
        message.starts_with("1 validation error detected: Value '[")
            && message.ends_with("]' at 'requestItems.abc.member.keys' failed to satisfy constraint: Member must have length less than or equal to 100"),
        "{reply}"
    );
    // More than 100 over several tables: the batch's bound.
    let (_, reply) = server.call(
        "BatchGetItem",
        &format!(
            r#"{{"RequestItems":{{"abc":{{"Keys":[{}]}},"abd":{{"Keys":[{{"pk":{{"S":"x"}}}}]}}}}}}"#,
            keys[..100].join(",")
        ),
    );
    assert_eq!(
        error_message(&reply),
        "Too many items requested for the BatchGetItem call"
    );
    // 26 writes for one table: the map-value form.
    let writes: Vec<String> = (0..26)
        .map(|i| format!(r#"{{"PutRequest":{{"Item":{{"pk":{{"S":"{i}"}}}}}}}}"#))
        .collect();
    let (_, reply) = server.call(
        "BatchWriteItem",
        &format!(r#"{{"RequestItems":{{"abc":[{}]}}}}"#, writes.join(",")),
    );
    let message = error_message(&reply);
    assert!(
        message.starts_with("1 validation error detected: Value '{")
            && message.ends_with("}' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]"),
        "{reply}"
    );
    assert_error(
        &server,
        "BatchGetItem",
        r#"{"RequestItems":{}}"#,
        v,
        "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    assert_error(
        &server,
        "UpdateItem",
        r#"{"TableName":"tbl","Key":{},"AttributeUpdates":{"a":{"Action":"X"}},"Expected":{"b":{"ComparisonOperator":"Y"}},"ConditionalOperator":"Z"}"#,
        v,
        "3 validation errors detected: Value 'X' at 'attributeUpdates.a.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]; Value 'Y' at 'expected.b.member.comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]; Value 'Z' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [OR, AND]",
    );
    assert_error(
        &server,
        "Query",
        r#"{"TableName":"tbl","Limit":0}"#,
        v,
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
}

#[tokio::test]
async fn request_values_are_validated_before_the_table_is_looked_up() {
    let server = Server::start("validation-before-table", 1);
    create_simple_table(&server.client(), "here", None).await;
    let v = "ValidationException";
    let big = "x".repeat(400 * 1024);
    let size = "Item size has exceeded the maximum allowed size";
    for table in ["missing", "here"] {
        assert_error(
            &server,
            "PutItem",
            &format!(
                r#"{{"TableName":"{table}","Item":{{"pk":{{"S":"a"}},"b":{{"S":"{big}"}}}}}}"#
            ),
            v,
            size,
        );
        assert_error(
            &server,
            "BatchWriteItem",
            &format!(
                r#"{{"RequestItems":{{"{table}":[{{"PutRequest":{{"Item":{{"pk":{{"S":"a"}},"b":{{"S":"{big}"}}}}}}}}]}}}}"#
            ),
            v,
            size,
        );
    }
    let bad_number = "The parameter cannot be converted to a numeric value: b";
    for op in ["GetItem", "DeleteItem", "UpdateItem"] {
        assert_error(
            &server,
            op,
            r#"{"TableName":"missing","Key":{"pk":{"N":"b"}}}"#,
            v,
            bad_number,
        );
    }
    assert_error(
        &server,
        "BatchGetItem",
        r#"{"RequestItems":{"missing":{"Keys":[{"pk":{"N":"b"}}]}}}"#,
        v,
        bad_number,
    );
    assert_error(
        &server,
        "BatchGetItem",
        r#"{"RequestItems":{"missing":{"Keys":[{"pk":{"S":"a"}},{"pk":{"S":"a"}}]}}}"#,
        v,
        "Provided list of item keys contains duplicates",
    );
    assert_error(
        &server,
        "BatchWriteItem",
        r#"{"RequestItems":{"missing":[{"DeleteRequest":{"Key":{"pk":{"SS":[]}}}}]}}"#,
        v,
        "One or more parameter values were invalid: An string set  may not be empty",
    );
    // A valid request on a missing table is then ResourceNotFound.
    assert_error(
        &server,
        "GetItem",
        r#"{"TableName":"missing","Key":{}}"#,
        "ResourceNotFoundException",
        "Requested resource not found",
    );
}
