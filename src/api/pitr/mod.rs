//! Point-in-time recovery (PITR): UpdateContinuousBackups,
//! DescribeContinuousBackups and RestoreTableToPointInTime.
//!
//! **Base plus history.** A PITR table has *bases* — consistent snapshots
//! of the whole table taken exactly as on-demand backups are (the cut of
//! `api::backup`: every shard's gate closed, every shard snapshotted at
//! one instant, the copy in the background), kept in their own registry
//! and never listed as backups — and a *history*: one record per item
//! change, written by the one write path into the same engine batch as the
//! change (so a crash keeps both or neither, like stream records). A
//! restore to time `T` loads the newest base cut at or before `T`, then
//! replays, shard by shard, the history records after that base's
//! snapshot with a time at or before `T`.
//!
//! Why history records rather than archived WAL segments: a shard's WAL
//! holds every table's writes (archiving it would keep all of them, PITR
//! or not) and its records are physical batches. History records hold
//! only PITR tables' changes, are trimmed per table, and replay through the
//! write path into a table of another name (whose keys hash to other
//! shards) without decoding the log.
//!
//! **Which records a base covers.** Each base file records its shard's
//! snapshot sequence number `S`: the history records of that shard with a
//! WAL sequence `> S` are exactly the changes the base lacks. A record's
//! time is taken from a per-shard clock that never goes back
//! (`shard::pitr`), at the synchronous apply, so the records of a shard
//! are in time order too. A base's `cut_ms` is read after the cut ended:
//! every change in the base was applied before it, so a base serves any
//! `T >= cut_ms`.
//!
//! **Window.** EarliestRestorableDateTime is the later of the oldest
//! usable base's cut and now minus RecoveryPeriodInDays; the latest is
//! now (a change is applied, and visible to a restore, when its write is
//! acknowledged). A base is usable if it was cut after PITR was (last)
//! enabled: disabling forgets the history.
//!
//! **Maintenance** (`maintain`, on the coordinator every `pitr_tick_ms`):
//! a new base when the newest is older than `pitr_base_interval_ms`; the
//! newest base cut before the window's start is kept (with everything
//! after it), older bases are deleted and every shard deletes the history
//! records its snapshot already holds. Tables whose PITR was disabled or
//! that were deleted lose their bases and history the same way.
//!
//! **Storage layout** of a history record (on the owning shard's engine,
//! under the system prefix `00 00 00 00` no table id uses):
//!
//! ```text
//! key   := 00 00 00 00 ‖ 'H' ‖ table_id:u32 BE ‖ wal_seq:u64 BE ‖ index:u16 BE   (19 bytes)
//! value := version:u8 (1) ‖ time_ms:u64 LE ‖ kind:u8 (1 put, 2 delete)
//!          ‖ item (model::codec): the new item of a put, the key
//!            attributes of a delete
//! ```
//! A put stores the bytes the base key stores (no decoding on the write
//! path); a delete of an item that was absent changes nothing and writes
//! no record.

pub mod base;
pub mod replay;

use std::sync::Arc;

use crate::api::shard::Shard;
use crate::api::streams::record::key_of;
use crate::api::write::BaseWrite;
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

/// The history records of `writes` (of `tables`, aligned), numbered by the
/// WAL sequence their batch is about to get. Call before the writes'
/// values are moved into the batch; nothing may await between this and the
/// `Store::write`.
pub fn push_history(
    shard: &Shard,
    writes: &[BaseWrite],
    tables: &[Option<Arc<TableDef>>],
    wal_seq: u64,
    now_ms: u64,
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
                let ms = *time_ms.get_or_insert_with(|| shard.pitr.stamp(now_ms));
                encode(ms, KIND_PUT, item)
            }
            (None, Some(old)) => {
                let ms = *time_ms.get_or_insert_with(|| shard.pitr.stamp(now_ms));
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
    fn the_history_prefix_is_no_other_system_prefix() {
        use crate::api::shard::outbox::{OUTBOX_PREFIX, QUARANTINE_PREFIX};
        use crate::api::streams::STREAM_PREFIX;
        use crate::api::table::key::COLLECTION_PREFIX;
        use crate::api::txn::records::{DECISION_PREFIX, PREPARE_PREFIX, TOKEN_PREFIX};
        for other in [
            OUTBOX_PREFIX,
            QUARANTINE_PREFIX,
            STREAM_PREFIX,
            COLLECTION_PREFIX,
            DECISION_PREFIX,
            PREPARE_PREFIX,
            TOKEN_PREFIX,
        ] {
            assert_ne!(HISTORY_PREFIX, other);
        }
    }

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
