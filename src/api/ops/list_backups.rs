//! ListBackups: backup summaries, oldest first, filtered by table, a
//! creation time range and type, in pages (`Limit` 1–100,
//! `ExclusiveStartBackupArn` / `LastEvaluatedBackupArn`).

use std::rc::Rc;

use crate::api::backup::{describe, ensure_loaded};
use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::backups::BackupRecord;
use crate::api::shard::{COORDINATOR, Outcome, Shard};
use crate::api::table::arn::name_or_arn;
use crate::model::value::write_json_str;

const LIMIT_MAX: i64 = 100;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let table = fields.str("TableName")?;
    let limit = fields.i64("Limit")?;
    let start = fields.str("ExclusiveStartBackupArn")?;
    let kind = fields.str("BackupType")?;
    let lower = fields.timestamp("TimeRangeLowerBound")?;
    let upper = fields.timestamp("TimeRangeUpperBound")?;
    let mut v = Violations::default();
    if let Some(l) = limit
        && !(1..=LIMIT_MAX).contains(&l)
    {
        v.push(
            &l.to_string(),
            "limit",
            if l < 1 {
                "Member must have value greater than or equal to 1"
            } else {
                "Member must have value less than or equal to 100"
            },
        );
    }
    if let Some(k) = kind
        && !["USER", "SYSTEM", "AWS_BACKUP", "ALL"].contains(&k)
    {
        v.push(
            k,
            "backupType",
            "Member must satisfy enum value set: [USER, SYSTEM, AWS_BACKUP, ALL]",
        );
    }
    v.into_result()?;
    if let (Some(l), Some(u)) = (lower, upper)
        && l > u
    {
        return Err(ApiError::validation(
            "TimeRangeUpperBound must be greater than TimeRangeLowerBound",
        ));
    }
    if shard.id != COORDINATOR {
        return Ok(Outcome::Forward(COORDINATOR));
    }
    ensure_loaded(shard).await?;
    let table = table.map(|t| name_or_arn(shard, t));
    // USER unless asked; ALL is USER and SYSTEM (no AWS_BACKUP here).
    let kind = kind.unwrap_or("USER");
    let mut records: Vec<BackupRecord> = shard
        .backups
        .records
        .borrow()
        .values()
        .filter(|r| kind == "ALL" || r.backup_type() == kind)
        .filter(|r| table.is_none_or(|t| r.table.name == t))
        .filter(|r| lower.is_none_or(|l| r.created_at >= l))
        .filter(|r| upper.is_none_or(|u| r.created_at <= u))
        .cloned()
        .collect();
    records.sort_by(|a, b| {
        a.created_at
            .total_cmp(&b.created_at)
            .then_with(|| a.arn.cmp(&b.arn))
    });
    if let Some(start) = start {
        match records.iter().position(|r| r.arn == start) {
            Some(at) => {
                records.drain(..=at);
            }
            None => return Err(crate::api::backup::backup_not_found(start)),
        }
    }
    let limit = limit.unwrap_or(LIMIT_MAX) as usize;
    let more = records.len() > limit;
    records.truncate(limit);
    let mut out = vec![b'['];
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        describe::write_summary(&mut out, record);
    }
    out.push(b']');
    let mut reply = ReplyBuilder::new();
    reply.raw("BackupSummaries", &out);
    if more && let Some(last) = records.last() {
        let mut arn = Vec::new();
        write_json_str(&mut arn, &last.arn);
        reply.raw("LastEvaluatedBackupArn", &arn);
    }
    Ok(Outcome::Reply(reply.finish()))
}
