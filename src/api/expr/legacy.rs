//! DynamoDB's legacy (pre-expression) conditional parameters, translated into
//! the expression engine's parsed forms so one evaluator serves both:
//! Expected / QueryFilter / ScanFilter (+ ConditionalOperator) become a
//! [`Condition`], KeyConditions become [`KeyTerm`]s, AttributeUpdates becomes
//! an [`Update`]. Mixing them with expression parameters is rejected earlier
//! (`params::check_not_mixed`).

use crate::api::expr::ast::{SetValue, UpdateOperand};
use crate::api::expr::{
    CmpOp, Condition, KeyOp, KeyTerm, Node, Operand, Path, PathElem, Update, UpdateAction,
};
use crate::api::protocol::error::ApiError;
use crate::api::protocol::request::Fields;
use crate::model::Value;

fn invalid(detail: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_parameter(detail)
}

fn attr_path(name: &str) -> Path {
    Path(vec![PathElem::Attr(name.to_string())])
}

/// Builds a condition tree node by node.
#[derive(Default)]
struct Builder {
    nodes: Vec<Node>,
    consts: Vec<Value>,
}

impl Builder {
    fn push(&mut self, node: Node) -> u32 {
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    fn value(&mut self, v: Value) -> Operand {
        self.consts.push(v);
        Operand::Value((self.consts.len() - 1) as u32)
    }

    fn finish(self, root: u32) -> Condition {
        Condition {
            nodes: self.nodes,
            root,
            consts: self.consts,
        }
    }
}

fn values_of(spec: &Fields<'_, '_>) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    if let Some(list) = spec.list("AttributeValueList")? {
        for v in list {
            out.push(Value::from_json(v)?);
        }
    }
    Ok(out)
}

/// DynamoDB's checks of a legacy condition's values before any item is
/// read, in its order: their number for the operator, one type for all of
/// them, a type the operator takes, and a BETWEEN range in order.
fn check_values(op: &str, values: &[Value]) -> Result<(), ApiError> {
    let count_ok = match op {
        "NULL" | "NOT_NULL" => values.is_empty(),
        "IN" => !values.is_empty(),
        "BETWEEN" => values.len() == 2,
        _ => values.len() == 1,
    };
    if !count_ok {
        return Err(invalid(format!(
            "Invalid number of argument(s) for the {op} ComparisonOperator"
        )));
    }
    if let Some(first) = values.first()
        && values.iter().any(|v| v.type_name() != first.type_name())
    {
        return Err(invalid(
            "AttributeValues inside AttributeValueList must be of same type",
        ));
    }
    let allowed: &[&str] = match op {
        "LE" | "LT" | "GE" | "GT" | "IN" | "BETWEEN" => &["S", "N", "B"],
        "CONTAINS" | "NOT_CONTAINS" => &["S", "N", "B", "BOOL", "NULL"],
        "BEGINS_WITH" => &["S", "B"],
        _ => &[],
    };
    if !allowed.is_empty()
        && let Some(v) = values.iter().find(|v| !allowed.contains(&v.type_name()))
    {
        return Err(invalid(format!(
            "ComparisonOperator {op} is not valid for {} AttributeValue type",
            v.type_name()
        )));
    }
    if let ("BETWEEN", [low, high]) = (op, values)
        && crate::api::expr::compare_values(low, high) == Some(std::cmp::Ordering::Greater)
    {
        return Err(ApiError::validation(
            "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
        ));
    }
    Ok(())
}

/// One `{ComparisonOperator, AttributeValueList}` condition on `name`.
fn comparison(
    b: &mut Builder,
    name: &str,
    op: &str,
    mut values: Vec<Value>,
) -> Result<u32, ApiError> {
    let arity_error = || {
        invalid(format!(
            "Invalid number of argument(s) for the {op} ComparisonOperator"
        ))
    };
    let path = || Operand::Path(attr_path(name));
    let want = |n: usize, values: &Vec<Value>| {
        if values.len() == n {
            Ok(())
        } else {
            Err(arity_error())
        }
    };
    let node = match op {
        "EQ" | "NE" | "LE" | "LT" | "GE" | "GT" => {
            want(1, &values)?;
            let cmp = match op {
                "EQ" => CmpOp::Eq,
                "NE" => CmpOp::Ne,
                "LE" => CmpOp::Le,
                "LT" => CmpOp::Lt,
                "GE" => CmpOp::Ge,
                _ => CmpOp::Gt,
            };
            let v = b.value(values.remove(0));
            Node::Cmp(cmp, path(), v)
        }
        "NOT_NULL" => {
            want(0, &values)?;
            Node::Exists(attr_path(name))
        }
        "NULL" => {
            want(0, &values)?;
            Node::NotExists(attr_path(name))
        }
        "CONTAINS" | "NOT_CONTAINS" | "BEGINS_WITH" => {
            want(1, &values)?;
            let v = b.value(values.remove(0));
            match op {
                "CONTAINS" => Node::Contains(path(), v),
                "BEGINS_WITH" => Node::BeginsWith(path(), v),
                _ => {
                    // NOT_CONTAINS holds only for an existing attribute.
                    let contains = b.push(Node::Contains(path(), v));
                    let not = b.push(Node::Not(contains));
                    let exists = b.push(Node::Exists(attr_path(name)));
                    Node::And(exists, not)
                }
            }
        }
        "IN" => {
            if values.is_empty() {
                return Err(arity_error());
            }
            let list = values.into_iter().map(|v| b.value(v)).collect();
            Node::In(path(), list)
        }
        "BETWEEN" => {
            want(2, &values)?;
            let high = values.pop().unwrap_or(Value::Null);
            let low = values.pop().unwrap_or(Value::Null);
            if low.type_name() != high.type_name()
                || crate::api::expr::compare_values(&low, &high)
                    == Some(std::cmp::Ordering::Greater)
            {
                return Err(ApiError::validation(
                    "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
                ));
            }
            let (l, h) = (b.value(low), b.value(high));
            Node::Between(path(), l, h)
        }
        other => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"
            )));
        }
    };
    Ok(b.push(node))
}

