//! Capacity shares move to where a table's traffic lands: on 2 shards, a
//! 20 RCU table read only through shard 0's own port gets (nearly) its
//! whole rate there once the shards have exchanged demand
//! (`capacity.rebalance_interval_ms`), where fixed shares would hold
//! shard 0 to 10 RCU.
//!
//! Counted, not timed: shard 0 alone can never admit more than half the
//! table's credit and refill, `10 × (1 + t) + 1` reads of 1 unit in `t`
//! seconds (1 s of burst), with fixed shares; the test passes once it has
//! admitted 1.5 times that (within a generous deadline), and asserts all
//! along that the table's whole rate, `20 × (1 + t) + 1`, is never
//! exceeded. A slow machine only takes longer to get there.

mod common;

use std::time::{Duration, Instant};

use common::{Server, error_type, free_port_run, fresh_data_dir, raw_call};

const TABLE: &str = "rebalanced";

#[test]
fn a_table_read_through_one_shard_gets_its_whole_rate_there() {
    let config = fresh_data_dir("capacity-rebalance-config").with_extension("toml");
    std::fs::write(
        &config,
        "[capacity]\nburst_s = 1\nrebalance_interval_ms = 100\n",
    )
    .expect("write config");
    let base = free_port_run(2);
    let server = Server::start_with(
        "capacity-rebalance",
        2,
        &[
            "--config",
            &config.to_string_lossy(),
            "--shard-port-base",
            &base.to_string(),
        ],
    );
    let (status, body) = server.call(
        "CreateTable",
        &format!(
            r#"{{"TableName":"{TABLE}","AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}}],
            "KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}}],
            "ProvisionedThroughput":{{"ReadCapacityUnits":20,"WriteCapacityUnits":1000}}}}"#
        ),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.call(
        "PutItem",
        &format!(r#"{{"TableName":"{TABLE}","Item":{{"pk":{{"S":"k"}}}}}}"#),
    );
    assert_eq!(status, 200, "{body}");
    let get =
        format!(r#"{{"TableName":"{TABLE}","Key":{{"pk":{{"S":"k"}}}},"ConsistentRead":true}}"#);

    let start = Instant::now();
    let (mut admitted, mut refused) = (0u64, 0u64);
    loop {
        // Shard 0's own port: every read is admitted by shard 0.
        let (status, body) = raw_call(base, Some("GetItem"), &get, true);
        match status {
            200 => admitted += 1,
            400 => {
                assert_eq!(
                    error_type(&body),
                    "ProvisionedThroughputExceededException",
                    "{body}"
                );
                refused += 1;
            }
            other => panic!("GetItem answered {other}: {body}"),
        }
        let t = start.elapsed().as_secs_f64();
        let half = 10.0 * (1.0 + t) + 1.0;
        let whole = 20.0 * (1.0 + t) + 1.0;
        assert!(
            (admitted as f64) <= whole,
            "{admitted} reads of 1 unit in {t:.1} s: more than the table's 20 RCU"
        );
        if admitted as f64 > 1.5 * half {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "shard 0 never got more than its fixed share: {admitted} admitted, \
             {refused} refused in {t:.1} s"
        );
    }
}
