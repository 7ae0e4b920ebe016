//! CreateTable: validate the schema, then let the coordinator record it.
//!
//! Shape: [`read`] checks the members' shapes, [`plan`] builds the table
//! definition (pure), `handle` submits it to the coordinator.

use std::rc::Rc;

use simd_json::BorrowedValue as Json;

use crate::api::index::ddl::{
    IndexInput, check_attribute_use, check_globals, check_key_attribute_name, check_locals,
    read_attribute_definitions, read_indexes, show_list,
};
use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::names::create_table_name;
use crate::api::protocol::params::{billing, check_capacity_bounds};
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::ddl::{now_seconds, submit};
use crate::api::table::describe::{TableStats, write_description};
use crate::api::table::options::{SettingsInput, new_stream, read_stream_specification, read_tags};
use crate::api::table::policies::{document_error, now_ms};
use crate::auth::resource_policy::{self, Target};
use crate::catalog::{
    BillingMode, CatalogCommand, IndexKind, KeyAttr, PolicySlot, ResourcePolicy, SettingsUpdate,
    StreamViewType, TableDef, TableSettings, TableStatus, Tag,
};

/// CreateTable's members after the shape checks.
struct Request<'a> {
    name: &'a str,
    defs: Vec<KeyAttr>,
    /// KeySchema: (AttributeName, KeyType) pairs.
    keys: Vec<(String, String)>,
    mode: Option<BillingMode>,
    throughput: Option<(i64, i64)>,
    locals: Option<Vec<IndexInput>>,
    globals: Option<Vec<IndexInput>>,
}

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let mut def = definition(shard, &fields)?;
    if !shard.settings.table_status_transition.is_zero() {
        def.status = TableStatus::Creating;
    }
    let def = submit(shard, CatalogCommand::Create(def)).await?;
    let mut description = Vec::with_capacity(512);
    write_description(
        &mut description,
        shard,
        &def,
        "CREATING",
        &TableStats::default(),
    );
    let mut reply = ReplyBuilder::new();
    reply.raw("TableDescription", &description);
    Ok(Outcome::Reply(reply.finish()))
}

/// The table a CreateTable request (or ImportTable's
/// TableCreationParameters, the same members) describes, checked as
/// CreateTable checks it; ACTIVE, id 0 (the coordinator allocates ids).
pub fn definition(shard: &Rc<Shard>, fields: &Fields<'_, '_>) -> Result<TableDef, ApiError> {
    let request = read(fields)?;
    let extras = read_extras(fields)?;
    let mut def = plan(request)?;
    let settings =
        extras
            .settings
            .check_create(shard, def.billing_mode, def.read_capacity_units)?;
    apply_settings(&mut def, settings);
    def.tags = extras.tags;
    if let Some(view_type) = extras.stream {
        def.streams.push(new_stream(shard, view_type));
    }
    if let Some(document) = fields.str("ResourcePolicy")? {
        def.policies.push(new_policy(document)?);
    }
    Ok(def)
}

/// CreateTable's `ResourcePolicy`: checked as PutResourcePolicy checks
/// it, attached with a revision of now.
fn new_policy(document: &str) -> Result<PolicySlot, ApiError> {
    let checked = resource_policy::check(document, Target::Table).map_err(document_error)?;
    let now = now_ms();
    Ok(PolicySlot {
        stream_label_ms: None,
        policy: Some(ResourcePolicy {
            document: checked.canonical,
            revision_id: now.to_string(),
            parsed: std::sync::Arc::new(checked.policy),
        }),
        revision_id: now.to_string(),
        changed_ms: now,
    })
}

/// The members' shapes, reported together as DynamoDB's validator does.
fn read<'a>(fields: &Fields<'a, '_>) -> Result<Request<'a>, ApiError> {
    let mut v = Violations::default();
    let name = create_table_name(fields, &mut v)?;
    let attr_defs = fields.list("AttributeDefinitions")?;
    let key_schema = fields.list("KeySchema")?;
    if attr_defs.is_none() {
        v.null("attributeDefinitions");
    }
    let defs = read_attribute_definitions(attr_defs.unwrap_or_default(), &mut v)?;
    let keys = read_key_schema(key_schema, &mut v)?;
    let (mode, throughput) = billing(fields, &mut v)?;
    let locals = read_indexes(
        fields.list("LocalSecondaryIndexes")?,
        IndexKind::Local,
        &mut v,
        "localSecondaryIndexes",
    )?;
    let globals = read_indexes(
        fields.list("GlobalSecondaryIndexes")?,
        IndexKind::Global,
        &mut v,
        "globalSecondaryIndexes",
    )?;
    v.into_result()?;
    Ok(Request {
        name,
        defs,
        keys,
        mode,
        throughput,
        locals,
        globals,
    })
}

