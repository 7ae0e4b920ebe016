//! Workloads: which operation to send next and the JSON body for it.
//!
//! A workload is a weighted mix of [`OpKind`]s plus a key distribution. YCSB
//! core workloads A–F are presets of the same machinery; `--mix` builds a
//! custom one. Bodies are written by hand into a reused buffer — keys are
//! `user<digits>` and values come from an alphanumeric pool, so nothing needs
//! JSON escaping and the hot path does not allocate per request.

use std::fmt::Write as _;

use crate::error::{LoadgenError, Result};
use crate::keydist::{DistributionKind, Rng, record_key};

/// Operation types, each with its own latency histogram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    Get,
    Put,
    Update,
    Insert,
    Query,
    Scan,
    BatchGet,
    BatchWrite,
    /// Read-modify-write (YCSB F): GetItem then UpdateItem of the same key,
    /// timed as one operation.
    Rmw,
    /// TransactWriteItems of `batch_size` Puts on distinct keys, wherever
    /// the keys fall (with 2+ shards, mostly across shards).
    Transact,
    /// The same with every key on one shard (needs `--shard-aware`): the
    /// single-shard fast path.
    TransactLocal,
    /// The same with the keys on at least two shards (needs
    /// `--shard-aware`): two-phase commit.
    TransactCross,
}

impl OpKind {
    pub const ALL: [OpKind; 12] = [
        OpKind::Get,
        OpKind::Put,
        OpKind::Update,
        OpKind::Insert,
        OpKind::Query,
        OpKind::Scan,
        OpKind::BatchGet,
        OpKind::BatchWrite,
        OpKind::Rmw,
        OpKind::Transact,
        OpKind::TransactLocal,
        OpKind::TransactCross,
    ];
    pub const COUNT: usize = Self::ALL.len();

    pub fn index(self) -> usize {
        self as usize
    }

    /// Name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Get => "get",
            OpKind::Put => "put",
            OpKind::Update => "update",
            OpKind::Insert => "insert",
            OpKind::Query => "query",
            OpKind::Scan => "scan",
            OpKind::BatchGet => "batchget",
            OpKind::BatchWrite => "batchwrite",
            OpKind::Rmw => "rmw",
            OpKind::Transact => "transact",
            OpKind::TransactLocal => "transactlocal",
            OpKind::TransactCross => "transactcross",
        }
    }

    pub fn from_name(name: &str) -> Option<OpKind> {
        OpKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Weighted operation mix.
#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    /// `(op, cumulative weight)`; the last entry holds the total.
    cumulative: Vec<(OpKind, u32)>,
}

impl Mix {
    pub fn new(weights: &[(OpKind, u32)]) -> Result<Self> {
        let mut cumulative = Vec::new();
        let mut total = 0u32;
        for &(op, w) in weights {
            if w > 0 {
                total = total
                    .checked_add(w)
                    .ok_or_else(|| LoadgenError::InvalidArgument("mix weights overflow".into()))?;
                cumulative.push((op, total));
            }
        }
        if total == 0 {
            return Err(LoadgenError::InvalidArgument(
                "operation mix has no positive weight".into(),
            ));
        }
        Ok(Mix { cumulative })
    }

    /// Whether `op` has a positive weight.
    pub fn contains(&self, op: OpKind) -> bool {
        self.cumulative.iter().any(|(o, _)| *o == op)
    }

    /// Parses `get=80,put=10,update=5,query=3,scan=1,batchget=1,batchwrite=0`.
    pub fn parse(spec: &str) -> Result<Self> {
        let mut weights = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, w) = part.split_once('=').ok_or_else(|| {
                LoadgenError::InvalidArgument(format!("mix entry {part:?} is not op=weight"))
            })?;
            let op = OpKind::from_name(name.trim()).ok_or_else(|| {
                LoadgenError::InvalidArgument(format!(
                    "unknown operation {name:?} in mix (get, put, update, insert, query, scan, batchget, batchwrite, rmw, transact, transactlocal, transactcross)"
                ))
            })?;
            let w = w.trim().parse::<u32>().map_err(|_| {
                LoadgenError::InvalidArgument(format!("mix weight in {part:?} is not an integer"))
            })?;
            weights.push((op, w));
        }
        Mix::new(&weights)
    }

    pub fn pick(&self, rng: &mut Rng) -> OpKind {
        let total = self.cumulative.last().map_or(1, |&(_, t)| t);
        let r = rng.below(u64::from(total)) as u32;
        for &(op, c) in &self.cumulative {
            if r < c {
                return op;
            }
        }
        self.cumulative.last().map_or(OpKind::Get, |&(op, _)| op)
    }
}

