//! Per-shard connection handling: accept, read, frame, dispatch, respond.
//!
//! Each connection is a task on the shard that accepted it. Requests on one
//! connection are answered in order (HTTP/1.1 pipelining); responses are
//! queued and written together. Everything a connection may hold is bounded:
//!
//! - **Deadlines** (knobs in `config.rs`): a request must arrive whole
//!   within `header_read_timeout_ms` of its first byte (else 408), a
//!   connection with nothing in progress is closed after `idle_timeout_ms`,
//!   and queued responses must be taken by the client within
//!   `write_timeout_ms` of the flush start (else the connection is closed).
//! - **Memory per connection**: the read buffer returns to
//!   [`READ_BUFFER_BYTES`] and the write buffer to [`WRITE_BUFFER_BYTES`]
//!   after a large request or response; once `response_queue_bytes_max`
//!   bytes are queued, no further pipelined request is decoded until the
//!   queue is flushed (the client must read to make progress).
//! - **Memory per shard**: every connection's buffer capacity and body
//!   memory is counted in one [`Budget`] (`connection_buffers_bytes_max`);
//!   over it the request gets ThrottlingException (see the knob's doc).
//!
//! After a framing error (400/413/431/501) or a budget refusal the reply is
//! written with `Connection: close`, the write side is shut down and the
//! rest of the request is read and discarded (bounded by the request
//! deadline and [`DISCARD_BYTES_MAX`]) before closing: closing with unread
//! bytes would make the kernel send RST, and a client still sending its body
//! would see EPIPE instead of our 413.

use std::cell::Cell;
use std::net::Shutdown;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use futures_rustls::server::TlsStream;
use glommio::net::{TcpListener, TcpStream};

use super::auth::{Caller, ShardAuth};
use super::health::Health;
use super::http::{self, HttpError, Outcome, Parser};
use super::tls::ShardTls;
use crate::api::{self, RequestHead, Shard};
use crate::config::Config;

const JSON_1_0: &str = "application/x-amz-json-1.0";
/// Baseline read buffer of a connection (one read's worth).
pub const READ_BUFFER_BYTES: usize = 16 * 1024;
/// Baseline write buffer: many small pipelined replies fit without growing.
pub const WRITE_BUFFER_BYTES: usize = 16 * 1024;
/// Most bytes read and thrown away while lingering before a close.
pub const DISCARD_BYTES_MAX: usize = 64 << 20;
/// What rustls holds per connection beyond our buffers (a received record
/// of up to 16 KiB plus its own send queue), counted in the budget.
pub const TLS_BUFFER_BYTES: usize = 34 * 1024;

/// A client connection, plaintext or TLS: the HTTP layer reads and writes
/// it the same way; deadlines are set on the TCP socket underneath (so a
/// TLS record arriving slowly counts against the same deadline).
pub trait Conn: AsyncRead + AsyncWrite + Unpin {
    fn tcp(&self) -> &TcpStream;
}

impl Conn for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Conn for TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

/// Connection-buffer memory of one shard: bytes held by all its connections.
pub struct Budget {
    used: Cell<usize>,
    max: usize,
}

impl Budget {
    fn try_take(&self, bytes: usize) -> bool {
        match self.used.get().checked_add(bytes) {
            Some(total) if total <= self.max => {
                self.used.set(total);
                true
            }
            _ => false,
        }
    }

    fn over(&self) -> bool {
        self.used.get() > self.max
    }
}

/// What one connection holds of the budget; given back on drop, so every
/// exit path (errors, deadlines, panics in a handler) returns its bytes.
struct Held<'a> {
    budget: &'a Budget,
    bytes: usize,
}

impl Held<'_> {
    /// Asks for `bytes` more; refuses past the budget.
    fn try_grow(&mut self, bytes: usize) -> bool {
        let ok = self.budget.try_take(bytes);
        if ok {
            self.bytes += bytes;
        }
        ok
    }

    /// Re-accounts to what the connection really holds now. Never refused:
    /// memory already allocated (a built response) is counted, even over.
    fn set(&mut self, bytes: usize) {
        let used = self.budget.used.get().saturating_sub(self.bytes);
        self.budget.used.set(used.saturating_add(bytes));
        self.bytes = bytes;
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.set(0);
    }
}

