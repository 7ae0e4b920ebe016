//! Query, Scan and the batch operations through the AWS SDK for Rust on a
//! multi-shard server: key conditions on N and S sort keys in both
//! directions, Limit/ExclusiveStartKey paging, filters and projections,
//! Select COUNT, full-table and parallel scans that see every item exactly
//! once, BatchWriteItem/BatchGetItem fan-out across shards.

mod common;

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, PutRequest, Select, WriteRequest,
};
use common::values::{n, s};
use common::{Server, create_simple_table, error_message};

fn num(item: &HashMap<String, AttributeValue>, name: &str) -> i64 {
    match item.get(name) {
        Some(AttributeValue::N(text)) => text.parse().expect("integer"),
        other => panic!("{name}: {other:?}"),
    }
}

#[tokio::test]
async fn query_key_conditions_and_paging() {
    let server = Server::start("query", 2);
    let client = server.client();
    create_simple_table(&client, "events", Some(("ts", "N"))).await;
    for ts in -5..20 {
        client
            .put_item()
            .table_name("events")
            .item("pk", s("dev1"))
            .item("ts", n(ts))
            .item("odd", AttributeValue::Bool(ts % 2 != 0))
            .send()
            .await
            .expect("put");
    }
    client
        .put_item()
        .table_name("events")
        .item("pk", s("dev2"))
        .item("ts", n("0"))
        .send()
        .await
        .expect("put");
    let query = |cond: &'static str| {
        client
            .query()
            .table_name("events")
            .key_condition_expression(cond)
            .expression_attribute_values(":p", s("dev1"))
    };
    let ts_of = |items: &[HashMap<String, AttributeValue>]| {
        items.iter().map(|i| num(i, "ts")).collect::<Vec<_>>()
    };
    let out = query("pk = :p AND ts BETWEEN :a AND :b")
        .expression_attribute_values(":a", n("-2"))
        .expression_attribute_values(":b", n("2"))
        .send()
        .await
        .expect("query");
    assert_eq!(ts_of(out.items()), vec![-2, -1, 0, 1, 2]);
    let out = query("pk = :p AND ts < :a")
        .expression_attribute_values(":a", n("-3"))
        .scan_index_forward(false)
        .send()
        .await
        .expect("query");
    assert_eq!(ts_of(out.items()), vec![-4, -5]);
    let out = query("pk = :p AND ts >= :a")
        .expression_attribute_values(":a", n("18"))
        .send()
        .await
        .expect("query");
    assert_eq!(ts_of(out.items()), vec![18, 19]);
    // Paging with Limit, forward and backward, with a filter: Limit counts
    // evaluated items, Count only those that pass.
    for forward in [true, false] {
        let mut seen = Vec::new();
        let mut start = None;
        let mut pages = 0;
        loop {
            let out = query("pk = :p")
                .filter_expression("odd = :t")
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .limit(4)
                .scan_index_forward(forward)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .expect("page");
            assert!(out.scanned_count() <= 4);
            assert_eq!(out.count() as usize, out.items().len());
            seen.extend(ts_of(out.items()));
            pages += 1;
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => break,
            }
        }
        let mut expected: Vec<i64> = (-5..20).filter(|t: &i64| t % 2 != 0).collect();
        if !forward {
            expected.reverse();
        }
        assert_eq!(seen, expected);
        assert!(pages >= 7, "{pages}");
    }
    let out = query("pk = :p")
        .select(Select::Count)
        .send()
        .await
        .expect("count");
    assert_eq!((out.count(), out.items().len()), (25, 0));
    let out = query("pk = :p AND ts = :z")
        .expression_attribute_values(":z", n("3"))
        .projection_expression("odd")
        .send()
        .await
        .expect("projection");
    assert_eq!(
        out.items(),
        &[HashMap::from([(
            "odd".to_string(),
            AttributeValue::Bool(true)
        )])]
    );
    // DynamoDB's errors.
    let (status, body) = server.call(
        "Query",
        r#"{"TableName":"events","KeyConditionExpression":"ts = :t","ExpressionAttributeValues":{":t":{"N":"1"}}}"#,
    );
    assert_eq!(
        (status, error_message(&body).as_str()),
        (400, "Query condition missed key schema element: pk")
    );
    let (status, body) = server.call(
        "Query",
        r#"{"TableName":"events","KeyConditionExpression":"pk = :p","FilterExpression":"ts > :t","ExpressionAttributeValues":{":p":{"S":"dev1"},":t":{"N":"1"}}}"#,
    );
    assert_eq!(
        (status, error_message(&body).as_str()),
        (
            400,
            "Filter Expression can only contain non-primary key attributes: Primary key attribute: ts"
        )
    );
}

