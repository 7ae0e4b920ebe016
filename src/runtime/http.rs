//! HTTP/1.1 request framing and response encoding: an incremental parser
//! (heads via httparse, Content-Length and chunked bodies) and the response
//! writer, plus the body codings (`Content-Encoding: gzip`/`deflate`
//! requests decoded within the body limit, gzip responses). Pure code over
//! byte slices, so the connection loop stays small and the framing is
//! unit-tested and fuzzed (`fuzz/fuzz_targets/http_framing.rs`,
//! `fuzz/fuzz_targets/body_decoding.rs`).
//!
//! Invariants the parser keeps for any input, split at any points:
//! - it never panics and all framing arithmetic is checked (a size that
//!   overflows, or exceeds the body limit, is a 413, never a wrap);
//! - `consumed <= input.len()` on every call, and every body byte is decoded
//!   exactly once (state survives between calls; nothing is re-parsed from
//!   the start of the body);
//! - a decoded body never exceeds `body_bytes_max`, and body memory is only
//!   allocated after the caller's `reserve` callback agreed (the shard's
//!   connection-buffer budget);
//! - what the caller must buffer is bounded: an unfinished head is held by
//!   the caller up to [`HEAD_BYTES_MAX`] (then 431), while chunk-size lines
//!   ([`CHUNK_LINE_BYTES_MAX`]) and trailers ([`TRAILER_BYTES_MAX`]) are
//!   consumed byte by byte as they arrive and only counted.
//!
//! The one decision to know: the head is the only part that must be
//! contiguous in the caller's buffer (httparse needs it whole); the parser
//! scans each head byte once for the blank line and calls httparse only then,
//! so a head trickled one byte at a time costs linear, not quadratic, work.

/// Largest request head (request line plus header fields); larger gets 431.
pub const HEAD_BYTES_MAX: usize = 64 * 1024;
/// Largest chunk-size line including extensions; longer gets 400. Real
/// clients send a few hex digits; extensions are unused in practice.
pub const CHUNK_LINE_BYTES_MAX: usize = 4 * 1024;
/// Largest trailer section of a chunked body; larger gets 431.
pub const TRAILER_BYTES_MAX: usize = 8 * 1024;
const HEADERS_MAX: usize = 48;

/// A fully received request, owned so the read buffer can move on.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub target: Option<String>,
    pub content_type: Option<String>,
    pub has_authorization: bool,
    /// The raw request head (request line and header fields), kept for
    /// SigV4 verification, which needs every signed header's exact value.
    /// Bounded by [`HEAD_BYTES_MAX`].
    pub head: Vec<u8>,
    pub close: bool,
    pub body: Vec<u8>,
    /// `Content-Encoding` of the body, if any (decoded by [`decode_body`]).
    pub content_encoding: Option<String>,
    /// `Accept-Encoding` names gzip (with a non-zero q).
    pub accepts_gzip: bool,
    /// CORS: an `Origin` header was sent, and a preflight's
    /// `Access-Control-Request-Headers` / `-Method`.
    pub origin: bool,
    pub cors_request_headers: Option<String>,
    pub cors_request_method: Option<String>,
}

/// Why a request could not be framed; each maps to one HTTP status. After
/// any of these the connection is answered and closed (the framing of what
/// follows is unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpError {
    /// Malformed request line, header, Content-Length or chunk framing.
    BadRequest(&'static str),
    /// Head over [`HEAD_BYTES_MAX`], too many header fields, or trailers
    /// over [`TRAILER_BYTES_MAX`].
    HeaderFieldsTooLarge,
    /// Declared or decoded body over `body_bytes_max`.
    BodyTooLarge,
    /// A transfer coding other than `chunked`.
    NotImplemented,
    /// The caller's `reserve` refused the body memory (shard budget spent).
    OverBudget,
}

impl HttpError {
    pub fn status(self) -> u16 {
        match self {
            HttpError::BadRequest(_) => 400,
            HttpError::HeaderFieldsTooLarge => 431,
            HttpError::BodyTooLarge => 413,
            HttpError::NotImplemented => 501,
            // The request itself is fine; the shard is out of buffer
            // memory. Answered as DynamoDB's ThrottlingException (400).
            HttpError::OverBudget => 400,
        }
    }
}