/// The front door of one shard: its connection slots and buffer budget.
pub struct Front {
    pub shard: Rc<Shard>,
    pub config: Rc<Config>,
    pub health: Arc<Health>,
    /// The credentials in force on this shard (refreshed by its heartbeat).
    pub auth: ShardAuth,
    /// The admin listener's front: `GET /metrics` and `/dynacore/*` only.
    pub admin: bool,
    open: Cell<usize>,
    budget: Budget,
}

impl Front {
    pub fn new(
        shard: Rc<Shard>,
        config: Rc<Config>,
        health: Arc<Health>,
        auth: ShardAuth,
    ) -> Rc<Front> {
        let max = config.connection_buffers_bytes_max;
        Rc::new(Front {
            shard,
            config,
            health,
            auth,
            admin: false,
            open: Cell::new(0),
            budget: Budget {
                used: Cell::new(0),
                max,
            },
        })
    }

    /// The admin listener's front (its connections are not counted in the
    /// shard's client connection figures).
    pub fn admin(
        shard: Rc<Shard>,
        config: Rc<Config>,
        health: Arc<Health>,
        auth: ShardAuth,
    ) -> Rc<Front> {
        let max = config.connection_buffers_bytes_max;
        Rc::new(Front {
            shard,
            config,
            health,
            auth,
            admin: true,
            open: Cell::new(0),
            budget: Budget {
                used: Cell::new(0),
                max,
            },
        })
    }

    fn add_connections(&self, delta: isize) {
        if self.admin {
            self.open.set(self.open.get().saturating_add_signed(delta));
            return;
        }
        let open = self.open.get().saturating_add_signed(delta);
        self.open.set(open);
        self.health.set_connections_open(self.shard.id, open as u64);
    }

    pub fn buffer_bytes(&self) -> usize {
        self.budget.used.get()
    }
}