#[tokio::test]
async fn string_sort_keys_begins_with() {
    let server = Server::start("querys", 2);
    let client = server.client();
    create_simple_table(&client, "files", Some(("path", "S"))).await;
    for path in ["a/1", "a/2", "a/b/3", "ab", "b/1", "\u{e9}/x"] {
        client
            .put_item()
            .table_name("files")
            .item("pk", s("u"))
            .item("path", s(path))
            .send()
            .await
            .expect("put");
    }
    let out = client
        .query()
        .table_name("files")
        .key_condition_expression("pk = :u AND begins_with(#p, :pre)")
        .expression_attribute_names("#p", "path")
        .expression_attribute_values(":u", s("u"))
        .expression_attribute_values(":pre", s("a/"))
        .send()
        .await
        .expect("query");
    let paths: Vec<&str> = out
        .items()
        .iter()
        .map(|i| i["path"].as_s().expect("S").as_str())
        .collect();
    assert_eq!(paths, vec!["a/1", "a/2", "a/b/3"]);
    let out = client
        .query()
        .table_name("files")
        .key_condition_expression("pk = :u AND #p > :x")
        .expression_attribute_names("#p", "path")
        .expression_attribute_values(":u", s("u"))
        .expression_attribute_values(":x", s("b"))
        .send()
        .await
        .expect("query");
    let paths: Vec<&str> = out
        .items()
        .iter()
        .map(|i| i["path"].as_s().expect("S").as_str())
        .collect();
    // Bytewise UTF-8 order: "é" (0xC3 …) sorts after ASCII.
    assert_eq!(paths, vec!["b/1", "\u{e9}/x"]);
}

#[tokio::test]
async fn scans_and_batches_across_shards() {
    let server = Server::start("scan", 3);
    let client = server.client();
    create_simple_table(&client, "kvs", None).await;
    let total = 230;
    let ids: Vec<i64> = (0..total).collect();
    for chunk in ids.chunks(25) {
        let writes: Vec<WriteRequest> = chunk
            .iter()
            .map(|i| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .item("pk", s(&format!("k{i}")))
                            .item("n", n(i))
                            .build()
                            .expect("put"),
                    )
                    .build()
            })
            .collect();
        let out = client
            .batch_write_item()
            .request_items("kvs", writes)
            .send()
            .await
            .expect("batch");
        assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
    }
    // A paged full scan sees every item once.
    let scan_all = |segment: Option<(i32, i32)>| {
        let client = client.clone();
        async move {
            let mut seen = Vec::new();
            let mut start = None;
            loop {
                let mut request = client
                    .scan()
                    .table_name("kvs")
                    .limit(17)
                    .set_exclusive_start_key(start.take());
                if let Some((seg, of)) = segment {
                    request = request.segment(seg).total_segments(of);
                }
                let out = request.send().await.expect("scan");
                seen.extend(out.items().iter().map(|i| num(i, "n")));
                match out.last_evaluated_key {
                    Some(key) => start = Some(key),
                    None => break,
                }
            }
            seen
        }
    };
    let full = scan_all(None).await;
    assert_eq!(full.len(), total as usize);
    assert_eq!(
        full.iter().copied().collect::<BTreeSet<_>>().len(),
        total as usize
    );
    let mut parallel = Vec::new();
    for seg in 0..5 {
        parallel.extend(scan_all(Some((seg, 5))).await);
    }
    parallel.sort();
    assert_eq!(parallel, ids);
    // Filtered scan.
    let out = client
        .scan()
        .table_name("kvs")
        .filter_expression("n < :v")
        .expression_attribute_values(":v", n("10"))
        .send()
        .await
        .expect("scan");
    assert_eq!((out.count(), out.scanned_count()), (10, total as i32));
    // BatchGetItem over all shards, with a projection and a missing key.
    let mut keys = KeysAndAttributes::builder().projection_expression("n");
    for i in (0..90).chain([1000]) {
        keys = keys.keys(HashMap::from([("pk".to_string(), s(&format!("k{i}")))]));
    }
    let out = client
        .batch_get_item()
        .request_items("kvs", keys.build().expect("keys"))
        .send()
        .await
        .expect("batch get");
    let mut got: Vec<i64> = out.responses().expect("responses")["kvs"]
        .iter()
        .map(|i| num(i, "n"))
        .collect();
    got.sort();
    assert_eq!(got, (0..90).collect::<Vec<_>>());
    // BatchWriteItem deletes.
    let deletes: Vec<WriteRequest> = (0..25)
        .map(|i| {
            WriteRequest::builder()
                .delete_request(
                    aws_sdk_dynamodb::types::DeleteRequest::builder()
                        .key("pk", s(&format!("k{i}")))
                        .build()
                        .expect("delete"),
                )
                .build()
        })
        .collect();
    client
        .batch_write_item()
        .request_items("kvs", deletes)
        .send()
        .await
        .expect("deletes");
    let out = client
        .scan()
        .table_name("kvs")
        .select(Select::Count)
        .send()
        .await
        .expect("count");
    assert_eq!(out.count(), total as i32 - 25);
    let (status, body) = server.call(
        "Scan",
        r#"{"TableName":"kvs","Segment":3,"TotalSegments":3}"#,
    );
    assert_eq!(
        (status, error_message(&body).as_str()),
        (
            400,
            "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 3 is not less than TotalSegments: 3"
        )
    );
}

