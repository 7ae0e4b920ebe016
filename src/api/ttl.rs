//! The TTL expirer: one background task per shard deletes the expired
//! items of its slice of every table whose Time to Live is ENABLED.
//!
//! A pass walks each such table's base items on this shard in key order,
//! a page at a time, and picks the items whose TTL attribute is a Number
//! (seconds since the epoch) in the past but not more than five years in
//! the past (DynamoDB ignores those, and any other type, as "not a TTL").
//! It deletes them through the one write path (`write::commit`, origin
//! [`WriteOrigin::TimeToLive`]), so LSI entries, item collection counters
//! and the GSI outbox record go in the same batch as for a client's
//! DeleteItem, and capacity is never charged. Each deletion takes the
//! item's key lock and re-reads the item first: a client may have
//! rewritten it since the page was read, and an item whose TTL has moved
//! into the future (or gone) is left alone — so a conditional rewrite
//! racing the expirer is never lost. An item a transaction holds is
//! skipped until the next pass.
//!
//! The task runs in the background task queue (`background_shares`),
//! yields between pages, and paces its deletions to at most
//! `ttl_deletes_per_second_max`, so client requests keep the shard; a
//! backlog just takes longer. Passes start `ttl_scan_interval_ms` apart;
//! after a pass that found nothing expired the pause doubles, up to
//! `ttl_idle_backoff_max` intervals ([`idle_pause`]): a mass expiry leaves
//! the tables full of tombstones until compaction drops them, and each
//! pass walks them all, so an idle expirer re-walking them every interval
//! only takes the shard from client requests.
//! Until the expirer reaches it, an expired item is an ordinary item:
//! reads, queries and scans return it, as on DynamoDB.

use std::ops::Bound;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::api::messages::as_ref_bound;
use crate::api::protocol::error::ApiError;
use crate::api::shard::Shard;
use crate::api::shard::expiry::ExpiryCounters;
use crate::api::shard::outbox::now_ms;
use crate::api::write::{BaseWrite, WriteOrigin, commit};
use crate::catalog::TableStatus;
use crate::model::codec::decode_item;
use crate::model::key::{prefix_end, table_prefix};
use crate::model::{Item, Value};

/// Base items read per page (the expirer yields between pages).
const PAGE_ITEMS: usize = 256;
/// Entries (live or tombstone) one engine call visits at most: after a mass
/// expiry the walk crosses long runs of tombstones, and each call is one
/// stretch the shard thread cannot serve requests.
const PAGE_STEPS_MAX: usize = 1024;
/// Expired items deleted in one engine batch (their locks are held
/// together, briefly: from the re-read to the apply).
const DELETE_BATCH_ITEMS: usize = 64;
/// DynamoDB leaves alone an item whose TTL is more than five years old.
const TTL_PAST_LIMIT_SECS: f64 = 5.0 * 365.0 * 24.0 * 3600.0;
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Whether an item expires, at `now` (seconds since the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    Expired,
    /// Not expired yet, no TTL attribute, not a Number, or too old.
    Kept,
}

/// The pure decision: `item`'s `attribute` is a Number in `[now - 5
/// years, now)`.
pub fn expiry(item: &Item, attribute: &str, now: f64) -> Expiry {
    let Some(Value::N(n)) = item.get(attribute) else {
        return Expiry::Kept;
    };
    match n.to_canonical().parse::<f64>() {
        Ok(at) if at < now && at >= now - TTL_PAST_LIMIT_SECS => Expiry::Expired,
        _ => Expiry::Kept,
    }
}

fn now_secs() -> f64 {
    now_ms() as f64 / 1000.0
}

/// Starts this shard's expirer (once, at start-up).
pub fn start(shard: &Rc<Shard>) {
    let task = run(shard.clone());
    shard.services.spawn_background(Box::pin(task));
}

/// The pause before the next pass after `idle_passes` passes in a row
/// that found nothing expired: the interval, doubled per idle pass, at
/// most `backoff_max` intervals.
pub fn idle_pause(interval: Duration, idle_passes: u32, backoff_max: u32) -> Duration {
    let factor = 1u32
        .checked_shl(idle_passes.min(31))
        .unwrap_or(u32::MAX)
        .min(backoff_max.max(1));
    interval.saturating_mul(factor)
}

