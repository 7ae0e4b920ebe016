//! DescribeTimeToLive: TTL comes with the streams work; until then every
//! table answers DISABLED (what Terraform and CDK read after each apply).

use std::rc::Rc;

use crate::api::protocol::error::ApiError;
use crate::api::protocol::names::table_name;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::catalog::TableStatus;

pub fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let name = table_name(&fields)?;
    let catalog = shard.catalog();
    let table = catalog
        .table(name)
        .ok_or_else(|| ApiError::table_not_found(name))?;
    if table.status != TableStatus::Active {
        let state = table.status.as_str();
        return Err(ApiError::validation(format!(
            "Cannot describe time to live while table is in {state} state: Current table state is {state}"
        )));
    }
    let mut reply = ReplyBuilder::new();
    reply.raw(
        "TimeToLiveDescription",
        b"{\"TimeToLiveStatus\":\"DISABLED\"}",
    );
    Ok(Outcome::Reply(reply.finish()))
}
