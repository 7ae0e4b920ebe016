//! `LsmStore`: the shard's store, tying WAL, memtables, versions and the
//! background flush/compaction tasks together behind the public API.
//!
//! Ownership: the store and its background tasks share one `Shared` through
//! `Rc` (one thread). State lives in `Cell`/`RefCell`; no borrow is held
//! across an `.await` — readers clone the `Rc` of a memtable or version
//! first. Manifest edits (flush, compaction, drop) serialize on one async
//! mutex so each writes a manifest derived from the latest version.
//!
//! Open = recovery: read the manifest, open its tables (a damaged one is an
//! error naming it), delete unreferenced files a crash left behind, replay
//! the WAL above `flushed_seq` into memtables, flush them, write a manifest
//! that makes the old segments obsolete, and start a fresh segment. Any
//! crash during open leaves the previous manifest in charge, so reopening
//! repeats the same steps.

use crate::engine::background;
use crate::engine::compaction::PolicyConfig;
use crate::engine::io::Fs;
use crate::engine::io::dma::{self, DmaFs};
use crate::engine::io::either::EitherFs;
use crate::engine::iter::{MergeIter, Range, Source};
use crate::engine::manifest::{self, MANIFEST, MANIFEST_TMP, ManifestData, RangeTombstone};
use crate::engine::memtable::Memtable;
use crate::engine::sst::bloom;
use crate::engine::sst::cache::BlockCache;
use crate::engine::sst::table::{Table, parse_table_name, table_name};
use crate::engine::sync::{AsyncMutex, WaitList};
use crate::engine::version::Version;
use crate::engine::wal::{self, CommitState, Wal, WalOptions, io_error};
use crate::engine::{Durable, EngineConfig, EngineError, PrefixStats, SyncMode, WriteBatch};
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::ops::Bound;
use std::path::Path;
use std::rc::Rc;

/// Delay per writer for each L0 table at or past `l0_slowdown_writes_trigger`:
/// at 16 writers and 3 tables over, ~50k writes/s become ~25k/s, leaving the
/// compactor CPU before L0 reaches the stop trigger.
const L0_SLOWDOWN_STEP_US: u64 = 200;
/// Entries a scan visits (live or tombstone) between two chances to yield
/// the shard thread. Checking costs a read of the preemption flag.
pub(crate) const SCAN_YIELD_STEPS: usize = 64;

/// A page of [`LsmStore::scan_steps`]: the live entries, and the last key
/// visited if the step budget ended the page early.
pub type ScanPage = (Vec<(Vec<u8>, Vec<u8>)>, Option<Vec<u8>>);

/// Write accounting and shape, from [`LsmStore::stats`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EngineStats {
    /// Key + value bytes of every batch the user wrote.
    pub user_bytes: u64,
    pub wal_bytes: u64,
    pub flush_bytes: u64,
    pub compaction_bytes: u64,
    /// (flush + compaction bytes) / user bytes; WAL bytes excluded.
    pub write_amplification: f64,
    pub tables_per_level: Vec<usize>,
    pub memtable_bytes: u64,
    pub block_cache_bytes: u64,
    pub block_cache_hits: u64,
    pub block_cache_misses: u64,
    pub flushes: u64,
    pub compactions: u64,
}

impl Counters {
    pub fn count_request(&self) {
        self.requests.set(self.requests.get().wrapping_add(1));
    }
}

#[derive(Default)]
pub(crate) struct Counters {
    pub user_bytes: Cell<u64>,
    pub flush_bytes: Cell<u64>,
    pub compaction_bytes: Cell<u64>,
    pub flushes: Cell<u64>,
    pub compactions: Cell<u64>,
    /// Foreground calls (writes, gets, scans): background work that sees
    /// it unchanged over a rest runs at full speed (nobody to yield to).
    pub requests: Cell<u64>,
}

pub(crate) struct Shared<F: Fs> {
    pub fs: Rc<F>,
    pub config: EngineConfig,
    pub cache: Rc<BlockCache>,
    pub commit: Rc<CommitState>,
    pub wal: OnceCell<Rc<Wal<F>>>,
    pub active: RefCell<Rc<Memtable>>,
    /// Oldest first.
    pub frozen: RefCell<VecDeque<Rc<Memtable>>>,
    pub version: RefCell<Rc<Version<F>>>,
    pub manifest_lock: AsyncMutex,
    pub next_file_id: Cell<u64>,
    pub flushed_seq: Cell<u64>,
    pub wal_min_segment: Cell<u64>,
    /// Wakes the flush and compaction tasks.
    pub work: WaitList,
    /// Bumped on every version change (the compactor re-plans).
    pub version_changes: Cell<u64>,
    pub closing: Cell<bool>,
    pub tasks_running: Cell<usize>,
    pub counters: Counters,
}