/// What one [`Parser::advance`] call produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every consumed byte is decoded; more input is needed.
    NeedInput,
    /// A complete request; bytes after `consumed` belong to the next one.
    Request(Request),
    Error(HttpError),
}

#[derive(Debug, PartialEq, Eq)]
pub struct Advance {
    /// Bytes of the input the caller may drop (`<= input.len()`).
    pub consumed: usize,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    Digits,
    Extension,
    Cr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the blank line that ends the head; `scanned` bytes of the
    /// caller's (unconsumed, unchanged) buffer have been searched already.
    Head {
        scanned: usize,
    },
    /// Content-Length body bytes still to copy.
    Body {
        remaining: usize,
    },
    ChunkSize {
        size: usize,
        digits: usize,
        line_bytes: usize,
        phase: Line,
    },
    ChunkData {
        remaining: usize,
    },
    /// The CRLF after a chunk's data; `cr` once the CR was seen.
    ChunkDataEnd {
        cr: bool,
    },
    /// Trailer lines after the last chunk, up to the empty line.
    Trailers {
        line_bytes: usize,
        total: usize,
    },
}

/// Incremental request parser for one connection. Feed it the unconsumed
/// front of the read buffer; it keeps its own state between calls.
#[derive(Debug)]
pub struct Parser {
    body_bytes_max: usize,
    state: State,
    request: Request,
}

impl Parser {
    pub fn new(body_bytes_max: usize) -> Parser {
        Parser {
            body_bytes_max,
            state: State::Head { scanned: 0 },
            request: Request::default(),
        }
    }

    /// True while a request head has been parsed but its body is unfinished.
    pub fn in_body(&self) -> bool {
        !matches!(self.state, State::Head { .. })
    }

    /// Bytes of body memory held for the request in progress.
    pub fn body_capacity(&self) -> usize {
        self.request.body.capacity()
    }

    /// Decodes from the front of `input`. The caller drops `consumed` bytes
    /// and passes the rest (plus new bytes) next time. `reserve(n)` is asked
    /// before the body grows by `n` bytes of capacity; `false` refuses.
    pub fn advance(&mut self, input: &[u8], reserve: &mut dyn FnMut(usize) -> bool) -> Advance {
        let mut pos = 0;
        loop {
            let step = match self.state {
                State::Head { scanned } => self.head(input, scanned, reserve),
                _ => self.body_step(&input[pos..], reserve),
            };
            match step {
                Step::Used(n) => {
                    pos += n;
                    if matches!(self.state, State::Head { .. }) {
                        let request = std::mem::take(&mut self.request);
                        return Advance {
                            consumed: pos,
                            outcome: Outcome::Request(request),
                        };
                    }
                    if pos == input.len() {
                        return Advance {
                            consumed: pos,
                            outcome: Outcome::NeedInput,
                        };
                    }
                }
                Step::More => {
                    return Advance {
                        consumed: pos,
                        outcome: Outcome::NeedInput,
                    };
                }
                Step::Fail(e) => {
                    return Advance {
                        consumed: pos,
                        outcome: Outcome::Error(e),
                    };
                }
            }
        }
    }

    /// Looks for the end of the head in `input` (which starts at the head).
    fn head(
        &mut self,
        input: &[u8],
        scanned: usize,
        reserve: &mut dyn FnMut(usize) -> bool,
    ) -> Step {
        let mut from = scanned;
        loop {
            let Some(end) = find_head_end(input, from) else {
                if input.len() > HEAD_BYTES_MAX {
                    return Step::Fail(HttpError::HeaderFieldsTooLarge);
                }
                // Only the last two bytes can start a terminator later.
                self.state = State::Head {
                    scanned: input.len().saturating_sub(2),
                };
                return Step::More;
            };
            if end > HEAD_BYTES_MAX {
                return Step::Fail(HttpError::HeaderFieldsTooLarge);
            }
            let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(&input[..end]) {
                Ok(httparse::Status::Complete(n)) => {
                    return match self.start(&req, reserve) {
                        Ok(()) => {
                            self.request.head = input[..n].to_vec();
                            Step::Used(n)
                        }
                        Err(e) => Step::Fail(e),
                    };
                }
                // Leading blank lines (allowed before a request line) end in
                // what looks like a terminator: keep looking after it.
                Ok(httparse::Status::Partial) => from = end,
                Err(httparse::Error::TooManyHeaders) => {
                    return Step::Fail(HttpError::HeaderFieldsTooLarge);
                }
                Err(_) => return Step::Fail(HttpError::BadRequest("malformed request head")),
            }
        }
    }

