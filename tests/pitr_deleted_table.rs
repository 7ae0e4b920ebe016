//! Deleting a table with point-in-time recovery leaves a SYSTEM backup,
//! as DynamoDB does: `<table>$DeletedTableBackup`, listed by ListBackups
//! only with BackupType SYSTEM or ALL, with a BackupExpiryDateTime one
//! recovery period after the deletion, restorable with
//! RestoreTableFromBackup to the table as it was, and removed once the
//! period has passed (the `pitr_day_ms` knob shortens a day for this).
//! A table without PITR leaves none. Writes racing the deletion are each
//! either in the backup or refused.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeValue, BackupStatus, BackupSummary, BackupType, BackupTypeFilter,
    PointInTimeRecoverySpecification, TableStatus,
};
use common::values::scan_values;
use common::{Server, create_simple_table, fresh_data_dir};

const DAYS: i32 = 7;

async fn put_items(client: &Client, table: &str, count: usize) -> BTreeMap<String, String> {
    let mut expected = BTreeMap::new();
    for i in 0..count {
        let (pk, v) = (format!("k{i:03}"), format!("value-{i}"));
        client
            .put_item()
            .table_name(table)
            .item("pk", AttributeValue::S(pk.clone()))
            .item("v", AttributeValue::S(v.clone()))
            .send()
            .await
            .expect("put");
        expected.insert(pk, v);
    }
    expected
}

/// Enables point-in-time recovery on `table` with a `DAYS` period.
async fn enable_pitr(client: &Client, table: &str) {
    client
        .update_continuous_backups()
        .table_name(table)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .recovery_period_in_days(DAYS)
                .build()
                .expect("spec"),
        )
        .send()
        .await
        .expect("enable PITR");
}

async fn list(client: &Client, filter: Option<BackupTypeFilter>) -> Vec<BackupSummary> {
    client
        .list_backups()
        .set_backup_type(filter)
        .send()
        .await
        .expect("list backups")
        .backup_summaries()
        .to_vec()
}

