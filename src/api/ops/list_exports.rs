//! ListExports: export summaries, oldest first, optionally of one table
//! (TableArn), in pages of MaxResults (1–25, default 25) with NextToken
//! (the last ARN of the page before); `transfer::page::list` serves it.

use std::rc::Rc;

use crate::api::protocol::error::ApiError;
use crate::api::protocol::request::Fields;
use crate::api::shard::transfers::ExportRecord;
use crate::api::shard::{Outcome, Shard};
use crate::api::transfer::page;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    page::list::<ExportRecord>(shard, fields).await
}
