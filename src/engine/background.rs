//! Background work of a store: the flush task and the compaction task, in
//! a task queue with fewer shares than the request path.
//!
//! Flush: write the oldest frozen memtable as an L0 table (fdatasync), sync
//! the directory so its name is durable, then under the manifest lock install a manifest naming it with `flushed_seq`
//! = the memtable's `max_seq`; only then drop the memtable and recycle WAL
//! segments below the new `wal_min_segment`. Crash before the manifest: the
//! table is an orphan deleted at open and the WAL still has the records.
//!
//! Compaction: ask the pure policy (`compaction::choose`) for a choice,
//! merge the inputs into new tables, sync the directory (their names), install
//! a manifest that swaps them,
//! then delete the inputs. Crash before the manifest: outputs are orphans;
//! after: inputs are orphans; both deleted at open.
//!
//! Errors: ENOSPC backs off and retries (writes fail with `DiskFull` only
//! when memory bounds would otherwise be exceeded); any other I/O error
//! poisons the store.

use crate::engine::EngineError;
use crate::engine::compaction::{self, Choice};
use crate::engine::io::{Fs, dma};
use crate::engine::iter::{MergeIter, Range, Source};
use crate::engine::sst::table::{Table, TableWriter, table_name};
use crate::engine::store::Shared;
use std::ops::Bound;
use std::rc::Rc;

const DISK_FULL_RETRY_MS: u64 = 100;

pub(crate) fn start<F: Fs>(shared: &Rc<Shared<F>>) {
    shared.tasks_running.set(2);
    dma::spawn_background(flush_task(shared.clone()));
    dma::spawn_background(compaction_task(shared.clone()));
}

fn task_done<F: Fs>(shared: &Shared<F>) {
    shared.tasks_running.set(shared.tasks_running.get() - 1);
    shared.work.wake_all();
}

pub(crate) async fn wait_stopped<F: Fs>(shared: &Shared<F>) {
    shared
        .work
        .wait_until(|| shared.tasks_running.get() == 0)
        .await;
}

fn stopped<F: Fs>(shared: &Shared<F>) -> bool {
    shared.closing.get() || shared.commit.poisoned().is_some()
}

async fn flush_task<F: Fs>(shared: Rc<Shared<F>>) {
    loop {
        shared
            .work
            .wait_until(|| !shared.frozen.borrow().is_empty() || stopped(&shared))
            .await;
        if stopped(&shared) {
            break;
        }
        match flush_oldest(&shared).await {
            Ok(_) => {}
            Err(EngineError::DiskFull(what)) => {
                tracing::warn!(%what, "flush: disk full; retrying");
                if shared.frozen.borrow().len() > shared.config.memtables_frozen_max {
                    shared.commit.set_disk_full(true);
                }
                dma::sleep_ms(DISK_FULL_RETRY_MS).await;
            }
            Err(error) => {
                shared.poison(&error);
                break;
            }
        }
    }
    task_done(&shared);
}

/// Writers are about to wait for background work: a second memtable froze
/// while the oldest flushes, or L0 is within two tables of the slowdown
/// trigger (or the store is closing). Flush and compaction then run at
/// full speed instead of their duty cycle.
fn background_behind<F: Fs>(shared: &Shared<F>) -> bool {
    let slowdown = shared.config.l0_slowdown_writes_trigger;
    shared.frozen.borrow().len() > 1
        || shared.commit.l0_tables.get() + 2 >= slowdown
        || shared.closing.get()
}

/// No foreground call reached the store since the last pause (`seen`):
/// resting would leave the shard idle.
fn unopposed<F: Fs>(shared: &Shared<F>, seen: &mut u64) -> bool {
    let now = shared.counters.requests.get();
    std::mem::replace(seen, now) == now
}

/// A flush is behind its schedule: it should be done by the time the
/// active memtable is half full (the other half is the margin before a
/// second frozen memtable makes writers wait), so its share of entries
/// done must keep ahead of twice the active memtable's fill. Under a light
/// write rate the duty cycle alone finishes it in time; under a heavy one
/// this speeds it up as much as the writes need.
fn flush_behind<F: Fs>(shared: &Shared<F>, done: usize, total: usize) -> bool {
    let fill =
        shared.active.borrow().bytes() as f64 / shared.config.memtable_bytes_max.max(1) as f64;
    let progress = done as f64 / total.max(1) as f64;
    background_behind(shared) || progress < (2.0 * fill).min(1.0)
}

