//! On-demand backups through the real binary and the AWS SDK: round trips
//! with indexes and every attribute type, a backup cut during concurrent
//! cross-shard transactions (wholly in or out), backups surviving their
//! table's deletion and a SIGKILL, damaged backups refused on restore, and
//! DynamoDB's errors for bad requests (which change nothing).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, BackupStatus, TableStatus};
use common::transfers::{self, Transfer};
use common::values::{failure, n, s};
use common::wait::wait_available;
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

type Item = HashMap<String, AttributeValue>;

/// An item with every attribute type; sparse index keys.
fn item(i: u64, rng: &mut Rng) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), s(&format!("p{}", i % 17)));
    item.insert("sk".into(), n(i));
    item.insert("num".into(), n(format!("-{}.5", 1 + rng.below(1000))));
    item.insert(
        "bin".into(),
        AttributeValue::B(Blob::new(vec![i as u8, 0, 255])),
    );
    item.insert("yes".into(), AttributeValue::Bool(i.is_multiple_of(2)));
    item.insert("nil".into(), AttributeValue::Null(true));
    item.insert(
        "ss".into(),
        AttributeValue::Ss(vec![format!("a{i}"), "b".into()]),
    );
    item.insert(
        "ns".into(),
        AttributeValue::Ns(vec![i.to_string(), "0.5".into()]),
    );
    item.insert(
        "bs".into(),
        AttributeValue::Bs(vec![Blob::new(vec![1]), Blob::new(vec![i as u8, 9])]),
    );
    item.insert(
        "list".into(),
        AttributeValue::L(vec![
            s("x"),
            n(i),
            AttributeValue::M(HashMap::from([("k".into(), s("v"))])),
        ]),
    );
    item.insert(
        "map".into(),
        AttributeValue::M(HashMap::from([
            (
                "deep".into(),
                AttributeValue::L(vec![AttributeValue::Bool(true)]),
            ),
            ("big".into(), s(&"z".repeat(rng.below(400) as usize))),
        ])),
    );
    if !i.is_multiple_of(3) {
        item.insert("g".into(), s(&format!("g{}", i % 5)));
    }
    if !i.is_multiple_of(4) {
        item.insert(
            "l".into(),
            AttributeValue::B(Blob::new(vec![(i % 7) as u8])),
        );
    }
    item
}

fn key_of(item: &Item) -> (String, String) {
    let AttributeValue::S(pk) = &item["pk"] else {
        panic!("pk")
    };
    let AttributeValue::N(sk) = &item["sk"] else {
        panic!("sk")
    };
    (pk.clone(), sk.clone())
}

async fn scan_all(client: &Client, table: &str) -> BTreeMap<(String, String), Item> {
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

async fn index_count(
    client: &Client,
    table: &str,
    index: &str,
    key: (&str, AttributeValue),
) -> usize {
    let mut count = 0;
    let mut start = None;
    loop {
        let page = client
            .query()
            .table_name(table)
            .index_name(index)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", key.0)
            .expression_attribute_values(":v", key.1.clone())
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("query index");
        count += page.items().len();
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return count;
        }
    }
}

