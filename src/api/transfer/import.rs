//! ImportTable on the coordinator: create the table CREATING through the
//! DDL path (marked with the import's ARN, so no timer makes it ACTIVE),
//! then in a task read every data file under `<S3Bucket>/<S3KeyPrefix>`
//! (an S3 key prefix: a string prefix of the path inside the bucket; an
//! export's manifests, `_started` and `.checksum` files are skipped, so the
//! prefix may name an export's folder or its `data/`), decompress, parse
//! each line (`lines`), and load the items through the one write path
//! (`MeshRequest::Write` to each owner, which maintains local and global
//! indexes as for any write). A line that does not parse, or whose item
//! the table cannot hold (missing or mistyped key, index key of the wrong
//! type, over 400 KB), is counted in ErrorCount, logged (the first
//! [`LOGGED_ERRORS_MAX`]) and skipped. Then the table is made ACTIVE and
//! the import COMPLETED.
//!
//! An import that cannot go on (no data file under the prefix, a file that
//! cannot be read or decompressed, a line longer than
//! [`LINE_BYTES_MAX`]) is FAILED with FailureCode and FailureMessage, and
//! its table is removed straight from CREATING (never ACTIVE, not even
//! for a moment): nothing half-loaded is left behind.
//!
//! Crash reasoning: the record (IN_PROGRESS) is written right after the
//! table is in the catalog. A restart resumes the import from the start
//! (`resume`): puts of the same items are idempotent, and the counters
//! start over, so the final counts are those of one whole pass.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::rc::Rc;
use std::sync::Arc;

use crate::api::messages::{MeshReply, MeshRequest, unexpected};
use crate::api::protocol::error::ApiError;
use crate::api::shard::files::{FileDone, FileJob};
use crate::api::shard::peers::call_or_local;
use crate::api::shard::transfers::{ImportRecord, TransferStatus};
use crate::api::shard::{COORDINATOR, Shard};
use crate::api::table::ddl::submit;
use crate::api::table::describe::table_arn;
use crate::api::table::key::key_of_item;
use crate::api::transfer::lines::{
    CsvLayout, LineError, parse_csv_line, parse_ion_line, parse_json_line, split_csv,
};
use crate::api::transfer::registry::{
    CLIENT_TOKEN_SECONDS, check_operations, ensure_loaded, files, new_id, now_seconds,
    persist_import,
};
use crate::catalog::{CatalogCommand, IndexStatus, TableDef, TableStatus};
use crate::engine::WriteBatch;
use crate::model::codec::encode_item;
use crate::model::value::{Item, item_size};

/// Items sent to one owner per write batch.
const BATCH_ITEMS_MAX: usize = 64;
/// Data files one import reads at most (DynamoDB's limit is 50,000 S3
/// objects per import).
pub const FILES_MAX: usize = 50_000;
/// The longest line (decompressed) an import reads; a longer one fails
/// the import (no item's JSON comes near it).
pub const LINE_BYTES_MAX: usize = 4 << 20;
/// Bad lines logged per import (all are counted).
pub const LOGGED_ERRORS_MAX: u64 = 100;
/// Compressed bytes per decompression step: gzip expands at most ~1,000×,
/// so one step's output stays under ~8 MB (zstd can expand further: a
/// README weak spot).
const DECODE_STEP_BYTES: usize = 8 << 10;
/// Item bytes queued for the owners before they are written.
const QUEUED_BYTES_MAX: usize = 4 << 20;
/// DynamoDB's item size limit.
const ITEM_BYTES_MAX: usize = 400 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    DynamoDbJson,
    Ion,
    Csv,
}

