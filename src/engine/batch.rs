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

/// Largest key the engine stores (its formats spell key lengths as u16).
pub const MAX_KEY_BYTES: usize = u16::MAX as usize;

/// The checks `Store::write` makes of a batch's contents before applying
/// it: callers that must not fail late (the GSI outbox) check ahead.
pub fn check_batch_input<'a>(
    keys: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(), super::EngineError> {
    match keys.into_iter().find(|k| k.len() > MAX_KEY_BYTES) {
        Some(key) => Err(super::EngineError::KeyTooLarge(key.len())),
        None => Ok(()),
    }
}
