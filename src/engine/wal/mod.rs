//! The write-ahead log of one shard: group commit over preallocated,
//! recycled segment files written with direct I/O; and its recovery.
//!
//! Group commit: `append` queues an encoded batch and returns its sequence
//! number; one committer task loops: take *every* queued record, write them
//! (rewriting the partial tail block with zero padding, since direct I/O
//! writes whole 4 KiB blocks), await the write, then fdatasync, then publish
//! `durable_seq` and wake the writers. Records that arrive while a sync is in
//! flight form the next group. io_uring does not order an fsync after earlier
//! writes, hence "await the write first".
//!
//! Rewriting the tail block re-sends bytes that were already durable; they
//! are identical, so a torn rewrite (sectors old or new) cannot damage them.
//! Exactly one commit group is ever unsynced, which is what lets recovery
//! tell a torn tail from corruption (see [`record`]).
//!
//! Failures: any error of a write or fdatasync other than ENOSPC poisons the
//! store (never retry a failed fsync: the kernel may have dropped the dirty
//! pages and would report success). ENOSPC fails the writers of that group
//! with `DiskFull`, keeps their records queued and retries later: nothing was
//! acknowledged, and the memtable view stays consistent with what the log
//! will eventually hold.
//!
//! Segments: `wal-<id as 16 hex digits>.log`, each `wal_segment_bytes`
//! long; a group that does not fit goes whole to the next segment (groups
//! never span segments). A preparer task keeps `wal_segments_prepared_max`
//! segments ready ahead of the committer: created (or recycled), every byte
//! written (zeros) and fdatasync'ed, the directory synced. A roll only
//! swaps to a ready segment, so the commit path never creates, renames,
//! fallocates or syncs a directory, and its fdatasyncs never carry
//! metadata (see [`Wal::prepare_one`] for why that matters on ext4).
//! Segments whose records are all in SSTables (per the durable manifest)
//! are renamed to become future segments (recycled), up to
//! [`FREE_SEGMENTS_MAX`]; stale records inside a recycled file carry the
//! old segment id and are ignored.
//!
//! One group in flight, never two: the next group gathers while the current
//! one is written and synced (that is the pipelining; a writer waits at
//! most one sync for its group to start). Overlapping the next group's write
//! with the current sync would save a write's latency per cycle but leave
//! two groups unsynced at a crash, and recovery could no longer tell a torn
//! tail from corruption.

pub mod phases;
pub mod record;
#[cfg(test)]
mod recovery_tests;

use crate::engine::io::{Fs, FsFile, align_down, align_up, dma};
use crate::engine::seal::{Domain, FileKey, HEADER_BLOCK_BYTES, MasterKey, TAG_BYTES};
use crate::engine::sync::WaitList;
use crate::engine::{EngineError, WriteBatch};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

/// Recycled segments kept for reuse; more are deleted.
pub const FREE_SEGMENTS_MAX: usize = 2;
/// Back-off before retrying a group that hit ENOSPC.
const DISK_FULL_RETRY_MS: u64 = 100;
/// Size of each zero-filling write while preparing a segment: big enough
/// to be cheap per byte, small enough that a commit's write is not queued
/// behind much of it on the device.
const ZERO_FILL_CHUNK_BYTES: usize = 256 << 10;

pub fn segment_name(id: u64) -> String {
    format!("wal-{id:016x}.log")
}

pub fn parse_segment_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("wal-")?.strip_suffix(".log")?;
    (hex.len() == 16).then(|| u64::from_str_radix(hex, 16).ok())?
}

pub fn io_error(path: &str, source: std::io::Error) -> EngineError {
    if source.raw_os_error() == Some(libc::ENOSPC) {
        EngineError::DiskFull(path.to_string())
    } else {
        EngineError::Io {
            path: path.to_string(),
            source,
        }
    }
}

