//! RestoreTableToPointInTime: a new table holding the source table's items
//! as they were at RestoreDateTime (or now, with UseLatestRestorableTime),
//! with the source's key schema and indexes (or a subset) and optional
//! overrides (`backup::overrides`). Answered with the new table CREATING;
//! it turns ACTIVE once the base is loaded and every shard replayed its
//! history up to that time (`backup::restore::Source::PointInTime`,
//! `api::pitr`). The base is checked whole before the table is created.
//!
//! The schema restored is the source's current one, not the one at the
//! restore time.

use std::rc::Rc;

use crate::api::backup::create::now_ms;
use crate::api::backup::ensure_loaded;
use crate::api::backup::overrides::{
    Overrides, check_operations, check_target, creating_reply, rename,
};
use crate::api::backup::restore::{self, Source};
use crate::api::pitr::base::{base_for, window};
use crate::api::protocol::error::ApiError;
use crate::api::protocol::names::check_table_name;
use crate::api::protocol::request::Fields;
use crate::api::shard::{COORDINATOR, Outcome, Shard};
use crate::api::table::arn::name_or_arn;
use crate::api::table::ddl::submit;
use crate::api::table::describe::table_arn;
use crate::catalog::{CatalogCommand, PointInTimeRestore, RestoreInfo, TableStatus};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let source_arn = fields.str("SourceTableArn")?;
    let source_name = fields.str("SourceTableName")?;
    let (target, overrides) = Overrides::read(&fields, |v| {
        if source_name.is_some() {
            check_table_name(v, source_name, "sourceTableName");
        }
        Ok(())
    })?;
    let Some(target) = target else {
        return Err(ApiError::validation("TargetTableName is required"));
    };
    let source = match (source_arn, source_name) {
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                "Only one of SourceTableArn or SourceTableName can be specified",
            ));
        }
        (Some(arn), None) => name_or_arn(shard, arn),
        (None, Some(name)) => name,
        (None, None) => {
            return Err(ApiError::validation(
                "Either SourceTableArn or SourceTableName must be specified",
            ));
        }
    };
    let latest = fields.bool("UseLatestRestorableTime")?.unwrap_or(false);
    let at = fields.timestamp("RestoreDateTime")?;
    if latest && at.is_some() {
        return Err(ApiError::validation(
            "Only one of RestoreDateTime or UseLatestRestorableTime can be specified",
        ));
    }
    if !latest && at.is_none() {
        return Err(ApiError::validation(
            "Either RestoreDateTime or UseLatestRestorableTime must be specified",
        ));
    }
    overrides.check()?;
    let table = shard
        .catalog()
        .table(source)
        .filter(|t| t.status != TableStatus::Deleting)
        .cloned()
        .ok_or_else(|| ApiError::table_not_found_for_backups(source))?;
    if shard.id != COORDINATOR {
        return Ok(Outcome::Forward(COORDINATOR));
    }
    if table.pitr.is_none() {
        return Err(ApiError::point_in_time_recovery_unavailable(source));
    }
    check_target(shard, target)?;
    ensure_loaded(shard).await?;
    let now = now_ms();
    let Some((earliest, latest_ms)) = window(shard, &table, now) else {
        return Err(ApiError::invalid_restore_time());
    };
    // Milliseconds are what history records carry.
    let until_ms = match at {
        None => latest_ms,
        // The SDKs send milliseconds as fractional seconds: a whole
        // millisecond must not read as the one before it.
        Some(seconds) if seconds.is_finite() && seconds >= 0.0 => {
            (seconds * 1000.0 + 1e-3).floor() as u64
        }
        Some(_) => return Err(ApiError::invalid_restore_time()),
    };
    if until_ms < earliest || until_ms > latest_ms {
        return Err(ApiError::invalid_restore_time());
    }
    let Some(base) = base_for(shard, &table, until_ms) else {
        return Err(ApiError::invalid_restore_time());
    };
    check_operations(shard)?;
    let mut def = overrides.apply((*table).clone(), "source table")?;
    // Nothing created yet: a damaged base is refused here, whole.
    restore::verify(shard, &base).await?;
    def.restore = Some(Box::new(RestoreInfo {
        source_backup_arn: String::new(),
        source_table_arn: table_arn(shard, &table.name),
        restore_date_time: until_ms as f64 / 1000.0,
        in_progress: true,
        point_in_time: Some(PointInTimeRestore {
            base_arn: base.arn.clone(),
            source_table_id: table.id,
            until_ms,
        }),
    }));
    rename(&mut def, target);
    let created = submit(shard, CatalogCommand::Create(def)).await?;
    let source = Source::PointInTime {
        base,
        table_id: table.id,
        until_ms,
    };
    restore::start_load(shard, source, created.clone());
    Ok(Outcome::Reply(creating_reply(shard, &created)))
}
