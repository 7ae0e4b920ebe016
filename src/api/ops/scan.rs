//! Scan: every item of a table in the one global key order (table, placement
//! hash, partition key, sort key), paged, with parallel-scan segments.
//!
//! Shards own contiguous hash ranges in shard order, so the global order is
//! shard 0's range, then shard 1's, and so on; a page walks them in turn,
//! asking each for a bounded batch of entries over the mesh (or locally).
//! Segment `s` of `T` covers hashes [⌈s·2⁶⁴/T⌉, ⌈(s+1)·2⁶⁴/T⌉) — a slice of
//! the same order, so segments are disjoint and together cover the table.
//! LastEvaluatedKey is an ordinary key: resuming recomputes its hash and
//! continues after it.
//!
//! With `IndexName` the walk is the same over the index's own id prefix:
//! entries sort by (index partition hash, index keys, base key) on every
//! shard, so segments and resumption work unchanged; LastEvaluatedKey then
//! carries the table's and the index's keys and resumes at that entry key.
//!
//! Shape: [`read`] validates the request alone, `handle` resolves the table
//! and plans the walk, [`fill`] executes it owner by owner.

use std::ops::Bound;
use std::rc::Rc;

use crate::api::expr::legacy;
use crate::api::expr::params::{ExprInput, check_not_mixed, condition, projection};
use crate::api::expr::{Condition, ExprKind, Projection};
use crate::api::index::read::{self, ReadPlan};
use crate::api::messages::{Entries, MeshReply, MeshRequest, unexpected};
use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::names::check_table_name;
use crate::api::protocol::params::consumed_mode;
use crate::api::protocol::params::{SelectKind, read_limit, read_select_kind};
use crate::api::protocol::reply::ConsumedMode;
use crate::api::protocol::request::Fields;
use crate::api::read::page::{IndexPage, PageBuilder};
use crate::api::shard::peers::call_or_local;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::key::{make_key, start_key_from_json, table_for_items};
use crate::catalog::{IndexDef, TableDef};
use crate::model::Item;
use crate::model::codec::decode_item;
use crate::model::key::{max_lower, min_upper, prefix_end};

/// DynamoDB's bound on TotalSegments.
const TOTAL_SEGMENTS_MAX: i64 = 1_000_000;

/// Scan's members, validated in DynamoDB's order.
struct Request<'a> {
    name: &'a str,
    index_name: Option<&'a str>,
    consumed: ConsumedMode,
    /// (Segment, TotalSegments) of a parallel scan.
    segments: Option<(u64, u64)>,
    limit: Option<usize>,
    consistent: bool,
    filter: Option<Condition>,
    projection: Option<Projection>,
    select: SelectKind,
}

/// What one page walks: the key prefix (table or index id), the hash range
/// of the segment (inclusive) and where to resume in it.
struct Walk<'r> {
    table: &'r TableDef,
    index: Option<(&'r IndexDef, ReadPlan)>,
    prefix: [u8; 4],
    hashes: (u64, u64),
    resume: Option<(u64, Vec<u8>)>,
}

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let request = read(&fields)?;
    let table = table_for_items(shard, request.name)?;
    // An index is scanned like a table: its entries live under its own id
    // in the same global (hash, key) order.
    let index = match request.index_name {
        Some(index_name) => {
            let index = read::resolve(&table, index_name, request.consistent)?;
            let plan = read::plan(
                &table,
                index,
                request.select,
                request.projection.as_ref(),
                request.filter.as_ref(),
            )?;
            Some((index, plan))
        }
        None => None,
    };
    let mut walk = Walk {
        table: &table,
        index,
        prefix: index.map_or(table.id, |(ix, _)| ix.id).to_be_bytes(),
        hashes: segment_hashes(request.segments),
        resume: None,
    };
    if let Some(start) = fields.get("ExclusiveStartKey") {
        let (hash, storage) = match index {
            Some((index, _)) => {
                let (_, key) = read::start_key(&shard.map, &table, index, start)?;
                (key.hash, key.storage)
            }
            None => {
                let key = start_key_from_json(shard, &table, start)?;
                (key.hash, key.storage)
            }
        };
        // A parallel scan resumes only inside its own segment.
        if hash < walk.hashes.0 || hash > walk.hashes.1 {
            return Err(ApiError::validation(
                "Exclusive start key must lie within the segment",
            ));
        }
        walk.resume = Some((hash, storage));
    }
    shard.meter.admit_read(&table, request.index_name, None)?;
    let mut page = new_page(&request, &walk);
    fill(shard, &walk, &mut page).await?;
    page.charge(&shard.meter, request.consistent, None);
    Ok(Outcome::Reply(
        page.reply(request.consumed, request.consistent),
    ))
}

