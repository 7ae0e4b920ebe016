//! Index entry keys, placement and projections.
//!
//! ```text
//! entry key := index_id:u32 BE ‖ hash:u64 BE ‖ enc(h1)‖…‖enc(hn) ‖ enc(r1)‖…‖enc(rm) ‖ base
//!   base (GSI) := enc(table pk) ‖ enc_last(table sk)?
//!   base (LSI) := enc_last(table sk)          (h1 is the table's partition key)
//!   hash (LSI) := the base item's placement hash: same shard, same partition
//!   hash (GSI) := placement_hash(table ‖ "/" ‖ index, tag, bytes) where, for one
//!                 hash attribute, tag and bytes are its placement bytes, and for
//!                 several, tag = b'M' and bytes = for each: tag ‖ len:u32 BE ‖ bytes
//! ```
//! `enc` is the prefix-free order-preserving encoding of `model::key`, so
//! entries of one index partition sort by (r1, …, rm) as DynamoDB orders
//! them, then by the base key, which makes every entry key unique. The
//! index id is a table-id-space prefix, so an index is dropped, counted and
//! scanned exactly like a table.
//!
//! An item has an entry in an index only if it has every index key
//! attribute with the declared type, non-empty and within DynamoDB's key
//! size limits (`violation`): sparse indexes, and DynamoDB's rule that a
//! backfill leaves violating items out of the index. Writes of such values
//! are rejected at the door (`check_item`), which every write path calls
//! before anything is written, so only a backfill over items written before
//! the index existed can meet them here.

use crate::api::protocol::error::ApiError;
use crate::api::table::key::{
    PARTITION_KEY_BYTES_MAX, SORT_KEY_BYTES_MAX, matches_type,
    partition_hash as table_partition_hash,
};
use crate::catalog::{IndexDef, IndexKind, KeyAttr, ProjectionType, TableDef};
use crate::model::key::{placement_bytes, push_component, push_sort_key};
use crate::model::{Item, Value};
use crate::routing::{PartitionMap, placement_hash};

/// An index entry's placement and storage key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryKey {
    pub hash: u64,
    pub owner: u32,
    pub storage: Vec<u8>,
}

/// The placement hash of an index partition given its hash-key values
/// (in schema order).
pub fn partition_hash(table: &TableDef, index: &IndexDef, hash_values: &[&Value]) -> u64 {
    let placement = |v: &Value| placement_bytes(v).unwrap_or((b'?', Vec::new()));
    match index.kind {
        // The base partition's own hash: same shard, same partition.
        IndexKind::Local => {
            table_partition_hash(table, hash_values.first().copied().unwrap_or(&Value::Null))
        }
        IndexKind::Global => {
            let name = format!("{}/{}", table.name, index.name);
            if let [single] = hash_values {
                let (tag, bytes) = placement(single);
                return placement_hash(&name, tag, &bytes);
            }
            let mut bytes = Vec::new();
            for value in hash_values {
                let (tag, b) = placement(value);
                bytes.push(tag);
                bytes.extend_from_slice(&(b.len() as u32).to_be_bytes());
                bytes.extend_from_slice(&b);
            }
            placement_hash(&name, b'M', &bytes)
        }
    }
}

/// The prefix shared by every entry of one index partition.
pub fn partition_prefix(index: &IndexDef, hash: u64, hash_values: &[&Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(48);
    out.extend_from_slice(&index.id.to_be_bytes());
    out.extend_from_slice(&hash.to_be_bytes());
    for value in hash_values {
        push_component(&mut out, value);
    }
    out
}

/// Appends one range-key value of an index entry key.
pub fn push_range_value(out: &mut Vec<u8>, value: &Value) {
    push_component(out, value);
}

/// The index key values of `item` (hash keys then range keys), or None if
/// the item lacks one or has it with another type (it is not indexed).
pub fn key_values<'a>(index: &IndexDef, item: &'a Item) -> Option<Vec<&'a Value>> {
    let hash_keys = index.hash_keys.len();
    index
        .key_attrs()
        .enumerate()
        .map(|(i, attr)| {
            let value = item.get(&attr.name)?;
            violation(attr, value, i < hash_keys)
                .is_none()
                .then_some(value)
        })
        .collect()
}

/// Why a value cannot be an index key value (wrong type, empty, too long).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyViolation {
    WrongType,
    Empty(&'static str),
    TooLarge { size: usize, max: usize },
}

/// Checks one index key value against its attribute: DynamoDB's order is
/// type, then emptiness, then size. Each attribute of a multi-attribute GSI
/// key is limited on its own (2048 bytes for a HASH attribute, 1024 for a
/// RANGE one): DynamoDB's message names one Index Key and its size.
pub fn violation(attr: &KeyAttr, value: &Value, is_hash: bool) -> Option<KeyViolation> {
    if !matches_type(attr, value) {
        return Some(KeyViolation::WrongType);
    }
    match value {
        Value::S(s) if s.is_empty() => return Some(KeyViolation::Empty("string")),
        Value::B(b) if b.is_empty() => return Some(KeyViolation::Empty("binary")),
        _ => {}
    }
    let max = if is_hash {
        PARTITION_KEY_BYTES_MAX
    } else {
        SORT_KEY_BYTES_MAX
    };
    let size = value.size();
    (size > max).then_some(KeyViolation::TooLarge { size, max })
}

