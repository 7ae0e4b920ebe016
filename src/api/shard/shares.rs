//! How a table's rate is split over the shards (`rebalance.rs` exchanges
//! the demands, `capacity.rs` applies the shares): in proportion to what
//! each shard was asked in the last period, with a floor for idle shards.
//! Pure: demands in, fractions out.

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
