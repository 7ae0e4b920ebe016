//! Sealing for encryption at rest: AES-256-GCM (ring; AES-NI/PCLMULQDQ
//! or ARMv8 crypto when the CPU has them) under per-file data keys wrapped
//! by the master key. This module owns the primitives and their on-disk
//! layout; the formats that use them say where their units sit.
//!
//! # What is sealed, and where (`encryption_key_file` set)
//! - **WAL segments** (`wal/mod.rs`): block 0 (4 KiB) holds the wrapped
//!   file key; records start at 4096. A record's header (lengths, seq,
//!   segment id, CRCs) stays plaintext so torn-tail detection works without
//!   the key; its body is sealed (domain Record, counter = seq) and the
//!   body CRC covers the sealed bytes. A recycled segment is re-keyed when
//!   prepared (its name changes, and the header is bound to the name).
//! - **SSTables** (`sst/table.rs`): block 0 holds the wrapped key; each
//!   data block is sealed whole, CRC included (ciphertext ‖ tag, domain
//!   Block, counter = file offset); index, bloom and stats each sealed
//!   (domain Index, counter = offset); the footer stays plaintext (it only
//!   locates the units; every unit it points at is authenticated, and its
//!   counts are checked against the sealed manifest).
//! - **Manifest** (`manifest.rs`): rewritten whole, so each version is one
//!   unit under its own fresh file key (counter 0).
//! - **Catalog** (`runtime/encryption.rs`): likewise one unit per version.
//! - The `ENCRYPTION` record beside `LAYOUT` holds the key check value,
//!   checked at start-up: no key, another key, or a key on a plaintext
//!   directory is refused before any file is read.
//! - A unit that fails to open becomes `EngineError::Corruption { path,
//!   offset, detail: Tampered }` (catalog: `RuntimeError::CatalogTampered`).
//! - **Backups and PITR bases** (`api/backup/format.rs`): data files and
//!   `backup.json`, with these primitives.
//!
//! Not sealed: exports (`api/transfer`: files for interchange with AWS),
//! the `LAYOUT`/`ENCRYPTION` records, file names and sizes.
//!
//! # Keys
//! - **Master key**: 32 random bytes in a file of exactly 32 bytes
//!   (`dynacore keygen FILE` writes one, mode 0600, refusing to overwrite).
//!   Never written to the data directory.
//! - **Key check value** (KCV): the first 16 bytes of
//!   HMAC-SHA256(master, `"dynacore key check v1"`). Stored in the data
//!   directory so that opening it with another key (or none) refuses with a
//!   clear message before anything is read; it reveals nothing usable about
//!   the key (HMAC is a PRF).
//! - **File key**: 32 random bytes per file (per WAL segment, SSTable,
//!   manifest, catalog version), generated when the file is created and
//!   stored in the file's header wrapped by the master key.
//!
//! # Wrapped file key (the file header's [`WRAPPED_BYTES`] bytes), byte by byte
//! ```text
//!  0..8    magic "DYNSEAL1"
//!  8..20   wrap nonce: 12 random bytes (SystemRandom)
//! 20..52   file key, AES-256-GCM-encrypted under the master key
//! 52..68   GCM tag; AAD = magic ‖ the file's name (so a header copied onto
//!          another file does not open)
//! ```
//! Random 96-bit wrap nonces: the master key wraps one key per file, far
//! below the 2^32 random-nonce bound of GCM.
//!
//! # Sealed unit (a block or a record), byte by byte
//! ```text
//!  0..n     ciphertext (n = plaintext length)
//!  n..n+16  GCM tag
//! ```
//! Nonce (not stored, 12 bytes): `counter` u64 LE ‖ `domain` u32 LE, where
//! the caller names a counter it never reuses under one file key: an
//! SSTable unit's file offset (written once: SSTables are immutable), a
//! WAL record's sequence number (unique for the life of the store; a
//! rewritten tail block re-sends the bytes already sealed, and a group
//! retried after ENOSPC re-seals the *same* records under the same numbers,
//! i.e. the same plaintext, which GCM tolerates), 0 for a manifest or
//! catalog version (each has its own key).
//! `domain` separates kinds of unit sharing one file key (0 blocks, 1
//! records, 2 index/footer). A counter is never reused because each file
//! has its own random key: two files can both seal counter 0.
//! AAD: the file name and `counter`, so a block moved to another offset or
//! file fails to open. Tampering with any byte of ciphertext, tag, nonce
//! inputs or AAD is detected ([`SealError::Tampered`]), and the caller
//! reports it as corruption with its file and offset.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

pub const KEY_BYTES: usize = 32;
pub const TAG_BYTES: usize = 16;
pub const KCV_BYTES: usize = 16;
const MAGIC: &[u8; 8] = b"DYNSEAL1";
const WRAP_NONCE_BYTES: usize = 12;
/// Size of a wrapped file key (the header of a sealed file).
pub const WRAPPED_BYTES: usize = 8 + WRAP_NONCE_BYTES + KEY_BYTES + TAG_BYTES;