/// Accepts on `listener` until the shard stops; with `tls`, every
/// connection first completes a TLS handshake within
/// `tls_handshake_timeout_ms`.
pub async fn accept_loop(front: Rc<Front>, listener: TcpListener, tls: Option<Rc<ShardTls>>) {
    loop {
        let stream = match listener.accept().await {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(shard = front.shard.id, "accept failed: {e}");
                glommio::timer::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let front = front.clone();
        let tls = tls.clone();
        glommio::spawn_local(async move {
            let stream = stream;
            if front.open.get() >= front.config.connections_per_shard_max {
                match tls {
                    // A refusal over TLS would first cost a handshake, the
                    // very CPU an overloaded shard lacks: close at once
                    // (clients see a failed connect and retry).
                    Some(_) => drop(stream),
                    None => refuse(&front, stream, "Too many open connections on this shard").await,
                }
                return;
            }
            let mut held = Held {
                budget: &front.budget,
                bytes: 0,
            };
            let baseline = READ_BUFFER_BYTES
                + WRITE_BUFFER_BYTES
                + if tls.is_some() { TLS_BUFFER_BYTES } else { 0 };
            if !held.try_grow(baseline) {
                drop(held);
                match tls {
                    Some(_) => drop(stream),
                    None => refuse(&front, stream, OVER_BUDGET).await,
                }
                return;
            }
            front.add_connections(1);
            let _ = stream.set_nodelay(true);
            match tls {
                None => {
                    let mut stream = stream;
                    if let Err(e) = serve_connection(&front, &mut stream, &mut held).await {
                        tracing::debug!(shard = front.shard.id, "connection closed: {e}");
                    }
                    let _ = stream.close().await;
                }
                Some(tls) => {
                    if let Some(mut stream) = handshake(&front, &tls, stream).await {
                        if let Err(e) = serve_connection(&front, &mut stream, &mut held).await {
                            tracing::debug!(shard = front.shard.id, "TLS connection closed: {e}");
                        }
                        let _ = stream.close().await;
                    }
                }
            }
            front.add_connections(-1);
        })
        .detach();
    }
}

/// The server side of a TLS handshake, bounded as a whole by
/// `tls_handshake_timeout_ms` (a client trickling its ClientHello byte by
/// byte cannot hold a slot longer). None: failed or too slow (logged at
/// debug; the socket is dropped, which closes it).
async fn handshake(
    front: &Front,
    tls: &ShardTls,
    stream: TcpStream,
) -> Option<TlsStream<TcpStream>> {
    let limit = Duration::from_millis(front.config.tls_handshake_timeout_ms.max(1));
    let _ = stream.set_read_timeout(Some(limit));
    let _ = stream.set_write_timeout(Some(limit));
    let acceptor = tls.acceptor();
    let accept = async { Some(acceptor.accept(stream).await) };
    let deadline = async {
        glommio::timer::sleep(limit).await;
        None
    };
    match futures_lite::future::or(accept, deadline).await {
        Some(Ok(stream)) => Some(stream),
        Some(Err(e)) => {
            tracing::debug!(shard = front.shard.id, "TLS handshake failed: {e}");
            None
        }
        None => {
            tracing::debug!(shard = front.shard.id, "TLS handshake deadline passed");
            None
        }
    }
}

const OVER_BUDGET: &str =
    "Connection buffers of this shard are exhausted (connection_buffers_bytes_max); retry later";

async fn refuse(front: &Front, mut stream: TcpStream, why: &str) {
    let error = api::ApiError::throttling(why);
    let mut out = Vec::new();
    http::write_response(&mut out, 400, JSON_1_0, "refused", &error.to_json(), true);
    let write = Duration::from_millis(front.config.write_timeout_ms.max(1));
    if flush(&mut stream, &mut out, write).await.is_ok() {
        let _ = stream.shutdown(Shutdown::Write).await;
    }
    let _ = stream.close().await;
}

thread_local! {
    static REQUEST_SEQ: Cell<u64> = const { Cell::new(0) };
}

/// The process id, read once: `std::process::id()` is a `getpid` system
/// call every time (glibc does not cache it), and every response needs it.
fn pid() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// A request id on the stack (no allocation); reads as `&str`.
pub struct RequestId([u8; 52]);

impl std::ops::Deref for RequestId {
    type Target = str;
    fn deref(&self) -> &str {
        // Only ASCII hex digits are ever written.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

/// Upper-case hex of `value` into `out`, most significant digit first.
fn hex_into(out: &mut [u8], mut value: u128) {
    for b in out.iter_mut().rev() {
        *b = b"0123456789ABCDEF"[(value & 0xF) as usize];
        value >>= 4;
    }
}

/// A 52-character request id, unique per process like DynamoDB's:
/// shard (4 hex digits), pid (16), per-shard sequence (32).
fn request_id(shard: u32) -> RequestId {
    let seq = REQUEST_SEQ.with(|s| {
        let n = s.get() + 1;
        s.set(n);
        n
    });
    let mut id = [0u8; 52];
    hex_into(&mut id[..4], u128::from(shard & 0xFFFF));
    hex_into(&mut id[4..20], u128::from(pid()));
    hex_into(&mut id[20..], u128::from(seq));
    RequestId(id)
}

/// How a connection ends after its last flush.
enum Ending {
    KeepGoing,
    /// The client asked for it (Connection: close / HTTP/1.0).
    Close,
    /// We refused a request: linger so the client reads our reply.
    Linger,
}

fn timed_out() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, "deadline passed")
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

async fn serve_connection<S: Conn>(
    front: &Front,
    stream: &mut S,
    held: &mut Held<'_>,
) -> std::io::Result<()> {
    let config = &front.config;
    let shard = &front.shard;
    let mut buf: Vec<u8> = Vec::with_capacity(READ_BUFFER_BYTES);
    let mut out: Vec<u8> = Vec::new();
    let mut start = 0; // buf[..start] is consumed
    let mut parser = Parser::new(config.request_body_bytes_max);
    let idle = Duration::from_millis(config.idle_timeout_ms.max(1));
    let request_time = Duration::from_millis(config.header_read_timeout_ms.max(1));
    let write = Duration::from_millis(config.write_timeout_ms.max(1));
    // Set at a request's first byte, cleared when it is complete.
    let mut deadline: Option<Instant> = None;
    loop {
        // Answer buffered requests until input runs out or the queue is full.
        let mut ending = Ending::KeepGoing;
        let mut need_input = false;
        while out.len() < config.response_queue_bytes_max {
            if deadline.is_none() && (start < buf.len() || parser.in_body()) {
                deadline = Some(Instant::now() + request_time);
            }
            let advance = parser.advance(&buf[start..], &mut |n| held.try_grow(n));
            start += advance.consumed;
            match advance.outcome {
                Outcome::NeedInput => {
                    need_input = true;
                    break;
                }
                Outcome::Request(request) => {
                    deadline = None;
                    let close = request.close;
                    if front.budget.over() {
                        let error = api::ApiError::throttling(OVER_BUDGET);
                        let id = request_id(shard.id);
                        http::write_response(&mut out, 400, JSON_1_0, &id, &error.to_json(), true);
                        ending = Ending::Linger;
                        break;
                    }
                    respond(front, request, &mut out, Instant::now()).await;
                    held.set(buf.capacity() + out.capacity() + parser.body_capacity());
                    if close {
                        ending = Ending::Close;
                        break;
                    }
                }
                Outcome::Error(error) => {
                    let body = match error {
                        HttpError::BodyTooLarge => {
                            api::ApiError::request_entity_too_large(config.request_body_bytes_max)
                                .to_json()
                        }
                        HttpError::OverBudget => api::ApiError::throttling(OVER_BUDGET).to_json(),
                        _ => Vec::new(),
                    };
                    let id = request_id(shard.id);
                    http::write_response(&mut out, error.status(), JSON_1_0, &id, &body, true);
                    ending = Ending::Linger;
                    break;
                }
            }
        }
        if !out.is_empty() {
            held.set(buf.capacity() + out.capacity() + parser.body_capacity());
            flush(stream, &mut out, write).await?;
            if out.capacity() > WRITE_BUFFER_BYTES {
                out = Vec::with_capacity(WRITE_BUFFER_BYTES);
            }
        }
        match ending {
            Ending::KeepGoing => {}
            Ending::Close => return Ok(()),
            Ending::Linger => {
                let until = deadline.unwrap_or_else(|| Instant::now() + request_time);
                return linger(stream, &mut buf, until).await;
            }
        }
        if !need_input {
            continue; // the queue was full: decode more before reading
        }
        // Drop consumed bytes; give back memory a large head needed.
        buf.drain(..start);
        start = 0;
        if buf.capacity() > READ_BUFFER_BYTES && buf.len() <= READ_BUFFER_BYTES {
            buf.shrink_to(READ_BUFFER_BYTES);
        }
        if buf.len() == buf.capacity() {
            // Only an unfinished head stays buffered (bodies are decoded
            // as they arrive), and the parser refuses heads past
            // HEAD_BYTES_MAX, so this growth is bounded.
            buf.reserve(READ_BUFFER_BYTES);
        }
        held.set(buf.capacity() + out.capacity() + parser.body_capacity());
        let timeout = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => idle,
        };
        let n = match read_some(stream, &mut buf, timeout).await {
            Ok(n) => n,
            Err(e) if is_timeout(&e) && deadline.is_some() => {
                // Slow request: tell the client why, then close.
                let id = request_id(shard.id);
                http::write_response(&mut out, 408, JSON_1_0, &id, &[], true);
                let _ = flush(stream, &mut out, write).await;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(());
        }
    }
}

/// Reads once into `buf`'s spare capacity, waiting at most `timeout`.
async fn read_some<S: Conn>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    timeout: Duration,
) -> std::io::Result<usize> {
    if timeout.is_zero() {
        return Err(timed_out());
    }
    stream.tcp().set_read_timeout(Some(timeout))?;
    let len = buf.len();
    buf.resize(buf.capacity(), 0);
    let result = stream.read(&mut buf[len..]).await;
    let n = *result.as_ref().unwrap_or(&0);
    buf.truncate(len + n);
    result
}

/// Writes all of `out` within `timeout` from now, then clears it.
async fn flush<S: Conn>(
    stream: &mut S,
    out: &mut Vec<u8>,
    timeout: Duration,
) -> std::io::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut pos = 0;
    while pos < out.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        stream.tcp().set_write_timeout(Some(left))?;
        let n = stream.write(&out[pos..]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        pos += n;
    }
    // TLS may keep encrypted records queued after accepting plaintext.
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(timed_out());
    }
    stream.tcp().set_write_timeout(Some(left))?;
    stream.flush().await?;
    out.clear();
    Ok(())
}

