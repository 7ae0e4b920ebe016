//! CreateBackup on the coordinator: register, cut every shard at one
//! instant (inside the request, so the backup holds every write
//! acknowledged before CreateBackup was answered), then copy in the
//! background and mark the backup AVAILABLE.
//!
//! Crash reasoning: the record is written CREATING before any file; if we
//! crash before the final AVAILABLE record, the next start-up removes the
//! folder (`ensure_loaded`), so no half-written backup is ever offered.

use std::rc::Rc;
use std::sync::Arc;

use crate::api::backup::{backup_arn, ensure_loaded, files, new_backup_id, persist};
use crate::api::messages::{MeshReply, MeshRequest, unexpected};
use crate::api::protocol::error::ApiError;
use crate::api::shard::Shard;
use crate::api::shard::backups::{BackupRecord, BackupStatus, PitrBase, SystemBackup};
use crate::api::shard::files::FileJob;
use crate::api::shard::peers::call_or_local;
use crate::api::table::describe::table_arn;
use crate::api::txn::join::join_all;
use crate::catalog::TableDef;

/// Attempts at a cut before the backup fails.
const CUT_ATTEMPTS: usize = 3;

/// What a cut is for.
pub enum Kind {
    /// CreateBackup, with the backup's name.
    User(String),
    /// A point-in-time recovery base (`api::pitr`).
    PitrBase,
    /// DeleteTable of a table with point-in-time recovery: the SYSTEM
    /// backup `<table>$DeletedTableBackup`, kept for the table's recovery
    /// period.
    System { recovery_period_days: u32 },
}

/// DynamoDB's name for the SYSTEM backup of a deleted table.
pub const DELETED_TABLE_SUFFIX: &str = "$DeletedTableBackup";

/// Registers and cuts a backup of `table`; the copy continues in the
/// background. Returns the CREATING record.
pub async fn start(
    shard: &Rc<Shard>,
    table: Arc<TableDef>,
    kind: Kind,
) -> Result<BackupRecord, ApiError> {
    ensure_loaded(shard).await?;
    let backups = &shard.backups;
    // A SYSTEM backup is part of a DeleteTable, which DynamoDB never
    // refuses for the backup limit; one per table deletion bounds them.
    let is_system = matches!(kind, Kind::System { .. });
    if !is_system && backups.operations.get() >= shard.settings.backup_operations_max {
        return Err(ApiError::limit_exceeded(format!(
            "Subscriber limit exceeded: There is a limit of {} concurrent backup and restore operations",
            shard.settings.backup_operations_max
        )));
    }
    let now_ms = now_ms();
    let table_arn = table_arn(shard, &table.name);
    let mut system = None;
    let (id, arn, name, pitr_base) = match kind {
        Kind::User(name) => {
            let id = new_backup_id(&table.name, now_ms);
            (id.clone(), backup_arn(&table_arn, &id), name, None)
        }
        Kind::System {
            recovery_period_days,
        } => {
            let day_ms = shard.settings.pitr.day_ms;
            system = Some(SystemBackup::new(now_ms, recovery_period_days, day_ms));
            let id = new_backup_id(&table.name, now_ms);
            let name = format!("{}{DELETED_TABLE_SUFFIX}", table.name);
            (id.clone(), backup_arn(&table_arn, &id), name, None)
        }
        Kind::PitrBase => {
            // Its own folder prefix and ARN path: never a user backup's.
            let id = format!("pitr-{}", new_backup_id(&table.name, now_ms));
            let arn = format!("{table_arn}/pitr-base/{id}");
            (id, arn, String::new(), Some(PitrBase { cut_ms: 0 }))
        }
    };
    let mut record = BackupRecord {
        arn,
        name,
        id: id.clone(),
        table_arn,
        table: (*table).clone(),
        created_at: now_ms as f64 / 1000.0,
        status: BackupStatus::Creating,
        bytes: 0,
        items: 0,
        files: Vec::new(),
        pitr_base,
        system,
    };
    persist(shard, &record).await?;
    backups.operations.set(backups.operations.get() + 1);
    backups
        .registry(&record)
        .borrow_mut()
        .insert(record.arn.clone(), record.clone());
    // A deleted table's backup is its last: writes stop at the cut.
    let fence = is_system.then_some(table.id);
    if let Err(e) = cut(shard, &id, fence).await {
        backups.operations.set(backups.operations.get() - 1);
        forget(shard, &record).await;
        return Err(e);
    }
    if let Some(base) = &mut record.pitr_base {
        // After the gates opened: every change in the snapshots was
        // applied before this instant.
        base.cut_ms = self::now_ms();
        backups
            .registry(&record)
            .borrow_mut()
            .insert(record.arn.clone(), record.clone());
    }
    let task_shard = shard.clone();
    let task_record = record.clone();
    shard.services.spawn(Box::pin(async move {
        copy(&task_shard, task_record).await;
    }));
    Ok(record)
}