async fn run(shard: Rc<Shard>) {
    let mut pacer = Pacer::new(shard.settings.ttl_deletes_per_second_max);
    let mut idle_passes = 0u32;
    loop {
        let pause = idle_pause(
            shard.settings.ttl_scan_interval,
            idle_passes,
            shard.settings.ttl_idle_backoff_max,
        );
        shard.services.sleep(pause).await;
        match pass(&shard, &mut pacer).await {
            Ok(found) => {
                ExpiryCounters::add(&shard.expiry.scan_passes_total, 1);
                shard.expiry.last_scan_ms.set(now_ms());
                idle_passes = if found == 0 {
                    idle_passes.saturating_add(1)
                } else {
                    0
                };
            }
            Err(e) => {
                tracing::warn!(shard = shard.id, error = %e, "TTL pass failed; retrying");
                shard.services.sleep(RETRY_DELAY).await;
            }
        }
        shard.expiry.backlog_items.set(0);
    }
}

/// One pass over every TTL-enabled table's items on this shard; returns
/// how many expired items it found.
async fn pass(shard: &Rc<Shard>, pacer: &mut Pacer) -> Result<u64, ApiError> {
    let catalog = shard.catalog();
    let tables: Vec<(u32, String)> = catalog
        .tables
        .values()
        .filter(|t| t.status == TableStatus::Active)
        .filter_map(|t| Some((t.id, t.ttl.expiring_attribute()?.to_string())))
        .collect();
    drop(catalog);
    let mut found = 0u64;
    for (table_id, attribute) in tables {
        found += walk(shard, table_id, &attribute, pacer).await?;
    }
    Ok(found)
}

/// The attribute `table_id` expires on now, if it still does.
fn expiring(shard: &Shard, table_id: u32) -> Option<String> {
    let catalog = shard.catalog();
    let table = catalog.table_by_id(table_id)?;
    if table.status != TableStatus::Active {
        return None;
    }
    table.ttl.expiring_attribute().map(str::to_string)
}

async fn walk(
    shard: &Rc<Shard>,
    table_id: u32,
    attribute: &str,
    pacer: &mut Pacer,
) -> Result<u64, ApiError> {
    let prefix = table_prefix(table_id);
    let mut found = 0u64;
    let upper = prefix_end(&prefix);
    let mut lower = Bound::Included(prefix.to_vec());
    loop {
        // Disabled, deleted, or on another attribute since: stop.
        if expiring(shard, table_id).as_deref() != Some(attribute) {
            return Ok(found);
        }
        let (page, resume) = shard
            .store
            .scan_steps(
                as_ref_bound(&lower),
                as_ref_bound(&upper),
                false,
                PAGE_ITEMS,
                usize::MAX,
                PAGE_STEPS_MAX,
            )
            .await?;
        // Continue after the last key visited: past the tombstones of
        // what earlier passes deleted, a page may hold no item at all.
        let next = match (resume, page.last()) {
            (Some(key), _) => key,
            (None, Some((last, _))) => last.clone(),
            (None, None) => return Ok(found),
        };
        lower = Bound::Excluded(next);
        let now = now_secs();
        let expired: Vec<Vec<u8>> = page
            .into_iter()
            .filter(|(_, bytes)| {
                // An undecodable item is the read path's error to report.
                decode_item(bytes)
                    .is_ok_and(|item| expiry(&item, attribute, now) == Expiry::Expired)
            })
            .map(|(key, _)| key)
            .collect();
        found += expired.len() as u64;
        ExpiryCounters::add(&shard.expiry.backlog_items, expired.len() as u64);
        for batch in expired.chunks(DELETE_BATCH_ITEMS) {
            pacer.wait(shard, batch.len() as u64).await;
            let result = delete_expired(shard, table_id, attribute, batch).await;
            ExpiryCounters::sub(&shard.expiry.backlog_items, batch.len() as u64);
            ExpiryCounters::add(&shard.expiry.deleted_total, result?);
        }
        // Yield between pages, so the request queue runs.
        shard.services.sleep(Duration::ZERO).await;
    }
}

/// Deletes those of `keys` (sorted, as scanned) that are still expired
/// under their key locks; returns how many.
async fn delete_expired(
    shard: &Rc<Shard>,
    table_id: u32,
    attribute: &str,
    keys: &[Vec<u8>],
) -> Result<u64, ApiError> {
    // Keys in scan order are sorted: locks are taken in key order, as
    // every multi-key writer does.
    let mut guards = Vec::with_capacity(keys.len());
    let mut writes = Vec::with_capacity(keys.len());
    for key in keys {
        // An item a transaction holds: try again next pass.
        if shard.txns.has_intent(key) {
            continue;
        }
        let guard = shard.locks.lock(key.clone()).await;
        // Re-read under the lock: the page may be stale.
        let Some(bytes) = shard.store.get(key).await? else {
            continue;
        };
        let item = decode_item(&bytes)?;
        if expiry(&item, attribute, now_secs()) != Expiry::Expired {
            continue;
        }
        guards.push(guard);
        writes.push(deletion(key.clone(), item));
    }
    // The table may have turned off TTL while this waited for a lock.
    if writes.is_empty() || expiring(shard, table_id).as_deref() != Some(attribute) {
        return Ok(0);
    }
    let deleted = writes.len() as u64;
    let committed = commit(shard, writes).await?;
    drop(guards);
    committed.wait().await?;
    Ok(deleted)
}

