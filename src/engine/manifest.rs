//! The manifest: the set of live tables per level, range tombstones, and
//! the WAL position they cover. One file, `MANIFEST`, replaced atomically.
//!
//! Update protocol (crash reasoning inline in [`write`]): encode → write
//! `MANIFEST.tmp` → fdatasync → rename over `MANIFEST` → fsync directory.
//! Files a manifest drops are deleted only after it is durable; files a
//! crash leaves unreferenced (a flush or compaction output not yet named)
//! are deleted at open.
//!
//! Layout (little-endian, fixed width):
//!
//! ```text
//! magic u64 "DYNCMAN\x01" | version u32 (1) | body_len u32
//! body:
//!   next_file_id u64 | flushed_seq u64 | wal_min_segment u64
//!   table_count u32, per table:
//!     level u8 | id u64 | size u64 | entries u64 | max_seq u64 |
//!     clean_seq u64 | smallest_len u32 | smallest | largest_len u32 | largest
//!   tombstone_count u32, per range tombstone:
//!     prefix_len u32 | prefix | seq u64
//! crc32c u32 of magic..body end | zero padding to 4 KiB
//! ```
//!
//! Sealed (encryption at rest, `seal.rs`): every version of the manifest
//! gets a fresh file key, so its one unit uses counter 0:
//!
//! ```text
//! 0..4096       header block: wrapped file key (AAD name "MANIFEST", also
//!               for MANIFEST.tmp: the file is renamed) | zeros
//! 4096..4100    sealed_len u32
//! 4100..        the plaintext layout above (padding included), sealed
//!               (ciphertext ‖ 16-byte tag; domain Index, counter 0)
//!               | zero padding to 4 KiB
//! ```
//!
//! `flushed_seq`: every WAL record at or below it is in the tables.
//! `wal_min_segment`: older segments hold no record above `flushed_seq`.
//! A range tombstone (prefix, seq) deletes every key under prefix written
//! with a sequence number below seq (a dropped table).

use crate::engine::EngineError;
use crate::engine::io::{Fs, FsFile, align_up};
use crate::engine::seal::{Domain, HEADER_BLOCK_BYTES, MasterKey};
use crate::engine::sst::table::TableMeta;
use crate::engine::wal::io_error;

pub const MANIFEST: &str = "MANIFEST";
pub const MANIFEST_TMP: &str = "MANIFEST.tmp";
const MAGIC: u64 = u64::from_le_bytes(*b"DYNCMAN\x01");
const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeTombstone {
    pub prefix: Vec<u8>,
    pub seq: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManifestData {
    pub next_file_id: u64,
    pub flushed_seq: u64,
    pub wal_min_segment: u64,
    /// (level, table), L0 newest first, other levels by key.
    pub tables: Vec<(u8, TableMeta)>,
    pub tombstones: Vec<RangeTombstone>,
}

pub fn encode(data: &ManifestData) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&data.next_file_id.to_le_bytes());
    body.extend_from_slice(&data.flushed_seq.to_le_bytes());
    body.extend_from_slice(&data.wal_min_segment.to_le_bytes());
    body.extend_from_slice(&(data.tables.len() as u32).to_le_bytes());
    for (level, t) in &data.tables {
        body.push(*level);
        for n in [t.id, t.size, t.entries, t.max_seq, t.clean_seq] {
            body.extend_from_slice(&n.to_le_bytes());
        }
        for key in [&t.smallest, &t.largest] {
            body.extend_from_slice(&(key.len() as u32).to_le_bytes());
            body.extend_from_slice(key);
        }
    }
    body.extend_from_slice(&(data.tombstones.len() as u32).to_le_bytes());
    for t in &data.tombstones {
        body.extend_from_slice(&(t.prefix.len() as u32).to_le_bytes());
        body.extend_from_slice(&t.prefix);
        body.extend_from_slice(&t.seq.to_le_bytes());
    }
    let mut out = Vec::with_capacity(body.len() + 20);
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out.resize(align_up(out.len() as u64) as usize, 0);
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).ok_or("length overflow")?;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| format!("truncated at byte {}", self.at))?;
        self.at = end;
        Ok(slice)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(raw))
    }
    fn bytes(&mut self) -> Result<Vec<u8>, String> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
}

