//! Server configuration: one struct, loadable from TOML, overridable by
//! flags, with presets. Every bound is a named knob with its default and
//! trade-off documented here; `tuning/` holds ready-made profiles.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::EngineConfig;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address every shard accepts plaintext HTTP on (SO_REUSEPORT).
    /// Default 127.0.0.1:8000. Empty (`--listen ''`): no plaintext
    /// listener, only `tls_listen` (which must then be set).
    pub listen: String,
    /// Address every shard accepts HTTPS on (SO_REUSEPORT), beside or
    /// instead of `listen`; needs `tls_cert` and `tls_key`. Default: none.
    pub tls_listen: Option<String>,
    /// PEM certificate chain for `tls_listen` (leaf first). Re-read on
    /// SIGHUP; live connections keep the one they shook hands with.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Deadline for a TLS handshake, from accept to the handshake's end
    /// (however slowly the ClientHello trickles in); past it the socket is
    /// closed. A handshaking connection holds a slot of
    /// `connections_per_shard_max` and its baseline buffers. Default 10 s,
    /// generous for clients far away; shorter frees slots held by stalled
    /// or hostile clients sooner.
    pub tls_handshake_timeout_ms: u64,
    /// Data directory. Default ./dynacore-data.
    pub data_dir: PathBuf,
    /// Encryption at rest: a file of exactly 32 random bytes (`dynacore
    /// keygen FILE`). When set, WAL records, SSTable blocks, manifests and
    /// the catalog are sealed with AES-256-GCM under per-file keys wrapped by
    /// it. A directory is created encrypted or not and stays so: opening it
    /// without its key, with another key, or an existing plaintext one with
    /// a key is refused. Default: none (plaintext). Costs: see README.
    pub encryption_key_file: Option<PathBuf>,
    /// Shard count; default: the CPUs available to the process. A data
    /// directory keeps the count it was created with.
    pub shards: Option<u32>,
    /// When set, shard i also listens on `shard_port_base + i` so shard-aware
    /// clients reach the owner directly (see `/dynacore/partition-map`).
    pub shard_port_base: Option<u16>,
    /// Open connections per shard; more are answered 400 ThrottlingException
    /// and closed. Default 1024. Each idle connection costs ~32 KiB of
    /// buffers (read and write baselines, counted in
    /// `connection_buffers_bytes_max`).
    /// (Formerly `max_connections_per_shard`, still accepted.)
    #[serde(alias = "max_connections_per_shard")]
    pub connections_per_shard_max: usize,
    /// Largest request body; larger ones get 413. Default 16 MiB (DynamoDB's
    /// largest request, a 16 MB BatchGetItem response aside, is far smaller).
    /// (Formerly `max_request_body_bytes`, still accepted.)
    #[serde(alias = "max_request_body_bytes")]
    pub request_body_bytes_max: usize,
    /// Request deadline: time from a request's first byte to its last
    /// (request line, headers and body together, however slowly they
    /// trickle in); past it the client gets 408 and the connection closes.
    /// Also bounds the lingering close after a 4xx (read-and-discard so the
    /// client sees the reply). Default 10 s: enough for a 16 MiB body at
    /// ~2 MB/s; shorter frees slots held by slow-loris clients sooner, and
    /// fails honest clients on slow links.
    pub header_read_timeout_ms: u64,
    /// Idle deadline: a keep-alive connection with no request in progress
    /// is closed (silently, as HTTP allows) after this. Default 60 s. Longer
    /// saves reconnects for bursty clients; shorter frees idle slots (each
    /// costs ~32 KiB of buffers and a file descriptor).
    pub idle_timeout_ms: u64,
    /// Write deadline: the queued responses of a connection must be accepted
    /// by the client within this, from the start of each flush; otherwise the
    /// connection is closed and its slot and buffers freed. Default 30 s: a
    /// full queue (`response_queue_bytes_max` plus one 16 MB response) at
    /// ~600 KB/s. Shorter evicts stalled readers sooner and cuts off slow
    /// clients reading big BatchGetItem/Scan replies.
    pub write_timeout_ms: u64,
    /// Response bytes one connection may have queued before the server stops
    /// reading and decoding its further pipelined requests until the client
    /// drains them (back-pressure, never an error). A single response larger
    /// than this is still sent whole. Default 1 MiB: one full Scan page, or
    /// thousands of small pipelined replies per write. Larger batches more
    /// replies per syscall; smaller bounds memory per connection tighter.
    pub response_queue_bytes_max: usize,
    /// Smallest reply body sent gzip-compressed to a client whose
    /// `Accept-Encoding` admits gzip (DynamoDB compresses large replies;
    /// its x-amz-crc32 is then of the compressed bytes). Compression costs
    /// shard CPU (fast level, ~100+ MB/s) and saves network: smaller
    /// compresses more replies, larger spares CPU on small ones. Default
    /// 4096 bytes; a value above any reply's size turns it off.
    pub response_gzip_bytes_min: usize,
    /// Per-shard budget for connection buffers: read buffers, request bodies
    /// and queued responses of all its connections. A body that does not fit
    /// (Content-Length reserved at once, chunks as they are announced), a
    /// request arriving while the budget is overspent, or a connection
    /// arriving with no room for its baseline buffers gets 400
    /// ThrottlingException and the connection is closed; SDKs retry it with
    /// backoff. Responses are accounted after they are built, so a shard may
    /// overshoot by at most one response per connection. Default 256 MiB.
    pub connection_buffers_bytes_max: usize,
    /// A shard whose heartbeat (its main loop ticks every 50 ms) is older
    /// than this counts as down in `GET /dynacore/health`. Default 10 s.
    /// Shorter detects a stuck executor sooner, at the risk of a false alarm
    /// on an overloaded host.
    pub shard_heartbeat_stale_ms: u64,
    /// Requests one shard may have in flight on each other shard. Bounds
    /// remote concurrency (which multiplies by the shard count); a sender
    /// over it waits for a slot. Default 256. (Formerly
    /// `max_inflight_forwarded_per_shard`, still accepted.)
    #[serde(alias = "max_inflight_forwarded_per_shard")]
    pub inflight_forwarded_per_shard_max: usize,
    /// Depth of each shard-to-shard channel. Default 128.
    pub mesh_queue_depth: usize,
    /// io_uring registered buffer memory per shard (counts against
    /// RLIMIT_MEMLOCK; glommio falls back to unregistered buffers if it
    /// cannot lock it). Default 1 MiB.
    pub io_memory_bytes: usize,
    /// Microseconds a shard spins looking for work before it parks in the
    /// kernel. Spinning cuts the latency of cross-shard hops (a parked shard
    /// must be woken through an eventfd) at the price of CPU burned while
    /// idle-ish. Default 0 (park at once); see README for measured effect.
    pub spin_before_park_us: u64,
    /// Longest a shard's task queue runs before the scheduler may switch
    /// to another (glommio's preemption timer). Background work (memtable
    /// flush, compaction, backfill, backup copies) only yields to requests
    /// when this slice is spent, so a shorter one lets requests in sooner.
    /// But glommio skips running tasks when the slice has already expired
    /// as it starts them, so on an oversubscribed machine (the thread
    /// descheduled longer than a slice) a short slice starves the shard:
    /// tests on 2 busy CPUs hung at 500 µs. Default 100,000 (glommio's
    /// 100 ms); lower it only on dedicated cores.
    pub preempt_timer_us: u64,
    /// Shares of the background task queue (engine flush and compaction,
    /// index backfill) against the request queue's 1000: background work
    /// gets ~1/11 of a busy shard and all of an idle one. Higher finishes
    /// compaction and backfill sooner at the cost of request latency.
    /// Default 100.
    pub background_shares: usize,
    /// Region shown in ARNs. Default us-east-1.
    pub region: String,
    /// Largest item collection (the items of one partition key plus their
    /// local secondary index entries) in a table with LSIs; a write past it
    /// gets ItemCollectionSizeLimitExceededException. Default 10 GiB, as
    /// DynamoDB; lower it to keep partitions small.
    pub item_collection_bytes_max: u64,
    /// GSI outbox records a shard may hold undelivered before write
    /// acknowledgements wait for delivery. Bounds index lag and the disk
    /// the outbox holds; smaller makes writers feel slow index shards
    /// sooner. Default 10000.
    pub index_outbox_records_max: u64,
    /// How long a write to a table with GSIs waits for room in a full
    /// outbox before it is refused (ThrottlingException, or
    /// ProvisionedThroughputExceededException when provisioned), nothing
    /// written. Longer absorbs bursts; shorter tells clients sooner to back
    /// off. Default 1000 ms.
    pub gsi_backpressure_wait_ms: u64,
    /// Tables the server holds (DynamoDB's default account quota); one more
    /// CreateTable gets LimitExceededException. The owner of a write finds
    /// its table by a pass over the catalog, so keep this in the thousands.
    /// Default 2500.
    pub tables_max: usize,
    /// How long a new table stays CREATING and a deleted one DELETING
    /// before it is ACTIVE or gone. DynamoDB takes seconds; SDK waiters
    /// (`wait_until_table_exists`) and tools poll DescribeTable until the
    /// state ends, so a short but non-zero state runs their code paths as
    /// on AWS. Item operations on a CREATING or DELETING table get
    /// ResourceNotFoundException. 0 makes tables ACTIVE (and deleted ones
    /// gone) at once, as the `test_min` profile does for tests that create
    /// a table and use it at once. Default 5 ms; raise it to emulate AWS
    /// timing.
    pub table_status_transition_ms: u64,
    /// How long a transaction (TransactWriteItems, TransactGetItems) waits
    /// for an item another request holds before it is cancelled with
    /// TransactionConflict. Every wait of a transaction is bounded by this,
    /// so two transactions waiting on each other across shards never
    /// deadlock: one gives up. Longer rides out short conflicts; shorter
    /// fails contended transactions sooner. Default 100 ms.
    pub transaction_lock_wait_ms: u64,
    /// ClientRequestTokens each shard remembers (a token is remembered for
    /// 10 minutes after its transaction committed, as DynamoDB does; past
    /// this count the oldest are forgotten first, and a repeat of one is
    /// applied again). Each costs ~100 bytes of memory and one small
    /// record on disk. Default 100000.
    pub transaction_tokens_max: usize,
    /// Lifetime of a DynamoDB Streams shard: every Dynacore shard starts a
    /// child stream shard this often (ParentShardId: the previous one), as
    /// DynamoDB's shards roll over every few hours. Fixed per stream when it
    /// is created. Shorter: more, smaller shards for consumers to walk;
    /// longer: a consumer that processes shards one at a time waits longer
    /// for a closed parent. Default 4 h; `test_min` 3 s.
    pub stream_shard_rollover_ms: u64,
    /// How long stream records are kept (and a disabled stream stays
    /// readable): DynamoDB's 24 h. This is what bounds the disk streams
    /// use (write rate × retention); shorter frees it sooner. Default 24 h.
    pub stream_retention_ms: u64,
    /// How often each shard trims stream records past their retention (a
    /// pass over its stream records' first keys, in the background task
    /// queue). Shorter frees disk sooner at a small background cost.
    /// Default 60 s; `test_min` 200 ms.
    pub stream_trim_interval_ms: u64,
    /// Lifetime of a shard iterator (GetShardIterator, NextShardIterator):
    /// DynamoDB's 15 minutes; an older one gets ExpiredIteratorException.
    /// Default 900000 ms.
    pub stream_iterator_lifetime_ms: u64,
    /// How soon after one UpdateTimeToLive change a table may change its
    /// TTL setting again (sooner: ValidationException "Time to live has
    /// been modified multiple times within a fixed interval"). Default
    /// 3,600,000 ms (one hour), as DynamoDB; 0 in `test_min`, so tests may
    /// enable and disable at once. The ENABLING and DISABLING states last
    /// `table_status_transition_ms`.
    pub ttl_change_interval_ms: u64,
    /// How soon after one change of a table's (or stream's) resource-based
    /// policy (PutResourcePolicy, DeleteResourcePolicy, CreateTable's
    /// ResourcePolicy) it may change again; sooner: ThrottlingException
    /// "Resource-based policy for table T modified within the previous N
    /// milliseconds. Please try again after …". Re-putting the same
    /// document is always a no-op. Default 15,000 ms, as DynamoDB; 0 in
    /// `test_min`.
    pub resource_policy_change_interval_ms: u64,
    /// Pause between two passes of a shard's TTL expirer over its items of
    /// TTL-enabled tables. Each pass reads every such item once, so a
    /// shorter pause deletes expired items sooner at the price of reading
    /// the tables more often (in the background task queue). Default
    /// 60,000 ms; DynamoDB promises deletion within days, not seconds.
    pub ttl_scan_interval_ms: u64,
    /// Most expired items one shard deletes per second (each deletion is a
    /// write: WAL, memtable, index entries). Bounds how much of the
    /// shard's write path expiry may take from client requests; a larger
    /// backlog just takes longer (`ttl_backlog_items`). Default 1000.
    pub ttl_deletes_per_second_max: u64,
    /// A TTL pass that finds nothing expired doubles the pause before the
    /// next one, up to this multiple of `ttl_scan_interval_ms`; a pass that
    /// finds something goes back to the plain interval. After a mass
    /// expiry the tables are full of tombstones until compaction drops
    /// them, and every pass walks them all: backing off stops the expirer
    /// from re-walking them every interval while there is nothing to do,
    /// at the price of an item expiring in a quiet table being deleted up
    /// to this many intervals late. Default 8; 1 turns the back-off off.
    pub ttl_idle_backoff_max: u32,
    /// The credentials file (`--credentials`): access keys, secrets and
    /// policies (format in `auth::credentials`). Reloaded on SIGHUP. Without
    /// it the server accepts any well-formed SigV4 header, and only when
    /// every listen address is loopback (else it refuses to start unless
    /// `insecure_no_auth`). Default none.
    pub credentials_file: Option<PathBuf>,
    /// Serve a non-loopback address without credentials (anyone who can
    /// reach the port may read, write and delete every table). Default false.
    pub insecure_no_auth: bool,
    /// Derived SigV4 signing keys each shard caches (one per access key,
    /// day, region and service; a request with a cached key skips four
    /// HMACs). Past it the cache starts over. Each costs ~400 bytes.
    /// Default 1024: far more keys than a server has in use on one day.
    pub signing_keys_max: usize,
    /// Address of the admin listener: Prometheus `GET /metrics` and the
    /// `/dynacore/*` endpoints (health, partition map, JSON metrics).
    /// Default `127.0.0.1:9464` (loopback only; 9464 is the usual port of a
    /// Prometheus exporter, and 8001–8004 are taken by the peer servers the
    /// benches compare against). `"off"` (or `""`) turns it off. Served by
    /// shard 0 only: scrapes are rare and small. Start-up is refused if
    /// something already accepts there, as for `listen`.
    pub admin_listen: String,
    /// Per-operation metrics (request counts and latency histograms per
    /// operation and table, errors by type, consumed capacity, throttles).
    /// Costs a few counter updates and one table lookup per request; off
    /// leaves `/metrics` with the engine and shard figures only. Default
    /// true (the bench `benches/get_cpu.sh` measures the difference).
    pub metrics_enabled: bool,
    /// Tables tracked by name in the per-table metrics of each shard; the
    /// rest are counted under `table="_other"`. Bounds the label
    /// cardinality Prometheus stores (operations × tables × shards series).
    /// Default 100; raise it for accounts with more tables that matter.
    pub metrics_tables_max: usize,
    /// Requests slower than this (from the request's last byte to its reply
    /// queued) are logged at WARN with their duration split (queue: SigV4
    /// and body decoding; parse; engine; sync: waiting for the WAL's
    /// fdatasync; reply), operation, table, key hash (the placement hash,
    /// 16 hex digits) and request id. 0 turns the slow-request log off. Default 1000 ms.
    pub slow_request_ms: u64,
    /// Request log: `"off"` (default) or `"json"`: one JSON line per
    /// request on stderr (request id, operation, table, key hash, status,
    /// error type, duration in µs and its split as in the slow log). Costs a formatted line per request; for debugging
    /// and audits, not for benchmarks.
    pub request_log: String,
    pub capacity: CapacityConfig,
    /// Where on-demand backups live (one folder per backup: `backup.json`
    /// and one checksummed data file per shard). Default: `backups` in the
    /// data directory. Another file system works too (backups are copies,
    /// not links); the same disk keeps them cheapest to write.
    pub backup_dir: Option<PathBuf>,
    /// How long a backup's cut may hold a shard's writes while transactions
    /// decided there finish applying; past it the cut is retried (up to
    /// three times, then the backup fails). Longer rides out slow
    /// transactions; shorter bounds the foreground pause. Default 1000 ms.
    pub backup_cut_wait_ms: u64,
    /// Bytes of a backup data file written (or read, on restore) per file
    /// job: the memory a backup or restore holds per shard. Default 4 MiB.
    pub backup_chunk_bytes: usize,
    /// Bytes per second one shard's backup copy (and PITR base) writes at
    /// most, each chunk synced as it is written: the copy's reads, writes
    /// and writeback are spread out instead of competing in a burst with
    /// the WAL's fdatasync. 0 copies as fast as the disk allows. Default
    /// 64 MiB/s (a 1 GiB table on 2 shards is AVAILABLE in about 8 s).
    pub backup_copy_bytes_per_s: u64,
    /// Backups being created or restored at once (more get
    /// LimitExceededException, as DynamoDB limits concurrent control-plane
    /// operations). Default 10.
    pub backup_operations_max: usize,
    /// Point-in-time recovery takes a new base (a consistent snapshot of
    /// the table, like a backup) of every PITR table this often; a restore
    /// replays at most this much history on top of a base. Shorter bounds
    /// restore time; longer writes fewer bases. Default 6 h.
    pub pitr_base_interval_ms: u64,
    /// Pause between two PITR maintenance passes (new bases, trimming
    /// history and bases older than the recovery period). Default 60 s.
    pub pitr_tick_ms: u64,
    /// The length of one RecoveryPeriodInDays day. Only tests shorten it
    /// (to see the window move); default 86 400 000 ms.
    pub pitr_day_ms: u64,
    /// Bytes of point-in-time history one shard holds while it writes its
    /// part of an export at a past ExportTime (or an incremental export):
    /// the last change of every key changed since the base, kept in memory
    /// to overlay the base's items. Past it the export FAILs with a
    /// FailureMessage naming this knob. Default 64 MiB.
    pub pitr_export_history_bytes_max: u64,
    /// The root of the S3-layout folders ExportTableToPointInTime writes
    /// and ImportTable reads: an export's `S3Bucket` is a folder under it
    /// and `S3Prefix` a path inside that folder (`--export-root`).
    /// Default: `exports` in the data directory. The export and import
    /// records live in its `.dynacore/` folder (no bucket name starts with
    /// a dot).
    pub export_root: Option<PathBuf>,
    /// Exports plus imports in progress at once (more get
    /// LimitExceededException, as DynamoDB limits concurrent exports and
    /// imports). Default 10.
    pub transfer_operations_max: usize,
    pub engine: EngineConfig,
}

