//! One shard's API state and the seam to the runtime.
//!
//! [`Shard`] is everything one shard's handlers touch, owned by the shard's
//! thread (`Rc`/`RefCell`, never shared). [`Services`] is what the runtime
//! does for the API (mesh calls, catalog persistence, spawning, timers): the
//! API reaches other shards only through it, with the plain-data
//! [`MeshRequest`]s of `messages`. The state kept here (key locks, the GSI
//! outbox, backfill progress) is data with no knowledge of the handlers
//! above, so every layer may hold a `&Shard` without import cycles; a call a
//! shard makes to itself goes through [`Shard::inbound`], set by whoever
//! builds the shard to the dispatcher's entry point.

pub mod backfills;
pub mod backups;
pub mod capacity;
pub mod cut;
pub mod expiry;
pub mod files;
pub mod locks;
pub mod outbox;
pub mod peers;
pub mod pitr;
pub mod rebalance;
pub mod scope;
pub mod shares;
pub mod streams;
pub mod transfers;
pub mod txns;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use crate::api::messages::{MeshReply, MeshRequest};
use crate::api::protocol::error::ApiError;
use crate::catalog::Catalog;
use crate::engine::Store;
use crate::routing::PartitionMap;

pub type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// The shard that coordinates DDL.
pub const COORDINATOR: u32 = 0;

/// What the runtime does for the API layer.
pub trait Services {
    /// Sends `request` to shard `to` over the mesh and awaits its reply.
    fn call(&self, to: u32, request: MeshRequest) -> LocalFuture<Result<MeshReply, ApiError>>;
    /// Durably replaces the catalog file (shard 0 only).
    fn persist_catalog(&self, bytes: Vec<u8>) -> LocalFuture<Result<(), ApiError>>;
    /// Runs a file job off the shard thread, under the backup directory
    /// (backups and their restores). Servers without one refuse.
    fn files(&self, job: files::FileJob) -> LocalFuture<Result<files::FileDone, ApiError>> {
        let _ = job;
        Box::pin(async { Err(ApiError::internal("no backup directory")) })
    }
    /// Runs a file job off the shard thread, under the export root (the
    /// S3-layout folders of ExportTableToPointInTime and ImportTable).
    fn export_files(&self, job: files::FileJob) -> LocalFuture<Result<files::FileDone, ApiError>> {
        let _ = job;
        Box::pin(async { Err(ApiError::internal("no export root")) })
    }
    /// Runs `task` on this shard beside the request path (GSI replication:
    /// its lag is client-visible).
    fn spawn(&self, task: LocalFuture<()>);
    /// Runs `task` on this shard in a task queue with fewer shares than
    /// client requests (index backfill).
    fn spawn_background(&self, task: LocalFuture<()>);
    /// Completes after `duration` (retry back-off in background tasks).
    fn sleep(&self, duration: std::time::Duration) -> LocalFuture<()>;
}

/// Serves one mesh request on this shard (the inbound side of the mesh).
pub type Inbound = fn(Rc<Shard>, MeshRequest) -> LocalFuture<MeshReply>;

/// Per-shard counters, exported at `/dynacore/metrics`.
#[derive(Default)]
pub struct Counters {
    pub requests: Cell<u64>,
    pub forwarded_out: Cell<u64>,
    pub forwarded_in: Cell<u64>,
    pub errors: Cell<u64>,
}

