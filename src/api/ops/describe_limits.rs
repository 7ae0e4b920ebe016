//! DescribeLimits: DynamoDB's default capacity quotas of an account and of
//! one table (Dynacore enforces no capacity rates; the numbers are what a
//! client planning capacity against DynamoDB expects to see).

use crate::api::protocol::error::ApiError;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::shard::Outcome;

pub const ACCOUNT_CAPACITY_UNITS_MAX: i64 = 80_000;
pub const TABLE_CAPACITY_UNITS_MAX: i64 = 40_000;

pub fn handle() -> Result<Outcome, ApiError> {
    let mut reply = ReplyBuilder::new();
    for (member, units) in [
        ("AccountMaxReadCapacityUnits", ACCOUNT_CAPACITY_UNITS_MAX),
        ("AccountMaxWriteCapacityUnits", ACCOUNT_CAPACITY_UNITS_MAX),
        ("TableMaxReadCapacityUnits", TABLE_CAPACITY_UNITS_MAX),
        ("TableMaxWriteCapacityUnits", TABLE_CAPACITY_UNITS_MAX),
    ] {
        reply.raw(member, units.to_string().as_bytes());
    }
    Ok(Outcome::Reply(reply.finish()))
}
