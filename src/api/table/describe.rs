//! Table-level shared logic: name rules, the coordinator's DDL application,
//! and the TableDescription JSON.

use std::rc::Rc;
use std::sync::Arc;

use super::Shard;
use super::error::{ApiError, Violations};
use super::indexes_ddl::used_attributes;
use super::mesh::{MeshReply, MeshRequest, ShardStats, all_stats, call_or_local, unexpected};
use crate::catalog::{
    BillingMode, Catalog, CatalogCommand, IndexDef, IndexKind, IndexStatus, KeyAttr,
    ProjectionType, TableDef,
};
use crate::model::key::table_prefix;
use crate::model::value::write_json_str;

/// The shard that coordinates DDL.
pub const COORDINATOR: u32 = 0;

/// Checks a TableName member the way DynamoDB's validator reports it.
pub fn check_table_name(v: &mut Violations, name: Option<&str>, path: &str) {
    check_resource_name(v, name, path, false);
}

/// Table and index names share DynamoDB's rules (3–255 characters of
/// `[a-zA-Z0-9_.-]`); its validator lists the pattern violation first for
/// index names and last for table names.
pub fn check_resource_name(
    v: &mut Violations,
    name: Option<&str>,
    path: &str,
    pattern_first: bool,
) {
    let Some(name) = name else {
        v.null(path);
        return;
    };
    let shown = format!("'{name}'");
    let pattern_ok = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    let pattern = |v: &mut Violations| {
        if !pattern_ok {
            v.push(
                &shown,
                path,
                "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
            );
        }
    };
    if pattern_first {
        pattern(v);
    }
    if name.len() < 3 {
        v.push(
            &shown,
            path,
            "Member must have length greater than or equal to 3",
        );
    }
    if name.len() > 255 {
        v.push(
            &shown,
            path,
            "Member must have length less than or equal to 255",
        );
    }
    if !pattern_first {
        pattern(v);
    }
}

/// Reads and validates TableName, returning it.
pub fn table_name<'a>(fields: &super::request::Fields<'a, '_>) -> Result<&'a str, ApiError> {
    let name = fields.str("TableName")?;
    let mut v = Violations::default();
    check_table_name(&mut v, name, "tableName");
    v.into_result()?;
    name.ok_or_else(|| ApiError::validation("TableName is required"))
}

/// Sends a DDL command to the coordinator and returns the affected table.
pub async fn submit(shard: &Rc<Shard>, command: CatalogCommand) -> Result<Arc<TableDef>, ApiError> {
    match call_or_local(shard, COORDINATOR, MeshRequest::Catalog(command)).await? {
        MeshReply::Table(result) => result,
        other => Err(unexpected(&other)),
    }
}

