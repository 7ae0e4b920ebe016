//! Dynacore's own HTTP endpoints beside the DynamoDB API: the published
//! partition map for shard-aware clients, and per-shard metrics.

use std::rc::Rc;

use crate::api::Shard;
use crate::api::mesh::all_stats;
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

/// Counters of every shard (requests, forwarded in/out, errors).
pub async fn metrics_json(shard: &Rc<Shard>) -> (u16, Vec<u8>) {
    // No table has id 0xFFFFFFFF: the prefix counts nothing, cheaply.
    match all_stats(shard, &[0xFF; 4]).await {
        Ok(stats) => {
            let mut out = String::from("{\"shards\":[");
            for (i, s) in stats.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&format!(
                    "{{\"shard\":{i},\"requests\":{},\"forwarded_out\":{},\"forwarded_in\":{},\"errors\":{}}}",
                    s.requests, s.forwarded_out, s.forwarded_in, s.errors
                ));
            }
            out.push_str("]}");
            (200, out.into_bytes())
        }
        Err(e) => (e.status, e.to_json()),
    }
}
