//! Retention: a background task per shard deletes the stream records older
//! than `stream_retention_ms`, and every record of a stream the catalog no
//! longer has (its table was deleted, or the stream was disabled longer
//! than the retention ago). This is what bounds the disk streams use.
//!
//! Each pass walks the streams present in this shard's store by their key
//! prefixes (one seek per stream, whatever the catalog says), and deletes
//! each stream's oldest records in key order until the first one young
//! enough to keep: records of one shard are in log order, so their times
//! only grow (up to clock steps, which delay trimming a little, never lose
//! a young record). Deletes are plain engine writes of system keys (no
//! durability wait: a crash before they sync only trims again).
//! Runs in the background task queue, a bounded batch per write, yielding
//! between batches.

use std::ops::Bound;
use std::rc::Rc;

use crate::api::messages::as_ref_bound;
use crate::api::protocol::error::ApiError;
use crate::api::shard::Shard;
use crate::engine::WriteBatch;
use crate::model::key::prefix_end;

use super::record::decode;
use super::{STREAM_KEY_PREFIX_LEN, STREAM_PREFIX, find, now_ms, parse_record_key};

/// Records deleted per engine batch.
const TRIM_BATCH_MAX: usize = 256;

pub fn start(shard: &Rc<Shard>) {
    let services = shard.services.clone();
    let shard = shard.clone();
    let task = async move {
        let interval = std::time::Duration::from_millis(shard.settings.streams.trim_interval_ms);
        loop {
            shard.services.sleep(interval).await;
            if shard.store.poisoned().is_some() {
                continue;
            }
            if let Err(e) = trim_pass(&shard).await {
                tracing::warn!(shard = shard.id, error = %e, "stream trim pass failed");
            }
        }
    };
    services.spawn_background(Box::pin(task));
}

/// One pass over every stream stored here; returns the records deleted.
pub async fn trim_pass(shard: &Shard) -> Result<u64, ApiError> {
    let end = prefix_end(&STREAM_PREFIX);
    let mut from = Bound::Included(STREAM_PREFIX.to_vec());
    let mut deleted = 0u64;
    loop {
        let first = shard
            .store
            .scan(as_ref_bound(&from), as_ref_bound(&end), false, 1, 1)
            .await?;
        let Some((key, _)) = first.into_iter().next() else {
            return Ok(deleted);
        };
        let Some((stream, _, _, _)) = parse_record_key(&key) else {
            // Not a record key (cannot happen): step over it.
            from = Bound::Excluded(key);
            continue;
        };
        let prefix = key[..STREAM_KEY_PREFIX_LEN].to_vec();
        deleted += trim_stream(shard, stream, &prefix).await?;
        from = prefix_end(&prefix);
        if matches!(from, Bound::Unbounded) {
            return Ok(deleted);
        }
    }
}

async fn trim_stream(shard: &Shard, stream: (u32, u64), prefix: &[u8]) -> Result<u64, ApiError> {
    let end = prefix_end(prefix);
    let mut deleted = 0u64;
    loop {
        let now = now_ms();
        let horizon = now.saturating_sub(shard.settings.streams.retention_ms);
        // Every record of a stream no longer readable goes.
        let gone = find(&shard.catalog(), stream, shard, now).is_none();
        let page = shard
            .store
            .scan(
                Bound::Included(prefix),
                as_ref_bound(&end),
                false,
                TRIM_BATCH_MAX,
                1 << 20,
            )
            .await?;
        let mut batch: WriteBatch = Vec::new();
        let mut last = None;
        let mut young = false;
        for (key, value) in page.iter() {
            let old = gone || decode(value).is_ok_and(|r| r.created_ms < horizon);
            if !old {
                young = true;
                break;
            }
            if let Some((_, epoch, seq, index)) = parse_record_key(key) {
                last = Some((epoch, (seq, index)));
            }
            batch.push((key.clone(), None));
        }
        if batch.is_empty() {
            return Ok(deleted);
        }
        let count = batch.len() as u64;
        // Not awaited: a crash before these deletes sync trims them again.
        drop(shard.store.write(batch)?);
        deleted += count;
        if let Some((epoch, position)) = last {
            shard
                .streams
                .trimmed_through(stream, epoch, position, count);
        }
        if young || page.len() < TRIM_BATCH_MAX {
            return Ok(deleted);
        }
        // Let requests run between batches.
        shard.services.sleep(std::time::Duration::ZERO).await;
    }
}
