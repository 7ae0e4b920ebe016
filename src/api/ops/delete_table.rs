//! DeleteTable: the table turns DELETING (for `table_status_transition`),
//! then the coordinator removes it and drops its data on every shard.
//! Deletion protection and a CREATING table refuse it; a table already
//! DELETING is described again, as DynamoDB does.
//!
//! A table with point-in-time recovery leaves a SYSTEM backup
//! (`<table>$DeletedTableBackup`, restorable with RestoreTableFromBackup)
//! kept for its recovery period, as DynamoDB does: the coordinator cuts it
//! just before the table turns DELETING, and the cut fences the table
//! (`shard::cut`): from that instant its writes are refused as if it were
//! gone (ResourceNotFoundException, as item operations on a DELETING
//! table are), so a write racing the DeleteTable is either in the backup
//! or refused, never acknowledged and lost. If the deletion then fails,
//! the fence is lifted.

use std::rc::Rc;

use crate::api::backup::create::{self, Kind};
use crate::api::protocol::error::ApiError;
use crate::api::protocol::names::table_name;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{COORDINATOR, Outcome, Shard};
use crate::api::table::ddl::submit;
use crate::api::table::describe::{TableStats, write_deleting_description};
use crate::catalog::{CatalogCommand, TableStatus};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let name = table_name(&fields)?;
    let def = shard
        .catalog()
        .table(name)
        .cloned()
        .ok_or_else(|| ApiError::table_not_found(name))?;
    // Only where the deletion will go ahead (deletion protection and a
    // CREATING table refuse it; a DELETING one is already gone).
    let pitr = def
        .pitr
        .filter(|_| def.status == TableStatus::Active && !def.settings.deletion_protection);
    if pitr.is_some() && shard.id != COORDINATOR {
        return Ok(Outcome::Forward(COORDINATOR));
    }
    // Counts as of the moment of deletion, as DynamoDB reports them.
    let stats = TableStats::collect(shard, &def).await?;
    if let Some(pitr) = pitr {
        let kind = Kind::System {
            recovery_period_days: pitr.recovery_period_days,
        };
        let backup = create::start(shard, def.clone(), kind).await?;
        tracing::info!(table = %def.name, backup = %backup.arn, "system backup of a deleted table");
    }
    let deleted = submit(
        shard,
        CatalogCommand::Delete {
            name: name.to_string(),
            staged: !shard.settings.table_status_transition.is_zero(),
            now_ms: crate::api::shard::outbox::now_ms(),
            stream_retention_ms: shard.settings.streams.retention_ms,
        },
    )
    .await;
    let deleted = match deleted {
        Ok(deleted) => deleted,
        Err(e) => {
            if pitr.is_some() {
                create::unfence(shard, def.id).await;
            }
            return Err(e);
        }
    };
    let mut description = Vec::with_capacity(256);
    write_deleting_description(&mut description, shard, &deleted, &def, &stats);
    let mut reply = ReplyBuilder::new();
    reply.raw("TableDescription", &description);
    Ok(Outcome::Reply(reply.finish()))
}
