//! Expression parameters of a request: reading ExpressionAttributeNames /
//! ExpressionAttributeValues, parsing the request's expressions once, and
//! DynamoDB's rules about which parameters may appear together.
//!
//! Operations call [`ExprInput::read`] first, parse each expression they
//! take through [`ExprInput::placeholders`], then call `finish` on the
//! placeholders so unused names/values are reported after all expressions
//! (DynamoDB checks usage across the whole request). Also here: the
//! attributes a filter reads, for the rules that forbid key attributes in
//! a filter.

use std::collections::BTreeMap;

use crate::api::expr::{
    self, Condition, ExprError, ExprKind, Path, PathElem, Placeholders, Projection,
};
use crate::api::protocol::error::ApiError;
use crate::api::protocol::request::{Fields, element_str};
use crate::catalog::{KeyAttr, TableDef};
use crate::model::Value;

impl From<ExprError> for ApiError {
    fn from(e: ExprError) -> Self {
        ApiError::validation(e.message)
    }
}

/// The placeholder maps of one request, owned.
#[derive(Default)]
pub struct ExprInput {
    pub names: Option<BTreeMap<String, String>>,
    pub values: Option<BTreeMap<String, Value>>,
}

impl ExprInput {
    pub fn read(fields: &Fields<'_, '_>) -> Result<ExprInput, ApiError> {
        let names = match fields.object("ExpressionAttributeNames")? {
            None => None,
            Some(obj) => {
                let mut map = BTreeMap::new();
                for (k, v) in obj.iter() {
                    map.insert(k.to_string(), element_str(v)?.to_string());
                }
                Some(map)
            }
        };
        let values = match fields.get("ExpressionAttributeValues") {
            None => None,
            Some(json) => Some(expr::values_from_json(json)?),
        };
        Ok(ExprInput { names, values })
    }

    /// For operations whose only expression is a ProjectionExpression
    /// (GetItem, BatchGetItem): they have no ExpressionAttributeValues
    /// member, so a stray one is ignored like any unknown member.
    pub fn read_names_only(fields: &Fields<'_, '_>) -> Result<ExprInput, ApiError> {
        let mut input = ExprInput::read(fields)?;
        input.values = None;
        Ok(input)
    }

    pub fn placeholders(&self) -> Result<Placeholders<'_>, ApiError> {
        Ok(Placeholders::new(
            self.names.as_ref(),
            self.values.as_ref(),
        )?)
    }

    /// DynamoDB rejects placeholder maps in a request without expressions.
    /// `values_detail` names the expressions that were null, as DynamoDB's
    /// message does (e.g. "ConditionExpression is null").
    pub fn require_expressions(&self, any: bool, values_detail: &str) -> Result<(), ApiError> {
        if any {
            return Ok(());
        }
        if self.names.is_some() {
            return Err(ApiError::validation(
                "ExpressionAttributeNames can only be specified when using expressions",
            ));
        }
        if self.values.is_some() {
            return Err(ApiError::validation(format!(
                "ExpressionAttributeValues can only be specified when using expressions: {values_detail}"
            )));
        }
        Ok(())
    }
}

/// DynamoDB's error for mixing legacy and expression parameters; `legacy`
/// and `modern` list the member names in DynamoDB's listing order. The one
/// exception DynamoDB makes: KeyConditions conflicts only with
/// KeyConditionExpression, so it goes with a FilterExpression or a
/// ProjectionExpression.
pub fn check_not_mixed(
    fields: &Fields<'_, '_>,
    legacy: &[&str],
    modern: &[&str],
) -> Result<(), ApiError> {
    let key_expression = fields.get("KeyConditionExpression").is_some();
    let present = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .filter(|n| fields.get(n).is_some())
            .filter(|n| **n != "KeyConditions" || key_expression)
            .map(|n| n.to_string())
            .collect()
    };
    let (old, new) = (present(legacy), present(modern));
    if !old.is_empty() && !new.is_empty() {
        return Err(ApiError::validation(format!(
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
            old.join(", "),
            new.join(", ")
        )));
    }
    Ok(())
}

