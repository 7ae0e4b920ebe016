//! Resource-based policy documents as DynamoDB takes them
//! (PutResourcePolicy, CreateTable's `ResourcePolicy`): checked with
//! DynamoDB's refusals, then kept in a canonical form. Pure: no catalog,
//! no I/O; the evaluator is [`super::policy`] (one evaluator for identity
//! and resource policies).
//!
//! Checks, in this order, each refusal DynamoDB's text: the size (20480
//! bytes, whitespace counted), JSON, a non-empty `Statement`, per
//! statement the required `Effect`, `Principal`, `Action` and `Resource`,
//! unique `Sid`s, principals (`*`, an account id, an IAM ARN of a user,
//! role or the account root, or a service), no Allow to everyone without
//! a `Condition` ("unbounded access"), no stream actions in a table's
//! policy; then what the evaluator needs (its condition operators).
//!
//! The one decision to know: what is stored and returned by
//! GetResourcePolicy is the *canonical* form DynamoDB returns — minified,
//! members in the order Version, Id, Statement / Sid, Effect, Principal,
//! Action, Resource, Condition, one-element lists as strings, an account
//! id principal as its root ARN, `Effect` capitalized, a lone statement
//! object as a list, a missing Version as `2008-10-17` — so two documents
//! that differ only in such spelling are the same policy (a re-put of
//! either keeps the revision).

use simd_json::OwnedValue as Json;
use simd_json::prelude::*;

use super::policy::Policy;

/// DynamoDB's largest resource-based policy document, in bytes.
pub const POLICY_BYTES_MAX: usize = 20_480;

/// What a policy is attached to (stream policies take stream actions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Table,
    Stream,
}

/// Why a document is refused; the texts are DynamoDB's (the API layer
/// maps each to its ValidationException).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResourcePolicyError {
    #[error("Maximum policy size of {POLICY_BYTES_MAX} bytes exceeded")]
    TooLarge,
    #[error("Invalid policy document: {0}")]
    Document(String),
    #[error("Invalid principal in policy document.")]
    Principal,
    #[error(
        "Resource-based policy grants unbounded access in one or more elements. Please revise the policy to ensure least-privilege form of access"
    )]
    Unbounded,
}

/// A document that passed: its canonical text and the parsed policy.
#[derive(Clone, Debug)]
pub struct Checked {
    pub canonical: String,
    pub policy: Policy,
}

fn document(message: impl Into<String>) -> ResourcePolicyError {
    ResourcePolicyError::Document(message.into())
}

/// The stream operations: only they are valid in a stream's policy, and
/// they are invalid in a table's.
const STREAM_ACTIONS: [&str; 3] = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
];

/// Checks `text` as a policy for a `target`; the canonical form if it passes.
pub fn check(text: &str, target: Target) -> Result<Checked, ResourcePolicyError> {
    if text.len() > POLICY_BYTES_MAX {
        return Err(ResourcePolicyError::TooLarge);
    }
    let invalid_json = || document("This policy contains invalid Json");
    let mut bytes = text.as_bytes().to_vec();
    let json = simd_json::owned::to_value(&mut bytes).map_err(|_| invalid_json())?;
    let Json::Object(doc) = &json else {
        return Err(invalid_json());
    };
    let statements: Vec<&Json> = match doc.get("Statement") {
        None => return Err(document("Missing required field Statement")),
        Some(Json::Array(list)) => list.iter().collect(),
        Some(one @ Json::Object(_)) => vec![one],
        Some(_) => return Err(document("Statement must be an object or a list")),
    };
    if statements.is_empty() {
        return Err(document("Could not parse the policy: Statement is empty!"));
    }
    let mut sids: Vec<&str> = Vec::new();
    let mut canonical_statements = Vec::with_capacity(statements.len());
    for statement in statements {
        let Json::Object(s) = statement else {
            return Err(document("Statement must be an object or a list"));
        };
        let effect = match s.get("Effect") {
            None => return Err(document("Missing required field Effect")),
            Some(Json::String(e)) if e.eq_ignore_ascii_case("allow") => "Allow",
            Some(Json::String(e)) if e.eq_ignore_ascii_case("deny") => "Deny",
            Some(other) => {
                return Err(document(format!(
                    "Invalid effect: {}",
                    other.as_str().unwrap_or("")
                )));
            }
        };
        let principal = s.get("Principal").or_else(|| s.get("NotPrincipal"));
        let Some(principal) = principal else {
            return Err(document("Missing required field Principal"));
        };
        if s.get("Action").is_none() && s.get("NotAction").is_none() {
            return Err(document("Missing required field Action"));
        }
        if s.get("Resource").is_none() && s.get("NotResource").is_none() {
            return Err(document("Missing required field Resource"));
        }
        if let Some(Json::String(sid)) = s.get("Sid") {
            if sids.contains(&sid.as_str()) {
                return Err(document("The Statement Ids in the policy are not unique"));
            }
            sids.push(sid);
        }
        let everyone = check_principal(principal)?;
        if everyone && effect == "Allow" && s.get("NotPrincipal").is_none() {
            let conditioned = matches!(s.get("Condition"), Some(Json::Object(c)) if !c.is_empty());
            if !conditioned {
                return Err(ResourcePolicyError::Unbounded);
            }
        }
        if target == Target::Table {
            let actions = listed(s.get("Action"));
            let invalid: Vec<String> = actions
                .iter()
                .filter(|a| {
                    STREAM_ACTIONS
                        .iter()
                        .any(|x| x.eq_ignore_ascii_case(a.as_str()))
                })
                .map(|a| format!("\"{a}\""))
                .collect();
            if !invalid.is_empty() {
                return Err(document(format!(
                    "The following action names are invalid: {}",
                    invalid.join(", ")
                )));
            }
        }
        canonical_statements.push(canonical_statement(s, effect));
    }
    let mut canonical = String::with_capacity(text.len());
    canonical.push_str("{\"Version\":");
    match doc.get("Version") {
        Some(Json::String(v)) => canonical.push_str(&Json::String(v.clone()).encode()),
        _ => canonical.push_str("\"2008-10-17\""),
    }
    if let Some(id) = doc.get("Id") {
        canonical.push_str(",\"Id\":");
        canonical.push_str(&id.encode());
    }
    canonical.push_str(",\"Statement\":[");
    canonical.push_str(&canonical_statements.join(","));
    canonical.push_str("]}");
    // What the evaluator cannot evaluate is refused here rather than
    // silently never matching.
    let policy = Policy::parse(&canonical).map_err(|e| document(e.0))?;
    Ok(Checked { canonical, policy })
}

