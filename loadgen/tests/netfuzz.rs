//! Integration test: `dynacore-loadgen fuzz` against the real Dynacore
//! binary (2 shards) for a bounded number of adversarial requests. Fails if
//! the fuzz command reports a dead server or a changed canary, or if the
//! server process has exited by the end. The server binary is found as in
//! `ycsb_b.rs` (`$DYNACORE_BIN`, else target/{release,debug}/dynacore).
//!
//! Before the front-door HTTP fixes it killed a shard at once (the
//! chunk-size overflow panic of issue 10).

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

fn server_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("DYNACORE_BIN") {
        return PathBuf::from(p);
    }
    for dir in [target_dir(), workspace_root().join("target")] {
        for profile in ["release", "debug"] {
            let p = dir.join(profile).join("dynacore");
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("Dynacore server binary not found; build it or set DYNACORE_BIN");
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn adversarial_requests_leave_the_server_alive_and_the_canary_unchanged() {
    let scratch = target_dir().join(format!("loadgen-netfuzz-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir under target/");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let bin = server_binary();
    let child = Command::new(&bin)
        .args([
            "serve",
            "--profile",
            "test_min",
            "--shards",
            "2",
            "--listen",
            &addr,
        ])
        .arg("--data-dir")
        .arg(scratch.join("data"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "dynacore did not listen");
        assert!(
            server.0.try_wait().ok().flatten().is_none(),
            "dynacore exited before listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_dynacore-loadgen"))
        .args([
            "fuzz",
            "--endpoint",
            &format!("http://{addr}"),
            "--seed",
            "20261202",
            "--requests",
            "1500",
            "--duration",
            "120",
        ])
        .output()
        .expect("run dynacore-loadgen fuzz");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "fuzz failed: {}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("sent 1500 requests"), "{stdout}");
    assert!(stdout.contains("canary: unchanged"), "{stdout}");
    assert!(
        server.0.try_wait().ok().flatten().is_none(),
        "dynacore exited during the fuzz run"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&scratch);
}
