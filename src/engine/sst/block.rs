//! Data blocks: prefix-compressed sorted entries with restart points and a
//! checksum.
//!
//! Layout (integers little-endian, fixed width):
//!
//! ```text
//! entry*   : shared u16 | unshared u16 | value_len u32 | key[shared..] | value
//!            value_len == u32::MAX marks a point tombstone (no value bytes)
//! restarts : u32 offset of each restart entry (shared == 0), every
//!            RESTART_INTERVAL entries, the first at 0
//! trailer  : restart_count u32 | crc32c u32 (of every preceding byte)
//! ```
//!
//! Lookups binary-search the restart points, then scan at most
//! `RESTART_INTERVAL` entries. The checksum is verified once when a block is
//! read from disk (before it enters the cache), so decoding trusts offsets
//! only after bounds checks that turn damage into errors, not panics.

use crate::engine::CorruptionDetail;
pub const RESTART_INTERVAL: usize = 16;
const TOMBSTONE: u32 = u32::MAX;

pub type Entry = (Vec<u8>, Option<Vec<u8>>);

#[derive(Default)]
pub struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    last_key: Vec<u8>,
    count: usize,
}

impl BlockBuilder {
    /// Adds an entry; keys must ascend and be at most `u16::MAX` bytes.
    pub fn add(&mut self, key: &[u8], value: Option<&[u8]>) {
        debug_assert!(self.count == 0 || key > self.last_key.as_slice());
        let shared = if self.count.is_multiple_of(RESTART_INTERVAL) {
            self.restarts.push(self.buf.len() as u32);
            0
        } else {
            key.iter()
                .zip(&self.last_key)
                .take_while(|(a, b)| a == b)
                .count()
        };
        self.buf.extend_from_slice(&(shared as u16).to_le_bytes());
        self.buf
            .extend_from_slice(&((key.len() - shared) as u16).to_le_bytes());
        let value_len = value.map_or(TOMBSTONE, |v| v.len() as u32);
        self.buf.extend_from_slice(&value_len.to_le_bytes());
        self.buf.extend_from_slice(&key[shared..]);
        if let Some(value) = value {
            self.buf.extend_from_slice(value);
        }
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.count += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn size_estimate(&self) -> usize {
        self.buf.len() + 4 * self.restarts.len() + 8
    }

    pub fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// Finishes the block and resets the builder.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        for restart in &self.restarts {
            out.extend_from_slice(&restart.to_le_bytes());
        }
        out.extend_from_slice(&(self.restarts.len() as u32).to_le_bytes());
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        self.restarts.clear();
        self.last_key.clear();
        self.count = 0;
        out
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A checked, immutable block.
pub struct Block {
    data: Vec<u8>,
    /// End of the entries (start of the restart array).
    entries_end: usize,
    restart_count: usize,
}

/// One decoded entry position: key bytes, value range (or tombstone), next offset.
struct Decoded {
    value: Option<(usize, usize)>,
    next: usize,
}

impl Block {
    /// Verifies the checksum and trailer; the error says what is wrong.
    pub fn parse(data: Vec<u8>) -> Result<Block, CorruptionDetail> {
        if data.len() < 8 {
            return Err(format!("block of {} bytes is too short", data.len()).into());
        }
        let crc_at = data.len() - 4;
        let stored = u32_at(&data, crc_at).unwrap_or(0);
        let actual = crc32c::crc32c(&data[..crc_at]);
        if stored != actual {
            return Err(CorruptionDetail::ChecksumMismatch {
                what: "block",
                expected: stored,
                got: actual,
            });
        }
        let restart_count = u32_at(&data, crc_at - 4).unwrap_or(0) as usize;
        let entries_end = (crc_at - 4)
            .checked_sub(restart_count.checked_mul(4).ok_or("bad restart count")?)
            .ok_or_else(|| format!("restart count {restart_count} exceeds block"))?;
        Ok(Block {
            data,
            entries_end,
            restart_count,
        })
    }

    fn restart(&self, i: usize) -> usize {
        u32_at(&self.data, self.entries_end + 4 * i).unwrap_or(0) as usize
    }

