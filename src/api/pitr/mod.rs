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
//! (`shard::pitr`), at the synchronous apply — except a cross-shard
//! transaction's, which carry its decision time on every participant
//! (`write::history::Stamp`), so a restore holds all of it or none. That
//! time may be older than records of other keys logged before it, so
//! replays filter record by record and never stop at a later time; an
//! item's own records stay in time order (its lock spans prepare to
//! commit). A base's `cut_ms` is read after the cut ended: every change
//! in the base was applied (and decided) before it, so a base serves any
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
//! **Storage layout** of a history record (`write::history`; on the owning shard's engine,
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

pub use crate::api::write::history::*;

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
}