/// Provisioned and on-demand capacity enforcement (`[capacity]`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CapacityConfig {
    /// Throttle as DynamoDB does: PROVISIONED tables and GSIs get
    /// ProvisionedThroughputExceededException past their throughput and
    /// burst credit, PAY_PER_REQUEST tables with OnDemandThroughput
    /// maximums get ThrottlingException past them. `false` never throttles
    /// (DynamoDB Local's behaviour). Default true.
    pub enforce: bool,
    /// Seconds of unused throughput a bucket may bank (DynamoDB keeps 300 s
    /// of burst capacity). Larger lets longer bursts through; smaller
    /// throttles sooner. Default 300.
    pub burst_s: u64,
    /// Read units one partition key may consume per second (DynamoDB's
    /// per-partition limit, 3000); a hot key past it is throttled even
    /// when its table has room. Default 3000.
    pub partition_read_units_max: u64,
    /// Write units per second of one partition key (DynamoDB: 1000).
    pub partition_write_units_max: u64,
    /// Hot-key buckets a shard keeps (least recently refilled are dropped
    /// first; a dropped bucket starts full again). Bounds memory at ~64
    /// bytes each. Default 10000.
    pub partition_buckets_max: usize,
    /// After a table's (or GSI's) first 4 throughput decreases of a UTC
    /// day, one more is allowed only this long after the previous one
    /// (DynamoDB's quota: 3600). Shortened only by tests.
    pub decrease_interval_s: u64,
    /// The length of the day whose decreases are counted
    /// (NumberOfDecreasesToday resets at its start; DynamoDB's UTC day:
    /// 86400). Shortened only by tests.
    pub decrease_day_s: u64,
    /// On-demand instant capacity: a PAY_PER_REQUEST table serves at once
    /// up to double its previous peak (the most units it consumed in one
    /// second), at least `on_demand_initial_*_units`; past it,
    /// ProvisionedThroughputExceededException ("automatically scaling"),
    /// as DynamoDB documents. Off (default): on-demand tables are throttled
    /// only past their OnDemandThroughput maximums and the per-partition
    /// limits, which suits load tests that should not meet AWS's ramp.
    pub on_demand_instant: bool,
    /// Read units per second a table with no peak yet serves (DynamoDB's
    /// new on-demand table: 12000).
    pub on_demand_initial_read_units: u64,
    /// Write units per second a table with no peak yet serves (4000).
    pub on_demand_initial_write_units: u64,
    /// How long a new peak takes to raise the instant capacity (DynamoDB:
    /// doubling the previous peak "within 30 minutes" may throttle).
    /// Default 1800.
    pub on_demand_peak_window_s: u64,
    /// How often shards exchange what each table asked of them and move
    /// its rate's shares toward the shards its traffic lands on (one mesh
    /// message per peer per period, none per request). Shorter follows
    /// moving traffic sooner; 0 keeps fixed `1/shards` shares, so a table
    /// whose traffic lands on one shard gets `1/shards` of its rate.
    /// Default 1000 ms.
    pub rebalance_interval_ms: u64,
}

