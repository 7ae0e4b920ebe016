//! Point-in-time snapshots of a store: what backups read.
//!
//! [`LsmStore::snapshot`] copies the active memtable when it holds at most
//! [`SNAPSHOT_COPY_BYTES_MAX`] (a bounded copy on the shard thread), else
//! freezes it (a rotation, no I/O: the flush it hands to the background
//! task is the foreground cost, and it is a full-sized flush), and keeps
//! the `Rc`s of the frozen memtables and the current version. Freezing a
//! small memtable would cost more than the copy: every backup or PITR base
//! would add a tiny L0 table spanning the keyspace, and back-to-back
//! backups would make compaction rewrite the levels below again and again.
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
use crate::engine::io::dma;
use crate::engine::iter::{MergeIter, Range, Source};
use crate::engine::memtable::Memtable;
use crate::engine::store::{LsmStore, SCAN_YIELD_STEPS};
use crate::engine::version::Version;

/// Largest active memtable a snapshot copies instead of freezing (see the
/// module doc): bounds the copy's time on the shard thread (about a
/// millisecond) and the memory each live snapshot adds.
pub const SNAPSHOT_COPY_BYTES_MAX: u64 = 4 << 20;

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
        let active = shared.active.borrow().clone();
        let mut memtables = Vec::new();
        if active.bytes() <= SNAPSHOT_COPY_BYTES_MAX {
            // Everything applied so far: a copy of the active memtable and
            // the frozen ones.
            if !active.is_empty() {
                memtables.push(Rc::new(active.frozen_copy(seq)));
            }
        } else {
            // Everything applied so far moves to an immutable memtable.
            shared.rotate();
        }
        memtables.extend(shared.frozen.borrow().iter().rev().cloned());
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
        let mut steps = 0usize;
        let mut slice = dma::WorkSlice::start();
        while out.len() < max_entries && (bytes < max_bytes || out.is_empty()) {
            // Tombstones are skipped without filling the page: a range of
            // deleted keys (mass TTL expiry, a DeleteItem sweep) could keep
            // this loop on the shard thread for a long time. Let queued
            // requests run once this task's time slice is spent.
            steps += 1;
            if steps.is_multiple_of(SCAN_YIELD_STEPS) {
                slice.pause_if_spent().await;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::io::dma::block_on;
    use crate::engine::io::mem::MemFs;
    use crate::engine::{EngineConfig, WriteBatch};
    use crate::testkit::{self, Rng};
    use std::collections::BTreeMap;

    fn key(k: u64) -> Vec<u8> {
        let mut out = 1u32.to_be_bytes().to_vec();
        out.extend_from_slice(format!("key{k:06}").as_bytes());
        out
    }

    /// A snapshot keeps answering with the state of its instant while the
    /// store goes on writing, flushing, compacting and dropping a prefix.
    #[test]
    fn a_snapshot_is_unmoved_by_later_writes_flushes_compactions_and_drops() {
        testkit::for_seeds(testkit::fixed_seeds(3), |seed| {
            block_on(async move {
                let store = LsmStore::open_with(MemFs::new(), &EngineConfig::test_min())
                    .await
                    .expect("open");
                let mut rng = Rng(seed);
                let mut model = BTreeMap::new();
                let write = |rng: &mut Rng, model: &mut BTreeMap<Vec<u8>, Vec<u8>>| {
                    let k = key(rng.below(500));
                    let batch: WriteBatch = if rng.below(5) == 0 {
                        model.remove(&k);
                        vec![(k, None)]
                    } else {
                        let v = vec![rng.next() as u8; rng.below(200) as usize];
                        model.insert(k.clone(), v.clone());
                        vec![(k, Some(v))]
                    };
                    batch
                };
                for _ in 0..2000 {
                    let batch = write(&mut rng, &mut model);
                    store
                        .write(batch)
                        .expect("write")
                        .wait()
                        .await
                        .expect("durable");
                }
                let snapshot = store.snapshot().expect("snapshot");
                let frozen = model.clone();
                for _ in 0..3000 {
                    let batch = write(&mut rng, &mut model);
                    store
                        .write(batch)
                        .expect("write")
                        .wait()
                        .await
                        .expect("durable");
                }
                store.quiesce().await.expect("quiesce");
                store
                    .delete_prefix(&1u32.to_be_bytes())
                    .await
                    .expect("drop");
                // Read the snapshot in small pages, as a backup does.
                let mut got = BTreeMap::new();
                let mut after: Option<Vec<u8>> = None;
                loop {
                    let lower = match &after {
                        Some(k) => Bound::Excluded(k.as_slice()),
                        None => Bound::Unbounded,
                    };
                    let page = snapshot
                        .scan(lower, Bound::Unbounded, 1 + rng.below(50) as usize, 4096)
                        .await
                        .expect("snapshot scan");
                    let Some((last, _)) = page.last() else { break };
                    after = Some(last.clone());
                    got.extend(page);
                }
                assert_eq!(got, frozen, "seed {seed}");
                let now = store
                    .scan(
                        Bound::Unbounded,
                        Bound::Unbounded,
                        false,
                        usize::MAX,
                        usize::MAX,
                    )
                    .await
                    .expect("scan");
                assert!(now.is_empty(), "the store itself dropped the prefix");
            })
            .expect("executor");
        });
    }
}
