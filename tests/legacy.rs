//! Legacy conditional parameters (Expected, AttributeUpdates, KeyConditions,
//! QueryFilter, ScanFilter, ConditionalOperator, AttributesToGet) through raw
//! requests, and DynamoDB's error when they are mixed with expressions.

mod common;

use common::{Server, create_simple_table, error_message, error_type};

#[tokio::test]
async fn legacy_parameters() {
    let server = Server::start("legacy", 2);
    create_simple_table(&server.client(), "old", Some(("sk", "N"))).await;
    let ok = |op: &str, body: &str| {
        let (status, reply) = server.call(op, body);
        assert_eq!(status, 200, "{op} {body}: {reply}");
        reply
    };
    for sk in 1..=6 {
        ok(
            "PutItem",
            &format!(
                r#"{{"TableName":"old","Item":{{"pk":{{"S":"p"}},"sk":{{"N":"{sk}"}},"c":{{"N":"{}"}}}},"Expected":{{"pk":{{"Exists":false}}}}}}"#,
                sk * 10
            ),
        );
    }
    // Expected: create-only put now fails.
    let (status, reply) = server.call(
        "PutItem",
        r#"{"TableName":"old","Item":{"pk":{"S":"p"},"sk":{"N":"1"}},"Expected":{"pk":{"Exists":false}}}"#,
    );
    assert_eq!(
        (status, error_type(&reply).as_str()),
        (400, "ConditionalCheckFailedException")
    );
    // AttributeUpdates with Expected using a ComparisonOperator.
    let reply = ok(
        "UpdateItem",
        r#"{"TableName":"old","Key":{"pk":{"S":"p"},"sk":{"N":"1"}},"AttributeUpdates":{"c":{"Action":"ADD","Value":{"N":"5"}},"t":{"Action":"PUT","Value":{"S":"x"}}},"Expected":{"c":{"ComparisonOperator":"LT","AttributeValueList":[{"N":"11"}]}},"ReturnValues":"UPDATED_NEW"}"#,
    );
    assert!(
        reply.contains(r#""c":{"N":"15"}"#) && reply.contains(r#""t":{"S":"x"}"#),
        "{reply}"
    );
    // KeyConditions + QueryFilter, AttributesToGet.
    let reply = ok(
        "Query",
        r#"{"TableName":"old","KeyConditions":{"pk":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"p"}]},"sk":{"ComparisonOperator":"BETWEEN","AttributeValueList":[{"N":"1"},{"N":"4"}]}},"QueryFilter":{"c":{"ComparisonOperator":"GE","AttributeValueList":[{"N":"20"}]}},"AttributesToGet":["sk"]}"#,
    );
    assert_eq!(
        reply,
        r#"{"Items":[{"sk":{"N":"2"}},{"sk":{"N":"3"}},{"sk":{"N":"4"}}],"Count":3,"ScannedCount":4}"#
    );
    // KeyConditions go with FilterExpression and ProjectionExpression.
    let reply = ok(
        "Query",
        r##"{"TableName":"old","KeyConditions":{"pk":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"p"}]},"sk":{"ComparisonOperator":"LE","AttributeValueList":[{"N":"4"}]}},"FilterExpression":"c >= :v","ProjectionExpression":"sk, #c","ExpressionAttributeNames":{"#c":"c"},"ExpressionAttributeValues":{":v":{"N":"20"}}}"##,
    );
    assert_eq!(
        reply,
        r#"{"Items":[{"c":{"N":"20"},"sk":{"N":"2"}},{"c":{"N":"30"},"sk":{"N":"3"}},{"c":{"N":"40"},"sk":{"N":"4"}}],"Count":3,"ScannedCount":4}"#
    );
    // ScanFilter with OR.
    let reply = ok(
        "Scan",
        r#"{"TableName":"old","ScanFilter":{"c":{"ComparisonOperator":"IN","AttributeValueList":[{"N":"60"},{"N":"15"}]},"t":{"ComparisonOperator":"NOT_NULL"}},"ConditionalOperator":"OR","Select":"COUNT"}"#,
    );
    assert_eq!(reply, r#"{"Count":2,"ScannedCount":6}"#);
    // Legacy AttributeUpdates DELETE without a value removes the attribute.
    ok(
        "UpdateItem",
        r#"{"TableName":"old","Key":{"pk":{"S":"p"},"sk":{"N":"1"}},"AttributeUpdates":{"t":{"Action":"DELETE"}}}"#,
    );
    let reply = ok(
        "GetItem",
        r#"{"TableName":"old","Key":{"pk":{"S":"p"},"sk":{"N":"1"}},"ConsistentRead":true}"#,
    );
    assert!(!reply.contains(r#""t""#), "{reply}");
    // Errors.
    let cases = [
        (
            "PutItem",
            r#"{"TableName":"old","Item":{"pk":{"S":"p"},"sk":{"N":"9"}},"Expected":{"a":{"Exists":true}}}"#,
            "One or more parameter values were invalid: Value must be provided when Exists is true for Attribute: a",
        ),
        (
            "UpdateItem",
            r#"{"TableName":"old","Key":{"pk":{"S":"p"},"sk":{"N":"1"}},"AttributeUpdates":{"a":{"Action":"PUT","Value":{"S":"x"}}},"UpdateExpression":"SET b = :v","ExpressionAttributeValues":{":v":{"S":"y"}}}"#,
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributeUpdates} Expression parameters: {UpdateExpression}",
        ),
        (
            "UpdateItem",
            r#"{"TableName":"old","Key":{"pk":{"S":"p"},"sk":{"N":"1"}},"AttributeUpdates":{"a":{"Action":"ADD","Value":{"S":"x"}}}}"#,
            "One or more parameter values were invalid: ADD action is not supported for the type S",
        ),
        (
            "Query",
            r#"{"TableName":"old","KeyConditions":{"pk":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"p"}]}},"KeyConditionExpression":"pk = :v","ExpressionAttributeValues":{":v":{"S":"p"}}}"#,
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {KeyConditions} Expression parameters: {KeyConditionExpression}",
        ),
        (
            "Query",
            r#"{"TableName":"old","KeyConditions":{"pk":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"p"}]}},"AttributesToGet":["c"],"FilterExpression":"c > :v","ExpressionAttributeValues":{":v":{"N":"1"}}}"#,
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {FilterExpression}",
        ),
        (
            "Scan",
            r#"{"TableName":"old","AttributesToGet":["c"],"FilterExpression":"c > :v","ExpressionAttributeValues":{":v":{"N":"1"}}}"#,
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {FilterExpression}",
        ),
        (
            "Query",
            r#"{"TableName":"old","KeyConditions":{"pk":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"p"}]}},"QueryFilter":{"c":{"ComparisonOperator":"NOT_NULL"}},"FilterExpression":"c > :v","ExpressionAttributeValues":{":v":{"N":"1"}}}"#,
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {QueryFilter} Expression parameters: {FilterExpression}",
        ),
    ];
    for (op, body, message) in cases {
        let (status, reply) = server.call(op, body);
        assert_eq!(status, 400, "{body}");
        assert_eq!(error_message(&reply), message, "{body}");
    }
}

/// A legacy condition's AttributeValueList is validated as DynamoDB does,
/// before any item is read (a ValidationException, never a failed check);
/// Expected takes {Value, ComparisonOperator}; legacy ADD appends to a list.
#[tokio::test]
async fn legacy_conditions_are_validated() {
    let server = Server::start("legacy-validation", 1);
    create_simple_table(&server.client(), "old", None).await;
    let invalid = "One or more parameter values were invalid: ";
    let expected_cases = [
        (
            r#"{"a":{"ComparisonOperator":"GT","AttributeValueList":[{"N":"1"},{"N":"2"}]}}"#,
            "Invalid number of argument(s) for the GT ComparisonOperator",
        ),
        (
            r#"{"a":{"ComparisonOperator":"GT","AttributeValueList":[{"BOOL":true}]}}"#,
            "ComparisonOperator GT is not valid for BOOL AttributeValue type",
        ),
        (
            r#"{"a":{"ComparisonOperator":"IN","AttributeValueList":[{"N":"1"},{"S":"2"}]}}"#,
            "AttributeValues inside AttributeValueList must be of same type",
        ),
        (
            r#"{"a":{"ComparisonOperator":"EQ","Exists":true,"Value":{"N":"1"}}}"#,
            "Exists and ComparisonOperator cannot be used together for Attribute: a",
        ),
        (
            r#"{"a":{"ComparisonOperator":"GT"}}"#,
            "Value or AttributeValueList must be used with ComparisonOperator: GT for Attribute: a",
        ),
        (
            r#"{"a":{"AttributeValueList":[{"N":"1"}]}}"#,
            "AttributeValueList can only be used with a ComparisonOperator for Attribute: a",
        ),
        (
            r#"{"a":{"ComparisonOperator":"NULL","Value":{"N":"1"}}}"#,
            "Invalid number of argument(s) for the NULL ComparisonOperator",
        ),
        (
            r#"{"a":{"ComparisonOperator":"BEGINS_WITH","Value":{"N":"1"}}}"#,
            "ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type",
        ),
        (
            r#"{"a":{"ComparisonOperator":"CONTAINS","Value":{"SS":["a"]}}}"#,
            "ComparisonOperator CONTAINS is not valid for SS AttributeValue type",
        ),
        (
            r#"{"a":{"ComparisonOperator":"EQ","Value":{"N":"1"},"AttributeValueList":[{"N":"1"}]}}"#,
            "Value and AttributeValueList cannot be used together for Attribute: a",
        ),
    ];
    // On a missing table too: the values are checked first.
    for table in ["old", "missing"] {
        for (expected, message) in expected_cases {
            let body = format!(
                r#"{{"TableName":"{table}","Item":{{"pk":{{"S":"e"}}}},"Expected":{expected}}}"#
            );
            let (status, reply) = server.call("PutItem", &body);
            assert_eq!(
                (status, error_message(&reply)),
                (400, format!("{invalid}{message}")),
                "{body}"
            );
        }
    }
    for (filter, message) in [
        (r#"{"a":{"ComparisonOperator":"BETWEEN","AttributeValueList":[{"L":[]},{"L":[]}]}}"#, format!("{invalid}ComparisonOperator BETWEEN is not valid for L AttributeValue type")),
        (r#"{"a":{"ComparisonOperator":"LT","AttributeValueList":[]}}"#, format!("{invalid}Invalid number of argument(s) for the LT ComparisonOperator")),
        (r#"{"a":{"ComparisonOperator":"BETWEEN","AttributeValueList":[{"N":"5"},{"N":"1"}]}}"#, "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound".to_string()),
    ] {
        let body = format!(r#"{{"TableName":"old","ScanFilter":{filter}}}"#);
        let (status, reply) = server.call("Scan", &body);
        assert_eq!((status, error_message(&reply)), (400, message), "{body}");
    }
    // {Value, ComparisonOperator} is a condition like any other.
    let put = |expected: &str| {
        server.call(
            "PutItem",
            &format!(r#"{{"TableName":"old","Item":{{"pk":{{"S":"e"}},"n":{{"N":"5"}}}},"Expected":{expected}}}"#),
        )
    };
    assert_eq!(put(r#"{"n":{"ComparisonOperator":"NULL"}}"#).0, 200);
    let (status, reply) = put(r#"{"n":{"ComparisonOperator":"GT","Value":{"N":"7"}}}"#);
    assert_eq!(
        (status, error_type(&reply).as_str()),
        (400, "ConditionalCheckFailedException")
    );
    assert_eq!(
        put(r#"{"n":{"ComparisonOperator":"GT","Value":{"N":"1"}}}"#).0,
        200
    );
    // AttributeUpdates ADD of a list appends (and creates it when absent).
    for v in ["a", "b"] {
        let (status, reply) = server.call(
            "UpdateItem",
            &format!(r#"{{"TableName":"old","Key":{{"pk":{{"S":"e"}}}},"AttributeUpdates":{{"l":{{"Action":"ADD","Value":{{"L":[{{"S":"{v}"}}]}}}}}},"ReturnValues":"UPDATED_NEW"}}"#),
        );
        assert_eq!(status, 200, "{reply}");
        if v == "b" {
            assert_eq!(reply, r#"{"Attributes":{"l":{"L":[{"S":"a"},{"S":"b"}]}}}"#);
        }
    }
    let (_, reply) = server.call(
        "UpdateItem",
        r#"{"TableName":"old","Key":{"pk":{"S":"e"}},"AttributeUpdates":{"l":{"Action":"DELETE","Value":{"S":"x"}}}}"#,
    );
    assert_eq!(
        error_message(&reply),
        format!("{invalid}DELETE action with value is not supported for the type S")
    );
}
