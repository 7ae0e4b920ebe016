//! Dynacore's own HTTP endpoints beside the DynamoDB API: the published
//! partition map for shard-aware clients, and per-shard metrics.

use std::rc::Rc;

use crate::api::Shard;
use crate::api::shard::peers::all_stats;
use crate::config::Config;

/// `{"hash":"xxh3_64","shards":[{"shard":0,"hash_start":"0","hash_end":"…","endpoint":…}]}`
/// Bounds are inclusive decimal strings (JSON numbers lose u64 precision).
pub fn partition_map_json(shard: &Shard, config: &Config) -> Vec<u8> {
    let host = config
        .listen
        .rsplit_once(':')
        .map_or("127.0.0.1", |(h, _)| h);
    let mut out = String::from(
        "{\"hash\":\"xxh3_64\",\"key\":\"table_name 0x00 type_tag key_bytes\",\"shards\":[",
    );
    for s in 0..shard.map.shard_count() {
        if s > 0 {
            out.push(',');
        }
        let endpoint = match config.shard_port_base {
            Some(base) => format!("\"http://{host}:{}\"", u32::from(base) + s),
            None => "null".to_string(),
        };
        out.push_str(&format!(
            "{{\"shard\":{s},\"hash_start\":\"{}\",\"hash_end\":\"{}\",\"endpoint\":{endpoint}}}",
            shard.map.range_start(s),
            shard.map.range_end(s)
        ));
    }
    out.push_str("]}");
    out.into_bytes()
}

/// Counters of every shard (requests, forwarded in/out, errors, GSI
/// outbox backlog and replication lag, backfill progress, TTL expiry).
pub async fn metrics_json(shard: &Rc<Shard>) -> (u16, Vec<u8>) {
    // No table has id 0xFFFFFFFF: the prefix counts nothing, cheaply.
    match all_stats(shard, &[0xFF; 4]).await {
        Ok(stats) => {
            let mut out = String::from("{\"shards\":[");
            for (i, s) in stats.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let o = &s.outbox;
                out.push_str(&format!(
                    "{{\"shard\":{i},\"requests\":{},\"forwarded_out\":{},\"forwarded_in\":{},\"errors\":{},\
                     \"gsi_outbox_pending_records\":{},\"gsi_delivered_ops\":{},\"gsi_delivery_failures\":{},\
                     \"gsi_outbox_quarantined_records\":{},\"gsi_lag_ms_p50\":{},\"gsi_lag_ms_p99\":{},\"gsi_lag_ms_max\":{},\"gsi_lag_samples\":{},\
                     \"backfill_items\":{},\"backfill_items_per_s\":{},\
                     \"ttl_deleted_total\":{},\"ttl_backlog_items\":{},\"ttl_scan_passes_total\":{},\"ttl_last_scan_ms\":{},",
                    s.requests, s.forwarded_out, s.forwarded_in, s.errors,
                    o.pending_records, o.delivered_ops, o.delivery_failures, o.quarantined_records,
                    o.lag_ms_p50, o.lag_ms_p99, o.lag_ms_max, o.lag_samples,
                    s.backfill_items, s.backfill_items_per_s,
                    s.ttl_deleted_total, s.ttl_backlog_items, s.ttl_scan_passes_total, s.ttl_last_scan_ms
                ));
                let t = &s.transactions;
                out.push_str(&format!(
                    "\"txn_committed\":{},\"txn_cancelled\":{},\"txn_single_shard\":{},\"txn_conflicts\":{},\
                     \"txn_recovered\":{},\"txn_prepared\":{},\"txn_intents\":{},\"txn_tokens\":{},",
                    t.committed, t.cancelled, t.single_shard, t.conflicts,
                    t.recovered, t.prepared, t.intents, t.tokens
                ));
                out.push_str(&format!(
                    "\"stream_records_written\":{},\"stream_records_trimmed\":{},",
                    s.stream_records_written, s.stream_records_trimmed
                ));
                out.push_str("\"write_phases\":{");
                // "write_phases":{"fdatasync_us":{"count":…,"p50":…,…},…}
                for (j, (name, p)) in s.write_phases.named().into_iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    out.push_str(&format!(
                        "\"{name}\":{{\"count\":{},\"p50\":{},\"p99\":{},\"p999\":{},\"max\":{},\"mean\":{}}}",
                        p.count, p.p50, p.p99, p.p999, p.max, p.mean
                    ));
                }
                out.push_str("}}");
            }
            out.push_str("]}");
            (200, out.into_bytes())
        }
        Err(e) => (e.status, e.to_json()),
    }
}
