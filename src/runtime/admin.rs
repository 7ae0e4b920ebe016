//! Dynacore's own HTTP endpoints beside the DynamoDB API: the published
//! partition map for shard-aware clients, and per-shard metrics.

use std::rc::Rc;

use super::health::Health;
use crate::api::Shard;
use crate::api::messages::{ShardStats, TableUsage};
use crate::api::shard::peers::{METRICS_PREFIX, all_stats};
use crate::config::Config;
use crate::engine::wal::phases::PhaseSummary;
use crate::metrics::prom::Exposition;
use crate::metrics::{OTHER_TABLES, Series};

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
    match all_stats(shard, &METRICS_PREFIX).await {
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
                out.push_str(&format!(
                    "\"pitr_records_written\":{},\"pitr_bytes_written\":{},\"pitr_records_trimmed\":{},\"pitr_base_bytes\":{},",
                    s.pitr_records_written, s.pitr_bytes_written, s.pitr_records_trimmed, s.pitr_base_bytes
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

/// `GET /metrics`: every shard's figures in the Prometheus text format
/// (see `docs/metrics.md` for the families). Labels: `shard` everywhere,
/// `operation` and `table` on request families (tables bounded by
/// `metrics_tables_max` per shard, the rest `_other`).
pub async fn metrics_prometheus(
    shard: &Rc<Shard>,
    health: &Health,
    config: &Config,
) -> (u16, Vec<u8>) {
    let stats = match all_stats(shard, &METRICS_PREFIX).await {
        Ok(stats) => stats,
        Err(e) => return (e.status, e.to_json()),
    };
    let mut e = Exposition::default();
    let shard_ids: Vec<String> = (0..stats.len()).map(|i| i.to_string()).collect();

    e.family(
        "dynacore_request_duration_seconds",
        "histogram",
        "Client requests by operation and table: time from the parsed HTTP request to the reply (SuccessfulRequestLatency).",
    );
    for (id, s) in shard_ids.iter().zip(&stats) {
        for (op, table, series) in &s.requests_by_operation.series {
            e.histogram(
                "dynacore_request_duration_seconds",
                &[("shard", id), ("operation", op), ("table", table)],
                series,
            );
        }
    }
    e.family(
        "dynacore_requests_total",
        "counter",
        "Client requests by operation and table.",
    );
    for (id, s) in shard_ids.iter().zip(&stats) {
        for (op, table, series) in &s.requests_by_operation.series {
            e.sample(
                "dynacore_requests_total",
                &[("shard", id), ("operation", op), ("table", table)],
                series.count() as f64,
            );
        }
    }
    e.family(
        "dynacore_request_errors_total",
        "counter",
        "Failed client requests by operation and error __type (namespace dropped).",
    );
    for (id, s) in shard_ids.iter().zip(&stats) {
        for (op, error, n) in &s.requests_by_operation.errors {
            e.sample(
                "dynacore_request_errors_total",
                &[("shard", id), ("operation", op), ("error_type", error)],
                *n as f64,
            );
        }
    }
    let capacity: [CapacityFamily; 4] = [
        (
            "dynacore_consumed_read_capacity_units_total",
            "Read capacity units consumed per table (ConsumedReadCapacityUnits).",
            |u| u.read_units,
        ),
        (
            "dynacore_consumed_write_capacity_units_total",
            "Write capacity units consumed per table, index writes included (ConsumedWriteCapacityUnits).",
            |u| u.write_units,
        ),
        (
            "dynacore_throttled_read_requests_total",
            "Reads refused for capacity per table (ReadThrottleEvents).",
            |u| u.throttled_reads as f64,
        ),
        (
            "dynacore_throttled_write_requests_total",
            "Writes refused for capacity per table (WriteThrottleEvents).",
            |u| u.throttled_writes as f64,
        ),
    ];
    for (name, help, value) in capacity {
        e.family(name, "counter", help);
        for (id, s) in shard_ids.iter().zip(&stats) {
            let tables_max = shard.metrics.tables_max();
            let mut other = 0.0;
            for (i, (table, usage)) in s.capacity.iter().enumerate() {
                if i < tables_max {
                    e.sample(name, &[("shard", id), ("table", table)], value(usage));
                } else {
                    other += value(usage);
                }
            }
            if s.capacity.len() > tables_max {
                e.sample(name, &[("shard", id), ("table", OTHER_TABLES)], other);
            }
        }
    }
    let health_report = health.report();
    let per_shard: [ShardFamily; 26] = [
        (
            "dynacore_forwarded_out_total",
            "counter",
            "Requests this shard forwarded to their owner.",
            |s| s.forwarded_out as f64,
        ),
        (
            "dynacore_forwarded_in_total",
            "counter",
            "Requests other shards forwarded here.",
            |s| s.forwarded_in as f64,
        ),
        (
            "dynacore_memtable_bytes",
            "gauge",
            "Bytes in the active and frozen memtables.",
            |s| s.engine.memtable_bytes as f64,
        ),
        (
            "dynacore_block_cache_bytes",
            "gauge",
            "Bytes held by the block cache.",
            |s| s.engine.block_cache_bytes as f64,
        ),
        (
            "dynacore_block_cache_hits_total",
            "counter",
            "Block cache hits.",
            |s| s.engine.block_cache_hits as f64,
        ),
        (
            "dynacore_block_cache_misses_total",
            "counter",
            "Block cache misses.",
            |s| s.engine.block_cache_misses as f64,
        ),
        (
            "dynacore_flushes_total",
            "counter",
            "Memtable flushes.",
            |s| s.engine.flushes as f64,
        ),
        (
            "dynacore_flush_bytes_total",
            "counter",
            "Bytes written by flushes.",
            |s| s.engine.flush_bytes as f64,
        ),
        (
            "dynacore_compactions_total",
            "counter",
            "Compactions.",
            |s| s.engine.compactions as f64,
        ),
        (
            "dynacore_compaction_bytes_total",
            "counter",
            "Bytes written by compactions.",
            |s| s.engine.compaction_bytes as f64,
        ),
        (
            "dynacore_wal_bytes_total",
            "counter",
            "Bytes written to the WAL.",
            |s| s.engine.wal_bytes as f64,
        ),
        ("dynacore_l0_files", "gauge", "SSTables in level 0.", |s| {
            s.engine.tables_per_level.first().copied().unwrap_or(0) as f64
        }),
        (
            "dynacore_write_stall_seconds_total",
            "counter",
            "Time writers waited for flushes/compaction (backlog wait).",
            |s| phase_sum_s(&s.write_phases.backlog_wait_us),
        ),
        (
            "dynacore_wal_groups_total",
            "counter",
            "WAL group commits.",
            |s| s.write_phases.group_records.count as f64,
        ),
        (
            "dynacore_wal_group_records_mean",
            "gauge",
            "Mean records per WAL group commit.",
            |s| s.write_phases.group_records.mean as f64,
        ),
        (
            "dynacore_gsi_outbox_pending_records",
            "gauge",
            "GSI outbox records not yet delivered (backlog).",
            |s| s.outbox.pending_records as f64,
        ),
        (
            "dynacore_gsi_delivered_ops_total",
            "counter",
            "GSI entry changes delivered.",
            |s| s.outbox.delivered_ops as f64,
        ),
        (
            "dynacore_gsi_lag_seconds_p99",
            "gauge",
            "GSI replication lag p99 (base write applied to index entry durable).",
            |s| s.outbox.lag_ms_p99 as f64 / 1e3,
        ),
        (
            "dynacore_gsi_lag_seconds_max",
            "gauge",
            "GSI replication lag max.",
            |s| s.outbox.lag_ms_max as f64 / 1e3,
        ),
        (
            "dynacore_backfill_items_total",
            "counter",
            "Items GSI backfills have indexed.",
            |s| s.backfill_items as f64,
        ),
        (
            "dynacore_pitr_history_records_written_total",
            "counter",
            "Point-in-time recovery history records written.",
            |s| s.pitr_records_written as f64,
        ),
        (
            "dynacore_pitr_history_bytes_written_total",
            "counter",
            "Point-in-time recovery history bytes written (record values).",
            |s| s.pitr_bytes_written as f64,
        ),
        (
            "dynacore_pitr_history_records_trimmed_total",
            "counter",
            "Point-in-time recovery history records trimmed (older than every base kept).",
            |s| s.pitr_records_trimmed as f64,
        ),
        (
            "dynacore_pitr_base_bytes",
            "gauge",
            "Bytes of the point-in-time recovery bases kept (coordinator).",
            |s| s.pitr_base_bytes as f64,
        ),
        (
            "dynacore_transactions_committed_total",
            "counter",
            "Transactions committed (coordinated here).",
            |s| s.transactions.committed as f64,
        ),
        (
            "dynacore_transactions_cancelled_total",
            "counter",
            "Transactions cancelled (coordinated here).",
            |s| s.transactions.cancelled as f64,
        ),
    ];
    for (name, kind, help, value) in per_shard {
        e.family(name, kind, help);
        for (id, s) in shard_ids.iter().zip(&stats) {
            e.sample(name, &[("shard", id)], value(s));
        }
    }
    e.family(
        "dynacore_connections_open",
        "gauge",
        "Open client connections.",
    );
    for (id, h) in shard_ids.iter().zip(&health_report) {
        e.sample(
            "dynacore_connections_open",
            &[("shard", id)],
            h.connections_open as f64,
        );
    }
    e.family(
        "dynacore_connection_buffer_bytes",
        "gauge",
        "Connection buffer bytes held (connection_buffers_bytes_max).",
    );
    for (id, h) in shard_ids.iter().zip(&health_report) {
        e.sample(
            "dynacore_connection_buffer_bytes",
            &[("shard", id)],
            h.buffer_bytes as f64,
        );
    }
    e.family(
        "dynacore_wal_sync_duration_seconds",
        "histogram",
        "WAL fdatasync latency.",
    );
    for (id, s) in shard_ids.iter().zip(&stats) {
        e.histogram(
            "dynacore_wal_sync_duration_seconds",
            &[("shard", id)],
            &phase_series(&s.write_phases.fdatasync_us),
        );
    }
    e.family(
        "dynacore_write_duration_seconds",
        "histogram",
        "Durable write path, applied to acknowledged.",
    );
    for (id, s) in shard_ids.iter().zip(&stats) {
        e.histogram(
            "dynacore_write_duration_seconds",
            &[("shard", id)],
            &phase_series(&s.write_phases.total_us),
        );
    }
    e.family(
        "dynacore_mesh_queue_depth",
        "gauge",
        "Configured depth of each shard-to-shard channel (mesh_queue_depth).",
    );
    e.sample(
        "dynacore_mesh_queue_depth",
        &[],
        config.mesh_queue_depth as f64,
    );
    // procfs reads are blocking system calls: the executor's blocking
    // pool makes them, so the shard serving the scrape never waits on one.
    let (cpu, rss) = glommio::executor()
        .spawn_blocking(|| (shard_cpu_seconds(), resident_bytes()))
        .await;
    e.family(
        "dynacore_shard_cpu_seconds_total",
        "counter",
        "CPU time of each shard thread (schedstat).",
    );
    for (id, seconds) in cpu {
        e.sample(
            "dynacore_shard_cpu_seconds_total",
            &[("shard", &id.to_string())],
            seconds,
        );
    }
    if let Some(rss) = rss {
        e.family(
            "dynacore_process_resident_memory_bytes",
            "gauge",
            "Resident set size of the process.",
        );
        e.sample("dynacore_process_resident_memory_bytes", &[], rss as f64);
    }
    (200, e.finish())
}

/// (name, help, value) of a per-table capacity family.
type CapacityFamily = (&'static str, &'static str, fn(&TableUsage) -> f64);
/// (name, type, help, value) of a per-shard family.
type ShardFamily = (
    &'static str,
    &'static str,
    &'static str,
    fn(&ShardStats) -> f64,
);

fn phase_sum_s(p: &PhaseSummary) -> f64 {
    (p.mean as f64 * p.count as f64) / 1e6
}

/// An engine phase histogram as a request-style series (sum from the mean).
fn phase_series(p: &PhaseSummary) -> Series {
    Series {
        buckets: p.buckets,
        sum_us: p.mean.saturating_mul(p.count),
        returned_items: 0,
    }
}

/// (shard, seconds on CPU) of every `shard-N` thread, from
/// `/proc/self/task/*/schedstat` (small in-memory files, read only when
/// scraped, off the shard thread).
fn shard_cpu_seconds() -> Vec<(u32, f64)> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let path = task.path();
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        // glommio names a shard's executor thread "shard-<id>-<executor>"
        // and its blocking-pool threads (file jobs) the same: both count.
        let Some(id) = comm
            .trim()
            .strip_prefix("shard-")
            .and_then(|n| n.split('-').next())
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let ns = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
        if let Some(ns) = ns {
            match out.iter_mut().find(|(shard, _)| *shard == id) {
                Some((_, seconds)) => *seconds += ns as f64 / 1e9,
                None => out.push((id, ns as f64 / 1e9)),
            }
        }
    }
    out.sort_by_key(|(id, _)| *id);
    out
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
