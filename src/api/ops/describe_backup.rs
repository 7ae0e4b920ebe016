//! DescribeBackup: a backup's details, its source table and the table's
//! indexes, by BackupArn (BackupNotFoundException for an unknown one).

use std::rc::Rc;

use crate::api::backup::{describe, find};
use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{COORDINATOR, Outcome, Shard};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let arn = backup_arn(&fields)?;
    if shard.id != COORDINATOR {
        return Ok(Outcome::Forward(COORDINATOR));
    }
    let record = find(shard, arn).await?;
    let mut out = Vec::new();
    describe::write_description(&mut out, &record, record.status.as_str());
    let mut reply = ReplyBuilder::new();
    reply.raw("BackupDescription", &out);
    Ok(Outcome::Reply(reply.finish()))
}

/// The BackupArn member: required, 37–1024 characters.
pub fn backup_arn<'a>(fields: &Fields<'a, '_>) -> Result<&'a str, ApiError> {
    let arn = fields.str("BackupArn")?;
    let mut v = Violations::default();
    match arn {
        None => v.null("backupArn"),
        Some(a) if a.len() < 37 => v.push(
            &format!("'{a}'"),
            "backupArn",
            "Member must have length greater than or equal to 37",
        ),
        Some(a) if a.len() > 1024 => v.push(
            &format!("'{a}'"),
            "backupArn",
            "Member must have length less than or equal to 1024",
        ),
        Some(_) => {}
    }
    v.into_result()?;
    arn.ok_or_else(|| ApiError::validation("BackupArn is required"))
}
