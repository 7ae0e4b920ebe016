//! Server configuration: one struct, loadable from TOML, overridable by
//! flags, with presets. Every bound is a named knob with its default and
//! trade-off documented here; `tuning/` holds ready-made profiles.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::EngineConfig;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address every shard accepts on (SO_REUSEPORT). Default 127.0.0.1:8000.
    pub listen: String,
    /// Data directory. Default ./dynacore-data.
    pub data_dir: PathBuf,
    /// Shard count; default: the CPUs available to the process. A data
    /// directory keeps the count it was created with.
    pub shards: Option<u32>,
    /// When set, shard i also listens on `shard_port_base + i` so shard-aware
    /// clients reach the owner directly (see `/dynacore/partition-map`).
    pub shard_port_base: Option<u16>,
    /// Open connections per shard; more are answered 400 ThrottlingException
    /// and closed. Default 1024. Each idle connection costs ~32 KiB of
    /// buffers (read and write baselines, counted in
    /// `connection_buffers_bytes_max`).
    pub max_connections_per_shard: usize,
    /// Largest request body; larger ones get 413. Default 16 MiB (DynamoDB's
    /// largest request, a 16 MB BatchGetItem response aside, is far smaller).
    pub max_request_body_bytes: usize,
    /// Request deadline: time from a request's first byte to its last
    /// (request line, headers and body together, however slowly they
    /// trickle in); past it the client gets 408 and the connection closes.
    /// Also bounds the lingering close after a 4xx (read-and-discard so the
    /// client sees the reply). Default 10 s: enough for a 16 MiB body at
    /// ~2 MB/s; shorter frees slots held by slow-loris clients sooner, and
    /// fails honest clients on slow links.
    pub header_read_timeout_ms: u64,
    /// Idle deadline: a keep-alive connection with no request in progress
    /// is closed (silently, as HTTP allows) after this. Default 60 s. Longer
    /// saves reconnects for bursty clients; shorter frees idle slots (each
    /// costs ~32 KiB of buffers and a file descriptor).
    pub idle_timeout_ms: u64,
    /// Write deadline: the queued responses of a connection must be accepted
    /// by the client within this, from the start of each flush; otherwise the
    /// connection is closed and its slot and buffers freed. Default 30 s: a
    /// full queue (`response_queue_bytes_max` plus one 16 MB response) at
    /// ~600 KB/s. Shorter evicts stalled readers sooner and cuts off slow
    /// clients reading big BatchGetItem/Scan replies.
    pub write_timeout_ms: u64,
    /// Response bytes one connection may have queued before the server stops
    /// reading and decoding its further pipelined requests until the client
    /// drains them (back-pressure, never an error). A single response larger
    /// than this is still sent whole. Default 1 MiB: one full Scan page, or
    /// thousands of small pipelined replies per write. Larger batches more
    /// replies per syscall; smaller bounds memory per connection tighter.
    pub response_queue_bytes_max: usize,
    /// Per-shard budget for connection buffers: read buffers, request bodies
    /// and queued responses of all its connections. A body that does not fit
    /// (Content-Length reserved at once, chunks as they are announced), a
    /// request arriving while the budget is overspent, or a connection
    /// arriving with no room for its baseline buffers gets 400
    /// ThrottlingException and the connection is closed; SDKs retry it with
    /// backoff. Responses are accounted after they are built, so a shard may
    /// overshoot by at most one response per connection. Default 256 MiB.
    pub connection_buffers_bytes_max: usize,
    /// A shard whose heartbeat (its main loop ticks every 50 ms) is older
    /// than this counts as down in `GET /dynacore/health`. Default 10 s.
    /// Shorter detects a stuck executor sooner, at the risk of a false alarm
    /// on an overloaded host.
    pub shard_heartbeat_stale_ms: u64,
    /// Requests one shard may have in flight on other shards. Bounds remote
    /// concurrency (which multiplies by the shard count). Default 256.
    pub max_inflight_forwarded_per_shard: usize,
    /// Depth of each shard-to-shard channel. Default 128.
    pub mesh_queue_depth: usize,
    /// io_uring registered buffer memory per shard (counts against
    /// RLIMIT_MEMLOCK; glommio falls back to unregistered buffers if it
    /// cannot lock it). Default 1 MiB.
    pub io_memory_bytes: usize,
    /// Microseconds a shard spins looking for work before it parks in the
    /// kernel. Spinning cuts the latency of cross-shard hops (a parked shard
    /// must be woken through an eventfd) at the price of CPU burned while
    /// idle-ish. Default 0 (park at once); see README for measured effect.
    pub spin_before_park_us: u64,
    /// Region shown in ARNs. Default us-east-1.
    pub region: String,
    /// Largest item collection (the items of one partition key plus their
    /// local secondary index entries) in a table with LSIs; a write past it
    /// gets ItemCollectionSizeLimitExceededException. Default 10 GiB, as
    /// DynamoDB; lower it to keep partitions small.
    pub item_collection_bytes_max: u64,
    /// GSI outbox records a shard may hold undelivered before write
    /// acknowledgements wait for delivery. Bounds index lag and the disk
    /// the outbox holds; smaller makes writers feel slow index shards
    /// sooner. Default 10000.
    pub index_outbox_records_max: u64,
    pub engine: EngineConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8000".to_string(),
            data_dir: PathBuf::from("./dynacore-data"),
            shards: None,
            shard_port_base: None,
            max_connections_per_shard: 1024,
            max_request_body_bytes: 16 << 20,
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            write_timeout_ms: 30_000,
            response_queue_bytes_max: 1 << 20,
            connection_buffers_bytes_max: 256 << 20,
            shard_heartbeat_stale_ms: 10_000,
            max_inflight_forwarded_per_shard: 256,
            mesh_queue_depth: 128,
            io_memory_bytes: 1 << 20,
            spin_before_park_us: 0,
            region: "us-east-1".to_string(),
            item_collection_bytes_max: 10 << 30,
            index_outbox_records_max: 10_000,
            engine: EngineConfig::default(),
        }
    }
}

