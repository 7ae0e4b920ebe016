//! Tests of the expression engine: parsing (round trips through evaluation,
//! precedence, every error message), evaluation, updates, projections, key
//! conditions, and a seeded randomized comparison against a reference
//! evaluator (set SEED=… to replay; the seed is printed on failure).

use std::collections::BTreeMap;

use super::*;
use crate::model::value::item_from_json;
use crate::model::{Item, Value};

fn json_item(text: &str) -> Item {
    let mut bytes = text.as_bytes().to_vec();
    let json = simd_json::to_borrowed_value(&mut bytes).expect("test JSON");
    item_from_json(&json).expect("test item")
}

fn json_value(text: &str) -> Value {
    let mut bytes = text.as_bytes().to_vec();
    let json = simd_json::to_borrowed_value(&mut bytes).expect("test JSON");
    Value::from_json(&json).expect("test value")
}

/// Values from `[(":k", "{…json…}")]`.
fn vals(pairs: &[(&str, &str)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json_value(v)))
        .collect()
}

fn names(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Parses a condition with optional maps, requiring every placeholder used.
fn cond(
    text: &str,
    n: Option<&BTreeMap<String, String>>,
    v: Option<&BTreeMap<String, Value>>,
) -> Result<Condition, ExprError> {
    let mut ph = Placeholders::new(n, v)?;
    let c = parse_condition(text, ExprKind::Condition, &mut ph)?;
    ph.finish()?;
    Ok(c)
}

fn cond_err(text: &str, v: &[(&str, &str)]) -> String {
    let v = vals(v);
    let n = names(&[("#n", "n"), ("#s", "status")]);
    let mut ph = Placeholders::new(Some(&n), if v.is_empty() { None } else { Some(&v) })
        .expect("maps");
    match parse_condition(text, ExprKind::Condition, &mut ph) {
        Ok(c) => panic!("expected an error for {text:?}, got {c:?}"),
        Err(e) => e.message,
    }
}

/// Evaluates `text` on `item` with values `v` (names #n→n, #s→status).
fn check(text: &str, item: &str, v: &[(&str, &str)]) -> bool {
    let v = vals(v);
    let n = names(&[("#n", "n"), ("#s", "status")]);
    let mut ph = Placeholders::new(Some(&n), if v.is_empty() { None } else { Some(&v) })
        .expect("maps");
    let c = parse_condition(text, ExprKind::Condition, &mut ph)
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    evaluate(&c, &json_item(item))
}

const ITEM: &str = r#"{
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
    assert!(!check("ss < :v", ITEM, &[(":v", r#"{"SS":["z"]}"#)]));
    assert!(check("ss = :v", ITEM, &[(":v", r#"{"SS":["y","x"]}"#)]));
    assert!(check("m.b = :v", ITEM, &[(":v", r#"{"M":{"c":{"S":"C"}}}"#)]));
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
    assert!(check("attribute_type(nul, :t)", ITEM, &[(":t", &t("NULL"))]));
    assert!(!check("attribute_type(n, :t)", ITEM, &[(":t", &t("S"))]));
    assert!(check("begins_with(s, :p)", ITEM, &[(":p", r#"{"S":"hel"}"#)]));
    assert!(!check("begins_with(s, :p)", ITEM, &[(":p", r#"{"S":"el"}"#)]));
    assert!(check("begins_with(b, :p)", ITEM, &[(":p", r#"{"B":"AQ=="}"#)]));
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
    assert!(check("size(b) BETWEEN :a AND :b", ITEM, &[(":a", &n("3")), (":b", &n("3"))]));
    assert!(!check("size(n) >= :v", ITEM, &[(":v", &n("0"))]));
    assert!(!check("size(nope) >= :v", ITEM, &[(":v", &n("0"))]));
    assert!(check(":v < size(s)", ITEM, &[(":v", &n("4"))]));
}

#[test]
fn between_and_in() {
    let n = |x: &str| format!(r#"{{"N":"{x}"}}"#);
    assert!(check("n BETWEEN :a AND :b", ITEM, &[(":a", &n("10")), (":b", &n("11"))]));
    assert!(!check("n BETWEEN :a AND :b", ITEM, &[(":a", &n("11")), (":b", &n("12"))]));
    assert!(!check("s BETWEEN :a AND :b", ITEM, &[(":a", &n("1")), (":b", &n("12"))]));
    assert!(check("n IN (:a, :b)", ITEM, &[(":a", &n("1")), (":b", &n("10"))]));
    assert!(!check("n IN (:a)", ITEM, &[(":a", &n("1"))]));
    assert!(check("s IN (:a, n)", ITEM, &[(":a", r#"{"S":"hello"}"#)]));
    // BETWEEN's AND binds to BETWEEN, not to the logical AND.
    assert!(check(
        "n BETWEEN :a AND :b AND s = :s",
        ITEM,
        &[(":a", &n("1")), (":b", &n("20")), (":s", r#"{"S":"hello"}"#)]
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
        cond_err("((a = :v))", &v),
        "Invalid ConditionExpression: The expression has redundant parentheses;"
    );
    assert_eq!(
        cond_err("a BETWEEN :hi AND :lo", &[(":lo", r#"{"N":"1"}"#), (":hi", r#"{"N":"5"}"#)]),
        "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}"
    );
    assert_eq!(
        cond_err("a BETWEEN :lo AND :hi", &[(":lo", r#"{"N":"1"}"#), (":hi", r#"{"S":"5"}"#)]),
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
    let bad_v = vals(&[(":ok", r#"{"S":"a"}"#), ("b", r#"{"S":"a"}"#)]);
    assert_eq!(
        Placeholders::new(None, Some(&bad_v)).unwrap_err().message,
        r#"ExpressionAttributeValues contains invalid key: Syntax error; key: "b""#
    );
    let v = vals(&[(":a", r#"{"S":"a"}"#), (":b", r#"{"S":"a"}"#), (":c", r#"{"S":"a"}"#)]);
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
    let c = cond("attribute_exists(#s) AND attribute_exists(#d)", Some(&n), None).unwrap();
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
    assert!(e.starts_with("Invalid ConditionExpression: Expression size has exceeded"), "{e}");
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
    let e = cond(&format!("a IN ({list})"), None, Some(&v)).unwrap_err().message;
    assert_eq!(
        e,
        "Invalid ConditionExpression: The IN operator is provided with too many operands; number of operands: 101"
    );
    let list = vec![":v"; 100].join(",");
    assert!(cond(&format!("a IN ({list})"), None, Some(&v)).is_ok());
    assert_eq!(
        cond("a.b[1000000000000] = :v", None, Some(&v)).unwrap_err().message,
        "Invalid ConditionExpression: List index is not within the allowable range; index: [1000000000000]"
    );
    // Document paths at most 32 deep.
    let path = vec!["a"; 33].join(".");
    let e = cond(&format!("attribute_exists({path})"), None, None).unwrap_err().message;
    assert!(e.contains("nesting levels: 33"), "{e}");
    let path = vec!["a"; 32].join(".");
    assert!(cond(&format!("attribute_exists({path})"), None, None).is_ok());
}

// ---- updates ---------------------------------------------------------------

fn update(text: &str, item: &str, v: &[(&str, &str)]) -> Result<Item, String> {
    let v = vals(v);
    let n = names(&[("#s", "status")]);
    let mut ph = Placeholders::new(Some(&n), if v.is_empty() { None } else { Some(&v) })
        .map_err(|e| e.message)?;
    let u = parse_update(text, &mut ph).map_err(|e| e.message)?;
    apply_update(&u, &json_item(item)).map_err(|e| e.message)
}

fn show(item: &Item) -> String {
    let mut out = Vec::new();
    crate::model::value::write_json_map(&mut out, item);
    String::from_utf8(out).unwrap()
}

fn updated(text: &str, item: &str, v: &[(&str, &str)]) -> String {
    show(&update(text, item, v).unwrap_or_else(|e| panic!("{text}: {e}")))
}

#[test]
fn update_set_forms() {
    let base = r#"{"pk":{"S":"k"},"a":{"N":"1"},"b":{"N":"2"},"l":{"L":[{"S":"x"},{"S":"y"}]},"m":{"M":{"x":{"N":"1"}}}}"#;
    assert_eq!(
        updated("SET a = b, b = a", base, &[]),
        r#"{"a":{"N":"2"},"b":{"N":"1"},"l":{"L":[{"S":"x"},{"S":"y"}]},"m":{"M":{"x":{"N":"1"}}},"pk":{"S":"k"}}"#
    );
    let n = |x: &str| format!(r#"{{"N":"{x}"}}"#);
    assert!(updated("SET a = a + :d", base, &[(":d", &n("0.5"))]).contains(r#""a":{"N":"1.5"}"#));
    assert!(updated("SET a = :d - b", base, &[(":d", &n("0.5"))]).contains(r#""a":{"N":"-1.5"}"#));
    assert!(updated("SET c = if_not_exists(c, :d)", base, &[(":d", &n("7"))]).contains(r#""c":{"N":"7"}"#));
    assert!(updated("SET a = if_not_exists(a, :d)", base, &[(":d", &n("7"))]).contains(r#""a":{"N":"1"}"#));
    assert!(updated("SET c = if_not_exists(c, :d) + :d", base, &[(":d", &n("7"))]).contains(r#""c":{"N":"14"}"#));
    assert!(
        updated("SET l = list_append(l, :z)", base, &[(":z", r#"{"L":[{"S":"z"}]}"#)])
            .contains(r#""l":{"L":[{"S":"x"},{"S":"y"},{"S":"z"}]}"#)
    );
    assert!(
        updated("SET l = list_append(:z, l)", base, &[(":z", r#"{"L":[{"S":"z"}]}"#)])
            .contains(r#""l":{"L":[{"S":"z"},{"S":"x"},{"S":"y"}]}"#)
    );
    assert!(
        updated("SET n = list_append(if_not_exists(n, :e), :z)", base, &[(":z", r#"{"L":[{"S":"z"}]}"#), (":e", r#"{"L":[]}"#)])
            .contains(r#""n":{"L":[{"S":"z"}]}"#)
    );
    // Index past the end appends; index in range replaces.
    assert!(updated("SET l[9] = :z", base, &[(":z", r#"{"S":"z"}"#)]).contains(r#""l":{"L":[{"S":"x"},{"S":"y"},{"S":"z"}]}"#));
    assert!(updated("SET l[0] = :z", base, &[(":z", r#"{"S":"z"}"#)]).contains(r#""l":{"L":[{"S":"z"},{"S":"y"}]}"#));
    assert!(updated("SET m.y.z = :z, m.w = :z", r#"{"m":{"M":{"y":{"M":{}}}}}"#, &[(":z", r#"{"S":"z"}"#)]).contains(r#""m":{"M":{"w":{"S":"z"},"y":{"M":{"z":{"S":"z"}}}}}"#));
    assert!(updated("SET #s = :z", base, &[(":z", r#"{"S":"z"}"#)]).contains(r#""status":{"S":"z"}"#));
}

#[test]
fn update_remove_add_delete() {
    let base = r#"{"l":{"L":[{"N":"0"},{"N":"1"},{"N":"2"},{"N":"3"}]},"ss":{"SS":["a","b"]},"n":{"N":"5"},"m":{"M":{"x":{"N":"1"}}}}"#;
    // Removing list elements names original positions.
    assert!(updated("REMOVE l[0], l[2]", base, &[]).contains(r#""l":{"L":[{"N":"1"},{"N":"3"}]}"#));
    assert!(updated("REMOVE l[7], m.zz, zz", base, &[]).contains(r#""l":{"L":[{"N":"0"},{"N":"1"},{"N":"2"},{"N":"3"}]}"#));
    assert!(!updated("REMOVE m.x, n", base, &[]).contains(r#""n""#));
    let n = |x: &str| format!(r#"{{"N":"{x}"}}"#);
    assert!(updated("ADD n :d", base, &[(":d", &n("-6"))]).contains(r#""n":{"N":"-1"}"#));
    assert!(updated("ADD fresh :d", base, &[(":d", &n("3"))]).contains(r#""fresh":{"N":"3"}"#));
    assert!(updated("ADD ss :s", base, &[(":s", r#"{"SS":["b","c"]}"#)]).contains(r#""ss":{"SS":["a","b","c"]}"#));
    assert!(updated("ADD m.ns :s", base, &[(":s", r#"{"NS":["1"]}"#)]).contains(r#""ns":{"NS":["1"]}"#));
    assert!(updated("DELETE ss :s", base, &[(":s", r#"{"SS":["a","q"]}"#)]).contains(r#""ss":{"SS":["b"]}"#));
    // Deleting the last elements removes the attribute.
    assert!(!updated("DELETE ss :s", base, &[(":s", r#"{"SS":["a","b"]}"#)]).contains(r#""ss""#));
    assert!(updated("DELETE nothing :s", base, &[(":s", r#"{"SS":["a"]}"#)]).contains(r#""ss""#));
    // All four sections, any order, case-insensitive.
    let out = updated(
        "remove m add n :d set x = :d delete ss :s",
        base,
        &[(":d", &n("1")), (":s", r#"{"SS":["a"]}"#)],
    );
    assert!(out.contains(r#""n":{"N":"6"}"#) && out.contains(r#""x":{"N":"1"}"#) && !out.contains(r#""m""#));
}

#[test]
fn update_runtime_errors() {
    let base = r#"{"s":{"S":"x"},"n":{"N":"1"},"ss":{"SS":["a"]},"l":{"L":[]},"m":{"M":{}}}"#;
    let n1 = [(":d", r#"{"N":"1"}"#)];
    let wrong = "An operand in the update expression has an incorrect data type";
    assert_eq!(update("SET x = s + :d", base, &n1), Err(wrong.to_string()));
    assert_eq!(update("SET x = list_append(s, l)", base, &[]), Err(wrong.to_string()));
    assert_eq!(update("ADD s :d", base, &n1), Err(wrong.to_string()));
    assert_eq!(update("ADD ss :d", base, &[(":d", r#"{"NS":["1"]}"#)]), Err(wrong.to_string()));
    assert_eq!(update("DELETE n :d", base, &[(":d", r#"{"NS":["1"]}"#)]), Err(wrong.to_string()));
    let nope = "The provided expression refers to an attribute that does not exist in the item";
    assert_eq!(update("SET x = nope", base, &[]), Err(nope.to_string()));
    assert_eq!(update("SET x = nope + :d", base, &n1), Err(nope.to_string()));
    let invalid = "The document path provided in the update expression is invalid for update";
    for text in ["SET a.b = :d", "SET s.b = :d", "SET m[0] = :d", "SET l.x = :d", "REMOVE a.b", "ADD a.b :d", "SET nope[0] = :d"] {
        assert_eq!(update(text, base, &n1), Err(invalid.to_string()), "{text}");
    }
    let big = "9.9999999999999999999999999999999999999E+125";
    assert_eq!(
        update("SET x = :a + :a", base, &[(":a", &format!(r#"{{"N":"{big}"}}"#))]),
        Err("Number overflow. Attempting to store a number with magnitude larger than supported range".to_string())
    );
    let x = "x".repeat(300 * 1024);
    assert_eq!(
        update("SET a = :x, b = :x", base, &[(":x", &format!(r#"{{"S":"{x}"}}"#))]),
        Err("Item size to update has exceeded the maximum allowed size".to_string())
    );
}

#[test]
fn update_parse_errors() {
    let e = |text: &str, v: &[(&str, &str)]| update(text, "{}", v).unwrap_err();
    let s = [(":a", r#"{"S":"a"}"#)];
    for text in ["whatever", "set a", "set a b", "set a = b + c + d", "remove a = b", "add a b", "set a = b * c", "set :a = b", "SET a = :a,", "delete a"] {
        assert!(e(text, &s).starts_with("Invalid UpdateExpression: Syntax error; "), "{text}: {}", e(text, &s));
    }
    assert_eq!(
        e("SET x", &[]),
        r#"Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "x""#
    );
    assert_eq!(
        e("set a = :a set b = :a", &s),
        r#"Invalid UpdateExpression: The "SET" section can only be used once in an update expression;"#
    );
    assert_eq!(
        e("remove abort", &[]),
        "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: abort"
    );
    assert_eq!(
        e("SET a = if_not_exist(a, :a)", &s),
        "Invalid UpdateExpression: Invalid function name; function: if_not_exist"
    );
    assert_eq!(
        e("SET a = if_not_exists(a)", &[]),
        "Invalid UpdateExpression: Incorrect number of operands for operator or function; operator or function: if_not_exists, number of operands: 1"
    );
    assert_eq!(
        e("SET a = if_not_exists(:a, b)", &s),
        "Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists"
    );
    assert_eq!(
        e("SET a = a + :a", &s),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S"
    );
    assert_eq!(
        e("SET a = list_append(:a, a)", &s),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: S"
    );
    assert_eq!(
        e("ADD a :a", &s),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING, typeSet: ALLOWED_FOR_ADD_OPERAND"
    );
    assert_eq!(
        e("DELETE a :n", &[(":n", r#"{"N":"1"}"#)]),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER, typeSet: ALLOWED_FOR_DELETE_OPERAND"
    );
    assert_eq!(
        e("SET a.b = :a REMOVE a", &s),
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a]"
    );
    assert_eq!(
        e("SET a = :a, a = :a", &s),
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"
    );
    assert_eq!(
        e("remove a.c set a[1] = :a", &s),
        "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, c], path two: [a, [1]]"
    );
    assert!(update("SET l[0] = :a, l[1] = :a REMOVE m.x", r#"{"l":{"L":[]},"m":{"M":{}}}"#, &s).is_ok());
    // Key attributes.
    let v = vals(&s);
    let mut ph = Placeholders::new(None, Some(&v)).unwrap();
    let u = parse_update("SET x = :a REMOVE pk.y", &mut ph).unwrap();
    assert_eq!(
        u.check_key_attributes(&["pk", "sk"]).unwrap_err().message,
        "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"
    );
}

// ---- projections and key conditions -----------------------------------------

fn project(text: &str, item: &str) -> Result<String, String> {
    let n = names(&[("#s", "status")]);
    let mut ph = Placeholders::new(Some(&n), None).map_err(|e| e.message)?;
    let p = parse_projection(text, &mut ph).map_err(|e| e.message)?;
    Ok(show(&p.apply(&json_item(item))))
}

#[test]
fn projections() {
    let item = r#"{"a":{"N":"1"},"status":{"S":"s"},"l":{"L":[{"N":"0"},{"M":{"x":{"N":"1"},"y":{"N":"2"}}},{"N":"2"}]},"m":{"M":{"p":{"S":"P"},"q":{"S":"Q"}}}}"#;
    assert_eq!(project("a, #s", item).unwrap(), r#"{"a":{"N":"1"},"status":{"S":"s"}}"#);
    assert_eq!(project("m.q", item).unwrap(), r#"{"m":{"M":{"q":{"S":"Q"}}}}"#);
    assert_eq!(project("l[2], l[0]", item).unwrap(), r#"{"l":{"L":[{"N":"0"},{"N":"2"}]}}"#);
    assert_eq!(project("l[1].y, m.p", item).unwrap(), r#"{"l":{"L":[{"M":{"y":{"N":"2"}}}]},"m":{"M":{"p":{"S":"P"}}}}"#);
    assert_eq!(project("nope, m.nope, l[7], a.b", item).unwrap(), "{}");
    assert_eq!(
        project("a, a", item).unwrap_err(),
        "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"
    );
    assert_eq!(
        project("m.p, m", item).unwrap_err(),
        "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [m, p], path two: [m]"
    );
    assert!(project("l[0], l.x", item).unwrap_err().contains("conflict"));
    assert_eq!(
        project("status", item).unwrap_err(),
        "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: status"
    );
    assert!(project("a,", item).unwrap_err().contains("Syntax error"));
    assert!(project("a = b", item).unwrap_err().contains("Syntax error"));
}

fn key_terms(text: &str, v: &[(&str, &str)]) -> Result<Vec<KeyTerm>, String> {
    let v = vals(v);
    let v = (!v.is_empty()).then_some(&v);
    let mut ph = Placeholders::new(None, v).map_err(|e| e.message)?;
    let c = parse_condition(text, ExprKind::KeyCondition, &mut ph).map_err(|e| e.message)?;
    key_condition_terms(&c).map_err(|e| e.message)
}

#[test]
fn key_conditions() {
    let v = [(":p", r#"{"S":"p"}"#), (":a", r#"{"N":"1"}"#), (":b", r#"{"N":"2"}"#)];
    let t = key_terms("pk = :p AND sk BETWEEN :a AND :b", &v).unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].attribute, "pk");
    assert!(matches!(&t[1].op, KeyOp::Between(..)));
    let t = key_terms(":a < sk AND pk = :p", &[(":p", r#"{"S":"p"}"#), (":a", r#"{"N":"1"}"#)]).unwrap();
    assert_eq!(t[0].op, KeyOp::Cmp(CmpOp::Gt, json_value(r#"{"N":"1"}"#)));
    let t = key_terms("pk = :p AND begins_with(sk, :q)", &[(":p", r#"{"S":"p"}"#), (":q", r#"{"S":"q"}"#)]).unwrap();
    assert_eq!(t[1].op, KeyOp::BeginsWith(json_value(r#"{"S":"q"}"#)));
    let p = [(":p", r#"{"S":"p"}"#)];
    assert_eq!(
        key_terms("pk = :p OR pk = :p", &p).unwrap_err(),
        "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: OR"
    );
    assert!(key_terms("pk <> :p", &p).unwrap_err().contains("<>"));
    assert!(key_terms("attribute_exists(pk)", &[]).unwrap_err().contains("attribute_exists"));
    assert_eq!(
        key_terms("pk = :p AND a = :p AND b = :p", &p).unwrap_err(),
        "Conditions can be of length 1 or 2 only"
    );
    assert_eq!(key_terms("pk = sk", &[]).unwrap_err(), "Query key condition not supported");
}

// ---- seeded randomized comparison against a reference evaluator ---------

/// A tiny PRNG so the test needs no crate and replays from a printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Debug, PartialEq)]
enum RVal {
    N(i64),
    S(String),
}

impl RVal {
    fn json(&self) -> String {
        match self {
            RVal::N(n) => format!(r#"{{"N":"{n}"}}"#),
            RVal::S(s) => format!(r#"{{"S":"{s}"}}"#),
        }
    }
    fn cmp(&self, other: &RVal) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (RVal::N(a), RVal::N(b)) => Some(a.cmp(b)),
            (RVal::S(a), RVal::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            _ => None,
        }
    }
}

#[derive(Debug)]
enum RCond {
    Cmp(&'static str, usize, RVal),
    Between(usize, RVal, RVal),
    In(usize, Vec<RVal>),
    Exists(usize, bool),
    BeginsWith(usize, String),
    And(Box<RCond>, Box<RCond>),
    Or(Box<RCond>, Box<RCond>),
    Not(Box<RCond>),
}

const ATTRS: [&str; 3] = ["a", "b", "c"];
const STRS: [&str; 4] = ["", "a", "ab", "b"];

fn rand_val(r: &mut Rng) -> RVal {
    if r.below(2) == 0 {
        RVal::N(r.below(7) as i64 - 3)
    } else {
        RVal::S(STRS[r.below(4) as usize].to_string())
    }
}

fn rand_cond(r: &mut Rng, depth: u32) -> RCond {
    let leaf = depth == 0 || r.below(3) == 0;
    if !leaf {
        return match r.below(3) {
            0 => RCond::And(Box::new(rand_cond(r, depth - 1)), Box::new(rand_cond(r, depth - 1))),
            1 => RCond::Or(Box::new(rand_cond(r, depth - 1)), Box::new(rand_cond(r, depth - 1))),
            _ => RCond::Not(Box::new(rand_cond(r, depth - 1))),
        };
    }
    let attr = r.below(3) as usize;
    match r.below(5) {
        0 => {
            let ops = ["=", "<>", "<", "<=", ">", ">="];
            RCond::Cmp(ops[r.below(6) as usize], attr, rand_val(r))
        }
        1 => {
            // Bounds of one type in order, as DynamoDB requires of literals.
            let (x, y) = (rand_val(r), rand_val(r));
            let y = match (&x, y) {
                (RVal::N(_), RVal::S(_)) => RVal::N(r.below(7) as i64 - 3),
                (RVal::S(_), RVal::N(_)) => RVal::S(STRS[r.below(4) as usize].to_string()),
                (_, y) => y,
            };
            if x.cmp(&y) == Some(std::cmp::Ordering::Greater) {
                RCond::Between(attr, y, x)
            } else {
                RCond::Between(attr, x, y)
            }
        }
        2 => RCond::In(attr, (0..1 + r.below(3)).map(|_| rand_val(r)).collect()),
        3 => RCond::Exists(attr, r.below(2) == 0),
        _ => RCond::BeginsWith(attr, STRS[r.below(4) as usize].to_string()),
    }
}

/// Renders with as few parentheses as precedence allows; values become
/// placeholders, attribute `a` is sometimes written `#a`.
fn render(c: &RCond, r: &mut Rng, values: &mut Vec<RVal>, min_prec: u8) -> String {
    let val = |v: &RVal, values: &mut Vec<RVal>| {
        values.push(v.clone());
        format!(":v{}", values.len() - 1)
    };
    let name = |i: usize, r: &mut Rng| {
        if i == 0 && r.below(2) == 0 { "#a".to_string() } else { ATTRS[i].to_string() }
    };
    let (prec, text) = match c {
        RCond::Cmp(op, a, v) => (4, format!("{} {op} {}", name(*a, r), val(v, values))),
        RCond::Between(a, x, y) => {
            let n = name(*a, r);
            let (x, y) = (val(x, values), val(y, values));
            (4, format!("{n} BETWEEN {x} AND {y}"))
        }
        RCond::In(a, list) => {
            let n = name(*a, r);
            let items: Vec<String> = list.iter().map(|v| val(v, values)).collect();
            (4, format!("{n} IN ({})", items.join(", ")))
        }
        RCond::Exists(a, yes) => {
            let f = if *yes { "attribute_exists" } else { "attribute_not_exists" };
            (4, format!("{f}({})", name(*a, r)))
        }
        RCond::BeginsWith(a, p) => {
            let n = name(*a, r);
            (4, format!("begins_with({n}, {})", val(&RVal::S(p.clone()), values)))
        }
        RCond::And(x, y) => (2, format!("{} AND {}", render(x, r, values, 2), render(y, r, values, 3))),
        RCond::Or(x, y) => (1, format!("{} OR {}", render(x, r, values, 1), render(y, r, values, 2))),
        RCond::Not(x) => (3, format!("NOT {}", render(x, r, values, 3))),
    };
    if prec < min_prec { format!("({text})") } else { text }
}

fn reference(c: &RCond, item: &[Option<RVal>; 3]) -> bool {
    use std::cmp::Ordering::*;
    match c {
        RCond::Cmp(op, a, v) => {
            let Some(x) = &item[*a] else { return *op == "<>" };
            match *op {
                "=" => x == v,
                "<>" => x != v,
                _ => match x.cmp(v) {
                    None => false,
                    Some(o) => match *op {
                        "<" => o == Less,
                        "<=" => o != Greater,
                        ">" => o == Greater,
                        _ => o != Less,
                    },
                },
            }
        }
        RCond::Between(a, lo, hi) => item[*a].as_ref().is_some_and(|x| {
            x.cmp(lo).is_some_and(|o| o != Less) && x.cmp(hi).is_some_and(|o| o != Greater)
        }),
        RCond::In(a, list) => item[*a].as_ref().is_some_and(|x| list.contains(x)),
        RCond::Exists(a, yes) => item[*a].is_some() == *yes,
        RCond::BeginsWith(a, p) => matches!(&item[*a], Some(RVal::S(s)) if s.starts_with(p.as_str())),
        RCond::And(x, y) => reference(x, item) && reference(y, item),
        RCond::Or(x, y) => reference(x, item) || reference(y, item),
        RCond::Not(x) => !reference(x, item),
    }
}

#[test]
fn random_conditions_match_reference() {
    let seed: u64 = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    let mut r = Rng(seed | 1);
    let n = names(&[("#a", "a")]);
    for round in 0..500 {
        let c = rand_cond(&mut r, 4);
        let mut values = Vec::new();
        let text = render(&c, &mut r, &mut values, 0);
        let v: BTreeMap<String, Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!(":v{i}"), json_value(&v.json())))
            .collect();
        let uses_name = text.contains("#a");
        let mut ph = Placeholders::new(uses_name.then_some(&n), (!v.is_empty()).then_some(&v))
            .unwrap_or_else(|e| panic!("seed {seed} round {round}: {e}"));
        let parsed = parse_condition(&text, ExprKind::Filter, &mut ph)
            .unwrap_or_else(|e| panic!("seed {seed} round {round}: {text}: {e}"));
        assert!(ph.finish().is_ok(), "seed {seed} round {round}: {text}");
        for _ in 0..8 {
            let attrs: [Option<RVal>; 3] = std::array::from_fn(|_| {
                if r.below(4) == 0 { None } else { Some(rand_val(&mut r)) }
            });
            let mut item = Item::new();
            for (i, a) in attrs.iter().enumerate() {
                if let Some(a) = a {
                    item.insert(ATTRS[i].to_string(), json_value(&a.json()));
                }
            }
            assert_eq!(
                evaluate(&parsed, &item),
                reference(&c, &attrs),
                "seed {seed} round {round}: {text} on {attrs:?}"
            );
        }
    }
}