/// Applies a DDL command on the coordinator: persist, then install everywhere.
pub async fn apply(shard: &Rc<Shard>, command: CatalogCommand) -> Result<Arc<TableDef>, ApiError> {
    if shard.id != COORDINATOR {
        return Err(ApiError::internal(
            "DDL sent to a shard that does not coordinate",
        ));
    }
    // One DDL change at a time: the lock spans persist and install.
    let _ddl = shard.locks.lock(b"\0ddl".to_vec()).await;
    let current = shard.catalog();
    let mut next: Catalog = (*current).clone();
    next.version += 1;
    let (table, dropped): (Arc<TableDef>, Vec<u32>) = match command {
        CatalogCommand::Create(mut def) => {
            if next.tables.contains_key(&def.name) {
                return Err(ApiError::resource_in_use(format!(
                    "Table already exists: {}",
                    def.name
                )));
            }
            if next.tables.len() >= 2500 {
                return Err(ApiError::limit_exceeded(
                    "Subscriber limit exceeded: Only 2500 tables can be created per account",
                ));
            }
            next.next_table_id = next.next_table_id.max(1);
            def.id = next.next_table_id;
            next.next_table_id += 1;
            // Index ids come from the same space: an index's entries live
            // under their own 4-byte prefix, never reused.
            for index in &mut def.indexes {
                index.id = next.next_table_id;
                next.next_table_id += 1;
            }
            let def = Arc::new(def);
            next.tables.insert(def.name.clone(), def.clone());
            (def, vec![])
        }
        CatalogCommand::CreateIndex {
            table,
            mut index,
            attribute_definitions,
        } => {
            let mut def = table_copy(&next, &table)?;
            if def.index(&index.name).is_some() {
                return Err(ApiError::validation(
                    "Attempting to create an index which already exists",
                ));
            }
            // Validated by the receiving shard against the catalog it saw;
            // checked again here against the one being changed.
            for attr in attribute_definitions {
                match def
                    .attribute_definitions
                    .iter()
                    .find(|d| d.name == attr.name)
                {
                    Some(existing) if existing.key_type != attr.key_type => {
                        return Err(conflicting_definition(existing, &attr));
                    }
                    Some(_) => {}
                    None => def.attribute_definitions.push(attr),
                }
            }
            if def
                .global_indexes()
                .any(|i| i.status == IndexStatus::Creating)
            {
                return Err(ApiError::limit_exceeded(format!(
                    "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table -- Table: {table}"
                )));
            }
            if def.global_indexes().count() >= GLOBAL_INDEXES_MAX {
                return Err(ApiError::limit_exceeded(format!(
                    "One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of {GLOBAL_INDEXES_MAX}"
                )));
            }
            next.next_table_id = next.next_table_id.max(1);
            index.id = next.next_table_id;
            next.next_table_id += 1;
            index.status = IndexStatus::Creating;
            def.indexes.push(index);
            let def = Arc::new(def);
            next.tables.insert(table, def.clone());
            (def, vec![])
        }
        CatalogCommand::DeleteIndex { table, index } => {
            let mut def = table_copy(&next, &table)?;
            let position = def
                .indexes
                .iter()
                .position(|i| i.name == index && i.kind == IndexKind::Global)
                .ok_or_else(|| {
                    ApiError::resource_not_found_message(format!(
                        "Requested resource not found: Table: {table} Index: {index}"
                    ))
                })?;
            let removed = def.indexes.remove(position);
            // DynamoDB forgets a definition once no key schema uses it.
            let used: Vec<String> = used_attributes(&def)
                .into_iter()
                .map(str::to_string)
                .collect();
            def.attribute_definitions.retain(|d| used.contains(&d.name));
            let def = Arc::new(def);
            next.tables.insert(table, def.clone());
            (def, vec![removed.id])
        }
        CatalogCommand::UpdateIndex {
            table,
            index,
            throughput: (rcu, wcu),
        } => {
            let mut def = table_copy(&next, &table)?;
            let target = def
                .indexes
                .iter_mut()
                .find(|i| i.name == index && i.kind == IndexKind::Global)
                .ok_or_else(|| {
                    ApiError::resource_not_found_message(format!(
                        "Requested resource not found: Table: {table} Index: {index}"
                    ))
                })?;
            target.read_capacity_units = rcu;
            target.write_capacity_units = wcu;
            let def = Arc::new(def);
            next.tables.insert(table, def.clone());
            (def, vec![])
        }
        CatalogCommand::IndexActive { table, index_id } => {
            let mut def = table_copy(&next, &table)?;
            match def.indexes.iter_mut().find(|i| i.id == index_id) {
                Some(index) if index.status == IndexStatus::Creating => {
                    index.status = IndexStatus::Active;
                }
                // Deleted meanwhile, or already active: nothing to record.
                _ => return Ok(Arc::new(def)),
            }
            let def = Arc::new(def);
            next.tables.insert(table, def.clone());
            (def, vec![])
        }
        CatalogCommand::Delete { name } => {
            let def = next
                .tables
                .remove(&name)
                .ok_or_else(|| ApiError::table_not_found(&name))?;
            let mut ids = vec![def.id];
            ids.extend(def.indexes.iter().map(|i| i.id));
            (def, ids)
        }
        CatalogCommand::Update {
            name,
            billing_mode,
            throughput,
            now,
        } => {
            let old = next
                .tables
                .get(&name)
                .ok_or_else(|| ApiError::table_not_found(&name))?;
            let mut def = (**old).clone();
            if let Some(mode) = billing_mode {
                if mode == BillingMode::PayPerRequest && def.billing_mode != mode {
                    def.pay_per_request_since = Some(now);
                }
                def.billing_mode = mode;
                if mode == BillingMode::PayPerRequest {
                    def.read_capacity_units = 0;
                    def.write_capacity_units = 0;
                    for index in &mut def.indexes {
                        index.read_capacity_units = 0;
                        index.write_capacity_units = 0;
                    }
                }
            }
            if let Some((rcu, wcu)) = throughput {
                if rcu > def.read_capacity_units || wcu > def.write_capacity_units {
                    def.last_increase_at = Some(now);
                }
                if rcu < def.read_capacity_units || wcu < def.write_capacity_units {
                    def.last_decrease_at = Some(now);
                }
                def.read_capacity_units = rcu;
                def.write_capacity_units = wcu;
            }
            let def = Arc::new(def);
            next.tables.insert(name, def.clone());
            (def, vec![])
        }
    };
    let bytes = next.to_bytes().map_err(ApiError::internal)?;
    // If we crash before this completes, the old catalog stands and nobody
    // was told otherwise.
    shard.services.persist_catalog(bytes).await?;
    let next = Arc::new(next);
    for to in 0..shard.map.shard_count() {
        match call_or_local(shard, to, MeshRequest::InstallCatalog(next.clone())).await? {
            MeshReply::Done(r) => r?,
            other => return Err(unexpected(&other)),
        }
    }
    for id in dropped {
        // Table ids are never reused, so leftover data is unreachable even if
        // this is interrupted; it is removed here and by compaction. A
        // table's item collection counters go with it.
        let mut prefixes = vec![table_prefix(id).to_vec()];
        let mut counters = crate::api::index::maintain::COLLECTION_PREFIX.to_vec();
        counters.extend_from_slice(&table_prefix(id));
        prefixes.push(counters);
        for (to, prefix) in (0..shard.map.shard_count())
            .flat_map(|to| prefixes.iter().map(move |p| (to, p.clone())))
        {
            match call_or_local(shard, to, MeshRequest::DropPrefix { prefix }).await? {
                MeshReply::Done(r) => r?,
                other => return Err(unexpected(&other)),
            }
        }
    }
    Ok(table)
}

