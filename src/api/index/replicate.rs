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

use std::collections::BTreeMap;
use std::ops::Bound;
use std::rc::Rc;
use std::time::Duration;

use crate::api::messages::{MeshReply, MeshRequest, unexpected};
use crate::api::protocol::error::ApiError;
use crate::api::shard::Shard;
use crate::api::shard::outbox::{decode_record, entry_hash, now_ms, record_key, record_seq};
use crate::api::shard::peers::call_or_local;
use crate::engine::WriteBatch;

/// Records delivered per round (each round is one mesh request per
/// destination shard and one delete batch here).
const RECORDS_PER_ROUND: usize = 256;
/// Bytes of records read per round (they hold projected items, ≤ 400 KB
/// each, up to 20 GSIs × 2 operations per record).
const BYTES_PER_ROUND: usize = 4 << 20;
/// Back-off after a failed delivery (a poisoned or stopping index shard).
const RETRY_DELAY: Duration = Duration::from_millis(100);

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
    loop {
        outbox.wait_for_records().await;
        if let Err(e) = deliver_round(&shard).await {
            outbox.record_failure();
            tracing::warn!(shard = shard.id, error = %e, "index delivery failed; retrying");
            shard.services.sleep(RETRY_DELAY).await;
        }
    }
}

/// Delivers up to one round of records; Ok once they are applied on their
/// index shards and deleted here.
async fn deliver_round(shard: &Rc<Shard>) -> Result<(), ApiError> {
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
            RECORDS_PER_ROUND,
            BYTES_PER_ROUND,
        )
        .await?;
    let Some(last) = records.last().and_then(|(k, _)| record_seq(k)) else {
        // Sequence numbers taken by writes that then failed leave gaps.
        outbox.mark_delivered(upto, 0, &[], now_ms());
        return Ok(());
    };
    let (by_owner, created) = group_by_owner(shard, &records)?;
    let mut ops = 0u64;
    for (owner, entries) in by_owner {
        let batch: WriteBatch = entries.into_iter().collect();
        ops += batch.len() as u64;
        match call_or_local(shard, owner, MeshRequest::IndexApply { batch }).await? {
            MeshReply::Done(result) => result?,
            other => return Err(unexpected(&other)),
        }
    }
    // If we crash before this delete is durable, the records are delivered
    // again after restart, in order: harmless.
    let deletes: WriteBatch = records.iter().map(|(k, _)| (k.clone(), None)).collect();
    drop(shard.store.write(deletes)?);
    // A round that stopped at neither bound read every record up to `upto`
    // (numbers without a record belong to writes that failed).
    let bytes: usize = records.iter().map(|(k, v)| k.len() + v.len()).sum();
    let read_all = records.len() < RECORDS_PER_ROUND && bytes < BYTES_PER_ROUND;
    let delivered = if read_all { upto } else { last };
    outbox.mark_delivered(delivered, ops, &created, now_ms());
    Ok(())
}

/// Index operations keyed by destination shard (the last operation on a
/// key wins), and each record's creation time.
type ByOwner = BTreeMap<u32, BTreeMap<Vec<u8>, Option<Vec<u8>>>>;

fn group_by_owner(
    shard: &Shard,
    records: &[(Vec<u8>, Vec<u8>)],
) -> Result<(ByOwner, Vec<u64>), ApiError> {
    let mut by_owner = ByOwner::new();
    let mut created = Vec::with_capacity(records.len());
    for (key, value) in records {
        let (created_ms, ops) = decode_record(value).ok_or_else(|| {
            ApiError::internal(format!(
                "malformed outbox record {:?} on shard {}",
                record_seq(key),
                shard.id
            ))
        })?;
        created.push(created_ms);
        for (entry, value) in ops {
            let owner = shard.map.owner(entry_hash(&entry));
            by_owner.entry(owner).or_default().insert(entry, value);
        }
    }
    Ok((by_owner, created))
}

/// Applies delivered index operations on an index shard; Ok once durable.
/// Operations for an index that no longer exists (deleted meanwhile) are
/// dropped, so a late delivery cannot resurrect a dropped index's entries.
pub async fn apply(shard: &Rc<Shard>, batch: WriteBatch) -> Result<(), ApiError> {
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
