//! `dynacore-loadgen fuzz`: a network fuzzer for a DynamoDB-compatible
//! endpoint on loopback.
//!
//! Seeded and bounded (a request count and a wall-clock budget), it sends
//! mutated and adversarial requests over raw sockets — broken and wrongly
//! typed JSON, huge and deeply nested values, random operation names,
//! malformed HTTP framing (bad request lines, Content-Length lies, broken
//! chunked encoding, truncated bodies), random and duplicated headers — one
//! connection per case, and records what came back. Before the run it
//! writes a canary item; after it, the server must still answer `GET /`
//! with 200 and return the canary unchanged. A failed check is an error
//! (exit status 1); the summary shows the requests sent and a histogram of
//! outcomes (HTTP status, or closed / timeout / connect error).
//!
//! Blocking std sockets on the calling thread: one case at a time is the
//! point (a replayable sequence per seed), not throughput.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::error::{LoadgenError, Result};
use crate::http::{Endpoint, parse_response};

/// What one fuzz run is allowed to do.
#[derive(Clone, Debug)]
pub struct FuzzSpec {
    pub endpoint: Endpoint,
    pub seed: u64,
    /// Cases to send (each on its own connection).
    pub requests: u64,
    /// Wall-clock budget; the run stops at whichever bound comes first.
    pub duration: Duration,
    /// How long to wait for a reply to a complete request.
    pub reply_timeout: Duration,
    /// Table the mutated requests name (created first, may be damaged).
    pub table: String,
    /// Print every case's outcome.
    pub verbose: bool,
}

/// What the run observed.
#[derive(Debug, Default)]
pub struct FuzzSummary {
    pub sent: u64,
    /// Outcome → count: `"200"`, `"400"`, …, `"closed"`, `"timeout"`, `"connect-error"`.
    pub outcomes: BTreeMap<String, u64>,
    pub elapsed: Duration,
}

/// splitmix64: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, options: &'a [T]) -> &'a T {
        &options[self.below(options.len() as u64) as usize]
    }
}

const OPERATIONS: [&str; 15] = [
    "CreateTable",
    "DescribeTable",
    "ListTables",
    "UpdateTable",
    "DeleteTable",
    "PutItem",
    "GetItem",
    "DeleteItem",
    "UpdateItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
];

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=fuzz/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-target, Signature=0000";

