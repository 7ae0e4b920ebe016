//! DeleteItem: remove one item by primary key; ReturnValues NONE or ALL_OLD.

use std::rc::Rc;

use crate::api::error::{ApiError, Violations};
use crate::api::items::{
    ReplyBuilder, consumed_mode, key_from_json, reject_unsupported, return_values, table_for_items,
    write_units,
};
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
    let return_values = return_values(&fields, &mut v)?;
    let consumed = consumed_mode(&fields, &mut v)?;
    v.into_result()?;
    let (Some(name), Some(key_json)) = (name, key_json) else {
        return Err(ApiError::validation("TableName and Key are required"));
    };
    if !matches!(return_values, "NONE" | "ALL_OLD") {
        return Err(ApiError::validation(
            "ReturnValues can only be ALL_OLD or NONE",
        ));
    }
    reject_unsupported(
        &fields,
        &["ConditionExpression", "Expected", "ConditionalOperator"],
    )?;
    let table = table_for_items(shard, name)?;
    let key = key_from_json(shard, &table, key_json)?;
    if key.owner != shard.id {
        return Ok(Outcome::Forward(key.owner));
    }
    // The old item decides capacity and ALL_OLD; hold the lock across the read.
    let guard = shard.locks.lock(key.storage.clone()).await;
    let old = shard.store.get(&key.storage).await?;
    let durable = match old {
        Some(_) => Some(shard.store.write(vec![(key.storage, None)])?),
        None => None,
    };
    drop(guard);
    if let Some(durable) = durable {
        durable.wait().await?;
    }
    let old = match old {
        Some(bytes) => Some(decode_item(&bytes).map_err(|e| ApiError::internal(e.to_string()))?),
        None => None,
    };
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
