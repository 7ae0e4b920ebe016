//! Reading request JSON: parsing with simd-json behind a nesting guard, and
//! typed field access that answers wrongly typed members with
//! `SerializationException`, as DynamoDB's JSON reader does.

use simd_json::BorrowedValue as Json;
use simd_json::StaticNode;
use simd_json::borrowed::Object;

use super::error::ApiError;
use super::shape::{self, Shape};

/// Bracket depth past which a body is rejected before it is parsed, so a
/// pathological body can neither overflow a stack nor waste time. Deeper than
/// any valid request (32 document levels inside a few levels of request).
const JSON_DEPTH_MAX: usize = 96;

/// Bodies up to this size leave their parse buffers and scratch copies for
/// the next request to reuse; larger ones give them back.
const REUSE_BYTES_MAX: usize = 64 * 1024;
/// Scratch copies kept for reuse per thread (one per request in flight is
/// enough; more in flight allocate).
const SCRATCH_KEPT_MAX: usize = 32;

thread_local! {
    // simd-json's working buffers (string buffer, structural indexes, input
    // copy, stack): four allocations per parse unless reused. The parse is
    // synchronous and its value borrows only the input, so one set per
    // thread serves every request on the shard.
    static PARSE_BUFFERS: std::cell::RefCell<Option<simd_json::Buffers>> =
        const { std::cell::RefCell::new(None) };
    static SCRATCH: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A copy of a request body to parse in place (simd-json rewrites its
/// input), so the original bytes stay intact for forwarding. Its memory is
/// reused from request to request; at most [`SCRATCH_KEPT_MAX`] copies of
/// at most [`REUSE_BYTES_MAX`] each are kept per thread.
pub struct Scratch(Vec<u8>);

impl Scratch {
    pub fn copy_of(body: &[u8]) -> Scratch {
        let mut buf = SCRATCH.with(|s| s.borrow_mut().pop()).unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(body);
        Scratch(buf)
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.0);
        if buf.capacity() <= REUSE_BYTES_MAX {
            SCRATCH.with(|s| {
                let mut kept = s.borrow_mut();
                if kept.len() < SCRATCH_KEPT_MAX {
                    kept.push(buf);
                }
            });
        }
    }
}

/// Parses a request body. An empty body reads as `{}`.
pub fn parse_body(body: &mut [u8]) -> Result<Json<'_>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Json::Object(Box::default()));
    }
    check_depth(body)?;
    let len = body.len();
    let json = PARSE_BUFFERS
        .with(|cell| {
            let mut kept = cell.borrow_mut();
            let buffers = kept.get_or_insert_with(|| simd_json::Buffers::new(len));
            let json = simd_json::value::borrowed::to_value_with_buffers(body, buffers);
            if len > REUSE_BYTES_MAX {
                *kept = None; // a large body's buffers are not kept
            }
            json
        })
        .map_err(|e| ApiError::serialization(format!("Malformed JSON in request body: {e}")))?;
    if !matches!(json, Json::Object(_)) {
        return Err(ApiError::serialization(
            "Start of structure or map expected at the top level of the request",
        ));
    }
    Ok(json)
}

fn check_depth(body: &[u8]) -> Result<(), ApiError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > JSON_DEPTH_MAX {
                    return Err(ApiError::validation(
                        "Nesting Levels have exceeded supported limits",
                    ));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Typed access to the members of a JSON object; `null` reads as absent.
#[derive(Clone, Copy)]
pub struct Fields<'a, 'v> {
    object: &'a Object<'v>,
}

/// DynamoDB's message for `json` where a member of `expected` belongs.
fn wrong_type(json: &Json<'_>, expected: &str) -> ApiError {
    let shape = match expected {
        "String" => &Shape::String,
        "Boolean" => &Shape::Boolean,
        "Integer" => &Shape::Integer,
        "Long" => &Shape::Long,
        "List" => &Shape::List(&Shape::Any),
        _ => &Shape::Map(&Shape::Any),
    };
    shape::mismatch(json, shape)
}

impl<'a, 'v> Fields<'a, 'v> {
    pub fn of(json: &'a Json<'v>) -> Result<Self, ApiError> {
        match json {
            Json::Object(object) => Ok(Fields { object }),
            other => Err(shape::mismatch(other, &Shape::Struct("Structure", &[]))),
        }
    }

    pub fn get(&self, name: &str) -> Option<&'a Json<'v>> {
        match self.object.get(name) {
            Some(Json::Static(StaticNode::Null)) | None => None,
            Some(value) => Some(value),
        }
    }

    pub fn str(&self, name: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.as_ref())),
            Some(other) => Err(wrong_type(other, "String")),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Static(StaticNode::Bool(b))) => Ok(Some(*b)),
            Some(other) => Err(wrong_type(other, "Boolean")),
        }
    }

    /// An integer member; a fractional number reads as its floor (as
    /// DynamoDB's reader converts it), an out-of-range one is a
    /// serialization error.
    pub fn i64(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Static(StaticNode::I64(n))) => Ok(Some(*n)),
            Some(Json::Static(StaticNode::F64(x))) if x.is_finite() && x.abs() < 9.0e18 => {
                Ok(Some(x.floor() as i64))
            }
            Some(Json::Static(StaticNode::U64(n))) => i64::try_from(*n)
                .map(Some)
                .map_err(|_| ApiError::serialization(format!("Number {n} is out of range"))),
            Some(other) => Err(wrong_type(other, "Long")),
        }
    }

    /// A timestamp member (seconds since the epoch, as the SDKs send it).
    pub fn timestamp(&self, name: &str) -> Result<Option<f64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Static(StaticNode::I64(n))) => Ok(Some(*n as f64)),
            Some(Json::Static(StaticNode::U64(n))) => Ok(Some(*n as f64)),
            Some(Json::Static(StaticNode::F64(x))) if x.is_finite() => Ok(Some(*x)),
            Some(other) => Err(wrong_type(other, "Timestamp")),
        }
    }

    pub fn object(&self, name: &str) -> Result<Option<Fields<'a, 'v>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Object(object)) => Ok(Some(Fields { object })),
            Some(other) => Err(wrong_type(other, "Map")),
        }
    }

    pub fn list(&self, name: &str) -> Result<Option<&'a [Json<'v>]>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Array(items)) => Ok(Some(items.as_slice())),
            Some(other) => Err(wrong_type(other, "List")),
        }
    }

    pub fn raw(&self) -> &'a Object<'v> {
        self.object
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a Json<'v>)> {
        self.object.iter().map(|(k, v)| (k.as_ref(), v))
    }

    pub fn len(&self) -> usize {
        self.object.len()
    }

    pub fn is_empty(&self) -> bool {
        self.object.is_empty()
    }
}

/// Reads a string from a list element.
pub fn element_str<'a>(json: &'a Json<'_>) -> Result<&'a str, ApiError> {
    match json {
        Json::String(s) => Ok(s.as_ref()),
        other => Err(wrong_type(other, "String")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_deep_and_malformed_bodies() {
        let mut deep = "[".repeat(100_000).into_bytes();
        assert_eq!(
            parse_body(&mut deep).map(|_| ()).map_err(|e| e.type_name),
            Err("com.amazon.coral.validate#ValidationException".to_string())
        );
        let mut bad = b"{\"TableName\": ".to_vec();
        assert!(parse_body(&mut bad).is_err());
        let mut list = b"[1]".to_vec();
        assert!(parse_body(&mut list).is_err());
        let mut quoted = br#"{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"["}"#.to_vec();
        assert!(parse_body(&mut quoted).is_ok());
    }
}
