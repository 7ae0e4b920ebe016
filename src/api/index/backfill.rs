//! Backfill of a GSI added to a live table (UpdateTable Create).
//!
//! The coordinator records the index as CREATING; from the moment a shard
//! installs that catalog, its writes maintain the index like any other.
//! The shard then walks its slice of the base table in key order, a page at
//! a time: it locks the page's keys, re-reads each item, and writes one
//! outbox record putting their entries. Writers take the same item locks
//! and use the same outbox, so for every item the outbox holds its changes
//! in the order they happened, backfill included, and delivery converges.
//! Once the walk is done and the outbox has delivered everything up to it,
//! the shard tells the coordinator; when every shard has, the coordinator
//! makes the index ACTIVE. A restart simply starts the walk again (puts of
//! current entries are idempotent); a deleted index stops it.

use std::ops::Bound;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::keys::{entry_key, project};
use crate::api::messages::{MeshReply, MeshRequest, as_ref_bound, unexpected};
use crate::api::protocol::error::ApiError;
use crate::api::shard::outbox::{IndexOp, encode_record, now_ms, record_key};
use crate::api::shard::peers::call_or_local;
use crate::api::shard::{COORDINATOR, Shard};
use crate::catalog::{CatalogCommand, IndexKind, IndexStatus};
use crate::model::codec::{decode_item, encode_item};
use crate::model::key::{prefix_end, table_prefix};

/// Base items read per backfill page (each page holds their locks briefly).
const PAGE_ITEMS: usize = 256;
const RETRY_DELAY: Duration = Duration::from_millis(200);

/// Starts a backfill for every CREATING GSI not yet being backfilled here.
/// Called at start-up and after every catalog install.
pub fn start_pending(shard: &Rc<Shard>) {
    let catalog = shard.catalog();
    for table in catalog.tables.values() {
        for index in table.global_indexes() {
            if index.status != IndexStatus::Creating {
                continue;
            }
            if !shard.backfills.running.borrow_mut().insert(index.id) {
                continue;
            }
            let task = run(shard.clone(), table.name.clone(), index.id);
            shard.services.spawn_background(Box::pin(task));
        }
    }
}

async fn run(shard: Rc<Shard>, table_name: String, index_id: u32) {
    let started = Instant::now();
    let mut items = 0u64;
    loop {
        match walk(&shard, &table_name, index_id, &mut items).await {
            Ok(true) => break,
            Ok(false) => {
                // The index (or its table) is gone: nothing to finish.
                shard.backfills.running.borrow_mut().remove(&index_id);
                return;
            }
            Err(e) => {
                tracing::warn!(shard = shard.id, index_id, error = %e, "backfill failed; restarting it");
                shard.services.sleep(RETRY_DELAY).await;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64().max(1e-3);
    let rate = (items as f64 / secs) as u64;
    shard.backfills.last_rate_items_per_s.set(rate);
    tracing::info!(
        shard = shard.id,
        index_id,
        items,
        secs,
        rate,
        "backfill walked its slice"
    );
    loop {
        let request = MeshRequest::BackfillDone {
            table: table_name.clone(),
            index_id,
            shard: shard.id,
        };
        match call_or_local(&shard, COORDINATOR, request).await {
            Ok(MeshReply::Done(Ok(()))) => break,
            Ok(MeshReply::Done(Err(e))) => {
                tracing::warn!(shard = shard.id, index_id, error = %e, "backfill report failed");
            }
            Ok(other) => {
                tracing::warn!(error = %unexpected(&other), "backfill report");
            }
            Err(e) => {
                tracing::warn!(shard = shard.id, index_id, error = %e, "backfill report failed");
            }
        }
        shard.services.sleep(RETRY_DELAY).await;
    }
    shard.backfills.running.borrow_mut().remove(&index_id);
}

/// Walks this shard's slice of the table; Ok(false) if the index went away,
/// Ok(true) once its entries are delivered.
async fn walk(
    shard: &Rc<Shard>,
    table_name: &str,
    index_id: u32,
    items: &mut u64,
) -> Result<bool, ApiError> {
    let Some(table_id) = shard.catalog().table(table_name).map(|t| t.id) else {
        return Ok(false);
    };
    let prefix = table_prefix(table_id);
    let upper = prefix_end(&prefix);
    let mut lower = Bound::Included(prefix.to_vec());
    loop {
        let catalog = shard.catalog();
        let Some(table) = catalog.table(table_name).filter(|t| t.id == table_id) else {
            return Ok(false);
        };
        let Some(index) = table
            .indexes
            .iter()
            .find(|i| i.id == index_id && i.kind == IndexKind::Global)
        else {
            return Ok(false);
        };
        let page = shard
            .store
            .scan(
                as_ref_bound(&lower),
                as_ref_bound(&upper),
                false,
                PAGE_ITEMS,
                usize::MAX,
            )
            .await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        lower = Bound::Excluded(last.clone());
        // Scan order is key order, so the locks are taken in sorted order.
        let mut guards = Vec::with_capacity(page.len());
        for (key, _) in &page {
            guards.push(shard.locks.lock(key.clone()).await);
        }
        let mut ops: Vec<IndexOp> = Vec::with_capacity(page.len());
        for (key, _) in &page {
            // Re-read under the lock: the scanned value may be stale.
            let Some(bytes) = shard.store.get(key).await? else {
                continue;
            };
            let item = decode_item(&bytes)?;
            if let Some(entry) = entry_key(&shard.map, table, index, &item) {
                ops.push((
                    entry.storage,
                    Some(encode_item(&project(table, index, &item))),
                ));
            }
        }
        *items += page.len() as u64;
        shard
            .backfills
            .items
            .set(shard.backfills.items.get() + page.len() as u64);
        if !ops.is_empty() {
            let seq = shard.outbox.take_seq();
            let durable = shard
                .store
                .write(vec![(record_key(seq), Some(encode_record(now_ms(), &ops)))])?;
            shard.outbox.notify();
            drop(guards);
            durable.wait().await?;
            shard.outbox.wait_for_room().await;
        }
    }
    shard.outbox.wait_delivered(shard.outbox.last_seq()).await;
    Ok(true)
}

/// Coordinator: shard `from` has backfilled `index_id`; when all have,
/// the index becomes ACTIVE.
pub fn finished(shard: &Rc<Shard>, table: String, index_id: u32, from: u32) {
    let complete = {
        let mut finished = shard.backfills.finished.borrow_mut();
        let shards = finished.entry(index_id).or_default();
        shards.insert(from);
        shards.len() as u32 >= shard.map.shard_count()
    };
    if !complete {
        return;
    }
    shard.backfills.finished.borrow_mut().remove(&index_id);
    let shard2 = shard.clone();
    shard.services.spawn_background(Box::pin(async move {
        let command = CatalogCommand::IndexActive { table, index_id };
        if let Err(e) = crate::api::table::ddl::apply(&shard2, command).await {
            tracing::warn!(index_id, error = %e, "could not make the index ACTIVE");
        }
    }));
}
