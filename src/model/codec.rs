//! Compact binary form of items as the engine stores them, validated on read.
//!
//! ```text
//! item   := 0xD1 (format version 1) count:varint (name:bytes value)*
//! bytes  := len:varint raw
//! value  := tag:u8 payload
//!   0 S  bytes(utf8)        1 N  bytes(canonical text)   2 B bytes
//!   3 BOOL false            4 BOOL true                 5 NULL
//!   6 M  count:varint (name:bytes value)*               7 L count:varint value*
//!   8 SS count:varint bytes*  9 NS count:varint bytes*  10 BS count:varint bytes*
//! varint := unsigned LEB128 (at most 10 bytes)
//! ```
//! Numbers are stored as their canonical text: decoding re-validates them, so a
//! corrupt record can never yield an out-of-range number.

use super::number::Number;
use super::value::{Item, Map, Value, write_json_str};

const FORMAT_V1: u8 = 0xD1;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("corrupt stored item: {0}")]
pub struct DecodeError(pub &'static str);

pub fn encode_item(item: &Item) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(FORMAT_V1);
    encode_map(&mut out, item);
    out
}

pub fn decode_item(bytes: &[u8]) -> Result<Item, DecodeError> {
    let mut reader = Reader { bytes, pos: 0 };
    if reader.u8()? != FORMAT_V1 {
        return Err(DecodeError("unknown item format version"));
    }
    let item = reader.map(0)?;
    if reader.pos != bytes.len() {
        return Err(DecodeError("trailing bytes after item"));
    }
    Ok(item)
}

/// Writes a stored item straight to DynamoDB JSON (`{"name":{"S":…},…}`)
/// without building an [`Item`], and returns its size by DynamoDB's rule
/// ([`crate::model::value::item_size`]). The output is byte for byte what
/// `write_json_map(&decode_item(bytes)?)` writes, with the same validation
/// (UTF-8, numbers re-parsed), but strings and names are copied once, into
/// `out`, instead of into a tree of owned values first.
///
/// Maps are stored in name order without duplicates (the encoder writes a
/// `BTreeMap`); a stored map that is not (corrupt or foreign bytes) is
/// answered exactly like the decoding path by decoding it. On error `out`
/// may hold a partial write; callers discard it.
pub fn write_item_json(bytes: &[u8], out: &mut Vec<u8>) -> Result<usize, DecodeError> {
    let mut reader = Reader { bytes, pos: 0 };
    if reader.u8()? != FORMAT_V1 {
        return Err(DecodeError("unknown item format version"));
    }
    let start = out.len();
    let size = match reader.map_json(0, out)? {
        Some((size, _)) => size,
        None => {
            out.truncate(start);
            let item = decode_item(bytes)?;
            crate::model::value::write_json_map(out, &item);
            return Ok(crate::model::value::item_size(&item));
        }
    };
    if reader.pos != bytes.len() {
        return Err(DecodeError("trailing bytes after item"));
    }
    Ok(size)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn encode_map(out: &mut Vec<u8>, map: &Map) {
    put_varint(out, map.len() as u64);
    for (name, value) in map {
        put_bytes(out, name.as_bytes());
        encode_value(out, value);
    }
}

fn encode_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::S(s) => {
            out.push(0);
            put_bytes(out, s.as_bytes());
        }
        Value::N(n) => {
            out.push(1);
            put_bytes(out, n.to_canonical().as_bytes());
        }
        Value::B(b) => {
            out.push(2);
            put_bytes(out, b);
        }
        Value::Bool(false) => out.push(3),
        Value::Bool(true) => out.push(4),
        Value::Null => out.push(5),
        Value::M(map) => {
            out.push(6);
            encode_map(out, map);
        }
        Value::L(list) => {
            out.push(7);
            put_varint(out, list.len() as u64);
            for v in list {
                encode_value(out, v);
            }
        }
        Value::Ss(set) => {
            out.push(8);
            put_varint(out, set.len() as u64);
            for s in set {
                put_bytes(out, s.as_bytes());
            }
        }
        Value::Ns(set) => {
            out.push(9);
            put_varint(out, set.len() as u64);
            for n in set {
                put_bytes(out, n.to_canonical().as_bytes());
            }
        }
        Value::Bs(set) => {
            out.push(10);
            put_varint(out, set.len() as u64);
            for b in set {
                put_bytes(out, b);
            }
        }
    }
}

