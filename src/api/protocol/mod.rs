//! Protocol plumbing shared by every operation: DynamoDB's errors
//! (`error`), the typed view of a request's JSON (`request`), the members
//! many requests share (`params`), operation names (`operation`), and
//! reply building with consumed capacity (`reply`), and the capacity
//! arithmetic itself, one function per rule (`capacity`).
//!
//! Nothing here touches shard state or storage: these are pure functions of
//! a request's bytes, so every layer above may use them.

pub mod capacity;
pub mod error;
pub mod names;
pub mod operation;
pub mod params;
pub mod reply;
pub mod request;
pub mod rules;
pub mod shape;
