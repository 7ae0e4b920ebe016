//! Encryption at rest, the runtime's part: loading the master key from
//! `encryption_key_file`, the data directory's `ENCRYPTION` record, and
//! sealing the catalog. The engine seals WAL records, SSTable units and the
//! manifest itself (`engine::seal` has the formats and the nonce scheme).
//!
//! `ENCRYPTION` (text, beside `LAYOUT`, written before `LAYOUT` on a new
//! directory so a crash between the two never leaves a sealed directory
//! that looks plaintext):
//!
//! ```text
//! dynacore-encryption-v1
//! cipher=AES-256-GCM
//! kcv=<32 hex digits: the key check value, seal.rs>
//! ```
//!
//! Checked at start-up, before any shard opens a file: no key for an
//! encrypted directory, another key, or a key for a directory that already
//! holds plaintext data are each refused with a message saying which.
//!
//! Catalog (`catalog.json`) when sealed, byte by byte: the wrapped file key
//! (`seal::WRAPPED_BYTES`, AAD name `catalog.json`) then the JSON sealed as
//! one unit (domain Index, counter 0: every version has a fresh file key).

use std::path::Path;
use std::sync::Arc;

use super::error::RuntimeError;
use super::files::write_atomically;
use crate::engine::seal::{Domain, MasterKey, SealError, WRAPPED_BYTES};

const ENCRYPTION_FILE: &str = "ENCRYPTION";
const ENCRYPTION_MAGIC: &str = "dynacore-encryption-v1";
/// The name sealed catalog units are bound to.
const CATALOG_NAME: &str = "catalog.json";

/// Reads the master key (exactly 32 bytes) from `path`. At start-up, on
/// the main thread.
pub fn load_key(path: &Path) -> Result<Arc<MasterKey>, RuntimeError> {
    let bytes = std::fs::read(path).map_err(|source| RuntimeError::Io {
        action: "read encryption key file",
        path: path.to_path_buf(),
        source,
    })?;
    MasterKey::from_bytes(&bytes)
        .map(Arc::new)
        .map_err(|e| RuntimeError::EncryptionKey {
            path: path.to_path_buf(),
            reason: format!("{e} (`dynacore keygen FILE` writes one)"),
        })
}

/// Creates or checks `data_dir`'s `ENCRYPTION` record against `key`.
pub fn check_data_dir(data_dir: &Path, key: Option<&MasterKey>) -> Result<(), RuntimeError> {
    let path = data_dir.join(ENCRYPTION_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => check_record(data_dir, &path, &text, key),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let Some(key) = key else { return Ok(()) };
            if holds_data(data_dir) {
                return Err(RuntimeError::PlaintextWithKey {
                    data_dir: data_dir.to_path_buf(),
                });
            }
            std::fs::create_dir_all(data_dir).map_err(|source| RuntimeError::Io {
                action: "create data directory",
                path: data_dir.to_path_buf(),
                source,
            })?;
            let record = format!(
                "{ENCRYPTION_MAGIC}\ncipher=AES-256-GCM\nkcv={}\n",
                key.check_value_hex()
            );
            write_atomically(&path, record.as_bytes()).map_err(|source| RuntimeError::Io {
                action: "write",
                path,
                source,
            })
        }
        Err(source) => Err(RuntimeError::Io {
            action: "read",
            path,
            source,
        }),
    }
}

fn check_record(
    data_dir: &Path,
    path: &Path,
    text: &str,
    key: Option<&MasterKey>,
) -> Result<(), RuntimeError> {
    let recorded = text
        .starts_with(ENCRYPTION_MAGIC)
        .then(|| text.lines().find_map(|l| l.strip_prefix("kcv=")))
        .flatten()
        .map(str::trim)
        .ok_or_else(|| RuntimeError::NotAnEncryptionFile {
            path: path.to_path_buf(),
        })?;
    let Some(key) = key else {
        return Err(RuntimeError::EncryptedWithoutKey {
            data_dir: data_dir.to_path_buf(),
        });
    };
    if recorded != key.check_value_hex() {
        return Err(RuntimeError::WrongEncryptionKey {
            data_dir: data_dir.to_path_buf(),
        });
    }
    Ok(())
}

/// Whether a directory without `ENCRYPTION` already holds (plaintext) data.
fn holds_data(data_dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        name == "LAYOUT" || name == CATALOG_NAME || name.starts_with("shard-")
    })
}

/// The catalog file's bytes for `json`: sealed under a fresh file key.
pub fn seal_catalog(key: &MasterKey, json: &[u8]) -> Result<Vec<u8>, SealError> {
    let (file_key, wrapped) = key.new_file_key(CATALOG_NAME)?;
    let mut sealed = json.to_vec();
    file_key.seal(CATALOG_NAME, Domain::Index, 0, &mut sealed)?;
    let mut out = wrapped.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The JSON inside a sealed catalog file; `Tampered` if any byte changed.
pub fn open_catalog(key: &MasterKey, bytes: &[u8]) -> Result<Vec<u8>, SealError> {
    let file_key = key.open_file_key(CATALOG_NAME, bytes)?;
    let mut sealed = bytes[WRAPPED_BYTES..].to_vec();
    file_key.open(CATALOG_NAME, Domain::Index, 0, &mut sealed)?;
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> MasterKey {
        MasterKey::from_bytes(&[byte; 32]).expect("key")
    }

    fn fresh_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("dynacore-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn the_record_refuses_no_key_another_key_and_a_key_on_plaintext() {
        let dir = fresh_dir("encryption-record");
        check_data_dir(&dir, Some(&key(1))).expect("creates");
        check_data_dir(&dir, Some(&key(1))).expect("same key");
        assert!(matches!(
            check_data_dir(&dir, Some(&key(2))),
            Err(RuntimeError::WrongEncryptionKey { .. })
        ));
        assert!(matches!(
            check_data_dir(&dir, None),
            Err(RuntimeError::EncryptedWithoutKey { .. })
        ));
        let plain = fresh_dir("encryption-plaintext");
        check_data_dir(&plain, None).expect("plaintext stays plaintext");
        super::super::files::check_layout(&plain, 1).expect("layout");
        assert!(matches!(
            check_data_dir(&plain, Some(&key(1))),
            Err(RuntimeError::PlaintextWithKey { .. })
        ));
        assert!(!plain.join(ENCRYPTION_FILE).exists());
    }

    #[test]
    fn a_sealed_catalog_opens_only_intact_and_under_its_key() {
        let json = br#"{"tables":{}}"#;
        let sealed = seal_catalog(&key(1), json).expect("seal");
        assert_eq!(open_catalog(&key(1), &sealed).expect("opens"), json);
        assert!(open_catalog(&key(2), &sealed).is_err());
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(open_catalog(&key(1), &bad), Err(SealError::Tampered));
    }
}
