//! Front door, deadlines: a request trickled in (slow-loris, headers or
//! body) is cut off by the request deadline however steadily bytes come; a
//! connection with nothing in progress by the idle deadline; a client that
//! never reads its replies by the write deadline, which frees its slot.
//! Each deadline is configured short and every other one long, so the one
//! that fires is the one under test; waits for the effect are generous.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{raw_request, read_response, start_with_config, wait_until};

const LONG: &str = "600000";

/// Sends `head`, then one `drip` every 100 ms (well inside any per-read
/// timeout) until the server closes the connection; returns what it sent
/// us. Fails if the connection is still open after 120 s.
fn trickle(port: u16, head: &[u8], drip: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    stream.write_all(head).expect("head");
    let give_up = Instant::now() + Duration::from_secs(120);
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    while Instant::now() < give_up {
        let _ = stream.write_all(drip);
        match stream.read(&mut chunk) {
            Ok(0) => return String::from_utf8_lossy(&received).to_string(),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return String::from_utf8_lossy(&received).to_string(),
        }
    }
    panic!("the connection is still open after 120 s of trickling");
}

#[test]
fn slowloris_is_cut_off_by_the_request_deadline() {
    let server = start_with_config(
        "fd-slowloris",
        1,
        &format!(
            "header_read_timeout_ms = 1000\nidle_timeout_ms = {LONG}\nwrite_timeout_ms = {LONG}\n"
        ),
    );
    // Headers that never end.
    let got = trickle(
        server.port,
        b"POST / HTTP/1.1\r\nHost: x\r\n",
        b"X-A: b\r\n",
    );
    assert!(got.starts_with("HTTP/1.1 408"), "{got:?}");
    // A body that never ends.
    let head = "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Length: 100000\r\n\r\n";
    let got = trickle(server.port, head.as_bytes(), b" ");
    assert!(got.starts_with("HTTP/1.1 408"), "{got:?}");
    // A chunked body that never ends.
    let head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    let got = trickle(server.port, head.as_bytes(), b"1\r\n \r\n");
    assert!(got.starts_with("HTTP/1.1 408"), "{got:?}");
    let (status, body) = server.call("ListTables", "{}");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn an_idle_connection_is_closed_by_the_idle_deadline() {
    let server = start_with_config(
        "fd-idle",
        1,
        &format!(
            "idle_timeout_ms = 1000\nheader_read_timeout_ms = {LONG}\nwrite_timeout_ms = {LONG}\n"
        ),
    );
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    stream
        .write_all(&raw_request("ListTables", "{}"))
        .expect("request");
    let mut buf = Vec::new();
    let (status, _, _) = read_response(&mut stream, &mut buf).expect("reply");
    assert_eq!(status, 200);
    // Nothing more is sent: the server closes (EOF, no reply owed).
    let mut rest = [0u8; 64];
    let n = stream
        .read(&mut rest)
        .expect("EOF, not the 120 s client timeout");
    assert_eq!(n, 0);
}

#[test]
fn a_client_that_never_reads_is_freed_by_the_write_deadline() {
    let server = start_with_config(
        "fd-never-reads",
        1,
        &format!(
            "write_timeout_ms = 1000\nidle_timeout_ms = {LONG}\nheader_read_timeout_ms = {LONG}\n"
        ),
    );
    server.create_blob_table("big", 12, 100_000);
    let before = server.metric_sum("requests");
    // 200 pipelined 1 MB Scans; the replies are never read, and the socket
    // stays open on our side for the whole test.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    stream
        .write_all(&raw_request("Scan", r#"{"TableName":"big"}"#).repeat(200))
        .expect("requests");
    assert!(
        wait_until(Duration::from_secs(120), || server.metric_sum("requests")
            > before),
        "the server started on the Scans"
    );
    assert!(
        wait_until(Duration::from_secs(120), || server
            .health_sum("connections_open")
            >= 2),
        "the stalled connection is open (beside the health check's own)"
    );
    // Only the health check's own connection remains.
    assert!(
        wait_until(Duration::from_secs(120), || server
            .health_sum("connections_open")
            <= 1),
        "the stalled connection still holds its slot"
    );
    assert!(
        server.metric_sum("requests") - before < 200,
        "the connection was closed before all replies were written"
    );
    drop(stream);
}
