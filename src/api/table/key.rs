//! Item-level shared logic: keys from requests and items, placement, size
//! limits, ReturnValues / ReturnConsumedCapacity, projections.

use std::sync::Arc;

use simd_json::BorrowedValue as Json;

use super::Shard;
use super::error::{ApiError, Violations};
use super::request::Fields;
use crate::catalog::{KeyAttr, TableDef};
use crate::model::key::{item_key, placement_bytes};
use crate::model::value::{Item, MAX_ITEM_BYTES, Value, item_size, write_json_map, write_json_str};
use crate::routing::placement_hash;

pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
pub const MAX_SORT_KEY_BYTES: usize = 1024;

/// A validated primary key, its placement and its storage key.
#[derive(Clone, Debug)]
pub struct ItemKey {
    pub pk: Value,
    pub sk: Option<Value>,
    pub hash: u64,
    pub owner: u32,
    pub storage: Vec<u8>,
}

/// The table for an item-level operation (ResourceNotFoundException if absent).
pub fn table_for_items(shard: &Shard, name: &str) -> Result<Arc<TableDef>, ApiError> {
    shard
        .catalog()
        .table(name)
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
    if is_partition && size > MAX_PARTITION_KEY_BYTES {
        return Err(ApiError::invalid_parameter(
            "Size of hashkey has exceeded the maximum size limit of2048 bytes",
        ));
    }
    if !is_partition && size > MAX_SORT_KEY_BYTES {
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
    match placement_bytes(pk) {
        Some((tag, bytes)) => placement_hash(&table.name, tag, &bytes),
        None => 0,
    }
}

/// Builds the placement and storage key from validated key values.
pub fn make_key(shard: &Shard, table: &TableDef, pk: Value, sk: Option<Value>) -> ItemKey {
    let hash = partition_hash(table, &pk);
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
    let fields = Fields::of(key)?;
    let mut values = Item::new();
    for (name, value) in fields.iter() {
        values.insert(name.to_string(), Value::from_json(value)?);
    }
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
    if item_size(item) > MAX_ITEM_BYTES {
        return Err(ApiError::validation(
            "Item size has exceeded the maximum allowed size",
        ));
    }
    Ok(())
}

/// The members every single-item operation opens with, validated together
/// as DynamoDB's validator reports them: TableName, the required `Item` or
/// `Key`, ReturnValues (writes only) and ReturnConsumedCapacity.
pub struct ItemRequest<'a, 'v> {
    pub table_name: &'a str,
    pub target: &'a Json<'v>,
    pub return_values: &'a str,
    pub consumed: ConsumedMode,
}

/// Reads [`ItemRequest`]: `member` is "Item" or "Key", `path` its
/// validator name ("item", "key"); `writes` adds ReturnValues.
pub fn item_request<'a, 'v>(
    fields: &Fields<'a, 'v>,
    member: &str,
    path: &str,
    writes: bool,
) -> Result<ItemRequest<'a, 'v>, ApiError> {
    let mut v = Violations::default();
    let name = fields.str("TableName")?;
    super::tables::check_table_name(&mut v, name, "tableName");
    let target = fields.get(member);
    if target.is_none() {
        v.null(path);
    }
    let return_values = if writes {
        return_values(fields, &mut v)?
    } else {
        "NONE"
    };
    let consumed = consumed_mode(fields, &mut v)?;
    v.into_result()?;
    match (name, target) {
        (Some(table_name), Some(target)) => Ok(ItemRequest {
            table_name,
            target,
            return_values,
            consumed,
        }),
        _ => Err(ApiError::validation(format!(
            "TableName and {member} are required"
        ))),
    }
}

/// The members both batch operations open with: a non-empty RequestItems
/// map and ReturnConsumedCapacity, validated together.
pub fn batch_request_items<'a, 'v>(
    fields: &Fields<'a, 'v>,
) -> Result<(Fields<'a, 'v>, ConsumedMode), ApiError> {
    let mut v = Violations::default();
    let request_items = fields.object("RequestItems")?;
    if request_items.is_none() {
        v.null("requestItems");
    }
    let consumed = consumed_mode(fields, &mut v)?;
    v.into_result()?;
    let Some(request_items) = request_items else {
        return Err(ApiError::validation("RequestItems is required"));
    };
    if request_items.is_empty() {
        return Err(ApiError::validation(
            "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    Ok((request_items, consumed))
}

/// ReturnConsumedCapacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumedMode {
    None,
    Total,
    Indexes,
}

pub fn consumed_mode(
    fields: &Fields<'_, '_>,
    v: &mut Violations,
) -> Result<ConsumedMode, ApiError> {
    Ok(match fields.str("ReturnConsumedCapacity")? {
        None | Some("NONE") => ConsumedMode::None,
        Some("TOTAL") => ConsumedMode::Total,
        Some("INDEXES") => ConsumedMode::Indexes,
        Some(other) => {
            v.push(
                &format!("'{other}'"),
                "returnConsumedCapacity",
                "Member must satisfy enum value set: [INDEXES, TOTAL, NONE]",
            );
            ConsumedMode::None
        }
    })
}

/// Validates a ReturnValues member against DynamoDB's enum.
pub fn return_values<'a>(fields: &Fields<'a, '_>, v: &mut Violations) -> Result<&'a str, ApiError> {
    let value = fields.str("ReturnValues")?.unwrap_or("NONE");
    if !matches!(
        value,
        "NONE" | "ALL_OLD" | "UPDATED_OLD" | "ALL_NEW" | "UPDATED_NEW"
    ) {
        v.push(
            &format!("'{value}'"),
            "returnValues",
            "Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]",
        );
    }
    Ok(value)
}

/// Write capacity units: 1 per KB of the larger of old and new item.
pub fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

/// Read capacity units: 1 per 4 KB, halved for eventually consistent reads.
pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

/// Appends `,"ConsumedCapacity":{…}` when requested.
pub fn write_consumed(out: &mut Vec<u8>, mode: ConsumedMode, table: &str, units: f64) {
    write_consumed_with_indexes(out, mode, table, units, &[]);
}

/// `"ConsumedCapacity":{…}` of a table and the index writes it caused:
/// TOTAL sums them; INDEXES also breaks them down by index.
pub fn write_consumed_with_indexes(
    out: &mut Vec<u8>,
    mode: ConsumedMode,
    table: &str,
    table_units: f64,
    index_units: &[super::index::maintain::IndexUnits],
) {
    if mode == ConsumedMode::None {
        return;
    }
    out.extend_from_slice(b"\"ConsumedCapacity\":");
    write_consumed_object(out, mode, table, table_units, index_units);
}

/// One ConsumedCapacity object `{"TableName":…,"CapacityUnits":…,…}`
/// (mode TOTAL or INDEXES).
pub fn write_consumed_object(
    out: &mut Vec<u8>,
    mode: ConsumedMode,
    table: &str,
    table_units: f64,
    index_units: &[super::index::maintain::IndexUnits],
) {
    use crate::catalog::IndexKind;
    let total = table_units + index_units.iter().map(|u| u.units).sum::<f64>();
    out.extend_from_slice(b"{\"TableName\":");
    write_json_str(out, table);
    out.extend_from_slice(format!(",\"CapacityUnits\":{total:?}").as_bytes());
    if mode == ConsumedMode::Indexes {
        out.extend_from_slice(
            format!(",\"Table\":{{\"CapacityUnits\":{table_units:?}}}").as_bytes(),
        );
        for (kind, member) in [
            (IndexKind::Local, "LocalSecondaryIndexes"),
            (IndexKind::Global, "GlobalSecondaryIndexes"),
        ] {
            let mut per_index: std::collections::BTreeMap<&str, f64> = Default::default();
            for u in index_units.iter().filter(|u| u.kind == kind) {
                *per_index.entry(u.index.as_str()).or_default() += u.units;
            }
            if per_index.is_empty() {
                continue;
            }
            out.extend_from_slice(format!(",\"{member}\":{{").as_bytes());
            for (i, (name, units)) in per_index.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, name);
                out.extend_from_slice(format!(":{{\"CapacityUnits\":{units:?}}}").as_bytes());
            }
            out.push(b'}');
        }
    }
    out.push(b'}');
}

/// Builds `{"Attributes":…, "ConsumedCapacity":…}` style replies.
pub struct ReplyBuilder {
    out: Vec<u8>,
    first: bool,
}

impl ReplyBuilder {
    pub fn new() -> Self {
        let mut out = Vec::with_capacity(256);
        out.push(b'{');
        ReplyBuilder { out, first: true }
    }

    fn sep(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    pub fn item(&mut self, name: &str, item: &Item) {
        self.sep();
        write_json_str(&mut self.out, name);
        self.out.push(b':');
        write_json_map(&mut self.out, item);
    }

    pub fn consumed(&mut self, mode: ConsumedMode, table: &str, units: f64) {
        self.consumed_with_indexes(mode, table, units, &[]);
    }

    /// ConsumedCapacity of a write that also wrote index entries.
    pub fn consumed_with_indexes(
        &mut self,
        mode: ConsumedMode,
        table: &str,
        units: f64,
        index_units: &[super::index::maintain::IndexUnits],
    ) {
        if mode != ConsumedMode::None {
            self.sep();
            write_consumed_with_indexes(&mut self.out, mode, table, units, index_units);
        }
    }

    /// ItemCollectionMetrics of a single-item write (tables with LSIs).
    pub fn collection_metrics(&mut self, metrics: &[super::index::maintain::CollectionMetrics]) {
        if let Some(m) = metrics.first() {
            self.sep();
            write_json_str(&mut self.out, "ItemCollectionMetrics");
            self.out.push(b':');
            m.write_json(&mut self.out);
        }
    }

    pub fn raw(&mut self, name: &str, json: &[u8]) {
        self.sep();
        write_json_str(&mut self.out, name);
        self.out.push(b':');
        self.out.extend_from_slice(json);
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.out.push(b'}');
        self.out
    }
}

impl Default for ReplyBuilder {
    fn default() -> Self {
        Self::new()
    }
}
