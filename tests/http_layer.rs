//! The HTTP layer as DynamoDB answers it, through the real binary: content
//! types, the 404 for what is not an API request, UnknownOperationException
//! without a message, Date and Server headers, the `GET /` health reply,
//! CORS, gzip/deflate request bodies (a zip bomb gets 413) and gzip replies
//! whose x-amz-crc32 is of the bytes sent.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Server, create_simple_table};

/// One exchange on a fresh connection: (status, head, body bytes).
fn exchange(port: u16, head: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut request = head.as_bytes().to_vec();
    if !head.to_ascii_lowercase().contains("content-length") {
        request.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    request.extend_from_slice(b"Connection: close\r\n\r\n");
    request.extend_from_slice(body);
    stream.write_all(&request).expect("write");
    let mut all = Vec::new();
    let _ = stream.read_to_end(&mut all);
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&all[..end]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let length: usize = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .expect("content-length");
    let body = all[end + 4..end + 4 + length].to_vec();
    (status, head, body)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn api_head(op: &str, content_type: Option<&str>, extra: &str) -> String {
    let mut head = String::from(
        "POST / HTTP/1.1\r\nHost: localhost\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\n",
    );
    head.push_str(&format!("X-Amz-Target: DynamoDB_20120810.{op}\r\n"));
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str(extra);
    head
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

#[test]
fn content_types_404s_and_headers() {
    let server = Server::start("http-layer", 1);
    let port = server.port;
    // application/json is accepted and echoed; 1.0 echoes 1.0.
    let (status, head, body) = exchange(
        port,
        &api_head("ListTables", Some("application/json"), ""),
        b"{}",
    );
    assert_eq!(
        (status, body.as_slice()),
        (200, &br#"{"TableNames":[]}"#[..]),
        "{head}"
    );
    assert_eq!(header(&head, "content-type"), Some("application/json"));
    let (_, head, _) = exchange(
        port,
        &api_head("ListTables", Some("application/x-amz-json-1.0"), ""),
        b"{}",
    );
    assert_eq!(
        header(&head, "content-type"),
        Some("application/x-amz-json-1.0")
    );
    // Date (an IMF-fixdate) and Server on every reply.
    assert!(
        header(&head, "date").is_some_and(|d| d.ends_with(" GMT") && d.len() == 29),
        "{head}"
    );
    assert_eq!(header(&head, "server"), Some("Server"));

    // DynamoDB's 404 for what is not an API request.
    let not_found = |(status, head, body): (u16, String, Vec<u8>)| {
        assert_eq!(status, 404, "{head}");
        assert_eq!(body, b"<UnknownOperationException/>\n");
        assert_eq!(header(&head, "x-amz-crc32"), Some("3552371480"));
        assert_eq!(header(&head, "content-length"), Some("29"));
        assert!(header(&head, "x-amzn-requestid").is_some());
    };
    not_found(exchange(port, "PUT / HTTP/1.1\r\nHost: x\r\n", b""));
    not_found(exchange(port, "DELETE /x HTTP/1.1\r\nHost: x\r\n", b""));
    not_found(exchange(port, "OPTIONS / HTTP/1.1\r\nHost: x\r\n", b""));
    not_found(exchange(port, &api_head("ListTables", None, ""), b"hi"));
    not_found(exchange(
        port,
        &api_head("ListTables", Some("whatever"), ""),
        b"{}",
    ));

    // UnknownOperationException carries no message (DynamoDB's exact body).
    let (status, head, body) = exchange(
        port,
        &api_head("ListTable", Some("application/json"), ""),
        b"{}",
    );
    assert_eq!(status, 400);
    assert_eq!(
        body,
        br#"{"__type":"com.amazon.coral.service#UnknownOperationException"}"#
    );
    assert_eq!(header(&head, "x-amz-crc32"), Some("1368724161"));

    // GET is DynamoDB's health reply; the admin endpoints still answer.
    let (status, head, body) = exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n", b"");
    assert_eq!(status, 200);
    assert_eq!(body, b"healthy: dynamodb.us-east-1.amazonaws.com ");
    assert_eq!(header(&head, "x-amz-crc32"), Some("3128867991"));
    let (status, _, body) = exchange(port, "GET /dynacore/health HTTP/1.1\r\nHost: x\r\n", b"");
    assert_eq!(status, 200);
    assert!(body.starts_with(b"{"), "{}", String::from_utf8_lossy(&body));
}

#[test]
fn cors_as_dynamodb_sends_it() {
    let server = Server::start("http-cors", 1);
    let port = server.port;
    let (status, head, body) = exchange(
        port,
        "OPTIONS / HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\nAccess-Control-Request-Headers: authorization, content-type, x-amz-date, x-amz-target\r\nAccess-Control-Request-Method: POST\r\n",
        b"",
    );
    assert_eq!(status, 200, "{head}");
    assert!(body.is_empty());
    assert_eq!(header(&head, "access-control-allow-origin"), Some("*"));
    assert_eq!(
        header(&head, "access-control-allow-headers"),
        Some("authorization, content-type, x-amz-date, x-amz-target")
    );
    assert_eq!(header(&head, "access-control-allow-methods"), Some("POST"));
    assert_eq!(header(&head, "access-control-max-age"), Some("172800"));
    assert_eq!(header(&head, "content-length"), Some("0"));
    // API replies (errors too) carry the origin header; x-amz-crc32 is not
    // exposed to scripts, as DynamoDB does not expose it.
    for op in ["ListTables", "NoSuchThing"] {
        let (_, head, _) = exchange(
            port,
            &api_head(
                op,
                Some("application/x-amz-json-1.0"),
                "Origin: https://app.example\r\n",
            ),
            b"{}",
        );
        assert_eq!(
            header(&head, "access-control-allow-origin"),
            Some("*"),
            "{head}"
        );
        assert_eq!(header(&head, "access-control-expose-headers"), None);
    }
    let (_, head, _) = exchange(
        port,
        &api_head("ListTables", Some("application/json"), ""),
        b"{}",
    );
    assert_eq!(header(&head, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn compressed_requests_and_replies() {
    let server = common::start_with_config("http-gzip", 2, "request_body_bytes_max = 1048576\n");
    let port = server.port;
    create_simple_table(&server.client(), "zipped", None).await;
    let put = |i: usize| {
        format!(
            r#"{{"TableName":"zipped","Item":{{"pk":{{"S":"item-{i}"}},"blob":{{"S":"{}"}}}}}}"#,
            "x".repeat(300)
        )
    };
    // gzip and deflate (zlib-wrapped, and raw) request bodies.
    let (status, head, body) = exchange(
        port,
        &api_head(
            "PutItem",
            Some("application/x-amz-json-1.0"),
            "Content-Encoding: gzip\r\n",
        ),
        &gzip(put(0).as_bytes()),
    );
    assert_eq!(status, 200, "{head} {}", String::from_utf8_lossy(&body));
    for (i, raw) in [(1, false), (2, true)] {
        let compressed = if raw {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(put(i).as_bytes()).unwrap();
            e.finish().unwrap()
        } else {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(put(i).as_bytes()).unwrap();
            e.finish().unwrap()
        };
        let (status, _, body) = exchange(
            port,
            &api_head(
                "PutItem",
                Some("application/x-amz-json-1.0"),
                "Content-Encoding: deflate\r\n",
            ),
            &compressed,
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
    for i in 3..40 {
        let (status, _, _) = exchange(
            port,
            &api_head("PutItem", Some("application/x-amz-json-1.0"), ""),
            put(i).as_bytes(),
        );
        assert_eq!(status, 200);
    }
    // A zip bomb: 64 MiB of zeros, far past the 1 MiB body limit: 413.
    let bomb = gzip(&vec![b' '; 64 << 20]);
    let (status, _, body) = exchange(
        port,
        &api_head(
            "PutItem",
            Some("application/x-amz-json-1.0"),
            "Content-Encoding: gzip\r\n",
        ),
        &bomb,
    );
    assert_eq!(status, 413);
    assert!(String::from_utf8_lossy(&body).contains("RequestEntityTooLarge"));
    let (status, _, body) = exchange(
        port,
        &api_head(
            "PutItem",
            Some("application/x-amz-json-1.0"),
            "Content-Encoding: gzip\r\n",
        ),
        b"certainly not gzip",
    );
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("SerializationException"));
    let (status, _, _) = exchange(
        port,
        &api_head(
            "PutItem",
            Some("application/x-amz-json-1.0"),
            "Content-Encoding: br\r\n",
        ),
        b"x",
    );
    assert_eq!(status, 415);
    // The server is still serving.
    let (status, _, _) = exchange(
        port,
        &api_head("ListTables", Some("application/json"), ""),
        b"{}",
    );
    assert_eq!(status, 200);

    // A large reply to a client that accepts gzip comes compressed, its
    // CRC32 over the compressed bytes; the same reply uncompressed otherwise.
    let scan = br#"{"TableName":"zipped","ConsistentRead":true}"#;
    let (status, head, compressed) = exchange(
        port,
        &api_head(
            "Scan",
            Some("application/x-amz-json-1.0"),
            "Accept-Encoding: gzip, deflate\r\n",
        ),
        scan,
    );
    assert_eq!(status, 200, "{head}");
    assert_eq!(header(&head, "content-encoding"), Some("gzip"), "{head}");
    assert_eq!(
        header(&head, "x-amz-crc32").and_then(|v| v.parse::<u32>().ok()),
        Some(crc32fast::hash(&compressed))
    );
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_slice())
        .read_to_end(&mut plain)
        .expect("valid gzip");
    let (_, head, uncompressed) = exchange(
        port,
        &api_head("Scan", Some("application/x-amz-json-1.0"), ""),
        scan,
    );
    assert_eq!(header(&head, "content-encoding"), None);
    assert_eq!(plain, uncompressed);
    assert!(uncompressed.len() > 4096 && compressed.len() < uncompressed.len() / 4);
    // Small replies are not worth it.
    let (_, head, _) = exchange(
        port,
        &api_head(
            "ListTables",
            Some("application/json"),
            "Accept-Encoding: gzip\r\n",
        ),
        b"{}",
    );
    assert_eq!(header(&head, "content-encoding"), None);
}
