//! IAM-style access policies as DynamoDB evaluates them, as a pure function
//! of request facts and policies → [`Decision`]. No I/O, no catalog: the
//! API layer gathers the facts (`api::access`), this module decides.
//!
//! What is evaluated: `Effect` Allow/Deny, `Action`/`NotAction` with `*`
//! and `?` wildcards (case-insensitive), `Resource`/`NotResource` ARNs with
//! wildcards (case-sensitive), `Principal` in resource-based policies, and
//! `Condition` blocks of the string operators (`StringEquals`,
//! `StringNotEquals`, `StringLike`, `StringNotLike`, each optionally
//! `…IfExists`) with the `ForAllValues:` / `ForAnyValue:` set qualifiers,
//! over the DynamoDB condition keys (`dynamodb:LeadingKeys`,
//! `dynamodb:Attributes`, `dynamodb:Select`, `dynamodb:ReturnValues`,
//! `dynamodb:ReturnConsumedCapacity`) and `aws:username`. `${aws:username}`
//! (and `${*}`, `${?}`, `${$}`) are substituted in resources and values.
//!
//! The one rule to know (IAM's): an explicit Deny in any policy wins; else
//! an Allow in the identity policy *or* in the resource's policy (same
//! account) allows; else the request is implicitly denied. A key without
//! an identity policy may do everything its resource policies do not deny.
//! A resource policy's `Principal` names the caller by `*`, by its user
//! ARN, or by its account (the id or `arn:aws:iam::<id>:root`); an Allow
//! to the account grants nothing by itself (it delegates to the account's
//! identity policies, as IAM does within one account), a Deny to it
//! applies to every key. Besides the DynamoDB keys, the global condition
//! keys `aws:PrincipalArn`, `aws:PrincipalAccount` and `aws:PrincipalType`
//! (`User`) are supplied.

use simd_json::OwnedValue as Json;
use simd_json::StaticNode;

/// The outcome of [`evaluate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A matching Deny statement (in which policy).
    ExplicitDeny(Source),
    /// No statement allows it.
    ImplicitDeny,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Identity,
    Resource,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SetOp {
    Single,
    ForAllValues,
    ForAnyValue,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StringOp {
    Equals,
    NotEquals,
    Like,
    NotLike,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Condition {
    set: SetOp,
    op: StringOp,
    if_exists: bool,
    /// Lower case (condition keys are case-insensitive).
    key: String,
    values: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Statement {
    effect: Effect,
    /// `Principal` of a resource-based policy (`*` or ARNs); `None` in an
    /// identity policy.
    principals: Option<Vec<String>>,
    actions: Vec<String>,
    not_action: bool,
    resources: Vec<String>,
    not_resource: bool,
    conditions: Vec<Condition>,
}

/// A parsed policy document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    statements: Vec<Statement>,
    /// The document as given (GetResourcePolicy returns it).
    pub text: String,
}

/// Why a policy document is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid policy: {0}")]
pub struct PolicyError(pub String);

/// What a request does, as the policy sees it.
#[derive(Debug, Default)]
pub struct Facts<'a> {
    /// `dynamodb:GetItem`, `dynacore:Admin`…
    pub action: &'a str,
    /// The ARN acted on (`*` for account-wide actions).
    pub resource: &'a str,
    /// `arn:aws:iam::<account>:user/<name>`.
    pub principal: &'a str,
    /// The value of `${aws:username}`.
    pub username: &'a str,
    /// Condition keys (lower case) and their values for this request.
    pub context: &'a [(&'a str, Vec<String>)],
}

impl Facts<'_> {
    /// The account of the caller: the fifth field of its ARN.
    fn account(&self) -> &str {
        self.principal.split(':').nth(4).unwrap_or("")
    }

    fn values(&self, key: &str) -> Option<Vec<&str>> {
        match key {
            "aws:username" => return Some(vec![self.username]),
            "aws:principalarn" => return Some(vec![self.principal]),
            "aws:principalaccount" => return Some(vec![self.account()]),
            "aws:principaltype" => return Some(vec!["User"]),
            _ => {}
        }
        self.context
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.iter().map(String::as_str).collect())
    }
}

