//! Messages between shards: plain data, `Send` (owned bytes, `Arc`
//! snapshots), with no behaviour of their own. Handlers reach other shards
//! only by sending these through [`Services`](crate::api::Services)
//! (`shard::peers`); `dispatch::serve` serves them. `Forward`
//! carries a whole request to its owner; every other request is a leaf
//! storage or catalog action whose handler sends no further mesh message,
//! except `Catalog`, which only shard 0 receives and which fans out leaf
//! `InstallCatalog` messages. A transaction's coordinator (the shard a
//! client's TransactWriteItems/TransactGetItems reached, never a forwarded
//! request) likewise fans out leaf `Txn*` messages. Hence no cycles and no
//! nested waits. Index
//! replication (`IndexApply`) and backfill reports (`BackfillDone`) are sent
//! by background tasks, never from inside a handler.

use std::ops::Bound;
use std::sync::Arc;

use crate::api::expr::{Condition, Update};
use crate::api::protocol::error::{ApiError, CancellationReason};
use crate::api::protocol::operation::Operation;
use crate::api::protocol::reply::{CollectionMetrics, IndexUnits};
use crate::catalog::{Catalog, CatalogCommand, TableDef};
use crate::engine::{PrefixStats, WriteBatch};
use crate::model::{Item, Value};

pub enum MeshRequest {
    /// A whole client request for the owner of its key.
    Forward {
        op: Operation,
        body: Vec<u8>,
    },
    /// A DDL change for the coordinator (shard 0).
    Catalog(Box<CatalogCommand>),
    /// A new catalog snapshot to install (from shard 0).
    InstallCatalog(Arc<Catalog>),
    /// Point reads of encoded keys on their owner.
    Get {
        keys: Vec<Vec<u8>>,
    },
    /// A batch of writes owned by the receiving shard; replies when durable.
    /// `measure`: also report the size of each key's old item (for the
    /// write capacity DynamoDB charges: the larger of old and new).
    Write {
        batch: WriteBatch,
        measure: bool,
    },
    /// A bounded range read.
    Scan {
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
        max_entries: usize,
        max_bytes: usize,
    },
    /// Drop everything under a key prefix (a deleted table).
    DropPrefix {
        prefix: Vec<u8>,
    },
    /// Counts under a key prefix plus this shard's counters.
    Stats {
        prefix: Vec<u8>,
    },
    /// GSI entry puts/deletes from a base shard's outbox replicator, for
    /// the receiving (index-owning) shard; replies when durable.
    IndexApply {
        batch: WriteBatch,
    },
    /// A shard finished backfilling an index (for the coordinator).
    BackfillDone {
        table: String,
        index_id: u32,
        shard: u32,
    },
    /// Transactions (`api::txn`), from a coordinator to a participant:
    /// lock, check and durably prepare these actions (and, on the shard
    /// owning the request's ClientRequestToken, the token); replies with a
    /// vote.
    TxnPrepare {
        txn: TxnId,
        actions: Vec<TxnAction>,
        token: Option<TxnToken>,
    },
    /// The coordinator's decision for a transaction prepared on the
    /// receiving shard; replies once applied (visible), and with `durable`
    /// once the application is durable too.
    TxnDecide {
        txn: TxnId,
        commit: bool,
        durable: bool,
        /// When the commit was decided (ms): every participant stamps its
        /// point-in-time history with it, so a restore holds the whole
        /// transaction or none of it. None: now (aborts, recovery).
        decided_ms: Option<u64>,
    },
    /// Replies once everything applied on the receiving shard so far is
    /// durable (the coordinator's cue to forget a decision).
    TxnSync,
    /// From a participant recovering a prepared transaction to its
    /// coordinator: what was decided?
    TxnResolve {
        txn: TxnId,
    },
    /// TransactGetItems: lock these keys (bounded wait), read them and keep
    /// the locks until `TxnRelease` (or a lease runs out).
    TxnRead {
        keys: Vec<Vec<u8>>,
    },
    TxnRelease {
        read: u64,
    },
    /// Backups (`api::backup`), from the coordinator: close (wait for this
    /// shard's transaction decisions, bounded) or open the cut gate; an
    /// open with `fence` fences that table (`shard::cut`).
    BackupCut {
        close: bool,
        fence: Option<u32>,
    },
    /// Lifts a fence: the deletion it was for failed.
    BackupUnfence {
        table_id: u32,
    },
    /// Snapshot this shard now (its gate is closed) for backup `backup`.
    BackupSnapshot {
        backup: String,
    },
    /// Drop this shard's snapshot of `backup` (or of an export), if it
    /// holds one: a cut or copy that failed must not pin memtables and
    /// table files forever.
    BackupRelease {
        backup: String,
    },
    /// Write the table's items of the snapshot of `backup` to `path`
    /// (background task queue); replies with the file's size and checksum.
    BackupWrite {
        backup: String,
        table_id: u32,
        path: String,
    },
    /// Point-in-time restore (`api::pitr`), from the coordinator: replay
    /// this shard's history of table `source` after WAL sequence `after`,
    /// up to time `until_ms`, into `target`.
    PitrReplay {
        source: u32,
        after: u64,
        until_ms: u64,
        target: Arc<TableDef>,
    },
    /// Delete this shard's history of table `table_id` up to and
    /// including WAL sequence `through`.
    PitrTrim {
        table_id: u32,
        through: u64,
    },
    /// Write the table's items of the snapshot cut for export `export`
    /// (`BackupCut`/`BackupSnapshot` with the export's id) as one gzip'd
    /// data file at `key` under the export root (`api::transfer::export`).
    ExportWrite {
        export: String,
        table_id: u32,
        key: String,
        ion: bool,
        /// Set for an export at a past time: the items come from this
        /// shard's part of a point-in-time base and its history, not from
        /// a cut's snapshot.
        point_in_time: Option<ExportPointInTime>,
    },
    /// Capacity rebalance (`shard::rebalance`): what each table asked of
    /// shard `from` in its last period; replies Done at once.
    CapacityDemand {
        from: u32,
        report: DemandReport,
    },
}

