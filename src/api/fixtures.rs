//! Schema and value fixtures the API's unit tests share.

use crate::catalog::{KeyAttr, KeyType};
use crate::model::Value;

/// A key attribute definition.
pub fn attr(name: &str, key_type: KeyType) -> KeyAttr {
    KeyAttr {
        name: name.into(),
        key_type,
    }
}

/// A string value.
pub fn s(v: &str) -> Value {
    Value::S(v.into())
}

/// A number value (panics on an invalid number: fixtures are literals).
pub fn n(v: &str) -> Value {
    Value::N(crate::model::Number::parse(v).expect("a valid number literal"))
}
