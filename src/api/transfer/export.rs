//! ExportTableToPointInTime on the coordinator: register the export, cut
//! every shard at one instant (the backup cut, inside the request, so the
//! export holds every write acknowledged before it was answered), then in
//! the background each shard writes its snapshot's items as one gzip'd
//! data file and the coordinator writes the manifests and marks the export
//! COMPLETED.
//!
//! Where the items come from is [`ItemSource`]: the cut's snapshot for an
//! ExportTime of now, or, for a past ExportTime inside the restorable
//! window, the table materialized at that time from point-in-time
//! recovery (`api::pitr`): each shard reads its file of the newest base
//! cut at or before the time (through file jobs, checked as a restore
//! checks it) and overlays its history after that base's snapshot up to
//! the time — the last change of each key, held in memory up to
//! `pitr_export_history_bytes_max` (past it the export FAILs, naming the
//! knob), wins over the base's item; a delete drops it. No cut is taken.
//! The base is registered in `backups.restoring` while the export reads
//! it, so point-in-time maintenance trims neither it nor the history after
//! it.
//!
//! INCREMENTAL_EXPORT (`ItemSource::Incremental`) lists, per shard, one
//! line per key changed in [ExportFromTime, ExportToTime) as DynamoDB
//! documents (From inclusive, To exclusive; history times are whole ms,
//! so that is (From − 1 ms, To − 1 ms]): its last change in the history
//! after the base cut before From (DynamoDB's
//! `Metadata.WriteTimestampMicros`, `Keys`, `NewImage` — none for a
//! delete — and, for NEW_AND_OLD_IMAGES, `OldImage`: the item just before
//! From, from the history before From over the base's items). Both history
//! stretches are bounded by the same knob. The 15-minute and 24-hour
//! period bounds scale with `pitr_day_ms` (tests shorten the day).
//!
//! Crash reasoning: the record is written IN_PROGRESS before any file, and
//! `manifest-summary.json` is written after every data file and
//! `manifest-files.json` are synced. An export a crash interrupted is
//! marked FAILED at the next start (`mark_interrupted`): its folder has no
//! summary manifest, so no reader takes it for a whole export.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::rc::Rc;
use std::sync::Arc;

use base64::Engine as _;
use md5::Digest as _;

use crate::api::backup::create::{cut, release};
use crate::api::backup::restore::{AsyncItems, read_file};
use crate::api::messages::{ExportFileInfo, ExportPointInTime, MeshReply, MeshRequest, unexpected};
use crate::api::pitr::base::{base_for, window};
use crate::api::pitr::replay::{Changed, Last, changes};
use crate::api::protocol::error::ApiError;
use crate::api::shard::Shard;
use crate::api::shard::backups::BackupRecord;
use crate::api::shard::files::FileJob;
use crate::api::shard::peers::call_or_local;
use crate::api::shard::transfers::IncrementalSpec;
use crate::api::shard::transfers::{ExportRecord, TransferStatus};
use crate::api::streams::record::key_of;
use crate::api::table::describe::table_arn;
use crate::api::table::key::key_of_item;
use crate::api::transfer::layout::folder;
use crate::api::transfer::lines::{write_ion_change, write_json_change};
use crate::api::transfer::lines::{write_ion_line, write_json_line};
use crate::api::transfer::registry::{
    CLIENT_TOKEN_SECONDS, check_operations, ensure_loaded, files, new_id, now_seconds,
    persist_export,
};
use crate::api::txn::join::join_all;
use crate::catalog::TableDef;
use crate::model::codec::{decode_item, encode_item};
use crate::model::key::{prefix_end, table_prefix};

/// An ExportTime this close to now (seconds, either side) is now.
const NOW_TOLERANCE_SECONDS: f64 = 1.0;

