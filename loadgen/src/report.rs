//! Run reports: summary text, JSON, `.hgrm` percentile distribution, SLO gate.
//!
//! The JSON report is the durable artifact: besides the headline numbers it
//! stores a percentile table (on a log "nines" grid) of the overall and
//! per-operation corrected latency, so `plot` and `compare` can work from
//! saved files without the raw histograms.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::error::{LoadgenError, Result};
use crate::runtime::CpuTimes;
use crate::stats::{OpStats, Stats};
use crate::workload::OpKind;

/// Send lag p99 above which the summary warns that the generator, not the
/// endpoint, may be what the corrected latencies show.
const SEND_LAG_WARN_US: u64 = 1000;

/// Percentile summary of one histogram (microseconds).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub p9999_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Self {
        Latency {
            p50_us: h.value_at_quantile(0.5),
            p90_us: h.value_at_quantile(0.9),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            p9999_us: h.value_at_quantile(0.9999),
            max_us: h.max(),
            mean_us: h.mean(),
        }
    }
}

/// Per-operation section of the report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpReport {
    pub ops: u64,
    pub errors: u64,
    pub throughput_ops_per_s: f64,
    /// Coordinated-omission corrected (from the intended send time).
    #[serde(flatten)]
    pub latency: Latency,
    /// From the actual send time.
    pub uncorrected: Latency,
    /// `[percentile (0–100), latency µs]` on a log "nines" grid.
    pub percentiles: Vec<(f64, u64)>,
    /// p99 over successes *and* failures (a failure's latency is from its
    /// intended send to its failure, a timeout at least the timeout): what
    /// the SLO gate checks.
    #[serde(default)]
    pub p99_with_failures_us: u64,
    /// `[upper bound s, successful requests ≤ it]`, cumulative, at the
    /// server's `dynacore_request_duration_seconds` bucket edges (+Inf is
    /// `ops`): comparable bucket for bucket with `/metrics`.
    #[serde(default)]
    pub buckets: Vec<(f64, u64)>,
}

impl OpReport {
    fn of(s: &OpStats, seconds: f64) -> Self {
        OpReport {
            ops: s.ops(),
            errors: s.errors,
            throughput_ops_per_s: s.ops() as f64 / seconds,
            latency: Latency::of(&s.corrected),
            uncorrected: Latency::of(&s.uncorrected),
            percentiles: percentile_table(&s.corrected),
            p99_with_failures_us: s.with_failures().value_at_quantile(0.99),
            buckets: crate::stats::cumulative_buckets(&s.corrected)
                .into_iter()
                .filter(|(le, _)| le.is_finite())
                .collect(),
        }
    }
}

/// Percentiles at 0, then 1 - 10^(-k/10) for k = 1.. up to the max
/// resolution of the sample count, then 100.
pub fn percentile_table(h: &Histogram<u64>) -> Vec<(f64, u64)> {
    let mut out = Vec::new();
    if h.is_empty() {
        return out;
    }
    out.push((0.0, h.min()));
    let max_nines = (h.len() as f64).log10().max(1.0);
    let mut k = 1;
    loop {
        let nines = f64::from(k) / 10.0;
        if nines > max_nines {
            break;
        }
        let q = 1.0 - 10f64.powf(-nines);
        out.push((q * 100.0, h.value_at_quantile(q)));
        k += 1;
    }
    out.push((100.0, h.max()));
    out
}

