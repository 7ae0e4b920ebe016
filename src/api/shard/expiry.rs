//! A shard's TTL expirer counters (`api::ttl` runs the expirer), shown at
//! `/dynacore/metrics`. Plain counters since the shard started.

use std::cell::Cell;

#[derive(Default)]
pub struct ExpiryCounters {
    /// Expired items deleted by the expirer.
    pub deleted_total: Cell<u64>,
    /// Expired items the current pass has found and not yet deleted (or
    /// found no longer expired under their lock).
    pub backlog_items: Cell<u64>,
    /// Passes completed over this shard's items of TTL-enabled tables.
    pub scan_passes_total: Cell<u64>,
    /// When the last pass ended (ms since the epoch; 0: none yet).
    pub last_scan_ms: Cell<u64>,
}

impl ExpiryCounters {
    pub fn add(cell: &Cell<u64>, n: u64) {
        cell.set(cell.get().saturating_add(n));
    }

    pub fn sub(cell: &Cell<u64>, n: u64) {
        cell.set(cell.get().saturating_sub(n));
    }
}