/// Half-closes, then reads and discards what the client still sends until
/// it closes, `until` passes or [`DISCARD_BYTES_MAX`] bytes went by.
async fn linger<S: Conn>(stream: &mut S, buf: &mut Vec<u8>, until: Instant) -> std::io::Result<()> {
    // Half-close: for TLS, close_notify then the TCP write side.
    stream.close().await?;
    buf.clear();
    buf.shrink_to(READ_BUFFER_BYTES);
    let mut discarded = 0usize;
    while discarded < DISCARD_BYTES_MAX {
        let left = until.saturating_duration_since(Instant::now());
        match read_some(stream, buf, left).await {
            Ok(0) | Err(_) => break,
            Ok(n) => discarded += n,
        }
        buf.clear();
    }
    Ok(())
}

/// Answers one framed request (`framed`: when its last byte was decoded,
/// where the request logs' queue phase starts).
async fn respond(front: &Front, request: http::Request, out: &mut Vec<u8>, framed: Instant) {
    let shard = &front.shard;
    let id = request_id(shard.id);
    let close = request.close;
    // CORS as DynamoDB answers browsers: any origin; a preflight gets the
    // headers and method it asked for, for two days. x-amz-crc32 is not
    // exposed (browser SDKs skip the check, which gzip would defeat).
    let cors = if request.origin { CORS_ANY_ORIGIN } else { "" };
    if request.origin && request.method == "OPTIONS" {
        preflight(out, &request, &id);
        return;
    }
    if front.admin {
        admin_request(front, &request, out, &id).await;
        return;
    }
    match (request.method.as_str(), request.path.as_str()) {
        // DynamoDB ignores the path of an API request.
        ("POST", _) => api_request(front, request, out, &id, cors, framed).await,
        ("GET", "/dynacore/health") => {
            let (status, body) = front.health.http_report();
            // Unsigned probes (load balancers, systemd) get the verdict only;
            // the per-shard detail is an admin answer.
            let body = match admin(front, &request) {
                Ok(()) => body,
                Err(_) if status == 200 => br#"{"status":"ok"}"#.to_vec(),
                Err(_) => br#"{"status":"unavailable"}"#.to_vec(),
            };
            http::write_response(out, status, "application/json", &id, &body, close);
        }
        ("GET", "/dynacore/partition-map") => match admin(front, &request) {
            Ok(()) => {
                let body = super::admin::partition_map_json(shard, &front.config);
                http::write_response(out, 200, "application/json", &id, &body, close);
            }
            Err(e) => http::write_response(out, e.status, JSON_1_0, &id, &e.to_json(), close),
        },
        ("GET", "/dynacore/metrics") => match admin(front, &request) {
            Ok(()) => {
                let (status, body) = super::admin::metrics_json(shard).await;
                http::write_response(out, status, "application/json", &id, &body, close);
            }
            Err(e) => http::write_response(out, e.status, JSON_1_0, &id, &e.to_json(), close),
        },
        ("GET", _) => {
            let body = format!("healthy: dynamodb.{}.amazonaws.com ", front.config.region);
            let head = http::ResponseHead {
                status: 200,
                content_type: "text/plain",
                request_id: &id,
                close,
                extra: cors,
                ..http::ResponseHead::default()
            };
            http::write_response_with(out, &head, body.as_bytes());
        }
        _ => not_found(out, &id, close, cors),
    }
}

