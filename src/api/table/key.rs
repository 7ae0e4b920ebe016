//! An item's primary key: DynamoDB's key rules (types, emptiness, sizes),
//! its placement (the table's one placement hash, see `routing`) and its
//! storage key; the item size limit; the storage key of item collection
//! counters.

use std::sync::Arc;

use simd_json::BorrowedValue as Json;

use crate::api::protocol::error::ApiError;
use crate::api::protocol::request::Fields;
use crate::api::shard::Shard;
use crate::catalog::{KeyAttr, TableDef, TableStatus};
use crate::model::key::{item_key, placement_bytes};
use crate::model::value::{ITEM_BYTES_MAX, Item, Value, item_size};
use crate::routing::placement_hash;

pub const PARTITION_KEY_BYTES_MAX: usize = 2048;
pub const SORT_KEY_BYTES_MAX: usize = 1024;

/// Prefix of the per-partition item collection byte counters
/// (`write::collection`): `00 00 00 00 ‖ 'C' ‖ partition prefix (table id ‖
/// hash ‖ enc(pk))` → `bytes:u64 LE`. Table id 0 is never allocated, so the
/// system prefix cannot collide with table or index data.
pub const COLLECTION_PREFIX: [u8; 5] = [0, 0, 0, 0, b'C'];

/// A validated primary key, its placement and its storage key.
#[derive(Clone, Debug)]
pub struct ItemKey {
    pub pk: Value,
    pub sk: Option<Value>,
    pub hash: u64,
    pub owner: u32,
    pub storage: Vec<u8>,
}

/// The table for an item-level operation: ResourceNotFoundException if
/// absent, or CREATING or DELETING (as DynamoDB answers both).
pub fn table_for_items(shard: &Shard, name: &str) -> Result<Arc<TableDef>, ApiError> {
    shard
        .catalog()
        .table(name)
        .filter(|t| t.status == TableStatus::Active)
        .cloned()
        .ok_or_else(ApiError::resource_not_found)
}

fn check_key_value(attr: &KeyAttr, value: &Value, is_partition: bool) -> Result<(), ApiError> {
    let empty = match value {
        Value::S(s) => s.is_empty().then_some("string"),
        Value::B(b) => b.is_empty().then_some("binary"),
        _ => None,
    };
    if let Some(kind) = empty {
        return Err(ApiError::validation(format!(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {}",
            attr.name
        )));
    }
    let size = value.size();
    if is_partition && size > PARTITION_KEY_BYTES_MAX {
        return Err(ApiError::invalid_parameter(
            "Size of hashkey has exceeded the maximum size limit of2048 bytes",
        ));
    }
    if !is_partition && size > SORT_KEY_BYTES_MAX {
        return Err(ApiError::invalid_parameter(
            "Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
        ));
    }
    Ok(())
}

/// Whether a key value has its attribute's declared type.
pub fn matches_type(attr: &KeyAttr, value: &Value) -> bool {
    value.type_name() == attr.key_type.as_str()
}

/// The placement hash of a table partition (see `routing`); 0 for a value
/// that cannot be a key (validated away before any storage access).
pub fn partition_hash(table: &TableDef, pk: &Value) -> u64 {
    match pk {
        // S and B hash their own bytes; no copy (see `placement_bytes`).
        Value::S(s) => placement_hash(&table.name, b'S', s.as_bytes()),
        Value::B(b) => placement_hash(&table.name, b'B', b),
        _ => match placement_bytes(pk) {
            Some((tag, bytes)) => placement_hash(&table.name, tag, &bytes),
            None => 0,
        },
    }
}

/// Builds the placement and storage key from validated key values.
pub fn make_key(shard: &Shard, table: &TableDef, pk: Value, sk: Option<Value>) -> ItemKey {
    let hash = partition_hash(table, &pk);
    // The slow-request log names the request's (first) key hash.
    crate::api::shard::scope::note_key_hash(hash);
    let storage = item_key(table.id, hash, &pk, sk.as_ref());
    ItemKey {
        owner: shard.map.owner(hash),
        pk,
        sk,
        hash,
        storage,
    }
}

