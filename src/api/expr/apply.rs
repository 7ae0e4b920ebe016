//! Applying a parsed UpdateExpression to an item.
//!
//! DynamoDB evaluates every SET operand against the item as it was before
//! the update (so `SET a = b, b = a` swaps), then applies the actions: SETs in
//! order, REMOVEs from the highest list index down (indices name the original
//! positions), then ADD and DELETE. Arithmetic is exact (38 digits). Every
//! failure is a ValidationException and leaves the stored item untouched —
//! the caller only stores the returned item.

use super::ExprError;
use super::ast::{Path, PathElem, SetValue, Update, UpdateAction, UpdateOperand};
use super::eval::resolve_path;
use crate::model::number::NumberError;
use crate::model::value::{ITEM_BYTES_MAX, item_size};
use crate::model::{Item, Value};

const INVALID_PATH: &str =
    "The document path provided in the update expression is invalid for update";
const WRONG_TYPE: &str = "An operand in the update expression has an incorrect data type";
const MISSING: &str =
    "The provided expression refers to an attribute that does not exist in the item";

/// DynamoDB words a 39-digit result differently from a 39-digit input.
fn arithmetic_error(e: NumberError) -> ExprError {
    match e {
        NumberError::TooManyDigits => err("DynamoDB only supports precision up to 38 digits"),
        other => ExprError::new(other.to_string()),
    }
}

fn err(message: &str) -> ExprError {
    ExprError::new(message)
}

/// Applies `update` to `old` (the current item, or just the key when the item
/// does not exist) and returns the new item.
pub fn apply_update(update: &Update, old: &Item) -> Result<Item, ExprError> {
    // Validate and evaluate against the old item: first every target must be
    // updatable; then, action by action, ADD/DELETE must meet a value of a
    // compatible type and SET operands must resolve. When several actions
    // are wrong, DynamoDB Local's choice of error is not a simple order; this
    // one matches it on most randomized runs
    // (tests/differential/expr_vs_ddblocal.py).
    for action in &update.actions {
        target(old, action.path())?;
    }
    let mut set_values: Vec<Option<Value>> = vec![None; update.actions.len()];
    for (i, action) in update.actions.iter().enumerate() {
        let current = target(old, action.path())?;
        match (action, current) {
            (UpdateAction::Add(_, id), Some(current))
                if !add_compatible(current, update.constant(*id)) =>
            {
                return Err(err(WRONG_TYPE));
            }
            (UpdateAction::Delete(_, id), Some(current))
                if !delete_compatible(current, update.constant(*id)) =>
            {
                return Err(err(WRONG_TYPE));
            }
            (UpdateAction::Set(_, value), _) => {
                set_values[i] = Some(set_value(update, old, value)?);
            }
            _ => {}
        }
    }
    let mut item = old.clone();
    let mut removes: Vec<&Path> = Vec::new();
    // SETs past the end of a list append in index order, whatever order
    // the expression wrote them in (after the SETs in place).
    let mut appends: Vec<(&Path, Value)> = Vec::new();
    for (action, value) in update.actions.iter().zip(set_values) {
        match action {
            UpdateAction::Set(path, _) => {
                let value = value.ok_or_else(|| err("internal: SET value missing"))?;
                if past_end(old, path) {
                    appends.push((path, value));
                } else {
                    set_path(&mut item, path, value)?;
                }
            }
            UpdateAction::Remove(path) => removes.push(path),
            _ => {}
        }
    }
    // Sorting whole paths groups them by list, then orders by index.
    appends.sort_by(|a, b| a.0.cmp(b.0));
    for (path, value) in appends {
        set_path(&mut item, path, value)?;
    }
    // Highest index first, so earlier removals do not shift later ones.
    removes.sort_by(|a, b| b.cmp(a));
    for path in removes {
        remove_path(&mut item, path)?;
    }
    for action in &update.actions {
        match action {
            UpdateAction::Add(path, id) => add(&mut item, path, update.constant(*id))?,
            UpdateAction::Delete(path, id) => delete(&mut item, path, update.constant(*id))?,
            _ => {}
        }
    }
    if item_size(&item) > ITEM_BYTES_MAX {
        return Err(err(
            "Item size to update has exceeded the maximum allowed size",
        ));
    }
    Ok(item)
}