impl Default for CapacityConfig {
    fn default() -> Self {
        CapacityConfig {
            enforce: true,
            burst_s: 300,
            partition_read_units_max: 3000,
            partition_write_units_max: 1000,
            partition_buckets_max: 10_000,
            decrease_interval_s: 3600,
            decrease_day_s: 86_400,
            on_demand_instant: false,
            on_demand_initial_read_units: 12_000,
            on_demand_initial_write_units: 4_000,
            on_demand_peak_window_s: 1800,
            rebalance_interval_ms: 1000,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8000".to_string(),
            data_dir: PathBuf::from("./dynacore-data"),
            encryption_key_file: None,
            shards: None,
            shard_port_base: None,
            tls_listen: None,
            tls_cert: None,
            tls_key: None,
            tls_handshake_timeout_ms: 10_000,
            connections_per_shard_max: 1024,
            request_body_bytes_max: 16 << 20,
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            write_timeout_ms: 30_000,
            response_queue_bytes_max: 1 << 20,
            response_gzip_bytes_min: 4096,
            connection_buffers_bytes_max: 256 << 20,
            shard_heartbeat_stale_ms: 10_000,
            inflight_forwarded_per_shard_max: 256,
            mesh_queue_depth: 128,
            io_memory_bytes: 1 << 20,
            spin_before_park_us: 0,
            preempt_timer_us: 100_000,
            background_shares: 100,
            region: "us-east-1".to_string(),
            item_collection_bytes_max: 10 << 30,
            index_outbox_records_max: 10_000,
            gsi_backpressure_wait_ms: 1000,
            tables_max: 2500,
            table_status_transition_ms: 5,
            transaction_lock_wait_ms: 100,
            transaction_tokens_max: 100_000,
            stream_shard_rollover_ms: 4 * 3_600_000,
            stream_retention_ms: 24 * 3_600_000,
            stream_trim_interval_ms: 60_000,
            stream_iterator_lifetime_ms: 900_000,
            ttl_change_interval_ms: 3_600_000,
            resource_policy_change_interval_ms: 15_000,
            ttl_scan_interval_ms: 60_000,
            ttl_deletes_per_second_max: 1000,
            ttl_idle_backoff_max: 8,
            credentials_file: None,
            insecure_no_auth: false,
            signing_keys_max: 1024,
            admin_listen: "127.0.0.1:9464".to_string(),
            metrics_enabled: true,
            metrics_tables_max: 100,
            slow_request_ms: 1000,
            request_log: "off".to_string(),
            capacity: CapacityConfig::default(),
            backup_dir: None,
            backup_cut_wait_ms: 1000,
            backup_chunk_bytes: 4 << 20,
            backup_copy_bytes_per_s: 64 << 20,
            backup_operations_max: 10,
            pitr_base_interval_ms: 6 * 3_600_000,
            pitr_tick_ms: 60_000,
            pitr_day_ms: 86_400_000,
            pitr_export_history_bytes_max: 64 << 20,
            export_root: None,
            transfer_operations_max: 10,
            engine: EngineConfig::default(),
        }
    }
}

