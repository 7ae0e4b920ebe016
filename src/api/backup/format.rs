//! The backup data file, one per shard, and its checksums; sealed when the
//! server has an encryption key (`encryption_key_file`).
//!
//! Plaintext layout (no key; little-endian, fixed width):
//! ```text
//! magic    8 bytes  "DCBKDAT1"
//! record*  len:u32  crc32c(item):u32  item: len bytes (the stored item
//!                                      encoding, `model::codec`)
//! ```
//!
//! Sealed layout (a key; `engine::seal` has the primitives):
//! ```text
//! magic    8 bytes  "DCBKSEA1"
//! wrapped  68 bytes the file's own random data key wrapped by the master
//!                   key (`seal::WRAPPED_BYTES`; AAD name: the file's path
//!                   in the backup directory, `<id>/shard-NNN.data`)
//! unit*    len:u32  kind:u32  sealed: len + 16 bytes (ciphertext ‖ GCM tag)
//! ```
//! A unit of kind 0 (`Domain::Block`) holds a run of whole records of the
//! plaintext layout; the last unit, kind 2 (`Domain::Index`), is the
//! trailer: data units:u64, record bytes:u64, so a file cut at a unit
//! boundary is caught without trusting `backup.json`. Nonce: counter = the
//! file offset of the unit's `len` field (unique in the file, which is
//! written once) and the kind as domain; AAD: the file's path and the
//! counter, so a unit moved within or between files, or a changed `len` or
//! `kind`, fails to open. A failure is reported as corruption naming the
//! file and the unit's offset. With a key every file must be sealed, and
//! without one a sealed file is refused: a plaintext file put in a sealed
//! backup's place is never read.
//!
//! `backup.json` records each file's size, item count and CRC-32C of the
//! whole file (as stored, sealed or not); a restore checks all three and
//! every record's checksum before it creates anything, so a damaged backup
//! is refused whole. With a key `backup.json` itself is sealed
//! ([`seal_record`]).

use std::sync::Arc;

use crate::api::protocol::error::ApiError;
use crate::engine::seal::{Domain, FileKey, MasterKey, SealError, TAG_BYTES, WRAPPED_BYTES};

pub const MAGIC: &[u8; 8] = b"DCBKDAT1";
/// The sealed layout's magic.
pub const SEALED_MAGIC: &[u8; 8] = b"DCBKSEA1";
const RECORD_HEADER_BYTES: usize = 8;
const UNIT_HEADER_BYTES: usize = 8;
const SEALED_HEADER_BYTES: usize = 8 + WRAPPED_BYTES;
const TRAILER_BYTES: usize = 16;

/// Appends one record.
pub fn push_record(out: &mut Vec<u8>, item: &[u8]) {
    out.extend_from_slice(&(item.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(item).to_le_bytes());
    out.extend_from_slice(item);
}

/// Turns runs of whole records into the file's bytes: the header first,
/// then (sealed) one unit per run and the trailer at the end.
pub struct Writer {
    name: String,
    key: Option<FileKey>,
    /// The file's header until the first bytes are emitted.
    header: Option<Vec<u8>>,
    /// Bytes emitted so far (the next unit's offset).
    offset: u64,
    units: u64,
    record_bytes: u64,
}

impl Writer {
    /// A writer for the file at `path` (its name in the backup directory);
    /// sealed under a fresh file key when `key` is set.
    pub fn new(key: Option<&MasterKey>, path: &str) -> Result<Writer, ApiError> {
        let (key, header) = match key {
            None => (None, MAGIC.to_vec()),
            Some(master) => {
                let (file_key, wrapped) = master
                    .new_file_key(path)
                    .map_err(|e| ApiError::internal(format!("cannot seal {path}: {e}")))?;
                let mut header = SEALED_MAGIC.to_vec();
                header.extend_from_slice(&wrapped);
                (Some(file_key), header)
            }
        };
        Ok(Writer {
            name: path.to_string(),
            key,
            header: Some(header),
            offset: 0,
            units: 0,
            record_bytes: 0,
        })
    }

    /// The file bytes for `records` (whole records), the header first on
    /// the first call. Plaintext: the records as they are.
    pub fn encode(&mut self, records: Vec<u8>) -> Result<Vec<u8>, ApiError> {
        let mut out = self.header.take().unwrap_or_default();
        if self.key.is_none() {
            if out.is_empty() {
                out = records;
            } else {
                out.extend_from_slice(&records);
            }
        } else if !records.is_empty() {
            self.units += 1;
            self.record_bytes += records.len() as u64;
            self.push_unit(&mut out, Domain::Block, records)?;
        }
        self.offset += out.len() as u64;
        Ok(out)
    }

    /// The bytes that end the file: the header if nothing was emitted yet,
    /// and (sealed) the trailer.
    pub fn finish(&mut self) -> Result<Vec<u8>, ApiError> {
        let mut out = self.header.take().unwrap_or_default();
        if self.key.is_some() {
            let mut trailer = self.units.to_le_bytes().to_vec();
            trailer.extend_from_slice(&self.record_bytes.to_le_bytes());
            self.push_unit(&mut out, Domain::Index, trailer)?;
        }
        self.offset += out.len() as u64;
        Ok(out)
    }

    fn push_unit(
        &self,
        out: &mut Vec<u8>,
        domain: Domain,
        mut plain: Vec<u8>,
    ) -> Result<(), ApiError> {
        let Some(key) = &self.key else {
            return Ok(());
        };
        let counter = self.offset + out.len() as u64;
        let len = u32::try_from(plain.len())
            .map_err(|_| ApiError::internal(format!("backup unit of {} bytes", plain.len())))?;
        key.seal(&self.name, domain, counter, &mut plain)
            .map_err(|e| ApiError::internal(format!("cannot seal {}: {e}", self.name)))?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(domain as u32).to_le_bytes());
        out.extend_from_slice(&plain);
        Ok(())
    }
}

