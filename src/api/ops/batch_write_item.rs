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

/// One planned write.
struct Write {
    owner: u32,
    key: Vec<u8>,
    /// The encoded item, or None to delete.
    value: Option<Vec<u8>>,
    /// Its table's position in the request.
    table: usize,
    /// The new item's size (0 for a delete).
    new_size: usize,
    /// The request as DynamoDB JSON, returned in UnprocessedItems if
    /// throttled.
    request: Vec<u8>,
}
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
    let (writes, tables) = plan(shard, &request_items, total)?;
    let catalog = shard.catalog();
    // As DynamoDB: each write is admitted while its table has credit (its
    // new item's units charged at once, so the next admission sees them);
    // the rest come back as UnprocessedItems, and only a batch of which
    // nothing could be written is refused.
    let mut admitted = Vec::with_capacity(writes.len());
    let mut unprocessed: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut estimates = vec![0.0; tables.len()];
    let mut refusal = None;
    for write in writes {
        if let Some(table) = catalog.table(&tables[write.table]) {
            if let Err(e) = shard.meter.admit_write(table, None) {
                refusal.get_or_insert(e);
                unprocessed.push((write.table, write.request));
                continue;
            }
            let estimate = write_units(write.new_size);
            shard.meter.charge_write(table, estimate, &[], None);
            estimates[write.table] += estimate;
        }
        admitted.push(write);
    }
    if admitted.is_empty()
        && let Some(e) = refusal
    {
        return Err(e);
    }
    let (report, units) = execute(shard, admitted, &tables, consumed != ConsumedMode::None).await?;
    for (i, (name, table_units)) in units.iter().enumerate() {
        if let Some(table) = catalog.table(name) {
            let rest = (*table_units - estimates[i]).max(0.0);
            shard
                .meter
                .charge_write(table, rest, &report.index_units, None);
        }
    }
    Ok(Outcome::Reply(reply(
        report,
        want_metrics,
        consumed,
        &units,
        &tables,
        &unprocessed,
    )))
}

/// One request of the batch, its values read and validated.
enum Parsed {
    Put(Item),
    Delete(Item),
}

/// Validates every request (nothing is written before all are valid) and
/// returns the writes and the tables' names. DynamoDB validates
/// every request's values (and an item's size) before it looks any table
/// up.
fn plan(
    shard: &Shard,
    request_items: &Fields<'_, '_>,
    total: usize,
) -> Result<(Vec<Write>, Vec<String>), ApiError> {
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
    let mut tables = Vec::with_capacity(parsed.len());
    for (position, (name, requests)) in parsed.into_iter().enumerate() {
        let table = table_for_items(shard, name)?;
        for request in requests {
            let write = plan_request(shard, &table, position, request)?;
            if writes.iter().any(|w| w.key == write.key) {
                return Err(ApiError::validation(
                    "Provided list of item keys contains duplicates",
                ));
            }
            writes.push(write);
        }
        tables.push(name.to_string());
    }
    Ok((writes, tables))
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

/// One request on its table (at `position` in the request): its write.
fn plan_request(
    shard: &Shard,
    table: &TableDef,
    position: usize,
    request: Parsed,
) -> Result<Write, ApiError> {
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
            let mut request = b"{\"PutRequest\":{\"Item\":".to_vec();
            write_item(&mut request, &item);
            request.extend_from_slice(b"}}");
            Ok(Write {
                owner: key.owner,
                key: key.storage,
                value: Some(encode_item(&item)),
                table: position,
                new_size: item_size(&item),
                request,
            })
        }
        Parsed::Delete(values) => {
            let mut request = b"{\"DeleteRequest\":{\"Key\":".to_vec();
            write_item(&mut request, &values);
            request.extend_from_slice(b"}}");
            let key = key_from_values(shard, table, values)?;
            Ok(Write {
                owner: key.owner,
                key: key.storage,
                value: None,
                table: position,
                new_size: 0,
                request,
            })
        }
    }
}

/// `item` as DynamoDB JSON (`{"name":{"S":"…"},…}`).
fn write_item(out: &mut Vec<u8>, item: &Item) {
    out.push(b'{');
    for (i, (name, value)) in item.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_str(out, name);
        out.push(b':');
        value.write_json(out);
    }
    out.push(b'}');
}

/// One mesh write per owning shard (each atomic), merged reports, and
/// (with `measure`) each table's write units: per write, as PutItem and
/// DeleteItem charge them, 1 per KB of the larger of old and new item.
async fn execute(
    shard: &Rc<Shard>,
    writes: Vec<Write>,
    tables: &[String],
    measure: bool,
) -> Result<(WriteReport, TableUnits), ApiError> {
    let mut units: TableUnits = tables.iter().map(|name| (name.clone(), 0.0)).collect();
    let mut by_owner: BTreeMap<u32, Vec<Write>> = BTreeMap::new();
    for write in writes {
        by_owner.entry(write.owner).or_default().push(write);
    }
    let mut merged = WriteReport::default();
    for (owner, writes) in by_owner {
        let sizes: Vec<(usize, usize)> = writes.iter().map(|w| (w.table, w.new_size)).collect();
        let batch: WriteBatch = writes.into_iter().map(|w| (w.key, w.value)).collect();
        match call_or_local(shard, owner, MeshRequest::Write { batch, measure }).await? {
            MeshReply::Written(result) => {
                let report = result?;
                if owner != shard.id {
                    crate::api::shard::scope::add_sync_us(report.sync_us);
                }
                for (i, (table, new_size)) in sizes.into_iter().enumerate() {
                    let old_size = report.old_sizes.get(i).copied().unwrap_or(0);
                    units[table].1 += write_units(new_size.max(old_size));
                }
                merged.collections.extend(report.collections);
                merged.index_units.extend(report.index_units);
            }
            other => return Err(unexpected(&other)),
        }
    }
    Ok((merged, units))
}

fn reply(
    report: WriteReport,
    want_metrics: bool,
    consumed: ConsumedMode,
    units: &[(String, f64)],
    tables: &[String],
    unprocessed: &[(usize, Vec<u8>)],
) -> Vec<u8> {
    let WriteReport {
        mut collections,
        index_units,
        ..
    } = report;
    // {"Table": [request, …], …}, in the request's order.
    let mut out = b"{\"UnprocessedItems\":{".to_vec();
    for (i, (table, request)) in unprocessed.iter().enumerate() {
        let first_of_table = i == 0 || unprocessed[i - 1].0 != *table;
        if first_of_table {
            if i > 0 {
                out.extend_from_slice(b"],");
            }
            write_json_str(&mut out, tables.get(*table).map_or("", String::as_str));
            out.extend_from_slice(b":[");
        } else {
            out.push(b',');
        }
        out.extend_from_slice(request);
    }
    if !unprocessed.is_empty() {
        out.push(b']');
    }
    out.push(b'}');
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
