//! WAL record framing and the pure scan of one segment's bytes.
//!
//! Record layout (all integers little-endian, fixed width):
//!
//! | offset | size | field                                               |
//! |--------|------|-----------------------------------------------------|
//! | 0      | 4    | header_crc: CRC32C of bytes 4..36                   |
//! | 4      | 4    | body_len                                            |
//! | 8      | 8    | seq: the batch's sequence number (+1 per record)    |
//! | 16     | 8    | segment: id of the segment file it was written to   |
//! | 24     | 8    | group_first_seq: seq of the first record of the     |
//! |        |      | commit group (one write + one fdatasync)            |
//! | 32     | 4    | body_crc: CRC32C of the body                        |
//! | 36     | n    | body (see [`encode_batch`])                         |
//!
//! Records are packed back to back; segments are recycled, so bytes past the
//! last record may be zeros, stale records of an older segment id (rejected by
//! the `segment` field) or a torn write.
//!
//! Torn tail vs corruption: when the record at offset X is invalid, the rest
//! of the segment is searched for valid records of this segment. None: the
//! log ends at X. Some: that is acceptable only if they all belong to the one
//! commit group that was in flight at the crash — the group of the last good
//! record, or the group starting right after it (`group_first_seq` tells) —
//! and no later segment holds records; anything else means bytes that were
//! once synced are damaged: [`EngineError::Corruption`] at X.
//!
//! Batch body: `u8 kind (1 = batch)`, `u32 count`, then per operation
//! `u8 op (0 delete, 1 put)`, `u32 key_len`, key, and for puts `u32
//! value_len`, value.

use crate::engine::WriteBatch;

pub const HEADER_BYTES: usize = 36;
const BODY_KIND_BATCH: u8 = 1;

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(raw)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(raw)
}

/// Appends one framed record to `out`.
pub fn encode_record(out: &mut Vec<u8>, segment: u64, seq: u64, group_first_seq: u64, body: &[u8]) {
    let start = out.len();
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&segment.to_le_bytes());
    out.extend_from_slice(&group_first_seq.to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(body).to_le_bytes());
    let header_crc = crc32c::crc32c(&out[start + 4..start + HEADER_BYTES]);
    out[start..start + 4].copy_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(body);
}

/// Encodes a batch as a record body.
pub fn encode_batch(batch: &WriteBatch) -> Vec<u8> {
    let size: usize = batch
        .iter()
        .map(|(k, v)| 9 + k.len() + v.as_ref().map_or(0, |v| 4 + v.len()))
        .sum();
    let mut out = Vec::with_capacity(5 + size);
    out.push(BODY_KIND_BATCH);
    out.extend_from_slice(&(batch.len() as u32).to_le_bytes());
    for (key, value) in batch {
        out.push(u8::from(value.is_some()));
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key);
        if let Some(value) = value {
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            out.extend_from_slice(value);
        }
    }
    out
}

/// Decodes a batch body; `None` if malformed (the caller reports corruption,
/// since the body's CRC matched: written by a buggy or foreign writer).
pub fn decode_batch(body: &[u8]) -> Option<WriteBatch> {
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Option<std::ops::Range<usize>> {
        let end = at.checked_add(n)?;
        (end <= body.len()).then(|| {
            let range = *at..end;
            *at = end;
            range
        })
    };
    let kind = body.get(take(&mut at, 1)?.start)?;
    if *kind != BODY_KIND_BATCH {
        return None;
    }
    let count = u32_at(body, take(&mut at, 4)?.start);
    let mut batch = Vec::with_capacity((count as usize).min(body.len() / 9));
    for _ in 0..count {
        let op = body[take(&mut at, 1)?.start];
        let key_len = u32_at(body, take(&mut at, 4)?.start) as usize;
        let key = body[take(&mut at, key_len)?].to_vec();
        let value = match op {
            0 => None,
            1 => {
                let len = u32_at(body, take(&mut at, 4)?.start) as usize;
                Some(body[take(&mut at, len)?].to_vec())
            }
            _ => return None,
        };
        batch.push((key, value));
    }
    (at == body.len()).then_some(batch)
}

/// A record found by [`scan_segment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub offset: u64,
    pub seq: u64,
    pub group_first_seq: u64,
    pub body: Vec<u8>,
}

/// What one segment holds.
#[derive(Debug, Default)]
pub struct SegmentScan {
    /// Valid records from offset 0 up to the first invalid byte.
    pub records: Vec<Record>,
    /// Offset of the first invalid record, if the scan stopped before the
    /// end of the bytes.
    pub invalid_at: Option<u64>,
    /// Valid records of this segment found *after* `invalid_at`.
    pub after_invalid: Vec<Record>,
}

