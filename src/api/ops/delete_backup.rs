//! DeleteBackup: removes an AVAILABLE backup's files and answers its
//! description with BackupStatus DELETED. A backup being created or
//! restored from is BackupInUseException.

use std::rc::Rc;

use crate::api::backup::{describe, files, find};
use crate::api::ops::describe_backup::backup_arn;
use crate::api::protocol::error::ApiError;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::backups::BackupStatus;
use crate::api::shard::files::FileJob;
use crate::api::shard::{COORDINATOR, Outcome, Shard};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let arn = backup_arn(&fields)?;
    if shard.id != COORDINATOR {
        return Ok(Outcome::Forward(COORDINATOR));
    }
    let record = find(shard, arn).await?;
    if record.status != BackupStatus::Available
        || shard.backups.restoring.borrow().contains_key(arn)
    {
        return Err(ApiError::backup_in_use(format!(
            "Backup is in use by another operation: {arn}"
        )));
    }
    // Out of the registry, then off the disk. A crash in between leaves
    // the folder: whole (the backup is back after the restart), without its
    // record (removed at load), or short of data files (a restore from it
    // fails its checks, and it can be deleted again).
    shard.backups.records.borrow_mut().remove(arn);
    files(
        shard,
        FileJob::RemoveAll {
            path: record.id.clone(),
        },
    )
    .await?;
    let mut out = Vec::new();
    describe::write_description(&mut out, &record, BackupStatus::Deleted.as_str());
    let mut reply = ReplyBuilder::new();
    reply.raw("BackupDescription", &out);
    Ok(Outcome::Reply(reply.finish()))
}
