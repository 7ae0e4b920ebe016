//! Latency and error accounting.
//!
//! Workers record into *interval* statistics only and hand them to the main
//! thread once a second; the main thread merges them into run totals, prints
//! progress and writes the interval log. Invariant: every latency is recorded
//! twice — `corrected` from the *intended* send time (coordinated-omission
//! corrected, the number users feel) and `uncorrected` from the actual send
//! time (what a closed-loop tool would report) — so the two can be compared.
//! Failed requests are counted by DynamoDB `__type` and their latency goes
//! into a `failed` histogram of their own (a timed-out request's latency is
//! at least its timeout; an open-loop request that was due but never sent
//! is charged up to the end of the run), so the SLO gate can count them:
//! a run full of timeouts must not pass on the latency of the few that
//! succeeded.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::workload::OpKind;

/// The server's latency bucket edges (`src/metrics/buckets.rs`, the
/// buckets of `dynacore_request_duration_seconds`), so the load
/// generator's per-operation figures line up with the server's.
pub mod buckets {
    #![allow(dead_code)]
    include!("../../src/metrics/buckets.rs");
}

/// `(upper bound in seconds, requests at or below it)`, cumulative, for
/// every server bucket edge and +Inf.
pub fn cumulative_buckets(h: &Histogram<u64>) -> Vec<(f64, u64)> {
    let mut out: Vec<(f64, u64)> = buckets::LATENCY_BUCKETS_US
        .iter()
        .map(|edge| (*edge as f64 / 1e6, h.count_between(0, *edge)))
        .collect();
    out.push((f64::INFINITY, h.len()));
    out
}

/// Highest trackable latency: 100 s in microseconds; larger values saturate.
pub const LATENCY_MAX_US: u64 = 100_000_000;
pub const SIGFIG: u8 = 3;

pub fn new_histogram() -> Histogram<u64> {
    // Bounds are constants known to be valid (1 ≤ low, high ≥ 2·low, sigfig ≤ 5),
    // so this cannot fail on any input.
    Histogram::new_with_bounds(1, LATENCY_MAX_US, SIGFIG).expect("constant histogram bounds")
}

/// Latencies of one operation type.
#[derive(Clone, Debug)]
pub struct OpStats {
    pub corrected: Histogram<u64>,
    pub uncorrected: Histogram<u64>,
    pub errors: u64,
    /// Latency (from the intended send time) of every failed request.
    pub failed: Histogram<u64>,
}

impl OpStats {
    fn new() -> Self {
        OpStats {
            corrected: new_histogram(),
            uncorrected: new_histogram(),
            errors: 0,
            failed: new_histogram(),
        }
    }

    /// Successes and failures together (corrected): what the SLO gate reads.
    pub fn with_failures(&self) -> Histogram<u64> {
        let mut all = self.corrected.clone();
        let _ = all.add(&self.failed);
        all
    }

    pub fn ops(&self) -> u64 {
        self.corrected.len()
    }

    fn add(&mut self, other: &OpStats) {
        // Same bounds on both sides, so addition cannot fail; saturate if it did.
        let _ = self.corrected.add(&other.corrected);
        let _ = self.uncorrected.add(&other.uncorrected);
        let _ = self.failed.add(&other.failed);
        self.errors += other.errors;
    }
}

/// Statistics over one interval (or, merged, a whole run).
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Indexed by [`OpKind::index`]; allocated on first use (histograms are
    /// ~140 KiB each, and most mixes use two or three operation types).
    pub ops: Vec<Option<OpStats>>,
    pub error_types: BTreeMap<String, u64>,
    pub throttles: u64,
    /// Throttled attempts that were retried (`--retries`); each also
    /// counts in `throttles`, none in the errors.
    pub retries: u64,
    /// Open loop only: how late the load generator itself sent requests whose
    /// intended time had not yet come when a worker picked them (timer and
    /// CPU scheduling delay). Large values mean the *generator* is the
    /// bottleneck and corrected latencies include its own delay.
    pub send_lag: Option<Histogram<u64>>,
}

impl Stats {
    pub fn new() -> Self {
        Stats {
            ops: vec![None; OpKind::COUNT],
            ..Default::default()
        }
    }

    fn op_mut(&mut self, op: OpKind) -> &mut OpStats {
        if self.ops.len() < OpKind::COUNT {
            self.ops.resize(OpKind::COUNT, None);
        }
        self.ops[op.index()].get_or_insert_with(OpStats::new)
    }

    pub fn op(&self, op: OpKind) -> Option<&OpStats> {
        self.ops.get(op.index()).and_then(Option::as_ref)
    }