impl InputFormat {
    pub fn parse(text: &str) -> Option<InputFormat> {
        match text {
            "DYNAMODB_JSON" => Some(InputFormat::DynamoDbJson),
            "ION" => Some(InputFormat::Ion),
            "CSV" => Some(InputFormat::Csv),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn parse(text: &str) -> Option<Compression> {
        match text {
            "NONE" => Some(Compression::None),
            "GZIP" => Some(Compression::Gzip),
            "ZSTD" => Some(Compression::Zstd),
            _ => None,
        }
    }
}

/// What a checked ImportTable asks for.
pub struct ImportRequest {
    /// The table to create (checked as CreateTable checks it).
    pub table: TableDef,
    pub bucket: String,
    pub bucket_owner: Option<String>,
    pub key_prefix: String,
    pub format: InputFormat,
    pub format_name: String,
    pub compression: Compression,
    pub compression_name: String,
    pub csv_delimiter: Option<String>,
    pub csv_header: Option<Vec<String>>,
    pub creation_parameters_json: String,
    pub client_token: Option<String>,
    pub fingerprint: String,
}

/// Creates the table and starts the load. Returns the IN_PROGRESS record
/// (or the earlier import of the same ClientToken and parameters).
pub async fn start(shard: &Rc<Shard>, request: ImportRequest) -> Result<ImportRecord, ApiError> {
    ensure_loaded(shard).await?;
    let now = now_seconds();
    if let Some(token) = &request.client_token {
        let imports = shard.transfers.imports.borrow();
        let earlier = imports.values().find(|r| {
            r.client_token.as_ref() == Some(token) && now - r.start_time < CLIENT_TOKEN_SECONDS
        });
        match earlier {
            Some(r) if r.fingerprint == request.fingerprint => return Ok(r.clone()),
            Some(_) => return Err(ApiError::idempotent_parameter_mismatch()),
            None => {}
        }
    }
    let name = request.table.name.clone();
    if shard.catalog().table(&name).is_some() {
        return Err(ApiError::resource_in_use(format!(
            "Table already exists: {name}"
        )));
    }
    check_operations(shard)?;
    let id = new_id(&name);
    let table_arn = table_arn(shard, &name);
    let arn = format!("{table_arn}/import/{id}");
    let mut def = request.table;
    def.status = TableStatus::Creating;
    def.settings.import_arn = Some(arn.clone());
    for index in &mut def.indexes {
        // Loaded through the write path, which maintains every index.
        index.status = IndexStatus::Active;
    }
    let created = submit(shard, CatalogCommand::Create(def)).await?;
    let record = ImportRecord {
        arn,
        id,
        table_arn,
        table_name: name,
        table_uuid: created.uuid.clone(),
        table_id: created.id,
        status: TransferStatus::InProgress,
        start_time: now,
        end_time: None,
        client_token: request.client_token,
        fingerprint: request.fingerprint,
        bucket: request.bucket,
        bucket_owner: request.bucket_owner,
        key_prefix: request.key_prefix,
        format: request.format_name,
        compression: request.compression_name,
        csv_delimiter: request.csv_delimiter,
        csv_header: request.csv_header,
        creation_parameters_json: request.creation_parameters_json,
        processed_bytes: 0,
        processed_items: 0,
        imported_items: 0,
        error_count: 0,
        failure_code: None,
        failure_message: None,
    };
    persist_import(shard, &record).await?;
    start_load(shard, record.clone(), created);
    Ok(record)
}

fn start_load(shard: &Rc<Shard>, record: ImportRecord, table: Arc<TableDef>) {
    let transfers = &shard.transfers;
    transfers.operations.set(transfers.operations.get() + 1);
    transfers
        .imports
        .borrow_mut()
        .insert(record.arn.clone(), record.clone());
    let task_shard = shard.clone();
    shard.services.spawn(Box::pin(async move {
        load(task_shard, record, table).await;
    }));
}

/// Why an import stopped: FailureCode and FailureMessage.
struct Failure {
    code: &'static str,
    message: String,
}

fn failure(code: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        code,
        message: message.into(),
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        failure("InternalServerError", e.to_string())
    }
}

pub(crate) async fn load(shard: Rc<Shard>, mut record: ImportRecord, table: Arc<TableDef>) {
    record.processed_bytes = 0;
    record.processed_items = 0;
    record.imported_items = 0;
    record.error_count = 0;
    let loaded = read_all(&shard, &mut record, &table).await;
    let ended = match loaded {
        Ok(()) => submit(
            &shard,
            CatalogCommand::TableActive {
                name: table.name.clone(),
                id: table.id,
            },
        )
        .await
        .map(|_| ())
        .map_err(Failure::from),
        Err(f) => Err(f),
    };
    record.end_time = Some(now_seconds());
    match ended {
        Ok(()) => record.status = TransferStatus::Completed,
        Err(f) => {
            tracing::error!(import = %record.arn, code = f.code, error = %f.message, "import failed; its table is deleted");
            record.status = TransferStatus::Failed;
            record.failure_code = Some(f.code.to_string());
            record.failure_message = Some(f.message);
            // Straight from CREATING to gone: a FAILED import's table is
            // never ACTIVE, not even for a moment.
            let abandon = CatalogCommand::CreateAbandoned {
                name: table.name.clone(),
                id: table.id,
            };
            if let Err(e) = submit(&shard, abandon).await {
                tracing::error!(import = %record.arn, error = %e, "cannot delete a failed import's table");
            }
        }
    }
    tracing::info!(
        import = %record.arn,
        status = record.status.as_str(),
        imported = record.imported_items,
        errors = record.error_count,
        "import ended"
    );
    if let Err(e) = persist_import(&shard, &record).await {
        tracing::error!(import = %record.arn, error = %e, "cannot record the import's end");
    }
    let transfers = &shard.transfers;
    transfers
        .operations
        .set(transfers.operations.get().saturating_sub(1));
    transfers
        .imports
        .borrow_mut()
        .insert(record.arn.clone(), record);
}

/// Whether a file under the prefix is data (not an export's manifest,
/// marker or checksum, nor a hidden file).
fn is_data_file(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    !(name.is_empty()
        || name.starts_with('.')
        || name == "_started"
        || name == "manifest-summary.json"
        || name == "manifest-files.json"
        || name.ends_with(".checksum"))
}

/// The data files of the import, as paths under the export root.
async fn data_files(shard: &Shard, record: &ImportRecord) -> Result<Vec<String>, Failure> {
    let FileDone::Names(names) = files(
        shard,
        FileJob::ListTree {
            path: record.bucket.clone(),
            max: FILES_MAX + 1,
        },
    )
    .await?
    else {
        return Err(failure("InternalServerError", "listing"));
    };
    if names.len() > FILES_MAX {
        return Err(failure(
            "ValidationError",
            format!("More than {FILES_MAX} objects under the bucket"),
        ));
    }
    let bucket_dir = format!("{}/", record.bucket);
    let found: Vec<String> = names
        .into_iter()
        .filter(|path| {
            path.strip_prefix(&bucket_dir)
                .is_some_and(|key| key.starts_with(&record.key_prefix) && is_data_file(key))
        })
        .collect();
    if found.is_empty() {
        return Err(failure(
            "S3NoSuchKey",
            format!(
                "No objects found in s3://{}/{}",
                record.bucket, record.key_prefix
            ),
        ));
    }
    Ok(found)
}

async fn read_all(
    shard: &Rc<Shard>,
    record: &mut ImportRecord,
    table: &Arc<TableDef>,
) -> Result<(), Failure> {
    let paths = data_files(shard, record).await?;
    let compression = Compression::parse(&record.compression).unwrap_or(Compression::None);
    let format = InputFormat::parse(&record.format).unwrap_or(InputFormat::DynamoDbJson);
    let chunk = shard.settings.backup_chunk_bytes as u64;
    let mut keys = vec![table.partition_key.clone()];
    keys.extend(table.sort_key.clone());
    for path in paths {
        let mut loader = FileLoader {
            shard,
            table,
            record: &mut *record,
            format,
            csv: None,
            csv_keys: keys.clone(),
            pending: Vec::new(),
            by_owner: BTreeMap::new(),
            queued_bytes: 0,
            path: path.clone(),
            line_number: 0,
        };
        let mut decoder = Decoder::new(compression)?;
        let mut offset = 0u64;
        loop {
            let job = FileJob::ReadAt {
                path: path.clone(),
                offset,
                len: chunk,
            };
            let FileDone::Bytes(bytes) = files(shard, job).await? else {
                return Err(failure("InternalServerError", "read"));
            };
            if bytes.is_empty() {
                break;
            }
            offset += bytes.len() as u64;
            loader.record.processed_bytes += bytes.len() as u64;
            // Small steps bound what one step decompresses (a gzip or
            // zstd bomb cannot expand a whole chunk in memory at once).
            for step in bytes.chunks(DECODE_STEP_BYTES) {
                let plain = decoder
                    .feed(step)
                    .map_err(|e| failure("InvalidCompression", format!("{path}: {e}")))?;
                loader.feed(&plain).await?;
            }
            loader.flush().await?;
        }
        let plain = decoder
            .finish()
            .map_err(|e| failure("InvalidCompression", format!("{path}: {e}")))?;
        loader.feed(&plain).await?;
        loader.finish().await?;
    }
    Ok(())
}

/// Decompresses a data file as its chunks arrive.
enum Decoder {
    Plain,
    Gzip(Box<flate2::write::MultiGzDecoder<Vec<u8>>>),
    Zstd(Box<zstd::stream::write::Decoder<'static, Vec<u8>>>),
}

impl Decoder {
    fn new(compression: Compression) -> Result<Decoder, Failure> {
        match compression {
            Compression::None => Ok(Decoder::Plain),
            Compression::Gzip => Ok(Decoder::Gzip(Box::new(flate2::write::MultiGzDecoder::new(
                Vec::new(),
            )))),
            Compression::Zstd => zstd::stream::write::Decoder::new(Vec::new())
                .map(|d| Decoder::Zstd(Box::new(d)))
                .map_err(|e| failure("InternalServerError", format!("zstd: {e}"))),
        }
    }