/// The JSON report of one run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub label: String,
    pub endpoint: String,
    pub workload: String,
    pub mode: String,
    pub target_rate_ops_per_s: Option<f64>,
    pub threads: usize,
    pub connections: usize,
    pub duration_s: f64,
    pub ops: u64,
    pub errors: u64,
    pub throttles: u64,
    /// Throttled attempts retried with back-off (`--retries`).
    #[serde(default)]
    pub retries: u64,
    pub error_types: BTreeMap<String, u64>,
    pub throughput_ops_per_s: f64,
    pub cpu_user_s: f64,
    pub cpu_sys_s: f64,
    /// (user + sys) / wall of the whole process: cores the load generator used.
    pub cpu_cores_used: f64,
    /// Operations per load-generator CPU-second: its efficiency, meaningful
    /// even on a machine shared with other work.
    #[serde(default)]
    pub ops_per_cpu_s: f64,
    pub all: OpReport,
    pub operations: BTreeMap<String, OpReport>,
    /// Open loop: the load generator's own lateness behind schedule.
    #[serde(default)]
    pub send_lag: Option<Latency>,
    #[serde(default)]
    pub slo: Option<String>,
}

pub struct ReportContext<'a> {
    pub label: &'a str,
    pub endpoint: &'a str,
    pub workload: &'a str,
    pub rate: Option<f64>,
    pub threads: usize,
    pub connections: usize,
    pub duration_s: u64,
}

impl Report {
    pub fn build(ctx: &ReportContext<'_>, totals: &Stats, cpu: CpuTimes, wall_s: f64) -> Self {
        let seconds = (ctx.duration_s as f64).max(1e-9);
        let mut operations = BTreeMap::new();
        for op in OpKind::ALL {
            if let Some(s) = totals.op(op) {
                operations.insert(op.name().to_string(), OpReport::of(s, seconds));
            }
        }
        let ops = totals.total_ops();
        Report {
            label: ctx.label.to_string(),
            endpoint: ctx.endpoint.to_string(),
            workload: ctx.workload.to_string(),
            mode: if ctx.rate.is_some() { "open" } else { "closed" }.to_string(),
            target_rate_ops_per_s: ctx.rate,
            threads: ctx.threads,
            connections: ctx.connections,
            duration_s: seconds,
            ops,
            errors: totals.total_errors(),
            throttles: totals.throttles,
            retries: totals.retries,
            error_types: totals.error_types.clone(),
            throughput_ops_per_s: ops as f64 / seconds,
            cpu_user_s: cpu.user.as_secs_f64(),
            cpu_sys_s: cpu.system.as_secs_f64(),
            cpu_cores_used: (cpu.user + cpu.system).as_secs_f64() / wall_s.max(1e-9),
            // Throughput over the measured window divided by the cores used
            // over the whole run (warm-up included): ops per CPU-second.
            ops_per_cpu_s: ops as f64
                / seconds
                / ((cpu.user + cpu.system).as_secs_f64() / wall_s.max(1e-9)).max(1e-9),
            all: OpReport::of(&totals.overall(), seconds),
            operations,
            send_lag: totals.send_lag.as_ref().map(Latency::of),
            slo: None,
        }
    }

