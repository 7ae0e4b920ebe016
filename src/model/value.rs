//! DynamoDB attribute values: the ten types, their validation and their size.
//!
//! Invariants of a [`Value`] once built through [`Value::from_json`]: numbers
//! are normalized and in range, sets are non-empty and duplicate-free, nesting
//! is at most [`DOCUMENT_DEPTH_MAX`] levels. Everything downstream (codec, keys,
//! expressions) relies on them.

use std::collections::BTreeMap;

use base64::Engine as _;
use simd_json::BorrowedValue as Json;
use simd_json::StaticNode;

use super::number::Number;

/// DynamoDB allows 32 levels of nested documents.
pub const DOCUMENT_DEPTH_MAX: usize = 32;
/// 400 KB, by DynamoDB's item size rule.
pub const ITEM_BYTES_MAX: usize = 400 * 1024;

pub type Map = BTreeMap<String, Value>;
/// An item: top-level attribute name → value.
pub type Item = Map;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    S(String),
    N(Number),
    B(Vec<u8>),
    Bool(bool),
    Null,
    M(Map),
    L(Vec<Value>),
    Ss(Vec<String>),
    Ns(Vec<Number>),
    Bs(Vec<Vec<u8>>),
}

/// A client error found while reading a value; the API maps `Validation` to
/// `ValidationException` and `Serialization` to `SerializationException`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueError {
    Validation(String),
    Serialization(String),
}

impl ValueError {
    fn invalid(detail: impl std::fmt::Display) -> Self {
        ValueError::Validation(format!(
            "One or more parameter values were invalid: {detail}"
        ))
    }
}

