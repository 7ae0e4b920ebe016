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
//! This step keeps everything in memory (a `BTreeMap`); the log-structured
//! engine (WAL, memtable, SSTables) replaces the internals behind this API.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;

/// Engine knobs. Each bound has a default and a stated trade-off.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Bytes a memtable may hold before it is frozen and flushed.
    /// Larger: fewer, bigger SSTables and less write amplification; more RSS
    /// and longer recovery. Default 64 MiB.
    pub memtable_bytes_max: u64,
    /// Byte budget of the shard-local block cache (direct I/O bypasses the
    /// page cache). Default 256 MiB.
    pub block_cache_bytes_max: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            memtable_bytes_max: 64 << 20,
            block_cache_bytes_max: 256 << 20,
        }
    }
}

impl EngineConfig {
    /// Tiny sizes so tests exercise flush, compaction and rotation constantly.
    pub fn test_min() -> Self {
        Self {
            memtable_bytes_max: 64 << 10,
            block_cache_bytes_max: 256 << 10,
        }
    }
}

/// Engine errors. The API layer maps them to `InternalServerError`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("shard is poisoned after a failed write or sync and refuses writes until restart: {0}")]
    Poisoned(String),
    #[error("corruption in {path} at offset {offset}: {detail}")]
    Corruption {
        path: String,
        offset: u64,
        detail: String,
    },
}

/// One mutation in a batch: `Some(value)` puts, `None` deletes.
pub type WriteBatch = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Approximate size of everything stored under a key prefix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrefixStats {
    pub entries: u64,
    pub bytes: u64,
}

/// Completes when the batch it was returned for is durable.
#[must_use = "a write may be acknowledged only after it is durable"]
pub struct Durable {
    result: Result<(), EngineError>,
}

impl Durable {
    pub async fn wait(self) -> Result<(), EngineError> {
        self.result
    }
}

/// A shard's store.
pub struct Store {
    map: RefCell<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl Store {
    /// Opens (or creates) the store in `dir`, recovering what is there.
    pub async fn open(_dir: &Path, _config: &EngineConfig) -> Result<Store, EngineError> {
        Ok(Store {
            map: RefCell::new(BTreeMap::new()),
        })
    }

    pub async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        Ok(self.map.borrow().get(key).cloned())
    }

    /// Applies `batch` atomically now; the returned future completes when durable.
    pub fn write(&self, batch: WriteBatch) -> Result<Durable, EngineError> {
        let mut map = self.map.borrow_mut();
        for (key, value) in batch {
            match value {
                Some(value) => {
                    map.insert(key, value);
                }
                None => {
                    map.remove(&key);
                }
            }
        }
        Ok(Durable { result: Ok(()) })
    }

    /// Up to `max_entries` entries (and about `max_bytes` bytes, always at
    /// least one entry) within the bounds, ascending or descending.
    pub async fn scan(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
        max_entries: usize,
        max_bytes: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, EngineError> {
        let map = self.map.borrow();
        let range = map.range::<[u8], _>((lower, upper));
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut take = |(k, v): (&Vec<u8>, &Vec<u8>)| {
            if out.len() >= max_entries || (bytes >= max_bytes && !out.is_empty()) {
                return false;
            }
            bytes += k.len() + v.len();
            out.push((k.clone(), v.clone()));
            true
        };
        if reverse {
            for entry in range.rev() {
                if !take(entry) {
                    break;
                }
            }
        } else {
            for entry in range {
                if !take(entry) {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Removes every key starting with `prefix` (a dropped table), durably.
    pub async fn delete_prefix(&self, prefix: &[u8]) -> Result<(), EngineError> {
        let mut map = self.map.borrow_mut();
        let doomed: Vec<Vec<u8>> = map
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for key in doomed {
            map.remove(&key);
        }
        Ok(())
    }

    /// Approximate entries and bytes under `prefix` (for DescribeTable).
    pub fn prefix_stats(&self, prefix: &[u8]) -> PrefixStats {
        let map = self.map.borrow();
        let mut stats = PrefixStats::default();
        for (k, v) in map
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
        {
            stats.entries += 1;
            stats.bytes += (k.len() + v.len()) as u64;
        }
        stats
    }

    /// Flushes what must be flushed and releases files.
    pub async fn close(&self) -> Result<(), EngineError> {
        Ok(())
    }
}
