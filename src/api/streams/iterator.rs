//! Shard iterators: opaque tokens naming (stream, shard, epoch, position,
//! expiry), signed so a client cannot forge or edit one.
//!
//! ```text
//! token   := base64url-nopad(payload ‖ mac)                     (72 chars)
//! payload := version:u8 (1) ‖ table_id:u32 LE ‖ label_ms:u64 LE
//!            ‖ shard:u32 LE ‖ epoch:u32 LE ‖ wal_seq:u64 LE ‖ index:u16 LE
//!            ‖ expires_ms:u64 LE                                 (39 bytes)
//! mac     := HMAC-SHA256(stream's iterator_key, payload)[..16]
//! ```
//! The key is drawn from the OS when the stream is created
//! (`table::options::new_stream`) and kept in the
//! catalog, so tokens survive a restart and differ per stream. Decoding is
//! two steps: [`peek`] reads the stream a token claims (no trust), the
//! caller finds that stream's key, and [`verify`] checks the MAC; only a
//! verified token is used.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};

use crate::api::shard::streams::{Position, StreamKey};

const VERSION: u8 = 1;
const PAYLOAD_LEN: usize = 39;
const MAC_LEN: usize = 16;
/// Longest ShardIterator DynamoDB accepts.
pub const TOKEN_LEN_MAX: usize = 2048;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// What a shard iterator names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardIterator {
    pub stream: StreamKey,
    pub shard: u32,
    pub epoch: u32,
    /// The first record it reads is the first at or after this one.
    pub position: Position,
    pub expires_ms: u64,
}

impl ShardIterator {
    fn payload(&self) -> [u8; PAYLOAD_LEN] {
        let mut out = [0u8; PAYLOAD_LEN];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            out[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(&[VERSION]);
        put(&self.stream.0.to_le_bytes());
        put(&self.stream.1.to_le_bytes());
        put(&self.shard.to_le_bytes());
        put(&self.epoch.to_le_bytes());
        put(&self.position.0.to_le_bytes());
        put(&self.position.1.to_le_bytes());
        put(&self.expires_ms.to_le_bytes());
        out
    }

    pub fn encode(&self, key: &[u8; 16]) -> String {
        let payload = self.payload();
        let mut bytes = payload.to_vec();
        bytes.extend_from_slice(&mac(key, &payload)[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }
}

fn mac(key: &[u8; 16], payload: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: this cannot fail.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return vec![0; 32];
    };
    mac.update(payload);
    mac.finalize().into_bytes().to_vec()
}

/// A token decoded but not yet verified.
pub struct Unverified {
    pub claimed: ShardIterator,
    payload: [u8; PAYLOAD_LEN],
    tag: [u8; MAC_LEN],
}

/// Reads a token's claims; None if it is not a token of this format.
pub fn peek(token: &str) -> Option<Unverified> {
    if token.len() > TOKEN_LEN_MAX {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    if bytes.len() != PAYLOAD_LEN + MAC_LEN || bytes[0] != VERSION {
        return None;
    }
    let payload: [u8; PAYLOAD_LEN] = bytes[..PAYLOAD_LEN].try_into().ok()?;
    let tag: [u8; MAC_LEN] = bytes[PAYLOAD_LEN..].try_into().ok()?;
    let u32_at = |i: usize| {
        payload
            .get(i..i + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    };
    let u64_at = |i: usize| {
        payload
            .get(i..i + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    };
    let index = payload
        .get(29..31)
        .and_then(|b| b.try_into().ok())
        .map(u16::from_le_bytes)?;
    let claimed = ShardIterator {
        stream: (u32_at(1)?, u64_at(5)?),
        shard: u32_at(13)?,
        epoch: u32_at(17)?,
        position: (u64_at(21)?, index),
        expires_ms: u64_at(31)?,
    };
    Some(Unverified {
        claimed,
        payload,
        tag,
    })
}

impl Unverified {
    /// The iterator, if `key` signed it.
    pub fn verify(self, key: &[u8; 16]) -> Option<ShardIterator> {
        let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
            return None;
        };
        mac.update(&self.payload);
        mac.verify_truncated_left(&self.tag)
            .ok()
            .map(|()| self.claimed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_tampering() {
        let it = ShardIterator {
            stream: (3, 1_700_000_000_000),
            shard: 1,
            epoch: 9,
            position: (77, 4),
            expires_ms: 1_700_000_900_000,
        };
        let key = [5u8; 16];
        let token = it.encode(&key);
        assert_eq!(peek(&token).and_then(|u| u.verify(&key)), Some(it));
        assert_eq!(peek(&token).and_then(|u| u.verify(&[6u8; 16])), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
        bytes[22] ^= 1;
        let forged = URL_SAFE_NO_PAD.encode(&bytes);
        assert_eq!(peek(&forged).and_then(|u| u.verify(&key)), None);
        for bad in ["", "x", "!!!!", &token[..token.len() - 1]] {
            assert!(peek(bad).and_then(|u| u.verify(&key)).is_none(), "{bad}");
        }
    }
}
