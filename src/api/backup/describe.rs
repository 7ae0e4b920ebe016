//! The backup members of DynamoDB's replies: BackupDetails,
//! BackupDescription (with SourceTableDetails and
//! SourceTableFeatureDetails) and BackupSummary.

use crate::api::shard::backups::BackupRecord;
use crate::catalog::{IndexDef, IndexKind, KeyAttr, TableDef};
use crate::model::value::write_json_str;

pub fn write_details(out: &mut Vec<u8>, record: &BackupRecord, status: &str) {
    out.extend_from_slice(b"{\"BackupArn\":");
    write_json_str(out, &record.arn);
    out.extend_from_slice(b",\"BackupName\":");
    write_json_str(out, &record.name);
    out.extend_from_slice(
        format!(
            ",\"BackupSizeBytes\":{},\"BackupStatus\":\"{status}\",\"BackupType\":\"{}\",\"BackupCreationDateTime\":{:.3}",
            record.bytes,
            record.backup_type(),
            record.created_at
        )
        .as_bytes(),
    );
    write_expiry(out, record);
    out.push(b'}');
}

/// A SYSTEM backup's BackupExpiryDateTime member.
fn write_expiry(out: &mut Vec<u8>, record: &BackupRecord) {
    if let Some(system) = record.system {
        let at = system.expires_ms as f64 / 1000.0;
        out.extend_from_slice(format!(",\"BackupExpiryDateTime\":{at:.3}").as_bytes());
    }
}

pub fn write_description(out: &mut Vec<u8>, record: &BackupRecord, status: &str) {
    let table = &record.table;
    out.extend_from_slice(b"{\"BackupDetails\":");
    write_details(out, record, status);
    out.extend_from_slice(b",\"SourceTableDetails\":{\"TableName\":");
    write_json_str(out, &table.name);
    out.extend_from_slice(b",\"TableId\":");
    write_json_str(out, &table.uuid);
    out.extend_from_slice(b",\"TableArn\":");
    write_json_str(out, &record.table_arn);
    out.extend_from_slice(
        format!(
            ",\"TableSizeBytes\":{},\"ItemCount\":{},\"TableCreationDateTime\":{:.3}",
            record.bytes, record.items, table.created_at
        )
        .as_bytes(),
    );
    out.extend_from_slice(b",\"KeySchema\":");
    write_key_schema(
        out,
        std::slice::from_ref(&table.partition_key),
        table.sort_key.as_slice(),
    );
    out.extend_from_slice(
        format!(
            ",\"ProvisionedThroughput\":{{\"ReadCapacityUnits\":{},\"WriteCapacityUnits\":{}}},\"BillingMode\":\"{}\"}}",
            table.read_capacity_units,
            table.write_capacity_units,
            table.billing_mode.as_str()
        )
        .as_bytes(),
    );
    out.extend_from_slice(b",\"SourceTableFeatureDetails\":{");
    write_indexes(out, table);
    out.extend_from_slice(b"}}");
}

pub fn write_summary(out: &mut Vec<u8>, record: &BackupRecord) {
    out.extend_from_slice(b"{\"TableName\":");
    write_json_str(out, &record.table.name);
    out.extend_from_slice(b",\"TableId\":");
    write_json_str(out, &record.table.uuid);
    out.extend_from_slice(b",\"TableArn\":");
    write_json_str(out, &record.table_arn);
    out.extend_from_slice(b",\"BackupArn\":");
    write_json_str(out, &record.arn);
    out.extend_from_slice(b",\"BackupName\":");
    write_json_str(out, &record.name);
    out.extend_from_slice(
        format!(
            ",\"BackupCreationDateTime\":{:.3},\"BackupStatus\":\"{}\",\"BackupType\":\"{}\",\"BackupSizeBytes\":{}",
            record.created_at,
            record.status.as_str(),
            record.backup_type(),
            record.bytes
        )
        .as_bytes(),
    );
    write_expiry(out, record);
    out.push(b'}');
}

fn write_key_schema(out: &mut Vec<u8>, hash: &[KeyAttr], range: &[KeyAttr]) {
    out.push(b'[');
    let keys = hash
        .iter()
        .map(|k| (k, "HASH"))
        .chain(range.iter().map(|k| (k, "RANGE")));
    for (i, (key, kind)) in keys.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"AttributeName\":");
        write_json_str(out, &key.name);
        out.extend_from_slice(format!(",\"KeyType\":\"{kind}\"}}").as_bytes());
    }
    out.push(b']');
}

fn write_indexes(out: &mut Vec<u8>, table: &TableDef) {
    let mut first_member = true;
    for (member, kind) in [
        ("LocalSecondaryIndexes", IndexKind::Local),
        ("GlobalSecondaryIndexes", IndexKind::Global),
    ] {
        let indexes: Vec<&IndexDef> = table.indexes.iter().filter(|i| i.kind == kind).collect();
        if indexes.is_empty() {
            continue;
        }
        if !first_member {
            out.push(b',');
        }
        first_member = false;
        out.extend_from_slice(format!("\"{member}\":[").as_bytes());
        for (i, index) in indexes.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"IndexName\":");
            write_json_str(out, &index.name);
            out.extend_from_slice(b",\"KeySchema\":");
            write_key_schema(out, &index.hash_keys, &index.range_keys);
            out.extend_from_slice(b",\"Projection\":{\"ProjectionType\":\"");
            out.extend_from_slice(index.projection_type.as_str().as_bytes());
            out.push(b'"');
            if !index.non_key_attributes.is_empty() {
                out.extend_from_slice(b",\"NonKeyAttributes\":[");
                for (j, name) in index.non_key_attributes.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    write_json_str(out, name);
                }
                out.push(b']');
            }
            out.push(b'}');
            if kind == IndexKind::Global {
                out.extend_from_slice(
                    format!(
                        ",\"ProvisionedThroughput\":{{\"ReadCapacityUnits\":{},\"WriteCapacityUnits\":{}}}",
                        index.read_capacity_units, index.write_capacity_units
                    )
                    .as_bytes(),
                );
            }
            out.push(b'}');
        }
        out.push(b']');
    }
}
