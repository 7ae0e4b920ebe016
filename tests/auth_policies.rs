//! Access policies through the real binary and the AWS SDK: actions,
//! resources, wildcards, Deny over Allow, dynamodb:LeadingKeys on
//! Put/Get/Query/BatchWrite/transactions, dynamodb:Attributes on
//! projections and updates, dynacore:Admin — and after every denial,
//! nothing changed.

mod common;

use std::collections::BTreeMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, Put, PutRequest, TransactWriteItem, WriteRequest};
use common::*;

const CREDENTIALS: &str = r#"
[[credentials]]
access_key_id = "AKIDTEST"
secret_access_key = "secret"

[[credentials]]
access_key_id = "READER"
secret_access_key = "r"
policy = '''{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":["dynamodb:Get*","dynamodb:Query","dynamodb:BatchGetItem"],
   "Resource":["arn:aws:dynamodb:*:*:table/Orders","arn:aws:dynamodb:*:*:table/Orders/index/*"]}]}'''

[[credentials]]
access_key_id = "WRITER"
secret_access_key = "w"
policy = '''{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"dynamodb:*","Resource":"*"},
  {"Effect":"Deny","Action":"dynamodb:Delete*","Resource":"arn:aws:dynamodb:us-east-1:000000000000:table/Orders"}]}'''

[[credentials]]
access_key_id = "AKIDALICE"
secret_access_key = "a"
user_name = "alice"
policy = '''{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:*:*:table/Tenants",
   "Condition":{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["${aws:username}"]}}}]}'''

[[credentials]]
access_key_id = "PUBLIC"
secret_access_key = "p"
policy = '''{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:UpdateItem"],"Resource":"*",
   "Condition":{"ForAllValues:StringEquals":{"dynamodb:Attributes":["pk","public"]},
                "StringEqualsIfExists":{"dynamodb:Select":"SPECIFIC_ATTRIBUTES"}}}]}'''
"#;

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

fn start() -> Server {
    let dir = fresh_data_dir("auth-policies-creds");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("credentials.toml");
    std::fs::write(&path, CREDENTIALS).expect("write");
    Server::start_with(
        "auth-policies",
        2,
        &["--credentials", path.to_str().expect("path")],
    )
}

fn denied<E: ProvideErrorMetadata>(result: Result<impl std::fmt::Debug, E>, what: &str) -> String {
    match result {
        Ok(v) => panic!("{what}: allowed ({v:?})"),
        Err(e) => {
            assert_eq!(
                e.code(),
                Some("AccessDeniedException"),
                "{what}: {:?}",
                e.message()
            );
            e.message().unwrap_or("").to_string()
        }
    }
}

/// Every item of `table` (read by the unrestricted key), for "nothing changed".
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

