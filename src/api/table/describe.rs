//! The TableDescription JSON, with the item counts and sizes it reports
//! from every shard's engine.

use std::rc::Rc;

use crate::api::messages::ShardStats;
use crate::api::protocol::error::ApiError;
use crate::api::shard::Shard;
use crate::api::shard::peers::all_stats;
use crate::api::streams::names::label as stream_label;
use crate::catalog::{IndexDef, IndexStatus, ProjectionType, TableDef, ThroughputChanges};
use crate::model::key::table_prefix;
use crate::model::value::write_json_str;

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
    let arn = table_arn(shard, &def.name);
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
    let rule = &shard.settings.capacity_decreases;
    let now = now_s();
    let changes = ThroughputChanges {
        last_increase_at: def.last_increase_at,
        last_decrease_at: def.last_decrease_at,
        decreases: def.decreases,
    };
    out.extend_from_slice(b",");
    write_throughput(
        out,
        &changes,
        changes.decreases.today(now, rule),
        (def.read_capacity_units, def.write_capacity_units),
    );
    out.extend_from_slice(format!(",\"TableSizeBytes\":{bytes},\"ItemCount\":{items}").as_bytes());
    out.extend_from_slice(b",\"TableArn\":");
    write_json_str(out, &arn);
    write_index_descriptions(out, &arn, def, status, stats, deleting, &|c| {
        c.decreases.today(now, rule)
    });
    write_stream_members(out, &arn, def);
    out.extend_from_slice(b",\"TableId\":");
    write_json_str(out, &def.uuid);
    write_billing_and_settings(out, def, shard.settings.encrypted_at_rest);
    if let Some(restore) = &def.restore {
        out.extend_from_slice(b",\"RestoreSummary\":{");
        if !restore.source_backup_arn.is_empty() {
            out.extend_from_slice(b"\"SourceBackupArn\":");
            write_json_str(out, &restore.source_backup_arn);
            out.push(b',');
        }
        out.extend_from_slice(b"\"SourceTableArn\":");
        write_json_str(out, &restore.source_table_arn);
        out.extend_from_slice(
            format!(
                ",\"RestoreDateTime\":{:.3},\"RestoreInProgress\":{}}}",
                restore.restore_date_time, restore.in_progress
            )
            .as_bytes(),
        );
    }
    out.push(b'}');
}

/// The table's ARN in this server's region and account.
pub fn table_arn(shard: &Shard, table: &str) -> String {
    format!(
        "arn:aws:dynamodb:{}:{}:table/{table}",
        shard.settings.region, shard.settings.account_id
    )
}

/// StreamSpecification (while a stream is enabled), LatestStreamArn and
/// LatestStreamLabel (of the newest stream, enabled or not), each as
/// `,"Member":…`.
fn write_stream_members(out: &mut Vec<u8>, table_arn: &str, def: &TableDef) {
    if let Some(stream) = def.enabled_stream() {
        out.extend_from_slice(
            format!(
                ",\"StreamSpecification\":{{\"StreamEnabled\":true,\"StreamViewType\":\"{}\"}}",
                stream.view_type.as_str()
            )
            .as_bytes(),
        );
    }
    if let Some(stream) = def.streams.last() {
        let label = stream_label(stream.label_ms);
        out.extend_from_slice(b",\"LatestStreamArn\":");
        write_json_str(out, &format!("{table_arn}/stream/{label}"));
        out.extend_from_slice(b",\"LatestStreamLabel\":");
        write_json_str(out, &label);
    }
}

/// The TableDescription DeleteTable answers: DynamoDB leaves out the key
/// schema, attribute definitions, creation time and indexes. The stream
/// members are `before`'s, the table as the request found it: the
/// deletion disables the stream, but DynamoDB's answer still shows the
/// specification the table had.
pub fn write_deleting_description(
    out: &mut Vec<u8>,
    shard: &Shard,
    def: &TableDef,
    before: &TableDef,
    stats: &TableStats,
) {
    out.extend_from_slice(b"{\"TableName\":");
    write_json_str(out, &def.name);
    out.extend_from_slice(b",\"TableStatus\":\"DELETING\"");
    out.extend_from_slice(
        format!(
            ",\"ProvisionedThroughput\":{{\"NumberOfDecreasesToday\":0,\"ReadCapacityUnits\":{},\"WriteCapacityUnits\":{}}}",
            def.read_capacity_units, def.write_capacity_units
        )
        .as_bytes(),
    );
    out.extend_from_slice(
        format!(
            ",\"TableSizeBytes\":{},\"ItemCount\":{}",
            stats.table.bytes, stats.table.items
        )
        .as_bytes(),
    );
    let arn = table_arn(shard, &def.name);
    out.extend_from_slice(b",\"TableArn\":");
    write_json_str(out, &arn);
    write_stream_members(out, &arn, before);
    out.extend_from_slice(b",\"TableId\":");
    write_json_str(out, &def.uuid);
    write_billing_and_settings(out, def, shard.settings.encrypted_at_rest);
    out.push(b'}');
}

