//! Backups under encryption at rest (`--encryption-key-file`), through
//! the real binary: the backup folder (user backups and point-in-time
//! recovery bases, data files and `backup.json`) holds no plaintext item
//! value or table name; restores from a sealed backup and a sealed base
//! round-trip; a flipped byte in a sealed data file fails the restore with
//! an error naming the file and the offset, and creates no table.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PointInTimeRecoverySpecification, TableStatus};
use common::values::{failure, scan_values};
use common::wait::wait_available;
use common::{Server, create_simple_table, fresh_data_dir};

const TABLE: &str = "sealedbackupsource";
/// Every stored value starts with it; no backup file may hold it in the clear.
const MARKER: &str = "PLAINTEXT-MARKER-";
const ITEMS: usize = 300;

fn keygen(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("key dir");
    let path = dir.join("master.key");
    let _ = std::fs::remove_file(&path);
    let status = Command::new(env!("CARGO_BIN_EXE_dynacore"))
        .arg("keygen")
        .arg(&path)
        .status()
        .expect("run keygen");
    assert!(status.success());
    path
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|p| {
            std::fs::read(p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
        .collect()
}

fn value(i: usize) -> String {
    format!("{MARKER}{i}-{}", "y".repeat(100))
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

/// Waits until the PITR window is open (a base is AVAILABLE).
async fn wait_window(client: &Client, table: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = client
            .describe_continuous_backups()
            .table_name(table)
            .send()
            .await
            .expect("describe continuous backups");
        let open = out
            .continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description())
            .and_then(|p| p.latest_restorable_date_time())
            .is_some();
        if open {
            return;
        }
        assert!(Instant::now() < deadline, "the PITR window never opened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_backups_hold_no_plaintext_round_trip_and_refuse_a_flipped_byte() {
    let keys = fresh_data_dir("sealed-backup-keys");
    let key = keygen(&keys);
    let key_arg = key.display().to_string();
    let mut server = Server::start_with(
        "sealed-backups",
        2,
        &["--encryption-key-file", key_arg.as_str()],
    );
    let client = server.client();
    create_simple_table(&client, TABLE, None).await;
    let mut expected = BTreeMap::new();
    for i in 0..ITEMS {
        let pk = format!("k{i:04}");
        client
            .put_item()
            .table_name(TABLE)
            .item("pk", AttributeValue::S(pk.clone()))
            .item("v", AttributeValue::S(value(i)))
            .send()
            .await
            .expect("put");
        expected.insert(pk, value(i));
    }
    client
        .update_continuous_backups()
        .table_name(TABLE)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .expect("spec"),
        )
        .send()
        .await
        .expect("enable PITR");
    wait_window(&client, TABLE).await;
    let arn = client
        .create_backup()
        .table_name(TABLE)
        .backup_name("sealed")
        .send()
        .await
        .expect("create backup")
        .backup_details()
        .expect("details")
        .backup_arn()
        .to_string();
    wait_available(&client, &arn).await;

    let backups = server.data_dir.join("backups");
    let all = files(&backups);
    let id = arn
        .rsplit_once("/backup/")
        .expect("backup id")
        .1
        .to_string();
    assert!(
        all.iter()
            .any(|p| p.ends_with(format!("{id}/shard-001.data")))
    );
    let base_data = all.iter().any(|p| {
        p.extension().is_some_and(|e| e == "data")
            && p.parent()
                .and_then(|d| d.file_name())
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("pitr-"))
    });
    assert!(base_data, "a PITR base was written: {all:?}");
    assert_eq!(files_holding(&backups, MARKER), Vec::<PathBuf>::new());
    assert_eq!(files_holding(&backups, TABLE), Vec::<PathBuf>::new());

    client
        .restore_table_from_backup()
        .backup_arn(&arn)
        .target_table_name("fromsealed")
        .send()
        .await
        .expect("restore");
    wait_active(&client, "fromsealed").await;
    assert_eq!(scan_values(&client, "fromsealed").await, expected);
    client
        .restore_table_to_point_in_time()
        .source_table_name(TABLE)
        .target_table_name("fromsealedbase")
        .use_latest_restorable_time(true)
        .send()
        .await
        .expect("restore to a point in time");
    wait_active(&client, "fromsealedbase").await;
    assert_eq!(scan_values(&client, "fromsealedbase").await, expected);

    // One flipped byte in the first sealed unit of a data file: it starts
    // after the magic (8 bytes) and the wrapped file key (68), at offset 76,
    // with an 8-byte header (length, kind) before its ciphertext.
    server.kill();
    let file = backups.join(&id).join("shard-001.data");
    let mut bytes = std::fs::read(&file).expect("backup data file");
    assert_eq!(&bytes[..8], b"DCBKSEA1");
    bytes[76 + 8 + 20] ^= 0x01;
    std::fs::write(&file, bytes).expect("damage");
    server.launch().expect("restart");
    let client = server.client();
    let (status, body) = server.call(
        "RestoreTableFromBackup",
        &format!(r#"{{"BackupArn":"{arn}","TargetTableName":"fromflipped"}}"#),
    );
    assert_eq!(status, 500, "{body}");
    let (code, _) = failure(
        client
            .describe_table()
            .table_name("fromflipped")
            .send()
            .await,
    );
    assert_eq!(
        code, "ResourceNotFoundException",
        "a damaged backup created a table"
    );
    let mut log = String::new();
    if let Some(mut child) = server.child.take() {
        let _ = child.kill();
        let _ = child.wait();
        if let Some(mut stderr) = child.stderr.take() {
            let _ = stderr.read_to_string(&mut log);
        }
    }
    let named = format!("backup file {id}/shard-001.data is damaged: sealed unit at offset 76");
    assert!(
        log.contains(&named),
        "the log names the file and offset:\n{log}"
    );
    let _ = std::fs::remove_dir_all(&keys);
}