/// Why sealing or opening failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The key file is not exactly 32 bytes.
    #[error("an encryption key file must hold exactly 32 bytes, this one holds {0}")]
    KeyLength(usize),
    /// Authentication failed: the bytes, their position or the key differ
    /// from what was sealed.
    #[error("sealed data failed authentication (tampered, moved, or another key)")]
    Tampered,
    /// Shorter than a tag or a header.
    #[error("sealed data truncated: {0} bytes")]
    Truncated(usize),
    #[error("not a sealed file header (bad magic)")]
    BadMagic,
    #[error("the system random number generator failed")]
    Random,
}

/// Bytes reserved at the start of a sealed WAL segment or SSTable for its
/// wrapped file key: one direct-I/O block, so the units after it keep
/// their alignment.
pub const HEADER_BLOCK_BYTES: usize = 4096;

/// The master key (kept in memory only; never written to the data dir).
pub struct MasterKey {
    key: LessSafeKey,
    kcv: [u8; KCV_BYTES],
}

impl std::fmt::Debug for MasterKey {
    // Never the key; the check value identifies it without revealing it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey(kcv {})", self.check_value_hex())
    }
}

impl MasterKey {
    /// The key from a key file's contents (exactly 32 bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<MasterKey, SealError> {
        if bytes.len() != KEY_BYTES {
            return Err(SealError::KeyLength(bytes.len()));
        }
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::Tampered)?;
        let mac_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, bytes);
        let tag = ring::hmac::sign(&mac_key, b"dynacore key check v1");
        let mut kcv = [0u8; KCV_BYTES];
        kcv.copy_from_slice(&tag.as_ref()[..KCV_BYTES]);
        Ok(MasterKey {
            key: LessSafeKey::new(unbound),
            kcv,
        })
    }

    /// 32 fresh random bytes: the contents of a new key file.
    pub fn generate() -> Result<[u8; KEY_BYTES], SealError> {
        let mut bytes = [0u8; KEY_BYTES];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| SealError::Random)?;
        Ok(bytes)
    }

    /// The key check value recorded in an encrypted data directory.
    pub fn check_value(&self) -> [u8; KCV_BYTES] {
        self.kcv
    }

    /// The key check value as 32 lowercase hex digits (the `ENCRYPTION`
    /// file's form).
    pub fn check_value_hex(&self) -> String {
        self.kcv.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A new file key for `file` and its header block: the wrapped key
    /// followed by zeros up to [`HEADER_BLOCK_BYTES`].
    pub fn new_header_block(&self, file: &str) -> Result<(FileKey, Vec<u8>), SealError> {
        let (key, wrapped) = self.new_file_key(file)?;
        let mut block = vec![0u8; HEADER_BLOCK_BYTES];
        block[..WRAPPED_BYTES].copy_from_slice(&wrapped);
        Ok((key, block))
    }

    /// A new random file key for `file`, and its wrapped form for the
    /// file's header.
    pub fn new_file_key(&self, file: &str) -> Result<(FileKey, [u8; WRAPPED_BYTES]), SealError> {
        let rng = SystemRandom::new();
        let mut key = [0u8; KEY_BYTES];
        rng.fill(&mut key).map_err(|_| SealError::Random)?;
        let mut nonce = [0u8; WRAP_NONCE_BYTES];
        rng.fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut wrapped = [0u8; WRAPPED_BYTES];
        wrapped[..8].copy_from_slice(MAGIC);
        wrapped[8..20].copy_from_slice(&nonce);
        let mut body = key;
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(wrap_aad(file)),
                &mut body,
            )
            .map_err(|_| SealError::Tampered)?;
        wrapped[20..52].copy_from_slice(&body);
        wrapped[52..].copy_from_slice(tag.as_ref());
        Ok((FileKey::new(&key)?, wrapped))
    }

    /// Unwraps the file key in `header` (the first [`WRAPPED_BYTES`] bytes
    /// of sealed file `file`).
    pub fn open_file_key(&self, file: &str, header: &[u8]) -> Result<FileKey, SealError> {
        if header.len() < WRAPPED_BYTES {
            return Err(SealError::Truncated(header.len()));
        }
        if &header[..8] != MAGIC {
            return Err(SealError::BadMagic);
        }
        let mut nonce = [0u8; WRAP_NONCE_BYTES];
        nonce.copy_from_slice(&header[8..20]);
        let mut sealed = [0u8; KEY_BYTES + TAG_BYTES];
        sealed.copy_from_slice(&header[20..WRAPPED_BYTES]);
        let key = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(wrap_aad(file)),
                &mut sealed,
            )
            .map_err(|_| SealError::Tampered)?;
        FileKey::new(key)
    }
}

fn wrap_aad(file: &str) -> Vec<u8> {
    let mut aad = MAGIC.to_vec();
    aad.extend_from_slice(file.as_bytes());
    aad
}

