//! Access control of one API request: gathers the facts IAM evaluates
//! (action, resource ARN, condition keys) from the decoded request and the
//! catalog, and asks the pure policy engine (`auth::policy`) for each.
//!
//! Batches and transactions are authorized per item (one set of facts per
//! key or item, with the partition-key value as `dynamodb:LeadingKeys`);
//! any denial refuses the whole request. This runs before the operation's
//! handler, so a denied request changes nothing.
//!
//! Condition keys supplied: `dynamodb:LeadingKeys` (item operations,
//! Query's partition-key equality, batch and transaction items),
//! `dynamodb:Attributes` (a Put's item names, an update's targets and key,
//! projections), `dynamodb:Select` (explicit, or implied: a projection is
//! SPECIFIC_ATTRIBUTES, a read without one ALL_ATTRIBUTES),
//! `dynamodb:ReturnValues`, `dynamodb:ReturnConsumedCapacity`.
//!
//! Resource-based policies (PutResourcePolicy) are looked up per check
//! from the resource's ARN in this shard's catalog snapshot: a table's
//! policy governs the table and its indexes, a stream's its stream.

use simd_json::BorrowedValue as Json;
use simd_json::prelude::*;

use crate::api::protocol::error::ApiError;
use crate::api::protocol::operation::Operation;
use crate::api::protocol::request::Fields;
use crate::api::shard::Shard;
use crate::auth::policy::{self, Decision, Facts, Source};
use crate::auth::{Key, Policy};
use crate::catalog::Catalog;

const LEADING_KEYS: &str = "dynamodb:leadingkeys";
const ATTRIBUTES: &str = "dynamodb:attributes";
const SELECT: &str = "dynamodb:select";
const RETURN_VALUES: &str = "dynamodb:returnvalues";
const RETURN_CAPACITY: &str = "dynamodb:returnconsumedcapacity";

/// One authorization question: `action` on `resource` with `context`.
struct Check {
    action: String,
    resource: String,
    context: Vec<(&'static str, Vec<String>)>,
}

/// Authorizes `op` for `key`; Ok when every check allows. Each check is
/// evaluated with the key's identity policy and the resource-based policy
/// of the resource it names: a table's covers the table's indexes, a
/// stream has its own. A key without an identity policy may do whatever
/// no resource policy denies it.
pub fn authorize(
    shard: &Shard,
    key: &Key,
    op: Operation,
    fields: &Fields<'_, '_>,
) -> Result<(), ApiError> {
    let catalog = shard.catalog();
    if key.policy.is_none() && !may_meet_resource_policy(&catalog, op, fields) {
        return Ok(());
    }
    let principal = user_arn(shard, key);
    let prefix = format!(
        "arn:aws:dynamodb:{}:{}:table/",
        shard.settings.region, shard.settings.account_id
    );
    for check in checks(shard, op, fields) {
        let resource = resource_policy(&catalog, &prefix, &check.resource);
        decide(key.policy.as_ref(), resource, &principal, key, &check)?;
    }
    Ok(())
}

/// Whether a request of a key without identity policy may touch a
/// resource with a policy: false for the single-table item operations on
/// a table with none (the hot path stays one catalog lookup), true for
/// everything else (its checks are built and each resource looked up).
fn may_meet_resource_policy(catalog: &Catalog, op: Operation, fields: &Fields<'_, '_>) -> bool {
    match op {
        Operation::GetItem
        | Operation::PutItem
        | Operation::UpdateItem
        | Operation::DeleteItem
        | Operation::Query
        | Operation::Scan => catalog
            .table(table_name(fields))
            .is_some_and(|t| !t.policies.is_empty()),
        _ => true,
    }
}

/// The resource-based policy that governs `arn` (a table, index or
/// stream ARN of this server; `prefix` is its tables' ARN prefix).
fn resource_policy<'c>(catalog: &'c Catalog, prefix: &str, arn: &str) -> Option<&'c Policy> {
    let rest = arn.strip_prefix(prefix)?;
    let (name, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let table = catalog.table(name)?;
    let stream = match tail.split_once('/') {
        None if tail.is_empty() => None,
        Some(("index", _)) => None,
        Some(("stream", label)) => Some(crate::api::streams::names::parse_label(label)?),
        _ => return None,
    };
    table.resource_policy(stream).map(|p| p.parsed.as_ref())
}