/// The strings of a string-or-list member.
fn listed(value: Option<&Json>) -> Vec<String> {
    match value {
        Some(Json::String(s)) => vec![s.clone()],
        Some(Json::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// A 12-digit account id.
fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An IAM principal ARN: `arn:aws:iam::<account>:root`, `…:user/<path>`,
/// `…:role/<path>`, or an STS assumed-role session.
fn is_principal_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts.as_slice() else {
        return false;
    };
    let resource_ok = match *service {
        "iam" => {
            *resource == "root"
                || ["user/", "role/"]
                    .iter()
                    .any(|p| resource.strip_prefix(*p).is_some_and(|r| !r.is_empty()))
        }
        "sts" => resource
            .strip_prefix("assumed-role/")
            .is_some_and(|r| !r.is_empty()),
        _ => false,
    };
    *arn == "arn"
        && partition.starts_with("aws")
        && region.is_empty()
        && is_account_id(account)
        && resource_ok
}

/// Checks a Principal; true when it is everyone (`*` or `{"AWS":"*"}`).
fn check_principal(principal: &Json) -> Result<bool, ResourcePolicyError> {
    match principal {
        Json::String(p) if p == "*" => Ok(true),
        Json::Object(kinds) if !kinds.is_empty() => {
            let mut everyone = false;
            for (kind, value) in kinds.iter() {
                let names = match value {
                    Json::String(s) => vec![s.as_str()],
                    Json::Array(items) if !items.is_empty() => {
                        let mut names = Vec::with_capacity(items.len());
                        for item in items.iter() {
                            names.push(item.as_str().ok_or(ResourcePolicyError::Principal)?);
                        }
                        names
                    }
                    _ => return Err(ResourcePolicyError::Principal),
                };
                match kind.as_str() {
                    "AWS" => {
                        for name in names {
                            if name == "*" {
                                everyone = true;
                            } else if !is_account_id(name) && !is_principal_arn(name) {
                                return Err(ResourcePolicyError::Principal);
                            }
                        }
                    }
                    "Service" | "Federated" | "CanonicalUser" => {
                        if names.iter().any(|n| n.is_empty()) {
                            return Err(ResourcePolicyError::Principal);
                        }
                    }
                    _ => return Err(ResourcePolicyError::Principal),
                }
            }
            Ok(everyone)
        }
        _ => Err(ResourcePolicyError::Principal),
    }
}

/// A string-or-list value as DynamoDB writes it back: one element as a
/// string, more as a list.
fn collapsed(value: &Json) -> String {
    match value {
        Json::Array(items) if items.len() == 1 => items[0].encode(),
        other => other.encode(),
    }
}

fn canonical_principal(value: &Json) -> String {
    let Json::Object(kinds) = value else {
        return value.encode();
    };
    let mut out = String::from("{");
    for (i, (kind, v)) in kinds.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Json::String(kind.to_string()).encode());
        out.push(':');
        if kind == "AWS" {
            let mut names: Vec<String> = Vec::new();
            for name in listed(Some(v)) {
                let name = if is_account_id(&name) {
                    format!("arn:aws:iam::{name}:root")
                } else {
                    name
                };
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            let list = Json::Array(Box::new(names.into_iter().map(Json::String).collect()));
            out.push_str(&collapsed(&list));
        } else {
            out.push_str(&collapsed(v));
        }
    }
    out.push('}');
    out
}

fn canonical_statement(s: &simd_json::owned::Object, effect: &str) -> String {
    let mut members: Vec<String> = Vec::new();
    let mut member = |name: &str, value: String| {
        members.push(format!("\"{name}\":{value}"));
    };
    if let Some(sid) = s.get("Sid") {
        member("Sid", sid.encode());
    }
    member("Effect", format!("\"{effect}\""));
    for name in ["Principal", "NotPrincipal"] {
        if let Some(v) = s.get(name) {
            member(name, canonical_principal(v));
        }
    }
    for name in ["Action", "NotAction", "Resource", "NotResource"] {
        if let Some(v) = s.get(name) {
            member(name, collapsed(v));
        }
    }
    if let Some(c) = s.get("Condition") {
        member("Condition", c.encode());
    }
    format!("{{{}}}", members.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/alice"},"Action":"dynamodb:GetItem","Resource":"*"}]}"#;

    #[test]
    fn canonical_form_is_dynamodbs() {
        let spelled = r#"{ "Statement": { "Resource": ["arn:aws:dynamodb:us-east-1:000000000000:table/T"],
            "Action": ["dynamodb:GetItem"], "Principal": {"AWS": ["000000000000", "arn:aws:iam::000000000000:root"]},
            "Effect": "deny" }, "Version": "2012-10-17" }"#;
        let checked = check(spelled, Target::Table).expect("valid");
        assert_eq!(
            checked.canonical,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"dynamodb:GetItem","Resource":"arn:aws:dynamodb:us-east-1:000000000000:table/T"}]}"#
        );
        assert_eq!(check(OK, Target::Table).expect("valid").canonical, OK);
        let versionless = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":["a:b","c:d"],"Resource":"*"}]}"#;
        assert!(
            check(versionless, Target::Table)
                .expect("valid")
                .canonical
                .starts_with(r#"{"Version":"2008-10-17","#)
        );
    }

    #[test]
    fn refusals_carry_dynamodbs_texts() {
        let big = format!("{}{}", OK, " ".repeat(POLICY_BYTES_MAX));
        let cases: &[(&str, ResourcePolicyError)] = &[
            (&big, ResourcePolicyError::TooLarge),
            ("{not json", document("This policy contains invalid Json")),
            ("", document("This policy contains invalid Json")),
            (
                r#"{"Version":"2012-10-17","Statement":[]}"#,
                document("Could not parse the policy: Statement is empty!"),
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":"dynamodb:*"}]}"#,
                document("Missing required field Resource"),
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}]}"#,
                document("Missing required field Principal"),
            ),
            (
                r#"{"Statement":[{"Sid":"x","Effect":"Deny","Principal":"*","Action":"dynamodb:*","Resource":"*"},
                                {"Sid":"x","Effect":"Deny","Principal":"*","Action":"dynamodb:*","Resource":"*"}]}"#,
                document("The Statement Ids in the policy are not unique"),
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"dynamodb:*","Resource":"*"}]}"#,
                ResourcePolicyError::Unbounded,
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"dynamodb:*","Resource":"*"}]}"#,
                ResourcePolicyError::Principal,
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":["dynamodb:GetRecords","dynamodb:DescribeStream"],"Resource":"*"}]}"#,
                document(
                    r#"The following action names are invalid: "dynamodb:GetRecords", "dynamodb:DescribeStream""#,
                ),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                check(text, Target::Table).err().as_ref(),
                Some(want),
                "{text}"
            );
        }
        // A stream's policy takes the stream actions; a conditioned Allow
        // to everyone and a Deny to everyone are accepted.
        let stream = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":"dynamodb:GetRecords","Resource":"*"}]}"#;
        assert!(check(stream, Target::Stream).is_ok());
        let conditioned = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"dynamodb:GetItem","Resource":"*",
            "Condition":{"StringEquals":{"aws:PrincipalAccount":"000000000000"}}},
            {"Effect":"Deny","Principal":"*","Action":"dynamodb:DeleteItem","Resource":"*"}]}"#;
        assert!(check(conditioned, Target::Table).is_ok());
    }
}
