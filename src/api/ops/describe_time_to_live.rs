//! DescribeTimeToLive: the table's TTL state (DISABLED, ENABLING, ENABLED,
//! DISABLING) and, unless DISABLED, its attribute — what Terraform and CDK
//! read after each apply. DescribeTable does not report TTL, as DynamoDB's
//! does not.

use std::rc::Rc;

use crate::api::protocol::error::ApiError;
use crate::api::protocol::names::table_name;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::catalog::{TableStatus, TtlStatus};
use crate::model::value::write_json_str;

pub fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let name = table_name(&fields)?;
    let catalog = shard.catalog();
    let table = catalog
        .table(name)
        .ok_or_else(|| ApiError::table_not_found(name))?;
    if table.status != TableStatus::Active {
        let state = table.status.as_str();
        return Err(ApiError::validation(format!(
            "Cannot describe time to live while table is in {state} state: Current table state is {state}"
        )));
    }
    let ttl = &table.ttl;
    let mut description = Vec::with_capacity(80);
    description.extend_from_slice(b"{\"TimeToLiveStatus\":\"");
    description.extend_from_slice(ttl.status.as_str().as_bytes());
    description.push(b'"');
    if let (Some(attribute), false) = (&ttl.attribute_name, ttl.status == TtlStatus::Disabled) {
        description.extend_from_slice(b",\"AttributeName\":");
        write_json_str(&mut description, attribute);
    }
    description.push(b'}');
    let mut reply = ReplyBuilder::new();
    reply.raw("TimeToLiveDescription", &description);
    Ok(Outcome::Reply(reply.finish()))
}
