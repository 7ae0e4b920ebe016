//! Compaction policy: a pure function from the current table layout to the
//! next compaction to run (the executor in `background.rs` does the I/O).
//!
//! Leveled, not size-tiered: a key-value tier serving point reads and short
//! scans wants few sorted runs to probe (read amplification ≤ L0 tables +
//! one table per level) and bounded space amplification (~1.1x), at the cost
//! of higher write amplification (~ratio per level); DynamoDB-style traffic
//! is read-heavy and latency-sensitive, so that is the right side of the
//! trade. L0 holds flushed memtables (overlapping); levels 1.. are sorted
//! runs, level i targets `level1_bytes_max * level_size_ratio^(i-1)`.
//!
//! Priorities: (1) drop tables wholly inside a dropped table's key prefix
//! (no I/O); (2) rewrite tables holding range-tombstoned data; (3) L0 →
//! L1 when L0 has `l0_compaction_trigger` tables; (4) the level most over its
//! target pushes its oldest table down. Point tombstones are dropped only
//! when no deeper level overlaps the compaction's key range (then no older
//! version can resurface).

use crate::engine::manifest::RangeTombstone;
use crate::engine::sst::table::TableMeta;
use crate::engine::version::prefix_overlaps;

#[derive(Clone, Debug)]
pub struct PolicyConfig {
    pub l0_compaction_trigger: usize,
    pub level1_bytes_max: u64,
    pub level_size_ratio: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Remove these tables: every key in them is range-tombstoned.
    Drop { ids: Vec<u64> },
    /// Merge `upper` (from `level`) with `lower` (from `output_level`) into
    /// new tables at `output_level`.
    Merge {
        level: usize,
        upper: Vec<u64>,
        output_level: usize,
        lower: Vec<u64>,
        drop_point_tombstones: bool,
    },
}

fn covered_whole(meta: &TableMeta, tombstones: &[RangeTombstone]) -> bool {
    tombstones.iter().any(|t| {
        meta.max_seq < t.seq
            && meta.smallest.starts_with(&t.prefix)
            && meta.largest.starts_with(&t.prefix)
    })
}

/// Does `meta` still hold data some range tombstone deletes?
pub fn needs_cleaning(meta: &TableMeta, tombstones: &[RangeTombstone]) -> bool {
    tombstones
        .iter()
        .any(|t| meta.max_seq < t.seq && meta.clean_seq < t.seq && prefix_overlaps(meta, &t.prefix))
}

fn key_range<'a>(tables: impl Iterator<Item = &'a TableMeta>) -> Option<(&'a [u8], &'a [u8])> {
    let mut range: Option<(&[u8], &[u8])> = None;
    for t in tables {
        range = Some(match range {
            None => (&t.smallest, &t.largest),
            Some((lo, hi)) => (lo.min(&t.smallest), hi.max(&t.largest)),
        });
    }
    range
}

fn merge_into_next(levels: &[Vec<TableMeta>], level: usize, upper: Vec<&TableMeta>) -> Choice {
    let bottom = levels.len() - 1;
    let output_level = (level + 1).min(bottom);
    let (lo, hi) = key_range(upper.iter().copied()).unwrap_or((&[], &[]));
    let upper_ids: Vec<u64> = upper.iter().map(|t| t.id).collect();
    let lower: Vec<u64> = levels[output_level]
        .iter()
        .filter(|t| !upper_ids.contains(&t.id) && t.overlaps(lo, hi))
        .map(|t| t.id)
        .collect();
    let deeper_overlap = levels[output_level + 1..]
        .iter()
        .flatten()
        .any(|t| t.overlaps(lo, hi));
    Choice::Merge {
        level,
        upper: upper_ids,
        output_level,
        lower,
        drop_point_tombstones: !deeper_overlap,
    }
}

