//! One page of a Query or Scan: what was scanned, what passed the filter,
//! where to resume.
//!
//! DynamoDB's rules: `Limit` counts items *evaluated* (before the filter);
//! a page also ends once the items evaluated reach 1 MB; when a page ends
//! for either reason, LastEvaluatedKey names the last item evaluated (even if
//! no further item exists). Count/ScannedCount count after/before the filter.

use crate::api::expr::{self, Condition, Projection};
use crate::api::index::keys;
use crate::api::protocol::error::ApiError;
use crate::api::protocol::reply::{ConsumedMode, read_units, write_consumed};
use crate::api::shard::capacity::Meter;
use crate::catalog::{IndexDef, IndexKind, TableDef};
use crate::model::Item;
use crate::model::codec::decode_item;
use crate::model::value::{item_size, write_json_map, write_json_str};

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
    index: Option<IndexPage<'r>>,
    items: Vec<Item>,
    pub count: usize,
    pub scanned: usize,
    /// Bytes of the entries read (base items, or index entries).
    pub bytes: usize,
    /// Bytes of base items fetched for index entries (LSI only).
    pub fetched_bytes: usize,
    pub last_key: Option<Item>,
    pub full: bool,
}

/// How a page over an index shapes its items.
#[derive(Clone, Copy)]
pub struct IndexPage<'r> {
    pub index: &'r IndexDef,
    /// Items are base items fetched for their entries (an LSI read needing
    /// unprojected attributes) and, with no ProjectionExpression and no
    /// ALL_ATTRIBUTES, are cut back to what the index projects.
    pub reshape: bool,
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
            index: None,
            items: Vec::new(),
            count: 0,
            scanned: 0,
            bytes: 0,
            fetched_bytes: 0,
            last_key: None,
            full: false,
        }
    }

    /// A page over an index's entries: LastEvaluatedKey carries the table's
    /// and the index's keys, capacity is reported per index.
    pub fn over_index(mut self, index: IndexPage<'r>) -> Self {
        self.index = Some(index);
        self
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
        let item = decode_item(value)?;
        Ok(self.offer_entry(item, None))
    }

    /// Takes one decoded entry and, for an LSI entry whose base item had to
    /// be read, that item (the filter and projection then apply to it);
    /// returns false once the page is full.
    pub fn offer_entry(&mut self, entry: Item, fetched: Option<Item>) -> bool {
        self.scanned += 1;
        self.bytes += item_size(&entry);
        if let Some(base) = &fetched {
            self.fetched_bytes += item_size(base);
        }
        let limit_hit = self.limit.is_some_and(|l| self.scanned >= l);
        if limit_hit || self.bytes + self.fetched_bytes >= PAGE_BYTES_MAX {
            self.last_key = Some(self.key_of(&entry));
            self.full = true;
        }
        let item = fetched.unwrap_or(entry);
        if self.filter.is_none_or(|f| expr::evaluate(f, &item)) {
            self.count += 1;
            if !self.count_only {
                self.items.push(match (self.projection, self.index) {
                    (Some(p), _) => p.apply(&item),
                    (None, Some(ix)) if ix.reshape => keys::project(self.table, ix.index, &item),
                    (None, _) => item,
                });
            }
        }
        !self.full
    }

    fn key_of(&self, item: &Item) -> Item {
        if let Some(ix) = &self.index {
            return keys::last_evaluated_key(self.table, ix.index, item);
        }
        let mut key = Item::new();
        let names = std::iter::once(&self.table.partition_key).chain(self.table.sort_key.as_ref());
        for attr in names {
            if let Some(v) = item.get(&attr.name) {
                key.insert(attr.name.clone(), v.clone());
            }
        }
        key
    }

    /// Charges what this page read to `meter`: the bytes examined, summed
    /// then rounded (before any filter), to the table or to the index read;
    /// base items an LSI read fetched, to the table.
    pub fn charge(&self, meter: &Meter, consistent: bool, key_hash: Option<u64>) {
        match &self.index {
            None => meter.charge_read(
                self.table,
                None,
                read_units(self.bytes, consistent),
                key_hash,
            ),
            Some(ix) => {
                meter.charge_read(
                    self.table,
                    Some(&ix.index.name),
                    read_units(self.bytes, consistent),
                    key_hash,
                );
                if self.fetched_bytes > 0 {
                    meter.charge_read(
                        self.table,
                        None,
                        read_units(self.fetched_bytes, consistent),
                        None,
                    );
                }
            }
        }
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
            match self.index {
                None => write_consumed(
                    &mut out,
                    consumed,
                    &self.table.name,
                    read_units(self.bytes, consistent),
                ),
                Some(ix) => {
                    let index_units = read_units(self.bytes, consistent);
                    let table_units = if self.fetched_bytes == 0 {
                        0.0
                    } else {
                        read_units(self.fetched_bytes, consistent)
                    };
                    write_index_consumed(
                        &mut out,
                        consumed,
                        &self.table.name,
                        ix.index,
                        index_units,
                        table_units,
                    );
                }
            }
        }
        out.push(b'}');
        out
    }
}

/// `"ConsumedCapacity":{…}` of a read over an index: the total, and with
/// INDEXES the table's part (base items fetched for an LSI) and the index's
/// under `LocalSecondaryIndexes` or `GlobalSecondaryIndexes`.
pub fn write_index_consumed(
    out: &mut Vec<u8>,
    mode: ConsumedMode,
    table: &str,
    index: &IndexDef,
    index_units: f64,
    table_units: f64,
) {
    if mode == ConsumedMode::None {
        return;
    }
    out.extend_from_slice(b"\"ConsumedCapacity\":{\"TableName\":");
    write_json_str(out, table);
    let total = index_units + table_units;
    out.extend_from_slice(format!(",\"CapacityUnits\":{total:?}").as_bytes());
    if mode == ConsumedMode::Indexes {
        out.extend_from_slice(
            format!(",\"Table\":{{\"CapacityUnits\":{table_units:?}}}").as_bytes(),
        );
        let member = match index.kind {
            IndexKind::Local => "LocalSecondaryIndexes",
            IndexKind::Global => "GlobalSecondaryIndexes",
        };
        out.extend_from_slice(format!(",\"{member}\":{{").as_bytes());
        write_json_str(out, &index.name);
        out.extend_from_slice(format!(":{{\"CapacityUnits\":{index_units:?}}}}}").as_bytes());
    }
    out.push(b'}');
}
