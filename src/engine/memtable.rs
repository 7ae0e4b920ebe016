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
use bumpalo::Bump;
use crossbeam_skiplist::SkipMap;
use std::borrow::Borrow;
use std::cell::Cell;
use std::cmp::Ordering;
use std::ops::Bound;
use std::ptr::NonNull;

/// Per-entry bookkeeping charged on top of key and value bytes (skiplist
/// node and tower), so `bytes()` tracks real memory.
const ENTRY_OVERHEAD_BYTES: u64 = 64;

pub type Entry = (Vec<u8>, Option<Vec<u8>>);

/// A memtable: keys and values live in a bump arena, so dropping a flushed
/// 64 MiB memtable frees a few dozen arena chunks and one skiplist node per
/// entry instead of two heap allocations per entry (that drop held the
/// shard thread for ~55 ms at every flush: `perf` on the 2026-12-04 open
/// loop put run, README "Durable writes").
pub struct Memtable {
    /// Declared before `arena`: fields drop in order, so no node outlives
    /// the bytes it points to.
    map: SkipMap<ArenaBytes, Option<ArenaBytes>>,
    arena: Bump,
    bytes: Cell<u64>,
    max_seq: Cell<u64>,
    /// First WAL segment that may hold this memtable's records.
    pub first_segment: u64,
}

/// Bytes copied into a memtable's arena. A bump arena never moves or frees
/// an allocation before the arena itself drops, and the memtable drops its
/// map first, so every `ArenaBytes` the map holds stays readable for as
/// long as the map can hand it out. It is neither `Clone` nor `Copy`, so
/// none exists outside the map. It has no `Drop`: the epoch collector may
/// finalize a replaced node later without touching the bytes.
struct ArenaBytes {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: `ArenaBytes` is an immutable view of arena memory, never
// written after it was copied in, and the arena travels with the map: a
// memtable is confined to its shard thread (`Rc`, and `Bump` is not
// `Sync`) until its drop hands map and arena, together, to the reclaim
// thread, which only frees them. Sharing or sending such a view is sharing
// or sending a `&[u8]` that lives as long as the arena.
#[allow(unsafe_code)]
unsafe impl Send for ArenaBytes {}
// SAFETY: as for `Send`.
#[allow(unsafe_code)]
unsafe impl Sync for ArenaBytes {}

impl ArenaBytes {
    /// The bytes, for a lifetime the caller vouches for.
    ///
    /// # Safety
    /// `'a` must end before the arena that holds these bytes drops.
    #[allow(unsafe_code)]
    unsafe fn slice<'a>(&self) -> &'a [u8] {
        // SAFETY: `ptr` and `len` are those of a slice returned by
        // `Bump::alloc_slice_copy`, which stays in place, unwritten, until
        // its arena drops; the caller bounds `'a` by that.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    #[allow(unsafe_code)]
    fn as_slice(&self) -> &[u8] {
        // SAFETY: an `ArenaBytes` only exists inside its memtable's map,
        // which drops before the arena, so a borrow of it ends in time.
        unsafe { self.slice() }
    }
}

impl Borrow<[u8]> for ArenaBytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for ArenaBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for ArenaBytes {}

impl PartialOrd for ArenaBytes {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Byte order, as `[u8]` orders: `Borrow<[u8]>` lookups rely on it.
impl Ord for ArenaBytes {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

/// Memtables with fewer entries are freed where they drop (cheaper than the
/// hand-off).
const RECLAIM_ENTRIES_MIN: usize = 4096;

impl Drop for Memtable {
    /// A big memtable's nodes and arena go to the reclaim thread together
    /// (a tuple drops in order: the map before the arena it points into).
    fn drop(&mut self) {
        if self.map.len() >= RECLAIM_ENTRIES_MIN {
            let map = std::mem::take(&mut self.map);
            let arena = std::mem::take(&mut self.arena);
            super::reclaim::drop_later(Box::new((map, arena)));
        }
    }
}

impl Memtable {
    pub fn new(first_segment: u64) -> Memtable {
        Memtable {
            map: SkipMap::new(),
            arena: Bump::new(),
            bytes: Cell::new(0),
            max_seq: Cell::new(u64::MAX),
            first_segment,
        }
    }

    fn copy_in(&self, bytes: &[u8]) -> ArenaBytes {
        let copy = self.arena.alloc_slice_copy(bytes);
        ArenaBytes {
            len: copy.len(),
            ptr: NonNull::from(copy).cast(),
        }
    }

    /// `bytes` as a slice living as long as this memtable (it came from
    /// this memtable's map, so from its arena).
    #[allow(unsafe_code)]
    fn view<'a>(&'a self, bytes: &ArenaBytes) -> &'a [u8] {
        // SAFETY: every `ArenaBytes` handed here is borrowed from this
        // memtable's map, so from this memtable's arena, which lives as
        // long as `self`.
        unsafe { bytes.slice() }
    }

    pub fn insert(&self, key: &[u8], value: Option<&[u8]>) {
        let size = key.len() as u64 + value.map_or(0, |v| v.len() as u64);
        self.bytes
            .set(self.bytes.get() + size + ENTRY_OVERHEAD_BYTES);
        let key = self.copy_in(key);
        let value = value.map(|v| self.copy_in(v));
        self.map.insert(key, value);
    }

    /// `None`: key absent here; `Some(None)`: deleted here.
    pub fn get(&self, key: &[u8]) -> Option<Option<Vec<u8>>> {
        self.map
            .get(key)
            .map(|entry| entry.value().as_ref().map(|v| self.view(v).to_vec()))
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
        for (key, value) in self.entries() {
            copy.insert(key, value);
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
        let (from, other_end) = (from.map(Vec::as_slice), other_end.map(Vec::as_slice));
        let entry = if reverse {
            self.map.range::<[u8], _>((other_end, from)).next_back()
        } else {
            self.map.range::<[u8], _>((from, other_end)).next()
        };
        entry.map(|e| {
            let value = e.value().as_ref().map(|v| self.view(v).to_vec());
            (self.view(e.key()).to_vec(), value)
        })
    }

    /// Every entry in key order, borrowed (a flush copies each once, into
    /// its block, instead of cloning the whole memtable first).
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> + '_ {
        self.map.iter().map(|entry| {
            let value = entry.value().as_ref().map(|v| self.view(v));
            (self.view(entry.key()), value)
        })
    }

    /// Exact live entries and bytes under `prefix` here (tombstones skipped).
    pub fn prefix_stats(&self, prefix: &[u8]) -> PrefixStats {
        let mut stats = PrefixStats::default();
        for entry in self
            .map
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
        {
            let key = self.view(entry.key());
            if !key.starts_with(prefix) {
                break;
            }
            if let Some(value) = entry.value() {
                stats.entries += 1;
                stats.bytes += (key.len() + value.len) as u64;
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
        m.insert(b"b", Some(b"2"));
        m.insert(b"a", Some(b"1"));
        m.insert(b"c", None);
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