/// `"base64"` of `b`, encoded in place in `out`.
fn base64_json(out: &mut Vec<u8>, b: &[u8]) {
    use base64::Engine;
    let engine = &base64::engine::general_purpose::STANDARD;
    out.push(b'"');
    let start = out.len();
    let len = base64::encoded_len(b.len(), true).unwrap_or(0);
    out.resize(start + len, 0);
    let written = engine.encode_slice(b, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
    out.push(b'"');
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self.bytes.get(self.pos).ok_or(DecodeError("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError("varint too long"))
    }

    /// A count, bounded by the bytes left so corrupt input cannot make us allocate wildly.
    fn count(&mut self) -> Result<usize, DecodeError> {
        let n = self.varint()?;
        if n > (self.bytes.len() - self.pos) as u64 {
            return Err(DecodeError("count exceeds record"));
        }
        Ok(n as usize)
    }

    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.count()?;
        let out = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let b = self.bytes()?;
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| DecodeError("invalid UTF-8"))
    }

    fn number(&mut self) -> Result<Number, DecodeError> {
        let b = self.bytes()?;
        let text = std::str::from_utf8(b).map_err(|_| DecodeError("invalid number text"))?;
        Number::parse(text).map_err(|_| DecodeError("invalid number"))
    }

    fn str(&mut self) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| DecodeError("invalid UTF-8"))
    }

    /// [`Reader::map`] written as JSON; returns the map's content size
    /// (names plus values) and its member count, or `None` if its names are
    /// not strictly ascending (see [`write_item_json`]).
    fn map_json(
        &mut self,
        depth: usize,
        out: &mut Vec<u8>,
    ) -> Result<Option<(usize, usize)>, DecodeError> {
        let n = self.count()?;
        let mut size = 0;
        let mut previous: Option<&str> = None;
        out.push(b'{');
        for i in 0..n {
            let name = self.str()?;
            if previous.is_some_and(|p| p >= name) {
                return Ok(None);
            }
            previous = Some(name);
            if i > 0 {
                out.push(b',');
            }
            write_json_str(out, name);
            out.push(b':');
            let Some(value) = self.value_json(depth + 1, out)? else {
                return Ok(None);
            };
            size += name.len() + value;
        }
        out.push(b'}');
        Ok(Some((size, n)))
    }

    /// [`Reader::value`] written as JSON (`{"S":…}`); returns its size by
    /// [`Value::size`].
    fn value_json(
        &mut self,
        depth: usize,
        out: &mut Vec<u8>,
    ) -> Result<Option<usize>, DecodeError> {
        if depth > 64 {
            return Err(DecodeError("nesting too deep"));
        }
        let size = match self.u8()? {
            0 => {
                out.extend_from_slice(b"{\"S\":");
                let s = self.str()?;
                write_json_str(out, s);
                s.len()
            }
            1 => {
                out.extend_from_slice(b"{\"N\":");
                self.number_json(out)?
            }
            2 => {
                out.extend_from_slice(b"{\"B\":");
                let b = self.bytes()?;
                base64_json(out, b);
                b.len()
            }
            3 => {
                out.extend_from_slice(b"{\"BOOL\":false");
                1
            }
            4 => {
                out.extend_from_slice(b"{\"BOOL\":true");
                1
            }
            5 => {
                out.extend_from_slice(b"{\"NULL\":true");
                1
            }
            6 => {
                out.extend_from_slice(b"{\"M\":");
                match self.map_json(depth, out)? {
                    // Value::size: 3 + Σ(name + value + 1).
                    Some((inner, n)) => 3 + inner + n,
                    None => return Ok(None),
                }
            }
            7 => {
                out.extend_from_slice(b"{\"L\":[");
                let n = self.count()?;
                let mut size = 3 + n;
                for i in 0..n {
                    if i > 0 {
                        out.push(b',');
                    }
                    match self.value_json(depth + 1, out)? {
                        Some(v) => size += v,
                        None => return Ok(None),
                    }
                }
                out.push(b']');
                size
            }
            8 => {
                out.extend_from_slice(b"{\"SS\":[");
                let n = self.count()?;
                let mut size = 0;
                for i in 0..n {
                    if i > 0 {
                        out.push(b',');
                    }
                    let s = self.str()?;
                    write_json_str(out, s);
                    size += s.len();
                }
                out.push(b']');
                size
            }
            9 => {
                out.extend_from_slice(b"{\"NS\":[");
                let n = self.count()?;
                let mut size = 0;
                for i in 0..n {
                    if i > 0 {
                        out.push(b',');
                    }
                    size += self.number_json(out)?;
                }
                out.push(b']');
                size
            }
            10 => {
                out.extend_from_slice(b"{\"BS\":[");
                let n = self.count()?;
                let mut size = 0;
                for i in 0..n {
                    if i > 0 {
                        out.push(b',');
                    }
                    let b = self.bytes()?;
                    base64_json(out, b);
                    size += b.len();
                }
                out.push(b']');
                size
            }
            _ => return Err(DecodeError("unknown value tag")),
        };
        out.push(b'}');
        Ok(Some(size))
    }

    /// A stored number as a JSON string of its canonical text; returns its
    /// size. Re-parsed like [`Reader::number`], so corrupt text is an error.
    fn number_json(&mut self, out: &mut Vec<u8>) -> Result<usize, DecodeError> {
        let n = self.number()?;
        out.push(b'"');
        out.extend_from_slice(n.to_canonical().as_bytes());
        out.push(b'"');
        Ok(crate::model::value::number_size(&n))
    }

    fn map(&mut self, depth: usize) -> Result<Map, DecodeError> {
        let n = self.count()?;
        let mut map = Map::new();
        for _ in 0..n {
            let name = self.string()?;
            let value = self.value(depth + 1)?;
            map.insert(name, value);
        }
        Ok(map)
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > 64 {
            return Err(DecodeError("nesting too deep"));
        }
        Ok(match self.u8()? {
            0 => Value::S(self.string()?),
            1 => Value::N(self.number()?),
            2 => Value::B(self.bytes()?.to_vec()),
            3 => Value::Bool(false),
            4 => Value::Bool(true),
            5 => Value::Null,
            6 => Value::M(self.map(depth)?),
            7 => {
                let n = self.count()?;
                let mut list = Vec::with_capacity(n);
                for _ in 0..n {
                    list.push(self.value(depth + 1)?);
                }
                Value::L(list)
            }
            8 => {
                let n = self.count()?;
                let mut set = Vec::with_capacity(n);
                for _ in 0..n {
                    set.push(self.string()?);
                }
                Value::Ss(set)
            }
            9 => {
                let n = self.count()?;
                let mut set = Vec::with_capacity(n);
                for _ in 0..n {
                    set.push(self.number()?);
                }
                Value::Ns(set)
            }
            10 => {
                let n = self.count()?;
                let mut set = Vec::with_capacity(n);
                for _ in 0..n {
                    set.push(self.bytes()?.to_vec());
                }
                Value::Bs(set)
            }
            _ => return Err(DecodeError("unknown value tag")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let mut item = Item::new();
        item.insert("s".into(), Value::S("hello".into()));
        item.insert("n".into(), Value::N(Number::parse("-12.5").expect("n")));
        item.insert("b".into(), Value::B(vec![0, 1, 255]));
        let mut inner = Map::new();
        inner.insert("x".into(), Value::L(vec![Value::Null, Value::Bool(true)]));
        item.insert("m".into(), Value::M(inner));
        item.insert("ss".into(), Value::Ss(vec!["a".into(), "b".into()]));
        item.insert("ns".into(), Value::Ns(vec![Number::parse("1").expect("n")]));
        item.insert("bs".into(), Value::Bs(vec![vec![1], vec![2]]));
        let bytes = encode_item(&item);
        assert_eq!(decode_item(&bytes), Ok(item.clone()));
        for cut in 0..bytes.len() {
            assert!(decode_item(&bytes[..cut]).is_err(), "truncated at {cut}");
            assert!(write_item_json(&bytes[..cut], &mut Vec::new()).is_err());
        }
        assert_transcodes(&bytes);
        item.insert("esc\"\n\u{1}".into(), Value::S("q\"\\\t\u{7f}é".into()));
        item.insert("empty".into(), Value::M(Map::new()));
        item.insert("l".into(), Value::L(vec![]));
        assert_transcodes(&encode_item(&item));
    }

    /// The transcoder writes what decode + write_json_map writes, with the
    /// same size.
    fn assert_transcodes(bytes: &[u8]) {
        let item = decode_item(bytes).expect("decodes");
        let mut want = Vec::new();
        crate::model::value::write_json_map(&mut want, &item);
        let mut got = b"prefix".to_vec();
        let size = write_item_json(bytes, &mut got).expect("transcodes");
        assert_eq!(&got[6..], &want[..], "{}", String::from_utf8_lossy(&got));
        assert_eq!(size, crate::model::value::item_size(&item));
    }

    #[test]
    fn unsorted_or_duplicate_names_transcode_like_decoding() {
        // Hand-built: names "b" then "a" (unsorted), and "a" twice.
        for names in [["b", "a"], ["a", "a"]] {
            let mut bytes = vec![FORMAT_V1, 2];
            for (i, n) in names.iter().enumerate() {
                put_bytes(&mut bytes, n.as_bytes());
                bytes.push(0);
                put_bytes(&mut bytes, format!("v{i}").as_bytes());
            }
            assert_transcodes(&bytes);
        }
    }
}
