//! RestoreTableFromBackup: a new table from an AVAILABLE backup, with the
//! backup's key schema and indexes (or a subset) and optional overrides
//! (`backup::overrides`). Answered with the new table CREATING
//! (RestoreInProgress); it turns ACTIVE when every item is loaded
//! (`backup::restore`). The backup is checked whole before the table is
//! created, so a damaged backup creates nothing.

use std::rc::Rc;

use crate::api::backup::overrides::{
    Overrides, check_operations, check_target, creating_reply, rename,
};
use crate::api::backup::restore::{self, Source};
use crate::api::ops::describe_backup::backup_arn;
use crate::api::protocol::error::ApiError;
use crate::api::protocol::request::Fields;
use crate::api::shard::{COORDINATOR, Outcome, Shard};
use crate::api::table::ddl::submit;
use crate::catalog::{CatalogCommand, RestoreInfo};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let (target, overrides) = Overrides::read(&fields, |_| Ok(()))?;
    let arn = backup_arn(&fields)?;
    let Some(target) = target else {
        return Err(ApiError::validation("TargetTableName is required"));
    };
    overrides.check()?;
    if shard.id != COORDINATOR {
        return Ok(Outcome::Forward(COORDINATOR));
    }
    let record = restore::available(shard, arn).await?;
    check_target(shard, target)?;
    check_operations(shard)?;
    let mut def = overrides.apply(record.table.clone(), "backup's table")?;
    // Nothing created yet: a damaged backup is refused here, whole.
    restore::verify(shard, &record).await?;
    def.restore = Some(Box::new(RestoreInfo {
        source_backup_arn: record.arn.clone(),
        source_table_arn: record.table_arn.clone(),
        restore_date_time: record.created_at,
        in_progress: true,
        point_in_time: None,
    }));
    rename(&mut def, target);
    let created = submit(shard, CatalogCommand::Create(def)).await?;
    restore::start_load(shard, Source::Backup(record), created.clone());
    Ok(Outcome::Reply(creating_reply(shard, &created)))
}