/// What a checked ExportTableToPointInTime asks for.
pub struct ExportRequest {
    pub table: Arc<TableDef>,
    pub bucket: String,
    pub bucket_owner: Option<String>,
    pub prefix: String,
    pub sse_algorithm: Option<String>,
    pub sse_kms_key_id: Option<String>,
    pub ion: bool,
    /// Seconds since the epoch; None is now.
    pub export_time: Option<f64>,
    /// INCREMENTAL_EXPORT: ExportFromTime, ExportToTime (None: now) and
    /// whether old images are wanted (NEW_AND_OLD_IMAGES).
    pub incremental: Option<IncrementalRequest>,
    pub client_token: Option<String>,
    /// The parameters ClientToken idempotency compares.
    pub fingerprint: String,
}

/// An INCREMENTAL_EXPORT's parameters, as given.
pub struct IncrementalRequest {
    pub from: f64,
    pub to: Option<f64>,
    pub old_images: bool,
}

/// Shortest and longest INCREMENTAL_EXPORT periods (DynamoDB's 15 minutes
/// and 24 hours), in ms of a real day: both scale with `pitr_day_ms`.
const INCREMENTAL_MIN_MS: u64 = 15 * 60_000;
const DAY_MS: u64 = 86_400_000;

/// Where an export's items come from.
pub enum ItemSource {
    /// The table now: every shard's snapshot of one cut.
    CutSnapshot,
    /// The table at `until_ms` (a past ExportTime): each shard's file of
    /// `base` overlaid with its history up to then.
    PointInTime {
        base: Box<BackupRecord>,
        until_ms: u64,
    },
    /// The changes in [`from_ms`, `to_ms`): each shard's history after the
    /// base cut before `from_ms` (with the items just before `from_ms`
    /// from it when `old_images`).
    Incremental {
        base: Box<BackupRecord>,
        from_ms: u64,
        to_ms: u64,
        old_images: bool,
    },
}

/// The source of an INCREMENTAL_EXPORT, checked as DynamoDB checks it:
/// ExportFromTime inside the restorable window and ExportToTime not in the
/// future (InvalidExportTimeException), From before To and the period
/// between 15 minutes and 24 hours (ValidationException), both bounds
/// scaled by `pitr_day_ms` / 86 400 000.
pub async fn incremental_source(
    shard: &Rc<Shard>,
    table: &TableDef,
    request: &IncrementalRequest,
    now: f64,
) -> Result<ItemSource, ApiError> {
    // Whole ms, rounded up: a change at ms m is at or after From exactly
    // when m >= ceil(From), and before To when m < ceil(To).
    let ms = |t: f64| ((t.max(0.0) * 1e6).round() / 1000.0).ceil() as u64;
    let now_ms = ms(now);
    let from_ms = ms(request.from);
    // A To within the tolerance ahead of now is now: nothing after the
    // request's arrival is listed.
    let to_ms = request.to.map_or(now_ms, ms).min(now_ms);
    if request.to.is_some_and(|t| t > now + NOW_TOLERANCE_SECONDS) {
        return Err(ApiError::invalid_export_time(
            "ExportToTime must not be in the future",
        ));
    }
    if from_ms >= to_ms {
        return Err(ApiError::validation(
            "ExportFromTime must be less than ExportToTime",
        ));
    }
    let day_ms = shard.settings.pitr.day_ms;
    let min_ms = (u128::from(INCREMENTAL_MIN_MS) * u128::from(day_ms) / u128::from(DAY_MS)) as u64;
    if to_ms - from_ms < min_ms {
        return Err(ApiError::validation(
            "Duration between ExportFromTime and ExportToTime must be at least 15 minutes",
        ));
    }
    if to_ms - from_ms > day_ms {
        return Err(ApiError::validation(
            "Duration between ExportFromTime and ExportToTime must not exceed 24 hours",
        ));
    }
    let outside =
        || ApiError::invalid_export_time("ExportFromTime is not within the restorable time window");
    crate::api::backup::ensure_loaded(shard).await?;
    let (earliest, _) = window(shard, table, now_ms).ok_or_else(outside)?;
    if from_ms < earliest {
        return Err(outside());
    }
    // The base cut before From; From at the very start of the window
    // (the oldest base's cut) reads from that base, which also holds any
    // change made in the cut's own millisecond before it.
    let base = base_for(shard, table, from_ms.saturating_sub(1))
        .or_else(|| base_for(shard, table, from_ms))
        .ok_or_else(outside)?;
    Ok(ItemSource::Incremental {
        base: Box::new(base),
        from_ms,
        to_ms,
        old_images: request.old_images,
    })
}