/// Durability progress shared with [`crate::engine::Durable`] futures; not
/// generic over the file system so `Durable` stays a plain type.
#[derive(Default)]
pub struct CommitState {
    durable_seq: Cell<u64>,
    poisoned: RefCell<Option<String>>,
    disk_full_through: Cell<u64>,
    disk_full: Cell<bool>,
    /// Frozen memtables waiting for flush, and the bound past which writers
    /// wait (backpressure) before their ack.
    pub flush_backlog: Cell<usize>,
    pub flush_backlog_max: Cell<usize>,
    /// L0 tables, and the bound past which writers wait for compaction
    /// (read amplification is L0 tables + levels).
    pub l0_tables: Cell<usize>,
    pub l0_tables_max: Cell<usize>,
    changed: WaitList,
    /// Where a write's time goes (see [`phases`]).
    pub phases: phases::WritePhases,
    /// When `durable_seq` last advanced (the start of the `ack` phase).
    durable_at: Cell<Option<Instant>>,
}

impl CommitState {
    pub fn poisoned(&self) -> Option<String> {
        self.poisoned.borrow().clone()
    }

    pub fn poison(&self, why: String) {
        tracing::error!(%why, "engine poisoned: refusing writes until restart");
        let mut poisoned = self.poisoned.borrow_mut();
        if poisoned.is_none() {
            *poisoned = Some(why);
        }
        drop(poisoned);
        self.changed.wake_all();
    }

    pub fn disk_full(&self) -> bool {
        self.disk_full.get()
    }

    pub fn set_disk_full(&self, full: bool) {
        self.disk_full.set(full);
    }

    pub fn durable_at(&self) -> Option<Instant> {
        self.durable_at.get()
    }

    /// Wakes on every change of durability, backlog, L0 or poisoning.
    pub fn changed(&self) -> &WaitList {
        &self.changed
    }

    pub fn notify(&self) {
        self.changed.wake_all();
    }

    /// Completes when `seq` is durable, or fails if it never will be.
    pub async fn wait_durable(&self, seq: u64) -> Result<(), EngineError> {
        self.changed
            .wait_until(|| {
                self.durable_seq.get() >= seq
                    || self.poisoned.borrow().is_some()
                    || self.disk_full_through.get() >= seq
            })
            .await;
        if self.durable_seq.get() >= seq {
            Ok(())
        } else if let Some(why) = self.poisoned() {
            Err(EngineError::Poisoned(why))
        } else {
            Err(EngineError::DiskFull("write-ahead log".into()))
        }
    }

    /// Completes when the flush backlog and L0 are within their bounds, or
    /// when nothing will drain them soon (poisoned, disk full): the batch is
    /// durable already, and new writes are refused in those states.
    pub async fn wait_backlog(&self) {
        self.changed
            .wait_until(|| {
                (self.flush_backlog.get() <= self.flush_backlog_max.get()
                    && self.l0_tables.get() <= self.l0_tables_max.get())
                    || self.poisoned.borrow().is_some()
                    || self.disk_full.get()
            })
            .await;
    }
}

pub struct WalOptions {
    pub segment_bytes: u64,
    /// Segments kept prepared (named, zero-filled, synced) ahead of need.
    pub segments_prepared_max: usize,
    /// `Some(ms)`: relaxed mode, acknowledge before sync and sync every `ms`.
    pub relaxed_interval_ms: Option<u64>,
    /// Encryption at rest: each segment gets a file key, wrapped in its
    /// first block; record bodies are sealed under it.
    pub master_key: Option<Arc<MasterKey>>,
}

/// Where a segment's records start: after the header block if it is
/// sealed.
pub fn records_start(sealed: bool) -> u64 {
    if sealed { HEADER_BLOCK_BYTES as u64 } else { 0 }
}

struct ActiveSegment<File> {
    id: u64,
    file: File,
    /// The segment's file key when sealed.
    key: Option<Rc<FileKey>>,
    /// Logical end of the records written so far.
    offset: u64,
    /// Bytes of the partial last block (`align_down(offset)..offset`).
    tail: Vec<u8>,
}

/// A segment made ready by the preparer: named durably, every byte of its
/// `segment_bytes` written (zeros or stale records) and synced, so the
/// commit path's fdatasync of it carries data only, never metadata.
struct PreparedSegment<File> {
    id: u64,
    file: File,
    key: Option<Rc<FileKey>>,
}

