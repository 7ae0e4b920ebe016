//! A TTL deletion publishes one REMOVE record that names the service as its
//! user (`userIdentity {Type: Service, PrincipalId: dynamodb.amazonaws.com}, as the Streams API spells it`),
//! with the old image; a client's DeleteItem publishes a REMOVE without one.
//! Through the real binary, the AWS SDK and its `dynamodbstreams` client.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{AttributeValue, StreamViewType};
use common::streams::{create_streamed_table, event, read_at_least, record_pk, streams_client};
use common::{Server, wait_until};

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ttl_deletion_publishes_a_remove_record_naming_the_service() {
    let server = Server::start("ttl-stream-records", 2);
    let client = server.client();
    let streams = streams_client(&server.endpoint());
    let arn = create_streamed_table(&client, "sessions", StreamViewType::NewAndOldImages).await;

    for (pk, exp) in [("expired", now() - 60), ("live", now() + 86_400)] {
        client
            .put_item()
            .table_name("sessions")
            .item("pk", s(pk))
            .item("exp", AttributeValue::N(exp.to_string()))
            .send()
            .await
            .expect("put");
    }
    client
        .put_item()
        .table_name("sessions")
        .item("pk", s("deleted-by-client"))
        .send()
        .await
        .expect("put");
    client
        .delete_item()
        .table_name("sessions")
        .key("pk", s("deleted-by-client"))
        .send()
        .await
        .expect("delete");

    let (status, body) = server.call(
        "UpdateTimeToLive",
        r#"{"TableName":"sessions","TimeToLiveSpecification":{"Enabled":true,"AttributeName":"exp"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let enabled = wait_until(Duration::from_secs(60), || {
        server
            .call("DescribeTimeToLive", r#"{"TableName":"sessions"}"#)
            .1
            .contains("\"ENABLED\"")
    });
    assert!(enabled, "TTL never ENABLED");

    // Three INSERTs, the client's REMOVE, then the expirer's REMOVE.
    let records = read_at_least(&streams, &arn, 5).await;
    let removes: Vec<_> = records
        .iter()
        .map(|(_, r)| r)
        .filter(|r| event(r) == "REMOVE")
        .collect();
    assert_eq!(
        removes.len(),
        2,
        "one REMOVE per deletion, none for the live item: {records:?}"
    );
    for record in removes {
        let identity = record.user_identity();
        match record_pk(record).as_str() {
            "expired" => {
                let identity = identity.expect("a TTL deletion names its user");
                assert_eq!(identity.r#type(), Some("Service"));
                assert_eq!(identity.principal_id(), Some("dynamodb.amazonaws.com"));
                let old = record
                    .dynamodb()
                    .and_then(|d| d.old_image())
                    .expect("the expired item's old image");
                assert!(old.contains_key("exp"));
            }
            "deleted-by-client" => assert!(identity.is_none(), "a client delete names no service"),
            other => panic!("unexpected REMOVE of {other}"),
        }
    }
    let live = client
        .get_item()
        .table_name("sessions")
        .key("pk", s("live"))
        .consistent_read(true)
        .send()
        .await
        .expect("get");
    assert!(live.item().is_some(), "a future TTL stays");
}
