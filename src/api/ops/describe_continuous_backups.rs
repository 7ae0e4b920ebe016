//! DescribeContinuousBackups: backups are always on in DynamoDB
//! (ContinuousBackupsStatus ENABLED); point-in-time recovery is DISABLED
//! until Dynacore implements it.

use std::rc::Rc;

use crate::api::protocol::error::ApiError;
use crate::api::protocol::names::table_name;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::catalog::TableStatus;

pub fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let name = table_name(&fields)?;
    let exists = shard
        .catalog()
        .table(name)
        .is_some_and(|t| t.status != TableStatus::Deleting);
    if !exists {
        return Err(ApiError::table_not_found_for_backups(name));
    }
    let mut reply = ReplyBuilder::new();
    reply.raw(
        "ContinuousBackupsDescription",
        b"{\"ContinuousBackupsStatus\":\"ENABLED\",\"PointInTimeRecoveryDescription\":{\"PointInTimeRecoveryStatus\":\"DISABLED\"}}",
    );
    Ok(Outcome::Reply(reply.finish()))
}
