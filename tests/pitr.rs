//! Point-in-time recovery through the real binary and the AWS SDK:
//! restores to times between known writes equal the state at that time,
//! item by item (every attribute type, LSI and GSI, puts, updates,
//! deletes, batches and transactions); restores after SIGKILL and restart;
//! the window moves and history is trimmed while restores stay exact; and
//! DynamoDB's errors for bad requests (which create nothing).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::{Blob, DateTime};
use aws_sdk_dynamodb::types::{
    AttributeValue, PointInTimeRecoverySpecification, PointInTimeRecoveryStatus, Put, PutRequest,
    TableStatus, TransactWriteItem, WriteRequest,
};
use common::values::{failure, n, s};
use common::{Rng, Server, error_type, seed};

const TABLE: &str = r#"{
  "TableName": "src",
  "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "N"},
    {"AttributeName": "g", "AttributeType": "S"},
    {"AttributeName": "l", "AttributeType": "B"}
  ],
  "KeySchema": [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"}
  ],
  "LocalSecondaryIndexes": [{
    "IndexName": "byL",
    "KeySchema": [
      {"AttributeName": "pk", "KeyType": "HASH"},
      {"AttributeName": "l", "KeyType": "RANGE"}
    ],
    "Projection": {"ProjectionType": "ALL"}
  }],
  "GlobalSecondaryIndexes": [{
    "IndexName": "byG",
    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
    "Projection": {"ProjectionType": "KEYS_ONLY"}
  }]
}"#;

/// A table without indexes (history records without image reads).
const PLAIN: &str = r#"{
  "TableName": "plain",
  "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
  "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]
}"#;

type Item = HashMap<String, AttributeValue>;
type Key = (String, String);
type Model = BTreeMap<Key, Item>;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// An item with every attribute type and sparse index keys; `version`
/// makes each write of a key different.
fn item(pk: u64, sk: u64, version: u64, rng: &mut Rng) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), s(&format!("p{pk}")));
    item.insert("sk".into(), n(sk));
    item.insert("v".into(), n(version));
    item.insert("num".into(), n(format!("-{}.25", rng.below(1000))));
    item.insert(
        "bin".into(),
        AttributeValue::B(Blob::new(vec![version as u8, 0, 255])),
    );
    item.insert(
        "yes".into(),
        AttributeValue::Bool(version.is_multiple_of(2)),
    );
    item.insert("nil".into(), AttributeValue::Null(true));
    item.insert(
        "ss".into(),
        AttributeValue::Ss(vec![format!("a{version}"), "b".into()]),
    );
    item.insert(
        "ns".into(),
        AttributeValue::Ns(vec![version.to_string(), "0.5".into()]),
    );
    item.insert(
        "bs".into(),
        AttributeValue::Bs(vec![Blob::new(vec![1]), Blob::new(vec![sk as u8, 9])]),
    );
    item.insert(
        "list".into(),
        AttributeValue::L(vec![
            s("x"),
            n(version),
            AttributeValue::M(HashMap::from([("k".into(), s("v"))])),
        ]),
    );
    if rng.below(3) > 0 {
        item.insert("g".into(), s(&format!("g{}", rng.below(4))));
    }
    if rng.below(4) > 0 {
        item.insert(
            "l".into(),
            AttributeValue::B(Blob::new(vec![rng.below(7) as u8])),
        );
    }
    item
}

fn key_of(item: &Item) -> Key {
    let AttributeValue::S(pk) = &item["pk"] else {
        panic!("pk")
    };
    let sk = match item.get("sk") {
        Some(AttributeValue::N(sk)) => sk.clone(),
        _ => String::new(),
    };
    (pk.clone(), sk)
}

fn key_attrs(key: &Key) -> Item {
    HashMap::from([("pk".to_string(), s(&key.0)), ("sk".to_string(), n(&key.1))])
}

