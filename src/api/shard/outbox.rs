//! The GSI outbox: index changes a base shard owes to index shards — the
//! record format and the shard's in-memory outbox state. The replicator
//! that delivers the records is `index::replicate`.
//!
//! A base write that changes GSI entries adds one outbox record to its own
//! engine batch, so the record is durable exactly when the base write is.
//! A replicator task per shard delivers records in sequence order: it waits
//! until they are durable here (a crash could otherwise take back a base
//! write whose index entry was already delivered: a phantom), applies their
//! operations on each index shard (which replies once they are durable
//! there), then deletes the records. A crash before the delete replays the
//! records after restart; operations are whole-entry puts and deletes
//! applied in order, so a replay converges on the same state.
//!
//! Every index entry key embeds its base item's primary key, and a base key
//! has one owning shard, so each index entry is written by exactly one
//! replicator, in that shard's order: no two shards race on an entry.
//!
//! ```text
//! record key   := 00 00 00 00 ‖ 'O' ‖ seq:u64 BE
//! record value := version:u8 (1) ‖ created_ms:u64 LE ‖ count:u32 LE ‖ op*
//! op           := key_len:u32 LE ‖ key ‖ kind:u8 (0 delete, 1 put)
//!                 ‖ (value_len:u32 LE ‖ value)?      (put only)
//! ```
//! The destination of an op is the owner of the hash in its key's bytes
//! 4..12 (see `keys`). Table id 0 is never allocated, so the `00 00 00 00`
//! system prefix cannot collide with table or index data.

use std::cell::{Cell, RefCell};
use std::ops::Bound;

use hdrhistogram::Histogram;

use crate::api::messages::{OutboxStats, as_ref_bound};
use crate::api::protocol::error::ApiError;
use crate::engine::Store;
use crate::engine::sync::WaitList;
use crate::model::key::prefix_end;

/// Prefix of every outbox record.
pub const OUTBOX_PREFIX: [u8; 5] = [0, 0, 0, 0, b'O'];
/// Prefix of quarantined records (see `index::replicate`): same seq, same
/// value, moved out of the outbox in one engine batch.
pub const QUARANTINE_PREFIX: [u8; 5] = [0, 0, 0, 0, b'Q'];
const RECORD_VERSION: u8 = 1;

/// One index operation: put `value` at `key`, or delete `key`.
pub type IndexOp = (Vec<u8>, Option<Vec<u8>>);

pub fn record_key(seq: u64) -> Vec<u8> {
    let mut key = OUTBOX_PREFIX.to_vec();
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

pub fn quarantine_key(seq: u64) -> Vec<u8> {
    let mut key = QUARANTINE_PREFIX.to_vec();
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

pub fn record_seq(key: &[u8]) -> Option<u64> {
    let bytes = key.strip_prefix(&OUTBOX_PREFIX[..])?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

pub fn encode_record(created_ms: u64, ops: &[IndexOp]) -> Vec<u8> {
    let size: usize = ops
        .iter()
        .map(|(k, v)| 9 + k.len() + v.as_ref().map_or(0, Vec::len))
        .sum();
    let mut out = Vec::with_capacity(13 + size);
    out.push(RECORD_VERSION);
    out.extend_from_slice(&created_ms.to_le_bytes());
    out.extend_from_slice(&(ops.len() as u32).to_le_bytes());
    for (key, value) in ops {
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key);
        match value {
            None => out.push(0),
            Some(value) => {
                out.push(1);
                out.extend_from_slice(&(value.len() as u32).to_le_bytes());
                out.extend_from_slice(value);
            }
        }
    }
    out
}

/// Decodes a record into (created_ms, ops); None if it is malformed.
pub fn decode_record(bytes: &[u8]) -> Option<(u64, Vec<IndexOp>)> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if bytes.len() < n {
            return None;
        }
        let (head, rest) = bytes.split_at(n);
        *bytes = rest;
        Some(head)
    }
    fn u32_le(bytes: &mut &[u8]) -> Option<usize> {
        Some(u32::from_le_bytes(take(bytes, 4)?.try_into().ok()?) as usize)
    }
    let mut rest = bytes;
    if take(&mut rest, 1)? != [RECORD_VERSION] {
        return None;
    }
    let created_ms = u64::from_le_bytes(take(&mut rest, 8)?.try_into().ok()?);
    let count = u32_le(&mut rest)?;
    let mut ops = Vec::with_capacity(count.min(rest.len() / 9));
    for _ in 0..count {
        let key_len = u32_le(&mut rest)?;
        let key = take(&mut rest, key_len)?.to_vec();
        let value = match take(&mut rest, 1)? {
            [0] => None,
            [1] => {
                let len = u32_le(&mut rest)?;
                Some(take(&mut rest, len)?.to_vec())
            }
            _ => return None,
        };
        ops.push((key, value));
    }
    rest.is_empty().then_some((created_ms, ops))
}

