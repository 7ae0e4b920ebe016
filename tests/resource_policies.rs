//! Resource-based policies through the real binary and the AWS SDK:
//! PutResourcePolicy / GetResourcePolicy / DeleteResourcePolicy and
//! CreateTable's ResourcePolicy (revisions, ExpectedRevisionId and
//! NO_POLICY, the self-lockout check, DynamoDB's refusals), and their
//! evaluation with each key's identity policy (a resource Allow grants, a
//! resource Deny beats an identity Allow and applies to keys without a
//! policy) — after every denial, nothing changed; a policy survives a
//! restart and goes with its table.

mod common;

use std::collections::BTreeMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, StreamViewType, WriteRequest,
};
use common::streams::{create_streamed_table, streams_client};
use common::*;

const CREDENTIALS: &str = r#"
[[credentials]]
access_key_id = "AKIDTEST"
secret_access_key = "secret"

[[credentials]]
access_key_id = "NOGET"
secret_access_key = "n"
policy = '''{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"dynamodb:DescribeTable","Resource":"*"}]}'''

[[credentials]]
access_key_id = "WRITER"
secret_access_key = "w"
policy = '''{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}]}'''
"#;

const ARN: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/";

fn client(server: &Server, key: &str, secret: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(server.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .build();
    Client::from_conf(config)
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn start(name: &str) -> Server {
    let dir = fresh_data_dir(&format!("{name}-creds"));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("credentials.toml");
    std::fs::write(&path, CREDENTIALS).expect("write");
    Server::start_with(name, 2, &["--credentials", path.to_str().expect("path")])
}

/// The error code and message of a refused request.
fn refused<E: ProvideErrorMetadata>(
    result: Result<impl std::fmt::Debug, E>,
    what: &str,
) -> (String, String) {
    match result {
        Ok(v) => panic!("{what}: accepted ({v:?})"),
        Err(e) => (
            e.code().unwrap_or("").to_string(),
            e.message().unwrap_or("").to_string(),
        ),
    }
}

fn denied<E: ProvideErrorMetadata>(result: Result<impl std::fmt::Debug, E>, what: &str) -> String {
    let (code, message) = refused(result, what);
    assert_eq!(code, "AccessDeniedException", "{what}: {message}");
    message
}

async fn snapshot(admin: &Client, table: &str) -> Vec<BTreeMap<String, AttributeValue>> {
    let mut items: Vec<BTreeMap<String, AttributeValue>> = admin
        .scan()
        .table_name(table)
        .consistent_read(true)
        .send()
        .await
        .expect("scan")
        .items()
        .iter()
        .map(|i| i.clone().into_iter().collect())
        .collect();
    items.sort_by_key(|i| format!("{i:?}"));
    items
}

async fn put_policy(admin: &Client, arn: &str, policy: &str) -> String {
    admin
        .put_resource_policy()
        .resource_arn(arn)
        .policy(policy)
        .send()
        .await
        .expect("put policy")
        .revision_id()
        .expect("a revision")
        .to_string()
}

fn user(key: &str) -> String {
    format!("arn:aws:iam::000000000000:user/{key}")
}

#[tokio::test]
async fn put_get_delete_with_revisions() {
    let server = start("rbp-round-trip");
    let admin = server.client();
    create_simple_table(&admin, "Tbl", None).await;
    let arn = format!("{ARN}Tbl");

    let (code, message) = refused(
        admin.get_resource_policy().resource_arn(&arn).send().await,
        "get without a policy",
    );
    assert_eq!(code, "PolicyNotFoundException");
    assert_eq!(
        message,
        format!("Resource-based policy not found for the provided ResourceArn: {arn}")
    );
    // Deleting where nothing is attached is no error.
    let out = admin
        .delete_resource_policy()
        .resource_arn(&arn)
        .send()
        .await
        .expect("delete nothing");
    assert_eq!(out.revision_id(), None);

    // Written as DynamoDB returns it (canonical form): read back as is.
    let p1 = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"read","Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"dynamodb:GetItem","Resource":"{arn}"}}]}}"#,
        user("NOGET")
    );
    let rev1 = admin
        .put_resource_policy()
        .resource_arn(&arn)
        .policy(&p1)
        .expected_revision_id("NO_POLICY")
        .send()
        .await
        .expect("put with NO_POLICY")
        .revision_id()
        .expect("revision")
        .to_string();
    let got = admin
        .get_resource_policy()
        .resource_arn(&arn)
        .send()
        .await
        .expect("get");
    assert_eq!(got.policy(), Some(p1.as_str()));
    assert_eq!(got.revision_id(), Some(rev1.as_str()));

    // The same policy spelled otherwise is the same policy: same revision.
    let spelled = format!(
        r#"{{ "Statement": {{ "Resource": ["{arn}"], "Action": ["dynamodb:GetItem"],
             "Principal": {{"AWS": ["{}"]}}, "Effect": "allow", "Sid": "read" }},
           "Version": "2012-10-17" }}"#,
        user("NOGET")
    );
    assert_eq!(put_policy(&admin, &arn, &spelled).await, rev1);

    let (code, message) = refused(
        admin
            .put_resource_policy()
            .resource_arn(&arn)
            .policy(&p1)
            .expected_revision_id("NO_POLICY")
            .send()
            .await,
        "NO_POLICY with a policy",
    );
    assert_eq!(code, "PolicyNotFoundException");
    assert_eq!(
        message,
        format!(
            "Resource-based policy not found for the provided ResourceArn: Requested policy update expecting none to be present for table Tbl, but a policy exists with revision id {rev1}."
        )
    );
    let p2 = p1.replace("dynamodb:GetItem", "dynamodb:Query");
    let (code, message) = refused(
        admin
            .put_resource_policy()
            .resource_arn(&arn)
            .policy(&p2)
            .expected_revision_id("1")
            .send()
            .await,
        "wrong ExpectedRevisionId",
    );
    assert_eq!(code, "PolicyNotFoundException");
    assert_eq!(
        message,
        format!(
            "Resource-based policy not found for the provided ResourceArn: Requested update for policy with revision id 1, but the policy associated to target table Tbl has revision id {rev1}."
        )
    );
    let rev2 = admin
        .put_resource_policy()
        .resource_arn(&arn)
        .policy(&p2)
        .expected_revision_id(&rev1)
        .send()
        .await
        .expect("put with the current revision")
        .revision_id()
        .expect("revision")
        .to_string();
    assert!(rev2 > rev1, "{rev2} after {rev1}");

    let (code, _) = refused(
        admin
            .delete_resource_policy()
            .resource_arn(&arn)
            .expected_revision_id(&rev1)
            .send()
            .await,
        "delete a former revision",
    );
    assert_eq!(code, "PolicyNotFoundException");
    assert_eq!(
        admin
            .get_resource_policy()
            .resource_arn(&arn)
            .send()
            .await
            .expect("still there")
            .policy(),
        Some(p2.as_str())
    );
    let out = admin
        .delete_resource_policy()
        .resource_arn(&arn)
        .expected_revision_id(&rev2)
        .send()
        .await
        .expect("delete");
    assert_eq!(out.revision_id(), Some(rev2.as_str()));
    let (code, _) = refused(
        admin.get_resource_policy().resource_arn(&arn).send().await,
        "get after delete",
    );
    assert_eq!(code, "PolicyNotFoundException");

    // DescribeTable does not show a policy.
    put_policy(&admin, &arn, &p1).await;
    let (status, body) = server.call("DescribeTable", r#"{"TableName":"Tbl"}"#);
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("Statement"), "{body}");
}

