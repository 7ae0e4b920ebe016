//! DynamoDB's capacity arithmetic, one function per rule, used by every
//! operation (the developer guide's "Read/write capacity unit
//! consumption"). Pure: bytes in, units out.
//!
//! - A read costs 1 unit per 4 KB (rounded up, at least 1) for a strongly
//!   consistent read, half that eventually consistent, twice that inside a
//!   transaction.
//! - A write costs 1 unit per 1 KB of the larger of the old and new item
//!   (rounded up, at least 1), twice that inside a transaction.
//! - Query and Scan sum the sizes of every item read (before any filter)
//!   and round the sum once, not per item; BatchGetItem rounds per item.
//! - A missing item still costs the minimum (a read of 0 bytes is 1 unit).

/// How a read was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadKind {
    Eventual,
    Strong,
    Transactional,
}

impl ReadKind {
    pub fn of(consistent: bool) -> ReadKind {
        if consistent {
            ReadKind::Strong
        } else {
            ReadKind::Eventual
        }
    }
}

/// Bytes per read unit.
pub const READ_UNIT_BYTES: usize = 4096;
/// Bytes per write unit.
pub const WRITE_UNIT_BYTES: usize = 1024;

/// Units of one item read of `bytes` (GetItem, each BatchGetItem key, each
/// TransactGetItems get, a ConditionCheck).
pub fn item_read_units(bytes: usize, kind: ReadKind) -> f64 {
    scaled_read(bytes.div_ceil(READ_UNIT_BYTES).max(1), kind)
}

/// Units of a Query or Scan page that read `bytes_read` in all (every item
/// examined, before the filter): the sum is rounded, not each item.
pub fn range_read_units(bytes_read: usize, kind: ReadKind) -> f64 {
    item_read_units(bytes_read, kind)
}

fn scaled_read(units: usize, kind: ReadKind) -> f64 {
    let units = units as f64;
    match kind {
        ReadKind::Eventual => units / 2.0,
        ReadKind::Strong => units,
        ReadKind::Transactional => 2.0 * units,
    }
}

/// Units of one item write: `bytes` is the larger of the old and the new
/// item (PutItem, UpdateItem, DeleteItem, each BatchWriteItem request, one
/// index entry written or deleted).
pub fn item_write_units(bytes: usize, transactional: bool) -> f64 {
    let units = bytes.div_ceil(WRITE_UNIT_BYTES).max(1) as f64;
    if transactional { 2.0 * units } else { units }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KB: usize = 1024;

    /// The developer guide's examples ("Read/write capacity unit
    /// consumption", "Managing settings on DynamoDB provisioned capacity
    /// tables"), as (what, bytes, kind, units).
    #[test]
    fn item_reads_match_the_developer_guide() {
        let cases: &[(&str, usize, ReadKind, f64)] = &[
            (
                "4 KB strongly consistent: 1 unit",
                4 * KB,
                ReadKind::Strong,
                1.0,
            ),
            (
                "4 KB eventually consistent: 1/2",
                4 * KB,
                ReadKind::Eventual,
                0.5,
            ),
            (
                "4 KB transactional: 2",
                4 * KB,
                ReadKind::Transactional,
                2.0,
            ),
            ("8 KB strongly consistent: 2", 8 * KB, ReadKind::Strong, 2.0),
            (
                "8 KB eventually consistent: 1",
                8 * KB,
                ReadKind::Eventual,
                1.0,
            ),
            (
                "8 KB transactional: 4",
                8 * KB,
                ReadKind::Transactional,
                4.0,
            ),
            (
                "3.5 KB rounds up to 4 KB",
                3 * KB + 512,
                ReadKind::Strong,
                1.0,
            ),
            (
                "6.5 KB rounds up to 8 KB",
                6 * KB + 512,
                ReadKind::Strong,
                2.0,
            ),
            ("10 KB rounds up to 12 KB", 10 * KB, ReadKind::Strong, 3.0),
            ("1 byte past 4 KB: 2", 4 * KB + 1, ReadKind::Strong, 2.0),
            ("a missing item costs the minimum", 0, ReadKind::Strong, 1.0),
            ("missing, eventually consistent", 0, ReadKind::Eventual, 0.5),
            (
                "400 KB strongly consistent: 100",
                400 * KB,
                ReadKind::Strong,
                100.0,
            ),
        ];
        for (what, bytes, kind, units) in cases {
            assert_eq!(item_read_units(*bytes, *kind), *units, "{what}");
        }
    }

    #[test]
    fn item_writes_match_the_developer_guide() {
        let cases: &[(&str, usize, bool, f64)] = &[
            ("1 KB: 1 unit", KB, false, 1.0),
            ("500 bytes rounds up: 1", 500, false, 1.0),
            ("1.5 KB rounds up to 2 KB: 2", KB + 512, false, 2.0),
            ("3.5 KB: 4", 3 * KB + 512, false, 4.0),
            ("1 KB transactional: 2", KB, true, 2.0),
            ("3.5 KB transactional: 8", 3 * KB + 512, true, 8.0),
            ("delete of a missing item: 1", 0, false, 1.0),
            ("400 KB: 400", 400 * KB, false, 400.0),
        ];
        for (what, bytes, transactional, units) in cases {
            assert_eq!(item_write_units(*bytes, *transactional), *units, "{what}");
        }
    }

    /// "Query ... returns 10 items of 40 bytes": the 400 bytes are summed
    /// and rounded once (1 unit strongly consistent), where BatchGetItem
    /// rounds each item ("a 1.5 KB item and a 6.5 KB item: 1 + 2 = 3").
    #[test]
    fn range_reads_sum_then_round_batches_round_per_item() {
        let items = [40usize; 10];
        let summed: usize = items.iter().sum();
        assert_eq!(range_read_units(summed, ReadKind::Strong), 1.0);
        assert_eq!(range_read_units(summed, ReadKind::Eventual), 0.5);
        let per_item: f64 = items
            .iter()
            .map(|b| item_read_units(*b, ReadKind::Strong))
            .sum();
        assert_eq!(per_item, 10.0);
        let batch = item_read_units(KB + 512, ReadKind::Strong)
            + item_read_units(6 * KB + 512, ReadKind::Strong);
        assert_eq!(batch, 3.0);
        // A 1 MB Query page, eventually consistent: 128 units.
        assert_eq!(range_read_units(1 << 20, ReadKind::Eventual), 128.0);
    }
}
