//! RestoreTableFromBackup on the coordinator: verify the backup whole
//! (sizes, item counts, CRC-32C of every file and record) before anything
//! is created, create the target table CREATING with a RestoreSummary in
//! progress, load the items through the one write path (so local and
//! global indexes are maintained as for any write), then make it ACTIVE.
//!
//! Crash reasoning: the table is in the catalog before the load starts
//! and stays CREATING (`catalog::follow_up` leaves a restore in progress
//! alone); at start-up [`resume`] loads it again from the backup. Puts of
//! the same items are idempotent, so a repeated load ends in the same
//! table.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::api::backup::format::{Reader, corrupt};
use crate::api::backup::{ensure_loaded, files, find};
use crate::api::messages::{BackupFileInfo, MeshReply, MeshRequest, unexpected};
use crate::api::protocol::error::ApiError;
use crate::api::shard::Shard;
use crate::api::shard::backups::{BackupRecord, BackupStatus};
use crate::api::shard::files::{FileDone, FileJob};
use crate::api::shard::peers::call_or_local;
use crate::api::table::ddl::submit;
use crate::api::table::key::key_of_item;
use crate::catalog::{CatalogCommand, TableDef};
use crate::engine::WriteBatch;
use crate::model::codec::decode_item;

/// Items sent to one owner per write batch.
const BATCH_ITEMS_MAX: usize = 64;

/// The usable backup named `arn`: AVAILABLE, else BackupInUseException.
pub async fn available(shard: &Rc<Shard>, arn: &str) -> Result<BackupRecord, ApiError> {
    let record = find(shard, arn).await?;
    if record.status != BackupStatus::Available {
        return Err(ApiError::backup_in_use(format!(
            "Backup is being created: {arn}"
        )));
    }
    Ok(record)
}

/// Reads every file of `record` through the checks; `each` gets the items.
async fn read_all(
    shard: &Shard,
    record: &BackupRecord,
    mut each: impl AsyncItems,
) -> Result<(), ApiError> {
    for file in &record.files {
        read_file(shard, file, &mut each).await?;
    }
    Ok(())
}

/// Reads one data file through the checks (every record's CRC, then the
/// size, item count and CRC the record names), a chunk at a time through
/// file jobs; `each` gets the items.
pub(crate) async fn read_file(
    shard: &Shard,
    file: &BackupFileInfo,
    each: &mut impl AsyncItems,
) -> Result<(), ApiError> {
    let chunk = shard.settings.backup_chunk_bytes as u64;
    let mut reader = Reader::new(shard.settings.backup_key.clone());
    let mut offset = 0u64;
    loop {
        let job = FileJob::ReadAt {
            path: file.path.clone(),
            offset,
            len: chunk,
        };
        let bytes = match files(shard, job).await? {
            FileDone::Bytes(bytes) => bytes,
            _ => return Err(ApiError::internal("backup read")),
        };
        if bytes.is_empty() {
            break;
        }
        offset += bytes.len() as u64;
        let items = reader.feed(&file.path, &bytes)?;
        each.items(items).await?;
        if offset > file.bytes {
            break;
        }
    }
    reader.finish(&file.path)?;
    if reader.bytes != file.bytes || reader.items != file.items || reader.file_crc != file.crc32c {
        return Err(corrupt(
            &file.path,
            &format!(
                "{} bytes, {} items, crc {:08x}; the record says {} bytes, {} items, crc {:08x}",
                reader.bytes, reader.items, reader.file_crc, file.bytes, file.items, file.crc32c
            ),
        ));
    }
    Ok(())
}

/// What `read_all` and `read_file` feed items to.
pub(crate) trait AsyncItems {
    async fn items(&mut self, items: Vec<Vec<u8>>) -> Result<(), ApiError>;
}

struct Verify;

impl AsyncItems for Verify {
    async fn items(&mut self, _items: Vec<Vec<u8>>) -> Result<(), ApiError> {
        Ok(())
    }
}

/// Checks every byte of the backup against its checksums.
pub async fn verify(shard: &Shard, record: &BackupRecord) -> Result<(), ApiError> {
    read_all(shard, record, Verify).await
}

struct Load<'a> {
    shard: &'a Rc<Shard>,
    table: Arc<TableDef>,
}

impl AsyncItems for Load<'_> {
    async fn items(&mut self, items: Vec<Vec<u8>>) -> Result<(), ApiError> {
        let mut by_owner: BTreeMap<u32, WriteBatch> = BTreeMap::new();
        for bytes in items {
            let item = decode_item(&bytes)?;
            let key = key_of_item(self.shard, &self.table, &item)?;
            by_owner
                .entry(key.owner)
                .or_default()
                .push((key.storage, Some(bytes)));
        }
        write_by_owner(self.shard, by_owner).await
    }
}

/// Writes each owner's batch (puts and deletes) through the write path, in
/// bounded pieces, and waits until they are durable.
pub async fn write_by_owner(
    shard: &Rc<Shard>,
    by_owner: BTreeMap<u32, WriteBatch>,
) -> Result<(), ApiError> {
    for (owner, batch) in by_owner {
        let mut batch = batch;
        while !batch.is_empty() {
            let rest = batch.split_off(batch.len().min(BATCH_ITEMS_MAX));
            let request = MeshRequest::Write {
                batch,
                measure: false,
            };
            match call_or_local(shard, owner, request).await? {
                MeshReply::Written(r) => {
                    r?;
                }
                other => return Err(unexpected(&other)),
            }
            batch = rest;
        }
    }
    Ok(())
}

