//! DeleteResourcePolicy: removes the policy of a table or one of its
//! streams. The reply names the revision deleted; deleting where no
//! policy was ever attached is no error and answers `{}` (as DynamoDB),
//! unless an ExpectedRevisionId was given (PolicyNotFoundException). A
//! deletion is a change: the change interval applies after it too.

use std::rc::Rc;

use crate::api::protocol::error::ApiError;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::arn::policy_resource;
use crate::api::table::ddl::submit;
use crate::api::table::policies::{check_exists, now_ms};
use crate::catalog::CatalogCommand;
use crate::model::value::write_json_str;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let arn = fields.str("ResourceArn")?.unwrap_or_default();
    let expected = fields.str("ExpectedRevisionId")?;
    let resource = policy_resource(shard, arn)?;
    check_exists(shard, &resource)?;
    let def = submit(
        shard,
        CatalogCommand::SetResourcePolicy {
            name: resource.table.to_string(),
            stream_label_ms: resource.stream_label_ms,
            policy: None,
            expected_revision_id: expected.map(str::to_string),
            arn: arn.to_string(),
            resource: resource.describe(),
            now_ms: now_ms(),
            change_interval_ms: shard.settings.resource_policy_change_interval_ms,
        },
    )
    .await?;
    let mut reply = ReplyBuilder::new();
    if let Some(slot) = def.policy_slot(resource.stream_label_ms) {
        let mut value = Vec::new();
        write_json_str(&mut value, &slot.revision_id);
        reply.raw("RevisionId", &value);
    }
    Ok(Outcome::Reply(reply.finish()))
}