/// The entry key of `item` in `index`, if the item belongs to the index.
pub fn entry_key(
    map: &PartitionMap,
    table: &TableDef,
    index: &IndexDef,
    item: &Item,
) -> Option<EntryKey> {
    let values = key_values(index, item)?;
    let (hash_values, range_values) = values.split_at(index.hash_keys.len());
    let hash = partition_hash(table, index, hash_values);
    let mut storage = partition_prefix(index, hash, hash_values);
    for value in range_values {
        push_component(&mut storage, value);
    }
    let pk = item.get(&table.partition_key.name)?;
    if index.kind == IndexKind::Global {
        push_component(&mut storage, pk);
    }
    if let Some(attr) = &table.sort_key {
        push_sort_key(&mut storage, item.get(&attr.name)?);
    }
    Some(EntryKey {
        hash,
        owner: map.owner(hash),
        storage,
    })
}

/// Whether `name` is stored in the index's entries.
pub fn projects(table: &TableDef, index: &IndexDef, name: &str) -> bool {
    match index.projection_type {
        ProjectionType::All => true,
        ProjectionType::KeysOnly | ProjectionType::Include => {
            table.key_attrs().any(|a| a.name == name)
                || index.key_attrs().any(|a| a.name == name)
                || (index.projection_type == ProjectionType::Include
                    && index.non_key_attributes.iter().any(|n| n == name))
        }
    }
}

