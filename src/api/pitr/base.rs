//! The coordinator side of point-in-time recovery: the bases of each PITR
//! table, the restorable window they give, and the maintenance pass that
//! takes new bases and trims what the recovery period no longer needs
//! (the module doc of `api::pitr` has the reasoning).

use std::rc::Rc;

use crate::api::backup::create::{self, Kind, now_ms};
use crate::api::backup::ensure_loaded;
use crate::api::messages::{MeshReply, MeshRequest, unexpected};
use crate::api::protocol::error::ApiError;
use crate::api::shard::backups::{BackupRecord, BackupStatus};
use crate::api::shard::peers::call_or_local;
use crate::api::shard::{COORDINATOR, Shard};
use crate::catalog::{PointInTime, TableDef, TableStatus};

/// The bases of table `table` cut since PITR was last enabled on it, oldest
/// first (CREATING ones included).
pub fn usable_bases(shard: &Shard, table: &TableDef) -> Vec<BackupRecord> {
    let Some(pitr) = table.pitr else {
        return Vec::new();
    };
    let mut bases: Vec<BackupRecord> = shard
        .backups
        .bases
        .borrow()
        .values()
        .filter(|b| b.table.id == table.id && usable(b, pitr))
        .cloned()
        .collect();
    bases.sort_by_key(cut_ms);
    bases
}

fn usable(base: &BackupRecord, pitr: PointInTime) -> bool {
    base.pitr_base
        .is_some_and(|b| b.cut_ms > 0 && b.cut_ms >= pitr.enabled_ms)
}

pub fn cut_ms(base: &BackupRecord) -> u64 {
    base.pitr_base.map_or(0, |b| b.cut_ms)
}

/// The recovery period of `pitr`, in ms.
pub fn period_ms(shard: &Shard, pitr: PointInTime) -> u64 {
    u64::from(pitr.recovery_period_days).saturating_mul(shard.settings.pitr.day_ms)
}

/// (earliest, latest) restorable times of `table` at `now_ms`; None while
/// no base is AVAILABLE (just enabled) or PITR is off.
pub fn window(shard: &Shard, table: &TableDef, now_ms: u64) -> Option<(u64, u64)> {
    let pitr = table.pitr?;
    let oldest = usable_bases(shard, table)
        .into_iter()
        .find(|b| b.status == BackupStatus::Available)?;
    let earliest = cut_ms(&oldest).max(now_ms.saturating_sub(period_ms(shard, pitr)));
    Some((earliest, now_ms.max(earliest)))
}

/// The base a restore of `table` to `until_ms` starts from: the newest
/// AVAILABLE one cut at or before it.
pub fn base_for(shard: &Shard, table: &TableDef, until_ms: u64) -> Option<BackupRecord> {
    usable_bases(shard, table)
        .into_iter()
        .rev()
        .find(|b| b.status == BackupStatus::Available && cut_ms(b) <= until_ms)
}

/// Cuts a new base of `table` (the copy continues in the background).
pub async fn take_base(shard: &Rc<Shard>, table: &TableDef) -> Result<BackupRecord, ApiError> {
    let table = shard
        .catalog()
        .table_by_id(table.id)
        .cloned()
        .ok_or_else(|| ApiError::internal("point-in-time base of a table that is gone"))?;
    create::start(shard, table, Kind::PitrBase).await
}

/// Starts the maintenance loop (coordinator only).
pub fn start(shard: &Rc<Shard>) {
    if shard.id != COORDINATOR {
        return;
    }
    let services = shard.services.clone();
    let shard = shard.clone();
    let task = async move {
        let tick = std::time::Duration::from_millis(shard.settings.pitr.tick_ms);
        loop {
            shard.services.sleep(tick).await;
            if shard.store.poisoned().is_some() {
                continue;
            }
            if let Err(e) = maintain(&shard).await {
                tracing::warn!(error = %e, "point-in-time recovery maintenance failed");
            }
        }
    };
    services.spawn_background(Box::pin(task));
}

