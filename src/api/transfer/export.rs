//! ExportTableToPointInTime on the coordinator: register the export, cut
//! every shard at one instant (the backup cut, inside the request, so the
//! export holds every write acknowledged before it was answered), then in
//! the background each shard writes its snapshot's items as one gzip'd
//! data file and the coordinator writes the manifests and marks the export
//! COMPLETED.
//!
//! Where the items come from is [`ItemSource`]: today the cut's snapshot
//! (an ExportTime of now). A point-in-time source (a materialization of the
//! table at a past ExportTime, from the point-in-time recovery history) and
//! INCREMENTAL_EXPORT plug in there; until then a past ExportTime answers
//! InvalidExportTimeException and INCREMENTAL_EXPORT ValidationException
//! (`ops::export_table_to_point_in_time`).
//!
//! Crash reasoning: the record is written IN_PROGRESS before any file, and
//! `manifest-summary.json` is written after every data file and
//! `manifest-files.json` are synced. An export a crash interrupted is
//! marked FAILED at the next start (`mark_interrupted`): its folder has no
//! summary manifest, so no reader takes it for a whole export.

use std::io::Write as _;
use std::rc::Rc;
use std::sync::Arc;

use base64::Engine as _;
use md5::Digest as _;

use crate::api::backup::create::cut;
use crate::api::messages::{ExportFileInfo, MeshReply, MeshRequest, unexpected};
use crate::api::protocol::error::ApiError;
use crate::api::shard::Shard;
use crate::api::shard::files::FileJob;
use crate::api::shard::peers::call_or_local;
use crate::api::shard::transfers::{ExportRecord, TransferStatus};
use crate::api::table::describe::table_arn;
use crate::api::transfer::layout::folder;
use crate::api::transfer::lines::{write_ion_line, write_json_line};
use crate::api::transfer::registry::{
    CLIENT_TOKEN_SECONDS, check_operations, ensure_loaded, files, new_id, now_seconds,
    persist_export,
};
use crate::api::txn::join::join_all;
use crate::catalog::TableDef;
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
    pub client_token: Option<String>,
    /// The parameters ClientToken idempotency compares.
    pub fingerprint: String,
}

/// Where an export's items come from.
pub enum ItemSource {
    /// The table now: every shard's snapshot of one cut.
    CutSnapshot,
    // The point-in-time seam: `PointInTime { at: f64 }`, a materialization
    // of the table at a past ExportTime from the change history, goes here
    // (and INCREMENTAL_EXPORT's change range beside it).
}