/// A YCSB core workload preset: mix and request distribution.
pub fn ycsb_preset(name: &str) -> Result<(Mix, DistributionKind)> {
    use OpKind::*;
    let (weights, dist): (&[(OpKind, u32)], _) = match name {
        "ycsb-a" => (&[(Get, 50), (Update, 50)], DistributionKind::Zipfian),
        "ycsb-b" => (&[(Get, 95), (Update, 5)], DistributionKind::Zipfian),
        "ycsb-c" => (&[(Get, 100)], DistributionKind::Zipfian),
        "ycsb-d" => (&[(Get, 95), (Insert, 5)], DistributionKind::Latest),
        "ycsb-e" => (&[(Scan, 95), (Insert, 5)], DistributionKind::Zipfian),
        "ycsb-f" => (&[(Get, 50), (Rmw, 50)], DistributionKind::Zipfian),
        "custom" => (&[(Get, 100)], DistributionKind::Zipfian),
        other => {
            return Err(LoadgenError::InvalidArgument(format!(
                "unknown workload {other:?} (ycsb-a … ycsb-f, or custom with --mix)"
            )));
        }
    };
    Ok((Mix::new(weights)?, dist))
}

/// Shape of the records and requests.
#[derive(Clone, Debug)]
pub struct RecordShape {
    pub table: String,
    pub field_count: u32,
    pub value_size: usize,
    /// Upper bound of the per-request scan length (YCSB `maxscanlength`).
    pub scan_length_max: u32,
    pub batch_size: u32,
}

/// Alphanumeric bytes values are sliced from (cheap "random" values).
pub struct ValuePool {
    bytes: Vec<u8>,
}

impl ValuePool {
    pub fn new(seed: u64) -> Self {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let mut rng = Rng::new(seed);
        let bytes = (0..65_536)
            .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize])
            .collect();
        ValuePool { bytes }
    }

    fn value(&self, rng: &mut Rng, len: usize) -> &str {
        let len = len.min(self.bytes.len());
        let start = rng.below((self.bytes.len() - len + 1) as u64) as usize;
        // The pool is ASCII, so every slice is valid UTF-8.
        std::str::from_utf8(&self.bytes[start..start + len]).unwrap_or("")
    }
}

/// Writes DynamoDB request bodies into a caller-owned buffer.
pub struct BodyWriter<'a> {
    pub shape: &'a RecordShape,
    pub pool: &'a ValuePool,
    key: String,
}

impl<'a> BodyWriter<'a> {
    pub fn new(shape: &'a RecordShape, pool: &'a ValuePool) -> Self {
        BodyWriter {
            shape,
            pool,
            key: String::with_capacity(32),
        }
    }

