//! Entry points for the cargo-fuzz targets in `fuzz/` (not an API: hidden
//! from the docs, no stability promise). Each function takes arbitrary
//! bytes, drives one decoder or the request path with them, and panics only
//! when an invariant breaks — so any panic a fuzzer reports is a bug, either
//! in the code under test or in the invariant stated here.
//!
//! The request target runs the real handlers (`api::execute`: JSON decode,
//! DynamoDB validation, expressions, the store) against one in-memory shard
//! over the fault-free memory file system, on one reusable executor, with a
//! fixture table that has an LSI and a GSI. Every [`REQUESTS_PER_SHARD`]
//! inputs all tables are dropped and the fixture recreated, so hours-long
//! runs stay bounded in memory.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::api::shard::files::{FileDone, FileJob};
use crate::api::{
    ApiError, ApiSettings, Counters, LocalFuture, MeshReply, MeshRequest, Operation, Services,
    Shard,
};
use crate::catalog::Catalog;
use crate::engine::io::dma::{ReusableExecutor, sleep_ms, spawn, spawn_background};
use crate::engine::io::either::EitherFs;
use crate::engine::io::mem::MemFs;
use crate::engine::{EngineConfig, LsmStore};
use crate::model::Value;
use crate::routing::PartitionMap;

/// Every operation the request target drives, in the order its selector
/// byte indexes them (append only: the seeds name operations by index).
/// The backup, point-in-time, export and import operations run their file
/// jobs against [`MemFolder`]s.
pub const OPERATIONS: [Operation; 43] = [
    Operation::CreateTable,
    Operation::DescribeTable,
    Operation::ListTables,
    Operation::UpdateTable,
    Operation::DeleteTable,
    Operation::PutItem,
    Operation::GetItem,
    Operation::DeleteItem,
    Operation::UpdateItem,
    Operation::Query,
    Operation::Scan,
    Operation::BatchGetItem,
    Operation::BatchWriteItem,
    Operation::TagResource,
    Operation::UntagResource,
    Operation::ListTagsOfResource,
    Operation::DescribeEndpoints,
    Operation::DescribeLimits,
    Operation::DescribeContinuousBackups,
    Operation::DescribeTimeToLive,
    Operation::TransactWriteItems,
    Operation::TransactGetItems,
    Operation::UpdateTimeToLive,
    Operation::ListStreams,
    Operation::DescribeStream,
    Operation::GetShardIterator,
    Operation::GetRecords,
    Operation::PutResourcePolicy,
    Operation::GetResourcePolicy,
    Operation::DeleteResourcePolicy,
    Operation::CreateBackup,
    Operation::DescribeBackup,
    Operation::ListBackups,
    Operation::DeleteBackup,
    Operation::RestoreTableFromBackup,
    Operation::UpdateContinuousBackups,
    Operation::RestoreTableToPointInTime,
    Operation::ExportTableToPointInTime,
    Operation::DescribeExport,
    Operation::ListExports,
    Operation::ImportTable,
    Operation::DescribeImport,
    Operation::ListImports,
];

/// Inputs served between resets of the tables (bounds the memory FS).
pub const REQUESTS_PER_SHARD: u64 = 5_000;