/// Reads a `Key` member (GetItem, DeleteItem, UpdateItem, batches).
pub fn key_from_json(shard: &Shard, table: &TableDef, key: &Json<'_>) -> Result<ItemKey, ApiError> {
    key_from_values(shard, table, key_values(key)?)
}

/// The attribute values of a `Key` member, each validated: DynamoDB
/// rejects an invalid value before it looks the table up.
pub fn key_values(key: &Json<'_>) -> Result<Item, ApiError> {
    let fields = Fields::of(key)?;
    let mut values = Item::new();
    for (name, value) in fields.iter() {
        values.insert(name.to_string(), Value::from_json(value)?);
    }
    Ok(values)
}

/// The key of `table` that `values` (from [`key_values`]) name.
pub fn key_from_values(
    shard: &Shard,
    table: &TableDef,
    mut values: Item,
) -> Result<ItemKey, ApiError> {
    let schema_len = 1 + usize::from(table.sort_key.is_some());
    let mismatch = || ApiError::validation("The provided key element does not match the schema");
    if values.len() != schema_len {
        return Err(mismatch());
    }
    let pk = values
        .remove(&table.partition_key.name)
        .ok_or_else(mismatch)?;
    if !matches_type(&table.partition_key, &pk) {
        return Err(mismatch());
    }
    let sk = match &table.sort_key {
        Some(attr) => {
            let sk = values.remove(&attr.name).ok_or_else(mismatch)?;
            if !matches_type(attr, &sk) {
                return Err(mismatch());
            }
            Some(sk)
        }
        None => None,
    };
    check_key_value(&table.partition_key, &pk, true)?;
    if let (Some(attr), Some(sk)) = (&table.sort_key, &sk) {
        check_key_value(attr, sk, false)?;
    }
    Ok(make_key(shard, table, pk, sk))
}

/// The ExclusiveStartKey of a table read: as many attributes as the key
/// schema has, named as it names them, with their types.
pub fn start_key_from_json(
    shard: &Shard,
    table: &TableDef,
    json: &Json<'_>,
) -> Result<ItemKey, ApiError> {
    let values = key_values(json).map_err(|e| {
        ApiError::validation(format!(
            "The provided starting key is invalid: {}",
            e.message
        ))
    })?;
    let schema_len = 1 + usize::from(table.sort_key.is_some());
    if values.len() != schema_len {
        return Err(ApiError::validation(
            "Exclusive Start Key must have same size as table's key schema",
        ));
    }
    if table.key_attrs().any(|a| !values.contains_key(&a.name)) {
        return Err(ApiError::validation("The provided starting key is invalid"));
    }
    key_from_values(shard, table, values).map_err(|e| {
        ApiError::validation(format!(
            "The provided starting key is invalid: {}",
            e.message
        ))
    })
}

/// The key of a whole item (PutItem, BatchWriteItem puts).
pub fn key_of_item(shard: &Shard, table: &TableDef, item: &Item) -> Result<ItemKey, ApiError> {
    let attr_value = |attr: &KeyAttr| -> Result<Value, ApiError> {
        let value = item.get(&attr.name).ok_or_else(|| {
            ApiError::invalid_parameter(format!("Missing the key {} in the item", attr.name))
        })?;
        if !matches_type(attr, value) {
            return Err(ApiError::invalid_parameter(format!(
                "Type mismatch for key {} expected: {} actual: {}",
                attr.name,
                attr.key_type.as_str(),
                value.type_name()
            )));
        }
        Ok(value.clone())
    };
    let pk = attr_value(&table.partition_key)?;
    let sk = match &table.sort_key {
        Some(attr) => Some(attr_value(attr)?),
        None => None,
    };
    check_key_value(&table.partition_key, &pk, true)?;
    if let (Some(attr), Some(sk)) = (&table.sort_key, &sk) {
        check_key_value(attr, sk, false)?;
    }
    Ok(make_key(shard, table, pk, sk))
}

pub fn check_item_size(item: &Item) -> Result<(), ApiError> {
    if item_size(item) > ITEM_BYTES_MAX {
        return Err(ApiError::validation(
            "Item size has exceeded the maximum allowed size",
        ));
    }
    Ok(())
}