fn err(message: impl Into<String>) -> PolicyError {
    PolicyError(message.into())
}

fn strings(value: &Json, what: &str) -> Result<Vec<String>, PolicyError> {
    match value {
        Json::String(s) => Ok(vec![s.clone()]),
        Json::Array(items) => items
            .iter()
            .map(|v| match v {
                Json::String(s) => Ok(s.clone()),
                Json::Static(StaticNode::Bool(b)) => Ok(b.to_string()),
                _ => Err(err(format!("{what} must be a string or a list of strings"))),
            })
            .collect(),
        Json::Static(StaticNode::Bool(b)) => Ok(vec![b.to_string()]),
        _ => Err(err(format!("{what} must be a string or a list of strings"))),
    }
}

impl Policy {
    /// Parses an IAM policy document (`{"Version":…,"Statement":[…]}`).
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let mut bytes = text.as_bytes().to_vec();
        let json =
            simd_json::owned::to_value(&mut bytes).map_err(|e| err(format!("not JSON: {e}")))?;
        let Json::Object(doc) = &json else {
            return Err(err("a policy is a JSON object"));
        };
        let statements = match doc.get("Statement") {
            Some(Json::Array(list)) => list.iter().collect::<Vec<_>>(),
            Some(one @ Json::Object(_)) => vec![one],
            _ => return Err(err("Statement is required (an object or a list)")),
        };
        let mut parsed = Vec::with_capacity(statements.len());
        for s in statements {
            parsed.push(Self::statement(s)?);
        }
        Ok(Policy {
            statements: parsed,
            text: text.to_string(),
        })
    }

    /// Denies every action on every resource to everyone (a stored
    /// document that no longer parses closes its resource).
    pub fn deny_all() -> Policy {
        Policy {
            statements: vec![Statement {
                effect: Effect::Deny,
                principals: Some(vec!["*".to_string()]),
                actions: vec!["*".to_string()],
                not_action: false,
                resources: vec!["*".to_string()],
                not_resource: false,
                conditions: Vec::new(),
            }],
            text: String::new(),
        }
    }

    fn statement(value: &Json) -> Result<Statement, PolicyError> {
        let Json::Object(s) = value else {
            return Err(err("each statement is a JSON object"));
        };
        let effect = match s.get("Effect") {
            Some(Json::String(e)) if e == "Allow" => Effect::Allow,
            Some(Json::String(e)) if e == "Deny" => Effect::Deny,
            _ => return Err(err("Effect must be \"Allow\" or \"Deny\"")),
        };
        let (actions, not_action) = match (s.get("Action"), s.get("NotAction")) {
            (Some(a), None) => (strings(a, "Action")?, false),
            (None, Some(a)) => (strings(a, "NotAction")?, true),
            _ => return Err(err("a statement needs exactly one of Action, NotAction")),
        };
        let (resources, not_resource) = match (s.get("Resource"), s.get("NotResource")) {
            (Some(r), None) => (strings(r, "Resource")?, false),
            (None, Some(r)) => (strings(r, "NotResource")?, true),
            // Resource-based policies may leave it out: the resource itself.
            (None, None) => (vec!["*".to_string()], false),
            _ => return Err(err("a statement has at most one of Resource, NotResource")),
        };
        let principals = match s.get("Principal") {
            None => None,
            Some(Json::String(p)) => Some(vec![p.clone()]),
            Some(Json::Object(p)) => {
                let mut all = Vec::new();
                for (kind, v) in p.iter() {
                    let named = strings(v, "Principal")?;
                    if kind == "AWS" {
                        all.extend(named);
                    } else {
                        // Service, Federated, CanonicalUser principals:
                        // kept (DynamoDB accepts them) but they name no
                        // key of this server, so they never match.
                        all.extend(named.into_iter().map(|n| format!("{kind}:{n}")));
                    }
                }
                Some(all)
            }
            _ => return Err(err("Principal must be \"*\" or {\"AWS\": …}")),
        };
        let mut conditions = Vec::new();
        match s.get("Condition") {
            None => {}
            Some(Json::Object(block)) => {
                for (operator, keys) in block.iter() {
                    let (set, op, if_exists) = parse_operator(operator)?;
                    let Json::Object(keys) = keys else {
                        return Err(err(format!("Condition {operator} must be an object")));
                    };
                    for (key, values) in keys.iter() {
                        conditions.push(Condition {
                            set,
                            op,
                            if_exists,
                            key: key.to_ascii_lowercase(),
                            values: strings(values, "a condition value")?,
                        });
                    }
                }
            }
            Some(_) => return Err(err("Condition must be an object")),
        }
        Ok(Statement {
            effect,
            principals,
            actions,
            not_action,
            resources,
            not_resource,
            conditions,
        })
    }
}