/// DynamoDB's per-table limits on secondary indexes.
pub const GLOBAL_INDEXES_MAX: usize = 20;
pub const LOCAL_INDEXES_MAX: usize = 5;

/// An index key attribute redefined with another type than the table's.
pub fn conflicting_definition(existing: &KeyAttr, requested: &KeyAttr) -> ApiError {
    ApiError::invalid_parameter(format!(
        "Attribute {} is already defined with AttributeType {}; it cannot be redefined as {}",
        existing.name,
        existing.key_type.as_str(),
        requested.key_type.as_str()
    ))
}

fn table_copy(catalog: &Catalog, name: &str) -> Result<TableDef, ApiError> {
    catalog
        .tables
        .get(name)
        .map(|t| (**t).clone())
        .ok_or_else(|| ApiError::table_not_found(name))
}

/// An item count and size, summed over every shard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub items: u64,
    pub bytes: u64,
}

impl Counts {
    fn of(stats: &[ShardStats]) -> Counts {
        Counts {
            items: stats.iter().map(|s| s.prefix.entries).sum(),
            bytes: stats.iter().map(|s| s.prefix.bytes).sum(),
        }
    }
}

/// What a TableDescription reports from the engines: the table's counts
/// and each index's (by index id); an index's entries live under its own
/// prefix, so it is counted exactly like a table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    pub table: Counts,
    pub indexes: Vec<(u32, Counts)>,
}

