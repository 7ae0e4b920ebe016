//! Test harness: starts the real `dynacore` binary on a free loopback port
//! with a fresh data directory under `target/`, and builds real clients.

#![allow(dead_code)]

pub mod index_tables;
pub mod streams;
pub mod transfers;
pub mod values;
pub mod wait;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};

static NEXT_DIR: AtomicU32 = AtomicU32::new(0);

pub struct Server {
    pub child: Option<Child>,
    pub port: u16,
    /// The admin listener's port (Prometheus `/metrics`, `/dynacore/*`),
    /// free like `port`: parallel tests never meet on a fixed port.
    pub admin_port: u16,
    pub data_dir: PathBuf,
    pub shards: u32,
    pub extra_args: Vec<String>,
}

/// The first of `count` consecutive loopback ports that are free now, for
/// `--shard-port-base` (shard *i* listens on base + *i*). Chosen below the
/// kernel's ephemeral range (32768 and up by default), so client sockets of
/// concurrently running tests cannot take base + 1 the way they can take a
/// neighbour of a port the kernel handed out.
pub fn free_port_run(count: u16) -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let spread = std::process::id() % 500;
    for attempt in 0..2000u32 {
        let slot = (spread + NEXT.fetch_add(1, Ordering::Relaxed) + attempt) % 1000;
        let base = 20_000 + (slot * 12) as u16;
        let free = (0..count).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if free {
            return base;
        }
    }
    panic!("no run of {count} free loopback ports in 20000..32000");
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A fresh data directory on disk (O_DIRECT does not work on tmpfs).
pub fn fresh_data_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{name}-{}-{}",
        std::process::id(),
        NEXT_DIR.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

impl Server {
    pub fn start(name: &str, shards: u32) -> Server {
        Self::start_with(name, shards, &[])
    }

    pub fn start_with(name: &str, shards: u32, extra: &[&str]) -> Server {
        let mut server = Server {
            child: None,
            port: free_port(),
            admin_port: free_port(),
            data_dir: fresh_data_dir(name),
            shards,
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
        };
        // The port is picked free and bound later by the child, so another
        // process may take it in between: only that failure is retried, on
        // a fresh port.
        for attempt in 1.. {
            match server.launch() {
                Ok(()) => break,
                Err(e)
                    if attempt < 10
                        && (e.contains("cannot listen") || e.contains("already served")) =>
                {
                    server.port = free_port();
                    server.admin_port = free_port();
                }
                Err(e) => panic!("server starts: {e}"),
            }
        }
        server
    }

