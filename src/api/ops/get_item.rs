//! GetItem: read one item by primary key, with an optional projection
//! (ProjectionExpression with nested paths, or AttributesToGet).

use std::rc::Rc;

use crate::api::protocol::params::item_request;

use crate::api::expr::params::{ExprInput, projection};
use crate::api::protocol::error::ApiError;
use crate::api::protocol::reply::{ReplyBuilder, read_units};
use crate::api::protocol::request::Fields;
use crate::api::shard::peers::get_on_owner;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::key::{key_from_values, key_values, table_for_items};
use crate::model::codec::decode_item;
use crate::model::value::item_size;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let request = item_request(&fields, "Key", "key", false)?;
    let (name, key_json, consumed) = (request.table_name, request.target, request.consumed);
    let consistent = fields.bool("ConsistentRead")?.unwrap_or(false);
    let key_values = key_values(key_json)?;
    let input = ExprInput::read_names_only(&fields)?;
    let mut ph = input.placeholders()?;
    let projection = projection(&fields, &mut ph)?;
    input.require_expressions(
        fields.get("ProjectionExpression").is_some(),
        "ProjectionExpression is null",
    )?;
    ph.finish()?;
    let table = table_for_items(shard, name)?;
    let key = key_from_values(shard, &table, key_values)?;
    shard.meter.admit_read(&table, None, Some(key.hash))?;
    let mut reply = ReplyBuilder::new();
    let mut size = 0;
    if let Some(bytes) = get_on_owner(shard, key.owner, &key.storage).await? {
        match &projection {
            Some(p) => {
                let item = decode_item(&bytes)?;
                size = item_size(&item);
                reply.item("Item", &p.apply(&item));
            }
            // The whole item: transcoded from its stored form, no Item built.
            None => size = reply.stored_item("Item", &bytes)?,
        }
    }
    let units = read_units(size, consistent);
    shard.meter.charge_read(&table, None, units, Some(key.hash));
    reply.consumed(consumed, &table.name, units);
    Ok(Outcome::Reply(reply.finish()))
}