/// CreateTable's members beside the schema: Tags, the table settings and
/// StreamSpecification.
struct Extras {
    tags: Vec<Tag>,
    settings: SettingsInput,
    /// The view type of a stream to enable.
    stream: Option<StreamViewType>,
}

fn read_extras(fields: &Fields<'_, '_>) -> Result<Extras, ApiError> {
    let mut v = Violations::default();
    let settings = SettingsInput::read(fields, &mut v)?;
    let tags = match fields.list("Tags")? {
        None => Vec::new(),
        Some(list) => read_tags(list, &mut v)?,
    };
    let stream = read_stream_specification(fields, &mut v)?;
    v.into_result()?;
    let stream = match stream {
        None | Some((Some(false), None)) => None,
        Some((Some(false), Some(_))) => {
            return Err(ApiError::invalid_parameter(
                "Table is being created with a stream disabled, UpdateViewType should not be specified",
            ));
        }
        Some((_, None)) => {
            return Err(ApiError::invalid_parameter(
                "Table is being created with a stream enabled, StreamViewType must be specified",
            ));
        }
        Some((_, Some(view_type))) => Some(view_type),
    };
    Ok(Extras {
        tags,
        settings,
        stream,
    })
}

/// Records the checked settings on a new table.
fn apply_settings(def: &mut TableDef, settings: SettingsUpdate) {
    let s = &mut def.settings;
    s.deletion_protection = settings.deletion_protection.unwrap_or(false);
    s.table_class = settings.table_class;
    s.sse_kms_key_arn = settings.sse_kms_key_arn.flatten();
    s.on_demand = settings.on_demand;
    s.warm = settings.warm;
    s.import_arn = None;
}

