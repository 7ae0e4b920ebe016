//! Order-preserving storage keys.
//!
//! ```text
//! key := table_id:u32 BE ‖ hash:u64 BE ‖ enc(partition key) ‖ enc_last(sort key)?
//! ```
//! Keys sort by (table, placement hash, partition key, sort key): one global
//! order for Scan pagination and parallel-scan segments, and a partition's
//! items are contiguous and ordered by sort key as DynamoDB orders them.
//!
//! - `enc` must be prefix-free (the sort key follows it): S and B escape 0x00
//!   as 0x00 0xFF and end with 0x00 0x00; N ends with its own terminator.
//! - `enc_last` (the sort key) is S/B raw bytes — bytewise order is DynamoDB's
//!   order for both — and N in the number encoding.
//! - Numbers: a class byte (0x01 negative, 0x02 zero, 0x03 positive), then
//!   for positives the biased exponent as u16 BE and digits as d+1, ended by
//!   0x00; negatives invert: complemented exponent, digits as 10-d, ended by
//!   0xFF, so that larger magnitudes sort first.

use std::ops::Bound;

use super::number::Number;
use super::value::Value;

pub const TABLE_PREFIX_LEN: usize = 4;
pub const PARTITION_PREFIX_LEN: usize = 12;

/// The 4-byte prefix under which all of a table's items live.
pub fn table_prefix(table_id: u32) -> [u8; 4] {
    table_id.to_be_bytes()
}

/// Bytes of a key attribute as the placement hash sees them (see `routing`).
pub fn placement_bytes(value: &Value) -> Option<(u8, Vec<u8>)> {
    match value {
        Value::S(s) => Some((b'S', s.as_bytes().to_vec())),
        Value::N(n) => Some((b'N', n.to_canonical().into_bytes())),
        Value::B(b) => Some((b'B', b.clone())),
        _ => None,
    }
}

/// Encodes (table, hash, partition key) — the prefix shared by a partition.
pub fn partition_prefix(table_id: u32, hash: u64, pk: &Value) -> Vec<u8> {
    // Room for the header, the value and its terminator, and a short sort
    // key, so the common key is one allocation.
    let value_len = match pk {
        Value::S(s) => s.len(),
        Value::B(b) => b.len(),
        _ => 24,
    };
    let mut out = Vec::with_capacity(12 + value_len + 2 + 32);
    out.extend_from_slice(&table_id.to_be_bytes());
    out.extend_from_slice(&hash.to_be_bytes());
    match pk {
        Value::S(s) => encode_escaped(&mut out, s.as_bytes()),
        Value::B(b) => encode_escaped(&mut out, b),
        Value::N(n) => encode_number(&mut out, n),
        // Key values are validated as S/N/B before they reach here.
        _ => debug_assert!(false, "partition key of type {}", pk.type_name()),
    }
    out
}

/// Appends a key value in the prefix-free, order-preserving encoding
/// (`enc` above): index keys chain several of these.
pub fn push_component(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::S(s) => encode_escaped(out, s.as_bytes()),
        Value::B(b) => encode_escaped(out, b),
        Value::N(n) => encode_number(out, n),
        _ => debug_assert!(false, "key component of type {}", value.type_name()),
    }
}

/// Appends the sort key's encoding (the last key component).
pub fn push_sort_key(out: &mut Vec<u8>, sk: &Value) {
    match sk {
        Value::S(s) => out.extend_from_slice(s.as_bytes()),
        Value::B(b) => out.extend_from_slice(b),
        Value::N(n) => encode_number(out, n),
        _ => debug_assert!(false, "sort key of type {}", sk.type_name()),
    }
}

/// The full storage key of an item.
pub fn item_key(table_id: u32, hash: u64, pk: &Value, sk: Option<&Value>) -> Vec<u8> {
    let mut out = partition_prefix(table_id, hash, pk);
    if let Some(sk) = sk {
        push_sort_key(&mut out, sk);
    }
    out
}

/// S/B bytes, prefix-free: 0x00 escaped as 0x00 0xFF, ended by 0x00 0x00.
pub fn encode_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

pub fn encode_number(out: &mut Vec<u8>, n: &Number) {
    if n.is_zero() {
        out.push(0x02);
        return;
    }
    // Exponents lie in [-129, 126]; bias keeps them positive.
    let biased = (n.exponent() + 1024) as u16;
    if n.is_negative() {
        out.push(0x01);
        out.extend_from_slice(&(!biased).to_be_bytes());
        out.extend(n.digits().iter().map(|&d| 10 - d));
        out.push(0xFF);
    } else {
        out.push(0x03);
        out.extend_from_slice(&biased.to_be_bytes());
        out.extend(n.digits().iter().map(|&d| d + 1));
        out.push(0x00);
    }
}

// Bounds over encoded keys (Query/Scan pages, prefix walks).

/// The smallest key greater than every key starting with `prefix`
/// (Unbounded if there is none).
pub fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last != 0xFF {
            end.push(last + 1);
            return Bound::Excluded(end);
        }
    }
    Bound::Unbounded
}

/// The tighter of two lower bounds.
pub fn max_lower(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    use Bound::*;
    match (&a, &b) {
        (Unbounded, _) => b,
        (_, Unbounded) => a,
        (Included(x) | Excluded(x), Included(y) | Excluded(y)) => {
            if x > y || (x == y && matches!(a, Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

/// The tighter of two upper bounds.
pub fn min_upper(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    use Bound::*;
    match (&a, &b) {
        (Unbounded, _) => b,
        (_, Unbounded) => a,
        (Included(x) | Excluded(x), Included(y) | Excluded(y)) => {
            if x < y || (x == y && matches!(a, Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_encoding_preserves_order() {
        let texts = [
            "-1e100", "-100", "-10", "-9.99", "-2.5", "-2", "-1.5", "-1", "-0.5", "-0.001", "0",
            "1e-100", "0.001", "0.5", "1", "1.5", "2", "2.5", "9.99", "10", "100", "1e100",
        ];
        let encoded: Vec<Vec<u8>> = texts
            .iter()
            .map(|t| {
                let mut out = Vec::new();
                encode_number(&mut out, &Number::parse(t).expect("number"));
                out
            })
            .collect();
        for (i, w) in encoded.windows(2).enumerate() {
            assert!(w[0] < w[1], "{} < {}", texts[i], texts[i + 1]);
        }
    }

    #[test]
    fn partition_encoding_is_prefix_free() {
        let a = partition_prefix(1, 7, &Value::S("a".into()));
        let ab = partition_prefix(1, 7, &Value::S("a\0b".into()));
        assert!(!ab.starts_with(&a));
        assert!(!a.starts_with(&ab));
    }
}
