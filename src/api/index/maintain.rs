//! How a base-item write maintains its table's indexes.
//!
//! Every write of an item to a table with indexes goes through [`commit`]
//! with the item's old and new images, read under the item's key lock. One
//! engine batch then carries, atomically:
//! - the base item (put or delete);
//! - each LSI entry change (delete the old entry if its key changed or the
//!   item left the index, put the new one), on this same shard;
//! - for tables with LSIs, the item collection's byte counter (enforcing
//!   the collection size limit, reporting ItemCollectionMetrics);
//! - one GSI outbox record with every GSI entry change, delivered later by
//!   the replicator (`outbox`).
//!
//! Because all of it is one WAL record, a crash keeps all or none of it.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use super::keys::{entry_key, project};
use super::outbox::{IndexOp, encode_record, now_ms, record_key};
use crate::api::Shard;
use crate::api::error::ApiError;
use crate::api::items::{partition_hash, write_units};
use crate::api::locks::KeyGuard;
use crate::catalog::{BillingMode, Catalog, IndexKind, TableDef};
use crate::engine::{Durable, WriteBatch};
use crate::model::codec::{decode_item, encode_item};
use crate::model::key::partition_prefix;
use crate::model::value::{item_size, write_json_map};
use crate::model::{Item, Value};

/// Prefix of the per-partition item collection byte counters:
/// `00 00 00 00 ‖ 'C' ‖ partition prefix (table id ‖ hash ‖ enc(pk))` →
/// `bytes:u64 LE`.
pub const COLLECTION_PREFIX: [u8; 5] = [0, 0, 0, 0, b'C'];
/// How long a write waits for room in a full GSI outbox before it is
/// refused with ThrottlingException (DynamoDB's GSI back-pressure).
const GSI_BACKPRESSURE_WAIT: std::time::Duration = std::time::Duration::from_millis(1000);
/// DynamoDB counts 100 bytes of overhead per local index entry.
const LSI_ENTRY_OVERHEAD_BYTES: u64 = 100;

/// One base-item write: its storage key, images and stored value.
pub struct BaseWrite {
    pub storage: Vec<u8>,
    /// The item before the write (None: absent), when `old_known`.
    pub old: Option<Item>,
    /// Whether `old` was read (under the key lock). Blind writes to tables
    /// without indexes skip the read; [`commit`] reads it if the table has
    /// gained an index meanwhile.
    pub old_known: bool,
    /// The item after the write (None: deleted, or not decoded yet).
    pub new: Option<Item>,
    /// What the base key stores: the encoded new item, or None to delete.
    pub value: Option<Vec<u8>>,
}

impl BaseWrite {
    /// A put (`new`) or delete (None) of an item whose old image was read
    /// under its key lock.
    pub fn item(storage: Vec<u8>, old: Option<Item>, new: Option<Item>) -> Self {
        let value = new.as_ref().map(encode_item);
        BaseWrite {
            storage,
            old,
            old_known: true,
            new,
            value,
        }
    }

    /// A put of `value` (an encoded item) or a delete, old image unread.
    pub fn blind(storage: Vec<u8>, value: Option<Vec<u8>>) -> Self {
        BaseWrite {
            storage,
            old: None,
            old_known: false,
            new: None,
            value,
        }
    }
}

/// The size of an item collection after a write, for ItemCollectionMetrics.
#[derive(Clone, Debug)]
pub struct CollectionMetrics {
    pub table: String,
    pub key_name: String,
    pub key: Value,
    pub bytes: u64,
}

impl CollectionMetrics {
    /// `{"ItemCollectionKey":{…},"SizeEstimateRangeGB":[lo,hi]}`: the exact
    /// size is known, so the range is the whole gigabytes around it.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"ItemCollectionKey\":");
        let mut key = Item::new();
        key.insert(self.key_name.clone(), self.key.clone());
        write_json_map(out, &key);
        let gb = (self.bytes as f64 / f64::from(1u32 << 30)).floor();
        out.extend_from_slice(
            format!(",\"SizeEstimateRangeGB\":[{gb:?},{:?}]}}", gb + 1.0).as_bytes(),
        );
    }
}

/// Write capacity one write consumed on one index.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexUnits {
    pub table: String,
    pub kind: IndexKind,
    pub index: String,
    pub units: f64,
}

/// What a durable write reports: item collection sizes (tables with
/// LSIs) and the capacity its index writes consumed.
#[derive(Clone, Debug, Default)]
pub struct WriteReport {
    pub collections: Vec<CollectionMetrics>,
    pub index_units: Vec<IndexUnits>,
}

