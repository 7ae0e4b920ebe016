//! The wire protocol: health, error shapes for malformed requests, missing
//! authentication, unknown operations, body limits, chunked bodies,
//! keep-alive pipelining, and DynamoDB's response headers.

mod common;

use std::io::Write;
use std::net::TcpStream;

use common::{Server, error_type, raw_call, raw_get, raw_http, read_response};

#[test]
fn health_and_partition_map() {
    let server = Server::start_with(
        "health",
        2,
        &["--shard-port-base", &common::free_port_run(2).to_string()],
    );
    let (status, body) = raw_get(server.port, "/").expect("health");
    assert_eq!(status, 200);
    assert!(body.starts_with("healthy"));
    let (status, map) = raw_get(server.port, "/dynacore/partition-map").expect("map");
    assert_eq!(status, 200);
    assert!(map.contains(r#""hash_start":"0""#), "{map}");
    assert!(
        map.contains(r#""hash_end":"18446744073709551615""#),
        "{map}"
    );
    assert!(map.contains("\"endpoint\":\"http://127.0.0.1:"), "{map}");
}

#[test]
fn malformed_requests_get_dynamodb_errors() {
    let server = Server::start("protocol", 1);
    let port = server.port;
    let (status, body) = raw_call(port, Some("ListTables"), "{not json", true);
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "SerializationException")
    );
    let (status, body) = raw_call(port, Some("ListTables"), "[1,2]", true);
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "SerializationException")
    );
    let (status, body) = raw_call(port, Some("ListTables"), r#"{"Limit":"ten"}"#, true);
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "SerializationException")
    );
    let (status, body) = raw_call(port, Some("NoSuchOperation"), "{}", true);
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "UnknownOperationException")
    );
    let (status, body) = raw_call(port, None, "{}", true);
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "UnknownOperationException")
    );
    let (status, body) = raw_call(port, Some("ListTables"), "{}", false);
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "MissingAuthenticationTokenException")
    );
    let deep = format!(
        "{{\"TableName\":{}1{}}}",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let (status, body) = raw_call(port, Some("DescribeTable"), &deep, true);
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "ValidationException")
    );
    // The server is still healthy after all of that.
    assert_eq!(
        raw_call(port, Some("ListTables"), "{}", true),
        (200, r#"{"TableNames":[]}"#.to_string())
    );
}

#[test]
fn oversized_bodies_get_413() {
    let server = Server::start("protocol-413", 1);
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n",
        17 * 1024 * 1024
    );
    let (status, _, body) = raw_http(server.port, request.as_bytes()).expect("413 response");
    assert_eq!(status, 413);
    assert_eq!(error_type(&body), "RequestEntityTooLarge");
}

#[test]
fn chunked_pipelined_and_headers() {
    let server = Server::start("protocol-pipeline", 2);
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    let body = "{}";
    let one = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let chunked = "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Type: application/x-amz-json-1.0\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n1\r\n}\r\n0\r\n\r\n";
    // Three requests in one write: answered in order on one connection.
    stream
        .write_all(format!("{one}{chunked}{one}").as_bytes())
        .expect("write");
    let mut buf = Vec::new();
    for _ in 0..3 {
        let (status, head, body) = read_response(&mut stream, &mut buf).expect("response");
        assert_eq!(status, 200);
        assert_eq!(body, r#"{"TableNames":[]}"#);
        let crc: u32 = head
            .lines()
            .find_map(|l| l.strip_prefix("x-amz-crc32: "))
            .and_then(|v| v.trim().parse().ok())
            .expect("x-amz-crc32 header");
        assert_eq!(crc, crc32(body.as_bytes()));
        assert!(head.contains("x-amzn-RequestId: "));
    }
}

/// Bitwise CRC32 (IEEE), independent of the server's implementation.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
