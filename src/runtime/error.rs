//! The runtime's errors: why the server could not start, or why a shard
//! stopped. Each names the file, address or shard involved; `main` prints
//! it and exits non-zero. Nothing here reaches a client.

use std::path::PathBuf;

use crate::catalog::CatalogError;
use crate::engine::EngineError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// A file-system step of start-up failed (`action` says which).
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a Dynacore layout file; refusing to use {}", path.display(), data_dir.display())]
    NotALayoutFile { path: PathBuf, data_dir: PathBuf },
    #[error("{} has no valid shard count", path.display())]
    LayoutWithoutShardCount { path: PathBuf },
    #[error(
        "data directory {} was created with {recorded} shards but the server was started with {requested}; \
         resharding is not supported yet: start with --shards {recorded}",
        data_dir.display()
    )]
    ShardCountMismatch {
        data_dir: PathBuf,
        recorded: u32,
        requested: u32,
    },
    #[error("cannot use encryption key file {}: {reason}", path.display())]
    EncryptionKey { path: PathBuf, reason: String },
    #[error(
        "data directory {} is encrypted at rest; start with --encryption-key-file and the key it was created with",
        data_dir.display()
    )]
    EncryptedWithoutKey { data_dir: PathBuf },
    #[error(
        "wrong encryption key for data directory {}: its key check value (ENCRYPTION) does not match the key given; start with the key it was created with",
        data_dir.display()
    )]
    WrongEncryptionKey { data_dir: PathBuf },
    #[error(
        "data directory {} holds unencrypted data; refusing to open it with --encryption-key-file (encrypting an existing directory is not supported: start without the key, or use a new data directory)",
        data_dir.display()
    )]
    PlaintextWithKey { data_dir: PathBuf },
    #[error("{} is not a Dynacore ENCRYPTION record; refusing to guess whether the data is encrypted", path.display())]
    NotAnEncryptionFile { path: PathBuf },
    #[error("catalog {} fails authentication: tampered with, or sealed under another key", path.display())]
    CatalogTampered { path: PathBuf },
    #[error("corrupt catalog {}: {source}", path.display())]
    CorruptCatalog {
        path: PathBuf,
        #[source]
        source: CatalogError,
    },
    #[error("invalid listen address {listen}: {source}")]
    InvalidListenAddress {
        listen: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen on {listen}: another server is accepting connections there")]
    AlreadyServed { listen: String },
    #[error("cannot listen on {listen}: {source}")]
    Listen {
        listen: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Credentials(String),
    #[error(
        "refusing to serve {listen} without authentication: give --credentials FILE, \
         listen on loopback only, or pass --insecure-no-auth"
    )]
    OpenWithoutCredentials { listen: String },
    #[error(transparent)]
    Tls(#[from] super::tls::TlsError),
    #[error("--tls-listen needs both --tls-cert and --tls-key (PEM files)")]
    TlsFilesMissing,
    #[error("nothing to listen on: --listen is empty and --tls-listen is not set")]
    NoListener,
    #[error("cannot install signal handler: {0}")]
    Signal(#[source] std::io::Error),
    /// glommio's executor error carries no `'static` source; its text is kept.
    #[error("cannot start shard {shard} on CPU {cpu}: {reason}")]
    ShardStart {
        shard: u32,
        cpu: usize,
        reason: String,
    },
    #[error("cannot join the inter-shard mesh")]
    MeshJoin,
    #[error("mesh peer id {peer} does not match shard id {shard}")]
    MeshPeerMismatch { peer: usize, shard: u32 },
    #[error("cannot open store {}: {source}", dir.display())]
    StoreOpen {
        dir: PathBuf,
        #[source]
        source: EngineError,
    },
    #[error("closing store {}: {source}", dir.display())]
    StoreClose {
        dir: PathBuf,
        #[source]
        source: EngineError,
    },
    /// The index outbox could not be recovered (its reason as the API layer
    /// words it).
    #[error("cannot open the index outbox of shard {shard}: {reason}")]
    OutboxOpen { shard: u32, reason: String },
    /// Prepared transactions or decisions could not be recovered.
    #[error("cannot recover the transactions of shard {shard}: {reason}")]
    TransactionsOpen { shard: u32, reason: String },
    /// The streams' trim horizons could not be read.
    #[error("cannot read the stream trim horizons of shard {shard}: {reason}")]
    StreamsOpen { shard: u32, reason: String },
    #[error(
        "{message} (process exiting so a supervisor restarts it; WAL recovery keeps every acknowledged write)"
    )]
    ShardPanicked { message: String },
    /// A shard stopped with an error while the others served (or waited
    /// for it to join the mesh).
    #[error("{message}")]
    ShardFailed { message: String },
    /// Shards that stopped with an error, in shard order.
    #[error("{}", failures.iter().map(|(id, e)| format!("shard {id}: {e}")).collect::<Vec<_>>().join("\n"))]
    ShardsFailed { failures: Vec<(u32, ShardFailure)> },
}

/// How one shard ended badly.
#[derive(Debug, thiserror::Error)]
pub enum ShardFailure {
    #[error("{0}")]
    Error(Box<RuntimeError>),
    #[error("panicked or failed: {0}")]
    Panicked(String),
}