#[tokio::test]
async fn evaluated_with_identity_policies() {
    let server = start("rbp-evaluate");
    let admin = server.client();
    create_simple_table(&admin, "Orders", None).await;
    let arn = format!("{ARN}Orders");
    for pk in ["a", "b"] {
        admin
            .put_item()
            .table_name("Orders")
            .item("pk", s(pk))
            .item("v", s("1"))
            .send()
            .await
            .expect("seed");
    }
    let before = snapshot(&admin, "Orders").await;
    let noget = client(&server, "NOGET", "n");
    let writer = client(&server, "WRITER", "w");

    // No identity Allow and no resource policy: implicitly denied.
    let message = denied(
        noget
            .get_item()
            .table_name("Orders")
            .key("pk", s("a"))
            .send()
            .await,
        "get before",
    );
    assert!(
        message.ends_with("because no identity-based policy allows the dynamodb:GetItem action"),
        "{message}"
    );

    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
          {{"Sid":"grant","Effect":"Allow","Principal":{{"AWS":"{noget}"}},"Action":"dynamodb:GetItem","Resource":"{arn}"}},
          {{"Sid":"everyone","Effect":"Allow","Principal":"*","Action":"dynamodb:Query","Resource":["{arn}","{arn}/index/*"],
            "Condition":{{"StringEquals":{{"aws:PrincipalAccount":"000000000000"}}}}}},
          {{"Sid":"account","Effect":"Allow","Principal":{{"AWS":"000000000000"}},"Action":"dynamodb:Scan","Resource":"{arn}"}},
          {{"Sid":"nowriter","Effect":"Deny","Principal":{{"AWS":"{writer}"}},"Action":["dynamodb:PutItem","dynamodb:BatchWriteItem"],"Resource":"{arn}"}},
          {{"Sid":"nodelete","Effect":"Deny","Principal":"*","Action":"dynamodb:DeleteItem","Resource":"{arn}"}}]}}"#,
        noget = user("NOGET"),
        writer = user("WRITER"),
    );
    put_policy(&admin, &arn, &policy).await;

    // The resource policy names NOGET: GetItem is allowed, PutItem not.
    let got = noget
        .get_item()
        .table_name("Orders")
        .key("pk", s("a"))
        .send()
        .await
        .expect("granted by the resource policy");
    assert!(got.item().is_some());
    denied(
        noget
            .put_item()
            .table_name("Orders")
            .item("pk", s("n"))
            .send()
            .await,
        "noget put",
    );
    // A wildcard principal (conditioned) grants Query.
    noget
        .query()
        .table_name("Orders")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("a"))
        .send()
        .await
        .expect("granted to everyone in the account");
    // An Allow to the account delegates to identity policies: no Scan.
    denied(
        noget.scan().table_name("Orders").send().await,
        "account principal",
    );

    // A resource-policy Deny beats WRITER's identity Allow, item by item.
    let message = denied(
        writer
            .put_item()
            .table_name("Orders")
            .item("pk", s("a"))
            .item("v", s("overwritten"))
            .send()
            .await,
        "writer put",
    );
    assert_eq!(
        message,
        format!(
            "User: {} is not authorized to perform: dynamodb:PutItem on resource: {arn} with an explicit deny in a resource-based policy",
            user("WRITER")
        )
    );
    denied(
        writer
            .batch_write_item()
            .request_items(
                "Orders",
                vec![
                    WriteRequest::builder()
                        .put_request(
                            aws_sdk_dynamodb::types::PutRequest::builder()
                                .item("pk", s("c"))
                                .build()
                                .expect("put"),
                        )
                        .build(),
                ],
            )
            .send()
            .await,
        "writer batch",
    );
    writer
        .update_item()
        .table_name("Orders")
        .key("pk", s("b"))
        .update_expression("SET w = :w")
        .expression_attribute_values(":w", s("x"))
        .send()
        .await
        .expect("updates are not denied");
    // The wildcard Deny applies to a key without any identity policy.
    let message = denied(
        admin
            .delete_item()
            .table_name("Orders")
            .key("pk", s("a"))
            .send()
            .await,
        "admin delete",
    );
    assert!(
        message.ends_with("with an explicit deny in a resource-based policy"),
        "{message}"
    );
    let mut after = snapshot(&admin, "Orders").await;
    for item in &mut after {
        item.remove("w");
    }
    assert_eq!(after, before, "denied writes changed nothing");

    // An Allow to everyone without a condition is refused.
    let open = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"dynamodb:*","Resource":"{arn}"}}]}}"#
    );
    let (code, message) = refused(
        admin
            .put_resource_policy()
            .resource_arn(&arn)
            .policy(open)
            .send()
            .await,
        "unbounded",
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "Resource-based policy grants unbounded access in one or more elements. Please revise the policy to ensure least-privilege form of access"
    );

    // Self-lockout: a policy that denies the caller PutResourcePolicy
    // needs ConfirmRemoveSelfResourceAccess.
    let lockout = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"dynamodb:PutResourcePolicy","Resource":"{arn}"}}]}}"#
    );
    let message = denied(
        admin
            .put_resource_policy()
            .resource_arn(&arn)
            .policy(&lockout)
            .send()
            .await,
        "lockout",
    );
    assert_eq!(
        message,
        "The new resource policy will not allow you to update the resource policy in the future."
    );
    admin
        .put_resource_policy()
        .resource_arn(&arn)
        .policy(&lockout)
        .confirm_remove_self_resource_access(true)
        .send()
        .await
        .expect("confirmed");
    denied(
        admin
            .put_resource_policy()
            .resource_arn(&arn)
            .policy(&policy)
            .send()
            .await,
        "locked out",
    );
    // The lockout was asked for: DeleteItem is no longer denied.
    admin
        .delete_item()
        .table_name("Orders")
        .key("pk", s("a"))
        .send()
        .await
        .expect("delete allowed again");
}