/// Closes every shard's gate, snapshots every shard (each keeps the
/// snapshot under `id` in `backups.snapshots`), opens the gates. Exports
/// cut the same way. Each step goes to all shards at once: the gates stay
/// closed (writes wait) for the slowest shard's round trip, not the sum.
/// With `fence`, the opens of the cut that succeeds fence that table
/// (`shard::cut`): nothing is written to it after this instant.
pub async fn cut(shard: &Rc<Shard>, id: &str, fence: Option<u32>) -> Result<(), ApiError> {
    let shards = shard.map.shard_count();
    let mut last = None;
    for _ in 0..CUT_ATTEMPTS {
        let closes = fan_out(shard, shards, |_| MeshRequest::BackupCut {
            close: true,
            fence: None,
        })
        .await;
        let closed: Vec<u32> = (0..shards)
            .zip(&closes)
            .filter(|(_, reply)| reply.is_ok())
            .map(|(to, _)| to)
            .collect();
        let mut failed = closes.into_iter().find_map(Result::err);
        if failed.is_none() {
            // Every shard is closed: no change applies anywhere until the
            // gates open, so these snapshots are one instant.
            let snapshots = fan_out(shard, shards, |_| MeshRequest::BackupSnapshot {
                backup: id.to_string(),
            })
            .await;
            failed = snapshots.into_iter().find_map(Result::err);
        }
        // Fenced only if every shard snapshotted (a failed cut fences
        // nothing); every shard is closed then, so every shard fences.
        let fence = fence.filter(|_| failed.is_none());
        let opens = closed.into_iter().map(|to| {
            let shard = shard.clone();
            Box::pin(async move {
                let open = MeshRequest::BackupCut {
                    close: false,
                    fence,
                };
                let _ = call_or_local(&shard, to, open).await;
            }) as crate::api::shard::LocalFuture<()>
        });
        join_all(opens.collect()).await;
        match failed {
            None => return Ok(()),
            Some(e) => last = Some(e),
        }
    }
    // The shards that did snapshot before the failure hold theirs.
    release(shard, id).await;
    Err(last.unwrap_or_else(|| ApiError::internal("backup cut failed")))
}

/// Lifts `table`'s fence on every shard (its deletion failed after the
/// cut of its SYSTEM backup).
pub async fn unfence(shard: &Rc<Shard>, table: u32) {
    let replies = fan_out(shard, shard.map.shard_count(), |_| {
        MeshRequest::BackupUnfence { table_id: table }
    })
    .await;
    for (to, reply) in replies.into_iter().enumerate() {
        if let Err(e) = reply {
            tracing::warn!(table, shard = to, error = %e, "could not lift a write fence");
        }
    }
}

/// `request(to)` to every shard at once; each reply as `done` reads it.
async fn fan_out(
    shard: &Rc<Shard>,
    shards: u32,
    request: impl Fn(u32) -> MeshRequest,
) -> Vec<Result<(), ApiError>> {
    let calls = (0..shards)
        .map(|to| {
            let (shard, request) = (shard.clone(), request(to));
            Box::pin(async move { done(call_or_local(&shard, to, request).await) })
                as crate::api::shard::LocalFuture<_>
        })
        .collect();
    join_all(calls).await
}

/// Drops every shard's snapshot of `id` (a cut or a copy that failed; a
/// shard whose writer already took its snapshot holds none). A snapshot
/// pins memtables and table files, so none may outlive its backup.
pub async fn release(shard: &Rc<Shard>, id: &str) {
    for to in 0..shard.map.shard_count() {
        let request = MeshRequest::BackupRelease {
            backup: id.to_string(),
        };
        if let Err(e) = done(call_or_local(shard, to, request).await) {
            tracing::warn!(backup = %id, shard = to, error = %e, "could not release a backup snapshot");
        }
    }
}

fn done(reply: Result<MeshReply, ApiError>) -> Result<(), ApiError> {
    match reply? {
        MeshReply::Done(r) => r,
        other => Err(unexpected(&other)),
    }
}

/// Every shard writes its file (background queue); then the record.
async fn copy(shard: &Rc<Shard>, mut record: BackupRecord) {
    let calls = (0..shard.map.shard_count())
        .map(|to| {
            let shard = shard.clone();
            let request = MeshRequest::BackupWrite {
                backup: record.id.clone(),
                table_id: record.table.id,
                path: format!("{}/shard-{to:03}.data", record.id),
            };
            Box::pin(async move { call_or_local(&shard, to, request).await })
                as crate::api::shard::LocalFuture<_>
        })
        .collect();
    let mut failed = None;
    for reply in join_all(calls).await {
        match reply {
            Ok(MeshReply::BackupFile(Ok(file))) => {
                record.bytes += file.bytes;
                record.items += file.items;
                record.files.push(file);
            }
            Ok(MeshReply::BackupFile(Err(e))) | Err(e) => {
                failed.get_or_insert(e);
            }
            Ok(other) => {
                failed.get_or_insert(unexpected(&other));
            }
        }
    }
    if failed.is_some() {
        // A shard whose BackupWrite never arrived still holds its snapshot.
        release(shard, &record.id).await;
    }
    if failed.is_none() {
        record.status = BackupStatus::Available;
        if let Err(e) = persist(shard, &record).await {
            failed = Some(e);
        }
    }
    let backups = &shard.backups;
    backups.operations.set(backups.operations.get() - 1);
    match failed {
        None => {
            tracing::info!(backup = %record.arn, items = record.items, bytes = record.bytes, "backup available");
            backups
                .registry(&record)
                .borrow_mut()
                .insert(record.arn.clone(), record);
        }
        Some(e) => {
            tracing::error!(backup = %record.arn, error = %e, "backup failed; removed");
            forget(shard, &record).await;
        }
    }
}

/// Removes a backup that will never be AVAILABLE (or a PITR base no
/// longer needed).
pub async fn forget(shard: &Shard, record: &BackupRecord) {
    shard
        .backups
        .registry(record)
        .borrow_mut()
        .remove(&record.arn);
    if let Err(e) = files(
        shard,
        FileJob::RemoveAll {
            path: record.id.clone(),
        },
    )
    .await
    {
        tracing::warn!(backup = %record.arn, error = %e, "could not remove a failed backup's files");
    }
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}