#[tokio::test]
async fn pages_stop_at_one_megabyte() {
    // 1.4 MB into one partition key is past DynamoDB's 1000 write units a
    // second for a key, throttled when the puts come fast: this test is
    // about pages, so the per-key limit is lifted.
    let server = common::start_with_config(
        "pages",
        2,
        "[capacity]\npartition_write_units_max = 1000000\n",
    );
    let client = server.client();
    create_simple_table(&client, "big", Some(("sk", "N"))).await;
    let blob = "x".repeat(100 * 1024);
    for i in 0..14 {
        client
            .put_item()
            .table_name("big")
            .item("pk", s("p"))
            .item("sk", n(i))
            .item("blob", s(&blob))
            .send()
            .await
            .expect("put");
    }
    // 100 KB items: the page that reaches 1 MB holds 11 of them.
    let query = client
        .query()
        .table_name("big")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .send()
        .await
        .expect("query");
    assert_eq!(query.scanned_count(), 11);
    assert!(query.last_evaluated_key().is_some());
    let scan = client.scan().table_name("big").send().await.expect("scan");
    assert_eq!(scan.scanned_count(), 11);
    let rest = client
        .scan()
        .table_name("big")
        .set_exclusive_start_key(scan.last_evaluated_key)
        .send()
        .await
        .expect("scan");
    assert_eq!(
        (rest.scanned_count(), rest.last_evaluated_key.is_none()),
        (3, true)
    );
}