/// BillingModeSummary, DeletionProtectionEnabled and the settings a client
/// set (TableClassSummary, SSEDescription, OnDemandThroughput,
/// WarmThroughput), each as `,"Member":…`.
fn write_billing_and_settings(out: &mut Vec<u8>, def: &TableDef, encrypted_at_rest: bool) {
    out.extend_from_slice(b",\"BillingModeSummary\":{\"BillingMode\":\"");
    out.extend_from_slice(def.billing_mode.as_str().as_bytes());
    out.push(b'"');
    if let Some(t) = def.pay_per_request_since {
        out.extend_from_slice(format!(",\"LastUpdateToPayPerRequestDateTime\":{t:.3}").as_bytes());
    }
    let settings = &def.settings;
    out.extend_from_slice(
        format!(
            "}},\"DeletionProtectionEnabled\":{}",
            settings.deletion_protection
        )
        .as_bytes(),
    );
    if let Some(class) = settings.table_class {
        out.extend_from_slice(b",\"TableClassSummary\":{\"TableClass\":\"");
        out.extend_from_slice(class.as_str().as_bytes());
        out.extend_from_slice(b"\"}");
    }
    write_sse_description(out, settings.sse_kms_key_arn.is_some(), encrypted_at_rest);
    if let Some((read, write)) = settings.on_demand {
        out.extend_from_slice(
            format!(
                ",\"OnDemandThroughput\":{{\"MaxReadRequestUnits\":{read},\"MaxWriteRequestUnits\":{write}}}"
            )
            .as_bytes(),
        );
    }
    if let Some((read, write)) = settings.warm {
        out.extend_from_slice(
            format!(
                ",\"WarmThroughput\":{{\"ReadUnitsPerSecond\":{read},\"WriteUnitsPerSecond\":{write},\"Status\":\"ACTIVE\"}}"
            )
            .as_bytes(),
        );
    }
}

/// SSEDescription as it is, not as asked: a server with an encryption key
/// seals every table with AES-256 (GCM) under its own key, so every table
/// is ENABLED with SSEType AES256 and no KMS key (there is no KMS here,
/// whatever key a client named). Without a key nothing is encrypted: a
/// table whose creator asked for SSE is described DISABLED rather than
/// claimed encrypted, and the others carry no SSEDescription, as before.
fn write_sse_description(out: &mut Vec<u8>, requested: bool, encrypted_at_rest: bool) {
    if encrypted_at_rest {
        out.extend_from_slice(
            b",\"SSEDescription\":{\"Status\":\"ENABLED\",\"SSEType\":\"AES256\"}",
        );
    } else if requested {
        out.extend_from_slice(b",\"SSEDescription\":{\"Status\":\"DISABLED\"}");
    }
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

/// `"ProvisionedThroughput":{…}` with the last increase and decrease
/// times, when there were any, and `decreases_today`.
fn write_throughput(
    out: &mut Vec<u8>,
    changes: &ThroughputChanges,
    decreases_today: u32,
    (rcu, wcu): (i64, i64),
) {
    out.extend_from_slice(b"\"ProvisionedThroughput\":{");
    if let Some(t) = changes.last_increase_at {
        out.extend_from_slice(format!("\"LastIncreaseDateTime\":{t:.3},").as_bytes());
    }
    if let Some(t) = changes.last_decrease_at {
        out.extend_from_slice(format!("\"LastDecreaseDateTime\":{t:.3},").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "\"NumberOfDecreasesToday\":{decreases_today},\"ReadCapacityUnits\":{rcu},\"WriteCapacityUnits\":{wcu}}}"
        )
        .as_bytes(),
    );
}

/// Seconds since the Unix epoch.
fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// LocalSecondaryIndexes and GlobalSecondaryIndexes of a TableDescription,
/// in creation order, each counted like a table; `decreases_today` reads
/// a GSI's NumberOfDecreasesToday.
fn write_index_descriptions(
    out: &mut Vec<u8>,
    table_arn: &str,
    def: &TableDef,
    table_status: &str,
    stats: &TableStats,
    deleting: Option<&IndexDef>,
    decreases_today: &dyn Fn(&ThroughputChanges) -> u32,
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
        out.push(b',');
        write_throughput(
            out,
            &index.throughput_changes,
            decreases_today(&index.throughput_changes),
            (index.read_capacity_units, index.write_capacity_units),
        );
        write_tail(out, index);
    }
    out.push(b']');
}
