//! Read-modify-write of one item on its owning shard: the key lock, the old
//! item, and the ConditionExpression check shared by PutItem, UpdateItem and
//! DeleteItem.
//!
//! The key lock is held from the read of the old item until the new value is
//! applied to the store (not until it is durable), so two conditional writes
//! to one key serialize and neither decides on a value the other is
//! replacing. If we crash after applying but before durability, the write was
//! never acknowledged, which is fine either way.

use std::rc::Rc;

use crate::api::expr::legacy;
use crate::api::expr::params::{ExprInput, check_not_mixed, condition, return_old_on_failure};
use crate::api::expr::{self, Condition, ExprKind, Update};
use crate::api::protocol::error::ApiError;
use crate::api::protocol::request::Fields;
use crate::api::shard::Shard;
use crate::api::shard::locks::KeyGuard;
use crate::api::table::key::ItemKey;
use crate::catalog::TableDef;
use crate::model::Item;
use crate::model::codec::decode_item;

/// The old item, read under the key's lock.
pub struct Locked {
    pub guard: KeyGuard,
    pub old: Option<Item>,
}

pub async fn lock_and_read(shard: &Rc<Shard>, key: &ItemKey) -> Result<Locked, ApiError> {
    // An item a transaction holds: DynamoDB's conflict, not a queue.
    if shard.txns.has_intent(&key.storage) {
        shard.txns.count_conflict();
        return Err(ApiError::transaction_conflict());
    }
    let guard = shard.locks.lock(key.storage.clone()).await;
    let old = match shard.store.get(&key.storage).await? {
        Some(bytes) => Some(decode_item(&bytes)?),
        None => None,
    };
    Ok(Locked { guard, old })
}

/// The condition of a PutItem or DeleteItem: ConditionExpression or the
/// legacy Expected (never both), and whether a failed check returns the old
/// item (ReturnValuesOnConditionCheckFailure: ALL_OLD).
pub fn write_condition(fields: &Fields<'_, '_>) -> Result<(Option<Condition>, bool), ApiError> {
    check_not_mixed(
        fields,
        &["Expected", "ConditionalOperator"],
        &["ConditionExpression"],
    )?;
    let input = ExprInput::read(fields)?;
    let mut ph = input.placeholders()?;
    let cond = condition(fields, "ConditionExpression", ExprKind::Condition, &mut ph)?;
    input.require_expressions(cond.is_some(), "ConditionExpression is null")?;
    ph.finish()?;
    let cond = match cond {
        Some(cond) => Some(cond),
        None => legacy::expected(fields)?,
    };
    Ok((cond, return_old_on_failure(fields)?))
}

/// Evaluates the condition against the old item (an absent item is empty);
/// on failure returns ConditionalCheckFailedException, carrying the old item
/// when ReturnValuesOnConditionCheckFailure is ALL_OLD.
pub fn check(
    condition: Option<&Condition>,
    old: Option<&Item>,
    return_old: bool,
) -> Result<(), ApiError> {
    let Some(condition) = condition else {
        return Ok(());
    };
    let empty = Item::new();
    if expr::evaluate(condition, old.unwrap_or(&empty)) {
        return Ok(());
    }
    Err(ApiError::conditional_check_failed(
        old.filter(|_| return_old).cloned(),
    ))
}

/// The expressions of an UpdateItem or a transaction's Update action, as
/// DynamoDB validates them: UpdateExpression (or legacy AttributeUpdates),
/// ConditionExpression (or legacy Expected), and whether a failed check
/// returns the old item.
pub fn update_expressions(
    fields: &Fields<'_, '_>,
) -> Result<(Option<Update>, Option<Condition>, bool), ApiError> {
    check_not_mixed(
        fields,
        &["AttributeUpdates", "Expected", "ConditionalOperator"],
        &["UpdateExpression", "ConditionExpression"],
    )?;
    // DynamoDB's order: the legacy members, then the expressions.
    let legacy_update = legacy::attribute_updates(fields)?;
    let legacy_cond = legacy::expected(fields)?;
    let input = ExprInput::read(fields)?;
    let mut ph = input.placeholders()?;
    let update = match fields.str("UpdateExpression")? {
        Some(text) => Some(expr::parse_update(text, &mut ph)?),
        None => None,
    };
    let cond = condition(fields, "ConditionExpression", ExprKind::Condition, &mut ph)?;
    input.require_expressions(
        update.is_some() || cond.is_some(),
        "UpdateExpression and ConditionExpression are null",
    )?;
    ph.finish()?;
    let update = update.or(legacy_update);
    let cond = cond.or(legacy_cond);
    let return_old = return_old_on_failure(fields)?;
    Ok((update, cond, return_old))
}

/// The item after the update: applied to the old item, or to just the key
/// when the item is absent.
pub fn updated_item(
    table: &TableDef,
    key: &ItemKey,
    old: Option<&Item>,
    update: Option<&Update>,
) -> Result<Item, ApiError> {
    let base = match old {
        Some(old) => old.clone(),
        None => {
            let mut item = Item::new();
            item.insert(table.partition_key.name.clone(), key.pk.clone());
            if let (Some(attr), Some(sk)) = (&table.sort_key, &key.sk) {
                item.insert(attr.name.clone(), sk.clone());
            }
            item
        }
    };
    Ok(match update {
        Some(update) => expr::apply_update(update, &base)?,
        None => base,
    })
}
