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

use std::ops::Bound;
use std::rc::Rc;

use crate::api::error::{ApiError, Violations};
use crate::api::expr::ExprKind;
use crate::api::expressions::{ExprInput, check_not_mixed, condition, projection};
use crate::api::items::{consumed_mode, key_from_json, table_for_items};
use crate::api::legacy;
use crate::api::mesh::{MeshReply, MeshRequest, call_or_local, unexpected};
use crate::api::paging::{PageBuilder, max_lower, min_upper, prefix_end, read_limit, read_select};
use crate::api::request::Fields;
use crate::api::tables::check_table_name;
use crate::api::{Outcome, Shard};

/// DynamoDB's bound on TotalSegments.
const TOTAL_SEGMENTS_MAX: i64 = 1_000_000;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let mut v = Violations::default();
    let name = fields.str("TableName")?;
    check_table_name(&mut v, name, "tableName");
    let consumed = consumed_mode(&fields, &mut v)?;
    let segment = fields.i64("Segment")?;
    let total = fields.i64("TotalSegments")?;
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
    v.into_result()?;
    let Some(name) = name else {
        return Err(ApiError::validation("TableName is required"));
    };
    let segments = match (segment, total) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(ApiError::validation(
                "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
            ));
        }
        (None, Some(_)) => {
            return Err(ApiError::validation(
                "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
            ));
        }
        (Some(s), Some(t)) if s >= t => {
            return Err(ApiError::validation(format!(
                "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {s} is not less than TotalSegments: {t}"
            )));
        }
        (Some(s), Some(t)) => Some((s as u64, t as u64)),
    };
    check_not_mixed(
        &fields,
        &["ScanFilter", "ConditionalOperator"],
        &["FilterExpression", "ProjectionExpression"],
    )?;
    let limit = read_limit(&fields)?;
    let consistent = fields.bool("ConsistentRead")?.unwrap_or(false);
    let input = ExprInput::read(&fields)?;
    let mut ph = input.placeholders()?;
    let filter = condition(&fields, "FilterExpression", ExprKind::Filter, &mut ph)?;
    let projection = projection(&fields, &mut ph)?;
    input.require_expressions(
        filter.is_some() || fields.get("ProjectionExpression").is_some(),
        "FilterExpression is null",
    )?;
    ph.finish()?;
    let count_only = read_select(&fields, projection.is_some())?;
    let filter = match filter {
        Some(filter) => Some(filter),
        None => legacy::filter(&fields, "ScanFilter")?,
    };
    let table = table_for_items(shard, name)?;
    if let Some(index) = fields.str("IndexName")? {
        return Err(ApiError::validation(format!(
            "The table does not have the specified index: {index}"
        )));
    }
    let tid = table.id.to_be_bytes();
    let hash_key = |h: u64| {
        let mut k = tid.to_vec();
        k.extend_from_slice(&h.to_be_bytes());
        k
    };
    // The hash range this request covers, inclusive.
    let (hash_lo, hash_hi) = match segments {
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
    };
    let mut resume: Option<(u64, Vec<u8>)> = None;
    if let Some(start) = fields.get("ExclusiveStartKey") {
        let start = key_from_json(shard, &table, start)?;
        // A start key outside the segment resumes nothing (an empty last
        // page), as DynamoDB Local answers.
        if start.hash < hash_lo || start.hash > hash_hi {
            let page = PageBuilder::new(&table, None, None, count_only, limit);
            return Ok(Outcome::Reply(page.reply(consumed, consistent)));
        }
        resume = Some((start.hash, start.storage));
    }
    let mut page = PageBuilder::new(
        &table,
        filter.as_ref(),
        projection.as_ref(),
        count_only,
        limit,
    );
    let first_hash = resume.as_ref().map_or(hash_lo, |(h, _)| *h);
    let map = shard.map;
    'shards: for owner in map.owner(first_hash)..map.shard_count() {
        let lo = map.range_start(owner).max(hash_lo);
        let hi = map.range_end(owner).min(hash_hi);
        if lo > hi {
            continue;
        }
        let mut lower = Bound::Included(hash_key(lo));
        if let Some((_, key)) = &resume {
            lower = max_lower(lower, Bound::Excluded(key.clone()));
        }
        let upper = if hi == u64::MAX {
            prefix_end(&tid)
        } else {
            Bound::Excluded(hash_key(hi + 1))
        };
        let upper = min_upper(upper, prefix_end(&tid));
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
                break;
            }
            for (k, value) in &entries {
                lower = Bound::Excluded(k.clone());
                if !page.offer(value)? {
                    break 'shards;
                }
            }
        }
    }
    Ok(Outcome::Reply(page.reply(consumed, consistent)))
}
