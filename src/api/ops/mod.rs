//! One file per DynamoDB operation. Each `handle` validates the request
//! (a `read` of its members, nothing from the catalog), plans against the
//! catalog (pure), resolves the owning shard and either executes — reads
//! through `read/`, writes through `write/`, DDL through `table::ddl` — or
//! asks to be forwarded. An operation imports the layers below `ops`, never
//! another operation.

pub mod batch_get_item;
pub mod batch_write_item;
pub mod create_backup;
pub mod create_table;
pub mod delete_backup;
pub mod delete_item;
pub mod delete_resource_policy;
pub mod delete_table;
pub mod describe_backup;
pub mod describe_continuous_backups;
pub mod describe_endpoints;
pub mod describe_export;
pub mod describe_import;
pub mod describe_limits;
pub mod describe_table;
pub mod describe_time_to_live;
pub mod export_table_to_point_in_time;
pub mod get_item;
pub mod get_resource_policy;
pub mod import_table;
pub mod list_backups;
pub mod list_exports;
pub mod list_imports;
pub mod list_tables;
pub mod list_tags_of_resource;
pub mod put_item;
pub mod put_resource_policy;
pub mod query;
pub mod restore_table_from_backup;
pub mod restore_table_to_point_in_time;
pub mod scan;
pub mod tag_resource;
pub mod transact_get_items;
pub mod transact_write_items;
pub mod untag_resource;
pub mod update_continuous_backups;
pub mod update_item;
pub mod update_table;
pub mod update_time_to_live;