    /// Records the head's fields and picks the body framing.
    fn start(
        &mut self,
        req: &httparse::Request<'_, '_>,
        reserve: &mut dyn FnMut(usize) -> bool,
    ) -> Result<(), HttpError> {
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
                let n = parse_content_length(value, self.body_bytes_max)?;
                if content_length.is_some_and(|c| c != n) {
                    return Err(HttpError::BadRequest("conflicting Content-Length"));
                }
                content_length = Some(n);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                if chunked || !value.eq_ignore_ascii_case("chunked") {
                    return Err(HttpError::NotImplemented);
                }
                chunked = true;
            } else if name.eq_ignore_ascii_case("x-amz-target") {
                out.target = Some(value.to_string());
            } else if name.eq_ignore_ascii_case("content-type") {
                out.content_type = Some(value.to_string());
            } else if name.eq_ignore_ascii_case("authorization") {
                out.has_authorization = !value.is_empty();
            } else if name.eq_ignore_ascii_case("content-encoding") {
                out.content_encoding = Some(value.to_string());
            } else if name.eq_ignore_ascii_case("accept-encoding") {
                out.accepts_gzip |= accepts_gzip(value);
            } else if name.eq_ignore_ascii_case("origin") {
                out.origin = true;
            } else if name.eq_ignore_ascii_case("access-control-request-headers") {
                out.cors_request_headers = Some(value.to_string());
            } else if name.eq_ignore_ascii_case("access-control-request-method") {
                out.cors_request_method = Some(value.to_string());
            } else if name.eq_ignore_ascii_case("connection") {
                if value.eq_ignore_ascii_case("close") {
                    out.close = true;
                } else if value.eq_ignore_ascii_case("keep-alive") {
                    out.close = false;
                }
            }
        }
        self.request = out;
        if chunked {
            // Both framings at once is the classic smuggling vector.
            if content_length.is_some() {
                return Err(HttpError::BadRequest(
                    "Content-Length with Transfer-Encoding",
                ));
            }
            self.state = State::ChunkSize {
                size: 0,
                digits: 0,
                line_bytes: 0,
                phase: Line::Digits,
            };
            return Ok(());
        }
        let length = content_length.unwrap_or(0);
        if length > 0 {
            self.grow(length, reserve)?;
            self.state = State::Body { remaining: length };
        } else {
            self.state = State::Head { scanned: 0 };
        }
        Ok(())
    }

    /// Makes room for `more` body bytes: exact for Content-Length, doubling
    /// (capped at the limit) for chunks so many small chunks stay linear.
    fn grow(
        &mut self,
        more: usize,
        reserve: &mut dyn FnMut(usize) -> bool,
    ) -> Result<(), HttpError> {
        let body = &mut self.request.body;
        let needed = body
            .len()
            .checked_add(more)
            .ok_or(HttpError::BodyTooLarge)?;
        if needed > self.body_bytes_max {
            return Err(HttpError::BodyTooLarge);
        }
        if needed <= body.capacity() {
            return Ok(());
        }
        let target = if matches!(self.state, State::Head { .. }) {
            needed
        } else {
            needed.max(body.capacity().saturating_mul(2).min(self.body_bytes_max))
        };
        let extra = target - body.capacity();
        if !reserve(extra) {
            return Err(HttpError::OverBudget);
        }
        body.try_reserve_exact(target - body.len())
            .map_err(|_| HttpError::OverBudget)
    }

    /// One step of body decoding over `input` (the bytes after those
    /// consumed so far).
    fn body_step(&mut self, input: &[u8], reserve: &mut dyn FnMut(usize) -> bool) -> Step {
        if input.is_empty() {
            return Step::More;
        }
        match self.state {
            State::Head { .. } => Step::More,
            State::Body { remaining } => {
                let n = remaining.min(input.len());
                self.request.body.extend_from_slice(&input[..n]);
                self.state = if n == remaining {
                    State::Head { scanned: 0 }
                } else {
                    State::Body {
                        remaining: remaining - n,
                    }
                };
                Step::Used(n)
            }
            State::ChunkData { remaining } => {
                let n = remaining.min(input.len());
                self.request.body.extend_from_slice(&input[..n]);
                self.state = if n == remaining {
                    State::ChunkDataEnd { cr: false }
                } else {
                    State::ChunkData {
                        remaining: remaining - n,
                    }
                };
                Step::Used(n)
            }
            State::ChunkDataEnd { cr } => match (cr, input[0]) {
                (false, b'\r') => {
                    self.state = State::ChunkDataEnd { cr: true };
                    Step::Used(1)
                }
                (true, b'\n') => {
                    self.state = State::ChunkSize {
                        size: 0,
                        digits: 0,
                        line_bytes: 0,
                        phase: Line::Digits,
                    };
                    Step::Used(1)
                }
                _ => Step::Fail(HttpError::BadRequest("chunk data not followed by CRLF")),
            },
            State::ChunkSize {
                size,
                digits,
                line_bytes,
                phase,
            } => self.chunk_size_byte(input[0], size, digits, line_bytes, phase, reserve),
            State::Trailers { line_bytes, total } => {
                let total = total + 1;
                if total > TRAILER_BYTES_MAX {
                    return Step::Fail(HttpError::HeaderFieldsTooLarge);
                }
                self.state = match input[0] {
                    // An empty line (CRLF or bare LF) ends the message.
                    b'\n' if line_bytes == 0 => State::Head { scanned: 0 },
                    b'\n' => State::Trailers {
                        line_bytes: 0,
                        total,
                    },
                    b'\r' => State::Trailers { line_bytes, total },
                    _ => State::Trailers {
                        line_bytes: line_bytes + 1,
                        total,
                    },
                };
                Step::Used(1)
            }
        }
    }

    fn chunk_size_byte(
        &mut self,
        byte: u8,
        size: usize,
        digits: usize,
        line_bytes: usize,
        phase: Line,
        reserve: &mut dyn FnMut(usize) -> bool,
    ) -> Step {
        let line_bytes = line_bytes + 1;
        if line_bytes > CHUNK_LINE_BYTES_MAX {
            return Step::Fail(HttpError::BadRequest("chunk-size line too long"));
        }
        let next = |size, digits, phase| State::ChunkSize {
            size,
            digits,
            line_bytes,
            phase,
        };
        match (phase, byte) {
            (Line::Digits, b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F') => {
                let digit = (byte as char).to_digit(16).unwrap_or(0) as usize;
                // Checked: a size past the remaining body budget is a 413
                // at once, so the arithmetic can never wrap.
                let room = self.body_bytes_max.saturating_sub(self.request.body.len());
                match size.checked_mul(16).and_then(|s| s.checked_add(digit)) {
                    Some(s) if s <= room => {
                        self.state = next(s, digits + 1, Line::Digits);
                        Step::Used(1)
                    }
                    _ => Step::Fail(HttpError::BodyTooLarge),
                }
            }
            (Line::Digits, b';') if digits > 0 => {
                self.state = next(size, digits, Line::Extension);
                Step::Used(1)
            }
            (Line::Digits | Line::Extension, b'\r') if digits > 0 => {
                self.state = next(size, digits, Line::Cr);
                Step::Used(1)
            }
            (Line::Extension, b) if b != b'\n' => {
                self.state = next(size, digits, Line::Extension);
                Step::Used(1)
            }
            (Line::Cr, b'\n') => {
                if size == 0 {
                    self.state = State::Trailers {
                        line_bytes: 0,
                        total: 0,
                    };
                    return Step::Used(1);
                }
                if let Err(e) = self.grow(size, reserve) {
                    return Step::Fail(e);
                }
                self.state = State::ChunkData { remaining: size };
                Step::Used(1)
            }
            _ => Step::Fail(HttpError::BadRequest("malformed chunk-size line")),
        }
    }
}

