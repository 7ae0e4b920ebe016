//! Point-in-time snapshots of a store: what backups read.
//!
//! [`LsmStore::snapshot`] freezes the active memtable (a rotation, no I/O:
//! the flush it hands to the background task is the only foreground cost)
//! and keeps the `Rc`s of the frozen memtables and the current version.
//! Frozen memtables and versions are immutable, so the snapshot sees
//! exactly the writes applied before the call, whatever is written,
//! flushed or compacted after it: a table file compaction deletes stays
//! readable through its open handle. The price is memory and disk held
//! while a snapshot lives (its memtables, its tables' files): snapshots are
//! for bounded jobs (a backup), never kept.

use std::ops::Bound;
use std::rc::Rc;

use crate::engine::EngineError;
use crate::engine::io::Fs;
use crate::engine::iter::{MergeIter, Range, Source};
use crate::engine::memtable::Memtable;
use crate::engine::store::LsmStore;
use crate::engine::version::Version;

/// An immutable view of a store as of one instant.
pub struct Snapshot<F: Fs> {
    /// Newest first.
    memtables: Vec<Rc<Memtable>>,
    version: Rc<Version<F>>,
    /// The last sequence number the snapshot holds.
    pub seq: u64,
}

impl<F: Fs> LsmStore<F> {
    /// A snapshot of everything applied so far (durable or not: callers
    /// that need durability wait on [`LsmStore::durable_marker`] first).
    pub fn snapshot(&self) -> Result<Snapshot<F>, EngineError> {
        let shared = self.shared();
        let Some(wal) = shared.wal.get() else {
            return Err(EngineError::Closed);
        };
        let seq = wal.last_seq();
        // Everything applied so far moves to an immutable memtable.
        shared.rotate();
        let memtables = shared.frozen.borrow().iter().rev().cloned().collect();
        Ok(Snapshot {
            memtables,
            version: shared.current(),
            seq,
        })
    }
}

impl<F: Fs> Snapshot<F> {
    /// Up to `max_entries` live entries (about `max_bytes`, at least one)
    /// in ascending order within the bounds; continue after the last key.
    pub async fn scan(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        max_entries: usize,
        max_bytes: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, EngineError> {
        let range = Range {
            lower: lower.map(<[u8]>::to_vec),
            upper: upper.map(<[u8]>::to_vec),
            reverse: false,
            // A backup reads everything once: keep the cache for requests.
            fill_cache: false,
        };
        let version = &self.version;
        let mut sources = Vec::new();
        for mem in &self.memtables {
            let hidden = version.hidden_for(mem.max_seq());
            sources.push(Source::memtable(mem.clone(), hidden, range.clone()));
        }
        for table in &version.levels[0] {
            let hidden = version.hidden_for(table.meta.max_seq);
            sources.push(Source::tables(vec![(table.clone(), hidden)], range.clone()));
        }
        for level in &version.levels[1..] {
            let tables = level
                .iter()
                .map(|t| (t.clone(), version.hidden_for(t.meta.max_seq)))
                .collect();
            sources.push(Source::tables(tables, range.clone()));
        }
        let mut iter = MergeIter::new(sources, false);
        let mut out = Vec::new();
        let mut bytes = 0usize;
        while out.len() < max_entries && (bytes < max_bytes || out.is_empty()) {
            let Some((key, value)) = iter.next().await? else {
                break;
            };
            if let Some(value) = value {
                bytes += key.len() + value.len();
                out.push((key, value));
            }
        }
        Ok(out)
    }
}