impl Value {
    /// DynamoDB's type descriptor ("S", "N", "SS", …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::S(_) => "S",
            Value::N(_) => "N",
            Value::B(_) => "B",
            Value::Bool(_) => "BOOL",
            Value::Null => "NULL",
            Value::M(_) => "M",
            Value::L(_) => "L",
            Value::Ss(_) => "SS",
            Value::Ns(_) => "NS",
            Value::Bs(_) => "BS",
        }
    }

    /// Reads one AttributeValue from request JSON, validating it fully.
    pub fn from_json(json: &Json<'_>) -> Result<Value, ValueError> {
        Self::from_json_at(json, 1)
    }

    fn from_json_at(json: &Json<'_>, depth: usize) -> Result<Value, ValueError> {
        if depth > DOCUMENT_DEPTH_MAX {
            return Err(ValueError::Validation(
                "Nesting Levels have exceeded supported limits".to_string(),
            ));
        }
        let Json::Object(fields) = json else {
            return Err(ValueError::Serialization(
                "Unexpected value type in payload".to_string(),
            ));
        };
        let mut found: Option<Value> = None;
        let mut count = 0;
        for (name, field) in fields.iter() {
            if matches!(field, Json::Static(StaticNode::Null)) {
                continue;
            }
            let value = match name.as_ref() {
                "S" => Value::S(json_str(field)?.to_string()),
                "N" => Value::N(parse_number(json_str(field)?)?),
                "B" => Value::B(json_binary(field)?),
                "BOOL" => match field {
                    Json::Static(StaticNode::Bool(b)) => Value::Bool(*b),
                    other => return Err(type_error(other, "Boolean")),
                },
                "NULL" => match field {
                    Json::Static(StaticNode::Bool(true)) => Value::Null,
                    Json::Static(StaticNode::Bool(false)) => {
                        return Err(ValueError::invalid(
                            "Null attribute value types must have the value of true",
                        ));
                    }
                    other => return Err(type_error(other, "Boolean")),
                },
                "M" => {
                    let Json::Object(entries) = field else {
                        return Err(type_error(field, "Map"));
                    };
                    let mut map = Map::new();
                    for (key, value) in entries.iter() {
                        check_attribute_name(key)?;
                        map.insert(key.to_string(), Value::from_json_at(value, depth + 1)?);
                    }
                    Value::M(map)
                }
                "L" => {
                    let Json::Array(elements) = field else {
                        return Err(type_error(field, "List"));
                    };
                    let mut list = Vec::with_capacity(elements.len());
                    for element in elements.iter() {
                        list.push(Value::from_json_at(element, depth + 1)?);
                    }
                    Value::L(list)
                }
                "SS" => {
                    let items = json_array(field)?;
                    let mut set = Vec::with_capacity(items.len());
                    for item in items {
                        set.push(json_str(item)?.to_string());
                    }
                    check_set(&set, "An string set  may not be empty", |s| s.clone())?;
                    Value::Ss(set)
                }
                "NS" => {
                    let items = json_array(field)?;
                    let mut set = Vec::with_capacity(items.len());
                    let mut texts = Vec::with_capacity(items.len());
                    for item in items {
                        let text = json_str(item)?;
                        texts.push(text.to_string());
                        set.push(parse_number(text)?);
                    }
                    if set.is_empty() {
                        return Err(ValueError::invalid("An number set  may not be empty"));
                    }
                    let mut sorted: Vec<&Number> = set.iter().collect();
                    sorted.sort();
                    if sorted.windows(2).any(|w| w[0] == w[1]) {
                        return Err(ValueError::invalid(format!(
                            "Input collection [{}] contains duplicates.",
                            texts.join(", ")
                        )));
                    }
                    Value::Ns(set)
                }
                "BS" => {
                    let items = json_array(field)?;
                    let mut set = Vec::with_capacity(items.len());
                    for item in items {
                        set.push(json_binary(item)?);
                    }
                    check_set(&set, "Binary sets should not be empty", |b| {
                        base64::engine::general_purpose::STANDARD.encode(b)
                    })?;
                    Value::Bs(set)
                }
                // Unknown members are ignored, as DynamoDB's JSON reader does.
                _ => continue,
            };
            count += 1;
            found = Some(value);
        }
        match (count, found) {
            (1, Some(value)) => Ok(value),
            (0, _) | (_, None) => Err(ValueError::Validation(
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
                    .to_string(),
            )),
            _ => Err(ValueError::Validation(
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
                    .to_string(),
            )),
        }
    }

    /// Size by DynamoDB's rule (excluding the attribute name).
    pub fn size(&self) -> usize {
        match self {
            Value::S(s) => s.len(),
            Value::N(n) => number_size(n),
            Value::B(b) => b.len(),
            Value::Bool(_) | Value::Null => 1,
            Value::M(map) => {
                3 + map
                    .iter()
                    .map(|(k, v)| k.len() + v.size() + 1)
                    .sum::<usize>()
            }
            Value::L(list) => 3 + list.iter().map(|v| v.size() + 1).sum::<usize>(),
            Value::Ss(set) => set.iter().map(String::len).sum(),
            Value::Ns(set) => set.iter().map(number_size).sum(),
            Value::Bs(set) => set.iter().map(Vec::len).sum(),
        }
    }

    /// Writes the value as DynamoDB JSON (`{"S":"…"}`).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let b64 = &base64::engine::general_purpose::STANDARD;
        match self {
            Value::S(s) => {
                out.extend_from_slice(b"{\"S\":");
                write_json_str(out, s);
            }
            Value::N(n) => {
                out.extend_from_slice(b"{\"N\":\"");
                out.extend_from_slice(n.to_canonical().as_bytes());
                out.push(b'"');
            }
            Value::B(b) => {
                out.extend_from_slice(b"{\"B\":\"");
                out.extend_from_slice(b64.encode(b).as_bytes());
                out.push(b'"');
            }
            Value::Bool(b) => out.extend_from_slice(if *b {
                b"{\"BOOL\":true"
            } else {
                b"{\"BOOL\":false"
            }),
            Value::Null => out.extend_from_slice(b"{\"NULL\":true"),
            Value::M(map) => {
                out.extend_from_slice(b"{\"M\":");
                write_json_map(out, map);
            }
            Value::L(list) => {
                out.extend_from_slice(b"{\"L\":[");
                for (i, v) in list.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    v.write_json(out);
                }
                out.push(b']');
            }
            Value::Ss(set) => {
                out.extend_from_slice(b"{\"SS\":[");
                for (i, s) in set.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_json_str(out, s);
                }
                out.push(b']');
            }
            Value::Ns(set) => {
                out.extend_from_slice(b"{\"NS\":[");
                for (i, n) in set.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.push(b'"');
                    out.extend_from_slice(n.to_canonical().as_bytes());
                    out.push(b'"');
                }
                out.push(b']');
            }
            Value::Bs(set) => {
                out.extend_from_slice(b"{\"BS\":[");
                for (i, b) in set.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.push(b'"');
                    out.extend_from_slice(b64.encode(b).as_bytes());
                    out.push(b'"');
                }
                out.push(b']');
            }
        }
        out.push(b'}');
    }
}