enum Step {
    /// `n` bytes used; the state moved on.
    Used(usize),
    /// Nothing more can be done with this input.
    More,
    Fail(HttpError),
}

/// Index just past the blank line ending a head (`\n\n` or `\n\r\n`),
/// searching from `from`.
fn find_head_end(input: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < input.len() {
        let at = i + input.get(i..)?.iter().position(|&b| b == b'\n')?;
        match input.get(at + 1) {
            Some(b'\n') => return Some(at + 2),
            Some(b'\r') if input.get(at + 2) == Some(&b'\n') => return Some(at + 3),
            _ => i = at + 1,
        }
    }
    None
}

/// `1*DIGIT` (no sign, no spaces inside); above `max` — even past u64 — is
/// 413, not a wrap or a 400.
fn parse_content_length(value: &str, max: usize) -> Result<usize, HttpError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HttpError::BadRequest("invalid Content-Length"));
    }
    match value.parse::<usize>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(HttpError::BodyTooLarge),
    }
}

/// Whether an `Accept-Encoding` value admits gzip (`gzip`, `x-gzip` or
/// `*`, unless given `q=0`).
fn accepts_gzip(value: &str) -> bool {
    value.split(',').any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let zero = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        !zero
            && (coding.eq_ignore_ascii_case("gzip")
                || coding.eq_ignore_ascii_case("x-gzip")
                || coding == "*")
    })
}

