//! The coordinator's export and import registry on disk
//! (`<root>/.dynacore/{exports,imports}/<id>.json`, written atomically),
//! ids, and the limits and errors both operations share.

use std::rc::Rc;

use crate::api::protocol::error::ApiError;
use crate::api::shard::Shard;
use crate::api::shard::files::{FileDone, FileJob};
use crate::api::shard::transfers::{ExportRecord, ImportRecord};

const RECORDS_DIR: &str = ".dynacore";
/// Records listed at start-up at most (older ones beyond are not loaded).
const RECORDS_MAX: usize = 100_000;

pub async fn files(shard: &Shard, job: FileJob) -> Result<FileDone, ApiError> {
    shard.services.export_files(job).await
}

pub fn now_seconds() -> f64 {
    crate::api::backup::create::now_ms() as f64 / 1000.0
}

/// `<14-digit ms>-<8 hex>`, DynamoDB's export id shape.
pub fn new_id(seed: &str) -> String {
    let now_ms = crate::api::backup::create::now_ms();
    let backup_style = crate::api::backup::new_backup_id(seed, now_ms);
    let hash = backup_style.rsplit('-').next().unwrap_or("00000000");
    format!("{now_ms:014}-{hash}")
}

pub fn export_not_found(arn: &str) -> ApiError {
    ApiError::export_not_found(format!("Export not found: {arn}"))
}

pub fn import_not_found(arn: &str) -> ApiError {
    ApiError::import_not_found(format!("Import not found: {arn}"))
}

/// Loads the registry from `.dynacore/` once (coordinator). An export a
/// restart interrupted is FAILED (its files are partial); an import is
/// resumed (`import::resume`).
pub async fn ensure_loaded(shard: &Rc<Shard>) -> Result<(), ApiError> {
    let transfers = &shard.transfers;
    if transfers.loaded.get() {
        return Ok(());
    }
    let _load = shard.locks.lock(b"\0transfers-load".to_vec()).await;
    if transfers.loaded.get() {
        return Ok(());
    }
    for kind in ["exports", "imports"] {
        let dir = format!("{RECORDS_DIR}/{kind}");
        let FileDone::Names(names) = files(
            shard,
            FileJob::ListTree {
                path: dir.clone(),
                max: RECORDS_MAX,
            },
        )
        .await?
        else {
            return Err(ApiError::internal("transfer records listing"));
        };
        for path in names.into_iter().filter(|n| n.ends_with(".json")) {
            let FileDone::Bytes(mut bytes) =
                files(shard, FileJob::Read { path: path.clone() }).await?
            else {
                continue;
            };
            if kind == "exports" {
                let mut record: ExportRecord = simd_json::serde::from_slice(&mut bytes)
                    .map_err(|e| ApiError::internal(format!("export record {path}: {e}")))?;
                if record.status == crate::api::shard::transfers::TransferStatus::InProgress {
                    mark_interrupted(&mut record);
                    persist_export(shard, &record).await?;
                }
                transfers
                    .exports
                    .borrow_mut()
                    .insert(record.arn.clone(), record);
            } else {
                let record: ImportRecord = simd_json::serde::from_slice(&mut bytes)
                    .map_err(|e| ApiError::internal(format!("import record {path}: {e}")))?;
                transfers
                    .imports
                    .borrow_mut()
                    .insert(record.arn.clone(), record);
            }
        }
    }
    transfers.loaded.set(true);
    Ok(())
}

pub async fn persist_export(shard: &Shard, record: &ExportRecord) -> Result<(), ApiError> {
    let bytes = simd_json::to_vec_pretty(record)
        .map_err(|e| ApiError::internal(format!("export record: {e}")))?;
    let path = format!("{RECORDS_DIR}/exports/{}.json", record.id);
    files(shard, FileJob::WriteAtomically { path, bytes })
        .await
        .map(|_| ())
}

pub async fn persist_import(shard: &Shard, record: &ImportRecord) -> Result<(), ApiError> {
    let bytes = simd_json::to_vec_pretty(record)
        .map_err(|e| ApiError::internal(format!("import record: {e}")))?;
    let path = format!("{RECORDS_DIR}/imports/{}.json", record.id);
    files(shard, FileJob::WriteAtomically { path, bytes })
        .await
        .map(|_| ())
}

/// LimitExceededException past `transfer_operations_max` in progress.
pub fn check_operations(shard: &Shard) -> Result<(), ApiError> {
    let max = shard.settings.transfer_operations_max;
    if shard.transfers.operations.get() >= max {
        return Err(ApiError::limit_exceeded(format!(
            "Subscriber limit exceeded: There is a limit of {max} concurrent exports and imports"
        )));
    }
    Ok(())
}

/// A ClientToken is remembered for 8 hours, as DynamoDB's.
pub const CLIENT_TOKEN_SECONDS: f64 = 8.0 * 3600.0;

/// A record a restart found IN_PROGRESS: its files are partial.
pub fn mark_interrupted(record: &mut ExportRecord) {
    record.status = crate::api::shard::transfers::TransferStatus::Failed;
    record.end_time = Some(now_seconds());
    record.failure_code = Some("INTERNAL_ERROR".to_string());
    record.failure_message = Some("The export was interrupted by a server restart".to_string());
}