impl ItemSource {
    /// The base the source reads, if any.
    fn base(&self) -> Option<&BackupRecord> {
        match self {
            ItemSource::CutSnapshot => None,
            ItemSource::PointInTime { base, .. } | ItemSource::Incremental { base, .. } => {
                Some(base)
            }
        }
    }
}

/// When an ExportTime asks for: now (None), or a past time in ms. A time
/// in the future is InvalidExportTimeException.
pub fn export_instant(export_time: Option<f64>, now: f64) -> Result<Option<u64>, ApiError> {
    match export_time {
        None => Ok(None),
        Some(t) if t > now + NOW_TOLERANCE_SECONDS => Err(ApiError::invalid_export_time(
            "Export time must not be in the future",
        )),
        Some(t) if t >= now - NOW_TOLERANCE_SECONDS => Ok(None),
        // Whole microseconds first: 1.123 s is 1123 ms, not 1122.99….
        Some(t) => Ok(Some(((t.max(0.0) * 1e6).round() / 1000.0) as u64)),
    }
}

/// The source for `export_time` (None: now): a past time must lie in the
/// table's restorable window (InvalidExportTimeException, DynamoDB's
/// answer, otherwise) and is served from the base cut at or before it.
pub async fn source_for(
    shard: &Rc<Shard>,
    table: &TableDef,
    export_time: Option<f64>,
    now: f64,
) -> Result<ItemSource, ApiError> {
    let Some(until_ms) = export_instant(export_time, now)? else {
        return Ok(ItemSource::CutSnapshot);
    };
    let outside =
        || ApiError::invalid_export_time("Export time is not within the restorable time window");
    crate::api::backup::ensure_loaded(shard).await?;
    let (earliest, _) = window(shard, table, (now * 1000.0) as u64).ok_or_else(outside)?;
    if until_ms < earliest {
        return Err(outside());
    }
    let base = base_for(shard, table, until_ms).ok_or_else(outside)?;
    Ok(ItemSource::PointInTime {
        base: Box::new(base),
        until_ms,
    })
}

/// Marks `base` as read (point-in-time maintenance keeps it and its
/// history while the count is non-zero, as for a restore).
fn hold_base(shard: &Shard, base: &BackupRecord) {
    *shard
        .backups
        .restoring
        .borrow_mut()
        .entry(base.arn.clone())
        .or_default() += 1;
}

fn release_base(shard: &Shard, arn: &str) {
    let mut restoring = shard.backups.restoring.borrow_mut();
    if let Some(n) = restoring.get_mut(arn) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            restoring.remove(arn);
        }
    }
}

