//! DescribeEndpoints: the regional endpoint and how long to cache it, as
//! DynamoDB answers it (clients that use endpoint discovery keep using the
//! endpoint they were configured with when it names DynamoDB's host).

use crate::api::protocol::error::ApiError;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::shard::{Outcome, Shard};
use crate::model::value::write_json_str;

/// DynamoDB's answer: a day.
const CACHE_PERIOD_MINUTES: u32 = 1440;

pub fn handle(shard: &Shard) -> Result<Outcome, ApiError> {
    let mut list = b"[{\"Address\":".to_vec();
    write_json_str(
        &mut list,
        &format!("dynamodb.{}.amazonaws.com", shard.settings.region),
    );
    list.extend_from_slice(
        format!(",\"CachePeriodInMinutes\":{CACHE_PERIOD_MINUTES}}}]").as_bytes(),
    );
    let mut reply = ReplyBuilder::new();
    reply.raw("Endpoints", &list);
    Ok(Outcome::Reply(reply.finish()))
}
