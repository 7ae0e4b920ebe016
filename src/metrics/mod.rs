//! Request metrics of one shard, and the Prometheus text format they are
//! exported in (`prom`).
//!
//! [`RequestMetrics`] counts every client request by operation and table:
//! a latency histogram with the shared bucket edges (`buckets.rs`, 50 µs …
//! 10 s), and errors by `__type`. Shard-local (`RefCell`), read over the
//! mesh by the admin endpoint as a plain-data [`RequestSnapshot`]. Label
//! cardinality is bounded: at most `tables_max` table names per shard, the
//! rest counted as `_other`; operations are a fixed set.

pub mod buckets;
pub mod prom;

use std::cell::RefCell;
use std::collections::HashMap;

pub use buckets::{LATENCY_BUCKETS_US, latency_bucket};

/// The table label of requests past `tables_max` distinct tables.
pub const OTHER_TABLES: &str = "_other";
/// The table label of requests naming no single table (batches,
/// transactions, ListTables, …).
pub const NO_TABLE: &str = "";

/// One histogram: counts per bucket (not cumulative; the last is +Inf),
/// the sum of the observations in µs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub buckets: [u64; LATENCY_BUCKETS_US.len() + 1],
    pub sum_us: u64,
    /// Items returned (GetItem's item, Query/Scan's Count, BatchGetItem's).
    pub returned_items: u64,
}

impl Series {
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    pub fn observe(&mut self, micros: u64) {
        self.buckets[latency_bucket(micros)] += 1;
        self.sum_us = self.sum_us.saturating_add(micros);
    }

    pub fn add(&mut self, other: &Series) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets.iter()) {
            *a += b;
        }
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
        self.returned_items += other.returned_items;
    }
}

/// What a shard's request metrics hold, as plain data for the mesh.
#[derive(Clone, Debug, Default)]
pub struct RequestSnapshot {
    /// (operation, table, histogram).
    pub series: Vec<(&'static str, String, Series)>,
    /// (operation, error type without its namespace, count).
    pub errors: Vec<(&'static str, String, u64)>,
}

/// One shard's request metrics.
pub struct RequestMetrics {
    enabled: bool,
    tables_max: usize,
    tables: RefCell<HashMap<String, u32>>,
    names: RefCell<Vec<String>>,
    series: RefCell<HashMap<(&'static str, u32), Series>>,
    errors: RefCell<HashMap<(&'static str, String), u64>>,
}

impl Default for RequestMetrics {
    fn default() -> Self {
        RequestMetrics::new(true, 100)
    }
}

impl RequestMetrics {
    pub fn new(enabled: bool, tables_max: usize) -> RequestMetrics {
        RequestMetrics {
            enabled,
            tables_max,
            tables: Default::default(),
            names: RefCell::new(vec![NO_TABLE.to_string(), OTHER_TABLES.to_string()]),
            series: Default::default(),
            errors: Default::default(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn tables_max(&self) -> usize {
        self.tables_max
    }

    /// The name of a label slot.
    pub fn table_name(&self, slot: u32) -> String {
        self.names
            .borrow()
            .get(slot as usize)
            .cloned()
            .unwrap_or_default()
    }

    /// The label slot of `table` (`_other` past `tables_max` tables);
    /// 0 (no table) when metrics are off.
    pub fn slot(&self, table: Option<&str>) -> u32 {
        if !self.enabled {
            return 0;
        }
        self.slot_of(table)
    }

    fn slot_of(&self, table: Option<&str>) -> u32 {
        let Some(table) = table else { return 0 };
        if let Some(slot) = self.tables.borrow().get(table) {
            return *slot;
        }
        let mut tables = self.tables.borrow_mut();
        if tables.len() >= self.tables_max {
            return 1;
        }
        let mut names = self.names.borrow_mut();
        let slot = names.len() as u32;
        names.push(table.to_string());
        tables.insert(table.to_string(), slot);
        slot
    }

    /// Counts one request of `operation` on `table` that took `micros`,
    /// returned `items` items and failed with `error` (a full `__type`).
    pub fn record(
        &self,
        operation: &'static str,
        slot: u32,
        micros: u64,
        items: u64,
        error: Option<&str>,
    ) {
        if !self.enabled {
            return;
        }
        let mut series = self.series.borrow_mut();
        let s = series.entry((operation, slot)).or_default();
        s.observe(micros);
        s.returned_items += items;
        if let Some(error) = error {
            let short = error.rsplit('#').next().unwrap_or(error);
            let mut errors = self.errors.borrow_mut();
            match errors.get_mut(&(operation, short.to_string())) {
                Some(n) => *n += 1,
                None => {
                    errors.insert((operation, short.to_string()), 1);
                }
            }
        }
    }

    pub fn snapshot(&self) -> RequestSnapshot {
        let names = self.names.borrow();
        let mut series: Vec<_> = self
            .series
            .borrow()
            .iter()
            .map(|((op, slot), s)| {
                let name = names.get(*slot as usize).cloned().unwrap_or_default();
                (*op, name, s.clone())
            })
            .collect();
        series.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut errors: Vec<_> = self
            .errors
            .borrow()
            .iter()
            .map(|((op, t), n)| (*op, t.clone(), *n))
            .collect();
        errors.sort();
        RequestSnapshot { series, errors }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_inclusive_upper_bounds() {
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(50), 0);
        assert_eq!(latency_bucket(51), 1);
        assert_eq!(latency_bucket(10_000_000), 16);
        assert_eq!(latency_bucket(10_000_001), 17);
    }

    #[test]
    fn tables_past_the_bound_count_as_other() {
        let m = RequestMetrics::new(true, 2);
        for t in ["a", "b", "c", "d"] {
            m.record("GetItem", m.slot(Some(t)), 10, 1, None);
        }
        m.record(
            "ListTables",
            m.slot(None),
            10,
            0,
            Some("x#ValidationException"),
        );
        let s = m.snapshot();
        let tables: Vec<&str> = s.series.iter().map(|(_, t, _)| t.as_str()).collect();
        assert_eq!(tables, ["_other", "a", "b", ""]);
        assert_eq!(s.series[0].2.count(), 2);
        assert_eq!(
            s.errors,
            vec![("ListTables", "ValidationException".to_string(), 1)]
        );
    }
}
