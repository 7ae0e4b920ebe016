//! DeleteItem: remove one item by primary key, optionally under a
//! ConditionExpression; ReturnValues NONE or ALL_OLD.

use std::rc::Rc;

use crate::api::conditional::{check, lock_and_read};
use crate::api::error::{ApiError, Violations};
use crate::api::expr::ExprKind;
use crate::api::expressions::{ExprInput, check_not_mixed, condition, return_old_on_failure};
use crate::api::items::{
    ReplyBuilder, consumed_mode, key_from_json, return_values, table_for_items, write_units,
};
use crate::api::legacy;
use crate::api::request::Fields;
use crate::api::tables::check_table_name;
use crate::api::{Outcome, Shard};
use crate::model::value::item_size;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let mut v = Violations::default();
    let name = fields.str("TableName")?;
    check_table_name(&mut v, name, "tableName");
    let key_json = fields.get("Key");
    if key_json.is_none() {
        v.null("key");
    }
    let return_values = return_values(&fields, &mut v)?;
    let consumed = consumed_mode(&fields, &mut v)?;
    v.into_result()?;
    let (Some(name), Some(key_json)) = (name, key_json) else {
        return Err(ApiError::validation("TableName and Key are required"));
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
    if !matches!(return_values, "NONE" | "ALL_OLD") {
        return Err(ApiError::validation(
            "ReturnValues can only be ALL_OLD or NONE",
        ));
    }
    let table = table_for_items(shard, name)?;
    let key = key_from_json(shard, &table, key_json)?;
    if key.owner != shard.id {
        return Ok(Outcome::Forward(key.owner));
    }
    // The old item decides the condition, capacity and ALL_OLD.
    let locked = lock_and_read(shard, &key).await?;
    check(cond.as_ref(), locked.old.as_ref(), return_old)?;
    let durable = match locked.old {
        Some(_) => Some(shard.store.write(vec![(key.storage, None)])?),
        None => None,
    };
    drop(locked.guard);
    if let Some(durable) = durable {
        durable.wait().await?;
    }
    let old = locked.old;
    let mut reply = ReplyBuilder::new();
    if let (Some(old), "ALL_OLD") = (&old, return_values) {
        reply.item("Attributes", old);
    }
    reply.consumed(
        consumed,
        &table.name,
        write_units(old.as_ref().map_or(0, item_size)),
    );
    Ok(Outcome::Reply(reply.finish()))
}