pub struct Wal<F: Fs> {
    fs: Rc<F>,
    options: WalOptions,
    pub commit: Rc<CommitState>,
    pending: RefCell<Vec<(u64, Vec<u8>, Instant)>>,
    last_seq: Cell<u64>,
    current_segment: Cell<u64>,
    live_segments: RefCell<VecDeque<u64>>,
    free_segments: RefCell<Vec<u64>>,
    /// Segments ready for the next rolls, ascending ids (at most
    /// `segments_prepared_max`).
    prepared: RefCell<VecDeque<PreparedSegment<F::File>>>,
    /// Id the preparer gives its next segment.
    next_prepare_id: Cell<u64>,
    /// The preparer's last failure, for a roll that found nothing prepared.
    prepare_error: RefCell<Option<EngineError>>,
    /// Wakes the preparer (a segment was taken) and the committer (one is ready).
    segments: WaitList,
    work: WaitList,
    closing: Cell<bool>,
    stopped: Cell<bool>,
    preparer_stopped: Cell<bool>,
    bytes_written: Cell<u64>,
}

impl<F: Fs> Wal<F> {
    /// Starts a log whose next record gets `last_seq + 1`, in a fresh segment
    /// `first_segment`. `old_segments` are obsolete files to recycle/delete:
    /// the caller's durable manifest already says their records are in
    /// SSTables, so they are released here, before the first segment is
    /// prepared (it may reuse one).
    pub async fn start(
        fs: Rc<F>,
        options: WalOptions,
        commit: Rc<CommitState>,
        last_seq: u64,
        first_segment: u64,
        old_segments: Vec<u64>,
    ) -> Result<Rc<Wal<F>>, EngineError> {
        commit.durable_seq.set(last_seq);
        let wal = Rc::new(Wal {
            fs,
            options,
            commit,
            pending: RefCell::new(Vec::new()),
            last_seq: Cell::new(last_seq),
            current_segment: Cell::new(first_segment.saturating_sub(1)),
            live_segments: RefCell::new(VecDeque::new()),
            free_segments: RefCell::new(Vec::new()),
            prepared: RefCell::new(VecDeque::new()),
            next_prepare_id: Cell::new(first_segment),
            prepare_error: RefCell::new(None),
            segments: WaitList::default(),
            work: WaitList::default(),
            closing: Cell::new(false),
            stopped: Cell::new(false),
            preparer_stopped: Cell::new(false),
            bytes_written: Cell::new(0),
        });
        wal.live_segments.borrow_mut().extend(old_segments);
        wal.release_below(first_segment).await?;
        // The first segment is prepared inline (a fresh store pays one
        // zero-fill at open); later ones by the preparer, off the commit path.
        let first = wal.prepare_one().await?;
        wal.prepared.borrow_mut().push_back(first);
        let active = wal.roll().await?;
        dma::spawn(wal.clone().prepare_ahead());
        dma::spawn(wal.clone().run(active));
        Ok(wal)
    }

    /// Queues a batch; returns its sequence number. The caller checked that
    /// the store is writable.
    pub fn append(&self, batch: &WriteBatch) -> u64 {
        let seq = self.last_seq.get() + 1;
        self.last_seq.set(seq);
        self.pending
            .borrow_mut()
            .push((seq, record::encode_batch(batch), Instant::now()));
        self.work.wake_all();
        seq
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq.get()
    }

    /// Reserves a sequence number without a record (a range tombstone's
    /// position in the order of writes).
    pub fn reserve_seq(&self) -> u64 {
        let seq = self.last_seq.get() + 1;
        self.last_seq.set(seq);
        // Logged as an empty batch so the log's sequence stays gap-free.
        self.pending
            .borrow_mut()
            .push((seq, record::encode_batch(&Vec::new()), Instant::now()));
        self.work.wake_all();
        seq
    }

    pub fn is_closing(&self) -> bool {
        self.closing.get()
    }

