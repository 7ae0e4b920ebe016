//! Fault containment: `GET /dynacore/health` reports every shard (200 while
//! all serve), `GET /` keeps DynamoDB's reply, and a shard that panics makes
//! the whole process exit non-zero with the panic message in its log.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, free_port, fresh_data_dir, raw_get};

#[test]
fn health_reports_every_shard() {
    let server = Server::start("health-report", 2);
    let (status, body) = raw_get(server.port, "/dynacore/health").expect("health");
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("{\"status\":\"ok\""), "{body}");
    for shard in 0..2 {
        assert!(
            body.contains(&format!(
                "{{\"shard\":{shard},\"state\":\"serving\",\"healthy\":true"
            )),
            "{body}"
        );
    }
    let (status, body) = raw_get(server.port, "/").expect("root");
    assert_eq!(status, 200);
    assert!(body.starts_with("healthy: dynamodb."), "{body}");
}

/// Debug builds honour `DYNACORE_DEBUG_PANIC_SHARD` (compiled out of
/// release builds): shard 1 panics once serving, the real path.
#[test]
fn a_shard_panic_exits_the_process_non_zero() {
    if !cfg!(debug_assertions) {
        eprintln!("skipped: the panic trigger exists only in debug builds");
        return;
    }
    let data_dir = fresh_data_dir("health-panic");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dynacore"))
        .args([
            "serve",
            "--profile",
            "test_min",
            "--shards",
            "2",
            "--listen",
        ])
        .arg(format!("127.0.0.1:{}", free_port()))
        .arg("--data-dir")
        .arg(&data_dir)
        .env("DYNACORE_DEBUG_PANIC_SHARD", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dynacore");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process kept running after a shard panicked");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut log = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("log");
    assert!(!status.success(), "exit status {status}: {log}");
    assert!(
        log.contains("debug panic requested by DYNACORE_DEBUG_PANIC_SHARD=1"),
        "{log}"
    );
    assert!(log.contains("shard-1"), "{log}");
    let _ = std::fs::remove_dir_all(data_dir);
}
