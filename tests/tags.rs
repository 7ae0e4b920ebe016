//! Tags through the real binary: TagResource, UntagResource,
//! ListTagsOfResource and CreateTable `Tags` with the AWS SDK, DynamoDB's
//! limits and messages through raw calls, and tags surviving a restart.

mod common;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, Tag,
};
use common::{Server, error_message, error_type};

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().expect("tag")
}

fn pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

const ARN: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/tagged";

#[tokio::test]
async fn tag_untag_list_and_restart() {
    let mut server = Server::start("tags", 2);
    let client = server.client();
    client
        .create_table()
        .table_name("tagged")
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
        .tags(tag("env", "test"))
        .tags(tag("team", ""))
        .send()
        .await
        .expect("create with tags");
    let arn = client
        .describe_table()
        .table_name("tagged")
        .send()
        .await
        .expect("describe")
        .table
        .and_then(|t| t.table_arn)
        .expect("arn");
    assert_eq!(arn, ARN);
    let listed = client
        .list_tags_of_resource()
        .resource_arn(&arn)
        .send()
        .await
        .expect("list");
    assert_eq!(
        pairs(listed.tags()),
        vec![("env".into(), "test".into()), ("team".into(), "".into())]
    );
    assert_eq!(listed.next_token(), None);

    client
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("env", "prod"))
        .tags(tag("Cost Center", "a+b=c.d_e:f/g-h"))
        .send()
        .await
        .expect("tag");
    client
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .tag_keys("never-set")
        .send()
        .await
        .expect("untag (absent keys ignored)");
    let expected = vec![
        ("env".to_string(), "prod".to_string()),
        ("Cost Center".to_string(), "a+b=c.d_e:f/g-h".to_string()),
    ];
    let listed = client
        .list_tags_of_resource()
        .resource_arn(&arn)
        .send()
        .await
        .expect("list");
    assert_eq!(pairs(listed.tags()), expected);

    // The catalog keeps them.
    server.restart();
    let client = server.client();
    let listed = client
        .list_tags_of_resource()
        .resource_arn(&arn)
        .send()
        .await
        .expect("list after restart");
    assert_eq!(pairs(listed.tags()), expected);
}

fn tags_json(n: usize, prefix: &str) -> String {
    let tags: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"Key":"{prefix}{i}","Value":"v"}}"#))
        .collect();
    format!("[{}]", tags.join(","))
}

