//! UpdateItem and conditional writes through the AWS SDK for Rust: update
//! expressions, ReturnValues, ConditionExpression on Put/Update/Delete with
//! ReturnValuesOnConditionCheckFailure, and expression validation errors
//! (which must leave the stored item unchanged).

mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use common::values::{n, s};
use common::{Server, create_simple_table, error_message, error_type};

#[tokio::test]
async fn update_expressions_and_return_values() {
    let server = Server::start("update", 2);
    let client = server.client();
    create_simple_table(&client, "docs", None).await;
    // Creates the item when absent.
    let out = client
        .update_item()
        .table_name("docs")
        .key("pk", s("a"))
        .update_expression("SET hits = if_not_exists(hits, :zero) + :one, tags = list_append(if_not_exists(tags, :empty), :t), profile = :p ADD seen :s")
        .expression_attribute_values(":zero", n("0"))
        .expression_attribute_values(":one", n("1"))
        .expression_attribute_values(":empty", AttributeValue::L(vec![]))
        .expression_attribute_values(":t", AttributeValue::L(vec![s("x")]))
        .expression_attribute_values(":p", AttributeValue::M(HashMap::from([("name".to_string(), s("Ann"))])))
        .expression_attribute_values(":s", AttributeValue::Ss(vec!["web".into()]))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .expect("update");
    let attrs = out.attributes().expect("ALL_NEW");
    assert_eq!(attrs.get("hits"), Some(&n("1")));
    assert_eq!(attrs.get("pk"), Some(&s("a")));
    // Nested SET, exact decimal arithmetic, UPDATED_OLD / UPDATED_NEW.
    let out = client
        .update_item()
        .table_name("docs")
        .key("pk", s("a"))
        .update_expression("SET profile.#n = :n, hits = hits + :d REMOVE tags[0]")
        .expression_attribute_names("#n", "name")
        .expression_attribute_values(":n", s("Bob"))
        .expression_attribute_values(":d", n("0.1"))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .expect("update");
    let attrs = out.attributes().expect("UPDATED_NEW");
    assert_eq!(attrs.get("hits"), Some(&n("1.1")));
    assert_eq!(
        attrs.get("profile"),
        Some(&AttributeValue::M(HashMap::from([(
            "name".to_string(),
            s("Bob")
        )])))
    );
    assert!(!attrs.contains_key("tags"), "{attrs:?}");
    let item = client
        .get_item()
        .table_name("docs")
        .key("pk", s("a"))
        .consistent_read(true)
        .send()
        .await
        .expect("get")
        .item
        .expect("item");
    assert_eq!(item.get("tags"), Some(&AttributeValue::L(vec![])));
    assert_eq!(
        item.get("seen"),
        Some(&AttributeValue::Ss(vec!["web".into()]))
    );
    // Key attributes cannot be updated; nothing changes.
    let (status, body) = server.call(
        "UpdateItem",
        r#"{"TableName":"docs","Key":{"pk":{"S":"a"}},"UpdateExpression":"SET pk = :v","ExpressionAttributeValues":{":v":{"S":"b"}}}"#,
    );
    assert_eq!(status, 400);
    assert_eq!(
        error_message(&body),
        "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"
    );
    // A runtime type error leaves the item as it was.
    let (status, body) = server.call(
        "UpdateItem",
        r#"{"TableName":"docs","Key":{"pk":{"S":"a"}},"UpdateExpression":"SET hits = :v, profile = profile + :v","ExpressionAttributeValues":{":v":{"N":"5"}}}"#,
    );
    assert_eq!(
        (status, error_message(&body).as_str()),
        (
            400,
            "An operand in the update expression has an incorrect data type"
        )
    );
    let again = client
        .get_item()
        .table_name("docs")
        .key("pk", s("a"))
        .consistent_read(true)
        .send()
        .await
        .expect("get")
        .item
        .expect("item");
    assert_eq!(again, item);
}

