//! Bloom filter per SSTable: skips tables that cannot hold a key.
//!
//! Layout: the bit array (`len - 1` bytes) followed by `u8 k` (probe count).
//! Probes use double hashing over a stable hash (xxh3-128 of the key: h1 +
//! i*h2 mod bits) — stable across processes and versions, as on-disk data
//! requires (ahash is not). 10 bits per key and k = 7 give about 1% false
//! positives.

pub const BITS_PER_KEY: usize = 10;
const PROBES: u8 = 7;

/// The two probe hashes of a key; computed once per lookup and reused for
/// every table.
pub fn key_hash(key: &[u8]) -> (u64, u64) {
    let h = xxhash_rust::xxh3::xxh3_128(key);
    (h as u64, ((h >> 64) as u64) | 1)
}

/// Builds the filter bytes from key hashes.
pub fn build(hashes: &[(u64, u64)]) -> Vec<u8> {
    let bits = (hashes.len() * BITS_PER_KEY).max(64);
    let bytes = bits.div_ceil(8);
    let bits = bytes as u64 * 8;
    let mut out = vec![0u8; bytes + 1];
    for &(h1, h2) in hashes {
        for i in 0..u64::from(PROBES) {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % bits;
            out[(bit / 8) as usize] |= 1 << (bit % 8);
        }
    }
    out[bytes] = PROBES;
    out
}

/// False: the key is certainly absent. A malformed filter answers true
/// (never hides data).
pub fn may_contain(filter: &[u8], (h1, h2): (u64, u64)) -> bool {
    let Some((&k, array)) = filter.split_last() else {
        return true;
    };
    if array.is_empty() {
        return true;
    }
    let bits = array.len() as u64 * 8;
    (0..u64::from(k)).all(|i| {
        let bit = h1.wrapping_add(i.wrapping_mul(h2)) % bits;
        array[(bit / 8) as usize] & (1 << (bit % 8)) != 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let keys: Vec<Vec<u8>> = (0..10_000u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let hashes: Vec<_> = keys.iter().map(|k| key_hash(k)).collect();
        let filter = build(&hashes);
        assert!(keys.iter().all(|k| may_contain(&filter, key_hash(k))));
        let false_positives = (10_000..20_000u32)
            .filter(|i| may_contain(&filter, key_hash(&i.to_be_bytes())))
            .count();
        assert!(false_positives < 300, "{false_positives} false positives");
        assert!(may_contain(&[], key_hash(b"x")));
    }
}
