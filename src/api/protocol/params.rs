//! Readers of the request members many operations share, each validated
//! as DynamoDB's validator reports it (violations collected together where
//! DynamoDB lists them together): the opening members of single-item and
//! batch operations, ReturnValues, ReturnConsumedCapacity,
//! ReturnItemCollectionMetrics, Limit, Select, and the BillingMode and
//! ProvisionedThroughput of CreateTable and UpdateTable.

use simd_json::BorrowedValue as Json;

use super::error::{ApiError, Violations};
use super::names::check_table_name;
use super::reply::ConsumedMode;
use super::request::Fields;
use crate::catalog::BillingMode;

/// The members every single-item operation opens with, validated together
/// as DynamoDB's validator reports them: TableName, the required `Item` or
/// `Key`, ReturnValues (writes only) and ReturnConsumedCapacity.
pub struct ItemRequest<'a, 'v> {
    pub table_name: &'a str,
    pub target: &'a Json<'v>,
    pub return_values: &'a str,
    pub consumed: ConsumedMode,
}

/// Reads [`ItemRequest`]: `member` is "Item" or "Key", `path` its
/// validator name ("item", "key"); `writes` adds ReturnValues.
pub fn item_request<'a, 'v>(
    fields: &Fields<'a, 'v>,
    member: &str,
    path: &str,
    writes: bool,
) -> Result<ItemRequest<'a, 'v>, ApiError> {
    let mut v = Violations::default();
    let name = fields.str("TableName")?;
    check_table_name(&mut v, name, "tableName");
    let target = fields.get(member);
    if target.is_none() {
        v.null(path);
    }
    let return_values = if writes {
        return_values(fields, &mut v)?
    } else {
        "NONE"
    };
    let consumed = consumed_mode(fields, &mut v)?;
    v.into_result()?;
    match (name, target) {
        (Some(table_name), Some(target)) => Ok(ItemRequest {
            table_name,
            target,
            return_values,
            consumed,
        }),
        _ => Err(ApiError::validation(format!(
            "TableName and {member} are required"
        ))),
    }
}

/// The members both batch operations open with: a non-empty RequestItems
/// map and ReturnConsumedCapacity, validated together.
pub fn batch_request_items<'a, 'v>(
    fields: &Fields<'a, 'v>,
) -> Result<(Fields<'a, 'v>, ConsumedMode), ApiError> {
    let mut v = Violations::default();
    let request_items = fields.object("RequestItems")?;
    if request_items.is_none() {
        v.null("requestItems");
    }
    let consumed = consumed_mode(fields, &mut v)?;
    v.into_result()?;
    let Some(request_items) = request_items else {
        return Err(ApiError::validation("RequestItems is required"));
    };
    if request_items.is_empty() {
        return Err(ApiError::validation(
            "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    Ok((request_items, consumed))
}

/// ReturnConsumedCapacity.
pub fn consumed_mode(
    fields: &Fields<'_, '_>,
    v: &mut Violations,
) -> Result<ConsumedMode, ApiError> {
    Ok(match fields.str("ReturnConsumedCapacity")? {
        None | Some("NONE") => ConsumedMode::None,
        Some("TOTAL") => ConsumedMode::Total,
        Some("INDEXES") => ConsumedMode::Indexes,
        Some(other) => {
            v.push(
                &format!("'{other}'"),
                "returnConsumedCapacity",
                "Member must satisfy enum value set: [INDEXES, TOTAL, NONE]",
            );
            ConsumedMode::None
        }
    })
}

/// Validates a ReturnValues member against DynamoDB's enum.
pub fn return_values<'a>(fields: &Fields<'a, '_>, v: &mut Violations) -> Result<&'a str, ApiError> {
    let value = fields.str("ReturnValues")?.unwrap_or("NONE");
    if !matches!(
        value,
        "NONE" | "ALL_OLD" | "UPDATED_OLD" | "ALL_NEW" | "UPDATED_NEW"
    ) {
        v.push(
            &format!("'{value}'"),
            "returnValues",
            "Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]",
        );
    }
    Ok(value)
}

/// ReturnItemCollectionMetrics: NONE (default) or SIZE.
pub fn wants_collection_metrics(
    fields: &Fields<'_, '_>,
    v: &mut Violations,
) -> Result<bool, ApiError> {
    Ok(match fields.str("ReturnItemCollectionMetrics")? {
        None | Some("NONE") => false,
        Some("SIZE") => true,
        Some(other) => {
            v.push(
                &format!("'{other}'"),
                "returnItemCollectionMetrics",
                "Member must satisfy enum value set: [SIZE, NONE]",
            );
            false
        }
    })
}

/// Limit: at least 1 when given.
pub fn read_limit(fields: &Fields<'_, '_>) -> Result<Option<usize>, ApiError> {
    match fields.i64("Limit")? {
        None => Ok(None),
        Some(n) if n >= 1 => Ok(Some(n as usize)),
        Some(n) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ))),
    }
}