/// Why a configuration cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read config {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config {}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("unknown profile '{0}': use default or test_min")]
    UnknownProfile(String),
    #[error("{0}")]
    Encode(String),
}

/// Config keys renamed to the `*_max` convention: (old, new). Files with
/// the old keys keep working.
const RENAMED_KEYS: &[(&str, &str)] = &[
    ("max_connections_per_shard", "connections_per_shard_max"),
    ("max_request_body_bytes", "request_body_bytes_max"),
    (
        "max_inflight_forwarded_per_shard",
        "inflight_forwarded_per_shard_max",
    ),
];

/// The test profile, also usable as a server config file.
const TEST_MIN_TOML: &str = include_str!("../tuning/profiles/test_min.toml");

impl Config {
    /// The `test_min` preset: `tuning/profiles/test_min.toml` (tiny
    /// memtables, files and queues so tests exercise flush, compaction,
    /// rotation and back-pressure constantly) over the defaults. Where a
    /// server listens, its data directory and its shard count are not part
    /// of a preset: they stay the defaults here and come from flags.
    pub fn test_min() -> Self {
        let mut config = Config::from_toml_over(TEST_MIN_TOML, Config::default())
            .unwrap_or_else(|e| panic!("tuning/profiles/test_min.toml: {e}"));
        let defaults = Config::default();
        config.listen = defaults.listen;
        config.data_dir = defaults.data_dir;
        config.shards = defaults.shards;
        config.shard_port_base = defaults.shard_port_base;
        config
    }