/// Validates the request alone (nothing here reads the catalog).
fn read<'a>(fields: &Fields<'a, '_>) -> Result<Request<'a>, ApiError> {
    let mut v = Violations::default();
    let name = fields.str("TableName")?;
    check_table_name(&mut v, name, "tableName");
    let index_name = fields.str("IndexName")?;
    if index_name.is_some() {
        check_table_name(&mut v, index_name, "indexName");
    }
    let consumed = consumed_mode(fields, &mut v)?;
    let segment = fields.i64("Segment")?;
    let total = fields.i64("TotalSegments")?;
    check_segment_bounds(&mut v, segment, total);
    v.into_result()?;
    let Some(name) = name else {
        return Err(ApiError::validation("TableName is required"));
    };
    let segments = segments(segment, total)?;
    check_not_mixed(
        fields,
        &["AttributesToGet", "ScanFilter", "ConditionalOperator"],
        &["ProjectionExpression", "FilterExpression"],
    )?;
    let limit = read_limit(fields)?;
    let consistent = fields.bool("ConsistentRead")?.unwrap_or(false);
    let input = ExprInput::read(fields)?;
    let mut ph = input.placeholders()?;
    let filter = condition(fields, "FilterExpression", ExprKind::Filter, &mut ph)?;
    let projection = projection(fields, &mut ph)?;
    input.require_expressions(
        filter.is_some() || fields.get("ProjectionExpression").is_some(),
        "FilterExpression is null",
    )?;
    ph.finish()?;
    let select = read_select_kind(fields, projection.is_some(), index_name.is_some())?;
    let filter = match filter {
        Some(filter) => Some(filter),
        None => legacy::filter(fields, "ScanFilter")?,
    };
    Ok(Request {
        name,
        index_name,
        consumed,
        segments,
        limit,
        consistent,
        filter,
        projection,
        select,
    })
}

fn check_segment_bounds(v: &mut Violations, segment: Option<i64>, total: Option<i64>) {
    if let Some(s) = segment.filter(|s| *s < 0 || *s > TOTAL_SEGMENTS_MAX - 1) {
        v.push(
            &format!("'{s}'"),
            "segment",
            if s < 0 {
                "Member must have value greater than or equal to 0"
            } else {
                "Member must have value less than or equal to 999999"
            },
        );
    }
    if let Some(t) = total.filter(|t| *t < 1 || *t > TOTAL_SEGMENTS_MAX) {
        v.push(
            &format!("'{t}'"),
            "totalSegments",
            if t < 1 {
                "Member must have value greater than or equal to 1"
            } else {
                "Member must have value less than or equal to 1000000"
            },
        );
    }
}

/// Segment and TotalSegments come together, the segment below the total.
fn segments(segment: Option<i64>, total: Option<i64>) -> Result<Option<(u64, u64)>, ApiError> {
    match (segment, total) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(ApiError::validation(
            "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
        )),
        (None, Some(_)) => Err(ApiError::validation(
            "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
        )),
        (Some(s), Some(t)) if s >= t => Err(ApiError::validation(format!(
            "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {s} is not less than TotalSegments: {t}"
        ))),
        (Some(s), Some(t)) => Ok(Some((s as u64, t as u64))),
    }
}

/// The hash range a request covers, inclusive: segment `s` of `t` is
/// [⌈s·2⁶⁴/t⌉, ⌈(s+1)·2⁶⁴/t⌉).
fn segment_hashes(segments: Option<(u64, u64)>) -> (u64, u64) {
    match segments {
        None => (0u64, u64::MAX),
        Some((s, t)) => {
            let edge = |i: u64| ((u128::from(i) << 64).div_ceil(u128::from(t))) as u64;
            let hi = if s + 1 == t {
                u64::MAX
            } else {
                edge(s + 1) - 1
            };
            (edge(s), hi)
        }
    }
}

fn new_page<'r>(request: &'r Request<'_>, walk: &Walk<'r>) -> PageBuilder<'r> {
    let page = PageBuilder::new(
        walk.table,
        request.filter.as_ref(),
        request.projection.as_ref(),
        request.select == SelectKind::Count,
        request.limit,
    );
    match walk.index {
        Some((index, plan)) => page.over_index(IndexPage {
            index,
            reshape: plan.reshape,
        }),
        None => page,
    }
}

