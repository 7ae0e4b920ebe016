//! Condition evaluation against one item, and the value semantics every
//! expression kind shares: path lookup, equality, ordering, `size`.
//!
//! DynamoDB semantics: comparing values of different types is false, not an
//! error; `<`/`<=`/`>`/`>=`/BETWEEN order S bytewise by UTF-8, N numerically
//! and B bytewise and are false for every other type; `=` is deep equality
//! where sets compare as sets; `<>` is exactly its negation (true when a side is
//! missing, as DynamoDB Local confirms); every other comparison with a missing
//! side is false. Evaluation allocates nothing except
//! for `size()` results.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::ast::{CmpOp, Condition, Node, NodeId, Operand, Path, PathElem};
use crate::model::{Item, Number, Value};

/// The value at `path` in `item`, if every step exists with the right type.
pub fn resolve_path<'v>(item: &'v Item, path: &Path) -> Option<&'v Value> {
    let mut elems = path.0.iter();
    let mut current = match elems.next()? {
        PathElem::Attr(name) => item.get(name.as_str())?,
        PathElem::Index(_) => return None,
    };
    for elem in elems {
        current = match (elem, current) {
            (PathElem::Attr(name), Value::M(map)) => map.get(name.as_str())?,
            (PathElem::Index(i), Value::L(list)) => list.get(*i as usize)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Deep equality with set semantics for SS/NS/BS.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    fn same_set<T: PartialEq>(x: &[T], y: &[T]) -> bool {
        // Sets hold no duplicates, so equal length + inclusion is equality.
        x.len() == y.len() && x.iter().all(|e| y.contains(e))
    }
    match (a, b) {
        (Value::Ss(x), Value::Ss(y)) => same_set(x, y),
        (Value::Ns(x), Value::Ns(y)) => same_set(x, y),
        (Value::Bs(x), Value::Bs(y)) => same_set(x, y),
        (Value::L(x), Value::L(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (Value::M(x), Value::M(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kp, vp), (kq, vq))| kp == kq && values_equal(vp, vq))
        }
        _ => a == b,
    }
}

/// Ordering of two values if DynamoDB can order them (same scalar type
/// S, N or B); None otherwise.
pub fn compare_values(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::S(x), Value::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::N(x), Value::N(y)) => Some(x.cmp(y)),
        (Value::B(x), Value::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// `size()` of a value: string length in UTF-8 bytes, binary length,
/// element count of sets, lists and maps; None for N, BOOL and NULL.
pub fn size_of(value: &Value) -> Option<usize> {
    Some(match value {
        Value::S(s) => s.len(),
        Value::B(b) => b.len(),
        Value::Ss(s) => s.len(),
        Value::Ns(s) => s.len(),
        Value::Bs(s) => s.len(),
        Value::L(l) => l.len(),
        Value::M(m) => m.len(),
        Value::N(_) | Value::Bool(_) | Value::Null => return None,
    })
}

fn operand<'v>(cond: &'v Condition, item: &'v Item, op: &Operand) -> Option<Cow<'v, Value>> {
    match op {
        Operand::Path(path) => resolve_path(item, path).map(Cow::Borrowed),
        Operand::Value(id) => Some(Cow::Borrowed(cond.constant(*id))),
        Operand::Size(path) => {
            let size = size_of(resolve_path(item, path)?)?;
            Some(Cow::Owned(Value::N(Number::from_u64(size as u64))))
        }
    }
}

fn compare(op: CmpOp, a: Option<&Value>, b: Option<&Value>) -> bool {
    match op {
        CmpOp::Eq => matches!((a, b), (Some(x), Some(y)) if values_equal(x, y)),
        // `<>` is exactly NOT `=`: true when a side is missing.
        CmpOp::Ne => !matches!((a, b), (Some(x), Some(y)) if values_equal(x, y)),
        _ => {
            let (Some(x), Some(y)) = (a, b) else {
                return false;
            };
            let Some(ord) = compare_values(x, y) else {
                return false;
            };
            match op {
                CmpOp::Lt => ord == Ordering::Less,
                CmpOp::Le => ord != Ordering::Greater,
                CmpOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }
        }
    }
}

fn begins_with(a: &Value, prefix: &Value) -> bool {
    match (a, prefix) {
        (Value::S(s), Value::S(p)) => s.as_bytes().starts_with(p.as_bytes()),
        (Value::B(s), Value::B(p)) => s.starts_with(p),
        _ => false,
    }
}

fn contains(a: &Value, needle: &Value) -> bool {
    match (a, needle) {
        (Value::S(s), Value::S(n)) => s.contains(n.as_str()),
        (Value::B(s), Value::B(n)) => n.is_empty() || s.windows(n.len()).any(|w| w == n),
        (Value::Ss(set), Value::S(n)) => set.contains(n),
        (Value::Ns(set), Value::N(n)) => set.contains(n),
        (Value::Bs(set), Value::B(n)) => set.contains(n),
        (Value::L(list), n) => list.iter().any(|e| values_equal(e, n)),
        _ => false,
    }
}

/// Evaluates a parsed condition against an item (an absent item is an
/// empty map: every path is missing).
pub fn evaluate(cond: &Condition, item: &Item) -> bool {
    eval_node(cond, item, cond.root)
}

fn eval_node(cond: &Condition, item: &Item, id: NodeId) -> bool {
    match cond.node(id) {
        Node::And(a, b) => eval_node(cond, item, *a) && eval_node(cond, item, *b),
        Node::Or(a, b) => eval_node(cond, item, *a) || eval_node(cond, item, *b),
        Node::Not(a) => !eval_node(cond, item, *a),
        Node::Cmp(op, a, b) => {
            let x = operand(cond, item, a);
            let y = operand(cond, item, b);
            compare(*op, x.as_deref(), y.as_deref())
        }
        Node::Between(a, low, high) => {
            let (Some(x), Some(l), Some(h)) = (
                operand(cond, item, a),
                operand(cond, item, low),
                operand(cond, item, high),
            ) else {
                return false;
            };
            compare_values(&x, &l).is_some_and(|o| o != Ordering::Less)
                && compare_values(&x, &h).is_some_and(|o| o != Ordering::Greater)
        }
        Node::In(a, list) => {
            let Some(x) = operand(cond, item, a) else {
                return false;
            };
            list.iter()
                .any(|o| operand(cond, item, o).is_some_and(|v| values_equal(&x, &v)))
        }
        Node::Exists(path) => resolve_path(item, path).is_some(),
        Node::NotExists(path) => resolve_path(item, path).is_none(),
        Node::Type(a, t) => {
            let (Some(v), Some(t)) = (operand(cond, item, a), operand(cond, item, t)) else {
                return false;
            };
            matches!(&*t, Value::S(name) if name == v.type_name())
        }
        Node::BeginsWith(a, p) => match (operand(cond, item, a), operand(cond, item, p)) {
            (Some(x), Some(y)) => begins_with(&x, &y),
            _ => false,
        },
        Node::Contains(a, n) => match (operand(cond, item, a), operand(cond, item, n)) {
            (Some(x), Some(y)) => contains(&x, &y),
            _ => false,
        },
    }
}