/// A write applied to the store (visible to reads, not yet durable).
#[must_use = "a write may be acknowledged only after it is durable"]
pub struct Committed {
    durable: Durable,
    report: WriteReport,
}

impl Committed {
    /// Ok once durable.
    pub async fn wait(self) -> Result<WriteReport, ApiError> {
        self.durable.wait().await?;
        Ok(self.report)
    }
}

fn table_partition_prefix(table: &TableDef, pk: &Value) -> Vec<u8> {
    partition_prefix(table.id, partition_hash(table, pk), pk)
}

/// Bytes an item contributes to its item collection: itself and its local
/// index entries.
fn collection_bytes(table: &TableDef, item: Option<&Item>) -> u64 {
    let Some(item) = item else {
        return 0;
    };
    let mut bytes = item_size(item) as u64;
    for index in table.local_indexes() {
        if super::keys::key_values(index, item).is_some() {
            bytes += item_size(&project(table, index, item)) as u64 + LSI_ENTRY_OVERHEAD_BYTES;
        }
    }
    bytes
}

/// Appends the index entry changes of one write: local ones to `batch`,
/// global ones to `remote`.
fn index_changes(
    shard: &Shard,
    table: &TableDef,
    old: Option<&Item>,
    new: Option<&Item>,
    batch: &mut WriteBatch,
    remote: &mut Vec<IndexOp>,
    units: &mut Vec<IndexUnits>,
) {
    for index in &table.indexes {
        let old_key = old.and_then(|o| entry_key(&shard.map, table, index, o));
        let new_key = new.and_then(|n| entry_key(&shard.map, table, index, n));
        let out = match index.kind {
            IndexKind::Local => &mut *batch,
            IndexKind::Global => &mut *remote,
        };
        // DynamoDB's index write arithmetic: each entry put or delete is
        // one write of the entry's size (1 KB units); a key change is two.
        let mut consumed = 0.0;
        match (old_key, new_key, old, new) {
            (Some(o), Some(n), Some(old), Some(new)) if o.storage == n.storage => {
                let projected = project(table, index, new);
                if projected != project(table, index, old) {
                    consumed += write_units(item_size(&projected));
                    out.push((n.storage, Some(encode_item(&projected))));
                }
            }
            (old_key, new_key, old, new) => {
                if let (Some(o), Some(old)) = (old_key, old) {
                    consumed += write_units(item_size(&project(table, index, old)));
                    out.push((o.storage, None));
                }
                if let (Some(n), Some(new)) = (new_key, new) {
                    let projected = project(table, index, new);
                    consumed += write_units(item_size(&projected));
                    out.push((n.storage, Some(encode_item(&projected))));
                }
            }
        }
        if consumed > 0.0 {
            units.push(IndexUnits {
                table: table.name.clone(),
                kind: index.kind,
                index: index.name.clone(),
                units: consumed,
            });
        }
    }
}

/// The table a base storage key belongs to, in `catalog`.
fn table_of<'c>(catalog: &'c Catalog, storage: &[u8]) -> Option<&'c Arc<TableDef>> {
    let id = u32::from_be_bytes(storage.get(..4)?.try_into().ok()?);
    catalog.table_by_id(id)
}

