//! Minimal HTTP/1.1 client codec: request bytes out, responses parsed in.
//!
//! Pure functions over byte buffers, shared by the glommio hot path
//! ([`crate::conn`]) and the blocking control-plane client
//! ([`crate::control`]). Invariant: [`parse_response`] never consumes a partial
//! response — it returns `Ok(None)` until the whole message (headers and a
//! `Content-Length` or chunked body) is in the buffer, so the caller just
//! keeps reading. Headers are parsed by `httparse`; we only add body framing.

use crate::error::{LoadgenError, Result};
use crate::sigv4::Signer;

/// A parsed `http://host:port` or `https://host:port` endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port` to connect to.
    pub addr: String,
    /// Value of the `Host` header (as in the URL).
    pub host_header: String,
    /// `https://`: connections speak TLS (needs `--ca`).
    pub tls: bool,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Self> {
        let bad = |reason| LoadgenError::InvalidEndpoint {
            url: url.to_string(),
            reason,
        };
        let (rest, tls) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
            (Some(rest), _) => (rest, false),
            (None, Some(rest)) => (rest, true),
            (None, None) => return Err(bad("only http:// and https:// endpoints are supported")),
        };
        let authority = rest.split('/').next().unwrap_or("");
        if authority.is_empty() {
            return Err(bad("missing host"));
        }
        let has_port = match authority.rfind(':') {
            Some(i) => !authority[i..].contains(']'),
            None => false,
        };
        let addr = if has_port {
            authority.to_string()
        } else {
            format!("{authority}:{}", if tls { 443 } else { 80 })
        };
        Ok(Endpoint {
            addr,
            host_header: authority.to_string(),
            tls,
        })
    }
}

