//! DescribeTable: schema from the catalog, counts from every shard's engine.

use std::rc::Rc;

use crate::api::protocol::error::ApiError;
use crate::api::protocol::names::table_name;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::describe::{TableStats, write_description};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let name = table_name(&fields)?;
    let def = shard
        .catalog()
        .table(name)
        .cloned()
        .ok_or_else(|| ApiError::table_not_found(name))?;
    let stats = TableStats::collect(shard, &def).await?;
    let mut description = Vec::with_capacity(512);
    write_description(&mut description, shard, &def, def.status.as_str(), &stats);
    let mut reply = ReplyBuilder::new();
    reply.raw("Table", &description);
    Ok(Outcome::Reply(reply.finish()))
}
