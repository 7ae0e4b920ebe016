//! One page of a Query or Scan: what was scanned, what passed the filter,
//! where to resume.
//!
//! DynamoDB's rules: `Limit` counts items *evaluated* (before the filter);
//! a page also ends once the items evaluated reach 1 MB; when a page ends
//! for either reason, LastEvaluatedKey names the last item evaluated (even if
//! no further item exists). Count/ScannedCount count after/before the filter.

use std::ops::Bound;

use super::error::ApiError;
use super::items::{ConsumedMode, read_units, write_consumed};
use crate::api::expr::{self, Condition, Projection};
use crate::catalog::TableDef;
use crate::model::Item;
use crate::model::codec::decode_item;
use crate::model::value::{item_size, write_json_map};

/// DynamoDB's page size limit.
pub const PAGE_BYTES_MAX: usize = 1024 * 1024;
/// Entries fetched from a store per round trip while filling a page.
pub const FETCH_ENTRIES: usize = 256;

pub struct PageBuilder<'r> {
    filter: Option<&'r Condition>,
    projection: Option<&'r Projection>,
    count_only: bool,
    limit: Option<usize>,
    table: &'r TableDef,
    items: Vec<Item>,
    pub count: usize,
    pub scanned: usize,
    pub bytes: usize,
    pub last_key: Option<Item>,
    pub full: bool,
}

impl<'r> PageBuilder<'r> {
    pub fn new(
        table: &'r TableDef,
        filter: Option<&'r Condition>,
        projection: Option<&'r Projection>,
        count_only: bool,
        limit: Option<usize>,
    ) -> Self {
        PageBuilder {
            filter,
            projection,
            count_only,
            limit,
            table,
            items: Vec::new(),
            count: 0,
            scanned: 0,
            bytes: 0,
            last_key: None,
            full: false,
        }
    }

    /// How many more entries to fetch at most.
    pub fn fetch_size(&self) -> usize {
        match self.limit {
            Some(limit) => (limit - self.scanned).clamp(1, FETCH_ENTRIES),
            None => FETCH_ENTRIES,
        }
    }

    /// Takes one stored entry; returns false once the page is full.
    pub fn offer(&mut self, value: &[u8]) -> Result<bool, ApiError> {
        let item = decode_item(value).map_err(|e| ApiError::internal(e.to_string()))?;
        self.scanned += 1;
        self.bytes += item_size(&item);
        let passes = self.filter.is_none_or(|f| expr::evaluate(f, &item));
        let limit_hit = self.limit.is_some_and(|l| self.scanned >= l);
        if limit_hit || self.bytes >= PAGE_BYTES_MAX {
            self.last_key = Some(self.key_of(&item));
            self.full = true;
        }
        if passes {
            self.count += 1;
            if !self.count_only {
                self.items.push(match self.projection {
                    Some(p) => p.apply(&item),
                    None => item,
                });
            }
        }
        Ok(!self.full)
    }

    fn key_of(&self, item: &Item) -> Item {
        let mut key = Item::new();
        let names = std::iter::once(&self.table.partition_key).chain(self.table.sort_key.as_ref());
        for attr in names {
            if let Some(v) = item.get(&attr.name) {
                key.insert(attr.name.clone(), v.clone());
            }
        }
        key
    }

    pub fn reply(self, consumed: ConsumedMode, consistent: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.bytes);
        out.push(b'{');
        if !self.count_only {
            out.extend_from_slice(b"\"Items\":[");
            for (i, item) in self.items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_map(&mut out, item);
            }
            out.extend_from_slice(b"],");
        }
        out.extend_from_slice(
            format!("\"Count\":{},\"ScannedCount\":{}", self.count, self.scanned).as_bytes(),
        );
        if let Some(key) = &self.last_key {
            out.extend_from_slice(b",\"LastEvaluatedKey\":");
            write_json_map(&mut out, key);
        }
        if consumed != ConsumedMode::None {
            out.push(b',');
            write_consumed(
                &mut out,
                consumed,
                &self.table.name,
                read_units(self.bytes, consistent),
            );
        }
        out.push(b'}');
        out
    }
}