async fn wait_active(client: &Client, table: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
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
            return;
        }
        assert!(
            Instant::now() < deadline,
            "table {table} never became ACTIVE"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn backup(client: &Client, table: &str, name: &str) -> String {
    let out = client
        .create_backup()
        .table_name(table)
        .backup_name(name)
        .send()
        .await
        .expect("create backup");
    let details = out.backup_details().expect("details");
    let arn = details.backup_arn().to_string();
    // arn:aws:dynamodb:<region>:<account>:table/<name>/backup/<13 digits>-<8 hex>
    let id = arn
        .rsplit_once("/backup/")
        .map(|(_, id)| id)
        .expect("a backup ARN");
    let (ms, hex) = id.split_once('-').expect("ms-hex");
    assert!(
        ms.len() == 13 && ms.bytes().all(|b| b.is_ascii_digit()),
        "{arn}"
    );
    assert!(
        hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{arn}"
    );
    assert!(arn.starts_with("arn:aws:dynamodb:us-east-1:"), "{arn}");
    assert!(arn.contains(&format!(":table/{table}/backup/")), "{arn}");
    arn
}

async fn restore(client: &Client, arn: &str, target: &str) {
    let out = client
        .restore_table_from_backup()
        .backup_arn(arn)
        .target_table_name(target)
        .send()
        .await
        .expect("restore");
    let t = out.table_description().expect("description");
    assert_eq!(t.table_status(), Some(&TableStatus::Creating));
    wait_active(client, target).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_and_restore_round_trip_with_indexes_and_every_type() {
    let seed = seed();
    println!("seed {seed}");
    let mut rng = Rng::new(seed);
    let server = Server::start("backup-round-trip", 2);
    let client = server.client();
    common::index_tables::create(&server, TABLE);
    let mut written = BTreeMap::new();
    for i in 0..400 {
        let item = item(i, &mut rng);
        client
            .put_item()
            .table_name("src")
            .set_item(Some(item.clone()))
            .send()
            .await
            .expect("put");
        written.insert(key_of(&item), item);
    }
    let arn = backup(&client, "src", "first").await;
    // Written after the backup's cut: not in it.
    client
        .put_item()
        .table_name("src")
        .item("pk", s("late"))
        .item("sk", n(1))
        .send()
        .await
        .expect("put after the backup");
    wait_available(&client, &arn).await;

    // The backup outlives its table.
    client
        .delete_table()
        .table_name("src")
        .send()
        .await
        .expect("delete table");
    restore(&client, &arn, "copy").await;
    let restored = scan_all(&client, "copy").await;
    assert_eq!(restored.len(), written.len(), "seed {seed}");
    for (key, item) in &written {
        assert_eq!(restored.get(key), Some(item), "item {key:?}, seed {seed}");
    }
    // Both indexes hold what the items say.
    assert!(server.gsi_outboxes_drained(Duration::from_secs(60)).await);
    for g in 0..5 {
        let expected = written
            .values()
            .filter(|i| i.get("g") == Some(&s(&format!("g{g}"))))
            .count();
        let got = index_count(&client, "copy", "byG", ("g", s(&format!("g{g}")))).await;
        assert_eq!(got, expected, "GSI g{g}");
    }
    for p in 0..17 {
        let expected = written
            .values()
            .filter(|i| i["pk"] == s(&format!("p{p}")) && i.contains_key("l"))
            .count();
        let got = index_count(&client, "copy", "byL", ("pk", s(&format!("p{p}")))).await;
        assert_eq!(got, expected, "LSI p{p}");
    }

    // ListBackups finds it by table; DeleteBackup answers DELETED; then it
    // is gone.
    let list = client
        .list_backups()
        .table_name("src")
        .send()
        .await
        .expect("list");
    let summaries = list.backup_summaries();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].backup_arn(), Some(arn.as_str()));
    assert_eq!(summaries[0].backup_status(), Some(&BackupStatus::Available));
    let none = client
        .list_backups()
        .table_name("copy")
        .send()
        .await
        .expect("list");
    assert!(none.backup_summaries().is_empty());
    let deleted = client
        .delete_backup()
        .backup_arn(&arn)
        .send()
        .await
        .expect("delete backup");
    let status = deleted
        .backup_description()
        .and_then(|d| d.backup_details())
        .map(|d| d.backup_status().clone());
    assert_eq!(status, Some(BackupStatus::Deleted));
    let (code, _) = failure(client.describe_backup().backup_arn(&arn).send().await);
    assert_eq!(code, "BackupNotFoundException");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_cut_during_transfers_holds_whole_transactions() {
    let seed = seed();
    println!("seed {seed}");
    const ACCOUNTS: usize = 20;
    const BALANCE: i64 = 1000;
    const BACKUPS: usize = 16;
    let server = Server::start("backup-cut", 2);
    let client = server.client();
    transfers::open_accounts(&client, ACCOUNTS, BALANCE).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..8u64 {
        let (client, stop) = (client.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed ^ w);
            let mut applied = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let from = rng.below(ACCOUNTS as u64) as usize;
                let to = (from + 1 + rng.below(ACCOUNTS as u64 - 1) as usize) % ACCOUNTS;
                match transfers::transfer(&client, from, to, 1 + rng.below(50) as i64, None).await {
                    Transfer::Applied => applied += 1,
                    Transfer::Cancelled(_) => {}
                    Transfer::Failed(e) => panic!("transfer failed: {e}"),
                }
            }
            applied
        }));
    }
    let mut arns = Vec::new();
    // Many cuts, each while transfers are in flight on both shards.
    for b in 0..BACKUPS {
        tokio::time::sleep(Duration::from_millis(20)).await;
        arns.push(backup(&client, transfers::TABLE, &format!("cut-{b}")).await);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut applied = 0;
    for w in workers {
        applied += w.await.expect("worker");
    }
    assert!(applied > 0, "no transfer applied");
    for (b, arn) in arns.iter().enumerate() {
        wait_available(&client, arn).await;
        let target = format!("cut-copy-{b}");
        restore(&client, arn, &target).await;
        let items = scan_all_single(&client, &target).await;
        assert_eq!(items.len(), ACCOUNTS);
        let total: i64 = items.values().sum();
        assert_eq!(
            total,
            ACCOUNTS as i64 * BALANCE,
            "backup {b} holds part of a transfer: {items:?} (seed {seed})"
        );
    }
}