/// Why a request body's content coding could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Decoded, it would exceed the body limit (a zip bomb): 413.
    TooLarge,
    /// Not valid data of its coding: 400.
    Corrupt,
    /// A coding other than gzip, deflate or identity: 415.
    Unsupported,
    /// The caller's `reserve` refused the memory (shard budget spent).
    OverBudget,
}

/// Decodes a body sent with `Content-Encoding: coding` (gzip, x-gzip,
/// deflate — zlib-wrapped as HTTP specifies, or raw as some clients send —
/// or identity). The output never grows past `limit` bytes: decoding
/// stops and answers [`DecodeError::TooLarge`] at the first byte beyond it,
/// and capacity is reserved only up to the limit.
pub fn decode_body(coding: &str, body: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    decode_body_with(coding, body, limit, &mut |_| true)
}

/// [`decode_body`], asking `reserve(n)` before the output's capacity grows
/// by `n` bytes (the shard's connection-buffer budget); `false` refuses.
pub fn decode_body_with(
    coding: &str,
    body: &[u8],
    limit: usize,
    reserve: &mut dyn FnMut(usize) -> bool,
) -> Result<Vec<u8>, DecodeError> {
    let coding = coding.trim();
    if coding.is_empty() || coding.eq_ignore_ascii_case("identity") {
        if body.len() > limit {
            return Err(DecodeError::TooLarge);
        }
        if !reserve(body.len()) {
            return Err(DecodeError::OverBudget);
        }
        return Ok(body.to_vec());
    }
    if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
        let reader = flate2::read::MultiGzDecoder::new(body);
        return read_bounded(reader, body.len(), limit, reserve);
    }
    if coding.eq_ignore_ascii_case("deflate") {
        // RFC 9110's deflate is the zlib format; a raw stream (no zlib
        // header) is what some clients send instead.
        let zlib_header = body.len() >= 2
            && body[0] & 0x0f == 8
            && (u16::from(body[0]) << 8 | u16::from(body[1])) % 31 == 0;
        return if zlib_header {
            read_bounded(
                flate2::read::ZlibDecoder::new(body),
                body.len(),
                limit,
                reserve,
            )
        } else {
            read_bounded(
                flate2::read::DeflateDecoder::new(body),
                body.len(),
                limit,
                reserve,
            )
        };
    }
    Err(DecodeError::Unsupported)
}

fn read_bounded(
    mut reader: impl std::io::Read,
    encoded_len: usize,
    limit: usize,
    reserve: &mut dyn FnMut(usize) -> bool,
) -> Result<Vec<u8>, DecodeError> {
    let mut out: Vec<u8> = Vec::new();
    let first = encoded_len
        .saturating_mul(4)
        .clamp(64, limit.max(64))
        .min(limit);
    if !reserve(first) {
        return Err(DecodeError::OverBudget);
    }
    out.try_reserve_exact(first)
        .map_err(|_| DecodeError::TooLarge)?;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(DecodeError::Corrupt),
        };
        let needed = out.len().checked_add(n).ok_or(DecodeError::TooLarge)?;
        if needed > limit {
            return Err(DecodeError::TooLarge);
        }
        if needed > out.capacity() {
            // Doubling, but never past the limit.
            let target = needed.max(out.capacity().saturating_mul(2)).min(limit);
            if !reserve(target - out.capacity()) {
                return Err(DecodeError::OverBudget);
            }
            out.try_reserve_exact(target - out.len())
                .map_err(|_| DecodeError::TooLarge)?;
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// `body` gzip-compressed (fast level: responses are compressed on the
/// shard's thread, in the request path).
pub fn gzip(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
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
    let head = ResponseHead {
        status,
        content_type,
        request_id,
        close,
        ..ResponseHead::default()
    };
    write_response_with(out, &head, body);
}

/// What a response says besides its body.
#[derive(Default)]
pub struct ResponseHead<'a> {
    pub status: u16,
    /// Empty: no Content-Type header.
    pub content_type: &'a str,
    pub request_id: &'a str,
    pub close: bool,
    /// `Content-Encoding` of `body` as given (gzip).
    pub content_encoding: Option<&'a str>,
    /// Further header lines, each ending in CRLF (CORS).
    pub extra: &'a str,
}