    /// Starts the process on the current port and data directory.
    pub fn launch(&mut self) -> Result<(), String> {
        let child = Command::new(env!("CARGO_BIN_EXE_dynacore"))
            .args(["serve", "--profile", "test_min", "--listen"])
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--shards")
            .arg(self.shards.to_string())
            .arg("--admin-listen")
            .arg(format!("127.0.0.1:{}", self.admin_port))
            .args(&self.extra_args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn dynacore: {e}"))?;
        self.child = Some(child);
        // Generous: only a hang should reach it, not a busy CI machine.
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            // Every shard serving, not just the one that took this connection.
            if let Ok((200, _)) = raw_get(self.port, "/dynacore/health") {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = stderr.read_to_string(&mut err);
                }
                self.child = None;
                return Err(format!("dynacore exited with {status}: {err}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err("dynacore did not become healthy within 120 s".to_string())
    }

    /// SIGKILL: no shutdown path runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a clean exit; returns the exit success.
    /// SIGHUP: the server reloads its credentials file.
    pub fn sighup(&self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args(["-HUP", &child.id().to_string()])
                .status();
        }
    }

    pub fn stop(&mut self) -> bool {
        match self.child.take() {
            Some(mut child) => {
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                child.wait().map(|s| s.success()).unwrap_or(false)
            }
            None => false,
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.launch().expect("server restarts");
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn client(&self) -> Client {
        client_for(&self.endpoint())
    }

    /// A counter from `/dynacore/metrics`, summed over every shard.
    pub fn metric_sum(&self, name: &str) -> u64 {
        let (status, body) = raw_get(self.port, "/dynacore/metrics").expect("metrics");
        assert_eq!(status, 200, "metrics: {body}");
        body.split(&format!("\"{name}\":"))
            .skip(1)
            .filter_map(|rest| {
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum()
    }

    /// Waits until every shard's GSI outbox is empty (every acknowledged
    /// write is in its global indexes); false if `timeout` passes first.
    pub async fn gsi_outboxes_drained(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.metric_sum("gsi_outbox_pending_records") > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Sends a raw DynamoDB request; returns (status, body).
    pub fn call(&self, operation: &str, body: &str) -> (u16, String) {
        raw_call(self.port, Some(operation), body, true)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

pub fn client_for(endpoint: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .build();
    Client::from_conf(config)
}

/// One HTTP exchange on a fresh connection.
pub fn raw_http(port: u16, request: &[u8]) -> Result<(u16, String, String), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    stream.write_all(request).map_err(|e| e.to_string())?;
    read_response(&mut stream, &mut Vec::new())
}

/// Reads one Content-Length-framed response: (status, headers, body).
/// `buf` carries bytes already read past earlier responses (pipelining).
pub fn read_response(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Result<(u16, String, String), String> {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let status: u16 = head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or("no status")?;
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("connection closed mid-body".into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).to_string();
            buf.drain(..end + 4 + length);
            return Ok((status, head, body));
        }
        let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The access key the harness signs with (and its secret): what
/// `client_for` gives the AWS SDK, and what a `--credentials` file written
/// by [`credentials_file`] holds.
pub const TEST_ACCESS_KEY: &str = "AKIDTEST";
pub const TEST_SECRET: &str = "secret";

/// `X-Amz-Date` for now.
pub fn amz_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    dynacore::auth::sigv4::format_amz_date(now)
}

/// Header lines (`Host`, `X-Amz-Date`, extra signed ones, `Authorization`)
/// of a request signed with SigV4 as an SDK would, by `key`/`secret`.
/// `signed` are extra (lowercase name, value) headers, sorted after host.
pub fn signed_header_lines(
    key: &str,
    secret: &str,
    method: &str,
    path: &str,
    signed: &[(&str, &str)],
    body: &[u8],
) -> String {
    let date = amz_now();
    let mut headers: Vec<(&str, &str)> = vec![("host", "localhost"), ("x-amz-date", &date)];
    headers.extend_from_slice(signed);
    headers.sort();
    let authorization = dynacore::auth::sigv4::sign(
        key,
        secret,
        "us-east-1",
        &date,
        method,
        path,
        &headers,
        body,
    );
    let mut out = String::new();
    for (name, value) in &headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("Authorization: {authorization}\r\n"));
    out
}

/// A signed `GET path` (the admin endpoints want one).
pub fn raw_get(port: u16, path: &str) -> Result<(u16, String), String> {
    let headers = signed_header_lines(TEST_ACCESS_KEY, TEST_SECRET, "GET", path, &[], b"");
    let request = format!("GET {path} HTTP/1.1\r\n{headers}Connection: close\r\n\r\n");
    raw_http(port, request.as_bytes()).map(|(s, _, b)| (s, b))
}

/// An unsigned `GET path`.
pub fn raw_get_unsigned(port: u16, path: &str) -> Result<(u16, String), String> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    raw_http(port, request.as_bytes()).map(|(s, _, b)| (s, b))
}

/// A `POST /` for `operation` signed by `key`/`secret`.
pub fn signed_request(key: &str, secret: &str, operation: &str, body: &str) -> Vec<u8> {
    let target = format!("DynamoDB_20120810.{operation}");
    let headers = signed_header_lines(
        key,
        secret,
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", &target),
        ],
        body.as_bytes(),
    );
    format!(
        "POST / HTTP/1.1\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

pub fn raw_call(port: u16, operation: Option<&str>, body: &str, auth: bool) -> (u16, String) {
    let mut request = String::from(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.0\r\n",
    );
    if let Some(op) = operation {
        request.push_str(&format!("X-Amz-Target: DynamoDB_20120810.{op}\r\n"));
    }
    if auth {
        let target = operation.map(|op| format!("DynamoDB_20120810.{op}"));
        let mut signed = vec![("content-type", "application/x-amz-json-1.0")];
        if let Some(t) = &target {
            signed.push(("x-amz-target", t));
        }
        let lines = signed_header_lines(
            TEST_ACCESS_KEY,
            TEST_SECRET,
            "POST",
            "/",
            &signed,
            body.as_bytes(),
        );
        // Host and Content-Type are already there; keep the signed rest.
        for line in lines.split_inclusive("\r\n") {
            if line.starts_with("x-amz-date") || line.starts_with("Authorization") {
                request.push_str(line);
            }
        }
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let (status, _, body) = raw_http(port, request.as_bytes()).expect("raw call");
    (status, body)
}

/// The short error type from a `__type` body, e.g. "ValidationException".
pub fn error_type(body: &str) -> String {
    body.split("\"__type\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|t| t.rsplit('#').next())
        .unwrap_or("")
        .to_string()
}

/// The message of an error body: `message`, or `Message` as DynamoDB
/// spells it for SerializationException (JSON escapes decoded).
pub fn error_message(body: &str) -> String {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
        return String::new();
    };
    json.get("message")
        .or_else(|| json.get("Message"))
        .and_then(|m| m.as_str())
        .unwrap_or("")
        .to_string()
}

/// A small deterministic PRNG (xorshift64*) so seeded tests replay exactly.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The seed for a randomized test: `DYNACORE_SEED` or the clock.
pub fn seed() -> u64 {
    std::env::var("DYNACORE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(42)
        })
}

pub async fn create_simple_table(client: &Client, name: &str, sort_key: Option<(&str, &str)>) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attr"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        );
    if let Some((sk, ty)) = sort_key {
        request = request
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(sk)
                    .attribute_type(ScalarAttributeType::from(ty))
                    .build()
                    .expect("attr"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(sk)
                    .key_type(KeyType::Range)
                    .build()
                    .expect("key"),
            );
    }
    request.send().await.expect("create table");
}

/// A server started with `config` (TOML merged over the test_min profile).
pub fn start_with_config(name: &str, shards: u32, config: &str) -> Server {
    let path = fresh_data_dir(&format!("{name}-config")).with_extension("toml");
    std::fs::write(&path, config).expect("write test config");
    let path = path.to_string_lossy().to_string();
    Server::start_with(name, shards, &["--config", &path])
}

impl Server {
    /// Resident set size of the server process, from /proc (bytes).
    pub fn rss_bytes(&self) -> u64 {
        let pid = self.child.as_ref().expect("server running").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .expect("VmRSS")
    }

    /// A number from `GET /dynacore/health`, summed over every shard.
    pub fn health_sum(&self, name: &str) -> u64 {
        let (_, body) = raw_get(self.port, "/dynacore/health").expect("health");
        body.split(&format!("\"{name}\":"))
            .skip(1)
            .filter_map(|rest| {
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum()
    }

    /// Creates table `name` (hash key `pk`) holding `items` items with a
    /// `blob` attribute of `item_bytes`, through raw calls.
    pub fn create_blob_table(&self, name: &str, items: usize, item_bytes: usize) {
        let (status, body) = self.call(
            "CreateTable",
            &format!(
                r#"{{"TableName":"{name}","BillingMode":"PAY_PER_REQUEST","AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}}],"KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}}]}}"#
            ),
        );
        assert_eq!(status, 200, "{body}");
        let blob = "x".repeat(item_bytes);
        for i in 0..items {
            let (status, body) = self.call(
                "PutItem",
                &format!(
                    r#"{{"TableName":"{name}","Item":{{"pk":{{"S":"k{i}"}},"blob":{{"S":"{blob}"}}}}}}"#
                ),
            );
            assert_eq!(status, 200, "{body}");
        }
    }
}

/// Bytes of one raw `POST /` request for `operation` with `body`, signed
/// by the harness key.
pub fn raw_request(operation: &str, body: &str) -> Vec<u8> {
    signed_request(TEST_ACCESS_KEY, TEST_SECRET, operation, body)
}

/// The same with a well-formed, unverified signature (for servers without
/// credentials only).
pub fn raw_request_unverified(operation: &str, body: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: DynamoDB_20120810.{operation}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Waits until `done` holds, polling; false if `timeout` passes first.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