/// Whole records out of a plaintext byte stream.
#[derive(Default)]
struct Records {
    pending: Vec<u8>,
    items: u64,
}

impl Records {
    fn feed(&mut self, path: &str, bytes: &[u8]) -> Result<Vec<Vec<u8>>, ApiError> {
        self.pending.extend_from_slice(bytes);
        let mut at = 0usize;
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
}

enum Mode {
    /// The magic not read yet.
    Start,
    Plain,
    /// Boxed: a key schedule is large, and one reader holds one.
    Sealed(Box<FileKey>),
}

/// Reads a data file incrementally: feed chunks, take whole records.
pub struct Reader {
    key: Option<Arc<MasterKey>>,
    mode: Mode,
    /// File bytes not consumed yet, starting at file offset `consumed`.
    pending: Vec<u8>,
    consumed: u64,
    records: Records,
    units: u64,
    record_bytes: u64,
    trailer: bool,
    pub file_crc: u32,
    pub bytes: u64,
    pub items: u64,
}

impl Reader {
    /// A reader for a server with (or without) an encryption key.
    pub fn new(key: Option<Arc<MasterKey>>) -> Reader {
        Reader {
            key,
            mode: Mode::Start,
            pending: Vec::new(),
            consumed: 0,
            records: Records::default(),
            units: 0,
            record_bytes: 0,
            trailer: false,
            file_crc: 0,
            bytes: 0,
            items: 0,
        }
    }

    /// Feeds `chunk`; returns the items it completed.
    pub fn feed(&mut self, path: &str, chunk: &[u8]) -> Result<Vec<Vec<u8>>, ApiError> {
        self.file_crc = crc32c::crc32c_append(self.file_crc, chunk);
        self.bytes += chunk.len() as u64;
        if matches!(self.mode, Mode::Plain) {
            let items = self.records.feed(path, chunk)?;
            self.items = self.records.items;
            return Ok(items);
        }
        self.pending.extend_from_slice(chunk);
        if matches!(self.mode, Mode::Start) && !self.start(path)? {
            return Ok(Vec::new());
        }
        let mut items = Vec::new();
        if matches!(self.mode, Mode::Plain) {
            let rest = std::mem::take(&mut self.pending);
            items = self.records.feed(path, &rest)?;
        } else {
            self.open_units(path, &mut items)?;
        }
        self.items = self.records.items;
        Ok(items)
    }

    /// Reads the magic (and a sealed file's key); false until enough bytes.
    fn start(&mut self, path: &str) -> Result<bool, ApiError> {
        if self.pending.len() < MAGIC.len() {
            return Ok(false);
        }
        let magic = &self.pending[..MAGIC.len()];
        if magic == MAGIC {
            if self.key.is_some() {
                return Err(corrupt(
                    path,
                    "not sealed, and this server seals its backups (encryption key set)",
                ));
            }
            self.pending.drain(..MAGIC.len());
            self.consumed = MAGIC.len() as u64;
            self.mode = Mode::Plain;
            return Ok(true);
        }
        if magic != SEALED_MAGIC {
            return Err(corrupt(path, "not a backup data file"));
        }
        let Some(master) = &self.key else {
            return Err(corrupt(
                path,
                "sealed, and this server has no encryption key",
            ));
        };
        if self.pending.len() < SEALED_HEADER_BYTES {
            return Ok(false);
        }
        let file_key = master
            .open_file_key(path, &self.pending[MAGIC.len()..SEALED_HEADER_BYTES])
            .map_err(|e| unit_error(path, MAGIC.len() as u64, e))?;
        self.pending.drain(..SEALED_HEADER_BYTES);
        self.consumed = SEALED_HEADER_BYTES as u64;
        self.mode = Mode::Sealed(Box::new(file_key));
        Ok(true)
    }

