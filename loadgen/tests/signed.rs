//! Integration test: the load generator signs for real. A server with a
//! credentials file and shard ports; a shard-aware run (which fetches the
//! signed `/dynacore/partition-map`) with `--access-key/--secret-key`
//! completes without errors, and the same run with a wrong secret fails.

mod common;

use std::process::Command;

fn run(
    endpoint: &str,
    table: &str,
    secret: &str,
    report: &std::path::Path,
) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dynacore-loadgen"))
        .args([
            "run",
            "--endpoint",
            endpoint,
            "--workload",
            "ycsb-c",
            "--table",
            table,
            "--record-count",
            "200",
            "--duration",
            "1",
            "--warmup",
            "0",
            "--connections",
            "2",
            "--no-pin",
            "--quiet",
            "--shard-aware",
            "--access-key",
            "AKIDLOAD",
            "--secret-key",
            secret,
            "--region",
            "us-east-1",
            "--json",
        ])
        .arg(report)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .expect("run dynacore-loadgen")
}

#[test]
fn shard_aware_run_with_real_credentials() {
    let scratch = common::target_dir().join(format!("loadgen-signed-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch under target/");
    let creds = scratch.join("credentials.toml");
    std::fs::write(
        &creds,
        "[[credentials]]\naccess_key_id = \"AKIDLOAD\"\nsecret_access_key = \"load-secret\"\n",
    )
    .expect("write credentials");
    let server = common::Server::start_with_shard_ports(
        &scratch,
        &[
            "--shards",
            "2",
            "--profile",
            "test_min",
            "--credentials",
            creds.to_str().expect("utf-8"),
        ],
    );
    let report = scratch.join("report.json");
    let table = format!("signed_it_{}", std::process::id());
    let out = run(&server.endpoint(), &table, "load-secret", &report);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "loadgen failed: {stdout}\n{stderr}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("JSON");
    assert!(v["ops"].as_u64().expect("ops") > 0, "{stdout}");
    assert_eq!(v["errors"].as_u64(), Some(0), "{}", v["error_types"]);
    let bad = run(
        &server.endpoint(),
        &table,
        "wrong-secret",
        &scratch.join("bad.json"),
    );
    assert!(!bad.status.success(), "a wrong secret must not get through");
    drop(server);
    let _ = std::fs::remove_dir_all(&scratch);
}