/// The write that deletes an expired item: a delete through the one write
/// path with its old image (for the index and collection changes, and the
/// stream record), asked for by the service, not a client.
fn deletion(key: Vec<u8>, item: Item) -> BaseWrite {
    BaseWrite::item(key, Some(item), None).with_origin(WriteOrigin::TimeToLive)
}

/// Paces deletions to at most `per_second`: each deletion books the next
/// 1/`per_second` s; a caller ahead of its booking sleeps until then.
struct Pacer {
    per_second: u64,
    next_at: Instant,
}

impl Pacer {
    fn new(per_second: u64) -> Pacer {
        Pacer {
            per_second: per_second.max(1),
            next_at: Instant::now(),
        }
    }

    async fn wait(&mut self, shard: &Shard, deletions: u64) {
        let now = Instant::now();
        if self.next_at > now {
            shard.services.sleep(self.next_at - now).await;
        }
        // An idle pacer does not bank more than the batch it serves.
        let start = self.next_at.max(now);
        self.next_at = start + Duration::from_secs_f64(deletions as f64 / self.per_second as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::number::Number;

    fn item(ttl: Option<Value>) -> Item {
        let mut item = Item::new();
        item.insert("pk".into(), Value::S("a".into()));
        if let Some(ttl) = ttl {
            item.insert("exp".into(), ttl);
        }
        item
    }

    fn n(text: &str) -> Value {
        Value::N(Number::parse(text).expect("a number"))
    }

    #[test]
    fn a_deletion_is_a_delete_with_its_old_image_asked_for_by_the_service() {
        let old = item(Some(n("1")));
        let write = deletion(b"key".to_vec(), old.clone());
        assert_eq!(write.origin, WriteOrigin::TimeToLive);
        assert_eq!(write.storage, b"key");
        assert_eq!(write.old.as_ref(), Some(&old));
        assert!(write.old_known);
        assert!(write.new.is_none() && write.value.is_none(), "a delete");
        // Client writes keep the default origin.
        let client = BaseWrite::item(b"key".to_vec(), None, Some(old.clone()));
        assert_eq!(client.origin, WriteOrigin::Client);
        assert_eq!(
            BaseWrite::blind(b"k".to_vec(), None).origin,
            WriteOrigin::Client
        );
    }

    #[test]
    fn idle_passes_back_off_to_a_bound() {
        let interval = Duration::from_millis(100);
        let pauses: Vec<u128> = (0..6)
            .map(|idle| idle_pause(interval, idle, 8).as_millis())
            .collect();
        assert_eq!(pauses, vec![100, 200, 400, 800, 800, 800]);
        assert_eq!(idle_pause(interval, 40, 8), interval * 8);
        // 1 (or 0) turns it off.
        assert_eq!(idle_pause(interval, 5, 1), interval);
        assert_eq!(idle_pause(interval, 5, 0), interval);
    }

    #[test]
    fn only_a_recent_past_number_expires() {
        let now = 1_800_000_000.0;
        assert_eq!(
            expiry(&item(Some(n("1799999999"))), "exp", now),
            Expiry::Expired
        );
        assert_eq!(
            expiry(&item(Some(n("1799999999.5"))), "exp", now),
            Expiry::Expired
        );
        assert_eq!(expiry(&item(Some(n("1.7e9"))), "exp", now), Expiry::Expired);
        // Now or later: kept.
        assert_eq!(
            expiry(&item(Some(n("1800000000"))), "exp", now),
            Expiry::Kept
        );
        assert_eq!(expiry(&item(Some(n("9e99"))), "exp", now), Expiry::Kept);
        // More than five years old, or negative: DynamoDB ignores it.
        let old = now - TTL_PAST_LIMIT_SECS - 1.0;
        assert_eq!(
            expiry(&item(Some(n(&format!("{old}")))), "exp", now),
            Expiry::Kept
        );
        assert_eq!(expiry(&item(Some(n("-5"))), "exp", now), Expiry::Kept);
        // Not a Number, or absent, or on another attribute: kept.
        assert_eq!(
            expiry(&item(Some(Value::S("1".into()))), "exp", now),
            Expiry::Kept
        );
        let set = Value::Ns(vec![Number::parse("1").expect("n")]);
        assert_eq!(expiry(&item(Some(set)), "exp", now), Expiry::Kept);
        assert_eq!(expiry(&item(None), "exp", now), Expiry::Kept);
        assert_eq!(expiry(&item(Some(n("1"))), "other", now), Expiry::Kept);
    }
}