/// Flushes the oldest frozen memtable; false if there was none.
pub(crate) async fn flush_oldest<F: Fs>(shared: &Shared<F>) -> Result<bool, EngineError> {
    let Some(mem) = shared.frozen.borrow().front().cloned() else {
        return Ok(false);
    };
    let version = shared.current();
    let hidden = version.hidden_for(mem.max_seq());
    let clean_seq = version.max_tombstone_seq();
    let id = shared.allocate_file_id();
    let mut writer =
        TableWriter::create(&*shared.fs, id, shared.config.master_key.as_deref()).await?;
    let mut slice = dma::WorkSlice::paced(shared.config.background_duty_percent);
    let mut seen = shared.counters.requests.get();
    let total = mem.len();
    for (done, (key, value)) in mem.entries().enumerate() {
        if hidden.iter().any(|p| key.starts_with(p)) {
            continue;
        }
        writer.add(key, value).await?;
        slice
            .pace_if_spent(|| flush_behind(shared, done, total) || unopposed(shared, &mut seen))
            .await;
    }
    let table = if writer.entries() > 0 {
        let meta = writer.finish(mem.max_seq(), clean_seq).await?;
        Some(Rc::new(
            Table::open(
                &*shared.fs,
                meta,
                shared.cache.clone(),
                shared.config.master_key.as_deref(),
            )
            .await?,
        ))
    } else {
        let name = writer.name().to_string();
        drop(writer);
        shared
            .fs
            .remove(&name)
            .await
            .map_err(|e| crate::engine::wal::io_error(&name, e))?;
        None
    };
    if table.is_some() {
        sync_new_tables(shared).await?;
    }
    let _guard = shared.manifest_lock.lock().await;
    let wal_min = {
        let frozen = shared.frozen.borrow();
        frozen
            .get(1)
            .map_or_else(|| shared.active.borrow().first_segment, |m| m.first_segment)
    };
    let previous = (shared.flushed_seq.get(), shared.wal_min_segment.get());
    shared.flushed_seq.set(mem.max_seq());
    shared.wal_min_segment.set(wal_min.max(previous.1));
    let size = table.as_ref().map_or(0, |t| t.meta.size);
    let next = shared
        .current()
        .with_tables(&[], 0, table.into_iter().collect());
    if let Err(error) = shared.install(next).await {
        shared.flushed_seq.set(previous.0);
        shared.wal_min_segment.set(previous.1);
        return Err(error);
    }
    {
        let mut frozen = shared.frozen.borrow_mut();
        frozen.pop_front();
        shared.commit.flush_backlog.set(frozen.len());
    }
    // A write that found the backlog full left the active memtable over its
    // bound (writers that awaited `write_room` never do); freeze it now that
    // there is room, rather than at the next write.
    if shared.active.borrow().bytes() >= shared.config.memtable_bytes_max {
        shared.rotate();
    }
    shared.commit.set_disk_full(false);
    shared.commit.notify();
    let c = &shared.counters;
    c.flush_bytes.set(c.flush_bytes.get() + size);
    c.flushes.set(c.flushes.get() + 1);
    drop(_guard);
    if let Some(wal) = shared.wal.get() {
        wal.release_below(shared.wal_min_segment.get()).await?;
    }
    Ok(true)
}

/// Makes the names of tables just written durable before a manifest names
/// them. The manifest's own directory sync comes after its rename, and a
/// file system may persist that rename before the tables' creations: a
/// crash between would leave a durable manifest naming missing tables, and
/// the store could not open. If we crash before this sync, the tables are
/// unnamed orphans (or gone) and the WAL still holds their records.
async fn sync_new_tables<F: Fs>(shared: &Shared<F>) -> Result<(), EngineError> {
    shared
        .fs
        .sync_dir()
        .await
        .map_err(|e| crate::engine::wal::io_error("data directory", e))
}

async fn compaction_task<F: Fs>(shared: Rc<Shared<F>>) {
    let mut seen_changes = u64::MAX;
    loop {
        shared
            .work
            .wait_until(|| shared.version_changes.get() != seen_changes || stopped(&shared))
            .await;
        if stopped(&shared) {
            break;
        }
        seen_changes = shared.version_changes.get();
        let version = shared.current();
        let Some(choice) =
            compaction::choose(&version.metas(), &version.tombstones, &shared.policy())
        else {
            continue;
        };
        match run_compaction(&shared, choice).await {
            Ok(()) => {}
            Err(EngineError::DiskFull(what)) => {
                tracing::warn!(%what, "compaction: disk full; retrying later");
                dma::sleep_ms(DISK_FULL_RETRY_MS).await;
                seen_changes = u64::MAX;
            }
            Err(error) => {
                shared.poison(&error);
                break;
            }
        }
    }
    task_done(&shared);
}

/// True when background work is pending (a frozen memtable or a compaction).
pub(crate) fn busy<F: Fs>(shared: &Shared<F>) -> bool {
    let version = shared.current();
    !shared.frozen.borrow().is_empty()
        || compaction::choose(&version.metas(), &version.tombstones, &shared.policy()).is_some()
}

