//! TransactGetItems: up to 100 Gets of distinct items of any tables, read
//! as one serializable snapshot (`api::txn::read`: under the items' locks
//! on every shard). Items wholly on another shard are read there
//! (forwarded); otherwise this shard gathers the snapshot.

use std::rc::Rc;

use crate::api::protocol::error::{ApiError, CancellationReason};
use crate::api::protocol::reply::{ConsumedMode, read_units, write_consumed_object};
use crate::api::protocol::request::Fields;
use crate::api::shard::{Outcome, Shard};
use crate::api::txn::plan::get_plan;
use crate::api::txn::read::snapshot;
use crate::model::codec::decode_item;
use crate::model::value::{item_size, write_json_map};

pub async fn handle(shard: &Rc<Shard>, fields: Fields<'_, '_>) -> Result<Outcome, ApiError> {
    let plan = get_plan(shard, &fields)?;
    let mut owners: Vec<u32> = plan.gets.iter().map(|g| g.key.owner).collect();
    owners.sort_unstable();
    owners.dedup();
    if let [only] = owners[..]
        && only != shard.id
    {
        return Ok(Outcome::Forward(only));
    }
    for get in &plan.gets {
        shard
            .meter
            .admit_read(&get.table, None, Some(get.key.hash))?;
    }
    let by_shard: Vec<(u32, Vec<Vec<u8>>)> = owners
        .iter()
        .map(|o| {
            let keys = plan
                .gets
                .iter()
                .filter(|g| g.key.owner == *o)
                .map(|g| g.key.storage.clone())
                .collect();
            (*o, keys)
        })
        .collect();
    let per_shard = snapshot(shard, by_shard).await?;
    // Back to request order.
    let mut values: Vec<Option<Vec<u8>>> = vec![None; plan.gets.len()];
    let mut reasons = vec![CancellationReason::NONE; plan.gets.len()];
    let mut conflict = false;
    for (owner, found) in owners.iter().zip(per_shard) {
        let positions = plan
            .gets
            .iter()
            .enumerate()
            .filter(|(_, g)| g.key.owner == *owner)
            .map(|(i, _)| i);
        match found {
            Some(found) => {
                for (i, value) in positions.zip(found) {
                    values[i] = value;
                }
            }
            None => {
                conflict = true;
                for i in positions {
                    reasons[i] = CancellationReason::conflict();
                }
            }
        }
    }
    if conflict {
        return Err(ApiError::transaction_canceled(reasons));
    }
    let mut out = b"{\"Responses\":[".to_vec();
    let mut units: Vec<(&str, f64)> = Vec::new();
    for (i, (get, value)) in plan.gets.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut size = 0;
        match value {
            Some(bytes) => {
                let item = decode_item(&bytes)?;
                size = item_size(&item);
                out.extend_from_slice(b"{\"Item\":");
                match &get.projection {
                    Some(p) => write_json_map(&mut out, &p.apply(&item)),
                    None => write_json_map(&mut out, &item),
                }
                out.push(b'}');
            }
            None => out.extend_from_slice(b"{}"),
        }
        // Transactional reads cost 2 read units per 4 KB.
        let cost = 2.0 * read_units(size, true);
        shard
            .meter
            .charge_read(&get.table, None, cost, Some(get.key.hash));
        match units.iter_mut().find(|(t, _)| *t == get.table.name) {
            Some((_, u)) => *u += cost,
            None => units.push((&get.table.name, cost)),
        }
    }
    out.push(b']');
    if plan.consumed != ConsumedMode::None {
        out.extend_from_slice(b",\"ConsumedCapacity\":[");
        for (i, (table, u)) in units.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_consumed_object(&mut out, plan.consumed, table, *u, &[]);
        }
        out.push(b']');
    }
    out.push(b'}');
    Ok(Outcome::Reply(out))
}