    fn feed(&mut self, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Decoder::Plain => Ok(bytes.to_vec()),
            Decoder::Gzip(d) => {
                d.write_all(bytes)?;
                Ok(std::mem::take(d.get_mut()))
            }
            Decoder::Zstd(d) => {
                d.write_all(bytes)?;
                Ok(std::mem::take(d.get_mut()))
            }
        }
    }

    fn finish(&mut self) -> std::io::Result<Vec<u8>> {
        match self {
            Decoder::Plain => Ok(Vec::new()),
            Decoder::Gzip(d) => {
                d.try_finish()?;
                Ok(std::mem::take(d.get_mut()))
            }
            Decoder::Zstd(d) => {
                d.flush()?;
                Ok(std::mem::take(d.get_mut()))
            }
        }
    }
}

/// One file's lines → items → write batches.
struct FileLoader<'a> {
    shard: &'a Rc<Shard>,
    table: &'a Arc<TableDef>,
    record: &'a mut ImportRecord,
    format: InputFormat,
    /// CSV: the layout, once the header is known.
    csv: Option<CsvLayout>,
    csv_keys: Vec<crate::catalog::KeyAttr>,
    pending: Vec<u8>,
    by_owner: BTreeMap<u32, WriteBatch>,
    /// Bytes in `by_owner` (flushed past [`QUEUED_BYTES_MAX`]).
    queued_bytes: usize,
    path: String,
    line_number: u64,
}