impl<F: Fs> Shared<F> {
    pub fn current(&self) -> Rc<Version<F>> {
        self.version.borrow().clone()
    }

    pub fn policy(&self) -> PolicyConfig {
        PolicyConfig {
            l0_compaction_trigger: self.config.l0_compaction_trigger,
            level1_bytes_max: self.config.level1_bytes_max,
            level_size_ratio: self.config.level_size_ratio,
        }
    }

    pub fn allocate_file_id(&self) -> u64 {
        let id = self.next_file_id.get();
        self.next_file_id.set(id + 1);
        id
    }

    fn wal(&self) -> Option<&Rc<Wal<F>>> {
        self.wal.get()
    }

    /// Freezes the active memtable (if it holds anything) and hands it to
    /// the flush task.
    pub fn rotate(&self) {
        let Some(wal) = self.wal() else { return };
        let fresh = Rc::new(Memtable::new(wal.current_segment()));
        let old = std::mem::replace(&mut *self.active.borrow_mut(), fresh);
        if old.is_empty() {
            return;
        }
        old.freeze(wal.last_seq());
        let mut frozen = self.frozen.borrow_mut();
        frozen.push_back(old);
        self.commit.flush_backlog.set(frozen.len());
        drop(frozen);
        self.work.wake_all();
    }

    /// Writes the manifest for `next` and installs it. Caller holds
    /// `manifest_lock`. Range tombstones that no longer hide anything are
    /// dropped here.
    pub async fn install(&self, mut next: Version<F>) -> Result<(), EngineError> {
        let frozen_max: Vec<u64> = self.frozen.borrow().iter().map(|m| m.max_seq()).collect();
        let tables: Vec<_> = next
            .levels
            .iter()
            .flatten()
            .map(|t| t.meta.clone())
            .collect();
        let all_tombstones = next.tombstones.clone();
        next.tombstones.retain(|t| {
            frozen_max.iter().any(|&m| m < t.seq)
                || tables
                    .iter()
                    .any(|m| crate::engine::compaction::needs_cleaning(m, std::slice::from_ref(t)))
        });
        if next.tombstones.len() != all_tombstones.len() {
            tracing::debug!(kept = next.tombstones.len(), "range tombstones retired");
        }
        let data = next.to_manifest(
            self.next_file_id.get(),
            self.flushed_seq.get(),
            self.wal_min_segment.get(),
        );
        manifest::write(&*self.fs, &data, self.config.master_key.as_deref()).await?;
        self.commit.l0_tables.set(next.levels[0].len());
        *self.version.borrow_mut() = Rc::new(next);
        self.version_changes.set(self.version_changes.get() + 1);
        self.work.wake_all();
        // Writers waiting on the L0 bound.
        self.commit.notify();
        Ok(())
    }

    pub fn poison(&self, error: &EngineError) {
        self.commit.poison(error.to_string());
        self.work.wake_all();
    }
}

/// A shard's store over the file system `F`.
pub struct LsmStore<F: Fs> {
    shared: Rc<Shared<F>>,
}

impl LsmStore<EitherFs> {
    /// Opens (or creates) the store in `dir` with direct I/O, recovering
    /// what is there.
    pub async fn open(
        dir: &Path,
        config: &EngineConfig,
    ) -> Result<LsmStore<EitherFs>, EngineError> {
        let shown = dir.display().to_string();
        let (Some(parent), Some(name)) = (dir.parent(), dir.file_name().and_then(|n| n.to_str()))
        else {
            return Err(EngineError::InvalidConfig(format!(
                "store directory {shown} has no parent or no UTF-8 name"
            )));
        };
        let parent = DmaFs::new(parent).map_err(|e| io_error(&shown, e))?;
        LsmStore::open_in(&EitherFs::Dma(parent), name, config).await
    }
}

