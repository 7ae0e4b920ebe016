//! Secondary index definitions as CreateTable and UpdateTable receive them:
//! reading and validating `LocalSecondaryIndexes`, `GlobalSecondaryIndexes`
//! and `GlobalSecondaryIndexUpdates[].Create`, and building `IndexDef`s.
//!
//! Validation runs in DynamoDB's two phases. The *shape* phase (`read_index`)
//! records every constraint violation of the request model — nulls, name
//! patterns, list lengths, enums, capacity minimums — into `Violations`,
//! which DynamoDB reports together. Only a request that passes it reaches the
//! *semantic* phase (`check_local`, `check_global`, `check_attribute_use`),
//! which stops at the first problem, in DynamoDB's order, with its
//! "One or more parameter values were invalid: …" message.
//!
//! The one design decision: an index is built with id 0 and status ACTIVE;
//! the DDL coordinator (`table::ddl::apply`) assigns ids, and makes a GSI added
//! by UpdateTable CREATING until its backfill completes.

use simd_json::BorrowedValue as Json;

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::names::check_resource_name;
use crate::api::protocol::request::{Fields, element_str};
use crate::catalog::{
    BillingMode, IndexDef, IndexKind, IndexStatus, KeyAttr, KeyType, ProjectionType,
};

/// DynamoDB's limits on index definitions.
pub const INDEX_HASH_KEYS_MAX: usize = 4;
pub const INDEX_RANGE_KEYS_MAX: usize = 4;
/// NonKeyAttributes summed over every index of a table (an attribute
/// projected into two indexes counts twice).
pub const PROJECTED_NON_KEY_ATTRIBUTES_MAX: usize = 100;

/// One index definition that passed the shape phase.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexInput {
    pub name: String,
    /// (AttributeName, KeyType) in request order; KeyType is HASH or RANGE.
    pub key_schema: Vec<(String, String)>,
    /// None when the Projection has no ProjectionType.
    pub projection_type: Option<ProjectionType>,
    pub non_key_attributes: Option<Vec<String>>,
    /// GSIs only: ProvisionedThroughput, if given.
    pub throughput: Option<(i64, i64)>,
}

impl IndexInput {
    fn key_names(&self) -> Vec<String> {
        self.key_schema.iter().map(|(n, _)| n.clone()).collect()
    }
}

/// Reads a ProvisionedThroughput object at `path`, recording violations.
/// Returns `Some` when it was given (with zeros where a member was invalid).
pub fn read_throughput(
    object: Option<Fields<'_, '_>>,
    v: &mut Violations,
    path: &str,
) -> Result<Option<(i64, i64)>, ApiError> {
    let Some(t) = object else {
        return Ok(None);
    };
    let rcu = t.i64("ReadCapacityUnits")?;
    let wcu = t.i64("WriteCapacityUnits")?;
    for (value, member) in [(wcu, "writeCapacityUnits"), (rcu, "readCapacityUnits")] {
        let at = format!("{path}.{member}");
        match value {
            None => v.null(&at),
            Some(n) if n < 1 => v.push(
                &format!("'{n}'"),
                &at,
                "Member must have value greater than or equal to 1",
            ),
            Some(_) => {}
        }
    }
    Ok(Some((rcu.unwrap_or(0), wcu.unwrap_or(0))))
}

/// Checks an IndexName member the way DynamoDB's validator reports it.
pub fn check_index_name(v: &mut Violations, name: Option<&str>, path: &str) {
    check_resource_name(v, name, path, true);
}

/// A key attribute's name: 1 to 255 bytes (a member constraint, reported
/// with the request's other violations).
pub fn check_key_attribute_name(v: &mut Violations, name: &str, path: &str) {
    if name.is_empty() {
        v.push(
            "''",
            path,
            "Member must have length greater than or equal to 1",
        );
    } else if name.len() > KEY_ATTRIBUTE_NAME_BYTES_MAX {
        v.push(
            &format!("'{name}'"),
            path,
            "Member must have length less than or equal to 255",
        );
    }
}

/// The longest name of a key attribute or of a projected attribute.
pub const KEY_ATTRIBUTE_NAME_BYTES_MAX: usize = 255;

