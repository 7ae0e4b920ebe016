//! Dynacore: a DynamoDB-compatible key-value and document database server,
//! thread-per-core on io_uring (glommio).
//!
//! Layers, top to bottom: `runtime` (executors, HTTP, mesh; the only module
//! that names glommio), `api` (DynamoDB protocol, one file per operation),
//! `auth` (SigV4 verification, credentials, the
//! IAM policy engine; pure), `catalog` (table schemas; DDL as a pure transition), `config` (every
//! knob), `model` (attribute values, numbers, item and key encodings),
//! `routing` (the specified placement hash), `engine` (per-shard storage;
//! knows nothing of HTTP or DynamoDB). Imports point down this list;
//! `tests/module_cycles.rs` enforces it. `ARCHITECTURE.md` has the rest.

pub mod api;
pub mod auth;
pub mod catalog;
pub mod config;
pub mod engine;
#[doc(hidden)]
pub mod fuzzing;
pub mod metrics;
pub mod model;
pub mod routing;
pub mod runtime;
#[cfg(test)]
mod testkit;