/// The source for `export_time` (None: now). A time in the future is
/// InvalidExportTimeException, as is (until point-in-time recovery keeps a
/// history to export from) a time in the past: DynamoDB's answer for a
/// time outside the restorable window.
pub fn source_for(export_time: Option<f64>, now: f64) -> Result<ItemSource, ApiError> {
    match export_time {
        None => Ok(ItemSource::CutSnapshot),
        Some(t) if t > now + NOW_TOLERANCE_SECONDS => Err(ApiError::invalid_export_time(
            "Export time must not be in the future",
        )),
        Some(t) if t >= now - NOW_TOLERANCE_SECONDS => Ok(ItemSource::CutSnapshot),
        Some(_) => Err(ApiError::invalid_export_time(
            "Export time is not within the restorable time window",
        )),
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
    let source = source_for(request.export_time, now)?;
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
        export_time: request.export_time.unwrap_or(now),
        client_token: request.client_token.clone(),
        fingerprint: request.fingerprint.clone(),
        bucket: request.bucket.clone(),
        bucket_owner: request.bucket_owner.clone(),
        prefix: request.prefix.clone(),
        sse_algorithm: request.sse_algorithm.clone(),
        sse_kms_key_id: request.sse_kms_key_id.clone(),
        format: if request.ion { "ION" } else { "DYNAMODB_JSON" }.to_string(),
        export_type: "FULL_EXPORT".to_string(),
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
    let ItemSource::CutSnapshot = source;
    if let Err(e) = cut(shard, &id).await {
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
    let task_shard = shard.clone();
    let task_record = record.clone();
    let ion = request.ion;
    shard.services.spawn(Box::pin(async move {
        copy(&task_shard, task_record, ion).await;
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
async fn copy(shard: &Rc<Shard>, mut record: ExportRecord, ion: bool) {
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

/// Serves `ExportWrite` on this shard: writes the data file of the
/// snapshot the cut left here, in the background task queue.
pub async fn serve(shard: &Rc<Shard>, request: MeshRequest) -> MeshReply {
    let MeshRequest::ExportWrite {
        export,
        table_id,
        key,
        ion,
    } = request
    else {
        return MeshReply::ExportFile(Err(ApiError::internal("not an export message")));
    };
    let snapshot = shard.backups.snapshots.borrow_mut().remove(&export);
    let Some(snapshot) = snapshot else {
        return MeshReply::ExportFile(Err(ApiError::internal(format!(
            "no snapshot for export {export} on shard {}",
            shard.id
        ))));
    };
    let (done, result) = futures_channel::oneshot::channel();
    let task_shard = shard.clone();
    shard.services.spawn_background(Box::pin(async move {
        let written = write_file(&task_shard, &snapshot, table_id, &key, ion).await;
        let _ = done.send(written);
    }));
    match result.await {
        Ok(written) => MeshReply::ExportFile(written),
        Err(_) => MeshReply::ExportFile(Err(ApiError::internal("export writer dropped"))),
    }
}

/// One data file: the table's items of `snapshot`, one line each, gzip'd,
/// appended a chunk at a time (`backup_chunk_bytes`).
async fn write_file(
    shard: &Rc<Shard>,
    snapshot: &crate::engine::Snapshot<crate::engine::io::either::EitherFs>,
    table_id: u32,
    path: &str,
    ion: bool,
) -> Result<ExportFileInfo, ApiError> {
    files(shard, FileJob::Create { path: path.into() }).await?;
    let prefix = table_prefix(table_id);
    let upper = prefix_end(&prefix);
    let chunk = shard.settings.backup_chunk_bytes;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut md5 = md5::Md5::new();
    let mut info = ExportFileInfo {
        path: path.to_string(),
        ..ExportFileInfo::default()
    };
    let mut line = Vec::new();
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
        for (_, stored) in &page {
            line.clear();
            let size = if ion {
                let item = crate::model::codec::decode_item(stored)?;
                write_ion_line(&item, &mut line);
                crate::model::value::item_size(&item)
            } else {
                write_json_line(stored, &mut line)?
            };
            gzip.write_all(&line)
                .map_err(|e| ApiError::internal(format!("gzip: {e}")))?;
            info.items += 1;
            info.item_bytes += size as u64;
        }
        if gzip.get_ref().len() >= chunk {
            let bytes = std::mem::take(gzip.get_mut());
            append(shard, path, bytes, &mut md5, &mut info).await?;
        }
    }
    let rest = gzip
        .finish()
        .map_err(|e| ApiError::internal(format!("gzip: {e}")))?;
    append(shard, path, rest, &mut md5, &mut info).await?;
    files(shard, FileJob::Sync { path: path.into() }).await?;
    info.md5 = md5.finalize().into();
    Ok(info)
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
        assert!(matches!(
            source_for(None, 100.0),
            Ok(ItemSource::CutSnapshot)
        ));
        assert!(matches!(
            source_for(Some(99.5), 100.0),
            Ok(ItemSource::CutSnapshot)
        ));
        let future = source_for(Some(200.0), 100.0).err().expect("future");
        assert!(future.type_name.ends_with("InvalidExportTimeException"));
        let past = source_for(Some(10.0), 100.0).err().expect("past");
        assert!(past.type_name.ends_with("InvalidExportTimeException"));
    }
}
