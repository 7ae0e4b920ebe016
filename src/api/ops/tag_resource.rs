//! TagResource: adds tags to a table (by its ARN), replacing the values of
//! keys it has; at most 50 per table. The coordinator records them in the
//! catalog, so they survive restarts.

use std::rc::Rc;

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::arn;
use crate::api::table::ddl::submit;
use crate::api::table::options::read_tags;
use crate::catalog::{CatalogCommand, TableStatus};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let resource = fields.str("ResourceArn")?;
    let list = fields.list("Tags")?;
    let name = arn::table_name_of(shard, resource, "TagResource")?;
    let resource = resource.unwrap_or_default();
    let mut v = Violations::default();
    let Some(list) = list else {
        v.null("tags");
        v.into_result()?;
        return Err(ApiError::validation("Tags is required"));
    };
    let tags = read_tags(list, &mut v)?;
    v.into_result()?;
    if tags.is_empty() {
        return Err(ApiError::validation(
            "Atleast one Tag needs to be provided as Input.",
        ));
    }
    if !shard
        .catalog()
        .table(name)
        .is_some_and(|t| t.status != TableStatus::Deleting)
    {
        return Err(arn::not_found(resource));
    }
    submit(
        shard,
        CatalogCommand::Tag {
            name: name.to_string(),
            tags,
        },
    )
    .await
    .map_err(|e| not_found_by_arn(e, resource))?;
    // DynamoDB answers TagResource with an empty body.
    Ok(Outcome::Reply(Vec::new()))
}

/// The table vanished between the check and the change: the ARN's message.
pub fn not_found_by_arn(e: ApiError, resource: &str) -> ApiError {
    if e.type_name.ends_with("#ResourceNotFoundException") {
        arn::not_found(resource)
    } else {
        e
    }
}
