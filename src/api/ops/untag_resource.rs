//! UntagResource: removes tags from a table by key; keys it does not have
//! are ignored, as DynamoDB ignores them.

use std::rc::Rc;

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::arn;
use crate::api::table::ddl::submit;
use crate::api::table::options::{check_tag_keys, read_tag_keys};
use crate::catalog::{CatalogCommand, TableStatus};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let resource = fields.str("ResourceArn")?;
    let list = fields.list("TagKeys")?;
    let name = arn::table_name_of(shard, resource, "UntagResource")?;
    let resource = resource.unwrap_or_default();
    let mut v = Violations::default();
    let Some(list) = list else {
        v.null("tagKeys");
        v.into_result()?;
        return Err(ApiError::validation("TagKeys is required"));
    };
    let keys = read_tag_keys(list, &mut v)?;
    v.into_result()?;
    if keys.is_empty() {
        return Err(ApiError::validation(
            "Atleast one Tag Key needs to be provided as Input.",
        ));
    }
    check_tag_keys(&keys)?;
    if !shard
        .catalog()
        .table(name)
        .is_some_and(|t| t.status != TableStatus::Deleting)
    {
        return Err(arn::not_found(resource));
    }
    submit(
        shard,
        CatalogCommand::Untag {
            name: name.to_string(),
            keys,
        },
    )
    .await
    .map_err(|e| super::tag_resource::not_found_by_arn(e, resource))?;
    Ok(Outcome::Reply(Vec::new()))
}