fn combine(
    b: &mut Builder,
    parts: Vec<u32>,
    fields: &Fields<'_, '_>,
) -> Result<Option<u32>, ApiError> {
    let or = match fields.str("ConditionalOperator")? {
        None | Some("AND") => false,
        Some("OR") => true,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [OR, AND]"
            )));
        }
    };
    let mut iter = parts.into_iter();
    let Some(mut root) = iter.next() else {
        return Ok(None);
    };
    for next in iter {
        root = b.push(if or {
            Node::Or(root, next)
        } else {
            Node::And(root, next)
        });
    }
    Ok(Some(root))
}

/// `Expected` (PutItem/UpdateItem/DeleteItem), combined by ConditionalOperator.
pub fn expected(fields: &Fields<'_, '_>) -> Result<Option<Condition>, ApiError> {
    let Some(expected) = fields.object("Expected")? else {
        if fields.get("ConditionalOperator").is_some() {
            return Err(ApiError::validation(
                "ConditionalOperator cannot be used without Filter or Expected",
            ));
        }
        return Ok(None);
    };
    let mut b = Builder::default();
    let mut parts = Vec::new();
    for (name, spec) in expected.iter() {
        let spec = Fields::of(spec)?;
        let value = spec.get("Value").map(Value::from_json).transpose()?;
        let exists = spec.bool("Exists")?;
        let has_list = spec.get("AttributeValueList").is_some();
        if has_list && value.is_some() {
            return Err(invalid(format!(
                "Value and AttributeValueList cannot be used together for Attribute: {name}"
            )));
        }
        if let Some(op) = spec.str("ComparisonOperator")? {
            if exists.is_some() {
                return Err(invalid(format!(
                    "Exists and ComparisonOperator cannot be used together for Attribute: {name}"
                )));
            }
            if !matches!(op, "NULL" | "NOT_NULL") && !has_list && value.is_none() {
                return Err(invalid(format!(
                    "Value or AttributeValueList must be used with ComparisonOperator: {op} for Attribute: {name}"
                )));
            }
            // {Value, ComparisonOperator} is a one-value AttributeValueList.
            let values = match value {
                Some(v) => vec![v],
                None => values_of(&spec)?,
            };
            check_values(op, &values)?;
            parts.push(comparison(&mut b, name, op, values)?);
            continue;
        }
        if has_list {
            return Err(invalid(format!(
                "AttributeValueList can only be used with a ComparisonOperator for Attribute: {name}"
            )));
        }
        let node = match (value, exists) {
            (Some(v), None | Some(true)) => {
                let v = b.value(v);
                Node::Cmp(CmpOp::Eq, Operand::Path(attr_path(name)), v)
            }
            (None, Some(false)) => Node::NotExists(attr_path(name)),
            (Some(_), Some(false)) => {
                return Err(invalid(format!(
                    "Value cannot be used when Exists is false for Attribute: {name}"
                )));
            }
            (None, Some(true)) => {
                return Err(invalid(format!(
                    "Value must be provided when Exists is true for Attribute: {name}"
                )));
            }
            (None, None) => {
                return Err(invalid(format!(
                    "Value must be provided when Exists is null for Attribute: {name}"
                )));
            }
        };
        parts.push(b.push(node));
    }
    Ok(combine(&mut b, parts, fields)?.map(|root| b.finish(root)))
}

