//! The GSI replicator: one task per shard delivers the shard's outbox
//! records (`shard::outbox`), in sequence order, to the shards that own
//! their index entries, then deletes them; and [`apply`], the index shard's
//! side of a delivery.
//!
//! Only what is durable on the base shard may leave it (else a crash could
//! take back a base write whose entry was delivered: a phantom), and a
//! record is deleted only once applied durably on its index shards (else a
//! crash could lose it). Replays are idempotent: whole-entry puts and
//! deletes, applied in order.
//!
//! **Failures.** A delivery error is classified by type, never by its
//! message ([`DeliveryError`]): *transient* (I/O, a poisoned, closed or
//! unreachable index shard, a full mesh) is retried with capped exponential
//! back-off, in order, forever — the record must arrive; *rejected* (the
//! record can never be applied: it does not decode, or the engine refuses
//! its batch whatever its state, `EngineError::rejects_input`, e.g. an entry
//! key over the engine's 64 KiB limit) is quarantined so that the records
//! behind it flow. Write-path validation (`index::keys::check_item`) keeps
//! such records from being written at all; quarantine is the backstop that
//! keeps one bad record from stalling a shard's GSI replication for good.
//! Records are checked here before they are sent (the engine's own input
//! checks, `engine::check_batch_input`); a rejection reported by an index
//! shard makes the replicator deliver the next records one at a time so the
//! one that fails is found and quarantined alone.
//!
//! **Quarantine durability.** A quarantined record moves from its outbox
//! key to the same seq under the `Q` prefix, with the same value, in *one*
//! engine batch (one WAL record): after a crash either both happened or
//! neither did. If neither, the record is still in the outbox, is checked
//! again and, the check being deterministic, quarantined again: the move is
//! idempotent. Later deletes of delivered records are later in the log, so
//! once one of them is durable the quarantine is too. A quarantined
//! record's index changes are never applied (its entries may be missing or
//! stale in the index); it stays under `Q` for an operator, is counted at
//! `/dynacore/metrics` (`gsi_outbox_quarantined_records`, recounted from
//! the `Q` prefix at start-up) and logged once, with its seq, reason and
//! entry key, when it is quarantined.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::rc::Rc;
use std::time::Duration;

use crate::api::messages::{DeliveryError, MeshReply, MeshRequest, unexpected};
use crate::api::shard::Shard;
use crate::api::shard::outbox::{
    IndexOp, decode_record, entry_hash, now_ms, quarantine_key, record_key, record_seq,
};
use crate::api::shard::peers::call_or_local;
use crate::engine::{WriteBatch, check_batch_input};

/// Records delivered per round (each round is one mesh request per
/// destination shard and one delete batch here).
const RECORDS_PER_ROUND: usize = 256;
/// Bytes of records read per round (they hold projected items, ≤ 400 KB
/// each, up to 20 GSIs × 2 operations per record).
const BYTES_PER_ROUND: usize = 4 << 20;
/// Back-off after a transient delivery failure (a poisoned or stopping
/// index shard, I/O): doubled per consecutive failure up to the cap, reset
/// by a delivered round. The cap bounds how long a healed index shard waits
/// for its first retry; the floor keeps a flapping peer from being hammered.
const RETRY_DELAY_MIN: Duration = Duration::from_millis(50);
const RETRY_DELAY_MAX: Duration = Duration::from_secs(5);

/// Starts the shard's replicator (once).
pub fn start(shard: &Rc<Shard>) {
    if !shard.outbox.claim_replicator() {
        return;
    }
    let task = replicate(shard.clone());
    shard.services.spawn(Box::pin(task));
}