    pub fn write_json(&self, path: &str) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| LoadgenError::json(path, e))?;
        std::fs::write(path, text).map_err(|e| LoadgenError::output(path, e))
    }

    pub fn read_json(path: &str) -> Result<Self> {
        let text = std::fs::read(path).map_err(|e| LoadgenError::output(path, e))?;
        serde_json::from_slice(&text).map_err(|e| LoadgenError::json(path, e))
    }

    /// Human-readable summary.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "== {}{} ({} loop{}) on {}: {:.0} ops/s, {} ops, {} errors, {} throttled attempts ({} retried) in {:.1} s",
            self.workload,
            if self.label == self.workload {
                String::new()
            } else {
                format!(" [{}]", self.label)
            },
            self.mode,
            self.target_rate_ops_per_s
                .map(|r| format!(", target {r:.0} ops/s"))
                .unwrap_or_default(),
            self.endpoint,
            self.throughput_ops_per_s,
            self.ops,
            self.errors,
            self.throttles,
            self.retries,
            self.duration_s
        );
        let ms = |us: u64| us as f64 / 1000.0;
        let _ = writeln!(
            s,
            "{:<11} {:>10} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}   {:>9}",
            "op",
            "ops/s",
            "errors",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p99.9",
            "p99.99",
            "max ms",
            "p99 uncorr"
        );
        let mut line = |name: &str, r: &OpReport| {
            let l = &r.latency;
            let _ = writeln!(
                s,
                "{:<11} {:>10.0} {:>8} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}   {:>9.3}",
                name,
                r.throughput_ops_per_s,
                r.errors,
                ms(l.p50_us),
                ms(l.p90_us),
                ms(l.p99_us),
                ms(l.p999_us),
                ms(l.p9999_us),
                ms(l.max_us),
                ms(r.uncorrected.p99_us)
            );
        };
        for (name, r) in &self.operations {
            line(name, r);
        }
        line("ALL", &self.all);
        if !self.all.buckets.is_empty() && self.all.ops > 0 {
            // The server's histogram edges: compare with
            // dynacore_request_duration_seconds bucket for bucket.
            let mut text = String::from("ALL ≤ server bucket edges (cumulative %):");
            for (le, n) in &self.all.buckets {
                let pct = 100.0 * *n as f64 / self.all.ops as f64;
                if le.is_finite() {
                    let _ = write!(text, " {}s {pct:.1}", le);
                }
            }
            let _ = writeln!(s, "{text}");
        }
        for (t, n) in &self.error_types {
            let _ = writeln!(s, "  error {t}: {n}");
        }
        if let Some(lag) = &self.send_lag {
            let _ = writeln!(
                s,
                "loadgen send lag behind schedule: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                ms(lag.p50_us),
                ms(lag.p99_us),
                ms(lag.max_us)
            );
            if lag.p99_us > SEND_LAG_WARN_US {
                let _ = writeln!(
                    s,
                    "WARNING: the load generator fell behind its own schedule; corrected latencies \
                     include its delay (free CPUs for it, or add --threads)"
                );
            }
        }
        let _ = writeln!(
            s,
            "loadgen CPU: user {:.2} s + sys {:.2} s = {:.2} cores ({:.0} ops per CPU-second)",
            self.cpu_user_s, self.cpu_sys_s, self.cpu_cores_used, self.ops_per_cpu_s
        );
        s
    }
}

/// HdrHistogram percentile distribution (`.hgrm`, values in ms) in the
/// format of Java's `outputPercentileDistribution` with 5 ticks per half.
pub fn hgrm(h: &Histogram<u64>) -> String {
    const SCALE: f64 = 1000.0; // µs → ms
    let mut s = String::new();
    let _ = write!(
        s,
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total = 0u64;
    for v in h.iter_quantiles(5) {
        total += v.count_since_last_iteration();
        let q = v.quantile_iterated_to();
        let value = v.value_iterated_to() as f64 / SCALE;
        if q < 1.0 {
            let _ = writeln!(
                s,
                "{value:12.3} {q:2.12} {total:10} {:14.2}",
                1.0 / (1.0 - q)
            );
        } else {
            let _ = writeln!(s, "{value:12.3} {q:2.12} {total:10}");
        }
    }
    let sub_buckets = 2u64.pow((2.0 * 10f64.powi(i32::from(h.sigfig()))).log2().ceil() as u32);
    let _ = writeln!(
        s,
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]",
        h.mean() / SCALE,
        h.stdev() / SCALE
    );
    let _ = writeln!(
        s,
        "#[Max     = {:12.3}, Total count    = {:12}]",
        h.max() as f64 / SCALE,
        h.len()
    );
    let _ = writeln!(
        s,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.buckets(),
        sub_buckets
    );
    s
}

