//! Merging iteration over memtables and tables, for scans and compaction.
//!
//! Sources are ordered newest first; when several hold the same key, the
//! newest wins and the others are stepped past it. Tombstones are returned
//! (the caller drops them for reads, or keeps them in compaction output
//! unless it writes the bottom level). Range-tombstoned keys never come out
//! of a source (each source filters its own hidden prefixes).

use crate::engine::EngineError;
use crate::engine::io::Fs;
use crate::engine::memtable::{Entry, Memtable};
use crate::engine::sst::table::{Table, TableIter};
use std::collections::VecDeque;
use std::ops::Bound;
use std::rc::Rc;

pub struct Range {
    pub lower: Bound<Vec<u8>>,
    pub upper: Bound<Vec<u8>>,
    pub reverse: bool,
    /// Insert blocks read into the block cache (false for compaction).
    pub fill_cache: bool,
}

impl Clone for Range {
    fn clone(&self) -> Self {
        Range {
            lower: self.lower.clone(),
            upper: self.upper.clone(),
            reverse: self.reverse,
            fill_cache: self.fill_cache,
        }
    }
}

/// A table and the prefixes hidden from it by newer range tombstones.
pub type TableWithHidden<F> = (Rc<Table<F>>, Rc<Vec<Vec<u8>>>);

pub enum Source<F: Fs> {
    Mem {
        mem: Rc<Memtable>,
        hidden: Rc<Vec<Vec<u8>>>,
        last: Option<Vec<u8>>,
        range: Range,
    },
    /// Tables in iteration order (disjoint, or a single L0 table).
    Tables {
        pending: VecDeque<TableWithHidden<F>>,
        current: Option<TableIter<F>>,
        range: Range,
    },
}

impl<F: Fs> Source<F> {
    pub fn memtable(mem: Rc<Memtable>, hidden: Rc<Vec<Vec<u8>>>, range: Range) -> Source<F> {
        Source::Mem {
            mem,
            hidden,
            last: None,
            range,
        }
    }

    /// `tables` sorted ascending by key; iterated in the range's direction.
    pub fn tables(mut tables: Vec<TableWithHidden<F>>, range: Range) -> Source<F> {
        // Only tables that can hold keys in range: a scan must not read a
        // block of every table past its end.
        tables.retain(|(t, _)| {
            let after_lower = match &range.lower {
                Bound::Included(l) => t.meta.largest >= *l,
                Bound::Excluded(l) => t.meta.largest > *l,
                Bound::Unbounded => true,
            };
            let before_upper = match &range.upper {
                Bound::Included(u) => t.meta.smallest <= *u,
                Bound::Excluded(u) => t.meta.smallest < *u,
                Bound::Unbounded => true,
            };
            after_lower && before_upper
        });
        if range.reverse {
            tables.reverse();
        }
        Source::Tables {
            pending: tables.into(),
            current: None,
            range,
        }
    }

    async fn next(&mut self) -> Result<Option<Entry>, EngineError> {
        match self {
            Source::Mem {
                mem,
                hidden,
                last,
                range,
            } => loop {
                let from = match last {
                    Some(key) => Bound::Excluded(&*key),
                    None if range.reverse => range.upper.as_ref(),
                    None => range.lower.as_ref(),
                };
                let other_end = if range.reverse {
                    range.lower.as_ref()
                } else {
                    range.upper.as_ref()
                };
                let Some(entry) = mem.step(from, other_end, range.reverse) else {
                    return Ok(None);
                };
                *last = Some(entry.0.clone());
                if !hidden.iter().any(|p| entry.0.starts_with(p)) {
                    return Ok(Some(entry));
                }
            },
            Source::Tables {
                pending,
                current,
                range,
            } => loop {
                if let Some(iter) = current
                    && let Some(entry) = iter.next().await?
                {
                    return Ok(Some(entry));
                }
                let Some((table, hidden)) = pending.pop_front() else {
                    return Ok(None);
                };
                *current = Some(TableIter::new(
                    table,
                    range.lower.clone(),
                    range.upper.clone(),
                    range.reverse,
                    hidden,
                    range.fill_cache,
                ));
            },
        }
    }
}

pub struct MergeIter<F: Fs> {
    sources: Vec<Source<F>>,
    heads: Vec<Option<Entry>>,
    reverse: bool,
    started: bool,
}

impl<F: Fs> MergeIter<F> {
    /// `sources` newest first.
    pub fn new(sources: Vec<Source<F>>, reverse: bool) -> MergeIter<F> {
        MergeIter {
            heads: Vec::with_capacity(sources.len()),
            sources,
            reverse,
            started: false,
        }
    }

    /// The newest version of the next key (a tombstone has value `None`).
    pub async fn next(&mut self) -> Result<Option<Entry>, EngineError> {
        if !self.started {
            self.started = true;
            for source in &mut self.sources {
                let head = source.next().await?;
                self.heads.push(head);
            }
        }
        let mut best: Option<usize> = None;
        for (i, head) in self.heads.iter().enumerate() {
            let Some((key, _)) = head else { continue };
            best = match best {
                None => Some(i),
                Some(b) => {
                    let best_key = self.heads[b].as_ref().map(|e| &e.0);
                    let better = match best_key {
                        Some(bk) if self.reverse => key > bk,
                        Some(bk) => key < bk,
                        None => true,
                    };
                    if better { Some(i) } else { Some(b) }
                }
            };
        }
        let Some(best) = best else {
            return Ok(None);
        };
        let Some(entry) = self.heads[best].take() else {
            return Ok(None);
        };
        for i in 0..self.sources.len() {
            let same = i == best || self.heads[i].as_ref().is_some_and(|(k, _)| *k == entry.0);
            if same {
                self.heads[i] = self.sources[i].next().await?;
            }
        }
        Ok(Some(entry))
    }
}