fn validate(config: &EngineConfig) -> Result<(), EngineError> {
    let problem = if config.memtable_bytes_max < 4096 {
        "memtable_bytes_max must be at least 4096"
    } else if config.wal_segment_bytes < 4096 {
        "wal_segment_bytes must be at least 4096"
    } else if config.levels < 2 {
        "levels must be at least 2"
    } else if config.sstable_target_bytes < 4096 {
        "sstable_target_bytes must be at least 4096"
    } else {
        return Ok(());
    };
    Err(EngineError::InvalidConfig(problem.into()))
}

impl<F: Fs> LsmStore<F> {
    pub(crate) fn shared(&self) -> &Rc<Shared<F>> {
        &self.shared
    }

    /// Opens (or creates) the store kept in subdirectory `name` of `parent`
    /// (a shard's `shard-NNN` in the data directory).
    ///
    /// The parent is synced at every open, not only after creating the
    /// directory: if we crash before that sync, the new directory's entry,
    /// and with it every acknowledged write in its WAL, may vanish; a
    /// directory created by a run that crashed before syncing is made
    /// durable by the next open, before it acknowledges anything.
    pub async fn open_in(
        parent: &F,
        name: &str,
        config: &EngineConfig,
    ) -> Result<LsmStore<F>, EngineError> {
        parent
            .create_dir(name)
            .await
            .map_err(|e| io_error(name, e))?;
        parent
            .sync_dir()
            .await
            .map_err(|e| io_error("parent of the store directory", e))?;
        let fs = parent.subdir(name).map_err(|e| io_error(name, e))?;
        LsmStore::open_with(fs, config).await
    }