async fn wait_gone(client: &Client, table: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .is_ok()
    {
        assert!(Instant::now() < deadline, "table {table} never went");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_status(client: &Client, arn: &str, wanted: BackupStatus) -> BackupType {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let d = client
            .describe_backup()
            .backup_arn(arn)
            .send()
            .await
            .expect("describe backup");
        let details = d
            .backup_description()
            .and_then(|b| b.backup_details())
            .expect("details");
        if details.backup_status() == &wanted {
            return details.backup_type().clone();
        }
        assert!(Instant::now() < deadline, "backup {arn} never {wanted:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
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
        if d.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return;
        }
        assert!(Instant::now() < deadline, "table {table} never ACTIVE");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn write_config(path: &Path, day_ms: Option<u64>) {
    let mut config = "pitr_tick_ms = 100\n".to_string();
    if let Some(ms) = day_ms {
        config.push_str(&format!("pitr_day_ms = {ms}\n"));
    }
    std::fs::write(path, config).expect("write test config");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_pitr_table_keeps_a_restorable_system_backup_for_its_period() {
    let config = fresh_data_dir("pitr-deleted-config").with_extension("toml");
    write_config(&config, None);
    let config_arg = config.display().to_string();
    let mut server = Server::start_with("pitr-deleted", 2, &["--config", config_arg.as_str()]);
    let client = server.client();
    create_simple_table(&client, "gone", None).await;
    create_simple_table(&client, "plain", None).await;
    let expected = put_items(&client, "gone", 120).await;
    put_items(&client, "plain", 10).await;
    enable_pitr(&client, "gone").await;
    let before_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    client
        .delete_table()
        .table_name("gone")
        .send()
        .await
        .expect("delete the PITR table");
    client
        .delete_table()
        .table_name("plain")
        .send()
        .await
        .expect("delete the plain table");
    wait_gone(&client, "gone").await;
    wait_gone(&client, "plain").await;

    assert!(
        list(&client, None).await.is_empty(),
        "USER is the default filter"
    );
    assert!(list(&client, Some(BackupTypeFilter::User)).await.is_empty());
    let system = list(&client, Some(BackupTypeFilter::System)).await;
    assert_eq!(
        system.len(),
        1,
        "one SYSTEM backup, of the PITR table: {system:?}"
    );
    assert_eq!(list(&client, Some(BackupTypeFilter::All)).await.len(), 1);
    let summary = &system[0];
    assert_eq!(summary.table_name(), Some("gone"));
    assert_eq!(summary.backup_name(), Some("gone$DeletedTableBackup"));
    assert_eq!(summary.backup_type(), Some(&BackupType::System));
    let created = summary
        .backup_creation_date_time()
        .and_then(|t| t.to_millis().ok())
        .expect("creation time");
    let expiry = summary
        .backup_expiry_date_time()
        .and_then(|t| t.to_millis().ok())
        .expect("a SYSTEM backup has an expiry");
    assert!(created >= before_ms - 1000, "cut at the deletion");
    let period = i64::from(DAYS) * 86_400_000;
    assert!(
        (expiry - created - period).abs() < 5_000,
        "expires one period later"
    );
    let arn = summary.backup_arn().expect("arn").to_string();
    assert_eq!(
        wait_status(&client, &arn, BackupStatus::Available).await,
        BackupType::System
    );

    client
        .restore_table_from_backup()
        .backup_arn(&arn)
        .target_table_name("back")
        .send()
        .await
        .expect("restore the deleted table");
    wait_active(&client, "back").await;
    assert_eq!(scan_values(&client, "back").await, expected);

    // Restarted with 1 ms days, the period is long over: the backup and
    // its folder go at the next maintenance pass.
    assert!(server.stop(), "clean stop");
    write_config(&config, Some(1));
    server.launch().expect("restart");
    let client = server.client();
    let id = arn.rsplit_once("/backup/").expect("id").1.to_string();
    let folder = server.data_dir.join("backups").join(&id);
    let deadline = Instant::now() + Duration::from_secs(120);
    while !list(&client, Some(BackupTypeFilter::All)).await.is_empty() || folder.exists() {
        assert!(Instant::now() < deadline, "the SYSTEM backup never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = std::fs::remove_file(&config);
}

/// Writes `w<writer>-<n>` until the first refusal; the keys acknowledged.
async fn write_until_refused(
    client: Client,
    writer: usize,
    acked: Arc<AtomicUsize>,
) -> Vec<String> {
    let mut keys = Vec::new();
    for n in 0..1_000_000 {
        let pk = format!("w{writer}-{n:06}");
        match client
            .put_item()
            .table_name("raced")
            .item("pk", AttributeValue::S(pk.clone()))
            .item("v", AttributeValue::S(pk.clone()))
            .send()
            .await
        {
            Ok(_) => {
                keys.push(pk);
                acked.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                assert_eq!(
                    e.code(),
                    Some("ResourceNotFoundException"),
                    "a write after the cut is refused as if the table were gone: {e:?}"
                );
                return keys;
            }
        }
    }
    panic!("writer {writer} was never refused");
}

/// Writes racing the DeleteTable of a PITR table: each is either in the
/// SYSTEM backup or refused — none is acknowledged and then lost. Without
/// the fence, writes landing between the backup's cut and the table
/// turning DELETING on their shard were acknowledged and missing (7 of
/// 228 in one run). The table stays DELETING for seconds, so the refusals
/// after the reply are checked while it still exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_write_acknowledged_after_the_system_backups_cut_is_lost() {
    let config = fresh_data_dir("pitr-raced-config").with_extension("toml");
    std::fs::write(&config, "table_status_transition_ms = 3000\n").expect("config");
    let config_arg = config.display().to_string();
    let server = Server::start_with("pitr-raced", 2, &["--config", config_arg.as_str()]);
    let client = server.client();
    create_simple_table(&client, "raced", None).await;
    wait_active(&client, "raced").await;
    enable_pitr(&client, "raced").await;
    let acked = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..4)
        .map(|w| tokio::spawn(write_until_refused(client.clone(), w, acked.clone())))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.load(Ordering::Relaxed) < 200 {
        assert!(Instant::now() < deadline, "the writers never got going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let deleted = client
        .delete_table()
        .table_name("raced")
        .send()
        .await
        .expect("delete the PITR table");
    assert_eq!(
        deleted.table_description().and_then(|d| d.table_status()),
        Some(&TableStatus::Deleting)
    );
    // Still DELETING (for seconds): writes and transactions are refused.
    let put = client
        .put_item()
        .table_name("raced")
        .item("pk", AttributeValue::S("late".into()))
        .send()
        .await
        .expect_err("a put after DeleteTable answered");
    assert_eq!(put.code(), Some("ResourceNotFoundException"), "{put:?}");
    let mut txn = client.transact_write_items();
    for i in 0..8 {
        txn = txn.transact_items(
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .put(
                    aws_sdk_dynamodb::types::Put::builder()
                        .table_name("raced")
                        .item("pk", AttributeValue::S(format!("txn-{i}")))
                        .build()
                        .expect("put"),
                )
                .build(),
        );
    }
    let txn = txn
        .send()
        .await
        .expect_err("a transaction after DeleteTable");
    assert_eq!(txn.code(), Some("ResourceNotFoundException"), "{txn:?}");
    let mut expected = BTreeMap::new();
    for writer in writers {
        for key in writer.await.expect("writer") {
            expected.insert(key.clone(), key);
        }
    }
    wait_gone(&client, "raced").await;

    let system = list(&client, Some(BackupTypeFilter::System)).await;
    assert_eq!(system.len(), 1, "{system:?}");
    let arn = system[0].backup_arn().expect("arn").to_string();
    wait_status(&client, &arn, BackupStatus::Available).await;
    client
        .restore_table_from_backup()
        .backup_arn(&arn)
        .target_table_name("raced-back")
        .send()
        .await
        .expect("restore");
    wait_active(&client, "raced-back").await;
    let restored = scan_values(&client, "raced-back").await;
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !restored.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes missing from the SYSTEM backup, e.g. {:?}",
        missing.len(),
        expected.len(),
        missing.first()
    );
    assert_eq!(restored, expected, "nothing unacknowledged in it either");
    let _ = std::fs::remove_file(&config);
}
