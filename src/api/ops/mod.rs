//! One file per DynamoDB operation. Each `handle` validates the request,
//! resolves the owning shard and either answers or asks to be forwarded.

pub mod batch_get_item;
pub mod batch_write_item;
pub mod create_table;
pub mod delete_item;
pub mod delete_table;
pub mod describe_table;
pub mod get_item;
pub mod list_tables;
pub mod put_item;
pub mod query;
pub mod scan;
pub mod update_item;
pub mod update_table;
