//! Waiting for what is eventually true: a GSI catching up, an index
//! becoming ACTIVE.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{BackupStatus, IndexStatus, TableDescription};

/// Polls `check` until it holds (a GSI catching up) or 15 s pass.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match check().await {
            Ok(()) => return,
            Err(last) if Instant::now() > deadline => panic!("{what}: {last}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The table's description (panics if DescribeTable fails).
pub async fn describe(client: &Client, table: &str) -> TableDescription {
    client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("describe")
        .table()
        .expect("table")
        .clone()
}

/// Polls DescribeTable until `index` has `status`; false after 20 s.
pub async fn wait_for_index(
    client: &Client,
    table: &str,
    index: &str,
    status: IndexStatus,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let described = describe(client, table).await;
        let current = described
            .global_secondary_indexes()
            .iter()
            .find(|g| g.index_name() == Some(index))
            .and_then(|g| g.index_status().cloned());
        if current.as_ref() == Some(&status) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Polls DescribeBackup until the backup is AVAILABLE; panics after 120 s.
pub async fn wait_available(client: &Client, arn: &str) {
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
        if details.backup_status() == &BackupStatus::Available {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "backup {arn} never became AVAILABLE"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