/// The current value at an update target, after checking that its parent
/// exists and has the container type the last step needs.
fn target<'v>(item: &'v Item, path: &Path) -> Result<Option<&'v Value>, ExprError> {
    let Some((last, init)) = path.0.split_last() else {
        return Err(err(INVALID_PATH));
    };
    if init.is_empty() {
        return match last {
            PathElem::Attr(name) => Ok(item.get(name.as_str())),
            PathElem::Index(_) => Err(err(INVALID_PATH)),
        };
    }
    let parent = resolve_path(item, &Path(init.to_vec())).ok_or_else(|| err(INVALID_PATH))?;
    match (last, parent) {
        (PathElem::Attr(name), Value::M(map)) => Ok(map.get(name.as_str())),
        (PathElem::Index(i), Value::L(list)) => Ok(list.get(*i as usize)),
        _ => Err(err(INVALID_PATH)),
    }
}

/// Whether `path` names a list index at or past the end of its list in
/// `item` (a SET there appends).
fn past_end(item: &Item, path: &Path) -> bool {
    let Some((PathElem::Index(i), init)) = path.0.split_last() else {
        return false;
    };
    matches!(
        resolve_path(item, &Path(init.to_vec())),
        Some(Value::L(list)) if *i as usize >= list.len()
    )
}

fn add_compatible(current: &Value, operand: &Value) -> bool {
    matches!(
        (current, operand),
        (Value::N(_), Value::N(_))
            | (Value::L(_), Value::L(_))
            | (Value::Ss(_), Value::Ss(_))
            | (Value::Ns(_), Value::Ns(_))
            | (Value::Bs(_), Value::Bs(_))
    )
}

fn delete_compatible(current: &Value, operand: &Value) -> bool {
    matches!(
        (current, operand),
        (Value::Ss(_), Value::Ss(_)) | (Value::Ns(_), Value::Ns(_)) | (Value::Bs(_), Value::Bs(_))
    )
}

fn operand_value(update: &Update, old: &Item, operand: &UpdateOperand) -> Result<Value, ExprError> {
    match operand {
        UpdateOperand::Path(path) => resolve_path(old, path).cloned().ok_or_else(|| err(MISSING)),
        UpdateOperand::Value(id) => Ok(update.constant(*id).clone()),
        UpdateOperand::IfNotExists(path, fallback) => match resolve_path(old, path) {
            Some(v) => Ok(v.clone()),
            None => operand_value(update, old, fallback),
        },
        UpdateOperand::ListAppend(a, b) => {
            match binary_operands(update, old, a, b, |v| matches!(v, Value::L(_)))? {
                (Value::L(mut x), Value::L(y)) => {
                    x.extend(y);
                    Ok(Value::L(x))
                }
                _ => Err(err(WRONG_TYPE)),
            }
        }
    }
}

/// Both operands of `+`, `-` or `list_append`; the left one's type is
/// checked before the right one is resolved.
fn binary_operands(
    update: &Update,
    old: &Item,
    a: &UpdateOperand,
    b: &UpdateOperand,
    type_ok: fn(&Value) -> bool,
) -> Result<(Value, Value), ExprError> {
    let x = operand_value(update, old, a)?;
    if !type_ok(&x) {
        return Err(err(WRONG_TYPE));
    }
    let y = operand_value(update, old, b)?;
    Ok((x, y))
}

fn set_value(update: &Update, old: &Item, value: &SetValue) -> Result<Value, ExprError> {
    let (a, b, plus) = match value {
        SetValue::Operand(op) => return operand_value(update, old, op),
        SetValue::Plus(a, b) => (a, b, true),
        SetValue::Minus(a, b) => (a, b, false),
    };
    let (Value::N(x), Value::N(y)) =
        binary_operands(update, old, a, b, |v| matches!(v, Value::N(_)))?
    else {
        return Err(err(WRONG_TYPE));
    };
    let result = if plus { x.add(&y) } else { x.sub(&y) };
    result.map(Value::N).map_err(arithmetic_error)
}