/// Whether `policy`, attached to `arn`, would refuse `key` a later
/// PutResourcePolicy there: DynamoDB's self-lockout check, which
/// ConfirmRemoveSelfResourceAccess overrides.
pub fn locks_out(shard: &Shard, key: &Key, arn: &str, policy: &Policy) -> bool {
    let principal = user_arn(shard, key);
    let facts = Facts {
        action: "dynamodb:PutResourcePolicy",
        resource: arn,
        principal: &principal,
        username: &key.user_name,
        context: &[],
    };
    policy::evaluate(key.policy.as_ref(), Some(policy), &facts) != Decision::Allow
}

/// `dynacore:Admin` for the admin endpoints on the data port.
pub fn authorize_admin(account_id: &str, key: &Key) -> Result<(), ApiError> {
    let Some(policy) = &key.policy else {
        return Ok(());
    };
    let principal = format!("arn:aws:iam::{account_id}:user/{}", key.user_name);
    let check = Check {
        action: "dynacore:Admin".into(),
        resource: "*".into(),
        context: Vec::new(),
    };
    decide(Some(policy), None, &principal, key, &check)
}

fn user_arn(shard: &Shard, key: &Key) -> String {
    format!(
        "arn:aws:iam::{}:user/{}",
        shard.settings.account_id, key.user_name
    )
}

fn decide(
    identity: Option<&Policy>,
    resource: Option<&Policy>,
    principal: &str,
    key: &Key,
    check: &Check,
) -> Result<(), ApiError> {
    let facts = Facts {
        action: &check.action,
        resource: &check.resource,
        principal,
        username: &key.user_name,
        context: &check.context,
    };
    let why = match policy::evaluate(identity, resource, &facts) {
        Decision::Allow => return Ok(()),
        Decision::ExplicitDeny(Source::Identity) => {
            "with an explicit deny in an identity-based policy".to_string()
        }
        Decision::ExplicitDeny(Source::Resource) => {
            "with an explicit deny in a resource-based policy".to_string()
        }
        Decision::ImplicitDeny => format!(
            "because no identity-based policy allows the {} action",
            check.action
        ),
    };
    Err(ApiError::access_denied(format!(
        "User: {principal} is not authorized to perform: {} on resource: {} {why}",
        check.action, check.resource
    )))
}

fn arn(shard: &Shard, table: &str) -> String {
    crate::api::table::describe::table_arn(shard, table)
}

/// The string IAM compares for a key value: S and N as written, B base64.
fn key_string(value: &Json<'_>) -> Option<String> {
    let obj = value.as_object()?;
    let (_, v) = obj.iter().next()?;
    v.as_str().map(str::to_string)
}

fn partition_key_name(shard: &Shard, table: &str) -> Option<String> {
    shard
        .catalog
        .borrow()
        .table(table)
        .map(|def| def.partition_key.name.clone())
}

fn names_map<'a, 'v>(fields: &Fields<'a, 'v>) -> Option<&'a simd_json::borrowed::Object<'v>> {
    fields
        .get("ExpressionAttributeNames")
        .and_then(|v| v.as_object())
}

/// The attribute a path starts with (`a.b[0]` → `a`, `#n` resolved).
fn top_name(path: &str, names: Option<&simd_json::borrowed::Object<'_>>) -> String {
    let path = path.trim();
    let end = path.find(['.', '[']).unwrap_or(path.len());
    let first = path[..end].trim();
    if first.starts_with('#')
        && let Some(real) = names.and_then(|n| n.get(first)).and_then(|v| v.as_str())
    {
        return real.to_string();
    }
    first.to_string()
}

/// Splits on commas outside parentheses.
fn split_top(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out.into_iter().filter(|s| !s.trim().is_empty()).collect()
}

