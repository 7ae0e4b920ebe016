//! Decoding and validating TransactWriteItems and TransactGetItems, with
//! DynamoDB's messages and limits, before anything is locked or written.
//!
//! Like DynamoDB, a malformed request or expression (a syntax error, a
//! missing or unused placeholder, a bad enum) is a ValidationException for
//! the whole request, a missing table a ResourceNotFoundException; a key or
//! item that does not fit its table (wrong key type, missing key, item or
//! key too large) cancels the transaction with a `ValidationError` reason
//! on the first such action and `None` on the others.
//! Each action's members are read by the same code as the single-item
//! operation's (`write::condition`, `table::key`, `expr::params`).

use simd_json::BorrowedValue as Json;
use simd_json::prelude::Writable;

use crate::api::expr::Projection;
use crate::api::expr::params::{ExprInput, projection};
use crate::api::index::keys::check_item as check_index_keys;
use crate::api::messages::{TxnAction, TxnOp, TxnToken};
use crate::api::protocol::error::{ApiError, CancellationReason, Violations};
use crate::api::protocol::names::check_table_name;
use crate::api::protocol::params::{consumed_mode, wants_collection_metrics};
use crate::api::protocol::reply::ConsumedMode;
use crate::api::protocol::request::Fields;
use crate::api::shard::Shard;
use crate::api::table::key::{
    ItemKey, check_item_size, key_from_json, key_of_item, table_for_items,
};
use crate::api::write::condition::{update_expressions, write_condition};
use crate::model::value::{item_from_json, item_size};

/// DynamoDB's limits on one transaction.
pub const ACTIONS_MAX: usize = 100;
pub const PAYLOAD_BYTES_MAX: usize = 4 * 1024 * 1024;
pub const TOKEN_CHARS_MAX: usize = 36;

pub const SAME_ITEM: &str = "Transaction request cannot include multiple operations on one item";

/// A validated TransactWriteItems.
pub struct WritePlan {
    /// In request order.
    pub actions: Vec<TxnAction>,
    /// The owning shard of each action.
    pub owners: Vec<u32>,
    pub consumed: ConsumedMode,
    pub want_metrics: bool,
    pub token: Option<TxnToken>,
}

impl WritePlan {
    /// The shards that must take part: the owners and the token's shard.
    pub fn shards(&self, shard: &Shard) -> Vec<u32> {
        let mut shards = self.owners.clone();
        if let Some(token) = &self.token {
            shards.push(token_shard(shard, &token.token));
        }
        shards.sort_unstable();
        shards.dedup();
        shards
    }
}

/// The shard that owns a ClientRequestToken (by the placement hash of its
/// bytes): every repeat of a token meets its first outcome there.
pub fn token_shard(shard: &Shard, token: &str) -> u32 {
    shard
        .map
        .owner(xxhash_rust::xxh3::xxh3_64(token.as_bytes()))
}

/// The members both operations open with: TransactItems (1 to 100) and
/// ReturnConsumedCapacity, reported together as DynamoDB's validator does.
fn transact_items<'a, 'v>(
    fields: &Fields<'a, 'v>,
    v: &mut Violations,
) -> Result<Option<&'a [Json<'v>]>, ApiError> {
    let items = fields.list("TransactItems")?;
    match items {
        None => v.null("transactItems"),
        Some([]) => v.push(
            "'[]'",
            "transactItems",
            "Member must have length greater than or equal to 1",
        ),
        Some(list) if list.len() > ACTIONS_MAX => v.push(
            &format!("'[{} items]'", list.len()),
            "transactItems",
            "Member must have length less than or equal to 100",
        ),
        Some(_) => {}
    }
    Ok(items)
}

