//! The backup data file, one per shard, and its checksums.
//!
//! Layout (little-endian, fixed width):
//! ```text
//! magic    8 bytes  "DCBKDAT1"
//! record*  len:u32  crc32c(item):u32  item: len bytes (the stored item
//!                                      encoding, `model::codec`)
//! ```
//! `backup.json` records each file's size, item count and CRC-32C of the
//! whole file; a restore checks all three and every record's checksum
//! before it creates anything, so a damaged backup is refused whole.

use crate::api::protocol::error::ApiError;

pub const MAGIC: &[u8; 8] = b"DCBKDAT1";
const RECORD_HEADER_BYTES: usize = 8;

/// Appends one record.
pub fn push_record(out: &mut Vec<u8>, item: &[u8]) {
    out.extend_from_slice(&(item.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(item).to_le_bytes());
    out.extend_from_slice(item);
}

/// Reads a data file incrementally: feed chunks, take whole records.
#[derive(Default)]
pub struct Reader {
    pending: Vec<u8>,
    started: bool,
    pub file_crc: u32,
    pub bytes: u64,
    pub items: u64,
}

impl Reader {
    /// Feeds `chunk`; returns the items it completed.
    pub fn feed(&mut self, path: &str, chunk: &[u8]) -> Result<Vec<Vec<u8>>, ApiError> {
        self.file_crc = crc32c::crc32c_append(self.file_crc, chunk);
        self.bytes += chunk.len() as u64;
        self.pending.extend_from_slice(chunk);
        let mut at = 0usize;
        if !self.started {
            if self.pending.len() < MAGIC.len() {
                return Ok(Vec::new());
            }
            if &self.pending[..MAGIC.len()] != MAGIC {
                return Err(corrupt(path, "not a backup data file"));
            }
            at = MAGIC.len();
            self.started = true;
        }
        let mut items = Vec::new();
        while self.pending.len() - at >= RECORD_HEADER_BYTES {
            let header = &self.pending[at..at + RECORD_HEADER_BYTES];
            let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
            let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            if self.pending.len() - at - RECORD_HEADER_BYTES < len {
                break;
            }
            let start = at + RECORD_HEADER_BYTES;
            let item = &self.pending[start..start + len];
            let got = crc32c::crc32c(item);
            if got != crc {
                return Err(corrupt(
                    path,
                    &format!(
                        "record {} checksum {got:08x}, expected {crc:08x}",
                        self.items
                    ),
                ));
            }
            items.push(item.to_vec());
            self.items += 1;
            at = start + len;
        }
        self.pending.drain(..at);
        Ok(items)
    }

    /// At the end of the file: nothing may be left over.
    pub fn finish(&self, path: &str) -> Result<(), ApiError> {
        if !self.started || !self.pending.is_empty() {
            return Err(corrupt(path, "truncated"));
        }
        Ok(())
    }
}

pub fn corrupt(path: &str, what: &str) -> ApiError {
    ApiError::internal(format!("backup file {path} is damaged: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_in_any_chunking_and_damage_is_found() {
        let mut file = MAGIC.to_vec();
        for i in 0..50u32 {
            push_record(&mut file, &vec![i as u8; i as usize]);
        }
        for chunk in [1usize, 3, 7, 64, 10_000] {
            let mut reader = Reader::default();
            let mut items = Vec::new();
            for part in file.chunks(chunk) {
                items.extend(reader.feed("f", part).expect("valid"));
            }
            reader.finish("f").expect("whole");
            assert_eq!(items.len(), 50);
            assert_eq!(items[7], vec![7u8; 7]);
            assert_eq!(reader.file_crc, crc32c::crc32c(&file));
        }
        let mut damaged = file.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        let mut reader = Reader::default();
        assert!(reader.feed("f", &damaged).is_err());
        let mut reader = Reader::default();
        reader.feed("f", &file[..file.len() - 3]).expect("prefix");
        assert!(reader.finish("f").is_err());
    }
}
