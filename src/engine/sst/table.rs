//! SSTable files: layout, streaming writer, reader and iterator.
//!
//! File layout (integers little-endian, fixed width), `sst-<id:016x>.sst`:
//!
//! ```text
//! data blocks   : see block.rs; each ends with its own CRC32C
//! index block   : per data block { key_len u16 | last_key | offset u64 |
//!                 len u32 }, then count u32 | crc32c u32
//! bloom block   : bloom.rs bytes | crc32c u32
//! stats block   : per 4-byte key prefix { prefix_len u8 | prefix [u8; 4]
//!                 (zero padded) | entries u64 | bytes u64 }, then count u32 |
//!                 crc32c u32   (puts only; tombstones are not counted)
//! zero padding  : so the footer ends on a 4 KiB boundary (direct I/O)
//! footer (64 B) : magic u64 "DYNCSST\x01" | version u32 (1) | reserved u32 |
//!                 index_offset u64 | index_len u32 | bloom_len u32 |
//!                 stats_len u32 | reserved u32 | entries u64 | max_seq u64 |
//!                 crc32c u32 of bytes 0..56 | reserved u32
//! ```
//!
//! The bloom block follows the index and the stats block follows the bloom
//! block. The reader keeps index, bloom and stats in memory; data blocks go
//! through the block cache. Data is written in 1 MiB aligned chunks and
//! fdatasync'ed before the table is named in a manifest.

use super::block::{Block, BlockBuilder, Entry};
use super::bloom;
use super::cache::BlockCache;
use crate::engine::io::{BLOCK_BYTES, Fs, FsFile, align_down, align_up};
use crate::engine::seal::{Domain, FileKey, HEADER_BLOCK_BYTES, MasterKey};
use crate::engine::wal::io_error;
use crate::engine::{CorruptionDetail, EngineError, PrefixStats};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::rc::Rc;

pub const MAGIC: u64 = u64::from_le_bytes(*b"DYNCSST\x01");
pub const FORMAT_VERSION: u32 = 1;
const FOOTER_BYTES: usize = 64;
const WRITE_CHUNK_BYTES: usize = 1 << 20;
/// Uncompressed data block size target.
pub const DATA_BLOCK_BYTES: usize = 4096;

pub fn table_name(id: u64) -> String {
    format!("sst-{id:016x}.sst")
}

pub fn parse_table_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("sst-")?.strip_suffix(".sst")?;
    (hex.len() == 16).then(|| u64::from_str_radix(hex, 16).ok())?
}

/// What the manifest records about a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableMeta {
    pub id: u64,
    pub size: u64,
    pub smallest: Vec<u8>,
    pub largest: Vec<u8>,
    pub entries: u64,
    /// Highest sequence number of any record merged into this table.
    pub max_seq: u64,
    /// Range tombstones up to this seq were applied when it was written.
    pub clean_seq: u64,
}

