//! Blocking control-plane client: DescribeTable, CreateTable, probes, the
//! partition map. Runs on the main thread before executors start, so plain
//! `std::net` is fine and simpler; one fresh connection per call, with
//! timeouts so a wedged server fails the command instead of hanging it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::error::{LoadgenError, Result};
use crate::http::{Endpoint, Response, parse_response, write_dynamo_request, write_get_request};
use crate::sigv4::Signer;

const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);
/// DescribeTable, GetItem and the partition map are all far below this.
const CONTROL_RESPONSE_BYTES_MAX: usize = 16 * 1024 * 1024;

fn exchange(endpoint: &Endpoint, request: &[u8]) -> Result<Response> {
    let io = |e| LoadgenError::io(&endpoint.addr, e);
    if endpoint.tls {
        return Err(LoadgenError::InvalidArgument(
            "control-plane calls (load, partition map) are plaintext only: load over http:// \
             first, then run against https:// with --skip-load"
                .to_string(),
        ));
    }
    let mut stream = TcpStream::connect(&endpoint.addr).map_err(io)?;
    stream.set_read_timeout(Some(CONTROL_TIMEOUT)).map_err(io)?;
    stream
        .set_write_timeout(Some(CONTROL_TIMEOUT))
        .map_err(io)?;
    stream.write_all(request).map_err(io)?;
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some((resp, _)) = parse_response(&buf)? {
            return Ok(resp);
        }
        if buf.len() > CONTROL_RESPONSE_BYTES_MAX {
            return Err(LoadgenError::Http(
                "control-plane response too large".into(),
            ));
        }
        let n = stream.read(&mut chunk).map_err(io)?;
        if n == 0 {
            return Err(LoadgenError::Http(
                "server closed the connection before a full response".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Sends one DynamoDB operation; returns the response whatever its status.
pub fn call(
    endpoint: &Endpoint,
    signer: &mut Signer,
    target: &str,
    body: &str,
) -> Result<Response> {
    signer.set_now();
    let mut req = Vec::with_capacity(1024 + body.len());
    write_dynamo_request(&mut req, endpoint, signer, target, body.as_bytes());
    exchange(endpoint, &req)
}

/// Like [`call`] but turns a non-200 answer into [`LoadgenError::Dynamo`].
pub fn call_ok(
    endpoint: &Endpoint,
    signer: &mut Signer,
    target: &'static str,
    body: &str,
) -> Result<serde_json::Value> {
    let resp = call(endpoint, signer, target, body)?;
    if resp.status != 200 {
        return Err(dynamo_error(target, &resp));
    }
    serde_json::from_slice(&resp.body).map_err(|e| LoadgenError::json(target, e))
}

pub fn dynamo_error(op: &'static str, resp: &Response) -> LoadgenError {
    let message = serde_json::from_slice::<serde_json::Value>(&resp.body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("Message"))
                .and_then(|m| m.as_str().map(str::to_string))
        })
        .unwrap_or_default();
    LoadgenError::Dynamo {
        op,
        status: resp.status,
        error_type: crate::http::error_type(&resp.body),
        message,
    }
}

/// `GET path` on the endpoint (the partition map), signed with SigV4: the
/// server answers its admin endpoints only to signed requests.
pub fn get(endpoint: &Endpoint, signer: &mut Signer, path: &str) -> Result<Response> {
    signer.set_now();
    let mut req = Vec::with_capacity(512);
    write_get_request(&mut req, endpoint, signer, path);
    exchange(endpoint, &req)
}
