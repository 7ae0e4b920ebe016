//! DeleteTable: the table turns DELETING (for `table_status_transition`),
//! then the coordinator removes it and drops its data on every shard.
//! Deletion protection and a CREATING table refuse it; a table already
//! DELETING is described again, as DynamoDB does.

use std::rc::Rc;

use crate::api::protocol::error::ApiError;
use crate::api::protocol::names::table_name;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::ddl::submit;
use crate::api::table::describe::{TableStats, write_deleting_description};
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
            staged: !shard.settings.table_status_transition.is_zero(),
            now_ms: crate::api::shard::outbox::now_ms(),
            stream_retention_ms: shard.settings.streams.retention_ms,
        },
    )
    .await?;
    let mut description = Vec::with_capacity(256);
    write_deleting_description(&mut description, shard, &def, &stats);
    let mut reply = ReplyBuilder::new();
    reply.raw("TableDescription", &description);
    Ok(Outcome::Reply(reply.finish()))
}
