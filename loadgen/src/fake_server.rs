//! A trivially fast DynamoDB look-alike, to measure the load generator itself.
//!
//! Answers every request with a canned response: GetItem gets a ~1 KiB item
//! (10 fields × 100 bytes, YCSB's default record), DescribeTable an ACTIVE
//! table, everything else `{}`; `GET /dynacore/partition-map` returns an
//! equal-range map over its shard ports so shard-aware mode can be tested
//! too. It does no storage work, so the throughput it sustains is bounded by
//! the load generator (and the kernel's loopback), which is the point.

use std::rc::Rc;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::{TcpListener, TcpStream};

use crate::error::{LoadgenError, Result};
use crate::runtime::{Pinning, run_on_executors};
use crate::shard::ShardMap;

pub struct FakeServerSpec {
    pub listen: String,
    /// Extra per-shard ports `base + i` (empty: no shard ports).
    pub shard_ports: Vec<u16>,
    pub threads: usize,
    pub pinning: Pinning,
    /// Told once per thread when all its listeners are bound (tests wait on
    /// it instead of guessing how long start-up takes).
    pub ready: Option<std::sync::mpsc::Sender<()>>,
}

struct Canned {
    get_item: Vec<u8>,
    describe: Vec<u8>,
    empty: Vec<u8>,
    partition_map: Vec<u8>,
}

