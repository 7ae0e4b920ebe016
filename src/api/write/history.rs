//! Point-in-time recovery history records: their layout and codec, and
//! the write path's part (one record per changed item of a PITR table, in
//! the change's own batch). Here, not in `api::pitr`, so that the write
//! path depends on nothing that depends on it; `api::pitr` documents the
//! design.

use std::sync::Arc;

use super::BaseWrite;
use crate::api::shard::Shard;
use crate::api::streams::record::key_of;
use crate::catalog::TableDef;
use crate::engine::WriteBatch;
use crate::model::codec::encode_item;

/// Prefix of every history record.
pub const HISTORY_PREFIX: [u8; 5] = [0, 0, 0, 0, b'H'];
/// Length of a history record key.
pub const HISTORY_KEY_LEN: usize = 19;
const RECORD_VERSION: u8 = 1;
const KIND_PUT: u8 = 1;
const KIND_DELETE: u8 = 2;

/// The key of history record `index` of the batch at `wal_seq`.
pub fn history_key(table_id: u32, wal_seq: u64, index: u16) -> Vec<u8> {
    let mut key = Vec::with_capacity(HISTORY_KEY_LEN);
    key.extend_from_slice(&HISTORY_PREFIX);
    key.extend_from_slice(&table_id.to_be_bytes());
    key.extend_from_slice(&wal_seq.to_be_bytes());
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// The prefix of one table's history records.
pub fn table_history_prefix(table_id: u32) -> Vec<u8> {
    let mut key = HISTORY_PREFIX.to_vec();
    key.extend_from_slice(&table_id.to_be_bytes());
    key
}

/// The WAL sequence in a history record key.
pub fn key_wal_seq(key: &[u8]) -> Option<u64> {
    let bytes = key.get(9..17)?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// One decoded history record.
#[derive(Debug, PartialEq, Eq)]
pub struct Change<'a> {
    pub time_ms: u64,
    /// The new item (encoded), or None for a delete.
    pub put: Option<&'a [u8]>,
    /// The deleted item's key attributes (encoded), for a delete.
    pub deleted_key: Option<&'a [u8]>,
}

fn encode(time_ms: u64, kind: u8, item: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + item.len());
    out.push(RECORD_VERSION);
    out.extend_from_slice(&time_ms.to_le_bytes());
    out.push(kind);
    out.extend_from_slice(item);
    out
}

/// Decodes a record value; None if it is not one this version wrote.
pub fn decode(value: &[u8]) -> Option<Change<'_>> {
    let (&version, rest) = value.split_first()?;
    if version != RECORD_VERSION {
        return None;
    }
    let time_ms = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?);
    let (&kind, item) = rest.get(8..)?.split_first()?;
    match kind {
        KIND_PUT => Some(Change {
            time_ms,
            put: Some(item),
            deleted_key: None,
        }),
        KIND_DELETE => Some(Change {
            time_ms,
            put: None,
            deleted_key: Some(item),
        }),
        _ => None,
    }
}

/// Whether the write path must record the changes of `table`.
pub fn tracks(table: &TableDef) -> bool {
    table.pitr.is_some()
}

/// The time of a batch's history records.
#[derive(Clone, Copy, Debug)]
pub struct Stamp {
    pub now_ms: u64,
    /// A cross-shard transaction's decision time: its records carry it on
    /// every participant, so no restore holds part of it. It may be older
    /// than records this shard wrote since (other keys: replays filter by
    /// time, never stop at one); the item's own earlier changes are older
    /// still, since its lock was held from prepare to this commit.
    pub decided_ms: Option<u64>,
}

impl Stamp {
    fn time(self, shard: &Shard) -> u64 {
        match self.decided_ms {
            Some(ms) => {
                shard.pitr.stamp(ms);
                ms
            }
            None => shard.pitr.stamp(self.now_ms),
        }
    }
}

/// The history records of `writes` (of `tables`, aligned), numbered by the
/// WAL sequence their batch is about to get. Call before the writes'
/// values are moved into the batch; nothing may await between this and the
/// `Store::write`.
pub fn push_history(
    shard: &Shard,
    writes: &[BaseWrite],
    tables: &[Option<Arc<TableDef>>],
    wal_seq: u64,
    stamp: Stamp,
    batch: &mut WriteBatch,
) {
    let mut index = 0u16;
    let mut bytes = 0u64;
    let mut time_ms = None;
    for (write, table) in writes.iter().zip(tables) {
        let Some(table) = table.as_ref().filter(|t| tracks(t)) else {
            continue;
        };
        let value = match (&write.value, &write.old) {
            (Some(item), _) => {
                let ms = *time_ms.get_or_insert_with(|| stamp.time(shard));
                encode(ms, KIND_PUT, item)
            }
            (None, Some(old)) => {
                let ms = *time_ms.get_or_insert_with(|| stamp.time(shard));
                encode(ms, KIND_DELETE, &encode_item(&key_of(table, old)))
            }
            // Deleting an absent item changes nothing.
            (None, None) => continue,
        };
        bytes += value.len() as u64;
        batch.push((history_key(table.id, wal_seq, index), Some(value)));
        index = index.saturating_add(1);
    }
    if index > 0 {
        shard.pitr.count_written(u64::from(index), bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_keys_sort_in_log_order() {
        let put = encode(7, KIND_PUT, b"item");
        assert_eq!(
            decode(&put),
            Some(Change {
                time_ms: 7,
                put: Some(b"item"),
                deleted_key: None
            })
        );
        let delete = encode(9, KIND_DELETE, b"key");
        assert_eq!(
            decode(&delete).and_then(|c| c.deleted_key),
            Some(&b"key"[..])
        );
        assert_eq!(decode(&[2, 0]), None);
        assert_eq!(decode(&[RECORD_VERSION, 1, 2]), None);
        let a = history_key(5, 255, 9);
        let b = history_key(5, 256, 0);
        assert!(a < b && a.len() == HISTORY_KEY_LEN);
        assert!(a.starts_with(&table_history_prefix(5)));
        assert_eq!(key_wal_seq(&b), Some(256));
    }
}