    /// The admin listener's address, if it is on.
    pub fn admin_address(&self) -> Option<&str> {
        match self.admin_listen.trim() {
            "" | "off" => None,
            addr => Some(addr),
        }
    }

    /// The backup directory: `backup_dir`, or `backups` in the data directory.
    pub fn backup_dir(&self) -> PathBuf {
        self.backup_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("backups"))
    }

    /// The export root: `export_root`, or `exports` in the data directory.
    pub fn export_root(&self) -> PathBuf {
        self.export_root
            .clone()
            .unwrap_or_else(|| self.data_dir.join("exports"))
    }

    pub fn preset(name: &str) -> Option<Config> {
        match name {
            "default" | "production" => Some(Config::default()),
            "test_min" => Some(Config::test_min()),
            _ => None,
        }
    }

    pub fn load(path: &Path, base: Config) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml_over(&text, base).map_err(|e| match e {
            ConfigError::Invalid { message, .. } => ConfigError::Invalid {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// `text` (TOML) merged over `base`, so a file may set only some knobs.
    fn from_toml_over(text: &str, base: Config) -> Result<Config, ConfigError> {
        let invalid = |e: &dyn std::fmt::Display| ConfigError::Invalid {
            path: PathBuf::new(),
            message: e.to_string(),
        };
        let mut overrides: toml::Table = toml::from_str(text).map_err(|e| invalid(&e))?;
        for (old, new) in RENAMED_KEYS {
            if let Some(value) = overrides.remove(*old) {
                overrides.entry(new.to_string()).or_insert(value);
            }
        }
        let mut merged =
            toml::Table::try_from(&base).map_err(|e| ConfigError::Encode(e.to_string()))?;
        merge(&mut merged, overrides);
        toml::Value::Table(merged)
            .try_into()
            .map_err(|e| invalid(&e))
    }
}

fn merge(base: &mut toml::Table, overrides: toml::Table) {
    for (key, value) in overrides {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_preset() {
        let dir = std::env::temp_dir().join(format!("dynacore-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("c.toml");
        std::fs::write(&path, "shards = 3\n[engine]\nmemtable_bytes_max = 1234\n").expect("write");
        let config = Config::load(&path, Config::test_min()).expect("load");
        assert_eq!(config.shards, Some(3));
        assert_eq!(config.engine.memtable_bytes_max, 1234);
        assert_eq!(config.connections_per_shard_max, 256);
        std::fs::write(&path, "no_such_knob = 1\n").expect("write");
        assert!(Config::load(&path, Config::default()).is_err());
        std::fs::write(&path, "[engine]\nno_such_knob = 1\n").expect("write");
        assert!(Config::load(&path, Config::default()).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn tuning_profiles_load() {
        let profiles = Path::new(env!("CARGO_MANIFEST_DIR")).join("tuning/profiles");
        let mut loaded = 0;
        for entry in std::fs::read_dir(&profiles).expect("tuning/profiles exists") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                Config::load(&path, Config::default())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                loaded += 1;
            }
        }
        assert!(
            loaded >= 3,
            "expected the latency, throughput and test_min profiles"
        );
    }

    #[test]
    fn old_bound_keys_are_still_accepted() {
        let dir = std::env::temp_dir().join(format!("dynacore-config-old-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("old.toml");
        std::fs::write(
            &path,
            "max_connections_per_shard = 7\nmax_request_body_bytes = 8\n\
             max_inflight_forwarded_per_shard = 9\n",
        )
        .expect("write");
        let config = Config::load(&path, Config::default()).expect("old keys load");
        assert_eq!(config.connections_per_shard_max, 7);
        assert_eq!(config.request_body_bytes_max, 8);
        assert_eq!(config.inflight_forwarded_per_shard_max, 9);
        // Directly deserialized (no preset), the old names are aliases.
        let direct: Config =
            toml::from_str("max_connections_per_shard = 5\n").expect("alias parses");
        assert_eq!(direct.connections_per_shard_max, 5);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn test_min_is_the_tuning_profile() {
        let config = Config::test_min();
        let profile: toml::Table = toml::from_str(TEST_MIN_TOML).expect("profile parses");
        let engine = profile["engine"].as_table().expect("[engine]");
        assert_eq!(
            config.engine.memtable_bytes_max as i64,
            engine["memtable_bytes_max"].as_integer().expect("integer")
        );
        assert_eq!(
            config.inflight_forwarded_per_shard_max as i64,
            profile["inflight_forwarded_per_shard_max"]
                .as_integer()
                .expect("integer")
        );
        assert_eq!(
            config.mesh_queue_depth as i64,
            profile["mesh_queue_depth"].as_integer().expect("integer")
        );
        // The engine's own test preset (used by engine unit tests) is the
        // profile's [engine] section.
        assert_eq!(
            format!("{:?}", config.engine),
            format!("{:?}", EngineConfig::test_min())
        );
        // Placement comes from flags, never from the preset.
        assert_eq!(config.shards, None);
        assert_eq!(config.shard_port_base, None);
        assert_eq!(config.listen, Config::default().listen);
    }
}