/// The admin listener: Prometheus `GET /metrics` and the `/dynacore/*`
/// endpoints; anything else is 404.
async fn admin_request(front: &Front, request: &http::Request, out: &mut Vec<u8>, id: &str) {
    let shard = &front.shard;
    let close = request.close;
    let (status, content_type, body) = match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/metrics") => {
            let (status, body) =
                super::admin::metrics_prometheus(shard, &front.health, &front.config).await;
            (status, crate::metrics::prom::CONTENT_TYPE, body)
        }
        ("GET", "/dynacore/health") => {
            let (status, body) = front.health.http_report();
            (status, "application/json", body)
        }
        ("GET", "/dynacore/partition-map") => (
            200,
            "application/json",
            super::admin::partition_map_json(shard, &front.config),
        ),
        ("GET", "/dynacore/metrics") => {
            let (status, body) = super::admin::metrics_json(shard).await;
            (status, "application/json", body)
        }
        _ => (404, "text/plain", b"not found\n".to_vec()),
    };
    http::write_response(out, status, content_type, id, &body, close);
}

const JSON_1_1: &str = "application/x-amz-json-1.1";

/// The admin endpoints on the data port answer only signed requests of a
/// key allowed `dynacore:Admin` (without credentials, on a loopback-only
/// server: any well-formed signed request).
fn admin(front: &Front, request: &http::Request) -> Result<(), api::ApiError> {
    let caller = front
        .auth
        .authenticate(&request.head, &request.body)
        .map_err(|e| api::ApiError::from_auth(&e))?;
    match caller.key() {
        Some(key) => api::access::authorize_admin(&front.shard.settings.account_id, key),
        None => Ok(()),
    }
}

