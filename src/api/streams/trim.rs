//! Retention: a background task per shard deletes the stream records older
//! than `stream_retention_ms`, and every record of a stream no longer
//! readable: disabled (by UpdateTable, or by the DeleteTable of its table,
//! whose streams `Catalog::deleted_streams` keeps) longer than the
//! retention ago, or unknown to the catalog. This is what bounds the disk
//! streams use.
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
use super::{
    HORIZON_PREFIX, STREAM_KEY_PREFIX_LEN, STREAM_PREFIX, decode_horizon, encode_horizon, find,
    horizon_key, now_ms, parse_horizon_key, parse_record_key,
};

/// Records deleted per engine batch.
const TRIM_BATCH_MAX: usize = 256;
/// Horizons read per engine call (one per stream this shard trimmed).
const HORIZON_PAGE_MAX: usize = 256;

/// At start-up, before requests are served: loads every trim horizon of
/// this shard into its stream state.
pub async fn open(shard: &Shard) -> Result<(), ApiError> {
    let end = prefix_end(&HORIZON_PREFIX);
    let mut from = Bound::Included(HORIZON_PREFIX.to_vec());
    loop {
        let page = shard
            .store
            .scan(
                as_ref_bound(&from),
                as_ref_bound(&end),
                false,
                HORIZON_PAGE_MAX,
                1 << 20,
            )
            .await?;
        let Some((last, _)) = page.last() else {
            return Ok(());
        };
        from = Bound::Excluded(last.clone());
        for (key, value) in &page {
            if let (Some(stream), Some((epoch, position))) =
                (parse_horizon_key(key), decode_horizon(value))
            {
                shard.streams.load_horizon(stream, epoch, position);
            }
        }
        if page.len() < HORIZON_PAGE_MAX {
            return Ok(());
        }
    }
}

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
    let deleted = trim_records(shard).await?;
    sweep_horizons(shard).await?;
    Ok(deleted)
}

/// Deletes the horizons of streams the catalog no longer has (their
/// records are all gone: a stream with records left is trimmed, horizon
/// included, by [`trim_records`]).
async fn sweep_horizons(shard: &Shard) -> Result<(), ApiError> {
    let end = prefix_end(&HORIZON_PREFIX);
    let mut from = Bound::Included(HORIZON_PREFIX.to_vec());
    loop {
        let page = shard
            .store
            .scan(
                as_ref_bound(&from),
                as_ref_bound(&end),
                false,
                HORIZON_PAGE_MAX,
                1 << 20,
            )
            .await?;
        let Some((last, _)) = page.last() else {
            return Ok(());
        };
        from = Bound::Excluded(last.clone());
        let now = now_ms();
        let catalog = shard.catalog();
        let mut batch: WriteBatch = Vec::new();
        for (key, _) in &page {
            let gone = parse_horizon_key(key)
                .is_none_or(|stream| find(&catalog, stream, shard, now).is_none());
            if gone {
                if let Some(stream) = parse_horizon_key(key) {
                    shard.streams.forget(stream);
                }
                batch.push((key.clone(), None));
            }
        }
        drop(catalog);
        if !batch.is_empty() {
            // Not awaited: a crash before it syncs only sweeps again.
            drop(shard.store.write(batch)?);
        }
        if page.len() < HORIZON_PAGE_MAX {
            return Ok(());
        }
        shard.services.sleep(std::time::Duration::ZERO).await;
    }
}

async fn trim_records(shard: &Shard) -> Result<u64, ApiError> {
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
        // The horizon goes in the same batch as the deletions it records;
        // a stream no longer readable needs none.
        match (gone, last) {
            (true, _) => batch.push((horizon_key(stream), None)),
            (false, Some(through)) => {
                let (epoch, position) = shard
                    .streams
                    .horizon(stream)
                    .map_or(through, |h| h.max(through));
                batch.push((horizon_key(stream), Some(encode_horizon(epoch, position))));
            }
            (false, None) => {}
        }
        // Not awaited: a crash before these deletes sync trims them again.
        drop(shard.store.write(batch)?);
        deleted += count;
        if gone {
            shard.streams.forget(stream);
            shard.streams.count_trimmed(count);
        } else if let Some((epoch, position)) = last {
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