/// Parses the condition-like expression member `member`, if present.
pub fn condition(
    fields: &Fields<'_, '_>,
    member: &str,
    kind: ExprKind,
    ph: &mut Placeholders<'_>,
) -> Result<Option<Condition>, ApiError> {
    match fields.str(member)? {
        None => Ok(None),
        Some(text) => Ok(Some(expr::parse_condition(text, kind, ph)?)),
    }
}

/// The projection of a read: ProjectionExpression, or legacy
/// AttributesToGet (top-level names), never both.
pub fn projection(
    fields: &Fields<'_, '_>,
    ph: &mut Placeholders<'_>,
) -> Result<Option<Projection>, ApiError> {
    let attrs = fields.list("AttributesToGet")?;
    let text = fields.str("ProjectionExpression")?;
    if attrs.is_some() && text.is_some() {
        return Err(ApiError::validation(
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}",
        ));
    }
    if let Some(text) = text {
        return Ok(Some(expr::parse_projection(text, ph)?));
    }
    let Some(attrs) = attrs else {
        return Ok(None);
    };
    if attrs.is_empty() {
        return Err(ApiError::validation(
            "1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    let mut paths: Vec<Path> = Vec::with_capacity(attrs.len());
    for a in attrs {
        let name = element_str(a)?;
        let path = Path(vec![PathElem::Attr(name.to_string())]);
        if paths.contains(&path) {
            return Err(ApiError::validation(format!(
                "One or more parameter values were invalid: Duplicate value in attribute name: {name}"
            )));
        }
        paths.push(path);
    }
    Ok(Some(Projection::from_paths(paths)))
}

/// ReturnValuesOnConditionCheckFailure: true for ALL_OLD.
pub fn return_old_on_failure(fields: &Fields<'_, '_>) -> Result<bool, ApiError> {
    match fields.str("ReturnValuesOnConditionCheckFailure")? {
        None | Some("NONE") => Ok(false),
        Some("ALL_OLD") => Ok(true),
        Some(other) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other}' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]"
        ))),
    }
}

/// Filter and key-condition expressions may not name key attributes in a
/// filter: DynamoDB's rule for Query.
pub fn reject_key_attributes_in_filter(
    filter: &Condition,
    table: &TableDef,
    label: &str,
) -> Result<(), ApiError> {
    let keys = std::iter::once(&table.partition_key).chain(table.sort_key.as_ref());
    reject_attributes_in_filter(filter, keys, label)
}

/// The same rule for a Query on an index: the index's own key attributes.
pub fn reject_attributes_in_filter<'a>(
    filter: &Condition,
    keys: impl Iterator<Item = &'a KeyAttr>,
    label: &str,
) -> Result<(), ApiError> {
    for attr in keys {
        if filter_mentions(filter, &attr.name) {
            return Err(ApiError::validation(format!(
                "{label} can only contain non-primary key attributes: Primary key attribute: {}",
                attr.name
            )));
        }
    }
    Ok(())
}

/// Whether the filter reads the top-level attribute `name`.
pub fn filter_mentions(cond: &Condition, name: &str) -> bool {
    filter_names(cond).contains(&name)
}

/// The top-level attribute names a filter reads, deduplicated, in first-use
/// order.
pub fn filter_names(cond: &Condition) -> Vec<&str> {
    use crate::api::expr::{Node, Operand};
    fn add<'c>(names: &mut Vec<&'c str>, name: &'c str) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let mut names: Vec<&str> = Vec::new();
    for node in &cond.nodes {
        let mut operands: Vec<&Operand> = Vec::new();
        match node {
            Node::Cmp(_, a, b) | Node::BeginsWith(a, b) | Node::Contains(a, b) => {
                operands.extend([a, b])
            }
            Node::Between(a, b, c) => operands.extend([a, b, c]),
            Node::In(a, list) => {
                operands.push(a);
                operands.extend(list.iter());
            }
            Node::Exists(p) | Node::NotExists(p) => add(&mut names, p.head()),
            Node::Type(a, t) => operands.extend([a, t]),
            Node::And(..) | Node::Or(..) | Node::Not(_) => {}
        }
        for operand in operands {
            if let Operand::Path(p) | Operand::Size(p) = operand {
                add(&mut names, p.head());
            }
        }
    }
    names
}