/// Registers and cuts an export; the files are written in the
/// background. Returns the IN_PROGRESS record (or, for a repeated
/// ClientToken with the same parameters, the earlier export's).
pub async fn start(shard: &Rc<Shard>, request: ExportRequest) -> Result<ExportRecord, ApiError> {
    ensure_loaded(shard).await?;
    let now = now_seconds();
    if let Some(earlier) = same_token(shard, &request, now)? {
        return Ok(earlier);
    }
    let source = match &request.incremental {
        Some(incremental) => incremental_source(shard, &request.table, incremental, now).await?,
        None => source_for(shard, &request.table, request.export_time, now).await?,
    };
    let incremental = match (&source, &request.incremental) {
        (ItemSource::Incremental { from_ms, to_ms, .. }, Some(r)) => Some(IncrementalSpec {
            from: *from_ms as f64 / 1000.0,
            to: *to_ms as f64 / 1000.0,
            view_type: if r.old_images {
                "NEW_AND_OLD_IMAGES"
            } else {
                "NEW_IMAGE"
            }
            .to_string(),
        }),
        _ => None,
    };
    check_operations(shard)?;
    let table = &request.table;
    let id = new_id(&table.name);
    let table_arn = table_arn(shard, &table.name);
    let record = ExportRecord {
        arn: format!("{table_arn}/export/{id}"),
        id: id.clone(),
        table_arn,
        table_uuid: table.uuid.clone(),
        table_id: table.id,
        status: TransferStatus::InProgress,
        start_time: now,
        end_time: None,
        export_time: incremental
            .as_ref()
            .map_or(request.export_time.unwrap_or(now), |spec| spec.to),
        client_token: request.client_token.clone(),
        fingerprint: request.fingerprint.clone(),
        bucket: request.bucket.clone(),
        bucket_owner: request.bucket_owner.clone(),
        prefix: request.prefix.clone(),
        sse_algorithm: request.sse_algorithm.clone(),
        sse_kms_key_id: request.sse_kms_key_id.clone(),
        format: if request.ion { "ION" } else { "DYNAMODB_JSON" }.to_string(),
        export_type: if incremental.is_some() {
            "INCREMENTAL_EXPORT"
        } else {
            "FULL_EXPORT"
        }
        .to_string(),
        incremental,
        failure_code: None,
        failure_message: None,
        files: Vec::new(),
    };
    persist_export(shard, &record).await?;
    // The bucket is writable and the export has begun.
    let started = format!("{}/_started", folder(&record));
    files(
        shard,
        FileJob::Create {
            path: started.clone(),
        },
    )
    .await?;
    files(shard, FileJob::Sync { path: started }).await?;
    if let ItemSource::CutSnapshot = source
        && let Err(e) = cut(shard, &id, None).await
    {
        let mut failed = record;
        failed.status = TransferStatus::Failed;
        failed.end_time = Some(now_seconds());
        failed.failure_code = Some("INTERNAL_ERROR".to_string());
        failed.failure_message = Some(e.to_string());
        persist_export(shard, &failed).await?;
        shard
            .transfers
            .exports
            .borrow_mut()
            .insert(failed.arn.clone(), failed);
        return Err(e);
    }
    let transfers = &shard.transfers;
    transfers.operations.set(transfers.operations.get() + 1);
    transfers
        .exports
        .borrow_mut()
        .insert(record.arn.clone(), record.clone());
    if let Some(base) = source.base() {
        hold_base(shard, base);
    }
    let task_shard = shard.clone();
    let task_record = record.clone();
    let ion = request.ion;
    let table = request.table.clone();
    shard.services.spawn(Box::pin(async move {
        copy(&task_shard, task_record, ion, &table, &source).await;
        if let Some(base) = source.base() {
            release_base(&task_shard, &base.arn);
        }
    }));
    Ok(record)
}

/// The earlier export with the request's ClientToken (within 8 hours):
/// the same one for the same parameters, ImportConflictException for
/// others (the error ExportTableToPointInTime's reference names).
fn same_token(
    shard: &Shard,
    request: &ExportRequest,
    now: f64,
) -> Result<Option<ExportRecord>, ApiError> {
    let Some(token) = &request.client_token else {
        return Ok(None);
    };
    let exports = shard.transfers.exports.borrow();
    let earlier = exports.values().find(|r| {
        r.client_token.as_ref() == Some(token) && now - r.start_time < CLIENT_TOKEN_SECONDS
    });
    match earlier {
        None => Ok(None),
        Some(r) if r.fingerprint == request.fingerprint => Ok(Some(r.clone())),
        Some(_) => Err(ApiError::import_conflict(
            "Export with the same client token but different parameters already exists",
        )),
    }
}

