//! TransactWriteItems and TransactGetItems through the AWS SDK for Rust on
//! 2 shards: every action kind, cancellation reasons (in request order,
//! with the old item when asked), capacity and item collection metrics,
//! index maintenance, DynamoDB's validation errors (which change nothing
//! and leave nothing locked), ClientRequestToken idempotency across a
//! restart, conflicts with concurrent single-item writes, and a seeded
//! randomized transfer workload whose total must never change in any
//! transactional read.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, Get, Put, ReturnConsumedCapacity, ReturnItemCollectionMetrics,
    ReturnValuesOnConditionCheckFailure, TransactGetItem, TransactWriteItem, Update,
};
use common::transfers::{Transfer, account, audit, open_accounts, transfer};
use common::values::{Item, failure, n, num, s};
use common::{Rng, Server, create_simple_table};

fn put(table: &str, item: Item) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .build()
                .expect("put"),
        )
        .build()
}

fn item(pairs: &[(&str, aws_sdk_dynamodb::types::AttributeValue)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

async fn get(client: &Client, table: &str, pk: &str) -> Option<Item> {
    client
        .get_item()
        .table_name(table)
        .key("pk", s(pk))
        .consistent_read(true)
        .send()
        .await
        .expect("get")
        .item()
        .cloned()
}

/// The codes of a TransactionCanceledException, and its reasons.
fn cancelled<R: std::fmt::Debug>(
    result: Result<R, aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>>,
) -> (String, Vec<aws_sdk_dynamodb::types::CancellationReason>) {
    let e = result.expect_err("the transaction must be cancelled");
    match e.into_service_error() {
        TransactWriteItemsError::TransactionCanceledException(c) => (
            c.message().unwrap_or("").to_string(),
            c.cancellation_reasons().to_vec(),
        ),
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    }
}

#[tokio::test]
async fn actions_reasons_and_capacity() {
    let server = Server::start("txn-actions", 2);
    let client = server.client();
    create_simple_table(&client, "items", None).await;
    // Ten items: with two shards, both own some (a cross-shard transaction).
    let mut request = client
        .transact_write_items()
        .return_consumed_capacity(ReturnConsumedCapacity::Total);
    for i in 0..10 {
        request = request.transact_items(put(
            "items",
            item(&[("pk", s(&format!("k{i}"))), ("v", n(i))]),
        ));
    }
    let out = request.send().await.expect("ten puts");
    let capacity = out.consumed_capacity();
    assert_eq!(capacity.len(), 1);
    // Transactional writes cost 2 units per KB.
    assert_eq!(capacity[0].capacity_units(), Some(20.0));
    for i in 0..10 {
        let got = get(&client, "items", &format!("k{i}")).await.expect("put");
        assert_eq!(num(&got, "v"), i);
    }

    // Update, Delete and ConditionCheck together, all conditions true.
    client
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name("items")
                        .key("pk", s("k1"))
                        .update_expression("SET v = v + :one, tag = :t")
                        .condition_expression("v = :v")
                        .expression_attribute_values(":one", n(1))
                        .expression_attribute_values(":t", s("x"))
                        .expression_attribute_values(":v", n(1))
                        .build()
                        .expect("update"),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name("items")
                        .key("pk", s("k2"))
                        .condition_expression("attribute_exists(pk)")
                        .build()
                        .expect("delete"),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .condition_check(
                    ConditionCheck::builder()
                        .table_name("items")
                        .key("pk", s("k3"))
                        .condition_expression("v = :three")
                        .expression_attribute_values(":three", n(3))
                        .build()
                        .expect("check"),
                )
                .build(),
        )
        .send()
        .await
        .expect("update, delete, check");
    let k1 = get(&client, "items", "k1").await.expect("k1");
    assert_eq!((num(&k1, "v"), k1.get("tag")), (2, Some(&s("x"))));
    assert!(get(&client, "items", "k2").await.is_none());

    // Failed conditions: reasons in request order, every failure reported,
    // the old item only where asked; nothing applied.
    let result = client
        .transact_write_items()
        .transact_items(put("items", item(&[("pk", s("k4")), ("v", n(40))])))
        .transact_items(
            TransactWriteItem::builder()
                .condition_check(
                    ConditionCheck::builder()
                        .table_name("items")
                        .key("pk", s("k5"))
                        .condition_expression("v = :no")
                        .expression_attribute_values(":no", n(99))
                        .return_values_on_condition_check_failure(
                            ReturnValuesOnConditionCheckFailure::AllOld,
                        )
                        .build()
                        .expect("check"),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name("items")
                        .key("pk", s("k2"))
                        .condition_expression("attribute_exists(pk)")
                        .build()
                        .expect("delete"),
                )
                .build(),
        )
        .send()
        .await;
    let (message, reasons) = cancelled(result);
    assert_eq!(
        message,
        "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, ConditionalCheckFailed]"
    );
    let codes: Vec<&str> = reasons.iter().map(|r| r.code().unwrap_or("")).collect();
    assert_eq!(
        codes,
        ["None", "ConditionalCheckFailed", "ConditionalCheckFailed"]
    );
    assert!(reasons[0].message().is_none());
    assert_eq!(reasons[1].message(), Some("The conditional request failed"));
    let old = reasons[1].item().expect("ALL_OLD returns the item");
    assert_eq!(old.get("v"), Some(&n(5)));
    assert!(reasons[2].item().is_none(), "not asked for");
    assert_eq!(num(&get(&client, "items", "k4").await.expect("k4"), "v"), 4);

    // A key that does not fit its table: ValidationError on that action.
    let result = client
        .transact_write_items()
        .transact_items(put("items", item(&[("pk", s("new6")), ("v", n(1))])))
        .transact_items(put("items", item(&[("pk", n(7))])))
        .send()
        .await;
    let (_, reasons) = cancelled(result);
    let codes: Vec<&str> = reasons.iter().map(|r| r.code().unwrap_or("")).collect();
    assert_eq!(codes, ["None", "ValidationError"]);
    assert!(
        reasons[1]
            .message()
            .unwrap_or("")
            .contains("Type mismatch for key pk"),
        "{reasons:?}"
    );
    // An update that fails on the stored item: ValidationError.
    let result = client
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name("items")
                        .key("pk", s("k1"))
                        .update_expression("SET tag = tag + :one")
                        .expression_attribute_values(":one", n(1))
                        .build()
                        .expect("update"),
                )
                .build(),
        )
        .send()
        .await;
    let (_, reasons) = cancelled(result);
    assert_eq!(reasons[0].code(), Some("ValidationError"), "{reasons:?}");
    assert_eq!(get(&client, "items", "new6").await, None);

    // TransactGetItems: order, projection, a missing item, capacity.
    let out = client
        .transact_get_items()
        .transact_items(get_item("items", "k9", Some("v")))
        .transact_items(get_item("items", "k2", None))
        .transact_items(get_item("items", "k1", None))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .expect("transact get");
    let responses = out.responses();
    assert_eq!(responses.len(), 3);
    let k9 = responses[0].item().expect("k9");
    assert_eq!(k9.len(), 1, "projected: {k9:?}");
    assert_eq!(num(k9, "v"), 9);
    assert!(responses[1].item().is_none());
    assert_eq!(responses[2].item().map(|i| num(i, "v")), Some(2));
    assert_eq!(out.consumed_capacity()[0].capacity_units(), Some(6.0));
}