/// What a unit is, in the nonce (units of one file never share a nonce).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Domain {
    Block = 0,
    Record = 1,
    Index = 2,
}

/// One file's data key.
pub struct FileKey {
    key: LessSafeKey,
}

impl FileKey {
    fn new(bytes: &[u8]) -> Result<FileKey, SealError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::Tampered)?;
        Ok(FileKey {
            key: LessSafeKey::new(unbound),
        })
    }

    /// Encrypts `data` in place and appends the tag ([`TAG_BYTES`] more).
    /// `counter` must never repeat for another plaintext under this key
    /// (module doc: the nonce scheme).
    pub fn seal(
        &self,
        file: &str,
        domain: Domain,
        counter: u64,
        data: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        let tag = self
            .key
            .seal_in_place_separate_tag(
                nonce(domain, counter),
                Aad::from(unit_aad(file, counter)),
                data,
            )
            .map_err(|_| SealError::Tampered)?;
        data.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Authenticates and decrypts `sealed` in place; on success `sealed`
    /// holds the plaintext (the tag removed).
    pub fn open(
        &self,
        file: &str,
        domain: Domain,
        counter: u64,
        sealed: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        if sealed.len() < TAG_BYTES {
            return Err(SealError::Truncated(sealed.len()));
        }
        let len = self
            .key
            .open_in_place(
                nonce(domain, counter),
                Aad::from(unit_aad(file, counter)),
                sealed,
            )
            .map_err(|_| SealError::Tampered)?
            .len();
        sealed.truncate(len);
        Ok(())
    }
}

fn nonce(domain: Domain, counter: u64) -> Nonce {
    let mut bytes = [0u8; 12];
    bytes[..8].copy_from_slice(&counter.to_le_bytes());
    bytes[8..].copy_from_slice(&(domain as u32).to_le_bytes());
    Nonce::assume_unique_for_key(bytes)
}

fn unit_aad(file: &str, counter: u64) -> Vec<u8> {
    let mut aad = Vec::with_capacity(file.len() + 8);
    aad.extend_from_slice(file.as_bytes());
    aad.extend_from_slice(&counter.to_le_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> MasterKey {
        MasterKey::from_bytes(&MasterKey::generate().expect("random")).expect("key")
    }

    #[test]
    fn round_trip_and_every_flipped_bit_is_detected() {
        let master = master();
        let (key, header) = master.new_file_key("000001.sst").expect("file key");
        let plain = b"a block of an sstable".to_vec();
        let mut sealed = plain.clone();
        key.seal("000001.sst", Domain::Block, 4096, &mut sealed)
            .expect("seal");
        assert_eq!(sealed.len(), plain.len() + TAG_BYTES);
        assert_ne!(&sealed[..plain.len()], &plain[..]);
        let reopened = master.open_file_key("000001.sst", &header).expect("unwrap");
        let mut opened = sealed.clone();
        reopened
            .open("000001.sst", Domain::Block, 4096, &mut opened)
            .expect("open");
        assert_eq!(opened, plain);
        for bit in 0..sealed.len() * 8 {
            let mut bad = sealed.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                reopened.open("000001.sst", Domain::Block, 4096, &mut bad),
                Err(SealError::Tampered),
                "bit {bit}"
            );
        }
    }

    #[test]
    fn a_unit_moved_to_another_offset_file_or_domain_does_not_open() {
        let master = master();
        let (key, _) = master.new_file_key("a").expect("file key");
        let mut sealed = b"record".to_vec();
        key.seal("a", Domain::Record, 7, &mut sealed).expect("seal");
        for (file, domain, counter) in [
            ("a", Domain::Record, 8),
            ("b", Domain::Record, 7),
            ("a", Domain::Block, 7),
        ] {
            let mut moved = sealed.clone();
            assert_eq!(
                key.open(file, domain, counter, &mut moved),
                Err(SealError::Tampered)
            );
        }
    }

    #[test]
    fn another_master_key_or_file_name_refuses_the_header() {
        let (a, b) = (master(), master());
        assert_ne!(a.check_value(), b.check_value());
        let (_, header) = a.new_file_key("wal-1").expect("file key");
        assert!(matches!(
            b.open_file_key("wal-1", &header),
            Err(SealError::Tampered)
        ));
        assert!(matches!(
            a.open_file_key("wal-2", &header),
            Err(SealError::Tampered)
        ));
        let mut bad = header;
        bad[0] ^= 1;
        assert!(matches!(
            a.open_file_key("wal-1", &bad),
            Err(SealError::BadMagic)
        ));
        assert!(matches!(
            MasterKey::from_bytes(&[0; 31]),
            Err(SealError::KeyLength(31))
        ));
    }

    #[test]
    fn the_key_check_value_is_stable_for_a_key() {
        let bytes = [7u8; KEY_BYTES];
        let (a, b) = (
            MasterKey::from_bytes(&bytes).expect("key"),
            MasterKey::from_bytes(&bytes).expect("key"),
        );
        assert_eq!(a.check_value(), b.check_value());
    }
}