const CORS_ANY_ORIGIN: &str = "Access-Control-Allow-Origin: *\r\n";
/// DynamoDB's answer to what is not an API request (another method, or a
/// body of another content type).
const NOT_FOUND_BODY: &[u8] = b"<UnknownOperationException/>\n";

fn not_found(out: &mut Vec<u8>, id: &str, close: bool, cors: &str) {
    let head = http::ResponseHead {
        status: 404,
        request_id: id,
        close,
        extra: cors,
        ..http::ResponseHead::default()
    };
    http::write_response_with(out, &head, NOT_FOUND_BODY);
}

fn preflight(out: &mut Vec<u8>, request: &http::Request, id: &str) {
    let mut extra = String::from(CORS_ANY_ORIGIN);
    if let Some(headers) = &request.cors_request_headers {
        extra.push_str(&format!("Access-Control-Allow-Headers: {headers}\r\n"));
    }
    if let Some(method) = &request.cors_request_method {
        extra.push_str(&format!("Access-Control-Allow-Methods: {method}\r\n"));
    }
    extra.push_str("Access-Control-Max-Age: 172800\r\n");
    let head = http::ResponseHead {
        status: 200,
        request_id: id,
        close: request.close,
        extra: &extra,
        ..http::ResponseHead::default()
    };
    http::write_response_with(out, &head, &[]);
}

