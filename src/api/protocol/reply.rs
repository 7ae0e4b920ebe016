//! Reply building: the `{"Attributes":…,"ConsumedCapacity":…}` objects
//! replies are made of, and DynamoDB's capacity arithmetic (1 write unit
//! per KB, 1 read unit per 4 KB, halved for eventually consistent reads;
//! index writes broken down per index for INDEXES).

use super::capacity;
use crate::catalog::IndexKind;
use crate::model::codec::{DecodeError, write_item_json};
use crate::model::value::{Item, Value, write_json_map, write_json_str};

/// ReturnConsumedCapacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumedMode {
    None,
    Total,
    Indexes,
}

/// The size of an item collection after a write, for ItemCollectionMetrics.
#[derive(Clone, Debug)]
pub struct CollectionMetrics {
    pub table: String,
    pub key_name: String,
    pub key: Value,
    pub bytes: u64,
}

impl CollectionMetrics {
    /// `{"ItemCollectionKey":{…},"SizeEstimateRangeGB":[lo,hi]}`: the exact
    /// size is known, so the range is the whole gigabytes around it.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"ItemCollectionKey\":");
        let mut key = Item::new();
        key.insert(self.key_name.clone(), self.key.clone());
        write_json_map(out, &key);
        let gb = (self.bytes as f64 / f64::from(1u32 << 30)).floor();
        out.extend_from_slice(
            format!(",\"SizeEstimateRangeGB\":[{gb:?},{:?}]}}", gb + 1.0).as_bytes(),
        );
    }
}

/// Write capacity one write consumed on one index.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexUnits {
    pub table: String,
    pub kind: IndexKind,
    pub index: String,
    pub units: f64,
}

/// Write capacity units: 1 per KB of the larger of old and new item
/// ([`capacity::item_write_units`]).
pub fn write_units(bytes: usize) -> f64 {
    capacity::item_write_units(bytes, false)
}

/// Read capacity units: 1 per 4 KB, halved for eventually consistent reads
/// ([`capacity::item_read_units`]).
pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    capacity::item_read_units(bytes, capacity::ReadKind::of(consistent))
}

/// Appends `,"ConsumedCapacity":{…}` when requested.
pub fn write_consumed(out: &mut Vec<u8>, mode: ConsumedMode, table: &str, units: f64) {
    write_consumed_with_indexes(out, mode, table, units, &[]);
}

/// `"ConsumedCapacity":{…}` of a table and the index writes it caused:
/// TOTAL sums them; INDEXES also breaks them down by index.
pub fn write_consumed_with_indexes(
    out: &mut Vec<u8>,
    mode: ConsumedMode,
    table: &str,
    table_units: f64,
    index_units: &[IndexUnits],
) {
    if mode == ConsumedMode::None {
        return;
    }
    out.extend_from_slice(b"\"ConsumedCapacity\":");
    write_consumed_object(out, mode, table, table_units, index_units);
}

/// One ConsumedCapacity object `{"TableName":…,"CapacityUnits":…,…}`
/// (mode TOTAL or INDEXES).
pub fn write_consumed_object(
    out: &mut Vec<u8>,
    mode: ConsumedMode,
    table: &str,
    table_units: f64,
    index_units: &[IndexUnits],
) {
    let total = table_units + index_units.iter().map(|u| u.units).sum::<f64>();
    out.extend_from_slice(b"{\"TableName\":");
    write_json_str(out, table);
    out.extend_from_slice(format!(",\"CapacityUnits\":{total:?}").as_bytes());
    if mode == ConsumedMode::Indexes {
        out.extend_from_slice(
            format!(",\"Table\":{{\"CapacityUnits\":{table_units:?}}}").as_bytes(),
        );
        for (kind, member) in [
            (IndexKind::Local, "LocalSecondaryIndexes"),
            (IndexKind::Global, "GlobalSecondaryIndexes"),
        ] {
            let mut per_index: std::collections::BTreeMap<&str, f64> = Default::default();
            for u in index_units.iter().filter(|u| u.kind == kind) {
                *per_index.entry(u.index.as_str()).or_default() += u.units;
            }
            if per_index.is_empty() {
                continue;
            }
            out.extend_from_slice(format!(",\"{member}\":{{").as_bytes());
            for (i, (name, units)) in per_index.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, name);
                out.extend_from_slice(format!(":{{\"CapacityUnits\":{units:?}}}").as_bytes());
            }
            out.push(b'}');
        }
    }
    out.push(b'}');
}

/// Builds `{"Attributes":…, "ConsumedCapacity":…}` style replies.
pub struct ReplyBuilder {
    out: Vec<u8>,
    first: bool,
}

impl ReplyBuilder {
    pub fn new() -> Self {
        let mut out = Vec::with_capacity(256);
        out.push(b'{');
        ReplyBuilder { out, first: true }
    }

    fn sep(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    pub fn item(&mut self, name: &str, item: &Item) {
        self.sep();
        write_json_str(&mut self.out, name);
        self.out.push(b':');
        write_json_map(&mut self.out, item);
    }

    /// `"name":{…}` of an item in its stored form (see
    /// [`write_item_json`]); returns the item's size.
    pub fn stored_item(&mut self, name: &str, stored: &[u8]) -> Result<usize, DecodeError> {
        self.sep();
        write_json_str(&mut self.out, name);
        self.out.push(b':');
        self.out.reserve(stored.len() + stored.len() / 4 + 16);
        write_item_json(stored, &mut self.out)
    }

    pub fn consumed(&mut self, mode: ConsumedMode, table: &str, units: f64) {
        self.consumed_with_indexes(mode, table, units, &[]);
    }

    /// ConsumedCapacity of a write that also wrote index entries.
    pub fn consumed_with_indexes(
        &mut self,
        mode: ConsumedMode,
        table: &str,
        units: f64,
        index_units: &[IndexUnits],
    ) {
        if mode != ConsumedMode::None {
            self.sep();
            write_consumed_with_indexes(&mut self.out, mode, table, units, index_units);
        }
    }

    /// ItemCollectionMetrics of a single-item write (tables with LSIs).
    pub fn collection_metrics(&mut self, metrics: &[CollectionMetrics]) {
        if let Some(m) = metrics.first() {
            self.sep();
            write_json_str(&mut self.out, "ItemCollectionMetrics");
            self.out.push(b':');
            m.write_json(&mut self.out);
        }
    }

    pub fn raw(&mut self, name: &str, json: &[u8]) {
        self.sep();
        write_json_str(&mut self.out, name);
        self.out.push(b':');
        self.out.extend_from_slice(json);
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.out.push(b'}');
        self.out
    }
}

impl Default for ReplyBuilder {
    fn default() -> Self {
        Self::new()
    }
}