/// One maintenance pass over every PITR table and every base.
pub async fn maintain(shard: &Rc<Shard>) -> Result<(), ApiError> {
    // Read once per process (bases of a table disabled before a restart
    // are found and dropped too).
    ensure_loaded(shard).await?;
    let catalog = shard.catalog();
    let now = now_ms();
    for table in catalog.tables.values() {
        if table.pitr.is_none() || table.status != TableStatus::Active {
            continue;
        }
        let bases = usable_bases(shard, table);
        let due = bases
            .last()
            .is_none_or(|b| now.saturating_sub(cut_ms(b)) >= shard.settings.pitr.base_interval_ms);
        let creating = bases.iter().any(|b| b.status == BackupStatus::Creating);
        if due && !creating {
            match take_base(shard, table).await {
                Ok(base) => {
                    tracing::info!(table = %table.name, base = %base.arn, "point-in-time base cut")
                }
                Err(e) => {
                    tracing::warn!(table = %table.name, error = %e, "point-in-time base failed; retried next pass")
                }
            }
        }
        trim_table(shard, table, now).await?;
    }
    expire_system_backups(shard, now).await;
    forget_unused(shard).await
}

/// SYSTEM backups (of deleted PITR tables) go at the end of their
/// recovery period, unless a restore is reading one (next pass, then).
async fn expire_system_backups(shard: &Rc<Shard>, now: u64) {
    let expired: Vec<BackupRecord> = shard
        .backups
        .records
        .borrow()
        .values()
        .filter(|r| r.status == BackupStatus::Available)
        .filter(|r| r.system.is_some_and(|s| s.expires_ms <= now))
        .filter(|r| !shard.backups.restoring.borrow().contains_key(&r.arn))
        .cloned()
        .collect();
    for record in expired {
        tracing::info!(backup = %record.arn, "system backup expired");
        create::forget(shard, &record).await;
    }
}

/// Keeps the newest AVAILABLE base cut before the window's start (or the
/// oldest one), trims the history it holds and deletes older bases.
async fn trim_table(shard: &Rc<Shard>, table: &TableDef, now: u64) -> Result<(), ApiError> {
    let Some(pitr) = table.pitr else {
        return Ok(());
    };
    let window_start = now.saturating_sub(period_ms(shard, pitr));
    let available: Vec<BackupRecord> = usable_bases(shard, table)
        .into_iter()
        .filter(|b| b.status == BackupStatus::Available)
        .collect();
    let keep = available
        .iter()
        .rev()
        .find(|b| cut_ms(b) <= window_start)
        .or(available.first());
    let Some(keep) = keep else {
        return Ok(());
    };
    if in_use(shard, table.id) {
        return Ok(());
    }
    for (to, file) in keep.files.iter().enumerate() {
        trim_shard(shard, to as u32, table.id, file.snapshot_seq).await?;
    }
    let older: Vec<BackupRecord> = shard
        .backups
        .bases
        .borrow()
        .values()
        .filter(|b| {
            b.table.id == table.id
                && b.status == BackupStatus::Available
                && cut_ms(b) < cut_ms(keep)
        })
        .cloned()
        .collect();
    for base in older {
        create::forget(shard, &base).await;
    }
    Ok(())
}

/// Bases of tables that no longer have PITR (disabled, or deleted) go,
/// with all of those tables' history.
async fn forget_unused(shard: &Rc<Shard>) -> Result<(), ApiError> {
    let catalog = shard.catalog();
    let unused: Vec<BackupRecord> = shard
        .backups
        .bases
        .borrow()
        .values()
        .filter(|b| b.status == BackupStatus::Available)
        .filter(|b| {
            catalog
                .table_by_id(b.table.id)
                .is_none_or(|t| t.pitr.is_none())
        })
        .cloned()
        .collect();
    for base in unused {
        if in_use(shard, base.table.id) {
            continue;
        }
        for to in 0..shard.map.shard_count() {
            trim_shard(shard, to, base.table.id, u64::MAX).await?;
        }
        tracing::info!(table = %base.table.name, base = %base.arn, "point-in-time history dropped");
        create::forget(shard, &base).await;
    }
    Ok(())
}

/// Whether a restore is reading a base of table `table_id`.
fn in_use(shard: &Shard, table_id: u32) -> bool {
    let bases = shard.backups.bases.borrow();
    shard
        .backups
        .restoring
        .borrow()
        .keys()
        .any(|arn| bases.get(arn).is_some_and(|b| b.table.id == table_id))
}

async fn trim_shard(
    shard: &Rc<Shard>,
    to: u32,
    table_id: u32,
    through: u64,
) -> Result<(), ApiError> {
    if to >= shard.map.shard_count() {
        return Ok(());
    }
    match call_or_local(shard, to, MeshRequest::PitrTrim { table_id, through }).await? {
        MeshReply::Done(r) => r,
        other => Err(unexpected(&other)),
    }
}