/// Appends one second of corrected latencies to an HdrHistogram interval
/// log: an untagged histogram of all operations, then one tagged per op.
pub fn log_interval<W: std::io::Write>(
    writer: &mut hdrhistogram::serialization::interval_log::IntervalLogWriter<
        '_,
        '_,
        W,
        hdrhistogram::serialization::V2Serializer,
    >,
    index: u64,
    stats: &Stats,
) -> std::result::Result<(), String> {
    use hdrhistogram::serialization::interval_log::Tag;
    let start = std::time::Duration::from_secs(index);
    let one = std::time::Duration::from_secs(1);
    writer
        .write_histogram(&stats.overall().corrected, start, one, None)
        .map_err(|e| e.to_string())?;
    for op in OpKind::ALL {
        if let Some(s) = stats.op(op) {
            writer
                .write_histogram(&s.corrected, start, one, Tag::new(op.name()))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// `--p99-target-ms` and `--p99-target get=2,put=5` (milliseconds).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SloTargets {
    pub overall_ms: Option<f64>,
    pub per_op_ms: Vec<(String, f64)>,
    /// Failed ÷ attempted requests above which the verdict fails (0: any
    /// failure fails it).
    pub max_error_rate: f64,
    /// `--max-error-rate` was given: a verdict is due even without p99 targets.
    pub error_rate_explicit: bool,
}

impl SloTargets {
    #[cfg(test)]
    pub fn parse(overall_ms: Option<f64>, per_op: Option<&str>) -> Result<Self> {
        Self::parse_with_error_rate(overall_ms, per_op, None)
    }

    pub fn parse_with_error_rate(
        overall_ms: Option<f64>,
        per_op: Option<&str>,
        max_error_rate: Option<f64>,
    ) -> Result<Self> {
        if let Some(r) = max_error_rate
            && !(0.0..=1.0).contains(&r)
        {
            return Err(LoadgenError::InvalidArgument(format!(
                "--max-error-rate {r} is not a fraction between 0 and 1"
            )));
        }
        let mut per_op_ms = Vec::new();
        for part in per_op
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (name, v) = part.split_once('=').ok_or_else(|| {
                LoadgenError::InvalidArgument(format!("--p99-target entry {part:?} is not op=ms"))
            })?;
            let op = OpKind::from_name(name.trim()).ok_or_else(|| {
                LoadgenError::InvalidArgument(format!("--p99-target: unknown operation {name:?}"))
            })?;
            let ms = v.trim().parse::<f64>().map_err(|_| {
                LoadgenError::InvalidArgument(format!("--p99-target: {v:?} is not a number"))
            })?;
            per_op_ms.push((op.name().to_string(), ms));
        }
        Ok(SloTargets {
            overall_ms,
            per_op_ms,
            max_error_rate: max_error_rate.unwrap_or(0.0),
            error_rate_explicit: max_error_rate.is_some(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.overall_ms.is_none() && self.per_op_ms.is_empty() && !self.error_rate_explicit
    }

    /// `(passed, one-line verdict)`. An operation with a target but no
    /// samples fails: a gate that cannot be checked must not pass.
    pub fn evaluate(&self, report: &Report) -> (bool, String) {
        let mut checks = Vec::new();
        let mut pass = true;
        let mut check = |name: &str, r: Option<&OpReport>, target_ms: f64| {
            let (ok, got) = match r {
                Some(r) if r.ops > 0 || r.errors > 0 => {
                    // Failed and timed-out requests count, with their latency.
                    let got = r.p99_with_failures_us.max(r.latency.p99_us) as f64 / 1000.0;
                    (got <= target_ms, format!("{got:.3}"))
                }
                _ => (false, "no samples".to_string()),
            };
            pass &= ok;
            checks.push(format!(
                "{name} p99 {got} ms {} {target_ms} ms",
                if ok { "<=" } else { ">" }
            ));
        };
        if let Some(t) = self.overall_ms {
            check("all", Some(&report.all), t);
        }
        for (op, t) in &self.per_op_ms {
            check(op, report.operations.get(op), *t);
        }
        let attempted = report.ops + report.errors;
        let rate = if attempted == 0 {
            0.0
        } else {
            report.errors as f64 / attempted as f64
        };
        let rate_ok = rate <= self.max_error_rate;
        pass &= rate_ok;
        checks.push(format!(
            "errors {}/{attempted} = {:.4}% {} {:.4}%",
            report.errors,
            rate * 100.0,
            if rate_ok { "<=" } else { ">" },
            self.max_error_rate * 100.0
        ));
        let verdict = format!(
            "SLO {}: {}",
            if pass { "PASS" } else { "FAIL" },
            checks.join(", ")
        );
        (pass, verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample_report() -> Report {
        let mut stats = Stats::new();
        for i in 1..=10_000u64 {
            stats.record(OpKind::Get, i, i / 2);
        }
        stats.record(OpKind::Put, 5_000, 5_000);
        stats.record_error(OpKind::Put, "ThrottlingException", true);
        let ctx = ReportContext {
            label: "t",
            endpoint: "http://x",
            workload: "ycsb-b",
            rate: None,
            threads: 1,
            connections: 4,
            duration_s: 2,
        };
        Report::build(
            &ctx,
            &stats,
            CpuTimes {
                user: Duration::from_secs(1),
                system: Duration::ZERO,
            },
            2.0,
        )
    }

    #[test]
    fn json_has_the_required_fields_and_round_trips() {
        let r = sample_report();
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["ops"], 10_001);
        assert_eq!(v["errors"], 1);
        assert_eq!(v["throttles"], 1);
        assert!((v["throughput_ops_per_s"].as_f64().unwrap() - 5000.5).abs() < 1e-6);
        let get = &v["operations"]["get"];
        for f in ["p50_us", "p99_us", "p999_us", "max_us"] {
            assert!(get[f].as_u64().is_some(), "{f}");
        }
        let p99 = get["p99_us"].as_u64().unwrap();
        assert!((9_850..=9_950).contains(&p99), "{p99}");
        assert_eq!(v["error_types"]["ThrottlingException"], 1);
        let back: Report = serde_json::from_value(v).unwrap();
        assert_eq!(back.all.latency, r.all.latency);
        assert!(back.all.percentiles.len() > 30);
        assert!((r.cpu_cores_used - 0.5).abs() < 1e-9);
    }

    #[test]
    fn hgrm_format() {
        let mut h = crate::stats::new_histogram();
        for i in 1..=1000u64 {
            h.saturating_record(i * 10);
        }
        let text = hgrm(&h);
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "       Value     Percentile TotalCount 1/(1-Percentile)"
        );
        assert_eq!(lines.next().unwrap(), "");
        let first: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(first, ["0.010", "0.000000000000", "1", "1.00"]);
        assert!(
            text.contains("#[Max     =       10.007, Total count    =         1000]"),
            "{text}"
        );
        assert!(text.contains("SubBuckets     =         2048]"));
        // The last data line is the 100th percentile with every sample.
        let last = text.lines().rfind(|l| !l.starts_with('#')).unwrap();
        assert!(last.contains("1.000000000000       1000"), "{last}");
    }

    #[test]
    fn interval_log_reads_back() {
        use hdrhistogram::serialization::interval_log::{
            IntervalLogIterator, IntervalLogWriterBuilder, LogEntry,
        };
        use hdrhistogram::serialization::{Deserializer, V2Serializer};
        let mut stats = Stats::new();
        stats.record(OpKind::Get, 100, 90);
        stats.record(OpKind::Get, 300, 90);
        stats.record(OpKind::Update, 2000, 1500);
        let mut buf = Vec::new();
        let mut ser = V2Serializer::new();
        {
            let mut w = IntervalLogWriterBuilder::new()
                .begin_log_with(&mut buf, &mut ser)
                .unwrap();
            log_interval(&mut w, 0, &stats).unwrap();
            log_interval(&mut w, 1, &stats).unwrap();
        }
        let mut entries = Vec::new();
        for e in IntervalLogIterator::new(&buf) {
            if let LogEntry::Interval(h) = e.unwrap() {
                let tag = h.tag().map(|t| t.as_str().to_string());
                let bytes = base64_decode(h.encoded_histogram());
                let hist: Histogram<u64> = Deserializer::new()
                    .deserialize(&mut bytes.as_slice())
                    .unwrap();
                entries.push((h.start_timestamp().as_secs(), tag, hist.len()));
            }
        }
        assert_eq!(
            entries,
            vec![
                (0, None, 3),
                (0, Some("get".into()), 2),
                (0, Some("update".into()), 1),
                (1, None, 3),
                (1, Some("get".into()), 2),
                (1, Some("update".into()), 1),
            ]
        );
    }

    /// Minimal standard base64 decoder (test only; avoids a dependency).
    fn base64_decode(s: &str) -> Vec<u8> {
        let val = |c: u8| match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            _ => 63,
        };
        let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
        let mut out = Vec::new();
        for chunk in bytes.chunks(4) {
            let mut acc = 0u32;
            for (i, &c) in chunk.iter().enumerate() {
                acc |= u32::from(val(c)) << (18 - 6 * i);
            }
            out.push((acc >> 16) as u8);
            if chunk.len() > 2 {
                out.push((acc >> 8) as u8);
            }
            if chunk.len() > 3 {
                out.push(acc as u8);
            }
        }
        out
    }

    #[test]
    fn slo_gate() {
        let r = sample_report();
        // The sample has one throttled put in 10,002 attempts.
        let t = SloTargets::parse_with_error_rate(Some(20.0), Some("get=15"), Some(0.001)).unwrap();
        let (pass, verdict) = t.evaluate(&r);
        assert!(pass, "{verdict}");
        assert!(verdict.starts_with("SLO PASS: all p99"));
        // Default --max-error-rate 0: the one error fails the verdict.
        let (pass, verdict) = SloTargets::parse(Some(20.0), Some("get=15"))
            .unwrap()
            .evaluate(&r);
        assert!(!pass, "{verdict}");
        assert!(verdict.contains("errors 1/10002"), "{verdict}");
        assert!(SloTargets::parse_with_error_rate(None, None, Some(1.5)).is_err());
        assert!(
            !SloTargets::parse_with_error_rate(None, None, Some(0.0))
                .unwrap()
                .is_empty()
        );
        let t = SloTargets::parse(None, Some("get=5,put=1")).unwrap();
        let (pass, verdict) = t.evaluate(&r);
        assert!(!pass);
        assert!(verdict.starts_with("SLO FAIL"), "{verdict}");
        let (pass, _) = SloTargets::parse(None, Some("scan=100"))
            .unwrap()
            .evaluate(&r);
        assert!(!pass, "no samples must not pass");
        assert!(SloTargets::parse(None, Some("get")).is_err());
    }

    /// 97 fast successes and 3 timeouts (10 s each): p99 of the successes is
    /// 0.1 ms, but the gate must see the timeouts, even with errors allowed.
    #[test]
    fn slo_gate_counts_timeouts_as_latency() {
        let mut stats = Stats::new();
        for _ in 0..97 {
            stats.record(OpKind::Put, 100, 100);
        }
        for _ in 0..3 {
            stats.record_failure(OpKind::Put, "RequestTimeout", false, 10_000_000);
        }
        let ctx = ReportContext {
            label: "t",
            endpoint: "http://x",
            workload: "put",
            rate: Some(100.0),
            threads: 1,
            connections: 1,
            duration_s: 1,
        };
        let cpu = CpuTimes {
            user: Duration::ZERO,
            system: Duration::ZERO,
        };
        let r = Report::build(&ctx, &stats, cpu, 1.0);
        assert!(r.all.latency.p99_us < 1000);
        let t = SloTargets::parse_with_error_rate(Some(5.0), None, Some(1.0)).unwrap();
        let (pass, verdict) = t.evaluate(&r);
        assert!(!pass, "{verdict}");
        assert!(verdict.contains("all p99 100"), "{verdict}");
    }
}
