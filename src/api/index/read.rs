//! What Query and Scan share when they read an index (`IndexName`): finding
//! the index and refusing reads DynamoDB refuses, deciding whether base items
//! must be fetched, and reading ExclusiveStartKey as an entry key.
//!
//! The one decision: a GSI answers only from its entries (DynamoDB cannot
//! fetch from the table for a GSI, so asking for an unprojected attribute is
//! a ValidationException), while an LSI entry lives on its base item's shard,
//! so a read needing unprojected attributes fetches the base item there, as
//! DynamoDB does (and charges the table for it).

use simd_json::BorrowedValue as Json;

use super::keys::{self, EntryKey};
use crate::api::expr::params::filter_names;
use crate::api::expr::{Condition, Projection};
use crate::api::protocol::error::ApiError;
use crate::api::protocol::params::SelectKind;
use crate::api::protocol::request::Fields;
use crate::catalog::{IndexDef, IndexKind, IndexStatus, ProjectionType, TableDef};
use crate::model::{Item, Value};
use crate::routing::PartitionMap;

/// The index a read names, or DynamoDB's error for reading it.
pub fn resolve<'t>(
    table: &'t TableDef,
    name: &str,
    consistent: bool,
) -> Result<&'t IndexDef, ApiError> {
    let index = table.index(name).ok_or_else(|| {
        ApiError::validation(format!(
            "The table does not have the specified index: {name}"
        ))
    })?;
    if index.kind == IndexKind::Global && consistent {
        return Err(ApiError::validation(
            "Consistent reads are not supported on global secondary indexes",
        ));
    }
    if index.status == IndexStatus::Creating {
        return Err(ApiError::validation(format!(
            "Cannot read from backfilling global secondary index: {name}"
        )));
    }
    Ok(index)
}

/// How the entries of one read are turned into items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadPlan {
    /// Read each entry's base item (LSI only).
    pub fetch_base: bool,
    /// Cut fetched base items back to the index's projection (no
    /// ProjectionExpression and no ALL_ATTRIBUTES).
    pub reshape: bool,
}

fn unprojected<'a>(
    table: &TableDef,
    index: &IndexDef,
    names: impl Iterator<Item = &'a str>,
) -> Vec<&'a str> {
    let mut out: Vec<&str> = names.filter(|n| !keys::projects(table, index, n)).collect();
    out.dedup();
    out
}

/// Checks what the read asks for against the index's projection.
pub fn plan(
    table: &TableDef,
    index: &IndexDef,
    select: SelectKind,
    projection: Option<&Projection>,
    filter: Option<&Condition>,
) -> Result<ReadPlan, ApiError> {
    let global = index.kind == IndexKind::Global;
    let mut fetch_base = false;
    if select == SelectKind::AllAttributes && index.projection_type != ProjectionType::All {
        if global {
            return Err(ApiError::invalid_parameter(format!(
                "Select type ALL_ATTRIBUTES is not supported for global secondary index {} because its projection type is not ALL",
                index.name
            )));
        }
        fetch_base = true;
    }
    if let Some(projection) = projection {
        let missing = unprojected(table, index, projection.top_level_names());
        if !missing.is_empty() {
            if global {
                return Err(ApiError::invalid_parameter(format!(
                    "Global secondary index {} does not project [{}]",
                    index.name,
                    missing.join(", ")
                )));
            }
            fetch_base = true;
        }
    }
    if let Some(filter) = filter {
        let missing = unprojected(table, index, filter_names(filter).into_iter());
        if !missing.is_empty() {
            if global {
                return Err(ApiError::invalid_parameter(format!(
                    "Secondary index {} does not project one or more filter attributes: [{}]",
                    index.name,
                    missing.join(", ")
                )));
            }
            fetch_base = true;
        }
    }
    let reshape = fetch_base && projection.is_none() && select != SelectKind::AllAttributes;
    Ok(ReadPlan {
        fetch_base,
        reshape,
    })
}

