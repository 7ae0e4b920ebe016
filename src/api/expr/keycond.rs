//! KeyConditionExpression: the condition grammar restricted to what a Query
//! can serve from the key order — `AND` of at most two terms, each
//! `key = :v`, `key < :v` (and `<=`, `>`, `>=`), `key BETWEEN :a AND :b` or
//! `begins_with(key, :v)`. Matching the terms to the table's key schema is the
//! Query operation's job; this module only extracts them.

use super::ast::{CmpOp, Condition, Node, NodeId, Operand, Path};
use super::{ExprError, ExprKind};
use crate::model::Value;

/// One restriction on a key attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyOp {
    Cmp(CmpOp, Value),
    Between(Value, Value),
    BeginsWith(Value),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyTerm {
    pub attribute: String,
    pub op: KeyOp,
}

fn invalid(detail: impl std::fmt::Display) -> ExprError {
    ExprError::invalid(ExprKind::KeyCondition, detail)
}

/// (DynamoDB does not prefix this one with "Invalid KeyConditionExpression".)
fn operator_error(op: &str) -> ExprError {
    ExprError::new(format!(
        "Invalid operator used in KeyConditionExpression: {op}"
    ))
}

/// The terms of a parsed KeyConditionExpression, in source order.
pub fn key_condition_terms(cond: &Condition) -> Result<Vec<KeyTerm>, ExprError> {
    let mut leaves = Vec::new();
    collect(cond, cond.root, &mut leaves)?;
    leaves
        .into_iter()
        .map(|id| term(cond, cond.node(id)))
        .collect()
}

fn collect(cond: &Condition, id: NodeId, out: &mut Vec<NodeId>) -> Result<(), ExprError> {
    match cond.node(id) {
        Node::And(a, b) => {
            collect(cond, *a, out)?;
            collect(cond, *b, out)
        }
        Node::Or(..) => Err(operator_error("OR")),
        Node::Not(_) => Err(operator_error("NOT")),
        Node::In(..) => Err(operator_error("IN")),
        Node::Cmp(CmpOp::Ne, ..) => Err(operator_error("<>")),
        Node::Exists(_) => Err(operator_error("attribute_exists")),
        Node::NotExists(_) => Err(operator_error("attribute_not_exists")),
        Node::Type(..) => Err(operator_error("attribute_type")),
        Node::Contains(..) => Err(operator_error("contains")),
        Node::Cmp(..) | Node::Between(..) | Node::BeginsWith(..) => {
            out.push(id);
            Ok(())
        }
    }
}

fn key_path(path: &Path) -> Result<String, ExprError> {
    if !path.is_top_level() {
        return Err(invalid(format!(
            "KeyConditionExpressions cannot have conditions on nested attributes; path: {path}"
        )));
    }
    Ok(path.head().to_string())
}

fn literal(cond: &Condition, op: &Operand) -> Option<Value> {
    match op {
        Operand::Value(id) => Some(cond.constant(*id).clone()),
        _ => None,
    }
}

fn term(cond: &Condition, node: &Node) -> Result<KeyTerm, ExprError> {
    let not_supported = || ExprError::new("Query key condition not supported");
    match node {
        Node::Cmp(op, a, b) => {
            // `:v = key` is accepted with the operator mirrored.
            let (path, value, op) = match (a, b) {
                (Operand::Path(p), v) => (p, literal(cond, v), *op),
                (v, Operand::Path(p)) => (p, literal(cond, v), mirror(*op)),
                _ => return Err(not_supported()),
            };
            let value = value.ok_or_else(not_supported)?;
            Ok(KeyTerm {
                attribute: key_path(path)?,
                op: KeyOp::Cmp(op, value),
            })
        }
        Node::Between(Operand::Path(p), low, high) => {
            let (Some(low), Some(high)) = (literal(cond, low), literal(cond, high)) else {
                return Err(not_supported());
            };
            Ok(KeyTerm {
                attribute: key_path(p)?,
                op: KeyOp::Between(low, high),
            })
        }
        Node::BeginsWith(Operand::Path(p), prefix) => {
            let prefix = literal(cond, prefix).ok_or_else(not_supported)?;
            Ok(KeyTerm {
                attribute: key_path(p)?,
                op: KeyOp::BeginsWith(prefix),
            })
        }
        _ => Err(not_supported()),
    }
}

fn mirror(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}
