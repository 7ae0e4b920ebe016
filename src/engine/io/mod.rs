//! The storage I/O boundary: every byte the engine reads or writes goes
//! through [`Fs`] and [`FsFile`].
//!
//! Two implementations: [`dma::DmaFs`] (glommio direct I/O on io_uring, the
//! production path, and the only file in the engine that names glommio) and
//! [`mem::MemFs`] (in memory, seeded fault injection: loses unsynced writes on
//! a simulated crash, tears the last write at sector granularity, fails the
//! N-th operation with EIO or ENOSPC) used by the crash tests.
//!
//! Contract, shared by both:
//! - Writes are positional, `pos` a multiple of [`BLOCK_BYTES`] and the
//!   buffer length a multiple of [`BLOCK_BYTES`] (direct I/O rules; the memory
//!   implementation asserts the same so tests catch misuse).
//! - A write is durable only after a later `sync` of the same file returned
//!   Ok; file creation, rename and removal are durable only after `sync_dir`
//!   (of the directory holding the entry: a new subdirectory needs its
//!   parent's).
//! - Every path is a plain file name inside the store's directory.
//!
//! Design decision: the traits use `async fn` without `Send` bounds because a
//! shard's store lives on one thread; futures never cross threads.

pub mod dma;
pub mod either;
pub mod mem;

use std::io;

/// Direct I/O alignment for offsets and lengths of writes.
pub const BLOCK_BYTES: usize = 4096;

/// Rounds `n` up to a multiple of [`BLOCK_BYTES`].
pub fn align_up(n: u64) -> u64 {
    n.div_ceil(BLOCK_BYTES as u64) * BLOCK_BYTES as u64
}

/// Rounds `n` down to a multiple of [`BLOCK_BYTES`].
pub fn align_down(n: u64) -> u64 {
    n / BLOCK_BYTES as u64 * BLOCK_BYTES as u64
}

/// A directory of files (one store's data directory).
#[allow(async_fn_in_trait)]
pub trait Fs: 'static {
    type File: FsFile;
    /// Creates `name` (truncating any existing file) for reading and writing.
    async fn create(&self, name: &str) -> io::Result<Self::File>;
    /// Opens the existing `name` for reading and writing.
    async fn open(&self, name: &str) -> io::Result<Self::File>;
    /// Names of every entry in the directory.
    async fn list(&self) -> io::Result<Vec<String>>;
    async fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    async fn remove(&self, name: &str) -> io::Result<()>;
    /// Makes creations, renames and removals durable.
    async fn sync_dir(&self) -> io::Result<()>;
    /// Creates subdirectory `name` if it is missing. Its entry is durable
    /// only after this directory's `sync_dir`.
    async fn create_dir(&self, name: &str) -> io::Result<()>;
    /// The subdirectory `name` as a file system of its own.
    fn subdir(&self, name: &str) -> io::Result<Self>
    where
        Self: Sized;
}

/// One open file.
#[allow(async_fn_in_trait)]
pub trait FsFile: 'static {
    /// Writes all of `buf` at `pos` (both aligned to [`BLOCK_BYTES`]).
    async fn write_at(&self, buf: &[u8], pos: u64) -> io::Result<()>;
    /// Reads up to `len` bytes at `pos`; shorter only at end of file.
    async fn read_at(&self, pos: u64, len: usize) -> io::Result<Vec<u8>>;
    /// fdatasync: every completed write is durable once this returns Ok.
    async fn sync(&self) -> io::Result<()>;
    async fn size(&self) -> io::Result<u64>;
    /// Reserves space for `len` bytes so later writes do not allocate
    /// (and fail with ENOSPC early, at a point where nothing is pending).
    async fn preallocate(&self, len: u64) -> io::Result<()>;
}