/// Settings the API needs (the rest of the config stays in the runtime).
#[derive(Clone, Debug)]
pub struct ApiSettings {
    pub region: String,
    pub account_id: String,
    /// Largest item collection (items of one partition key plus their
    /// local index entries) of a table with local secondary indexes.
    pub item_collection_bytes_max: u64,
    /// GSI outbox records a shard may hold undelivered before write
    /// acknowledgements wait for delivery (bounds index lag).
    pub index_outbox_records_max: u64,
    /// How long a write waits for room in a full GSI outbox before it is
    /// refused (DynamoDB's GSI back-pressure).
    pub gsi_backpressure_wait: std::time::Duration,
    /// Tables the catalog may hold.
    pub tables_max: usize,
    /// How long a table stays CREATING or DELETING; zero skips the states
    /// (CreateTable still answers CREATING, DeleteTable DELETING).
    pub table_status_transition: std::time::Duration,
    /// How long a backup cut may hold a shard's writes (`backup_cut_wait_ms`).
    pub backup_cut_wait: std::time::Duration,
    /// Bytes per backup file job (`backup_chunk_bytes`).
    pub backup_chunk_bytes: usize,
    /// Most bytes per second a backup copy writes (`backup_copy_bytes_per_s`,
    /// 0 unpaced).
    pub backup_copy_bytes_per_s: u64,
    /// Backup creations and restores at once (`backup_operations_max`).
    pub backup_operations_max: usize,
    /// Whether the server seals its data at rest (`encryption_key_file`):
    /// DescribeTable's SSEDescription says so, truthfully.
    pub encrypted_at_rest: bool,
    /// The master key backup files and records are sealed under (the
    /// server's `encryption_key_file`; `api::backup::format`).
    pub backup_key: Option<std::sync::Arc<crate::engine::seal::MasterKey>>,
    /// Exports and imports in progress at once (`transfer_operations_max`).
    pub transfer_operations_max: usize,
    /// Least time between two changes of a table's TTL setting.
    pub ttl_change_interval_ms: u64,
    /// Least time between two changes of one resource-based policy.
    pub resource_policy_change_interval_ms: u64,
    /// Pause between two TTL expirer passes.
    pub ttl_scan_interval: std::time::Duration,
    /// Most TTL deletions per second on one shard.
    pub ttl_deletes_per_second_max: u64,
    /// Most multiple of `ttl_scan_interval` quiet passes back off to.
    pub ttl_idle_backoff_max: u32,
    pub streams: StreamSettings,
    pub pitr: PitrSettings,
    /// The provisioned throughput decrease quota (`capacity.decrease_*`).
    pub capacity_decreases: crate::catalog::DecreaseRule,
}

/// The point-in-time recovery knobs (`config.rs` documents each).
#[derive(Clone, Debug)]
pub struct PitrSettings {
    /// A new base of each PITR table this often (bounds restore time).
    pub base_interval_ms: u64,
    /// Pause between two maintenance passes (bases, trimming).
    pub tick_ms: u64,
    /// The length of a RecoveryPeriodInDays day (shortened only by tests).
    pub day_ms: u64,
    /// History bytes a shard holds for an export from the history
    /// (`pitr_export_history_bytes_max`).
    pub export_history_bytes_max: u64,
}

impl Default for PitrSettings {
    fn default() -> Self {
        PitrSettings {
            base_interval_ms: 6 * 3_600_000,
            tick_ms: 60_000,
            day_ms: 86_400_000,
            export_history_bytes_max: 64 << 20,
        }
    }
}

/// The DynamoDB Streams knobs (`config.rs` documents each).
#[derive(Clone, Debug)]
pub struct StreamSettings {
    pub shard_rollover_ms: u64,
    pub retention_ms: u64,
    pub trim_interval_ms: u64,
    pub iterator_lifetime_ms: u64,
}

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings {
            shard_rollover_ms: 4 * 3_600_000,
            retention_ms: 24 * 3_600_000,
            trim_interval_ms: 60_000,
            iterator_lifetime_ms: 900_000,
        }
    }
}

/// Everything one shard's API handlers touch; owned by the shard's thread.
pub struct Shard {
    pub id: u32,
    pub map: PartitionMap,
    pub settings: ApiSettings,
    pub catalog: RefCell<Arc<Catalog>>,
    pub store: Rc<Store>,
    pub services: Rc<dyn Services>,
    /// Serves a request this shard sends itself (`api::inbound`).
    pub inbound: Inbound,
    pub locks: locks::KeyLocks,
    /// Shared with the mesh transport, which counts what crosses the mesh.
    pub counters: Rc<Counters>,
    /// GSI changes waiting to be delivered to their index shards.
    pub outbox: outbox::Outbox,
    /// Index backfills running on this shard (and, on the coordinator,
    /// which shards have finished each).
    pub backfills: backfills::Backfills,
    /// Transactions prepared or coordinated here, intents, request tokens.
    pub txns: txns::Txns,
    /// This shard's DynamoDB Streams positions (open shard per stream,
    /// trim horizons).
    pub streams: streams::StreamShards,
    /// The TTL expirer's counters.
    pub expiry: expiry::ExpiryCounters,
    /// Capacity buckets and per-table consumption (`capacity.rs`).
    pub meter: capacity::Meter,
    /// Request counts and latency by operation and table (`/metrics`).
    pub metrics: crate::metrics::RequestMetrics,
    /// The backup cut gate (closed while a backup snapshots all shards).
    pub cut: cut::Cut,
    /// Backup snapshots and (coordinator) the backup registry.
    pub backups: backups::Backups,
    /// Point-in-time recovery: the history clock and counters.
    pub pitr: pitr::PitrShard,
    /// (Coordinator) the export and import registry.
    pub transfers: transfers::Transfers,
}

impl Shard {
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.borrow().clone()
    }
}

/// A handler either answers or names the shard that must answer.
pub enum Outcome {
    Reply(Vec<u8>),
    Forward(u32),
}