fn read_key_schema(
    key_schema: Option<&[Json<'_>]>,
    v: &mut Violations,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut keys: Vec<(String, String)> = Vec::new();
    let Some(schema) = key_schema else {
        v.null("keySchema");
        return Ok(keys);
    };
    if schema.is_empty() || schema.len() > 2 {
        let constraint = if schema.is_empty() {
            "Member must have length greater than or equal to 1"
        } else {
            "Member must have length less than or equal to 2"
        };
        v.push("'[…]'", "keySchema", constraint);
    }
    for (i, element) in schema.iter().enumerate() {
        let element = Fields::of(element)?;
        let path = format!("keySchema.{}.member", i + 1);
        let attr_name = element.str("AttributeName")?;
        let key_type = element.str("KeyType")?;
        match attr_name {
            None => v.null(&format!("{path}.attributeName")),
            Some(n) => check_key_attribute_name(v, n, &format!("{path}.attributeName")),
        }
        match key_type {
            None => v.null(&format!("{path}.keyType")),
            Some("HASH" | "RANGE") => {}
            Some(t) => v.push(
                &format!("'{t}'"),
                &format!("{path}.keyType"),
                "Member must satisfy enum value set: [HASH, RANGE]",
            ),
        }
        if let (Some(n), Some(t)) = (attr_name, key_type) {
            keys.push((n.to_string(), t.to_string()));
        }
    }
    Ok(keys)
}

/// The table definition the request describes, after DynamoDB's semantic
/// checks in its order (pure: the coordinator allocates ids).
fn plan(request: Request<'_>) -> Result<TableDef, ApiError> {
    let Request {
        name,
        defs,
        keys,
        mode,
        throughput,
        locals,
        globals,
    } = request;
    check_capacity_bounds(throughput, "")?;
    let key_names = check_key_schema(&keys, &defs, locals.is_none() && globals.is_none())?;
    let (mode, (rcu, wcu)) = capacity(mode, throughput)?;
    let find = |n: &str| defs.iter().find(|d| d.name == n).cloned();
    let partition_key = find(&keys[0].0)
        .ok_or_else(|| ApiError::validation("The partition key has no attribute definition"))?;
    let sort_key = keys.get(1).and_then(|(n, _)| find(n));
    let mut taken = Vec::new();
    let mut indexes = Vec::new();
    if let Some(locals) = &locals {
        indexes.extend(check_locals(
            locals,
            &partition_key,
            sort_key.is_some(),
            &defs,
            &mut taken,
        )?);
    }
    if let Some(globals) = &globals {
        indexes.extend(check_globals(globals, &defs, mode, &mut taken)?);
    }
    check_attribute_use(&defs, &key_names, &indexes)?;
    let now = now_seconds();
    Ok(TableDef {
        id: 0,
        name: name.to_string(),
        partition_key,
        sort_key,
        attribute_definitions: defs,
        billing_mode: mode,
        read_capacity_units: rcu,
        write_capacity_units: wcu,
        created_at: now,
        pay_per_request_since: (mode == BillingMode::PayPerRequest).then_some(now),
        last_increase_at: None,
        last_decrease_at: None,
        decreases: Default::default(),
        uuid: table_uuid(name, now),
        indexes,
        status: TableStatus::Active,
        settings: TableSettings::default(),
        tags: vec![],
        streams: vec![],
        ttl: Default::default(),
        restore: None,
        pitr: None,
        policies: vec![],
    })
}

/// Key schema semantics, in DynamoDB's order; returns the key names.
fn check_key_schema(
    keys: &[(String, String)],
    defs: &[KeyAttr],
    no_indexes: bool,
) -> Result<Vec<String>, ApiError> {
    let defined = |name: &str| defs.iter().any(|d| d.name == name);
    if keys.len() == 2
        && (keys.iter().any(|(n, _)| !defined(n)) || (keys[0].0 == keys[1].0 && defs.len() == 1))
    {
        return Err(ApiError::validation(
            "Invalid KeySchema: Some index key attribute have no definition",
        ));
    }
    if keys.first().is_some_and(|(_, t)| t != "HASH") {
        return Err(ApiError::validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    if keys.get(1).is_some_and(|(_, t)| t != "RANGE") {
        return Err(ApiError::validation(
            "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
        ));
    }
    if keys.len() == 2 && keys[0].0 == keys[1].0 {
        return Err(ApiError::validation(
            "Both the Hash Key and the Range Key element in the KeySchema have the same name",
        ));
    }
    let def_names: Vec<String> = defs.iter().map(|d| d.name.clone()).collect();
    let mut sorted = def_names.clone();
    sorted.sort();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(ApiError::validation(
            "Cannot have two attributes with the same name",
        ));
    }
    let key_names: Vec<String> = keys.iter().map(|(n, _)| n.clone()).collect();
    if key_names.iter().any(|k| !def_names.contains(k)) {
        return Err(ApiError::invalid_parameter(format!(
            "Some index key attributes are not defined in AttributeDefinitions. Keys: {}, AttributeDefinitions: {}",
            show_list(&key_names),
            show_list(&def_names)
        )));
    }
    // With indexes, unused definitions get their own message once every
    // index key is known (`check_attribute_use`).
    if no_indexes && defs.len() != keys.len() {
        return Err(ApiError::invalid_parameter(
            "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ));
    }
    Ok(key_names)
}

/// The billing mode (PROVISIONED by default) and its capacity units.
fn capacity(
    mode: Option<BillingMode>,
    throughput: Option<(i64, i64)>,
) -> Result<(BillingMode, (i64, i64)), ApiError> {
    let mode = mode.unwrap_or(BillingMode::Provisioned);
    let units = match (mode, throughput) {
        (BillingMode::Provisioned, Some(t)) => t,
        (BillingMode::Provisioned, None) => {
            return Err(ApiError::invalid_parameter(
                "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
            ));
        }
        (BillingMode::PayPerRequest, Some(_)) => {
            return Err(ApiError::invalid_parameter(
                "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
            ));
        }
        (BillingMode::PayPerRequest, None) => (0, 0),
    };
    Ok((mode, units))
}

/// A UUID-shaped TableId derived from the name and creation time.
fn table_uuid(name: &str, now: f64) -> String {
    let a = xxhash_rust::xxh3::xxh3_64(format!("{name}/{now}").as_bytes());
    let b = xxhash_rust::xxh3::xxh3_64(format!("{now}/{name}").as_bytes());
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}
