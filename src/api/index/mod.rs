//! Secondary indexes: entry keys and projections (`keys`), how writes
//! maintain them (`maintain`), the GSI outbox that carries index changes to
//! other shards (`outbox`), and backfill of a GSI added to a live table
//! (`backfill`).
//!
//! The one design decision: a **local** index entry is written in the same
//! engine batch (one WAL record) as its base item, so LSI reads are as
//! consistent as base reads. A **global** index entry lives on the shard
//! that owns the index key's hash; the base shard writes the index change
//! into its *outbox* in the same batch as the base item, and a per-shard
//! replicator delivers outbox records, in order, to the owning shards and
//! deletes them once applied durably there. A crash anywhere replays the
//! outbox: delivery is idempotent (puts and deletes of whole entries, in
//! order), so indexes converge without lost or phantom entries.

pub mod keys;
pub mod condition;
pub mod range;
pub mod read;