impl TableStats {
    pub async fn collect(shard: &Rc<Shard>, def: &TableDef) -> Result<TableStats, ApiError> {
        let table = Counts::of(&all_stats(shard, &table_prefix(def.id)).await?);
        let mut indexes = Vec::with_capacity(def.indexes.len());
        for index in &def.indexes {
            let counts = Counts::of(&all_stats(shard, &table_prefix(index.id)).await?);
            indexes.push((index.id, counts));
        }
        Ok(TableStats { table, indexes })
    }

    fn index(&self, id: u32) -> Counts {
        self.indexes
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, c)| *c)
            .unwrap_or_default()
    }
}

/// Writes a TableDescription object.
pub fn write_description(
    out: &mut Vec<u8>,
    shard: &Shard,
    def: &TableDef,
    status: &str,
    stats: &TableStats,
) {
    write_description_with(out, shard, def, status, stats, None);
}

/// Writes a TableDescription object; `deleting` is a GSI this request just
/// removed, which DynamoDB still lists, as DELETING.
pub fn write_description_with(
    out: &mut Vec<u8>,
    shard: &Shard,
    def: &TableDef,
    status: &str,
    stats: &TableStats,
    deleting: Option<&IndexDef>,
) {
    let items = stats.table.items;
    let bytes = stats.table.bytes;
    let arn = format!(
        "arn:aws:dynamodb:{}:{}:table/{}",
        shard.settings.region, shard.settings.account_id, def.name
    );
    out.extend_from_slice(b"{\"AttributeDefinitions\":[");
    for (i, attr) in def.attribute_definitions.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"AttributeName\":");
        write_json_str(out, &attr.name);
        out.extend_from_slice(
            format!(",\"AttributeType\":\"{}\"}}", attr.key_type.as_str()).as_bytes(),
        );
    }
    out.extend_from_slice(b"],\"TableName\":");
    write_json_str(out, &def.name);
    out.extend_from_slice(b",\"KeySchema\":[{\"AttributeName\":");
    write_json_str(out, &def.partition_key.name);
    out.extend_from_slice(b",\"KeyType\":\"HASH\"}");
    if let Some(sk) = &def.sort_key {
        out.extend_from_slice(b",{\"AttributeName\":");
        write_json_str(out, &sk.name);
        out.extend_from_slice(b",\"KeyType\":\"RANGE\"}");
    }
    out.extend_from_slice(b"],\"TableStatus\":");
    write_json_str(out, status);
    out.extend_from_slice(format!(",\"CreationDateTime\":{:.3}", def.created_at).as_bytes());
    out.extend_from_slice(b",\"ProvisionedThroughput\":{");
    if let Some(t) = def.last_increase_at {
        out.extend_from_slice(format!("\"LastIncreaseDateTime\":{t:.3},").as_bytes());
    }
    if let Some(t) = def.last_decrease_at {
        out.extend_from_slice(format!("\"LastDecreaseDateTime\":{t:.3},").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "\"NumberOfDecreasesToday\":0,\"ReadCapacityUnits\":{},\"WriteCapacityUnits\":{}}}",
            def.read_capacity_units, def.write_capacity_units
        )
        .as_bytes(),
    );
    out.extend_from_slice(format!(",\"TableSizeBytes\":{bytes},\"ItemCount\":{items}").as_bytes());
    out.extend_from_slice(b",\"TableArn\":");
    write_json_str(out, &arn);
    write_index_descriptions(out, &arn, def, status, stats, deleting);
    out.extend_from_slice(b",\"TableId\":");
    write_json_str(out, &def.uuid);
    out.extend_from_slice(b",\"BillingModeSummary\":{\"BillingMode\":\"");
    out.extend_from_slice(def.billing_mode.as_str().as_bytes());
    out.push(b'"');
    if let Some(t) = def.pay_per_request_since {
        out.extend_from_slice(format!(",\"LastUpdateToPayPerRequestDateTime\":{t:.3}").as_bytes());
    }
    out.extend_from_slice(b"},\"DeletionProtectionEnabled\":false}");
}