/// The part of `item` an index entry stores.
pub fn project(table: &TableDef, index: &IndexDef, item: &Item) -> Item {
    if index.projection_type == ProjectionType::All {
        return item.clone();
    }
    item.iter()
        .filter(|(name, _)| projects(table, index, name))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

/// The key attributes of an entry as LastEvaluatedKey shows them: the
/// table's keys and the index's.
pub fn last_evaluated_key(table: &TableDef, index: &IndexDef, item: &Item) -> Item {
    table
        .key_attrs()
        .chain(index.key_attrs())
        .filter_map(|a| item.get(&a.name).map(|v| (a.name.clone(), v.clone())))
        .collect()
}

/// Rejects an item whose index key attributes have the wrong type, are
/// empty or exceed DynamoDB's key size limits, as DynamoDB does on every
/// write path (PutItem, UpdateItem, BatchWriteItem; transactions will call
/// it too) before anything is written. `from_update` selects UpdateItem's
/// wording for empty values.
///
/// Size messages are DynamoDB's, as its responses show them (quoted in
/// architect/dynalite#35 and in user reports): "Size limit exceeded for
/// Index Key {attr} Actual Size: {n} bytes Max Size: {max} bytes IndexName:
/// {index}", the same for PutItem and UpdateItem (DynamoDB Local, too,
/// answers both with one text, its shorter "Size limit exceeded").
pub fn check_item(table: &TableDef, item: &Item, from_update: bool) -> Result<(), ApiError> {
    // DynamoDB names the alphabetically first index when an attribute keys
    // several.
    let mut indexes: Vec<&IndexDef> = table.indexes.iter().collect();
    indexes.sort_by(|a, b| a.name.cmp(&b.name));
    for index in indexes {
        let hash_keys = index.hash_keys.len();
        for (i, attr) in index.key_attrs().enumerate() {
            let Some(value) = item.get(&attr.name) else {
                continue;
            };
            match violation(attr, value, i < hash_keys) {
                None => {}
                Some(KeyViolation::WrongType) => {
                    return Err(ApiError::validation(format!(
                        "One or more parameter values were invalid: Type mismatch for Index Key {} Expected: {} Actual: {} IndexName: {}",
                        attr.name,
                        attr.key_type.as_str(),
                        value.type_name(),
                        index.name
                    )));
                }
                Some(KeyViolation::Empty(kind)) => {
                    let what = if from_update {
                        "The update expression attempted to update a secondary index key to a value that is not supported"
                    } else {
                        "A value specified for a secondary index key is not supported"
                    };
                    return Err(ApiError::validation(format!(
                        "One or more parameter values are not valid. {what}. The AttributeValue for a key attribute cannot contain an empty {kind} value. IndexName: {}, IndexKey: {}",
                        index.name, attr.name
                    )));
                }
                Some(KeyViolation::TooLarge { size, max }) => {
                    return Err(ApiError::invalid_parameter(format!(
                        "Size limit exceeded for Index Key {} Actual Size: {size} bytes Max Size: {max} bytes IndexName: {}",
                        attr.name, index.name
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::fixtures::attr;
    use crate::catalog::{IndexStatus, KeyType};

    pub fn table() -> TableDef {
        TableDef::for_tests(
            "t",
            attr("pk", KeyType::S),
            Some(attr("sk", KeyType::N)),
            vec![IndexDef {
                id: 2,
                name: "g".into(),
                kind: IndexKind::Global,
                hash_keys: vec![attr("gp", KeyType::S)],
                range_keys: vec![attr("gs", KeyType::S)],
                projection_type: ProjectionType::KeysOnly,
                non_key_attributes: vec![],
                status: IndexStatus::Active,
                read_capacity_units: 0,
                write_capacity_units: 0,
                throughput_changes: Default::default(),
            }],
        )
    }

    fn item(pairs: &[(&str, Value)]) -> Item {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn entry_keys_order_by_range_then_base_key() {
        let t = table();
        let g = &t.indexes[0];
        let map = PartitionMap::new(4);
        let n = |s: &str| Value::N(crate::model::Number::parse(s).expect("number"));
        let s = |s: &str| Value::S(s.into());
        let key = |gs: &str, pk: &str, sk: &str| {
            entry_key(
                &map,
                &t,
                g,
                &item(&[("pk", s(pk)), ("sk", n(sk)), ("gp", s("p")), ("gs", s(gs))]),
            )
            .expect("indexed")
        };
        let a = key("a", "z", "1");
        let ab = key("a\0", "a", "1");
        let b = key("b", "a", "1");
        let b2 = key("b", "a", "2");
        assert_eq!(a.hash, b.hash);
        assert!(a.storage < ab.storage && ab.storage < b.storage && b.storage < b2.storage);
        // Sparse: no gs, no entry; a wrongly typed gs, no entry.
        assert!(
            entry_key(
                &map,
                &t,
                g,
                &item(&[("pk", s("a")), ("sk", n("1")), ("gp", s("p"))])
            )
            .is_none()
        );
        assert!(
            entry_key(
                &map,
                &t,
                g,
                &item(&[
                    ("pk", s("a")),
                    ("sk", n("1")),
                    ("gp", s("p")),
                    ("gs", n("1"))
                ])
            )
            .is_none()
        );
    }

    #[test]
    fn projection_keeps_keys_and_included_attributes() {
        let mut t = table();
        let full = item(&[
            ("pk", Value::S("a".into())),
            ("sk", Value::S("1".into())),
            ("gp", Value::S("p".into())),
            ("x", Value::S("x".into())),
            ("y", Value::S("y".into())),
        ]);
        let keys: Vec<String> = project(&t, &t.indexes[0], &full).into_keys().collect();
        assert_eq!(keys, ["gp", "pk", "sk"]);
        t.indexes[0].projection_type = ProjectionType::Include;
        t.indexes[0].non_key_attributes = vec!["y".into()];
        let keys: Vec<String> = project(&t, &t.indexes[0], &full).into_keys().collect();
        assert_eq!(keys, ["gp", "pk", "sk", "y"]);
    }

    #[test]
    fn wrong_index_key_types_are_rejected() {
        let t = table();
        let bad = item(&[
            ("pk", Value::S("a".into())),
            ("gp", Value::N(crate::model::Number::parse("1").expect("n"))),
        ]);
        let e = check_item(&t, &bad, false).expect_err("type mismatch");
        assert!(
            e.message
                .contains("Type mismatch for Index Key gp Expected: S Actual: N IndexName: g"),
            "{}",
            e.message
        );
        let empty = item(&[
            ("pk", Value::S("a".into())),
            ("gp", Value::S(String::new())),
        ]);
        assert!(check_item(&t, &empty, false).is_err());
        assert!(check_item(&t, &item(&[("pk", Value::S("a".into()))]), false).is_ok());
    }

    #[test]
    fn index_key_sizes_are_limited_per_attribute() {
        let t = table();
        let s = |n: usize| Value::S("x".repeat(n));
        let at_limit = item(&[("pk", s(1)), ("gp", s(2048)), ("gs", s(1024))]);
        assert!(check_item(&t, &at_limit, false).is_ok());
        assert!(key_values(&t.indexes[0], &at_limit).is_some());
        let long_hash = item(&[("pk", s(1)), ("gp", s(2049)), ("gs", s(1))]);
        let e = check_item(&t, &long_hash, false).expect_err("hash too long");
        assert_eq!(
            e.message,
            "One or more parameter values were invalid: Size limit exceeded for Index Key gp Actual Size: 2049 bytes Max Size: 2048 bytes IndexName: g"
        );
        let long_range = item(&[("pk", s(1)), ("gp", s(1)), ("gs", s(1025))]);
        let e = check_item(&t, &long_range, true).expect_err("range too long");
        assert!(
            e.message
                .contains("Index Key gs Actual Size: 1025 bytes Max Size: 1024 bytes")
        );
        // A backfill leaves every violating item out of the index.
        for bad in [long_hash, long_range] {
            assert!(key_values(&t.indexes[0], &bad).is_none());
        }
        let empty = item(&[("pk", s(1)), ("gp", s(0)), ("gs", s(1))]);
        assert!(key_values(&t.indexes[0], &empty).is_none());
    }
}