#[test]
fn limits_and_messages() {
    let server = Server::start("tags-limits", 1);
    let (status, body) = server.call(
        "CreateTable",
        r#"{"TableName":"tagged","BillingMode":"PAY_PER_REQUEST",
            "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],
            "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let tag_call = |arn: &str, tags: &str| {
        server.call(
            "TagResource",
            &format!(r#"{{"ResourceArn":"{arn}","Tags":{tags}}}"#),
        )
    };
    let check = |(status, body): (u16, String), kind: &str, message: &str| {
        assert_eq!(status, 400, "{body}");
        assert_eq!(error_type(&body), kind, "{body}");
        assert_eq!(error_message(&body), message, "{body}");
    };
    // 50 tags, then one more.
    let (status, body) = tag_call(ARN, &tags_json(50, "k"));
    assert_eq!(status, 200, "{body}");
    assert!(body.is_empty(), "TagResource answers an empty body: {body}");
    check(
        tag_call(ARN, &tags_json(1, "more")),
        "ValidationException",
        "Number of Tags exceed the current limit for the provided ResourceArn",
    );
    // Re-setting existing keys stays within the limit.
    let (status, body) = tag_call(ARN, &tags_json(50, "k"));
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.call(
        "ListTagsOfResource",
        &format!(r#"{{"ResourceArn":"{ARN}"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.matches("\"Key\"").count(), 50, "{body}");
    assert!(!body.contains("NextToken"), "{body}");

    let key128 = "k".repeat(128);
    let (status, body) = server.call(
        "UntagResource",
        &format!(r#"{{"ResourceArn":"{ARN}","TagKeys":["k0","k1"]}}"#),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = tag_call(
        ARN,
        &format!(r#"[{{"Key":"{key128}","Value":"{}"}}]"#, "v".repeat(256)),
    );
    assert_eq!(
        status, 200,
        "128-character keys and 256-character values: {body}"
    );
    let key129 = "k".repeat(129);
    check(
        tag_call(ARN, &format!(r#"[{{"Key":"{key129}","Value":"v"}}]"#)),
        "ValidationException",
        &format!(
            "1 validation error detected: Value '{key129}' at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"
        ),
    );
    check(
        tag_call(ARN, r#"[{"Key":"hi!","Value":"v"}]"#),
        "ValidationException",
        "The Tag Key provided is invalid, Key: hi!",
    );
    check(
        tag_call(ARN, r#"[{"Key":"ok","Value":"d%g"}]"#),
        "ValidationException",
        "The Tag Value provided is invalid, Value: d%g",
    );
    check(
        tag_call(ARN, r#"[{"Key":"ok"}]"#),
        "ValidationException",
        "The Tag Value provided is invalid, Value: null",
    );
    check(
        tag_call(ARN, r#"[{"Key":"aws:owner","Value":"v"}]"#),
        "ValidationException",
        "Tag Key cannot be prefixed with aws:, Key: aws:owner",
    );
    check(
        tag_call(ARN, r#"[{"Key":"a","Value":"1"},{"Key":"a","Value":"2"}]"#),
        "ValidationException",
        "Duplicate Tag Keys provided as input: Duplicate Tag Key found a",
    );
    check(
        tag_call(ARN, "[]"),
        "ValidationException",
        "Atleast one Tag needs to be provided as Input.",
    );
    check(
        server.call("TagResource", &format!(r#"{{"ResourceArn":"{ARN}"}}"#)),
        "ValidationException",
        "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null",
    );
    check(
        server.call(
            "UntagResource",
            &format!(r#"{{"ResourceArn":"{ARN}","TagKeys":[]}}"#),
        ),
        "ValidationException",
        "Atleast one Tag Key needs to be provided as Input.",
    );

    // ARNs.
    check(
        server.call("ListTagsOfResource", "{}"),
        "ValidationException",
        "Invalid TableArn",
    );
    check(
        tag_call("I_do_not_exist", r#"[{"Key":"a","Value":"b"}]"#),
        "ValidationException",
        "One or more parameter values were invalid: ARNs must start with 'arn:': I_do_not_exist",
    );
    let s3 = "arn:aws:s3:::bucket";
    check(
        tag_call(s3, r#"[{"Key":"a","Value":"b"}]"#),
        "ValidationException",
        &format!(
            "One or more parameter values were invalid: Provided Arn is not a DynamoDB resource arn: {s3}"
        ),
    );
    let index = format!("{ARN}/index/gsi");
    check(
        tag_call(&index, r#"[{"Key":"a","Value":"b"}]"#),
        "ValidationException",
        &format!(
            "One or more parameter values were invalid: Invalid resource arn provided, only table or stream is accepted. Provided resource arn: {index}"
        ),
    );
    let other_region = "arn:aws:dynamodb:eu-west-1:000000000000:table/tagged";
    check(
        tag_call(other_region, r#"[{"Key":"a","Value":"b"}]"#),
        "ValidationException",
        &format!("Invalid TableArn: Invalid ResourceArn provided as input {other_region}"),
    );
    let missing = format!("{ARN}x");
    check(
        tag_call(&missing, r#"[{"Key":"a","Value":"b"}]"#),
        "ResourceNotFoundException",
        &format!("Requested resource not found: ResourcArn: {missing} not found"),
    );
    let foreign = "arn:aws:dynamodb:us-east-1:111122223333:table/tagged";
    let (status, body) = server.call(
        "ListTagsOfResource",
        &format!(r#"{{"ResourceArn":"{foreign}"}}"#),
    );
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "AccessDeniedException"),
        "{body}"
    );
    assert!(
        body.contains(&format!("\"Message\":\"User: arn:aws:iam::000000000000:user/dynacore is not authorized to perform: dynamodb:ListTagsOfResource on resource: {foreign}")),
        "{body}"
    );

    // CreateTable refuses more than 50 tags and creates nothing.
    let (status, body) = server.call(
        "CreateTable",
        &format!(
            r#"{{"TableName":"many","BillingMode":"PAY_PER_REQUEST",
            "AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}}],
            "KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}}],"Tags":{}}}"#,
            tags_json(51, "t")
        ),
    );
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "ValidationException"),
        "{body}"
    );
    let (_, body) = server.call("DescribeTable", r#"{"TableName":"many"}"#);
    assert_eq!(error_type(&body), "ResourceNotFoundException", "{body}");
}
