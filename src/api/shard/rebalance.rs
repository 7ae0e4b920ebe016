//! Capacity rebalance over the mesh: each shard holds a share of every
//! table's rate (`capacity.rs`); every `capacity.rebalance_interval_ms`
//! each shard sends every peer one message with what each table asked of
//! it in that period (units consumed plus one per refusal), and every shard
//! sets its shares in proportion to the latest demands of all shards.
//!
//! No lock and no message per request: the exchange is one message per
//! peer per period, carrying only the tables that asked something now or
//! in the previous period (at most the catalog's tables). A shard's shares
//! of a table always sum with the others' to 1 once every report of a
//! period has arrived; between arrivals a table may briefly get up to one
//! period's worth more or less than its rate, which the burst credit
//! absorbs. Idle shards keep a floor (`shares::SHARE_FLOOR` of an even
//! share) so that traffic moving to them is admitted and reported the next
//! period. The arithmetic is `shares.rs` (pure).

use std::rc::Rc;

use super::Shard;
use crate::api::messages::MeshRequest;

/// Starts the exchange on this shard (nothing with one shard, enforcement
/// off or a zero interval).
pub fn start(shard: &Rc<Shard>) {
    let Some(interval) = shard.meter.rebalance_interval() else {
        return;
    };
    let services = shard.services.clone();
    let shard = shard.clone();
    let task = async move {
        let shards = shard.map.shard_count();
        loop {
            shard.services.sleep(interval).await;
            let report = shard.meter.take_demand();
            if report.is_empty() {
                continue;
            }
            // One message per peer, one at a time: a slow peer delays the
            // next period rather than queueing reports.
            for peer in (0..shards).filter(|p| *p != shard.id) {
                let request = MeshRequest::CapacityDemand {
                    from: shard.id,
                    report: report.clone(),
                };
                // A peer that cannot take it keeps its last shares.
                let _ = shard.services.call(peer, request).await;
            }
        }
    };
    services.spawn(Box::pin(task));
}
