//! Tests of the expression engine: parsing (round trips through evaluation,
//! precedence, every error message), evaluation, updates, projections, key
//! conditions, and a seeded randomized comparison against a reference
//! evaluator (set SEED=… to replay; the seed is printed on failure).

mod random;
mod updates;

use std::collections::BTreeMap;

use super::*;
use crate::model::value::item_from_json;
use crate::model::{Item, Value};

pub(super) fn json_item(text: &str) -> Item {
    let mut bytes = text.as_bytes().to_vec();
    let json = simd_json::to_borrowed_value(&mut bytes).expect("test JSON");
    item_from_json(&json).expect("test item")
}

pub(super) fn json_value(text: &str) -> Value {
    let mut bytes = text.as_bytes().to_vec();
    let json = simd_json::to_borrowed_value(&mut bytes).expect("test JSON");
    Value::from_json(&json).expect("test value")
}

/// Values from `[(":k", "{…json…}")]`.
pub(super) fn vals(pairs: &[(&str, &str)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json_value(v)))
        .collect()
}

pub(super) fn names(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Parses a condition with optional maps, requiring every placeholder used.
pub(super) fn cond(
    text: &str,
    n: Option<&BTreeMap<String, String>>,
    v: Option<&BTreeMap<String, Value>>,
) -> Result<Condition, ExprError> {
    let mut ph = Placeholders::new(n, v)?;
    let c = parse_condition(text, ExprKind::Condition, &mut ph)?;
    ph.finish()?;
    Ok(c)
}

pub(super) fn cond_err(text: &str, v: &[(&str, &str)]) -> String {
    let v = vals(v);
    let n = names(&[("#n", "n"), ("#s", "status")]);
    let mut ph =
        Placeholders::new(Some(&n), if v.is_empty() { None } else { Some(&v) }).expect("maps");
    match parse_condition(text, ExprKind::Condition, &mut ph) {
        Ok(c) => panic!("expected an error for {text:?}, got {c:?}"),
        Err(e) => e.message,
    }
}

/// Evaluates `text` on `item` with values `v` (names #n→n, #s→status).
pub(super) fn check(text: &str, item: &str, v: &[(&str, &str)]) -> bool {
    let v = vals(v);
    let n = names(&[("#n", "n"), ("#s", "status")]);
    let mut ph =
        Placeholders::new(Some(&n), if v.is_empty() { None } else { Some(&v) }).expect("maps");
    let c = parse_condition(text, ExprKind::Condition, &mut ph)
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    evaluate(&c, &json_item(item))
}

pub(super) const ITEM: &str = r#"{
    "pk": {"S": "p1"}, "n": {"N": "10"}, "s": {"S": "hello"}, "b": {"B": "AQID"},
    "status": {"S": "ok"}, "flag": {"BOOL": true}, "nul": {"NULL": true},
    "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "2"]},
    "l": {"L": [{"N": "1"}, {"S": "two"}, {"M": {"deep": {"S": "d"}}}]},
    "m": {"M": {"a": {"N": "1"}, "b": {"M": {"c": {"S": "C"}}}}}
}"#;

