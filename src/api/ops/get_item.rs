//! GetItem: read one item by primary key, with an optional projection
//! (ProjectionExpression with nested paths, or AttributesToGet).

use std::rc::Rc;

use crate::api::error::{ApiError, Violations};
use crate::api::expressions::{ExprInput, projection};
use crate::api::items::{ReplyBuilder, consumed_mode, key_from_json, read_units, table_for_items};
use crate::api::mesh::get_on_owner;
use crate::api::request::Fields;
use crate::api::tables::check_table_name;
use crate::api::{Outcome, Shard};
use crate::model::codec::decode_item;
use crate::model::value::item_size;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let mut v = Violations::default();
    let name = fields.str("TableName")?;
    check_table_name(&mut v, name, "tableName");
    let key_json = fields.get("Key");
    if key_json.is_none() {
        v.null("key");
    }
    let consumed = consumed_mode(&fields, &mut v)?;
    let consistent = fields.bool("ConsistentRead")?.unwrap_or(false);
    v.into_result()?;
    let (Some(name), Some(key_json)) = (name, key_json) else {
        return Err(ApiError::validation("TableName and Key are required"));
    };
    let input = ExprInput::read_names_only(&fields)?;
    let mut ph = input.placeholders()?;
    let projection = projection(&fields, &mut ph)?;
    input.require_expressions(
        fields.get("ProjectionExpression").is_some(),
        "ProjectionExpression is null",
    )?;
    ph.finish()?;
    let table = table_for_items(shard, name)?;
    let key = key_from_json(shard, &table, key_json)?;
    let mut reply = ReplyBuilder::new();
    let mut size = 0;
    if let Some(bytes) = get_on_owner(shard, key.owner, &key.storage).await? {
        let item = decode_item(&bytes).map_err(|e| ApiError::internal(e.to_string()))?;
        size = item_size(&item);
        match &projection {
            Some(p) => reply.item("Item", &p.apply(&item)),
            None => reply.item("Item", &item),
        }
    }
    reply.consumed(consumed, &table.name, read_units(size, consistent));
    Ok(Outcome::Reply(reply.finish()))
}
