//! File jobs the API asks the runtime to run off the shard thread (backup
//! files; export and import files): plain data, paths relative to the
//! backup directory or the export root. The runtime
//! runs each with `spawn_blocking`, so a shard never waits on a blocking
//! syscall; the API never names a file system call.

/// One blocking file-system job, rooted at the backup directory.
#[derive(Clone, Debug)]
pub enum FileJob {
    /// Creates (or truncates) `path`, creating its parent directories.
    Create { path: String },
    /// Appends `bytes` to `path`.
    Append { path: String, bytes: Vec<u8> },
    /// fsyncs `path` and its directory.
    Sync { path: String },
    /// temp → fsync → rename → fsync directory.
    WriteAtomically { path: String, bytes: Vec<u8> },
    /// Up to `len` bytes of `path` from `offset` (fewer at the end).
    ReadAt { path: String, offset: u64, len: u64 },
    /// The whole file.
    Read { path: String },
    /// Names of the entries of directory `path` (none if it is missing).
    List { path: String },
    /// Paths (relative to the root, `/`-separated, sorted) of every
    /// regular file under directory `path`, at most `max` (none if it is
    /// missing).
    ListTree { path: String, max: usize },
    /// Removes directory `path` and everything in it (missing is fine).
    RemoveAll { path: String },
}

#[derive(Debug)]
pub enum FileDone {
    Done,
    Bytes(Vec<u8>),
    Names(Vec<String>),
}
