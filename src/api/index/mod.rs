//! Secondary indexes: entry keys and projections (`keys`), the index
//! changes of one base write (`maintain`, applied by the write path in
//! `write`), the replicator that delivers the GSI outbox to other shards
//! (`replicate`; the outbox itself is shard state, `shard::outbox`),
//! backfill of a GSI added to a live table (`backfill`), index definitions
//! in CreateTable/UpdateTable (`ddl`), and how Query/Scan read indexes: key
//! conditions matched to an index schema (`condition`), byte ranges of
//! entry keys (`range`), and the checks and plan of an index read (`read`).
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
pub mod ddl;
pub mod keys;
pub mod maintain;
pub mod range;
pub mod read;
pub mod replicate;

use std::rc::Rc;

use crate::api::protocol::error::ApiError;
use crate::api::shard::Shard;

/// Brings a shard's index machinery up before it serves: finds outbox
/// records a previous run left, starts the replicator (which delivers
/// them) and resumes backfills of CREATING indexes.
pub async fn open(shard: &Rc<Shard>) -> Result<(), ApiError> {
    shard.outbox.recover(&shard.store).await?;
    replicate::start(shard);
    backfill::start_pending(shard);
    Ok(())
}
