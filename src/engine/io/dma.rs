//! The production [`Fs`]: glommio `DmaFile` (O_DIRECT on io_uring), plus the
//! engine's runtime helpers (spawning, sleeping, yielding).
//!
//! This is the only engine file that names glommio (STYLE: only the runtime
//! names it). Everything else speaks the [`Fs`] trait and the helpers below.
//!
//! Direct I/O bypasses the page cache: buffers are allocated aligned by
//! glommio (`alloc_dma_buffer`) and callers keep offsets and lengths
//! 4 KiB-aligned (asserted in debug builds). Reads may be unaligned; glommio
//! widens them internally.

use super::{BLOCK_BYTES, Fs, FsFile};
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

/// A store directory accessed with direct I/O.
pub struct DmaFs {
    dir: PathBuf,
}

impl DmaFs {
    /// Creates the directory if missing. Runs once at open, before the shard
    /// serves requests, so the blocking `create_dir_all` does not stall it.
    pub fn new(dir: &Path) -> io::Result<DmaFs> {
        std::fs::create_dir_all(dir)?;
        Ok(DmaFs {
            dir: dir.to_path_buf(),
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// An open direct-I/O file.
pub struct DmaFsFile {
    file: glommio::io::DmaFile,
    path: PathBuf,
    /// Read fallback, see [`read_fixed_unsupported`]: the descriptor and
    /// whether it is `O_DIRECT`.
    buffered: std::cell::RefCell<Option<(Rc<glommio::io::BufferedFile>, bool)>>,
}

thread_local! {
    static READ_FIXED_BROKEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Alignment of the fallback's direct reads (a multiple of every logical
/// block size in use).
const FALLBACK_ALIGN: u64 = 4096;

/// glommio reads direct-I/O files with IORING_OP_READ_FIXED when its buffers
/// are registered with the ring; some kernels (sandboxed/firecracker builds)
/// answer EOPNOTSUPP. Then reads fall back, for this thread, to a second
/// descriptor read with plain IORING_OP_READ (still io_uring, never blocking
/// the thread): opened `O_DIRECT` too, so reads still bypass the page cache
/// (the block cache is the only cache, as designed), or buffered where the
/// file system refuses `O_DIRECT`. Writes and syncs stay direct, so
/// durability is unaffected.
fn read_fixed_unsupported(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::Unsupported || error.raw_os_error() == Some(libc::EOPNOTSUPP)
}

impl DmaFsFile {
    fn new(file: glommio::io::DmaFile, path: PathBuf) -> DmaFsFile {
        DmaFsFile {
            file,
            path,
            buffered: std::cell::RefCell::new(None),
        }
    }

    /// The fallback descriptor: opened `O_DIRECT` where the file system
    /// allows it (then reads are aligned to [`FALLBACK_ALIGN`]), else
    /// buffered (tmpfs).
    async fn fallback(&self) -> io::Result<(Rc<glommio::io::BufferedFile>, bool)> {
        if let Some(open) = self.buffered.borrow().clone() {
            return Ok(open);
        }
        let direct = glommio::io::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECT)
            .buffered_open(&self.path)
            .await;
        let open = match direct {
            Ok(file) => (Rc::new(file), true),
            Err(_) => (
                Rc::new(glommio::io::BufferedFile::open(&self.path).await?),
                false,
            ),
        };
        *self.buffered.borrow_mut() = Some(open.clone());
        Ok(open)
    }

    async fn read_buffered(&self, pos: u64, len: usize) -> io::Result<Vec<u8>> {
        let (file, direct) = self.fallback().await?;
        // O_DIRECT wants offsets and lengths in whole blocks: read the
        // aligned span around the range, keep the range.
        let (start, end) = if direct {
            let end = (pos + len as u64).div_ceil(FALLBACK_ALIGN) * FALLBACK_ALIGN;
            (pos / FALLBACK_ALIGN * FALLBACK_ALIGN, end)
        } else {
            (pos, pos + len as u64)
        };
        let span = (end - start) as usize;
        let mut out = Vec::with_capacity(span);
        while out.len() < span {
            let chunk = file
                .read_at(start + out.len() as u64, span - out.len())
                .await?;
            if chunk.is_empty() {
                break;
            }
            out.extend_from_slice(&chunk);
            if direct && out.len() % FALLBACK_ALIGN as usize != 0 {
                break; // a short direct read: the end of the file
            }
        }
        let skip = ((pos - start) as usize).min(out.len());
        out.drain(..skip);
        out.truncate(len);
        Ok(out)
    }
}

impl Fs for DmaFs {
    type File = DmaFsFile;

    async fn create(&self, name: &str) -> io::Result<DmaFsFile> {
        let file = glommio::io::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .dma_open(self.path(name))
            .await?;
        Ok(DmaFsFile::new(file, self.path(name)))
    }

    async fn open(&self, name: &str) -> io::Result<DmaFsFile> {
        let file = glommio::io::OpenOptions::new()
            .read(true)
            .write(true)
            .dma_open(self.path(name))
            .await?;
        Ok(DmaFsFile::new(file, self.path(name)))
    }

    async fn list(&self) -> io::Result<Vec<String>> {
        // Only called while opening the store, before it serves requests.
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    async fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        glommio::io::rename(self.path(from), self.path(to)).await?;
        Ok(())
    }

    async fn remove(&self, name: &str) -> io::Result<()> {
        glommio::io::remove(self.path(name)).await?;
        Ok(())
    }

    async fn sync_dir(&self) -> io::Result<()> {
        let dir = glommio::io::Directory::open(&self.dir).await?;
        dir.sync().await?;
        dir.close().await?;
        Ok(())
    }

    async fn create_dir(&self, name: &str) -> io::Result<()> {
        // Only called while opening a store, before the shard serves.
        match std::fs::create_dir(self.path(name)) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            other => other,
        }
    }

    fn subdir(&self, name: &str) -> io::Result<DmaFs> {
        Ok(DmaFs {
            dir: self.path(name),
        })
    }
}

impl FsFile for DmaFsFile {
    async fn write_at(&self, buf: &[u8], pos: u64) -> io::Result<()> {
        debug_assert_eq!(pos % BLOCK_BYTES as u64, 0);
        debug_assert_eq!(buf.len() % BLOCK_BYTES, 0);
        let mut done = 0usize;
        while done < buf.len() {
            let rest = &buf[done..];
            let mut dma = self.file.alloc_dma_buffer(rest.len());
            dma.as_bytes_mut().copy_from_slice(rest);
            let written = self.file.write_at(dma, pos + done as u64).await?;
            if written == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "direct write wrote 0 bytes",
                ));
            }
            done += written;
        }
        Ok(())
    }