/// (table id, [read, write] units asked) of one shard's rebalance period.
pub type DemandReport = Vec<(u32, [f64; 2])>;

/// One shard's part of an export at a past time (`api::transfer::export`).
pub struct ExportPointInTime {
    /// The table (its key schema places the items).
    pub table: Arc<TableDef>,
    /// This shard's file of the base cut at or before `until_ms` (None if
    /// the base has no file for this shard: the part fails).
    pub base_file: Option<BackupFileInfo>,
    /// The export time, ms since the Unix epoch.
    pub until_ms: u64,
    /// An INCREMENTAL_EXPORT: list the changes after this time (ms), not
    /// the table at `until_ms`.
    pub since_ms: Option<u64>,
    /// An INCREMENTAL_EXPORT's lines carry the item at `since_ms` too
    /// (NEW_AND_OLD_IMAGES).
    pub old_images: bool,
}

/// One shard's data file of a backup (`backup.json` lists them).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackupFileInfo {
    pub path: String,
    pub bytes: u64,
    pub items: u64,
    /// CRC-32C of the whole file.
    pub crc32c: u32,
    /// The last WAL sequence number the shard's snapshot holds (a PITR
    /// base replays that shard's history after it).
    #[serde(default)]
    pub snapshot_seq: u64,
}

/// One data file of an export (`manifest-files.json` lists them).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExportFileInfo {
    /// Relative to the export root: `<bucket>/<prefix>/AWSDynamoDB/<id>/data/…`.
    pub path: String,
    pub items: u64,
    /// Bytes of the gzip'd file.
    pub bytes: u64,
    /// The items' size by DynamoDB's rule (BilledSizeBytes).
    pub item_bytes: u64,
    /// MD5 of the gzip'd file.
    pub md5: [u8; 16],
}

/// A held transactional read: its id (for `TxnRelease`) and the values
/// of its keys, in order.
pub type HeldRead = (u64, Vec<Option<Vec<u8>>>);

/// A transaction: the shard coordinating it and a number unique there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxnId {
    pub coordinator: u32,
    pub seq: u64,
}

/// A ClientRequestToken and the hash of the parameters it came with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnToken {
    pub token: String,
    pub params: u128,
}

