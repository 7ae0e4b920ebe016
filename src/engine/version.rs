//! A version: the immutable set of live tables per level plus the range
//! tombstones, swapped atomically (`Rc`) when a flush, compaction or drop
//! commits. Readers clone the `Rc` and keep a consistent view across awaits;
//! a table file deleted meanwhile stays readable through its open handle.
//!
//! Invariants: L0 is ordered newest first and its tables may overlap;
//! levels 1.. are sorted by key and do not overlap; for any key, a table in
//! a lower level (or earlier in L0) holds a newer version than a later one.

use crate::engine::io::Fs;
use crate::engine::manifest::{ManifestData, RangeTombstone};
use crate::engine::sst::table::{Table, TableMeta};
use std::rc::Rc;

pub struct Version<F: Fs> {
    pub levels: Vec<Vec<Rc<Table<F>>>>,
    pub tombstones: Vec<RangeTombstone>,
}

impl<F: Fs> Clone for Version<F> {
    fn clone(&self) -> Self {
        Version {
            levels: self.levels.clone(),
            tombstones: self.tombstones.clone(),
        }
    }
}

/// Does any key with `prefix` fall in the table's key range?
pub fn prefix_overlaps(meta: &TableMeta, prefix: &[u8]) -> bool {
    meta.largest.as_slice() >= prefix
        && (meta.smallest.as_slice() <= prefix || meta.smallest.starts_with(prefix))
}

impl<F: Fs> Version<F> {
    pub fn empty(levels: usize) -> Version<F> {
        Version {
            levels: vec![Vec::new(); levels],
            tombstones: Vec::new(),
        }
    }

    /// Prefixes whose range tombstones hide data written at or below `max_seq`.
    pub fn hidden_for(&self, max_seq: u64) -> Rc<Vec<Vec<u8>>> {
        Rc::new(
            self.tombstones
                .iter()
                .filter(|t| t.seq > max_seq)
                .map(|t| t.prefix.clone())
                .collect(),
        )
    }

    /// Is `key`, as held by a source whose newest record is `max_seq`, deleted
    /// by a range tombstone?
    pub fn covered(&self, key: &[u8], max_seq: u64) -> bool {
        self.tombstones
            .iter()
            .any(|t| t.seq > max_seq && key.starts_with(&t.prefix))
    }

    pub fn max_tombstone_seq(&self) -> u64 {
        self.tombstones.iter().map(|t| t.seq).max().unwrap_or(0)
    }

    /// Table metadata per level (the compaction policy's input).
    pub fn metas(&self) -> Vec<Vec<TableMeta>> {
        self.levels
            .iter()
            .map(|level| level.iter().map(|t| t.meta.clone()).collect())
            .collect()
    }

    pub fn to_manifest(
        &self,
        next_file_id: u64,
        flushed_seq: u64,
        wal_min_segment: u64,
    ) -> ManifestData {
        let mut tables = Vec::new();
        for (level, list) in self.levels.iter().enumerate() {
            for table in list {
                tables.push((level as u8, table.meta.clone()));
            }
        }
        ManifestData {
            next_file_id,
            flushed_seq,
            wal_min_segment,
            tables,
            tombstones: self.tombstones.clone(),
        }
    }

    /// Replaces the tables with ids in `removed` by `added` (at `level`).
    pub fn with_tables(
        &self,
        removed: &[u64],
        level: usize,
        added: Vec<Rc<Table<F>>>,
    ) -> Version<F> {
        let mut next = self.clone();
        for list in &mut next.levels {
            list.retain(|t| !removed.contains(&t.meta.id));
        }
        if level == 0 {
            // New L0 tables are the newest.
            let mut l0 = added;
            l0.append(&mut next.levels[0]);
            next.levels[0] = l0;
        } else {
            next.levels[level].extend(added);
            next.levels[level].sort_by(|a, b| a.meta.smallest.cmp(&b.meta.smallest));
        }
        next
    }
}
