//! Per-shard connection handling: accept, read, frame, dispatch, respond.
//!
//! Each connection is a task on the shard that accepted it. Requests on one
//! connection are answered in order (HTTP/1.1 pipelining); responses to all
//! requests already buffered are written with one send. Reads time out:
//! `idle_timeout_ms` between requests, `header_read_timeout_ms` once a
//! request has started, so a slow or stalled client cannot hold a slot.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::{TcpListener, TcpStream};

use super::http::{self, Parse};
use crate::api::{self, RequestHead, Shard};
use crate::config::Config;

const JSON_1_0: &str = "application/x-amz-json-1.0";
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// Connection slots of one shard.
pub struct Slots {
    open: Cell<usize>,
    max: usize,
}

impl Slots {
    pub fn new(max: usize) -> Rc<Slots> {
        Rc::new(Slots {
            open: Cell::new(0),
            max,
        })
    }
}

pub async fn accept_loop(
    shard: Rc<Shard>,
    config: Rc<Config>,
    listener: TcpListener,
    slots: Rc<Slots>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(shard = shard.id, "accept failed: {e}");
                glommio::timer::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let shard = shard.clone();
        let config = config.clone();
        let slots = slots.clone();
        glommio::spawn_local(async move {
            if slots.open.get() >= slots.max {
                refuse(stream).await;
                return;
            }
            slots.open.set(slots.open.get() + 1);
            let _ = stream.set_nodelay(true);
            if let Err(e) = serve_connection(&shard, &config, stream).await {
                tracing::debug!(shard = shard.id, "connection closed: {e}");
            }
            slots.open.set(slots.open.get() - 1);
        })
        .detach();
    }
}

async fn refuse(mut stream: TcpStream) {
    let error = api::ApiError::throttling("Too many open connections on this shard");
    let mut out = Vec::new();
    http::write_response(&mut out, 400, JSON_1_0, "refused", &error.to_json(), true);
    let _ = stream.write_all(&out).await;
    let _ = stream.close().await;
}

thread_local! {
    static REQUEST_SEQ: Cell<u64> = const { Cell::new(0) };
}

/// A 52-character request id, unique per process like DynamoDB's.
fn request_id(shard: u32) -> String {
    let seq = REQUEST_SEQ.with(|s| {
        let n = s.get() + 1;
        s.set(n);
        n
    });
    format!("{shard:04X}{:016X}{seq:032X}", std::process::id())
}

async fn serve_connection(
    shard: &Rc<Shard>,
    config: &Config,
    mut stream: TcpStream,
) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK_BYTES);
    let mut out: Vec<u8> = Vec::with_capacity(READ_CHUNK_BYTES);
    let idle = Duration::from_millis(config.idle_timeout_ms.max(1));
    let header = Duration::from_millis(config.header_read_timeout_ms.max(1));
    loop {
        // Answer every complete request already buffered.
        let mut consumed = 0;
        let mut close = false;
        loop {
            match http::parse(&buf[consumed..], config.request_body_bytes_max) {
                Parse::Complete(request, used) => {
                    consumed += used;
                    close = request.close;
                    respond(shard, config, request, &mut out).await;
                    if close {
                        break;
                    }
                }
                Parse::Partial => break,
                Parse::Error(status, _) => {
                    let body = if status == 413 {
                        api::ApiError::request_entity_too_large(config.request_body_bytes_max)
                            .to_json()
                    } else {
                        Vec::new()
                    };
                    http::write_response(
                        &mut out,
                        status,
                        JSON_1_0,
                        &request_id(shard.id),
                        &body,
                        true,
                    );
                    close = true;
                    break;
                }
            }
        }
        buf.drain(..consumed);
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if close {
            return stream.close().await;
        }
        stream.set_read_timeout(Some(if buf.is_empty() { idle } else { header }))?;
        let start = buf.len();
        buf.resize(start + READ_CHUNK_BYTES, 0);
        let n = match stream.read(&mut buf[start..]).await {
            Ok(n) => n,
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        };
        buf.truncate(start + n);
        if n == 0 {
            return Ok(());
        }
    }
}

async fn respond(shard: &Rc<Shard>, config: &Config, request: http::Request, out: &mut Vec<u8>) {
    let id = request_id(shard.id);
    let close = request.close;
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/") => {
            let head = RequestHead {
                target: request.target.as_deref(),
                content_type: request.content_type.as_deref(),
                has_authorization: request.has_authorization,
            };
            let (status, body) = api::handle_http(shard, &head, request.body).await;
            http::write_response(out, status, JSON_1_0, &id, &body, close);
        }
        ("GET", "/") => {
            let body = format!("healthy: dynamodb.{}.amazonaws.com ", config.region);
            http::write_response(out, 200, "text/plain", &id, body.as_bytes(), close);
        }
        ("GET", "/dynacore/partition-map") => {
            let body = super::admin::partition_map_json(shard, config);
            http::write_response(out, 200, "application/json", &id, &body, close);
        }
        ("GET", "/dynacore/metrics") => {
            let (status, body) = super::admin::metrics_json(shard).await;
            http::write_response(out, status, "application/json", &id, &body, close);
        }
        _ => {
            let body = api::ApiError::unknown_operation().to_json();
            http::write_response(out, 404, JSON_1_0, &id, &body, close);
        }
    }
}

/// Binds `addr` on this shard (SO_REUSEPORT, set by glommio).
pub fn bind(addr: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).map_err(|e| std::io::Error::other(e.to_string()))
}
