//! One shard's transaction state (plain data; the protocol that drives it
//! is `api::txn`):
//! - as a **participant**: the transactions prepared here (their writes and
//!   the key locks they hold until the decision) and the *intents*, the keys
//!   a transaction holds, so a single-item write to one fails at once with
//!   TransactionConflictException instead of queueing behind it;
//! - as a **coordinator**: the transactions whose commit decision is durable
//!   here (decision records not yet cleaned up) and those still deciding,
//!   so a participant recovering a prepared transaction learns its outcome;
//! - the **ClientRequestToken** table of the tokens this shard owns;
//! - the key locks TransactGetItems holds across its two rounds.
//!
//! Nothing here awaits except [`Txns::wait_ready`].

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::time::Duration;

use ahash::{AHashMap, AHashSet};

use super::locks::KeyGuard;
pub use crate::api::messages::TxnId;
use crate::engine::sync::WaitList;
use crate::model::Item;

/// One base-item write a prepared transaction will make (the fields of
/// `write::BaseWrite`, which this layer cannot name).
#[derive(Clone, Debug)]
pub struct PreparedWrite {
    pub storage: Vec<u8>,
    pub old: Option<Item>,
    pub old_known: bool,
    pub new: Option<Item>,
    pub value: Option<Vec<u8>>,
}

/// A transaction prepared on this shard: durable prepare record, key locks
/// held until the coordinator's decision arrives.
pub struct Prepared {
    pub writes: Vec<PreparedWrite>,
    /// Every item locked (and marked as an intent), written or only checked.
    pub keys: Vec<Vec<u8>>,
    pub guards: Vec<KeyGuard>,
}

/// A ClientRequestToken's state on its owning shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenState {
    /// The first request with this token is running.
    InProgress,
    /// It committed at `completed_ms`: repeats within the window return success.
    Committed { completed_ms: u64 },
}

#[derive(Clone, Copy, Debug)]
pub struct TokenEntry {
    /// Hash of the request's parameters (everything but the token).
    pub params: u128,
    pub state: TokenState,
}

/// Tokens in completion order, bounded by count and age.
#[derive(Default)]
pub struct Tokens {
    entries: AHashMap<String, TokenEntry>,
    /// (completed_ms, token) of committed tokens, oldest first.
    order: VecDeque<(u64, String)>,
}

impl Tokens {
    /// The live entry of `token` (a committed one younger than `window_ms`).
    pub fn get(&self, token: &str, now_ms: u64, window_ms: u64) -> Option<TokenEntry> {
        let entry = *self.entries.get(token)?;
        match entry.state {
            TokenState::Committed { completed_ms }
                if now_ms.saturating_sub(completed_ms) >= window_ms =>
            {
                None
            }
            _ => Some(entry),
        }
    }

    pub fn begin(&mut self, token: &str, params: u128) {
        self.entries.insert(
            token.to_string(),
            TokenEntry {
                params,
                state: TokenState::InProgress,
            },
        );
    }

    /// The first request failed: the token is free again.
    pub fn abandon(&mut self, token: &str) {
        if let Some(e) = self.entries.get(token)
            && e.state == TokenState::InProgress
        {
            self.entries.remove(token);
        }
    }

    pub fn committed(&mut self, token: &str, params: u128, completed_ms: u64) {
        self.entries.insert(
            token.to_string(),
            TokenEntry {
                params,
                state: TokenState::Committed { completed_ms },
            },
        );
        self.order.push_back((completed_ms, token.to_string()));
    }