fn write_key_schema(out: &mut Vec<u8>, index: &IndexDef) {
    out.extend_from_slice(b"\"KeySchema\":[");
    let elements = index
        .hash_keys
        .iter()
        .map(|k| (k, "HASH"))
        .chain(index.range_keys.iter().map(|k| (k, "RANGE")));
    for (i, (key, key_type)) in elements.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"AttributeName\":");
        write_json_str(out, &key.name);
        out.extend_from_slice(format!(",\"KeyType\":\"{key_type}\"}}").as_bytes());
    }
    out.push(b']');
}

fn write_projection(out: &mut Vec<u8>, index: &IndexDef) {
    out.extend_from_slice(b"\"Projection\":{\"ProjectionType\":\"");
    out.extend_from_slice(index.projection_type.as_str().as_bytes());
    out.push(b'"');
    if index.projection_type == ProjectionType::Include {
        // DynamoDB lists NonKeyAttributes sorted by name.
        let mut names: Vec<&String> = index.non_key_attributes.iter().collect();
        names.sort();
        out.extend_from_slice(b",\"NonKeyAttributes\":[");
        for (i, name) in names.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_str(out, name);
        }
        out.push(b']');
    }
    out.push(b'}');
}

/// LocalSecondaryIndexes and GlobalSecondaryIndexes of a TableDescription,
/// in creation order, each counted like a table.
fn write_index_descriptions(
    out: &mut Vec<u8>,
    table_arn: &str,
    def: &TableDef,
    table_status: &str,
    stats: &TableStats,
    deleting: Option<&IndexDef>,
) {
    let write_common = |out: &mut Vec<u8>, index: &IndexDef| {
        out.extend_from_slice(b"{\"IndexName\":");
        write_json_str(out, &index.name);
        out.push(b',');
        write_key_schema(out, index);
        out.push(b',');
        write_projection(out, index);
    };
    let write_tail = |out: &mut Vec<u8>, index: &IndexDef| {
        let counts = stats.index(index.id);
        out.extend_from_slice(
            format!(
                ",\"IndexSizeBytes\":{},\"ItemCount\":{},\"IndexArn\":",
                counts.bytes, counts.items
            )
            .as_bytes(),
        );
        write_json_str(out, &format!("{table_arn}/index/{}", index.name));
        out.push(b'}');
    };
    if def.has_local_indexes() {
        out.extend_from_slice(b",\"LocalSecondaryIndexes\":[");
        for (i, index) in def.local_indexes().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_common(out, index);
            write_tail(out, index);
        }
        out.push(b']');
    }
    let globals: Vec<&IndexDef> = def.global_indexes().chain(deleting).collect();
    if globals.is_empty() {
        return;
    }
    out.extend_from_slice(b",\"GlobalSecondaryIndexes\":[");
    for (i, index) in globals.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_common(out, index);
        let is_deleting = deleting.is_some_and(|d| d.id == index.id);
        // A GSI created with its table follows the table's status; one added
        // by UpdateTable is CREATING (and backfilling) until every shard has
        // backfilled it.
        let status = match (table_status, index.status) {
            _ if is_deleting => "DELETING",
            ("CREATING" | "DELETING", _) => table_status,
            (_, status) => status.as_str(),
        };
        out.extend_from_slice(b",\"IndexStatus\":");
        write_json_str(out, status);
        if index.status == IndexStatus::Creating && !is_deleting && table_status != "DELETING" {
            out.extend_from_slice(b",\"Backfilling\":true");
        }
        out.extend_from_slice(
            format!(
                ",\"ProvisionedThroughput\":{{\"NumberOfDecreasesToday\":0,\"ReadCapacityUnits\":{},\"WriteCapacityUnits\":{}}}",
                index.read_capacity_units, index.write_capacity_units
            )
            .as_bytes(),
        );
        write_tail(out, index);
    }
    out.push(b']');
}

/// Seconds since the epoch, as DynamoDB's timestamps.
pub fn now_seconds() -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_millis() as f64) / 1000.0
}