/// Every shard writes its data file (background queue); then the
/// manifests and the record.
async fn copy(
    shard: &Rc<Shard>,
    mut record: ExportRecord,
    ion: bool,
    table: &Arc<TableDef>,
    source: &ItemSource,
) {
    let extension = if ion { "ion.gz" } else { "json.gz" };
    let tag = record.id.rsplit('-').next().unwrap_or("0").to_string();
    let calls = (0..shard.map.shard_count())
        .map(|to| {
            let shard = shard.clone();
            let request = MeshRequest::ExportWrite {
                export: record.id.clone(),
                table_id: record.table_id,
                key: format!("{}/data/{tag}-{to:03}.{extension}", folder(&record)),
                ion,
                point_in_time: point_in_time_part(table, source, to),
            };
            Box::pin(async move { call_or_local(&shard, to, request).await })
                as crate::api::shard::LocalFuture<_>
        })
        .collect();
    let mut failed = None;
    for reply in join_all(calls).await {
        match reply {
            Ok(MeshReply::ExportFile(Ok(file))) => record.files.push(file),
            Ok(MeshReply::ExportFile(Err(e))) | Err(e) => {
                failed.get_or_insert(e);
            }
            Ok(other) => {
                failed.get_or_insert(unexpected(&other));
            }
        }
    }
    if failed.is_none() {
        record.end_time = Some(now_seconds());
        if let Err(e) = write_manifests(shard, &record).await {
            failed = Some(e);
        }
    }
    match &failed {
        None => record.status = TransferStatus::Completed,
        Some(e) => {
            tracing::error!(export = %record.arn, error = %e, "export failed");
            // A shard whose ExportWrite never arrived still holds its
            // snapshot of the cut.
            release(shard, &record.id).await;
            record.status = TransferStatus::Failed;
            record.end_time = Some(now_seconds());
            record.failure_code = Some("INTERNAL_ERROR".to_string());
            record.failure_message = Some(e.to_string());
        }
    }
    if let Err(e) = persist_export(shard, &record).await {
        tracing::error!(export = %record.arn, error = %e, "cannot record the export's end");
    }
    let items: u64 = record.files.iter().map(|f| f.items).sum();
    tracing::info!(export = %record.arn, items, status = record.status.as_str(), "export ended");
    let transfers = &shard.transfers;
    transfers
        .operations
        .set(transfers.operations.get().saturating_sub(1));
    transfers
        .exports
        .borrow_mut()
        .insert(record.arn.clone(), record);
}

/// Shard `to`'s part of a point-in-time source (None for a cut).
fn point_in_time_part(
    table: &Arc<TableDef>,
    source: &ItemSource,
    to: u32,
) -> Option<ExportPointInTime> {
    let (base, since_ms, until_ms, old_images) = match source {
        ItemSource::CutSnapshot => return None,
        ItemSource::PointInTime { base, until_ms } => (base, None, *until_ms, false),
        ItemSource::Incremental {
            base,
            from_ms,
            to_ms,
            old_images,
        } => (
            base,
            Some(from_ms.saturating_sub(1)),
            to_ms.saturating_sub(1),
            *old_images,
        ),
    };
    Some(ExportPointInTime {
        table: table.clone(),
        base_file: base.files.get(to as usize).cloned(),
        until_ms,
        since_ms,
        old_images,
    })
}

/// `manifest-files.json` (+ `.checksum`), then `manifest-summary.json`
/// (+ `.checksum`), each written atomically.
async fn write_manifests(shard: &Shard, record: &ExportRecord) -> Result<(), ApiError> {
    let dir = folder(record);
    let mut listing = Vec::new();
    for file in &record.files {
        let key = file
            .path
            .strip_prefix(&format!("{}/", record.bucket))
            .unwrap_or(&file.path);
        listing.extend_from_slice(
            format!(
                "{{\"itemCount\":{},\"md5Checksum\":\"{}\",\"etag\":\"{}\",\"dataFileS3Key\":",
                file.items,
                base64::engine::general_purpose::STANDARD.encode(file.md5),
                hex(&file.md5)
            )
            .as_bytes(),
        );
        crate::model::value::write_json_str(&mut listing, key);
        listing.extend_from_slice(b"}\n");
    }
    write_with_checksum(shard, &format!("{dir}/manifest-files.json"), listing).await?;
    let mut summary = Vec::new();
    crate::api::transfer::describe::write_manifest_summary(&mut summary, record);
    write_with_checksum(shard, &format!("{dir}/manifest-summary.json"), summary).await
}

