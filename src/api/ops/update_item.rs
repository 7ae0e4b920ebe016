//! UpdateItem: edit (or create) one item with an UpdateExpression, optionally
//! under a ConditionExpression; all five ReturnValues.
//!
//! Runs on the key's owning shard under the key lock: read the old item,
//! check the condition against it, apply the update to it (or to just the
//! key when the item is absent), store the result. An UpdateItem with no
//! UpdateExpression still creates the item with its key attributes, as
//! DynamoDB does.

use std::rc::Rc;

use crate::api::protocol::params::item_request;

use crate::api::expr::params::check_not_mixed;
use crate::api::expr::{Condition, Path, Projection, Update, UpdateAction};
use crate::api::index::keys::check_item as check_index_keys;
use crate::api::messages::WriteReport;
use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::params::wants_collection_metrics;
use crate::api::protocol::reply::{ConsumedMode, ReplyBuilder, write_units};
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::api::table::key::{key_from_values, key_values, table_for_items};
use crate::api::write::condition::{check, lock_and_read, update_expressions, updated_item};
use crate::api::write::{BaseWrite, commit};
use crate::catalog::TableDef;
use crate::model::Item;
use crate::model::value::item_size;

/// UpdateItem's members, validated in DynamoDB's order.
struct Request<'a> {
    name: &'a str,
    return_values: &'a str,
    consumed: ConsumedMode,
    update: Option<Update>,
    cond: Option<Condition>,
    return_old: bool,
    want_metrics: bool,
}

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let (request, key_values) = read(&fields)?;
    let table = table_for_items(shard, request.name)?;
    let key = key_from_values(shard, &table, key_values)?;
    if let Some(update) = &request.update {
        let mut key_names = vec![table.partition_key.name.as_str()];
        if let Some(sk) = &table.sort_key {
            key_names.push(sk.name.as_str());
        }
        update.check_key_attributes(&key_names)?;
    }
    if key.owner != shard.id {
        return Ok(Outcome::Forward(key.owner));
    }
    shard.meter.admit_write(&table, Some(key.hash))?;
    let locked = lock_and_read(shard, &key).await?;
    check(
        request.cond.as_ref(),
        locked.old.as_ref(),
        request.return_old,
    )?;
    // Removing from a missing item changes nothing: no item is created.
    if locked.old.is_none() && request.update.as_ref().is_some_and(Update::only_removes) {
        drop(locked.guard);
        let mut reply = ReplyBuilder::new();
        shard
            .meter
            .charge_write(&table, write_units(0), &[], Some(key.hash));
        reply.consumed(request.consumed, &table.name, write_units(0));
        return Ok(Outcome::Reply(reply.finish()));
    }
    let new = updated_item(&table, &key, locked.old.as_ref(), request.update.as_ref())?;
    check_index_keys(&table, &new, true)?;
    let write = BaseWrite::item(key.storage.clone(), locked.old.clone(), Some(new.clone()));
    let committed = commit(shard, vec![write]).await?;
    drop(locked.guard);
    let report = committed.wait().await?;
    let old_size = locked.old.as_ref().map_or(0, item_size);
    shard.meter.charge_write(
        &table,
        write_units(item_size(&new).max(old_size)),
        &report.index_units,
        Some(key.hash),
    );
    Ok(Outcome::Reply(reply(
        &request, &table, locked.old, new, &report,
    )))
}

/// Validates the request alone, in DynamoDB's order: mixed parameters,
/// the key's values, AttributeUpdates, Expected, the expressions. Returns
/// it and the key's values.
fn read<'a, 'v>(fields: &Fields<'a, 'v>) -> Result<(Request<'a>, Item), ApiError> {
    let request = item_request(fields, "Key", "key", true)?;
    check_not_mixed(
        fields,
        &["AttributeUpdates", "Expected", "ConditionalOperator"],
        &["UpdateExpression", "ConditionExpression"],
    )?;
    let key_values = key_values(request.target)?;
    let (update, cond, return_old) = update_expressions(fields)?;
    let mut v = Violations::default();
    let want_metrics = wants_collection_metrics(fields, &mut v)?;
    v.into_result()?;
    let request = Request {
        name: request.table_name,
        return_values: request.return_values,
        consumed: request.consumed,
        update,
        cond,
        return_old,
        want_metrics,
    };
    Ok((request, key_values))
}

fn reply(
    request: &Request<'_>,
    table: &TableDef,
    old: Option<Item>,
    new: Item,
    report: &WriteReport,
) -> Vec<u8> {
    let mut reply = ReplyBuilder::new();
    // UPDATED_OLD/UPDATED_NEW return only the updated paths, as they were
    // or are (`SET m.a.b` returns `m` with just `a.b`); a path that does
    // not resolve in that image (an appending `SET l[10]`, a REMOVE in the
    // new image) returns nothing.
    let updated = |item: &Item, new: bool| -> Item {
        let paths: Vec<Path> = request
            .update
            .iter()
            .flat_map(|u| u.actions.iter())
            .filter(|a| !(new && matches!(a, UpdateAction::Remove(_))))
            .map(|a| a.path().clone())
            .collect();
        Projection::from_paths(paths).apply(item)
    };
    let attributes = match request.return_values {
        "ALL_OLD" => old.clone(),
        "ALL_NEW" => Some(new.clone()),
        "UPDATED_OLD" => old.as_ref().map(|o| updated(o, false)),
        "UPDATED_NEW" => Some(updated(&new, true)),
        _ => None,
    };
    if let Some(attributes) = attributes.filter(|a| !a.is_empty()) {
        reply.item("Attributes", &attributes);
    }
    let old_size = old.as_ref().map_or(0, item_size);
    reply.consumed_with_indexes(
        request.consumed,
        &table.name,
        write_units(item_size(&new).max(old_size)),
        &report.index_units,
    );
    if request.want_metrics {
        reply.collection_metrics(&report.collections);
    }
    reply.finish()
}
