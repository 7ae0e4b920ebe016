//! BatchGetItem: up to 100 keys over any tables, fetched with one mesh
//! request per owning shard; replies past 16 MB leave the remaining keys in
//! UnprocessedKeys for the client to retry.
//!
//! Under throttling, as DynamoDB: each key is admitted while its table has
//! read credit (charged its minimum at once, so the next admission sees it,
//! and the rest once read); the keys refused come back in UnprocessedKeys
//! with their table's ProjectionExpression, ExpressionAttributeNames,
//! AttributesToGet and ConsistentRead, and only a batch none of whose keys
//! could be read is refused (ProvisionedThroughputExceededException).
//! ConsumedCapacity counts only the keys read.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::api::protocol::params::batch_request_items;

use crate::api::expr::Projection;
use crate::api::expr::params::{ExprInput, projection};
use crate::api::messages::{MeshReply, MeshRequest, unexpected};
use crate::api::protocol::error::ApiError;
use crate::api::protocol::reply::{ConsumedMode, read_units, write_consumed_object};
use crate::api::protocol::request::Fields;
use crate::api::shard::peers::call_or_local;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::key::{ItemKey, key_from_values, key_values, table_for_items};
use crate::model::Item;
use crate::model::codec::decode_item;
use crate::model::value::{item_size, write_json_map, write_json_str};

/// DynamoDB's limits for one BatchGetItem.
pub const KEYS_MAX: usize = 100;
pub const REPLY_BYTES_MAX: usize = 16 * 1024 * 1024;

struct TableRequest<'a, 'v> {
    name: String,
    table: std::sync::Arc<crate::catalog::TableDef>,
    projection: Option<Projection>,
    consistent: bool,
    keys: Vec<ItemKey>,
    /// The request's own member, echoed into UnprocessedKeys.
    raw: Fields<'a, 'v>,
}

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let (request_items, consumed) = batch_request_items(&fields)?;
    let mut total = 0;
    for (_, member) in request_items.iter() {
        if let Some(keys) = Fields::of(member)?.list("Keys")? {
            total += keys.len();
        }
    }
    if total > KEYS_MAX {
        return Err(ApiError::validation(
            "Too many items requested for the BatchGetItem call",
        ));
    }
    // Everything that needs no table first (DynamoDB's order): each
    // table's projection, its keys' values and their duplicates.
    let mut parsed = Vec::new();
    for (name, member) in request_items.iter() {
        let member = Fields::of(member)?;
        let input = ExprInput::read_names_only(&member)?;
        let mut ph = input.placeholders()?;
        let projection = projection(&member, &mut ph)?;
        input.require_expressions(
            member.get("ProjectionExpression").is_some(),
            "ProjectionExpression is null",
        )?;
        ph.finish()?;
        let keys_json = member.list("Keys")?.unwrap_or(&[]);
        let mut keys: Vec<Item> = Vec::with_capacity(keys_json.len());
        for key in keys_json {
            let key = key_values(key)?;
            if keys.contains(&key) {
                return Err(ApiError::validation(
                    "Provided list of item keys contains duplicates",
                ));
            }
            keys.push(key);
        }
        parsed.push((name, member, projection, keys));
    }
    let mut tables = Vec::new();
    for (name, member, projection, key_values) in parsed {
        let table = table_for_items(shard, name)?;
        let mut keys: Vec<ItemKey> = Vec::with_capacity(key_values.len());
        for values in key_values {
            keys.push(key_from_values(shard, &table, values)?);
        }
        tables.push(TableRequest {
            name: name.to_string(),
            table,
            projection,
            consistent: member.bool("ConsistentRead")?.unwrap_or(false),
            keys,
            raw: member,
        });
    }
    let (throttled, estimates) = admit(shard, &tables)?;
    // One Get per owning shard, all tables together.
    let mut by_owner: BTreeMap<u32, Vec<(usize, usize)>> = BTreeMap::new();
    for (t, req) in tables.iter().enumerate() {
        for (k, key) in req.keys.iter().enumerate() {
            if !throttled[t][k] {
                by_owner.entry(key.owner).or_default().push((t, k));
            }
        }
    }
    let mut found: Vec<Vec<Option<Item>>> =
        tables.iter().map(|t| vec![None; t.keys.len()]).collect();
    for (owner, slots) in by_owner {
        let keys = slots
            .iter()
            .map(|(t, k)| tables[*t].keys[*k].storage.clone())
            .collect();
        let values = match call_or_local(shard, owner, MeshRequest::Get { keys }).await? {
            MeshReply::Values(values) => values?,
            other => return Err(unexpected(&other)),
        };
        for ((t, k), value) in slots.into_iter().zip(values) {
            if let Some(bytes) = value {
                found[t][k] = Some(decode_item(&bytes)?);
            }
        }
    }
    // Each item rounded on its own, as DynamoDB charges a batch; the
    // minimum each admitted key was charged at admission is not charged
    // twice.
    for (t, (req, items)) in tables.iter().zip(&found).enumerate() {
        let units: f64 = items
            .iter()
            .zip(&throttled[t])
            .filter(|(_, refused)| !**refused)
            .map(|(i, _)| read_units(i.as_ref().map_or(0, item_size), req.consistent))
            .sum();
        shard
            .meter
            .charge_read(&req.table, None, (units - estimates[t]).max(0.0), None);
    }
    Ok(Outcome::Reply(reply(&tables, found, &throttled, consumed)))
}