fn response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn canned(map_json: &str) -> Canned {
    let mut item = String::from(r#"{"Item":{"pk":{"S":"user6284781860667377211"}"#);
    for f in 0..10 {
        item.push_str(&format!(r#","field{f}":{{"S":"{}"}}"#, "x".repeat(100)));
    }
    item.push_str("}}");
    Canned {
        get_item: response("200 OK", &item),
        describe: response(
            "200 OK",
            r#"{"Table":{"TableName":"usertable","TableStatus":"ACTIVE","ItemCount":0}}"#,
        ),
        empty: response("200 OK", "{}"),
        partition_map: response("200 OK", map_json),
    }
}

/// Runs until killed.
pub fn serve(spec: FakeServerSpec) -> Result<()> {
    let host = spec
        .listen
        .rsplit_once(':')
        .map(|(h, _)| h.to_string())
        .ok_or_else(|| LoadgenError::InvalidArgument("--listen must be host:port".into()))?;
    let shard_addrs: Vec<String> = spec
        .shard_ports
        .iter()
        .map(|p| format!("{host}:{p}"))
        .collect();
    let map_json = if shard_addrs.is_empty() {
        let url = format!("http://{}", spec.listen);
        ShardMap::equal_ranges_json(&[url]).replace(&format!("\"http://{}\"", spec.listen), "null")
    } else {
        let urls: Vec<String> = shard_addrs.iter().map(|a| format!("http://{a}")).collect();
        ShardMap::equal_ranges_json(&urls)
    };
    let listen = spec.listen.clone();
    let ready = spec.ready.clone();
    eprintln!(
        "fake server on {listen} (+{} shard ports), {} thread(s)",
        shard_addrs.len(),
        spec.threads
    );
    let results = run_on_executors(spec.threads.max(1), spec.pinning, move |_| {
        let listen = listen.clone();
        let shard_addrs = shard_addrs.clone();
        let canned = Rc::new(canned(&map_json));
        let ready = ready.clone();
        async move {
            let mut accepts = Vec::new();
            for addr in std::iter::once(listen).chain(shard_addrs) {
                // glommio listeners set SO_REUSEPORT, so every thread binds.
                let listener = TcpListener::bind(addr.as_str())
                    .map_err(|e| LoadgenError::io(&addr, e.into()))?;
                let canned = Rc::clone(&canned);
                accepts.push(glommio::spawn_local(accept_loop(listener, canned)));
            }
            if let Some(ready) = ready {
                let _ = ready.send(());
            }
            for a in accepts {
                a.await;
            }
            Ok::<(), LoadgenError>(())
        }
    })?;
    for r in results {
        r?;
    }
    Ok(())
}

async fn accept_loop(listener: TcpListener, canned: Rc<Canned>) {
    loop {
        match listener.accept().await {
            Ok(stream) => {
                let canned = Rc::clone(&canned);
                glommio::spawn_local(async move {
                    let _ = serve_conn(stream, &canned).await;
                })
                .detach();
            }
            Err(e) => {
                eprintln!("fake server: accept failed: {e}");
                glommio::timer::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

/// Serves requests on one connection until the peer closes it.
async fn serve_conn(mut stream: TcpStream, canned: &Canned) -> std::io::Result<()> {
    stream.set_nodelay(true).map_err(std::io::Error::from)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut filled = 0;
    loop {
        // Answer every complete request in the buffer (clients may pipeline).
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            let head = match req.parse(&buf[..filled]) {
                Ok(httparse::Status::Complete(n)) => n,
                Ok(httparse::Status::Partial) => break,
                Err(_) => return Ok(()),
            };
            let mut body_len = 0usize;
            let mut reply: &[u8] = &canned.empty;
            for h in req.headers.iter() {
                if h.name.eq_ignore_ascii_case("content-length") {
                    body_len = std::str::from_utf8(h.value)
                        .ok()
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                } else if h.name.eq_ignore_ascii_case("x-amz-target") {
                    if h.value.ends_with(b".GetItem") {
                        reply = &canned.get_item;
                    } else if h.value.ends_with(b".DescribeTable") {
                        reply = &canned.describe;
                    }
                }
            }
            if req.method == Some("GET") && req.path == Some("/dynacore/partition-map") {
                reply = &canned.partition_map;
            }
            // Refuse absurd lengths instead of allocating them (the server's
            // default max_request_body_bytes).
            const BODY_BYTES_MAX: usize = 16 * 1024 * 1024;
            if body_len > BODY_BYTES_MAX {
                return Ok(());
            }
            let total = head + body_len;
            if total > buf.len() {
                buf.resize(total.next_power_of_two(), 0);
            }
            if filled < total {
                break;
            }
            stream.write_all(reply).await?;
            buf.copy_within(total..filled, 0);
            filled -= total;
        }
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use crate::runner;
    use clap::Parser;

    fn free_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("ephemeral port");
        l.local_addr().expect("addr").port()
    }

    /// The whole client path — executors, connections, signing, framing,
    /// shard routing, interval merging — against the fake server, over real
    /// loopback sockets. Asserts correctness (ops, no errors, routing), not speed.
    #[test]
    fn shard_aware_run_against_the_fake_server() {
        // Ports are picked free and then bound by the server, so another
        // process may take one in between: retry with fresh ports on
        // AddrInUse only (any other start-up failure fails the test).
        let mut attempt = 0;
        let listen = loop {
            attempt += 1;
            let listen = format!("127.0.0.1:{}", free_port());
            let (ready_tx, ready_rx) = std::sync::mpsc::channel();
            let spec = FakeServerSpec {
                listen: listen.clone(),
                shard_ports: vec![free_port(), free_port()],
                threads: 1,
                pinning: Pinning {
                    enabled: false,
                    cpu_offset: 0,
                    spin_before_park: std::time::Duration::ZERO,
                },
                ready: Some(ready_tx),
            };
            // The server runs until the test process exits. Wait for it to
            // say it listens (a generous bound only against a hang: a loaded
            // CI machine may take long to start an executor).
            let server = std::thread::spawn(move || serve(spec));
            match ready_rx.recv_timeout(std::time::Duration::from_secs(300)) {
                Ok(()) => break listen,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    let outcome = server.join();
                    let in_use = matches!(
                        &outcome,
                        Ok(Err(LoadgenError::Io { source, .. }))
                            if source.kind() == std::io::ErrorKind::AddrInUse
                    );
                    assert!(
                        in_use && attempt < 20,
                        "fake server failed to start: {outcome:?}"
                    );
                }
                Err(e) => panic!("fake server did not start: {e}"),
            }
        };

        let endpoint = format!("http://{listen}");
        let cli = Cli::try_parse_from([
            "lg",
            "run",
            "--endpoint",
            &endpoint,
            "--mix",
            "get=8,update=1,scan=1",
            "--skip-load",
            "--duration",
            "1",
            "--warmup",
            "0",
            "--connections",
            "2",
            "--threads",
            "2",
            "--no-pin",
            "--shard-aware",
        ])
        .expect("flags parse");
        let Some(Command::Run(args)) = cli.command else {
            panic!("expected run");
        };
        let mut spec = args.workload.to_spec(&endpoint).expect("valid spec");
        let mut signer = crate::sigv4::Signer::new(spec.creds.clone(), &spec.region, "dynamodb");
        let resp = crate::control::get(&spec.endpoint, &mut signer, "/dynacore/partition-map")
            .expect("map");
        spec.shard_map = Some(ShardMap::parse(&resp.body).expect("map parses"));
        let mut intervals = 0;
        let outcome = runner::run(&spec, |_, _, _| intervals += 1).expect("run");
        assert_eq!(intervals, 1);
        assert!(outcome.totals.total_ops() > 0);
        assert_eq!(
            outcome.totals.total_errors(),
            0,
            "{:?}",
            outcome.totals.error_types
        );
        assert!(outcome.totals.op(crate::workload::OpKind::Scan).is_some());
    }
}