/// A DynamoDB API request: content type, content coding, the operation,
/// then the reply, gzip-compressed when the client accepts it and it is
/// at least `response_gzip_bytes_min` long.
async fn api_request(
    front: &Front,
    request: http::Request,
    out: &mut Vec<u8>,
    id: &str,
    cors: &str,
    framed: Instant,
) {
    let shard = &front.shard;
    let close = request.close;
    let content_type = request
        .content_type
        .as_deref()
        .map(|ct| ct.split(';').next().unwrap_or("").trim());
    let is = |name: &str| content_type.is_some_and(|ct| ct.eq_ignore_ascii_case(name));
    // Replies use the request's JSON content type (application/json for
    // anything else, as DynamoDB).
    let reply_type = if is(JSON_1_0) {
        JSON_1_0
    } else if is(JSON_1_1) {
        JSON_1_1
    } else {
        "application/json"
    };
    let json = is(JSON_1_0) || is(JSON_1_1) || is("application/json");
    if !json && !request.body.is_empty() {
        not_found(out, id, close, cors);
        return;
    }
    let reply = |out: &mut Vec<u8>, status: u16, body: &[u8], coding: Option<&str>| {
        let head = http::ResponseHead {
            status,
            content_type: reply_type,
            request_id: id,
            close,
            content_encoding: coding,
            extra: cors,
        };
        http::write_response_with(out, &head, body);
    };
    // The decoded body counts in the shard's buffer budget while the
    // request runs (given back when `_decoded` drops).
    let mut _decoded = Taken {
        budget: &front.budget,
        bytes: 0,
    };
    // The signature, before anything is decoded: it covers the body as
    // received (compressed, if it was). An unknown operation is reported
    // as such first, as DynamoDB does.
    let known = request
        .target
        .as_deref()
        .and_then(api::operation_of)
        .is_some();
    let caller = if known {
        match front.auth.authenticate(&request.head, &request.body) {
            Ok(caller) => Some(caller),
            Err(e) => {
                shard.counters.errors.set(shard.counters.errors.get() + 1);
                reply(out, 400, &api::ApiError::from_auth(&e).to_json(), None);
                return;
            }
        }
    } else {
        None
    };
    let body = match request.content_encoding.as_deref() {
        None => request.body,
        Some(coding) => {
            let limit = front.config.request_body_bytes_max;
            let decoded =
                http::decode_body_with(coding, &request.body, limit, &mut |n| _decoded.take(n));
            match decoded {
                Ok(body) => body,
                Err(e) => {
                    let (status, error) = match e {
                        http::DecodeError::TooLarge => {
                            (413, api::ApiError::request_entity_too_large(limit))
                        }
                        http::DecodeError::Corrupt => (
                            400,
                            api::ApiError::serialization(format!(
                                "The request body could not be decoded as {coding}"
                            )),
                        ),
                        http::DecodeError::Unsupported => (
                            415,
                            api::ApiError::serialization(format!(
                                "Unsupported Content-Encoding: {coding}"
                            )),
                        ),
                        http::DecodeError::OverBudget => {
                            (400, api::ApiError::throttling(OVER_BUDGET))
                        }
                    };
                    reply(out, status, &error.to_json(), None);
                    return;
                }
            }
        }
    };
    let head = RequestHead {
        target: request.target.as_deref(),
        content_type: request.content_type.as_deref(),
        has_authorization: request.has_authorization,
    };
    let key = caller.as_ref().and_then(Caller::key);
    let started = Instant::now();
    let (status, body, trace) = api::dispatch::handle_http_traced(shard, &head, body, key).await;
    let replied = Instant::now();
    let mut compressed = None;
    if request.accepts_gzip && body.len() >= front.config.response_gzip_bytes_min {
        let gz = http::gzip(&body);
        if gz.len() < body.len() {
            compressed = Some(gz);
        }
    }
    match &compressed {
        Some(gz) => reply(out, status, gz, Some("gzip")),
        None => reply(out, status, &body, None),
    }
    log_request(front, id, status, &trace, [framed, started, replied]);
}

