//! The one write path: every change of a base item goes through [`commit`]
//! (PutItem, UpdateItem, DeleteItem, BatchWriteItem, and a blind write
//! shipped to its owner), with the item's old and new images read under
//! the item's key lock (`condition`). One engine batch then carries,
//! atomically:
//! - the base item (put or delete);
//! - each LSI entry change (delete the old entry if its key changed or the
//!   item left the index, put the new one), on this same shard
//!   (`index::maintain` plans them);
//! - for tables with LSIs, the item collection's byte counter (enforcing
//!   the collection size limit, reporting ItemCollectionMetrics;
//!   `collection`);
//! - one GSI outbox record with every GSI entry change, delivered later by
//!   the replicator (`index::replicate`).
//!
//! - for tables with an enabled stream, one stream record per item the
//!   write changes (`api::streams::record`), numbered by this batch's WAL
//!   sequence;
//! - for tables with point-in-time recovery, one history record per item
//!   the write changes (`history`, design in `api::pitr`), numbered the
//!   same way.
//!
//! Because all of it is one WAL record, a crash keeps all or none of it.
//! Transactions (`api::txn`) add their own records to the same batch
//! ([`commit_with`]); TTL deletions come through here too, marked by their
//! [`WriteOrigin`].

mod base;
pub mod collection;
pub mod condition;
pub mod history;

pub use base::{BaseWrite, Committed, WriteOrigin};

use std::rc::Rc;
use std::sync::Arc;

use crate::api::index::maintain::index_changes;
use crate::api::messages::WriteReport;
use crate::api::protocol::error::ApiError;
use crate::api::protocol::reply::CollectionMetrics;
use crate::api::shard::Shard;
use crate::api::shard::locks::KeyGuard;
use crate::api::shard::outbox::{IndexOp, encode_record, now_ms, record_key};
use crate::api::streams;
use crate::api::streams::record::{Change, push_records};
use crate::catalog::{BillingMode, Catalog, TableDef};
use crate::engine::WriteBatch;
use crate::model::codec::decode_item;
use crate::model::value::item_size;

/// The table of each write the write path does more for than store the
/// item (None: no indexes to maintain, no stream to publish to, no
/// point-in-time history to keep).
pub type IndexedTables = Vec<Option<Arc<TableDef>>>;

/// Applies `writes` and their index changes as one atomic batch.
///
/// Callers hold the key lock of every base key (and decided any condition
/// on the `old` images given). The indexes maintained are those of the
/// shard's catalog *at the moment of the write*, never an older snapshot:
/// a GSI whose backfill has already passed this key must see this write.
/// If the catalog changes while this waits (reading an old image, locking
/// an item collection counter), it starts over. Counters are locked after
/// the item locks on every path, so the two kinds never wait in a cycle.
pub async fn commit(shard: &Rc<Shard>, writes: Vec<BaseWrite>) -> Result<Committed, ApiError> {
    commit_with(shard, writes, Vec::new(), Limits::Enforce).await
}

/// Whether a commit may still refuse a write for its limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limits {
    /// Refuse on GSI back-pressure or a full item collection (every
    /// write that has not been promised yet).
    Enforce,
    /// The write was promised (a transaction's commit decision is
    /// durable): wait for outbox room however long it takes, never refuse
    /// for the collection size (the limit was checked at prepare). Its
    /// point-in-time history carries `decided_ms` (the decision's time,
    /// the same on every participant) if given, else the apply time.
    Promised { decided_ms: Option<u64> },
}