fn projection_names(fields: &Fields<'_, '_>) -> Option<Vec<String>> {
    let names = names_map(fields);
    if let Some(p) = fields.get("ProjectionExpression").and_then(|v| v.as_str()) {
        return Some(split_top(p).iter().map(|s| top_name(s, names)).collect());
    }
    fields
        .get("AttributesToGet")
        .and_then(|v| v.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
}

/// The attributes an UpdateExpression (or AttributeUpdates) writes.
fn update_targets(fields: &Fields<'_, '_>) -> Vec<String> {
    let names = names_map(fields);
    let mut out = Vec::new();
    if let Some(expr) = fields.get("UpdateExpression").and_then(|v| v.as_str()) {
        // Clauses start at the keywords SET, REMOVE, ADD, DELETE.
        let mut clause = "";
        let mut text = String::new();
        let flush = |clause: &str, text: &str, out: &mut Vec<String>| {
            for part in split_top(text) {
                let target = match clause {
                    "SET" => part.split('=').next().unwrap_or(""),
                    "ADD" | "DELETE" => part.split_whitespace().next().unwrap_or(""),
                    _ => part,
                };
                if !target.trim().is_empty() {
                    out.push(top_name(target, names));
                }
            }
        };
        for word in expr.split_whitespace() {
            let upper = word.to_ascii_uppercase();
            if matches!(upper.as_str(), "SET" | "REMOVE" | "ADD" | "DELETE") {
                flush(clause, &text, &mut out);
                clause = match upper.as_str() {
                    "SET" => "SET",
                    "REMOVE" => "REMOVE",
                    "ADD" => "ADD",
                    _ => "DELETE",
                };
                text.clear();
            } else {
                text.push(' ');
                text.push_str(word);
            }
        }
        flush(clause, &text, &mut out);
    }
    if let Some(updates) = fields.get("AttributeUpdates").and_then(|v| v.as_object()) {
        out.extend(updates.keys().map(|k| k.to_string()));
    }
    out
}

/// Query's partition-key value: the `pk = :v` term of the key condition
/// (or the legacy `KeyConditions`).
fn query_leading_key(fields: &Fields<'_, '_>, pk: &str) -> Option<String> {
    if let Some(expr) = fields
        .get("KeyConditionExpression")
        .and_then(|v| v.as_str())
    {
        let names = names_map(fields);
        let values = fields
            .get("ExpressionAttributeValues")
            .and_then(|v| v.as_object());
        let lower = expr.to_ascii_lowercase();
        let mut terms = Vec::new();
        let mut start = 0;
        while let Some(i) = lower[start..].find(" and ") {
            terms.push(&expr[start..start + i]);
            start += i + 5;
        }
        terms.push(&expr[start..]);
        for term in terms {
            let term = term.trim().trim_matches(|c| c == '(' || c == ')');
            if term.contains("<=") || term.contains(">=") || term.contains("<>") {
                continue;
            }
            let Some((lhs, rhs)) = term.split_once('=') else {
                continue;
            };
            let (lhs, rhs) = (lhs.trim(), rhs.trim().trim_end_matches(')'));
            let (name, placeholder) = if lhs.starts_with(':') {
                (rhs, lhs)
            } else {
                (lhs, rhs)
            };
            if top_name(name, names) == pk {
                return values.and_then(|v| v.get(placeholder)).and_then(key_string);
            }
        }
        return None;
    }
    let cond = fields.get("KeyConditions")?.as_object()?.get(pk)?;
    let first = cond
        .as_object()?
        .get("AttributeValueList")?
        .as_array()?
        .first()?;
    key_string(first)
}

fn select_of(fields: &Fields<'_, '_>, projected: bool) -> Vec<String> {
    match fields.get("Select").and_then(|v| v.as_str()) {
        Some(s) => vec![s.to_string()],
        None if projected => vec!["SPECIFIC_ATTRIBUTES".into()],
        None => vec!["ALL_ATTRIBUTES".into()],
    }
}

fn common_context(fields: &Fields<'_, '_>, context: &mut Vec<(&'static str, Vec<String>)>) {
    if let Some(rv) = fields.get("ReturnValues").and_then(|v| v.as_str()) {
        context.push((RETURN_VALUES, vec![rv.to_string()]));
    }
    if let Some(rc) = fields
        .get("ReturnConsumedCapacity")
        .and_then(|v| v.as_str())
    {
        context.push((RETURN_CAPACITY, vec![rc.to_string()]));
    }
}

/// Facts of one item action (`Item` for a put, `Key` otherwise) in the
/// object `item_fields` (a request, a batch entry or a transaction action).
fn item_check(
    shard: &Shard,
    action: &str,
    table: &str,
    item_fields: &Fields<'_, '_>,
    read: bool,
) -> Check {
    let mut context = Vec::new();
    let pk = partition_key_name(shard, table);
    let item = item_fields
        .get("Item")
        .or_else(|| item_fields.get("Key"))
        .and_then(|v| v.as_object());
    if let (Some(pk), Some(item)) = (&pk, item)
        && let Some(value) = item.get(pk.as_str()).and_then(key_string)
    {
        context.push((LEADING_KEYS, vec![value]));
    }
    if let Some(put) = item_fields.get("Item").and_then(|v| v.as_object()) {
        context.push((ATTRIBUTES, put.keys().map(|k| k.to_string()).collect()));
    } else if item_fields.get("UpdateExpression").is_some()
        || item_fields.get("AttributeUpdates").is_some()
    {
        let mut attrs: Vec<String> = item
            .map(|k| k.keys().map(|k| k.to_string()).collect())
            .unwrap_or_default();
        attrs.extend(update_targets(item_fields));
        context.push((ATTRIBUTES, attrs));
    } else if read {
        let projected = projection_names(item_fields);
        context.push((SELECT, select_of(item_fields, projected.is_some())));
        if let Some(p) = projected {
            context.push((ATTRIBUTES, p));
        }
    }
    common_context(item_fields, &mut context);
    Check {
        action: action.to_string(),
        resource: arn(shard, table),
        context,
    }
}

/// A string member of the request, "" if absent (validation ran first:
/// a required one is there).
fn member<'a>(fields: &Fields<'a, '_>, name: &str) -> &'a str {
    fields.get(name).and_then(|v| v.as_str()).unwrap_or("")
}

fn table_name<'a>(fields: &Fields<'a, '_>) -> &'a str {
    member(fields, "TableName")
}

/// What a restore does to its target table: the read and write actions
/// DynamoDB's guide says a restore needs there.
const RESTORE_TARGET_ACTIONS: [&str; 7] = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchWriteItem",
];

fn checks(shard: &Shard, op: Operation, fields: &Fields<'_, '_>) -> Vec<Check> {
    let action = format!("dynamodb:{}", op.name());
    let table = table_name(fields);
    let simple = |resource: String| {
        let mut context = Vec::new();
        common_context(fields, &mut context);
        vec![Check {
            action: action.clone(),
            resource,
            context,
        }]
    };
    match op {
        Operation::PutItem | Operation::DeleteItem | Operation::UpdateItem => {
            vec![item_check(shard, &action, table, fields, false)]
        }
        Operation::GetItem => vec![item_check(shard, &action, table, fields, true)],
        Operation::Query | Operation::Scan => {
            let mut resource = arn(shard, table);
            if let Some(index) = fields.get("IndexName").and_then(|v| v.as_str()) {
                resource.push_str("/index/");
                resource.push_str(index);
            }
            let mut context = Vec::new();
            let projected = projection_names(fields);
            context.push((SELECT, select_of(fields, projected.is_some())));
            if let Some(p) = projected {
                context.push((ATTRIBUTES, p));
            }
            if op == Operation::Query
                && let Some(pk) = partition_key_name(shard, table)
                && let Some(v) = query_leading_key(fields, &pk)
            {
                context.push((LEADING_KEYS, vec![v]));
            }
            common_context(fields, &mut context);
            vec![Check {
                action,
                resource,
                context,
            }]
        }
        Operation::BatchGetItem | Operation::BatchWriteItem => {
            let mut out = Vec::new();
            let Some(requests) = fields.get("RequestItems").and_then(|v| v.as_object()) else {
                return out;
            };
            for (table, entry) in requests.iter() {
                if let Some(list) = entry.as_array() {
                    for request in list {
                        let Some(obj) = request.as_object() else {
                            continue;
                        };
                        for (_, inner) in obj.iter() {
                            if let Ok(f) = Fields::of(inner) {
                                out.push(item_check(shard, &action, table, &f, false));
                            }
                        }
                    }
                } else if let Ok(f) = Fields::of(entry) {
                    for key in f
                        .get("Keys")
                        .and_then(|v| v.as_array())
                        .into_iter()
                        .flatten()
                    {
                        let mut check = item_check(shard, &action, table, &f, true);
                        check.context.retain(|(k, _)| *k != LEADING_KEYS);
                        if let Some(pk) = partition_key_name(shard, table)
                            && let Some(v) = key
                                .as_object()
                                .and_then(|k| k.get(pk.as_str()))
                                .and_then(key_string)
                        {
                            check.context.push((LEADING_KEYS, vec![v]));
                        }
                        out.push(check);
                    }
                }
            }
            out
        }
        Operation::TransactWriteItems | Operation::TransactGetItems => {
            let mut out = Vec::new();
            for entry in fields
                .get("TransactItems")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                let Some(obj) = entry.as_object() else {
                    continue;
                };
                for (kind, inner) in obj.iter() {
                    let Ok(f) = Fields::of(inner) else { continue };
                    let item_action = match kind.as_ref() {
                        "Put" => "dynamodb:PutItem",
                        "Update" => "dynamodb:UpdateItem",
                        "Delete" => "dynamodb:DeleteItem",
                        "ConditionCheck" => "dynamodb:ConditionCheckItem",
                        _ => "dynamodb:GetItem",
                    };
                    let read = kind == "Get";
                    out.push(item_check(shard, item_action, table_name(&f), &f, read));
                }
            }
            out
        }
        Operation::ListTables | Operation::DescribeLimits | Operation::DescribeEndpoints => {
            simple("*".to_string())
        }
        Operation::TagResource | Operation::UntagResource | Operation::ListTagsOfResource => {
            simple(member(fields, "ResourceArn").to_string())
        }
        Operation::ListStreams
        | Operation::ListBackups
        | Operation::ListExports
        | Operation::ListImports => simple("*".to_string()),
        Operation::ExportTableToPointInTime => simple(member(fields, "TableArn").to_string()),
        Operation::DescribeExport => simple(member(fields, "ExportArn").to_string()),
        Operation::DescribeImport => simple(member(fields, "ImportArn").to_string()),
        Operation::ImportTable => {
            // The new table's ARN.
            let target = fields
                .get("TableCreationParameters")
                .and_then(|p| p.as_object())
                .and_then(|p| p.get("TableName"))
                .and_then(|n| n.as_str())
                .unwrap_or("");
            simple(arn(shard, target))
        }
        Operation::DescribeBackup | Operation::DeleteBackup => {
            simple(member(fields, "BackupArn").to_string())
        }
        Operation::RestoreTableFromBackup => {
            // The action on the source backup, and read and write on the
            // target table ("RestoreTableFromBackup permissions are
            // necessary on the source backup, and DynamoDB read and write
            // permissions on the target table").
            let backup = member(fields, "BackupArn").to_string();
            let target = member(fields, "TargetTableName");
            let mut out = simple(backup);
            for item_action in RESTORE_TARGET_ACTIONS {
                out.push(Check {
                    action: item_action.to_string(),
                    resource: arn(shard, target),
                    context: Vec::new(),
                });
            }
            out
        }
        Operation::RestoreTableToPointInTime => {
            // As RestoreTableFromBackup, with the source table as the
            // action's resource.
            let source = match member(fields, "SourceTableArn") {
                "" => arn(shard, member(fields, "SourceTableName")),
                source => source.to_string(),
            };
            let target = member(fields, "TargetTableName");
            let mut out = simple(source);
            for item_action in RESTORE_TARGET_ACTIONS {
                out.push(Check {
                    action: item_action.to_string(),
                    resource: arn(shard, target),
                    context: Vec::new(),
                });
            }
            out
        }
        Operation::DescribeStream | Operation::GetShardIterator => {
            simple(member(fields, "StreamArn").to_string())
        }
        Operation::GetRecords => {
            simple(iterator_stream_arn(shard, member(fields, "ShardIterator")))
        }
        Operation::PutResourcePolicy
        | Operation::GetResourcePolicy
        | Operation::DeleteResourcePolicy => simple(member(fields, "ResourceArn").to_string()),
        Operation::CreateTable => {
            // A policy attached at creation needs PutResourcePolicy too.
            let mut out = simple(arn(shard, table));
            if fields.get("ResourcePolicy").is_some() {
                out.push(Check {
                    action: "dynamodb:PutResourcePolicy".to_string(),
                    resource: arn(shard, table),
                    context: Vec::new(),
                });
            }
            out
        }
        Operation::DescribeTable
        | Operation::UpdateTable
        | Operation::DeleteTable
        | Operation::DescribeContinuousBackups
        | Operation::UpdateContinuousBackups
        | Operation::DescribeTimeToLive
        | Operation::UpdateTimeToLive
        | Operation::CreateBackup => simple(arn(shard, table)),
    }
}

/// The ARN of the stream a shard iterator names (IAM's resource for
/// GetRecords); "" for a token that names none (the handler then answers
/// its validation error, unless the policy denies first).
fn iterator_stream_arn(shard: &Shard, token: &str) -> String {
    let Some(unverified) = crate::api::streams::iterator::peek(token) else {
        return String::new();
    };
    let (table_id, label_ms) = unverified.claimed.stream;
    let catalog = shard.catalog.borrow();
    match catalog.table_by_id(table_id) {
        Some(table) => crate::api::streams::names::stream_arn(shard, &table.name, label_ms),
        None => String::new(),
    }
}
