//! Item collection byte counters of tables with local secondary indexes:
//! one counter per partition key (its items plus their LSI entries), kept
//! in the same engine batch as the write that changes it, so the 10 GB
//! limit (`item_collection_bytes_max`) and ItemCollectionMetrics are exact.
//!
//! ```text
//! counter key   := COLLECTION_PREFIX ‖ partition prefix (table id ‖ hash ‖ enc(pk))
//! counter value := bytes:u64 LE   (absent: 0)
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use super::base::BaseWrite;
use crate::api::index::keys::{key_values, project};
use crate::api::protocol::error::ApiError;
use crate::api::protocol::reply::CollectionMetrics;
use crate::api::shard::Shard;
use crate::api::shard::locks::KeyGuard;
use crate::api::table::key::{COLLECTION_PREFIX, partition_hash};
use crate::catalog::TableDef;
use crate::engine::WriteBatch;
use crate::model::key::partition_prefix;
use crate::model::value::item_size;
use crate::model::{Item, Value};

/// DynamoDB counts 100 bytes of overhead per local index entry.
const LSI_ENTRY_OVERHEAD_BYTES: u64 = 100;

/// Collection counter key → (table, partition key value, byte delta).
pub type Deltas = BTreeMap<Vec<u8>, (Arc<TableDef>, Value, i64)>;

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
        if key_values(index, item).is_some() {
            bytes += item_size(&project(table, index, item)) as u64 + LSI_ENTRY_OVERHEAD_BYTES;
        }
    }
    bytes
}

/// How each write changes its item collection's size.
pub fn deltas(writes: &[BaseWrite], tables: &[Option<Arc<TableDef>>]) -> Deltas {
    let mut deltas = Deltas::new();
    for (write, table) in writes.iter().zip(tables) {
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
    deltas
}

/// Locks each counter, checks the size limit (when `enforce`) and adds the
/// new counter values to `batch`; returns the collections' new sizes and
/// the locks, held until the batch is applied.
pub async fn update(
    shard: &Shard,
    deltas: Deltas,
    batch: &mut WriteBatch,
    enforce: bool,
) -> Result<(Vec<CollectionMetrics>, Vec<KeyGuard>), ApiError> {
    let mut collections = Vec::with_capacity(deltas.len());
    let mut guards: Vec<KeyGuard> = Vec::with_capacity(deltas.len());
    for (key, (table, pk, delta)) in deltas {
        guards.push(shard.locks.lock(key.clone()).await);
        let current = counter(shard, &key).await?;
        let next = current.saturating_add_signed(delta);
        if enforce && delta > 0 && next > shard.settings.item_collection_bytes_max {
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
    Ok((collections, guards))
}

async fn counter(shard: &Shard, key: &[u8]) -> Result<u64, ApiError> {
    Ok(match shard.store.get(key).await? {
        Some(bytes) => bytes
            .as_slice()
            .try_into()
            .map(u64::from_le_bytes)
            .map_err(|_| ApiError::internal("malformed item collection counter"))?,
        None => 0,
    })
}

/// The collections (table name, partition key) that applying `deltas` now
/// would grow past the limit (a transaction's prepare: its commit no
/// longer checks).
pub async fn exceeding(shard: &Shard, deltas: &Deltas) -> Result<Vec<(String, Value)>, ApiError> {
    let mut over = Vec::new();
    for (key, (table, pk, delta)) in deltas {
        if *delta > 0
            && counter(shard, key).await?.saturating_add_signed(*delta)
                > shard.settings.item_collection_bytes_max
        {
            over.push((table.name.clone(), pk.clone()));
        }
    }
    Ok(over)
}
