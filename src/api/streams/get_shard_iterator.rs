//! GetShardIterator: a signed token for a position in one stream shard —
//! TRIM_HORIZON (its oldest record), LATEST (after its newest: only
//! records written later), AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER (a
//! sequence number of this shard). Answered by the Dynacore shard that
//! stores the stream shard (forwarded there): LATEST is that shard's next
//! WAL position, and only it knows what was trimmed.

use std::rc::Rc;

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::streams::Position;
use crate::api::shard::{Outcome, Shard};
use crate::model::value::write_json_str;

use super::iterator::ShardIterator;
use super::names::{parse_sequence_number, parse_shard_id};
use super::params::{SEQUENCE_NUMBER_LEN, SHARD_ID_LEN, STREAM_ARN_LEN, string};
use super::{epoch_listed, now_ms, resolve};

/// Past every position: a LATEST iterator of a closed shard reads nothing.
pub const END: Position = (u64::MAX, u16::MAX);

pub fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let mut v = Violations::default();
    let arn = string(
        &fields,
        "StreamArn",
        "streamArn",
        STREAM_ARN_LEN,
        true,
        &mut v,
    )?;
    let shard_id = string(&fields, "ShardId", "shardId", SHARD_ID_LEN, true, &mut v)?;
    let kind = fields.str("ShardIteratorType")?;
    match kind {
        None => v.null("shardIteratorType"),
        Some("TRIM_HORIZON" | "LATEST" | "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER") => {}
        Some(t) => v.push(
            &format!("'{t}'"),
            "shardIteratorType",
            "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]",
        ),
    }
    let sequence = string(
        &fields,
        "SequenceNumber",
        "sequenceNumber",
        SEQUENCE_NUMBER_LEN,
        false,
        &mut v,
    )?;
    v.into_result()?;
    let (Some(arn), Some(shard_id), Some(kind)) = (arn, shard_id, kind) else {
        return Err(ApiError::validation("Missing required members"));
    };
    let catalog = shard.catalog();
    let now = now_ms();
    let found = resolve(&catalog, shard, arn, now)?;
    let stream = found.stream;
    let no_shard = || {
        ApiError::resource_not_found_message(format!(
            "Requested resource not found: Shard does not exist: {shard_id}"
        ))
    };
    let (owner, epoch) = parse_shard_id(stream, shard_id).ok_or_else(no_shard)?;
    if owner >= shard.map.shard_count() || !epoch_listed(stream, shard, epoch, now) {
        return Err(no_shard());
    }
    let at = match (kind, sequence) {
        ("AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER", None) => {
            return Err(ApiError::validation(format!(
                "Must specify SequenceNumber when ShardIteratorType is {kind}"
            )));
        }
        ("AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER", Some(seq)) => {
            let parsed =
                parse_sequence_number(seq).filter(|&(e, s, _)| e == epoch && s == owner % 100_000);
            let Some((_, _, (wal, index))) = parsed else {
                return Err(ApiError::validation(format!(
                    "Invalid SequenceNumber {seq} for shard {shard_id}"
                )));
            };
            if kind == "AT_SEQUENCE_NUMBER" {
                Some((wal, index))
            } else if index == u16::MAX {
                Some((wal.saturating_add(1), 0))
            } else {
                Some((wal, index + 1))
            }
        }
        _ => None,
    };
    if owner != shard.id {
        return Ok(Outcome::Forward(owner));
    }
    let key = found.key();
    let position = match (kind, at) {
        (_, Some(position)) => {
            if shard.streams.is_trimmed(key, epoch, position) {
                return Err(ApiError::trimmed_data_access(format!(
                    "Sequence number {} is older than the oldest record kept in shard {shard_id}",
                    sequence.unwrap_or_default()
                )));
            }
            position
        }
        ("LATEST", None) => {
            let open =
                stream.disabled_ms.is_none() && shard.streams.open_epoch(key, stream, now) == epoch;
            match shard.store.next_write_seq() {
                Some(seq) if open => (seq, 0),
                _ => END,
            }
        }
        _ => (0, 0),
    };
    let iterator = ShardIterator {
        stream: key,
        shard: owner,
        epoch,
        position,
        expires_ms: now.saturating_add(shard.settings.streams.iterator_lifetime_ms),
    };
    let mut token = Vec::new();
    write_json_str(&mut token, &iterator.encode(&stream.iterator_key));
    let mut reply = ReplyBuilder::new();
    reply.raw("ShardIterator", &token);
    Ok(Outcome::Reply(reply.finish()))
}
