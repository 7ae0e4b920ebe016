//! One shard's point-in-time recovery state: the clock its history records
//! are stamped with (never going back on this shard, so a shard's records
//! are in time order as well as log order) and counters. The records live
//! in the store (`api::pitr` documents their layout).

use std::cell::Cell;

#[derive(Default)]
pub struct PitrShard {
    last_ms: Cell<u64>,
    pub records_written: Cell<u64>,
    pub bytes_written: Cell<u64>,
    pub records_trimmed: Cell<u64>,
}

impl PitrShard {
    /// The time of a record written now: the wall clock, but never less
    /// than a record written here before.
    pub fn stamp(&self, now_ms: u64) -> u64 {
        let ms = self.last_ms.get().max(now_ms);
        self.last_ms.set(ms);
        ms
    }

    pub fn count_written(&self, records: u64, bytes: u64) {
        self.records_written
            .set(self.records_written.get().saturating_add(records));
        self.bytes_written
            .set(self.bytes_written.get().saturating_add(bytes));
    }

    pub fn count_trimmed(&self, records: u64) {
        self.records_trimmed
            .set(self.records_trimmed.get().saturating_add(records));
    }
}
