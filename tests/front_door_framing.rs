//! Front door, framing: hostile request framing gets a plain HTTP error that
//! actually reaches the client (400/413/431/501), and every shard keeps
//! serving afterwards. Raw sockets, the real binary.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::{Server, raw_get, raw_http, raw_request, read_response};

const CHUNKED_HEAD: &str = "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Type: application/x-amz-json-1.0\r\nTransfer-Encoding: chunked\r\n\r\n";

/// Sends `head`, then `filler` bytes in pieces until the server stops
/// taking them (or `total` went out), then reads the reply's status.
fn endless(port: u16, head: &[u8], filler: u8, total: usize) -> u16 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(head).expect("head");
    let piece = vec![filler; 16 * 1024];
    let mut sent = 0;
    while sent < total {
        // The server answers early and discards the rest; once it closes,
        // writes fail, which is fine: the reply is already on its way.
        if stream.write_all(&piece).is_err() {
            break;
        }
        sent += piece.len();
    }
    let (status, _, _) = read_response(&mut stream, &mut Vec::new()).expect("a reply, not a reset");
    status
}

fn all_shards_serve(server: &Server) {
    // SO_REUSEPORT spreads connections: many fresh ones reach every shard.
    for _ in 0..16 {
        let (status, body) = server.call("ListTables", "{}");
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = raw_get(server.port, "/dynacore/health").expect("health");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn chunk_size_overflow_gets_413_and_the_server_keeps_serving() {
    let server = Server::start("fd-chunk-overflow", 2);
    let request = format!("{CHUNKED_HEAD}3\r\nabc\r\nfffffffffffffffe\r\n");
    for _ in 0..16 {
        let (status, _, body) = raw_http(server.port, request.as_bytes()).expect("a reply");
        assert_eq!(status, 413, "{body}");
        assert!(body.contains("RequestEntityTooLarge"), "{body}");
    }
    all_shards_serve(&server);
}

#[test]
fn endless_chunk_extension_gets_400() {
    let server = Server::start("fd-chunk-ext", 2);
    let head = format!("{CHUNKED_HEAD}5;ext=");
    assert_eq!(endless(server.port, head.as_bytes(), b'x', 4 << 20), 400);
    // An endless trailer section is bounded too.
    let head = format!("{CHUNKED_HEAD}2\r\n{{}}\r\n0\r\nX-Trailer: ");
    assert_eq!(endless(server.port, head.as_bytes(), b'y', 4 << 20), 431);
    all_shards_serve(&server);
}

#[test]
fn endless_header_and_request_line_get_431() {
    let server = Server::start("fd-endless-header", 2);
    let head = b"POST / HTTP/1.1\r\nHost: x\r\nX-Endless: ";
    assert_eq!(endless(server.port, head, b'a', 4 << 20), 431);
    assert_eq!(endless(server.port, b"GET /", b'a', 4 << 20), 431);
    // Endless header *lines*: too many fields is 431 as well.
    let many: String = (0..10_000).map(|i| format!("X-{i}: v\r\n")).collect();
    let request = format!("GET / HTTP/1.1\r\n{many}\r\n");
    let (status, _, _) = raw_http(server.port, request.as_bytes()).expect("a reply");
    assert_eq!(status, 431);
    all_shards_serve(&server);
}

#[test]
fn malformed_framing_gets_400_or_501() {
    let server = Server::start("fd-malformed", 1);
    let cases: [(&[u8], u16); 6] = [
        (b"\x00\x01 garbage\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX", 400),
    ];
    for (request, want) in cases {
        let (status, _, _) = raw_http(server.port, request).expect("a reply");
        assert_eq!(status, want, "{}", String::from_utf8_lossy(request));
    }
    // A valid request split into one-byte chunks still works.
    let body = "{}";
    let mut request = CHUNKED_HEAD.to_string();
    for c in body.chars() {
        request.push_str(&format!("1\r\n{c}\r\n"));
    }
    request.push_str("0\r\n\r\n");
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    // One byte per write: the parser must resume anywhere.
    for b in request.as_bytes() {
        stream.write_all(&[*b]).expect("write");
    }
    stream
        .write_all(&raw_request("ListTables", "{}"))
        .expect("pipelined");
    let mut buf = Vec::new();
    for _ in 0..2 {
        let (status, _, body) = read_response(&mut stream, &mut buf).expect("reply");
        assert_eq!(status, 200, "{body}");
    }
}
