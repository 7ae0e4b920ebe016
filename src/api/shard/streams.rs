//! One shard's DynamoDB Streams state: which stream shard (epoch) of each
//! stream is open here, how far each stream's records were trimmed, and
//! counters. The records themselves live in the store (`api::streams`
//! documents their layout); this is only what a shard remembers about
//! them in memory.
//!
//! The one invariant: the open epoch of a stream never goes back on a
//! shard. A write takes the epoch of its clock time but never one lower
//! than a write or a read here already used, so once a GetRecords here has
//! seen epoch `e` closed (the open epoch is past it), no record can land
//! in `e` afterwards, even if the wall clock steps back.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use crate::catalog::StreamDef;

/// A stream on this shard: (table id, stream label ms).
pub type StreamKey = (u32, u64);

/// A position in one stream shard: (WAL sequence, index in its batch).
pub type Position = (u64, u16);

#[derive(Default)]
pub struct StreamShards {
    open_epochs: RefCell<HashMap<StreamKey, u32>>,
    /// Per stream: (epoch, position) of the last record trimmed here. A
    /// copy of the horizons in the store (`api::streams::trim` writes each
    /// in the batch of its deletions and loads them all at start-up), so
    /// TrimmedDataAccessException answers the same after a restart.
    trimmed: RefCell<HashMap<StreamKey, (u32, Position)>>,
    pub records_written: Cell<u64>,
    pub records_trimmed: Cell<u64>,
}

impl StreamShards {
    /// The epoch open on this shard at `now_ms` for `stream` (and from now
    /// on at least this one).
    pub fn open_epoch(&self, key: StreamKey, stream: &StreamDef, now_ms: u64) -> u32 {
        let clock = stream.epoch_at(now_ms);
        let mut epochs = self.open_epochs.borrow_mut();
        let epoch = epochs.entry(key).or_insert(clock);
        *epoch = (*epoch).max(clock);
        *epoch
    }

    /// The horizon recorded for `key`, if any.
    pub fn horizon(&self, key: StreamKey) -> Option<(u32, Position)> {
        self.trimmed.borrow().get(&key).copied()
    }

    /// A horizon loaded from the store at start-up.
    pub fn load_horizon(&self, key: StreamKey, epoch: u32, position: Position) {
        let mut trimmed = self.trimmed.borrow_mut();
        let entry = trimmed.entry(key).or_insert((epoch, position));
        *entry = (*entry).max((epoch, position));
    }

    /// A stream gone from the catalog: its horizon is no longer asked for.
    pub fn forget(&self, key: StreamKey) {
        self.trimmed.borrow_mut().remove(&key);
    }

    /// Records a trim up to (epoch, position) inclusive.
    pub fn trimmed_through(&self, key: StreamKey, epoch: u32, position: Position, count: u64) {
        let mut trimmed = self.trimmed.borrow_mut();
        let entry = trimmed.entry(key).or_insert((epoch, position));
        *entry = (*entry).max((epoch, position));
        drop(trimmed);
        self.count_trimmed(count);
    }

    pub fn count_trimmed(&self, count: u64) {
        self.records_trimmed
            .set(self.records_trimmed.get().saturating_add(count));
    }

    /// Whether a read starting at (epoch, position) would skip records
    /// already trimmed (TrimmedDataAccessException).
    pub fn is_trimmed(&self, key: StreamKey, epoch: u32, position: Position) -> bool {
        self.trimmed
            .borrow()
            .get(&key)
            .is_some_and(|&last| (epoch, position) <= last)
    }
}