    /// Drops committed tokens older than `window_ms`, and the oldest ones
    /// past `max`; returns them (their records are to be deleted).
    pub fn expire(&mut self, now_ms: u64, window_ms: u64, max: usize) -> Vec<String> {
        let mut gone = Vec::new();
        while let Some((completed, _)) = self.order.front() {
            let old = now_ms.saturating_sub(*completed) >= window_ms;
            if !old && self.order.len() <= max {
                break;
            }
            let Some((completed, token)) = self.order.pop_front() else {
                break;
            };
            // A token committed again later has a newer entry: keep it.
            if let Some(TokenEntry {
                state: TokenState::Committed { completed_ms },
                ..
            }) = self.entries.get(&token)
                && *completed_ms == completed
            {
                self.entries.remove(&token);
                gone.push(token);
            }
        }
        gone
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// Counters for `/dynacore/metrics`.
#[derive(Default)]
pub struct TxnCounters {
    pub committed: Cell<u64>,
    pub cancelled: Cell<u64>,
    pub conflicts: Cell<u64>,
    pub single_shard: Cell<u64>,
    pub recovered: Cell<u64>,
}

fn bump(c: &Cell<u64>) {
    c.set(c.get() + 1);
}

pub struct Txns {
    /// How long a transaction waits for an item lock before it is cancelled
    /// (TransactionConflict): bounds every wait, so no cycle of waits
    /// between transactions lasts.
    pub lock_wait: Duration,
    /// ClientRequestTokens a shard remembers (oldest dropped first).
    pub tokens_max: usize,
    /// How long a token is remembered after its transaction committed.
    pub token_window_ms: u64,
    prepared: RefCell<AHashMap<TxnId, Prepared>>,
    intents: RefCell<AHashMap<Vec<u8>, TxnId>>,
    decided: RefCell<AHashSet<u64>>,
    active: RefCell<AHashSet<u64>>,
    next_seq: Cell<u64>,
    next_read: Cell<u64>,
    ready: Cell<bool>,
    changed: WaitList,
    reads: RefCell<AHashMap<u64, Vec<KeyGuard>>>,
    pub tokens: RefCell<Tokens>,
    pub counters: TxnCounters,
}

impl Default for Txns {
    fn default() -> Self {
        Txns::new(Duration::from_millis(100), 100_000)
    }
}

impl Txns {
    pub fn new(lock_wait: Duration, tokens_max: usize) -> Txns {
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_micros() as u64);
        Txns {
            lock_wait,
            tokens_max: tokens_max.max(1),
            token_window_ms: 10 * 60 * 1000,
            prepared: Default::default(),
            intents: Default::default(),
            decided: Default::default(),
            active: Default::default(),
            // Transaction numbers start at the clock (µs), so a restarted
            // coordinator never reuses the number of a transaction a
            // participant still has prepared.
            next_seq: Cell::new(now_us),
            next_read: Cell::new(1),
            ready: Cell::new(false),
            changed: WaitList::default(),
            reads: Default::default(),
            tokens: Default::default(),
            counters: Default::default(),
        }
    }

    /// A new transaction coordinated by shard `coordinator` (this one),
    /// marked active until [`Txns::finish`].
    pub fn begin(&self, coordinator: u32) -> TxnId {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        self.active.borrow_mut().insert(seq);
        TxnId { coordinator, seq }
    }

    /// Continues numbering past a number seen in a record.
    pub fn seen_seq(&self, seq: u64) {
        if seq >= self.next_seq.get() {
            self.next_seq.set(seq + 1);
        }
    }

    pub fn finish(&self, txn: TxnId) {
        self.active.borrow_mut().remove(&txn.seq);
    }

    pub fn is_active(&self, seq: u64) -> bool {
        self.active.borrow().contains(&seq)
    }

    /// The decision record of `seq` is durable (or was found at recovery).
    pub fn decided(&self, seq: u64) {
        self.decided.borrow_mut().insert(seq);
    }

    pub fn is_decided(&self, seq: u64) -> bool {
        self.decided.borrow().contains(&seq)
    }

    pub fn forget_decision(&self, seq: u64) {
        self.decided.borrow_mut().remove(&seq);
    }

    /// Marks `key` held by `txn`; false if another transaction holds it.
    pub fn claim(&self, key: &[u8], txn: TxnId) -> bool {
        let mut intents = self.intents.borrow_mut();
        match intents.get(key) {
            Some(holder) => *holder == txn,
            None => {
                intents.insert(key.to_vec(), txn);
                true
            }
        }
    }

    pub fn release(&self, keys: impl IntoIterator<Item = impl AsRef<[u8]>>, txn: TxnId) {
        let mut intents = self.intents.borrow_mut();
        for key in keys {
            if intents.get(key.as_ref()) == Some(&txn) {
                intents.remove(key.as_ref());
            }
        }
    }

    /// Whether a transaction holds `key` (a single-item write must not
    /// wait for it).
    pub fn has_intent(&self, key: &[u8]) -> bool {
        self.intents.borrow().contains_key(key)
    }

    pub fn intent_count(&self) -> usize {
        self.intents.borrow().len()
    }

    pub fn add_prepared(&self, txn: TxnId, prepared: Prepared) {
        self.prepared.borrow_mut().insert(txn, prepared);
    }

    pub fn take_prepared(&self, txn: TxnId) -> Option<Prepared> {
        self.prepared.borrow_mut().remove(&txn)
    }

    pub fn is_prepared(&self, txn: TxnId) -> bool {
        self.prepared.borrow().contains_key(&txn)
    }

    pub fn prepared_count(&self) -> usize {
        self.prepared.borrow().len()
    }

    /// Key locks a TransactGetItems holds until its second round.
    pub fn hold_read(&self, guards: Vec<KeyGuard>) -> u64 {
        let id = self.next_read.get();
        self.next_read.set(id + 1);
        self.reads.borrow_mut().insert(id, guards);
        id
    }

    pub fn release_read(&self, id: u64) {
        let guards = self.reads.borrow_mut().remove(&id);
        drop(guards);
    }

    /// Recovery has loaded this shard's records: decisions may be answered.
    pub fn set_ready(&self) {
        self.ready.set(true);
        self.changed.wake_all();
    }

    pub async fn wait_ready(&self) {
        self.changed.wait_until(|| self.ready.get()).await;
    }

    pub fn stats(&self) -> crate::api::messages::TxnStats {
        let c = &self.counters;
        crate::api::messages::TxnStats {
            committed: c.committed.get(),
            cancelled: c.cancelled.get(),
            single_shard: c.single_shard.get(),
            conflicts: c.conflicts.get(),
            recovered: c.recovered.get(),
            prepared: self.prepared_count() as u64,
            intents: self.intent_count() as u64,
            tokens: self.tokens.borrow().len() as u64,
        }
    }

    pub fn count_commit(&self) {
        bump(&self.counters.committed);
    }

    pub fn count_cancel(&self) {
        bump(&self.counters.cancelled);
    }

    pub fn count_conflict(&self) {
        bump(&self.counters.conflicts);
    }

    pub fn count_single_shard(&self) {
        bump(&self.counters.single_shard);
    }

    pub fn count_recovered(&self) {
        bump(&self.counters.recovered);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_by_age_and_count() {
        let mut tokens = Tokens::default();
        tokens.begin("a", 1);
        assert_eq!(
            tokens.get("a", 0, 100).map(|e| e.state),
            Some(TokenState::InProgress)
        );
        tokens.committed("a", 1, 10);
        tokens.committed("b", 2, 20);
        tokens.committed("c", 3, 30);
        assert!(tokens.get("a", 109, 100).is_some());
        assert!(tokens.get("a", 110, 100).is_none());
        assert_eq!(tokens.expire(115, 100, 10), vec!["a".to_string()]);
        assert_eq!(tokens.expire(115, 100, 1), vec!["b".to_string()]);
        assert_eq!(tokens.len(), 1);
        tokens.begin("d", 4);
        tokens.abandon("d");
        assert!(tokens.get("d", 0, 100).is_none());
    }

    #[test]
    fn intents_belong_to_one_transaction() {
        let txns = Txns::default();
        let t1 = txns.begin(0);
        let t2 = txns.begin(0);
        assert!(t2.seq > t1.seq);
        assert!(txns.claim(b"k", t1));
        assert!(txns.claim(b"k", t1));
        assert!(!txns.claim(b"k", t2));
        txns.release([b"k"], t2);
        assert!(txns.has_intent(b"k"));
        txns.release([b"k"], t1);
        assert!(!txns.has_intent(b"k"));
    }
}
