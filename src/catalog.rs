//! The catalog: table schemas, versioned, persisted, replicated to every shard.
//!
//! Shard 0 coordinates DDL: it applies a change to a copy of the current
//! catalog, persists it (`catalog.json`: temp → fsync → rename → fsync dir),
//! and only then installs the new immutable snapshot on every shard over the
//! mesh. Shards read their own `Arc<Catalog>` copy without locks. A crash
//! before the rename leaves the previous catalog, which is consistent because
//! no shard saw the new one and no client was answered.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyType {
    S,
    N,
    B,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::S => "S",
            KeyType::N => "N",
            KeyType::B => "B",
        }
    }

    pub fn parse(s: &str) -> Option<KeyType> {
        match s {
            "S" => Some(KeyType::S),
            "N" => Some(KeyType::N),
            "B" => Some(KeyType::B),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttr {
    pub name: String,
    pub key_type: KeyType,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillingMode {
    Provisioned,
    PayPerRequest,
}

impl BillingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            BillingMode::Provisioned => "PROVISIONED",
            BillingMode::PayPerRequest => "PAY_PER_REQUEST",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableDef {
    /// Internal id, the first 4 bytes of every storage key; never reused.
    pub id: u32,
    pub name: String,
    pub partition_key: KeyAttr,
    pub sort_key: Option<KeyAttr>,
    pub attribute_definitions: Vec<KeyAttr>,
    pub billing_mode: BillingMode,
    pub read_capacity_units: i64,
    pub write_capacity_units: i64,
    /// Seconds since the Unix epoch, with millisecond precision.
    pub created_at: f64,
    /// Last switch to PAY_PER_REQUEST, if any.
    pub pay_per_request_since: Option<f64>,
    pub last_increase_at: Option<f64>,
    pub last_decrease_at: Option<f64>,
    /// The TableId UUID that DescribeTable shows.
    pub uuid: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub version: u64,
    pub next_table_id: u32,
    pub tables: BTreeMap<String, Arc<TableDef>>,
}

impl Catalog {
    pub fn table(&self, name: &str) -> Option<&Arc<TableDef>> {
        self.tables.get(name)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        simd_json::to_vec_pretty(self).map_err(|e| e.to_string())
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Catalog, String> {
        let mut copy = bytes.to_vec();
        simd_json::serde::from_slice(&mut copy).map_err(|e| e.to_string())
    }
}

/// A DDL change, validated by the receiving shard and applied by shard 0.
#[derive(Clone, Debug)]
pub enum CatalogCommand {
    Create(TableDef),
    Delete {
        name: String,
    },
    Update {
        name: String,
        billing_mode: Option<BillingMode>,
        throughput: Option<(i64, i64)>,
        now: f64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_round_trips() {
        let mut catalog = Catalog {
            version: 3,
            next_table_id: 2,
            ..Catalog::default()
        };
        let def = TableDef {
            id: 1,
            name: "t".into(),
            partition_key: KeyAttr {
                name: "pk".into(),
                key_type: KeyType::S,
            },
            sort_key: None,
            attribute_definitions: vec![],
            billing_mode: BillingMode::PayPerRequest,
            read_capacity_units: 0,
            write_capacity_units: 0,
            created_at: 1.5,
            pay_per_request_since: Some(1.5),
            last_increase_at: None,
            last_decrease_at: None,
            uuid: "u".into(),
        };
        catalog.tables.insert("t".into(), Arc::new(def));
        let bytes = catalog.to_bytes().expect("serialize");
        assert_eq!(Catalog::from_bytes(&bytes).expect("parse"), catalog);
        assert!(Catalog::from_bytes(b"{not json").is_err());
    }
}
