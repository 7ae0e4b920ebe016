//! GetRecords: up to Limit (≤ 1000) records and about 1 MB from a shard
//! iterator's position, in sequence order, and the iterator to continue
//! with. A closed shard read to its end answers no NextShardIterator (the
//! consumer moves on to the child shard); an open one always answers one,
//! even with no records.
//!
//! Answered by the Dynacore shard storing the stream shard. Whether the
//! shard is closed is decided *before* reading (after that no record can
//! land in it: `shard::streams`), and the answer waits until everything
//! read is durable: a record of a write a crash could take back is never
//! shown.

use std::ops::Bound;
use std::rc::Rc;

use crate::api::messages::as_ref_bound;
use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::model::value::write_json_str;

use super::iterator::{ShardIterator, TOKEN_LEN_MAX, peek};
use super::params::{limit, string};
use super::record::{decode, write_json};
use super::{epoch_prefix, first_epoch, now_ms, parse_record_key, record_key};

const LIMIT_MAX: i64 = 1000;
/// DynamoDB's 1 MB per GetRecords answer.
const PAGE_BYTES_MAX: usize = 1 << 20;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let mut v = Violations::default();
    let token = string(
        &fields,
        "ShardIterator",
        "shardIterator",
        (1, TOKEN_LEN_MAX),
        true,
        &mut v,
    )?;
    let limit = limit(&fields, LIMIT_MAX, &mut v)?;
    v.into_result()?;
    let Some(token) = token else {
        return Err(ApiError::validation("ShardIterator is required"));
    };
    let invalid = || ApiError::validation("Invalid ShardIterator");
    let unverified = peek(token).ok_or_else(invalid)?;
    let catalog = shard.catalog();
    let claimed = unverified.claimed.stream;
    let table = catalog.stream_table_by_id(claimed.0).ok_or_else(|| {
        ApiError::resource_not_found_message("Requested resource not found: Stream not found")
    })?;
    let stream = table.stream(claimed.1).ok_or_else(|| {
        ApiError::resource_not_found_message("Requested resource not found: Stream not found")
    })?;
    let it = unverified
        .verify(&stream.iterator_key)
        .ok_or_else(invalid)?;
    let now = now_ms();
    if now >= it.expires_ms {
        return Err(ApiError::expired_iterator(
            "Iterator expired. The iterator was created more than 15 minutes ago (stream_iterator_lifetime_ms)",
        ));
    }
    if it.shard != shard.id {
        return Ok(Outcome::Forward(it.shard));
    }
    let key = it.stream;
    let trimmed = || {
        ApiError::trimmed_data_access(
            "The operation attempted to read past the oldest stream record in a shard",
        )
    };
    if it.epoch < first_epoch(stream, shard, now) {
        return Err(trimmed());
    }
    if it.position != (0, 0) && shard.streams.is_trimmed(key, it.epoch, it.position) {
        return Err(trimmed());
    }
    let view = stream.view_type;
    let closed =
        stream.disabled_ms.is_some() || it.epoch < shard.streams.open_epoch(key, stream, now);
    let limit = limit.unwrap_or(LIMIT_MAX) as usize;
    let lower = record_key(key, it.epoch, it.position.0, it.position.1);
    let upper = match it.epoch.checked_add(1) {
        Some(next) => Bound::Excluded(epoch_prefix(key, next)),
        None => crate::model::key::prefix_end(&epoch_prefix(key, it.epoch)),
    };
    let mut page = shard
        .store
        .scan(
            Bound::Included(&lower),
            as_ref_bound(&upper),
            false,
            limit + 1,
            PAGE_BYTES_MAX,
        )
        .await?;
    // Nothing read may be shown before it is durable.
    shard.store.durable_marker()?.wait().await?;
    let bytes: usize = page.iter().map(|(k, v)| k.len() + v.len()).sum();
    let at_end = page.len() <= limit && bytes < PAGE_BYTES_MAX;
    page.truncate(limit);
    let mut records = b"[".to_vec();
    let mut next = it.position;
    for (i, (k, value)) in page.iter().enumerate() {
        let Some((_, epoch, seq, index)) = parse_record_key(k) else {
            return Err(ApiError::internal("malformed stream record key"));
        };
        let stored = decode(value)?;
        if i > 0 {
            records.push(b',');
        }
        write_json(
            &mut records,
            shard,
            view,
            (epoch, it.shard, (seq, index)),
            &stored,
        )?;
        next = match index.checked_add(1) {
            Some(i) => (seq, i),
            None => (seq.saturating_add(1), 0),
        };
    }
    records.push(b']');
    let mut reply = ReplyBuilder::new();
    if !(closed && at_end) {
        let continued = ShardIterator {
            position: next,
            expires_ms: now.saturating_add(shard.settings.streams.iterator_lifetime_ms),
            ..it
        };
        let mut token = Vec::new();
        write_json_str(&mut token, &continued.encode(&stream.iterator_key));
        reply.raw("NextShardIterator", &token);
    }
    reply.raw("Records", &records);
    Ok(Outcome::Reply(reply.finish()))
}