    fn key_json(&mut self, out: &mut String, keynum: u64) {
        record_key(keynum, &mut self.key);
        out.push_str(r#"{"pk":{"S":""#);
        out.push_str(&self.key);
        out.push_str(r#""}}"#);
    }

    fn item_json(&mut self, out: &mut String, keynum: u64, rng: &mut Rng) {
        record_key(keynum, &mut self.key);
        out.push_str(r#"{"pk":{"S":""#);
        out.push_str(&self.key);
        out.push('"');
        out.push('}');
        for f in 0..self.shape.field_count {
            let _ = write!(out, r#","field{f}":{{"S":""#);
            out.push_str(self.pool.value(rng, self.shape.value_size));
            out.push_str(r#""}"#);
        }
        out.push('}');
    }

    /// The record key string of `keynum` (for shard routing).
    pub fn key_of(&mut self, keynum: u64) -> &str {
        record_key(keynum, &mut self.key);
        &self.key
    }

    pub fn get_item(&mut self, out: &mut String, keynum: u64) {
        out.clear();
        let _ = write!(out, r#"{{"TableName":"{}","Key":"#, self.shape.table);
        self.key_json(out, keynum);
        out.push('}');
    }

    pub fn put_item(&mut self, out: &mut String, keynum: u64, rng: &mut Rng) {
        out.clear();
        let _ = write!(out, r#"{{"TableName":"{}","Item":"#, self.shape.table);
        self.item_json(out, keynum, rng);
        out.push('}');
    }

    /// YCSB update: rewrite one random field (`writeallfields=false`).
    pub fn update_item(&mut self, out: &mut String, keynum: u64, rng: &mut Rng) {
        out.clear();
        let field = rng.below(u64::from(self.shape.field_count.max(1)));
        let _ = write!(out, r#"{{"TableName":"{}","Key":"#, self.shape.table);
        self.key_json(out, keynum);
        let _ = write!(
            out,
            r##","UpdateExpression":"SET #f = :v","ExpressionAttributeNames":{{"#f":"field{field}"}},"ExpressionAttributeValues":{{":v":{{"S":""##
        );
        out.push_str(self.pool.value(rng, self.shape.value_size));
        out.push_str(r#""}}}"#);
    }

    /// Query of one partition (hash-key-only table: 0 or 1 item).
    pub fn query(&mut self, out: &mut String, keynum: u64) {
        out.clear();
        record_key(keynum, &mut self.key);
        let _ = write!(
            out,
            r#"{{"TableName":"{}","KeyConditionExpression":"pk = :k","ExpressionAttributeValues":{{":k":{{"S":"{}"}}}}}}"#,
            self.shape.table, self.key
        );
    }

    /// Short range scan as YCSB's DynamoDB binding does it: Scan with `Limit`
    /// starting after the chosen key (a range in the table's hash order).
    pub fn scan(&mut self, out: &mut String, keynum: u64, rng: &mut Rng) {
        out.clear();
        let limit = 1 + rng.below(u64::from(self.shape.scan_length_max.max(1)));
        let _ = write!(
            out,
            r#"{{"TableName":"{}","Limit":{limit},"ExclusiveStartKey":"#,
            self.shape.table
        );
        self.key_json(out, keynum);
        out.push('}');
    }

    /// BatchGetItem of distinct keys (DynamoDB rejects duplicates).
    pub fn batch_get(&mut self, out: &mut String, keys: &[u64]) {
        out.clear();
        let _ = write!(
            out,
            r#"{{"RequestItems":{{"{}":{{"Keys":["#,
            self.shape.table
        );
        for (i, &k) in keys.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            self.key_json(out, k);
        }
        out.push_str("]}}}");
    }

    /// TransactWriteItems of Puts for distinct keys.
    pub fn transact_write(&mut self, out: &mut String, keys: &[u64], rng: &mut Rng) {
        out.clear();
        out.push_str(r#"{"TransactItems":["#);
        for (i, &k) in keys.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                r#"{{"Put":{{"TableName":"{}","Item":"#,
                self.shape.table
            );
            self.item_json(out, k, rng);
            out.push_str("}}");
        }
        out.push_str("]}");
    }

    /// BatchWriteItem of PutRequests for distinct keys.
    pub fn batch_write(&mut self, out: &mut String, keys: &[u64], rng: &mut Rng) {
        out.clear();
        let _ = write!(out, r#"{{"RequestItems":{{"{}":["#, self.shape.table);
        for (i, &k) in keys.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(r#"{"PutRequest":{"Item":"#);
            self.item_json(out, k, rng);
            out.push_str("}}");
        }
        out.push_str("]}}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> RecordShape {
        RecordShape {
            table: "usertable".into(),
            field_count: 3,
            value_size: 8,
            scan_length_max: 100,
            batch_size: 4,
        }
    }

    #[test]
    fn mix_parse_and_pick_follow_weights() {
        let mix =
            Mix::parse("get=80,put=10,update=5,query=3,scan=1,batchget=1,batchwrite=0").unwrap();
        assert!(
            mix.cumulative
                .iter()
                .all(|&(op, _)| op != OpKind::BatchWrite)
        );
        let mut rng = Rng::new(1);
        let mut gets = 0;
        for _ in 0..100_000 {
            if mix.pick(&mut rng) == OpKind::Get {
                gets += 1;
            }
        }
        assert!((78_000..82_000).contains(&gets), "gets {gets}");
        assert!(Mix::parse("get=0").is_err());
        assert!(Mix::parse("frob=1").is_err());
        assert!(Mix::parse("get").is_err());
    }

    #[test]
    fn ycsb_presets_exist() {
        for w in ["ycsb-a", "ycsb-b", "ycsb-c", "ycsb-d", "ycsb-e", "ycsb-f"] {
            ycsb_preset(w).unwrap();
        }
        assert_eq!(ycsb_preset("ycsb-d").unwrap().1, DistributionKind::Latest);
        assert!(ycsb_preset("ycsb-z").is_err());
    }

    #[test]
    fn bodies_are_valid_json() {
        let shape = shape();
        let pool = ValuePool::new(3);
        let mut w = BodyWriter::new(&shape, &pool);
        let mut rng = Rng::new(9);
        let mut out = String::new();
        let check = |s: &str| {
            let v: serde_json::Value =
                serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"));
            assert_eq!(v["TableName"].as_str().unwrap_or("usertable"), "usertable");
            v
        };
        w.get_item(&mut out, 1);
        check(&out);
        w.put_item(&mut out, 2, &mut rng);
        let v = check(&out);
        assert_eq!(v["Item"]["field2"]["S"].as_str().unwrap().len(), 8);
        w.update_item(&mut out, 3, &mut rng);
        check(&out);
        w.query(&mut out, 4);
        check(&out);
        w.scan(&mut out, 5, &mut rng);
        check(&out);
        w.transact_write(&mut out, &[7, 8], &mut rng);
        let v = check(&out);
        let actions = v["TransactItems"].as_array().unwrap();
        assert_eq!(actions.len(), 2);
        assert_eq!(actions[1]["Put"]["TableName"], "usertable");
        assert_eq!(
            actions[1]["Put"]["Item"]["field0"]["S"]
                .as_str()
                .unwrap()
                .len(),
            8
        );
        w.batch_get(&mut out, &[1, 2, 3]);
        let v = check(&out);
        assert_eq!(
            v["RequestItems"]["usertable"]["Keys"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        w.batch_write(&mut out, &[1, 2], &mut rng);
        let v = check(&out);
        assert_eq!(v["RequestItems"]["usertable"].as_array().unwrap().len(), 2);
    }
}
