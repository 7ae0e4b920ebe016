//! UpdateTimeToLive: enable Time to Live on an attribute, or disable it.
//!
//! Validated in DynamoDB's order (TableName, then the specification's
//! members, then the table); the accepted change is one catalog command
//! the coordinator applies: the table's TTL turns ENABLING or DISABLING
//! and, after `table_status_transition_ms`, ENABLED or DISABLED (a
//! follow-up command, re-scheduled after a restart). One change per
//! `ttl_change_interval_ms` (an hour, as DynamoDB). The expirer
//! (`api::ttl`) acts on ENABLED tables only.

use std::rc::Rc;

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::names::ddl_table_name;
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::ddl::{now_seconds, submit};
use crate::catalog::CatalogCommand;
use crate::model::value::write_json_str;

/// DynamoDB's longest TTL attribute name.
const ATTRIBUTE_NAME_CHARS_MAX: usize = 255;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let (name, enabled, attribute_name) = read(&fields)?;
    let command = CatalogCommand::UpdateTimeToLive {
        name: name.to_string(),
        enabled,
        attribute_name: attribute_name.to_string(),
        now: now_seconds(),
        change_interval_ms: shard.settings.ttl_change_interval_ms,
    };
    submit(shard, command).await?;
    // DynamoDB echoes the specification; a disable names no attribute.
    let mut spec = Vec::with_capacity(64 + attribute_name.len());
    if enabled {
        spec.extend_from_slice(b"{\"AttributeName\":");
        write_json_str(&mut spec, attribute_name);
        spec.extend_from_slice(b",\"Enabled\":true}");
    } else {
        spec.extend_from_slice(b"{\"Enabled\":false}");
    }
    let mut reply = ReplyBuilder::new();
    reply.raw("TimeToLiveSpecification", &spec);
    Ok(Outcome::Reply(reply.finish()))
}

/// TableName, TimeToLiveSpecification.Enabled and .AttributeName.
fn read<'a>(fields: &Fields<'a, '_>) -> Result<(&'a str, bool, &'a str), ApiError> {
    let mut v = Violations::default();
    let name = ddl_table_name(fields, &mut v)?;
    let Some(spec) = fields.object("TimeToLiveSpecification")? else {
        v.null("timeToLiveSpecification");
        v.into_result()?;
        return Err(ApiError::internal("unreachable: a violation was recorded"));
    };
    let enabled = spec.bool("Enabled")?;
    let attribute_name = spec.str("AttributeName")?;
    if enabled.is_none() {
        v.null("timeToLiveSpecification.enabled");
    }
    match attribute_name {
        None => v.null("timeToLiveSpecification.attributeName"),
        Some(a) if a.chars().count() > ATTRIBUTE_NAME_CHARS_MAX => v.push(
            &format!("'{a}'"),
            "timeToLiveSpecification.attributeName",
            "Member must have length less than or equal to 255",
        ),
        Some(_) => {}
    }
    v.into_result()?;
    let (Some(enabled), Some(attribute_name)) = (enabled, attribute_name) else {
        return Err(ApiError::internal("unreachable: a violation was recorded"));
    };
    if attribute_name.is_empty() {
        return Err(ApiError::validation(
            "TimeToLiveSpecification.AttributeName must be non empty",
        ));
    }
    Ok((name, enabled, attribute_name))
}