/// The fixture table every shard starts with ("fuzz": pk S + sk N, an LSI
/// on `l`, a GSI on `g`/`h`).
pub const FIXTURE_TABLE: &str = r#"{"TableName":"fuzz","BillingMode":"PAY_PER_REQUEST",
 "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"},
  {"AttributeName":"l","AttributeType":"S"},{"AttributeName":"g","AttributeType":"S"},{"AttributeName":"h","AttributeType":"B"}],
 "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
 "LocalSecondaryIndexes":[{"IndexName":"byL","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"l","KeyType":"RANGE"}],"Projection":{"ProjectionType":"ALL"}}],
 "GlobalSecondaryIndexes":[{"IndexName":"byG","KeySchema":[{"AttributeName":"g","KeyType":"HASH"},{"AttributeName":"h","KeyType":"RANGE"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}]}"#;

/// One shard's mesh, in one thread: there is no other shard. The backup
/// directory and the export root are folders in memory.
struct SoloServices {
    shard: RefCell<std::rc::Weak<Shard>>,
    backups: RefCell<MemFolder>,
    exports: RefCell<MemFolder>,
}

/// A folder in memory for the runtime's file jobs (paths relative to it,
/// `/`-separated; directories are implied by the files under them).
/// Emptied with the tables, so it stays bounded.
#[derive(Default)]
struct MemFolder {
    files: BTreeMap<String, Vec<u8>>,
}

impl MemFolder {
    fn run(&mut self, job: FileJob) -> Result<FileDone, ApiError> {
        let missing = |path: &str| ApiError::internal(format!("no file {path}"));
        let under = |dir: &str| {
            if dir.is_empty() {
                String::new()
            } else {
                format!("{dir}/")
            }
        };
        match job {
            FileJob::Create { path } => {
                self.files.insert(path, Vec::new());
                Ok(FileDone::Done)
            }
            FileJob::Append { path, bytes } => {
                let file = self.files.get_mut(&path).ok_or_else(|| missing(&path))?;
                file.extend_from_slice(&bytes);
                Ok(FileDone::Done)
            }
            FileJob::Sync { path } => match self.files.contains_key(&path) {
                true => Ok(FileDone::Done),
                false => Err(missing(&path)),
            },
            FileJob::WriteAtomically { path, bytes } => {
                self.files.insert(path, bytes);
                Ok(FileDone::Done)
            }
            FileJob::ReadAt { path, offset, len } => {
                let file = self.files.get(&path).ok_or_else(|| missing(&path))?;
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(file.len());
                let end = start.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
                Ok(FileDone::Bytes(file[start..end.min(file.len())].to_vec()))
            }
            FileJob::Read { path } => {
                let file = self.files.get(&path).ok_or_else(|| missing(&path))?;
                Ok(FileDone::Bytes(file.clone()))
            }
            FileJob::List { path } => {
                let prefix = under(&path);
                let mut names: Vec<String> = self
                    .files
                    .keys()
                    .filter_map(|k| k.strip_prefix(prefix.as_str()))
                    .filter_map(|rest| rest.split('/').next())
                    .map(str::to_string)
                    .collect();
                names.dedup();
                Ok(FileDone::Names(names))
            }
            FileJob::ListTree { path, max } => {
                let prefix = under(&path);
                let names = self
                    .files
                    .keys()
                    .filter(|k| k.starts_with(prefix.as_str()))
                    .take(max)
                    .cloned()
                    .collect();
                Ok(FileDone::Names(names))
            }
            FileJob::RemoveAll { path } => {
                let prefix = under(&path);
                self.files
                    .retain(|k, _| *k != path && !k.starts_with(prefix.as_str()));
                Ok(FileDone::Done)
            }
        }
    }
}

impl Services for SoloServices {
    fn call(&self, _to: u32, request: MeshRequest) -> LocalFuture<Result<MeshReply, ApiError>> {
        let shard = self.shard.borrow().upgrade();
        Box::pin(async move {
            let shard = shard.ok_or_else(|| ApiError::internal("shard is gone"))?;
            Ok(crate::api::serve(&shard, request).await)
        })
    }

    fn persist_catalog(&self, _bytes: Vec<u8>) -> LocalFuture<Result<(), ApiError>> {
        Box::pin(async { Ok(()) })
    }

    fn files(&self, job: FileJob) -> LocalFuture<Result<FileDone, ApiError>> {
        let done = self.backups.borrow_mut().run(job);
        Box::pin(async move { done })
    }

    fn export_files(&self, job: FileJob) -> LocalFuture<Result<FileDone, ApiError>> {
        let done = self.exports.borrow_mut().run(job);
        Box::pin(async move { done })
    }

    fn spawn(&self, task: LocalFuture<()>) {
        spawn(task);
    }

    fn spawn_background(&self, task: LocalFuture<()>) {
        spawn_background(task);
    }

    fn sleep(&self, duration: std::time::Duration) -> LocalFuture<()> {
        Box::pin(sleep_ms(duration.as_millis() as u64))
    }
}

async fn new_shard() -> Rc<Shard> {
    let store = LsmStore::open_with(EitherFs::Mem(MemFs::new()), &EngineConfig::test_min())
        .await
        .expect("an empty memory store opens");
    let services = Rc::new(SoloServices {
        shard: RefCell::new(std::rc::Weak::new()),
        backups: Default::default(),
        exports: Default::default(),
    });
    let shard = Rc::new(Shard {
        id: 0,
        map: PartitionMap::new(1),
        settings: ApiSettings {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            item_collection_bytes_max: 10 << 30,
            index_outbox_records_max: 1_000,
            gsi_backpressure_wait: std::time::Duration::from_millis(1000),
            tables_max: 2500,
            table_status_transition: std::time::Duration::ZERO,
            pitr: Default::default(),
            capacity_decreases: Default::default(),
            streams: Default::default(),
            ttl_change_interval_ms: 0,
            resource_policy_change_interval_ms: 0,
            ttl_scan_interval: std::time::Duration::from_millis(100),
            ttl_deletes_per_second_max: 100_000,
            ttl_idle_backoff_max: 8,
            backup_cut_wait: std::time::Duration::from_secs(1),
            backup_chunk_bytes: 1 << 20,
            backup_copy_bytes_per_s: 0,
            backup_operations_max: 10,
            encrypted_at_rest: false,
            backup_key: None,
            transfer_operations_max: 10,
        },
        catalog: RefCell::new(Arc::new(Catalog::default())),
        store: Rc::new(store),
        services: services.clone(),
        locks: Default::default(),
        counters: Rc::new(Counters::default()),
        inbound: crate::api::inbound,
        outbox: crate::api::shard::outbox::Outbox::new(1_000),
        backfills: Default::default(),
        expiry: Default::default(),
        backups: Default::default(),
        pitr: Default::default(),
        transfers: Default::default(),
        cut: Default::default(),
        txns: Default::default(),
        streams: Default::default(),
        meter: Default::default(),
        metrics: Default::default(),
    });
    *services.shard.borrow_mut() = Rc::downgrade(&shard);
    crate::api::index::open(&shard)
        .await
        .expect("index machinery opens");
    crate::api::execute(
        &shard,
        Operation::CreateTable,
        FIXTURE_TABLE.as_bytes().to_vec(),
        false,
    )
    .await
    .expect("the fixture table is valid");
    shard
}

/// Drops every table and recreates the fixture: what the fuzzer wrote is
/// range-deleted and compacted away, so memory stays bounded. (The shard is
/// kept: its replicator task holds it, so a dropped shard would leak.)
async fn reset_tables(shard: &Rc<Shard>) {
    let names: Vec<String> = shard
        .catalog()
        .tables
        .values()
        .map(|t| t.name.clone())
        .collect();
    for name in names {
        let mut body = Vec::new();
        body.extend_from_slice(b"{\"TableName\":");
        crate::model::value::write_json_str(&mut body, &name);
        body.push(b'}');
        let _ = crate::api::execute(shard, Operation::DeleteTable, body, false).await;
    }
    // Backups, PITR bases, exports and imports go with the tables.
    let everything = || FileJob::RemoveAll {
        path: String::new(),
    };
    let _ = shard.services.files(everything()).await;
    let _ = shard.services.export_files(everything()).await;
    shard.backups.records.borrow_mut().clear();
    shard.backups.bases.borrow_mut().clear();
    shard.transfers.exports.borrow_mut().clear();
    shard.transfers.imports.borrow_mut().clear();
    let _ = crate::api::execute(
        shard,
        Operation::CreateTable,
        FIXTURE_TABLE.as_bytes().to_vec(),
        false,
    )
    .await;
}

struct Harness {
    executor: ReusableExecutor,
    shard: Option<Rc<Shard>>,
    served: u64,
}

thread_local! {
    static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
}

/// Runs one request: `data[0]` selects the operation (modulo the length of [`OPERATIONS`]), the rest
/// is the body. Invariant: no panic, and no InternalServerError — a 500 is
/// an engine fault, which a memory store without injected faults never has,
/// so a 500 here means input reached a path that mishandles it.
pub fn request(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let op = OPERATIONS[selector as usize % OPERATIONS.len()];
    let _ = request_with(op, body);
}

/// [`request`] with the operation chosen by the caller; returns the reply.
pub fn request_with(op: Operation, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    HARNESS.with(|cell| {
        let mut slot = cell.borrow_mut();
        let harness = slot.get_or_insert_with(|| Harness {
            executor: ReusableExecutor::new().expect("an executor (ulimit -l?)"),
            shard: None,
            served: 0,
        });
        let reset = harness.served % REQUESTS_PER_SHARD == 0;
        harness.served += 1;
        let current = harness.shard.clone();
        let (shard, result) = harness.executor.run(async move {
            let shard = match current {
                Some(shard) => {
                    if reset {
                        reset_tables(&shard).await;
                    }
                    shard
                }
                None => new_shard().await,
            };
            let result = crate::api::execute(&shard, op, body.to_vec(), false).await;
            (shard, result)
        });
        harness.shard = Some(shard);
        if let Err(e) = &result {
            assert!(
                e.status != 500,
                "{op:?} answered 500 {}: {} (body {:?})",
                e.type_name,
                e.message,
                String::from_utf8_lossy(body)
            );
        }
        result
    })
}

/// Decodes a request body: `data[0]` picks the content coding (gzip,
/// deflate, identity or an unknown one) and the body limit, the rest is
/// the body. Invariants: no panic; a decoded body never exceeds the limit;
/// what decodes re-encodes (gzip) and decodes to the same bytes.
pub fn body_decoding(data: &[u8]) {
    use crate::runtime::http::{decode_body, gzip};
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let coding = ["gzip", "deflate", "identity", "br"][usize::from(selector & 3)];
    let limit = [0usize, 64, 4096, 1 << 20][usize::from(selector >> 2 & 3)];
    if let Ok(decoded) = decode_body(coding, body, limit) {
        assert!(
            decoded.len() <= limit,
            "{} bytes past the limit {limit}",
            decoded.len()
        );
        let again = decode_body("gzip", &gzip(&decoded), limit);
        assert_eq!(again.as_deref(), Ok(decoded.as_slice()), "gzip round trip");
    }
}

/// Parses `src` as the expression kind `data[0]` selects (condition,
/// filter, key condition, update, projection) with a fixed set of
/// placeholders; when it parses, the result is evaluated or applied to a
/// sample item. Invariant: no panic.
pub fn expression(data: &[u8]) {
    use crate::api::expr::{self, ExprKind, Placeholders};
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(src) = std::str::from_utf8(rest) else {
        return;
    };
    let names: BTreeMap<String, String> =
        [("#a", "a"), ("#b", "b"), ("#n", "nested"), ("#k", "pk")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let item = sample_item();
    let values: BTreeMap<String, Value> = [
        (":s", Value::S("x".into())),
        (":n", Value::N(crate::model::Number::from_u64(3))),
        (":l", item.get("list").cloned().unwrap_or(Value::Null)),
        (":m", item.get("nested").cloned().unwrap_or(Value::Null)),
        (":b", Value::Bool(true)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let Ok(mut ph) = Placeholders::new(Some(&names), Some(&values)) else {
        return;
    };
    match selector % 5 {
        0..=2 => {
            let kind = [
                ExprKind::Condition,
                ExprKind::Filter,
                ExprKind::KeyCondition,
            ][selector as usize % 5];
            if let Ok(cond) = expr::parse_condition(src, kind, &mut ph) {
                let _ = expr::evaluate(&cond, &item);
                if kind == ExprKind::KeyCondition {
                    let _ = expr::key_condition_terms(&cond);
                }
            }
        }
        3 => {
            if let Ok(update) = expr::parse_update(src, &mut ph) {
                let _ = expr::apply_update(&update, &item);
            }
        }
        _ => {
            let _ = expr::parse_projection(src, &mut ph);
        }
    }
    let _ = ph.finish();
}

fn sample_item() -> crate::model::Item {
    let json = br#"{"pk":{"S":"p"},"a":{"N":"1"},"b":{"S":"text"},
        "list":{"L":[{"N":"1"},{"S":"two"},{"M":{"x":{"BOOL":true}}}]},
        "nested":{"M":{"deep":{"M":{"deeper":{"L":[{"NULL":true}]}}},"set":{"SS":["a","b"]}}},
        "bytes":{"B":"AAEC"},"nums":{"NS":["1","2.5"]}}"#;
    let mut bytes = json.to_vec();
    simd_json::to_borrowed_value(&mut bytes)
        .ok()
        .and_then(|json| crate::model::value::item_from_json(&json).ok())
        .unwrap_or_default()
}

/// Decodes arbitrary bytes as a stored item; what decodes must re-encode
/// to bytes that decode to the same item, and transcode to the JSON its
/// decoded item writes (and what does not decode must not transcode). Also feeds the bytes to the GSI
/// outbox record decoder, whose output must re-encode to the same bytes.
pub fn item_decode(data: &[u8]) {
    use crate::model::codec::{decode_item, encode_item, write_item_json};
    let mut json = Vec::new();
    let transcoded = write_item_json(data, &mut json);
    if let Ok(item) = decode_item(data) {
        let again = decode_item(&encode_item(&item));
        assert_eq!(again.as_ref(), Ok(&item), "re-encoded item differs");
        // Transcoding stored bytes to JSON is decoding then writing.
        let mut want = Vec::new();
        crate::model::value::write_json_map(&mut want, &item);
        assert_eq!(transcoded, Ok(crate::model::value::item_size(&item)));
        assert_eq!(json, want, "transcoded JSON differs");
    } else {
        assert!(transcoded.is_err(), "transcoded what does not decode");
    }
    if let Some((created_ms, ops)) = crate::api::shard::outbox::decode_record(data) {
        let encoded = crate::api::shard::outbox::encode_record(created_ms, &ops);
        assert_eq!(encoded, data, "outbox record does not round-trip");
    }
}

/// Builds an item from the fuzz input (a small interpreter: each byte pair
/// picks a type and a length), checks encode→decode is the identity, and
/// that storage keys of its scalar values are order-preserving (bytewise
/// order of the encodings is DynamoDB's order of the values) and prefix-free.
pub fn item_round_trip(data: &[u8]) {
    use crate::model::codec::{decode_item, encode_item};
    let mut reader = Bytes(data);
    let mut item = crate::model::Item::new();
    let mut scalars = Vec::new();
    while let Some(name_len) = reader.byte() {
        let name = reader.text(1 + name_len as usize % 12);
        let value = reader.value(0);
        if matches!(value, Value::S(_) | Value::N(_) | Value::B(_)) {
            scalars.push(value.clone());
        }
        item.insert(name, value);
        if item.len() > 64 {
            break;
        }
    }
    let encoded = encode_item(&item);
    let decoded = decode_item(&encoded).expect("an encoded item decodes");
    assert_eq!(decoded, item, "item codec round trip");
    let (mut want, mut json) = (Vec::new(), Vec::new());
    crate::model::value::write_json_map(&mut want, &item);
    let size = crate::model::codec::write_item_json(&encoded, &mut json);
    assert_eq!(
        size,
        Ok(crate::model::value::item_size(&item)),
        "transcoded size"
    );
    assert_eq!(json, want, "transcoded JSON");
    for a in &scalars {
        for b in &scalars {
            if a.type_name() != b.type_name() {
                continue;
            }
            let (mut ka, mut kb) = (Vec::new(), Vec::new());
            crate::model::key::push_component(&mut ka, a);
            crate::model::key::push_component(&mut kb, b);
            let want = crate::api::expr::compare_values(a, b);
            assert_eq!(Some(ka.cmp(&kb)), want, "key order of {a:?} vs {b:?}");
            if ka != kb {
                assert!(!kb.starts_with(&ka), "encoding of {a:?} prefixes {b:?}'s");
            }
        }
    }
}

/// A cursor over fuzz bytes that builds values; it never fails, it runs out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }

    fn text(&mut self, n: usize) -> String {
        String::from_utf8_lossy(self.take(n)).into_owned()
    }

    fn number(&mut self) -> crate::model::Number {
        let b = self.byte().unwrap_or(0);
        let digits: Vec<u8> = self
            .take(1 + b as usize % 38)
            .iter()
            .map(|d| d % 10)
            .collect();
        let exp = i32::from(self.byte().unwrap_or(0) as i8);
        crate::model::Number::from_parts(b & 0x80 != 0, digits, exp)
            .unwrap_or_else(|_| crate::model::Number::zero())
    }

    fn value(&mut self, depth: usize) -> Value {
        let tag = self.byte().unwrap_or(0);
        let len = self.byte().unwrap_or(0) as usize;
        let nested = depth < 4;
        match tag % 10 {
            0 => Value::S(self.text(len)),
            1 => Value::N(self.number()),
            2 => Value::B(self.take(len).to_vec()),
            3 => Value::Bool(len.is_multiple_of(2)),
            4 => Value::Null,
            5 if nested => Value::L((0..len % 5).map(|_| self.value(depth + 1)).collect()),
            6 if nested => Value::M(
                (0..len % 5)
                    .map(|i| (format!("k{i}"), self.value(depth + 1)))
                    .collect(),
            ),
            7 => Value::Ss(
                (0..1 + len % 4)
                    .map(|i| format!("{i}{}", self.text(3)))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            ),
            _ => Value::S(self.text(len % 8)),
        }
    }
}

/// Reads arbitrary bytes as one line of an import data file, in the format
/// `data[0]` selects (DynamoDB JSON, Ion, CSV with a two-column header):
/// no panic, and an item a JSON or Ion line yields writes back to a line
/// (in both formats) that reads as the same item.
pub fn import_lines(data: &[u8]) {
    use crate::api::transfer::lines::{
        CsvLayout, parse_csv_line, parse_ion_line, parse_json_line, write_ion_line, write_json_line,
    };
    use crate::catalog::{KeyAttr, KeyType};
    let Some((&selector, line)) = data.split_first() else {
        return;
    };
    let item = match selector % 3 {
        0 => parse_json_line(&mut line.to_vec()).ok(),
        1 => parse_ion_line(line).ok().flatten(),
        _ => {
            let layout = CsvLayout {
                delimiter: if selector & 4 == 0 { ',' } else { '\t' },
                header: vec!["pk".into(), "n".into()],
                keys: vec![KeyAttr {
                    name: "n".into(),
                    key_type: KeyType::N,
                }],
            };
            let _ = parse_csv_line(line, &layout);
            None
        }
    };
    let Some(item) = item else { return };
    let mut ion = Vec::new();
    write_ion_line(&item, &mut ion);
    assert_eq!(
        parse_ion_line(&ion).ok().flatten().as_ref(),
        Some(&item),
        "Ion round trip"
    );
    let stored = crate::model::codec::encode_item(&item);
    let mut json = Vec::new();
    write_json_line(&stored, &mut json).expect("an encoded item writes");
    let len = json.len() - 1;
    assert_eq!(
        parse_json_line(&mut json[..len]).ok().as_ref(),
        Some(&item),
        "JSON round trip"
    );
}

/// Reads arbitrary bytes as a backup data file, fed in chunks of
/// `data[0] + 1` bytes (restores read files in chunks): no panic, and a
/// file that reads whole re-encodes to the same bytes.
pub fn backup_file(data: &[u8]) {
    use crate::api::backup::format::{MAGIC, Reader, push_record};
    let Some((&chunk, rest)) = data.split_first() else {
        return;
    };
    let mut reader = Reader::new(None);
    let mut items = Vec::new();
    for part in rest.chunks(chunk as usize + 1) {
        match reader.feed("fuzz", part) {
            Ok(more) => items.extend(more),
            Err(_) => return,
        }
    }
    if reader.finish("fuzz").is_ok() {
        let mut again = MAGIC.to_vec();
        for item in &items {
            push_record(&mut again, item);
        }
        assert_eq!(
            again, rest,
            "a backup file that reads whole re-encodes to itself"
        );
        assert_eq!(reader.items, items.len() as u64);
    }
}

/// Scans arbitrary bytes as a WAL segment and decodes every record body as
/// a batch; `data[0]` odd also frames the rest as one record with valid
/// checksums, so the batch decoder sees arbitrary bodies. A batch that
/// decodes must re-encode to the same body.
pub fn wal_record(data: &[u8]) {
    use crate::engine::wal::record::{decode_batch, encode_batch, encode_record, scan_segment};
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let framed;
    let segment_bytes = if mode & 1 == 1 {
        let mut out = Vec::new();
        encode_record(&mut out, 1, 1, 1, rest);
        framed = out;
        &framed[..]
    } else {
        rest
    };
    let scan = scan_segment(segment_bytes, 1);
    for record in scan.records.iter().chain(&scan.after_invalid) {
        if let Some(batch) = decode_batch(&record.body) {
            assert_eq!(encode_batch(&batch), record.body, "WAL batch round trip");
        }
    }
    if let Some(batch) = decode_batch(rest) {
        assert_eq!(encode_batch(&batch), rest, "WAL batch round trip");
    }
}

/// Opening sealed data from arbitrary bytes (`engine::seal`): a file
/// header and a sealed unit built from the input must be refused as
/// tampered, truncated or bad magic, never accepted or panicking; and the
/// input's bytes sealed under a fixed key open back to themselves, while
/// any single flipped byte (chosen by the input) is refused.
pub fn sealed_open(data: &[u8]) {
    use crate::engine::seal::{Domain, MasterKey, SealError};
    let Ok(master) = MasterKey::from_bytes(&[0x5a; 32]) else {
        panic!("a 32-byte key is a key");
    };
    // Arbitrary bytes as a header: never a key (2^-128 to forge a tag).
    if let Ok(key) = master.open_file_key("f", data) {
        let _ = key;
        panic!("arbitrary bytes opened as a wrapped file key");
    }
    let Ok((key, _)) = master.new_file_key("f") else {
        return;
    };
    let counter = data.first().map_or(0, |&b| u64::from(b));
    let mut forged = data.to_vec();
    assert!(
        key.open("f", Domain::Block, counter, &mut forged).is_err(),
        "arbitrary bytes opened as a sealed block"
    );
    let mut sealed = data.to_vec();
    if key.seal("f", Domain::Record, counter, &mut sealed).is_err() {
        return;
    }
    let mut opened = sealed.clone();
    assert!(key.open("f", Domain::Record, counter, &mut opened).is_ok());
    assert_eq!(opened, data, "sealed bytes open to the plaintext");
    let at = (counter as usize) % sealed.len();
    sealed[at] ^= 0x80;
    assert_eq!(
        key.open("f", Domain::Record, counter, &mut sealed),
        Err(SealError::Tampered),
        "a flipped byte at {at} was accepted"
    );
}

/// Parses arbitrary bytes as an SST block and reads it every way the
/// engine does; `data[0]` odd first fixes up the trailing checksum so the
/// entry decoder sees arbitrary entries. Then builds a block from the
/// input's sorted keys and checks that every key reads back.
pub fn sst_block(data: &[u8]) {
    use crate::engine::sst::block::{Block, BlockBuilder};
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = rest.to_vec();
    if mode & 1 == 1 && bytes.len() >= 8 {
        let crc_at = bytes.len() - 4;
        let crc = crc32c::crc32c(&bytes[..crc_at]);
        bytes[crc_at..].copy_from_slice(&crc.to_le_bytes());
    }
    if let Ok(block) = Block::parse(bytes) {
        if let Ok(entries) = block.entries() {
            for entry in entries.iter().take(64) {
                let _ = block.get(&entry.0);
            }
        }
        let _ = block.get(rest);
        let _ = block.get(b"");
    }
    // Build → parse → read back.
    let mut keys: Vec<&[u8]> = rest.chunks(7).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut builder = BlockBuilder::default();
    for (i, key) in keys.iter().enumerate() {
        let value = (i % 3 != 0).then_some(*key);
        builder.add(key, value);
    }
    if builder.is_empty() {
        return;
    }
    let block = Block::parse(builder.finish()).expect("a built block parses");
    for (i, key) in keys.iter().enumerate() {
        let want = (i % 3 != 0).then(|| key.to_vec());
        assert_eq!(block.get(key), Ok(Some(want)), "key {i} of a built block");
    }
}

/// The DynamoDB Streams decoders of client input: shard iterator tokens,
/// stream ARNs and labels, shard ids, sequence numbers, and stored stream
/// records. Invariants: no panic; no token verifies under a key it was not
/// signed with (a fixed test key signs none of these inputs unless they
/// are such a token, which then re-encodes to itself); whatever parses
/// formats back to the same text.
pub fn stream_names(data: &[u8]) {
    use crate::api::streams::{iterator, names, record};
    use crate::catalog::{StreamDef, StreamViewType};
    let _ = record::decode(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    const KEY: [u8; 16] = [0x5a; 16];
    if let Some(it) = iterator::peek(text).and_then(|u| u.verify(&KEY)) {
        assert_eq!(
            it.encode(&KEY),
            text,
            "a verified token re-encodes to itself"
        );
    }
    if let Some(ms) = names::parse_label(text) {
        assert_eq!(names::label(ms), text);
    }
    if let Some((epoch, shard, position)) = names::parse_sequence_number(text) {
        assert_eq!(names::sequence_number(epoch, shard, position), text);
    }
    let _ = names::parse_stream_arn(text);
    let stream = StreamDef {
        label_ms: 1_700_000_000_000,
        view_type: StreamViewType::KeysOnly,
        rollover_ms: 1000,
        disabled_ms: None,
        iterator_key: KEY,
    };
    if let Some((shard, epoch)) = names::parse_shard_id(&stream, text) {
        assert_eq!(names::shard_id(&stream, shard, epoch), text);
    }
}

/// The `Authorization` header parser and the SigV4 verifier. `data` is
/// split at the first 0xFF byte: before it the header value, after it a
/// request body (and header values for the canonical form). Invariants: no
/// panic; a parsed header's parts are pieces of the value; a request the
/// signer signed verifies, and the same request with the fuzzed body
/// appended verifies only if nothing was appended.
pub fn authorization(data: &[u8]) {
    use crate::auth::sigv4::{self, SignedRequest, parse_authorization};
    use crate::auth::{AuthError, Credentials, Verifier};
    let split = data.iter().position(|&b| b == 0xFF).unwrap_or(data.len());
    let (value, rest) = data.split_at(split);
    let rest = rest.get(1..).unwrap_or(&[]);
    let text = String::from_utf8_lossy(value);
    for has_date in [false, true] {
        if let Ok(auth) = parse_authorization(&text, has_date) {
            for part in [
                auth.access_key_id,
                auth.scope,
                auth.signed_headers,
                auth.signature,
            ] {
                assert!(text.contains(part), "{part:?} is not in {text:?}");
            }
        }
    }
    let Ok(creds) = Credentials::parse(
        "[[credentials]]\naccess_key_id = \"AKID\"\nsecret_access_key = \"secret\"\n",
    ) else {
        return;
    };
    let verifier = Verifier::new(std::sync::Arc::new(creds), "us-east-1", 4);
    let now = 1_767_225_600; // 20260101T000000Z
    let date = sigv4::format_amz_date(now);
    let odd = String::from_utf8_lossy(rest).replace(['\r', '\n'], " ");
    // The fuzzed header value itself, with a fuzzed extra header.
    let fields: [(&str, &[u8]); 4] = [
        ("host", b"localhost"),
        ("x-amz-date", date.as_bytes()),
        ("x-odd", odd.as_bytes()),
        ("authorization", value),
    ];
    let request = SignedRequest {
        method: "POST",
        target: "/",
        headers: &fields,
        body: rest,
    };
    let _ = verifier.verify(&request, now);
    // A real signature over the fuzzed body and header verifies.
    let headers = [
        ("host", "localhost"),
        ("x-amz-date", date.as_str()),
        ("x-odd", odd.as_str()),
    ];
    let signed = sigv4::sign(
        "AKID",
        "secret",
        "us-east-1",
        &date,
        "POST",
        "/",
        &headers,
        rest,
    );
    let fields: [(&str, &[u8]); 4] = [
        ("host", b"localhost"),
        ("x-amz-date", date.as_bytes()),
        ("x-odd", odd.as_bytes()),
        ("authorization", signed.as_bytes()),
    ];
    let request = SignedRequest {
        method: "POST",
        target: "/",
        headers: &fields,
        body: rest,
    };
    assert!(
        verifier.verify(&request, now).is_ok(),
        "own signature refused"
    );
    let mut longer = rest.to_vec();
    longer.push(b'x');
    let tampered = SignedRequest {
        body: &longer,
        ..request
    };
    assert_eq!(
        verifier.verify(&tampered, now).map(|_| ()),
        Err(AuthError::Mismatch),
        "a changed body verified"
    );
}

#[cfg(test)]
mod tests {
    //! Every committed seed and regression input of `fuzz/` runs through its
    //! entry point in `cargo test`, so a fixed fuzzer finding stays fixed.

    use std::path::Path;

    fn inputs(target: &str) -> Vec<Vec<u8>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut out = Vec::new();
        for dir in ["seeds", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
                continue;
            };
            for entry in entries.flatten() {
                out.push(std::fs::read(entry.path()).expect("readable input"));
            }
        }
        out
    }

    #[test]
    fn seeds_and_regressions_pass_every_entry_point() {
        type EntryPoint = fn(&[u8]);
        let targets: [(&str, EntryPoint); 11] = [
            ("authorization", super::authorization),
            ("request_decode", super::request),
            ("expression", super::expression),
            ("item_codec", super::item_decode),
            ("item_round_trip", super::item_round_trip),
            ("wal_record", super::wal_record),
            ("sst_block", super::sst_block),
            ("stream_names", super::stream_names),
            ("sealed_open", super::sealed_open),
            ("backup_file", super::backup_file),
            ("import_lines", super::import_lines),
        ];
        for (target, run) in targets {
            for input in inputs(target) {
                run(&input);
            }
            // And a few inputs of every shape.
            for input in [
                &b""[..],
                b"\0",
                b"\x01{}",
                b"\x05{\"TableName\":\"fuzz\"}",
                &[0xFF; 64],
            ] {
                run(input);
            }
        }
    }

    #[test]
    fn seed_requests_succeed() {
        // The request seeds are valid requests: they reach the handlers'
        // success paths, which is what makes them useful seeds.
        for (i, op) in super::OPERATIONS.iter().enumerate() {
            for input in inputs("request_decode") {
                if input.first() == Some(&(i as u8)) {
                    let reply = super::request_with(*op, &input[1..]);
                    assert!(reply.is_ok(), "{op:?} seed: {reply:?}");
                }
            }
        }
    }
}
