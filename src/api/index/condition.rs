//! Matching a Query's key terms (KeyConditionExpression or legacy
//! KeyConditions) to an index's key schema.
//!
//! DynamoDB's rules, for one or several (multi-attribute GSI) key attributes:
//! every HASH attribute by equality; RANGE attributes left to right, without
//! gaps — equality on a prefix of them, and at most the last one used with
//! `<`, `<=`, `>`, `>=`, `BETWEEN` or `begins_with`. A single-attribute index
//! is the special case the base table follows too.

use crate::api::expr::{CmpOp, KeyOp, KeyTerm};
use crate::api::protocol::error::ApiError;
use crate::catalog::{IndexDef, KeyAttr};
use crate::model::Value;

/// A key condition matched to an index's schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexKeyCondition {
    /// One value per HASH attribute, in schema order.
    pub hash_values: Vec<Value>,
    /// Values of the leading RANGE attributes fixed by equality.
    pub range_eqs: Vec<Value>,
    /// The condition on the RANGE attribute after those, if any.
    pub last: Option<KeyOp>,
}

fn missed(name: &str) -> ApiError {
    ApiError::validation(format!("Query condition missed key schema element: {name}"))
}

fn not_supported() -> ApiError {
    ApiError::validation("Query key condition not supported")
}

fn check_type(attr: &KeyAttr, value: &Value) -> Result<(), ApiError> {
    if value.type_name() != attr.key_type.as_str() {
        return Err(ApiError::invalid_parameter(
            "Condition parameter type does not match schema type",
        ));
    }
    Ok(())
}

fn check_op_types(attr: &KeyAttr, op: &KeyOp) -> Result<(), ApiError> {
    match op {
        KeyOp::Cmp(_, value) | KeyOp::BeginsWith(value) => check_type(attr, value)?,
        KeyOp::Between(low, high) => {
            check_type(attr, low)?;
            check_type(attr, high)?;
        }
    }
    if matches!(op, KeyOp::BeginsWith(_)) && attr.key_type.as_str() == "N" {
        return Err(ApiError::validation(
            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
        ));
    }
    Ok(())
}

/// Matches `terms` to `index`'s key schema.
pub fn match_index_schema(
    index: &IndexDef,
    terms: Vec<KeyTerm>,
) -> Result<IndexKeyCondition, ApiError> {
    if index.hash_keys.len() > 1 || index.range_keys.len() > 1 {
        return match_multi_attribute(index, terms);
    }
    let schema: Vec<&KeyAttr> = index.key_attrs().collect();
    // One slot per schema attribute, filled from the terms.
    let mut slots: Vec<Option<KeyOp>> = vec![None; schema.len()];
    let has_term = |name: &str| terms.iter().any(|t| t.attribute == name);
    for term in &terms {
        let Some(i) = schema.iter().position(|a| a.name == term.attribute) else {
            // DynamoDB names the first key attribute the condition lacks.
            let missing = schema
                .iter()
                .find(|a| !has_term(&a.name))
                .map_or(term.attribute.as_str(), |a| a.name.as_str());
            return Err(missed(missing));
        };
        if slots[i].is_some() {
            return Err(ApiError::validation(
                "KeyConditionExpressions must only contain one condition per key",
            ));
        }
        check_op_types(schema[i], &term.op)?;
        slots[i] = Some(term.op.clone());
    }
    let (hash_slots, range_slots) = slots.split_at(index.hash_keys.len());
    let mut hash_values = Vec::with_capacity(hash_slots.len());
    for (attr, slot) in index.hash_keys.iter().zip(hash_slots) {
        match slot {
            None => return Err(missed(&attr.name)),
            Some(KeyOp::Cmp(CmpOp::Eq, value)) => hash_values.push(value.clone()),
            Some(_) => return Err(not_supported()),
        }
    }
    // The used RANGE attributes must be a prefix of the schema's.
    let used = range_slots.iter().take_while(|s| s.is_some()).count();
    if range_slots[used..].iter().any(Option::is_some) {
        return Err(missed(&index.range_keys[used].name));
    }
    let mut range_eqs = Vec::with_capacity(used);
    let mut last = None;
    for (i, slot) in range_slots[..used].iter().enumerate() {
        let Some(op) = slot else { break };
        if i + 1 == used {
            last = Some(op.clone());
        } else if let KeyOp::Cmp(CmpOp::Eq, value) = op {
            range_eqs.push(value.clone());
        } else {
            // A range condition before the last RANGE attribute used.
            return Err(not_supported());
        }
    }
    Ok(IndexKeyCondition {
        hash_values,
        range_eqs,
        last,
    })
}