async fn write_with_checksum(shard: &Shard, path: &str, bytes: Vec<u8>) -> Result<(), ApiError> {
    let checksum = hex(&md5::Md5::digest(&bytes).into());
    let checksum_path = format!("{}.checksum", path.trim_end_matches(".json"));
    files(
        shard,
        FileJob::WriteAtomically {
            path: checksum_path,
            bytes: checksum.into_bytes(),
        },
    )
    .await?;
    files(
        shard,
        FileJob::WriteAtomically {
            path: path.to_string(),
            bytes,
        },
    )
    .await
    .map(|_| ())
}

pub fn hex(bytes: &[u8; 16]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Serves `ExportWrite` on this shard: writes its data file (of the
/// snapshot the cut left here, or of the table at a past time) in the
/// background task queue.
pub async fn serve(shard: &Rc<Shard>, request: MeshRequest) -> MeshReply {
    let MeshRequest::ExportWrite {
        export,
        table_id,
        key,
        ion,
        point_in_time,
    } = request
    else {
        return MeshReply::ExportFile(Err(ApiError::internal("not an export message")));
    };
    let snapshot = match point_in_time {
        Some(_) => None,
        None => match shard.backups.snapshots.borrow_mut().remove(&export) {
            Some(snapshot) => Some(snapshot),
            None => {
                return MeshReply::ExportFile(Err(ApiError::internal(format!(
                    "no snapshot for export {export} on shard {}",
                    shard.id
                ))));
            }
        },
    };
    let (done, result) = futures_channel::oneshot::channel();
    let task_shard = shard.clone();
    shard.services.spawn_background(Box::pin(async move {
        let written = match (&snapshot, &point_in_time) {
            (Some(snapshot), _) => write_file(&task_shard, snapshot, table_id, &key, ion).await,
            (None, Some(part)) if part.since_ms.is_some() => {
                write_incremental(&task_shard, part, &key, ion).await
            }
            (None, Some(part)) => write_point_in_time(&task_shard, part, &key, ion).await,
            (None, None) => Err(ApiError::internal("export part without a source")),
        };
        let _ = done.send(written);
    }));
    match result.await {
        Ok(written) => MeshReply::ExportFile(written),
        Err(_) => MeshReply::ExportFile(Err(ApiError::internal("export writer dropped"))),
    }
}

/// One export data file being written: items become lines, gzip'd and
/// appended a chunk at a time (`backup_chunk_bytes`).
struct DataFile<'a> {
    shard: &'a Shard,
    path: &'a str,
    ion: bool,
    chunk: usize,
    gzip: flate2::write::GzEncoder<Vec<u8>>,
    md5: md5::Md5,
    info: ExportFileInfo,
    line: Vec<u8>,
}

impl<'a> DataFile<'a> {
    async fn create(shard: &'a Shard, path: &'a str, ion: bool) -> Result<Self, ApiError> {
        files(shard, FileJob::Create { path: path.into() }).await?;
        Ok(DataFile {
            shard,
            path,
            ion,
            chunk: shard.settings.backup_chunk_bytes,
            gzip: flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()),
            md5: md5::Md5::new(),
            info: ExportFileInfo {
                path: path.to_string(),
                ..ExportFileInfo::default()
            },
            line: Vec::new(),
        })
    }

    /// Adds one item (its stored encoding) as a line.
    fn push(&mut self, stored: &[u8]) -> Result<(), ApiError> {
        self.line.clear();
        let size = if self.ion {
            let item = decode_item(stored)?;
            write_ion_line(&item, &mut self.line);
            crate::model::value::item_size(&item)
        } else {
            write_json_line(stored, &mut self.line)?
        };
        self.gzip
            .write_all(&self.line)
            .map_err(|e| ApiError::internal(format!("gzip: {e}")))?;
        self.info.items += 1;
        self.info.item_bytes += size as u64;
        Ok(())
    }

    /// Adds one INCREMENTAL_EXPORT line (`keys`, `new`, `old`: stored
    /// encodings).
    fn push_change(
        &mut self,
        micros: u64,
        keys: &[u8],
        new: Option<&[u8]>,
        old: Option<&[u8]>,
    ) -> Result<(), ApiError> {
        self.line.clear();
        let size = if self.ion {
            let keys = decode_item(keys)?;
            let new = new.map(decode_item).transpose()?;
            let old = old.map(decode_item).transpose()?;
            write_ion_change(micros, &keys, new.as_ref(), old.as_ref(), &mut self.line);
            new.or(old)
                .as_ref()
                .map_or(0, crate::model::value::item_size)
        } else {
            write_json_change(micros, keys, new, old, &mut self.line)?
        };
        self.gzip
            .write_all(&self.line)
            .map_err(|e| ApiError::internal(format!("gzip: {e}")))?;
        self.info.items += 1;
        self.info.item_bytes += size as u64;
        Ok(())
    }

    /// Appends the compressed bytes once a chunk's worth is held.
    async fn flush_full(&mut self) -> Result<(), ApiError> {
        if self.gzip.get_ref().len() >= self.chunk {
            let bytes = std::mem::take(self.gzip.get_mut());
            append(self.shard, self.path, bytes, &mut self.md5, &mut self.info).await?;
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<ExportFileInfo, ApiError> {
        let rest = self
            .gzip
            .finish()
            .map_err(|e| ApiError::internal(format!("gzip: {e}")))?;
        append(self.shard, self.path, rest, &mut self.md5, &mut self.info).await?;
        files(
            self.shard,
            FileJob::Sync {
                path: self.path.into(),
            },
        )
        .await?;
        self.info.md5 = self.md5.finalize().into();
        Ok(self.info)
    }
}

/// One data file: the table's items of `snapshot`, one line each.
async fn write_file(
    shard: &Rc<Shard>,
    snapshot: &crate::engine::Snapshot<crate::engine::io::either::EitherFs>,
    table_id: u32,
    path: &str,
    ion: bool,
) -> Result<ExportFileInfo, ApiError> {
    let mut out = DataFile::create(shard, path, ion).await?;
    let prefix = table_prefix(table_id);
    let upper = prefix_end(&prefix);
    let mut after: Option<Vec<u8>> = None;
    loop {
        let lower = match &after {
            Some(k) => std::ops::Bound::Excluded(k.as_slice()),
            None => std::ops::Bound::Included(prefix.as_slice()),
        };
        let upper = crate::api::messages::as_ref_bound(&upper);
        let page = snapshot.scan(lower, upper, 1024, out.chunk).await?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        for (_, stored) in &page {
            out.push(stored)?;
        }
        out.flush_full().await?;
    }
    out.finish().await
}

/// One data file: this shard's part of the table at `part.until_ms` —
/// the history's last change of each key (held, bounded), then every base
/// item the history did not change.
async fn write_point_in_time(
    shard: &Rc<Shard>,
    part: &ExportPointInTime,
    path: &str,
    ion: bool,
) -> Result<ExportFileInfo, ApiError> {
    let base_file = part.base_file.as_ref().ok_or_else(|| {
        ApiError::internal(format!(
            "the point-in-time base has no file for shard {}",
            shard.id
        ))
    })?;
    let changes = changes(
        shard,
        &part.table,
        base_file.snapshot_seq,
        None,
        part.until_ms,
        shard.settings.pitr.export_history_bytes_max,
    )
    .await?;
    let mut out = DataFile::create(shard, path, ion).await?;
    for changed in changes.values() {
        if let Last::Put(item) = &changed.last {
            out.push(item)?;
            out.flush_full().await?;
        }
    }
    let mut unchanged = Unchanged {
        shard,
        table: &part.table,
        changes: &changes,
        out: &mut out,
    };
    read_file(shard, base_file, &mut unchanged).await?;
    out.finish().await
}

/// Writes the base items whose key the history did not change.
struct Unchanged<'a, 'b> {
    shard: &'a Shard,
    table: &'a TableDef,
    changes: &'a BTreeMap<Vec<u8>, Changed>,
    out: &'a mut DataFile<'b>,
}

impl AsyncItems for Unchanged<'_, '_> {
    async fn items(&mut self, items: Vec<Vec<u8>>) -> Result<(), ApiError> {
        for stored in items {
            let item = decode_item(&stored)?;
            let key = key_of_item(self.shard, self.table, &item)?;
            if !self.changes.contains_key(&key.storage) {
                self.out.push(&stored)?;
            }
        }
        self.out.flush_full().await
    }
}

/// One INCREMENTAL_EXPORT data file: a line per key of this shard changed
/// in (`since_ms`, `until_ms`], its last change; with old images, the item
/// at `since_ms` (the history up to then over the base's items).
async fn write_incremental(
    shard: &Rc<Shard>,
    part: &ExportPointInTime,
    path: &str,
    ion: bool,
) -> Result<ExportFileInfo, ApiError> {
    let base_file = part.base_file.as_ref().ok_or_else(|| {
        ApiError::internal(format!(
            "the point-in-time base has no file for shard {}",
            shard.id
        ))
    })?;
    let since_ms = part.since_ms.unwrap_or(0);
    let bound = shard.settings.pitr.export_history_bytes_max;
    let after = base_file.snapshot_seq;
    let window = changes(
        shard,
        &part.table,
        after,
        Some(since_ms),
        part.until_ms,
        bound,
    )
    .await?;
    let mut old: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
    if part.old_images && !window.is_empty() {
        let before = changes(shard, &part.table, after, None, since_ms, bound).await?;
        for key in window.keys() {
            if let Some(changed) = before.get(key) {
                let image = match &changed.last {
                    Last::Put(item) => Some(item.clone()),
                    Last::Delete(_) => None,
                };
                old.insert(key.clone(), image);
            }
        }
        drop(before);
        let mut from_base = OldImages {
            shard,
            table: &part.table,
            window: &window,
            old: &mut old,
        };
        read_file(shard, base_file, &mut from_base).await?;
    }
    let mut out = DataFile::create(shard, path, ion).await?;
    for (key, changed) in &window {
        let (keys, new) = match &changed.last {
            Last::Put(item) => {
                let keys = key_of(&part.table, &decode_item(item)?);
                (encode_item(&keys), Some(item.as_slice()))
            }
            Last::Delete(keys) => (keys.clone(), None),
        };
        let old_image = old.get(key).and_then(|o| o.as_deref());
        out.push_change(changed.time_ms * 1000, &keys, new, old_image)?;
        out.flush_full().await?;
    }
    out.finish().await
}

/// Takes from the base the old images of keys changed in the window that
/// the history before it did not change.
struct OldImages<'a> {
    shard: &'a Shard,
    table: &'a TableDef,
    window: &'a BTreeMap<Vec<u8>, Changed>,
    old: &'a mut BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl AsyncItems for OldImages<'_> {
    async fn items(&mut self, items: Vec<Vec<u8>>) -> Result<(), ApiError> {
        for stored in items {
            let item = decode_item(&stored)?;
            let key = key_of_item(self.shard, self.table, &item)?;
            if self.window.contains_key(&key.storage) && !self.old.contains_key(&key.storage) {
                self.old.insert(key.storage, Some(stored));
            }
        }
        Ok(())
    }
}

async fn append(
    shard: &Shard,
    path: &str,
    bytes: Vec<u8>,
    md5: &mut md5::Md5,
    info: &mut ExportFileInfo,
) -> Result<(), ApiError> {
    if bytes.is_empty() {
        return Ok(());
    }
    md5.update(&bytes);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_time_now_future_and_past() {
        assert!(matches!(export_instant(None, 100.0), Ok(None)));
        assert!(matches!(export_instant(Some(99.5), 100.0), Ok(None)));
        let future = export_instant(Some(200.0), 100.0).expect_err("future");
        assert!(future.type_name.ends_with("InvalidExportTimeException"));
        assert!(matches!(
            export_instant(Some(10.5), 100.0),
            Ok(Some(10_500))
        ));
    }
}
