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
use crate::api::locks::KeyGuard;
use crate::catalog::{IndexKind, TableDef};
use crate::engine::{Durable, WriteBatch};
use crate::model::codec::{decode_item, encode_item};
use crate::model::key::{partition_prefix, placement_bytes};
use crate::model::value::{item_size, write_json_map};
use crate::model::{Item, Value};
use crate::routing::placement_hash;

/// Prefix of the per-partition item collection byte counters:
/// `00 00 00 00 ‖ 'C' ‖ partition prefix (table id ‖ hash ‖ enc(pk))` →
/// `bytes:u64 LE`.
pub const COLLECTION_PREFIX: [u8; 5] = [0, 0, 0, 0, b'C'];
/// DynamoDB counts 100 bytes of overhead per local index entry.
const LSI_ENTRY_OVERHEAD_BYTES: u64 = 100;

/// One base-item write: its table, storage key, images and stored value.
pub struct BaseWrite {
    /// None for a table without indexes (nothing to maintain).
    pub table: Option<Arc<TableDef>>,
    pub storage: Vec<u8>,
    /// The item before the write (None: absent). Needed only when the
    /// table has indexes.
    pub old: Option<Item>,
    /// The item after the write (None: deleted).
    pub new: Option<Item>,
    /// `new`, encoded (what the base key stores), or None to delete.
    pub value: Option<Vec<u8>>,
}

impl BaseWrite {
    /// A put or delete of `new` replacing `old`.
    pub fn item(
        table: &Arc<TableDef>,
        storage: Vec<u8>,
        old: Option<Item>,
        new: Option<Item>,
    ) -> Self {
        let value = new.as_ref().map(encode_item);
        BaseWrite {
            table: Some(table.clone()),
            storage,
            old,
            new,
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

/// A write applied to the store (visible to reads, not yet durable).
#[must_use = "a write may be acknowledged only after it is durable"]
pub struct Committed {
    durable: Durable,
    outbox_record: bool,
    pub collections: Vec<CollectionMetrics>,
}

impl Committed {
    /// Ok once durable; also waits (never fails) while this shard's GSI
    /// outbox is over its bound.
    pub async fn wait(self, shard: &Shard) -> Result<Vec<CollectionMetrics>, ApiError> {
        self.durable.wait().await?;
        if self.outbox_record {
            shard.outbox.wait_for_room().await;
        }
        Ok(self.collections)
    }
}

fn table_partition_prefix(table: &TableDef, pk: &Value) -> Vec<u8> {
    let hash = match placement_bytes(pk) {
        Some((tag, bytes)) => placement_hash(&table.name, tag, &bytes),
        None => 0,
    };
    partition_prefix(table.id, hash, pk)
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
) {
    for index in &table.indexes {
        let old_key = old.and_then(|o| entry_key(&shard.map, table, index, o));
        let new_key = new.and_then(|n| entry_key(&shard.map, table, index, n));
        let out = match index.kind {
            IndexKind::Local => &mut *batch,
            IndexKind::Global => &mut *remote,
        };
        match (old_key, new_key, old, new) {
            (Some(o), Some(n), Some(old), Some(new)) if o.storage == n.storage => {
                let projected = project(table, index, new);
                if projected != project(table, index, old) {
                    out.push((n.storage, Some(encode_item(&projected))));
                }
            }
            (old_key, new_key, _, new) => {
                if let Some(o) = old_key {
                    out.push((o.storage, None));
                }
                if let (Some(n), Some(new)) = (new_key, new) {
                    out.push((n.storage, Some(encode_item(&project(table, index, new)))));
                }
            }
        }
    }
}

/// Applies `writes` and their index changes as one atomic batch.
///
/// Callers hold the key lock of every base key and have decided (condition
/// checks) on the `old` images given. The item collection counters are
/// locked here, after the item locks (every path takes item locks first,
/// so the two kinds never wait on each other in a cycle).
pub async fn commit(shard: &Rc<Shard>, writes: Vec<BaseWrite>) -> Result<Committed, ApiError> {
    let mut batch: WriteBatch = Vec::with_capacity(writes.len());
    let mut remote: Vec<IndexOp> = Vec::new();
    // Collection counter key → (table, partition key name and value, delta).
    let mut deltas: BTreeMap<Vec<u8>, (Arc<TableDef>, Value, i64)> = BTreeMap::new();
    for write in writes {
        let Some(table) = write.table.as_ref().filter(|t| !t.indexes.is_empty()) else {
            batch.push((write.storage, write.value));
            continue;
        };
        index_changes(
            shard,
            table,
            write.old.as_ref(),
            write.new.as_ref(),
            &mut batch,
            &mut remote,
        );
        if table.has_local_indexes() {
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
        batch.push((write.storage, write.value));
    }
    let mut collections = Vec::with_capacity(deltas.len());
    let mut _guards: Vec<KeyGuard> = Vec::with_capacity(deltas.len());
    for (key, (table, pk, delta)) in deltas {
        _guards.push(shard.locks.lock(key.clone()).await);
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
    // From here to the write nothing awaits: the record's number is taken
    // in log order.
    let outbox_record = !remote.is_empty();
    if outbox_record {
        let seq = shard.outbox.take_seq();
        batch.push((record_key(seq), Some(encode_record(now_ms(), &remote))));
    }
    let durable = shard.store.write(batch)?;
    if outbox_record {
        shard.outbox.notify();
    }
    Ok(Committed {
        durable,
        outbox_record,
        collections,
    })
}

/// A blind batch of base writes on this shard (BatchWriteItem, plain
/// PutItem shipped to the owner): reads the old images of items in indexed
/// tables and commits. The caller holds the key locks.
pub async fn commit_blind(shard: &Rc<Shard>, batch: WriteBatch) -> Result<Committed, ApiError> {
    let catalog = shard.catalog();
    let mut writes = Vec::with_capacity(batch.len());
    for (storage, value) in batch {
        let table = storage
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
            .and_then(|id| catalog.table_by_id(id));
        let Some(table) = table.filter(|t| !t.indexes.is_empty()) else {
            // No indexes (or a table deleted meanwhile: unreachable data).
            writes.push(BaseWrite {
                table: None,
                storage,
                old: None,
                new: None,
                value,
            });
            continue;
        };
        let decode =
            |bytes: &[u8]| decode_item(bytes).map_err(|e| ApiError::internal(e.to_string()));
        let old = match shard.store.get(&storage).await? {
            Some(bytes) => Some(decode(&bytes)?),
            None => None,
        };
        let new = match &value {
            Some(bytes) => Some(decode(bytes)?),
            None => None,
        };
        writes.push(BaseWrite {
            table: Some(table.clone()),
            storage,
            old,
            new,
            value,
        });
    }
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
