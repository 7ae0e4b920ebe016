//! The shard side of point-in-time recovery: replaying this shard's
//! history of a table into a restore's target table, and trimming history
//! a base already holds. Both walk the table's records in key (= log)
//! order, a bounded page at a time.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::rc::Rc;
use std::sync::Arc;

use crate::api::backup::restore::write_by_owner;
use crate::api::messages::as_ref_bound;
use crate::api::protocol::error::ApiError;
use crate::api::shard::Shard;
use crate::api::table::key::key_of_item;
use crate::catalog::TableDef;
use crate::engine::WriteBatch;
use crate::model::codec::decode_item;
use crate::model::key::prefix_end;

use super::{decode, history_key, table_history_prefix};

/// History records read per page (replay) or deleted per batch (trim).
const PAGE_RECORDS_MAX: usize = 256;
/// Bytes read per replay page.
const PAGE_BYTES_MAX: usize = 1 << 20;

/// Replays the history of table `source` stored here, after WAL sequence
/// `after` and up to time `until_ms`, into `target`; returns the changes
/// applied. Within a page only each key's last change is written (the
/// result is the same, and one batch never holds a key twice); pages are
/// applied in order, so the last change of every key wins.
pub async fn replay(
    shard: &Rc<Shard>,
    source: u32,
    after: u64,
    until_ms: u64,
    target: Arc<TableDef>,
) -> Result<u64, ApiError> {
    let Some(first) = after.checked_add(1) else {
        return Ok(0);
    };
    let end = prefix_end(&table_history_prefix(source));
    let mut from = Bound::Included(history_key(source, first, 0));
    let mut applied = 0u64;
    loop {
        let page = next_page(shard, &mut from, &end).await?;
        if page.is_empty() {
            return Ok(applied);
        }
        let mut latest: HashMap<Vec<u8>, (u32, Option<Vec<u8>>)> = HashMap::new();
        let mut order: Vec<Vec<u8>> = Vec::new();
        for (key, value) in &page {
            let (time_ms, item_bytes, put) = record(key, value)?;
            if time_ms > until_ms {
                continue;
            }
            let item = decode_item(item_bytes)?;
            let key = key_of_item(shard, &target, &item)?;
            let value = put.then(|| item_bytes.to_vec());
            if latest
                .insert(key.storage.clone(), (key.owner, value))
                .is_none()
            {
                order.push(key.storage);
            }
        }
        let mut by_owner: BTreeMap<u32, WriteBatch> = BTreeMap::new();
        for storage in order {
            if let Some((owner, value)) = latest.remove(&storage) {
                by_owner.entry(owner).or_default().push((storage, value));
                applied += 1;
            }
        }
        write_by_owner(shard, by_owner).await?;
    }
}

/// Deletes the history of `table_id` stored here up to and including WAL
/// sequence `through`; returns the records deleted. Plain engine writes of
/// system keys: a crash before they sync only trims again.
pub async fn trim(shard: &Shard, table_id: u32, through: u64) -> Result<u64, ApiError> {
    let lower = history_key(table_id, 0, 0);
    let upper = match through.checked_add(1) {
        Some(next) => Bound::Excluded(history_key(table_id, next, 0)),
        None => prefix_end(&table_history_prefix(table_id)),
    };
    let mut from = Bound::Included(lower);
    let mut deleted = 0u64;
    loop {
        let page = next_page(shard, &mut from, &upper).await?;
        if page.is_empty() {
            return Ok(deleted);
        }
        let batch: WriteBatch = page.into_iter().map(|(key, _)| (key, None)).collect();
        let count = batch.len() as u64;
        // Not waited for: a crash before it syncs only trims again.
        let _ = shard.store.write(batch)?;
        deleted += count;
        shard.pitr.count_trimmed(count);
    }
}

