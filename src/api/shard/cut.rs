//! The backup cut gate: how every shard stops at the same instant.
//!
//! A consistent backup needs one point in the history of all shards at
//! which each shard's snapshot is taken. The coordinator of a backup
//! (`api::backup`) closes the gate on every shard, then snapshots every
//! shard, then opens the gates again. While a shard's gate is closed:
//! - no new item change is applied (`write::commit_with` checks the gate
//!   right before its synchronous apply and, if closed, waits and starts
//!   over), so between "all closed" and "all snapshotted" no shard changes;
//! - no transaction coordinated here writes its commit decision
//!   ([`Cut::decision`] waits), and the close completes only once the
//!   decisions already written here are applied on all their participants.
//!   Commits of decided transactions (`Limits::Promised`) pass a closed
//!   gate, so a transaction is wholly in the cut (decided before) or
//!   wholly out (decided after), and closing never waits in a cycle.
//!
//! The foreground cost is the window between close and open: two mesh
//! round trips and a memtable rotation per shard, bounded by the
//! `backup_cut_wait_ms` knob (a close that cannot drain its decisions in
//! time gives up, and the backup retries the cut).
//!
//! Gates nest: each close is paired with one open and the gate stays
//! closed until the last, so two cuts at once (a CreateBackup beside an
//! export) each get one instant.
//!
//! **Fences.** DeleteTable of a table with point-in-time recovery cuts its
//! SYSTEM backup and opens the gates *fencing* the table: from that
//! instant on no write to it is applied on any shard (`commit_with`
//! refuses it as if the table were gone, the transaction coordinator
//! aborts before its decision), so the backup holds every write that was
//! ever acknowledged. A fence is lifted if the deletion fails, and
//! forgotten once its table is gone from the catalog.

use std::cell::{Cell, RefCell};

use crate::engine::sync::WaitList;

#[derive(Default)]
pub struct Cut {
    /// Closes not yet matched by an open.
    closed: Cell<u32>,
    /// Table ids whose final backup was cut (few: one per table being
    /// deleted, pruned as tables go).
    fenced: RefCell<Vec<u32>>,
    /// Transactions coordinated here whose decision is being written or
    /// applied.
    deciding: Cell<u32>,
    changed: WaitList,
}

/// Held by a transaction coordinator from writing its commit decision
/// until every participant applied it.
pub struct DecisionPermit<'a> {
    cut: &'a Cut,
}

impl Drop for DecisionPermit<'_> {
    fn drop(&mut self) {
        self.cut.deciding.set(self.cut.deciding.get() - 1);
        self.cut.changed.wake_all();
    }
}

impl Cut {
    pub fn is_closed(&self) -> bool {
        self.closed.get() > 0
    }

    /// Completes once the gate is open.
    pub async fn wait_open(&self) {
        self.changed.wait_until(|| !self.is_closed()).await;
    }

    /// A permit to decide a transaction (waits while the gate is closed).
    pub async fn decision(&self) -> DecisionPermit<'_> {
        self.wait_open().await;
        self.deciding.set(self.deciding.get() + 1);
        DecisionPermit { cut: self }
    }

    /// Closes the gate and waits until no decision is in flight here.
    /// The caller bounds the wait and calls [`Cut::open`] on every path.
    pub async fn close(&self) {
        self.closed.set(self.closed.get() + 1);
        self.changed.wake_all();
        self.changed.wait_until(|| self.deciding.get() == 0).await;
    }

    /// Matches one [`Cut::close`].
    pub fn open(&self) {
        self.closed.set(self.closed.get().saturating_sub(1));
        self.changed.wake_all();
    }

    /// Fences `table` (keeping only the fences of tables for which
    /// `exists`, so the list never outgrows the catalog), then opens: no
    /// write to it applies after this cut.
    pub fn open_fencing(&self, table: u32, exists: impl Fn(u32) -> bool) {
        let mut fenced = self.fenced.borrow_mut();
        fenced.retain(|t| *t != table && exists(*t));
        fenced.push(table);
        drop(fenced);
        self.open();
    }

    /// Lifts `table`'s fence (its deletion failed after the cut).
    pub fn unfence(&self, table: u32) {
        self.fenced.borrow_mut().retain(|t| *t != table);
    }

    pub fn is_fenced(&self, table: u32) -> bool {
        self.fenced.borrow().contains(&table)
    }

    /// Whether any of `storage` keys (base keys, table id first) is of a
    /// fenced table.
    pub fn fences_any<'k>(&self, mut storage: impl Iterator<Item = &'k [u8]>) -> bool {
        let fenced = self.fenced.borrow();
        !fenced.is_empty()
            && storage.any(|key| {
                key.get(..4)
                    .and_then(|id| id.try_into().ok())
                    .is_some_and(|id| fenced.contains(&u32::from_be_bytes(id)))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_gate_waits_for_decisions_and_blocks_new_ones() {
        let cut = Cut::default();
        futures_lite::future::block_on(async {
            let permit = cut.decision().await;
            let mut close = Box::pin(cut.close());
            assert!(futures_lite::future::poll_once(&mut close).await.is_none());
            assert!(cut.is_closed());
            drop(permit);
            assert!(futures_lite::future::poll_once(&mut close).await.is_some());
            let mut next = Box::pin(cut.decision());
            assert!(futures_lite::future::poll_once(&mut next).await.is_none());
            cut.open();
            assert!(futures_lite::future::poll_once(&mut next).await.is_some());
        });
    }

    #[test]
    fn gates_nest() {
        let cut = Cut::default();
        futures_lite::future::block_on(async {
            cut.close().await;
            cut.close().await;
            cut.open();
            assert!(cut.is_closed(), "one close is still unmatched");
            cut.open();
            assert!(!cut.is_closed());
            cut.open();
            assert!(!cut.is_closed(), "an extra open never underflows");
        });
    }

    #[test]
    fn fences_refuse_their_tables_until_lifted_or_gone() {
        let cut = Cut::default();
        let key = |id: u32| [id.to_be_bytes().as_slice(), b"item"].concat();
        futures_lite::future::block_on(cut.close());
        cut.open_fencing(7, |_| true);
        assert!(!cut.is_closed());
        assert!(cut.fences_any([key(7).as_slice()].into_iter()));
        assert!(!cut.fences_any([key(8).as_slice(), b"\0".as_slice()].into_iter()));
        futures_lite::future::block_on(cut.close());
        cut.open_fencing(9, |id| id != 7);
        assert!(!cut.is_fenced(7), "table 7 is gone: its fence is forgotten");
        assert!(cut.is_fenced(9));
        cut.unfence(9);
        assert!(!cut.fences_any([key(9).as_slice()].into_iter()));
    }
}
