//! A backup cut that fails partway (one shard's snapshot refused after the
//! others took theirs) releases every shard's snapshot: a snapshot pins
//! memtables and table files, so one left in `backups.snapshots` would
//! hold them for the life of the process.

use std::cell::RefCell;
use std::rc::Rc;

use super::index_crash::{REFUSE_SNAPSHOTS_ON, SHARDS, start};
use crate::api::backup::create::{cut, release};
use crate::engine::io::dma::block_on;
use crate::engine::io::mem::MemFs;

fn held(shards: &[Rc<crate::api::shard::Shard>]) -> usize {
    shards
        .iter()
        .map(|s| s.backups.snapshots.borrow().len())
        .sum()
}

#[test]
fn a_cut_that_fails_partway_leaves_no_snapshot_on_any_shard() {
    let fss: Vec<MemFs> = (0..SHARDS).map(|_| MemFs::new()).collect();
    let catalog_file = Rc::new(RefCell::new(Vec::new()));
    block_on(async move {
        let shards = start(&fss, &catalog_file).await;
        // Shard 0 (the coordinator, served in place) snapshots first; the
        // last shard refuses, on every attempt.
        REFUSE_SNAPSHOTS_ON.with(|r| r.set(Some(SHARDS - 1)));
        let failed = cut(&shards[0], "cut-fails", None).await;
        REFUSE_SNAPSHOTS_ON.with(|r| r.set(None));
        assert!(failed.is_err(), "the refused snapshot fails the cut");
        assert_eq!(held(&shards), 0, "a failed cut left snapshots behind");
        // The gates are open again: a cut now succeeds on every shard, and
        // releasing it (a copy that failed) empties them all.
        cut(&shards[0], "cut-works", None).await.expect("cut");
        assert_eq!(held(&shards), SHARDS as usize);
        release(&shards[0], "cut-works").await;
        assert_eq!(held(&shards), 0);
    })
    .expect("executor");
}