impl Config {
    /// Tiny memtables and files so tests exercise flush and compaction.
    pub fn test_min() -> Self {
        Config {
            engine: EngineConfig::test_min(),
            max_connections_per_shard: 256,
            ..Config::default()
        }
    }

    pub fn preset(name: &str) -> Option<Config> {
        match name {
            "default" | "production" => Some(Config::default()),
            "test_min" => Some(Config::test_min()),
            _ => None,
        }
    }

    pub fn load(path: &Path, base: Config) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
        let overrides: toml::Table =
            toml::from_str(&text).map_err(|e| format!("invalid config {}: {e}", path.display()))?;
        // Merge the file over the preset so a file may set only some knobs.
        let mut merged = toml::Table::try_from(&base).map_err(|e| e.to_string())?;
        merge(&mut merged, overrides);
        toml::Value::Table(merged)
            .try_into()
            .map_err(|e| format!("invalid config {}: {e}", path.display()))
    }
}

fn merge(base: &mut toml::Table, overrides: toml::Table) {
    for (key, value) in overrides {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_preset() {
        let dir = std::env::temp_dir().join(format!("dynacore-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("c.toml");
        std::fs::write(&path, "shards = 3\n[engine]\nmemtable_bytes_max = 1234\n").expect("write");
        let config = Config::load(&path, Config::test_min()).expect("load");
        assert_eq!(config.shards, Some(3));
        assert_eq!(config.engine.memtable_bytes_max, 1234);
        assert_eq!(config.max_connections_per_shard, 256);
        std::fs::write(&path, "no_such_knob = 1\n").expect("write");
        assert!(Config::load(&path, Config::default()).is_err());
        std::fs::write(&path, "[engine]\nno_such_knob = 1\n").expect("write");
        assert!(Config::load(&path, Config::default()).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn tuning_profiles_load() {
        let profiles = Path::new(env!("CARGO_MANIFEST_DIR")).join("tuning/profiles");
        let mut loaded = 0;
        for entry in std::fs::read_dir(&profiles).expect("tuning/profiles exists") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                Config::load(&path, Config::default())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                loaded += 1;
            }
        }
        assert!(
            loaded >= 3,
            "expected the latency, throughput and test_min profiles"
        );
    }
}
