//! On-demand backups: CreateBackup's consistent cut across all shards, the
//! data files, the registry of backups and restores from them.
//!
//! A backup is one instant of the whole table: the coordinator (shard 0)
//! closes the cut gate on every shard (`shard::cut`: no item change
//! applies, transactions wholly in or out), snapshots every shard (a
//! memtable rotation, no I/O), opens the gates, and only then, in the
//! background task queue, each shard copies the table's items of its
//! snapshot into a checksummed data file through the runtime's file jobs.
//! The foreground pays the short closed window and one memtable flush.
//!
//! Backups are copies (not links of SSTables, which hold other tables'
//! data too), so they survive the deletion of their table and may live on
//! another file system (`backup_dir`). Folder per backup:
//! `<id>/backup.json` (the record, written atomically last: a backup whose
//! record says CREATING after a restart was interrupted and is removed)
//! and `<id>/shard-NNN.data` (`format`). With an encryption key both are
//! sealed (`format` has the layout and nonce scheme).

pub mod create;
pub mod describe;
pub mod format;
pub mod overrides;
pub mod restore;

use std::rc::Rc;

use crate::api::messages::{BackupFileInfo, MeshReply, MeshRequest};
use crate::api::protocol::error::ApiError;
use crate::api::shard::Shard;
use crate::api::shard::backups::{BackupRecord, BackupStatus};
use crate::api::shard::files::{FileDone, FileJob};
use crate::model::key::{prefix_end, table_prefix};

pub const RECORD_FILE: &str = "backup.json";

/// Serves the backup mesh messages on this shard.
pub async fn serve(shard: &Rc<Shard>, request: MeshRequest) -> MeshReply {
    match request {
        MeshRequest::BackupCut { close: true, .. } => {
            let closed = async {
                shard.cut.close().await;
                true
            };
            let expired = async {
                shard.services.sleep(shard.settings.backup_cut_wait).await;
                false
            };
            if futures_lite::future::or(closed, expired).await {
                MeshReply::Done(Ok(()))
            } else {
                shard.cut.open();
                MeshReply::Done(Err(ApiError::internal(
                    "backup cut: transactions did not finish in time",
                )))
            }
        }
        MeshRequest::BackupCut {
            close: false,
            fence,
        } => {
            match fence {
                Some(table) => {
                    let catalog = shard.catalog();
                    shard
                        .cut
                        .open_fencing(table, |t| catalog.table_by_id(t).is_some());
                }
                None => shard.cut.open(),
            }
            MeshReply::Done(Ok(()))
        }
        MeshRequest::BackupUnfence { table_id } => {
            shard.cut.unfence(table_id);
            MeshReply::Done(Ok(()))
        }
        MeshRequest::BackupSnapshot { backup } => match shard.store.snapshot() {
            Ok(snapshot) => {
                shard
                    .backups
                    .snapshots
                    .borrow_mut()
                    .insert(backup, Rc::new(snapshot));
                MeshReply::Done(Ok(()))
            }
            Err(e) => MeshReply::Done(Err(e.into())),
        },
        MeshRequest::BackupRelease { backup } => {
            shard.backups.snapshots.borrow_mut().remove(&backup);
            MeshReply::Done(Ok(()))
        }
        MeshRequest::BackupWrite {
            backup,
            table_id,
            path,
        } => {
            let snapshot = shard.backups.snapshots.borrow_mut().remove(&backup);
            let Some(snapshot) = snapshot else {
                return MeshReply::BackupFile(Err(ApiError::internal(format!(
                    "no snapshot for backup {backup} on shard {}",
                    shard.id
                ))));
            };
            // The copy runs in the background task queue; this handler
            // only waits for its result.
            let (done, result) = futures_channel::oneshot::channel();
            let task_shard = shard.clone();
            shard.services.spawn_background(Box::pin(async move {
                let written = write_file(&task_shard, &snapshot, table_id, &path).await;
                let _ = done.send(written);
            }));
            match result.await {
                Ok(written) => MeshReply::BackupFile(written),
                Err(_) => MeshReply::BackupFile(Err(ApiError::internal("backup writer dropped"))),
            }
        }
        _ => MeshReply::Done(Err(ApiError::internal("not a backup message"))),
    }
}

/// Copies the table's items of `snapshot` into the data file at `path`.
async fn write_file(
    shard: &Rc<Shard>,
    snapshot: &crate::engine::Snapshot<crate::engine::io::either::EitherFs>,
    table_id: u32,
    path: &str,
) -> Result<BackupFileInfo, ApiError> {
    // What the snapshot holds must survive a crash before the backup may
    // be AVAILABLE.
    shard.store.durable_marker()?.wait().await?;
    files(shard, FileJob::Create { path: path.into() }).await?;
    let prefix = table_prefix(table_id);
    let upper = prefix_end(&prefix);
    let chunk = shard.settings.backup_chunk_bytes;
    let mut writer = format::Writer::new(shard.settings.backup_key.as_deref(), path)?;
    let mut out = Vec::new();
    let mut info = BackupFileInfo {
        path: path.to_string(),
        bytes: 0,
        items: 0,
        crc32c: 0,
        snapshot_seq: snapshot.seq,
    };
    let pace = Pace::start(shard.settings.backup_copy_bytes_per_s);
    let mut after: Option<Vec<u8>> = None;
    loop {
        let lower = match &after {
            Some(k) => std::ops::Bound::Excluded(k.as_slice()),
            None => std::ops::Bound::Included(prefix.as_slice()),
        };
        let upper = crate::api::messages::as_ref_bound(&upper);
        let page = snapshot.scan(lower, upper, 1024, chunk).await?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        for (_, value) in &page {
            format::push_record(&mut out, value);
            info.items += 1;
        }
        if out.len() >= chunk {
            let bytes = writer.encode(std::mem::take(&mut out))?;
            flush_chunk(shard, path, bytes, &mut info).await?;
            // Synced chunk by chunk: the page cache never holds a whole
            // table's worth of dirty pages for one writeback burst.
            files(shard, FileJob::Sync { path: path.into() }).await?;
            pace.wait(shard, info.bytes).await;
        }
    }
    let mut bytes = writer.encode(out)?;
    bytes.extend(writer.finish()?);
    flush_chunk(shard, path, bytes, &mut info).await?;
    files(shard, FileJob::Sync { path: path.into() }).await?;
    Ok(info)
}

