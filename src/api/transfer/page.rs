//! ListExports and ListImports, which differ only in their records, member
//! names and summary writer: summaries oldest first, optionally of one
//! table (TableArn), 1–25 per page, NextToken the ARN of the last summary
//! of the page before.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::api::protocol::error::{ApiError, Violations};
use crate::api::protocol::reply::ReplyBuilder;
use crate::api::protocol::request::Fields;
use crate::api::shard::transfers::{ExportRecord, ImportRecord, Transfers};
use crate::api::shard::{COORDINATOR, Outcome, Shard};
use crate::api::transfer::describe;
use crate::api::transfer::registry::ensure_loaded;
use crate::model::value::write_json_str;

/// A record a List operation pages through.
pub trait Listed: Clone {
    /// The request member of the page size (and its path in errors).
    const SIZE_MEMBER: &'static str;
    const SIZE_PATH: &'static str;
    /// The reply member of the summaries.
    const SUMMARIES_MEMBER: &'static str;
    fn registry(transfers: &Transfers) -> &RefCell<BTreeMap<String, Self>>;
    fn start_time(&self) -> f64;
    fn arn(&self) -> &str;
    fn table_arn(&self) -> &str;
    fn write_summary(&self, out: &mut Vec<u8>);
}

impl Listed for ExportRecord {
    const SIZE_MEMBER: &'static str = "MaxResults";
    const SIZE_PATH: &'static str = "maxResults";
    const SUMMARIES_MEMBER: &'static str = "ExportSummaries";
    fn registry(transfers: &Transfers) -> &RefCell<BTreeMap<String, Self>> {
        &transfers.exports
    }
    fn start_time(&self) -> f64 {
        self.start_time
    }
    fn arn(&self) -> &str {
        &self.arn
    }
    fn table_arn(&self) -> &str {
        &self.table_arn
    }
    fn write_summary(&self, out: &mut Vec<u8>) {
        describe::write_export_summary(out, self);
    }
}

impl Listed for ImportRecord {
    const SIZE_MEMBER: &'static str = "PageSize";
    const SIZE_PATH: &'static str = "pageSize";
    const SUMMARIES_MEMBER: &'static str = "ImportSummaryList";
    fn registry(transfers: &Transfers) -> &RefCell<BTreeMap<String, Self>> {
        &transfers.imports
    }
    fn start_time(&self) -> f64 {
        self.start_time
    }
    fn arn(&self) -> &str {
        &self.arn
    }
    fn table_arn(&self) -> &str {
        &self.table_arn
    }
    fn write_summary(&self, out: &mut Vec<u8>) {
        describe::write_import_summary(out, self);
    }
}

/// Serves ListExports (`T` = [`ExportRecord`]) or ListImports
/// ([`ImportRecord`]) on the coordinator, which holds the registry.
pub async fn list<T: Listed>(
    shard: &Rc<Shard>,
    fields: Fields<'_, '_>,
) -> Result<Outcome, ApiError> {
    let table = fields.str("TableArn")?;
    let size = fields.i64(T::SIZE_MEMBER)?;
    let token = fields.str("NextToken")?;
    let mut v = Violations::default();
    check_size(&mut v, size, T::SIZE_PATH);
    v.into_result()?;
    if shard.id != COORDINATOR {
        return Ok(Outcome::Forward(COORDINATOR));
    }
    ensure_loaded(shard).await?;
    let mut records: Vec<_> = T::registry(&shard.transfers)
        .borrow()
        .values()
        .filter(|r| table.is_none_or(|t| r.table_arn() == t))
        .map(|r| (r.start_time(), r.arn().to_string(), r.clone()))
        .collect();
    records.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let (records, next) = take(records, token, size)?;
    let mut out = vec![b'['];
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        record.write_summary(&mut out);
    }
    out.push(b']');
    let mut reply = ReplyBuilder::new();
    reply.raw(T::SUMMARIES_MEMBER, &out);
    next_token(&mut reply, next);
    Ok(Outcome::Reply(reply.finish()))
}

pub const PAGE_MAX: i64 = 25;

fn check_size(v: &mut Violations, size: Option<i64>, path: &str) {
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
fn take<T>(
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

fn next_token(reply: &mut ReplyBuilder, next: Option<String>) {
    if let Some(token) = next {
        let mut json = Vec::new();
        write_json_str(&mut json, &token);
        reply.raw("NextToken", &json);
    }
}
