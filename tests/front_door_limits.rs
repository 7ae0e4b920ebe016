//! Front door, memory limits: an oversized body gets its 413 (not EPIPE),
//! the shard's connection-buffer budget refuses with ThrottlingException,
//! and pipelined large Scans that are never read keep the server's RSS
//! bounded (the response queue cap stops decoding until the client reads),
//! then resume when the client drains.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::{error_type, raw_request, read_response, start_with_config, wait_until};

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    stream
}

#[test]
fn a_body_over_the_limit_gets_its_413() {
    // A long request deadline: the lingering close that lets the client
    // finish sending (and then read the 413) is bounded by it.
    let server = start_with_config("fd-413", 2, "header_read_timeout_ms = 120000\n");
    let body_bytes = 17_000_000; // > the 16 MiB default limit
    let mut stream = connect(server.port);
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {body_bytes}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("head");
    // Like any HTTP client: send the whole body, then read the reply.
    let piece = vec![b' '; 1 << 20];
    let mut sent = 0;
    while sent < body_bytes {
        let n = piece.len().min(body_bytes - sent);
        stream
            .write_all(&piece[..n])
            .expect("the server keeps reading (no EPIPE)");
        sent += n;
    }
    let (status, _, body) = read_response(&mut stream, &mut Vec::new()).expect("the 413 arrives");
    assert_eq!(status, 413, "{body}");
    assert_eq!(error_type(&body), "RequestEntityTooLarge", "{body}");

    // Chunked: the decoded size counts, refused as soon as it is announced.
    let mut stream = connect(server.port);
    let head = "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\nTransfer-Encoding: chunked\r\n\r\n800000\r\n";
    stream.write_all(head.as_bytes()).expect("head");
    let half = vec![b' '; 0x80_0000];
    stream.write_all(&half).expect("first 8 MiB chunk");
    stream
        .write_all(b"\r\n900000\r\n")
        .expect("second chunk size");
    let (status, _, body) = read_response(&mut stream, &mut Vec::new()).expect("the 413 arrives");
    assert_eq!(
        (status, error_type(&body).as_str()),
        (413, "RequestEntityTooLarge")
    );
    let (status, body) = server.call("ListTables", "{}");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn the_shard_buffer_budget_throttles() {
    let server = start_with_config(
        "fd-budget",
        1,
        "connection_buffers_bytes_max = 4194304\nheader_read_timeout_ms = 120000\n",
    );
    // 8 MiB fits the body limit but not the shard's 4 MiB budget: refused
    // before any of it is read or allocated.
    let mut stream = connect(server.port);
    let head = "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Length: 8388608\r\n\r\n";
    stream.write_all(head.as_bytes()).expect("head");
    let (status, _, body) = read_response(&mut stream, &mut Vec::new()).expect("a reply");
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "ThrottlingException"),
        "{body}"
    );
    drop(stream);
    // The budget is given back: small requests are served.
    let (status, body) = server.call("ListTables", "{}");
    assert_eq!(status, 200, "{body}");
    assert!(wait_until(Duration::from_secs(60), || {
        server.health_sum("connection_buffer_bytes") < 1 << 20
    }));
}

#[test]
fn pipelined_large_scans_never_read_keep_rss_bounded() {
    let connections = 16;
    let per_connection = 50;
    // Long deadlines so only the back-pressure is under test.
    let server = start_with_config(
        "fd-pipelined-scans",
        2,
        "write_timeout_ms = 600000\nidle_timeout_ms = 600000\nresponse_queue_bytes_max = 1048576\n",
    );
    // 12 items of 100 KB: every Scan returns a 1 MB page.
    server.create_blob_table("big", 12, 100_000);
    let baseline = server.rss_bytes();
    let scan = raw_request("Scan", r#"{"TableName":"big"}"#);
    let mut streams = Vec::new();
    for _ in 0..connections {
        let mut stream = connect(server.port);
        let all: Vec<u8> = scan.repeat(per_connection);
        stream.write_all(&all).expect("pipelined requests");
        streams.push(stream);
    }
    // Without the queue cap every connection buffers all 50 pages (16 ×
    // 50 MB). With it, a connection stops after ~1 MiB queued plus what the
    // kernel's socket buffers take. Watch while the server works, however
    // long that takes here: the bound must hold at every sample.
    let bound = baseline + 256 * (1 << 20);
    let mut peak = 0;
    let requests_before = server.metric_sum("requests");
    let mut last = requests_before;
    let mut stable = 0;
    // Sample until the request count stops moving for 50 samples (the
    // server is blocked on clients that do not read), at most 60 s.
    let _ = wait_until(Duration::from_secs(60), || {
        peak = peak.max(server.rss_bytes());
        assert!(
            peak < bound,
            "RSS {peak} over {bound} (baseline {baseline})"
        );
        let now = server.metric_sum("requests");
        stable = if now == last { stable + 1 } else { 0 };
        last = now;
        stable >= 50
    });
    let executed = last - requests_before;
    assert!(
        executed < (connections * per_connection) as u64,
        "every Scan ran although no reply was read ({executed})"
    );
    // Back-pressure, not a deadlock: a client that drains gets every reply.
    let mut buf = Vec::new();
    for i in 0..per_connection {
        let (status, _, body) =
            read_response(&mut streams[0], &mut buf).unwrap_or_else(|e| panic!("reply {i}: {e}"));
        assert_eq!(status, 200, "{}", &body[..body.len().min(200)]);
        assert!(body.len() > 900_000, "a 1 MB page");
    }
    eprintln!(
        "pipelined scans: baseline {baseline} B, peak {peak} B, {executed} Scans ran before the drain"
    );
}
