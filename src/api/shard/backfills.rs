//! A shard's record of index backfills (`index::backfill` runs them): which
//! run here, which shards have finished each (on the coordinator), and the
//! progress `/dynacore/metrics` shows.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};

#[derive(Default)]
pub struct Backfills {
    /// Index ids being backfilled on this shard.
    pub running: RefCell<HashSet<u32>>,
    /// Coordinator only: index id → shards that have finished.
    pub finished: RefCell<HashMap<u32, HashSet<u32>>>,
    /// Items this shard has backfilled (all indexes, since start).
    pub items: Cell<u64>,
    /// Items per second of the last finished backfill here.
    pub last_rate_items_per_s: Cell<u64>,
}
