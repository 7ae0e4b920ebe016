//! Tests that run whole shards in one process (over the fault-injecting file
//! system) and so sit above every layer of the API.

mod backup_cut;
mod import_failure;
mod index_crash;
mod txn_conflicts;
mod txn_crash;
mod txn_history;