/// One action of a transaction, validated, for the shard owning its item.
#[derive(Clone, Debug)]
pub struct TxnAction {
    /// Its position in the request (CancellationReasons are in that order).
    pub index: usize,
    pub table: Arc<TableDef>,
    pub storage: Vec<u8>,
    pub pk: Value,
    pub sk: Option<Value>,
    pub op: TxnOp,
    pub condition: Option<Condition>,
    /// ReturnValuesOnConditionCheckFailure: ALL_OLD.
    pub return_old: bool,
}

#[derive(Clone, Debug)]
pub enum TxnOp {
    Put(Item),
    Update(Option<Update>),
    Delete,
    ConditionCheck,
}

/// A participant's vote.
#[derive(Clone, Debug)]
pub enum Vote {
    /// Prepared (durably): the (request position, bytes) of each action,
    /// bytes being the larger of the old and new item (capacity), and how
    /// long the prepare record's sync took (µs, the request's sync phase).
    Yes {
        sizes: Vec<(usize, usize)>,
        sync_us: u64,
    },
    /// Not prepared, nothing held: the reasons of the actions that failed.
    No {
        reasons: Vec<(usize, CancellationReason)>,
    },
    /// The token's transaction already committed with these parameters:
    /// nothing prepared, the request is a repeat.
    Repeat,
}

/// A coordinator's answer to `TxnResolve`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    Commit,
    Abort,
    /// Still deciding: ask again later.
    Pending,
}

/// Key-value pairs read from a shard, in key order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

pub enum MeshReply {
    /// A forwarded request's reply, and how long it waited for its writes
    /// to be durable on the owner (µs, for the slow-request log).
    Http(Result<Vec<u8>, ApiError>, u64),
    Table(Result<Arc<TableDef>, ApiError>),
    Values(Result<Vec<Option<Vec<u8>>>, ApiError>),
    Entries(Result<Entries, ApiError>),
    Stats(ShardStats),
    Done(Result<(), ApiError>),
    /// An `IndexApply` durable, or why not (rejected or transient).
    Applied(Result<(), DeliveryError>),
    /// A `Write` applied durably, with the item collection sizes it changed.
    Written(Result<WriteReport, ApiError>),
    Vote(Result<Vote, ApiError>),
    Resolved(Resolution),
    /// A `TxnRead`: the hold's id and the values, or
    /// TransactionConflictException if a lock was not had in time.
    Read(Result<HeldRead, ApiError>),
    BackupFile(Result<BackupFileInfo, ApiError>),
    ExportFile(Result<ExportFileInfo, ApiError>),
}

/// What a durable write reports: item collection sizes (tables with
/// LSIs) and the capacity its index writes consumed.
#[derive(Clone, Debug, Default)]
pub struct WriteReport {
    pub collections: Vec<CollectionMetrics>,
    pub index_units: Vec<IndexUnits>,
    /// The size of each write's old item (0 when absent), in batch order,
    /// when the write was asked to measure them.
    pub old_sizes: Vec<usize>,
    /// How long the write waited for durability (µs), for the request
    /// logs of the shard that asked for it.
    pub sync_us: u64,
}

/// GSI outbox lag and backlog, for `/dynacore/metrics`.
#[derive(Clone, Copy, Debug, Default)]
pub struct OutboxStats {
    pub pending_records: u64,
    pub delivered_ops: u64,
    pub delivery_failures: u64,
    pub quarantined_records: u64,
    pub lag_ms_p50: u64,
    pub lag_ms_p99: u64,
    pub lag_ms_max: u64,
    pub lag_samples: u64,
}

/// What one table (or GSI) consumed and had refused on a shard, for
/// `/metrics` (CloudWatch's ConsumedRead/WriteCapacityUnits and
/// ThrottledRequests).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableUsage {
    pub read_units: f64,
    pub write_units: f64,
    pub throttled_reads: u64,
    pub throttled_writes: u64,
}