/// Parses a valid record of `segment` at `at`, if there is one.
fn record_at(bytes: &[u8], at: usize, segment: u64) -> Option<Record> {
    let header = bytes.get(at..at.checked_add(HEADER_BYTES)?)?;
    // Cheap filter first: stale records of recycled segments and zero padding
    // fail here without a CRC computation.
    if u64_at(header, 16) != segment {
        return None;
    }
    if crc32c::crc32c(&header[4..]) != u32_at(header, 0) {
        return None;
    }
    let body_len = u32_at(header, 4) as usize;
    let body = bytes.get(at + HEADER_BYTES..(at + HEADER_BYTES).checked_add(body_len)?)?;
    if crc32c::crc32c(body) != u32_at(header, 32) {
        return None;
    }
    Some(Record {
        offset: at as u64,
        seq: u64_at(header, 8),
        group_first_seq: u64_at(header, 24),
        body: body.to_vec(),
    })
}

/// Scans a segment's bytes. Pure: classification (torn tail or corruption)
/// is left to the caller, which knows the neighbouring segments.
pub fn scan_segment(bytes: &[u8], segment: u64) -> SegmentScan {
    scan_segment_from(bytes, 0, segment)
}

/// [`scan_segment`] of records starting at `start` (a sealed segment's
/// records follow its header block); offsets stay file offsets.
pub fn scan_segment_from(bytes: &[u8], start: usize, segment: u64) -> SegmentScan {
    let mut scan = SegmentScan::default();
    let mut at = start;
    while at < bytes.len() {
        match record_at(bytes, at, segment) {
            Some(record) => {
                at += HEADER_BYTES + record.body.len();
                scan.records.push(record);
            }
            None => {
                scan.invalid_at = Some(at as u64);
                break;
            }
        }
    }
    if let Some(invalid) = scan.invalid_at {
        let mut probe = invalid as usize + 1;
        while probe + HEADER_BYTES <= bytes.len() {
            // Segments are zero-filled ahead of use: skip zero runs fast. A
            // header of all zeros is never valid (the CRC32C of 32 zero
            // bytes is not 0), so a record starting at p has a nonzero byte
            // in p..p + HEADER_BYTES.
            match bytes[probe..].iter().position(|&b| b != 0) {
                None => break,
                Some(nonzero) if nonzero >= HEADER_BYTES => {
                    probe += nonzero + 1 - HEADER_BYTES;
                    continue;
                }
                Some(_) => {}
            }
            match record_at(bytes, probe, segment) {
                Some(record) => {
                    probe += HEADER_BYTES + record.body.len();
                    scan.after_invalid.push(record);
                }
                None => probe += 1,
            }
        }
    }
    scan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(i: u8) -> WriteBatch {
        vec![(vec![i; 3], Some(vec![i; 5])), (vec![i, 1], None)]
    }

    #[test]
    fn zero_headers_are_never_valid_and_zero_runs_are_skipped() {
        assert_ne!(crc32c::crc32c(&[0u8; HEADER_BYTES - 4]), 0);
        // A zero-filled segment with one record far past the end of the log:
        // the scan must still find it after the invalid (zero) start.
        let mut bytes = vec![0u8; 1 << 20];
        let mut rec = Vec::new();
        encode_record(&mut rec, 7, 5, 5, &encode_batch(&batch(1)));
        let at = (1 << 19) + 3;
        bytes[at..at + rec.len()].copy_from_slice(&rec);
        let scan = scan_segment(&bytes, 7);
        assert!(scan.records.is_empty());
        assert_eq!(scan.invalid_at, Some(0));
        assert_eq!(scan.after_invalid.len(), 1);
        assert_eq!(scan.after_invalid[0].offset, at as u64);
        assert!(
            scan_segment(&vec![0u8; 1 << 20], 7)
                .after_invalid
                .is_empty()
        );
    }

    #[test]
    fn batch_round_trips() {
        let b = batch(7);
        assert_eq!(decode_batch(&encode_batch(&b)), Some(b));
        assert_eq!(decode_batch(&[1, 1, 0, 0, 0, 1]), None);
        assert_eq!(decode_batch(&[]), None);
    }

    #[test]
    fn records_frame_and_scan() {
        let mut log = Vec::new();
        for seq in 1..=3u64 {
            encode_record(&mut log, 9, seq, 1, &encode_batch(&batch(seq as u8)));
        }
        let clean_len = log.len();
        log.resize(8192, 0);
        let scan = scan_segment(&log, 9);
        assert_eq!(scan.records.len(), 3);
        assert_eq!(scan.invalid_at, Some(clean_len as u64));
        assert!(scan.after_invalid.is_empty());
        // The same bytes read as another segment id are stale: nothing valid.
        assert!(scan_segment(&log, 8).records.is_empty());
    }

    #[test]
    fn damage_is_found_with_later_records() {
        let mut log = Vec::new();
        encode_record(&mut log, 1, 1, 1, &encode_batch(&batch(1)));
        let second = log.len();
        encode_record(&mut log, 1, 2, 2, &encode_batch(&batch(2)));
        encode_record(&mut log, 1, 3, 3, &encode_batch(&batch(3)));
        log[second + HEADER_BYTES + 2] ^= 0xFF;
        let scan = scan_segment(&log, 1);
        assert_eq!(scan.records.len(), 1);
        assert_eq!(scan.invalid_at, Some(second as u64));
        assert_eq!(scan.after_invalid.len(), 1);
        assert_eq!(scan.after_invalid[0].seq, 3);
    }
}
