//! The records transactions keep in a shard's store (system keys, table
//! id 0, never a table's):
//!
//! ```text
//! prepare  := 00 00 00 00 ‖ 'P' ‖ coordinator:u32 BE ‖ seq:u64 BE ‖ i:u32 BE
//!             → the GSI outbox record format (shard::outbox): version ‖
//!               created_ms ‖ count (1) ‖ (key, put value | delete)
//!             the participant's i-th base write (one entry per write, so
//!             no value grows past an item's size), all durable before its
//!             yes vote
//! decision := 00 00 00 00 ‖ 'D' ‖ seq:u64 BE
//!             → version:u8 (1) ‖ count:u32 LE ‖ participant:u32 LE*
//!             on the coordinator: the commit decision, durable before any
//!             participant commits; deleted once every participant has
//! token    := 00 00 00 00 ‖ 'K' ‖ token (UTF-8)
//!             → version:u8 (1) ‖ completed_ms:u64 LE ‖ params:u128 LE
//!             a committed ClientRequestToken, on the shard owning it
//! ```
//! A transaction with no decision record is aborted (presumed abort): the
//! coordinator writes one only after every participant voted yes.

use crate::api::messages::TxnId;
use crate::api::shard::outbox::{IndexOp, decode_record, encode_record};

pub const PREPARE_PREFIX: [u8; 5] = [0, 0, 0, 0, b'P'];
pub const DECISION_PREFIX: [u8; 5] = [0, 0, 0, 0, b'D'];
pub const TOKEN_PREFIX: [u8; 5] = [0, 0, 0, 0, b'K'];
const VERSION: u8 = 1;

pub fn prepare_key(txn: TxnId) -> Vec<u8> {
    let mut key = PREPARE_PREFIX.to_vec();
    key.extend_from_slice(&txn.coordinator.to_be_bytes());
    key.extend_from_slice(&txn.seq.to_be_bytes());
    key
}

/// The key of a prepared transaction's `i`-th write.
pub fn prepare_entry_key(txn: TxnId, i: usize) -> Vec<u8> {
    let mut key = prepare_key(txn);
    key.extend_from_slice(&(i as u32).to_be_bytes());
    key
}

/// The transaction a prepare entry belongs to.
pub fn prepare_txn(key: &[u8]) -> Option<TxnId> {
    let rest = key.strip_prefix(&PREPARE_PREFIX[..])?;
    if rest.len() != 16 {
        return None;
    }
    Some(TxnId {
        coordinator: u32::from_be_bytes(rest[..4].try_into().ok()?),
        seq: u64::from_be_bytes(rest[4..12].try_into().ok()?),
    })
}

pub fn encode_prepare(created_ms: u64, writes: &[IndexOp]) -> Vec<u8> {
    encode_record(created_ms, writes)
}

pub fn decode_prepare(bytes: &[u8]) -> Option<Vec<IndexOp>> {
    decode_record(bytes).map(|(_, ops)| ops)
}

pub fn decision_key(seq: u64) -> Vec<u8> {
    let mut key = DECISION_PREFIX.to_vec();
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

pub fn decision_seq(key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(&DECISION_PREFIX[..])?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

pub fn encode_decision(participants: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + 4 * participants.len());
    out.push(VERSION);
    out.extend_from_slice(&(participants.len() as u32).to_le_bytes());
    for p in participants {
        out.extend_from_slice(&p.to_le_bytes());
    }
    out
}

pub fn decode_decision(bytes: &[u8]) -> Option<Vec<u32>> {
    let (&version, rest) = bytes.split_first()?;
    if version != VERSION || rest.len() < 4 {
        return None;
    }
    let count = u32::from_le_bytes(rest[..4].try_into().ok()?) as usize;
    let ids = &rest[4..];
    if ids.len() != count * 4 {
        return None;
    }
    ids.chunks_exact(4)
        .map(|c| c.try_into().ok().map(u32::from_le_bytes))
        .collect()
}

pub fn token_key(token: &str) -> Vec<u8> {
    let mut key = TOKEN_PREFIX.to_vec();
    key.extend_from_slice(token.as_bytes());
    key
}

pub fn token_of(key: &[u8]) -> Option<&str> {
    std::str::from_utf8(key.strip_prefix(&TOKEN_PREFIX[..])?).ok()
}

pub fn encode_token(completed_ms: u64, params: u128) -> Vec<u8> {
    let mut out = Vec::with_capacity(25);
    out.push(VERSION);
    out.extend_from_slice(&completed_ms.to_le_bytes());
    out.extend_from_slice(&params.to_le_bytes());
    out
}

/// (completed_ms, params) of a token record.
pub fn decode_token(bytes: &[u8]) -> Option<(u64, u128)> {
    let (&version, rest) = bytes.split_first()?;
    if version != VERSION || rest.len() != 24 {
        return None;
    }
    Some((
        u64::from_le_bytes(rest[..8].try_into().ok()?),
        u128::from_le_bytes(rest[8..].try_into().ok()?),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let txn = TxnId {
            coordinator: 3,
            seq: 77,
        };
        assert_eq!(prepare_txn(&prepare_entry_key(txn, 3)), Some(txn));
        assert_eq!(prepare_txn(&prepare_key(txn)), None);
        assert_eq!(decision_seq(&decision_key(9)), Some(9));
        assert_eq!(
            decode_decision(&encode_decision(&[0, 1, 5])),
            Some(vec![0, 1, 5])
        );
        assert_eq!(decode_decision(&encode_decision(&[1])[..6]), None);
        assert_eq!(token_of(&token_key("abc")), Some("abc"));
        assert_eq!(
            decode_token(&encode_token(5, 1 << 100)),
            Some((5, 1 << 100))
        );
        let ops: Vec<IndexOp> = vec![(b"k".to_vec(), Some(b"v".to_vec())), (b"d".to_vec(), None)];
        assert_eq!(decode_prepare(&encode_prepare(1, &ops)), Some(ops));
        // Prepare records of one coordinator sort by number.
        let a = prepare_entry_key(
            TxnId {
                coordinator: 1,
                seq: 255,
            },
            9,
        );
        let b = prepare_entry_key(
            TxnId {
                coordinator: 1,
                seq: 256,
            },
            0,
        );
        assert!(a < b);
    }
}