/// Size of a number: about one byte per two significant digits, plus one.
pub(crate) fn number_size(n: &Number) -> usize {
    n.digits().len().div_ceil(2) + 1
}

/// Size of an item by DynamoDB's rule: names plus values.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + v.size()).sum()
}

/// Reads a whole item (`{"name": AttributeValue, …}`) from request JSON.
pub fn item_from_json(json: &Json<'_>) -> Result<Item, ValueError> {
    let Json::Object(fields) = json else {
        return Err(type_error(json, "Map"));
    };
    let mut item = Item::new();
    for (name, value) in fields.iter() {
        check_attribute_name(name)?;
        item.insert(name.to_string(), Value::from_json(value)?);
    }
    Ok(item)
}

/// The longest attribute name DynamoDB stores (names are under 64 KB).
pub const ATTRIBUTE_NAME_BYTES_MAX: usize = 65_535;

/// An attribute name (of an item or of a map inside one): at least one
/// character and under 64 KB.
pub fn check_attribute_name(name: &str) -> Result<(), ValueError> {
    if name.is_empty() {
        return Err(ValueError::Validation("Empty attribute name".to_string()));
    }
    if name.len() > ATTRIBUTE_NAME_BYTES_MAX {
        return Err(ValueError::invalid(format!(
            "Attribute name size has exceeded the maximum size limit of {ATTRIBUTE_NAME_BYTES_MAX} bytes"
        )));
    }
    Ok(())
}

/// Writes `{"name":{…},…}`.
pub fn write_json_map(out: &mut Vec<u8>, map: &Map) {
    out.push(b'{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_str(out, k);
        out.push(b':');
        v.write_json(out);
    }
    out.push(b'}');
}

/// Writes a JSON string literal with the escapes JSON requires.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    // Most strings need no escape: find the first byte that does 16 at a
    // time (a branch-free fold the compiler vectorizes), copy what precedes.
    let needs = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
    let clean = bytes
        .chunks_exact(16)
        .take_while(|c| !c.iter().fold(false, |any, &b| any | needs(b)))
        .count()
        * 16;
    out.extend_from_slice(&bytes[..clean]);
    let mut start = clean;
    for (i, &b) in bytes.iter().enumerate().skip(clean) {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn parse_number(text: &str) -> Result<Number, ValueError> {
    Number::parse(text).map_err(|e| ValueError::Validation(e.to_string()))
}

fn check_set<T: Ord, F: Fn(&T) -> String>(
    set: &[T],
    empty_message: &str,
    show: F,
) -> Result<(), ValueError> {
    if set.is_empty() {
        return Err(ValueError::invalid(empty_message));
    }
    let mut sorted: Vec<&T> = set.iter().collect();
    sorted.sort();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        let shown: Vec<String> = set.iter().map(show).collect();
        return Err(ValueError::invalid(format!(
            "Input collection [{}] contains duplicates.",
            shown.join(", ")
        )));
    }
    Ok(())
}

pub(crate) fn json_kind(json: &Json<'_>) -> &'static str {
    match json {
        Json::Static(StaticNode::Null) => "null",
        Json::Static(StaticNode::Bool(true)) => "TRUE_VALUE",
        Json::Static(StaticNode::Bool(false)) => "FALSE_VALUE",
        Json::Static(StaticNode::F64(_)) => "DECIMAL_VALUE",
        Json::Static(_) => "NUMBER_VALUE",
        Json::String(_) => "STRING_VALUE",
        Json::Array(_) => "START_ARRAY",
        Json::Object(_) => "START_OBJECT",
    }
}

fn type_error(json: &Json<'_>, expected: &str) -> ValueError {
    ValueError::Serialization(format!(
        "{} cannot be converted to {expected}",
        json_kind(json)
    ))
}

fn json_str<'a>(json: &'a Json<'_>) -> Result<&'a str, ValueError> {
    match json {
        Json::String(s) => Ok(s.as_ref()),
        other => Err(type_error(other, "String")),
    }
}

fn json_array<'a, 'v>(json: &'a Json<'v>) -> Result<&'a [Json<'v>], ValueError> {
    match json {
        Json::Array(items) => Ok(items.as_slice()),
        other => Err(type_error(other, "List")),
    }
}