/// A well-formed body for `op` against `table`, the material mutations
/// start from.
fn template(op: &str, table: &str, rng: &mut Rng) -> String {
    let pk = format!("k{}", rng.below(50));
    let key = format!(r#"{{"pk":{{"S":"{pk}"}}}}"#);
    let item = format!(
        r#"{{"pk":{{"S":"{pk}"}},"n":{{"N":"{}"}},"l":{{"L":[{{"S":"x"}},{{"NULL":true}}]}},"m":{{"M":{{"b":{{"B":"AAEC"}}}}}},"ss":{{"SS":["a","b"]}}}}"#,
        rng.below(1000)
    );
    match op {
        "CreateTable" => format!(
            r#"{{"TableName":"{table}","BillingMode":"PAY_PER_REQUEST","AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}}],"KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}}]}}"#
        ),
        "DescribeTable" | "DeleteTable" => format!(r#"{{"TableName":"{table}"}}"#),
        "ListTables" => r#"{"Limit":5}"#.to_string(),
        "UpdateTable" => format!(
            r#"{{"TableName":"{table}","AttributeDefinitions":[{{"AttributeName":"g","AttributeType":"S"}}],"GlobalSecondaryIndexUpdates":[{{"Create":{{"IndexName":"byG","KeySchema":[{{"AttributeName":"g","KeyType":"HASH"}}],"Projection":{{"ProjectionType":"ALL"}}}}}}]}}"#
        ),
        "PutItem" => format!(
            r#"{{"TableName":"{table}","Item":{item},"ConditionExpression":"attribute_not_exists(pk) OR n < :v","ExpressionAttributeValues":{{":v":{{"N":"5"}}}},"ReturnValues":"ALL_OLD"}}"#
        ),
        "GetItem" => format!(
            r#"{{"TableName":"{table}","Key":{key},"ProjectionExpression":"l[0], m.b","ConsistentRead":true}}"#
        ),
        "DeleteItem" => {
            format!(r#"{{"TableName":"{table}","Key":{key},"ReturnValues":"ALL_OLD"}}"#)
        }
        "UpdateItem" => format!(
            r#"{{"TableName":"{table}","Key":{key},"UpdateExpression":"SET n = if_not_exists(n, :z) + :one, l = list_append(l, :l) REMOVE q","ExpressionAttributeValues":{{":z":{{"N":"0"}},":one":{{"N":"1"}},":l":{{"L":[{{"S":"y"}}]}}}},"ReturnValues":"ALL_NEW"}}"#
        ),
        "Query" => format!(
            r#"{{"TableName":"{table}","KeyConditionExpression":"pk = :p","FilterExpression":"size(l) > :n","ExpressionAttributeValues":{{":p":{{"S":"{pk}"}},":n":{{"N":"0"}}}},"Limit":10}}"#
        ),
        "Scan" => format!(
            r#"{{"TableName":"{table}","Limit":20,"Segment":0,"TotalSegments":2,"FilterExpression":"attribute_exists(n)"}}"#
        ),
        "BatchGetItem" => format!(r#"{{"RequestItems":{{"{table}":{{"Keys":[{key}]}}}}}}"#),
        "TransactWriteItems" => format!(
            r#"{{"TransactItems":[{{"Put":{{"TableName":"{table}","Item":{item},"ConditionExpression":"attribute_not_exists(pk) OR n < :v","ExpressionAttributeValues":{{":v":{{"N":"5"}}}}}}}},{{"Update":{{"TableName":"{table}","Key":{{"pk":{{"S":"other"}}}},"UpdateExpression":"ADD n :one","ExpressionAttributeValues":{{":one":{{"N":"1"}}}}}}}}],"ClientRequestToken":"t{}"}}"#,
            rng.below(20)
        ),
        "TransactGetItems" => format!(
            r#"{{"TransactItems":[{{"Get":{{"TableName":"{table}","Key":{key},"ProjectionExpression":"l[0], m.b"}}}},{{"Get":{{"TableName":"{table}","Key":{{"pk":{{"S":"other"}}}}}}}}]}}"#
        ),
        _ => format!(
            r#"{{"RequestItems":{{"{table}":[{{"PutRequest":{{"Item":{item}}}}},{{"DeleteRequest":{{"Key":{{"pk":{{"S":"other"}}}}}}}}]}}}}"#
        ),
    }
}

/// Values that break types, sizes and nesting.
fn adversarial_value(rng: &mut Rng) -> String {
    match rng.below(14) {
        0 => "null".into(),
        1 => "[]".into(),
        2 => "{}".into(),
        3 => "12345678901234567890123456789012345678901234567890".into(),
        4 => r#"{"N":"1e999999"}"#.into(),
        5 => r#"{"N":"123456789012345678901234567890123456789"}"#.into(),
        6 => format!(
            r#"{{"S":"{}"}}"#,
            "x".repeat(1 + rng.below(500_000) as usize)
        ),
        7 => format!(r#"{{"B":"{}"}}"#, "!!not base64"),
        8 => {
            let depth = 1 + rng.below(5_000) as usize;
            format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
        }
        9 => {
            let depth = 1 + rng.below(200) as usize;
            format!(
                "{}{{\"NULL\":true}}{}",
                r#"{"M":{"a":"#.repeat(depth),
                "}}".repeat(depth)
            )
        }
        10 => r#"{"SS":[]}"#.into(),
        11 => r#"{"S":"\ud800"}"#.into(),
        12 => r#"{"NS":["1","1"]}"#.into(),
        _ => "true".into(),
    }
}

/// One mutation of a JSON body (byte level or structure level).
fn mutate(body: &str, rng: &mut Rng) -> Vec<u8> {
    let mut bytes = body.as_bytes().to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = bytes.len().max(1) as u64;
        match rng.below(9) {
            0 => bytes.truncate(rng.below(len) as usize),
            1 if !bytes.is_empty() => {
                let at = rng.below(len) as usize % bytes.len();
                bytes[at] = rng.next() as u8;
            }
            2 => {
                let at = (rng.below(len) as usize).min(bytes.len());
                const JUNK: [&[u8]; 9] = [
                    b"{",
                    b"}",
                    b"[",
                    b"\"",
                    b",",
                    b":",
                    b"\\",
                    b"\0",
                    b"\xff\xfe",
                ];
                let junk = *rng.pick(&JUNK);
                bytes.splice(at..at, junk.iter().copied());
            }
            3 => {
                // Replace one JSON value (after a colon) with an adversarial one.
                let colons: Vec<usize> = bytes
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b':')
                    .map(|(i, _)| i)
                    .collect();
                if let Some(&at) = colons.get(rng.below(colons.len() as u64) as usize) {
                    let end = bytes[at + 1..]
                        .iter()
                        .position(|b| *b == b',' || *b == b'}')
                        .map_or(bytes.len(), |p| at + 1 + p);
                    let value = adversarial_value(rng);
                    bytes.splice(at + 1..end, value.into_bytes());
                }
            }
            // Duplicate a slice (repeated keys, doubled structures).
            4 if bytes.len() > 2 => {
                let a = rng.below(len) as usize % bytes.len();
                let b = (a + rng.below(64) as usize).min(bytes.len());
                let chunk = bytes[a..b].to_vec();
                bytes.splice(b..b, chunk);
            }
            5 => bytes = format!(r#"{{"TableName":{}}}"#, adversarial_value(rng)).into_bytes(),
            6 => {
                // A field of the wrong kind at the top level.
                let field = rng.pick(&[
                    "Key",
                    "Item",
                    "Limit",
                    "ExclusiveStartKey",
                    "ExpressionAttributeValues",
                    "ExpressionAttributeNames",
                    "RequestItems",
                    "KeySchema",
                    "ReturnValues",
                    "Segment",
                ]);
                let value = adversarial_value(rng);
                bytes = format!(r#"{{"TableName":"fuzzt","{field}":{value}}}"#).into_bytes();
            }
            7 => {
                let expr = rng.pick(&[
                    "((((((((((((((((((((((((((((((a",
                    "a = :v AND",
                    "SET a = a + + :v",
                    "#",
                    ":",
                    "attribute_exists(a.b[999999999999999999999])",
                    "size(size(size(a)))",
                    "a IN (:a,:a,:a,:a,:a,:a,:a,:a,:a,:a,:a,:a,:a,:a,:a,:a,:a,:a)",
                ]);
                bytes = format!(
                    r#"{{"TableName":"fuzzt","Key":{{"pk":{{"S":"k"}}}},"ConditionExpression":"{expr}","UpdateExpression":"{expr}","ExpressionAttributeValues":{{":v":{{"N":"1"}},":a":{{"S":"x"}}}}}}"#
                )
                .into_bytes();
            }
            _ => {}
        }
    }
    bytes
}

/// How a case is framed on the wire.
enum Framing {
    /// A well-formed request with this Content-Length body.
    Plain,
    /// Chunked, split at random points.
    Chunked,
    /// Raw bytes that are not (or not quite) HTTP.
    Raw(Vec<u8>),
}

struct Case {
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    framing: Framing,
    /// Whether the request is complete (a reply is due) or the server is
    /// expected to wait for bytes that never come.
    complete: bool,
}

/// A token of `min + below(span)` URL-safe characters.
fn random_token(rng: &mut Rng, min: usize, span: u64) -> String {
    let len = min + rng.below(span) as usize;
    (0..len)
        .map(|_| {
            *rng.pick(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") as char
        })
        .collect()
}

fn make_case(rng: &mut Rng, table: &str) -> Case {
    let op = *rng.pick(&OPERATIONS);
    let body = template(op, table, rng);
    let mut case = Case {
        target: format!("DynamoDB_20120810.{op}"),
        headers: vec![
            ("Content-Type".into(), "application/x-amz-json-1.0".into()),
            ("Authorization".into(), AUTH.into()),
        ],
        body: body.clone().into_bytes(),
        framing: Framing::Plain,
        complete: true,
    };
    match rng.below(10) {
        // Mutated bodies: the bulk of the cases.
        0..=4 => case.body = mutate(&body, rng),
        5 => {
            case.target = match rng.below(4) {
                0 => format!("DynamoDB_20120810.{}", random_token(rng, 1, 30)),
                1 => random_token(rng, 0, 200),
                2 => format!("DynamoDB_20111205.{op}"),
                _ => format!("DynamoDB_20120810.{}", op.to_lowercase()),
            }
        }
        6 => {
            // Random, duplicated, missing or oversized headers.
            match rng.below(6) {
                0 => case.headers.retain(|(n, _)| n != "Authorization"),
                1 => case.headers[0].1 = random_token(rng, 20, 1),
                2 => case
                    .headers
                    .push(("Content-Length".into(), (rng.below(100)).to_string())),
                3 => case
                    .headers
                    .push((random_token(rng, 1, 40), random_token(rng, 0, 2_000))),
                4 => {
                    for _ in 0..rng.below(200) {
                        case.headers.push((
                            format!("X-Fuzz-{}", rng.below(1000)),
                            random_token(rng, 50, 1),
                        ));
                    }
                }
                _ => case
                    .headers
                    .push(("X-Long".into(), "v".repeat(1 + rng.below(100_000) as usize))),
            }
        }
        7 => {
            case.framing = Framing::Chunked;
            if rng.below(2) == 0 {
                case.body = mutate(&body, rng);
            }
        }
        _ => {
            // Malformed framing.
            let (raw, complete) = match rng.below(9) {
                0 => (b"GARBAGE\r\n\r\n".to_vec(), true),
                1 => (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n".to_vec(), true),
                2 => (
                    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n".to_vec(),
                    true,
                ),
                3 => (
                    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nfffffffffffffffe\r\n".to_vec(),
                    false,
                ),
                4 => (
                    format!(
                        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;{}\r\n",
                        "e".repeat(rng.below(20_000) as usize)
                    )
                    .into_bytes(),
                    false,
                ),
                5 => (
                    format!("POST /{} HTTP/1.1\r\n\r\n", "a".repeat(rng.below(100_000) as usize))
                        .into_bytes(),
                    true,
                ),
                6 => (
                    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"short\":".to_vec(),
                    false,
                ),
                7 => (b"POST / HTTP/1.1\r\nBad Header Line\r\n\r\n".to_vec(), true),
                _ => {
                    let n = rng.below(4096) as usize;
                    ((0..n).map(|_| rng.next() as u8).collect(), false)
                }
            };
            case.framing = Framing::Raw(raw);
            case.complete = complete;
        }
    }
    case
}

fn encode(case: &Case, endpoint: &Endpoint, rng: &mut Rng) -> Vec<u8> {
    if let Framing::Raw(raw) = &case.framing {
        return raw.clone();
    }
    let mut out = Vec::with_capacity(case.body.len() + 512);
    out.extend_from_slice(b"POST / HTTP/1.1\r\nHost: ");
    out.extend_from_slice(endpoint.host_header.as_bytes());
    out.extend_from_slice(b"\r\nX-Amz-Target: ");
    out.extend_from_slice(case.target.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &case.headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match case.framing {
        Framing::Chunked => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            let mut rest = &case.body[..];
            while !rest.is_empty() {
                let n = (1 + rng.below(64) as usize).min(rest.len());
                out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
                out.extend_from_slice(&rest[..n]);
                out.extend_from_slice(b"\r\n");
                rest = &rest[n..];
            }
            out.extend_from_slice(b"0\r\n\r\n");
        }
        _ => {
            out.extend_from_slice(
                format!("Content-Length: {}\r\n\r\n", case.body.len()).as_bytes(),
            );
            out.extend_from_slice(&case.body);
        }
    }
    out
}

/// Sends `bytes` on a fresh connection and returns the outcome label.
fn send(endpoint: &Endpoint, bytes: &[u8], wait: Duration) -> String {
    let Ok(mut stream) = TcpStream::connect(&endpoint.addr) else {
        return "connect-error".into();
    };
    let _ = stream.set_read_timeout(Some(wait));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_nodelay(true);
    // The server may reply (413, 400) and close before reading everything.
    if stream.write_all(bytes).is_err() {
        return read_outcome(&mut stream).unwrap_or_else(|| "closed".into());
    }
    read_outcome(&mut stream).unwrap_or_else(|| "closed".into())
}

fn read_outcome(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                match parse_response(&buf) {
                    Ok(Some((response, _))) => return Some(response.status.to_string()),
                    Ok(None) if buf.len() < 64 << 20 => continue,
                    _ => return Some("bad-response".into()),
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Some("timeout".into());
            }
            Err(_) => return None,
        }
    }
}

/// One well-formed call; returns (status, body).
fn call(endpoint: &Endpoint, op: &str, body: &str) -> Result<(u16, String)> {
    let case = Case {
        target: format!("DynamoDB_20120810.{op}"),
        headers: vec![
            ("Content-Type".into(), "application/x-amz-json-1.0".into()),
            ("Authorization".into(), AUTH.into()),
        ],
        body: body.as_bytes().to_vec(),
        framing: Framing::Plain,
        complete: true,
    };
    let bytes = encode(&case, endpoint, &mut Rng(0));
    let mut stream =
        TcpStream::connect(&endpoint.addr).map_err(|e| LoadgenError::io(&endpoint.addr, e))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| LoadgenError::io(&endpoint.addr, e))?;
    stream
        .write_all(&bytes)
        .map_err(|e| LoadgenError::io(&endpoint.addr, e))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .map_err(|e| LoadgenError::io(&endpoint.addr, e))?;
        if n == 0 {
            return Err(LoadgenError::Http(format!(
                "{op}: connection closed before a reply"
            )));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some((response, _)) = parse_response(&buf)? {
            let body = String::from_utf8_lossy(&response.body).into_owned();
            return Ok((response.status, body));
        }
    }
}

fn health(endpoint: &Endpoint) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let outcome = send(
            endpoint,
            format!("GET / HTTP/1.1\r\nHost: {}\r\n\r\n", endpoint.host_header).as_bytes(),
            Duration::from_secs(2),
        );
        if outcome == "200" {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(LoadgenError::Http(format!(
                "server is not healthy: GET / gave {outcome}"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The canary: a table and an item the fuzz cases never name.
fn canary_table(spec: &FuzzSpec) -> String {
    format!("{}_canary", spec.table)
}

fn write_canary(spec: &FuzzSpec) -> Result<String> {
    let endpoint = &spec.endpoint;
    let table = canary_table(spec);
    let create = format!(
        r#"{{"TableName":"{table}","BillingMode":"PAY_PER_REQUEST","AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}}],"KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}}]}}"#
    );
    let (status, body) = call(endpoint, "CreateTable", &create)?;
    if status != 200 && !body.contains("ResourceInUseException") {
        return Err(LoadgenError::Http(format!(
            "canary CreateTable: {status} {body}"
        )));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = call(
            endpoint,
            "DescribeTable",
            &format!(r#"{{"TableName":"{table}"}}"#),
        )?;
        if body.contains(r#""TableStatus":"ACTIVE""#) {
            break;
        }
        if Instant::now() > deadline {
            return Err(LoadgenError::Http(format!(
                "canary table never ACTIVE: {body}"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let put = format!(
        r#"{{"TableName":"{table}","Item":{{"pk":{{"S":"canary"}},"seed":{{"N":"{}"}},"v":{{"S":"before the fuzz run"}}}}}}"#,
        spec.seed
    );
    let (status, body) = call(endpoint, "PutItem", &put)?;
    if status != 200 {
        return Err(LoadgenError::Http(format!(
            "canary PutItem: {status} {body}"
        )));
    }
    read_canary(spec)
}

fn read_canary(spec: &FuzzSpec) -> Result<String> {
    let get = format!(
        r#"{{"TableName":"{}","Key":{{"pk":{{"S":"canary"}}}},"ConsistentRead":true}}"#,
        canary_table(spec)
    );
    let (status, body) = call(&spec.endpoint, "GetItem", &get)?;
    if status != 200 || !body.contains("\"Item\"") {
        return Err(LoadgenError::Http(format!(
            "canary GetItem: {status} {body}"
        )));
    }
    Ok(body)
}

/// Runs the fuzz cases, then checks the server is alive and the canary
/// unchanged. Err if either check fails.
pub fn run(spec: &FuzzSpec) -> Result<FuzzSummary> {
    health(&spec.endpoint)?;
    let before = write_canary(spec)?;
    // The table the cases name; mutations may delete or damage it.
    let _ = call(
        &spec.endpoint,
        "CreateTable",
        &template("CreateTable", &spec.table, &mut Rng(0)),
    );
    let mut rng = Rng(spec.seed);
    let mut summary = FuzzSummary::default();
    let started = Instant::now();
    while summary.sent < spec.requests && started.elapsed() < spec.duration {
        let case = make_case(&mut rng, &spec.table);
        let bytes = encode(&case, &spec.endpoint, &mut rng);
        // An incomplete request gets no reply until the server's own
        // deadline: do not wait for it.
        let wait = if case.complete {
            spec.reply_timeout
        } else {
            Duration::from_millis(50)
        };
        let outcome = send(&spec.endpoint, &bytes, wait);
        if spec.verbose {
            println!("case {} ({} bytes): {outcome}", summary.sent, bytes.len());
        }
        *summary.outcomes.entry(outcome).or_default() += 1;
        summary.sent += 1;
    }
    summary.elapsed = started.elapsed();
    health(&spec.endpoint)?;
    let after = read_canary(spec)?;
    if after != before {
        return Err(LoadgenError::Http(format!(
            "canary changed: before {before}, after {after}"
        )));
    }
    Ok(summary)
}

/// The summary as the command prints it.
pub fn report(spec: &FuzzSpec, summary: &FuzzSummary) -> String {
    let mut out = format!(
        "fuzz: seed {} sent {} requests in {:.1} s to {}\noutcomes:",
        spec.seed,
        summary.sent,
        summary.elapsed.as_secs_f64(),
        spec.endpoint.addr
    );
    for (outcome, count) in &summary.outcomes {
        out.push_str(&format!(" {outcome}={count}"));
    }
    out.push_str("\nserver alive: GET / 200; canary: unchanged\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_replayable_from_the_seed() {
        let endpoint = Endpoint::parse("http://127.0.0.1:1").expect("endpoint");
        let bytes = |seed| {
            let mut rng = Rng(seed);
            (0..50)
                .map(|_| {
                    let case = make_case(&mut rng, "t");
                    encode(&case, &endpoint, &mut rng)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(bytes(7), bytes(7));
        assert_ne!(bytes(7), bytes(8));
    }

    #[test]
    fn chunked_framing_carries_the_body() {
        let endpoint = Endpoint::parse("http://127.0.0.1:1").expect("endpoint");
        let case = Case {
            target: "DynamoDB_20120810.ListTables".into(),
            headers: vec![],
            body: b"{\"Limit\":5}".to_vec(),
            framing: Framing::Chunked,
            complete: true,
        };
        let wire = encode(&case, &endpoint, &mut Rng(3));
        let text = String::from_utf8(wire).expect("ascii");
        assert!(text.contains("Transfer-Encoding: chunked\r\n\r\n"));
        assert!(text.ends_with("0\r\n\r\n"));
    }
}
