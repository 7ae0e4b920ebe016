//! Logs written to a pipe or a file carry no ANSI colour codes (they did:
//! log files were full of escapes). Starts the real server with stderr
//! piped, stops it, and reads what it logged.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn server_logs_to_a_pipe_without_colour_codes() {
    let port = common::free_port();
    let dir = common::fresh_data_dir("plain_logs");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dynacore"))
        .args([
            "serve",
            "--profile",
            "test_min",
            "--shards",
            "1",
            "--listen",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dynacore");
    let deadline = Instant::now() + Duration::from_secs(120);
    while common::raw_get(port, "/").map(|r| r.0) != Ok(200) {
        assert!(Instant::now() < deadline, "server did not become healthy");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let mut log = String::new();
    child
        .stderr
        .take()
        .expect("stderr piped")
        .read_to_string(&mut log)
        .expect("read stderr");
    let _ = child.wait();
    assert!(log.contains("INFO"), "expected some log lines, got {log:?}");
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escapes in piped logs: {log:?}"
    );
}
