//! How a base-item write changes its table's index entries: a pure
//! function of the table, the item's old and new images and the partition
//! map. The write path (`write::commit`) puts local changes in the base
//! item's batch and global ones in its outbox record.

use super::keys::{entry_key, project};
use crate::api::protocol::reply::IndexUnits;
use crate::api::protocol::reply::write_units;
use crate::api::shard::outbox::IndexOp;
use crate::catalog::{IndexKind, TableDef};
use crate::engine::WriteBatch;
use crate::model::Item;
use crate::model::codec::encode_item;
use crate::model::value::item_size;
use crate::routing::PartitionMap;

/// Appends the index entry changes of one write: local ones to `batch`,
/// global ones to `remote`, and the write capacity each index consumed
/// to `units`.
pub fn index_changes(
    map: &PartitionMap,
    table: &TableDef,
    old: Option<&Item>,
    new: Option<&Item>,
    batch: &mut WriteBatch,
    remote: &mut Vec<IndexOp>,
    units: &mut Vec<IndexUnits>,
) {
    for index in &table.indexes {
        let old_key = old.and_then(|o| entry_key(map, table, index, o));
        let new_key = new.and_then(|n| entry_key(map, table, index, n));
        let out = match index.kind {
            IndexKind::Local => &mut *batch,
            IndexKind::Global => &mut *remote,
        };
        // DynamoDB's index write arithmetic: each entry put or delete is
        // one write of the entry's size (1 KB units); a key change is two.
        let mut consumed = 0.0;
        match (old_key, new_key, old, new) {
            (Some(o), Some(n), Some(old), Some(new)) if o.storage == n.storage => {
                let projected = project(table, index, new);
                if projected != project(table, index, old) {
                    consumed += write_units(item_size(&projected));
                    out.push((n.storage, Some(encode_item(&projected))));
                }
            }
            (old_key, new_key, old, new) => {
                if let (Some(o), Some(old)) = (old_key, old) {
                    consumed += write_units(item_size(&project(table, index, old)));
                    out.push((o.storage, None));
                }
                if let (Some(n), Some(new)) = (new_key, new) {
                    let projected = project(table, index, new);
                    consumed += write_units(item_size(&projected));
                    out.push((n.storage, Some(encode_item(&projected))));
                }
            }
        }
        if consumed > 0.0 {
            units.push(IndexUnits {
                table: table.name.clone(),
                kind: index.kind,
                index: index.name.clone(),
                units: consumed,
            });
        }
    }
}
