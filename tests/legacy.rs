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
            "One or more parameter values were invalid: ADD action is not supported for the type STRING",
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
