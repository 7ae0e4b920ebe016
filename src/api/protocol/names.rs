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

/// Reads and validates TableName, returning it.
pub fn table_name<'a>(fields: &Fields<'a, '_>) -> Result<&'a str, ApiError> {
    let name = fields.str("TableName")?;
    let mut v = Violations::default();
    check_table_name(&mut v, name, "tableName");
    v.into_result()?;
    name.ok_or_else(|| ApiError::validation("TableName is required"))
}