fn json_binary(json: &Json<'_>) -> Result<Vec<u8>, ValueError> {
    let text = json_str(json)?;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| {
            ValueError::Serialization(format!(
                "Base64 encoded length is expected a multiple of 4 bytes but found: {}",
                text.len()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_at_any_position() {
        for len in [0, 1, 15, 16, 17, 40] {
            for at in 0..=len {
                for special in ['"', '\\', '\n', '\u{1}', 'é'] {
                    let mut text: String = "a".repeat(len);
                    text.insert(at, special);
                    let mut out = Vec::new();
                    write_json_str(&mut out, &text);
                    let mut parsed = out.clone();
                    let back = simd_json::to_borrowed_value(&mut parsed).expect("valid JSON");
                    let simd_json::BorrowedValue::String(got) = back else {
                        panic!("not a string: {text:?}")
                    };
                    assert_eq!(got, text.as_str(), "{text:?}");
                }
            }
        }
    }

    fn parse(text: &str) -> Result<Value, ValueError> {
        let mut bytes = text.as_bytes().to_vec();
        let json = simd_json::to_borrowed_value(&mut bytes).expect("test JSON parses");
        Value::from_json(&json)
    }

    fn roundtrip(text: &str) -> String {
        let value = parse(text).expect("valid value");
        let mut out = Vec::new();
        value.write_json(&mut out);
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn all_types_round_trip() {
        for text in [
            r#"{"S":"a\"b\n"}"#,
            r#"{"N":"-1.5"}"#,
            r#"{"B":"AQID"}"#,
            r#"{"BOOL":true}"#,
            r#"{"NULL":true}"#,
            r#"{"M":{"a":{"S":"x"},"b":{"L":[{"N":"1"},{"BOOL":false}]}}}"#,
            r#"{"SS":["a","b"]}"#,
            r#"{"NS":["1","2.5"]}"#,
            r#"{"BS":["AQ==","Ag=="]}"#,
        ] {
            assert_eq!(roundtrip(text), text);
        }
        assert_eq!(roundtrip(r#"{"N":"1.50E2"}"#), r#"{"N":"150"}"#);
    }

    #[test]
    fn validation_errors() {
        let validation = |t: &str| matches!(parse(t), Err(ValueError::Validation(_)));
        let serialization = |t: &str| matches!(parse(t), Err(ValueError::Serialization(_)));
        assert!(validation(r#"{}"#));
        assert!(validation(r#"{"S":"a","N":"1"}"#));
        assert!(validation(r#"{"NULL":false}"#));
        assert!(validation(r#"{"SS":[]}"#));
        assert!(validation(r#"{"SS":["a","a"]}"#));
        assert!(validation(r#"{"NS":["1","1.0"]}"#));
        assert!(validation(r#"{"N":"abc"}"#));
        assert!(validation(r#"{"N":"1e200"}"#));
        assert!(serialization(r#"{"S":5}"#));
        assert!(serialization(r#"{"N":5}"#));
        assert!(serialization(r#"{"B":"@@@"}"#));
        assert!(serialization(r#"{"M":[]}"#));
        assert!(serialization(r#"{"BOOL":"true"}"#));
        assert!(serialization(r#""x""#));
        let deep = format!(
            "{}{}{}",
            r#"{"L":["#.repeat(40),
            r#"{"S":"x"}"#,
            "]}".repeat(40)
        );
        assert!(validation(&deep));
        let ok = format!(
            "{}{}{}",
            r#"{"L":["#.repeat(31),
            r#"{"S":"x"}"#,
            "]}".repeat(31)
        );
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse(r#"{"S":"abc"}"#).map(|v| v.size()), Ok(3));
        assert_eq!(parse(r#"{"N":"12345"}"#).map(|v| v.size()), Ok(4));
        assert_eq!(
            parse(r#"{"M":{"ab":{"BOOL":true}}}"#).map(|v| v.size()),
            Ok(3 + 2 + 1 + 1)
        );
    }
}