/// [`commit`] with more entries (`extra`: transaction records) in the
/// same engine batch, so they are durable exactly when the writes are.
pub async fn commit_with(
    shard: &Rc<Shard>,
    mut writes: Vec<BaseWrite>,
    extra: WriteBatch,
    limits: Limits,
) -> Result<Committed, ApiError> {
    loop {
        // Memtable/L0 back-pressure before anything is applied (engine docs).
        shard.store.write_room().await;
        let catalog = shard.catalog();
        let tables = indexed_tables(&catalog, &writes);
        load_images(shard, &mut writes, &tables).await?;
        // GSI backpressure: a backlog over its bound delays the write a
        // little, then refuses it (before anything is written).
        if has_global_index(&tables) && shard.outbox.full() {
            match limits {
                Limits::Enforce => wait_for_outbox_room(shard, &tables).await?,
                Limits::Promised { .. } => shard.outbox.wait_for_room().await,
            }
            continue;
        }
        let deltas = collection::deltas(&writes, &tables);
        let mut batch: WriteBatch =
            Vec::with_capacity(writes.len() + deltas.len() + 1 + extra.len());
        let enforce = limits == Limits::Enforce;
        let (collections, guards) = collection::update(shard, deltas, &mut batch, enforce).await?;
        if shard.catalog().version != catalog.version {
            continue;
        }
        // The backup cut gate, checked right before the synchronous apply:
        // no change lands on a closed shard (`shard::cut`); a decided
        // transaction's commit passes, so it is wholly in the cut.
        if enforce && shard.cut.is_closed() {
            drop(guards);
            shard.cut.wait_open().await;
            continue;
        }
        // A table whose final backup was cut takes no more writes (its
        // deletion is under way). A decided transaction's writes were
        // checked before its decision and pass.
        if enforce
            && shard
                .cut
                .fences_any(writes.iter().map(|w| w.storage.as_slice()))
        {
            return Err(ApiError::resource_not_found());
        }
        batch.extend(extra);
        let decided_ms = match limits {
            Limits::Promised { decided_ms } => decided_ms,
            Limits::Enforce => None,
        };
        return apply(
            shard,
            writes,
            &tables,
            batch,
            collections,
            guards,
            decided_ms,
        );
    }
}

/// The indexed tables of `writes` in the current catalog (for checks made
/// before a commit, e.g. a transaction's prepare).
pub fn current_indexed_tables(shard: &Shard, writes: &[BaseWrite]) -> IndexedTables {
    indexed_tables(&shard.catalog(), writes)
}

fn indexed_tables(catalog: &Catalog, writes: &[BaseWrite]) -> IndexedTables {
    writes
        .iter()
        .map(|w| {
            table_of(catalog, &w.storage)
                .filter(|t| needs_images(t) || history::tracks(t))
                .cloned()
        })
        .collect()
}

/// Whether writes to `table` need the items' old and new images (index
/// maintenance, stream records). Point-in-time history needs only the old
/// image of a delete (its key attributes).
fn needs_images(table: &TableDef) -> bool {
    !table.indexes.is_empty() || table.enabled_stream().is_some()
}

/// The table a base storage key belongs to, in `catalog`.
fn table_of<'c>(catalog: &'c Catalog, storage: &[u8]) -> Option<&'c Arc<TableDef>> {
    let id = u32::from_be_bytes(storage.get(..4)?.try_into().ok()?);
    catalog.table_by_id(id)
}

/// Old and new images of every item of an indexed table.
async fn load_images(
    shard: &Shard,
    writes: &mut [BaseWrite],
    tables: &IndexedTables,
) -> Result<(), ApiError> {
    for (write, table) in writes.iter_mut().zip(tables) {
        let Some(table) = table else { continue };
        if !needs_images(table) && write.value.is_some() {
            continue; // a put recorded for PITR only: its value suffices
        }
        if !write.old_known {
            write.old = match shard.store.get(&write.storage).await? {
                Some(bytes) => Some(decode_item(&bytes)?),
                None => None,
            };
            write.old_known = true;
        }
        if write.new.is_none()
            && let Some(value) = &write.value
        {
            write.new = Some(decode_item(value)?);
        }
    }
    Ok(())
}

fn has_global_index(tables: &IndexedTables) -> bool {
    tables
        .iter()
        .flatten()
        .any(|t| t.global_indexes().next().is_some())
}

/// Waits up to `gsi_backpressure_wait` for room in the outbox; DynamoDB's
/// GSI back-pressure error if none came.
async fn wait_for_outbox_room(shard: &Shard, tables: &IndexedTables) -> Result<(), ApiError> {
    let timeout = shard.services.sleep(shard.settings.gsi_backpressure_wait);
    if shard.outbox.wait_for_room_within(timeout).await {
        return Ok(());
    }
    let provisioned = tables
        .iter()
        .flatten()
        .any(|t| t.billing_mode == BillingMode::Provisioned);
    Err(if provisioned {
        ApiError::provisioned_throughput_exceeded(
            "The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API",
        )
    } else {
        ApiError::throttling(
            "Throughput exceeds the current capacity for one or more global secondary indexes. DynamoDB is automatically scaling your index so please try again shortly.",
        )
    })
}

