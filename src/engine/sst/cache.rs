//! The shard-local block cache: checked data blocks by (table id, block
//! index), bounded by `block_cache_bytes_max`.
//!
//! Direct I/O bypasses the page cache, so this is the only cache. Eviction
//! is CLOCK (second chance): a hit sets the entry's reference bit; the hand
//! evicts the first unreferenced entry. Single-threaded, no locks.

use super::block::Block;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

type Key = (u64, u32);

struct Slot {
    block: Rc<Block>,
    referenced: Cell<bool>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Key, Slot>,
    clock: VecDeque<Key>,
    bytes: u64,
}

pub struct BlockCache {
    bytes_max: u64,
    inner: RefCell<Inner>,
    hits: Cell<u64>,
    misses: Cell<u64>,
}

impl BlockCache {
    pub fn new(bytes_max: u64) -> BlockCache {
        BlockCache {
            bytes_max,
            inner: RefCell::new(Inner::default()),
            hits: Cell::new(0),
            misses: Cell::new(0),
        }
    }

    pub fn get(&self, table: u64, block: u32) -> Option<Rc<Block>> {
        let inner = self.inner.borrow();
        match inner.map.get(&(table, block)) {
            Some(slot) => {
                slot.referenced.set(true);
                self.hits.set(self.hits.get() + 1);
                Some(slot.block.clone())
            }
            None => {
                self.misses.set(self.misses.get() + 1);
                None
            }
        }
    }

    pub fn insert(&self, table: u64, index: u32, block: Rc<Block>) {
        let size = block.size() as u64;
        if size > self.bytes_max {
            return;
        }
        let mut inner = self.inner.borrow_mut();
        if inner.map.contains_key(&(table, index)) {
            return;
        }
        while inner.bytes + size > self.bytes_max {
            let Some(key) = inner.clock.pop_front() else {
                break;
            };
            let second_chance = inner
                .map
                .get(&key)
                .is_some_and(|slot| slot.referenced.replace(false));
            if second_chance {
                inner.clock.push_back(key);
            } else if let Some(slot) = inner.map.remove(&key) {
                inner.bytes -= slot.block.size() as u64;
            }
        }
        inner.bytes += size;
        inner.clock.push_back((table, index));
        inner.map.insert(
            (table, index),
            Slot {
                block,
                referenced: Cell::new(false),
            },
        );
    }

    pub fn bytes(&self) -> u64 {
        self.inner.borrow().bytes
    }

    /// (hits, misses) since open.
    pub fn hit_counts(&self) -> (u64, u64) {
        (self.hits.get(), self.misses.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::sst::block::BlockBuilder;

    fn block(n: u8) -> Rc<Block> {
        let mut b = BlockBuilder::default();
        b.add(&[n], Some(&[0u8; 100]));
        Rc::new(Block::parse(b.finish()).expect("valid"))
    }

    #[test]
    fn stays_within_budget_and_keeps_hot_blocks() {
        let one = block(0).size() as u64;
        let cache = BlockCache::new(one * 3);
        for i in 0..3 {
            cache.insert(1, i, block(i as u8));
        }
        assert!(cache.get(1, 0).is_some());
        cache.insert(1, 3, block(3));
        assert!(cache.bytes() <= one * 3);
        assert!(cache.get(1, 0).is_some(), "referenced block survived");
        assert!(cache.get(1, 1).is_none(), "cold block evicted");
    }
}
