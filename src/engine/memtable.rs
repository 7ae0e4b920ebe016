//! The memtable: recent writes in a lock-free ordered skiplist
//! (`crossbeam_skiplist::SkipMap`), `None` values being point tombstones.
//!
//! One memtable is *active* (takes writes); full ones are *frozen* (read
//! only) until flushed. Iteration re-seeks from the last key returned
//! instead of holding a borrowed iterator, so a scan may await disk I/O
//! between steps while writers keep inserting; a step costs O(log n).
//!
//! `max_seq` is fixed when the memtable is frozen: every record with a
//! sequence number at or below it is in this memtable or an older one. Range
//! tombstones cover a whole memtable or none of it (the store freezes the
//! active memtable before taking a range tombstone's sequence number).

use crate::engine::PrefixStats;
use crossbeam_skiplist::SkipMap;
use std::cell::Cell;
use std::ops::Bound;

/// Per-entry bookkeeping charged on top of key and value bytes (skiplist
/// node, tower and `Vec` headers), so `bytes()` tracks real memory.
const ENTRY_OVERHEAD_BYTES: u64 = 64;

pub type Entry = (Vec<u8>, Option<Vec<u8>>);

pub struct Memtable {
    map: SkipMap<Vec<u8>, Option<Vec<u8>>>,
    bytes: Cell<u64>,
    max_seq: Cell<u64>,
    /// First WAL segment that may hold this memtable's records.
    pub first_segment: u64,
}

impl Memtable {
    pub fn new(first_segment: u64) -> Memtable {
        Memtable {
            map: SkipMap::new(),
            bytes: Cell::new(0),
            max_seq: Cell::new(u64::MAX),
            first_segment,
        }
    }

    pub fn insert(&self, key: Vec<u8>, value: Option<Vec<u8>>) {
        let size = key.len() as u64 + value.as_ref().map_or(0, |v| v.len() as u64);
        self.bytes
            .set(self.bytes.get() + size + ENTRY_OVERHEAD_BYTES);
        self.map.insert(key, value);
    }

    /// `None`: key absent here; `Some(None)`: deleted here.
    pub fn get(&self, key: &[u8]) -> Option<Option<Vec<u8>>> {
        self.map.get(key).map(|entry| entry.value().clone())
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.get()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// A frozen copy of everything here, as of `max_seq` (a snapshot of a
    /// small active memtable: cheaper than freezing it, which would hand
    /// the flusher a tiny table and compaction a rewrite of what it
    /// overlaps).
    pub fn frozen_copy(&self, max_seq: u64) -> Memtable {
        let copy = Memtable::new(self.first_segment);
        for entry in self.map.iter() {
            copy.insert(entry.key().clone(), entry.value().clone());
        }
        copy.freeze(max_seq);
        copy
    }

    /// Freezes at `max_seq` (the last sequence number assigned so far).
    pub fn freeze(&self, max_seq: u64) {
        self.max_seq.set(max_seq);
    }

    /// `u64::MAX` while active.
    pub fn max_seq(&self) -> u64 {
        self.max_seq.get()
    }

    /// The first entry after `from` (exclusive when `Some`), within `upper`,
    /// ascending; or descending from `from` within `lower` when `reverse`.
    pub fn step(
        &self,
        from: Bound<&Vec<u8>>,
        other_end: Bound<&Vec<u8>>,
        reverse: bool,
    ) -> Option<Entry> {
        let entry = if reverse {
            self.map.range::<Vec<u8>, _>((other_end, from)).next_back()
        } else {
            self.map.range::<Vec<u8>, _>((from, other_end)).next()
        };
        entry.map(|e| (e.key().clone(), e.value().clone()))
    }

    /// Every entry in key order, borrowed (a flush copies each once, into
    /// its block, instead of cloning the whole memtable first).
    pub fn entries(
        &self,
    ) -> impl Iterator<Item = crossbeam_skiplist::map::Entry<'_, Vec<u8>, Option<Vec<u8>>>> + '_
    {
        self.map.iter()
    }

    /// Exact live entries and bytes under `prefix` here (tombstones skipped).
    pub fn prefix_stats(&self, prefix: &[u8]) -> PrefixStats {
        let mut stats = PrefixStats::default();
        for entry in self
            .map
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
        {
            if !entry.key().starts_with(prefix) {
                break;
            }
            if let Some(value) = entry.value() {
                stats.entries += 1;
                stats.bytes += (entry.key().len() + value.len()) as u64;
            }
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_step() {
        let m = Memtable::new(1);
        m.insert(b"b".to_vec(), Some(b"2".to_vec()));
        m.insert(b"a".to_vec(), Some(b"1".to_vec()));
        m.insert(b"c".to_vec(), None);
        assert_eq!(m.get(b"a"), Some(Some(b"1".to_vec())));
        assert_eq!(m.get(b"c"), Some(None));
        assert_eq!(m.get(b"d"), None);
        let a = b"a".to_vec();
        let next = m.step(Bound::Excluded(&a), Bound::Unbounded, false);
        assert_eq!(next.map(|e| e.0), Some(b"b".to_vec()));
        let c = b"c".to_vec();
        let prev = m.step(Bound::Excluded(&c), Bound::Unbounded, true);
        assert_eq!(prev.map(|e| e.0), Some(b"b".to_vec()));
        assert_eq!(m.prefix_stats(b"").entries, 2);
    }
}
