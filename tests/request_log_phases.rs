//! The request logs through the real binary: every JSON request line names
//! the request's key hash (the placement hash `/dynacore/partition-map`
//! ranges are in) and splits its duration into queue, parse, engine, sync
//! (waiting for fdatasync) and reply, which add up to no more than the
//! total; a write waits for its sync, a read does not; a forwarded write's
//! sync (2 shards, keys on both) comes back to the shard that logs it, and
//! a cross-shard transaction's prepare and decision syncs count; a
//! slow-request line carries the same fields.

mod common;

use std::io::Read;

use common::start_with_config;

const TABLE: &str = "logged";

fn hash_of(key: &str) -> String {
    format!(
        "{:016x}",
        dynacore::routing::placement_hash(TABLE, b'S', key.as_bytes())
    )
}

#[test]
fn request_lines_carry_the_key_hash_and_the_sync_phase() {
    let mut server = start_with_config(
        "request-log-phases",
        2,
        "request_log = \"json\"\nslow_request_ms = 1\n",
    );
    // Read stderr all along (a full pipe would block the server's logging).
    let mut stderr = server
        .child
        .as_mut()
        .and_then(|c| c.stderr.take())
        .expect("stderr piped");
    let reader = std::thread::spawn(move || {
        let mut log = String::new();
        let _ = stderr.read_to_string(&mut log);
        log
    });
    let (status, body) = server.call(
        "CreateTable",
        &format!(
            r#"{{"TableName":"{TABLE}","AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}}],
            "KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}}],"BillingMode":"PAY_PER_REQUEST"}}"#
        ),
    );
    assert_eq!(status, 200, "{body}");
    // Twenty keys: on 2 shards some writes are forwarded to their owner.
    let keys: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
    for key in &keys {
        let (status, body) = server.call(
            "PutItem",
            &format!(r#"{{"TableName":"{TABLE}","Item":{{"pk":{{"S":"{key}"}}}}}}"#),
        );
        assert_eq!(status, 200, "{body}");
        let (status, body) = server.call(
            "GetItem",
            &format!(r#"{{"TableName":"{TABLE}","Key":{{"pk":{{"S":"{key}"}}}}}}"#),
        );
        assert_eq!(status, 200, "{body}");
    }
    // A transaction across both shards: its prepare and decision syncs
    // are its sync phase (the coordinator runs as a task of its own).
    let puts: Vec<String> = keys[..10]
        .iter()
        .map(|key| {
            format!(
                r#"{{"Put":{{"TableName":"{TABLE}","Item":{{"pk":{{"S":"{key}"}},"v":{{"S":"t"}}}}}}}}"#
            )
        })
        .collect();
    let (status, body) = server.call(
        "TransactWriteItems",
        &format!(r#"{{"TransactItems":[{}]}}"#, puts.join(",")),
    );
    assert_eq!(status, 200, "{body}");
    server.stop();
    let log = reader.join().expect("reader");

    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.starts_with("{\"type\":\"request\""))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let of = |op: &str| -> Vec<&serde_json::Value> {
        lines.iter().filter(|l| l["operation"] == op).collect()
    };
    let (puts, gets) = (of("PutItem"), of("GetItem"));
    assert_eq!((puts.len(), gets.len()), (20, 20), "{log}");
    let field = |l: &serde_json::Value, name: &str| {
        l[name].as_u64().unwrap_or_else(|| panic!("{name} in {l}"))
    };
    for (i, (put, get)) in puts.iter().zip(&gets).enumerate() {
        let hash = hash_of(&keys[i]);
        assert_eq!(put["key_hash"], hash.as_str(), "{put}");
        assert_eq!(get["key_hash"], hash.as_str(), "{get}");
        for line in [put, get] {
            let phases: u64 = ["queue_us", "parse_us", "engine_us", "sync_us", "reply_us"]
                .iter()
                .map(|p| field(line, p))
                .sum();
            assert!(phases <= field(line, "duration_us"), "{line}");
        }
        // Every acknowledged write waited for its WAL sync, forwarded or not.
        assert!(field(put, "sync_us") > 0, "{put}");
        assert_eq!(field(get, "sync_us"), 0, "{get}");
    }
    let txn = of("TransactWriteItems");
    assert_eq!(txn.len(), 1, "{log}");
    assert!(field(txn[0], "sync_us") > 0, "{}", txn[0]);
    // A request with no key names none.
    let create = of("CreateTable");
    assert_eq!(create[0]["key_hash"], "", "{}", create[0]);
    // Slow requests (1 ms here; which ones is up to the machine) carry the
    // same split on their warning line.
    for slow in lines.iter().filter(|l| l["slow"] == true) {
        let id = slow["request_id"].as_str().expect("request id");
        let warning = log
            .lines()
            .find(|l| l.contains("slow request") && l.contains(id))
            .unwrap_or_else(|| panic!("no slow-request line for {id}"));
        for name in [
            "key_hash=",
            "queue_us=",
            "sync_us=",
            "engine_us=",
            "reply_us=",
        ] {
            assert!(warning.contains(name), "{name} missing: {warning}");
        }
    }
}