fn parse_operator(name: &str) -> Result<(SetOp, StringOp, bool), PolicyError> {
    let (set, rest) = if let Some(r) = name.strip_prefix("ForAllValues:") {
        (SetOp::ForAllValues, r)
    } else if let Some(r) = name.strip_prefix("ForAnyValue:") {
        (SetOp::ForAnyValue, r)
    } else {
        (SetOp::Single, name)
    };
    let (rest, if_exists) = match rest.strip_suffix("IfExists") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let op = match rest {
        "StringEquals" => StringOp::Equals,
        "StringNotEquals" => StringOp::NotEquals,
        "StringLike" => StringOp::Like,
        "StringNotLike" => StringOp::NotLike,
        _ => return Err(err(format!("unsupported condition operator '{name}'"))),
    };
    Ok((set, op, if_exists))
}

/// IAM glob: `*` any run, `?` one character.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if ignore_case {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// `${aws:username}` and the escapes `${*}`, `${?}`, `${$}`. Wildcards
/// produced by escapes are matched literally only approximately (they
/// come out as the character itself), which is IAM's documented intent
/// for `${*}` in practice: a literal asterisk in a value.
fn substitute(text: &str, facts: &Facts<'_>) -> String {
    if !text.contains("${") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[i..]);
            return out;
        };
        match &after[..end] {
            "aws:username" => out.push_str(facts.username),
            "*" => out.push('*'),
            "?" => out.push('?'),
            "$" => out.push('$'),
            other => {
                out.push_str("${");
                out.push_str(other);
                out.push('}');
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn string_matches(op: StringOp, pattern: &str, value: &str) -> bool {
    match op {
        StringOp::Equals | StringOp::NotEquals => pattern == value,
        StringOp::Like | StringOp::NotLike => glob(pattern, value, false),
    }
}

fn condition_holds(c: &Condition, facts: &Facts<'_>) -> bool {
    let negated = matches!(c.op, StringOp::NotEquals | StringOp::NotLike);
    let patterns: Vec<String> = c.values.iter().map(|v| substitute(v, facts)).collect();
    let any = |value: &str| patterns.iter().any(|p| string_matches(c.op, p, value));
    let values = facts.values(&c.key);
    match c.set {
        // IAM: ForAllValues over no values (or a missing key) is true.
        SetOp::ForAllValues => values
            .unwrap_or_default()
            .into_iter()
            .all(|v| if negated { !any(v) } else { any(v) }),
        SetOp::ForAnyValue => values
            .unwrap_or_default()
            .into_iter()
            .any(|v| if negated { !any(v) } else { any(v) }),
        SetOp::Single => match values {
            None if c.if_exists => true,
            // A missing key matches no positive operator, every negated one.
            None => negated,
            Some(vs) if vs.is_empty() => c.if_exists || negated,
            Some(vs) => {
                if negated {
                    vs.iter().all(|v| !any(v))
                } else {
                    vs.iter().any(|v| any(v))
                }
            }
        },
    }
}

/// How a resource-policy statement's `Principal` names the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PrincipalMatch {
    /// Not named.
    No,
    /// Its account is named (the account id or `arn:aws:iam::<id>:root`):
    /// a Deny applies to it, but an Allow only delegates to the account's
    /// identity policies (IAM's same-account rule), so it grants nothing.
    Account,
    /// `*` or the caller's own ARN.
    Named,
}

fn principal_match(principals: &[String], facts: &Facts<'_>) -> PrincipalMatch {
    let account = facts.account();
    let mut best = PrincipalMatch::No;
    for p in principals {
        if p == "*" || p == facts.principal {
            return PrincipalMatch::Named;
        }
        let named_account = p
            .strip_prefix("arn:aws:iam::")
            .and_then(|rest| rest.strip_suffix(":root"))
            .unwrap_or(p.as_str());
        if !account.is_empty() && named_account == account {
            best = PrincipalMatch::Account;
        }
    }
    best
}

/// Whether statement `s` of a policy from `source` matches `facts`, and
/// for a resource policy how its Principal names the caller.
fn statement_applies(s: &Statement, facts: &Facts<'_>, source: Source) -> Option<PrincipalMatch> {
    let principal = match (source, &s.principals) {
        (Source::Identity, _) => PrincipalMatch::Named,
        (Source::Resource, None) => return None,
        (Source::Resource, Some(principals)) => match principal_match(principals, facts) {
            PrincipalMatch::No => return None,
            other => other,
        },
    };
    let action = s.actions.iter().any(|a| glob(a, facts.action, true));
    if action == s.not_action {
        return None;
    }
    let resource = s
        .resources
        .iter()
        .any(|r| glob(&substitute(r, facts), facts.resource, false));
    if resource == s.not_resource {
        return None;
    }
    s.conditions
        .iter()
        .all(|c| condition_holds(c, facts))
        .then_some(principal)
}

/// The decision for `facts` under the caller's identity policy (`None`:
/// the key may do everything) and the resource's policy, if any.
pub fn evaluate(
    identity: Option<&Policy>,
    resource: Option<&Policy>,
    facts: &Facts<'_>,
) -> Decision {
    let mut allowed = identity.is_none();
    for (policy, source) in [(identity, Source::Identity), (resource, Source::Resource)] {
        let Some(policy) = policy else { continue };
        for s in &policy.statements {
            match (statement_applies(s, facts, source), s.effect) {
                (None, _) => {}
                (Some(_), Effect::Deny) => return Decision::ExplicitDeny(source),
                (Some(PrincipalMatch::Named), Effect::Allow) => allowed = true,
                (Some(_), Effect::Allow) => {}
            }
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/Orders";
    const INDEX: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/Orders/index/ByDate";
    const OTHER: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/Other";
    const ALICE: &str = "arn:aws:iam::000000000000:user/alice";

    fn policy(statements: &str) -> Policy {
        Policy::parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#
        ))
        .expect("policy parses")
    }

    fn facts<'a>(
        action: &'a str,
        resource: &'a str,
        context: &'a [(&'a str, Vec<String>)],
    ) -> Facts<'a> {
        Facts {
            action,
            resource,
            principal: ALICE,
            username: "alice",
            context,
        }
    }

    fn keys(k: &str, values: &[&str]) -> (&'static str, Vec<String>) {
        let k: &'static str = Box::leak(k.to_string().into_boxed_str());
        (k, values.iter().map(|v| v.to_string()).collect())
    }

    #[test]
    fn action_and_resource_table() {
        let p = policy(
            r#"{"Effect":"Allow","Action":["dynamodb:Get*","dynamodb:Query"],"Resource":["arn:aws:dynamodb:*:*:table/Orders","arn:aws:dynamodb:*:*:table/Orders/index/*"]},
               {"Effect":"Deny","Action":"dynamodb:GetItem","Resource":"arn:aws:dynamodb:*:*:table/Orders/index/*"}"#,
        );
        let cases: &[(&str, &str, Decision)] = &[
            ("dynamodb:GetItem", TABLE, Decision::Allow),
            ("dynamodb:getitem", TABLE, Decision::Allow),
            ("dynamodb:Query", INDEX, Decision::Allow),
            ("dynamodb:PutItem", TABLE, Decision::ImplicitDeny),
            ("dynamodb:GetItem", OTHER, Decision::ImplicitDeny),
            (
                "dynamodb:GetItem",
                INDEX,
                Decision::ExplicitDeny(Source::Identity),
            ),
        ];
        for (action, resource, want) in cases {
            assert_eq!(
                evaluate(Some(&p), None, &facts(action, resource, &[])),
                *want,
                "{action} {resource}"
            );
        }
        // No identity policy: everything.
        assert_eq!(
            evaluate(None, None, &facts("dynamodb:DeleteTable", TABLE, &[])),
            Decision::Allow
        );
    }

    #[test]
    fn not_action_and_not_resource() {
        let p = policy(
            r#"{"Effect":"Allow","NotAction":"dynamodb:Delete*","NotResource":"arn:aws:dynamodb:*:*:table/Other"}"#,
        );
        assert_eq!(
            evaluate(Some(&p), None, &facts("dynamodb:PutItem", TABLE, &[])),
            Decision::Allow
        );
        assert_eq!(
            evaluate(Some(&p), None, &facts("dynamodb:DeleteItem", TABLE, &[])),
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate(Some(&p), None, &facts("dynamodb:PutItem", OTHER, &[])),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn leading_keys_with_username_variable() {
        let p = policy(
            r#"{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",
                "Condition":{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["${aws:username}"]}}}"#,
        );
        let table: &[(&[&str], Decision)] = &[
            (&["alice"], Decision::Allow),
            (&["alice", "alice"], Decision::Allow),
            (&["alice", "bob"], Decision::ImplicitDeny),
            (&["bob"], Decision::ImplicitDeny),
        ];
        for (values, want) in table {
            let ctx = [keys("dynamodb:leadingkeys", values)];
            assert_eq!(
                evaluate(Some(&p), None, &facts("dynamodb:PutItem", TABLE, &ctx)),
                *want,
                "{values:?}"
            );
        }
    }

    #[test]
    fn attributes_select_and_like() {
        let p = policy(
            r#"{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*",
                "Condition":{"ForAllValues:StringLike":{"dynamodb:Attributes":["pk","public_*"]},
                             "StringEqualsIfExists":{"dynamodb:Select":"SPECIFIC_ATTRIBUTES"}}}"#,
        );
        let ok = [
            keys("dynamodb:attributes", &["pk", "public_name"]),
            keys("dynamodb:select", &["SPECIFIC_ATTRIBUTES"]),
        ];
        assert_eq!(
            evaluate(Some(&p), None, &facts("dynamodb:GetItem", TABLE, &ok)),
            Decision::Allow
        );
        let secret = [keys("dynamodb:attributes", &["pk", "ssn"])];
        assert_eq!(
            evaluate(Some(&p), None, &facts("dynamodb:GetItem", TABLE, &secret)),
            Decision::ImplicitDeny
        );
        let all = [keys("dynamodb:select", &["ALL_ATTRIBUTES"])];
        assert_eq!(
            evaluate(Some(&p), None, &facts("dynamodb:GetItem", TABLE, &all)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn single_valued_operators() {
        let p = policy(
            r#"{"Effect":"Deny","Action":"dynamodb:*","Resource":"*","Condition":{"StringEquals":{"dynamodb:ReturnValues":["ALL_OLD","ALL_NEW"]}}},
               {"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{"StringNotEquals":{"dynamodb:ReturnConsumedCapacity":"INDEXES"}}}"#,
        );
        type Case<'a> = (&'a [(&'a str, Vec<String>)], Decision);
        let table: &[Case<'_>] = &[
            (&[], Decision::Allow),
            (
                &[("dynamodb:returnvalues", vec!["NONE".into()])],
                Decision::Allow,
            ),
            (
                &[("dynamodb:returnvalues", vec!["ALL_OLD".into()])],
                Decision::ExplicitDeny(Source::Identity),
            ),
            (
                &[("dynamodb:returnconsumedcapacity", vec!["INDEXES".into()])],
                Decision::ImplicitDeny,
            ),
            (
                &[("dynamodb:returnconsumedcapacity", vec!["TOTAL".into()])],
                Decision::Allow,
            ),
        ];
        for (ctx, want) in table {
            assert_eq!(
                evaluate(Some(&p), None, &facts("dynamodb:PutItem", TABLE, ctx)),
                *want,
                "{ctx:?}"
            );
        }
    }

    #[test]
    fn resource_policy_combines_with_identity() {
        let identity = policy(r#"{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*"}"#);
        let resource = policy(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/alice"},"Action":"dynamodb:PutItem","Resource":"*"},
               {"Effect":"Deny","Principal":"*","Action":"dynamodb:DeleteItem","Resource":"*"}"#,
        );
        let cases: &[(&str, Option<&Policy>, Decision)] = &[
            ("dynamodb:GetItem", Some(&identity), Decision::Allow),
            ("dynamodb:PutItem", Some(&identity), Decision::Allow),
            (
                "dynamodb:UpdateItem",
                Some(&identity),
                Decision::ImplicitDeny,
            ),
            (
                "dynamodb:DeleteItem",
                Some(&identity),
                Decision::ExplicitDeny(Source::Resource),
            ),
            (
                "dynamodb:DeleteItem",
                None,
                Decision::ExplicitDeny(Source::Resource),
            ),
            ("dynamodb:UpdateItem", None, Decision::Allow),
        ];
        for (action, id, want) in cases {
            assert_eq!(
                evaluate(*id, Some(&resource), &facts(action, TABLE, &[])),
                *want,
                "{action}"
            );
        }
        // A resource-policy Allow names a principal: bob gets nothing from it.
        let bob = Facts {
            principal: "arn:aws:iam::000000000000:user/bob",
            username: "bob",
            ..facts("dynamodb:PutItem", TABLE, &[])
        };
        assert_eq!(
            evaluate(Some(&identity), Some(&resource), &bob),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn account_principals_deny_everyone_but_grant_nothing() {
        let resource = policy(
            r#"{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":"dynamodb:GetItem","Resource":"*"},
               {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"dynamodb:PutItem","Resource":"*"},
               {"Effect":"Allow","Principal":"*","Action":"dynamodb:Query","Resource":"*",
                "Condition":{"StringEquals":{"aws:PrincipalAccount":"000000000000"}}},
               {"Effect":"Allow","Principal":{"Service":"dynamodb.amazonaws.com"},"Action":"dynamodb:Scan","Resource":"*"}"#,
        );
        let nothing =
            policy(r#"{"Effect":"Allow","Action":"dynamodb:DescribeTable","Resource":"*"}"#);
        let cases: &[(&str, Option<&Policy>, Decision)] = &[
            // The account's Allow delegates to the (empty) identity policy.
            ("dynamodb:GetItem", Some(&nothing), Decision::ImplicitDeny),
            ("dynamodb:GetItem", None, Decision::Allow),
            (
                "dynamodb:PutItem",
                None,
                Decision::ExplicitDeny(Source::Resource),
            ),
            ("dynamodb:Query", Some(&nothing), Decision::Allow),
            ("dynamodb:Scan", Some(&nothing), Decision::ImplicitDeny),
        ];
        for (action, id, want) in cases {
            assert_eq!(
                evaluate(*id, Some(&resource), &facts(action, TABLE, &[])),
                *want,
                "{action}"
            );
        }
        let stranger = Facts {
            principal: "arn:aws:iam::111111111111:user/alice",
            ..facts("dynamodb:Query", TABLE, &[])
        };
        assert_eq!(
            evaluate(Some(&nothing), Some(&resource), &stranger),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn bad_documents_are_refused() {
        for doc in [
            "",
            "[]",
            r#"{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericEquals":{"a":"1"}}}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":1,"Resource":"*"}]}"#,
        ] {
            assert!(Policy::parse(doc).is_err(), "{doc}");
        }
    }

    #[test]
    fn glob_cases() {
        for (p, t, want) in [
            ("*", "", true),
            ("a*c", "abbbc", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("table/*/index/*", "table/T/index/I", true),
            ("table/T", "table/T/index/I", false),
            ("**x", "yyx", true),
        ] {
            assert_eq!(glob(p, t, false), want, "{p} {t}");
        }
    }
}