    async fn read_at(&self, pos: u64, len: usize) -> io::Result<Vec<u8>> {
        if !READ_FIXED_BROKEN.with(|b| b.get()) {
            match self.file.read_at(pos, len).await {
                Ok(result) => return Ok(result.to_vec()),
                Err(error) => {
                    let error = io::Error::from(error);
                    if !read_fixed_unsupported(&error) {
                        return Err(error);
                    }
                    tracing::warn!(%error, "fixed-buffer reads unsupported here; reading through a second descriptor (O_DIRECT where allowed)");
                    READ_FIXED_BROKEN.with(|b| b.set(true));
                }
            }
        }
        self.read_buffered(pos, len).await
    }

    async fn sync(&self) -> io::Result<()> {
        self.file.fdatasync().await?;
        Ok(())
    }

    async fn size(&self) -> io::Result<u64> {
        Ok(self.file.file_size().await?)
    }

    async fn preallocate(&self, len: u64) -> io::Result<()> {
        self.file.pre_allocate(len, true).await?;
        Ok(())
    }
}

/// Spawns a request-path task on the current executor.
pub fn spawn(future: impl Future<Output = ()> + 'static) {
    glommio::spawn_local(future).detach();
}

thread_local! {
    /// (executor id, queue): a thread may run several executors in turn
    /// (tests), and a handle is only valid on the executor that made it.
    static BACKGROUND_QUEUE: std::cell::Cell<Option<(usize, glommio::TaskQueueHandle)>> =
        const { std::cell::Cell::new(None) };
}

/// Default shares of the background (flush, compaction) task queue; the
/// default queue that serves requests has 1000, so background work gets
/// ~1/11 of the CPU when both are busy and everything when requests are
/// idle. The runtime sets the `background_shares` knob per executor.
const BACKGROUND_SHARES: usize = 100;

thread_local! {
    static BACKGROUND_SHARES_SET: std::cell::Cell<usize> =
        const { std::cell::Cell::new(BACKGROUND_SHARES) };
}

/// Sets the shares of this thread's background queue; call before the
/// first [`spawn_background`] on the executor.
pub fn set_background_shares(shares: usize) {
    BACKGROUND_SHARES_SET.with(|cell| cell.set(shares.max(1)));
}