/// The placement hash embedded in an index entry key.
pub fn entry_hash(key: &[u8]) -> u64 {
    key.get(4..12)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A shard's outbox state; the records themselves live in the store.
pub struct Outbox {
    /// Sequence of the next record (records are numbered from 1).
    next_seq: Cell<u64>,
    /// Every record up to this one has been delivered (and deleted).
    delivered_seq: Cell<u64>,
    /// Wakes the replicator (new records) and backpressured writers
    /// (records delivered).
    changed: WaitList,
    records_max: u64,
    /// Base write applied → index entry durable on its shard, in ms.
    lag_ms: RefCell<Histogram<u64>>,
    delivered_ops: Cell<u64>,
    failures: Cell<u64>,
    /// Records under the quarantine prefix (recounted at recovery).
    quarantined: Cell<u64>,
    running: Cell<bool>,
}

impl Outbox {
    pub fn new(records_max: u64) -> Outbox {
        Outbox {
            next_seq: Cell::new(1),
            delivered_seq: Cell::new(0),
            changed: WaitList::default(),
            records_max: records_max.max(1),
            // 1 ms .. 1 h at 3 significant digits; cannot fail for these bounds.
            lag_ms: RefCell::new(
                Histogram::new_with_bounds(1, 3_600_000, 3)
                    .unwrap_or_else(|_| Histogram::new(3).expect("3 sigfigs is valid")),
            ),
            delivered_ops: Cell::new(0),
            failures: Cell::new(0),
            quarantined: Cell::new(0),
            running: Cell::new(false),
        }
    }

    /// Finds the records a previous run left (they are all durable: they
    /// were recovered from the log) and continues their numbering.
    pub async fn recover(&self, store: &Store) -> Result<(), ApiError> {
        let lower = OUTBOX_PREFIX.to_vec();
        let upper = prefix_end(&OUTBOX_PREFIX);
        let first = store
            .scan(Bound::Included(&lower), as_ref_bound(&upper), false, 1, 1)
            .await?;
        let last = store
            .scan(Bound::Included(&lower), as_ref_bound(&upper), true, 1, 1)
            .await?;
        if let (Some((first, _)), Some((last, _))) = (first.first(), last.first()) {
            let (first, last) = (
                record_seq(first).unwrap_or(1),
                record_seq(last).unwrap_or(0),
            );
            self.delivered_seq.set(first.saturating_sub(1));
            self.next_seq.set(last + 1);
        }
        self.recover_quarantine(store).await
    }

    /// Counts quarantined records and continues numbering past them too, so
    /// a re-quarantine after a crash cannot collide with a new record.
    async fn recover_quarantine(&self, store: &Store) -> Result<(), ApiError> {
        let upper = prefix_end(&QUARANTINE_PREFIX);
        let mut from = Bound::Included(QUARANTINE_PREFIX.to_vec());
        let mut count = 0u64;
        loop {
            let page = store
                .scan(
                    as_ref_bound(&from),
                    as_ref_bound(&upper),
                    false,
                    1024,
                    1 << 20,
                )
                .await?;
            let Some((last, _)) = page.last() else { break };
            count += page.len() as u64;
            if let Some(seq) = last
                .strip_prefix(&QUARANTINE_PREFIX[..])
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
            {
                self.next_seq.set(self.next_seq.get().max(seq + 1));
            }
            from = Bound::Excluded(last.clone());
        }
        self.quarantined.set(count);
        Ok(())
    }

    /// Takes the next record sequence number. Call it in the same
    /// synchronous section as the `Store::write` of the record, so record
    /// order is log order.
    pub fn take_seq(&self) -> u64 {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        seq
    }

    /// A record was written: wake the replicator.
    pub fn notify(&self) {
        self.changed.wake_all();
    }

    pub fn pending(&self) -> u64 {
        self.next_seq.get() - 1 - self.delivered_seq.get()
    }

    /// Waits while the backlog exceeds its bound (write acknowledgements
    /// call this: backpressure, never an error).
    pub async fn wait_for_room(&self) {
        if self.pending() <= self.records_max {
            return;
        }
        self.changed
            .wait_until(|| self.pending() <= self.records_max)
            .await;
    }

    /// Whether the backlog is over its bound.
    pub fn full(&self) -> bool {
        self.pending() > self.records_max
    }

    /// Waits for the backlog to drop to its bound, at most until `timeout`
    /// completes; returns whether there is room.
    pub async fn wait_for_room_within(&self, timeout: impl Future<Output = ()>) -> bool {
        if !self.full() {
            return true;
        }
        let room = async {
            self.changed.wait_until(|| !self.full()).await;
            true
        };
        let expired = async {
            timeout.await;
            false
        };
        futures_lite::future::or(room, expired).await
    }

    /// Waits until every record numbered up to `seq` has been delivered.
    pub async fn wait_delivered(&self, seq: u64) {
        self.changed
            .wait_until(|| self.delivered_seq.get() >= seq)
            .await;
    }

    /// The highest sequence number handed out so far.
    pub fn last_seq(&self) -> u64 {
        self.next_seq.get() - 1
    }

    /// Marks the replicator as running; false if it already was.
    pub fn claim_replicator(&self) -> bool {
        !self.running.replace(true)
    }

    /// Every record up to this one has been delivered.
    pub fn delivered_seq(&self) -> u64 {
        self.delivered_seq.get()
    }

    /// Waits until some record is undelivered.
    pub async fn wait_for_records(&self) {
        self.changed
            .wait_until(|| self.last_seq() > self.delivered_seq.get())
            .await;
    }

    /// A delivery round failed (it is retried).
    /// Counts records moved to the quarantine prefix.
    pub fn record_quarantined(&self, records: u64) {
        self.quarantined.set(self.quarantined.get() + records);
    }

    pub fn record_failure(&self) {
        self.failures.set(self.failures.get() + 1);
    }

    /// Records up to `seq` are delivered and deleted: `ops` operations of
    /// records created at `created_ms` (for the lag histogram).
    pub fn mark_delivered(&self, seq: u64, ops: u64, created_ms: &[u64], now_ms: u64) {
        self.delivered_seq.set(seq);
        self.delivered_ops.set(self.delivered_ops.get() + ops);
        let mut lag = self.lag_ms.borrow_mut();
        for created in created_ms {
            let _ = lag.record(now_ms.saturating_sub(*created).max(1));
        }
        drop(lag);
        self.changed.wake_all();
    }

    pub fn stats(&self) -> OutboxStats {
        let lag = self.lag_ms.borrow();
        let samples = lag.len();
        let at = |q: f64| {
            if samples == 0 {
                0
            } else {
                lag.value_at_quantile(q)
            }
        };
        OutboxStats {
            pending_records: self.pending(),
            delivered_ops: self.delivered_ops.get(),
            delivery_failures: self.failures.get(),
            quarantined_records: self.quarantined.get(),
            lag_ms_p50: at(0.5),
            lag_ms_p99: at(0.99),
            lag_ms_max: if samples == 0 { 0 } else { lag.max() },
            lag_samples: samples,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_reject_damage() {
        let ops: Vec<IndexOp> = vec![
            (b"k1".to_vec(), Some(b"v1".to_vec())),
            (b"k2".to_vec(), None),
            (Vec::new(), Some(Vec::new())),
        ];
        let bytes = encode_record(42, &ops);
        assert_eq!(decode_record(&bytes), Some((42, ops.clone())));
        for cut in 0..bytes.len() {
            assert_eq!(decode_record(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode_record(&longer), None);
        let mut bad_kind = encode_record(1, &[(b"k".to_vec(), None)]);
        let last = bad_kind.len() - 1;
        bad_kind[last] = 7;
        assert_eq!(decode_record(&bad_kind), None);
    }

    #[test]
    fn record_keys_sort_by_sequence() {
        assert!(record_key(1) < record_key(2));
        assert!(record_key(255) < record_key(256));
        assert_eq!(record_seq(&record_key(77)), Some(77));
        assert_eq!(record_seq(b"\0\0\0\0Ox"), None);
    }
}
