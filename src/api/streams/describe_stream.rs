//! DescribeStream: a stream's settings and its shards, parents before
//! children (ordered by epoch, then Dynacore shard), paged by
//! ExclusiveStartShardId; `ShardFilter {Type: CHILD_SHARDS, ShardId}` lists
//! the children of one shard. Shards ending before the retention horizon
//! are gone (their records are trimmed); the first one listed may still
//! name such a parent, as on DynamoDB.

use std::rc::Rc;

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::catalog::StreamDef;
use crate::model::value::write_json_str;

use super::names::{ending_sequence_number, label, parse_shard_id, sequence_number, shard_id};
use super::params::{SHARD_ID_LEN, STREAM_ARN_LEN, limit, string};
use super::{first_epoch, now_ms, resolve};

const LIMIT_MAX: i64 = 100;

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
    let limit = limit(&fields, LIMIT_MAX, &mut v)?;
    let start = string(
        &fields,
        "ExclusiveStartShardId",
        "exclusiveStartShardId",
        SHARD_ID_LEN,
        false,
        &mut v,
    )?;
    let filter = fields.object("ShardFilter")?;
    let mut child_of = None;
    if let Some(filter) = &filter {
        match filter.str("Type")? {
            Some("CHILD_SHARDS") => {}
            Some(t) => v.push(
                &format!("'{t}'"),
                "shardFilter.type",
                "Member must satisfy enum value set: [CHILD_SHARDS]",
            ),
            None => v.null("shardFilter.type"),
        }
        child_of = string(
            filter,
            "ShardId",
            "shardFilter.shardId",
            SHARD_ID_LEN,
            true,
            &mut v,
        )?;
    }
    v.into_result()?;
    let Some(arn) = arn else {
        return Err(ApiError::validation("StreamArn is required"));
    };
    let catalog = shard.catalog();
    let now = now_ms();
    let found = resolve(&catalog, shard, arn, now)?;
    let stream = found.stream;
    let shards = shard.map.shard_count();
    let first = first_epoch(stream, shard, now);
    let last = stream.epoch_at(now);
    let invalid_shard = |id: &str| ApiError::validation(format!("Invalid ShardId: {id}"));
    // (epoch, shard) of the first shard to list.
    let (mut epoch, mut at, end) = if let Some(id) = child_of {
        let (s, e) = parse_shard_id(stream, id).ok_or_else(|| invalid_shard(id))?;
        // One child: the next epoch of the same Dynacore shard.
        (e.saturating_add(1), s, Some((e.saturating_add(1), s)))
    } else if let Some(id) = start {
        let (s, e) = parse_shard_id(stream, id).ok_or_else(|| invalid_shard(id))?;
        if s + 1 >= shards {
            (e.saturating_add(1), 0, None)
        } else {
            (e, s + 1, None)
        }
    } else {
        (first, 0, None)
    };
    epoch = epoch.max(first);
    let limit = limit.unwrap_or(LIMIT_MAX) as usize;
    let mut list = b"[".to_vec();
    let mut listed = 0usize;
    let mut last_listed = None;
    let mut more = false;
    while epoch <= last && at < shards {
        if end.is_some_and(|e| e != (epoch, at)) {
            break;
        }
        if listed == limit {
            more = true;
            break;
        }
        if listed > 0 {
            list.push(b',');
        }
        write_shard(
            &mut list,
            stream,
            at,
            epoch,
            epoch < last || stream.disabled_ms.is_some(),
        );
        listed += 1;
        last_listed = Some((at, epoch));
        at += 1;
        if at == shards {
            at = 0;
            epoch += 1;
        }
        if end.is_some() {
            break;
        }
    }
    list.push(b']');
    let mut description = b"{\"CreationRequestDateTime\":".to_vec();
    description.extend_from_slice(format!("{:.3}", stream.label_ms as f64 / 1000.0).as_bytes());
    description.extend_from_slice(b",\"KeySchema\":[{\"AttributeName\":");
    write_json_str(&mut description, &found.table.partition_key.name);
    description.extend_from_slice(b",\"KeyType\":\"HASH\"}");
    if let Some(sk) = &found.table.sort_key {
        description.extend_from_slice(b",{\"AttributeName\":");
        write_json_str(&mut description, &sk.name);
        description.extend_from_slice(b",\"KeyType\":\"RANGE\"}");
    }
    description.extend_from_slice(b"]");
    if more && let Some((s, e)) = last_listed {
        description.extend_from_slice(b",\"LastEvaluatedShardId\":");
        write_json_str(&mut description, &shard_id(stream, s, e));
    }
    description.extend_from_slice(b",\"Shards\":");
    description.extend_from_slice(&list);
    description.extend_from_slice(b",\"StreamArn\":");
    write_json_str(&mut description, arn);
    description.extend_from_slice(b",\"StreamLabel\":");
    write_json_str(&mut description, &label(stream.label_ms));
    let status = if stream.disabled_ms.is_some() {
        "DISABLED"
    } else {
        "ENABLED"
    };
    description.extend_from_slice(format!(",\"StreamStatus\":\"{status}\"").as_bytes());
    description.extend_from_slice(b",\"StreamViewType\":");
    write_json_str(&mut description, stream.view_type.as_str());
    description.extend_from_slice(b",\"TableName\":");
    write_json_str(&mut description, &found.table.name);
    description.push(b'}');
    let mut reply = ReplyBuilder::new();
    reply.raw("StreamDescription", &description);
    Ok(Outcome::Reply(reply.finish()))
}

fn write_shard(out: &mut Vec<u8>, stream: &StreamDef, shard: u32, epoch: u32, closed: bool) {
    out.extend_from_slice(b"{");
    if epoch > 0 {
        out.extend_from_slice(b"\"ParentShardId\":");
        write_json_str(out, &shard_id(stream, shard, epoch - 1));
        out.push(b',');
    }
    out.extend_from_slice(b"\"SequenceNumberRange\":{");
    if closed {
        out.extend_from_slice(b"\"EndingSequenceNumber\":");
        write_json_str(out, &ending_sequence_number(epoch, shard));
        out.push(b',');
    }
    out.extend_from_slice(b"\"StartingSequenceNumber\":");
    write_json_str(out, &sequence_number(epoch, shard, (0, 0)));
    out.extend_from_slice(b"},\"ShardId\":");
    write_json_str(out, &shard_id(stream, shard, epoch));
    out.push(b'}');
}