    pub fn relaxed(&self) -> bool {
        self.options.relaxed_interval_ms.is_some()
    }

    pub fn current_segment(&self) -> u64 {
        self.current_segment.get()
    }

    pub fn bytes_written(&self) -> u64 {
        self.bytes_written.get()
    }

    /// Makes segments older than `min_segment` reusable. Call only after the
    /// manifest saying their records are in SSTables is durable: if we crash
    /// before, recovery replays them, which is idempotent.
    pub async fn release_below(&self, min_segment: u64) -> Result<(), EngineError> {
        loop {
            let doomed = {
                let mut live = self.live_segments.borrow_mut();
                match live.front() {
                    Some(&id) if id < min_segment && id != self.current_segment.get() => {
                        live.pop_front();
                        let mut free = self.free_segments.borrow_mut();
                        if free.len() < FREE_SEGMENTS_MAX {
                            free.push(id);
                            None
                        } else {
                            Some(id)
                        }
                    }
                    _ => return Ok(()),
                }
            };
            if let Some(id) = doomed {
                let name = segment_name(id);
                self.fs
                    .remove(&name)
                    .await
                    .map_err(|e| io_error(&name, e))?;
            }
        }
    }

    /// Stops the committer after it has written everything queued, and the
    /// segment preparer (a half-prepared segment is harmless: it holds no
    /// record of its id, and open recycles or deletes it).
    pub async fn close(&self) {
        self.closing.set(true);
        self.work.wake_all();
        self.segments.wake_all();
        self.commit
            .changed
            .wait_until(|| self.stopped.get() && self.preparer_stopped.get())
            .await;
    }

    /// Takes the next prepared segment, waiting for the preparer if it is
    /// behind (timed as `segment_wait`). No file-system metadata is touched
    /// here: the commit path only ever writes and fdatasyncs.
    async fn roll(&self) -> Result<ActiveSegment<F::File>, EngineError> {
        let started = Instant::now();
        let segment = loop {
            if let Some(segment) = self.prepared.borrow_mut().pop_front() {
                break segment;
            }
            if let Some(error) = self.prepare_error.borrow_mut().take() {
                return Err(error);
            }
            if self.preparer_stopped.get() {
                return Err(self
                    .commit
                    .poisoned()
                    .map_or(EngineError::Closed, EngineError::Poisoned));
            }
            self.segments.wake_all();
            self.segments
                .wait_until(|| {
                    !self.prepared.borrow().is_empty()
                        || self.prepare_error.borrow().is_some()
                        || self.preparer_stopped.get()
                })
                .await;
        };
        self.segments.wake_all();
        self.commit.phases.segment_wait(started.elapsed());
        debug_assert_eq!(segment.id, self.current_segment.get() + 1);
        self.current_segment.set(segment.id);
        self.live_segments.borrow_mut().push_back(segment.id);
        Ok(ActiveSegment {
            id: segment.id,
            offset: records_start(segment.key.is_some()),
            file: segment.file,
            key: segment.key,
            tail: Vec::new(),
        })
    }

    /// The preparer: keeps `segments_prepared_max` segments ready ahead of
    /// the committer. ENOSPC is remembered for the roll that needs the
    /// segment (its group fails with `DiskFull` and is retried) and retried
    /// after a back-off; any other error poisons the store.
    async fn prepare_ahead(self: Rc<Self>) {
        let ahead_max = self.options.segments_prepared_max.max(1);
        loop {
            self.segments
                .wait_until(|| self.prepared.borrow().len() < ahead_max || self.closing.get())
                .await;
            if self.closing.get() || self.commit.poisoned().is_some() {
                break;
            }
            match self.prepare_one().await {
                Ok(segment) => {
                    self.prepared.borrow_mut().push_back(segment);
                    self.segments.wake_all();
                }
                Err(EngineError::Closed) => break,
                Err(error @ EngineError::DiskFull(_)) => {
                    tracing::warn!(%error, "cannot prepare the next WAL segment; retrying");
                    *self.prepare_error.borrow_mut() = Some(error);
                    self.segments.wake_all();
                    dma::sleep_ms(DISK_FULL_RETRY_MS).await;
                }
                Err(error) => {
                    self.commit.poison(error.to_string());
                    break;
                }
            }
        }
        self.preparer_stopped.set(true);
        self.segments.wake_all();
        self.commit.notify();
    }