/// The request logs: a server fault's detail, the slow-request log
/// (`slow_request_ms`) and the JSON request log (`request_log = "json"`),
/// each line with the request's `x-amzn-RequestId`. `[framed, started,
/// replied]`: the request decoded from the connection, its operation
/// started (after SigV4 and body decoding: the queue phase) and ended.
/// The phases add up to the total: queue, parse, engine, sync (waiting
/// for the WAL's fdatasync), reply (encoding and compression).
fn log_request(
    front: &Front,
    id: &str,
    status: u16,
    trace: &api::dispatch::Trace,
    at: [Instant; 3],
) {
    let [framed, started, replied] = at;
    let shard = &front.shard;
    if let Some(detail) = &trace.fault {
        tracing::error!(shard = shard.id, request_id = id, error = %detail, "request failed");
    }
    let config = &front.config;
    let json = config.request_log == "json";
    if config.slow_request_ms == 0 && !json {
        return;
    }
    let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    let total_us = micros(framed.elapsed());
    let queue_us = micros(started.saturating_duration_since(framed));
    let reply_us = micros(replied.elapsed());
    let slow = config.slow_request_ms > 0 && total_us >= config.slow_request_ms * 1000;
    if !slow && !json {
        return;
    }
    let table = shard.metrics.table_name(trace.table_slot);
    let error = trace
        .error
        .as_deref()
        .map(|t| t.rsplit('#').next().unwrap_or(t))
        .unwrap_or("");
    // The placement hash as 16 hex digits (`/dynacore/partition-map`'s
    // ranges are in the same terms); empty for a request with no key.
    let key_hash = trace
        .key_hash
        .map(|h| format!("{h:016x}"))
        .unwrap_or_default();
    if slow {
        tracing::warn!(
            shard = shard.id,
            request_id = id,
            operation = trace.operation,
            table = %table,
            key_hash = %key_hash,
            status,
            error_type = error,
            total_us,
            queue_us,
            parse_us = trace.parse_us,
            engine_us = trace.engine_us,
            sync_us = trace.sync_us,
            reply_us,
            "slow request"
        );
    }
    if json {
        let mut line = String::with_capacity(320);
        line.push_str("{\"type\":\"request\",\"request_id\":\"");
        line.push_str(id);
        line.push_str(&format!(
            "\",\"shard\":{},\"operation\":\"{}\",\"table\":{},\"key_hash\":\"{key_hash}\",\"status\":{status},\"error_type\":\"{error}\",\"duration_us\":{total_us},\"queue_us\":{queue_us},\"parse_us\":{},\"engine_us\":{},\"sync_us\":{},\"reply_us\":{reply_us},\"slow\":{slow}}}",
            shard.id,
            trace.operation,
            json_string(&table),
            trace.parse_us,
            trace.engine_us,
            trace.sync_us,
        ));
        eprintln!("{line}");
    }
}

/// `value` as a JSON string literal.
fn json_string(value: &str) -> String {
    let mut out = Vec::with_capacity(value.len() + 2);
    crate::model::value::write_json_str(&mut out, value);
    String::from_utf8(out).unwrap_or_default()
}

/// Budget bytes taken for the duration of one request; given back on drop.
struct Taken<'a> {
    budget: &'a Budget,
    bytes: usize,
}

impl Taken<'_> {
    fn take(&mut self, bytes: usize) -> bool {
        let ok = self.budget.try_take(bytes);
        if ok {
            self.bytes += bytes;
        }
        ok
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        let used = self.budget.used.get().saturating_sub(self.bytes);
        self.budget.used.set(used);
    }
}

/// Binds `addr` on this shard (SO_REUSEPORT, set by glommio).
pub fn bind(addr: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).map_err(|e| std::io::Error::other(e.to_string()))
}

/// Binds `addr` for this shard alone, without SO_REUSEPORT: a listener no
/// other process can join (the kernel refuses the bind while anything else
/// holds the port, and refuses any later bind, REUSEPORT or not), so a
/// second server given the same address fails instead of silently taking
/// half of the connections. For the single admin listener.
#[allow(unsafe_code)]
pub fn bind_exclusive(addr: &str) -> std::io::Result<TcpListener> {
    use std::os::fd::{FromRawFd, IntoRawFd};
    let std_listener = std::net::TcpListener::bind(addr)?;
    let fd = std_listener.into_raw_fd();
    // SAFETY: `fd` is a bound, listening TCP socket that `into_raw_fd` gave
    // up; the glommio listener takes sole ownership of it (closes it).
    Ok(unsafe { TcpListener::from_raw_fd(fd) })
}
