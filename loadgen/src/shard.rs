//! Shard-aware routing: send each single-key request to its owner shard.
//!
//! The server publishes `GET /dynacore/partition-map`:
//! `{"hash":"xxh3_64","shards":[{"shard":0,"hash_start":"0",
//! "hash_end":"9223372036854775807","endpoint":"http://127.0.0.1:9100"},…]}`
//! with inclusive bounds as decimal u64 strings. The placement hash must match
//! the server's bit for bit (see the server's `routing.rs`):
//! `xxh3_64(table ‖ 0x00 ‖ type_tag ‖ key_bytes)`. Invariant checked on load:
//! the ranges tile the whole u64 space without gaps or overlaps, so every
//! hash has exactly one owner.

use serde::Deserialize;
use xxhash_rust::xxh3::Xxh3;

use crate::error::{LoadgenError, Result};
use crate::http::Endpoint;

/// The server's placement hash of a partition key value.
pub fn placement_hash(table_name: &str, type_tag: u8, key_bytes: &[u8]) -> u64 {
    let mut hasher = Xxh3::new();
    hasher.update(table_name.as_bytes());
    hasher.update(&[0, type_tag]);
    hasher.update(key_bytes);
    hasher.digest()
}

#[derive(Deserialize)]
struct MapJson {
    hash: String,
    shards: Vec<ShardJson>,
}

#[derive(Deserialize)]
struct ShardJson {
    shard: u32,
    hash_start: String,
    hash_end: String,
    endpoint: Option<String>,
}

/// Owner lookup: shard ranges sorted by start.
#[derive(Clone, Debug)]
pub struct ShardMap {
    /// `(hash_end inclusive, index into endpoints)`, sorted by hash.
    ranges: Vec<(u64, usize)>,
    pub endpoints: Vec<Endpoint>,
}

impl ShardMap {
    pub fn parse(json: &[u8]) -> Result<Self> {
        let map: MapJson =
            serde_json::from_slice(json).map_err(|e| LoadgenError::json("partition map", e))?;
        if map.hash != "xxh3_64" {
            return Err(LoadgenError::ShardMap(format!(
                "server uses placement hash {:?}; this load generator only knows xxh3_64",
                map.hash
            )));
        }
        let mut shards = Vec::with_capacity(map.shards.len());
        for s in map.shards {
            let parse = |v: &str| {
                v.parse::<u64>().map_err(|_| {
                    LoadgenError::ShardMap(format!("shard {}: bad hash bound {v:?}", s.shard))
                })
            };
            let start = parse(&s.hash_start)?;
            let end = parse(&s.hash_end)?;
            let url = s.endpoint.ok_or_else(|| {
                LoadgenError::ShardMap(format!(
                    "shard {} has no endpoint: the server runs without per-shard ports \
                     (set shard_port_base in its config) — run without --shard-aware",
                    s.shard
                ))
            })?;
            shards.push((start, end, Endpoint::parse(&url)?));
        }
        shards.sort_by_key(|s| s.0);
        let mut expected_start = Some(0u64);
        let mut ranges = Vec::with_capacity(shards.len());
        let mut endpoints = Vec::with_capacity(shards.len());
        for (start, end, ep) in shards {
            if Some(start) != expected_start || end < start {
                return Err(LoadgenError::ShardMap(format!(
                    "hash ranges do not tile the hash space (range {start}..={end})"
                )));
            }
            expected_start = end.checked_add(1);
            ranges.push((end, endpoints.len()));
            endpoints.push(ep);
        }
        if expected_start.is_some() {
            return Err(LoadgenError::ShardMap(
                "hash ranges do not reach u64::MAX".into(),
            ));
        }
        Ok(ShardMap { ranges, endpoints })
    }

    /// Index (into `endpoints`) of the shard owning string key `key` of `table`.
    pub fn owner_of_string_key(&self, table: &str, key: &str) -> usize {
        let h = placement_hash(table, b'S', key.as_bytes());
        let i = self.ranges.partition_point(|&(end, _)| end < h);
        // The tiling check guarantees some range ends at u64::MAX.
        self.ranges.get(i).map_or(0, |&(_, idx)| idx)
    }