    /// Makes segment `next_prepare_id` ready: a recycled file renamed (its
    /// stale records carry their old segment id and are ignored) or a new
    /// one, space reserved, every byte up to `segment_bytes` written (zeros
    /// past what the file already holds) and synced, then the directory
    /// synced.
    ///
    /// Why zero-fill: ext4 (and XFS) keep fallocated space as *unwritten*
    /// extents, and a file grown by writes changes its size; either way the
    /// first fdatasync after a write there must also commit metadata
    /// (extent conversion, i_size) through the journal, which costs a
    /// multiple of a data-only sync. Paying it here, once per segment and
    /// off the commit path, leaves the committer's syncs data-only.
    ///
    /// Crash points: before the directory sync the new name may vanish
    /// (nothing was written to it that matters); after it, the segment
    /// exists with no record of its own id, which open treats as an empty
    /// segment and recycles.
    async fn prepare_one(&self) -> Result<PreparedSegment<F::File>, EngineError> {
        let id = self.next_prepare_id.get();
        let name = segment_name(id);
        let segment_bytes = align_up(self.options.segment_bytes);
        let recycled = self.free_segments.borrow_mut().pop();
        let (file, zero_from) = match recycled {
            Some(old) => {
                let old_name = segment_name(old);
                self.fs
                    .rename(&old_name, &name)
                    .await
                    .map_err(|e| io_error(&old_name, e))?;
                let file = self.fs.open(&name).await.map_err(|e| io_error(&name, e))?;
                let size = file.size().await.map_err(|e| io_error(&name, e))?;
                (file, align_down(size.min(segment_bytes)))
            }
            None => {
                let file = self
                    .fs
                    .create(&name)
                    .await
                    .map_err(|e| io_error(&name, e))?;
                (file, 0)
            }
        };
        file.preallocate(segment_bytes)
            .await
            .map_err(|e| io_error(&name, e))?;
        // Sealed: a fresh file key, even for a recycled file (its old header
        // was wrapped for the old name and its stale records are ignored).
        let mut unsynced = false;
        let mut zero_from = zero_from;
        let key = match &self.options.master_key {
            None => None,
            Some(master) => {
                let (key, block) = master
                    .new_header_block(&name)
                    .map_err(|e| EngineError::sealing(&name, e))?;
                file.write_at(&block, 0)
                    .await
                    .map_err(|e| io_error(&name, e))?;
                unsynced = true;
                zero_from = zero_from.max(HEADER_BLOCK_BYTES as u64);
                Some(Rc::new(key))
            }
        };
        if zero_from < segment_bytes || unsynced {
            let zeros = vec![0u8; ZERO_FILL_CHUNK_BYTES];
            let mut at = zero_from;
            while at < segment_bytes {
                if self.closing.get() {
                    return Err(EngineError::Closed);
                }
                let len = (segment_bytes - at).min(ZERO_FILL_CHUNK_BYTES as u64) as usize;
                file.write_at(&zeros[..len], at)
                    .await
                    .map_err(|e| io_error(&name, e))?;
                at += len as u64;
            }
            file.sync().await.map_err(|source| EngineError::Io {
                path: name.clone(),
                source,
            })?;
        }
        // The name must be durable before any record in it is acked.
        self.fs
            .sync_dir()
            .await
            .map_err(|e| io_error("data directory", e))?;
        self.next_prepare_id.set(id + 1);
        Ok(PreparedSegment { id, file, key })
    }

