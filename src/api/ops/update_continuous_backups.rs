//! UpdateContinuousBackups: enable or disable point-in-time recovery, or
//! change its RecoveryPeriodInDays (1–35, 35 by default).
//!
//! Validated in DynamoDB's order (TableName, the specification's members,
//! then the table). Enabling is a catalog change (from then on every write
//! of the table leaves a history record), then the first base is cut
//! before the answer (the copy finishes in the background; the window
//! opens when it is AVAILABLE). A base that fails is retried by the
//! maintenance pass. Disabling forgets the history and the bases
//! (`pitr::base::maintain` removes them).

use std::rc::Rc;

use crate::api::backup::ensure_loaded;
use crate::api::ops::describe_continuous_backups::description;
use crate::api::pitr::base::take_base;
use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::names::ddl_table_name;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{COORDINATOR, Outcome, Shard};
use crate::api::table::ddl::submit;
use crate::catalog::{CatalogCommand, PITR_PERIOD_DAYS_MAX, TableStatus};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let (name, enabled, days) = read(&fields)?;
    let table = shard
        .catalog()
        .table(name)
        .filter(|t| t.status != TableStatus::Deleting)
        .cloned()
        .ok_or_else(|| ApiError::table_not_found_for_backups(name))?;
    if shard.id != COORDINATOR {
        return Ok(Outcome::Forward(COORDINATOR));
    }
    ensure_loaded(shard).await?;
    let newly_enabled = enabled && table.pitr.is_none();
    let command = CatalogCommand::UpdatePointInTime {
        name: name.to_string(),
        enabled,
        recovery_period_days: days,
        now_ms: crate::api::backup::create::now_ms(),
    };
    let updated = submit(shard, command).await?;
    if newly_enabled && let Err(e) = take_base(shard, &updated).await {
        tracing::warn!(table = %name, error = %e, "first point-in-time base failed; retried by maintenance");
    }
    let current = shard.catalog().table(name).cloned().unwrap_or(updated);
    let mut reply = ReplyBuilder::new();
    reply.raw(
        "ContinuousBackupsDescription",
        &description(shard, &current),
    );
    Ok(Outcome::Reply(reply.finish()))
}

/// TableName, PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled
/// and .RecoveryPeriodInDays.
fn read<'a>(fields: &Fields<'a, '_>) -> Result<(&'a str, bool, Option<u32>), ApiError> {
    let mut v = Violations::default();
    let name = ddl_table_name(fields, &mut v)?;
    let Some(spec) = fields.object("PointInTimeRecoverySpecification")? else {
        v.null("pointInTimeRecoverySpecification");
        v.into_result()?;
        return Err(ApiError::internal("unreachable: a violation was recorded"));
    };
    let enabled = spec.bool("PointInTimeRecoveryEnabled")?;
    if enabled.is_none() {
        v.null("pointInTimeRecoverySpecification.pointInTimeRecoveryEnabled");
    }
    let days = spec.i64("RecoveryPeriodInDays")?;
    match days {
        Some(d) if d < 1 => v.push(
            &format!("'{d}'"),
            "pointInTimeRecoverySpecification.recoveryPeriodInDays",
            "Member must have value greater than or equal to 1",
        ),
        Some(d) if d > i64::from(PITR_PERIOD_DAYS_MAX) => v.push(
            &format!("'{d}'"),
            "pointInTimeRecoverySpecification.recoveryPeriodInDays",
            "Member must have value less than or equal to 35",
        ),
        _ => {}
    }
    v.into_result()?;
    let Some(enabled) = enabled else {
        return Err(ApiError::internal("unreachable: a violation was recorded"));
    };
    if !enabled && days.is_some() {
        return Err(ApiError::validation(
            "RecoveryPeriodInDays can only be set when PointInTimeRecoveryEnabled is true",
        ));
    }
    Ok((name, enabled, days.map(|d| d as u32)))
}
