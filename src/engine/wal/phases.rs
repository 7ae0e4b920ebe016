//! Per-phase latency histograms of the durable write path, so "where does
//! a write's time go" is answered by `GET /dynacore/metrics` rather than by
//! guesswork.
//!
//! A write's life, and the histogram that times each step:
//!
//! ```text
//! LsmStore::write ─ memtable_apply ─▶ queued ─ queue_wait ─▶ its group starts
//!   ─ wal_write ─▶ write completed ─ fdatasync ─▶ durable ─ ack ─▶ Durable::wait returns
//!                                                 (ack includes backlog_wait)
//! total = append → Durable::wait returns
//! ```
//!
//! `queue_wait`, `memtable_apply`, `ack`, `backlog_wait` and `total` are per
//! write; `wal_write`, `fdatasync`, `group_records` and `segment_wait` (the
//! commit path waiting for a prepared segment at a roll) are per commit
//! group. Values are microseconds (records for `group_records`), clamped
//! into `1 ..= 60 s`; each histogram is a fixed ~20 KiB (2 significant
//! digits: a reported value is within 1% of the true one), so the memory is
//! bounded (≈180 KiB per shard) whatever the load. Counts are
//! cumulative since the store opened.

use hdrhistogram::Histogram;
use std::cell::RefCell;
use std::time::{Duration, Instant};

const HIGHEST_US: u64 = 60_000_000;

/// One histogram's summary, in its unit (µs, or records for group sizes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhaseSummary {
    pub count: u64,
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: u64,
    /// Observations per bucket of the shared latency edges
    /// (`metrics::LATENCY_BUCKETS_US`, then +Inf), for Prometheus
    /// histograms (µs phases only; meaningless for record counts).
    pub buckets: [u64; crate::metrics::LATENCY_BUCKETS_US.len() + 1],
}

/// Every phase's summary (see the module docs for what each times).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WritePhaseStats {
    pub queue_wait_us: PhaseSummary,
    pub wal_write_us: PhaseSummary,
    pub fdatasync_us: PhaseSummary,
    pub memtable_apply_us: PhaseSummary,
    pub ack_us: PhaseSummary,
    pub backlog_wait_us: PhaseSummary,
    pub total_us: PhaseSummary,
    pub group_records: PhaseSummary,
    pub segment_wait_us: PhaseSummary,
}

impl WritePhaseStats {
    /// (name, summary) pairs in the order of a write's life.
    pub fn named(&self) -> [(&'static str, &PhaseSummary); 9] {
        [
            ("memtable_apply_us", &self.memtable_apply_us),
            ("queue_wait_us", &self.queue_wait_us),
            ("wal_write_us", &self.wal_write_us),
            ("fdatasync_us", &self.fdatasync_us),
            ("ack_us", &self.ack_us),
            ("backlog_wait_us", &self.backlog_wait_us),
            ("total_us", &self.total_us),
            ("group_records", &self.group_records),
            ("segment_wait_us", &self.segment_wait_us),
        ]
    }
}

struct Hist(Histogram<u64>);

impl Hist {
    fn new() -> Hist {
        // The bounds are constants, so construction cannot fail.
        Hist(Histogram::new_with_bounds(1, HIGHEST_US, 2).expect("valid histogram bounds"))
    }

    fn record(&mut self, value: u64) {
        self.0.saturating_record(value.clamp(1, HIGHEST_US));
    }

    fn summary(&self) -> PhaseSummary {
        let h = &self.0;
        if h.is_empty() {
            return PhaseSummary::default();
        }
        let mut buckets = [0u64; crate::metrics::LATENCY_BUCKETS_US.len() + 1];
        let mut below = 0u64;
        for (i, edge) in crate::metrics::LATENCY_BUCKETS_US.iter().enumerate() {
            let upto = h.count_between(0, *edge);
            buckets[i] = upto.saturating_sub(below);
            below = upto;
        }
        buckets[crate::metrics::LATENCY_BUCKETS_US.len()] = h.len().saturating_sub(below);
        PhaseSummary {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean() as u64,
            buckets,
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The histograms of one store (one shard thread; `RefCell`, no locks).
pub struct WritePhases {
    queue_wait: RefCell<Hist>,
    wal_write: RefCell<Hist>,
    fdatasync: RefCell<Hist>,
    memtable_apply: RefCell<Hist>,
    ack: RefCell<Hist>,
    backlog_wait: RefCell<Hist>,
    total: RefCell<Hist>,
    group_records: RefCell<Hist>,
    segment_wait: RefCell<Hist>,
}

impl Default for WritePhases {
    fn default() -> Self {
        WritePhases {
            queue_wait: RefCell::new(Hist::new()),
            wal_write: RefCell::new(Hist::new()),
            fdatasync: RefCell::new(Hist::new()),
            memtable_apply: RefCell::new(Hist::new()),
            ack: RefCell::new(Hist::new()),
            backlog_wait: RefCell::new(Hist::new()),
            total: RefCell::new(Hist::new()),
            group_records: RefCell::new(Hist::new()),
            segment_wait: RefCell::new(Hist::new()),
        }
    }
}

impl WritePhases {
    pub fn queue_wait(&self, since: Instant, now: Instant) {
        self.queue_wait.borrow_mut().record(micros(now - since));
    }
    pub fn wal_write(&self, took: Duration) {
        self.wal_write.borrow_mut().record(micros(took));
    }
    pub fn fdatasync(&self, took: Duration) {
        self.fdatasync.borrow_mut().record(micros(took));
    }
    pub fn memtable_apply(&self, took: Duration) {
        self.memtable_apply.borrow_mut().record(micros(took));
    }
    pub fn ack(&self, took: Duration) {
        self.ack.borrow_mut().record(micros(took));
    }
    pub fn backlog_wait(&self, took: Duration) {
        self.backlog_wait.borrow_mut().record(micros(took));
    }
    pub fn total(&self, took: Duration) {
        self.total.borrow_mut().record(micros(took));
    }
    pub fn group_records(&self, records: usize) {
        self.group_records.borrow_mut().record(records as u64);
    }
    pub fn segment_wait(&self, took: Duration) {
        self.segment_wait.borrow_mut().record(micros(took));
    }

    pub fn stats(&self) -> WritePhaseStats {
        WritePhaseStats {
            queue_wait_us: self.queue_wait.borrow().summary(),
            wal_write_us: self.wal_write.borrow().summary(),
            fdatasync_us: self.fdatasync.borrow().summary(),
            memtable_apply_us: self.memtable_apply.borrow().summary(),
            ack_us: self.ack.borrow().summary(),
            backlog_wait_us: self.backlog_wait.borrow().summary(),
            total_us: self.total.borrow().summary(),
            group_records: self.group_records.borrow().summary(),
            segment_wait_us: self.segment_wait.borrow().summary(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_report_what_was_recorded() {
        let phases = WritePhases::default();
        assert_eq!(phases.stats().fdatasync_us, PhaseSummary::default());
        for us in 1..=1000u64 {
            phases.fdatasync(Duration::from_micros(us));
        }
        phases.group_records(16);
        let stats = phases.stats();
        assert_eq!(stats.fdatasync_us.count, 1000);
        assert!((490..=510).contains(&stats.fdatasync_us.p50));
        assert!((980..=1000).contains(&stats.fdatasync_us.p99));
        assert!((990..=1010).contains(&stats.fdatasync_us.max));
        assert_eq!(stats.group_records.p50, 16);
        assert_eq!(stats.wal_write_us.count, 0);
    }
}