/// The one member of a TransactWriteItem, by its kind.
fn action_member<'a, 'v>(
    item: &'a Json<'v>,
    names: &[&'static str],
) -> Result<(&'static str, Fields<'a, 'v>), ApiError> {
    let fields = Fields::of(item)?;
    let mut found = None;
    for name in names {
        if let Some(member) = fields.object(name)? {
            if found.is_some() {
                found = None;
                break;
            }
            found = Some((*name, member));
        }
    }
    found.ok_or_else(|| {
        ApiError::validation(if names.len() == 1 {
            "TransactItems can only contain Get".to_string()
        } else {
            "TransactItems can only contain one of Check, Put, Update or Delete".to_string()
        })
    })
}

/// An action's members with the required ones checked: (table name,
/// Key or Item).
fn required<'a, 'v>(
    member: &Fields<'a, 'v>,
    path: &str,
    target: &str,
    v: &mut Violations,
) -> Result<(Option<&'a str>, Option<&'a Json<'v>>), ApiError> {
    let name = member.str("TableName")?;
    check_table_name(v, name, &format!("{path}.tableName"));
    let json = member.get(target);
    if json.is_none() {
        v.null(&format!("{path}.{}", lower_first(target)));
    }
    Ok((name, json))
}

fn lower_first(s: &str) -> String {
    let mut out = s[..1].to_ascii_lowercase();
    out.push_str(&s[1..]);
    out
}

/// What a static check of an action's key or item found: a key problem
/// cancels the transaction (ValidationError), anything else fails the
/// request.
enum KeyCheck {
    Key(ItemKey),
    Invalid(String),
}

fn key_check(result: Result<ItemKey, ApiError>) -> Result<KeyCheck, ApiError> {
    match result {
        Ok(key) => Ok(KeyCheck::Key(key)),
        Err(e) if e.type_name.ends_with("ValidationException") => Ok(KeyCheck::Invalid(e.message)),
        Err(e) => Err(e),
    }
}

pub fn write_plan(shard: &Shard, fields: &Fields<'_, '_>) -> Result<WritePlan, ApiError> {
    let mut v = Violations::default();
    let items = transact_items(fields, &mut v)?;
    let consumed = consumed_mode(fields, &mut v)?;
    let want_metrics = wants_collection_metrics(fields, &mut v)?;
    let token = fields.str("ClientRequestToken")?;
    if let Some(t) = token {
        let chars = t.chars().count();
        if chars > TOKEN_CHARS_MAX {
            v.push(
                &format!("'{t}'"),
                "clientRequestToken",
                "Member must have length less than or equal to 36",
            );
        } else if chars == 0 {
            v.push(
                "''",
                "clientRequestToken",
                "Member must have length greater than or equal to 1",
            );
        }
    }
    v.into_result()?;
    let items = items.unwrap_or(&[]);
    let mut actions = Vec::with_capacity(items.len());
    let mut invalid: Option<(usize, String)> = None;
    let mut payload = 0usize;
    for (index, item) in items.iter().enumerate() {
        let (kind, member) = action_member(item, &["ConditionCheck", "Put", "Delete", "Update"])?;
        let path = format!("transactItems.{}.member.{}", index + 1, lower_first(kind));
        let mut v = Violations::default();
        let target = if kind == "Put" { "Item" } else { "Key" };
        let (name, json) = required(&member, &path, target, &mut v)?;
        if kind == "ConditionCheck" && member.get("ConditionExpression").is_none() {
            v.null(&format!("{path}.conditionExpression"));
        }
        if kind == "Update" && member.get("UpdateExpression").is_none() {
            v.null(&format!("{path}.updateExpression"));
        }
        v.into_result()?;
        let (Some(name), Some(json)) = (name, json) else {
            return Err(ApiError::validation(format!(
                "TableName and {target} are required"
            )));
        };
        let (op, condition, return_old) = match kind {
            "Update" => {
                let (update, cond, return_old) = update_expressions(&member)?;
                (TxnOp::Update(update), cond, return_old)
            }
            _ => {
                let (cond, return_old) = write_condition(&member)?;
                let op = match kind {
                    "Put" => TxnOp::Put(item_from_json(json)?),
                    "Delete" => TxnOp::Delete,
                    _ => TxnOp::ConditionCheck,
                };
                (op, cond, return_old)
            }
        };
        let table = table_for_items(shard, name)?;
        let checked = match &op {
            TxnOp::Put(item) => {
                payload += item_size(item);
                key_check(key_of_item(shard, &table, item).and_then(|key| {
                    check_item_size(item)?;
                    check_index_keys(&table, item, false)?;
                    Ok(key)
                }))?
            }
            TxnOp::Update(update) => {
                key_check(key_from_json(shard, &table, json).and_then(|key| {
                    if let Some(update) = update {
                        let mut key_names = vec![table.partition_key.name.as_str()];
                        if let Some(sk) = &table.sort_key {
                            key_names.push(sk.name.as_str());
                        }
                        update.check_key_attributes(&key_names)?;
                    }
                    Ok(key)
                }))?
            }
            _ => key_check(key_from_json(shard, &table, json))?,
        };
        let key = match checked {
            KeyCheck::Key(key) => key,
            KeyCheck::Invalid(message) => {
                if invalid.is_none() {
                    invalid = Some((index, message));
                }
                continue;
            }
        };
        payload += key.storage.len();
        actions.push((
            key.owner,
            TxnAction {
                index,
                table,
                storage: key.storage,
                pk: key.pk,
                sk: key.sk,
                op,
                condition,
                return_old,
            },
        ));
    }
    if let Some((index, message)) = invalid {
        let mut reasons = vec![CancellationReason::NONE; items.len()];
        reasons[index] = CancellationReason::new("ValidationError", message);
        return Err(ApiError::transaction_canceled(reasons));
    }
    check_distinct(actions.iter().map(|(_, a)| a.storage.as_slice()))?;
    if payload > PAYLOAD_BYTES_MAX {
        return Err(ApiError::validation(
            "Transaction request payload size cannot exceed 4 MB",
        ));
    }
    let token = token.map(|token| TxnToken {
        token: token.to_string(),
        params: params_hash(fields),
    });
    let (owners, actions) = actions.into_iter().unzip();
    Ok(WritePlan {
        actions,
        owners,
        consumed,
        want_metrics,
        token,
    })
}

/// Hash of everything a repeat must share with the first request: the
/// actions and the members that shape the reply.
fn params_hash(fields: &Fields<'_, '_>) -> u128 {
    let mut bytes = Vec::new();
    for member in [
        "TransactItems",
        "ReturnConsumedCapacity",
        "ReturnItemCollectionMetrics",
    ] {
        if let Some(json) = fields.get(member) {
            bytes.extend_from_slice(json.encode().as_bytes());
        }
        bytes.push(0);
    }
    xxhash_rust::xxh3::xxh3_128(&bytes)
}

fn check_distinct<'a>(keys: impl Iterator<Item = &'a [u8]>) -> Result<(), ApiError> {
    let mut keys: Vec<&[u8]> = keys.collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(ApiError::validation(SAME_ITEM));
    }
    Ok(())
}