    /// Decodes the entry at `at` into `key` (which holds the previous key).
    fn decode(&self, at: usize, key: &mut Vec<u8>) -> Option<Decoded> {
        let d = &self.data[..self.entries_end];
        let shared = u16_at(d, at)? as usize;
        let unshared = u16_at(d, at + 2)? as usize;
        let value_len = u32_at(d, at + 4)?;
        let key_start = at + 8;
        let suffix = d.get(key_start..key_start + unshared)?;
        if shared > key.len() {
            return None;
        }
        key.truncate(shared);
        key.extend_from_slice(suffix);
        let value_start = key_start + unshared;
        if value_len == TOMBSTONE {
            return Some(Decoded {
                value: None,
                next: value_start,
            });
        }
        let value_end = value_start.checked_add(value_len as usize)?;
        if value_end > d.len() {
            return None;
        }
        Some(Decoded {
            value: Some((value_start, value_end)),
            next: value_end,
        })
    }

    /// `None`: absent; `Some(None)`: tombstone; `Some(Some(v))`: value.
    /// `Err` when the (checksummed) bytes do not decode.
    pub fn get(&self, target: &[u8]) -> Result<Option<Option<Vec<u8>>>, String> {
        if self.restart_count == 0 {
            return Ok(None);
        }
        // Last restart whose key <= target.
        let (mut lo, mut hi) = (0usize, self.restart_count);
        let mut key = Vec::new();
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            key.clear();
            self.decode(self.restart(mid), &mut key)
                .ok_or("undecodable restart entry")?;
            if key.as_slice() <= target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let mut at = self.restart(lo);
        key.clear();
        while at < self.entries_end {
            let entry = self.decode(at, &mut key).ok_or("undecodable entry")?;
            match key.as_slice().cmp(target) {
                std::cmp::Ordering::Less => at = entry.next,
                std::cmp::Ordering::Equal => {
                    return Ok(Some(entry.value.map(|(s, e)| self.data[s..e].to_vec())));
                }
                std::cmp::Ordering::Greater => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Every entry, in key order.
    pub fn entries(&self) -> Result<Vec<Entry>, String> {
        let mut out = Vec::new();
        let mut key = Vec::new();
        let mut at = 0;
        while at < self.entries_end {
            let entry = self.decode(at, &mut key).ok_or("undecodable entry")?;
            out.push((
                key.clone(),
                entry.value.map(|(s, e)| self.data[s..e].to_vec()),
            ));
            at = entry.next;
        }
        Ok(out)
    }

    pub fn size(&self) -> usize {
        self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(n: usize) -> (Vec<u8>, Vec<Entry>) {
        let mut b = BlockBuilder::default();
        let mut entries = Vec::new();
        for i in 0..n {
            let key = format!("key{i:05}").into_bytes();
            let value = (i % 7 != 0).then(|| vec![i as u8; i % 13]);
            b.add(&key, value.as_deref());
            entries.push((key, value));
        }
        (b.finish(), entries)
    }

    #[test]
    fn encode_decode_and_search() {
        let (bytes, entries) = build(100);
        let block = Block::parse(bytes).expect("valid block");
        assert_eq!(block.entries().expect("decodes"), entries);
        for (key, value) in &entries {
            assert_eq!(block.get(key).expect("decodes"), Some(value.clone()));
        }
        assert_eq!(block.get(b"key").expect("decodes"), None);
        assert_eq!(block.get(b"key00050x").expect("decodes"), None);
        assert_eq!(block.get(b"zzz").expect("decodes"), None);
    }

    #[test]
    fn checksum_catches_every_flipped_byte() {
        let (bytes, _) = build(20);
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x10;
            assert!(Block::parse(damaged).is_err(), "byte {i}");
        }
    }

    #[test]
    fn a_flipped_byte_is_a_typed_checksum_mismatch() {
        let (bytes, _) = build(20);
        let mut damaged = bytes.clone();
        damaged[0] ^= 0x10;
        let stored = u32::from_le_bytes(bytes[bytes.len() - 4..].try_into().expect("4 bytes"));
        match Block::parse(damaged) {
            Err(CorruptionDetail::ChecksumMismatch {
                what,
                expected,
                got,
            }) => {
                assert_eq!(what, "block");
                assert_eq!(expected, stored);
                assert_ne!(got, stored);
            }
            Err(other) => panic!("expected a checksum mismatch, got {other}"),
            Ok(_) => panic!("damage accepted"),
        }
    }
}
