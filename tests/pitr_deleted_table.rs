//! Deleting a table with point-in-time recovery leaves a SYSTEM backup,
//! as DynamoDB does: `<table>$DeletedTableBackup`, listed by ListBackups
//! only with BackupType SYSTEM or ALL, with a BackupExpiryDateTime one
//! recovery period after the deletion, restorable with
//! RestoreTableFromBackup to the table as it was, and removed once the
//! period has passed (the `pitr_day_ms` knob shortens a day for this).
//! A table without PITR leaves none.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
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
    client
        .update_continuous_backups()
        .table_name("gone")
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