async fn scan_all(client: &Client, table: &str) -> Model {
    let mut out = BTreeMap::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .expect("scan");
        for item in page.items() {
            out.insert(key_of(item), item.clone());
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

async fn wait_active(client: &Client, table: &str) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let d = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .expect("describe table");
        let t = d.table().expect("table");
        if t.table_status() == Some(&TableStatus::Active) {
            let restore = t
                .restore_summary()
                .expect("a restored table has a RestoreSummary");
            assert!(!restore.restore_in_progress());
            assert!(restore.source_backup_arn().is_none());
            assert!(restore.source_table_arn().is_some());
            return;
        }
        assert!(
            Instant::now() < deadline,
            "table {table} never became ACTIVE"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn enable(client: &Client, table: &str, days: Option<i32>) {
    let out = client
        .update_continuous_backups()
        .table_name(table)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .set_recovery_period_in_days(days)
                .build()
                .expect("spec"),
        )
        .send()
        .await
        .expect("enable PITR");
    let pitr = out
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .expect("PITR description");
    assert_eq!(
        pitr.point_in_time_recovery_status(),
        Some(&PointInTimeRecoveryStatus::Enabled)
    );
    assert_eq!(pitr.recovery_period_in_days(), Some(days.unwrap_or(35)));
}

/// (earliest, latest) restorable times in ms, once the window is open.
async fn window(client: &Client, table: &str) -> (i64, i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = client
            .describe_continuous_backups()
            .table_name(table)
            .send()
            .await
            .expect("describe continuous backups");
        let pitr = out
            .continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description())
            .expect("PITR description");
        if let (Some(e), Some(l)) = (
            pitr.earliest_restorable_date_time(),
            pitr.latest_restorable_date_time(),
        ) {
            let (e, l) = (e.to_millis().expect("ms"), l.to_millis().expect("ms"));
            assert!(e <= l, "earliest {e} after latest {l}");
            return (e, l);
        }
        assert!(Instant::now() < deadline, "the PITR window never opened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn restore_at(client: &Client, target: &str, at_ms: Option<i64>) {
    let request = client
        .restore_table_to_point_in_time()
        .source_table_name("src")
        .target_table_name(target);
    let request = match at_ms {
        Some(ms) => request.restore_date_time(DateTime::from_millis(ms)),
        None => request.use_latest_restorable_time(true),
    };
    let out = request.send().await.expect("restore to point in time");
    let t = out.table_description().expect("description");
    assert_eq!(t.table_status(), Some(&TableStatus::Creating));
    wait_active(client, target).await;
}

fn assert_same(restored: &Model, expected: &Model, what: &str) {
    for (key, item) in expected {
        assert_eq!(restored.get(key), Some(item), "{what}: item {key:?}");
    }
    for key in restored.keys() {
        assert!(expected.contains_key(key), "{what}: extra item {key:?}");
    }
}

/// Waits until `at_ms` is in the past on the server's clock (the same
/// machine's): a change applied after this has a later time.
async fn past(at_ms: i64) {
    while now_ms() <= at_ms + 1 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// One phase of random changes through every write operation, applied to
/// `model` as acknowledged.
async fn phase(client: &Client, model: &mut Model, rng: &mut Rng, version: u64) {
    for _ in 0..30 {
        let (pk, sk) = (rng.below(6), rng.below(8));
        let key = (format!("p{pk}"), sk.to_string());
        match rng.below(6) {
            0 | 1 => {
                let it = item(pk, sk, version, rng);
                client
                    .put_item()
                    .table_name("src")
                    .set_item(Some(it.clone()))
                    .send()
                    .await
                    .expect("put");
                model.insert(key, it);
            }
            2 => {
                let out = client
                    .update_item()
                    .table_name("src")
                    .set_key(Some(key_attrs(&key)))
                    .update_expression("SET v = :v, extra = :e REMOVE yes")
                    .expression_attribute_values(":v", n(version))
                    .expression_attribute_values(":e", s("updated"))
                    .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
                    .send()
                    .await
                    .expect("update");
                model.insert(key, out.attributes().expect("ALL_NEW").clone());
            }
            3 => {
                client
                    .delete_item()
                    .table_name("src")
                    .set_key(Some(key_attrs(&key)))
                    .send()
                    .await
                    .expect("delete");
                model.remove(&key);
            }
            4 => {
                let items: Vec<Item> = (0..3)
                    .map(|j| item(pk, (sk + j) % 8, version, rng))
                    .collect();
                let writes = items
                    .iter()
                    .map(|it| {
                        WriteRequest::builder()
                            .put_request(
                                PutRequest::builder()
                                    .set_item(Some(it.clone()))
                                    .build()
                                    .expect("put request"),
                            )
                            .build()
                    })
                    .collect();
                let out = client
                    .batch_write_item()
                    .request_items("src", writes)
                    .send()
                    .await
                    .expect("batch write");
                assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
                for it in items {
                    model.insert(key_of(&it), it);
                }
            }
            _ => {
                // A transaction over two partitions (often two shards).
                let a = item(pk, sk, version, rng);
                let b = item((pk + 1) % 6, sk, version, rng);
                let puts = [a.clone(), b.clone()].map(|it| {
                    TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name("src")
                                .set_item(Some(it))
                                .build()
                                .expect("put"),
                        )
                        .build()
                });
                client
                    .transact_write_items()
                    .set_transact_items(Some(puts.to_vec()))
                    .send()
                    .await
                    .expect("transaction");
                model.insert(key_of(&a), a);
                model.insert(key_of(&b), b);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn restores_to_times_between_known_writes_equal_the_state_then() {
    let seed = seed();
    println!("seed {seed}");
    let mut rng = Rng::new(seed);
    let server = Server::start("pitr-points", 2);
    let client = server.client();
    common::index_tables::create(&server, TABLE);
    let mut model = Model::new();
    // Items written before PITR is enabled come from the first base.
    phase(&client, &mut model, &mut rng, 0).await;
    let before_enabling = now_ms();
    past(before_enabling).await;
    enable(&client, "src", None).await;
    let (earliest, _) = window(&client, "src").await;
    assert!(earliest > before_enabling);
    past(earliest).await;

    let mut points: Vec<(i64, Model)> = vec![(earliest, model.clone())];
    for version in 1..=4 {
        phase(&client, &mut model, &mut rng, version).await;
        let at = now_ms();
        points.push((at, model.clone()));
        past(at).await;
    }
    // Changes after the last point are not in it.
    phase(&client, &mut model, &mut rng, 5).await;

    for (i, (at, _)) in points.iter().enumerate() {
        restore_at(&client, &format!("at{i}"), Some(*at)).await;
    }
    restore_at(&client, "latest", None).await;
    for (i, (at, expected)) in points.iter().enumerate() {
        let restored = scan_all(&client, &format!("at{i}")).await;
        assert_same(
            &restored,
            expected,
            &format!("restore to {at} (point {i}), seed {seed}"),
        );
    }
    assert_same(&scan_all(&client, "latest").await, &model, "latest");

    // The restored indexes hold what the items say.
    assert!(server.gsi_outboxes_drained(Duration::from_secs(60)).await);
    for g in 0..4 {
        let expected = model
            .values()
            .filter(|i| i.get("g") == Some(&s(&format!("g{g}"))))
            .count();
        let got = client
            .query()
            .table_name("latest")
            .index_name("byG")
            .key_condition_expression("g = :g")
            .expression_attribute_values(":g", s(&format!("g{g}")))
            .send()
            .await
            .expect("query GSI")
            .count() as usize;
        assert_eq!(got, expected, "GSI g{g}, seed {seed}");
    }
    let p0 = model
        .values()
        .filter(|i| i["pk"] == s("p0") && i.contains_key("l"))
        .count();
    let got = client
        .query()
        .table_name("latest")
        .index_name("byL")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p0"))
        .send()
        .await
        .expect("query LSI")
        .count() as usize;
    assert_eq!(got, p0, "LSI p0, seed {seed}");

    // A restored table has PITR off and its source's schema.
    let d = client
        .describe_continuous_backups()
        .table_name("latest")
        .send()
        .await
        .expect("describe restored");
    assert_eq!(
        d.continuous_backups_description()
            .and_then(|c| c.point_in_time_recovery_description())
            .and_then(|p| p.point_in_time_recovery_status()),
        Some(&PointInTimeRecoveryStatus::Disabled)
    );
    // Writing to the restored table leaves the source alone.
    client
        .put_item()
        .table_name("at0")
        .item("pk", s("only-here"))
        .item("sk", n(0))
        .send()
        .await
        .expect("put to a restored table");
    assert_same(
        &scan_all(&client, "src").await,
        &model,
        "source after restores",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn restores_survive_sigkill_and_restart() {
    let seed = seed();
    println!("seed {seed}");
    let mut rng = Rng::new(seed);
    let mut server = Server::start("pitr-kill", 2);
    let client = server.client();
    common::index_tables::create(&server, TABLE);
    enable(&client, "src", Some(7)).await;
    let (earliest, _) = window(&client, "src").await;
    past(earliest).await;
    let mut model = Model::new();
    phase(&client, &mut model, &mut rng, 1).await;
    let at = now_ms();
    let then = model.clone();
    past(at).await;
    phase(&client, &mut model, &mut rng, 2).await;
    server.kill();
    server.restart();
    let client = server.client();
    let (earliest_after, _) = window(&client, "src").await;
    assert_eq!(earliest_after, earliest, "the window starts where it did");
    restore_at(&client, "then", Some(at)).await;
    restore_at(&client, "now", None).await;
    assert_same(
        &scan_all(&client, "then").await,
        &then,
        &format!("then, seed {seed}"),
    );
    assert_same(
        &scan_all(&client, "now").await,
        &model,
        &format!("now, seed {seed}"),
    );
    // A restore a SIGKILL interrupts starts over at the next start.
    let request = client
        .restore_table_to_point_in_time()
        .source_table_name("src")
        .target_table_name("interrupted")
        .restore_date_time(DateTime::from_millis(at));
    request.send().await.expect("restore");
    server.kill();
    server.restart();
    let client = server.client();
    wait_active(&client, "interrupted").await;
    assert_same(
        &scan_all(&client, "interrupted").await,
        &then,
        &format!("interrupted, seed {seed}"),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bases_roll_and_trimmed_history_still_restores_exactly() {
    // One "day" is 1.5 s, a base every 300 ms, maintenance every 100 ms.
    let config = "pitr_day_ms = 1500\npitr_base_interval_ms = 300\npitr_tick_ms = 100\n";
    let server = common::start_with_config("pitr-trim", 2, config);
    let client = server.client();
    common::index_tables::create(&server, PLAIN);
    enable(&client, "plain", Some(1)).await;
    let (first_earliest, _) = window(&client, "plain").await;
    let mut model: BTreeMap<String, i64> = BTreeMap::new();
    let mut v = 0i64;
    // Write until the window has moved past its first start and history
    // has been trimmed (each write changes one of 20 keys).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        v += 1;
        let key = format!("k{}", v % 20);
        if v % 7 == 0 {
            client
                .delete_item()
                .table_name("plain")
                .key("pk", s(&key))
                .send()
                .await
                .expect("delete");
            model.remove(&key);
        } else {
            client
                .put_item()
                .table_name("plain")
                .item("pk", s(&key))
                .item("v", n(v))
                .send()
                .await
                .expect("put");
            model.insert(key, v);
        }
        if v % 20 == 0 {
            let (earliest, _) = window(&client, "plain").await;
            if earliest > first_earliest + 2000 && server.metric_sum("pitr_records_trimmed") > 0 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the window never moved");
    }
    let (earliest, _) = window(&client, "plain").await;
    let err = client
        .restore_table_to_point_in_time()
        .source_table_name("plain")
        .target_table_name("too-old")
        .restore_date_time(DateTime::from_millis(first_earliest))
        .send()
        .await;
    assert_eq!(failure(err).0, "InvalidRestoreTimeException");
    let at = now_ms();
    let then = model.clone();
    past(at).await;
    client
        .put_item()
        .table_name("plain")
        .item("pk", s("after"))
        .send()
        .await
        .expect("put after");
    assert!(at >= earliest);
    let out = client
        .restore_table_to_point_in_time()
        .source_table_name("plain")
        .target_table_name("copy")
        .restore_date_time(DateTime::from_millis(at))
        .send()
        .await
        .expect("restore");
    assert!(out.table_description().is_some());
    wait_active(&client, "copy").await;
    let mut restored = BTreeMap::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name("copy")
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for it in page.items() {
            let AttributeValue::S(k) = &it["pk"] else {
                panic!("pk")
            };
            let AttributeValue::N(v) = &it["v"] else {
                panic!("v")
            };
            restored.insert(k.clone(), v.parse::<i64>().expect("v"));
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    assert_eq!(restored, then);

    // Disabling forgets the history: re-enabling opens a new window.
    let off = client
        .update_continuous_backups()
        .table_name("plain")
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(false)
                .build()
                .expect("spec"),
        )
        .send()
        .await
        .expect("disable");
    let status = off
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status());
    assert_eq!(status, Some(&PointInTimeRecoveryStatus::Disabled));
    let err = client
        .restore_table_to_point_in_time()
        .source_table_name("plain")
        .target_table_name("off")
        .use_latest_restorable_time(true)
        .send()
        .await;
    assert_eq!(failure(err).0, "PointInTimeRecoveryUnavailableException");
    let reenabled = now_ms();
    enable(&client, "plain", None).await;
    let (earliest, _) = window(&client, "plain").await;
    assert!(earliest >= reenabled);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_dynamodbs_errors_and_create_nothing() {
    let server = Server::start("pitr-errors", 2);
    let client = server.client();
    common::index_tables::create(&server, TABLE);
    common::index_tables::create(&server, PLAIN);

    let cases: [(&str, &str, &str); 6] = [
        (
            "UpdateContinuousBackups",
            r#"{"TableName":"src"}"#,
            "1 validation error detected: Value null at 'pointInTimeRecoverySpecification' failed to satisfy constraint: Member must not be null",
        ),
        (
            "UpdateContinuousBackups",
            r#"{"TableName":"src","PointInTimeRecoverySpecification":{}}"#,
            "1 validation error detected: Value null at 'pointInTimeRecoverySpecification.pointInTimeRecoveryEnabled' failed to satisfy constraint: Member must not be null",
        ),
        (
            "UpdateContinuousBackups",
            r#"{"TableName":"src","PointInTimeRecoverySpecification":{"PointInTimeRecoveryEnabled":true,"RecoveryPeriodInDays":0}}"#,
            "1 validation error detected: Value '0' at 'pointInTimeRecoverySpecification.recoveryPeriodInDays' failed to satisfy constraint: Member must have value greater than or equal to 1",
        ),
        (
            "UpdateContinuousBackups",
            r#"{"TableName":"src","PointInTimeRecoverySpecification":{"PointInTimeRecoveryEnabled":true,"RecoveryPeriodInDays":36}}"#,
            "1 validation error detected: Value '36' at 'pointInTimeRecoverySpecification.recoveryPeriodInDays' failed to satisfy constraint: Member must have value less than or equal to 35",
        ),
        (
            "RestoreTableToPointInTime",
            r#"{"SourceTableName":"src","TargetTableName":"xyz"}"#,
            "Either RestoreDateTime or UseLatestRestorableTime must be specified",
        ),
        (
            "RestoreTableToPointInTime",
            r#"{"SourceTableName":"src","TargetTableName":"xyz","UseLatestRestorableTime":true,"RestoreDateTime":1}"#,
            "Only one of RestoreDateTime or UseLatestRestorableTime can be specified",
        ),
    ];
    for (op, body, message) in cases {
        let (status, reply) = server.call(op, body);
        assert_eq!(status, 400, "{op} {body}: {reply}");
        assert_eq!(
            error_type(&reply),
            "ValidationException",
            "{op} {body}: {reply}"
        );
        assert_eq!(common::error_message(&reply), message, "{op} {body}");
    }
    for (op, body) in [
        (
            "UpdateContinuousBackups",
            r#"{"TableName":"nope","PointInTimeRecoverySpecification":{"PointInTimeRecoveryEnabled":true}}"#,
        ),
        ("DescribeContinuousBackups", r#"{"TableName":"nope"}"#),
        (
            "RestoreTableToPointInTime",
            r#"{"SourceTableName":"nope","TargetTableName":"xyz","UseLatestRestorableTime":true}"#,
        ),
    ] {
        let (status, reply) = server.call(op, body);
        assert_eq!(
            (status, error_type(&reply)),
            (400, "TableNotFoundException".to_string()),
            "{op}: {reply}"
        );
        assert_eq!(common::error_message(&reply), "Table not found: nope");
    }
    // PITR off: unavailable.
    let (_, reply) = server.call(
        "RestoreTableToPointInTime",
        r#"{"SourceTableName":"plain","TargetTableName":"xyz","UseLatestRestorableTime":true}"#,
    );
    assert_eq!(
        error_type(&reply),
        "PointInTimeRecoveryUnavailableException",
        "{reply}"
    );

    enable(&client, "src", None).await;
    let (earliest, latest) = window(&client, "src").await;
    // Outside the window: before it opened, and in the future.
    for at in [earliest - 1000, latest + 3_600_000] {
        let body = format!(
            r#"{{"SourceTableName":"src","TargetTableName":"xyz","RestoreDateTime":{:.3}}}"#,
            at as f64 / 1000.0
        );
        let (_, reply) = server.call("RestoreTableToPointInTime", &body);
        assert_eq!(error_type(&reply), "InvalidRestoreTimeException", "{reply}");
    }
    // The target exists.
    let (_, reply) = server.call(
        "RestoreTableToPointInTime",
        r#"{"SourceTableName":"src","TargetTableName":"plain","UseLatestRestorableTime":true}"#,
    );
    assert_eq!(error_type(&reply), "TableAlreadyExistsException", "{reply}");
    // The source by ARN works the same as by name.
    let arn = client
        .describe_table()
        .table_name("src")
        .send()
        .await
        .expect("describe")
        .table()
        .and_then(|t| t.table_arn())
        .expect("arn")
        .to_string();
    let body = format!(
        r#"{{"SourceTableArn":"{arn}","TargetTableName":"plain","UseLatestRestorableTime":true}}"#
    );
    let (_, reply) = server.call("RestoreTableToPointInTime", &body);
    assert_eq!(error_type(&reply), "TableAlreadyExistsException", "{reply}");

    let tables = client.list_tables().send().await.expect("list");
    assert_eq!(
        tables.table_names(),
        ["plain", "src"],
        "nothing was created"
    );
    // Bases are not backups.
    let backups = client.list_backups().send().await.expect("list backups");
    assert!(backups.backup_summaries().is_empty());
}