/// `QueryFilter` / `ScanFilter` (`member`), combined by ConditionalOperator.
pub fn filter(fields: &Fields<'_, '_>, member: &str) -> Result<Option<Condition>, ApiError> {
    let Some(filter) = fields.object(member)? else {
        if fields.get("ConditionalOperator").is_some() {
            return Err(ApiError::validation(
                "ConditionalOperator cannot be used without Filter or Expected",
            ));
        }
        return Ok(None);
    };
    let mut b = Builder::default();
    let mut parts = Vec::new();
    for (name, spec) in filter.iter() {
        let spec = Fields::of(spec)?;
        let op = spec.str("ComparisonOperator")?.unwrap_or("");
        let values = values_of(&spec)?;
        check_values(op, &values)?;
        parts.push(comparison(&mut b, name, op, values)?);
    }
    Ok(combine(&mut b, parts, fields)?.map(|root| b.finish(root)))
}

/// `KeyConditions` (Query), at most `max_terms` of them.
pub fn key_conditions(
    fields: &Fields<'_, '_>,
    max_terms: usize,
) -> Result<Option<Vec<KeyTerm>>, ApiError> {
    let Some(conds) = fields.object("KeyConditions")? else {
        return Ok(None);
    };
    let mut terms = Vec::new();
    for (name, spec) in conds.iter() {
        let spec = Fields::of(spec)?;
        let op = spec.str("ComparisonOperator")?.unwrap_or("");
        let mut values = values_of(&spec)?;
        check_values(op, &values)?;
        let arity = || {
            invalid(format!(
                "Invalid number of argument(s) for the {op} ComparisonOperator"
            ))
        };
        let key_op = match op {
            "EQ" | "LE" | "LT" | "GE" | "GT" | "BEGINS_WITH" => {
                if values.len() != 1 {
                    return Err(arity());
                }
                let v = values.remove(0);
                match op {
                    "EQ" => KeyOp::Cmp(CmpOp::Eq, v),
                    "LE" => KeyOp::Cmp(CmpOp::Le, v),
                    "LT" => KeyOp::Cmp(CmpOp::Lt, v),
                    "GE" => KeyOp::Cmp(CmpOp::Ge, v),
                    "GT" => KeyOp::Cmp(CmpOp::Gt, v),
                    _ => KeyOp::BeginsWith(v),
                }
            }
            "BETWEEN" => {
                if values.len() != 2 {
                    return Err(arity());
                }
                let high = values.pop().unwrap_or(Value::Null);
                let low = values.pop().unwrap_or(Value::Null);
                KeyOp::Between(low, high)
            }
            _ => {
                return Err(ApiError::validation(
                    "Attempted conditional constraint is not an indexable operation",
                ));
            }
        };
        terms.push(KeyTerm {
            attribute: name.to_string(),
            op: key_op,
        });
    }
    if terms.len() > max_terms {
        return Err(ApiError::validation(
            "Conditions can be of length 1 or 2 only",
        ));
    }
    Ok(Some(terms))
}

/// `AttributeUpdates` (UpdateItem).
pub fn attribute_updates(fields: &Fields<'_, '_>) -> Result<Option<Update>, ApiError> {
    let Some(updates) = fields.object("AttributeUpdates")? else {
        return Ok(None);
    };
    let mut actions = Vec::new();
    let mut consts = Vec::new();
    for (name, spec) in updates.iter() {
        let spec = Fields::of(spec)?;
        let value = spec.get("Value").map(Value::from_json).transpose()?;
        let action = spec.str("Action")?.unwrap_or("PUT");
        let path = attr_path(name);
        let mut constant = |v: Value| {
            consts.push(v);
            (consts.len() - 1) as u32
        };
        actions.push(match (action, value) {
            ("PUT", Some(v)) => {
                UpdateAction::Set(path, SetValue::Operand(UpdateOperand::Value(constant(v))))
            }
            ("DELETE", None) => UpdateAction::Remove(path),
            ("DELETE", Some(v @ (Value::Ss(_) | Value::Ns(_) | Value::Bs(_)))) => {
                UpdateAction::Delete(path, constant(v))
            }
            ("DELETE", Some(v)) => {
                return Err(invalid(format!(
                    "DELETE action with value is not supported for the type {}",
                    v.type_name()
                )));
            }
            // A list is appended to (only legacy ADD takes one).
            (
                "ADD",
                Some(v @ (Value::N(_) | Value::Ss(_) | Value::Ns(_) | Value::Bs(_) | Value::L(_))),
            ) => UpdateAction::Add(path, constant(v)),
            ("ADD", Some(v)) => {
                return Err(invalid(format!(
                    "ADD action is not supported for the type {}",
                    v.type_name()
                )));
            }
            ("PUT" | "ADD", None) => {
                return Err(invalid(
                    "Only DELETE action is allowed when no attribute value is specified",
                ));
            }
            (other, _) => {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'attributeUpdates.{name}.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"
                )));
            }
        });
    }
    Ok(Some(Update { actions, consts }))
}
