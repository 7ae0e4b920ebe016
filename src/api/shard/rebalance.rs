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
//! absorbs. Idle shards keep a floor (`SHARE_FLOOR` of an even share)
//! so that traffic moving to them is admitted and reported the next period.

use std::rc::Rc;

use super::Shard;
use crate::api::messages::MeshRequest;

/// What an idle shard keeps of its even share of a table's rate.
pub const SHARE_FLOOR: f64 = 0.1;

/// This shard's (`me`) [read, write] fractions of a table's rate, given
/// every shard's last demand; None when no shard asked anything (even
/// shares).
pub fn shares(demands: &[[f64; 2]], me: usize) -> Option<[f64; 2]> {
    let n = demands.len();
    let mine = demands.get(me)?;
    let floor = SHARE_FLOOR / n as f64;
    let totals = [0, 1].map(|op| demands.iter().map(|d| d[op].max(0.0)).sum::<f64>());
    if totals == [0.0; 2] {
        return None;
    }
    Some([0, 1].map(|op| {
        if totals[op] > 0.0 {
            floor + (1.0 - floor * n as f64) * mine[op].max(0.0) / totals[op]
        } else {
            1.0 / n as f64
        }
    }))
}

/// Starts the exchange on this shard (nothing with one shard, enforcement
/// off or a zero interval).
pub fn start(shard: &Rc<Shard>) {
    let Some(interval) = shard.meter.rebalance_interval() else {
        return;
    };
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
    shard.services.spawn(Box::pin(task));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_follow_demand_with_a_floor_for_idle_shards() {
        assert_eq!(shares(&[[0.0; 2], [0.0; 2]], 0), None, "no demand: even");
        let busy = [[100.0, 0.0], [0.0, 0.0]];
        let mine = shares(&busy, 0).expect("shares");
        let theirs = shares(&busy, 1).expect("shares");
        assert!((mine[0] - 0.95).abs() < 1e-9, "{mine:?}");
        assert!((theirs[0] - 0.05).abs() < 1e-9, "{theirs:?}");
        assert_eq!(mine[1], 0.5, "writes asked nothing: even");
        assert!((mine[0] + theirs[0] - 1.0).abs() < 1e-9);
        let split = shares(&[[30.0, 0.0], [10.0, 0.0]], 0).expect("shares");
        assert!((split[0] - (0.05 + 0.9 * 0.75)).abs() < 1e-9, "{split:?}");
        assert_eq!(shares(&busy, 2), None, "not a shard of the row");
    }
}
