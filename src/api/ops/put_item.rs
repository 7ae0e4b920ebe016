//! PutItem: create or replace an item, optionally under a
//! ConditionExpression; ReturnValues NONE or ALL_OLD.

use std::rc::Rc;

use crate::api::conditional::{check, lock_and_read};
use crate::api::error::{ApiError, Violations};
use crate::api::expr::ExprKind;
use crate::api::expressions::{ExprInput, check_not_mixed, condition, return_old_on_failure};
use crate::api::items::{
    ReplyBuilder, check_item_size, consumed_mode, key_of_item, return_values, table_for_items,
    write_units,
};
use crate::api::legacy;
use crate::api::mesh::write_on_owner;
use crate::api::request::Fields;
use crate::api::tables::check_table_name;
use crate::api::{Outcome, Shard};
use crate::model::codec::encode_item;
use crate::model::value::{item_from_json, item_size};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let mut v = Violations::default();
    let name = fields.str("TableName")?;
    check_table_name(&mut v, name, "tableName");
    let item_json = fields.get("Item");
    if item_json.is_none() {
        v.null("item");
    }
    let return_values = return_values(&fields, &mut v)?;
    let consumed = consumed_mode(&fields, &mut v)?;
    v.into_result()?;
    let (Some(name), Some(item_json)) = (name, item_json) else {
        return Err(ApiError::validation("TableName and Item are required"));
    };
    check_not_mixed(
        &fields,
        &["Expected", "ConditionalOperator"],
        &["ConditionExpression"],
    )?;
    let input = ExprInput::read(&fields)?;
    let mut ph = input.placeholders()?;
    let cond = condition(&fields, "ConditionExpression", ExprKind::Condition, &mut ph)?;
    input.require_expressions(cond.is_some(), "ConditionExpression is null")?;
    ph.finish()?;
    let cond = match cond {
        Some(cond) => Some(cond),
        None => legacy::expected(&fields)?,
    };
    let return_old = return_old_on_failure(&fields)?;
    let item = item_from_json(item_json)?;
    if !matches!(return_values, "NONE" | "ALL_OLD") {
        return Err(ApiError::validation(
            "ReturnValues can only be ALL_OLD or NONE",
        ));
    }
    let table = table_for_items(shard, name)?;
    let key = key_of_item(shard, &table, &item)?;
    check_item_size(&item)?;
    let plain = cond.is_none() && return_values == "NONE";
    if key.owner != shard.id && !plain {
        return Ok(Outcome::Forward(key.owner));
    }
    let encoded = encode_item(&item);
    let new_size = item_size(&item);
    // A plain put skips reading the old item and ships only the write to the
    // owner; the owner still takes the key lock so it never lands between a
    // conditional writer's read and write.
    let old = if plain {
        write_on_owner(shard, key.owner, vec![(key.storage, Some(encoded))]).await?;
        None
    } else {
        let locked = lock_and_read(shard, &key).await?;
        check(cond.as_ref(), locked.old.as_ref(), return_old)?;
        let durable = shard.store.write(vec![(key.storage, Some(encoded))])?;
        drop(locked.guard);
        durable.wait().await?;
        locked.old
    };
    let mut reply = ReplyBuilder::new();
    if let (Some(old), "ALL_OLD") = (&old, return_values) {
        reply.item("Attributes", old);
    }
    let old_size = old.as_ref().map_or(0, item_size);
    reply.consumed(consumed, &table.name, write_units(new_size.max(old_size)));
    Ok(Outcome::Reply(reply.finish()))
}
