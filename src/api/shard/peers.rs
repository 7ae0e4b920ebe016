//! Calls to other shards (and to this one) through the [`Services`] seam:
//! the only way a handler reaches another shard's store or catalog.
//!
//! A call to this shard itself is served in place through
//! [`Shard::inbound`] rather than sent over the mesh.
//!
//! [`Services`]: super::Services

use std::rc::Rc;

use super::Shard;
use crate::api::messages::{MeshReply, MeshRequest, ShardStats, WriteReport, unexpected};
use crate::api::protocol::error::ApiError;
use crate::engine::WriteBatch;

/// Sends `request` to `to`, or serves it here when `to` is this shard.
pub async fn call_or_local(
    shard: &Rc<Shard>,
    to: u32,
    request: MeshRequest,
) -> Result<MeshReply, ApiError> {
    if to == shard.id {
        Ok((shard.inbound)(shard.clone(), request).await)
    } else {
        shard.services.call(to, request).await
    }
}

/// Reads one key on its owning shard: a local call, or a storage-level
/// mesh request. Forwarding the read (not the whole request) keeps JSON
/// parsing and response encoding on the shard that holds the connection.
pub async fn get_on_owner(
    shard: &Rc<Shard>,
    owner: u32,
    key: &[u8],
) -> Result<Option<Vec<u8>>, ApiError> {
    if owner == shard.id {
        return Ok(shard.store.get(key).await?);
    }
    match shard
        .services
        .call(
            owner,
            MeshRequest::Get {
                keys: vec![key.to_vec()],
            },
        )
        .await?
    {
        MeshReply::Values(values) => Ok(values?.into_iter().next().flatten()),
        other => Err(unexpected(&other)),
    }
}

/// Applies a blind write batch on its owning shard (under the key locks)
/// and returns once it is durable.
pub async fn write_on_owner(
    shard: &Rc<Shard>,
    owner: u32,
    batch: WriteBatch,
    measure: bool,
) -> Result<WriteReport, ApiError> {
    match call_or_local(shard, owner, MeshRequest::Write { batch, measure }).await? {
        MeshReply::Written(result) => {
            // A wait on another shard is this request's sync phase too (a
            // local one was counted where it happened).
            if owner != shard.id
                && let Ok(report) = &result
            {
                super::scope::add_sync_us(report.sync_us);
            }
            result
        }
        other => Err(unexpected(&other)),
    }
}

/// The prefix the metrics endpoints ask stats for: no table has id
/// 0xFFFFFFFF, so it counts nothing, and it asks for the full figures
/// (request metrics, capacity, engine) that other callers do not need.
pub const METRICS_PREFIX: [u8; 4] = [0xFF; 4];

/// Stats from every shard, in shard order.
pub async fn all_stats(shard: &Rc<Shard>, prefix: &[u8]) -> Result<Vec<ShardStats>, ApiError> {
    let mut out = Vec::with_capacity(shard.map.shard_count() as usize);
    for to in 0..shard.map.shard_count() {
        match call_or_local(
            shard,
            to,
            MeshRequest::Stats {
                prefix: prefix.to_vec(),
            },
        )
        .await?
        {
            MeshReply::Stats(stats) => out.push(stats),
            other => return Err(unexpected(&other)),
        }
    }
    Ok(out)
}

/// This shard's counts under `prefix` and its counters.
pub fn local_stats(shard: &Shard, prefix: &[u8]) -> ShardStats {
    ShardStats {
        prefix: shard.store.prefix_stats(prefix),
        requests: shard.counters.requests.get(),
        forwarded_out: shard.counters.forwarded_out.get(),
        forwarded_in: shard.counters.forwarded_in.get(),
        errors: shard.counters.errors.get(),
        outbox: shard.outbox.stats(),
        backfill_items: shard.backfills.items.get(),
        backfill_items_per_s: shard.backfills.last_rate_items_per_s.get(),
        ttl_deleted_total: shard.expiry.deleted_total.get(),
        ttl_backlog_items: shard.expiry.backlog_items.get(),
        ttl_scan_passes_total: shard.expiry.scan_passes_total.get(),
        ttl_last_scan_ms: shard.expiry.last_scan_ms.get(),
        write_phases: Box::new(shard.store.write_phases()),
        transactions: shard.txns.stats(),
        stream_records_written: shard.streams.records_written.get(),
        stream_records_trimmed: shard.streams.records_trimmed.get(),
        pitr_records_written: shard.pitr.records_written.get(),
        pitr_bytes_written: shard.pitr.bytes_written.get(),
        pitr_records_trimmed: shard.pitr.records_trimmed.get(),
        pitr_base_bytes: shard.backups.bases.borrow().values().map(|b| b.bytes).sum(),
        ..if prefix == METRICS_PREFIX {
            ShardStats {
                requests_by_operation: Box::new(shard.metrics.snapshot()),
                capacity: shard.meter.usage(),
                engine: Box::new(shard.store.stats()),
                ..ShardStats::default()
            }
        } else {
            ShardStats::default()
        }
    }
}
