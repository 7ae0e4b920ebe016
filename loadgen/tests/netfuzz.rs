//! Integration test: `dynacore-loadgen fuzz` against the real Dynacore
//! binary (2 shards) for a bounded number of adversarial requests. Fails if
//! the fuzz command reports a dead server or a changed canary, or if the
//! server process has exited by the end. The server binary is found as in
//! `ycsb_b.rs` (`$DYNACORE_BIN`, else target/{release,debug}/dynacore).
//!
//! Before the front-door HTTP fixes it killed a shard at once (the
//! chunk-size overflow panic of issue 10).

mod common;

use std::process::Command;

#[test]
fn adversarial_requests_leave_the_server_alive_and_the_canary_unchanged() {
    let scratch = common::target_dir().join(format!("loadgen-netfuzz-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir under target/");
    let mut server = common::Server::start(&scratch, &["--profile", "test_min", "--shards", "2"]);
    let out = Command::new(env!("CARGO_BIN_EXE_dynacore-loadgen"))
        .args([
            "fuzz",
            "--endpoint",
            &server.endpoint(),
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
    assert!(server.alive(), "dynacore exited during the fuzz run");
    drop(server);
    let _ = std::fs::remove_dir_all(&scratch);
}
