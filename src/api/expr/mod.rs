//! DynamoDB's expression language: one parser and evaluator for
//! ConditionExpression, FilterExpression, KeyConditionExpression,
//! UpdateExpression and ProjectionExpression. Pure: no I/O, no shard state.
//!
//! Flow per request: build [`Placeholders`] from ExpressionAttributeNames /
//! ExpressionAttributeValues (validates them), parse each expression once with
//! it (resolving `#n` and `:v`, checking reserved words, types of literals and
//! DynamoDB's limits), then call [`Placeholders::finish`] to report unused
//! placeholders. The parsed forms ([`Condition`], [`Update`], [`Projection`])
//! are self-contained and evaluated per item without allocating (except
//! `size()`, which builds a number).
//!
//! Every error is an [`ExprError`] carrying DynamoDB's full message; the API
//! maps it to `com.amazon.coral.validate#ValidationException`.
//!
//! The language itself is pure and knows no requests; two modules face the
//! request: `params` reads a request's expression parameters and
//! placeholders, `legacy` translates the pre-expression parameters
//! (Expected, KeyConditions, QueryFilter, ScanFilter, AttributeUpdates) into
//! the same parsed forms, so one evaluator serves both.

mod apply;
pub mod ast;
mod eval;
mod keycond;
pub mod legacy;
mod lexer;
pub mod params;
mod parser;
mod projection;
mod reserved;
mod update;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use apply::apply_update;
pub use ast::{CmpOp, Condition, Node, Operand, Path, PathElem, Update, UpdateAction};
pub use eval::{compare_values, evaluate, resolve_path, size_of, values_equal};
pub use keycond::{KeyOp, KeyTerm, key_condition_terms};
pub use parser::parse_condition;
pub use projection::{Projection, parse_projection};
pub use reserved::is_reserved;
pub use update::parse_update;

use crate::model::{Value, ValueError};

/// DynamoDB's 4 KB limit on each expression string.
pub const EXPRESSION_BYTES_MAX: usize = 4096;
/// Maximum length of a `#name` or `:value` placeholder, in bytes.
pub const PLACEHOLDER_BYTES_MAX: usize = 255;
/// DynamoDB's limit on operators and functions in one expression.
pub const OPERATORS_MAX: usize = 300;
/// Operands of one `IN`.
pub const IN_OPERANDS_MAX: usize = 100;
/// Parenthesis / NOT / function nesting. DynamoDB documents no number, but
/// every level of a valid expression carries an operator (a bare `((…))` is
/// "redundant parentheses"), so [`OPERATORS_MAX`] bounds valid depth. The
/// 4 KB limit alone would allow ~2000 levels, more than a recursive descent
/// parser should follow on a shard's stack; past this depth the expression
/// is reported as DynamoDB would report it: redundant parentheses.
pub const NESTING_DEPTH_MAX: usize = OPERATORS_MAX + 1;
/// Document path depth, as for stored documents.
pub const PATH_DEPTH_MAX: usize = 32;

/// Which expression parameter is being parsed; it names the parameter in
/// every message (`Invalid UpdateExpression: …`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExprKind {
    Condition,
    Filter,
    KeyCondition,
    Update,
    Projection,
}

impl ExprKind {
    pub fn parameter(self) -> &'static str {
        match self {
            ExprKind::Condition => "ConditionExpression",
            ExprKind::Filter => "FilterExpression",
            ExprKind::KeyCondition => "KeyConditionExpression",
            ExprKind::Update => "UpdateExpression",
            ExprKind::Projection => "ProjectionExpression",
        }
    }
}

/// A client error in an expression or its placeholders, with DynamoDB's
/// message; always a `ValidationException`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    pub message: String,
}

impl ExprError {
    pub fn new(message: impl Into<String>) -> Self {
        ExprError {
            message: message.into(),
        }
    }

    /// `Invalid <Parameter>: <detail>`.
    pub fn invalid(kind: ExprKind, detail: impl std::fmt::Display) -> Self {
        ExprError::new(format!("Invalid {}: {detail}", kind.parameter()))
    }
}

/// ExpressionAttributeNames and ExpressionAttributeValues of one request, and
/// which of them the request's expressions used.
#[derive(Debug, Default)]
pub struct Placeholders<'a> {
    names: Vec<(&'a str, &'a str)>,
    values: Vec<(&'a str, &'a Value)>,
    used_names: Vec<bool>,
    used_values: Vec<bool>,
}

