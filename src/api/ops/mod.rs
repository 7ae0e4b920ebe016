//! One file per DynamoDB operation. Each `handle` validates the request,
//! resolves the owning shard and either answers or asks to be forwarded.

pub mod create_table;
pub mod delete_item;
pub mod delete_table;
pub mod describe_table;
pub mod get_item;
pub mod list_tables;
pub mod put_item;
pub mod update_table;
