//! DynamoDB's rules for table and index names, as its validator reports
//! them.

use super::error::{ApiError, Violations};
use super::request::Fields;

/// Checks a TableName member the way DynamoDB's validator reports it.
pub fn check_table_name(v: &mut Violations, name: Option<&str>, path: &str) {
    check_resource_name(v, name, path, false);
}

/// Table and index names share DynamoDB's rules (3–255 characters of
/// `[a-zA-Z0-9_.-]`); its validator lists the pattern violation first for
/// index names and last for table names.
pub fn check_resource_name(
    v: &mut Violations,
    name: Option<&str>,
    path: &str,
    pattern_first: bool,
) {
    let Some(name) = name else {
        v.null(path);
        return;
    };
    let pattern_ok = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    if pattern_ok && (3..=255).contains(&name.len()) {
        return; // valid: nothing to quote (the common case allocates nothing)
    }
    let shown = format!("'{name}'");
    let pattern = |v: &mut Violations| {
        if !pattern_ok {
            v.push(
                &shown,
                path,
                "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
            );
        }
    };
    if pattern_first {
        pattern(v);
    }
    if name.len() < 3 {
        v.push(
            &shown,
            path,
            "Member must have length greater than or equal to 3",
        );
    }
    if name.len() > 255 {
        v.push(
            &shown,
            path,
            "Member must have length less than or equal to 255",
        );
    }
    if !pattern_first {
        pattern(v);
    }
}

/// DynamoDB's error for a DDL request without a TableName, which it reports
/// before any other violation.
fn table_name_required() -> ApiError {
    ApiError::validation("The parameter 'TableName' is required but was not present in the request")
}

/// The TableName of DescribeTable, DeleteTable and UpdateTable: required;
/// a length outside 3–255 is reported on its own, in DynamoDB's words for
/// these operations; a bad character joins the other violations in `v`.
pub fn ddl_table_name<'a>(
    fields: &Fields<'a, '_>,
    v: &mut Violations,
) -> Result<&'a str, ApiError> {
    let name = fields.str("TableName")?.ok_or_else(table_name_required)?;
    if !(3..=255).contains(&name.chars().count()) {
        return Err(ApiError::validation(
            "TableName must be at least 3 characters long and at most 255 characters long",
        ));
    }
    if !is_resource_name(name) {
        v.push(
            &format!("'{name}'"),
            "tableName",
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        );
    }
    Ok(name)
}

/// CreateTable's TableName: required (reported alone), then at least one
/// character (a table ARN may stand for a name elsewhere, so the member's
/// own bound is 1), then the name rules, with the other violations in `v`.
pub fn create_table_name<'a>(
    fields: &Fields<'a, '_>,
    v: &mut Violations,
) -> Result<&'a str, ApiError> {
    let name = fields.str("TableName")?.ok_or_else(table_name_required)?;
    if name.is_empty() {
        v.push(
            "''",
            "tableName",
            "Member must have length greater than or equal to 1",
        );
    } else {
        check_table_name(v, Some(name), "tableName");
    }
    Ok(name)
}

fn is_resource_name(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

/// Reads and validates the TableName of DescribeTable and DeleteTable,
/// returning it.
pub fn table_name<'a>(fields: &Fields<'a, '_>) -> Result<&'a str, ApiError> {
    let mut v = Violations::default();
    let name = ddl_table_name(fields, &mut v)?;
    v.into_result()?;
    Ok(name)
}
