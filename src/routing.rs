//! Placement: which shard owns an item.
//!
//! The placement hash is **specified and stable** across processes, versions and
//! machines, because shard-aware clients (the bundled load generator) compute it
//! themselves and because a data directory records its layout:
//!
//! ```text
//! placement_hash = xxh3_64( table_name_utf8 ‖ 0x00 ‖ type_tag ‖ key_bytes )
//!   type_tag  = b'S' | b'N' | b'B'   (the partition key's attribute type)
//!   key_bytes = S: the UTF-8 bytes; N: the normalized decimal string
//!               (as DynamoDB returns it); B: the raw bytes
//! ```
//!
//! The 64-bit hash space is cut into `shard_count` contiguous ranges of equal
//! width; shard `i` owns `[i * 2^64 / n, (i + 1) * 2^64 / n)`. One global order
//! (hash, partition key, sort key) therefore serves Scan pagination and
//! parallel-scan segments, and a later partition map can split or move ranges.
//! `ahash` is deliberately not used here: it promises no stability.

use xxhash_rust::xxh3::Xxh3;

/// Computes the placement hash of a partition key value (see module docs).
pub fn placement_hash(table_name: &str, type_tag: u8, key_bytes: &[u8]) -> u64 {
    let mut hasher = Xxh3::new();
    hasher.update(table_name.as_bytes());
    hasher.update(&[0, type_tag]);
    hasher.update(key_bytes);
    hasher.digest()
}

/// The partition map: contiguous, equal-width hash ranges, one per shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionMap {
    shard_count: u32,
}

impl PartitionMap {
    pub fn new(shard_count: u32) -> Self {
        assert!(shard_count > 0, "a partition map needs at least one shard");
        Self { shard_count }
    }

    pub fn shard_count(&self) -> u32 {
        self.shard_count
    }

    /// The shard that owns `hash`.
    pub fn owner(&self, hash: u64) -> u32 {
        // (hash * n) >> 64 maps [0, 2^64) onto [0, n) monotonically, and is
        // exactly the inverse of `range_start`.
        ((u128::from(hash) * u128::from(self.shard_count)) >> 64) as u32
    }

    /// First hash owned by `shard` (inclusive).
    pub fn range_start(&self, shard: u32) -> u64 {
        let start = (u128::from(shard) << 64).div_ceil(u128::from(self.shard_count));
        start as u64
    }

    /// Last hash owned by `shard` (inclusive).
    pub fn range_end(&self, shard: u32) -> u64 {
        if shard + 1 == self.shard_count {
            u64::MAX
        } else {
            self.range_start(shard + 1) - 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_tile_the_hash_space() {
        for n in 1..=17u32 {
            let map = PartitionMap::new(n);
            assert_eq!(map.range_start(0), 0);
            assert_eq!(map.range_end(n - 1), u64::MAX);
            for s in 0..n {
                assert_eq!(map.owner(map.range_start(s)), s, "n={n} s={s}");
                assert_eq!(map.owner(map.range_end(s)), s, "n={n} s={s}");
                if s + 1 < n {
                    assert_eq!(map.range_end(s) + 1, map.range_start(s + 1));
                }
            }
        }
    }

    /// `tests/data/placement_hash_vectors.tsv`, which the load generator's
    /// tests read too: (table, type tag, key bytes, hash, owner of 3, of 8).
    fn golden_vectors() -> Vec<(String, u8, Vec<u8>, u64, u32, u32)> {
        let text = include_str!("../tests/data/placement_hash_vectors.tsv");
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
                .collect()
        };
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|line| {
                let f: Vec<&str> = line.split('\t').collect();
                assert_eq!(f.len(), 6, "{line}");
                (
                    f[0].to_string(),
                    f[1].as_bytes()[0],
                    hex(f[2]),
                    u64::from_str_radix(f[3], 16).expect("hash"),
                    f[4].parse().expect("owner of 3"),
                    f[5].parse().expect("owner of 8"),
                )
            })
            .collect()
    }

    #[test]
    fn placement_hash_matches_the_golden_vectors() {
        let vectors = golden_vectors();
        assert!(vectors.len() >= 10);
        for (table, tag, key, hash, owner3, owner8) in vectors {
            assert_eq!(
                placement_hash(&table, tag, &key),
                hash,
                "{table} {} {key:?}",
                tag as char
            );
            assert_eq!(PartitionMap::new(3).owner(hash), owner3, "{hash:016x}");
            assert_eq!(PartitionMap::new(8).owner(hash), owner8, "{hash:016x}");
        }
    }

    #[test]
    fn placement_hash_is_stable() {
        // Pinned values: changing the hash silently misplaces stored data.
        assert_eq!(
            placement_hash("t", b'S', b"k"),
            placement_hash("t", b'S', b"k")
        );
        assert_ne!(
            placement_hash("t", b'S', b"k"),
            placement_hash("t", b'B', b"k")
        );
        assert_ne!(
            placement_hash("ta", b'S', b"k"),
            placement_hash("t", b'S', b"ak")
        );
    }
}