/// A key's last change in a stretch of history.
#[derive(Debug, PartialEq, Eq)]
pub enum Last {
    /// The new item (stored encoding).
    Put(Vec<u8>),
    /// Deleted: the deleted item's key attributes (stored encoding).
    Delete(Vec<u8>),
}

/// A key's last change and its time.
#[derive(Debug)]
pub struct Changed {
    pub time_ms: u64,
    pub last: Last,
}

/// The last change of every key of `table` in this shard's history after
/// WAL sequence `after` with a time in (`since_ms`, `until_ms`] (no lower
/// bound for None), by storage key. What an export from the history
/// overlays on its base (or lists, incrementally); holding more than
/// `bytes_max` (keys plus items) fails rather than growing without bound.
pub async fn changes(
    shard: &Rc<Shard>,
    table: &TableDef,
    after: u64,
    since_ms: Option<u64>,
    until_ms: u64,
    bytes_max: u64,
) -> Result<BTreeMap<Vec<u8>, Changed>, ApiError> {
    let mut latest: BTreeMap<Vec<u8>, Changed> = BTreeMap::new();
    let Some(first) = after.checked_add(1) else {
        return Ok(latest);
    };
    let end = prefix_end(&table_history_prefix(table.id));
    let mut from = Bound::Included(history_key(table.id, first, 0));
    let mut held = 0u64;
    loop {
        let page = next_page(shard, &mut from, &end).await?;
        if page.is_empty() {
            return Ok(latest);
        }
        for (key, value) in &page {
            let (time_ms, item_bytes, put) = record(key, value)?;
            // A shard's records are in time order: none after this counts.
            if time_ms > until_ms {
                return Ok(latest);
            }
            if since_ms.is_some_and(|since| time_ms <= since) {
                continue;
            }
            let item = decode_item(item_bytes)?;
            let storage = key_of_item(shard, table, &item)?.storage;
            let bytes = item_bytes.to_vec();
            let key_len = storage.len() as u64;
            let size = key_len + bytes.len() as u64;
            let last = if put {
                Last::Put(bytes)
            } else {
                Last::Delete(bytes)
            };
            held += size;
            let changed = Changed { time_ms, last };
            if let Some(old) = latest.insert(storage, changed) {
                let (Last::Put(b) | Last::Delete(b)) = &old.last;
                held -= key_len + b.len() as u64;
            }
            if held > bytes_max {
                return Err(ApiError::internal(format!(
                    "the point-in-time history to export on shard {} exceeds \
                     pitr_export_history_bytes_max ({bytes_max} bytes)",
                    shard.id
                )));
            }
        }
    }
}

/// The next page of history records in (`from`, `upper`), at most
/// `PAGE_RECORDS_MAX` records or `PAGE_BYTES_MAX` bytes; `from` moves
/// past it. Empty at the end.
async fn next_page(
    shard: &Shard,
    from: &mut Bound<Vec<u8>>,
    upper: &Bound<Vec<u8>>,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>, ApiError> {
    let page = shard
        .store
        .scan(
            as_ref_bound(from),
            as_ref_bound(upper),
            false,
            PAGE_RECORDS_MAX,
            PAGE_BYTES_MAX,
        )
        .await?;
    if let Some((last, _)) = page.last() {
        *from = Bound::Excluded(last.clone());
    }
    Ok(page)
}

/// A history record as (time, item bytes, whether a put): the new item of
/// a put, the key attributes of a delete.
fn record<'v>(key: &[u8], value: &'v [u8]) -> Result<(u64, &'v [u8], bool), ApiError> {
    let undecodable = || {
        ApiError::internal(format!(
            "point-in-time history record {key:02x?} does not decode"
        ))
    };
    let change = decode(value).ok_or_else(undecodable)?;
    match (change.put, change.deleted_key) {
        (Some(item), _) => Ok((change.time_ms, item, true)),
        (None, Some(keys)) => Ok((change.time_ms, keys, false)),
        (None, None) => Err(undecodable()),
    }
}