/// The smallest key greater than every key starting with `prefix`
/// (Unbounded if there is none).
pub fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last != 0xFF {
            end.push(last + 1);
            return Bound::Excluded(end);
        }
    }
    Bound::Unbounded
}

/// The tighter of two lower bounds.
pub fn max_lower(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    use Bound::*;
    match (&a, &b) {
        (Unbounded, _) => b,
        (_, Unbounded) => a,
        (Included(x) | Excluded(x), Included(y) | Excluded(y)) => {
            if x > y || (x == y && matches!(a, Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

/// The tighter of two upper bounds.
pub fn min_upper(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    use Bound::*;
    match (&a, &b) {
        (Unbounded, _) => b,
        (_, Unbounded) => a,
        (Included(x) | Excluded(x), Included(y) | Excluded(y)) => {
            if x < y || (x == y && matches!(a, Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

/// Limit: at least 1 when given.
pub fn read_limit(fields: &super::request::Fields<'_, '_>) -> Result<Option<usize>, ApiError> {
    match fields.i64("Limit")? {
        None => Ok(None),
        Some(n) if n >= 1 => Ok(Some(n as usize)),
        Some(n) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ))),
    }
}

/// Select, checked against the projection as DynamoDB checks it; returns
/// whether only a count is wanted.
pub fn read_select(
    fields: &super::request::Fields<'_, '_>,
    has_projection: bool,
) -> Result<bool, ApiError> {
    let select = fields.str("Select")?;
    match select {
        Some(s @ ("ALL_ATTRIBUTES" | "ALL_PROJECTED_ATTRIBUTES" | "COUNT")) if has_projection => {
            let member = if fields.get("AttributesToGet").is_some() {
                "AttributesToGet"
            } else {
                "ProjectionExpression"
            };
            Err(ApiError::validation(format!(
                "Cannot specify the {member} when choosing to get {s}"
            )))
        }
        Some("SPECIFIC_ATTRIBUTES") if !has_projection => Err(ApiError::validation(
            "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
        )),
        None | Some("ALL_ATTRIBUTES") | Some("SPECIFIC_ATTRIBUTES") => Ok(false),
        Some("ALL_PROJECTED_ATTRIBUTES") => Err(ApiError::validation(
            "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
        )),
        Some("COUNT") => Ok(true),
        Some(other) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
        ))),
    }
}

/// Filter and key-condition expressions may not name key attributes in a
/// filter: DynamoDB's rule for Query.
pub fn reject_key_attributes_in_filter(
    filter: &Condition,
    table: &TableDef,
    label: &str,
) -> Result<(), ApiError> {
    let keys = std::iter::once(&table.partition_key).chain(table.sort_key.as_ref());
    for attr in keys {
        if filter_mentions(filter, &attr.name) {
            return Err(ApiError::validation(format!(
                "{label} can only contain non-primary key attributes: Primary key attribute: {}",
                attr.name
            )));
        }
    }
    Ok(())
}

fn filter_mentions(cond: &Condition, name: &str) -> bool {
    use crate::api::expr::{Node, Operand};
    let op_mentions = |o: &Operand| match o {
        Operand::Path(p) | Operand::Size(p) => p.head() == name,
        Operand::Value(_) => false,
    };
    cond.nodes.iter().any(|n| match n {
        Node::Cmp(_, a, b) | Node::BeginsWith(a, b) | Node::Contains(a, b) => {
            op_mentions(a) || op_mentions(b)
        }
        Node::Between(a, b, c) => op_mentions(a) || op_mentions(b) || op_mentions(c),
        Node::In(a, list) => op_mentions(a) || list.iter().any(op_mentions),
        Node::Exists(p) | Node::NotExists(p) => p.head() == name,
        Node::Type(p, t) => p.head() == name || op_mentions(t),
        Node::And(..) | Node::Or(..) | Node::Not(_) => false,
    })
}
