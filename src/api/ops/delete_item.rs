//! DeleteItem: remove one item by primary key, optionally under a
//! ConditionExpression; ReturnValues NONE or ALL_OLD.

use std::rc::Rc;

use crate::api::protocol::params::item_request;
use crate::api::write::condition::write_condition;

use crate::api::expr::params::check_not_mixed;
use crate::api::messages::WriteReport;
use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::params::wants_collection_metrics;
use crate::api::protocol::reply::{ReplyBuilder, write_units};
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::key::{key_from_values, key_values, table_for_items};
use crate::api::write::condition::{check, lock_and_read};
use crate::api::write::{BaseWrite, commit};
use crate::model::value::item_size;

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let request = item_request(&fields, "Key", "key", true)?;
    let (name, key_json) = (request.table_name, request.target);
    let (return_values, consumed) = (request.return_values, request.consumed);
    // DynamoDB's order: mixed parameters, the key's values, ReturnValues,
    // the condition; then the table.
    check_not_mixed(
        &fields,
        &["Expected", "ConditionalOperator"],
        &["ConditionExpression"],
    )?;
    let key_values = key_values(key_json)?;
    if !matches!(return_values, "NONE" | "ALL_OLD") {
        return Err(ApiError::validation(
            "ReturnValues can only be ALL_OLD or NONE",
        ));
    }
    let (cond, return_old) = write_condition(&fields)?;
    let mut v = Violations::default();
    let want_metrics = wants_collection_metrics(&fields, &mut v)?;
    v.into_result()?;
    let table = table_for_items(shard, name)?;
    let key = key_from_values(shard, &table, key_values)?;
    if key.owner != shard.id {
        return Ok(Outcome::Forward(key.owner));
    }
    shard.meter.admit_write(&table, Some(key.hash))?;
    let key_hash = key.hash;
    // The old item decides the condition, capacity and ALL_OLD.
    let locked = lock_and_read(shard, &key).await?;
    check(cond.as_ref(), locked.old.as_ref(), return_old)?;
    let committed = match &locked.old {
        Some(_) => {
            let write = BaseWrite::item(key.storage, locked.old.clone(), None);
            Some(commit(shard, vec![write]).await?)
        }
        None => None,
    };
    drop(locked.guard);
    let report = match committed {
        Some(committed) => committed.wait().await?,
        None => WriteReport::default(),
    };
    let old = locked.old;
    let mut reply = ReplyBuilder::new();
    if let (Some(old), "ALL_OLD") = (&old, return_values) {
        reply.item("Attributes", old);
    }
    let units = write_units(old.as_ref().map_or(0, item_size));
    shard
        .meter
        .charge_write(&table, units, &report.index_units, Some(key_hash));
    reply.consumed_with_indexes(consumed, &table.name, units, &report.index_units);
    if want_metrics {
        reply.collection_metrics(&report.collections);
    }
    Ok(Outcome::Reply(reply.finish()))
}