impl TableMeta {
    pub fn overlaps(&self, lower: &[u8], upper: &[u8]) -> bool {
        self.smallest.as_slice() <= upper && self.largest.as_slice() >= lower
    }
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn with_crc(mut bytes: Vec<u8>) -> Vec<u8> {
    let crc = crc32c::crc32c(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// A unit read at `offset` as plaintext: opened under `key` when the table
/// is sealed (a unit that fails is corruption at its offset), else as is.
fn open_unit(
    key: Option<&FileKey>,
    name: &str,
    domain: Domain,
    offset: u64,
    mut bytes: Vec<u8>,
    what: &'static str,
) -> Result<Vec<u8>, EngineError> {
    if let Some(key) = key {
        key.open(name, domain, offset, &mut bytes)
            .map_err(|_| EngineError::tampered(name, offset, what))?;
    }
    Ok(bytes)
}

fn check_crc<'a>(bytes: &'a [u8], what: &'static str) -> Result<&'a [u8], CorruptionDetail> {
    let (body, crc) = bytes
        .split_last_chunk::<4>()
        .ok_or_else(|| format!("{what} too short"))?;
    let stored = u32::from_le_bytes(*crc);
    let actual = crc32c::crc32c(body);
    if stored != actual {
        return Err(CorruptionDetail::ChecksumMismatch {
            what,
            expected: stored,
            got: actual,
        });
    }
    Ok(body)
}

fn stats_bucket(key: &[u8]) -> (u8, [u8; 4]) {
    let len = key.len().min(4);
    let mut prefix = [0u8; 4];
    prefix[..len].copy_from_slice(&key[..len]);
    (len as u8, prefix)
}

/// Streams sorted entries into a new table file.
pub struct TableWriter<F: Fs> {
    file: F::File,
    name: String,
    /// Sealed tables: the file key (its wrapped form is the first block).
    key: Option<FileKey>,
    id: u64,
    buf: Vec<u8>,
    flushed: u64,
    block: BlockBuilder,
    index: Vec<(Vec<u8>, u64, u32)>,
    hashes: Vec<(u64, u64)>,
    stats: BTreeMap<(u8, [u8; 4]), PrefixStats>,
    entries: u64,
    smallest: Option<Vec<u8>>,
}

impl<F: Fs> TableWriter<F> {
    /// A new table file; with `master_key`, sealed (its first block holds
    /// the wrapped file key).
    pub async fn create(
        fs: &F,
        id: u64,
        master_key: Option<&MasterKey>,
    ) -> Result<TableWriter<F>, EngineError> {
        let name = table_name(id);
        let file = fs.create(&name).await.map_err(|e| io_error(&name, e))?;
        let mut buf = Vec::with_capacity(WRITE_CHUNK_BYTES + DATA_BLOCK_BYTES);
        let key = match master_key {
            None => None,
            Some(master) => {
                let (key, block) = master
                    .new_header_block(&name)
                    .map_err(|e| EngineError::sealing(&name, e))?;
                buf.extend_from_slice(&block);
                Some(key)
            }
        };
        Ok(TableWriter {
            file,
            name,
            key,
            id,
            buf,
            flushed: 0,
            block: BlockBuilder::default(),
            index: Vec::new(),
            hashes: Vec::new(),
            stats: BTreeMap::new(),
            entries: 0,
            smallest: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Bytes this table will occupy so far (for splitting outputs).
    pub fn size_estimate(&self) -> u64 {
        self.flushed + self.buf.len() as u64 + self.block.size_estimate() as u64
    }

    /// Adds the next entry (keys strictly ascending).
    pub async fn add(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<(), EngineError> {
        if self.smallest.is_none() {
            self.smallest = Some(key.to_vec());
        }
        self.block.add(key, value);
        self.hashes.push(bloom::key_hash(key));
        if let Some(value) = value {
            let stats = self.stats.entry(stats_bucket(key)).or_default();
            stats.entries += 1;
            stats.bytes += (key.len() + value.len()) as u64;
        }
        self.entries += 1;
        if self.block.size_estimate() >= DATA_BLOCK_BYTES {
            self.finish_block()?;
        }
        if self.buf.len() >= WRITE_CHUNK_BYTES {
            let aligned = align_down(self.buf.len() as u64) as usize;
            self.file
                .write_at(&self.buf[..aligned], self.flushed)
                .await
                .map_err(|e| io_error(&self.name, e))?;
            self.buf.drain(..aligned);
            self.flushed += aligned as u64;
        }
        Ok(())
    }

    fn finish_block(&mut self) -> Result<(), EngineError> {
        if self.block.is_empty() {
            return Ok(());
        }
        let last_key = self.block.last_key().to_vec();
        let offset = self.flushed + self.buf.len() as u64;
        let block = self.block.finish();
        let bytes = self.seal(Domain::Block, offset, block)?;
        self.index.push((last_key, offset, bytes.len() as u32));
        self.buf.extend_from_slice(&bytes);
        Ok(())
    }

    /// `bytes` as written at `offset`: sealed (ciphertext ‖ tag, the offset
    /// as nonce counter) when the table is, else unchanged.
    fn seal(
        &self,
        domain: Domain,
        offset: u64,
        mut bytes: Vec<u8>,
    ) -> Result<Vec<u8>, EngineError> {
        if let Some(key) = &self.key {
            key.seal(&self.name, domain, offset, &mut bytes)
                .map_err(|e| EngineError::sealing(&self.name, e))?;
        }
        Ok(bytes)
    }

    /// Writes index, filter, stats and footer, then fdatasyncs. The caller
    /// makes the file live by naming it in a durable manifest.
    pub async fn finish(mut self, max_seq: u64, clean_seq: u64) -> Result<TableMeta, EngineError> {
        self.finish_block()?;
        let largest = self.index.last().map(|e| e.0.clone()).unwrap_or_default();
        let index_offset = self.flushed + self.buf.len() as u64;
        let mut index = Vec::new();
        for (key, offset, len) in &self.index {
            index.extend_from_slice(&(key.len() as u16).to_le_bytes());
            index.extend_from_slice(key);
            index.extend_from_slice(&offset.to_le_bytes());
            index.extend_from_slice(&len.to_le_bytes());
        }
        index.extend_from_slice(&(self.index.len() as u32).to_le_bytes());
        let index = self.seal(Domain::Index, index_offset, with_crc(index))?;
        let bloom_at = index_offset + index.len() as u64;
        let bloom = self.seal(
            Domain::Index,
            bloom_at,
            with_crc(bloom::build(&self.hashes)),
        )?;
        let mut stats = Vec::new();
        for ((len, prefix), s) in &self.stats {
            stats.push(*len);
            stats.extend_from_slice(prefix);
            stats.extend_from_slice(&s.entries.to_le_bytes());
            stats.extend_from_slice(&s.bytes.to_le_bytes());
        }
        stats.extend_from_slice(&(self.stats.len() as u32).to_le_bytes());
        let stats_at = bloom_at + bloom.len() as u64;
        let stats = self.seal(Domain::Index, stats_at, with_crc(stats))?;
        self.buf.extend_from_slice(&index);
        self.buf.extend_from_slice(&bloom);
        self.buf.extend_from_slice(&stats);
        let end = self.flushed + self.buf.len() as u64;
        let size = align_up(end + FOOTER_BYTES as u64);
        self.buf
            .resize((size - FOOTER_BYTES as u64 - self.flushed) as usize, 0);
        let mut footer = Vec::with_capacity(FOOTER_BYTES);
        footer.extend_from_slice(&MAGIC.to_le_bytes());
        footer.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        footer.extend_from_slice(&0u32.to_le_bytes());
        footer.extend_from_slice(&index_offset.to_le_bytes());
        footer.extend_from_slice(&(index.len() as u32).to_le_bytes());
        footer.extend_from_slice(&(bloom.len() as u32).to_le_bytes());
        footer.extend_from_slice(&(stats.len() as u32).to_le_bytes());
        footer.extend_from_slice(&0u32.to_le_bytes());
        footer.extend_from_slice(&self.entries.to_le_bytes());
        footer.extend_from_slice(&max_seq.to_le_bytes());
        let mut footer = with_crc(footer);
        footer.extend_from_slice(&0u32.to_le_bytes());
        debug_assert_eq!(footer.len(), FOOTER_BYTES);
        self.buf.extend_from_slice(&footer);
        debug_assert_eq!(self.buf.len() % BLOCK_BYTES, 0);
        self.file
            .write_at(&self.buf, self.flushed)
            .await
            .map_err(|e| io_error(&self.name, e))?;
        self.file.sync().await.map_err(|source| EngineError::Io {
            path: self.name.clone(),
            source,
        })?;
        Ok(TableMeta {
            id: self.id,
            size,
            smallest: self.smallest.unwrap_or_default(),
            largest,
            entries: self.entries,
            max_seq,
            clean_seq,
        })
    }
}

struct IndexEntry {
    last_key: Vec<u8>,
    offset: u64,
    len: u32,
}

/// An open table.
pub struct Table<F: Fs> {
    pub meta: TableMeta,
    name: String,
    file: F::File,
    index: Vec<IndexEntry>,
    bloom: Vec<u8>,
    stats: StatsBuckets,
    cache: Rc<BlockCache>,
    /// Sealed tables: the file key.
    key: Option<FileKey>,
}

impl<F: Fs> Table<F> {
    /// Opens and validates the table the manifest describes as `meta`.
    /// Opens and validates the table; with `master_key` it must be sealed
    /// (its key header unwraps, every unit authenticates).
    pub async fn open(
        fs: &F,
        meta: TableMeta,
        cache: Rc<BlockCache>,
        master_key: Option<&MasterKey>,
    ) -> Result<Table<F>, EngineError> {
        let name = table_name(meta.id);
        let corrupt = |offset: u64, detail: CorruptionDetail| EngineError::Corruption {
            path: name.clone(),
            offset,
            detail,
        };
        let file = fs.open(&name).await.map_err(|e| io_error(&name, e))?;
        let size = file.size().await.map_err(|e| io_error(&name, e))?;
        if size < FOOTER_BYTES as u64 || size % BLOCK_BYTES as u64 != 0 {
            return Err(corrupt(
                0,
                format!("size {size} is not a table size").into(),
            ));
        }
        let footer_at = size - FOOTER_BYTES as u64;
        let footer = file
            .read_at(footer_at, FOOTER_BYTES)
            .await
            .map_err(|e| io_error(&name, e))?;
        if le_u64(&footer, 0) != Some(MAGIC) {
            return Err(corrupt(footer_at, "bad magic: not a Dynacore table".into()));
        }
        check_crc(&footer[..60], "footer").map_err(|d| corrupt(footer_at, d))?;
        let version = le_u32(&footer, 8).unwrap_or(0);
        if version != FORMAT_VERSION {
            return Err(corrupt(
                footer_at,
                format!("unsupported format version {version}").into(),
            ));
        }
        let field = |at| le_u32(&footer, at).unwrap_or(0) as usize;
        let index_offset = le_u64(&footer, 16).unwrap_or(0);
        let (index_len, bloom_len, stats_len) = (field(24), field(28), field(32));
        let entries = le_u64(&footer, 40).unwrap_or(0);
        let max_seq = le_u64(&footer, 48).unwrap_or(0);
        let meta_len = index_len + bloom_len + stats_len;
        if index_offset + meta_len as u64 > footer_at {
            return Err(corrupt(footer_at, "footer points past the end".into()));
        }
        if entries != meta.entries || max_seq != meta.max_seq {
            return Err(corrupt(
                footer_at,
                format!(
                    "footer says {entries} entries / max seq {max_seq}, manifest {} / {}",
                    meta.entries, meta.max_seq
                )
                .into(),
            ));
        }
        let key = match master_key {
            None => None,
            Some(master) => {
                let header = file
                    .read_at(0, HEADER_BLOCK_BYTES)
                    .await
                    .map_err(|e| io_error(&name, e))?;
                Some(
                    master
                        .open_file_key(&name, &header)
                        .map_err(|_| EngineError::tampered(&name, 0, "SSTable key header"))?,
                )
            }
        };
        let blob = file
            .read_at(index_offset, meta_len)
            .await
            .map_err(|e| io_error(&name, e))?;
        if blob.len() != meta_len {
            return Err(corrupt(index_offset, "short read of table metadata".into()));
        }
        let bloom_at = index_offset + index_len as u64;
        let stats_at = bloom_at + bloom_len as u64;
        let unit = |at: u64, bytes: &[u8], what: &'static str| {
            open_unit(key.as_ref(), &name, Domain::Index, at, bytes.to_vec(), what)
        };
        let index_unit = unit(index_offset, &blob[..index_len], "SSTable index")?;
        let bloom_unit = unit(
            bloom_at,
            &blob[index_len..index_len + bloom_len],
            "SSTable bloom filter",
        )?;
        let stats_unit = unit(stats_at, &blob[index_len + bloom_len..], "SSTable stats")?;
        let index_bytes = check_crc(&index_unit, "index").map_err(|d| corrupt(index_offset, d))?;
        let bloom = check_crc(&bloom_unit, "bloom")
            .map_err(|d| corrupt(bloom_at, d))?
            .to_vec();
        let stats_bytes = check_crc(&stats_unit, "stats").map_err(|d| corrupt(stats_at, d))?;
        let index = parse_index(index_bytes, index_offset)
            .ok_or_else(|| corrupt(index_offset, "index does not decode".into()))?;
        let stats = parse_stats(stats_bytes)
            .ok_or_else(|| corrupt(stats_at, "stats do not decode".into()))?;
        Ok(Table {
            meta,
            name,
            file,
            index,
            bloom,
            stats,
            cache,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn block_count(&self) -> usize {
        self.index.len()
    }

    /// Index of the first block whose last key is >= `key`.
    fn block_for(&self, key: &[u8]) -> usize {
        self.index.partition_point(|e| e.last_key.as_slice() < key)
    }

    /// Reads data block `i` through the cache; `fill_cache = false` (compaction)
    /// uses a cached copy but does not insert, so one big merge cannot evict
    /// the request path's working set.
    pub async fn read_block(&self, i: usize, fill_cache: bool) -> Result<Rc<Block>, EngineError> {
        if let Some(block) = self.cache.get(self.meta.id, i as u32) {
            return Ok(block);
        }
        let entry = &self.index[i];
        let bytes = self
            .file
            .read_at(entry.offset, entry.len as usize)
            .await
            .map_err(|e| io_error(&self.name, e))?;
        let bytes = open_unit(
            self.key.as_ref(),
            &self.name,
            Domain::Block,
            entry.offset,
            bytes,
            "SSTable block",
        )?;
        let block = Block::parse(bytes).map_err(|detail| EngineError::Corruption {
            path: self.name.clone(),
            offset: entry.offset,
            detail,
        })?;
        let block = Rc::new(block);
        if fill_cache {
            self.cache.insert(self.meta.id, i as u32, block.clone());
        }
        Ok(block)
    }

    /// `None`: absent; `Some(None)`: tombstone here.
    pub async fn get(
        &self,
        key: &[u8],
        hash: (u64, u64),
    ) -> Result<Option<Option<Vec<u8>>>, EngineError> {
        if key < self.meta.smallest.as_slice() || key > self.meta.largest.as_slice() {
            return Ok(None);
        }
        if !bloom::may_contain(&self.bloom, hash) {
            return Ok(None);
        }
        let i = self.block_for(key);
        if i >= self.index.len() {
            return Ok(None);
        }
        let block = self.read_block(i, true).await?;
        block.get(key).map_err(|detail| EngineError::Corruption {
            path: self.name.clone(),
            offset: self.index[i].offset,
            detail: detail.into(),
        })
    }

    pub async fn block_entries(
        &self,
        i: usize,
        fill_cache: bool,
    ) -> Result<Vec<Entry>, EngineError> {
        let block = self.read_block(i, fill_cache).await?;
        block.entries().map_err(|detail| EngineError::Corruption {
            path: self.name.clone(),
            offset: self.index[i].offset,
            detail: detail.into(),
        })
    }

    /// Live entries/bytes recorded under `prefix` (approximate for prefixes
    /// longer than 4 bytes: the 4-byte bucket is counted).
    pub fn prefix_stats(&self, prefix: &[u8]) -> PrefixStats {
        let mut total = PrefixStats::default();
        for ((len, bucket), stats) in &self.stats {
            let bucket = &bucket[..*len as usize];
            let matches = if prefix.len() <= bucket.len() {
                bucket.starts_with(prefix)
            } else {
                prefix.starts_with(bucket) && bucket.len() == 4
            };
            if matches {
                total.entries += stats.entries;
                total.bytes += stats.bytes;
            }
        }
        total
    }
}

fn parse_index(bytes: &[u8], _base: u64) -> Option<Vec<IndexEntry>> {
    let (body, count) = bytes.split_last_chunk::<4>()?;
    let count = u32::from_le_bytes(*count) as usize;
    let mut out = Vec::with_capacity(count.min(body.len() / 14));
    let mut at = 0usize;
    for _ in 0..count {
        let key_len = u16::from_le_bytes(body.get(at..at + 2)?.try_into().ok()?) as usize;
        at += 2;
        let last_key = body.get(at..at + key_len)?.to_vec();
        at += key_len;
        let offset = le_u64(body, at)?;
        let len = le_u32(body, at + 8)?;
        at += 12;
        out.push(IndexEntry {
            last_key,
            offset,
            len,
        });
    }
    (at == body.len()).then_some(out)
}

type StatsBuckets = Vec<((u8, [u8; 4]), PrefixStats)>;

fn parse_stats(bytes: &[u8]) -> Option<StatsBuckets> {
    let (body, count) = bytes.split_last_chunk::<4>()?;
    let count = u32::from_le_bytes(*count) as usize;
    if body.len() != count.checked_mul(21)? {
        return None;
    }
    body.chunks_exact(21)
        .map(|c| {
            let len = c[0].min(4);
            let prefix: [u8; 4] = c[1..5].try_into().ok()?;
            Some((
                (len, prefix),
                PrefixStats {
                    entries: le_u64(c, 5)?,
                    bytes: le_u64(c, 13)?,
                },
            ))
        })
        .collect()
}

/// Iterates a table's entries within bounds, ascending or descending,
/// skipping keys under `hidden` prefixes (range tombstones newer than it).
pub struct TableIter<F: Fs> {
    table: Rc<Table<F>>,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    reverse: bool,
    hidden: Rc<Vec<Vec<u8>>>,
    fill_cache: bool,
    next_block: Option<usize>,
    entries: std::vec::IntoIter<Entry>,
    done: bool,
}

fn below(key: &[u8], lower: &Bound<Vec<u8>>) -> bool {
    match lower {
        Bound::Included(l) => key < l.as_slice(),
        Bound::Excluded(l) => key <= l.as_slice(),
        Bound::Unbounded => false,
    }
}

fn above(key: &[u8], upper: &Bound<Vec<u8>>) -> bool {
    match upper {
        Bound::Included(u) => key > u.as_slice(),
        Bound::Excluded(u) => key >= u.as_slice(),
        Bound::Unbounded => false,
    }
}

impl<F: Fs> TableIter<F> {
    pub fn new(
        table: Rc<Table<F>>,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
        hidden: Rc<Vec<Vec<u8>>>,
        fill_cache: bool,
    ) -> TableIter<F> {
        let count = table.index.len();
        let next_block = if reverse {
            match &upper {
                Bound::Included(u) | Bound::Excluded(u) => {
                    Some(table.block_for(u).min(count.saturating_sub(1)))
                }
                Bound::Unbounded => count.checked_sub(1),
            }
        } else {
            match &lower {
                Bound::Included(l) | Bound::Excluded(l) => Some(table.block_for(l)),
                Bound::Unbounded => Some(0),
            }
        }
        .filter(|&b| b < count);
        TableIter {
            table,
            lower,
            upper,
            reverse,
            hidden,
            fill_cache,
            next_block,
            entries: Vec::new().into_iter(),
            done: false,
        }
    }

    pub async fn next(&mut self) -> Result<Option<Entry>, EngineError> {
        while !self.done {
            if let Some((key, value)) = self.entries.next() {
                let (skip, stop) = if self.reverse {
                    (above(&key, &self.upper), below(&key, &self.lower))
                } else {
                    (below(&key, &self.lower), above(&key, &self.upper))
                };
                if stop {
                    self.done = true;
                    break;
                }
                if skip || self.hidden.iter().any(|p| key.starts_with(p)) {
                    continue;
                }
                return Ok(Some((key, value)));
            }
            let Some(block) = self.next_block else {
                self.done = true;
                break;
            };
            let mut entries = self.table.block_entries(block, self.fill_cache).await?;
            if self.reverse {
                entries.reverse();
                self.next_block = block.checked_sub(1);
            } else {
                self.next_block = Some(block + 1).filter(|&b| b < self.table.index.len());
            }
            self.entries = entries.into_iter();
        }
        Ok(None)
    }
}
