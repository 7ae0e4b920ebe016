//! HTTP/1.1 framing: request parsing (httparse), Content-Length and chunked
//! bodies, limits, and response encoding. Pure functions over buffers, so
//! the connection loop stays small and this part is unit-tested.

/// Largest header block we accept before answering 431.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
const MAX_HEADERS: usize = 48;

/// A fully received request, owned so the read buffer can move on.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub target: Option<String>,
    pub content_type: Option<String>,
    pub has_authorization: bool,
    pub close: bool,
    pub body: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parse {
    /// A request and how many buffer bytes it used.
    Complete(Request, usize),
    /// More bytes are needed.
    Partial,
    /// Protocol error: answer `status` and close.
    Error(u16, &'static str),
}

/// Parses one request from the front of `buf`.
pub fn parse(buf: &[u8], max_body: usize) -> Parse {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let header_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEADER_BYTES => {
            return Parse::Error(431, "Request Header Fields Too Large");
        }
        Ok(httparse::Status::Partial) => return Parse::Partial,
        Err(httparse::Error::TooManyHeaders) => {
            return Parse::Error(431, "Request Header Fields Too Large");
        }
        Err(_) => return Parse::Error(400, "Bad Request"),
    };
    let mut out = Request {
        method: req.method.unwrap_or("").to_string(),
        path: req.path.unwrap_or("").to_string(),
        close: req.version == Some(0),
        ..Request::default()
    };
    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    for h in req.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            match value.parse::<usize>() {
                Ok(n) if content_length.is_none_or(|c| c == n) => content_length = Some(n),
                _ => return Parse::Error(400, "Bad Request"),
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if value.eq_ignore_ascii_case("chunked") {
                chunked = true;
            } else {
                return Parse::Error(501, "Not Implemented");
            }
        } else if name.eq_ignore_ascii_case("x-amz-target") {
            out.target = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("content-type") {
            out.content_type = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("authorization") {
            out.has_authorization = !value.is_empty();
        } else if name.eq_ignore_ascii_case("connection") {
            if value.eq_ignore_ascii_case("close") {
                out.close = true;
            } else if value.eq_ignore_ascii_case("keep-alive") {
                out.close = false;
            }
        }
    }
    if chunked {
        if content_length.is_some() {
            return Parse::Error(400, "Bad Request");
        }
        return match decode_chunked(&buf[header_len..], max_body) {
            Chunked::Complete(body, used) => {
                out.body = body;
                Parse::Complete(out, header_len + used)
            }
            Chunked::Partial => Parse::Partial,
            Chunked::TooLarge => Parse::Error(413, "Request Entity Too Large"),
            Chunked::Invalid => Parse::Error(400, "Bad Request"),
        };
    }
    let length = content_length.unwrap_or(0);
    if length > max_body {
        return Parse::Error(413, "Request Entity Too Large");
    }
    if buf.len() < header_len + length {
        return Parse::Partial;
    }
    out.body = buf[header_len..header_len + length].to_vec();
    Parse::Complete(out, header_len + length)
}

enum Chunked {
    Complete(Vec<u8>, usize),
    Partial,
    TooLarge,
    Invalid,
}

fn decode_chunked(buf: &[u8], max_body: usize) -> Chunked {
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let (start, size) = match httparse::parse_chunk_size(&buf[pos..]) {
            Ok(httparse::Status::Complete((n, size))) => (pos + n, size),
            Ok(httparse::Status::Partial) => return Chunked::Partial,
            Err(_) => return Chunked::Invalid,
        };
        let Ok(size) = usize::try_from(size) else {
            return Chunked::TooLarge;
        };
        if size == 0 {
            // Skip trailers up to the blank line.
            let rest = &buf[start..];
            if rest.starts_with(b"\r\n") {
                return Chunked::Complete(body, start + 2);
            }
            return match rest.windows(4).position(|w| w == b"\r\n\r\n") {
                Some(i) => Chunked::Complete(body, start + i + 4),
                None if rest.len() > MAX_HEADER_BYTES => Chunked::Invalid,
                None => Chunked::Partial,
            };
        }
        if body.len() + size > max_body {
            return Chunked::TooLarge;
        }
        if buf.len() < start + size + 2 {
            return Chunked::Partial;
        }
        if &buf[start + size..start + size + 2] != b"\r\n" {
            return Chunked::Invalid;
        }
        body.extend_from_slice(&buf[start..start + size]);
        pos = start + size + 2;
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        413 => "Request Entity Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Appends a full response with DynamoDB's headers.
pub fn write_response(
    out: &mut Vec<u8>,
    status: u16,
    content_type: &str,
    request_id: &str,
    body: &[u8],
    close: bool,
) {
    let crc = crc32fast::hash(body);
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {status} {}\r\nx-amzn-RequestId: {request_id}\r\nx-amz-crc32: {crc}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{}\r\n",
            reason(status),
            body.len(),
            if close { "Connection: close\r\n" } else { "" }
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_and_pipelining() {
        let one = b"POST / HTTP/1.1\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\nAuthorization: x\r\nContent-Length: 2\r\n\r\n{}";
        let mut two = one.to_vec();
        two.extend_from_slice(one);
        let Parse::Complete(req, used) = parse(&two, 1024) else {
            panic!("expected a complete request");
        };
        assert_eq!(used, one.len());
        assert_eq!(req.body, b"{}");
        assert_eq!(req.target.as_deref(), Some("DynamoDB_20120810.GetItem"));
        assert!(req.has_authorization);
        assert!(matches!(parse(&two[used..], 1024), Parse::Complete(_, n) if n == one.len()));
        assert_eq!(parse(&one[..one.len() - 1], 1024), Parse::Partial);
    }

    #[test]
    fn chunked_bodies() {
        let req = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let Parse::Complete(r, used) = parse(req, 1024) else {
            panic!("expected a complete request");
        };
        assert_eq!(r.body, b"abcde");
        assert_eq!(used, req.len());
        assert_eq!(parse(&req[..req.len() - 3], 1024), Parse::Partial);
        assert!(matches!(parse(req, 4), Parse::Error(413, _)));
    }

    #[test]
    fn limits_and_errors() {
        let big = b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n";
        assert!(matches!(parse(big, 99), Parse::Error(413, _)));
        assert!(matches!(
            parse(b"\x00\x01garbage\r\n\r\n", 10),
            Parse::Error(400, _)
        ));
        let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
        huge.resize(MAX_HEADER_BYTES + 10, b'a');
        assert!(matches!(parse(&huge, 10), Parse::Error(431, _)));
    }
}