/// What a Query or Scan returns (`Select`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectKind {
    AllAttributes,
    AllProjected,
    Specific,
    Count,
}

/// Select, checked against the projection as DynamoDB checks it; returns
/// whether only a count is wanted.
pub fn read_select(fields: &Fields<'_, '_>, has_projection: bool) -> Result<bool, ApiError> {
    Ok(read_select_kind(fields, has_projection, false)? == SelectKind::Count)
}

/// Select with its default: ALL_PROJECTED_ATTRIBUTES on an index,
/// ALL_ATTRIBUTES on a table, SPECIFIC_ATTRIBUTES with a projection.
pub fn read_select_kind(
    fields: &Fields<'_, '_>,
    has_projection: bool,
    has_index: bool,
) -> Result<SelectKind, ApiError> {
    let select = fields.str("Select")?;
    match select {
        Some(s @ ("ALL_ATTRIBUTES" | "ALL_PROJECTED_ATTRIBUTES" | "COUNT")) if has_projection => {
            let member = if fields.get("AttributesToGet").is_some() {
                "AttributesToGet"
            } else {
                "ProjectionExpression"
            };
            Err(ApiError::validation(format!(
                "Cannot specify the {member} when choosing to get {s}"
            )))
        }
        Some("SPECIFIC_ATTRIBUTES") if !has_projection => Err(ApiError::validation(
            "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
        )),
        None if has_projection => Ok(SelectKind::Specific),
        None if has_index => Ok(SelectKind::AllProjected),
        None | Some("ALL_ATTRIBUTES") => Ok(SelectKind::AllAttributes),
        Some("SPECIFIC_ATTRIBUTES") => Ok(SelectKind::Specific),
        Some("ALL_PROJECTED_ATTRIBUTES") if has_index => Ok(SelectKind::AllProjected),
        Some("ALL_PROJECTED_ATTRIBUTES") => Err(ApiError::validation(
            "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
        )),
        Some("COUNT") => Ok(SelectKind::Count),
        Some(other) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
        ))),
    }
}

/// DynamoDB's bound on one capacity-unit member (checked before the table
/// is looked up).
pub const CAPACITY_UNITS_MAX: i64 = 1_000_000_000_000;

/// "Given value N for ReadCapacityUnits is out of bounds" (`suffix`, e.g.
/// " for index i", appended) for capacity units past DynamoDB's bound.
pub fn check_capacity_bounds(throughput: Option<(i64, i64)>, suffix: &str) -> Result<(), ApiError> {
    let Some((rcu, wcu)) = throughput else {
        return Ok(());
    };
    for (units, member) in [(rcu, "ReadCapacityUnits"), (wcu, "WriteCapacityUnits")] {
        if units > CAPACITY_UNITS_MAX {
            return Err(ApiError::validation(format!(
                "Given value {units} for {member} is out of bounds{suffix}"
            )));
        }
    }
    Ok(())
}

/// BillingMode and (read, write) capacity units, each if given.
pub type Billing = (Option<BillingMode>, Option<(i64, i64)>);

/// Reads BillingMode and ProvisionedThroughput as CreateTable and UpdateTable
/// share them: `(mode given, throughput given)`.
pub fn billing(fields: &Fields<'_, '_>, v: &mut Violations) -> Result<Billing, ApiError> {
    let mode = match fields.str("BillingMode")? {
        None => None,
        Some("PROVISIONED") => Some(BillingMode::Provisioned),
        Some("PAY_PER_REQUEST") => Some(BillingMode::PayPerRequest),
        Some(other) => {
            v.push(
                &format!("'{other}'"),
                "billingMode",
                "Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]",
            );
            None
        }
    };
    let throughput = match fields.object("ProvisionedThroughput")? {
        None => None,
        Some(t) => {
            let rcu = t.i64("ReadCapacityUnits")?;
            let wcu = t.i64("WriteCapacityUnits")?;
            for (value, path) in [
                (rcu, "provisionedThroughput.readCapacityUnits"),
                (wcu, "provisionedThroughput.writeCapacityUnits"),
            ] {
                match value {
                    None => v.null(path),
                    Some(n) if n < 1 => v.push(
                        &format!("'{n}'"),
                        path,
                        "Member must have value greater than or equal to 1",
                    ),
                    Some(_) => {}
                }
            }
            match (rcu, wcu) {
                (Some(r), Some(w)) => Some((r, w)),
                _ => Some((0, 0)),
            }
        }
    };
    Ok((mode, throughput))
}