/// ExclusiveStartKey must be a key of the table (same size, same names)
/// and, for a parallel scan, lie within the segment.
#[tokio::test]
async fn start_keys_are_checked() {
    let server = Server::start("startkeys", 2);
    common::create_simple_table(&server.client(), "hashonly", None).await;
    for i in 0..16 {
        let (status, _) = server.call(
            "PutItem",
            &format!(r#"{{"TableName":"hashonly","Item":{{"pk":{{"S":"k{i}"}}}}}}"#),
        );
        assert_eq!(status, 200);
    }
    let error = |op: &str, body: &str| {
        let (status, reply) = server.call(op, body);
        assert_eq!(status, 400, "{body}: {reply}");
        common::error_message(&reply)
    };
    let size = "Exclusive Start Key must have same size as table's key schema";
    assert_eq!(
        error(
            "Scan",
            r#"{"TableName":"hashonly","ExclusiveStartKey":{"pk":{"S":"k1"},"sk":{"N":"1"}}}"#
        ),
        size
    );
    assert_eq!(
        error(
            "Query",
            r#"{"TableName":"hashonly","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"k1"}},"ExclusiveStartKey":{"pk":{"S":"k1"},"sk":{"N":"1"}}}"#
        ),
        size
    );
    assert_eq!(
        error(
            "Scan",
            r#"{"TableName":"hashonly","ExclusiveStartKey":{"px":{"S":"k1"}}}"#
        ),
        "The provided starting key is invalid"
    );
    // Each item's key lies in exactly one of two segments: starting the
    // other segment's scan from it is refused.
    for i in 0..16 {
        let start = format!(r#""ExclusiveStartKey":{{"pk":{{"S":"k{i}"}}}}"#);
        let results: Vec<u16> = (0..2)
            .map(|segment| {
                server
                    .call(
                        "Scan",
                        &format!(r#"{{"TableName":"hashonly","Segment":{segment},"TotalSegments":2,{start}}}"#),
                    )
                    .0
            })
            .collect();
        assert!(
            results == [200, 400] || results == [400, 200],
            "k{i}: {results:?}"
        );
    }
    let (_, reply) = server.call(
        "Scan",
        r#"{"TableName":"hashonly","Segment":0,"TotalSegments":1000000,"ExclusiveStartKey":{"pk":{"S":"k1"}}}"#,
    );
    assert!(
        reply.contains("Exclusive start key must lie within the segment")
            || reply.contains("\"Items\""),
        "{reply}"
    );
}

/// Condition functions on literal values and parenthesized operands, as
/// DynamoDB parses and answers them.
#[tokio::test]
async fn condition_functions_and_parenthesized_operands() {
    let server = Server::start("condfns", 1);
    common::create_simple_table(&server.client(), "fns", None).await;
    let (status, _) = server.call(
        "PutItem",
        r#"{"TableName":"fns","Item":{"pk":{"S":"c1"},"b":{"S":"xy"},"c":{"L":[{"N":"1"},{"N":"2"}]},"a":{"N":"3"}}}"#,
    );
    assert_eq!(status, 200);
    let values = serde_json::json!({
        ":two": {"N": "2"}, ":three": {"N": "3"}, ":s": {"S": "xy"}, ":t": {"S": "S"},
        ":l": {"L": [{"N": "1"}, {"N": "2"}]}, ":n": {"N": "12"}, ":tn": {"S": "N"}, ":x": {"S": "x"}
    });
    let scan = |filter: &str| {
        let used: serde_json::Map<String, serde_json::Value> = values
            .as_object()
            .expect("map")
            .iter()
            .filter(|(k, _)| {
                filter
                    .split(|c: char| !(c.is_alphanumeric() || c == ':'))
                    .any(|w| w == k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut body = serde_json::json!({
            "TableName": "fns", "FilterExpression": filter, "Select": "COUNT"
        });
        if !used.is_empty() {
            body["ExpressionAttributeValues"] = serde_json::Value::Object(used);
        }
        server.call("Scan", &body.to_string())
    };
    for (filter, count) in [
        ("(size(b)) = :two", 1),
        ("size(:s) = :two", 1),
        ("size(:l) = :two", 1),
        ("attribute_type(:s, :t)", 1),
        ("attribute_type(:n, :tn)", 1),
        ("attribute_type(:n, :t)", 0),
        ("(b) = :s", 1),
        ("b = (:s)", 1),
        ("(a) IN ((:three), :two)", 1),
        ("(size(b)) BETWEEN :two AND :two", 1),
        ("contains(:s, :x)", 1),
        ("begins_with(:s, :x)", 1),
        ("(attribute_exists(a)) AND (b = :s)", 1),
    ] {
        let (status, reply) = scan(filter);
        assert_eq!(status, 200, "{filter}: {reply}");
        assert!(
            reply.starts_with(&format!(r#"{{"Count":{count},"#)),
            "{filter}: {reply}"
        );
    }
    for (filter, message) in [
        (
            "b.c = ((c[1]) + (b.a))",
            r#"Invalid FilterExpression: Syntax error; token: "+", near: ") + (""#,
        ),
        (
            "((b)) = :s",
            "Invalid FilterExpression: The expression has redundant parentheses;",
        ),
        (
            "attribute_type(b, a)",
            "Invalid FilterExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {B,SS,L,DICT,HDS,HD,DOUBLE,DECIMAL,INTSET,FLOAT,M,S,NS,INT,BOOL,NULL,DECIMALSET,DOUBLESET,BS,FS,N}",
        ),
        (
            "size(:n) = :two",
            "Invalid FilterExpression: Incorrect operand type for operator or function; operator or function: size, operand type: N",
        ),
    ] {
        let (status, reply) = scan(filter);
        assert_eq!(
            (status, common::error_message(&reply).as_str()),
            (400, message),
            "{filter}"
        );
    }
}