/// Appends a full response: status line, DynamoDB's headers
/// (`x-amzn-RequestId`, `x-amz-crc32` of the body bytes as sent — after
/// any content coding, which is what DynamoDB checksums —, `Date`,
/// `Server`), the head's own, then the body.
pub fn write_response_with(out: &mut Vec<u8>, head: &ResponseHead<'_>, body: &[u8]) {
    use std::io::Write;
    let crc = crc32fast::hash(body);
    let status = head.status;
    // Formatted straight into `out` (no intermediate String); writing to a
    // Vec cannot fail.
    let _ = write!(
        out,
        "HTTP/1.1 {status} {}\r\nx-amzn-RequestId: {}\r\nx-amz-crc32: {crc}\r\n",
        reason(status),
        head.request_id,
    );
    if !head.content_type.is_empty() {
        out.extend_from_slice(b"Content-Type: ");
        out.extend_from_slice(head.content_type.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(coding) = head.content_encoding {
        out.extend_from_slice(b"Content-Encoding: ");
        out.extend_from_slice(coding.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(head.extra.as_bytes());
    let _ = write!(out, "Content-Length: {}\r\nDate: ", body.len());
    write_date(out);
    out.extend_from_slice(b"\r\nServer: Server\r\n");
    if head.close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

thread_local! {
    /// The `Date` value of the current second, formatted once per second
    /// per thread.
    static DATE: std::cell::RefCell<(u64, [u8; 29])> = const { std::cell::RefCell::new((u64::MAX, [0; 29])) };
}

/// Appends the current time as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn write_date(out: &mut Vec<u8>) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    DATE.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != now {
            *cached = (now, imf_fixdate(now));
        }
        out.extend_from_slice(&cached.1);
    });
}

/// Seconds since the Unix epoch as an IMF-fixdate (RFC 9110 §5.6.7).
pub fn imf_fixdate(secs: u64) -> [u8; 29] {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let text = format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    let mut bytes = [b' '; 29];
    let n = text.len().min(29);
    bytes[..n].copy_from_slice(&text.as_bytes()[..n]);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes the way the connection loop
    /// does (unconsumed bytes stay at the front); returns every outcome.
    fn feed(input: &[u8], step: usize, max: usize) -> Vec<Outcome> {
        let mut parser = Parser::new(max);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for piece in input.chunks(step.max(1)) {
            buf.extend_from_slice(piece);
            loop {
                let a = parser.advance(&buf, &mut |_| true);
                assert!(a.consumed <= buf.len());
                buf.drain(..a.consumed);
                match a.outcome {
                    Outcome::NeedInput => break,
                    Outcome::Request(r) => out.push(Outcome::Request(r)),
                    e @ Outcome::Error(_) => {
                        out.push(e);
                        return out;
                    }
                }
            }
        }
        out
    }

    fn one(input: &[u8], max: usize) -> Outcome {
        feed(input, input.len(), max)
            .pop()
            .unwrap_or(Outcome::NeedInput)
    }

    const GET_ITEM: &[u8] = b"POST / HTTP/1.1\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\nAuthorization: x\r\nContent-Length: 2\r\n\r\n{}";

    #[test]
    fn content_length_and_pipelining_at_every_split() {
        let mut two = GET_ITEM.to_vec();
        two.extend_from_slice(GET_ITEM);
        for step in 1..=two.len() {
            let got = feed(&two, step, 1024);
            assert_eq!(got.len(), 2, "step {step}: {got:?}");
            for r in got {
                let Outcome::Request(r) = r else {
                    panic!("step {step}: expected a request")
                };
                assert_eq!(r.body, b"{}");
                assert_eq!(r.target.as_deref(), Some("DynamoDB_20120810.GetItem"));
                assert!(r.has_authorization);
            }
        }
        assert!(feed(&GET_ITEM[..GET_ITEM.len() - 1], 7, 1024).is_empty());
    }

    #[test]
    fn chunked_bodies_at_every_split() {
        let req = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n";
        for step in 1..=req.len() {
            let got = feed(req, step, 1024);
            let [Outcome::Request(r)] = got.as_slice() else {
                panic!("step {step}: {got:?}")
            };
            assert_eq!(r.body, b"abcde");
        }
        assert_eq!(one(req, 4), Outcome::Error(HttpError::BodyTooLarge));
    }

    #[test]
    fn chunk_size_overflow_is_413_not_a_panic() {
        let req = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nfffffffffffffffe\r\n";
        assert_eq!(one(req, 1 << 24), Outcome::Error(HttpError::BodyTooLarge));
        let huge =
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffff\r\n";
        assert_eq!(
            one(huge, usize::MAX),
            Outcome::Error(HttpError::BodyTooLarge)
        );
    }

    #[test]
    fn endless_chunk_extension_and_trailers_are_bounded() {
        let mut req = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;".to_vec();
        req.resize(req.len() + CHUNK_LINE_BYTES_MAX, b'x');
        assert!(matches!(
            feed(&req, 100, 1024).pop(),
            Some(Outcome::Error(HttpError::BadRequest(_)))
        ));
        let mut req = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n".to_vec();
        for _ in 0..TRAILER_BYTES_MAX {
            req.extend_from_slice(b"a\r\n");
        }
        assert_eq!(
            feed(&req, 100, 1024).pop(),
            Some(Outcome::Error(HttpError::HeaderFieldsTooLarge))
        );
    }

    #[test]
    fn content_length_rules() {
        let req = |cl: &str| format!("POST / HTTP/1.1\r\nContent-Length: {cl}\r\n\r\n");
        assert_eq!(
            one(req("100").as_bytes(), 99),
            Outcome::Error(HttpError::BodyTooLarge)
        );
        assert_eq!(
            one(req("99999999999999999999999").as_bytes(), 99),
            Outcome::Error(HttpError::BodyTooLarge)
        );
        for bad in ["+5", "-1", "5 5", "", "0x10"] {
            assert!(
                matches!(
                    one(req(bad).as_bytes(), 99),
                    Outcome::Error(HttpError::BadRequest(_))
                ),
                "{bad:?}"
            );
        }
        let both = b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(
            one(both, 99),
            Outcome::Error(HttpError::BadRequest(_))
        ));
        let gzip = b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n";
        assert_eq!(one(gzip, 99), Outcome::Error(HttpError::NotImplemented));
    }

    #[test]
    fn heads_are_bounded_and_validated() {
        assert!(matches!(
            one(b"\x00\x01garbage\r\n\r\n", 10),
            Outcome::Error(HttpError::BadRequest(_))
        ));
        let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
        huge.resize(HEAD_BYTES_MAX + 10, b'a');
        assert_eq!(
            feed(&huge, 1000, 10).pop(),
            Some(Outcome::Error(HttpError::HeaderFieldsTooLarge))
        );
        let mut line = b"GET /".to_vec();
        line.resize(HEAD_BYTES_MAX + 10, b'a');
        assert_eq!(
            one(&line, 10),
            Outcome::Error(HttpError::HeaderFieldsTooLarge)
        );
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..HEADERS_MAX + 1 {
            many.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(
            one(&many, 10),
            Outcome::Error(HttpError::HeaderFieldsTooLarge)
        );
        // Blank lines before a request line are skipped (RFC 9112 §2.2).
        assert!(matches!(
            one(b"\r\n\r\nGET / HTTP/1.1\r\n\r\n", 10),
            Outcome::Request(_)
        ));
    }

    #[test]
    fn dates_are_imf_fixdates() {
        assert_eq!(&imf_fixdate(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&imf_fixdate(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            &imf_fixdate(1_709_164_800),
            b"Thu, 29 Feb 2024 00:00:00 GMT"
        );
    }

    #[test]
    fn accept_encoding_and_cors_headers_are_read() {
        let req = b"OPTIONS / HTTP/1.1\r\nOrigin: https://app\r\nAccess-Control-Request-Headers: a, b\r\nAccess-Control-Request-Method: POST\r\nAccept-Encoding: br, gzip;q=0.5\r\nContent-Encoding: gzip\r\n\r\n";
        let Outcome::Request(r) = one(req, 10) else {
            panic!("a request")
        };
        assert!(r.origin && r.accepts_gzip);
        assert_eq!(r.cors_request_headers.as_deref(), Some("a, b"));
        assert_eq!(r.cors_request_method.as_deref(), Some("POST"));
        assert_eq!(r.content_encoding.as_deref(), Some("gzip"));
        assert!(!accepts_gzip("gzip;q=0, br"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("identity"));
    }

    #[test]
    fn bodies_decode_within_the_limit() {
        use std::io::Write;
        let plain = br#"{"TableName":"t"}"#.repeat(100);
        let gz = gzip(&plain);
        assert_eq!(decode_body("gzip", &gz, plain.len()), Ok(plain.clone()));
        assert_eq!(
            decode_body("gzip", &gz, plain.len() - 1),
            Err(DecodeError::TooLarge)
        );
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&plain).unwrap();
        assert_eq!(
            decode_body("deflate", &z.finish().unwrap(), 1 << 20),
            Ok(plain.clone())
        );
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(&plain).unwrap();
        assert_eq!(
            decode_body("Deflate", &raw.finish().unwrap(), 1 << 20),
            Ok(plain.clone())
        );
        assert_eq!(
            decode_body("gzip", b"not gzip", 100),
            Err(DecodeError::Corrupt)
        );
        assert_eq!(decode_body("br", b"x", 100), Err(DecodeError::Unsupported));
        assert_eq!(
            decode_body("identity", b"xy", 1),
            Err(DecodeError::TooLarge)
        );
        // A bomb: 64 MiB of zeros in ~64 KiB; refused at the limit, with
        // no more than the limit ever reserved.
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![0u8; 64 << 20]).unwrap();
        let bomb = e.finish().unwrap();
        assert!(bomb.len() < 128 << 10, "{}", bomb.len());
        let mut reserved = 0usize;
        let result = decode_body_with("gzip", &bomb, 1 << 20, &mut |n| {
            reserved += n;
            true
        });
        assert_eq!(result, Err(DecodeError::TooLarge));
        assert!(reserved <= 1 << 20, "{reserved} bytes reserved");
        let refused = decode_body_with("gzip", &gz, 1 << 20, &mut |n| n < 64);
        assert_eq!(refused, Err(DecodeError::OverBudget));
    }

    #[test]
    fn responses_carry_date_and_server() {
        let mut out = Vec::new();
        write_response(&mut out, 200, "application/json", "id", b"{}", false);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\r\nServer: Server\r\n"), "{text}");
        assert!(
            text.contains(" GMT\r\n") && text.contains("\r\nDate: "),
            "{text}"
        );
        assert!(text.ends_with("\r\n\r\n{}"), "{text}");
    }

    #[test]
    fn budget_refusal_allocates_nothing() {
        let mut parser = Parser::new(1 << 20);
        let req = b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n";
        let a = parser.advance(req, &mut |n| n < 1000);
        assert_eq!(a.outcome, Outcome::Error(HttpError::OverBudget));
        assert_eq!(parser.body_capacity(), 0);
    }

    #[test]
    fn body_is_decoded_once_per_byte() {
        // 1 MiB in 1-byte chunks fed 7 bytes at a time: the parser must only
        // ever see the unconsumed tail (nothing left behind to re-decode).
        let mut req = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..(1 << 16) {
            req.extend_from_slice(b"1\r\nz\r\n");
        }
        req.extend_from_slice(b"0\r\n\r\n");
        let mut parser = Parser::new(1 << 20);
        let mut buf = Vec::new();
        let mut done = None;
        for piece in req.chunks(7) {
            buf.extend_from_slice(piece);
            let a = parser.advance(&buf, &mut |_| true);
            buf.drain(..a.consumed);
            if parser.in_body() {
                assert!(buf.is_empty(), "body bytes left undecoded");
            }
            if let Outcome::Request(r) = a.outcome {
                done = Some(r);
            }
        }
        assert_eq!(done.map(|r| r.body.len()), Some(1 << 16));
    }
}
