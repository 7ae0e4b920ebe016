//! `GET /metrics` on the admin listener, parsed by a real Prometheus
//! parser (`prometheus-parse`): request counts and latency histograms per
//! operation and table with the documented bucket edges, errors by type,
//! consumed capacity per table; the data port does not serve it.

mod common;

use common::{Server, raw_get};
use prometheus_parse::{Scrape, Value};

fn scrape(server: &Server) -> Scrape {
    let (status, body) = raw_get(server.admin_port, "/metrics").expect("scrape");
    assert_eq!(status, 200, "{body}");
    Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("valid exposition format")
}

fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            Value::Summary(_) => 0.0,
        })
        .sum()
}

#[test]
fn metrics_parse_and_count_requests_by_operation_and_table() {
    let server = Server::start("metrics-prometheus", 2);
    let (status, body) = server.call(
        "CreateTable",
        r#"{"TableName":"mtab","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],
           "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}"#,
    );
    assert_eq!(status, 200, "{body}");
    for i in 0..10 {
        let (status, body) = server.call(
            "PutItem",
            &format!(r#"{{"TableName":"mtab","Item":{{"pk":{{"S":"k{i}"}}}}}}"#),
        );
        assert_eq!(status, 200, "{body}");
    }
    for i in 0..7 {
        let (status, body) = server.call(
            "GetItem",
            &format!(r#"{{"TableName":"mtab","Key":{{"pk":{{"S":"k{i}"}}}}}}"#),
        );
        assert_eq!(status, 200, "{body}");
    }
    let (status, _) = server.call(
        "GetItem",
        r#"{"TableName":"missing","Key":{"pk":{"S":"k"}}}"#,
    );
    assert_eq!(status, 400);

    let s = scrape(&server);
    let get = [("operation", "GetItem"), ("table", "mtab")];
    assert_eq!(value(&s, "dynacore_requests_total", &get), 7.0);
    assert_eq!(
        value(
            &s,
            "dynacore_requests_total",
            &[("operation", "PutItem"), ("table", "mtab")]
        ),
        10.0
    );
    // The histogram: every documented edge, cumulative, +Inf = count.
    let hist: Vec<_> = s
        .samples
        .iter()
        .filter(|x| {
            x.metric == "dynacore_request_duration_seconds"
                && x.labels.get("operation") == Some("GetItem")
                && x.labels.get("table") == Some("mtab")
        })
        .collect();
    assert!(!hist.is_empty(), "no GetItem histogram");
    let mut count = 0.0;
    for h in &hist {
        let Value::Histogram(buckets) = &h.value else {
            panic!("not a histogram: {:?}", h.value)
        };
        let edges: Vec<f64> = buckets.iter().map(|b| b.less_than).collect();
        assert_eq!(edges.first(), Some(&0.00005));
        assert!(
            edges.contains(&10.0) && edges.last() == Some(&f64::INFINITY),
            "{edges:?}"
        );
        assert!(buckets.windows(2).all(|w| w[0].count <= w[1].count));
        count += buckets.last().map_or(0.0, |b| b.count);
    }
    assert_eq!(count, 7.0);
    assert_eq!(
        value(
            &s,
            "dynacore_request_errors_total",
            &[
                ("operation", "GetItem"),
                ("error_type", "ResourceNotFoundException")
            ]
        ),
        1.0
    );
    // 7 eventually consistent reads of small items: 0.5 each; 10 writes: 1.
    assert_eq!(
        value(
            &s,
            "dynacore_consumed_read_capacity_units_total",
            &[("table", "mtab")]
        ),
        3.5
    );
    assert_eq!(
        value(
            &s,
            "dynacore_consumed_write_capacity_units_total",
            &[("table", "mtab")]
        ),
        10.0
    );
    assert!(value(&s, "dynacore_connections_open", &[]) >= 0.0);
    assert!(
        s.samples
            .iter()
            .any(|x| x.metric == "dynacore_memtable_bytes")
    );
    assert!(
        s.samples
            .iter()
            .any(|x| x.metric == "dynacore_wal_sync_duration_seconds")
    );
    // Per-shard CPU from the shard threads ("shard-<id>-<executor>").
    for shard in ["0", "1"] {
        assert!(
            s.samples
                .iter()
                .any(|x| x.metric == "dynacore_shard_cpu_seconds_total"
                    && x.labels.get("shard") == Some(shard)),
            "no CPU sample for shard {shard}"
        );
    }
    // The data port answers DynamoDB's way, not with metrics.
    let (_, body) = raw_get(server.port, "/metrics").expect("data port");
    assert!(!body.contains("dynacore_requests_total"), "{body}");
}