fn get_item(table: &str, pk: &str, projection: Option<&str>) -> TransactGetItem {
    TransactGetItem::builder()
        .get(
            Get::builder()
                .table_name(table)
                .key("pk", s(pk))
                .set_projection_expression(projection.map(str::to_string))
                .build()
                .expect("get"),
        )
        .build()
}

#[tokio::test]
async fn indexes_are_maintained_and_collections_reported() {
    let server = Server::start("txn-indexes", 2);
    let client = server.client();
    common::index_tables::create(&server, common::index_tables::EVENTS);
    let (status, body) = server.call(
        "CreateTable",
        r#"{"TableName":"users","BillingMode":"PAY_PER_REQUEST",
            "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"email","AttributeType":"S"}],
            "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],
            "GlobalSecondaryIndexes":[{"IndexName":"byEmail","KeySchema":[{"AttributeName":"email","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let out = client
        .transact_write_items()
        .transact_items(put(
            "events",
            item(&[
                ("pk", s("p1")),
                ("sk", s("a")),
                ("n", n(5)),
                ("tag", s("t")),
            ]),
        ))
        .transact_items(put(
            "users",
            item(&[("pk", s("u1")), ("email", s("u1@example.com"))]),
        ))
        .transact_items(put(
            "users",
            item(&[("pk", s("u2")), ("email", s("u2@example.com"))]),
        ))
        .return_item_collection_metrics(ReturnItemCollectionMetrics::Size)
        .send()
        .await
        .expect("indexed puts");
    let metrics = out.item_collection_metrics().expect("metrics");
    let events = metrics.get("events").expect("the LSI table's collection");
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].item_collection_key().and_then(|k| k.get("pk")),
        Some(&s("p1"))
    );
    // The LSI entry is there at once (same batch).
    let lsi = client
        .query()
        .table_name("events")
        .index_name("byN")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p1"))
        .send()
        .await
        .expect("query LSI");
    assert_eq!(lsi.count(), 1);
    // The GSI entries arrive through the outbox.
    assert!(
        server
            .gsi_outboxes_drained(std::time::Duration::from_secs(20))
            .await
    );
    for user in ["u1", "u2"] {
        let gsi = client
            .query()
            .table_name("users")
            .index_name("byEmail")
            .key_condition_expression("email = :e")
            .expression_attribute_values(":e", s(&format!("{user}@example.com")))
            .send()
            .await
            .expect("query GSI");
        assert_eq!(gsi.count(), 1, "{user}");
    }
}

#[tokio::test]
async fn validation_errors_change_nothing() {
    let server = Server::start("txn-validation", 2);
    let client = server.client();
    create_simple_table(&client, "items", None).await;
    let body = |items: &str| format!(r#"{{"TransactItems":[{items}]}}"#);
    let p =
        |pk: &str| format!(r#"{{"Put":{{"TableName":"items","Item":{{"pk":{{"S":"{pk}"}}}}}}}}"#);
    let cases: Vec<(String, &str, &str)> = vec![
        (
            "{}".into(),
            "ValidationException",
            "1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null",
        ),
        (
            body(""),
            "ValidationException",
            "1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ),
        (
            body(
                &(0..101)
                    .map(|i| p(&format!("x{i}")))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            "ValidationException",
            "1 validation error detected: Value '[101 items]' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100",
        ),
        (
            body(&format!("{},{}", p("a"), p("a"))),
            "ValidationException",
            "Transaction request cannot include multiple operations on one item",
        ),
        (
            body(&format!(
                r#"{},{{"ConditionCheck":{{"TableName":"items","Key":{{"pk":{{"S":"a"}}}},"ConditionExpression":"attribute_exists(pk)"}}}}"#,
                p("a")
            )),
            "ValidationException",
            "Transaction request cannot include multiple operations on one item",
        ),
        (
            body(&format!(
                r#"{},{{"Put":{{"TableName":"missing","Item":{{"pk":{{"S":"a"}}}}}}}}"#,
                p("b")
            )),
            "ResourceNotFoundException",
            "Requested resource not found",
        ),
        (
            body(r#"{"ConditionCheck":{"TableName":"items","Key":{"pk":{"S":"a"}}}}"#),
            "ValidationException",
            "1 validation error detected: Value null at 'transactItems.1.member.conditionCheck.conditionExpression' failed to satisfy constraint: Member must not be null",
        ),
        (
            body(r#"{"Update":{"TableName":"items","Key":{"pk":{"S":"a"}}}}"#),
            "ValidationException",
            "1 validation error detected: Value null at 'transactItems.1.member.update.updateExpression' failed to satisfy constraint: Member must not be null",
        ),
        (
            body(
                r#"{"Put":{"TableName":"items","Item":{"pk":{"S":"a"}}},"Delete":{"TableName":"items","Key":{"pk":{"S":"a"}}}}"#,
            ),
            "ValidationException",
            "TransactItems can only contain one of Check, Put, Update or Delete",
        ),
        (
            body(
                r#"{"Put":{"TableName":"items","Item":{"pk":{"S":"a"}},"ConditionExpression":"attribute_exists(#nope)"}}"#,
            ),
            "ValidationException",
            "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #nope",
        ),
        (
            body(
                r#"{"Put":{"TableName":"items","Item":{"pk":{"S":"a"}},"ConditionExpression":"attribute_exists(pk)","ExpressionAttributeValues":{":unused":{"N":"1"}}}}"#,
            ),
            "ValidationException",
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}",
        ),
        (
            body(
                r#"{"Put":{"TableName":"items","Item":{"pk":{"S":"a"}},"ConditionExpression":"attribute_exists(pk)","ReturnValuesOnConditionCheckFailure":"dog"}}"#,
            ),
            "ValidationException",
            "1 validation error detected: Value 'dog' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]",
        ),
        (
            format!(
                r#"{{"TransactItems":[{}],"ClientRequestToken":"{}"}}"#,
                p("a"),
                "t".repeat(37)
            ),
            "ValidationException",
            "1 validation error detected: Value 'ttttttttttttttttttttttttttttttttttttt' at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 36",
        ),
    ];
    for (request, code, message) in &cases {
        let (status, reply) = server.call("TransactWriteItems", request);
        assert_eq!(status, 400, "{request}: {reply}");
        assert_eq!(common::error_type(&reply), *code, "{request}: {reply}");
        assert_eq!(common::error_message(&reply), *message, "{request}");
    }
    // 4 MB aggregate: 50 items of 100 KB.
    let big = "x".repeat(100_000);
    let items: Vec<String> = (0..50)
        .map(|i| format!(r#"{{"Put":{{"TableName":"items","Item":{{"pk":{{"S":"big{i}"}},"x":{{"S":"{big}"}}}}}}}}"#))
        .collect();
    let (status, reply) = server.call("TransactWriteItems", &body(&items.join(",")));
    assert_eq!(status, 400);
    assert_eq!(
        common::error_message(&reply),
        "Transaction request payload size cannot exceed 4 MB"
    );
    // TransactGetItems shares the limits.
    let (status, reply) = server.call(
        "TransactGetItems",
        r#"{"TransactItems":[{"Get":{"TableName":"items","Key":{"pk":{"S":"a"}}}},{"Get":{"TableName":"items","Key":{"pk":{"S":"a"}}}}]}"#,
    );
    assert_eq!(status, 400);
    assert_eq!(
        common::error_message(&reply),
        "Transaction request cannot include multiple operations on one item"
    );
    // Nothing was written, and nothing is left locked: single writes and a
    // transaction on the same items go through at once.
    for pk in ["a", "b", "x0", "big0"] {
        assert!(get(&client, "items", pk).await.is_none(), "{pk}");
    }
    client
        .put_item()
        .table_name("items")
        .item("pk", s("a"))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .expect("no lock left on a");
    let (status, reply) = server.call(
        "TransactWriteItems",
        &body(&format!("{},{}", p("b"), p("x0"))),
    );
    assert_eq!(status, 200, "{reply}");
}

#[tokio::test]
async fn client_request_tokens_are_idempotent_across_restarts() {
    let mut server = Server::start("txn-tokens", 2);
    let client = server.client();
    create_simple_table(&client, "counters", None).await;
    let increment = |pk: &str| {
        TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name("counters")
                    .key("pk", s(pk))
                    .update_expression("ADD hits :one")
                    .expression_attribute_values(":one", n(1))
                    .build()
                    .expect("update"),
            )
            .build()
    };
    let send = |client: &Client, token: &str, keys: &[&str]| {
        let mut request = client.transact_write_items().client_request_token(token);
        for k in keys {
            request = request.transact_items(increment(k));
        }
        request.send()
    };
    // Single-shard and cross-shard transactions, each sent twice.
    let keys: Vec<String> = (0..6).map(|i| format!("c{i}")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    for (t, set) in [("single-1", &keys[..1]), ("multi-1", &keys[..])] {
        send(&client, t, set).await.expect("first");
        send(&client, t, set).await.expect("repeat succeeds");
    }
    let hits = |client: Client, pk: String| async move {
        num(
            &get(&client, "counters", &pk).await.expect("exists"),
            "hits",
        )
    };
    assert_eq!(hits(client.clone(), "c0".into()).await, 2);
    assert_eq!(hits(client.clone(), "c5".into()).await, 1);
    // Other parameters under a used token.
    let (code, _) = failure(send(&client, "multi-1", &keys[..2]).await);
    assert_eq!(code, "IdempotentParameterMismatchException");
    // The token table survives a restart.
    server.restart();
    let client = server.client();
    send(&client, "multi-1", &keys[..])
        .await
        .expect("repeat after restart");
    let (code, _) = failure(send(&client, "single-1", &keys[1..2]).await);
    assert_eq!(code, "IdempotentParameterMismatchException");
    assert_eq!(hits(client.clone(), "c0".into()).await, 2);
    assert_eq!(hits(client.clone(), "c5".into()).await, 1);
    // Without a token, a repeat applies again.
    client
        .transact_write_items()
        .transact_items(increment("c5"))
        .send()
        .await
        .expect("no token");
    assert_eq!(hits(client.clone(), "c5".into()).await, 2);
}

/// Transactions incrementing two counters on different shards race single
/// UpdateItems on one of them: every acknowledged increment is counted
/// once, a single write that meets a transaction gets
/// TransactionConflictException, and no transaction is half applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_and_single_writes_conflict_cleanly() {
    let server = Server::start("txn-conflicts", 2);
    let client = server.client();
    create_simple_table(&client, "hot", None).await;
    // One hot key and three more: some of them on the other shard (all
    // four on one shard has odds 1/8, and then the test still holds).
    let a = "hot-a".to_string();
    let b: Vec<String> = (0..3).map(|i| format!("hot-b{i}")).collect();
    for k in std::iter::once(&a).chain(&b) {
        client
            .put_item()
            .table_name("hot")
            .item("pk", s(k))
            .item("v", n(0))
            .send()
            .await
            .expect("seed");
    }
    let txn_ok = Arc::new(AtomicU64::new(0));
    let single_ok = Arc::new(AtomicU64::new(0));
    let conflicts = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..6 {
        let (client, a, b) = (client.clone(), a.clone(), b.clone());
        let (txn_ok, single_ok, conflicts) = (txn_ok.clone(), single_ok.clone(), conflicts.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..40 {
                if w % 2 == 0 {
                    let inc = |k: &str| {
                        TransactWriteItem::builder()
                            .update(
                                Update::builder()
                                    .table_name("hot")
                                    .key("pk", s(k))
                                    .update_expression("SET v = v + :one")
                                    .expression_attribute_values(":one", n(1))
                                    .build()
                                    .expect("update"),
                            )
                            .build()
                    };
                    let mut request = client.transact_write_items().transact_items(inc(&a));
                    for k in &b {
                        request = request.transact_items(inc(k));
                    }
                    match request.send().await {
                        Ok(_) => {
                            txn_ok.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => match e.into_service_error() {
                            TransactWriteItemsError::TransactionCanceledException(c) => {
                                assert!(
                                    c.cancellation_reasons().iter().all(|r| matches!(
                                        r.code(),
                                        Some("None" | "TransactionConflict")
                                    )),
                                    "{c:?}"
                                );
                            }
                            other => panic!("transaction: {other:?}"),
                        },
                    }
                } else {
                    let result = client
                        .update_item()
                        .table_name("hot")
                        .key("pk", s(&a))
                        .update_expression("SET v = v + :one")
                        .expression_attribute_values(":one", n(1))
                        .send()
                        .await;
                    match result {
                        Ok(_) => {
                            single_ok.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            let code = e.code().unwrap_or("").to_string();
                            assert_eq!(code, "TransactionConflictException", "{e:?}");
                            conflicts.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    // Nothing stays held: no intents or prepared transactions on any
    // shard, and a single write goes through now.
    assert_eq!(server.metric_sum("txn_intents"), 0);
    assert_eq!(server.metric_sum("txn_prepared"), 0);
    assert!(server.metric_sum("txn_committed") > 0);
    client
        .update_item()
        .table_name("hot")
        .key("pk", s(&a))
        .update_expression("SET v = v + :one")
        .expression_attribute_values(":one", n(1))
        .send()
        .await
        .expect("no intent left behind");
    single_ok.fetch_add(1, Ordering::SeqCst);
    let txns = txn_ok.load(Ordering::SeqCst) as i64;
    let singles = single_ok.load(Ordering::SeqCst) as i64;
    assert!(txns > 0, "some transactions commit");
    let va = num(&get(&client, "hot", &a).await.expect("a"), "v");
    for k in &b {
        let vb = num(&get(&client, "hot", k).await.expect("b"), "v");
        assert_eq!(vb, txns, "{k} counts exactly the committed transactions");
    }
    assert_eq!(
        va,
        txns + singles,
        "a counts transactions and single writes"
    );
    eprintln!(
        "committed {txns} transactions, {singles} single writes, {} single-write conflicts",
        conflicts.load(Ordering::SeqCst)
    );
}

/// Seeded random transfers among accounts on 2 shards, by concurrent
/// writers, while readers audit every balance with TransactGetItems: the
/// total never changes in any snapshot, and the final balances are exactly
/// what the acknowledged transfers imply. Replay with DYNACORE_SEED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_transfers_keep_the_total_in_every_snapshot() {
    const ACCOUNTS: usize = 8;
    const BALANCE: i64 = 100;
    let seed = common::seed();
    eprintln!("DYNACORE_SEED={seed}");
    let server = Server::start("txn-transfers", 2);
    let client = server.client();
    open_accounts(&client, ACCOUNTS, BALANCE).await;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4u64 {
        let client = client.clone();
        writers.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed.wrapping_add(w * 7919));
            let mut deltas = [0i64; ACCOUNTS];
            let (mut applied, mut cancelled) = (0, 0);
            for _ in 0..60 {
                let from = rng.below(ACCOUNTS as u64) as usize;
                let to = (from + 1 + rng.below(ACCOUNTS as u64 - 1) as usize) % ACCOUNTS;
                let amount = 1 + rng.below(60) as i64;
                match transfer(&client, from, to, amount, None).await {
                    Transfer::Applied => {
                        deltas[from] -= amount;
                        deltas[to] += amount;
                        applied += 1;
                    }
                    Transfer::Cancelled(reasons) => {
                        assert!(
                            reasons.iter().all(|r| matches!(
                                r.as_str(),
                                "None" | "ConditionalCheckFailed" | "TransactionConflict"
                            )),
                            "{reasons:?}"
                        );
                        cancelled += 1;
                    }
                    Transfer::Failed(why) => panic!("transfer failed: {why}"),
                }
            }
            (deltas, applied, cancelled)
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..2 {
        let (client, done) = (client.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            let mut audits = 0;
            while !done.load(Ordering::SeqCst) {
                if let Some(balances) = audit(&client, ACCOUNTS).await.expect("audit") {
                    assert_eq!(
                        balances.iter().sum::<i64>(),
                        BALANCE * ACCOUNTS as i64,
                        "a snapshot saw part of a transfer: {balances:?}"
                    );
                    assert!(balances.iter().all(|b| *b >= 0), "{balances:?}");
                    audits += 1;
                }
            }
            audits
        }));
    }
    let mut expected = [BALANCE; ACCOUNTS];
    let mut applied_total = 0;
    for w in writers {
        let (deltas, applied, _) = w.await.expect("writer");
        applied_total += applied;
        for (e, d) in expected.iter_mut().zip(deltas) {
            *e += d;
        }
    }
    done.store(true, Ordering::SeqCst);
    let mut audits = 0;
    for r in readers {
        audits += r.await.expect("reader");
    }
    assert!(
        applied_total > 0 && audits > 0,
        "{applied_total} transfers, {audits} audits"
    );
    let last = audit(&client, ACCOUNTS)
        .await
        .expect("audit")
        .expect("no conflict now");
    assert_eq!(
        last,
        expected.to_vec(),
        "final balances = acknowledged transfers"
    );
    for (i, balance) in expected.iter().enumerate() {
        let got = get(&client, common::transfers::TABLE, &account(i))
            .await
            .expect("account");
        assert_eq!(num(&got, "bal"), *balance);
    }
    eprintln!("{applied_total} transfers applied, {audits} consistent audits");
}

/// A transaction that would grow an item collection (a table with LSIs)
/// past its limit is cancelled with ItemCollectionSizeLimitExceeded, and
/// writes nothing.
#[tokio::test]
async fn item_collection_limit_cancels_the_transaction() {
    let server =
        common::start_with_config("txn-collection", 2, "item_collection_bytes_max = 2000\n");
    let client = server.client();
    common::index_tables::create(&server, common::index_tables::EVENTS);
    let event = |sk: &str| {
        put(
            "events",
            item(&[("pk", s("p1")), ("sk", s(sk)), ("x", s(&"x".repeat(1200)))]),
        )
    };
    client
        .transact_write_items()
        .transact_items(event("a"))
        .send()
        .await
        .expect("one item fits");
    let result = client
        .transact_write_items()
        .transact_items(event("b"))
        .transact_items(put("events", item(&[("pk", s("p2")), ("sk", s("c"))])))
        .send()
        .await;
    let (_, reasons) = cancelled(result);
    let codes: Vec<&str> = reasons.iter().map(|r| r.code().unwrap_or("")).collect();
    assert_eq!(codes, ["ItemCollectionSizeLimitExceeded", "None"]);
    let p2 = client
        .get_item()
        .table_name("events")
        .key("pk", s("p2"))
        .key("sk", s("c"))
        .send()
        .await
        .expect("get");
    assert!(p2.item().is_none(), "nothing written");
}
