//! Table ARNs as the tag operations take them (`ResourceArn`), refused
//! the way DynamoDB refuses them: a malformed or non-DynamoDB ARN, an index
//! ARN or one of another region is a ValidationException, another account's
//! an AccessDeniedException, and a well-formed ARN of no table here a
//! ResourceNotFoundException (left to the caller, who knows the table).

use crate::api::protocol::error::ApiError;
use crate::api::protocol::error::Violations;
use crate::api::protocol::names::check_table_name;
use crate::api::shard::Shard;

/// The table name a `ResourceArn` names, for `action` (e.g. "TagResource").
pub fn table_name_of<'a>(
    shard: &Shard,
    arn: Option<&'a str>,
    action: &str,
) -> Result<&'a str, ApiError> {
    let Some(arn) = arn else {
        return Err(ApiError::validation("Invalid TableArn"));
    };
    if !arn.starts_with("arn:") {
        return Err(ApiError::invalid_parameter(format!(
            "ARNs must start with 'arn:': {arn}"
        )));
    }
    // arn:partition:service:region:account:resource
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(not_dynamodb(arn));
    };
    if *service != "dynamodb" || partition.is_empty() {
        return Err(not_dynamodb(arn));
    }
    let invalid = || {
        ApiError::validation(format!(
            "Invalid TableArn: Invalid ResourceArn provided as input {arn}"
        ))
    };
    let Some(path) = resource.strip_prefix("table/") else {
        return Err(invalid());
    };
    let (name, rest) = path.split_once('/').unwrap_or((path, ""));
    if !rest.is_empty() && !rest.starts_with("stream/") {
        return Err(ApiError::invalid_parameter(format!(
            "Invalid resource arn provided, only table or stream is accepted. Provided resource arn: {arn}"
        )));
    }
    let mut v = Violations::default();
    check_table_name(&mut v, Some(name), "tableName");
    if v.into_result().is_err() || *partition != "aws" || *region != shard.settings.region {
        return Err(invalid());
    }
    if *account != shard.settings.account_id {
        return Err(ApiError::access_denied(format!(
            "User: arn:aws:iam::{}:user/dynacore is not authorized to perform: dynamodb:{action} on resource: {arn} because no resource-based policy allows the dynamodb:{action} action",
            shard.settings.account_id
        )));
    }
    Ok(name)
}

fn not_dynamodb(arn: &str) -> ApiError {
    ApiError::invalid_parameter(format!(
        "Provided Arn is not a DynamoDB resource arn: {arn}"
    ))
}

/// A well-formed ARN of this account and region naming no table.
pub fn not_found(arn: &str) -> ApiError {
    ApiError::resource_not_found_message(format!(
        "Requested resource not found: ResourcArn: {arn} not found"
    ))
}

/// A TableName member that may be the table's ARN (the backup
/// operations): the name inside this server's table ARN, else as given.
pub fn name_or_arn<'a>(shard: &Shard, name: &'a str) -> &'a str {
    let prefix = format!(
        "arn:aws:dynamodb:{}:{}:table/",
        shard.settings.region, shard.settings.account_id
    );
    name.strip_prefix(prefix.as_str())
        .filter(|rest| !rest.contains('/'))
        .unwrap_or(name)
}

/// What a resource-based policy operation's `ResourceArn` names: a table,
/// or one of its streams (by label time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyResource<'a> {
    pub table: &'a str,
    pub stream_label_ms: Option<u64>,
}

impl PolicyResource<'_> {
    /// How DynamoDB's policy messages name it: "table T", "stream L".
    pub fn describe(&self) -> String {
        match self.stream_label_ms {
            None => format!("table {}", self.table),
            Some(ms) => format!("stream {}", crate::api::streams::names::label(ms)),
        }
    }
}

/// Parses the `ResourceArn` of PutResourcePolicy, GetResourcePolicy and
/// DeleteResourcePolicy, refusing it as DynamoDB does: not an ARN, not
/// DynamoDB's, another partition or region, an index or backup ARN:
/// ValidationException; another account's: ValidationException "only
/// supported by accounts that match the resource owner's account"; a
/// stream label of no stream: ResourceNotFoundException. Whether the
/// table exists is the caller's to check.
pub fn policy_resource<'a>(shard: &Shard, arn: &'a str) -> Result<PolicyResource<'a>, ApiError> {
    if !arn.starts_with("arn:") {
        return Err(ApiError::invalid_parameter(format!(
            "ARNs must start with 'arn:': {arn}"
        )));
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(not_dynamodb(arn));
    };
    if *service != "dynamodb" {
        return Err(not_dynamodb(arn));
    }
    let invalid = || ApiError::invalid_parameter(format!("Invalid resource Arn: {arn}"));
    if *partition != "aws" || *region != shard.settings.region {
        return Err(invalid());
    }
    if *account != shard.settings.account_id {
        return Err(ApiError::validation(
            "This action is only supported by accounts that match the resource owner\u{2019}s account.",
        ));
    }
    let Some(path) = resource.strip_prefix("table/") else {
        return Err(not_dynamodb(arn));
    };
    let (name, rest) = path.split_once('/').unwrap_or((path, ""));
    let mut v = Violations::default();
    check_table_name(&mut v, Some(name), "tableName");
    if v.into_result().is_err() {
        return Err(invalid());
    }
    let stream_label_ms = match rest.split_once('/') {
        None if rest.is_empty() => None,
        Some(("stream", label)) => match crate::api::streams::names::parse_label(label) {
            Some(ms) => Some(ms),
            None => {
                return Err(ApiError::resource_not_found_message(format!(
                    "Requested resource not found: Stream: {label} not found for Table: {name}"
                )));
            }
        },
        Some(("index", _)) => {
            return Err(ApiError::invalid_parameter(format!(
                "Invalid resource arn provided, only table or stream is accepted. Provided resource arn: {arn}"
            )));
        }
        _ => return Err(not_dynamodb(arn)),
    };
    Ok(PolicyResource {
        table: name,
        stream_label_ms,
    })
}
