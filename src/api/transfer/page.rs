//! Pages of ListExports and ListImports: 1–25 per page, NextToken the ARN
//! of the last summary of the page before.

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::reply::ReplyBuilder;
use crate::model::value::write_json_str;

pub const PAGE_MAX: i64 = 25;

pub fn check_size(v: &mut Violations, size: Option<i64>, path: &str) {
    if let Some(n) = size
        && !(1..=PAGE_MAX).contains(&n)
    {
        v.push(
            &n.to_string(),
            path,
            if n < 1 {
                "Member must have value greater than or equal to 1"
            } else {
                "Member must have value less than or equal to 25"
            },
        );
    }
}

/// The page after `token` of `records` (start time, ARN, record), sorted;
/// and the next token if more follow.
pub fn take<T>(
    records: Vec<(f64, String, T)>,
    token: Option<&str>,
    size: Option<i64>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let mut records = records;
    if let Some(token) = token {
        match records.iter().position(|r| r.1 == token) {
            Some(at) => {
                records.drain(..=at);
            }
            None => return Err(ApiError::validation("Invalid NextToken")),
        }
    }
    let size = size.unwrap_or(PAGE_MAX) as usize;
    let more = records.len() > size;
    records.truncate(size);
    let next = if more {
        records.last().map(|r| r.1.clone())
    } else {
        None
    };
    Ok((records.into_iter().map(|r| r.2).collect(), next))
}

pub fn next_token(reply: &mut ReplyBuilder, next: Option<String>) {
    if let Some(token) = next {
        let mut json = Vec::new();
        write_json_str(&mut json, &token);
        reply.raw("NextToken", &json);
    }
}
