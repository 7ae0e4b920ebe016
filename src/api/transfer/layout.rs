//! Where export and import files go under the export root, and the
//! checks that keep every path inside it: S3Bucket (DynamoDB's pattern,
//! then S3's stricter bucket-name rules so it is one folder name), the
//! prefix (no `.`/`..` component, no leading `/`), and the request
//! members both operations share.

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::shard::transfers::ExportRecord;

/// Whether `bucket` may name a folder: S3's bucket-name rules (3–63
/// characters of lower-case letters, digits, `.` and `-`, starting and
/// ending with a letter or digit, no `..`), which also keep it one path
/// component.
pub fn bucket_is_valid(bucket: &str) -> bool {
    let b = bucket.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !bucket.contains("..")
}

/// Whether `prefix` stays inside its bucket: no `.` or `..` component, no
/// leading `/`, no NUL or backslash.
pub fn prefix_is_valid(prefix: &str) -> bool {
    !prefix.starts_with('/')
        && !prefix.contains('\0')
        && !prefix.contains('\\')
        && prefix.split('/').all(|part| part != ".." && part != ".")
}

/// `<bucket>/<prefix>` as a path under the root, without a trailing `/`.
pub fn bucket_path(bucket: &str, prefix: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        bucket.to_string()
    } else {
        format!("{bucket}/{prefix}")
    }
}

/// The ISO-8601 UTC time of `seconds` since the epoch (manifests).
pub fn iso_time(seconds: f64) -> String {
    let ms = (seconds * 1000.0).round().max(0.0) as u64;
    format!("{}Z", crate::api::streams::names::label(ms))
}

/// The S3 members both operations take, checked as DynamoDB's validator
/// checks them (collected in `v`): S3Bucket (required, ≤ 255), the
/// prefix (≤ 1024), S3BucketOwner (12 digits).
pub fn check_s3_members(
    v: &mut Violations,
    bucket: Option<&str>,
    bucket_path: &str,
    prefix: Option<&str>,
    prefix_path: &str,
    owner: Option<&str>,
    owner_path: &str,
) {
    match bucket {
        None => v.null(bucket_path),
        Some(b) if b.len() > 255 => v.push(
            &format!("'{b}'"),
            bucket_path,
            "Member must have length less than or equal to 255",
        ),
        Some(b) if !s3_bucket_pattern(b) => v.push(
            &format!("'{b}'"),
            bucket_path,
            "Member must satisfy regular expression pattern: ^[a-z0-9A-Z]+[\\.\\-\\w]*[a-z0-9A-Z]+$",
        ),
        Some(_) => {}
    }
    if let Some(p) = prefix
        && p.len() > 1024
    {
        v.push(
            &format!("'{p}'"),
            prefix_path,
            "Member must have length less than or equal to 1024",
        );
    }
    if let Some(o) = owner
        && (o.len() != 12 || !o.bytes().all(|c| c.is_ascii_digit()))
    {
        v.push(
            &format!("'{o}'"),
            owner_path,
            "Member must satisfy regular expression pattern: [0-9]{12}",
        );
    }
}

/// DynamoDB's S3Bucket pattern `^[a-z0-9A-Z]+[\.\-\w]*[a-z0-9A-Z]+$`.
fn s3_bucket_pattern(b: &str) -> bool {
    let bytes = b.as_bytes();
    bytes.len() >= 2
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}

/// After the validator: a bucket that cannot be a folder here (S3's
/// stricter bucket-name rules) or a prefix that leaves its bucket.
pub fn check_location(bucket: &str, prefix: &str) -> Result<(), ApiError> {
    if !bucket_is_valid(bucket) {
        return Err(ApiError::validation(format!(
            "Invalid S3 bucket name: {bucket}"
        )));
    }
    if !prefix_is_valid(prefix) {
        return Err(ApiError::validation(format!("Invalid S3 prefix: {prefix}")));
    }
    Ok(())
}

/// A ClientToken: DynamoDB's pattern `^[^\$]+$`.
pub fn check_client_token(v: &mut Violations, token: Option<&str>) {
    if let Some(t) = token
        && (t.is_empty() || t.contains('$'))
    {
        v.push(
            &format!("'{t}'"),
            "clientToken",
            "Member must satisfy regular expression pattern: ^[^\\$]+$",
        );
    }
}

/// `Member must satisfy enum value set: [..]` unless `value` is one of `set`.
pub fn check_enum(v: &mut Violations, value: Option<&str>, path: &str, set: &[&str]) {
    if let Some(x) = value
        && !set.contains(&x)
    {
        v.push(
            &format!("'{x}'"),
            path,
            &format!("Member must satisfy enum value set: [{}]", set.join(", ")),
        );
    }
}

/// `<bucket>/<prefix>/AWSDynamoDB/<id>`, under the export root.
pub fn folder(record: &ExportRecord) -> String {
    format!(
        "{}/AWSDynamoDB/{}",
        bucket_path(&record.bucket, &record.prefix),
        record.id
    )
}

/// The S3 key (inside the bucket) of a file of the export's folder.
pub fn key_in_bucket(record: &ExportRecord, name: &str) -> String {
    let prefix = record.prefix.trim_end_matches('/');
    if prefix.is_empty() {
        format!("AWSDynamoDB/{}/{name}", record.id)
    } else {
        format!("{prefix}/AWSDynamoDB/{}/{name}", record.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_and_prefix_rules_keep_paths_inside_the_root() {
        assert!(bucket_is_valid("my-bucket.1"));
        for bad in [
            "ab",
            "UPPER",
            "a/b",
            "..",
            "a..b",
            "-ab",
            "ab-",
            ".dynacore",
            "",
        ] {
            assert!(!bucket_is_valid(bad), "{bad}");
        }
        assert!(prefix_is_valid(""));
        assert!(prefix_is_valid("a/b/"));
        for bad in ["../x", "a/../b", "/abs", "a/./b", "a\\b"] {
            assert!(!prefix_is_valid(bad), "{bad}");
        }
        assert_eq!(bucket_path("b", "p/q/"), "b/p/q");
        assert_eq!(bucket_path("b", ""), "b");
        assert_eq!(iso_time(1.5), "1970-01-01T00:00:01.500Z");
    }
}