pub(crate) async fn quiesce<F: Fs>(shared: &Shared<F>) -> Result<(), EngineError> {
    let mut rounds = 0u64;
    while busy(shared) {
        if let Some(why) = shared.commit.poisoned() {
            return Err(EngineError::Poisoned(why));
        }
        rounds += 1;
        if rounds.is_multiple_of(2000) {
            let version = shared.current();
            tracing::warn!(
                frozen = shared.frozen.borrow().len(),
                choice = ?compaction::choose(&version.metas(), &version.tombstones, &shared.policy()),
                "quiesce still waiting"
            );
        }
        dma::sleep_ms(1).await;
    }
    Ok(())
}

async fn run_compaction<F: Fs>(shared: &Shared<F>, choice: Choice) -> Result<(), EngineError> {
    let version = shared.current();
    let find = |id: u64| {
        version
            .levels
            .iter()
            .flatten()
            .find(|t| t.meta.id == id)
            .cloned()
    };
    let (removed, output_level, outputs) = match choice {
        Choice::Drop { ids } => (ids, 0, Vec::new()),
        Choice::Merge {
            level,
            upper,
            output_level,
            lower,
            drop_point_tombstones,
        } => {
            let range = Range {
                lower: Bound::Unbounded,
                upper: Bound::Unbounded,
                reverse: false,
                fill_cache: false,
            };
            let mut sources = Vec::new();
            let upper_tables: Vec<_> = upper.iter().filter_map(|&id| find(id)).collect();
            let lower_tables: Vec<_> = lower.iter().filter_map(|&id| find(id)).collect();
            let with_hidden = |t: &Rc<Table<F>>| (t.clone(), version.hidden_for(t.meta.max_seq));
            if level == 0 {
                // Newest first, each its own source (L0 tables overlap).
                for t in &upper_tables {
                    sources.push(Source::tables(vec![with_hidden(t)], range.clone()));
                }
            } else {
                sources.push(Source::tables(
                    upper_tables.iter().map(with_hidden).collect(),
                    range.clone(),
                ));
            }
            sources.push(Source::tables(
                lower_tables.iter().map(with_hidden).collect(),
                range.clone(),
            ));
            let max_seq = upper_tables
                .iter()
                .chain(&lower_tables)
                .map(|t| t.meta.max_seq)
                .max()
                .unwrap_or(0);
            let outputs = merge(
                shared,
                MergeIter::new(sources, false),
                max_seq,
                drop_point_tombstones,
            )
            .await?;
            let removed = upper.into_iter().chain(lower).collect();
            (removed, output_level, outputs)
        }
    };
    let written: u64 = outputs.iter().map(|t| t.meta.size).sum();
    if !outputs.is_empty() {
        sync_new_tables(shared).await?;
    }
    {
        let _guard = shared.manifest_lock.lock().await;
        let next = shared
            .current()
            .with_tables(&removed, output_level, outputs);
        shared.install(next).await?;
    }
    let c = &shared.counters;
    c.compaction_bytes.set(c.compaction_bytes.get() + written);
    c.compactions.set(c.compactions.get() + 1);
    // The manifest that drops the inputs is durable: delete them. Readers
    // holding the old version keep reading through their open handles.
    for id in removed {
        let name = table_name(id);
        if let Err(error) = shared.fs.remove(&name).await {
            tracing::warn!(file = %name, %error, "could not delete compacted table; deleted at next open");
        }
    }
    Ok(())
}

async fn merge<F: Fs>(
    shared: &Shared<F>,
    mut iter: MergeIter<F>,
    max_seq: u64,
    drop_point_tombstones: bool,
) -> Result<Vec<Rc<Table<F>>>, EngineError> {
    let clean_seq = shared.current().max_tombstone_seq();
    let mut outputs = Vec::new();
    let mut writer: Option<TableWriter<F>> = None;
    let mut slice = dma::WorkSlice::paced(shared.config.background_duty_percent);
    let mut seen = shared.counters.requests.get();
    while let Some((key, value)) = iter.next().await? {
        slice
            .pace_if_spent(|| background_behind(shared) || unopposed(shared, &mut seen))
            .await;
        if value.is_none() && drop_point_tombstones {
            continue;
        }
        if writer.is_none() {
            writer = Some(
                TableWriter::create(
                    &*shared.fs,
                    shared.allocate_file_id(),
                    shared.config.master_key.as_deref(),
                )
                .await?,
            );
        }
        if let Some(w) = writer.as_mut() {
            w.add(&key, value.as_deref()).await?;
            if w.size_estimate() >= shared.config.sstable_target_bytes
                && let Some(full) = writer.take()
            {
                let meta = full.finish(max_seq, clean_seq).await?;
                outputs.push(Rc::new(
                    Table::open(
                        &*shared.fs,
                        meta,
                        shared.cache.clone(),
                        shared.config.master_key.as_deref(),
                    )
                    .await?,
                ));
            }
        }
    }
    if let Some(last) = writer.take() {
        let meta = last.finish(max_seq, clean_seq).await?;
        outputs.push(Rc::new(
            Table::open(
                &*shared.fs,
                meta,
                shared.cache.clone(),
                shared.config.master_key.as_deref(),
            )
            .await?,
        ));
    }
    Ok(outputs)
}