/// Decodes a manifest; the error describes the damage.
pub fn decode(bytes: &[u8]) -> Result<ManifestData, String> {
    let mut r = Reader { bytes, at: 0 };
    if r.u64()? != MAGIC {
        return Err("bad magic: not a Dynacore manifest".into());
    }
    let version = r.u32()?;
    if version != VERSION {
        return Err(format!("unsupported manifest version {version}"));
    }
    let body_len = r.u32()? as usize;
    let end = 16usize.checked_add(body_len).ok_or("length overflow")?;
    let stored = bytes
        .get(end..end + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or("truncated before checksum")?;
    let actual = crc32c::crc32c(&bytes[..end]);
    if stored != actual {
        return Err(format!(
            "checksum mismatch: stored {stored:#010x}, computed {actual:#010x}"
        ));
    }
    let mut data = ManifestData {
        next_file_id: r.u64()?,
        flushed_seq: r.u64()?,
        wal_min_segment: r.u64()?,
        ..ManifestData::default()
    };
    for _ in 0..r.u32()? {
        let level = r.u8()?;
        let (id, size, entries, max_seq, clean_seq) =
            (r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?);
        let smallest = r.bytes()?;
        let largest = r.bytes()?;
        data.tables.push((
            level,
            TableMeta {
                id,
                size,
                smallest,
                largest,
                entries,
                max_seq,
                clean_seq,
            },
        ));
    }
    for _ in 0..r.u32()? {
        let prefix = r.bytes()?;
        let seq = r.u64()?;
        data.tombstones.push(RangeTombstone { prefix, seq });
    }
    if r.at != end {
        return Err("body length mismatch".into());
    }
    Ok(data)
}

/// Makes `data` the durable manifest.
/// The file's bytes: [`encode`], sealed under a fresh file key when
/// `master_key` is set.
fn encode_file(
    data: &ManifestData,
    master_key: Option<&MasterKey>,
) -> Result<Vec<u8>, EngineError> {
    let plain = encode(data);
    let Some(master) = master_key else {
        return Ok(plain);
    };
    let (key, mut out) = master
        .new_header_block(MANIFEST)
        .map_err(|e| EngineError::sealing(MANIFEST, e))?;
    let mut sealed = plain;
    key.seal(MANIFEST, Domain::Index, 0, &mut sealed)
        .map_err(|e| EngineError::sealing(MANIFEST, e))?;
    out.extend_from_slice(&(sealed.len() as u32).to_le_bytes());
    out.extend_from_slice(&sealed);
    out.resize(align_up(out.len() as u64) as usize, 0);
    Ok(out)
}

/// The plaintext layout inside a sealed manifest file.
fn open_file(bytes: &[u8], master: &MasterKey) -> Result<Vec<u8>, EngineError> {
    let tampered = |offset, what| EngineError::tampered(MANIFEST, offset, what);
    let key = master
        .open_file_key(MANIFEST, &bytes[..bytes.len().min(HEADER_BLOCK_BYTES)])
        .map_err(|_| tampered(0, "manifest key header"))?;
    let at = HEADER_BLOCK_BYTES;
    let len = bytes
        .get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(|| tampered(at as u64, "manifest length"))?;
    let mut sealed = bytes
        .get(at + 4..(at + 4).saturating_add(len))
        .ok_or_else(|| tampered(at as u64, "manifest length"))?
        .to_vec();
    key.open(MANIFEST, Domain::Index, 0, &mut sealed)
        .map_err(|_| tampered(at as u64 + 4, "manifest"))?;
    Ok(sealed)
}

pub async fn write<F: Fs>(
    fs: &F,
    data: &ManifestData,
    master_key: Option<&MasterKey>,
) -> Result<(), EngineError> {
    let bytes = encode_file(data, master_key)?;
    let file = fs
        .create(MANIFEST_TMP)
        .await
        .map_err(|e| io_error(MANIFEST_TMP, e))?;
    file.write_at(&bytes, 0)
        .await
        .map_err(|e| io_error(MANIFEST_TMP, e))?;
    file.sync().await.map_err(|source| EngineError::Io {
        path: MANIFEST_TMP.into(),
        source,
    })?;
    // Crash before the rename: open finds the old MANIFEST (still complete)
    // and deletes MANIFEST.tmp. Crash after the rename but before the
    // directory sync: either name may survive; both name a complete file.
    fs.rename(MANIFEST_TMP, MANIFEST)
        .await
        .map_err(|e| io_error(MANIFEST, e))?;
    fs.sync_dir()
        .await
        .map_err(|e| io_error("data directory", e))?;
    Ok(())
}

/// Reads `MANIFEST`.
pub async fn read<F: Fs>(
    fs: &F,
    master_key: Option<&MasterKey>,
) -> Result<ManifestData, EngineError> {
    let file = fs.open(MANIFEST).await.map_err(|e| io_error(MANIFEST, e))?;
    let size = file.size().await.map_err(|e| io_error(MANIFEST, e))?;
    let bytes = file
        .read_at(0, size as usize)
        .await
        .map_err(|e| io_error(MANIFEST, e))?;
    let bytes = match master_key {
        None => bytes,
        Some(master) => open_file(&bytes, master)?,
    };
    decode(&bytes).map_err(|detail| EngineError::Corruption {
        path: MANIFEST.into(),
        offset: 0,
        detail: detail.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_damage() {
        let data = ManifestData {
            next_file_id: 9,
            flushed_seq: 77,
            wal_min_segment: 3,
            tables: vec![(
                1,
                TableMeta {
                    id: 4,
                    size: 8192,
                    smallest: b"a".to_vec(),
                    largest: b"z".to_vec(),
                    entries: 10,
                    max_seq: 70,
                    clean_seq: 0,
                },
            )],
            tombstones: vec![RangeTombstone {
                prefix: vec![0, 0, 0, 7],
                seq: 60,
            }],
        };
        let bytes = encode(&data);
        assert_eq!(bytes.len() % 4096, 0);
        assert_eq!(decode(&bytes), Ok(data));
        let mut damaged = bytes.clone();
        damaged[30] ^= 1;
        assert!(decode(&damaged).is_err());
        assert!(decode(b"garbage").is_err());
    }
}
