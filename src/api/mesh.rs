//! Messages between shards and how a shard serves them.
//!
//! Everything here is `Send` (owned bytes, `Arc` snapshots). `Forward`
//! carries a whole request to its owner; every other request is a leaf
//! storage or catalog action whose handler sends no further mesh message,
//! except `Catalog`, which only shard 0 receives and which fans out leaf
//! `InstallCatalog` messages. Hence no cycles and no nested waits. Index
//! replication (`IndexApply`) and backfill reports (`BackfillDone`) are sent
//! by background tasks, never from inside a handler.

use std::ops::Bound;
use std::rc::Rc;
use std::sync::Arc;

use super::error::ApiError;
use super::index::maintain::WriteReport;
use super::index::outbox::OutboxStats;
use super::{Operation, Shard};
use crate::catalog::{Catalog, CatalogCommand, TableDef};
use crate::engine::{PrefixStats, WriteBatch};

pub enum MeshRequest {
    /// A whole client request for the owner of its key.
    Forward { op: Operation, body: Vec<u8> },
    /// A DDL change for the coordinator (shard 0).
    Catalog(CatalogCommand),
    /// A new catalog snapshot to install (from shard 0).
    InstallCatalog(Arc<Catalog>),
    /// Point reads of encoded keys on their owner.
    Get { keys: Vec<Vec<u8>> },
    /// A batch of writes owned by the receiving shard; replies when durable.
    Write { batch: WriteBatch },
    /// A bounded range read.
    Scan {
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
        max_entries: usize,
        max_bytes: usize,
    },
    /// Drop everything under a key prefix (a deleted table).
    DropPrefix { prefix: Vec<u8> },
    /// Counts under a key prefix plus this shard's counters.
    Stats { prefix: Vec<u8> },
    /// GSI entry puts/deletes from a base shard's outbox replicator, for
    /// the receiving (index-owning) shard; replies when durable.
    IndexApply { batch: WriteBatch },
    /// A shard finished backfilling an index (for the coordinator).
    BackfillDone {
        table: String,
        index_id: u32,
        shard: u32,
    },
}

/// Key-value pairs read from a shard, in key order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

pub enum MeshReply {
    Http(Result<Vec<u8>, ApiError>),
    Table(Result<Arc<TableDef>, ApiError>),
    Values(Result<Vec<Option<Vec<u8>>>, ApiError>),
    Entries(Result<Entries, ApiError>),
    Stats(ShardStats),
    Done(Result<(), ApiError>),
    /// A `Write` applied durably, with the item collection sizes it changed.
    Written(Result<WriteReport, ApiError>),
}

#[derive(Clone, Debug, Default)]
pub struct ShardStats {
    pub prefix: PrefixStats,
    pub requests: u64,
    pub forwarded_out: u64,
    pub forwarded_in: u64,
    pub errors: u64,
    pub outbox: OutboxStats,
    pub backfill_items: u64,
    pub backfill_items_per_s: u64,
    /// Where durable writes spend their time (engine histograms).
    pub write_phases: Box<crate::engine::wal::phases::WritePhaseStats>,
}

impl MeshRequest {
    /// Whether this carries client data work (a forwarded request, or a read
    /// or write on the owner) rather than control traffic; the transport
    /// counts these as forwarded.
    pub fn is_data(&self) -> bool {
        matches!(
            self,
            MeshRequest::Forward { .. }
                | MeshRequest::Get { .. }
                | MeshRequest::Write { .. }
                | MeshRequest::Scan { .. }
        )
    }
}

pub fn unexpected(reply: &MeshReply) -> ApiError {
    let kind = match reply {
        MeshReply::Http(_) => "Http",
        MeshReply::Table(_) => "Table",
        MeshReply::Values(_) => "Values",
        MeshReply::Entries(_) => "Entries",
        MeshReply::Stats(_) => "Stats",
        MeshReply::Done(_) => "Done",
        MeshReply::Written(_) => "Written",
    };
    ApiError::internal(format!("unexpected mesh reply {kind}"))
}