/// Admits the keys one by one while their table has read credit, each
/// charged the minimum read at once. Returns which keys were refused (per
/// table, in request order) and the units charged per table, or the first
/// refusal when no key at all was admitted.
fn admit(
    shard: &Shard,
    tables: &[TableRequest<'_, '_>],
) -> Result<(Vec<Vec<bool>>, Vec<f64>), ApiError> {
    let mut throttled: Vec<Vec<bool>> = tables.iter().map(|t| vec![false; t.keys.len()]).collect();
    let mut estimates = vec![0.0; tables.len()];
    let mut refusal = None;
    let mut admitted = 0usize;
    for (t, req) in tables.iter().enumerate() {
        for refused in throttled[t].iter_mut() {
            match shard.meter.admit_read(&req.table, None, None) {
                Ok(()) => {
                    let estimate = read_units(0, req.consistent);
                    shard.meter.charge_read(&req.table, None, estimate, None);
                    estimates[t] += estimate;
                    admitted += 1;
                }
                Err(e) => {
                    refusal.get_or_insert(e);
                    *refused = true;
                }
            }
        }
    }
    match refusal {
        Some(e) if admitted == 0 => Err(e),
        _ => Ok((throttled, estimates)),
    }
}

fn reply(
    tables: &[TableRequest<'_, '_>],
    found: Vec<Vec<Option<Item>>>,
    throttled: &[Vec<bool>],
    consumed: ConsumedMode,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(b"{\"Responses\":{");
    let mut bytes = 0usize;
    let mut unprocessed: Vec<(usize, Vec<usize>)> = Vec::new();
    // (units, whether any key of the table was read) per table.
    let mut units: Vec<(f64, bool)> = Vec::new();
    for (t, (req, items)) in tables.iter().zip(found).enumerate() {
        if t > 0 {
            out.push(b',');
        }
        write_json_str(&mut out, &req.name);
        out.extend_from_slice(b":[");
        let mut first = true;
        let mut read = 0.0;
        let mut left = Vec::new();
        let mut any_read = false;
        for (k, item) in items.into_iter().enumerate() {
            if throttled[t][k] || bytes > REPLY_BYTES_MAX {
                left.push(k);
                continue;
            }
            any_read = true;
            let Some(item) = item else {
                read += read_units(0, req.consistent);
                continue;
            };
            let size = item_size(&item);
            bytes += size;
            read += read_units(size, req.consistent);
            if !first {
                out.push(b',');
            }
            first = false;
            match &req.projection {
                Some(p) => write_json_map(&mut out, &p.apply(&item)),
                None => write_json_map(&mut out, &item),
            }
        }
        out.push(b']');
        units.push((read, any_read));
        if !left.is_empty() {
            unprocessed.push((t, left));
        }
    }
    out.extend_from_slice(b"},\"UnprocessedKeys\":{");
    write_unprocessed(&mut out, tables, &unprocessed);
    out.push(b'}');
    if consumed != ConsumedMode::None {
        out.extend_from_slice(b",\"ConsumedCapacity\":[");
        // Only the tables something was read from (a table whose every key
        // was throttled consumed nothing).
        let read = tables.iter().zip(units).filter(|(_, (_, any))| *any);
        for (i, (req, (units, _))) in read.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // INDEXES adds the table's own share, as for GetItem.
            write_consumed_object(&mut out, consumed, &req.name, units, &[]);
        }
        out.push(b']');
    }
    out.push(b'}');
    out
}

/// The keys left for the client to retry, per table, with the members
/// it needs to repeat them.
fn write_unprocessed(
    out: &mut Vec<u8>,
    tables: &[TableRequest<'_, '_>],
    unprocessed: &[(usize, Vec<usize>)],
) {
    for (i, (t, left)) in unprocessed.iter().enumerate() {
        let req = &tables[*t];
        if i > 0 {
            out.push(b',');
        }
        write_json_str(out, &req.name);
        out.extend_from_slice(b":{\"Keys\":[");
        for (j, k) in left.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            let key = &req.keys[*k];
            let mut map = Item::new();
            map.insert(req.table.partition_key.name.clone(), key.pk.clone());
            if let (Some(attr), Some(sk)) = (&req.table.sort_key, &key.sk) {
                map.insert(attr.name.clone(), sk.clone());
            }
            write_json_map(out, &map);
        }
        out.push(b']');
        for member in ["ProjectionExpression", "AttributesToGet", "ConsistentRead"] {
            if let Some(value) = req.raw.get(member) {
                out.push(b',');
                write_json_str(out, member);
                out.push(b':');
                out.extend_from_slice(simd_json::to_string(value).unwrap_or_default().as_bytes());
            }
        }
        if let Some(names) = req.raw.get("ExpressionAttributeNames") {
            out.extend_from_slice(b",\"ExpressionAttributeNames\":");
            out.extend_from_slice(simd_json::to_string(names).unwrap_or_default().as_bytes());
        }
        out.push(b'}');
    }
}