async fn replicate(shard: Rc<Shard>) {
    let outbox = &shard.outbox;
    let mut delay = RETRY_DELAY_MIN;
    // Rounds left to deliver one record at a time, after an index shard
    // rejected a round: the record that fails alone is the one to
    // quarantine.
    let mut single_rounds = 0usize;
    loop {
        outbox.wait_for_records().await;
        let limit = if single_rounds > 0 {
            1
        } else {
            RECORDS_PER_ROUND
        };
        let failure = match deliver_round(&shard, limit).await {
            Ok(()) => {
                delay = RETRY_DELAY_MIN;
                single_rounds = single_rounds.saturating_sub(1);
                continue;
            }
            Err(DeliveryError::Rejected(why)) if limit > 1 => {
                tracing::warn!(shard = shard.id, reason = %why, "an index shard rejected a delivery; isolating the record");
                single_rounds = RECORDS_PER_ROUND;
                continue;
            }
            // A one-record round was rejected: that record is poison.
            Err(DeliveryError::Rejected(why)) => match quarantine_first(&shard, &why).await {
                Ok(()) => {
                    single_rounds = 0;
                    continue;
                }
                Err(e) => e,
            },
            Err(e) => e,
        };
        outbox.record_failure();
        tracing::warn!(shard = shard.id, error = %failure.message(), retry_in_ms = delay.as_millis() as u64, "index delivery failed; retrying");
        shard.services.sleep(delay).await;
        delay = (delay * 2).min(RETRY_DELAY_MAX);
    }
}

/// Decodes a record to send, or says why it can never be applied, judged
/// here before it is sent: it does not decode, or the engine would refuse
/// one of its entry keys (the reason and the entry key to log).
fn decode_deliverable(value: &[u8]) -> Result<(u64, Vec<IndexOp>), (String, Vec<u8>)> {
    let Some((created_ms, ops)) = decode_record(value) else {
        return Err(("the record does not decode".into(), Vec::new()));
    };
    match check_batch_input(ops.iter().map(|(k, _)| k.as_slice())) {
        Ok(()) => Ok((created_ms, ops)),
        Err(error) => {
            let key = ops
                .iter()
                .map(|(k, _)| k)
                .max_by_key(|k| k.len())
                .cloned()
                .unwrap_or_default();
            Err((error.to_string(), key))
        }
    }
}

/// A key for the log: its length and its first bytes in hex (an entry key
/// may be 64 KiB).
fn key_for_log(key: &[u8]) -> String {
    let head: String = key.iter().take(48).map(|b| format!("{b:02x}")).collect();
    let more = if key.len() > 48 { "…" } else { "" };
    format!("{} bytes {head}{more}", key.len())
}

/// A record to quarantine: its outbox key and value, why, and the entry key
/// to log.
type Poisoned = (Vec<u8>, Vec<u8>, String, Vec<u8>);

/// Moves records from the outbox to the quarantine prefix in one batch (see
/// the module docs for why that is crash-safe) and logs each once.
fn quarantine(shard: &Shard, records: &[Poisoned]) -> Result<(), DeliveryError> {
    if records.is_empty() {
        return Ok(());
    }
    let mut batch: WriteBatch = Vec::with_capacity(records.len() * 2);
    for (key, value, _, _) in records {
        let seq = record_seq(key).unwrap_or(0);
        batch.push((quarantine_key(seq), Some(value.clone())));
        batch.push((key.clone(), None));
    }
    // Durability: not awaited. The next outbox delete is later in the log,
    // and a crash that loses this batch leaves the records in the outbox to
    // be quarantined again.
    drop(shard.store.write(batch)?);
    shard.outbox.record_quarantined(records.len() as u64);
    for (key, _, why, entry) in records {
        tracing::error!(
            shard = shard.id,
            seq = record_seq(key).unwrap_or(0),
            reason = %why,
            entry_key = %key_for_log(entry),
            "GSI outbox record can never be applied; quarantined (its index changes are skipped)"
        );
    }
    Ok(())
}

/// Quarantines the first undelivered record (an index shard rejected it
/// alone).
async fn quarantine_first(shard: &Rc<Shard>, why: &str) -> Result<(), DeliveryError> {
    let outbox = &shard.outbox;
    let lower = record_key(outbox.delivered_seq() + 1);
    let upper = record_key(outbox.last_seq());
    let records = shard
        .store
        .scan(
            Bound::Included(&lower),
            Bound::Included(&upper),
            false,
            1,
            BYTES_PER_ROUND,
        )
        .await?;
    let Some((key, value)) = records.into_iter().next() else {
        return Ok(());
    };
    let entry = decode_record(&value)
        .and_then(|(_, ops)| ops.into_iter().next().map(|(k, _)| k))
        .unwrap_or_default();
    quarantine(shard, &[(key, value, why.to_string(), entry)])
}