/// Spreads a copy over time (`backup_copy_bytes_per_s`): once `bytes` are
/// written it waits until `bytes / rate` seconds have passed since the
/// start, so a backup takes disk bandwidth and shard time from requests at
/// a bounded rate rather than all at once.
struct Pace {
    started: std::time::Instant,
    bytes_per_s: u64,
}

impl Pace {
    fn start(bytes_per_s: u64) -> Pace {
        Pace {
            started: std::time::Instant::now(),
            bytes_per_s,
        }
    }

    async fn wait(&self, shard: &Shard, bytes: u64) {
        if self.bytes_per_s == 0 {
            return;
        }
        let due = std::time::Duration::from_secs_f64(bytes as f64 / self.bytes_per_s as f64);
        if let Some(ahead) = due.checked_sub(self.started.elapsed()) {
            shard.services.sleep(ahead).await;
        }
    }
}

/// Appends `bytes` (the file's, as `format::Writer` encoded them).
async fn flush_chunk(
    shard: &Shard,
    path: &str,
    bytes: Vec<u8>,
    info: &mut BackupFileInfo,
) -> Result<(), ApiError> {
    if bytes.is_empty() {
        return Ok(());
    }
    info.crc32c = crc32c::crc32c_append(info.crc32c, &bytes);
    info.bytes += bytes.len() as u64;
    files(
        shard,
        FileJob::Append {
            path: path.into(),
            bytes,
        },
    )
    .await
    .map(|_| ())
}

pub async fn files(shard: &Shard, job: FileJob) -> Result<FileDone, ApiError> {
    shard.services.files(job).await
}

/// Loads the registry from the backup directory once (coordinator).
/// Backups a crash left CREATING are removed: their files are partial.
pub async fn ensure_loaded(shard: &Rc<Shard>) -> Result<(), ApiError> {
    if shard.backups.loaded.get() {
        return Ok(());
    }
    let _load = shard.locks.lock(b"\0backups-load".to_vec()).await;
    if shard.backups.loaded.get() {
        return Ok(());
    }
    let FileDone::Names(names) = files(
        shard,
        FileJob::List {
            path: String::new(),
        },
    )
    .await?
    else {
        return Err(ApiError::internal("backup directory listing"));
    };
    for name in names {
        let path = format!("{name}/{RECORD_FILE}");
        let bytes = match files(shard, FileJob::Read { path: path.clone() }).await {
            Ok(FileDone::Bytes(bytes)) => bytes,
            // No record: a backup interrupted before its record was written.
            _ => {
                files(shard, FileJob::RemoveAll { path: name }).await?;
                continue;
            }
        };
        let mut bytes = format::open_record(shard.settings.backup_key.as_deref(), &path, bytes)?;
        let mut record: BackupRecord = simd_json::serde::from_slice(&mut bytes)
            .map_err(|e| ApiError::internal(format!("backup record {path}: {e}")))?;
        if let Some(system) = &mut record.system {
            system.derive_expiry(shard.settings.pitr.day_ms);
        }
        if record.status != BackupStatus::Available {
            files(shard, FileJob::RemoveAll { path: name }).await?;
            continue;
        }
        shard
            .backups
            .registry(&record)
            .borrow_mut()
            .insert(record.arn.clone(), record);
    }
    shard.backups.loaded.set(true);
    Ok(())
}

/// Writes a backup's record (atomically).
pub async fn persist(shard: &Shard, record: &BackupRecord) -> Result<(), ApiError> {
    let bytes = simd_json::to_vec_pretty(record)
        .map_err(|e| ApiError::internal(format!("backup record: {e}")))?;
    let path = format!("{}/{RECORD_FILE}", record.id);
    let bytes = format::seal_record(shard.settings.backup_key.as_deref(), &path, bytes)?;
    files(shard, FileJob::WriteAtomically { path, bytes })
        .await
        .map(|_| ())
}

/// `<13-digit ms>-<8 hex>`, unique per coordinator.
pub fn new_backup_id(table: &str, now_ms: u64) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    let mut seed = table.as_bytes().to_vec();
    seed.extend_from_slice(&now_ms.to_le_bytes());
    seed.extend_from_slice(&nanos.to_le_bytes());
    seed.extend_from_slice(&n.to_le_bytes());
    let hash = xxhash_rust::xxh3::xxh3_64(&seed) as u32;
    format!("{now_ms:013}-{hash:08x}")
}

/// A backup's ARN: the table's ARN, `/backup/`, its id.
pub fn backup_arn(table_arn: &str, id: &str) -> String {
    format!("{table_arn}/backup/{id}")
}

pub fn backup_not_found(arn: &str) -> ApiError {
    ApiError::backup_not_found(format!("Backup not found: {arn}"))
}

/// The backup a request names, if the registry knows it.
pub async fn find(shard: &Rc<Shard>, arn: &str) -> Result<BackupRecord, ApiError> {
    ensure_loaded(shard).await?;
    shard
        .backups
        .records
        .borrow()
        .get(arn)
        .cloned()
        .ok_or_else(|| backup_not_found(arn))
}