#[tokio::test]
async fn conditional_writes() {
    let server = Server::start("conditional", 2);
    let client = server.client();
    create_simple_table(&client, "acct", None).await;
    client
        .put_item()
        .table_name("acct")
        .item("pk", s("k"))
        .item("balance", n("10"))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .expect("first put");
    // Second create-only put fails, returning the old item on request.
    let err = client
        .put_item()
        .table_name("acct")
        .item("pk", s("k"))
        .condition_expression("attribute_not_exists(pk)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .expect_err("exists");
    let service = err.into_service_error();
    assert!(
        service.is_conditional_check_failed_exception(),
        "{service:?}"
    );
    let old = match service {
        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(e) => {
            e.item
        }
        _ => None,
    };
    assert_eq!(old.and_then(|i| i.get("balance").cloned()), Some(n("10")));
    // Optimistic update: only when the balance covers the debit.
    let debit = |amount: &'static str| {
        client
            .update_item()
            .table_name("acct")
            .key("pk", s("k"))
            .update_expression("SET balance = balance - :a")
            .condition_expression("balance >= :a")
            .expression_attribute_values(":a", n(amount))
            .send()
    };
    debit("7").await.expect("covered");
    assert!(debit("7").await.is_err(), "3 does not cover 7");
    // Conditional delete.
    let (status, body) = server.call(
        "DeleteItem",
        r#"{"TableName":"acct","Key":{"pk":{"S":"k"}},"ConditionExpression":"balance = :b","ExpressionAttributeValues":{":b":{"N":"4"}}}"#,
    );
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "ConditionalCheckFailedException")
    );
    client
        .delete_item()
        .table_name("acct")
        .key("pk", s("k"))
        .condition_expression("balance = :b")
        .expression_attribute_values(":b", n("3"))
        .send()
        .await
        .expect("delete");
}

#[tokio::test]
async fn expression_validation_errors() {
    let server = Server::start("exprerrors", 1);
    let client = server.client();
    create_simple_table(&client, "tab1", None).await;
    let cases = [
        (
            r#""ConditionExpression":"status = :v","ExpressionAttributeValues":{":v":{"S":"x"}}"#,
            "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status",
        ),
        (
            r#""ConditionExpression":"a = :v","ExpressionAttributeValues":{":v":{"S":"x"},":w":{"S":"y"}}"#,
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}",
        ),
        (
            r#""ConditionExpression":"a = :x","ExpressionAttributeValues":{":v":{"S":"x"}}"#,
            "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :x",
        ),
        (
            r#""ConditionExpression":"a = :v","ExpressionAttributeValues":{}"#,
            "ExpressionAttributeValues must not be empty",
        ),
        (
            r##""ExpressionAttributeNames":{"#a":"a"}"##,
            "ExpressionAttributeNames can only be specified when using expressions",
        ),
        (
            r#""ConditionExpression":"a = :v","Expected":{"a":{"Exists":false}},"ExpressionAttributeValues":{":v":{"S":"x"}}"#,
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}",
        ),
    ];
    for (extra, message) in cases {
        let body = format!(r#"{{"TableName":"tab1","Item":{{"pk":{{"S":"k"}}}},{extra}}}"#);
        let (status, reply) = server.call("PutItem", &body);
        assert_eq!(status, 400, "{body}");
        assert_eq!(error_type(&reply), "ValidationException", "{body}");
        assert_eq!(error_message(&reply), message, "{body}");
    }
    // None of them stored anything.
    let got = client
        .get_item()
        .table_name("tab1")
        .key("pk", s("k"))
        .send()
        .await
        .expect("get");
    assert!(got.item.is_none());
}