    async fn run(self: Rc<Self>, mut active: ActiveSegment<F::File>) {
        loop {
            self.work
                .wait_until(|| !self.pending.borrow().is_empty() || self.closing.get())
                .await;
            if self.pending.borrow().is_empty() {
                break;
            }
            if let (Some(ms), false) = (self.options.relaxed_interval_ms, self.closing.get()) {
                dma::sleep_ms(ms).await;
            }
            let group = std::mem::take(&mut *self.pending.borrow_mut());
            let last = group.last().map_or(0, |(seq, _, _)| *seq);
            let started = Instant::now();
            for (_, _, queued) in &group {
                self.commit.phases.queue_wait(*queued, started);
            }
            self.commit.phases.group_records(group.len());
            match self.commit_group(&mut active, &group).await {
                Ok(()) => {
                    self.commit.durable_seq.set(last);
                    self.commit.durable_at.set(Some(Instant::now()));
                    self.commit.disk_full.set(false);
                    self.commit.notify();
                }
                Err(EngineError::DiskFull(_)) if !self.closing.get() => {
                    self.commit.disk_full_through.set(last);
                    self.commit.disk_full.set(true);
                    {
                        let mut pending = self.pending.borrow_mut();
                        let newer = std::mem::replace(&mut *pending, group);
                        pending.extend(newer);
                    }
                    self.commit.notify();
                    dma::sleep_ms(DISK_FULL_RETRY_MS).await;
                }
                Err(error) => {
                    self.commit.poison(error.to_string());
                    break;
                }
            }
        }
        self.stopped.set(true);
        self.commit.notify();
    }

    async fn commit_group(
        &self,
        active: &mut ActiveSegment<F::File>,
        group: &[(u64, Vec<u8>, Instant)],
    ) -> Result<(), EngineError> {
        let first = group.first().map_or(0, |(seq, _, _)| *seq);
        let encode = |active: &ActiveSegment<F::File>| -> Result<Vec<u8>, EngineError> {
            let mut bytes = Vec::new();
            let name = segment_name(active.id);
            for (seq, body, _) in group {
                match &active.key {
                    None => record::encode_record(&mut bytes, active.id, *seq, first, body),
                    Some(key) => {
                        // Nonce counter: the sequence number, unique under
                        // this segment's key (seal.rs, the nonce scheme).
                        let mut sealed = Vec::with_capacity(body.len() + TAG_BYTES);
                        sealed.extend_from_slice(body);
                        key.seal(&name, Domain::Record, *seq, &mut sealed)
                            .map_err(|e| EngineError::sealing(&name, e))?;
                        record::encode_record(&mut bytes, active.id, *seq, first, &sealed);
                    }
                }
            }
            Ok(bytes)
        };
        let mut bytes = encode(&*active)?;
        let start = records_start(active.key.is_some());
        if active.offset > start && active.offset + bytes.len() as u64 > self.options.segment_bytes
        {
            // Everything in the old segment is synced already.
            *active = self.roll().await?;
            bytes = encode(&*active)?;
        }
        let block_start = align_down(active.offset);
        let end = active.offset + bytes.len() as u64;
        let mut buf = Vec::with_capacity((align_up(end) - block_start) as usize);
        buf.extend_from_slice(&active.tail);
        buf.extend_from_slice(&bytes);
        buf.resize((align_up(end) - block_start) as usize, 0);
        let name = segment_name(active.id);
        let write_started = Instant::now();
        active
            .file
            .write_at(&buf, block_start)
            .await
            .map_err(|e| io_error(&name, e))?;
        let sync_started = Instant::now();
        self.commit.phases.wal_write(sync_started - write_started);
        self.bytes_written
            .set(self.bytes_written.get() + buf.len() as u64);
        // Only after the write completed: io_uring would not order them.
        active.file.sync().await.map_err(|source| EngineError::Io {
            path: name.clone(),
            source,
        })?;
        self.commit.phases.fdatasync(sync_started.elapsed());
        let tail_start = (align_down(end) - block_start) as usize;
        let tail_end = (end - block_start) as usize;
        active.tail = buf[tail_start..tail_end].to_vec();
        active.offset = end;
        Ok(())
    }
}

/// What recovery found in the log.
pub struct Recovered {
    pub last_seq: u64,
}

