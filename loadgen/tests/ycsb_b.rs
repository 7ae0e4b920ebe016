//! Integration test: a 2-second YCSB-B run against the real Dynacore binary.
//!
//! Starts `dynacore serve --listen 127.0.0.1:<free port> --data-dir <temp
//! dir under target/>`, lets the load generator create and fill the table,
//! runs ycsb-b, and checks the JSON report (ops > 0, errors == 0). The server
//! binary is found at `$DYNACORE_BIN`, else `target/release/dynacore`, else
//! `target/debug/dynacore` of the workspace (or `$CARGO_TARGET_DIR`).
//! Set `LOADGEN_IT_ENDPOINT=http://host:port` to run against an endpoint that
//! is already up (e.g. dynalite) instead of starting the binary.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn server_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("DYNACORE_BIN") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("DYNACORE_BIN={} is not a file", p.display()))
        };
    }
    let mut tried = Vec::new();
    for dir in [target_dir(), workspace_root().join("target")] {
        for profile in ["release", "debug"] {
            let p = dir.join(profile).join("dynacore");
            if p.is_file() {
                return Ok(p);
            }
            let shown = p.display().to_string();
            if !tried.contains(&shown) {
                tried.push(shown);
            }
        }
    }
    Err(format!(
        "Dynacore server binary not found (tried {}); build it with \
         `cargo build --release -p dynacore` or set DYNACORE_BIN",
        tried.join(", ")
    ))
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// Kills the server when the test ends, pass or fail.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_until_listening(addr: &str, server: &mut Server) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_ok() {
            return;
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("dynacore exited before listening: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("dynacore did not listen on {addr} within 30 s");
}

#[test]
fn ycsb_b_two_seconds_against_dynacore() {
    let scratch = target_dir().join(format!("loadgen-it-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("create scratch dir under target/");
    let _server;
    let endpoint = match std::env::var("LOADGEN_IT_ENDPOINT") {
        Ok(e) => e,
        Err(_) => {
            let bin = match server_binary() {
                Ok(b) => b,
                Err(msg) => panic!("{msg}"),
            };
            let addr = format!("127.0.0.1:{}", free_port());
            let data_dir = scratch.join("data");
            let child = Command::new(&bin)
                .args(["serve", "--listen", &addr, "--data-dir"])
                .arg(&data_dir)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let mut server = Server(child);
            wait_until_listening(&addr, &mut server);
            _server = server;
            format!("http://{addr}")
        }
    };
    let report = scratch.join("report.json");
    let table = format!("ycsb_b_it_{}", std::process::id());
    let out = Command::new(env!("CARGO_BIN_EXE_dynacore-loadgen"))
        .args([
            "run",
            "--endpoint",
            &endpoint,
            "--workload",
            "ycsb-b",
            "--table",
            &table,
            "--record-count",
            "1000",
            "--duration",
            "2",
            "--warmup",
            "0",
            "--connections",
            "4",
            "--no-pin",
            "--quiet",
            "--json",
        ])
        .arg(&report)
        .output()
        .expect("run dynacore-loadgen");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "loadgen failed: {}\n{stdout}\n{stderr}",
        out.status
    );
    let text = std::fs::read_to_string(&report).expect("report written");
    let v: serde_json::Value = serde_json::from_str(&text).expect("report is JSON");
    let ops = v["ops"].as_u64().expect("ops");
    let errors = v["errors"].as_u64().expect("errors");
    assert!(ops > 0, "no operations completed\n{stdout}");
    assert_eq!(errors, 0, "errors: {}\n{stdout}", v["error_types"]);
    assert!(v["operations"]["get"]["p99_us"].as_u64().is_some());
    let _ = std::fs::remove_dir_all(&scratch);
}