/// (DynamoDB reports the size for names but not for values.)
fn check_key_length(key: &str, map: &str) -> Result<(), ExprError> {
    if key.len() > PLACEHOLDER_BYTES_MAX {
        let size = if map == "ExpressionAttributeNames" {
            format!(" size of key: {}", key.len())
        } else {
            String::new()
        };
        return Err(ExprError::new(format!(
            "{map} contains invalid key: The expression attribute map contains a key that is too long;{size}"
        )));
    }
    Ok(())
}

fn placeholder_key_ok(key: &str, sigil: u8) -> bool {
    let bytes = key.as_bytes();
    bytes.len() >= 2
        && bytes[0] == sigil
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

impl<'a> Placeholders<'a> {
    /// Validates the maps as DynamoDB does before it parses any expression:
    /// present maps must be non-empty and keys must be `#…` / `:…` names.
    pub fn new(
        names: Option<&'a BTreeMap<String, String>>,
        values: Option<&'a BTreeMap<String, Value>>,
    ) -> Result<Self, ExprError> {
        let mut out = Placeholders::default();
        if let Some(names) = names {
            if names.is_empty() {
                return Err(ExprError::new("ExpressionAttributeNames must not be empty"));
            }
            for (key, name) in names {
                check_key_length(key, "ExpressionAttributeNames")?;
                if !placeholder_key_ok(key, b'#') {
                    return Err(ExprError::new(format!(
                        "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{key}\""
                    )));
                }
                if let Err(crate::model::value::ValueError::Validation(m)) =
                    crate::model::value::check_attribute_name(name)
                {
                    return Err(ExprError::new(format!(
                        "ExpressionAttributeNames contains invalid value: {m} for key {key}"
                    )));
                }
                out.names.push((key, name));
            }
        }
        if let Some(values) = values {
            if values.is_empty() {
                return Err(ExprError::new(
                    "ExpressionAttributeValues must not be empty",
                ));
            }
            for (key, value) in values {
                check_key_length(key, "ExpressionAttributeValues")?;
                if !placeholder_key_ok(key, b':') {
                    return Err(ExprError::new(format!(
                        "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{key}\""
                    )));
                }
                out.values.push((key, value));
            }
        }
        out.used_names = vec![false; out.names.len()];
        out.used_values = vec![false; out.values.len()];
        Ok(out)
    }

    /// Resolves `#name`, marking it used.
    pub(crate) fn name(&mut self, key: &str) -> Option<&'a str> {
        let i = self.names.binary_search_by(|(k, _)| (*k).cmp(key)).ok()?;
        self.used_names[i] = true;
        Some(self.names[i].1)
    }

    /// Resolves `:value`, marking it used.
    pub(crate) fn value(&mut self, key: &str) -> Option<&'a Value> {
        let i = self.values.binary_search_by(|(k, _)| (*k).cmp(key)).ok()?;
        self.used_values[i] = true;
        Some(self.values[i].1)
    }

    /// DynamoDB rejects placeholders that no expression of the request used.
    pub fn finish(&self) -> Result<(), ExprError> {
        let unused = |keys: Vec<&str>, what: &str| {
            ExprError::new(format!(
                "Value provided in {what} unused in expressions: keys: {{{}}}",
                keys.join(", ")
            ))
        };
        let names: Vec<&str> = self
            .names
            .iter()
            .zip(&self.used_names)
            .filter(|(_, used)| !**used)
            .map(|((k, _), _)| *k)
            .collect();
        if !names.is_empty() {
            return Err(unused(names, "ExpressionAttributeNames"));
        }
        let values: Vec<&str> = self
            .values
            .iter()
            .zip(&self.used_values)
            .filter(|(_, used)| !**used)
            .map(|((k, _), _)| *k)
            .collect();
        if !values.is_empty() {
            return Err(unused(values, "ExpressionAttributeValues"));
        }
        Ok(())
    }
}

/// Reads ExpressionAttributeValues from request JSON with DynamoDB's
/// wrapping of value errors (`… for key :v`).
pub fn values_from_json(
    json: &simd_json::BorrowedValue<'_>,
) -> Result<BTreeMap<String, Value>, ValueError> {
    let simd_json::BorrowedValue::Object(fields) = json else {
        return Err(ValueError::Serialization(format!(
            "{} cannot be converted to Map",
            crate::model::value::json_kind(json)
        )));
    };
    let mut out = BTreeMap::new();
    for (key, field) in fields.iter() {
        let value = Value::from_json(field).map_err(|e| match e {
            ValueError::Validation(msg) => ValueError::Validation(format!(
                "ExpressionAttributeValues contains invalid value: {msg} for key {key}"
            )),
            other => other,
        })?;
        out.insert(key.to_string(), value);
    }
    Ok(out)
}
