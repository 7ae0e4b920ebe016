//! Secondary index reads through the AWS SDK against the real binary with
//! two shards (index partitions and LSI base-item fetches are served on the
//! owning shard after forwarding).
//!
//! Multi-attribute GSI keys (up to 4 HASH + 4 RANGE), matched left to right.

mod common;

use aws_sdk_dynamodb::types::{AttributeValue, ComparisonOperator, Condition};
use common::Server;
use common::index_tables::create;
use common::values::{Item, assert_validation, n, names, num, s, set, text};
use common::wait::eventually;

const MATCHES: &str = r#"{
  "TableName": "matches",
  "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [
    {"AttributeName": "id", "AttributeType": "S"},
    {"AttributeName": "tournament", "AttributeType": "S"},
    {"AttributeName": "region", "AttributeType": "S"},
    {"AttributeName": "round", "AttributeType": "S"},
    {"AttributeName": "seq", "AttributeType": "N"}
  ],
  "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
  "GlobalSecondaryIndexes": [{
    "IndexName": "byBracket",
    "KeySchema": [
      {"AttributeName": "tournament", "KeyType": "HASH"},
      {"AttributeName": "region", "KeyType": "HASH"},
      {"AttributeName": "round", "KeyType": "RANGE"},
      {"AttributeName": "seq", "KeyType": "RANGE"}
    ],
    "Projection": {"ProjectionType": "ALL"}
  }]
}"#;

#[tokio::test]
async fn multi_attribute_gsi_query() {
    let server = Server::start("idxq-multi", 2);
    create(&server, MATCHES);
    let client = server.client();
    let rounds = ["final", "quarter", "semi"];
    let mut count = 0;
    for t in ["w24", "s25"] {
        for region in ["eu", "na"] {
            for (r, round) in rounds.iter().enumerate() {
                for seq in 0..(r as i64 + 2) {
                    client
                        .put_item()
                        .table_name("matches")
                        .item("id", s(&format!("{t}-{region}-{round}-{seq}")))
                        .item("tournament", s(t))
                        .item("region", s(region))
                        .item("round", s(round))
                        .item("seq", n(10 - seq))
                        .send()
                        .await
                        .expect("put");
                    count += 1;
                }
            }
        }
    }
    // A match without `region` is absent from the index (sparse).
    client
        .put_item()
        .table_name("matches")
        .item("id", s("loose"))
        .item("tournament", s("w24"))
        .item("round", s("final"))
        .item("seq", n(1))
        .send()
        .await
        .expect("put");
    assert_eq!(count, 36);
    let query = |cond: &str| {
        client
            .query()
            .table_name("matches")
            .index_name("byBracket")
            .key_condition_expression(cond)
            .expression_attribute_names("#r", "region")
            .expression_attribute_values(":t", s("w24"))
            .expression_attribute_values(":g", s("eu"))
    };
    let keys_of = |items: &[Item]| -> Vec<(String, i64)> {
        items
            .iter()
            .map(|i| (text(i, "round"), num(i, "seq")))
            .collect()
    };
    eventually("w24/eu indexed", || {
        let q = query("tournament = :t AND #r = :g");
        async move {
            let out = q.send().await.map_err(|e| format!("{e:?}"))?;
            (out.count() == 9)
                .then_some(())
                .ok_or(format!("{}", out.count()))
        }
    })
    .await;
    // Hash only: sorted by (round, seq).
    let out = query("tournament = :t AND #r = :g")
        .send()
        .await
        .expect("q");
    let mut want: Vec<(String, i64)> = Vec::new();
    for (r, round) in rounds.iter().enumerate() {
        let mut seqs: Vec<i64> = (0..(r as i64 + 2)).map(|q| 10 - q).collect();
        seqs.sort_unstable();
        want.extend(seqs.into_iter().map(|q| (round.to_string(), q)));
    }
    assert_eq!(keys_of(out.items()), want);
    // Equality on the first RANGE attribute, then a range on the second.
    let out = query("tournament = :t AND #r = :g AND round = :x AND seq < :q")
        .expression_attribute_values(":x", s("semi"))
        .expression_attribute_values(":q", n(9))
        .scan_index_forward(false)
        .send()
        .await
        .expect("q");
    assert_eq!(
        keys_of(out.items()),
        vec![("semi".to_string(), 8), ("semi".to_string(), 7)]
    );
    // A range condition on the first RANGE attribute alone.
    let out = query("tournament = :t AND #r = :g AND round > :x")
        .expression_attribute_values(":x", s("final"))
        .send()
        .await
        .expect("q");
    assert_eq!(out.count(), 7);
    let out = query("tournament = :t AND #r = :g AND begins_with(round, :x)")
        .expression_attribute_values(":x", s("s"))
        .send()
        .await
        .expect("q");
    assert_eq!(out.count(), 4);
    // Errors, in DynamoDB's words for multi-attribute keys: a missing
    // HASH attribute, a gap, a range before the last.
    assert_validation(
        client
            .query()
            .table_name("matches")
            .index_name("byBracket")
            .key_condition_expression("tournament = :t")
            .expression_attribute_values(":t", s("w24"))
            .send()
            .await,
        "HASH key attributes region must have equality conditions specified in the query",
    );
    assert_validation(
        query("tournament = :t AND #r = :g AND seq = :q")
            .expression_attribute_values(":q", n(9))
            .send()
            .await,
        "RANGE key attributes round must have equality conditions specified in the query because a condition is present on key attribute seq",
    );
    assert_validation(
        query("tournament = :t AND #r = :g AND round > :x AND seq = :q")
            .expression_attribute_values(":x", s("a"))
            .expression_attribute_values(":q", n(9))
            .send()
            .await,
        "RANGE key attributes round must have equality conditions specified in the query because a condition is present on key attribute seq",
    );
    // Legacy KeyConditions with all four key attributes.
    let eq = |v: AttributeValue| {
        Condition::builder()
            .comparison_operator(ComparisonOperator::Eq)
            .attribute_value_list(v)
            .build()
            .expect("condition")
    };
    let out = client
        .query()
        .table_name("matches")
        .index_name("byBracket")
        .key_conditions("tournament", eq(s("s25")))
        .key_conditions("region", eq(s("na")))
        .key_conditions("round", eq(s("quarter")))
        .key_conditions(
            "seq",
            Condition::builder()
                .comparison_operator(ComparisonOperator::Ge)
                .attribute_value_list(n(9))
                .build()
                .expect("condition"),
        )
        .send()
        .await
        .expect("legacy multi-attribute query");
    assert_eq!(
        keys_of(out.items()),
        vec![("quarter".to_string(), 9), ("quarter".to_string(), 10)]
    );
    // Paging keys carry every index key attribute.
    let out = query("tournament = :t AND #r = :g")
        .limit(2)
        .send()
        .await
        .expect("q");
    let key = out.last_evaluated_key().expect("more");
    assert_eq!(
        names(key),
        set(&["id", "tournament", "region", "round", "seq"])
    );
    let next = query("tournament = :t AND #r = :g")
        .set_exclusive_start_key(Some(key.clone()))
        .send()
        .await
        .expect("next page");
    assert_eq!(keys_of(next.items()), want[2..].to_vec());
}