/// CreateTable with a ResourcePolicy; false if refused (ValidationException).
async fn create_with_policy(admin: &Client, name: &str, policy: &str) -> bool {
    let result = admin
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attr"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .resource_policy(policy)
        .send()
        .await;
    match result {
        Ok(_) => true,
        Err(e) => {
            assert_eq!(e.code(), Some("ValidationException"), "{:?}", e.message());
            false
        }
    }
}

#[tokio::test]
async fn create_table_policy_survives_restart_and_goes_with_the_table() {
    let mut server = start("rbp-create");
    let admin = server.client();
    let arn = format!("{ARN}Made");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"dynamodb:GetItem","Resource":"{arn}"}}]}}"#,
        user("NOGET")
    );
    assert!(
        !create_with_policy(&admin, "Bad", "{not json").await,
        "bad policy refused"
    );
    let (code, _) = refused(
        admin.describe_table().table_name("Bad").send().await,
        "not created",
    );
    assert_eq!(code, "ResourceNotFoundException");
    assert!(create_with_policy(&admin, "Made", &policy).await);
    let revision = admin
        .get_resource_policy()
        .resource_arn(&arn)
        .send()
        .await
        .expect("attached at creation")
        .revision_id()
        .expect("revision")
        .to_string();

    server.restart();
    let admin = server.client();
    let got = admin
        .get_resource_policy()
        .resource_arn(&arn)
        .send()
        .await
        .expect("after restart");
    assert_eq!(got.policy(), Some(policy.as_str()));
    assert_eq!(got.revision_id(), Some(revision.as_str()));
    let noget = client(&server, "NOGET", "n");
    // Wait for the table to be ACTIVE (the state ends by itself).
    assert!(
        wait_until(std::time::Duration::from_secs(60), || {
            let (status, body) = server.call("DescribeTable", r#"{"TableName":"Made"}"#);
            status == 200 && body.contains("\"ACTIVE\"")
        }),
        "table becomes ACTIVE"
    );
    noget
        .get_item()
        .table_name("Made")
        .key("pk", s("x"))
        .send()
        .await
        .expect("still granted after restart");

    admin
        .delete_table()
        .table_name("Made")
        .send()
        .await
        .expect("delete table");
    assert!(
        wait_until(std::time::Duration::from_secs(60), || {
            server.call("DescribeTable", r#"{"TableName":"Made"}"#).0 == 400
        }),
        "table goes"
    );
    let (code, message) = refused(
        admin.get_resource_policy().resource_arn(&arn).send().await,
        "policy of a deleted table",
    );
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(
        message,
        "Requested resource not found: Table: Made not found"
    );
    create_simple_table(&admin, "Made", None).await;
    let (code, _) = refused(
        admin.get_resource_policy().resource_arn(&arn).send().await,
        "a new table of the same name",
    );
    assert_eq!(code, "PolicyNotFoundException");
}

#[tokio::test]
async fn refusals() {
    let server = start("rbp-refusals");
    let admin = server.client();
    create_simple_table(&admin, "Tbl", None).await;
    let arn = format!("{ARN}Tbl");
    let statement = |extra: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"dynamodb:GetItem"{extra}}}]}}"#
        )
    };
    let big = format!("{}{}", statement(r#","Resource":"*""#), " ".repeat(20_480));
    let dup = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"x","Effect":"Deny","Principal":"*","Action":"dynamodb:GetItem","Resource":"*"},
        {"Sid":"x","Effect":"Deny","Principal":"*","Action":"dynamodb:Query","Resource":"*"}]}"#;
    let cases: Vec<(String, &str)> = vec![
        (
            "{not json".into(),
            "One or more parameter values were invalid: Invalid policy document: This policy contains invalid Json",
        ),
        (
            big,
            "One or more parameter values were invalid: Maximum policy size of 20480 bytes exceeded",
        ),
        (
            statement(""),
            "One or more parameter values were invalid: Invalid policy document: Missing required field Resource",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[]}"#.into(),
            "One or more parameter values were invalid: Invalid policy document: Could not parse the policy: Statement is empty!",
        ),
        (
            dup.into(),
            "One or more parameter values were invalid: Invalid policy document: The Statement Ids in the policy are not unique",
        ),
        (
            statement(r#","Resource":"*""#)
                .replace(r#""Principal":"*""#, r#""Principal":{"AWS":"bob"}"#),
            "One or more parameter values were invalid: Invalid principal in policy document.",
        ),
    ];
    for (policy, want) in cases {
        let (code, message) = refused(
            admin
                .put_resource_policy()
                .resource_arn(&arn)
                .policy(&policy)
                .send()
                .await,
            &policy,
        );
        assert_eq!(code, "ValidationException", "{policy}");
        assert_eq!(message, want, "{policy}");
    }
    let (code, _) = refused(
        admin.get_resource_policy().resource_arn(&arn).send().await,
        "nothing attached by a refusal",
    );
    assert_eq!(code, "PolicyNotFoundException");

    let good = statement(r#","Resource":"*""#);
    let arns: [(String, &str, String); 5] = [
        (
            format!("{ARN}Nope"),
            "ResourceNotFoundException",
            "Requested resource not found: Table: Nope not found".into(),
        ),
        (
            "Tbl".into(),
            "ValidationException",
            "One or more parameter values were invalid: ARNs must start with 'arn:': Tbl".into(),
        ),
        (
            format!("{arn}/index/I"),
            "ValidationException",
            format!(
                "One or more parameter values were invalid: Invalid resource arn provided, only table or stream is accepted. Provided resource arn: {arn}/index/I"
            ),
        ),
        (
            "arn:aws:dynamodb:us-east-1:111111111111:table/Tbl".into(),
            "ValidationException",
            "This action is only supported by accounts that match the resource owner\u{2019}s account."
                .into(),
        ),
        (
            "arn:aws:dynamodb:eu-west-1:000000000000:table/Tbl".into(),
            "ValidationException",
            "One or more parameter values were invalid: Invalid resource Arn: arn:aws:dynamodb:eu-west-1:000000000000:table/Tbl".into(),
        ),
    ];
    for (target, want_code, want) in &arns {
        let put = admin
            .put_resource_policy()
            .resource_arn(target)
            .policy(&good)
            .send()
            .await;
        let get = admin
            .get_resource_policy()
            .resource_arn(target)
            .send()
            .await;
        let delete = admin
            .delete_resource_policy()
            .resource_arn(target)
            .send()
            .await;
        for (what, (code, message)) in [
            ("put", refused(put, target)),
            ("get", refused(get, target)),
            ("delete", refused(delete, target)),
        ] {
            assert_eq!(&code, want_code, "{what} {target}");
            assert_eq!(&message, want, "{what} {target}");
        }
    }
}

#[tokio::test]
async fn stream_policies_and_the_change_interval() {
    // No credentials: the change interval does not need them.
    let server = start_with_config(
        "rbp-interval",
        1,
        "resource_policy_change_interval_ms = 600000\n",
    );
    let admin = server.client();
    let stream_arn = create_streamed_table(&admin, "Str", StreamViewType::KeysOnly).await;
    let arn = format!("{ARN}Str");
    let policy = |action: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"{action}","Resource":"*"}}]}}"#
        )
    };
    put_policy(&admin, &arn, &policy("dynamodb:DeleteItem")).await;
    // The same document again is a no-op, another is too soon.
    put_policy(&admin, &arn, &policy("dynamodb:DeleteItem")).await;
    let (code, message) = refused(
        admin
            .put_resource_policy()
            .resource_arn(&arn)
            .policy(policy("dynamodb:PutItem"))
            .send()
            .await,
        "too soon",
    );
    assert_eq!(code, "ThrottlingException");
    assert!(
        message.starts_with(
            "Resource-based policy for table Str modified within the previous 600000 milliseconds. Please try again after "
        ),
        "{message}"
    );
    // A stream is its own resource: its own policy, its own interval,
    // stream actions only in it, none of them in a table's.
    let (code, message) = refused(
        admin
            .put_resource_policy()
            .resource_arn(&arn)
            .policy(policy("dynamodb:GetRecords"))
            .send()
            .await,
        "stream action on a table",
    );
    assert_eq!(code, "ValidationException");
    assert!(message.contains("\"dynamodb:GetRecords\""), "{message}");
    put_policy(&admin, &stream_arn, &policy("dynamodb:GetRecords")).await;
    let got = admin
        .get_resource_policy()
        .resource_arn(&stream_arn)
        .send()
        .await
        .expect("stream policy");
    assert_eq!(got.policy(), Some(policy("dynamodb:GetRecords").as_str()));
    let table_policy = admin
        .get_resource_policy()
        .resource_arn(&arn)
        .send()
        .await
        .expect("table policy");
    assert_eq!(
        table_policy.policy(),
        Some(policy("dynamodb:DeleteItem").as_str())
    );
    let streams = streams_client(&server.endpoint());
    streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .expect("no credentials: policies are not evaluated");
}
