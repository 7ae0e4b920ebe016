//! The engine's request and report types: a batch of mutations applied
//! atomically, and the approximate size of a key prefix.

/// One mutation in a batch: `Some(value)` puts, `None` deletes.
pub type WriteBatch = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Approximate size of everything stored under a key prefix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrefixStats {
    pub entries: u64,
    pub bytes: u64,
}