/// ExclusiveStartKey of an index read: exactly the table's and the index's
/// key attributes, with their types; returns the key as an item and the
/// entry key it names.
pub fn start_key(
    map: &PartitionMap,
    table: &TableDef,
    index: &IndexDef,
    json: &Json<'_>,
) -> Result<(Item, EntryKey), ApiError> {
    let fields = Fields::of(json)?;
    let mut item = Item::new();
    for (name, value) in fields.iter() {
        item.insert(name.to_string(), Value::from_json(value)?);
    }
    let invalid = || ApiError::validation("The provided starting key is invalid");
    let mut names: Vec<&str> = table
        .key_attrs()
        .chain(index.key_attrs())
        .map(|a| a.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    if item.len() != names.len() || names.iter().any(|n| !item.contains_key(*n)) {
        return Err(invalid());
    }
    let entry = keys::entry_key(map, table, index, &item).ok_or_else(|| {
        ApiError::validation(
            "The provided starting key is invalid: The provided key element does not match the schema",
        )
    })?;
    Ok((item, entry))
}

/// The table key (partition key, sort key) of an entry, in the form
/// `table::key::make_key` takes.
pub fn base_key_values(table: &TableDef, entry: &Item) -> Option<(Value, Option<Value>)> {
    let pk = entry.get(&table.partition_key.name)?.clone();
    let sk = match &table.sort_key {
        Some(attr) => Some(entry.get(&attr.name)?.clone()),
        None => None,
    };
    Some((pk, sk))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::expr::{Path, PathElem};
    use crate::catalog::{KeyAttr, KeyType};

    fn attr(name: &str) -> KeyAttr {
        KeyAttr {
            name: name.into(),
            key_type: KeyType::S,
        }
    }

    fn table(kind: IndexKind, projection_type: ProjectionType) -> TableDef {
        TableDef::for_tests(
            "t",
            attr("pk"),
            Some(attr("sk")),
            vec![IndexDef {
                id: 2,
                name: "ix".into(),
                kind,
                hash_keys: vec![attr(if kind == IndexKind::Local { "pk" } else { "g" })],
                range_keys: vec![attr("r")],
                projection_type,
                non_key_attributes: vec!["inc".into()],
                status: IndexStatus::Active,
                read_capacity_units: 0,
                write_capacity_units: 0,
                throughput_changes: Default::default(),
            }],
        )
    }

    fn projection(names: &[&str]) -> Projection {
        Projection::from_paths(
            names
                .iter()
                .map(|n| Path(vec![PathElem::Attr(n.to_string())]))
                .collect(),
        )
    }

    #[test]
    fn resolve_refuses_unknown_backfilling_and_consistent_gsi_reads() {
        let mut t = table(IndexKind::Global, ProjectionType::All);
        assert!(resolve(&t, "ix", false).is_ok());
        assert_eq!(
            resolve(&t, "nope", false).expect_err("unknown").message,
            "The table does not have the specified index: nope"
        );
        assert_eq!(
            resolve(&t, "ix", true).expect_err("consistent").message,
            "Consistent reads are not supported on global secondary indexes"
        );
        t.indexes[0].status = IndexStatus::Creating;
        assert_eq!(
            resolve(&t, "ix", false).expect_err("backfilling").message,
            "Cannot read from backfilling global secondary index: ix"
        );
        let lsi = table(IndexKind::Local, ProjectionType::All);
        assert!(
            resolve(&lsi, "ix", true).is_ok(),
            "an LSI reads consistently"
        );
    }

    #[test]
    fn gsi_refuses_what_it_does_not_project() {
        let t = table(IndexKind::Global, ProjectionType::Include);
        let ix = &t.indexes[0];
        let e = plan(&t, ix, SelectKind::AllAttributes, None, None).expect_err("refused");
        assert!(e.message.contains("Select type ALL_ATTRIBUTES is not supported for global secondary index ix because its projection type is not ALL"), "{}", e.message);
        let p = projection(&["inc", "pk", "other", "more"]);
        let e = plan(&t, ix, SelectKind::Specific, Some(&p), None).expect_err("refused");
        assert_eq!(
            e.message,
            "One or more parameter values were invalid: Global secondary index ix does not project [more, other]"
        );
        let p = projection(&["inc", "g", "r", "sk"]);
        assert_eq!(
            plan(&t, ix, SelectKind::Specific, Some(&p), None).expect("projected"),
            ReadPlan {
                fetch_base: false,
                reshape: false
            }
        );
        let all = table(IndexKind::Global, ProjectionType::All);
        assert!(plan(&all, &all.indexes[0], SelectKind::AllAttributes, None, None).is_ok());
    }

    #[test]
    fn lsi_fetches_what_it_does_not_project() {
        let t = table(IndexKind::Local, ProjectionType::KeysOnly);
        let ix = &t.indexes[0];
        let plan_of = |select, p: Option<&Projection>| plan(&t, ix, select, p, None).expect("ok");
        assert!(plan_of(SelectKind::AllAttributes, None).fetch_base);
        assert!(!plan_of(SelectKind::AllAttributes, None).reshape);
        assert!(!plan_of(SelectKind::AllProjected, None).fetch_base);
        let p = projection(&["other"]);
        assert!(plan_of(SelectKind::Specific, Some(&p)).fetch_base);
        let p = projection(&["r", "pk"]);
        assert!(!plan_of(SelectKind::Specific, Some(&p)).fetch_base);
    }

    #[test]
    fn start_keys_need_table_and_index_keys() {
        let t = table(IndexKind::Global, ProjectionType::All);
        let ix = &t.indexes[0];
        let map = PartitionMap::new(2);
        let parse = |text: &str| {
            let mut bytes = text.as_bytes().to_vec();
            let json = simd_json::to_borrowed_value(&mut bytes).expect("json");
            start_key(&map, &t, ix, &json).map(|(item, _)| item.len())
        };
        let full = r#"{"pk":{"S":"a"},"sk":{"S":"b"},"g":{"S":"c"},"r":{"S":"d"}}"#;
        assert_eq!(parse(full).expect("valid"), 4);
        let missing = r#"{"pk":{"S":"a"},"sk":{"S":"b"},"g":{"S":"c"}}"#;
        assert_eq!(
            parse(missing).expect_err("invalid").message,
            "The provided starting key is invalid"
        );
        let extra = r#"{"pk":{"S":"a"},"sk":{"S":"b"},"g":{"S":"c"},"r":{"S":"d"},"x":{"S":"e"}}"#;
        assert!(parse(extra).is_err());
        let typed = r#"{"pk":{"S":"a"},"sk":{"S":"b"},"g":{"S":"c"},"r":{"N":"1"}}"#;
        assert_eq!(
            parse(typed).expect_err("invalid").message,
            "The provided starting key is invalid: The provided key element does not match the schema"
        );
    }
}
