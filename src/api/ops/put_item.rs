//! PutItem: create or replace an item, optionally under a
//! ConditionExpression; ReturnValues NONE or ALL_OLD.

use std::rc::Rc;

use crate::api::expr::params::check_not_mixed;
use crate::api::protocol::params::item_request;
use crate::api::write::condition::write_condition;

use crate::api::index::keys::check_item as check_index_keys;
use crate::api::messages::WriteReport;
use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::params::wants_collection_metrics;
use crate::api::protocol::reply::{ConsumedMode, ReplyBuilder, write_units};
use crate::api::protocol::request::Fields;
use crate::api::shard::peers::write_on_owner;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::key::{check_item_size, key_of_item, table_for_items};
use crate::api::write::condition::{check, lock_and_read};
use crate::api::write::{BaseWrite, commit};
use crate::model::codec::encode_item;
use crate::model::value::{item_from_json, item_size};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let request = item_request(&fields, "Item", "item", true)?;
    let (name, item_json) = (request.table_name, request.target);
    let (return_values, consumed) = (request.return_values, request.consumed);
    // DynamoDB's order: mixed parameters, the item's values, ReturnValues,
    // the item's size, the condition; then the table and its key schema.
    check_not_mixed(
        &fields,
        &["Expected", "ConditionalOperator"],
        &["ConditionExpression"],
    )?;
    let item = item_from_json(item_json)?;
    if !matches!(return_values, "NONE" | "ALL_OLD") {
        return Err(ApiError::validation(
            "ReturnValues can only be ALL_OLD or NONE",
        ));
    }
    check_item_size(&item)?;
    let (cond, return_old) = write_condition(&fields)?;
    let mut v = Violations::default();
    let want_metrics = wants_collection_metrics(&fields, &mut v)?;
    v.into_result()?;
    let table = table_for_items(shard, name)?;
    let key = key_of_item(shard, &table, &item)?;
    check_index_keys(&table, &item, false)?;
    // Indexed tables need the old item to maintain their indexes.
    let plain = cond.is_none() && return_values == "NONE" && table.indexes.is_empty();
    if key.owner != shard.id && !plain {
        return Ok(Outcome::Forward(key.owner));
    }
    shard.meter.admit_write(&table, Some(key.hash))?;
    let key_hash = key.hash;
    let encoded = encode_item(&item);
    let new_size = item_size(&item);
    // A plain put skips reading the old item and ships only the write to the
    // owner; the owner still takes the key lock so it never lands between a
    // conditional writer's read and write.
    let mut report = WriteReport::default();
    // A plain put charges for the larger of the old and new item too: the
    // owner measures the old one when capacity is asked for.
    let mut plain_old_size = 0;
    let old = if plain {
        let measure = consumed != ConsumedMode::None;
        let written = write_on_owner(
            shard,
            key.owner,
            vec![(key.storage, Some(encoded))],
            measure,
        )
        .await?;
        plain_old_size = written.old_sizes.first().copied().unwrap_or(0);
        None
    } else {
        let locked = lock_and_read(shard, &key).await?;
        check(cond.as_ref(), locked.old.as_ref(), return_old)?;
        let write = BaseWrite {
            new: Some(item),
            value: Some(encoded),
            ..BaseWrite::item(key.storage, locked.old.clone(), None)
        };
        let committed = commit(shard, vec![write]).await?;
        drop(locked.guard);
        report = committed.wait().await?;
        locked.old
    };
    let mut reply = ReplyBuilder::new();
    if let (Some(old), "ALL_OLD") = (&old, return_values) {
        reply.item("Attributes", old);
    }
    let old_size = old.as_ref().map_or(plain_old_size, item_size);
    let units = write_units(new_size.max(old_size));
    shard
        .meter
        .charge_write(&table, units, &report.index_units, Some(key_hash));
    reply.consumed_with_indexes(consumed, &table.name, units, &report.index_units);
    if want_metrics {
        reply.collection_metrics(&report.collections);
    }
    Ok(Outcome::Reply(reply.finish()))
}
