//! The member constraints of the item, query and batch operations (enums,
//! required members, lengths, ranges, name patterns), checked over the whole
//! request after its member types (`shape`) and before anything else, and
//! reported all together as DynamoDB's validator does: "N validation errors
//! detected: …" naming each violation with its member path
//! (`requestItems.tbl.member.keys`, `keySchema.1.member.keyType`).
//!
//! Semantic checks (a ReturnValues a PutItem cannot take, mixed legacy and
//! expression members, expressions) come after, in the operations.

use simd_json::BorrowedValue as Json;
use simd_json::StaticNode;

use super::error::{ApiError, Violations};

/// One constraint on a member's value.
pub enum Rule {
    /// Present and not `null`.
    NotNull,
    /// One of these strings (listed in the message in this order).
    Enum(&'static [&'static str]),
    /// A table or index name: `[a-zA-Z0-9_.-]+`, 3 to 255 characters.
    Name,
    /// At least this many characters, elements or entries.
    LenMin(usize),
    /// At most this many characters, elements or entries.
    LenMax(usize),
    /// A number at least this.
    Min(i64),
    /// A number at most this.
    Max(i64),
    /// The members of a structure.
    Members(&'static [Check]),
    /// Each list element (`path.N.member`).
    Each(&'static [Rule]),
    /// Each map value (`path.KEY.member`).
    Values(&'static [Rule]),
    /// Every map key is a table name ("Map keys must satisfy constraint").
    KeysAreNames,
    /// Every map value has this many elements, inclusive ("Map value must
    /// satisfy constraint").
    ValueLen(usize, usize),
}

/// A member and its constraints.
pub type Check = (&'static str, &'static [Rule]);

/// DynamoDB's validator reports at most this many violations.
const REPORTED_MAX: usize = 10;

const NAME_PATTERN: &str = "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+";

/// Checks the members of the request to the operation named `op`
/// (operations without rules here are not checked).
pub fn check(op: &str, request: &Json<'_>) -> Result<(), ApiError> {
    let Some(checks) = rules(op) else {
        return Ok(());
    };
    let mut found = Found::default();
    check_members(&mut found, checks, Some(request), "");
    found.into_result()
}

#[derive(Default)]
struct Found {
    v: Violations,
    count: usize,
}

impl Found {
    fn push(&mut self, value: Option<&Json<'_>>, path: &str, constraint: &str) {
        if self.count < REPORTED_MAX {
            self.count += 1;
            let shown = match value {
                None => "null".to_string(),
                Some(json) => format!("'{}'", shown(json)),
            };
            self.v.push(&shown, path, constraint);
        }
    }

    fn into_result(self) -> Result<(), ApiError> {
        self.v.into_result()
    }
}

fn present<'a, 'v>(json: Option<&'a Json<'v>>) -> Option<&'a Json<'v>> {
    json.filter(|j| !matches!(j, Json::Static(StaticNode::Null)))
}

fn check_members(found: &mut Found, checks: &[Check], json: Option<&Json<'_>>, parent: &str) {
    let object = match present(json) {
        Some(Json::Object(object)) => Some(object),
        _ => None,
    };
    for (name, rules) in checks {
        let value = object.and_then(|o| present(o.get(*name)));
        let path = join(parent, &lower_first(name));
        check_value(found, rules, value, &path);
    }
}

fn check_value(found: &mut Found, rules: &[Rule], value: Option<&Json<'_>>, path: &str) {
    for rule in rules {
        if value.is_none() && !matches!(rule, Rule::NotNull) {
            continue;
        }
        match rule {
            Rule::NotNull => {
                if value.is_none() {
                    found.push(None, path, "Member must not be null");
                }
            }
            Rule::Enum(allowed) => {
                if let Some(Json::String(s)) = value
                    && !allowed.contains(&s.as_ref())
                {
                    found.push(
                        value,
                        path,
                        &format!(
                            "Member must satisfy enum value set: [{}]",
                            allowed.join(", ")
                        ),
                    );
                }
            }
            Rule::Name => {
                if let Some(Json::String(s)) = value {
                    let length = s.chars().count();
                    if length < 3 {
                        found.push(
                            value,
                            path,
                            "Member must have length greater than or equal to 3",
                        );
                    }
                    if length > 255 {
                        found.push(
                            value,
                            path,
                            "Member must have length less than or equal to 255",
                        );
                    }
                    if !is_name(s) {
                        found.push(value, path, NAME_PATTERN);
                    }
                }
            }
            Rule::LenMin(n) => {
                if value.and_then(length).is_some_and(|l| l < *n) {
                    found.push(
                        value,
                        path,
                        &format!("Member must have length greater than or equal to {n}"),
                    );
                }
            }
            Rule::LenMax(n) => {
                if value.and_then(length).is_some_and(|l| l > *n) {
                    found.push(
                        value,
                        path,
                        &format!("Member must have length less than or equal to {n}"),
                    );
                }
            }
            Rule::Min(n) => {
                if value.and_then(number).is_some_and(|x| x < *n as f64) {
                    found.push(
                        value,
                        path,
                        &format!("Member must have value greater than or equal to {n}"),
                    );
                }
            }
            Rule::Max(n) => {
                if value.and_then(number).is_some_and(|x| x > *n as f64) {
                    found.push(
                        value,
                        path,
                        &format!("Member must have value less than or equal to {n}"),
                    );
                }
            }
            Rule::Members(checks) => check_members(found, checks, value, path),
            Rule::Each(rules) => {
                if let Some(Json::Array(items)) = value {
                    for (i, item) in items.iter().enumerate() {
                        let path = format!("{path}.{}.member", i + 1);
                        check_value(found, rules, present(Some(item)), &path);
                    }
                }
            }
            Rule::Values(rules) => {
                if let Some(Json::Object(entries)) = value {
                    for (key, entry) in entries.iter() {
                        let path = format!("{path}.{key}.member");
                        check_value(found, rules, present(Some(entry)), &path);
                    }
                }
            }
            Rule::KeysAreNames => {
                if let Some(Json::Object(entries)) = value
                    && entries
                        .keys()
                        .any(|k| !(3..=255).contains(&k.chars().count()) || !is_name(k))
                {
                    found.push(
                        value,
                        path,
                        "Map keys must satisfy constraint: [Member must have length less than or equal to 255, Member must have length greater than or equal to 3, Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+]",
                    );
                }
            }
            Rule::ValueLen(min, max) => {
                if let Some(Json::Object(entries)) = value
                    && entries
                        .values()
                        .any(|e| length(e).is_some_and(|l| l < *min || l > *max))
                {
                    found.push(
                        value,
                        path,
                        &format!(
                            "Map value must satisfy constraint: [Member must have length less than or equal to {max}, Member must have length greater than or equal to {min}]"
                        ),
                    );
                }
            }
        }
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

/// Characters of a string, elements of a list, entries of a map.
fn length(json: &Json<'_>) -> Option<usize> {
    match json {
        Json::String(s) => Some(s.chars().count()),
        Json::Array(items) => Some(items.len()),
        Json::Object(entries) => Some(entries.len()),
        _ => None,
    }
}

fn number(json: &Json<'_>) -> Option<f64> {
    match json {
        Json::Static(StaticNode::I64(n)) => Some(*n as f64),
        Json::Static(StaticNode::U64(n)) => Some(*n as f64),
        Json::Static(StaticNode::F64(x)) => Some(x.floor()),
        _ => None,
    }
}

/// How DynamoDB's messages show a member's value (inside the quotes):
/// strings and numbers as they are, lists as `[a, b]`, maps as JSON.
pub fn shown(json: &Json<'_>) -> String {
    match json {
        Json::String(s) => s.to_string(),
        Json::Array(items) => {
            let parts: Vec<String> = items.iter().map(shown).collect();
            format!("[{}]", parts.join(", "))
        }
        Json::Object(_) => simd_json::to_string(json).unwrap_or_default(),
        Json::Static(StaticNode::Null) => "null".to_string(),
        Json::Static(node) => node.to_string(),
    }
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

// ---- the rules of each operation ----

const CONSUMED: Rule = Rule::Enum(&["INDEXES", "TOTAL", "NONE"]);
const METRICS: Rule = Rule::Enum(&["SIZE", "NONE"]);
const RETURN_VALUES: Rule =
    Rule::Enum(&["ALL_NEW", "UPDATED_OLD", "ALL_OLD", "NONE", "UPDATED_NEW"]);
const ON_FAILURE: Rule = Rule::Enum(&["ALL_OLD", "NONE"]);
const OPERATOR: Rule = Rule::Enum(&["OR", "AND"]);
const COMPARISON: Rule = Rule::Enum(&[
    "IN",
    "NULL",
    "BETWEEN",
    "LT",
    "NOT_CONTAINS",
    "EQ",
    "GT",
    "NOT_NULL",
    "NE",
    "LE",
    "BEGINS_WITH",
    "GE",
    "CONTAINS",
]);
const SELECT: Rule = Rule::Enum(&[
    "SPECIFIC_ATTRIBUTES",
    "COUNT",
    "ALL_ATTRIBUTES",
    "ALL_PROJECTED_ATTRIBUTES",
]);

static EXPECTED_MEMBERS: [Check; 1] = [("ComparisonOperator", &[COMPARISON])];
static CONDITION_MEMBERS: [Check; 1] = [("ComparisonOperator", &[Rule::NotNull, COMPARISON])];
static UPDATE_MEMBERS: [Check; 1] = [("Action", &[Rule::Enum(&["ADD", "PUT", "DELETE"])])];

static GET_ITEM: [Check; 4] = [
    ("TableName", &[Rule::NotNull, Rule::Name]),
    ("Key", &[Rule::NotNull]),
    ("AttributesToGet", &[Rule::LenMin(1), Rule::LenMax(255)]),
    ("ReturnConsumedCapacity", &[CONSUMED]),
];

static PUT_ITEM: [Check; 8] = [
    ("TableName", &[Rule::NotNull, Rule::Name]),
    ("Item", &[Rule::NotNull]),
    (
        "Expected",
        &[Rule::Values(&[Rule::Members(&EXPECTED_MEMBERS)])],
    ),
    ("ReturnValues", &[RETURN_VALUES]),
    ("ReturnConsumedCapacity", &[CONSUMED]),
    ("ReturnItemCollectionMetrics", &[METRICS]),
    ("ConditionalOperator", &[OPERATOR]),
    ("ReturnValuesOnConditionCheckFailure", &[ON_FAILURE]),
];

static DELETE_ITEM: [Check; 8] = [
    ("TableName", &[Rule::NotNull, Rule::Name]),
    ("Key", &[Rule::NotNull]),
    (
        "Expected",
        &[Rule::Values(&[Rule::Members(&EXPECTED_MEMBERS)])],
    ),
    ("ReturnValues", &[RETURN_VALUES]),
    ("ReturnConsumedCapacity", &[CONSUMED]),
    ("ReturnItemCollectionMetrics", &[METRICS]),
    ("ConditionalOperator", &[OPERATOR]),
    ("ReturnValuesOnConditionCheckFailure", &[ON_FAILURE]),
];

static UPDATE_ITEM: [Check; 9] = [
    ("TableName", &[Rule::NotNull, Rule::Name]),
    ("Key", &[Rule::NotNull]),
    (
        "AttributeUpdates",
        &[Rule::Values(&[Rule::Members(&UPDATE_MEMBERS)])],
    ),
    (
        "Expected",
        &[Rule::Values(&[Rule::Members(&EXPECTED_MEMBERS)])],
    ),
    ("ReturnValues", &[RETURN_VALUES]),
    ("ReturnConsumedCapacity", &[CONSUMED]),
    ("ReturnItemCollectionMetrics", &[METRICS]),
    ("ConditionalOperator", &[OPERATOR]),
    ("ReturnValuesOnConditionCheckFailure", &[ON_FAILURE]),
];

static QUERY: [Check; 9] = [
    ("TableName", &[Rule::NotNull, Rule::Name]),
    ("IndexName", &[Rule::Name]),
    ("Select", &[SELECT]),
    ("AttributesToGet", &[Rule::LenMin(1), Rule::LenMax(255)]),
    ("Limit", &[Rule::Min(1)]),
    (
        "KeyConditions",
        &[Rule::Values(&[Rule::Members(&CONDITION_MEMBERS)])],
    ),
    (
        "QueryFilter",
        &[Rule::Values(&[Rule::Members(&CONDITION_MEMBERS)])],
    ),
    ("ConditionalOperator", &[OPERATOR]),
    ("ReturnConsumedCapacity", &[CONSUMED]),
];

static SCAN: [Check; 10] = [
    ("TableName", &[Rule::NotNull, Rule::Name]),
    ("IndexName", &[Rule::Name]),
    ("AttributesToGet", &[Rule::LenMin(1), Rule::LenMax(255)]),
    ("Limit", &[Rule::Min(1)]),
    ("Select", &[SELECT]),
    (
        "ScanFilter",
        &[Rule::Values(&[Rule::Members(&CONDITION_MEMBERS)])],
    ),
    ("ConditionalOperator", &[OPERATOR]),
    ("ReturnConsumedCapacity", &[CONSUMED]),
    ("TotalSegments", &[Rule::Min(1), Rule::Max(1_000_000)]),
    ("Segment", &[Rule::Min(0), Rule::Max(999_999)]),
];

static KEYS_AND_ATTRIBUTES: [Check; 2] = [
    ("Keys", &[Rule::NotNull, Rule::LenMin(1), Rule::LenMax(100)]),
    ("AttributesToGet", &[Rule::LenMin(1), Rule::LenMax(255)]),
];

static BATCH_GET_ITEM: [Check; 2] = [
    (
        "RequestItems",
        &[
            Rule::NotNull,
            Rule::LenMin(1),
            Rule::KeysAreNames,
            Rule::Values(&[Rule::Members(&KEYS_AND_ATTRIBUTES)]),
        ],
    ),
    ("ReturnConsumedCapacity", &[CONSUMED]),
];

static PUT_REQUEST: [Check; 1] = [("Item", &[Rule::NotNull])];
static DELETE_REQUEST: [Check; 1] = [("Key", &[Rule::NotNull])];
static WRITE_REQUEST: [Check; 2] = [
    ("DeleteRequest", &[Rule::Members(&DELETE_REQUEST)]),
    ("PutRequest", &[Rule::Members(&PUT_REQUEST)]),
];

static BATCH_WRITE_ITEM: [Check; 3] = [
    (
        "RequestItems",
        &[
            Rule::NotNull,
            Rule::LenMin(1),
            Rule::KeysAreNames,
            Rule::ValueLen(1, 25),
            Rule::Values(&[Rule::Each(&[Rule::Members(&WRITE_REQUEST)])]),
        ],
    ),
    ("ReturnConsumedCapacity", &[CONSUMED]),
    ("ReturnItemCollectionMetrics", &[METRICS]),
];

/// ResourceArn: 1 to 1283 characters; RevisionId: 1 to 255.
const RESOURCE_ARN: &[Rule] = &[Rule::NotNull, Rule::LenMin(1), Rule::LenMax(1283)];
const REVISION_ID: &[Rule] = &[Rule::LenMin(1), Rule::LenMax(255)];

static PUT_RESOURCE_POLICY: [Check; 3] = [
    ("ResourceArn", RESOURCE_ARN),
    ("Policy", &[Rule::NotNull]),
    ("ExpectedRevisionId", REVISION_ID),
];
static GET_RESOURCE_POLICY: [Check; 1] = [("ResourceArn", RESOURCE_ARN)];
static DELETE_RESOURCE_POLICY: [Check; 2] = [
    ("ResourceArn", RESOURCE_ARN),
    ("ExpectedRevisionId", REVISION_ID),
];

fn rules(op: &str) -> Option<&'static [Check]> {
    Some(match op {
        "GetItem" => &GET_ITEM,
        "PutItem" => &PUT_ITEM,
        "DeleteItem" => &DELETE_ITEM,
        "UpdateItem" => &UPDATE_ITEM,
        "Query" => &QUERY,
        "Scan" => &SCAN,
        "BatchGetItem" => &BATCH_GET_ITEM,
        "BatchWriteItem" => &BATCH_WRITE_ITEM,
        "PutResourcePolicy" => &PUT_RESOURCE_POLICY,
        "GetResourcePolicy" => &GET_RESOURCE_POLICY,
        "DeleteResourcePolicy" => &DELETE_RESOURCE_POLICY,
        _ => return None,
    })
}