    /// Opens the store kept in `fs`, recovering what is there.
    pub async fn open_with(fs: F, config: &EngineConfig) -> Result<LsmStore<F>, EngineError> {
        validate(config)?;
        let fs = Rc::new(fs);
        let names = fs.list().await.map_err(|e| io_error("data directory", e))?;
        let mut segments = Vec::new();
        let mut tables_on_disk = Vec::new();
        let mut has_manifest = false;
        for name in &names {
            if name == MANIFEST {
                has_manifest = true;
            } else if name == MANIFEST_TMP {
                // An interrupted manifest update; MANIFEST is still complete.
                fs.remove(name).await.map_err(|e| io_error(name, e))?;
            } else if let Some(id) = wal::parse_segment_name(name) {
                segments.push(id);
            } else if let Some(id) = parse_table_name(name) {
                tables_on_disk.push(id);
            } else {
                return Err(EngineError::ForeignFile(name.clone()));
            }
        }
        segments.sort_unstable();
        let data = if has_manifest {
            manifest::read(&*fs, config.master_key.as_deref()).await?
        } else if !segments.is_empty() || !tables_on_disk.is_empty() {
            return Err(EngineError::Corruption {
                path: MANIFEST.into(),
                offset: 0,
                detail: "missing, but the directory holds engine files".into(),
            });
        } else {
            let fresh = ManifestData {
                next_file_id: 1,
                flushed_seq: 0,
                wal_min_segment: 1,
                ..ManifestData::default()
            };
            manifest::write(&*fs, &fresh, config.master_key.as_deref()).await?;
            fresh
        };

        let cache = Rc::new(BlockCache::new(config.block_cache_bytes_max));
        let mut version = Version::empty(config.levels);
        version.tombstones = data.tombstones.clone();
        let mut max_file_id = 0;
        for (level, meta) in &data.tables {
            max_file_id = max_file_id.max(meta.id);
            let level = *level as usize;
            if level >= config.levels {
                return Err(EngineError::InvalidConfig(format!(
                    "the data has level {level}, the configuration only {} levels",
                    config.levels
                )));
            }
            let table = Table::open(
                &*fs,
                meta.clone(),
                cache.clone(),
                config.master_key.as_deref(),
            )
            .await?;
            version.levels[level].push(Rc::new(table));
        }
        for id in tables_on_disk {
            if !data.tables.iter().any(|(_, m)| m.id == id) {
                // Output of a flush or compaction the crash interrupted.
                let name = table_name(id);
                tracing::info!(file = %name, "deleting unreferenced table");
                fs.remove(&name).await.map_err(|e| io_error(&name, e))?;
            }
        }

        let commit = Rc::new(CommitState::default());
        commit.l0_tables_max.set(
            config
                .l0_stop_writes_trigger
                .max(config.l0_compaction_trigger),
        );
        commit
            .flush_backlog_max
            .set(config.memtables_frozen_max.max(1));
        let shared = Rc::new(Shared {
            fs: fs.clone(),
            config: config.clone(),
            cache,
            commit: commit.clone(),
            wal: OnceCell::new(),
            active: RefCell::new(Rc::new(Memtable::new(data.wal_min_segment))),
            frozen: RefCell::new(VecDeque::new()),
            version: RefCell::new(Rc::new(version)),
            manifest_lock: AsyncMutex::default(),
            next_file_id: Cell::new(data.next_file_id.max(max_file_id + 1)),
            flushed_seq: Cell::new(data.flushed_seq),
            wal_min_segment: Cell::new(data.wal_min_segment),
            work: WaitList::default(),
            version_changes: Cell::new(0),
            closing: Cell::new(false),
            tasks_running: Cell::new(0),
            counters: Counters::default(),
        });

        // Replay the log into memtables.
        let replay: Vec<u64> = segments
            .iter()
            .copied()
            .filter(|&s| s >= data.wal_min_segment)
            .collect();
        // Until the final manifest below, recovered data still lives in the
        // old segments: every recovered memtable points at wal_min_segment.
        let old_min = data.wal_min_segment;
        let mut memtables: Vec<Rc<Memtable>> = vec![Rc::new(Memtable::new(old_min))];
        let tombstones = data.tombstones.clone();
        let master_key = config.master_key.as_deref();
        let recovered = wal::recover(&*fs, &replay, data.flushed_seq, master_key, |seq, batch| {
            let Some(mem) = memtables.last().cloned() else {
                return;
            };
            for (key, value) in batch {
                let dropped_later = tombstones
                    .iter()
                    .any(|t| seq < t.seq && key.starts_with(&t.prefix));
                if !dropped_later {
                    mem.insert(&key, value.as_deref());
                }
            }
            if mem.bytes() >= config.memtable_bytes_max {
                mem.freeze(seq);
                memtables.push(Rc::new(Memtable::new(old_min)));
            }
        })
        .await?;
        let last_seq = recovered
            .last_seq
            .max(data.flushed_seq)
            .max(shared.current().max_tombstone_seq());
        if let Some(last) = memtables.last() {
            last.freeze(last_seq);
        }
        let replayed = memtables.iter().filter(|m| !m.is_empty()).count();
        if replayed > 0 {
            tracing::info!(memtables = replayed, last_seq, "flushing recovered log");
        }
        *shared.frozen.borrow_mut() = memtables.into_iter().filter(|m| !m.is_empty()).collect();

        // The fresh segment gets an id above every file's and the manifest's.
        let first_segment = segments
            .last()
            .copied()
            .unwrap_or(0)
            .max(data.wal_min_segment)
            + 1;
        while background::flush_oldest(&shared).await? {}
        {
            let _guard = shared.manifest_lock.lock().await;
            // Even with nothing replayed, record that the old segments are
            // obsolete before they are recycled.
            shared.flushed_seq.set(last_seq);
            shared.wal_min_segment.set(first_segment);
            let next = (*shared.current()).clone();
            shared.install(next).await?;
        }
        let relaxed_interval_ms = (config.sync_mode == SyncMode::RelaxedPeriodic)
            .then_some(config.relaxed_sync_interval_ms.max(1));
        let wal = Wal::start(
            fs.clone(),
            WalOptions {
                segment_bytes: config.wal_segment_bytes,
                segments_prepared_max: config.wal_segments_prepared_max,
                relaxed_interval_ms,
                master_key: config.master_key.clone(),
            },
            commit,
            last_seq,
            first_segment,
            segments,
        )
        .await?;
        wal.release_below(first_segment).await?;
        *shared.active.borrow_mut() = Rc::new(Memtable::new(first_segment));
        let _ = shared.wal.set(wal);
        background::start(&shared);
        Ok(LsmStore { shared })
    }