/// Appends a signed DynamoDB `POST /` request for `target` (e.g. `GetItem`).
pub fn write_dynamo_request(
    out: &mut Vec<u8>,
    endpoint: &Endpoint,
    signer: &mut Signer,
    target: &str,
    body: &[u8],
) {
    let mut target_header = String::with_capacity(40);
    target_header.push_str("DynamoDB_20120810.");
    target_header.push_str(target);
    // Copy the 16-byte date to the stack: `sign` needs `&mut signer`.
    let mut date_buf = [0u8; 16];
    let date_src = signer.amz_date().as_bytes();
    let date_len = date_src.len().min(date_buf.len());
    date_buf[..date_len].copy_from_slice(&date_src[..date_len]);
    let date = std::str::from_utf8(&date_buf[..date_len]).unwrap_or("");
    // Only temporary (STS) credentials have a token; cloning it is rare.
    let token = signer.session_token().map(str::to_string);
    let mut headers = [("", ""); 5];
    let mut n = 0;
    for h in [
        ("content-type", "application/x-amz-json-1.0"),
        ("host", endpoint.host_header.as_str()),
        ("x-amz-date", date),
    ] {
        headers[n] = h;
        n += 1;
    }
    if let Some(t) = &token {
        // Sorted position: "x-amz-security-token" < "x-amz-target".
        headers[n] = ("x-amz-security-token", t.as_str());
        n += 1;
    }
    headers[n] = ("x-amz-target", target_header.as_str());
    n += 1;
    let sig = signer.sign("POST", "/", "", &headers[..n], body);
    out.extend_from_slice(b"POST / HTTP/1.1\r\nHost: ");
    out.extend_from_slice(endpoint.host_header.as_bytes());
    out.extend_from_slice(b"\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: ");
    out.extend_from_slice(target_header.as_bytes());
    out.extend_from_slice(b"\r\nX-Amz-Date: ");
    out.extend_from_slice(sig.amz_date.as_bytes());
    if let Some(t) = &token {
        out.extend_from_slice(b"\r\nX-Amz-Security-Token: ");
        out.extend_from_slice(t.as_bytes());
    }
    out.extend_from_slice(b"\r\nAuthorization: ");
    out.extend_from_slice(sig.authorization.as_bytes());
    out.extend_from_slice(b"\r\nContent-Length: ");
    let mut len_buf = itoa::Buffer::new();
    out.extend_from_slice(len_buf.format(body.len()).as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}

/// Appends a plain `GET path` request (control plane, e.g. the partition map).
pub fn write_get_request(out: &mut Vec<u8>, endpoint: &Endpoint, signer: &mut Signer, path: &str) {
    let date = signer.amz_date().to_string();
    let token = signer.session_token().map(str::to_string);
    let mut headers = vec![
        ("host", endpoint.host_header.as_str()),
        ("x-amz-date", date.as_str()),
    ];
    if let Some(t) = &token {
        headers.push(("x-amz-security-token", t.as_str()));
    }
    let (path_only, query) = path.split_once('?').unwrap_or((path, ""));
    let sig = signer.sign("GET", path_only, query, &headers, b"");
    let authorization = sig.authorization.to_string();
    out.extend_from_slice(b"GET ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(endpoint.host_header.as_bytes());
    out.extend_from_slice(b"\r\nX-Amz-Date: ");
    out.extend_from_slice(date.as_bytes());
    if let Some(t) = &token {
        out.extend_from_slice(b"\r\nX-Amz-Security-Token: ");
        out.extend_from_slice(t.as_bytes());
    }
    out.extend_from_slice(b"\r\nAuthorization: ");
    out.extend_from_slice(authorization.as_bytes());
    out.extend_from_slice(b"\r\nAccept: application/json\r\n\r\n");
}

/// A complete response. `body` is decoded (chunked framing removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// The server asked to close the connection after this response.
    pub close: bool,
}

const HEADERS_MAX: usize = 32;

/// Parses one response from the front of `buf`. Returns the response and the
/// number of bytes it occupied, or `None` if more bytes are needed.
pub fn parse_response(buf: &[u8]) -> Result<Option<(Response, usize)>> {
    parse_response_with(buf, true)
}

/// Like [`parse_response`]; with `keep_success_body == false` the body of a
/// 2xx Content-Length response is skipped, not copied (the hot path only
/// needs bodies of errors).
pub fn parse_response_with(
    buf: &[u8],
    keep_success_body: bool,
) -> Result<Option<(Response, usize)>> {
    let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
    let mut resp = httparse::Response::new(&mut headers);
    let header_len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(LoadgenError::Http(format!("bad response head: {e}"))),
    };
    let status = resp.code.unwrap_or(0);
    let mut content_length = None;
    let mut chunked = false;
    let mut close = resp.version == Some(0);
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .ok_or_else(|| LoadgenError::Http("bad Content-Length".into()))?;
            content_length = Some(v);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = h
                .value
                .windows(7)
                .any(|w| w.eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = h.value.eq_ignore_ascii_case(b"close");
        }
    }
    let rest = &buf[header_len..];
    if chunked {
        return Ok(decode_chunked(rest)?.map(|(body, used)| {
            (
                Response {
                    status,
                    body,
                    close,
                },
                header_len + used,
            )
        }));
    }
    // No framing on a 1xx/204/304 means no body; otherwise we need a length
    // (we never rely on connection-close framing: keep-alive is the point).
    let len = match content_length {
        Some(n) => n,
        None if status == 204 || status == 304 || (100..200).contains(&status) => 0,
        None => {
            return Err(LoadgenError::Http(
                "response without Content-Length or chunked encoding".into(),
            ));
        }
    };
    if rest.len() < len {
        return Ok(None);
    }
    let body = if keep_success_body || !(200..300).contains(&status) {
        rest[..len].to_vec()
    } else {
        Vec::new()
    };
    Ok(Some((
        Response {
            status,
            body,
            close,
        },
        header_len + len,
    )))
}

/// Decodes a chunked body at the front of `buf`: `(body, bytes used)` or None.
fn decode_chunked(buf: &[u8]) -> Result<Option<(Vec<u8>, usize)>> {
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let (size, used) = match httparse::parse_chunk_size(&buf[pos..]) {
            Ok(httparse::Status::Complete((used, size))) => (size as usize, used),
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(LoadgenError::Http("bad chunk size".into())),
        };
        pos += used;
        if size == 0 {
            // Skip trailers: lines until an empty line.
            loop {
                let Some(eol) = buf[pos..].windows(2).position(|w| w == b"\r\n") else {
                    return Ok(None);
                };
                pos += eol + 2;
                if eol == 0 {
                    return Ok(Some((body, pos)));
                }
            }
        }
        if buf.len() < pos + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[pos..pos + size]);
        if &buf[pos + size..pos + size + 2] != b"\r\n" {
            return Err(LoadgenError::Http("chunk not followed by CRLF".into()));
        }
        pos += size + 2;
    }
}

