//! ListExports: export summaries, oldest first, optionally of one table
//! (TableArn), in pages of MaxResults (1–25, default 25) with NextToken
//! (the last ARN of the page before).

use std::rc::Rc;

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{COORDINATOR, Outcome, Shard};
use crate::api::transfer::registry::ensure_loaded;
use crate::api::transfer::{describe, page};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let table = fields.str("TableArn")?;
    let max = fields.i64("MaxResults")?;
    let token = fields.str("NextToken")?;
    let mut v = Violations::default();
    page::check_size(&mut v, max, "maxResults");
    v.into_result()?;
    if shard.id != COORDINATOR {
        return Ok(Outcome::Forward(COORDINATOR));
    }
    ensure_loaded(shard).await?;
    let mut records: Vec<_> = shard
        .transfers
        .exports
        .borrow()
        .values()
        .filter(|r| table.is_none_or(|t| r.table_arn == t))
        .map(|r| (r.start_time, r.arn.clone(), r.clone()))
        .collect();
    records.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let (records, next) = page::take(records, token, max)?;
    let mut out = vec![b'['];
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        describe::write_export_summary(&mut out, record);
    }
    out.push(b']');
    let mut reply = ReplyBuilder::new();
    reply.raw("ExportSummaries", &out);
    page::next_token(&mut reply, next);
    Ok(Outcome::Reply(reply.finish()))
}
