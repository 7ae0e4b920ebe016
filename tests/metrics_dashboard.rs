//! The Grafana dashboard in `docs/` reads only series the server really
//! serves: every `dynacore_*` name its queries use appears in a real
//! `/metrics` scrape (as samples, after a few requests, an error, a
//! throttled read and a GSI, or as a declared family), and the dashboard
//! and the Prometheus example parse.

mod common;

use std::collections::BTreeSet;

use common::{Server, raw_get};

fn names_in(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("dynacore_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

#[test]
fn every_metric_the_dashboard_uses_is_served() {
    let dashboard = include_str!("../docs/grafana-dashboard.json");
    let json: serde_json::Value = serde_json::from_str(dashboard).expect("dashboard is JSON");
    let exprs: Vec<&str> = json["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter_map(|t| t["expr"].as_str())
        .collect();
    assert!(exprs.len() >= 20, "{} queries", exprs.len());
    let used: BTreeSet<String> = exprs.iter().flat_map(|e| names_in(e)).collect();
    let example = include_str!("../docs/prometheus.yml");
    assert!(example.contains("metrics_path: /metrics"), "{example}");

    let server = Server::start("metrics-dashboard", 2);
    let (status, reply) = server.call(
        "CreateTable",
        r#"{"TableName":"dash","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"g","AttributeType":"S"}],
           "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],
           "GlobalSecondaryIndexes":[{"IndexName":"gix","KeySchema":[{"AttributeName":"g","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"},
             "ProvisionedThroughput":{"ReadCapacityUnits":1,"WriteCapacityUnits":100}}],
           "ProvisionedThroughput":{"ReadCapacityUnits":1,"WriteCapacityUnits":100}}"#,
    );
    assert_eq!(status, 200, "{reply}");
    for i in 0..20 {
        let (status, reply) = server.call(
            "PutItem",
            &format!(r#"{{"TableName":"dash","Item":{{"pk":{{"S":"k{i}"}},"g":{{"S":"g"}}}}}}"#),
        );
        assert_eq!(status, 200, "{reply}");
    }
    // Reads past the 1 RCU table's credit (300 units) are throttled.
    let blob = "x".repeat(300 * 1024);
    let (status, reply) = server.call(
        "PutItem",
        &format!(r#"{{"TableName":"dash","Item":{{"pk":{{"S":"big"}},"v":{{"S":"{blob}"}}}}}}"#),
    );
    assert_eq!(status, 200, "{reply}");
    for _ in 0..10 {
        server.call(
            "GetItem",
            r#"{"TableName":"dash","Key":{"pk":{"S":"big"}},"ConsistentRead":true}"#,
        );
    }
    // An error of each kind the dashboard breaks down.
    let (status, _) = server.call(
        "GetItem",
        r#"{"TableName":"missing","Key":{"pk":{"S":"k"}}}"#,
    );
    assert_eq!(status, 400);

    let (status, scrape) = raw_get(server.admin_port, "/metrics").expect("scrape");
    assert_eq!(status, 200, "{scrape}");
    // Names of samples, and of declared families (a family this machine
    // has no samples of, such as per-thread CPU without schedstat, is
    // still served); a histogram's `_bucket`/`_sum`/`_count` with it.
    let mut served: BTreeSet<String> = scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect();
    for declared in scrape.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let mut parts = declared.split(' ');
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
            continue;
        };
        served.insert(name.to_string());
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                served.insert(format!("{name}{suffix}"));
            }
        }
    }
    let missing: Vec<&String> = used.iter().filter(|n| !served.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "the dashboard uses series /metrics does not serve: {missing:?}\n{scrape}"
    );
}