/// Where a restore's items come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// RestoreTableFromBackup.
    Backup(BackupRecord),
    /// RestoreTableToPointInTime: a PITR base, then each shard's history of
    /// table `table_id` after the base, up to `until_ms` (`api::pitr`).
    PointInTime {
        base: BackupRecord,
        table_id: u32,
        until_ms: u64,
    },
}

impl Source {
    /// The backup (or base) whose files are loaded first.
    pub fn record(&self) -> &BackupRecord {
        match self {
            Source::Backup(record) | Source::PointInTime { base: record, .. } => record,
        }
    }
}

/// One full load of `source` into `table` (repeatable: puts and deletes of
/// the same items end in the same table).
async fn load_once(
    shard: &Rc<Shard>,
    source: &Source,
    table: &Arc<TableDef>,
) -> Result<(), ApiError> {
    let loader = Load {
        shard,
        table: table.clone(),
    };
    read_all(shard, source.record(), loader).await?;
    if let Source::PointInTime {
        base,
        table_id,
        until_ms,
    } = source
    {
        // Each shard's history after its part of the base; keys are
        // disjoint between shards, so the shards' replays commute.
        for (to, file) in base.files.iter().enumerate() {
            let request = MeshRequest::PitrReplay {
                source: *table_id,
                after: file.snapshot_seq,
                until_ms: *until_ms,
                target: table.clone(),
            };
            match call_or_local(shard, to as u32, request).await? {
                MeshReply::Done(r) => r?,
                other => return Err(unexpected(&other)),
            }
        }
    }
    Ok(())
}

/// Loads `source` into `table` and makes it ACTIVE; retried until it
/// succeeds or the table is gone (a server fault must not leave a table
/// CREATING forever).
pub async fn load(shard: Rc<Shard>, source: Source, table: Arc<TableDef>) {
    let arn = source.record().arn.clone();
    *shard
        .backups
        .restoring
        .borrow_mut()
        .entry(arn.clone())
        .or_default() += 1;
    loop {
        let current = shard.catalog().table(&table.name).cloned();
        if current.is_none_or(|t| t.id != table.id) {
            break;
        }
        let done = match load_once(&shard, &source, &table).await {
            Ok(()) => submit(
                &shard,
                CatalogCommand::TableActive {
                    name: table.name.clone(),
                    id: table.id,
                },
            )
            .await
            .map(|_| ()),
            Err(e) => Err(e),
        };
        match done {
            Ok(()) => {
                tracing::info!(table = %table.name, source = %arn, "restore done");
                break;
            }
            Err(e) => {
                tracing::error!(table = %table.name, error = %e, "restore failed; retrying");
                shard
                    .services
                    .sleep(std::time::Duration::from_secs(1))
                    .await;
            }
        }
    }
    let mut restoring = shard.backups.restoring.borrow_mut();
    if let Some(n) = restoring.get_mut(&arn) {
        *n -= 1;
        if *n == 0 {
            restoring.remove(&arn);
        }
    }
    drop(restoring);
    let ops = &shard.backups.operations;
    ops.set(ops.get().saturating_sub(1));
}

/// Starts loading `table` (just created) from `source`.
pub fn start_load(shard: &Rc<Shard>, source: Source, table: Arc<TableDef>) {
    let ops = &shard.backups.operations;
    ops.set(ops.get() + 1);
    let task = load(shard.clone(), source, table);
    shard.services.spawn(Box::pin(task));
}

/// On the coordinator at start-up: restores a crash interrupted start over.
pub fn resume(shard: &Rc<Shard>) {
    if shard.id != crate::api::shard::COORDINATOR {
        return;
    }
    let pending: Vec<Arc<TableDef>> = shard
        .catalog()
        .tables
        .values()
        .filter(|t| t.restore.as_ref().is_some_and(|r| r.in_progress))
        .cloned()
        .collect();
    for table in pending {
        let task_shard = shard.clone();
        shard.services.spawn(Box::pin(async move {
            let Some(info) = table.restore.clone() else {
                return;
            };
            if let Err(e) = ensure_loaded(&task_shard).await {
                tracing::error!(table = %table.name, error = %e, "cannot resume restore");
                return;
            }
            let source = match &info.point_in_time {
                None => task_shard
                    .backups
                    .records
                    .borrow()
                    .get(&info.source_backup_arn)
                    .cloned()
                    .map(Source::Backup),
                Some(pit) => task_shard
                    .backups
                    .bases
                    .borrow()
                    .get(&pit.base_arn)
                    .cloned()
                    .map(|base| Source::PointInTime {
                        base,
                        table_id: pit.source_table_id,
                        until_ms: pit.until_ms,
                    }),
            };
            match source {
                Some(source) => start_load(&task_shard, source, table),
                None => tracing::error!(table = %table.name, source = %info.source_table_arn, "restore source is gone; table stays CREATING"),
            }
        }));
    }
}
