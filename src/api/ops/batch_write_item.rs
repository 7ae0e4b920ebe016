//! BatchWriteItem: up to 25 puts and deletes over any tables, applied with
//! one mesh write per owning shard. Each shard's share is atomic; the batch
//! as a whole is not (DynamoDB promises no more). Every request is validated
//! before anything is written, so a bad request changes nothing.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::api::protocol::params::batch_request_items;

use crate::api::index::keys::check_item as check_index_keys;
use crate::api::messages::WriteReport;
use crate::api::messages::{MeshReply, MeshRequest, unexpected};
use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::params::wants_collection_metrics;
use crate::api::protocol::reply::IndexUnits;
use crate::api::protocol::reply::{ConsumedMode, write_consumed_object, write_units};
use crate::api::protocol::request::Fields;
use crate::api::shard::peers::call_or_local;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::key::{
    check_item_size, key_from_values, key_of_item, key_values, table_for_items,
};
use crate::catalog::TableDef;
use crate::engine::WriteBatch;
use crate::model::Item;
use crate::model::codec::encode_item;
use crate::model::value::{item_from_json, item_size, write_json_str};

/// DynamoDB's limit on requests in one BatchWriteItem.
pub const REQUESTS_MAX: usize = 25;

/// One planned write: (owner, storage key, value or tombstone).
type Write = (u32, Vec<u8>, Option<Vec<u8>>);
/// Write capacity units per table, in request order.
type TableUnits = Vec<(String, f64)>;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let (request_items, consumed) = batch_request_items(&fields)?;
    let mut v = Violations::default();
    let want_metrics = wants_collection_metrics(&fields, &mut v)?;
    v.into_result()?;
    let mut total = 0;
    for (name, _) in request_items.iter() {
        total += request_items.list(name)?.map_or(0, <[_]>::len);
    }
    if total > REQUESTS_MAX {
        return Err(ApiError::validation(
            "Too many items requested for the BatchWriteItem call",
        ));
    }
    let (writes, units) = plan(shard, &request_items, total)?;
    let report = execute(shard, writes).await?;
    Ok(Outcome::Reply(reply(
        report,
        want_metrics,
        consumed,
        &units,
    )))
}

/// One request of the batch, its values read and validated.
enum Parsed {
    Put(Item),
    Delete(Item),
}

/// Validates every request (nothing is written before all are valid) and
/// returns the writes and each table's write units. DynamoDB validates
/// every request's values (and an item's size) before it looks any table
/// up.
fn plan(
    shard: &Shard,
    request_items: &Fields<'_, '_>,
    total: usize,
) -> Result<(Vec<Write>, TableUnits), ApiError> {
    let mut parsed: Vec<(&str, Vec<Parsed>)> = Vec::new();
    for (name, _) in request_items.iter() {
        let list = request_items.list(name)?.unwrap_or(&[]);
        let mut requests = Vec::with_capacity(list.len());
        for request in list {
            requests.push(parse_request(Fields::of(request)?)?);
        }
        parsed.push((name, requests));
    }
    let mut writes: Vec<Write> = Vec::with_capacity(total);
    let mut units = TableUnits::new();
    for (name, requests) in parsed {
        let table = table_for_items(shard, name)?;
        let mut table_units = 0.0;
        for request in requests {
            let (write, write_units) = plan_request(shard, &table, request)?;
            if writes.iter().any(|(_, k, _)| *k == write.1) {
                return Err(ApiError::validation(
                    "Provided list of item keys contains duplicates",
                ));
            }
            table_units += write_units;
            writes.push(write);
        }
        units.push((name.to_string(), table_units));
    }
    Ok((writes, units))
}