    /// Equal-width map over `n` shards (the server's default layout); used by
    /// the fake server.
    pub fn equal_ranges_json(endpoints: &[String]) -> String {
        let n = endpoints.len().max(1) as u128;
        let mut shards = Vec::new();
        for (i, ep) in endpoints.iter().enumerate() {
            let start = ((i as u128) << 64).div_ceil(n) as u64;
            let end = if i + 1 == endpoints.len() {
                u64::MAX
            } else {
                ((((i as u128) + 1) << 64).div_ceil(n) - 1) as u64
            };
            shards.push(serde_json::json!({
                "shard": i, "hash_start": start.to_string(), "hash_end": end.to_string(),
                "endpoint": ep,
            }));
        }
        serde_json::json!({"hash": "xxh3_64", "shards": shards}).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_map_and_routes() {
        let json = br#"{"hash":"xxh3_64","shards":[
            {"shard":1,"hash_start":"9223372036854775808","hash_end":"18446744073709551615","endpoint":"http://127.0.0.1:9101"},
            {"shard":0,"hash_start":"0","hash_end":"9223372036854775807","endpoint":"http://127.0.0.1:9100"}]}"#;
        let map = ShardMap::parse(json).unwrap();
        assert_eq!(map.endpoints[0].addr, "127.0.0.1:9100");
        let mut seen = [0; 2];
        for i in 0..1000 {
            let key = format!("user{i}");
            let owner = map.owner_of_string_key("usertable", &key);
            let h = placement_hash("usertable", b'S', key.as_bytes());
            assert_eq!(owner, usize::from(h > 9_223_372_036_854_775_807));
            seen[owner] += 1;
        }
        assert!(seen[0] > 400 && seen[1] > 400);
    }

    #[test]
    fn rejects_null_endpoint_gaps_and_other_hashes() {
        let null = br#"{"hash":"xxh3_64","shards":[{"shard":0,"hash_start":"0","hash_end":"18446744073709551615","endpoint":null}]}"#;
        let err = ShardMap::parse(null).unwrap_err().to_string();
        assert!(err.contains("per-shard ports"), "{err}");
        let gap = br#"{"hash":"xxh3_64","shards":[{"shard":0,"hash_start":"0","hash_end":"5","endpoint":"http://a:1"}]}"#;
        assert!(ShardMap::parse(gap).is_err());
        let other = br#"{"hash":"murmur","shards":[]}"#;
        assert!(ShardMap::parse(other).is_err());
    }

    #[test]
    fn equal_ranges_round_trip() {
        let eps: Vec<String> = (0..3)
            .map(|i| format!("http://127.0.0.1:{}", 9000 + i))
            .collect();
        let map = ShardMap::parse(ShardMap::equal_ranges_json(&eps).as_bytes()).unwrap();
        assert_eq!(map.endpoints.len(), 3);
    }

    #[test]
    fn placement_hash_matches_the_specified_construction() {
        // Same construction as one-shot xxh3 over the concatenated bytes.
        let one_shot = xxhash_rust::xxh3::xxh3_64(b"usertable\0Suser1");
        assert_eq!(placement_hash("usertable", b'S', b"user1"), one_shot);
    }

    /// The server's golden vectors (`tests/data/placement_hash_vectors.tsv`):
    /// this copy of the hash and routing must agree with them.
    #[test]
    fn placement_matches_the_servers_golden_vectors() {
        let text = include_str!("../../tests/data/placement_hash_vectors.tsv");
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let endpoints = |n: usize| -> Vec<String> {
            (0..n)
                .map(|i| format!("http://127.0.0.1:{}", 9100 + i))
                .collect()
        };
        let map3 = ShardMap::parse(ShardMap::equal_ranges_json(&endpoints(3)).as_bytes()).unwrap();
        let map8 = ShardMap::parse(ShardMap::equal_ranges_json(&endpoints(8)).as_bytes()).unwrap();
        let mut checked = 0;
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let f: Vec<&str> = line.split('\t').collect();
            let key = hex(f[2]);
            let hash = u64::from_str_radix(f[3], 16).unwrap();
            assert_eq!(
                placement_hash(f[0], f[1].as_bytes()[0], &key),
                hash,
                "{line}"
            );
            if f[1] == "S" {
                let key = std::str::from_utf8(&key).unwrap();
                assert_eq!(
                    map3.owner_of_string_key(f[0], key).to_string(),
                    f[4],
                    "{line}"
                );
                assert_eq!(
                    map8.owner_of_string_key(f[0], key).to_string(),
                    f[5],
                    "{line}"
                );
            }
            checked += 1;
        }
        assert!(checked >= 10);
    }
}