#[tokio::test]
async fn policy_matrix() {
    let server = start();
    let admin = server.client();
    create_simple_table(&admin, "Orders", None).await;
    create_simple_table(&admin, "Tenants", Some(("sk", "S"))).await;
    create_simple_table(&admin, "Other", None).await;
    admin
        .put_item()
        .table_name("Orders")
        .item("pk", s("o1"))
        .item("public", s("p"))
        .item("secret", s("x"))
        .send()
        .await
        .expect("seed");
    admin
        .put_item()
        .table_name("Tenants")
        .item("pk", s("alice"))
        .item("sk", s("1"))
        .send()
        .await
        .expect("seed");
    admin
        .put_item()
        .table_name("Tenants")
        .item("pk", s("bob"))
        .item("sk", s("1"))
        .send()
        .await
        .expect("seed");
    let orders = snapshot(&admin, "Orders").await;
    let tenants = snapshot(&admin, "Tenants").await;

    // Actions and resources with wildcards.
    let reader = client(&server, "READER", "r");
    reader
        .get_item()
        .table_name("Orders")
        .key("pk", s("o1"))
        .send()
        .await
        .expect("reader reads");
    reader
        .query()
        .table_name("Orders")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("o1"))
        .send()
        .await
        .expect("reader queries");
    let message = denied(
        reader
            .put_item()
            .table_name("Orders")
            .item("pk", s("o2"))
            .send()
            .await,
        "reader put",
    );
    assert_eq!(
        message,
        "User: arn:aws:iam::000000000000:user/READER is not authorized to perform: dynamodb:PutItem \
         on resource: arn:aws:dynamodb:us-east-1:000000000000:table/Orders because no identity-based \
         policy allows the dynamodb:PutItem action"
    );
    denied(
        reader
            .get_item()
            .table_name("Other")
            .key("pk", s("o1"))
            .send()
            .await,
        "reader other table",
    );
    denied(
        reader.scan().table_name("Orders").send().await,
        "reader scan",
    );
    denied(reader.list_tables().send().await, "reader list");

    // Deny wins over Allow.
    let writer = client(&server, "WRITER", "w");
    writer
        .put_item()
        .table_name("Other")
        .item("pk", s("w"))
        .send()
        .await
        .expect("writer puts");
    writer
        .delete_item()
        .table_name("Other")
        .key("pk", s("w"))
        .send()
        .await
        .expect("writer deletes elsewhere");
    let message = denied(
        writer
            .delete_item()
            .table_name("Orders")
            .key("pk", s("o1"))
            .send()
            .await,
        "writer delete",
    );
    assert!(
        message.ends_with("with an explicit deny in an identity-based policy"),
        "{message}"
    );
    denied(
        writer.delete_table().table_name("Orders").send().await,
        "writer delete table",
    );
    assert_eq!(
        snapshot(&admin, "Orders").await,
        orders,
        "a denied delete changed Orders"
    );

    // LeadingKeys: alice may touch only her partition.
    let alice = client(&server, "AKIDALICE", "a");
    alice
        .put_item()
        .table_name("Tenants")
        .item("pk", s("alice"))
        .item("sk", s("2"))
        .send()
        .await
        .expect("own put");
    alice
        .get_item()
        .table_name("Tenants")
        .key("pk", s("alice"))
        .key("sk", s("1"))
        .send()
        .await
        .expect("own get");
    alice
        .query()
        .table_name("Tenants")
        .key_condition_expression("#p = :p AND sk > :s")
        .expression_attribute_names("#p", "pk")
        .expression_attribute_values(":p", s("alice"))
        .expression_attribute_values(":s", s("0"))
        .send()
        .await
        .expect("own query");
    let tenants_after_own = snapshot(&admin, "Tenants").await;
    assert_eq!(tenants_after_own.len(), tenants.len() + 1);
    let message = denied(
        alice
            .put_item()
            .table_name("Tenants")
            .item("pk", s("bob"))
            .item("sk", s("9"))
            .send()
            .await,
        "alice puts bob",
    );
    assert!(
        message.starts_with("User: arn:aws:iam::000000000000:user/alice "),
        "{message}"
    );
    denied(
        alice
            .get_item()
            .table_name("Tenants")
            .key("pk", s("bob"))
            .key("sk", s("1"))
            .send()
            .await,
        "alice gets bob",
    );
    denied(
        alice
            .query()
            .table_name("Tenants")
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("bob"))
            .send()
            .await,
        "alice queries bob",
    );
    let put = |pk: &str, sk: &str| {
        WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .item("pk", s(pk))
                    .item("sk", s(sk))
                    .build()
                    .expect("put"),
            )
            .build()
    };
    denied(
        alice
            .batch_write_item()
            .request_items("Tenants", vec![put("alice", "3"), put("bob", "3")])
            .send()
            .await,
        "alice batch with bob",
    );
    let tput = |pk: &str, sk: &str| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name("Tenants")
                    .item("pk", s(pk))
                    .item("sk", s(sk))
                    .build()
                    .expect("put"),
            )
            .build()
    };
    denied(
        alice
            .transact_write_items()
            .transact_items(tput("alice", "4"))
            .transact_items(tput("bob", "4"))
            .send()
            .await,
        "alice transaction with bob",
    );
    assert_eq!(
        snapshot(&admin, "Tenants").await,
        tenants_after_own,
        "a denied batch or transaction wrote something"
    );
    alice
        .batch_write_item()
        .request_items("Tenants", vec![put("alice", "5")])
        .send()
        .await
        .expect("own batch");
    alice
        .transact_write_items()
        .transact_items(tput("alice", "6"))
        .send()
        .await
        .expect("own transaction");
    denied(
        alice
            .put_item()
            .table_name("Orders")
            .item("pk", s("alice"))
            .send()
            .await,
        "alice other table",
    );

    // Attributes: projections and update targets.
    let public = client(&server, "PUBLIC", "p");
    let got = public
        .get_item()
        .table_name("Orders")
        .key("pk", s("o1"))
        .projection_expression("pk, #pub")
        .expression_attribute_names("#pub", "public")
        .send()
        .await
        .expect("projected get");
    assert!(got.item().is_some_and(|i| !i.contains_key("secret")));
    denied(
        public
            .get_item()
            .table_name("Orders")
            .key("pk", s("o1"))
            .projection_expression("secret")
            .send()
            .await,
        "secret projection",
    );
    denied(
        public
            .get_item()
            .table_name("Orders")
            .key("pk", s("o1"))
            .send()
            .await,
        "get without projection",
    );
    public
        .update_item()
        .table_name("Orders")
        .key("pk", s("o1"))
        .update_expression("SET #pub = :v")
        .expression_attribute_names("#pub", "public")
        .expression_attribute_values(":v", s("p2"))
        .send()
        .await
        .expect("public update");
    let before = snapshot(&admin, "Orders").await;
    denied(
        public
            .update_item()
            .table_name("Orders")
            .key("pk", s("o1"))
            .update_expression("SET #pub = :v, secret = :v")
            .expression_attribute_names("#pub", "public")
            .expression_attribute_values(":v", s("leak"))
            .send()
            .await,
        "secret update",
    );
    assert_eq!(
        snapshot(&admin, "Orders").await,
        before,
        "a denied update changed the item"
    );

    // dynacore:Admin on the data port: a key with a policy that does not
    // allow it is refused; the unrestricted key is served.
    let headers = signed_header_lines("READER", "r", "GET", "/dynacore/metrics", &[], b"");
    let request = format!("GET /dynacore/metrics HTTP/1.1\r\n{headers}Connection: close\r\n\r\n");
    let (status, _, body) = raw_http(server.port, request.as_bytes()).expect("metrics");
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "AccessDeniedException"),
        "{body}"
    );
    assert!(error_message(&body).contains("dynacore:Admin"), "{body}");
    let (status, _) = raw_get(server.port, "/dynacore/partition-map").expect("map");
    assert_eq!(status, 200);
}