async fn scan_all_single(client: &Client, table: &str) -> BTreeMap<String, i64> {
    let page = client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .send()
        .await
        .expect("scan");
    page.items()
        .iter()
        .map(|i| (common::values::text(i, "pk"), common::values::num(i, "bal")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn backups_survive_sigkill_and_damaged_ones_are_refused() {
    let mut server = Server::start("backup-crash", 2);
    let client = server.client();
    common::create_simple_table(&client, "tbl", None).await;
    for i in 0..300 {
        client
            .put_item()
            .table_name("tbl")
            .item("pk", s(&format!("k{i}")))
            .item("v", s(&"x".repeat(100)))
            .send()
            .await
            .expect("put");
    }
    let good = backup(&client, "tbl", "good").await;
    let bad = backup(&client, "tbl", "bad").await;
    wait_available(&client, &good).await;
    wait_available(&client, &bad).await;
    server.kill();
    // Damage one byte of one data file of the second backup.
    let id = bad.rsplit_once("/backup/").expect("id").1;
    let file = server
        .data_dir
        .join("backups")
        .join(id)
        .join("shard-001.data");
    let mut bytes = std::fs::read(&file).expect("backup data file");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&file, bytes).expect("damage");
    server.launch().expect("restart");
    let client = server.client();
    wait_available(&client, &good).await;
    let (status, body) = server.call(
        "RestoreTableFromBackup",
        &format!(r#"{{"BackupArn":"{bad}","TargetTableName":"from-bad"}}"#),
    );
    assert_eq!(status, 500, "{body}");
    let (code, _) = failure(client.describe_table().table_name("from-bad").send().await);
    assert_eq!(
        code, "ResourceNotFoundException",
        "a damaged backup created a table"
    );
    // A restore a SIGKILL interrupts (or that finished just before it)
    // ends ACTIVE with every item after the restart.
    client
        .restore_table_from_backup()
        .backup_arn(&good)
        .target_table_name("from-good")
        .send()
        .await
        .expect("restore");
    server.kill();
    server.launch().expect("restart after the restore began");
    let client = server.client();
    wait_active(&client, "from-good").await;
    let restored = client
        .scan()
        .table_name("from-good")
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .expect("count");
    assert_eq!(restored.count(), 300);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_backup_requests_get_dynamodb_errors_and_change_nothing() {
    let server = Server::start("backup-errors", 2);
    let client = server.client();
    common::create_simple_table(&client, "tbl", None).await;
    common::create_simple_table(&client, "other", None).await;
    client
        .put_item()
        .table_name("tbl")
        .item("pk", s("a"))
        .send()
        .await
        .expect("put");
    let missing =
        "arn:aws:dynamodb:us-east-1:000000000000:table/tbl/backup/01700000000000-0000abcd";
    let (code, message) = failure(client.describe_backup().backup_arn(missing).send().await);
    assert_eq!(code, "BackupNotFoundException");
    assert_eq!(message, format!("Backup not found: {missing}"));
    let (code, _) = failure(client.delete_backup().backup_arn(missing).send().await);
    assert_eq!(code, "BackupNotFoundException");
    let (code, _) = failure(
        client
            .restore_table_from_backup()
            .backup_arn(missing)
            .target_table_name("new")
            .send()
            .await,
    );
    assert_eq!(code, "BackupNotFoundException");
    let (code, message) = failure(
        client
            .create_backup()
            .table_name("nope")
            .backup_name("b-one")
            .send()
            .await,
    );
    assert_eq!(code, "TableNotFoundException");
    assert_eq!(message, "Table not found: nope");
    let (status, body) = server.call("CreateBackup", r#"{"TableName":"tbl","BackupName":"x"}"#);
    assert_eq!(status, 400);
    assert_eq!(error_type(&body), "ValidationException", "{body}");
    let (status, body) = server.call("CreateBackup", r#"{"TableName":"tbl"}"#);
    assert_eq!(status, 400);
    assert_eq!(error_type(&body), "ValidationException", "{body}");
    let (status, body) = server.call("ListBackups", r#"{"Limit":0}"#);
    assert_eq!(status, 400, "{body}");
    let arn = backup(&client, "tbl", "okay").await;
    wait_available(&client, &arn).await;
    let (code, message) = failure(
        client
            .restore_table_from_backup()
            .backup_arn(&arn)
            .target_table_name("other")
            .send()
            .await,
    );
    assert_eq!(code, "TableAlreadyExistsException");
    assert_eq!(message, "Table already exists: other");
    // Nothing changed: the other table is still empty, the backup still there.
    let other = client
        .scan()
        .table_name("other")
        .send()
        .await
        .expect("scan");
    assert_eq!(other.count(), 0);
    let list = client.list_backups().send().await.expect("list");
    assert_eq!(list.backup_summaries().len(), 1);
    // Paging: Limit 2 over three backups, oldest first.
    let mut arns = vec![arn.clone()];
    for name in ["second", "third"] {
        let next = backup(&client, "tbl", name).await;
        wait_available(&client, &next).await;
        arns.push(next);
    }
    let first = client.list_backups().limit(2).send().await.expect("page 1");
    let page1: Vec<String> = first
        .backup_summaries()
        .iter()
        .filter_map(|b| b.backup_arn().map(str::to_string))
        .collect();
    assert_eq!(page1, arns[..2].to_vec());
    assert_eq!(first.last_evaluated_backup_arn(), Some(arns[1].as_str()));
    let second = client
        .list_backups()
        .limit(2)
        .exclusive_start_backup_arn(&arns[1])
        .send()
        .await
        .expect("page 2");
    let page2: Vec<&str> = second
        .backup_summaries()
        .iter()
        .filter_map(|b| b.backup_arn())
        .collect();
    assert_eq!(page2, vec![arns[2].as_str()]);
    assert_eq!(second.last_evaluated_backup_arn(), None);
    let (status, body) = server.call(
        "ListBackups",
        r#"{"TimeRangeLowerBound": 2000000000, "TimeRangeUpperBound": 1000000000}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_type(&body), "ValidationException", "{body}");
}
