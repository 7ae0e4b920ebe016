//! Integration test: a 2-second YCSB-B run against the real Dynacore binary.
//!
//! Starts `dynacore serve --listen 127.0.0.1:<free port> --data-dir <temp
//! dir under target/>`, lets the load generator create and fill the table,
//! runs ycsb-b, and checks the JSON report (ops > 0, errors == 0). The server
//! binary is found at `$DYNACORE_BIN`, else `target/release/dynacore`, else
//! `target/debug/dynacore` of the workspace (or `$CARGO_TARGET_DIR`).
//! Set `LOADGEN_IT_ENDPOINT=http://host:port` to run against an endpoint that
//! is already up (e.g. dynalite) instead of starting the binary.

mod common;

use std::process::Command;

#[test]
fn ycsb_b_two_seconds_against_dynacore() {
    let scratch = common::target_dir().join(format!("loadgen-it-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("create scratch dir under target/");
    let _server;
    let endpoint = match std::env::var("LOADGEN_IT_ENDPOINT") {
        Ok(e) => e,
        Err(_) => {
            let server = common::Server::start(&scratch, &[]);
            let endpoint = server.endpoint();
            _server = server;
            endpoint
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