/// The short DynamoDB error name from an error body: the text after `#` in
/// `__type` (or the whole `__type` when it has no `#`).
pub fn error_type(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        #[serde(rename = "__type")]
        error_type: Option<String>,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody {
            error_type: Some(t),
        }) => match t.rsplit_once('#') {
            Some((_, short)) => short.to_string(),
            None => t,
        },
        _ => "UnparseableErrorBody".to_string(),
    }
}

/// Throttling errors are counted separately: they mean "back off", not "bug".
pub fn is_throttle(error_type: &str) -> bool {
    matches!(
        error_type,
        "ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_parsing() {
        let e = Endpoint::parse("http://127.0.0.1:8000").unwrap();
        assert_eq!(e.addr, "127.0.0.1:8000");
        assert_eq!(e.host_header, "127.0.0.1:8000");
        assert_eq!(
            Endpoint::parse("http://localhost/").unwrap().addr,
            "localhost:80"
        );
        assert!(!e.tls);
        let tls = Endpoint::parse("https://localhost").unwrap();
        assert_eq!((tls.addr.as_str(), tls.tls), ("localhost:443", true));
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("http://").is_err());
    }

    #[test]
    fn content_length_response_in_pieces() {
        let full = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1";
        for cut in 0..(full.len() - 8) {
            assert!(parse_response(&full[..cut]).unwrap().is_none(), "cut {cut}");
        }
        let (r, used) = parse_response(full).unwrap().unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"hello");
        assert_eq!(used, full.len() - 8);
        assert!(!r.close);
        let (r, _) = parse_response_with(full, false).unwrap().unwrap();
        assert!(r.body.is_empty());
        let err = b"HTTP/1.1 400 Bad\r\nContent-Length: 2\r\n\r\n{}";
        let (r, _) = parse_response_with(err, false).unwrap().unwrap();
        assert_eq!(r.body, b"{}");
    }

    #[test]
    fn chunked_response() {
        let full = b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        assert!(parse_response(&full[..full.len() - 1]).unwrap().is_none());
        let (r, used) = parse_response(full).unwrap().unwrap();
        assert_eq!(r.status, 400);
        assert_eq!(r.body, b"abcde");
        assert_eq!(used, full.len());
    }

    #[test]
    fn error_type_takes_text_after_hash() {
        let body = br#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}"#;
        let t = error_type(body);
        assert_eq!(t, "ProvisionedThroughputExceededException");
        assert!(is_throttle(&t));
        assert_eq!(error_type(b"not json"), "UnparseableErrorBody");
    }

    #[test]
    fn request_is_well_formed() {
        use crate::sigv4::{Credentials, Signer};
        let mut signer = Signer::new(
            Credentials {
                access_key_id: "a".into(),
                secret_access_key: "b".into(),
                session_token: Some("tok".into()),
            },
            "us-east-1",
            "dynamodb",
        );
        signer.set_time(1_440_938_160);
        let ep = Endpoint::parse("http://127.0.0.1:9").unwrap();
        let mut out = Vec::new();
        write_dynamo_request(&mut out, &ep, &mut signer, "GetItem", b"{}");
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut req = httparse::Request::new(&mut headers);
        let n = match req.parse(&out).unwrap() {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => panic!("partial"),
        };
        assert_eq!(&out[n..], b"{}");
        let auth = req
            .headers
            .iter()
            .find(|h| h.name == "Authorization")
            .unwrap();
        let auth = std::str::from_utf8(auth.value).unwrap();
        assert!(auth.contains("/20150830/us-east-1/dynamodb/aws4_request"));
        assert!(auth.contains(
            "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
        ));
        let token = req
            .headers
            .iter()
            .find(|h| h.name == "X-Amz-Security-Token")
            .unwrap();
        assert_eq!(token.value, b"tok");
    }
}
