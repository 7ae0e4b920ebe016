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

use std::cell::Cell;

use crate::engine::sync::WaitList;

#[derive(Default)]
pub struct Cut {
    closed: Cell<bool>,
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
        self.closed.get()
    }

    /// Completes once the gate is open.
    pub async fn wait_open(&self) {
        self.changed.wait_until(|| !self.closed.get()).await;
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
        self.closed.set(true);
        self.changed.wake_all();
        self.changed.wait_until(|| self.deciding.get() == 0).await;
    }

    pub fn open(&self) {
        self.closed.set(false);
        self.changed.wake_all();
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
}