/// The container holding the last step of `path`.
enum Parent<'a> {
    Item(&'a mut Item),
    Value(&'a mut Value),
}

fn parent_of<'a>(
    item: &'a mut Item,
    path: &'a Path,
) -> Result<(Parent<'a>, &'a PathElem), ExprError> {
    let Some((last, init)) = path.0.split_last() else {
        return Err(err(INVALID_PATH));
    };
    let Some((first, rest)) = init.split_first() else {
        return Ok((Parent::Item(item), last));
    };
    let PathElem::Attr(name) = first else {
        return Err(err(INVALID_PATH));
    };
    let mut current = item
        .get_mut(name.as_str())
        .ok_or_else(|| err(INVALID_PATH))?;
    for elem in rest {
        current = match (elem, current) {
            (PathElem::Attr(name), Value::M(map)) => map.get_mut(name.as_str()),
            (PathElem::Index(i), Value::L(list)) => list.get_mut(*i as usize),
            _ => None,
        }
        .ok_or_else(|| err(INVALID_PATH))?;
    }
    Ok((Parent::Value(current), last))
}

fn set_path(item: &mut Item, path: &Path, value: Value) -> Result<(), ExprError> {
    match parent_of(item, path)? {
        (Parent::Item(item), PathElem::Attr(name)) => {
            item.insert(name.clone(), value);
        }
        (Parent::Value(Value::M(map)), PathElem::Attr(name)) => {
            map.insert(name.clone(), value);
        }
        (Parent::Value(Value::L(list)), PathElem::Index(i)) => match list.get_mut(*i as usize) {
            Some(slot) => *slot = value,
            // Past the end: DynamoDB appends.
            None => list.push(value),
        },
        _ => return Err(err(INVALID_PATH)),
    }
    Ok(())
}

fn remove_path(item: &mut Item, path: &Path) -> Result<(), ExprError> {
    match parent_of(item, path)? {
        (Parent::Item(item), PathElem::Attr(name)) => {
            item.remove(name.as_str());
        }
        (Parent::Value(Value::M(map)), PathElem::Attr(name)) => {
            map.remove(name.as_str());
        }
        (Parent::Value(Value::L(list)), PathElem::Index(i)) => {
            if (*i as usize) < list.len() {
                list.remove(*i as usize);
            }
        }
        _ => return Err(err(INVALID_PATH)),
    }
    Ok(())
}

/// The existing value at `path`, after checking its parent is updatable.
fn existing<'a>(item: &'a mut Item, path: &'a Path) -> Result<Option<&'a mut Value>, ExprError> {
    Ok(match parent_of(item, path)? {
        (Parent::Item(item), PathElem::Attr(name)) => item.get_mut(name.as_str()),
        (Parent::Value(Value::M(map)), PathElem::Attr(name)) => map.get_mut(name.as_str()),
        (Parent::Value(Value::L(list)), PathElem::Index(i)) => list.get_mut(*i as usize),
        _ => return Err(err(INVALID_PATH)),
    })
}

fn union<T: Clone + PartialEq>(set: &mut Vec<T>, more: &[T]) {
    for e in more {
        if !set.contains(e) {
            set.push(e.clone());
        }
    }
}

fn add(item: &mut Item, path: &Path, value: &Value) -> Result<(), ExprError> {
    let Some(current) = existing(item, path)? else {
        return set_path(item, path, value.clone());
    };
    match (current, value) {
        (Value::N(x), Value::N(y)) => {
            *x = x.add(y).map_err(arithmetic_error)?;
        }
        (Value::Ss(set), Value::Ss(more)) => union(set, more),
        (Value::Ns(set), Value::Ns(more)) => union(set, more),
        (Value::Bs(set), Value::Bs(more)) => union(set, more),
        // Legacy AttributeUpdates ADD appends to a list (an expression's
        // ADD refuses a list when it is parsed).
        (Value::L(list), Value::L(more)) => list.extend(more.iter().cloned()),
        _ => return Err(err(WRONG_TYPE)),
    }
    Ok(())
}

fn delete(item: &mut Item, path: &Path, value: &Value) -> Result<(), ExprError> {
    let Some(current) = existing(item, path)? else {
        return Ok(());
    };
    let now_empty = match (current, value) {
        (Value::Ss(set), Value::Ss(less)) => {
            set.retain(|e| !less.contains(e));
            set.is_empty()
        }
        (Value::Ns(set), Value::Ns(less)) => {
            set.retain(|e| !less.contains(e));
            set.is_empty()
        }
        (Value::Bs(set), Value::Bs(less)) => {
            set.retain(|e| !less.contains(e));
            set.is_empty()
        }
        _ => return Err(err(WRONG_TYPE)),
    };
    // A set may not be empty: removing its last element removes it.
    if now_empty {
        remove_path(item, path)?;
    }
    Ok(())
}
