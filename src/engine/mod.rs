//! The per-shard storage engine: an ordered map from byte keys to byte values.
//!
//! One `Store` per shard, owned by that shard's thread (`Rc`, never shared
//! across threads). The API layer encodes (table id, hash, partition key,
//! sort key) into order-preserving byte keys and items into bytes; the engine
//! knows nothing of DynamoDB.
//!
//! Contract every implementation keeps:
//! - `write` applies a batch atomically to the in-memory view *synchronously*
//!   (so a caller holding a key lock can read-check-write without interleaving)
//!   and returns a [`Durable`] future that completes once the batch is durable.
//!   A write may be acknowledged to a client only after `Durable::wait` is Ok.
//! - Reads see every applied write, durable or not.
//! - `scan` returns at most `max_entries` entries / about `max_bytes` bytes in
//!   key order (or reverse); callers continue after the last key returned.
//!
//! Implementation: a log-structured merge tree per shard (see DESIGN.md):
//! `wal` (group-committed, direct I/O) → `memtable` (lock-free skiplist) →
//! `sst` tables (checksummed blocks, bloom filters, block cache) organised
//! by `compaction` (leveled) and recorded in the `manifest`. All file I/O
//! goes through the `io` trait, so the crash tests in `tests` run the real
//! engine over a fault-injecting in-memory file system.
//!
//! Durability: `Durable::wait` returns Ok only after the batch's WAL record
//! was written and fdatasync'ed (unless `sync_mode = "relaxed_periodic"`).
//! Any EIO on a write or sync poisons the store until reopen. A write that
//! fails (DiskFull, Poisoned) was already visible to reads; after a poison
//! it may or may not survive the restart (it was never acknowledged).
//!
//! Data directory (one per shard): `MANIFEST` (live tables, range
//! tombstones, WAL position), `wal-<16 hex>.log` (preallocated, recycled
//! log segments), `sst-<16 hex>.sst` (tables). Anything else is reported by
//! name at open (`EngineError::ForeignFile`); unreferenced tables left by a
//! crash are deleted at open. Formats are documented byte by byte in
//! `wal/record.rs`, `sst/block.rs`, `sst/table.rs`, `sst/bloom.rs` and
//! `manifest.rs`.

mod background;
mod batch;
pub mod compaction;
mod error;
pub mod io;
pub mod iter;
pub mod manifest;
pub mod memtable;
mod reclaim;
pub mod seal;
pub mod snapshot;
pub mod sst;
pub mod store;
pub mod sync;
pub mod version;
pub mod wal;

#[cfg(test)]
mod durability_tests;
#[cfg(test)]
mod seal_tests;
#[cfg(test)]
mod tests;

pub use batch::{MAX_KEY_BYTES, PrefixStats, WriteBatch, check_batch_input};
pub use error::{CorruptionDetail, EngineError};
pub use snapshot::Snapshot;
pub use store::{EngineStats, LsmStore};

use std::rc::Rc;

/// The production store: the LSM engine over glommio direct I/O (or, in
/// the API layer's in-process crash tests, the fault-injecting memory FS).
pub type Store = LsmStore<io::either::EitherFs>;

/// How the WAL acknowledges writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Acknowledge a write only after its WAL record is fdatasync'ed
    /// (group commit). The default.
    #[default]
    Durable,
    /// Acknowledge before the sync and sync every `relaxed_sync_interval_ms`:
    /// a crash LOSES acknowledged writes of the last interval.
    RelaxedPeriodic,
}

