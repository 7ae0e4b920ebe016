//! CreateBackup: an on-demand backup of a table, consistent as of one
//! instant across every shard (`api::backup`). Answered CREATING once the
//! cut is taken; the copy runs in the background and DescribeBackup shows
//! AVAILABLE when it is done. The coordinator (shard 0) runs it.

use std::rc::Rc;

use crate::api::backup::{create, describe};
use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::names::check_resource_name;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{COORDINATOR, Outcome, Shard};
use crate::catalog::TableStatus;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let table = fields.str("TableName")?;
    let name = fields.str("BackupName")?;
    let mut v = Violations::default();
    check_resource_name(&mut v, name, "backupName", false);
    match table {
        None => v.null("tableName"),
        Some(t) if t.is_empty() || t.len() > 1024 => v.push(
            &format!("'{t}'"),
            "tableName",
            "Member must have length between 1 and 1024",
        ),
        Some(_) => {}
    }
    v.into_result()?;
    let (Some(table), Some(name)) = (table, name) else {
        return Err(ApiError::validation(
            "TableName and BackupName are required",
        ));
    };
    let table = crate::api::table::arn::name_or_arn(shard, table);
    let def = shard
        .catalog()
        .table(table)
        .cloned()
        .filter(|t| t.status != TableStatus::Deleting)
        .ok_or_else(|| ApiError::table_not_found_for_backups(table))?;
    if def.status != TableStatus::Active {
        return Err(ApiError::table_in_use(format!(
            "Table is being created or updated: {table}"
        )));
    }
    if shard.id != COORDINATOR {
        return Ok(Outcome::Forward(COORDINATOR));
    }
    let record = create::start(shard, def, create::Kind::User(name.to_string())).await?;
    let mut out = Vec::new();
    describe::write_details(&mut out, &record, record.status.as_str());
    let mut reply = ReplyBuilder::new();
    reply.raw("BackupDetails", &out);
    Ok(Outcome::Reply(reply.finish()))
}