/// Reads AttributeDefinitions (CreateTable, UpdateTable), recording shape
/// violations; returns the well-formed definitions in request order.
pub fn read_attribute_definitions(
    list: &[Json<'_>],
    v: &mut Violations,
) -> Result<Vec<KeyAttr>, ApiError> {
    let mut defs: Vec<KeyAttr> = Vec::new();
    for (i, def) in list.iter().enumerate() {
        let def = Fields::of(def)?;
        let attr_name = def.str("AttributeName")?;
        let attr_type = def.str("AttributeType")?;
        let path = format!("attributeDefinitions.{}.member", i + 1);
        match attr_name {
            None => v.null(&format!("{path}.attributeName")),
            Some(n) => check_key_attribute_name(v, n, &format!("{path}.attributeName")),
        }
        let key_type = match attr_type {
            None => {
                v.null(&format!("{path}.attributeType"));
                None
            }
            Some(t) => {
                let parsed = KeyType::parse(t);
                if parsed.is_none() {
                    v.push(
                        &format!("'{t}'"),
                        &format!("{path}.attributeType"),
                        "Member must satisfy enum value set: [B, N, S]",
                    );
                }
                parsed
            }
        };
        if let (Some(n), Some(t)) = (attr_name, key_type) {
            defs.push(KeyAttr {
                name: n.to_string(),
                key_type: t,
            });
        }
    }
    Ok(defs)
}

/// Shows a list as DynamoDB does in messages: `[a, b]`.
pub fn show_list(names: &[String]) -> String {
    format!("[{}]", names.join(", "))
}

/// Reads one index definition (a LocalSecondaryIndex, GlobalSecondaryIndex
/// or CreateGlobalSecondaryIndexAction) at `path` (e.g.
/// `globalSecondaryIndexes.1.member`), recording shape violations. Returns
/// None when a required member is missing.
pub fn read_index(
    json: &Json<'_>,
    kind: IndexKind,
    v: &mut Violations,
    path: &str,
) -> Result<Option<IndexInput>, ApiError> {
    let fields = Fields::of(json)?;
    let name = fields.str("IndexName")?;
    check_index_name(v, name, &format!("{path}.indexName"));
    let key_schema = read_index_key_schema(&fields, kind, v, path)?;
    let projection = read_projection(&fields, v, path)?;
    let throughput = match kind {
        IndexKind::Local => None,
        IndexKind::Global => read_throughput(
            fields.object("ProvisionedThroughput")?,
            v,
            &format!("{path}.provisionedThroughput"),
        )?,
    };
    let (Some(name), Some(key_schema), Some((projection_type, non_key_attributes))) =
        (name, key_schema, projection)
    else {
        return Ok(None);
    };
    Ok(Some(IndexInput {
        name: name.to_string(),
        key_schema,
        projection_type,
        non_key_attributes,
        throughput,
    }))
}

/// An index's KeySchema as (AttributeName, KeyType) pairs; None when it or
/// a member of an element is missing.
fn read_index_key_schema(
    fields: &Fields<'_, '_>,
    kind: IndexKind,
    v: &mut Violations,
    path: &str,
) -> Result<Option<Vec<(String, String)>>, ApiError> {
    let Some(schema) = fields.list("KeySchema")? else {
        v.null(&format!("{path}.keySchema"));
        return Ok(None);
    };
    let at = format!("{path}.keySchema");
    if schema.is_empty() {
        v.push(
            "'[]'",
            &at,
            "Member must have length greater than or equal to 1",
        );
    }
    // A GSI key may have up to 4 HASH and 4 RANGE elements; the
    // model bounds only LSI key schemas.
    if kind == IndexKind::Local && schema.len() > 2 {
        v.push(
            "'[…]'",
            &at,
            "Member must have length less than or equal to 2",
        );
    }
    let mut key_schema = Vec::new();
    let mut complete = true;
    for (i, element) in schema.iter().enumerate() {
        let element = Fields::of(element)?;
        let at = format!("{path}.keySchema.{}.member", i + 1);
        let attr_name = element.str("AttributeName")?;
        let key_type = element.str("KeyType")?;
        match attr_name {
            None => v.null(&format!("{at}.attributeName")),
            Some(n) => check_key_attribute_name(v, n, &format!("{at}.attributeName")),
        }
        match key_type {
            None => v.null(&format!("{at}.keyType")),
            Some("HASH" | "RANGE") => {}
            Some(t) => v.push(
                &format!("'{t}'"),
                &format!("{at}.keyType"),
                "Member must satisfy enum value set: [HASH, RANGE]",
            ),
        }
        if let (Some(n), Some(t)) = (attr_name, key_type) {
            key_schema.push((n.to_string(), t.to_string()));
        } else {
            complete = false;
        }
    }
    Ok(complete.then_some(key_schema))
}

/// ProjectionType and NonKeyAttributes, each if given.
type ProjectionInput = (Option<ProjectionType>, Option<Vec<String>>);

/// An index's Projection; None when the member is missing.
fn read_projection(
    fields: &Fields<'_, '_>,
    v: &mut Violations,
    path: &str,
) -> Result<Option<ProjectionInput>, ApiError> {
    let Some(projection) = fields.object("Projection")? else {
        v.null(&format!("{path}.projection"));
        return Ok(None);
    };
    let projection_type = match projection.str("ProjectionType")? {
        None => None,
        Some("ALL") => Some(ProjectionType::All),
        Some("INCLUDE") => Some(ProjectionType::Include),
        Some("KEYS_ONLY") => Some(ProjectionType::KeysOnly),
        Some(other) => {
            v.push(
                &format!("'{other}'"),
                &format!("{path}.projection.projectionType"),
                "Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]",
            );
            None
        }
    };
    let mut non_key_attributes = None;
    if let Some(list) = projection.list("NonKeyAttributes")? {
        let at = format!("{path}.projection.nonKeyAttributes");
        if list.is_empty() {
            v.push(
                "'[]'",
                &at,
                "Member must have length greater than or equal to 1",
            );
        }
        let mut names = Vec::with_capacity(list.len());
        for element in list {
            names.push(element_str(element)?.to_string());
        }
        non_key_attributes = Some(names);
    }
    Ok(Some((projection_type, non_key_attributes)))
}

/// Reads a LocalSecondaryIndexes or GlobalSecondaryIndexes list; `path` is
/// its model name (`localSecondaryIndexes`).
pub fn read_indexes(
    list: Option<&[Json<'_>]>,
    kind: IndexKind,
    v: &mut Violations,
    path: &str,
) -> Result<Option<Vec<IndexInput>>, ApiError> {
    let Some(list) = list else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, json) in list.iter().enumerate() {
        if let Some(index) = read_index(json, kind, v, &format!("{path}.{}.member", i + 1))? {
            out.push(index);
        }
    }
    Ok(Some(out))
}

fn key_attrs(names: &[(String, String)], defs: &[KeyAttr]) -> Vec<KeyAttr> {
    names
        .iter()
        .filter_map(|(n, _)| defs.iter().find(|d| &d.name == n).cloned())
        .collect()
}

fn check_defined(index: &IndexInput, defs: &[KeyAttr]) -> Result<(), ApiError> {
    let keys = index.key_names();
    if keys.iter().any(|k| !defs.iter().any(|d| &d.name == k)) {
        let defined: Vec<String> = defs.iter().map(|d| d.name.clone()).collect();
        return Err(ApiError::invalid_parameter(format!(
            "Some index key attributes are not defined in AttributeDefinitions. Keys: {}, AttributeDefinitions: {}",
            show_list(&keys),
            show_list(&defined)
        )));
    }
    Ok(())
}

fn check_projection(index: &IndexInput) -> Result<(ProjectionType, Vec<String>), ApiError> {
    let Some(projection_type) = index.projection_type else {
        return Err(ApiError::invalid_parameter("Unknown ProjectionType: null"));
    };
    match (&index.non_key_attributes, projection_type) {
        (Some(_), ProjectionType::All | ProjectionType::KeysOnly) => {
            Err(ApiError::invalid_parameter(format!(
                "ProjectionType is {}, but NonKeyAttributes is specified",
                projection_type.as_str()
            )))
        }
        (None, ProjectionType::Include) => Err(ApiError::invalid_parameter(
            "ProjectionType is INCLUDE, but NonKeyAttributes is not specified",
        )),
        (Some(names), ProjectionType::Include) => {
            if names
                .iter()
                .any(|n| n.is_empty() || n.len() > KEY_ATTRIBUTE_NAME_BYTES_MAX)
            {
                return Err(ApiError::validation(
                    "Names of key attributes and attributes projected into an index must be between 1 and 255 characters, inclusive",
                ));
            }
            for (i, name) in names.iter().enumerate() {
                if names[..i].contains(name) {
                    return Err(ApiError::invalid_parameter(format!(
                        "Duplicate element in NonKeyAttributes: {name}"
                    )));
                }
            }
            Ok((projection_type, names.clone()))
        }
        (None, _) => Ok((projection_type, Vec::new())),
    }
}

/// Validates the LocalSecondaryIndexes of a CreateTable request against the
/// table's key and attribute definitions; `taken` collects index names.
pub fn check_locals(
    indexes: &[IndexInput],
    partition_key: &KeyAttr,
    has_sort_key: bool,
    defs: &[KeyAttr],
    taken: &mut Vec<String>,
) -> Result<Vec<IndexDef>, ApiError> {
    if indexes.is_empty() {
        return Err(ApiError::invalid_parameter(
            "List of LocalSecondaryIndexes is empty",
        ));
    }
    if !has_sort_key {
        return Err(ApiError::invalid_parameter(
            "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
        ));
    }
    let mut out = Vec::with_capacity(indexes.len());
    for index in indexes {
        check_defined(index, defs)?;
        let keys = &index.key_schema;
        if keys.len() == 2 && keys[0].0 == keys[1].0 {
            return Err(ApiError::validation(
                "Both the Hash Key and the Range Key element in the KeySchema have the same name",
            ));
        }
        if keys.first().is_none_or(|(_, t)| t != "HASH") {
            return Err(ApiError::validation(
                "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
            ));
        }
        if keys.get(1).is_some_and(|(_, t)| t != "RANGE") {
            return Err(ApiError::validation(
                "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
            ));
        }
        if keys.len() != 2 {
            return Err(ApiError::invalid_parameter(format!(
                "Index KeySchema does not have a range key for index: {}",
                index.name
            )));
        }
        if keys[0].0 != partition_key.name {
            return Err(ApiError::invalid_parameter(format!(
                "Index KeySchema does not have the same leading hash key as table KeySchema for index: {}. index hash key: {}, table hash key: {}",
                index.name, keys[0].0, partition_key.name
            )));
        }
        let (projection_type, non_key_attributes) = check_projection(index)?;
        claim_name(taken, &index.name)?;
        out.push(IndexDef {
            id: 0,
            name: index.name.clone(),
            kind: IndexKind::Local,
            hash_keys: vec![partition_key.clone()],
            range_keys: key_attrs(&keys[1..], defs),
            projection_type,
            non_key_attributes,
            status: IndexStatus::Active,
            read_capacity_units: 0,
            write_capacity_units: 0,
            throughput_changes: Default::default(),
        });
    }
    if out.len() > crate::catalog::LOCAL_INDEXES_MAX {
        return Err(ApiError::invalid_parameter(format!(
            "Number of LocalSecondaryIndexes exceeds per-table limit of {}",
            crate::catalog::LOCAL_INDEXES_MAX
        )));
    }
    Ok(out)
}

fn claim_name(taken: &mut Vec<String>, name: &str) -> Result<(), ApiError> {
    if taken.iter().any(|t| t == name) {
        return Err(ApiError::invalid_parameter(format!(
            "Duplicate index name: {name}"
        )));
    }
    taken.push(name.to_string());
    Ok(())
}

/// Validates one GSI's key schema and projection and builds it; `billing`
/// is the table's billing mode after the request. Shared by CreateTable and
/// UpdateTable's Create action; the throughput messages differ between the
/// two, so the caller checks throughput presence first.
pub fn check_global(
    index: &IndexInput,
    defs: &[KeyAttr],
    billing: BillingMode,
) -> Result<IndexDef, ApiError> {
    check_defined(index, defs)?;
    let keys = &index.key_schema;
    for (i, (name, _)) in keys.iter().enumerate() {
        if keys[..i].iter().any(|(n, _)| n == name) {
            return Err(ApiError::validation(if keys.len() == 2 {
                "Both the Hash Key and the Range Key element in the KeySchema have the same name"
            } else {
                "The KeySchema contains multiple key attributes with the same name"
            }));
        }
    }
    if keys.first().is_none_or(|(_, t)| t != "HASH") {
        return Err(ApiError::validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    let mut seen_range = false;
    for (_, key_type) in keys {
        match key_type.as_str() {
            "HASH" if seen_range => {
                return Err(ApiError::invalid_parameter(
                    "All HASH key attributes must precede RANGE key attributes in the KeySchema",
                ));
            }
            "HASH" => {}
            _ => seen_range = true,
        }
    }
    let hash_count = keys.iter().filter(|(_, t)| t == "HASH").count();
    if hash_count > INDEX_HASH_KEYS_MAX {
        return Err(ApiError::invalid_parameter(
            "The KeySchema exceeds the maximum allowed number of HASH key attributes",
        ));
    }
    if keys.len() - hash_count > INDEX_RANGE_KEYS_MAX {
        return Err(ApiError::invalid_parameter(
            "The KeySchema exceeds the maximum allowed number of RANGE key attributes",
        ));
    }
    let (projection_type, non_key_attributes) = check_projection(index)?;
    let (rcu, wcu) = match billing {
        BillingMode::Provisioned => index.throughput.unwrap_or((0, 0)),
        BillingMode::PayPerRequest => (0, 0),
    };
    Ok(IndexDef {
        id: 0,
        name: index.name.clone(),
        kind: IndexKind::Global,
        hash_keys: key_attrs(&keys[..hash_count], defs),
        range_keys: key_attrs(&keys[hash_count..], defs),
        projection_type,
        non_key_attributes,
        status: IndexStatus::Active,
        read_capacity_units: rcu,
        write_capacity_units: wcu,
        throughput_changes: Default::default(),
    })
}

/// Validates the GlobalSecondaryIndexes of a CreateTable request.
pub fn check_globals(
    indexes: &[IndexInput],
    defs: &[KeyAttr],
    billing: BillingMode,
    taken: &mut Vec<String>,
) -> Result<Vec<IndexDef>, ApiError> {
    if indexes.is_empty() {
        return Err(ApiError::invalid_parameter(
            "List of GlobalSecondaryIndexes is empty",
        ));
    }
    let mut out = Vec::with_capacity(indexes.len());
    for index in indexes {
        let def = check_global(index, defs, billing)?;
        match (billing, index.throughput.is_some()) {
            (BillingMode::PayPerRequest, true) => {
                return Err(ApiError::invalid_parameter(format!(
                    "ProvisionedThroughput should not be specified for index: {} when BillingMode is PAY_PER_REQUEST",
                    index.name
                )));
            }
            (BillingMode::Provisioned, false) => {
                return Err(ApiError::invalid_parameter(format!(
                    "ProvisionedThroughput is not specified for index: {}",
                    index.name
                )));
            }
            _ => {}
        }
        claim_name(taken, &index.name)?;
        out.push(def);
    }
    if out.len() > crate::catalog::GLOBAL_INDEXES_MAX {
        return Err(ApiError::invalid_parameter(format!(
            "GlobalSecondaryIndex count exceeds the per-table limit of {}",
            crate::catalog::GLOBAL_INDEXES_MAX
        )));
    }
    Ok(out)
}

/// The table-wide rules once every index is known: the NonKeyAttributes
/// budget, and every attribute definition used by some key schema.
pub fn check_attribute_use(
    defs: &[KeyAttr],
    table_keys: &[String],
    indexes: &[IndexDef],
) -> Result<(), ApiError> {
    let projected: usize = indexes.iter().map(|i| i.non_key_attributes.len()).sum();
    if projected > PROJECTED_NON_KEY_ATTRIBUTES_MAX {
        return Err(ApiError::invalid_parameter(format!(
            "Number of projected attributes in all indexes exceeds limit of {PROJECTED_NON_KEY_ATTRIBUTES_MAX}"
        )));
    }
    let mut used: Vec<String> = table_keys.to_vec();
    for attr in indexes.iter().flat_map(|i| i.key_attrs()) {
        if !used.contains(&attr.name) {
            used.push(attr.name.clone());
        }
    }
    if defs.iter().any(|d| !used.contains(&d.name)) {
        let defined: Vec<String> = defs.iter().map(|d| d.name.clone()).collect();
        return Err(ApiError::invalid_parameter(format!(
            "Some AttributeDefinitions are not used. AttributeDefinitions: {}, keys used: {}",
            show_list(&defined),
            show_list(&used)
        )));
    }
    Ok(())
}

/// One element of UpdateTable's GlobalSecondaryIndexUpdates after the shape
/// phase: how many actions it carried, and the first one.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexUpdateInput {
    pub actions: usize,
    pub action: Option<IndexAction>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum IndexAction {
    Create(IndexInput),
    /// New (read, write) capacity units, if given.
    Update {
        name: String,
        throughput: Option<(i64, i64)>,
    },
    Delete {
        name: String,
    },
}

impl IndexAction {
    pub fn index_name(&self) -> &str {
        match self {
            IndexAction::Create(index) => &index.name,
            IndexAction::Update { name, .. } | IndexAction::Delete { name } => name,
        }
    }
}

/// Reads GlobalSecondaryIndexUpdates, recording shape violations at
/// `globalSecondaryIndexUpdates.N.member.{create,update,delete}…`.
pub fn read_index_updates(
    list: &[Json<'_>],
    v: &mut Violations,
) -> Result<Vec<IndexUpdateInput>, ApiError> {
    let mut out = Vec::with_capacity(list.len());
    for (i, json) in list.iter().enumerate() {
        let fields = Fields::of(json)?;
        let path = format!("globalSecondaryIndexUpdates.{}.member", i + 1);
        let mut actions = 0;
        let mut action = None;
        if let Some(update) = fields.object("Update")? {
            actions += 1;
            let at = format!("{path}.update");
            let name = update.str("IndexName")?;
            check_index_name(v, name, &format!("{at}.indexName"));
            let throughput = update.object("ProvisionedThroughput")?;
            let throughput =
                read_throughput(throughput, v, &format!("{at}.provisionedThroughput"))?;
            if let Some(name) = name {
                action = Some(IndexAction::Update {
                    name: name.to_string(),
                    throughput,
                });
            }
        }
        if let Some(create) = fields.get("Create") {
            actions += 1;
            let index = read_index(create, IndexKind::Global, v, &format!("{path}.create"))?;
            if action.is_none() {
                action = index.map(IndexAction::Create);
            }
        }
        if let Some(delete) = fields.object("Delete")? {
            actions += 1;
            let name = delete.str("IndexName")?;
            check_index_name(v, name, &format!("{path}.delete.indexName"));
            if let (None, Some(name)) = (&action, name) {
                action = Some(IndexAction::Delete {
                    name: name.to_string(),
                });
            }
        }
        out.push(IndexUpdateInput { actions, action });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::KeyType;

    fn input(keys: &[(&str, &str)]) -> IndexInput {
        IndexInput {
            name: "idx".into(),
            key_schema: keys
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
            projection_type: Some(ProjectionType::All),
            non_key_attributes: None,
            throughput: None,
        }
    }

    fn defs(names: &[&str]) -> Vec<KeyAttr> {
        names
            .iter()
            .map(|n| KeyAttr {
                name: n.to_string(),
                key_type: KeyType::S,
            })
            .collect()
    }

    #[test]
    fn global_keys_split_into_hash_and_range_in_order() {
        let all = defs(&["a", "b", "c", "d"]);
        let index = input(&[("b", "HASH"), ("a", "HASH"), ("d", "RANGE"), ("c", "RANGE")]);
        let def = check_global(&index, &all, BillingMode::PayPerRequest).expect("valid");
        let names = |keys: &[KeyAttr]| keys.iter().map(|k| k.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&def.hash_keys), ["b", "a"]);
        assert_eq!(names(&def.range_keys), ["d", "c"]);
        let misordered = input(&[("a", "HASH"), ("d", "RANGE"), ("b", "HASH")]);
        assert!(check_global(&misordered, &all, BillingMode::PayPerRequest).is_err());
    }

    #[test]
    fn unused_definitions_are_named() {
        let all = defs(&["a", "b"]);
        let err = check_attribute_use(&all, &["a".to_string()], &[]).expect_err("b unused");
        assert!(
            err.message
                .ends_with("AttributeDefinitions: [a, b], keys used: [a]")
        );
        assert!(check_attribute_use(&all, &["a".into(), "b".into()], &[]).is_ok());
    }
}