/// Engine knobs. Each bound has a default and a stated trade-off.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Bytes a memtable may hold before it is frozen and flushed.
    /// Larger: fewer, bigger SSTables and less write amplification; more RSS
    /// and longer recovery. Default 64 MiB.
    pub memtable_bytes_max: u64,
    /// Frozen memtables allowed to wait for flush before writers are slowed
    /// (their acknowledgement waits for the flush; writes never fail for
    /// it). Memory bound: `(1 + this) * memtable_bytes_max`. Default 2.
    pub memtables_frozen_max: usize,
    /// Byte budget of the shard-local block cache (direct I/O bypasses the
    /// page cache). Default 256 MiB.
    pub block_cache_bytes_max: u64,
    /// Size of a WAL segment. Larger: fewer segments to prepare (each is
    /// zero-filled once, off the commit path, unless recycled); more disk
    /// held and more to scan at recovery. Default 64 MiB.
    pub wal_segment_bytes: u64,
    /// WAL segments kept ready (named, zero-filled, synced) ahead of the
    /// active one, so a roll never waits for file-system metadata. Disk
    /// held: `(this + 1 + recycled) * wal_segment_bytes`. 0 is taken as 1.
    /// Default 1.
    pub wal_segments_prepared_max: usize,
    /// `durable` (default) or `relaxed_periodic` (may lose the last
    /// `relaxed_sync_interval_ms` of acknowledged writes on a crash).
    pub sync_mode: SyncMode,
    /// Sync period in relaxed mode. Default 10 ms.
    pub relaxed_sync_interval_ms: u64,
    /// Target size of an SSTable written by compaction. Default 64 MiB.
    pub sstable_target_bytes: u64,
    /// L0 tables that trigger an L0 → L1 compaction. Lower: fewer tables to
    /// probe per read; more write amplification. Default 4.
    pub l0_compaction_trigger: usize,
    /// L0 tables at which writers start being delayed (`LsmStore::write_room`,
    /// a little more per table over), so compaction catches up before the
    /// stop trigger halts writes. Default 8.
    pub l0_slowdown_writes_trigger: usize,
    /// L0 tables past which acknowledgements wait for compaction (writes
    /// still apply; they never fail for it). Bounds read amplification under
    /// sustained writes. Default 12.
    pub l0_stop_writes_trigger: usize,
    /// Target size of level 1. Default 256 MiB.
    pub level1_bytes_max: u64,
    /// Size ratio between adjacent levels. Higher: fewer levels, more write
    /// amplification per level. Default 10.
    pub level_size_ratio: u64,
    /// Number of levels including L0. Default 7.
    pub levels: usize,
    /// Share of a shard's time (percent) a flush or compaction takes while
    /// it has slack: after each 500 µs slice it rests so that it runs at
    /// most this much of the time. It runs at full speed once writers are
    /// about to wait for it (a second frozen memtable; L0 within two tables
    /// of the slowdown trigger), when no request reached the store during
    /// its last rest (an idle shard), and a flush also whenever it falls
    /// behind the active memtable's fill (it aims to finish by half). Lower:
    /// requests keep more of the CPU while a flush runs under a light or
    /// moderate write rate; the flush takes longer. 100: never rests.
    /// Default 10.
    pub background_duty_percent: u8,
    /// Encryption at rest (`seal`): when set, WAL records, SSTable blocks
    /// and the manifest are sealed with AES-256-GCM under per-file keys
    /// wrapped by this key. Not a TOML knob: the server loads it from
    /// `encryption_key_file`. Default none (plaintext, format unchanged).
    #[serde(skip)]
    pub master_key: Option<std::sync::Arc<seal::MasterKey>>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            memtable_bytes_max: 64 << 20,
            memtables_frozen_max: 2,
            block_cache_bytes_max: 256 << 20,
            wal_segment_bytes: 64 << 20,
            wal_segments_prepared_max: 1,
            sync_mode: SyncMode::Durable,
            relaxed_sync_interval_ms: 10,
            sstable_target_bytes: 64 << 20,
            l0_compaction_trigger: 4,
            l0_slowdown_writes_trigger: 8,
            l0_stop_writes_trigger: 12,
            level1_bytes_max: 256 << 20,
            level_size_ratio: 10,
            levels: 7,
            background_duty_percent: 10,
            master_key: None,
        }
    }
}

impl EngineConfig {
    /// Tiny sizes so tests exercise flush, compaction and rotation constantly.
    pub fn test_min() -> Self {
        Self {
            memtable_bytes_max: 64 << 10,
            memtables_frozen_max: 1,
            block_cache_bytes_max: 256 << 10,
            wal_segment_bytes: 64 << 10,
            wal_segments_prepared_max: 1,
            sync_mode: SyncMode::Durable,
            relaxed_sync_interval_ms: 1,
            sstable_target_bytes: 32 << 10,
            l0_compaction_trigger: 2,
            l0_slowdown_writes_trigger: 3,
            l0_stop_writes_trigger: 4,
            level1_bytes_max: 128 << 10,
            level_size_ratio: 4,
            levels: 4,
            background_duty_percent: 10,
            master_key: None,
        }
    }
}

/// Completes when the batch it was returned for is durable.
#[must_use = "a write may be acknowledged only after it is durable"]
pub struct Durable {
    commit: Rc<wal::CommitState>,
    seq: u64,
    relaxed: bool,
    /// When the batch was applied (the `total` phase); `None` for markers,
    /// which are not client writes and stay out of the histograms.
    applied_at: Option<std::time::Instant>,
}

impl Durable {
    /// Ok once the batch is durable (in relaxed mode: once accepted). Also
    /// waits, without failing, while too many memtables await flush.
    pub async fn wait(self) -> Result<(), EngineError> {
        if !self.relaxed {
            self.commit.wait_durable(self.seq).await?;
        } else if let Some(why) = self.commit.poisoned() {
            return Err(EngineError::Poisoned(why));
        }
        let backlog_started = std::time::Instant::now();
        self.commit.wait_backlog().await;
        if let Some(applied_at) = self.applied_at {
            let now = std::time::Instant::now();
            let phases = &self.commit.phases;
            phases.backlog_wait(now - backlog_started);
            if let Some(durable_at) = self.commit.durable_at() {
                phases.ack(now.saturating_duration_since(durable_at.max(applied_at)));
            }
            phases.total(now - applied_at);
        }
        Ok(())
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn config_parses_from_toml_with_defaults() {
        let config: EngineConfig =
            toml::from_str("sync_mode = \"relaxed_periodic\"\nrelaxed_sync_interval_ms = 5\n")
                .expect("parses");
        assert_eq!(config.sync_mode, SyncMode::RelaxedPeriodic);
        assert_eq!(config.relaxed_sync_interval_ms, 5);
        assert_eq!(
            config.memtable_bytes_max,
            EngineConfig::default().memtable_bytes_max
        );
        assert!(toml::from_str::<EngineConfig>("no_such_knob = 1").is_err());
        // The keys tuning/profiles/*.toml use.
        let profile: EngineConfig = toml::from_str(
            "memtable_bytes_max = 65536\nblock_cache_bytes_max = 262144\n\
             wal_segment_bytes = 65536\nsstable_target_bytes = 32768\n\
             sync_mode = \"durable\"\nrelaxed_sync_interval_ms = 5\n",
        )
        .expect("profile keys parse");
        assert_eq!(profile.sync_mode, SyncMode::Durable);
        assert_eq!(profile.sstable_target_bytes, 32768);
        assert_eq!(EngineConfig::default().sync_mode, SyncMode::Durable);
    }
}