/// Reads one PutRequest or DeleteRequest (exactly one of them).
fn parse_request(request: Fields<'_, '_>) -> Result<Parsed, ApiError> {
    let put = request.object("PutRequest")?;
    let delete = request.object("DeleteRequest")?;
    match (put, delete) {
        (Some(put), None) => {
            let item_json = put.get("Item").ok_or_else(|| {
                ApiError::validation(
                    "1 validation error detected: Value null at 'requestItems.member.putRequest.item' failed to satisfy constraint: Member must not be null",
                )
            })?;
            let item = item_from_json(item_json)?;
            check_item_size(&item)?;
            Ok(Parsed::Put(item))
        }
        (None, Some(delete)) => {
            let key_json = delete.get("Key").ok_or_else(|| {
                ApiError::validation(
                    "1 validation error detected: Value null at 'requestItems.member.deleteRequest.key' failed to satisfy constraint: Member must not be null",
                )
            })?;
            Ok(Parsed::Delete(key_values(key_json)?))
        }
        // DynamoDB Local words an empty request this way too.
        _ => Err(ApiError::validation(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
        )),
    }
}

/// One request on its table: its write and its write units.
fn plan_request(
    shard: &Shard,
    table: &TableDef,
    request: Parsed,
) -> Result<(Write, f64), ApiError> {
    match request {
        Parsed::Put(item) => {
            let key = key_of_item(shard, table, &item).map_err(|e| {
                if e.message.contains("Missing the key") {
                    ApiError::validation("One of the required keys was not given a value")
                } else {
                    e
                }
            })?;
            check_index_keys(table, &item, false)?;
            let units = write_units(item_size(&item));
            Ok(((key.owner, key.storage, Some(encode_item(&item))), units))
        }
        Parsed::Delete(values) => {
            let key = key_from_values(shard, table, values)?;
            Ok(((key.owner, key.storage, None), write_units(0)))
        }
    }
}

/// One mesh write per owning shard (each atomic), merged reports.
async fn execute(shard: &Rc<Shard>, writes: Vec<Write>) -> Result<WriteReport, ApiError> {
    let mut by_owner: BTreeMap<u32, WriteBatch> = BTreeMap::new();
    for (owner, key, value) in writes {
        by_owner.entry(owner).or_default().push((key, value));
    }
    let mut merged = WriteReport::default();
    for (owner, batch) in by_owner {
        match call_or_local(shard, owner, MeshRequest::Write { batch }).await? {
            MeshReply::Written(result) => {
                let report = result?;
                merged.collections.extend(report.collections);
                merged.index_units.extend(report.index_units);
            }
            other => return Err(unexpected(&other)),
        }
    }
    Ok(merged)
}

fn reply(
    report: WriteReport,
    want_metrics: bool,
    consumed: ConsumedMode,
    units: &[(String, f64)],
) -> Vec<u8> {
    let WriteReport {
        mut collections,
        index_units,
    } = report;
    let mut out = b"{\"UnprocessedItems\":{}".to_vec();
    if want_metrics && !collections.is_empty() {
        // {"Table": [metrics, …], …}, tables in name order.
        collections.sort_by(|a, b| a.table.cmp(&b.table));
        out.extend_from_slice(b",\"ItemCollectionMetrics\":{");
        for (i, m) in collections.iter().enumerate() {
            let first_of_table = i == 0 || collections[i - 1].table != m.table;
            if first_of_table {
                if i > 0 {
                    out.extend_from_slice(b"],");
                }
                write_json_str(&mut out, &m.table);
                out.extend_from_slice(b":[");
            } else {
                out.push(b',');
            }
            m.write_json(&mut out);
        }
        out.extend_from_slice(b"]}");
    }
    if consumed != ConsumedMode::None {
        out.extend_from_slice(b",\"ConsumedCapacity\":[");
        for (i, (name, units)) in units.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let of_table: Vec<IndexUnits> = index_units
                .iter()
                .filter(|u| &u.table == name)
                .cloned()
                .collect();
            write_consumed_object(&mut out, consumed, name, *units, &of_table);
        }
        out.push(b']');
    }
    out.push(b'}');
    out
}