    fn open_units(&mut self, path: &str, items: &mut Vec<Vec<u8>>) -> Result<(), ApiError> {
        let Mode::Sealed(key) = &self.mode else {
            return Ok(());
        };
        let mut at = 0usize;
        while self.pending.len() - at >= UNIT_HEADER_BYTES {
            let offset = self.consumed + at as u64;
            if self.trailer {
                return Err(corrupt(
                    path,
                    &format!("bytes after the trailer at offset {offset}"),
                ));
            }
            let h = &self.pending[at..at + UNIT_HEADER_BYTES];
            let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
            let kind = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
            let domain = match kind {
                0 => Domain::Block,
                2 => Domain::Index,
                _ => {
                    return Err(corrupt(
                        path,
                        &format!("unit of unknown kind {kind} at offset {offset}"),
                    ));
                }
            };
            let start = at + UNIT_HEADER_BYTES;
            if self.pending.len() - start < len + TAG_BYTES {
                break;
            }
            let mut unit = self.pending[start..start + len + TAG_BYTES].to_vec();
            key.open(path, domain, offset, &mut unit)
                .map_err(|e| unit_error(path, offset, e))?;
            at = start + len + TAG_BYTES;
            if domain == Domain::Block {
                self.units += 1;
                self.record_bytes += unit.len() as u64;
                items.extend(self.records.feed(path, &unit)?);
                continue;
            }
            let trailer: Option<[u8; TRAILER_BYTES]> = unit.as_slice().try_into().ok();
            let Some(t) = trailer else {
                return Err(corrupt(
                    path,
                    &format!("trailer of {} bytes at offset {offset}", unit.len()),
                ));
            };
            let units = u64::from_le_bytes([t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]]);
            let bytes = u64::from_le_bytes([t[8], t[9], t[10], t[11], t[12], t[13], t[14], t[15]]);
            if units != self.units || bytes != self.record_bytes {
                return Err(corrupt(
                    path,
                    &format!(
                        "the trailer at offset {offset} says {units} units of {bytes} bytes, the file holds {} of {}",
                        self.units, self.record_bytes
                    ),
                ));
            }
            self.trailer = true;
        }
        self.pending.drain(..at);
        self.consumed += at as u64;
        Ok(())
    }

    /// At the end of the file: nothing may be left over.
    pub fn finish(&self, path: &str) -> Result<(), ApiError> {
        let whole = match self.mode {
            Mode::Start => false,
            Mode::Plain => true,
            Mode::Sealed(_) => self.trailer && self.pending.is_empty(),
        };
        if !whole || !self.records.pending.is_empty() {
            let at = match self.mode {
                Mode::Sealed(_) => format!(" after offset {}", self.consumed),
                _ => String::new(),
            };
            return Err(corrupt(path, &format!("truncated{at}")));
        }
        Ok(())
    }
}

fn unit_error(path: &str, offset: u64, e: SealError) -> ApiError {
    corrupt(path, &format!("sealed unit at offset {offset}: {e}"))
}

pub fn corrupt(path: &str, what: &str) -> ApiError {
    ApiError::internal(format!("backup file {path} is damaged: {what}"))
}

/// `backup.json`'s bytes for `json`: with a key, sealed as the catalog is
/// (the wrapped file key, AAD name the record's path, then the JSON as one
/// unit, domain Index, counter 0: every version has a fresh file key).
pub fn seal_record(
    key: Option<&MasterKey>,
    path: &str,
    json: Vec<u8>,
) -> Result<Vec<u8>, ApiError> {
    let Some(master) = key else { return Ok(json) };
    let sealed = || -> Result<Vec<u8>, SealError> {
        let (file_key, wrapped) = master.new_file_key(path)?;
        let mut body = json;
        file_key.seal(path, Domain::Index, 0, &mut body)?;
        let mut out = wrapped.to_vec();
        out.extend_from_slice(&body);
        Ok(out)
    };
    sealed().map_err(|e| ApiError::internal(format!("cannot seal {path}: {e}")))
}

