//! Send-time schedules and latency attribution.
//!
//! Open loop (`--rate`): request `i` is *intended* to start at
//! `start + i / rate`, whether or not the system under test kept up. A worker
//! that takes slot `i` late (all connections were busy) still charges the
//! latency from the intended time — this is the coordinated-omission
//! correction (Gil Tene; wrk2). The time from the actual send is recorded
//! beside it as the "uncorrected" figure. Closed loop (no rate): each
//! connection sends as soon as the previous response arrived; intended and
//! actual send times coincide.

use std::time::{Duration, Instant};

/// Constant-rate schedule shared by the workers of one thread.
#[derive(Clone, Debug)]
pub struct OpenLoopSchedule {
    start: Instant,
    /// Nanoseconds between consecutive intended sends (fractional: at
    /// 300k ops/s the gap is 3333.3 ns, and rounding would skew the rate).
    gap_ns: f64,
    next_slot: u64,
}

impl OpenLoopSchedule {
    /// `rate_ops_per_s` must be positive (checked by the CLI).
    pub fn new(start: Instant, rate_ops_per_s: f64) -> Self {
        OpenLoopSchedule {
            start,
            gap_ns: 1e9 / rate_ops_per_s.max(1e-9),
            next_slot: 0,
        }
    }

    /// Intended send time of slot `i`.
    pub fn intended(&self, slot: u64) -> Instant {
        self.start + Duration::from_nanos((slot as f64 * self.gap_ns) as u64)
    }

    /// Claims the next slot and returns its intended send time.
    pub fn next(&mut self) -> Instant {
        let t = self.intended(self.next_slot);
        self.next_slot += 1;
        t
    }
}

/// `(corrected_us, uncorrected_us)` of a request intended at `intended`,
/// actually sent at `sent`, completed at `done`.
pub fn latency_pair_us(intended: Instant, sent: Instant, done: Instant) -> (u64, u64) {
    let corrected = done.saturating_duration_since(intended).as_micros() as u64;
    let uncorrected = done.saturating_duration_since(sent).as_micros() as u64;
    (corrected, uncorrected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Stats;
    use crate::workload::OpKind;

    #[test]
    fn intended_times_follow_the_rate() {
        let start = Instant::now();
        let mut s = OpenLoopSchedule::new(start, 300_000.0);
        assert_eq!(s.next(), start);
        let second = s.next() - start;
        assert_eq!(second.as_nanos(), 3333);
        // No drift: slot 300k lands on one second exactly.
        assert_eq!(s.intended(300_000) - start, Duration::from_secs(1));
    }

    /// Simulates one connection at 1000 ops/s against a server that answers
    /// in 100 µs, except for a single 100 ms stall, and checks that only the
    /// corrected histogram shows the stall at p99 (the requests queued behind
    /// the stall were intended earlier than they could be sent).
    #[test]
    fn coordinated_omission_correction_shows_a_stall() {
        let start = Instant::now();
        let mut sched = OpenLoopSchedule::new(start, 1000.0);
        let service = Duration::from_micros(100);
        let stall = Duration::from_millis(100);
        let mut stats = Stats::new();
        let mut conn_free = start;
        for i in 0..5_000u64 {
            let intended = sched.next();
            let sent = intended.max(conn_free);
            let took = if i == 2_500 { stall } else { service };
            let done = sent + took;
            conn_free = done;
            let (c, u) = latency_pair_us(intended, sent, done);
            stats.record(OpKind::Get, c, u);
        }
        let get = stats.op(OpKind::Get).expect("recorded");
        let p99_corrected = get.corrected.value_at_quantile(0.99);
        let p99_uncorrected = get.uncorrected.value_at_quantile(0.99);
        assert!(
            p99_uncorrected < 200,
            "uncorrected p99 {p99_uncorrected} µs"
        );
        assert!(p99_corrected > 40_000, "corrected p99 {p99_corrected} µs");
        // Both see the stalled request itself.
        assert!(get.uncorrected.max() >= 99_000);
        assert!(get.corrected.max() >= 99_000);
    }
}
