//! GetResourcePolicy: the policy attached to a table or one of its
//! streams, in its canonical form, with its RevisionId. Read from this
//! shard's catalog snapshot (installed on every shard before the put was
//! answered, so a put is visible at once; DynamoDB's is eventually
//! consistent).

use std::rc::Rc;

use crate::api::protocol::error::ApiError;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::arn::policy_resource;
use crate::api::table::policies::check_exists;
use crate::catalog::CatalogError;
use crate::model::value::write_json_str;

pub fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let arn = fields.str("ResourceArn")?.unwrap_or_default();
    let resource = policy_resource(shard, arn)?;
    check_exists(shard, &resource)?;
    let catalog = shard.catalog();
    let policy = catalog
        .table(resource.table)
        .and_then(|t| t.resource_policy(resource.stream_label_ms))
        .ok_or_else(|| {
            ApiError::from(CatalogError::PolicyNotFound {
                arn: arn.to_string(),
            })
        })?;
    let mut reply = ReplyBuilder::new();
    let mut value = Vec::with_capacity(policy.document.len() + 16);
    write_json_str(&mut value, &policy.document);
    reply.raw("Policy", &value);
    value.clear();
    write_json_str(&mut value, &policy.revision_id);
    reply.raw("RevisionId", &value);
    Ok(Outcome::Reply(reply.finish()))
}