/// Delivers up to one round of at most `limit` records; Ok once they are
/// applied on their index shards (or quarantined) and deleted here.
async fn deliver_round(shard: &Rc<Shard>, limit: usize) -> Result<(), DeliveryError> {
    let outbox = &shard.outbox;
    let upto = outbox.last_seq();
    // Only what is durable here may leave: wait for the log to cover every
    // record handed out so far.
    shard.store.durable_marker()?.wait().await?;
    let from = outbox.delivered_seq() + 1;
    let lower = record_key(from);
    let upper = record_key(upto);
    let records = shard
        .store
        .scan(
            Bound::Included(&lower),
            Bound::Included(&upper),
            false,
            limit,
            BYTES_PER_ROUND,
        )
        .await?;
    let Some(last) = records.last().and_then(|(k, _)| record_seq(k)) else {
        // Sequence numbers taken by writes that then failed leave gaps.
        outbox.mark_delivered(upto, 0, &[], now_ms());
        return Ok(());
    };
    // A round that stopped at neither bound read every record up to `upto`
    // (numbers without a record belong to writes that failed).
    let bytes: usize = records.iter().map(|(k, v)| k.len() + v.len()).sum();
    let read_all = records.len() < limit && bytes < BYTES_PER_ROUND;
    // Records that can never be applied leave the outbox first; the rest
    // keep their order. Each record is decoded once.
    let mut poison = Vec::new();
    let mut good = Vec::with_capacity(records.len());
    for (key, value) in records {
        match decode_deliverable(&value) {
            Ok((created_ms, ops)) => good.push((key, created_ms, ops)),
            Err((why, entry)) => poison.push((key, value, why, entry)),
        }
    }
    quarantine(shard, &poison)?;
    let created: Vec<u64> = good.iter().map(|(_, created_ms, _)| *created_ms).collect();
    let mut deletes: WriteBatch = Vec::with_capacity(good.len());
    let mut by_owner = ByOwner::new();
    for (key, _, ops) in good {
        deletes.push((key, None));
        for (entry, value) in ops {
            let owner = shard.map.owner(entry_hash(&entry));
            by_owner.entry(owner).or_default().insert(entry, value);
        }
    }
    let mut ops = 0u64;
    for (owner, entries) in by_owner {
        let batch: WriteBatch = entries.into_iter().collect();
        ops += batch.len() as u64;
        match call_or_local(shard, owner, MeshRequest::IndexApply { batch }).await? {
            MeshReply::Applied(result) => result?,
            other => return Err(unexpected(&other).into()),
        }
    }
    // If we crash before this delete is durable, the records are delivered
    // again after restart, in order: harmless.
    if !deletes.is_empty() {
        drop(shard.store.write(deletes)?);
    }
    let delivered = if read_all { upto } else { last };
    outbox.mark_delivered(delivered, ops, &created, now_ms());
    Ok(())
}

/// Index operations keyed by destination shard (the last operation on a
/// key wins).
type ByOwner = BTreeMap<u32, BTreeMap<Vec<u8>, Option<Vec<u8>>>>;

/// Applies delivered index operations on an index shard; Ok once durable.
/// Operations for an index that no longer exists (deleted meanwhile) are
/// dropped, so a late delivery cannot resurrect a dropped index's entries.
/// The error says whether retrying can help (`DeliveryError`).
pub async fn apply(shard: &Rc<Shard>, batch: WriteBatch) -> Result<(), DeliveryError> {
    let catalog = shard.catalog();
    let batch: WriteBatch = batch
        .into_iter()
        .filter(|(key, _)| {
            key.get(..4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes)
                .is_some_and(|id| catalog.index_by_id(id).is_some())
        })
        .collect();
    if batch.is_empty() {
        return Ok(());
    }
    shard.store.write(batch)?.wait().await?;
    Ok(())
}