impl FileLoader<'_> {
    async fn feed(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(at) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let mut line = self.pending[start..start + at].to_vec();
            start += at + 1;
            self.line(&mut line);
        }
        self.pending.drain(..start);
        if self.pending.len() > LINE_BYTES_MAX {
            return Err(failure(
                "ValidationError",
                format!(
                    "{}: line {} is longer than {LINE_BYTES_MAX} bytes",
                    self.path,
                    self.line_number + 1
                ),
            ));
        }
        if self.queued_bytes >= QUEUED_BYTES_MAX {
            self.flush().await?;
        }
        Ok(())
    }

    async fn finish(&mut self) -> Result<(), Failure> {
        if !self.pending.is_empty() {
            let mut line = std::mem::take(&mut self.pending);
            self.line(&mut line);
        }
        self.flush().await
    }

    /// One line: an item queued for its owner, or an error counted.
    fn line(&mut self, line: &mut Vec<u8>) {
        self.line_number += 1;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            return;
        }
        if self.format == InputFormat::Csv && self.csv.is_none() {
            let header_line = self.record.csv_header.is_none();
            match self.csv_header(line) {
                Ok(layout) => self.csv = Some(layout),
                Err(e) => self.bad_line(&e),
            }
            // With HeaderList, this first line is a record too.
            if header_line {
                return;
            }
        }
        let parsed = match self.format {
            InputFormat::DynamoDbJson => parse_json_line(line).map(Some),
            InputFormat::Ion => parse_ion_line(line),
            InputFormat::Csv => match &self.csv {
                Some(layout) => parse_csv_line(line, layout).map(Some),
                None => Ok(None),
            },
        };
        let item = match parsed {
            Ok(Some(item)) => item,
            Ok(None) => return,
            Err(e) => {
                self.record.processed_items += 1;
                self.bad_line(&e);
                return;
            }
        };
        self.record.processed_items += 1;
        match self.checked(&item) {
            Ok((owner, storage)) => {
                let stored = encode_item(&item);
                self.queued_bytes += storage.len() + stored.len();
                self.by_owner
                    .entry(owner)
                    .or_default()
                    .push((storage, Some(stored)));
            }
            Err(e) => self.bad_line(&LineError(e.message.clone())),
        }
    }

    /// The CSV header: HeaderList if given (then every line is a record),
    /// else this first line.
    fn csv_header(&mut self, line: &[u8]) -> Result<CsvLayout, LineError> {
        let delimiter = self
            .record
            .csv_delimiter
            .as_deref()
            .and_then(|d| d.chars().next())
            .unwrap_or(',');
        let header = match &self.record.csv_header {
            Some(h) => h.clone(),
            None => {
                let text = std::str::from_utf8(line).map_err(|_| LineError("not UTF-8".into()))?;
                split_csv(text, delimiter)?
            }
        };
        Ok(CsvLayout {
            delimiter,
            header,
            keys: self.csv_keys.clone(),
        })
    }

    /// The owner and storage key of an item the table can hold.
    fn checked(&self, item: &Item) -> Result<(u32, Vec<u8>), ApiError> {
        if item_size(item) > ITEM_BYTES_MAX {
            return Err(ApiError::validation(
                "Item size has exceeded the maximum allowed size",
            ));
        }
        let key = key_of_item(self.shard, self.table, item)?;
        crate::api::index::keys::check_item(self.table, item, false)?;
        Ok((key.owner, key.storage))
    }

    fn bad_line(&mut self, error: &LineError) {
        self.record.error_count += 1;
        if self.record.error_count <= LOGGED_ERRORS_MAX {
            tracing::warn!(import = %self.record.arn, file = %self.path, line = self.line_number, error = %error, "import: line skipped");
        }
    }

    /// Writes what is queued, `BATCH_ITEMS_MAX` items per message.
    async fn flush(&mut self) -> Result<(), Failure> {
        let by_owner = std::mem::take(&mut self.by_owner);
        self.queued_bytes = 0;
        // Every batch at once: the owners' group commits then share one
        // sync among them (the queue bound keeps the count small, and the
        // mesh bounds requests in flight per peer).
        let mut calls: Vec<crate::api::shard::LocalFuture<_>> = Vec::new();
        for (owner, mut batch) in by_owner {
            while !batch.is_empty() {
                let rest = batch.split_off(batch.len().min(BATCH_ITEMS_MAX));
                let n = batch.len() as u64;
                let request = MeshRequest::Write {
                    batch,
                    measure: false,
                };
                let shard = self.shard.clone();
                calls.push(Box::pin(async move {
                    (n, call_or_local(&shard, owner, request).await)
                }));
                batch = rest;
            }
        }
        for (n, reply) in crate::api::txn::join::join_all(calls).await {
            match reply? {
                MeshReply::Written(r) => {
                    r?;
                }
                other => return Err(unexpected(&other).into()),
            }
            self.record.imported_items += n;
        }
        // Progress is visible to DescribeImport as it goes.
        self.shard
            .transfers
            .imports
            .borrow_mut()
            .insert(self.record.arn.clone(), self.record.clone());
        Ok(())
    }
}