    pub async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        let shared = &self.shared;
        shared.counters.count_request();
        let active = shared.active.borrow().clone();
        if let Some(value) = active.get(key) {
            return Ok(value);
        }
        let version = shared.current();
        let frozen: Vec<Rc<Memtable>> = shared.frozen.borrow().iter().rev().cloned().collect();
        for mem in frozen {
            if version.covered(key, mem.max_seq()) {
                return Ok(None);
            }
            if let Some(value) = mem.get(key) {
                return Ok(value);
            }
        }
        let hash = bloom::key_hash(key);
        for (level, tables) in version.levels.iter().enumerate() {
            let candidates: &[Rc<Table<F>>] = if level == 0 {
                tables
            } else {
                // Sorted and disjoint: at most one table can hold the key.
                let i = tables.partition_point(|t| t.meta.largest.as_slice() < key);
                tables.get(i..(i + 1).min(tables.len())).unwrap_or(&[])
            };
            for table in candidates {
                if version.covered(key, table.meta.max_seq) {
                    return Ok(None);
                }
                if let Some(value) = table.get(key, hash).await? {
                    return Ok(value);
                }
            }
        }
        Ok(None)
    }

    /// Why the store refuses writes after a failed write or sync, if it does
    /// (cheap: for health checks).
    pub fn poisoned(&self) -> Option<String> {
        self.shared.commit.poisoned()
    }

    fn check_writable(&self) -> Result<(), EngineError> {
        if let Some(why) = self.shared.commit.poisoned() {
            return Err(EngineError::Poisoned(why));
        }
        if self.shared.commit.disk_full() {
            return Err(EngineError::DiskFull("data directory".into()));
        }
        Ok(())
    }

    /// Completes when the memtables have room for another batch (the active
    /// one is under `memtable_bytes_max`, or it may be frozen because fewer
    /// than `memtables_frozen_max` wait for flush) and L0 is under
    /// `l0_stop_writes_trigger`; past `l0_slowdown_writes_trigger` it also
    /// delays each writer a little, growing with the excess, so compaction
    /// catches up before writes stop. Also completes, at once, when nothing
    /// will make room (poisoned, disk full, closing): `write` reports those.
    ///
    /// Writers await this *before* applying (before their key locks' reads,
    /// ideally): `write` itself never waits, so a writer applied first and
    /// held back only at its acknowledgement would already have grown the
    /// memtables past their bound. Memory bound: `(1 + memtables_frozen_max)
    /// * memtable_bytes_max` plus one batch per writer in flight.
    pub async fn write_room(&self) {
        let shared = &self.shared;
        let frozen_max = shared.config.memtables_frozen_max.max(1);
        let stuck = || {
            shared.commit.poisoned().is_some() || shared.commit.disk_full() || shared.closing.get()
        };
        // The slowdown first: the room check must be the last thing before
        // the caller's `write` (no await between them), or every writer
        // that passed it while room lasted would apply after the sleep.
        let l0 = shared.commit.l0_tables.get();
        let slowdown = shared.config.l0_slowdown_writes_trigger;
        if l0 >= slowdown && !stuck() {
            let excess = (l0 - slowdown + 1) as u64;
            dma::sleep_us(L0_SLOWDOWN_STEP_US * excess).await;
        }
        shared
            .commit
            .changed()
            .wait_until(|| {
                let room = shared.active.borrow().bytes() < shared.config.memtable_bytes_max
                    || shared.frozen.borrow().len() < frozen_max;
                (room && shared.commit.l0_tables.get() <= shared.commit.l0_tables_max.get())
                    || stuck()
            })
            .await;
    }

    /// Applies `batch` atomically now; the returned future completes when durable.
    pub fn write(&self, batch: WriteBatch) -> Result<Durable, EngineError> {
        self.check_writable()?;
        super::check_batch_input(batch.iter().map(|(k, _)| k.as_slice()))?;
        let shared = &self.shared;
        let Some(wal) = shared.wal().filter(|w| !w.is_closing()) else {
            return Err(EngineError::Closed);
        };
        let applied_at = std::time::Instant::now();
        shared.counters.count_request();
        let seq = wal.append(&batch);
        let active = shared.active.borrow().clone();
        let mut user_bytes = 0u64;
        for (key, value) in batch {
            user_bytes += (key.len() + value.as_ref().map_or(0, Vec::len)) as u64;
            active.insert(&key, value.as_deref());
        }
        shared.commit.phases.memtable_apply(applied_at.elapsed());
        let counters = &shared.counters;
        counters
            .user_bytes
            .set(counters.user_bytes.get() + user_bytes);
        // Frozen only while the backlog has room: writers that awaited
        // `write_room` never find it full; others (none on the request path)
        // grow the active memtable until a flush makes room.
        if active.bytes() >= shared.config.memtable_bytes_max
            && shared.frozen.borrow().len() < shared.config.memtables_frozen_max.max(1)
        {
            shared.rotate();
        }
        Ok(Durable {
            commit: shared.commit.clone(),
            seq,
            relaxed: wal.relaxed(),
            applied_at: Some(applied_at),
        })
    }

    /// The sequence number the next [`write`](Self::write) will carry (read
    /// it in the same synchronous section as that write: stream records
    /// take their sequence numbers from it, so they follow log order and
    /// continue after a restart). None once closed.
    pub fn next_write_seq(&self) -> Option<u64> {
        self.shared.wal().map(|wal| wal.last_seq() + 1)
    }

    /// A [`Durable`] for everything written so far: it completes once every
    /// batch applied before this call is durable (the outbox replicator uses
    /// it to deliver only what a crash cannot take back).
    pub fn durable_marker(&self) -> Result<Durable, EngineError> {
        let Some(wal) = self.shared.wal() else {
            return Err(EngineError::Closed);
        };
        Ok(Durable {
            commit: self.shared.commit.clone(),
            seq: wal.last_seq(),
            relaxed: wal.relaxed(),
            applied_at: None,
        })
    }

    /// Up to `max_entries` entries (and about `max_bytes` bytes, always at
    /// least one entry) within the bounds, ascending or descending.
    pub async fn scan(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
        max_entries: usize,
        max_bytes: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, EngineError> {
        let (entries, _) = self
            .scan_steps(lower, upper, reverse, max_entries, max_bytes, usize::MAX)
            .await?;
        Ok(entries)
    }

    /// [`scan`](Self::scan) that also stops after visiting `max_steps`
    /// entries, live or tombstone: then it returns the last key visited,
    /// to continue after (a background walk over a range of deleted keys
    /// gives the thread back between calls). None: the page is complete.
    pub async fn scan_steps(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
        max_entries: usize,
        max_bytes: usize,
        max_steps: usize,
    ) -> Result<ScanPage, EngineError> {
        let inverted = match (lower, upper) {
            (Bound::Included(l), Bound::Included(u)) => l > u,
            (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) => {
                l >= u
            }
            _ => false,
        };
        if inverted || max_entries == 0 {
            return Ok((Vec::new(), None));
        }
        let range = Range {
            lower: lower.map(<[u8]>::to_vec),
            upper: upper.map(<[u8]>::to_vec),
            reverse,
            fill_cache: true,
        };
        let mut iter = self.merge_iter(range);
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut steps = 0usize;
        let mut slice = dma::WorkSlice::start();
        let mut resume = None;
        while out.len() < max_entries && (bytes < max_bytes || out.is_empty()) {
            // Tombstones are skipped without filling the page: a range of
            // deleted keys (mass TTL expiry, a DeleteItem sweep) could keep
            // this loop on the shard thread for a long time. Let queued
            // requests run once this task's time slice is spent.
            if steps == max_steps {
                return Ok((out, resume));
            }
            steps += 1;
            if steps.is_multiple_of(SCAN_YIELD_STEPS) {
                slice.pause_if_spent().await;
            }
            let Some((key, value)) = iter.next().await? else {
                break;
            };
            if max_steps != usize::MAX {
                resume = Some(key.clone());
            }
            if let Some(value) = value {
                bytes += key.len() + value.len();
                out.push((key, value));
            }
        }
        Ok((out, None))
    }

    fn merge_iter(&self, range: Range) -> MergeIter<F> {
        self.shared.counters.count_request();
        let shared = &self.shared;
        let version = shared.current();
        let mut sources = Vec::new();
        let active = shared.active.borrow().clone();
        sources.push(Source::memtable(active, Rc::new(Vec::new()), range.clone()));
        let frozen: Vec<Rc<Memtable>> = shared.frozen.borrow().iter().rev().cloned().collect();
        for mem in frozen {
            let hidden = version.hidden_for(mem.max_seq());
            sources.push(Source::memtable(mem, hidden, range.clone()));
        }
        for table in &version.levels[0] {
            let hidden = version.hidden_for(table.meta.max_seq);
            sources.push(Source::tables(vec![(table.clone(), hidden)], range.clone()));
        }
        for level in &version.levels[1..] {
            let tables = level
                .iter()
                .map(|t| (t.clone(), version.hidden_for(t.meta.max_seq)))
                .collect();
            sources.push(Source::tables(tables, range.clone()));
        }
        MergeIter::new(sources, range.reverse)
    }

    /// Removes every key starting with `prefix` (a dropped table), durably:
    /// a range tombstone in the manifest; compaction reclaims the space.
    pub async fn delete_prefix(&self, prefix: &[u8]) -> Result<(), EngineError> {
        self.check_writable()?;
        let shared = &self.shared;
        let Some(wal) = shared.wal().filter(|w| !w.is_closing()).cloned() else {
            return Err(EngineError::Closed);
        };
        let _guard = shared.manifest_lock.lock().await;
        self.check_writable()?;
        // Everything written so far goes to frozen memtables (max_seq < seq),
        // so the tombstone covers whole memtables, never part of one.
        shared.rotate();
        let seq = wal.reserve_seq();
        let mut next = (*shared.current()).clone();
        next.tombstones.push(RangeTombstone {
            prefix: prefix.to_vec(),
            seq,
        });
        if let Err(error) = shared.install(next).await {
            if !matches!(error, EngineError::DiskFull(_)) {
                shared.poison(&error);
            }
            return Err(error);
        }
        Ok(())
    }

    /// Approximate entries and bytes under `prefix` (for DescribeTable):
    /// exact for memtables, per-table counts from each SSTable's stats block
    /// (a key overwritten across tables counts once per table).
    pub fn prefix_stats(&self, prefix: &[u8]) -> PrefixStats {
        let shared = &self.shared;
        let version = shared.current();
        let mut total = shared.active.borrow().prefix_stats(prefix);
        let add = |total: &mut PrefixStats, s: PrefixStats| {
            total.entries += s.entries;
            total.bytes += s.bytes;
        };
        for mem in shared.frozen.borrow().iter() {
            if !version.covered(prefix, mem.max_seq()) {
                add(&mut total, mem.prefix_stats(prefix));
            }
        }
        for table in version.levels.iter().flatten() {
            if !version.covered(prefix, table.meta.max_seq) {
                add(&mut total, table.prefix_stats(prefix));
            }
        }
        total
    }

    /// Write accounting (write amplification) and shape.
    pub fn stats(&self) -> EngineStats {
        let shared = &self.shared;
        let c = &shared.counters;
        let version = shared.current();
        let (hits, misses) = shared.cache.hit_counts();
        let user = c.user_bytes.get();
        let written = c.flush_bytes.get() + c.compaction_bytes.get();
        EngineStats {
            user_bytes: user,
            wal_bytes: shared.wal().map_or(0, |w| w.bytes_written()),
            flush_bytes: c.flush_bytes.get(),
            compaction_bytes: c.compaction_bytes.get(),
            write_amplification: if user == 0 {
                0.0
            } else {
                written as f64 / user as f64
            },
            tables_per_level: version.levels.iter().map(Vec::len).collect(),
            memtable_bytes: shared.active.borrow().bytes()
                + shared
                    .frozen
                    .borrow()
                    .iter()
                    .map(|m| m.bytes())
                    .sum::<u64>(),
            block_cache_bytes: shared.cache.bytes(),
            block_cache_hits: hits,
            block_cache_misses: misses,
            flushes: c.flushes.get(),
            compactions: c.compactions.get(),
        }
    }

    /// Per-phase latency summaries of the durable write path.
    pub fn write_phases(&self) -> crate::engine::wal::phases::WritePhaseStats {
        self.shared.commit.phases.stats()
    }

    /// Waits until no flush or compaction is pending (tests and benches).
    pub async fn quiesce(&self) -> Result<(), EngineError> {
        background::quiesce(&self.shared).await
    }

    /// Stops background work and the WAL committer after it wrote what was
    /// queued. Memtables are not flushed: the WAL holds them.
    pub async fn close(&self) -> Result<(), EngineError> {
        let shared = &self.shared;
        if let Some(wal) = shared.wal() {
            wal.close().await;
        }
        shared.closing.set(true);
        shared.work.wake_all();
        shared.commit.notify();
        background::wait_stopped(shared).await;
        match shared.commit.poisoned() {
            Some(why) => Err(EngineError::Poisoned(why)),
            None => Ok(()),
        }
    }
}
