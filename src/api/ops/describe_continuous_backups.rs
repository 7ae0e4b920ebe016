//! DescribeContinuousBackups: backups are always on (ContinuousBackupsStatus
//! ENABLED); PointInTimeRecoveryDescription says whether point-in-time
//! recovery is on, its RecoveryPeriodInDays and the restorable window
//! (`pitr::base::window`: EarliestRestorableDateTime appears once the
//! first base is AVAILABLE, a moment after enabling). Answered by the
//! coordinator, which holds the bases.

use std::rc::Rc;

use crate::api::backup::create::now_ms;
use crate::api::backup::ensure_loaded;
use crate::api::pitr::base::window;
use crate::api::protocol::error::ApiError;
use crate::api::protocol::names::table_name;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{COORDINATOR, Outcome, Shard};
use crate::catalog::{TableDef, TableStatus};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let name = table_name(&fields)?;
    let table = shard
        .catalog()
        .table(name)
        .filter(|t| t.status != TableStatus::Deleting)
        .cloned()
        .ok_or_else(|| ApiError::table_not_found_for_backups(name))?;
    if shard.id != COORDINATOR {
        return Ok(Outcome::Forward(COORDINATOR));
    }
    if table.pitr.is_some() {
        ensure_loaded(shard).await?;
    }
    let mut reply = ReplyBuilder::new();
    reply.raw("ContinuousBackupsDescription", &description(shard, &table));
    Ok(Outcome::Reply(reply.finish()))
}

/// The ContinuousBackupsDescription of `table` now (also UpdateContinuousBackups' reply).
pub fn description(shard: &Shard, table: &TableDef) -> Vec<u8> {
    let mut out =
        b"{\"ContinuousBackupsStatus\":\"ENABLED\",\"PointInTimeRecoveryDescription\":{".to_vec();
    match table.pitr {
        None => out.extend_from_slice(b"\"PointInTimeRecoveryStatus\":\"DISABLED\""),
        Some(pitr) => {
            out.extend_from_slice(
                format!(
                    "\"PointInTimeRecoveryStatus\":\"ENABLED\",\"RecoveryPeriodInDays\":{}",
                    pitr.recovery_period_days
                )
                .as_bytes(),
            );
            if let Some((earliest, latest)) = window(shard, table, now_ms()) {
                // Whole seconds, as DynamoDB restores "to the second":
                // the earliest rounded up (a client's float reading of it
                // must not fall before the window), the latest down.
                let earliest_s = earliest.div_ceil(1000);
                let latest_s = (latest / 1000).max(earliest_s);
                out.extend_from_slice(
                    format!(
                        ",\"EarliestRestorableDateTime\":{earliest_s},\"LatestRestorableDateTime\":{latest_s}"
                    )
                    .as_bytes(),
                );
            }
        }
    }
    out.extend_from_slice(b"}}");
    out
}