/// Applies `writes` and their index changes as one atomic batch.
///
/// Callers hold the key lock of every base key (and decided any condition
/// on the `old` images given). The indexes maintained are those of the
/// shard's catalog *at the moment of the write*, never an older snapshot:
/// a GSI whose backfill has already passed this key must see this write.
/// If the catalog changes while this waits (reading an old image, locking
/// an item collection counter), it starts over. Counters are locked after
/// the item locks on every path, so the two kinds never wait in a cycle.
pub async fn commit(shard: &Rc<Shard>, mut writes: Vec<BaseWrite>) -> Result<Committed, ApiError> {
    loop {
        // Memtable/L0 back-pressure before anything is applied (engine docs).
        shard.store.write_room().await;
        let catalog = shard.catalog();
        // The indexed table of each write (None: no indexes to maintain).
        let tables: Vec<Option<Arc<TableDef>>> = writes
            .iter()
            .map(|w| {
                table_of(&catalog, &w.storage)
                    .filter(|t| !t.indexes.is_empty())
                    .cloned()
            })
            .collect();
        // Old and new images of every item of an indexed table.
        for (write, table) in writes.iter_mut().zip(&tables) {
            if table.is_none() {
                continue;
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
        // GSI backpressure: a backlog over its bound delays the write a
        // little, then refuses it (before anything is written).
        let global = tables
            .iter()
            .flatten()
            .any(|t| t.global_indexes().next().is_some());
        if global && shard.outbox.full() {
            let timeout = shard.services.sleep(GSI_BACKPRESSURE_WAIT);
            if !shard.outbox.wait_for_room_within(timeout).await {
                let provisioned = tables
                    .iter()
                    .flatten()
                    .any(|t| t.billing_mode == BillingMode::Provisioned);
                return Err(if provisioned {
                    ApiError::provisioned_throughput_exceeded(
                        "The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API",
                    )
                } else {
                    ApiError::throttling(
                        "Throughput exceeds the current capacity for one or more global secondary indexes. DynamoDB is automatically scaling your index so please try again shortly.",
                    )
                });
            }
            continue;
        }
        // Collection counter key → (table, partition key value, delta).
        let mut deltas: BTreeMap<Vec<u8>, (Arc<TableDef>, Value, i64)> = BTreeMap::new();
        for (write, table) in writes.iter().zip(&tables) {
            let Some(table) = table.as_ref().filter(|t| t.has_local_indexes()) else {
                continue;
            };
            let pk = write
                .new
                .as_ref()
                .or(write.old.as_ref())
                .and_then(|i| i.get(&table.partition_key.name));
            if let Some(pk) = pk {
                let mut key = COLLECTION_PREFIX.to_vec();
                key.extend_from_slice(&table_partition_prefix(table, pk));
                let delta = collection_bytes(table, write.new.as_ref()) as i64
                    - collection_bytes(table, write.old.as_ref()) as i64;
                let entry = deltas
                    .entry(key)
                    .or_insert_with(|| (table.clone(), pk.clone(), 0));
                entry.2 += delta;
            }
        }
        let mut batch: WriteBatch = Vec::with_capacity(writes.len() + deltas.len() + 1);
        let mut collections = Vec::with_capacity(deltas.len());
        let mut guards: Vec<KeyGuard> = Vec::with_capacity(deltas.len());
        for (key, (table, pk, delta)) in deltas {
            guards.push(shard.locks.lock(key.clone()).await);
            let current = match shard.store.get(&key).await? {
                Some(bytes) => bytes
                    .as_slice()
                    .try_into()
                    .map(u64::from_le_bytes)
                    .map_err(|_| ApiError::internal("malformed item collection counter"))?,
                None => 0,
            };
            let next = current.saturating_add_signed(delta);
            if delta > 0 && next > shard.settings.item_collection_bytes_max {
                return Err(ApiError::item_collection_size_limit_exceeded());
            }
            batch.push((key, (next > 0).then(|| next.to_le_bytes().to_vec())));
            collections.push(CollectionMetrics {
                table: table.name.clone(),
                key_name: table.partition_key.name.clone(),
                key: pk,
                bytes: next,
            });
        }
        if shard.catalog().version != catalog.version {
            continue;
        }
        // From here to the write nothing awaits: the indexes are the
        // current catalog's, and the outbox record's number is taken in
        // log order.
        let mut remote: Vec<IndexOp> = Vec::new();
        let mut index_units = Vec::new();
        for (write, table) in writes.iter_mut().zip(&tables) {
            if let Some(table) = table {
                index_changes(
                    shard,
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
        return Ok(Committed {
            durable,
            report: WriteReport {
                collections,
                index_units,
            },
        });
    }
}

/// A blind batch of base writes on this shard (BatchWriteItem, plain
/// PutItem shipped to the owner). The caller holds the key locks.
pub async fn commit_blind(shard: &Rc<Shard>, batch: WriteBatch) -> Result<Committed, ApiError> {
    let writes = batch
        .into_iter()
        .map(|(storage, value)| BaseWrite::blind(storage, value))
        .collect();
    commit(shard, writes).await
}

/// ReturnItemCollectionMetrics: NONE (default) or SIZE.
pub fn wants_collection_metrics(
    fields: &crate::api::request::Fields<'_, '_>,
    v: &mut crate::api::error::Violations,
) -> Result<bool, ApiError> {
    Ok(match fields.str("ReturnItemCollectionMetrics")? {
        None | Some("NONE") => false,
        Some("SIZE") => true,
        Some(other) => {
            v.push(
                &format!("'{other}'"),
                "returnItemCollectionMetrics",
                "Member must satisfy enum value set: [SIZE, NONE]",
            );
            false
        }
    })
}