/// Replays segments (ascending ids) into `apply`, skipping records at or
/// below `flushed_seq`. Returns the last sequence number seen.
pub async fn recover<F: Fs>(
    fs: &F,
    segments: &[u64],
    flushed_seq: u64,
    master_key: Option<&MasterKey>,
    mut apply: impl FnMut(u64, WriteBatch),
) -> Result<Recovered, EngineError> {
    let mut last: Option<(u64, u64)> = None; // (seq, group_first_seq)
    let mut torn_at: Option<(String, u64)> = None;
    for &segment in segments {
        let name = segment_name(segment);
        let file = fs.open(&name).await.map_err(|e| io_error(&name, e))?;
        let size = file.size().await.map_err(|e| io_error(&name, e))?;
        let bytes = file
            .read_at(0, size as usize)
            .await
            .map_err(|e| io_error(&name, e))?;
        let start = (records_start(master_key.is_some()) as usize).min(bytes.len());
        let scan = record::scan_segment_from(&bytes, start, segment);
        // Unwrapped at the first record to replay: a segment with none (a
        // prepared one, or one whose header a crash tore) needs no key.
        let mut file_key: Option<FileKey> = None;
        let corruption = |offset: u64, detail: String| EngineError::Corruption {
            path: name.clone(),
            offset,
            detail: detail.into(),
        };
        if let (Some((torn_name, torn_offset)), Some(first)) = (&torn_at, scan.records.first()) {
            return Err(EngineError::Corruption {
                path: torn_name.clone(),
                offset: *torn_offset,
                detail: format!(
                    "invalid record, yet {name} holds later records (seq {})",
                    first.seq
                )
                .into(),
            });
        }
        for rec in &scan.records {
            match last {
                Some((seq, _)) if rec.seq != seq + 1 => {
                    return Err(corruption(
                        rec.offset,
                        format!("sequence gap: expected {}, found {}", seq + 1, rec.seq),
                    ));
                }
                None if rec.seq > flushed_seq + 1 => {
                    return Err(corruption(
                        rec.offset,
                        format!(
                            "log starts at seq {} but SSTables hold only up to {flushed_seq}",
                            rec.seq
                        ),
                    ));
                }
                _ => {}
            }
            last = Some((rec.seq, rec.group_first_seq));
            if rec.seq > flushed_seq {
                let opened;
                let body = match master_key {
                    None => &rec.body,
                    Some(master) => {
                        let key = match file_key.take() {
                            Some(key) => key,
                            None => master.open_file_key(&name, &bytes[..start]).map_err(|_| {
                                EngineError::tampered(&name, 0, "WAL segment key header")
                            })?,
                        };
                        let mut body = rec.body.clone();
                        key.open(&name, Domain::Record, rec.seq, &mut body)
                            .map_err(|_| EngineError::tampered(&name, rec.offset, "WAL record"))?;
                        file_key = Some(key);
                        opened = body;
                        &opened
                    }
                };
                let batch = record::decode_batch(body).ok_or_else(|| {
                    corruption(rec.offset, "checksummed record body does not decode".into())
                })?;
                apply(rec.seq, batch);
            }
        }
        if let Some(invalid) = scan.invalid_at
            && let Some(first_after) = scan.after_invalid.first()
        {
            let group = first_after.group_first_seq;
            let one_group = scan
                .after_invalid
                .iter()
                .all(|r| r.group_first_seq == group);
            let in_flight_group = match last {
                Some((seq, last_group)) => group == last_group || group == seq + 1,
                None => true,
            };
            if !(one_group && in_flight_group) {
                return Err(corruption(
                    invalid,
                    format!(
                        "invalid record followed by valid records (seq {}) of a synced group",
                        first_after.seq
                    ),
                ));
            }
            tracing::warn!(segment = %name, offset = invalid, "torn tail of the last commit group truncated");
            torn_at = Some((name.clone(), invalid));
        }
    }
    Ok(Recovered {
        last_seq: last.map_or(flushed_seq, |(seq, _)| seq.max(flushed_seq)),
    })
}