/// Walks the owners of the hash range in shard order until the page is
/// full or the range is done.
async fn fill(
    shard: &Rc<Shard>,
    walk: &Walk<'_>,
    page: &mut PageBuilder<'_>,
) -> Result<(), ApiError> {
    let hash_key = |h: u64| {
        let mut k = walk.prefix.to_vec();
        k.extend_from_slice(&h.to_be_bytes());
        k
    };
    let (hash_lo, hash_hi) = walk.hashes;
    let first_hash = walk.resume.as_ref().map_or(hash_lo, |(h, _)| *h);
    let map = shard.map;
    for owner in map.owner(first_hash)..map.shard_count() {
        let lo = map.range_start(owner).max(hash_lo);
        let hi = map.range_end(owner).min(hash_hi);
        if lo > hi {
            continue;
        }
        let mut lower = Bound::Included(hash_key(lo));
        if let Some((_, key)) = &walk.resume {
            lower = max_lower(lower, Bound::Excluded(key.clone()));
        }
        let upper = if hi == u64::MAX {
            prefix_end(&walk.prefix)
        } else {
            Bound::Excluded(hash_key(hi + 1))
        };
        let upper = min_upper(upper, prefix_end(&walk.prefix));
        if !fill_from(shard, walk, owner, (lower, upper), page).await? {
            break;
        }
    }
    Ok(())
}

/// Offers the entries of `range` on `owner` to the page; false once the
/// page is full.
async fn fill_from(
    shard: &Rc<Shard>,
    walk: &Walk<'_>,
    owner: u32,
    (mut lower, upper): (Bound<Vec<u8>>, Bound<Vec<u8>>),
    page: &mut PageBuilder<'_>,
) -> Result<bool, ApiError> {
    let fetch_base = walk.index.is_some_and(|(_, plan)| plan.fetch_base);
    loop {
        let request = MeshRequest::Scan {
            lower: lower.clone(),
            upper: upper.clone(),
            reverse: false,
            max_entries: page.fetch_size(),
            max_bytes: usize::MAX,
        };
        let entries = match call_or_local(shard, owner, request).await? {
            MeshReply::Entries(entries) => entries?,
            other => return Err(unexpected(&other)),
        };
        if entries.is_empty() {
            return Ok(true);
        }
        let mut fetched = if fetch_base {
            fetch_base_items(shard, walk.table, owner, &entries).await?
        } else {
            Vec::new()
        };
        for (i, (k, value)) in entries.iter().enumerate() {
            lower = Bound::Excluded(k.clone());
            let offered = if fetch_base {
                match fetched[i].take() {
                    // The base item went away after the entry was read.
                    None => continue,
                    Some((entry, base)) => page.offer_entry(entry, Some(base)),
                }
            } else {
                page.offer(value)?
            };
            if !offered {
                return Ok(false);
            }
        }
    }
}

/// The base items of LSI entries read from `owner`, which holds both: one
/// batched point read there. None for an entry whose base item is gone (a
/// write raced between the two reads; its entry is gone too by now).
async fn fetch_base_items(
    shard: &Rc<Shard>,
    table: &TableDef,
    owner: u32,
    entries: &Entries,
) -> Result<Vec<Option<(Item, Item)>>, ApiError> {
    let decode = |bytes: &[u8]| decode_item(bytes).map_err(ApiError::from);
    let mut decoded = Vec::with_capacity(entries.len());
    let mut keys = Vec::with_capacity(entries.len());
    for (_, value) in entries {
        let entry = decode(value)?;
        let (pk, sk) = read::base_key_values(table, &entry)
            .ok_or_else(|| ApiError::internal("index entry without the table's key"))?;
        keys.push(make_key(shard, table, pk, sk).storage);
        decoded.push(entry);
    }
    let values = match call_or_local(shard, owner, MeshRequest::Get { keys }).await? {
        MeshReply::Values(values) => values?,
        other => return Err(unexpected(&other)),
    };
    let mut out = Vec::with_capacity(decoded.len());
    for (entry, value) in decoded.into_iter().zip(values) {
        out.push(match value {
            Some(bytes) => Some((entry, decode(&bytes)?)),
            None => None,
        });
    }
    Ok(out)
}
