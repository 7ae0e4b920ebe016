//! Secondary indexes: entry keys and projections (`keys`), how writes
//! maintain them (`maintain`), the GSI outbox that carries index changes to
//! other shards (`outbox`), backfill of a GSI added to a live table
//! (`backfill`), and how Query/Scan read them: key conditions matched to an
//! index schema (`condition`), byte ranges of entry keys (`range`), and the
//! checks and plan of an index read (`read`).
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

pub mod backfill;
pub mod condition;
#[cfg(test)]
mod crash_tests;
pub mod keys;
pub mod maintain;
pub mod outbox;
pub mod range;
pub mod read;

use std::rc::Rc;

use super::Shard;
use super::error::ApiError;

/// Brings a shard's index machinery up before it serves: finds outbox
/// records a previous run left, starts the replicator (which delivers
/// them) and resumes backfills of CREATING indexes.
pub async fn open(shard: &Rc<Shard>) -> Result<(), ApiError> {
    shard.outbox.recover(&shard.store).await?;
    outbox::start(shard);
    backfill::start_pending(shard);
    Ok(())
}
