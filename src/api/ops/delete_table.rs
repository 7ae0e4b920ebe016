//! DeleteTable: drop the schema, then the data on every shard.

use std::rc::Rc;

use crate::api::protocol::error::ApiError;
use crate::api::protocol::names::table_name;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::ddl::submit;
use crate::api::table::describe::{TableStats, write_description};
use crate::catalog::CatalogCommand;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let name = table_name(&fields)?;
    let def = shard
        .catalog()
        .table(name)
        .cloned()
        .ok_or_else(|| ApiError::table_not_found(name))?;
    // Counts as of the moment of deletion, as DynamoDB reports them.
    let stats = TableStats::collect(shard, &def).await?;
    let def = submit(
        shard,
        CatalogCommand::Delete {
            name: name.to_string(),
        },
    )
    .await?;
    let mut description = Vec::with_capacity(512);
    write_description(&mut description, shard, &def, "DELETING", &stats);
    let mut reply = ReplyBuilder::new();
    reply.raw("TableDescription", &description);
    Ok(Outcome::Reply(reply.finish()))
}