/// DynamoDB's UpdateItem semantics that DynamoDB Local does not share: a
/// remove-only update creates no item, UPDATED_OLD/UPDATED_NEW carry only
/// the updated paths; and appends past a list's end go in index order.
#[tokio::test]
async fn update_semantics_match_dynamodb() {
    let server = Server::start("update-semantics", 2);
    create_simple_table(&server.client(), "sem", None).await;
    let ok = |body: &str| {
        let (status, reply) = server.call("UpdateItem", body);
        assert_eq!(status, 200, "{body}: {reply}");
        reply
    };
    let get = |pk: &str| {
        let (status, reply) = server.call(
            "GetItem",
            &format!(
                r#"{{"TableName":"sem","Key":{{"pk":{{"S":"{pk}"}}}},"ConsistentRead":true}}"#
            ),
        );
        assert_eq!(status, 200, "{reply}");
        reply
    };
    // REMOVE / DELETE only, expression or legacy, on a missing item: success,
    // nothing returned, no item created (even for a nested path).
    for (pk, update) in [
        ("r1", r#""UpdateExpression":"REMOVE a.b, c""#),
        (
            "r2",
            r#""UpdateExpression":"DELETE s :s","ExpressionAttributeValues":{":s":{"SS":["x"]}}"#,
        ),
        ("r3", r#""AttributeUpdates":{"a":{"Action":"DELETE"}}"#),
    ] {
        let reply = ok(&format!(
            r#"{{"TableName":"sem","Key":{{"pk":{{"S":"{pk}"}}}},{update},"ReturnValues":"ALL_NEW"}}"#
        ));
        assert_eq!(reply, "{}", "{pk}");
        assert_eq!(get(pk), "{}", "{pk}");
    }
    // SET (or no update at all) still creates it.
    ok(r#"{"TableName":"sem","Key":{"pk":{"S":"r4"}}}"#);
    assert_eq!(get("r4"), r#"{"Item":{"pk":{"S":"r4"}}}"#);

    ok(
        r#"{"TableName":"sem","Key":{"pk":{"S":"u"}},"UpdateExpression":"SET a = :a, l = :l","ExpressionAttributeValues":{":a":{"M":{"b":{"N":"1"},"c":{"N":"2"}}},":l":{"L":[{"N":"0"},{"N":"1"}]}}}"#,
    );
    let reply = ok(
        r#"{"TableName":"sem","Key":{"pk":{"S":"u"}},"UpdateExpression":"SET a.b = :v","ExpressionAttributeValues":{":v":{"N":"5"}},"ReturnValues":"UPDATED_OLD"}"#,
    );
    assert_eq!(reply, r#"{"Attributes":{"a":{"M":{"b":{"N":"1"}}}}}"#);
    let reply = ok(
        r#"{"TableName":"sem","Key":{"pk":{"S":"u"}},"UpdateExpression":"SET a.b = :v, l[1] = :v","ExpressionAttributeValues":{":v":{"N":"6"}},"ReturnValues":"UPDATED_NEW"}"#,
    );
    assert_eq!(
        reply,
        r#"{"Attributes":{"a":{"M":{"b":{"N":"6"}}},"l":{"L":[{"N":"6"}]}}}"#
    );
    // Past the end: appended in index order, not in written order.
    ok(
        r#"{"TableName":"sem","Key":{"pk":{"S":"u"}},"UpdateExpression":"SET l[84] = :x, l[37] = :y","ExpressionAttributeValues":{":x":{"S":"x"},":y":{"S":"y"}}}"#,
    );
    assert!(
        get("u").contains(r#""l":{"L":[{"N":"0"},{"N":"6"},{"S":"y"},{"S":"x"}]}"#),
        "{}",
        get("u")
    );
    let reply = ok(
        r#"{"TableName":"sem","Key":{"pk":{"S":"u"}},"UpdateExpression":"REMOVE a.c, l[0]","ReturnValues":"UPDATED_OLD"}"#,
    );
    assert_eq!(
        reply,
        r#"{"Attributes":{"a":{"M":{"c":{"N":"2"}}},"l":{"L":[{"N":"0"}]}}}"#
    );
    // list_append may not nest inside a function.
    for update in [
        "SET l = list_append(list_append(l, :e), :e)",
        "SET l = if_not_exists(l, list_append(:e, :e))",
    ] {
        let (status, reply) = server.call(
            "UpdateItem",
            &format!(r#"{{"TableName":"sem","Key":{{"pk":{{"S":"u"}}}},"UpdateExpression":"{update}","ExpressionAttributeValues":{{":e":{{"L":[]}}}}}}"#),
        );
        assert_eq!(
            (status, error_message(&reply).as_str()),
            (
                400,
                "Invalid UpdateExpression: The function is not allowed to be used this way in an expression; function: list_append"
            ),
            "{update}"
        );
    }
    ok(
        r#"{"TableName":"sem","Key":{"pk":{"S":"u"}},"UpdateExpression":"SET l = list_append(if_not_exists(l, :e), :e)","ExpressionAttributeValues":{":e":{"L":[]}}}"#,
    );
}