/// The next compaction, if any. `levels[0]` is L0, newest first.
pub fn choose(
    levels: &[Vec<TableMeta>],
    tombstones: &[RangeTombstone],
    config: &PolicyConfig,
) -> Option<Choice> {
    if levels.len() < 2 {
        return None;
    }
    let dropped: Vec<u64> = levels
        .iter()
        .flatten()
        .filter(|t| covered_whole(t, tombstones))
        .map(|t| t.id)
        .collect();
    if !dropped.is_empty() {
        return Some(Choice::Drop { ids: dropped });
    }
    for (level, tables) in levels.iter().enumerate() {
        if let Some(dirty) = tables.iter().find(|t| needs_cleaning(t, tombstones)) {
            let upper = if level == 0 {
                tables.iter().collect()
            } else {
                vec![dirty]
            };
            return Some(merge_into_next(levels, level, upper));
        }
    }
    if levels[0].len() >= config.l0_compaction_trigger.max(1) {
        return Some(merge_into_next(levels, 0, levels[0].iter().collect()));
    }
    let mut worst: Option<(usize, f64)> = None;
    let mut target = config.level1_bytes_max.max(1);
    for (level, tables) in levels.iter().enumerate().take(levels.len() - 1).skip(1) {
        let size: u64 = tables.iter().map(|t| t.size).sum();
        let score = size as f64 / target as f64;
        if score > 1.0 && worst.is_none_or(|(_, s)| score > s) {
            worst = Some((level, score));
        }
        target = target.saturating_mul(config.level_size_ratio.max(2));
    }
    let (level, _) = worst?;
    let oldest = levels[level].iter().min_by_key(|t| t.max_seq)?;
    Some(merge_into_next(levels, level, vec![oldest]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(id: u64, lo: &[u8], hi: &[u8], size: u64, max_seq: u64) -> TableMeta {
        TableMeta {
            id,
            size,
            smallest: lo.to_vec(),
            largest: hi.to_vec(),
            entries: 1,
            max_seq,
            clean_seq: 0,
        }
    }

    fn config() -> PolicyConfig {
        PolicyConfig {
            l0_compaction_trigger: 2,
            level1_bytes_max: 100,
            level_size_ratio: 10,
        }
    }

    #[test]
    fn quiet_layout_needs_nothing() {
        let levels = vec![vec![table(1, b"a", b"b", 10, 5)], vec![], vec![]];
        assert_eq!(choose(&levels, &[], &config()), None);
    }

    #[test]
    fn l0_trigger_merges_all_l0_with_overlapping_l1() {
        let levels = vec![
            vec![table(3, b"c", b"d", 10, 9), table(2, b"a", b"b", 10, 8)],
            vec![table(1, b"a", b"a", 10, 1), table(4, b"x", b"z", 10, 2)],
            vec![],
        ];
        assert_eq!(
            choose(&levels, &[], &config()),
            Some(Choice::Merge {
                level: 0,
                upper: vec![3, 2],
                output_level: 1,
                lower: vec![1],
                drop_point_tombstones: true,
            })
        );
    }

    #[test]
    fn oversized_level_pushes_oldest_down_keeping_tombstones_above_data() {
        let levels = vec![
            vec![],
            vec![table(1, b"a", b"f", 80, 7), table(2, b"g", b"k", 80, 3)],
            vec![table(5, b"h", b"i", 10, 1)],
            vec![table(6, b"a", b"z", 10, 1)],
        ];
        assert_eq!(
            choose(&levels, &[], &config()),
            Some(Choice::Merge {
                level: 1,
                upper: vec![2],
                output_level: 2,
                lower: vec![5],
                drop_point_tombstones: false,
            })
        );
    }

    #[test]
    fn range_tombstones_drop_then_clean() {
        let tomb = [RangeTombstone {
            prefix: b"t1".to_vec(),
            seq: 50,
        }];
        let levels = vec![vec![], vec![table(1, b"t1a", b"t1z", 10, 10)], vec![]];
        assert_eq!(
            choose(&levels, &tomb, &config()),
            Some(Choice::Drop { ids: vec![1] })
        );
        let levels = vec![vec![], vec![table(1, b"t0", b"t1z", 10, 10)], vec![]];
        assert!(matches!(
            choose(&levels, &tomb, &config()),
            Some(Choice::Merge {
                level: 1,
                output_level: 2,
                ..
            })
        ));
        let mut clean = table(1, b"t0", b"t1z", 10, 10);
        clean.clean_seq = 50;
        assert_eq!(
            choose(&[vec![], vec![clean], vec![]], &tomb, &config()),
            None
        );
    }
}
