//! The DynamoDB API: protocol, validation and one file per operation.
//!
//! A request arrives on whichever shard accepted the connection. Its handler
//! validates it against that shard's catalog copy, computes the owning shard
//! of the key and either executes locally or answers [`Outcome::Forward`]; the
//! request's original bytes then travel over the mesh and the owner runs the
//! same handler, now locally. Forwarded requests are never forwarded again,
//! so cross-shard calls cannot form cycles. Operations that span shards
//! (Scan, batches, DDL, DescribeTable's counts) send storage-level
//! [`MeshRequest`]s, which are leaves: their handlers send nothing.
//!
//! Layers, each importing only those below it (checked by
//! `tests/module_cycles.rs`):
//!
//! ```text
//! dispatch      HTTP entry (route, execute, forward) and the mesh's inbound side
//! access        a request's IAM facts (per item for batches) → auth::policy
//! ops/          one file per DynamoDB operation: validate → plan → execute
//! ttl           the TTL expirer: deletes expired items through the write path
//! backup/       on-demand backups: the cut across shards, data files, the
//!               registry, restores
//! transfer/     export to and import from S3-layout folders (the backup cut,
//!               line formats, manifests, the import loader)
//! txn/          transactions: validation, locks, fast path, two-phase commit, recovery
//! write/        the one write path: images, conditions, index changes, one batch
//! streams/      DynamoDB Streams: records (written by write/), their storage,
//!               retention, and the four Streams operations
//! read/         one page of a Query or Scan
//! index/        secondary indexes: keys, read plans, DDL input, backfill, replication
//! table/        item keys and placement, descriptions, the DDL executor, table
//!               settings and tags, table ARNs
//! expr/         the expression language, its request parameters and legacy forms
//! shard/        one shard's state (locks, GSI outbox, backfill progress,
//!               transactions), the `Services` seam to the runtime, calls to peers
//! messages      shard-to-shard messages: plain data
//! protocol/     errors, request decoding, reply and capacity building
//! ```
//!
//! This module knows nothing of glommio: the runtime provides transport and
//! blocking file work through [`Services`].

pub mod access;
pub mod backup;
pub mod dispatch;
pub mod expr;
pub mod index;
pub mod messages;
pub mod ops;
pub mod pitr;
pub mod protocol;
pub mod read;
pub mod shard;
pub mod streams;
pub mod table;
pub mod transfer;
pub mod ttl;
pub mod txn;
pub mod write;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

pub use dispatch::{execute, handle_http, inbound, serve};
pub use messages::{MeshReply, MeshRequest};
pub use protocol::error::ApiError;
pub use protocol::operation::{Operation, RequestHead, TARGET_PREFIX, operation_of};
pub use shard::{ApiSettings, Counters, LocalFuture, Outcome, Services, Shard};