/// On the coordinator at start-up: imports a restart interrupted start
/// over (their tables are still CREATING, marked with the import's ARN);
/// an IN_PROGRESS import whose table is gone is marked FAILED.
pub fn resume(shard: &Rc<Shard>) {
    if shard.id != COORDINATOR {
        return;
    }
    let task_shard = shard.clone();
    shard.services.spawn(Box::pin(async move {
        if let Err(e) = ensure_loaded(&task_shard).await {
            tracing::error!(error = %e, "cannot load the import records");
            return;
        }
        let pending: Vec<ImportRecord> = task_shard
            .transfers
            .imports
            .borrow()
            .values()
            .filter(|r| r.status == TransferStatus::InProgress)
            .cloned()
            .collect();
        for mut record in pending {
            let table = task_shard
                .catalog()
                .tables
                .values()
                .find(|t| t.settings.import_arn.as_deref() == Some(record.arn.as_str()))
                .cloned();
            match table {
                Some(table) => {
                    tracing::info!(import = %record.arn, "resuming an interrupted import");
                    start_load(&task_shard, record, table);
                }
                None => {
                    record.status = TransferStatus::Failed;
                    record.end_time = Some(now_seconds());
                    record.failure_code = Some("InternalServerError".to_string());
                    record.failure_message =
                        Some("The import's table was gone after a restart".to_string());
                    if let Err(e) = persist_import(&task_shard, &record).await {
                        tracing::error!(import = %record.arn, error = %e, "cannot record a failed import");
                    }
                    task_shard
                        .transfers
                        .imports
                        .borrow_mut()
                        .insert(record.arn.clone(), record);
                }
            }
        }
    }));
}
