//! PutResourcePolicy: attaches a resource-based policy to a table or one
//! of its streams. The document is checked and canonicalized
//! (`auth::resource_policy`) on the receiving shard; the coordinator
//! applies it to the catalog (revision check, the change interval, the
//! no-op re-put), so it survives restarts, and every shard evaluates it
//! from its next request on (`api::access`).
//!
//! Order: the ARN, the table (and stream), the document, the self-lockout
//! check (a policy that would refuse the caller a later PutResourcePolicy
//! needs ConfirmRemoveSelfResourceAccess), then the catalog's checks.

use std::rc::Rc;

use crate::api::access;
use crate::api::protocol::error::ApiError;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::arn::policy_resource;
use crate::api::table::ddl::submit;
use crate::api::table::policies::{check_exists, document_error, now_ms};
use crate::auth::Key;
use crate::auth::resource_policy::{self, Target};
use crate::catalog::CatalogCommand;
use crate::model::value::write_json_str;

pub async fn handle(
    shard: &Rc<Shard>,
    fields: Fields<'_, '_>,
    caller: Option<&Key>,
) -> Result<Outcome, ApiError> {
    let arn = fields.str("ResourceArn")?.unwrap_or_default();
    let document = fields.str("Policy")?.unwrap_or_default();
    let expected = fields.str("ExpectedRevisionId")?;
    let confirmed = fields
        .bool("ConfirmRemoveSelfResourceAccess")?
        .unwrap_or(false);
    let resource = policy_resource(shard, arn)?;
    check_exists(shard, &resource)?;
    let target = match resource.stream_label_ms {
        None => Target::Table,
        Some(_) => Target::Stream,
    };
    let checked = resource_policy::check(document, target).map_err(document_error)?;
    if !confirmed
        && let Some(key) = caller
        && access::locks_out(shard, key, arn, &checked.policy)
    {
        return Err(ApiError::access_denied(
            "The new resource policy will not allow you to update the resource policy in the future.",
        ));
    }
    let def = submit(
        shard,
        CatalogCommand::SetResourcePolicy {
            name: resource.table.to_string(),
            stream_label_ms: resource.stream_label_ms,
            policy: Some((checked.canonical, std::sync::Arc::new(checked.policy))),
            expected_revision_id: expected.map(str::to_string),
            arn: arn.to_string(),
            resource: resource.describe(),
            now_ms: now_ms(),
            change_interval_ms: shard.settings.resource_policy_change_interval_ms,
        },
    )
    .await?;
    let revision = def
        .resource_policy(resource.stream_label_ms)
        .map(|p| p.revision_id.as_str())
        .unwrap_or_default();
    let mut reply = ReplyBuilder::new();
    let mut value = Vec::new();
    write_json_str(&mut value, revision);
    reply.raw("RevisionId", &value);
    Ok(Outcome::Reply(reply.finish()))
}