/// One validated Get of a TransactGetItems.
pub struct GetAction {
    pub table: std::sync::Arc<crate::catalog::TableDef>,
    pub key: ItemKey,
    pub projection: Option<Projection>,
}

pub struct GetPlan {
    pub gets: Vec<GetAction>,
    pub consumed: ConsumedMode,
}

pub fn get_plan(shard: &Shard, fields: &Fields<'_, '_>) -> Result<GetPlan, ApiError> {
    let mut v = Violations::default();
    let items = transact_items(fields, &mut v)?;
    let consumed = consumed_mode(fields, &mut v)?;
    v.into_result()?;
    let items = items.unwrap_or(&[]);
    let mut gets = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let (_, member) = action_member(item, &["Get"])?;
        let path = format!("transactItems.{}.member.get", index + 1);
        let mut v = Violations::default();
        let (name, json) = required(&member, &path, "Key", &mut v)?;
        v.into_result()?;
        let (Some(name), Some(json)) = (name, json) else {
            return Err(ApiError::validation("TableName and Key are required"));
        };
        let input = ExprInput::read_names_only(&member)?;
        let mut ph = input.placeholders()?;
        let projection = projection(&member, &mut ph)?;
        input.require_expressions(
            member.get("ProjectionExpression").is_some(),
            "ProjectionExpression is null",
        )?;
        ph.finish()?;
        let table = table_for_items(shard, name)?;
        let key = key_from_json(shard, &table, json)?;
        gets.push(GetAction {
            table,
            key,
            projection,
        });
    }
    check_distinct(gets.iter().map(|g| g.key.storage.as_slice()))?;
    Ok(GetPlan { gets, consumed })
}