#[test]
fn comparisons_by_type() {
    let n5 = [(":v", r#"{"N":"5"}"#)];
    assert!(check("n > :v", ITEM, &n5));
    assert!(check("n >= :v", ITEM, &n5));
    assert!(!check("n < :v", ITEM, &n5));
    assert!(check("n <> :v", ITEM, &n5));
    assert!(check("#n = :v", ITEM, &[(":v", r#"{"N":"10.0"}"#)]));
    // Numeric, not lexicographic: 10 > 9.
    assert!(check("n > :v", ITEM, &[(":v", r#"{"N":"9"}"#)]));
    assert!(check("s < :v", ITEM, &[(":v", r#"{"S":"help"}"#)]));
    assert!(check("s > :v", ITEM, &[(":v", r#"{"S":"Hello"}"#)]));
    assert!(check("b < :v", ITEM, &[(":v", r#"{"B":"AQIE"}"#)]));
    // Different types: false both ways, never an error.
    assert!(!check("n < :v", ITEM, &[(":v", r#"{"S":"5"}"#)]));
    assert!(!check("n > :v", ITEM, &[(":v", r#"{"S":"5"}"#)]));
    assert!(!check("n = :v", ITEM, &[(":v", r#"{"S":"10"}"#)]));
    // Ordering on non-scalars is false; equality is deep, sets unordered.
    assert!(!check("ss < s", ITEM, &[]));
    assert!(check("ss = :v", ITEM, &[(":v", r#"{"SS":["y","x"]}"#)]));
    assert!(check(
        "m.b = :v",
        ITEM,
        &[(":v", r#"{"M":{"c":{"S":"C"}}}"#)]
    ));
    assert!(check("flag = :v", ITEM, &[(":v", r#"{"BOOL":true}"#)]));
    // Missing attributes: every comparison is false except `<>`, which is
    // NOT `=` (checked against DynamoDB Local).
    assert!(!check("nope = :v", ITEM, &n5));
    assert!(!check("nope < :v", ITEM, &n5));
    assert!(check("nope <> :v", ITEM, &n5));
    assert!(check("nope <> other2", ITEM, &[]));
    assert!(check("NOT nope = :v", ITEM, &n5));
    // Comparing two paths.
    assert!(check("l[0] = m.a", ITEM, &[]));
    assert!(check("pk <> s", ITEM, &[]));
}

#[test]
fn functions_and_paths() {
    assert!(check("attribute_exists(m.b.c)", ITEM, &[]));
    assert!(!check("attribute_exists(m.b.x)", ITEM, &[]));
    assert!(check("attribute_exists(l[2].deep)", ITEM, &[]));
    assert!(!check("attribute_exists(l[3])", ITEM, &[]));
    assert!(!check("attribute_exists(s.x)", ITEM, &[]));
    assert!(check("attribute_not_exists(l[9])", ITEM, &[]));
    assert!(check("attribute_exists(#s)", ITEM, &[]));
    let t = |name: &str| format!(r#"{{"S":"{name}"}}"#);
    assert!(check("attribute_type(ns, :t)", ITEM, &[(":t", &t("NS"))]));
    assert!(check(
        "attribute_type(nul, :t)",
        ITEM,
        &[(":t", &t("NULL"))]
    ));
    assert!(!check("attribute_type(n, :t)", ITEM, &[(":t", &t("S"))]));
    assert!(check(
        "begins_with(s, :p)",
        ITEM,
        &[(":p", r#"{"S":"hel"}"#)]
    ));
    assert!(!check(
        "begins_with(s, :p)",
        ITEM,
        &[(":p", r#"{"S":"el"}"#)]
    ));
    assert!(check(
        "begins_with(b, :p)",
        ITEM,
        &[(":p", r#"{"B":"AQ=="}"#)]
    ));
    assert!(check("contains(s, :p)", ITEM, &[(":p", r#"{"S":"ell"}"#)]));
    assert!(check("contains(ss, :p)", ITEM, &[(":p", r#"{"S":"y"}"#)]));
    assert!(!check("contains(ss, :p)", ITEM, &[(":p", r#"{"S":"q"}"#)]));
    assert!(check("contains(ns, :p)", ITEM, &[(":p", r#"{"N":"2"}"#)]));
    assert!(check("contains(l, :p)", ITEM, &[(":p", r#"{"S":"two"}"#)]));
    assert!(!check("contains(n, :p)", ITEM, &[(":p", r#"{"N":"1"}"#)]));
    let n = |x: &str| format!(r#"{{"N":"{x}"}}"#);
    assert!(check("size(s) = :v", ITEM, &[(":v", &n("5"))]));
    assert!(check("size(l) = :v", ITEM, &[(":v", &n("3"))]));
    assert!(check("size(m) = :v", ITEM, &[(":v", &n("2"))]));
    assert!(check("size(ss) < :v", ITEM, &[(":v", &n("3"))]));
    assert!(check(
        "size(b) BETWEEN :a AND :b",
        ITEM,
        &[(":a", &n("3")), (":b", &n("3"))]
    ));
    assert!(!check("size(n) >= :v", ITEM, &[(":v", &n("0"))]));
    assert!(!check("size(nope) >= :v", ITEM, &[(":v", &n("0"))]));
    assert!(check(":v < size(s)", ITEM, &[(":v", &n("4"))]));
}

#[test]
fn between_and_in() {
    let n = |x: &str| format!(r#"{{"N":"{x}"}}"#);
    assert!(check(
        "n BETWEEN :a AND :b",
        ITEM,
        &[(":a", &n("10")), (":b", &n("11"))]
    ));
    assert!(!check(
        "n BETWEEN :a AND :b",
        ITEM,
        &[(":a", &n("11")), (":b", &n("12"))]
    ));
    assert!(!check(
        "s BETWEEN :a AND :b",
        ITEM,
        &[(":a", &n("1")), (":b", &n("12"))]
    ));
    assert!(check(
        "n IN (:a, :b)",
        ITEM,
        &[(":a", &n("1")), (":b", &n("10"))]
    ));
    assert!(!check("n IN (:a)", ITEM, &[(":a", &n("1"))]));
    assert!(check("s IN (:a, n)", ITEM, &[(":a", r#"{"S":"hello"}"#)]));
    // BETWEEN's AND binds to BETWEEN, not to the logical AND.
    assert!(check(
        "n BETWEEN :a AND :b AND s = :s",
        ITEM,
        &[
            (":a", &n("1")),
            (":b", &n("20")),
            (":s", r#"{"S":"hello"}"#)
        ]
    ));
}

#[test]
fn precedence() {
    let t = [(":t", r#"{"BOOL":true}"#), (":f", r#"{"BOOL":false}"#)];
    // AND binds tighter than OR.
    assert!(check("flag = :t OR flag = :f AND flag = :f", ITEM, &t));
    assert!(!check("(flag = :t OR flag = :f) AND flag = :f", ITEM, &t));
    // NOT binds tighter than AND.
    assert!(!check("NOT flag = :t AND flag = :t", ITEM, &t));
    assert!(check("NOT (flag = :f AND flag = :t)", ITEM, &t));
    assert!(check("NOT NOT flag = :t", ITEM, &t));
    // Keywords are case-insensitive.
    assert!(check("flag = :f or not flag = :f and flag = :t", ITEM, &t));
    // Whitespace is free.
    assert!(check("(flag=:t)AND(flag<>:f)", ITEM, &t));
    // The tree shape: OR at the root.
    let v = vals(&t);
    let c = cond("flag = :t OR flag = :f AND flag = :f", None, Some(&v)).unwrap();
    assert!(matches!(c.node(c.root), Node::Or(..)));
}

#[test]
fn syntax_errors() {
    let v = [(":v", r#"{"N":"1"}"#)];
    assert_eq!(
        cond_err("a = ", &v),
        r#"Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "= ""#
    );
    assert_eq!(
        cond_err("user-id = :v", &v),
        r#"Invalid ConditionExpression: Syntax error; token: "-", near: "user-id""#
    );
    assert_eq!(
        cond_err("a = 5", &v),
        r#"Invalid ConditionExpression: Syntax error; token: "5", near: "= 5""#
    );
    assert_eq!(
        cond_err("a == :v", &v),
        r#"Invalid ConditionExpression: Syntax error; token: "=", near: "== :v""#
    );
    assert_eq!(
        cond_err("a = :v)", &v),
        r#"Invalid ConditionExpression: Syntax error; token: ")", near: ":v)""#
    );
    assert_eq!(
        cond_err("a ^ :v", &v),
        r#"Invalid ConditionExpression: Syntax error; token: "^", near: "a ^ :v""#
    );
    assert_eq!(
        cond_err("a = :v AND", &v),
        r#"Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "AND""#
    );
    assert!(cond_err("(a = :v", &v).contains(r#"token: "<EOF>""#));
    assert!(cond_err("a BETWEEN :v", &v).contains(r#"token: "<EOF>""#));
    assert!(cond_err("a IN :v", &v).contains(r#"token: ":v""#));
    assert!(cond_err("a[x] = :v", &v).contains(r#"token: "x""#));
    assert!(cond_err("a.[1] = :v", &v).contains("Syntax error"));
    assert!(cond_err("a ^ :v", &v).contains(r#"token: "^""#));
    assert!(cond_err("a = :v AND", &v).contains(r#"token: "<EOF>""#));
    assert_eq!(
        cond_err("  ", &[]),
        "Invalid ConditionExpression: The expression can not be empty;"
    );
}

#[test]
fn semantic_errors() {
    let v = [(":v", r#"{"N":"1"}"#)];
    assert_eq!(
        cond_err("status = :v", &v),
        "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status"
    );
    assert_eq!(
        cond_err("a.Size = :v", &v),
        "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: Size"
    );
    assert_eq!(
        cond_err("#x = :v", &v),
        "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #x"
    );
    assert_eq!(
        cond_err("a = :x", &v),
        "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :x"
    );
    assert_eq!(
        cond_err("foo(a)", &v),
        "Invalid ConditionExpression: Invalid function name; function: foo"
    );
    // An unknown function outranks an earlier undefined value.
    assert_eq!(
        cond_err("a = :x AND foo(a)", &v),
        "Invalid ConditionExpression: Invalid function name; function: foo"
    );
    assert_eq!(
        cond_err("attribute_exists(a, b)", &v),
        "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2"
    );
    assert_eq!(
        cond_err("attribute_exists(:v)", &v),
        "Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists"
    );
    assert_eq!(
        cond_err("begins_with(a, :v)", &v),
        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"
    );
    assert_eq!(
        cond_err("attribute_exists(a) = :v", &v),
        "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: attribute_exists"
    );
    assert_eq!(
        cond_err("size(a)", &v),
        "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: size"
    );
    assert_eq!(
        cond_err("a = a", &v),
        "Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a]"
    );
    assert_eq!(
        cond_err("attribute_type(a, :t)", &[(":t", r#"{"S":"STRING"}"#)]),
        "Invalid ConditionExpression: Invalid attribute type name found; type: STRING, valid types: {N,BS,L,B,NULL,M,S,SS,NS,BOOL}"
    );
    assert_eq!(
        cond_err(":v <= a", &[(":v", r#"{"L":[]}"#)]),
        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: <=, operand type: L"
    );
    assert_eq!(
        cond_err("a BETWEEN :v AND :v", &[(":v", r#"{"BOOL":true}"#)]),
        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: BETWEEN, operand type: BOOL"
    );
    assert_eq!(
        cond_err("((a = :v))", &v),
        "Invalid ConditionExpression: The expression has redundant parentheses;"
    );
    assert_eq!(
        cond_err(
            "a BETWEEN :hi AND :lo",
            &[(":lo", r#"{"N":"1"}"#), (":hi", r#"{"N":"5"}"#)]
        ),
        "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}"
    );
    assert_eq!(
        cond_err(
            "a BETWEEN :lo AND :hi",
            &[(":lo", r#"{"N":"1"}"#), (":hi", r#"{"S":"5"}"#)]
        ),
        "Invalid ConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:5}"
    );
}

#[test]
fn placeholder_maps() {
    let empty_n = BTreeMap::new();
    let empty_v = BTreeMap::new();
    assert_eq!(
        Placeholders::new(Some(&empty_n), None).unwrap_err().message,
        "ExpressionAttributeNames must not be empty"
    );
    assert_eq!(
        Placeholders::new(None, Some(&empty_v)).unwrap_err().message,
        "ExpressionAttributeValues must not be empty"
    );
    let bad_n = names(&[("a", "a")]);
    assert_eq!(
        Placeholders::new(Some(&bad_n), None).unwrap_err().message,
        r#"ExpressionAttributeNames contains invalid key: Syntax error; key: "a""#
    );
    let empty_name = names(&[("#a", "")]);
    assert_eq!(
        Placeholders::new(Some(&empty_name), None)
            .unwrap_err()
            .message,
        "ExpressionAttributeNames contains invalid value: Empty attribute name for key #a"
    );
    let long_key = format!("#{}", "a".repeat(300));
    let long = names(&[(long_key.as_str(), "a")]);
    assert_eq!(
        Placeholders::new(Some(&long), None).unwrap_err().message,
        "ExpressionAttributeNames contains invalid key: The expression attribute map contains a key that is too long; size of key: 301"
    );
    let bad_v = vals(&[(":ok", r#"{"S":"a"}"#), ("b", r#"{"S":"a"}"#)]);
    assert_eq!(
        Placeholders::new(None, Some(&bad_v)).unwrap_err().message,
        r#"ExpressionAttributeValues contains invalid key: Syntax error; key: "b""#
    );
    let v = vals(&[
        (":a", r#"{"S":"a"}"#),
        (":b", r#"{"S":"a"}"#),
        (":c", r#"{"S":"a"}"#),
    ]);
    let n = names(&[("#a", "a"), ("#b", "b")]);
    assert_eq!(
        cond("a = :b", None, Some(&v)).unwrap_err().message,
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:a, :c}"
    );
    assert_eq!(
        cond("#a = :a", Some(&n), Some(&v)).unwrap_err().message,
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}"
    );
    // Placeholders shared across two expressions of one request.
    let mut ph = Placeholders::new(Some(&n), Some(&v)).unwrap();
    parse_condition("#a = :a AND #b = :b", ExprKind::Condition, &mut ph).unwrap();
    parse_update("SET x = :c", &mut ph).unwrap();
    assert!(ph.finish().is_ok());
    // Names may resolve to reserved words and to any characters.
    let n = names(&[("#s", "status"), ("#d", "a.b")]);
    let item = json_item(r#"{"status":{"S":"x"},"a.b":{"S":"y"}}"#);
    let c = cond(
        "attribute_exists(#s) AND attribute_exists(#d)",
        Some(&n),
        None,
    )
    .unwrap();
    assert!(evaluate(&c, &item));
    // Values in JSON: DynamoDB's wrapping of value errors.
    let mut bytes = br#"{":b":{"SS":[]}}"#.to_vec();
    let json = simd_json::to_borrowed_value(&mut bytes).unwrap();
    assert_eq!(
        values_from_json(&json),
        Err(crate::model::ValueError::Validation(
            "ExpressionAttributeValues contains invalid value: One or more parameter values were invalid: An string set  may not be empty for key :b".to_string()
        ))
    );
}

#[test]
fn limits() {
    let v = vals(&[(":v", r#"{"N":"1"}"#)]);
    // 100k '(' — rejected by size before any recursion.
    let deep = format!("{}a = :v{}", "(".repeat(100_000), ")".repeat(100_000));
    let e = cond(&deep, None, Some(&v)).unwrap_err().message;
    assert!(
        e.starts_with("Invalid ConditionExpression: Expression size has exceeded"),
        "{e}"
    );
    // Within 4 KB but deep: DynamoDB's errors, no stack overflow.
    let deep = format!("{}a = :v{}", "NOT (".repeat(500), ")".repeat(500));
    assert_eq!(
        cond(&deep, None, Some(&v)).unwrap_err().message,
        "Invalid ConditionExpression: The expression contains too many operators; operator count: 301"
    );
    let deep = format!("{}a = :v{}", "(".repeat(2000), ")".repeat(2000));
    assert_eq!(
        cond(&deep, None, Some(&v)).unwrap_err().message,
        "Invalid ConditionExpression: The expression has redundant parentheses;"
    );
    // The deepest valid nesting parses (on a test thread's 2 MB stack).
    let ok = format!("{}a = :v{}", "NOT (".repeat(299), ")".repeat(299));
    assert!(cond(&ok, None, Some(&v)).is_ok());
    // 301 operators.
    let many = vec!["a = :v"; 151].join(" AND ");
    let e = cond(&many, None, Some(&v)).unwrap_err().message;
    assert!(e.contains("too many operators"), "{e}");
    let fine = vec!["a = :v"; 150].join(" OR ");
    assert!(cond(&fine, None, Some(&v)).is_ok());
    // IN takes at most 100 operands.
    let list = vec![":v"; 101].join(",");
    let e = cond(&format!("a IN ({list})"), None, Some(&v))
        .unwrap_err()
        .message;
    assert_eq!(
        e,
        "Invalid ConditionExpression: The IN operator is provided with too many operands; number of operands: 101"
    );
    let list = vec![":v"; 100].join(",");
    assert!(cond(&format!("a IN ({list})"), None, Some(&v)).is_ok());
    assert_eq!(
        cond("a.b[1000000000000] = :v", None, Some(&v))
            .unwrap_err()
            .message,
        "Invalid ConditionExpression: List index is not within the allowable range; index: [1000000000000]"
    );
    // Document paths at most 32 deep.
    let path = vec!["a"; 33].join(".");
    let e = cond(&format!("attribute_exists({path})"), None, None)
        .unwrap_err()
        .message;
    assert!(e.contains("nesting levels: 33"), "{e}");
    let path = vec!["a"; 32].join(".");
    assert!(cond(&format!("attribute_exists({path})"), None, None).is_ok());
}