    /// Records one successful operation.
    pub fn record(&mut self, op: OpKind, corrected_us: u64, uncorrected_us: u64) {
        let s = self.op_mut(op);
        s.corrected.saturating_record(corrected_us.max(1));
        s.uncorrected.saturating_record(uncorrected_us.max(1));
    }

    /// Records one failed operation with its DynamoDB error name (or a
    /// transport-level name such as `ConnectionError`) and its latency from
    /// the intended send time.
    pub fn record_failure(
        &mut self,
        op: OpKind,
        error_type: &str,
        throttle: bool,
        latency_us: u64,
    ) {
        self.record_error(op, error_type, throttle);
        self.op_mut(op).failed.saturating_record(latency_us.max(1));
    }

    /// Counts one failed operation without a latency (prefer
    /// [`Stats::record_failure`]).
    /// A throttled attempt about to be retried.
    pub fn record_retry(&mut self) {
        self.retries += 1;
        self.throttles += 1;
    }

    pub fn record_error(&mut self, op: OpKind, error_type: &str, throttle: bool) {
        self.op_mut(op).errors += 1;
        if throttle {
            self.throttles += 1;
        }
        match self.error_types.get_mut(error_type) {
            Some(n) => *n += 1,
            None => {
                self.error_types.insert(error_type.to_string(), 1);
            }
        }
    }

    /// Records the send lag of one open-loop request (see `send_lag`).
    pub fn record_send_lag(&mut self, lag_us: u64) {
        self.send_lag
            .get_or_insert_with(new_histogram)
            .saturating_record(lag_us.max(1));
    }

    pub fn add(&mut self, other: &Stats) {
        if let Some(lag) = &other.send_lag {
            let _ = self.send_lag.get_or_insert_with(new_histogram).add(lag);
        }
        for op in OpKind::ALL {
            if let Some(o) = other.op(op) {
                self.op_mut(op).add(o);
            }
        }
        for (k, v) in &other.error_types {
            *self.error_types.entry(k.clone()).or_insert(0) += v;
        }
        self.throttles += other.throttles;
        self.retries += other.retries;
    }

    pub fn total_ops(&self) -> u64 {
        self.ops.iter().flatten().map(OpStats::ops).sum()
    }

    pub fn total_errors(&self) -> u64 {
        self.ops.iter().flatten().map(|o| o.errors).sum()
    }

    /// All operation types merged.
    pub fn overall(&self) -> OpStats {
        let mut all = OpStats::new();
        for o in self.ops.iter().flatten() {
            all.add(o);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_use_the_server_edges() {
        let mut h = new_histogram();
        for us in [40, 60, 2_000, 30_000_000] {
            h.record(us).expect("in range");
        }
        let b = cumulative_buckets(&h);
        assert_eq!(b.len(), 18);
        assert_eq!(b[0], (0.00005, 1));
        assert_eq!(b[1], (0.0001, 2));
        assert_eq!(b[16], (10.0, 3));
        assert_eq!(b[17].1, 4);
    }

    #[test]
    fn record_merge_and_errors() {
        let mut a = Stats::new();
        a.record(OpKind::Get, 100, 90);
        a.record_error(OpKind::Get, "ThrottlingException", true);
        let mut b = Stats::new();
        b.record(OpKind::Put, 200, 200);
        b.record_error(OpKind::Put, "ValidationException", false);
        b.record_error(OpKind::Put, "ThrottlingException", true);
        a.add(&b);
        assert_eq!(a.total_ops(), 2);
        assert_eq!(a.total_errors(), 3);
        assert_eq!(a.throttles, 2);
        assert_eq!(a.error_types["ThrottlingException"], 2);
        assert_eq!(
            a.overall().corrected.max(),
            a.overall().corrected.highest_equivalent(200)
        );
    }

    #[test]
    fn failures_carry_latency_into_the_gate_histogram_only() {
        let mut s = Stats::new();
        for _ in 0..98 {
            s.record(OpKind::Put, 100, 100);
        }
        s.record_failure(OpKind::Put, "RequestTimeout", false, 10_000_000);
        s.record_failure(OpKind::Put, "RequestTimeout", false, 10_000_000);
        let all = s.overall();
        assert_eq!(all.errors, 2);
        // Successes alone look fine; with the two timeouts p99 is ≥ 10 s.
        assert!(all.corrected.value_at_quantile(0.99) < 200);
        assert!(all.with_failures().value_at_quantile(0.99) >= 9_990_000);
    }
}