/// Adds the index changes, base items and outbox record to `batch` and
/// writes it. Nothing here awaits: the indexes are the current catalog's,
/// and the outbox record's number is taken in log order. `decided_ms`: a
/// transaction's decision time, for its point-in-time history records.
fn apply(
    shard: &Shard,
    mut writes: Vec<BaseWrite>,
    tables: &IndexedTables,
    mut batch: WriteBatch,
    collections: Vec<CollectionMetrics>,
    guards: Vec<KeyGuard>,
    decided_ms: Option<u64>,
) -> Result<Committed, ApiError> {
    let mut remote: Vec<IndexOp> = Vec::new();
    let mut index_units = Vec::new();
    // Before the values move into the batch (no await from here on).
    if let Some(wal_seq) = shard.store.next_write_seq() {
        let stamp = history::Stamp {
            now_ms: streams::now_ms(),
            decided_ms,
        };
        history::push_history(shard, &writes, tables, wal_seq, stamp, &mut batch);
    }
    for (write, table) in writes.iter_mut().zip(tables) {
        if let Some(table) = table {
            index_changes(
                &shard.map,
                table,
                write.old.as_ref(),
                write.new.as_ref(),
                &mut batch,
                &mut remote,
                &mut index_units,
            );
        }
        batch.push((write.storage.clone(), write.value.take()));
    }
    push_stream_records(shard, &writes, tables, &mut batch);
    let outbox_record = !remote.is_empty();
    if outbox_record {
        let seq = shard.outbox.take_seq();
        batch.push((record_key(seq), Some(encode_record(now_ms(), &remote))));
    }
    let durable = shard.store.write(batch)?;
    drop(guards);
    if outbox_record {
        shard.outbox.notify();
    }
    Ok(Committed::new(
        durable,
        WriteReport {
            collections,
            index_units,
            old_sizes: Vec::new(),
            sync_us: 0,
        },
    ))
}

/// The stream records of `writes`, numbered by the WAL sequence `batch`
/// is about to get (no await between this and the `Store::write`).
fn push_stream_records(
    shard: &Shard,
    writes: &[BaseWrite],
    tables: &IndexedTables,
    batch: &mut WriteBatch,
) {
    let Some(wal_seq) = shard.store.next_write_seq() else {
        return; // closed: the write fails anyway
    };
    let now = streams::now_ms();
    let mut index = 0u16;
    for (write, table) in writes.iter().zip(tables) {
        let Some(table) = table.as_ref().filter(|t| t.enabled_stream().is_some()) else {
            continue;
        };
        let change = Change {
            old: write.old.as_ref(),
            new: write.new.as_ref(),
            by_service: write.origin == WriteOrigin::TimeToLive,
        };
        index += push_records(shard, table, &[change], wal_seq, index, now, batch);
    }
}

/// A blind batch of base writes on this shard (BatchWriteItem, plain
/// PutItem shipped to the owner). The caller holds the key locks.
/// With `measure`, the old items are read first and their sizes reported.
pub async fn commit_blind(
    shard: &Rc<Shard>,
    batch: WriteBatch,
    measure: bool,
) -> Result<Committed, ApiError> {
    let mut writes: Vec<BaseWrite> = batch
        .into_iter()
        .map(|(storage, value)| BaseWrite::blind(storage, value))
        .collect();
    let mut old_sizes = Vec::new();
    if measure {
        old_sizes.reserve(writes.len());
        for write in &mut writes {
            write.old = match shard.store.get(&write.storage).await? {
                Some(bytes) => Some(decode_item(&bytes)?),
                None => None,
            };
            write.old_known = true;
            old_sizes.push(write.old.as_ref().map_or(0, item_size));
        }
    }
    let mut committed = commit(shard, writes).await?;
    committed.report_mut().old_sizes = old_sizes;
    Ok(committed)
}

/// A blind batch sent to its owner (`MeshRequest::Write`): takes the key
/// locks, commits, and reports once durable.
pub async fn blind_on_owner(
    shard: &Rc<Shard>,
    batch: WriteBatch,
    measure: bool,
) -> Result<WriteReport, ApiError> {
    // Blind writes (BatchWriteItem) take the key locks too, so they
    // never land between a conditional write's read and its write.
    // Keys are locked in sorted order: no two batches deadlock.
    let mut keys: Vec<Vec<u8>> = batch.iter().map(|(k, _)| k.clone()).collect();
    keys.sort();
    keys.dedup();
    // An item a transaction holds: DynamoDB's conflict, not a queue.
    if keys.iter().any(|k| shard.txns.has_intent(k)) {
        shard.txns.count_conflict();
        return Err(ApiError::transaction_conflict());
    }
    let mut guards = Vec::with_capacity(keys.len());
    for key in keys {
        guards.push(shard.locks.lock(key).await);
    }
    // Items of indexed tables need their old images to maintain
    // the indexes; `commit_blind` reads them under these locks.
    let written = commit_blind(shard, batch, measure).await;
    drop(guards);
    match written {
        Ok(committed) => committed.wait().await,
        Err(e) => Err(e),
    }
}