/// Spawns flush/compaction work into a task queue with fewer shares than the
/// request path.
pub fn spawn_background(future: impl Future<Output = ()> + 'static) {
    let executor = glommio::executor().id();
    let queue = BACKGROUND_QUEUE.with(|cell| match cell.get() {
        Some((id, queue)) if id == executor => queue,
        _ => {
            let queue = glommio::executor().create_task_queue(
                glommio::Shares::Static(BACKGROUND_SHARES_SET.with(|cell| cell.get())),
                glommio::Latency::NotImportant,
                "engine-background",
            );
            cell.set(Some((executor, queue)));
            queue
        }
    });
    match glommio::spawn_local_into(future, queue) {
        Ok(task) => {
            task.detach();
        }
        Err(error) => {
            tracing::error!(%error, "background queue unavailable; running on the default queue");
        }
    }
}

pub async fn sleep_us(us: u64) {
    glommio::timer::sleep(Duration::from_micros(us)).await;
}

pub async fn sleep_ms(ms: u64) {
    glommio::timer::sleep(Duration::from_millis(ms)).await;
}

/// Lets other tasks run if this one has used its time slice.
pub async fn yield_if_needed() {
    glommio::yield_if_needed().await;
}

/// Longest stretch a loop that rarely waits (flush, compaction, a scan
/// over tombstones) runs before it lets the shard poll for I/O.
pub const WORK_SLICE: Duration = Duration::from_micros(500);

/// A CPU-bound loop's time slice. glommio polls for I/O only once no task
/// is runnable or its preempt timer fires (`preempt_timer_us`, 100 ms), and
/// `yield_if_needed` asks that same timer: a flush that built blocks for
/// 100 ms between writes held every request that had arrived meanwhile
/// (the open-loop put tail at each flush, README "Durable writes"). A
/// 1 µs sleep parks this task until the next poll, so requests that came
/// in get their turn first. A paced slice also rests between slices, so
/// that background work with slack takes at most its duty cycle of the
/// shard (`engine.background_duty_percent`): glommio's shares order the
/// queues within a round but give the background queue all the time the
/// requests found in one poll leave, which at 80% load is not enough for
/// the requests that arrive while a flush runs.
pub struct WorkSlice {
    since: std::time::Instant,
    rest: Duration,
}

impl WorkSlice {
    pub fn start() -> WorkSlice {
        WorkSlice {
            since: std::time::Instant::now(),
            rest: Duration::ZERO,
        }
    }

    /// A slice that rests `100 - duty` parts for every `duty` it ran.
    pub fn paced(duty_percent: u8) -> WorkSlice {
        let duty = u32::from(duty_percent.clamp(1, 100));
        WorkSlice {
            rest: WORK_SLICE * (100 - duty) / duty,
            ..WorkSlice::start()
        }
    }

    /// Waits for one I/O poll if this slice is spent.
    pub async fn pause_if_spent(&mut self) {
        self.pace_if_spent(|| true).await;
    }

    /// As `pause_if_spent`, resting for the duty cycle unless `hurry()`
    /// (asked only when the slice is spent).
    pub async fn pace_if_spent(&mut self, hurry: impl FnOnce() -> bool) {
        if self.since.elapsed() >= WORK_SLICE {
            if self.rest.is_zero() || hurry() {
                sleep_us(1).await;
            } else {
                glommio::timer::sleep(self.rest).await;
            }
            self.since = std::time::Instant::now();
        }
    }
}

/// Runs `future` to completion on a fresh single-threaded executor (tests,
/// benches, tools). Small io_uring memory: `ulimit -l` is often 8 MiB.
pub fn block_on<T>(future: impl Future<Output = T>) -> io::Result<T> {
    let executor = glommio::LocalExecutorBuilder::default()
        .io_memory(512 << 10)
        .make()?;
    Ok(executor.run(future))
}

/// A single-threaded executor that runs futures one after another and keeps
/// the tasks they spawned between runs (fuzzing harnesses, which feed one
/// in-memory shard thousands of inputs per second).
pub struct ReusableExecutor(glommio::LocalExecutor);

impl ReusableExecutor {
    pub fn new() -> io::Result<ReusableExecutor> {
        Ok(ReusableExecutor(
            glommio::LocalExecutorBuilder::default()
                .io_memory(512 << 10)
                .make()?,
        ))
    }

    pub fn run<T>(&self, future: impl Future<Output = T>) -> T {
        self.0.run(future)
    }
}
