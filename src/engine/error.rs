//! The engine's errors. The API layer maps every one to a 500
//! `InternalServerError` (the detail goes to the log, not to clients).

/// Engine errors. The API layer maps them to `InternalServerError`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("shard is poisoned after a failed write or sync and refuses writes until restart: {0}")]
    Poisoned(String),
    #[error("corruption in {path} at offset {offset}: {detail}")]
    Corruption {
        path: String,
        offset: u64,
        detail: CorruptionDetail,
    },
    /// ENOSPC: the write was not acknowledged; reads keep working.
    #[error("disk full writing {0}")]
    DiskFull(String),
    #[error("file {0} in the data directory is not an engine file")]
    ForeignFile(String),
    #[error("key of {0} bytes exceeds the engine limit of 65535")]
    KeyTooLarge(usize),
    #[error("invalid engine configuration: {0}")]
    InvalidConfig(String),
    #[error("the store is closed")]
    Closed,
}

/// What is wrong with corrupt bytes: a checksum that does not match
/// (typed, so callers and tests can tell bit rot from a format error), or
/// bytes that do not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorruptionDetail {
    /// The CRC32C stored beside `what` differs from the one computed over it.
    ChecksumMismatch {
        what: &'static str,
        expected: u32,
        got: u32,
    },
    /// Encryption at rest: the sealed `what` failed AES-GCM authentication
    /// (its bytes were changed, it was moved, or it was sealed under another
    /// key). Never decrypted, never served.
    Tampered { what: &'static str },
    /// Anything else, in words.
    Malformed(String),
}

impl std::fmt::Display for CorruptionDetail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CorruptionDetail::ChecksumMismatch {
                what,
                expected,
                got,
            } => write!(
                f,
                "{what} checksum mismatch: stored {expected:#010x}, computed {got:#010x}"
            ),
            CorruptionDetail::Tampered { what } => write!(
                f,
                "{what} fails authentication: tampered with, moved, or sealed under another key"
            ),
            CorruptionDetail::Malformed(detail) => f.write_str(detail),
        }
    }
}

impl From<&str> for CorruptionDetail {
    fn from(detail: &str) -> Self {
        CorruptionDetail::Malformed(detail.to_string())
    }
}

impl From<String> for CorruptionDetail {
    fn from(detail: String) -> Self {
        CorruptionDetail::Malformed(detail)
    }
}

impl EngineError {
    /// Sealed bytes of `path` at `offset` that did not open (`seal::SealError`
    /// on read): corruption, never silently accepted.
    pub fn tampered(path: &str, offset: u64, what: &'static str) -> EngineError {
        EngineError::Corruption {
            path: path.to_string(),
            offset,
            detail: CorruptionDetail::Tampered { what },
        }
    }

    /// Sealing on write failed (only the system RNG can make it fail).
    pub fn sealing(path: &str, error: crate::engine::seal::SealError) -> EngineError {
        EngineError::Io {
            path: path.to_string(),
            source: std::io::Error::other(error.to_string()),
        }
    }

    /// Whether the error is a property of the batch itself, so writing the
    /// same batch again fails the same way (a caller that retries must not
    /// retry these), rather than of the store's state (I/O, a poisoned or
    /// closed store, a full disk), which a later attempt or a restart can
    /// change. Exhaustive on purpose: a new variant must choose.
    pub fn rejects_input(&self) -> bool {
        match self {
            EngineError::KeyTooLarge(_) => true,
            EngineError::Io { .. }
            | EngineError::Poisoned(_)
            | EngineError::Corruption { .. }
            | EngineError::DiskFull(_)
            | EngineError::ForeignFile(_)
            | EngineError::InvalidConfig(_)
            | EngineError::Closed => false,
        }
    }
}
