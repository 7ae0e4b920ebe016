//! ListStreams: every stream still readable (enabled, or disabled less
//! than the retention ago — also a deleted table's, disabled by its
//! DeleteTable), by table name then creation, optionally of one table
//! name; paged by ExclusiveStartStreamArn / LastEvaluatedStreamArn.

use std::rc::Rc;

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::names::check_table_name;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::model::value::write_json_str;

use super::names::{label, parse_stream_arn, stream_arn};
use super::params::{STREAM_ARN_LEN, limit, string};
use super::{now_ms, visible};

const LIMIT_MAX: i64 = 100;

pub fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let mut v = Violations::default();
    let limit = limit(&fields, LIMIT_MAX, &mut v)?;
    let table_name = fields.str("TableName")?;
    if let Some(name) = table_name {
        check_table_name(&mut v, Some(name), "tableName");
    }
    let start = string(
        &fields,
        "ExclusiveStartStreamArn",
        "exclusiveStartStreamArn",
        STREAM_ARN_LEN,
        false,
        &mut v,
    )?;
    v.into_result()?;
    let start = match start {
        None => None,
        Some(arn) => Some(
            parse_stream_arn(arn)
                .ok_or_else(|| ApiError::validation(format!("Invalid StreamArn: {arn}")))?,
        ),
    };
    let catalog = shard.catalog();
    let now = now_ms();
    let limit = limit.unwrap_or(LIMIT_MAX) as usize;
    // Live tables' streams and deleted tables' (kept for the retention
    // after the deletion, DISABLED), by table name then creation.
    let mut streams: Vec<(&str, u64)> = catalog
        .tables
        .values()
        .chain(catalog.deleted_streams.iter())
        .filter(|t| table_name.is_none_or(|n| n == t.name))
        .flat_map(|t| {
            t.streams
                .iter()
                .filter(|s| visible(s, shard, now))
                .map(|s| (t.name.as_str(), s.label_ms))
        })
        .filter(|&(name, label_ms)| start.is_none_or(|(sn, sl)| (name, label_ms) > (sn, sl)))
        .collect();
    streams.sort_unstable();
    if let Some(name) = table_name
        && catalog.table(name).is_none()
        && !catalog
            .stream_tables_named(name)
            .any(|t| t.streams.iter().any(|s| visible(s, shard, now)))
    {
        return Err(ApiError::table_not_found(name));
    }
    let page = &streams[..streams.len().min(limit)];
    let mut list = b"[".to_vec();
    for (i, (name, label_ms)) in page.iter().enumerate() {
        if i > 0 {
            list.push(b',');
        }
        list.extend_from_slice(b"{\"StreamArn\":");
        write_json_str(&mut list, &stream_arn(shard, name, *label_ms));
        list.extend_from_slice(b",\"StreamLabel\":");
        write_json_str(&mut list, &label(*label_ms));
        list.extend_from_slice(b",\"TableName\":");
        write_json_str(&mut list, name);
        list.push(b'}');
    }
    list.push(b']');
    let mut reply = ReplyBuilder::new();
    reply.raw("Streams", &list);
    if streams.len() > limit
        && let Some((name, label_ms)) = page.last()
    {
        let mut last = Vec::new();
        write_json_str(&mut last, &stream_arn(shard, name, *label_ms));
        reply.raw("LastEvaluatedStreamArn", &last);
    }
    Ok(Outcome::Reply(reply.finish()))
}
