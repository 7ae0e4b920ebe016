//! What the three resource-based policy operations share (and
//! CreateTable's `ResourcePolicy`): the existence check of the resource a
//! `ResourceArn` names, the refusal of a document, the clock.

use crate::api::protocol::error::ApiError;
use crate::api::shard::Shard;
use crate::api::table::arn::PolicyResource;
use crate::auth::resource_policy::ResourcePolicyError;
use crate::catalog::CatalogError;

/// The table a policy operation names must exist (CREATING and DELETING
/// ones are the catalog's to refuse), and the stream too.
pub fn check_exists(shard: &Shard, resource: &PolicyResource<'_>) -> Result<(), ApiError> {
    let catalog = shard.catalog();
    let Some(table) = catalog.table(resource.table) else {
        return Err(ApiError::table_not_found(resource.table));
    };
    if let Some(label_ms) = resource.stream_label_ms
        && table.stream(label_ms).is_none()
    {
        return Err(CatalogError::StreamNotFound {
            table: table.name.clone(),
            label: crate::catalog::utc_label(label_ms),
        }
        .into());
    }
    Ok(())
}

/// A refused document, as DynamoDB reports it (CreateTable's
/// ResourcePolicy too).
pub fn document_error(e: ResourcePolicyError) -> ApiError {
    match e {
        ResourcePolicyError::Unbounded => ApiError::validation(e.to_string()),
        other => ApiError::invalid_parameter(other),
    }
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