/// DescribeTable lists a multi-attribute GSI's KeySchema as created, also
/// when a base key attribute is one of its RANGE (or HASH) attributes.
#[test]
fn multi_attribute_key_schema_is_described_in_order() {
    let server = common::Server::start("multi-attr-describe", 1);
    let (status, reply) = server.call(
        "CreateTable",
        r#"{"TableName":"mat","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"},{"AttributeName":"g","AttributeType":"S"},{"AttributeName":"x","AttributeType":"N"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST","GlobalSecondaryIndexes":[{"IndexName":"gix","KeySchema":[{"AttributeName":"g","KeyType":"HASH"},{"AttributeName":"x","KeyType":"RANGE"},{"AttributeName":"pk","KeyType":"RANGE"}],"Projection":{"ProjectionType":"ALL"}},{"IndexName":"gix3","KeySchema":[{"AttributeName":"sk","KeyType":"HASH"},{"AttributeName":"g","KeyType":"HASH"},{"AttributeName":"pk","KeyType":"RANGE"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}]}"#,
    );
    assert_eq!(status, 200, "{reply}");
    let (status, reply) = server.call("DescribeTable", r#"{"TableName":"mat"}"#);
    assert_eq!(status, 200, "{reply}");
    assert!(
        reply.contains(r#""IndexName":"gix","KeySchema":[{"AttributeName":"g","KeyType":"HASH"},{"AttributeName":"x","KeyType":"RANGE"},{"AttributeName":"pk","KeyType":"RANGE"}]"#),
        "{reply}"
    );
    assert!(
        reply.contains(r#""IndexName":"gix3","KeySchema":[{"AttributeName":"sk","KeyType":"HASH"},{"AttributeName":"g","KeyType":"HASH"},{"AttributeName":"pk","KeyType":"RANGE"}]"#),
        "{reply}"
    );
    // Key condition errors for multi-attribute keys, in DynamoDB's words.
    let (_, reply) = server.call(
        "Query",
        r#"{"TableName":"mat","IndexName":"gix3","KeyConditionExpression":"g = :g","ExpressionAttributeValues":{":g":{"S":"a"}}}"#,
    );
    assert_eq!(
        common::error_message(&reply),
        "HASH key attributes sk must have equality conditions specified in the query"
    );
    let (_, reply) = server.call(
        "Query",
        r#"{"TableName":"mat","IndexName":"gix","KeyConditionExpression":"g = :g AND pk = :p","ExpressionAttributeValues":{":g":{"S":"a"},":p":{"S":"a"}}}"#,
    );
    assert_eq!(
        common::error_message(&reply),
        "RANGE key attributes x must have equality conditions specified in the query because a condition is present on key attribute pk"
    );
}
