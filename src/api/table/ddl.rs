//! The coordinator's DDL executor: the effects of a catalog
//! [`Transition`](crate::catalog::Transition), which `Catalog::apply`
//! decides without I/O.
//!
//! Order, and why: persist `catalog.json` first (if we crash before it
//! completes, the old catalog stands and nobody was told otherwise), then
//! install the snapshot on every shard, then drop the data of removed
//! tables and indexes (ids are never reused, so leftover data is
//! unreachable even if that is interrupted; compaction removes it too).
//! One DDL change runs at a time: a lock spans all three.
//!
//! A table's CREATING and DELETING states end by a follow-up command the
//! transition names ([`Transition::then`](crate::catalog::Transition)),
//! applied here after `table_status_transition` like any other change; a
//! restart re-schedules the follow-ups of tables it finds in those states
//! ([`resume`]), so a CREATING table becomes ACTIVE and a DELETING one is
//! removed.

use std::rc::Rc;
use std::sync::Arc;

use crate::api::messages::{MeshReply, MeshRequest, unexpected};
use crate::api::protocol::error::ApiError;
use crate::api::shard::peers::call_or_local;
use crate::api::shard::{COORDINATOR, Shard};
use crate::api::table::key::COLLECTION_PREFIX;
use crate::catalog::{Catalog, CatalogCommand, CatalogError, KeyAttr, TableDef, follow_up};
use crate::model::key::table_prefix;

/// Sends a DDL command to the coordinator and returns the affected table.
pub async fn submit(shard: &Rc<Shard>, command: CatalogCommand) -> Result<Arc<TableDef>, ApiError> {
    match call_or_local(shard, COORDINATOR, MeshRequest::Catalog(Box::new(command))).await? {
        MeshReply::Table(result) => result,
        other => Err(unexpected(&other)),
    }
}

/// Applies a DDL command on the coordinator: decide, persist, install
/// everywhere, drop what was removed.
pub async fn apply(shard: &Rc<Shard>, command: CatalogCommand) -> Result<Arc<TableDef>, ApiError> {
    if shard.id != COORDINATOR {
        return Err(ApiError::internal(
            "DDL sent to a shard that does not coordinate",
        ));
    }
    let _ddl = shard.locks.lock(b"\0ddl".to_vec()).await;
    let transition = shard.catalog().apply(command, shard.settings.tables_max)?;
    let Some(next) = transition.next else {
        return Ok(transition.table);
    };
    persist(shard, &next).await?;
    install(shard, Arc::new(next)).await?;
    for id in transition.dropped {
        drop_data(shard, id).await?;
    }
    if let Some(then) = transition.then {
        schedule(shard, then);
    }
    Ok(transition.table)
}

/// On the coordinator at start-up: ends the CREATING and DELETING states
/// the previous run left (their follow-ups were lost with it).
pub fn resume(shard: &Rc<Shard>) {
    if shard.id != COORDINATOR {
        return;
    }
    for table in shard.catalog().tables.values() {
        if let Some(command) = follow_up(table) {
            schedule(shard, command);
        }
    }
}

/// Applies `command` on this (the coordinating) shard once the table
/// state it ends has lasted `table_status_transition`; a failure (an I/O
/// fault persisting the catalog) is retried, since the state must end.
fn schedule(shard: &Rc<Shard>, command: CatalogCommand) {
    let task = follow(shard.clone(), command);
    shard.services.spawn(Box::pin(task));
}

async fn follow(shard: Rc<Shard>, command: CatalogCommand) {
    let delay = shard.settings.table_status_transition;
    loop {
        if !delay.is_zero() {
            shard.services.sleep(delay).await;
        }
        match apply(&shard, command.clone()).await {
            Ok(_) => return,
            Err(e) if e.is_server_fault() => {
                tracing::warn!(shard = shard.id, error = %e, "table state change failed; retrying");
                shard.services.sleep(RETRY_DELAY).await;
            }
            // Refused: the table went another way meanwhile.
            Err(_) => return,
        }
    }
}

const RETRY_DELAY: std::time::Duration = std::time::Duration::from_millis(200);

async fn persist(shard: &Shard, next: &Catalog) -> Result<(), ApiError> {
    let bytes = next.to_bytes()?;
    shard.services.persist_catalog(bytes).await
}

async fn install(shard: &Rc<Shard>, next: Arc<Catalog>) -> Result<(), ApiError> {
    for to in 0..shard.map.shard_count() {
        match call_or_local(shard, to, MeshRequest::InstallCatalog(next.clone())).await? {
            MeshReply::Done(r) => r?,
            other => return Err(unexpected(&other)),
        }
    }
    Ok(())
}

/// Drops a removed table's or index's data on every shard, with a table's
/// item collection counters.
async fn drop_data(shard: &Rc<Shard>, id: u32) -> Result<(), ApiError> {
    let mut prefixes = vec![table_prefix(id).to_vec()];
    let mut counters = COLLECTION_PREFIX.to_vec();
    counters.extend_from_slice(&table_prefix(id));
    prefixes.push(counters);
    for (to, prefix) in
        (0..shard.map.shard_count()).flat_map(|to| prefixes.iter().map(move |p| (to, p.clone())))
    {
        match call_or_local(shard, to, MeshRequest::DropPrefix { prefix }).await? {
            MeshReply::Done(r) => r?,
            other => return Err(unexpected(&other)),
        }
    }
    Ok(())
}

/// An index key attribute redefined with another type than the table's.
pub fn conflicting_definition(existing: &KeyAttr, requested: &KeyAttr) -> ApiError {
    CatalogError::conflicting_definition(existing, requested).into()
}

/// Seconds since the epoch, as DynamoDB's timestamps.
pub fn now_seconds() -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_millis() as f64) / 1000.0
}
