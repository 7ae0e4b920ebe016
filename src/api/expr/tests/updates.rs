//! Update, projection and key-condition tests.

use super::super::*;
use super::{json_item, json_value, names, vals};
use crate::model::Item;

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
    assert!(
        updated("SET c = if_not_exists(c, :d)", base, &[(":d", &n("7"))])
            .contains(r#""c":{"N":"7"}"#)
    );
    assert!(
        updated("SET a = if_not_exists(a, :d)", base, &[(":d", &n("7"))])
            .contains(r#""a":{"N":"1"}"#)
    );
    assert!(
        updated(
            "SET c = if_not_exists(c, :d) + :d",
            base,
            &[(":d", &n("7"))]
        )
        .contains(r#""c":{"N":"14"}"#)
    );
    assert!(
        updated(
            "SET l = list_append(l, :z)",
            base,
            &[(":z", r#"{"L":[{"S":"z"}]}"#)]
        )
        .contains(r#""l":{"L":[{"S":"x"},{"S":"y"},{"S":"z"}]}"#)
    );
    assert!(
        updated(
            "SET l = list_append(:z, l)",
            base,
            &[(":z", r#"{"L":[{"S":"z"}]}"#)]
        )
        .contains(r#""l":{"L":[{"S":"z"},{"S":"x"},{"S":"y"}]}"#)
    );
    assert!(
        updated(
            "SET n = list_append(if_not_exists(n, :e), :z)",
            base,
            &[(":z", r#"{"L":[{"S":"z"}]}"#), (":e", r#"{"L":[]}"#)]
        )
        .contains(r#""n":{"L":[{"S":"z"}]}"#)
    );
    // Index past the end appends; index in range replaces.
    assert!(
        updated("SET l[9] = :z", base, &[(":z", r#"{"S":"z"}"#)])
            .contains(r#""l":{"L":[{"S":"x"},{"S":"y"},{"S":"z"}]}"#)
    );
    assert!(
        updated("SET l[0] = :z", base, &[(":z", r#"{"S":"z"}"#)])
            .contains(r#""l":{"L":[{"S":"z"},{"S":"y"}]}"#)
    );
    assert!(
        updated(
            "SET m.y.z = :z, m.w = :z",
            r#"{"m":{"M":{"y":{"M":{}}}}}"#,
            &[(":z", r#"{"S":"z"}"#)]
        )
        .contains(r#""m":{"M":{"w":{"S":"z"},"y":{"M":{"z":{"S":"z"}}}}}"#)
    );
    assert!(
        updated("SET #s = :z", base, &[(":z", r#"{"S":"z"}"#)]).contains(r#""status":{"S":"z"}"#)
    );
}

#[test]
fn update_remove_add_delete() {
    let base = r#"{"l":{"L":[{"N":"0"},{"N":"1"},{"N":"2"},{"N":"3"}]},"ss":{"SS":["a","b"]},"n":{"N":"5"},"m":{"M":{"x":{"N":"1"}}}}"#;
    // Removing list elements names original positions.
    assert!(updated("REMOVE l[0], l[2]", base, &[]).contains(r#""l":{"L":[{"N":"1"},{"N":"3"}]}"#));
    assert!(
        updated("REMOVE l[7], m.zz, zz", base, &[])
            .contains(r#""l":{"L":[{"N":"0"},{"N":"1"},{"N":"2"},{"N":"3"}]}"#)
    );
    assert!(!updated("REMOVE m.x, n", base, &[]).contains(r#""n""#));
    let n = |x: &str| format!(r#"{{"N":"{x}"}}"#);
    assert!(updated("ADD n :d", base, &[(":d", &n("-6"))]).contains(r#""n":{"N":"-1"}"#));
    assert!(updated("ADD fresh :d", base, &[(":d", &n("3"))]).contains(r#""fresh":{"N":"3"}"#));
    assert!(
        updated("ADD ss :s", base, &[(":s", r#"{"SS":["b","c"]}"#)])
            .contains(r#""ss":{"SS":["a","b","c"]}"#)
    );
    assert!(
        updated("ADD m.ns :s", base, &[(":s", r#"{"NS":["1"]}"#)]).contains(r#""ns":{"NS":["1"]}"#)
    );
    assert!(
        updated("DELETE ss :s", base, &[(":s", r#"{"SS":["a","q"]}"#)])
            .contains(r#""ss":{"SS":["b"]}"#)
    );
    // Deleting the last elements removes the attribute.
    assert!(!updated("DELETE ss :s", base, &[(":s", r#"{"SS":["a","b"]}"#)]).contains(r#""ss""#));
    assert!(updated("DELETE nothing :s", base, &[(":s", r#"{"SS":["a"]}"#)]).contains(r#""ss""#));
    // All four sections, any order, case-insensitive.
    let out = updated(
        "remove m add n :d set x = :d delete ss :s",
        base,
        &[(":d", &n("1")), (":s", r#"{"SS":["a"]}"#)],
    );
    assert!(
        out.contains(r#""n":{"N":"6"}"#)
            && out.contains(r#""x":{"N":"1"}"#)
            && !out.contains(r#""m""#)
    );
}

#[test]
fn update_runtime_errors() {
    let base = r#"{"s":{"S":"x"},"n":{"N":"1"},"ss":{"SS":["a"]},"l":{"L":[]},"m":{"M":{}}}"#;
    let n1 = [(":d", r#"{"N":"1"}"#)];
    let wrong = "An operand in the update expression has an incorrect data type";
    assert_eq!(update("SET x = s + :d", base, &n1), Err(wrong.to_string()));
    assert_eq!(
        update("SET x = list_append(s, l)", base, &[]),
        Err(wrong.to_string())
    );
    assert_eq!(update("ADD s :d", base, &n1), Err(wrong.to_string()));
    assert_eq!(
        update("ADD ss :d", base, &[(":d", r#"{"NS":["1"]}"#)]),
        Err(wrong.to_string())
    );
    assert_eq!(
        update("DELETE n :d", base, &[(":d", r#"{"NS":["1"]}"#)]),
        Err(wrong.to_string())
    );
    let nope = "The provided expression refers to an attribute that does not exist in the item";
    assert_eq!(update("SET x = nope", base, &[]), Err(nope.to_string()));
    assert_eq!(
        update("SET x = nope + :d", base, &n1),
        Err(nope.to_string())
    );
    let invalid = "The document path provided in the update expression is invalid for update";
    for text in [
        "SET a.b = :d",
        "SET s.b = :d",
        "SET m[0] = :d",
        "SET l.x = :d",
        "REMOVE a.b",
        "ADD a.b :d",
        "SET nope[0] = :d",
    ] {
        assert_eq!(update(text, base, &n1), Err(invalid.to_string()), "{text}");
    }
    let big = "9.9999999999999999999999999999999999999E+125";
    assert_eq!(
        update("SET x = :a + :a", base, &[(":a", &format!(r#"{{"N":"{big}"}}"#))]),
        Err("Number overflow. Attempting to store a number with magnitude larger than supported range".to_string())
    );
    let x = "x".repeat(300 * 1024);
    assert_eq!(
        update(
            "SET a = :x, b = :x",
            base,
            &[(":x", &format!(r#"{{"S":"{x}"}}"#))]
        ),
        Err("Item size to update has exceeded the maximum allowed size".to_string())
    );
}

#[test]
fn update_parse_errors() {
    let e = |text: &str, v: &[(&str, &str)]| update(text, "{}", v).unwrap_err();
    let s = [(":a", r#"{"S":"a"}"#)];
    for text in [
        "whatever",
        "set a",
        "set a b",
        "set a = b + c + d",
        "remove a = b",
        "add a b",
        "set a = b * c",
        "set :a = b",
        "SET a = :a,",
        "delete a",
    ] {
        assert!(
            e(text, &s).starts_with("Invalid UpdateExpression: Syntax error; "),
            "{text}: {}",
            e(text, &s)
        );
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
    assert!(
        update(
            "SET l[0] = :a, l[1] = :a REMOVE m.x",
            r#"{"l":{"L":[]},"m":{"M":{}}}"#,
            &s
        )
        .is_ok()
    );
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
    assert_eq!(
        project("a, #s", item).unwrap(),
        r#"{"a":{"N":"1"},"status":{"S":"s"}}"#
    );
    assert_eq!(
        project("m.q", item).unwrap(),
        r#"{"m":{"M":{"q":{"S":"Q"}}}}"#
    );
    assert_eq!(
        project("l[2], l[0]", item).unwrap(),
        r#"{"l":{"L":[{"N":"0"},{"N":"2"}]}}"#
    );
    assert_eq!(
        project("l[1].y, m.p", item).unwrap(),
        r#"{"l":{"L":[{"M":{"y":{"N":"2"}}}]},"m":{"M":{"p":{"S":"P"}}}}"#
    );
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
    let v = [
        (":p", r#"{"S":"p"}"#),
        (":a", r#"{"N":"1"}"#),
        (":b", r#"{"N":"2"}"#),
    ];
    let t = key_terms("pk = :p AND sk BETWEEN :a AND :b", &v).unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].attribute, "pk");
    assert!(matches!(&t[1].op, KeyOp::Between(..)));
    let t = key_terms(
        ":a < sk AND pk = :p",
        &[(":p", r#"{"S":"p"}"#), (":a", r#"{"N":"1"}"#)],
    )
    .unwrap();
    assert_eq!(t[0].op, KeyOp::Cmp(CmpOp::Gt, json_value(r#"{"N":"1"}"#)));
    let t = key_terms(
        "pk = :p AND begins_with(sk, :q)",
        &[(":p", r#"{"S":"p"}"#), (":q", r#"{"S":"q"}"#)],
    )
    .unwrap();
    assert_eq!(t[1].op, KeyOp::BeginsWith(json_value(r#"{"S":"q"}"#)));
    let p = [(":p", r#"{"S":"p"}"#)];
    assert_eq!(
        key_terms("pk = :p OR pk = :p", &p).unwrap_err(),
        "Invalid operator used in KeyConditionExpression: OR"
    );
    assert!(key_terms("pk <> :p", &p).unwrap_err().contains("<>"));
    assert!(
        key_terms("attribute_exists(pk)", &[])
            .unwrap_err()
            .contains("attribute_exists")
    );
    assert_eq!(
        key_terms("pk = :p AND a = :p AND b = :p", &p)
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        key_terms("pk = sk", &[]).unwrap_err(),
        "Query key condition not supported"
    );
}
