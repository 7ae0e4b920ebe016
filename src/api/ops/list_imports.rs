//! ListImports: import summaries, oldest first, optionally of one table
//! (TableArn), in pages of PageSize (1–25, default 25) with NextToken;
//! `transfer::page::list` serves it.

use std::rc::Rc;

use crate::api::protocol::error::ApiError;
use crate::api::protocol::request::Fields;
use crate::api::shard::transfers::ImportRecord;
use crate::api::shard::{Outcome, Shard};
use crate::api::transfer::page;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    page::list::<ImportRecord>(shard, fields).await
}
