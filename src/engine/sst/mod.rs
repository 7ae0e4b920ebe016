//! Sorted string tables: immutable, checksummed files of sorted entries.
//!
//! `block` (data blocks), `bloom` (filters), `cache` (block cache), `table`
//! (file layout, writer, reader, iterator).

pub mod block;
pub mod bloom;
pub mod cache;
pub mod table;
