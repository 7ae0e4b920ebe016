//! DescribeImport: an import's ImportTableDescription by ImportArn
//! (ImportNotFoundException for an unknown one), with its progress
//! counters while it runs.

use std::rc::Rc;

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{COORDINATOR, Outcome, Shard};
use crate::api::transfer::describe;
use crate::api::transfer::registry::{ensure_loaded, import_not_found};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let arn = fields.str("ImportArn")?;
    let mut v = Violations::default();
    match arn {
        None => v.null("importArn"),
        Some(a) if a.len() < 37 || a.len() > 1024 => v.push(
            &format!("'{a}'"),
            "importArn",
            "Member must have length between 37 and 1024",
        ),
        Some(_) => {}
    }
    v.into_result()?;
    let Some(arn) = arn else {
        return Err(ApiError::validation("ImportArn is required"));
    };
    if shard.id != COORDINATOR {
        return Ok(Outcome::Forward(COORDINATOR));
    }
    ensure_loaded(shard).await?;
    let record = shard
        .transfers
        .imports
        .borrow()
        .get(arn)
        .cloned()
        .ok_or_else(|| import_not_found(arn))?;
    let mut out = Vec::new();
    describe::write_import_description(&mut out, &record);
    let mut reply = ReplyBuilder::new();
    reply.raw("ImportTableDescription", &out);
    Ok(Outcome::Reply(reply.finish()))
}