#[derive(Clone, Debug, Default)]
pub struct ShardStats {
    pub prefix: PrefixStats,
    pub requests: u64,
    pub forwarded_out: u64,
    pub forwarded_in: u64,
    pub errors: u64,
    pub outbox: OutboxStats,
    pub backfill_items: u64,
    pub backfill_items_per_s: u64,
    /// The TTL expirer: deletions, expired items found and not yet
    /// deleted, passes, the last pass's end (ms since the epoch).
    pub ttl_deleted_total: u64,
    pub ttl_backlog_items: u64,
    pub ttl_scan_passes_total: u64,
    pub ttl_last_scan_ms: u64,
    /// Where durable writes spend their time (engine histograms).
    pub write_phases: Box<crate::engine::wal::phases::WritePhaseStats>,
    pub transactions: TxnStats,
    /// Stream records written and trimmed on this shard since start.
    pub stream_records_written: u64,
    pub stream_records_trimmed: u64,
    /// Point-in-time history records and bytes written and records
    /// trimmed on this shard since start; bytes of the PITR bases
    /// (coordinator; 0 elsewhere).
    pub pitr_records_written: u64,
    pub pitr_bytes_written: u64,
    pub pitr_records_trimmed: u64,
    pub pitr_base_bytes: u64,
    /// Requests by operation and table, errors by type (`/metrics`).
    pub requests_by_operation: Box<crate::metrics::RequestSnapshot>,
    /// Capacity consumed and refused per table.
    pub capacity: Vec<(String, TableUsage)>,
    /// The engine's memtable, cache, flush and compaction figures.
    pub engine: Box<crate::engine::EngineStats>,
}

/// Transaction counters of a shard (`/dynacore/metrics`).
#[derive(Clone, Copy, Debug, Default)]
pub struct TxnStats {
    /// Coordinated here (or run here on the single-shard path): committed
    /// and cancelled.
    pub committed: u64,
    pub cancelled: u64,
    pub single_shard: u64,
    /// Item locks not had in time, and single writes refused for an intent.
    pub conflicts: u64,
    /// Prepared transactions resolved after a restart.
    pub recovered: u64,
    /// Now: transactions prepared here, items held, tokens remembered.
    pub prepared: u64,
    pub intents: u64,
    pub tokens: u64,
}

impl MeshRequest {
    /// Whether this carries client data work (a forwarded request, or a read
    /// or write on the owner) rather than control traffic; the transport
    /// counts these as forwarded.
    pub fn is_data(&self) -> bool {
        matches!(
            self,
            MeshRequest::Forward { .. }
                | MeshRequest::Get { .. }
                | MeshRequest::Write { .. }
                | MeshRequest::Scan { .. }
                | MeshRequest::TxnPrepare { .. }
                | MeshRequest::TxnRead { .. }
        )
    }
}

pub fn unexpected(reply: &MeshReply) -> ApiError {
    let kind = match reply {
        MeshReply::Http(..) => "Http",
        MeshReply::Table(_) => "Table",
        MeshReply::Values(_) => "Values",
        MeshReply::Entries(_) => "Entries",
        MeshReply::Stats(_) => "Stats",
        MeshReply::Done(_) => "Done",
        MeshReply::Applied(_) => "Applied",
        MeshReply::Written(_) => "Written",
        MeshReply::Vote(_) => "Vote",
        MeshReply::Resolved(_) => "Resolved",
        MeshReply::Read(_) => "Read",
        MeshReply::BackupFile(_) => "BackupFile",
        MeshReply::ExportFile(_) => "ExportFile",
    };
    ApiError::internal(format!("unexpected mesh reply {kind}"))
}

/// A message's owned bound as the store's borrowed one.
pub fn as_ref_bound(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Why a GSI delivery failed, by what a retry can change.
#[derive(Clone, Debug, PartialEq)]
pub enum DeliveryError {
    /// The records can never be applied as they are: retrying blocks every
    /// later record forever. The reason is for the log.
    Rejected(String),
    /// The index shard (or this one) cannot apply them now: retry.
    Transient(ApiError),
}

impl From<crate::engine::EngineError> for DeliveryError {
    fn from(e: crate::engine::EngineError) -> Self {
        if e.rejects_input() {
            DeliveryError::Rejected(e.to_string())
        } else {
            DeliveryError::Transient(e.into())
        }
    }
}

impl From<ApiError> for DeliveryError {
    /// Errors of the request path (the mesh, an unexpected reply) are
    /// conditions of the moment, never of the record.
    fn from(e: ApiError) -> Self {
        DeliveryError::Transient(e)
    }
}

impl DeliveryError {
    pub fn message(&self) -> &str {
        match self {
            DeliveryError::Rejected(why) => why,
            DeliveryError::Transient(e) => &e.message,
        }
    }
}