/// The JSON of a `backup.json` file: with a key it must be sealed and
/// intact.
pub fn open_record(
    key: Option<&MasterKey>,
    path: &str,
    bytes: Vec<u8>,
) -> Result<Vec<u8>, ApiError> {
    let Some(master) = key else { return Ok(bytes) };
    let opened = || -> Result<Vec<u8>, SealError> {
        let file_key = master.open_file_key(path, &bytes)?;
        let mut body = bytes[WRAPPED_BYTES..].to_vec();
        file_key.open(path, Domain::Index, 0, &mut body)?;
        Ok(body)
    };
    opened().map_err(|e| corrupt(path, &e.to_string()))
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
            let mut reader = Reader::new(None);
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
        let mut reader = Reader::new(None);
        assert!(reader.feed("f", &damaged).is_err());
        let mut reader = Reader::new(None);
        reader.feed("f", &file[..file.len() - 3]).expect("prefix");
        assert!(reader.finish("f").is_err());
    }
    fn sealed_file(master: &MasterKey, runs: &[Vec<u8>]) -> Vec<u8> {
        let mut writer = Writer::new(Some(master), "b/shard-000.data").expect("writer");
        let mut file = Vec::new();
        for run in runs {
            file.extend(writer.encode(run.clone()).expect("encode"));
        }
        file.extend(writer.finish().expect("finish"));
        file
    }

    fn read(
        key: Option<Arc<MasterKey>>,
        file: &[u8],
        chunk: usize,
    ) -> Result<Vec<Vec<u8>>, ApiError> {
        let mut reader = Reader::new(key);
        let mut items = Vec::new();
        for part in file.chunks(chunk) {
            items.extend(reader.feed("b/shard-000.data", part)?);
        }
        reader.finish("b/shard-000.data")?;
        Ok(items)
    }

    #[test]
    fn the_plaintext_writer_is_byte_identical_to_the_v1_layout() {
        let mut records = Vec::new();
        push_record(&mut records, b"an item");
        let mut writer = Writer::new(None, "f").expect("writer");
        let mut file = writer.encode(records.clone()).expect("encode");
        file.extend(writer.finish().expect("finish"));
        let mut v1 = MAGIC.to_vec();
        v1.extend_from_slice(&records);
        assert_eq!(file, v1);
        let mut empty = Writer::new(None, "f").expect("writer");
        assert_eq!(empty.finish().expect("finish"), MAGIC.to_vec());
    }

    #[test]
    fn sealed_files_round_trip_hide_their_items_and_refuse_any_change() {
        let master = Arc::new(MasterKey::from_bytes(&[3; 32]).expect("key"));
        let runs: Vec<Vec<u8>> = (0..4u8)
            .map(|r| {
                let mut run = Vec::new();
                for i in 0..10u8 {
                    push_record(&mut run, format!("SECRET-{r}-{i}").as_bytes());
                }
                run
            })
            .collect();
        let file = sealed_file(&master, &runs);
        assert!(!file.windows(6).any(|w| w == b"SECRET"));
        for chunk in [1usize, 5, 77, 100_000] {
            let items = read(Some(master.clone()), &file, chunk).expect("opens");
            assert_eq!(items.len(), 40);
            assert_eq!(items[13], b"SECRET-1-3".to_vec());
        }
        for at in [0, 9, 80, 85, file.len() / 2, file.len() - 1] {
            let mut bad = file.clone();
            bad[at] ^= 0x10;
            let e = read(Some(master.clone()), &bad, 64).expect_err("tampered");
            assert!(e.to_string().contains("shard-000.data"), "{e}");
        }
        // Whole units cut off the end, a plaintext file in its place, the
        // wrong key or none: refused.
        let first_unit_end = SEALED_HEADER_BYTES + UNIT_HEADER_BYTES + runs[0].len() + TAG_BYTES;
        assert!(read(Some(master.clone()), &file[..first_unit_end], 64).is_err());
        let mut plain = MAGIC.to_vec();
        plain.extend_from_slice(&runs[0]);
        assert!(read(Some(master.clone()), &plain, 64).is_err());
        assert!(read(None, &file, 64).is_err());
        let other = Arc::new(MasterKey::from_bytes(&[4; 32]).expect("key"));
        assert!(read(Some(other), &file, 64).is_err());
        let empty = sealed_file(&master, &[]);
        assert!(read(Some(master), &empty, 3).expect("empty").is_empty());
    }

    #[test]
    fn a_sealed_record_opens_only_intact() {
        let master = MasterKey::from_bytes(&[5; 32]).expect("key");
        let json = br#"{"name":"SECRET"}"#.to_vec();
        let sealed = seal_record(Some(&master), "b/backup.json", json.clone()).expect("seal");
        assert!(!sealed.windows(6).any(|w| w == b"SECRET"));
        assert_eq!(
            open_record(Some(&master), "b/backup.json", sealed.clone()).expect("open"),
            json
        );
        assert!(open_record(Some(&master), "c/backup.json", sealed.clone()).is_err());
        let mut bad = sealed;
        bad[70] ^= 1;
        assert!(open_record(Some(&master), "b/backup.json", bad).is_err());
        assert_eq!(seal_record(None, "b", json.clone()).expect("plain"), json);
    }
}