/// A multi-attribute key schema, with DynamoDB's messages for it: every
/// HASH attribute lacking an equality named together, then the RANGE
/// attributes before the last one conditioned that lack an equality, then
/// a condition on an attribute outside the schema.
fn match_multi_attribute(
    index: &IndexDef,
    terms: Vec<KeyTerm>,
) -> Result<IndexKeyCondition, ApiError> {
    let mut seen: Vec<&str> = Vec::with_capacity(terms.len());
    for term in &terms {
        if seen.contains(&term.attribute.as_str()) {
            return Err(ApiError::validation(
                "KeyConditionExpressions must only contain one condition per key",
            ));
        }
        seen.push(&term.attribute);
    }
    let op_of = |attr: &KeyAttr| {
        terms
            .iter()
            .find(|t| t.attribute == attr.name)
            .map(|t| &t.op)
    };
    let is_eq = |op: Option<&KeyOp>| matches!(op, Some(KeyOp::Cmp(CmpOp::Eq, _)));
    let names = |attrs: Vec<&KeyAttr>| -> String {
        attrs
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let hash_missing: Vec<&KeyAttr> = index
        .hash_keys
        .iter()
        .filter(|a| !is_eq(op_of(a)))
        .collect();
    if !hash_missing.is_empty() {
        return Err(ApiError::validation(format!(
            "HASH key attributes {} must have equality conditions specified in the query",
            names(hash_missing)
        )));
    }
    let last_used = index.range_keys.iter().rposition(|a| op_of(a).is_some());
    if let Some(last) = last_used {
        let before = &index.range_keys[..last];
        let mut lacking: Vec<&KeyAttr> = before.iter().filter(|a| op_of(a).is_none()).collect();
        if lacking.is_empty() {
            lacking = before.iter().filter(|a| !is_eq(op_of(a))).collect();
        }
        if !lacking.is_empty() {
            return Err(ApiError::validation(format!(
                "RANGE key attributes {} must have equality conditions specified in the query because a condition is present on key attribute {}",
                names(lacking),
                index.range_keys[last].name
            )));
        }
    }
    if terms
        .iter()
        .any(|t| !index.key_attrs().any(|a| a.name == t.attribute))
    {
        return Err(ApiError::validation(
            "Query condition missed key schema element",
        ));
    }
    let mut hash_values = Vec::with_capacity(index.hash_keys.len());
    for attr in &index.hash_keys {
        let op = op_of(attr).ok_or_else(not_supported)?;
        check_op_types(attr, op)?;
        if let KeyOp::Cmp(CmpOp::Eq, value) = op {
            hash_values.push(value.clone());
        }
    }
    let used = last_used.map_or(0, |l| l + 1);
    let mut range_eqs = Vec::with_capacity(used);
    let mut last = None;
    for (i, attr) in index.range_keys[..used].iter().enumerate() {
        let op = op_of(attr).ok_or_else(not_supported)?;
        check_op_types(attr, op)?;
        if i + 1 == used {
            last = Some(op.clone());
        } else if let KeyOp::Cmp(CmpOp::Eq, value) = op {
            range_eqs.push(value.clone());
        }
    }
    Ok(IndexKeyCondition {
        hash_values,
        range_eqs,
        last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::fixtures::{attr, s};
    use crate::catalog::{IndexKind, IndexStatus, KeyType, ProjectionType};
    use crate::model::Number;

    fn index(hash: &[&str], range: &[(&str, KeyType)]) -> IndexDef {
        IndexDef {
            id: 9,
            name: "i".into(),
            kind: IndexKind::Global,
            hash_keys: hash.iter().map(|h| attr(h, KeyType::S)).collect(),
            range_keys: range.iter().map(|(r, t)| attr(r, *t)).collect(),
            projection_type: ProjectionType::All,
            non_key_attributes: vec![],
            status: IndexStatus::Active,
            read_capacity_units: 0,
            write_capacity_units: 0,
            throughput_changes: Default::default(),
        }
    }

    fn eq(name: &str, v: Value) -> KeyTerm {
        KeyTerm {
            attribute: name.into(),
            op: KeyOp::Cmp(CmpOp::Eq, v),
        }
    }

    fn gt(name: &str, v: Value) -> KeyTerm {
        KeyTerm {
            attribute: name.into(),
            op: KeyOp::Cmp(CmpOp::Gt, v),
        }
    }

    fn message(r: Result<IndexKeyCondition, ApiError>) -> String {
        r.expect_err("rejected").message
    }

    #[test]
    fn single_attribute_keys() {
        let i = index(&["h"], &[("r", KeyType::S)]);
        let c = match_index_schema(&i, vec![eq("h", s("a")), gt("r", s("b"))]).expect("ok");
        assert_eq!(c.hash_values, vec![s("a")]);
        assert!(c.range_eqs.is_empty());
        assert_eq!(c.last, Some(KeyOp::Cmp(CmpOp::Gt, s("b"))));
        let c = match_index_schema(&i, vec![eq("h", s("a"))]).expect("ok");
        assert_eq!(c.last, None);
        assert_eq!(
            message(match_index_schema(&i, vec![eq("r", s("a"))])),
            "Query condition missed key schema element: h"
        );
        assert_eq!(
            message(match_index_schema(&i, vec![gt("h", s("a"))])),
            "Query key condition not supported"
        );
        assert_eq!(
            message(match_index_schema(
                &i,
                vec![eq("h", s("a")), eq("x", s("a"))]
            )),
            "Query condition missed key schema element: r"
        );
        assert_eq!(
            message(match_index_schema(
                &i,
                vec![eq("h", s("a")), eq("h", s("b"))]
            )),
            "KeyConditionExpressions must only contain one condition per key"
        );
        assert!(
            message(match_index_schema(
                &i,
                vec![eq("h", Value::N(Number::parse("1").expect("n")))]
            ))
            .contains("Condition parameter type does not match schema type")
        );
    }

    #[test]
    fn multi_attribute_keys_go_left_to_right() {
        let i = index(
            &["h1", "h2"],
            &[("r1", KeyType::S), ("r2", KeyType::S), ("r3", KeyType::S)],
        );
        let all_hash = || vec![eq("h1", s("a")), eq("h2", s("b"))];
        let c = match_index_schema(&i, all_hash()).expect("hash only");
        assert_eq!(c.hash_values, vec![s("a"), s("b")]);
        let mut terms = all_hash();
        terms.extend([eq("r1", s("x")), gt("r2", s("y"))]);
        let c = match_index_schema(&i, terms).expect("prefix then range");
        assert_eq!(c.range_eqs, vec![s("x")]);
        assert_eq!(c.last, Some(KeyOp::Cmp(CmpOp::Gt, s("y"))));
        // HASH attributes without an equality, named together.
        assert_eq!(
            message(match_index_schema(&i, vec![eq("h1", s("a"))])),
            "HASH key attributes h2 must have equality conditions specified in the query"
        );
        assert_eq!(
            message(match_index_schema(
                &i,
                vec![gt("h1", s("a")), eq("r1", s("a"))]
            )),
            "HASH key attributes h1, h2 must have equality conditions specified in the query"
        );
        // A gap in the RANGE attributes.
        let mut terms = all_hash();
        terms.extend([eq("r3", s("z"))]);
        assert_eq!(
            message(match_index_schema(&i, terms)),
            "RANGE key attributes r1, r2 must have equality conditions specified in the query because a condition is present on key attribute r3"
        );
        // A range operator before the last one used.
        let mut terms = all_hash();
        terms.extend([gt("r1", s("x")), eq("r2", s("z"))]);
        assert_eq!(
            message(match_index_schema(&i, terms)),
            "RANGE key attributes r1 must have equality conditions specified in the query because a condition is present on key attribute r2"
        );
        // An attribute outside the schema.
        let mut terms = all_hash();
        terms.extend([eq("zz", s("z"))]);
        assert_eq!(
            message(match_index_schema(&i, terms)),
            "Query condition missed key schema element"
        );
    }
}
