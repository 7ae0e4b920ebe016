//! PutItem: create or replace an item; ReturnValues NONE or ALL_OLD.

use std::rc::Rc;

use crate::api::error::{ApiError, Violations};
use crate::api::items::{
    ReplyBuilder, check_item_size, consumed_mode, key_of_item, reject_unsupported, return_values,
    table_for_items, write_units,
};
use crate::api::request::Fields;
use crate::api::tables::check_table_name;
use crate::api::{Outcome, Shard};
use crate::model::codec::{decode_item, encode_item};
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
    let item = item_from_json(item_json)?;
    let key = key_of_item(shard, &table, &item)?;
    check_item_size(&item)?;
    if key.owner != shard.id {
        return Ok(Outcome::Forward(key.owner));
    }
    let encoded = encode_item(&item);
    let new_size = item_size(&item);
    let mut reply = ReplyBuilder::new();
    let old = if return_values == "ALL_OLD" {
        let _guard = shard.locks.lock(key.storage.clone()).await;
        let old = shard.store.get(&key.storage).await?;
        let durable = shard.store.write(vec![(key.storage, Some(encoded))])?;
        drop(_guard);
        durable.wait().await?;
        match old {
            Some(bytes) => {
                Some(decode_item(&bytes).map_err(|e| ApiError::internal(e.to_string()))?)
            }
            None => None,
        }
    } else {
        shard
            .store
            .write(vec![(key.storage, Some(encoded))])?
            .wait()
            .await?;
        None
    };
    let old_size = old.as_ref().map_or(0, item_size);
    if let Some(old) = &old {
        reply.item("Attributes", old);
    }
    reply.consumed(consumed, &table.name, write_units(new_size.max(old_size)));
    Ok(Outcome::Reply(reply.finish()))
}