/// Serves one mesh request on the receiving shard.
pub async fn serve(shard: &Rc<Shard>, request: MeshRequest) -> MeshReply {
    match request {
        MeshRequest::Forward { op, body } => {
            MeshReply::Http(super::execute(shard, op, body, true).await)
        }
        MeshRequest::Catalog(command) => {
            MeshReply::Table(super::tables::apply(shard, command).await)
        }
        MeshRequest::InstallCatalog(catalog) => {
            {
                let mut current = shard.catalog.borrow_mut();
                // Snapshots may arrive out of order only if DDL overlapped; keep the newest.
                if catalog.version > current.version {
                    *current = catalog;
                }
            }
            // A new CREATING index starts its backfill here (in the
            // background: this handler stays a leaf).
            super::index::backfill::start_pending(shard);
            MeshReply::Done(Ok(()))
        }
        MeshRequest::Get { keys } => {
            let mut values = Vec::with_capacity(keys.len());
            for key in &keys {
                match shard.store.get(key).await {
                    Ok(v) => values.push(v),
                    Err(e) => return MeshReply::Values(Err(e.into())),
                }
            }
            MeshReply::Values(Ok(values))
        }
        MeshRequest::Write { batch } => {
            // Blind writes (BatchWriteItem) take the key locks too, so they
            // never land between a conditional write's read and its write.
            // Keys are locked in sorted order: no two batches deadlock.
            let mut keys: Vec<Vec<u8>> = batch.iter().map(|(k, _)| k.clone()).collect();
            keys.sort();
            keys.dedup();
            let mut guards = Vec::with_capacity(keys.len());
            for key in keys {
                guards.push(shard.locks.lock(key).await);
            }
            // Items of indexed tables need their old images to maintain
            // the indexes; `commit_blind` reads them under these locks.
            let written = super::index::maintain::commit_blind(shard, batch).await;
            drop(guards);
            let result = match written {
                Ok(committed) => committed.wait().await,
                Err(e) => Err(e),
            };
            MeshReply::Written(result)
        }
        MeshRequest::Scan {
            lower,
            upper,
            reverse,
            max_entries,
            max_bytes,
        } => {
            let result = shard
                .store
                .scan(
                    as_ref_bound(&lower),
                    as_ref_bound(&upper),
                    reverse,
                    max_entries,
                    max_bytes,
                )
                .await;
            MeshReply::Entries(result.map_err(ApiError::from))
        }
        MeshRequest::DropPrefix { prefix } => MeshReply::Done(
            shard
                .store
                .delete_prefix(&prefix)
                .await
                .map_err(ApiError::from),
        ),
        MeshRequest::Stats { prefix } => MeshReply::Stats(local_stats(shard, &prefix)),
        MeshRequest::IndexApply { batch } => {
            MeshReply::Done(super::index::outbox::apply(shard, batch).await)
        }
        MeshRequest::BackfillDone {
            table,
            index_id,
            shard: from,
        } => {
            super::index::backfill::finished(shard, table, index_id, from);
            MeshReply::Done(Ok(()))
        }
    }
}

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
        write_phases: Box::new(shard.store.write_phases()),
    }
}

pub fn as_ref_bound(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Sends `request` to `to`, or serves it here when `to` is this shard.
pub async fn call_or_local(
    shard: &Rc<Shard>,
    to: u32,
    request: MeshRequest,
) -> Result<MeshReply, ApiError> {
    if to == shard.id {
        Ok(Box::pin(serve(shard, request)).await)
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
) -> Result<(), ApiError> {
    match call_or_local(shard, owner, MeshRequest::Write { batch }).await? {
        MeshReply::Written(result) => result.map(drop),
        other => Err(unexpected(&other)),
    }
}

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
