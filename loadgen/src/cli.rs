//! Command-line interface (clap): `run` (the default), `compare`, `plot`,
//! `fake-server`, `fuzz`, and the translation of flags into a [`RunSpec`].
//!
//! Flags are validated here, once, so the runtime never sees a zero rate,
//! zero connections or an unknown operation name.

use clap::{Args, Parser, Subcommand};

use crate::error::{LoadgenError, Result};
use crate::http::Endpoint;
use crate::keydist::DistributionKind;
use crate::runner::RunSpec;
use crate::runtime::Pinning;
use crate::sigv4::Credentials;
use crate::workload::{Mix, RecordShape, ycsb_preset};

#[derive(Parser, Debug)]
#[command(
    name = "dynacore-loadgen",
    version,
    about = "Load generator for DynamoDB-compatible endpoints (YCSB A–F, custom mixes, \
             open/closed loop, coordinated-omission-corrected latency, shard-aware mode)",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `run` flags, accepted without the subcommand name.
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Load (if needed) and run a workload against one endpoint (default).
    Run(RunArgs),
    /// Run the same workload against two endpoints in alternation, print ratios.
    Compare(CompareArgs),
    /// Overlay the latency-by-percentile curves of saved JSON reports as SVG.
    Plot(PlotArgs),
    /// Serve canned DynamoDB responses, to measure the load generator itself.
    FakeServer(FakeServerArgs),
    /// Send seeded mutated and adversarial requests (bad JSON, wrong types,
    /// huge and deep values, random operations, broken HTTP framing, random
    /// headers) over raw sockets, then check the server is alive and a
    /// canary item unchanged (exit 1 if not).
    Fuzz(FuzzArgs),
}

#[derive(Args, Debug, Clone)]
pub struct FuzzArgs {
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    pub endpoint: String,
    /// Seed of the case sequence (the same seed replays the same cases);
    /// default: from the clock, printed in the summary.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Cases to send, one connection each.
    #[arg(long, default_value_t = 2_000)]
    pub requests: u64,
    /// Wall-clock budget in seconds (whichever bound comes first).
    #[arg(long, default_value_t = 60)]
    pub duration: u64,
    /// How long to wait for the reply to a complete request, in ms.
    #[arg(long, default_value_t = 2_000)]
    pub reply_timeout_ms: u64,
    /// Table the cases name (its canary is `<table>_canary`).
    #[arg(long, default_value = "netfuzz")]
    pub table: String,
    /// Print every case's outcome.
    #[arg(long)]
    pub verbose: bool,
}

#[derive(Args, Debug, Clone)]
pub struct WorkloadArgs {
    /// ycsb-a … ycsb-f, or custom (with --mix).
    #[arg(long, default_value = "ycsb-b")]
    pub workload: String,
    /// Custom mix, e.g. get=80,put=10,update=5,query=3,scan=1,batchget=1,batchwrite=0
    /// (overrides the workload's mix).
    #[arg(long)]
    pub mix: Option<String>,
    /// Request distribution: zipfian (scrambled, 0.99), uniform or latest
    /// (default: the workload's).
    #[arg(long)]
    pub distribution: Option<DistributionKind>,
    #[arg(long, default_value = "usertable")]
    pub table: String,
    #[arg(long, default_value_t = 100_000)]
    pub record_count: u64,
    #[arg(long, default_value_t = 10)]
    pub field_count: u32,
    /// Bytes per field value.
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
    /// Scans read 1..=N items.
    #[arg(long, default_value_t = 100)]
    pub scan_length_max: u32,
    /// Keys per BatchGetItem / BatchWriteItem (≤ 100 / 25).
    #[arg(long, default_value_t = 10)]
    pub batch_size: u32,
    /// Executor threads (one glommio LocalExecutor each).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Total connections (= maximum requests in flight).
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Open loop at this total rate (ops/s); omit for closed loop.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Measured time after warm-up: seconds (`30`) or with a unit (`10s`, `2m`, `1h`).
    #[arg(long, default_value = "10", value_parser = parse_seconds)]
    pub duration: u64,
    /// Time run before measuring (excluded from results), as for --duration.
    #[arg(long, default_value = "2", value_parser = parse_seconds)]
    pub warmup: u64,
    /// Do not create or fill the table.
    #[arg(long)]
    pub skip_load: bool,
    /// CA certificate (PEM) that `https://` endpoints' certificates must
    /// chain to; required for https (only this CA is trusted).
    #[arg(long)]
    pub ca: Option<std::path::PathBuf>,
    /// Send single-key requests straight to the owning shard (Dynacore only).
    #[arg(long)]
    pub shard_aware: bool,
    /// Only use keys that shard N owns (Dynacore only; needs per-shard
    /// ports). With --endpoint at one shard's own port this measures
    /// forwarding: keys of that shard are served directly, keys of another
    /// cross the mesh. The table is still loaded with every record.
    #[arg(long)]
    pub keys_on_shard: Option<usize>,
    /// Region for SigV4 (default: $AWS_REGION, else us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// SigV4 access key (also --access-key). Default: $AWS_ACCESS_KEY_ID,
    /// else a dummy key (accepted only by a server without credentials).
    #[arg(long, visible_alias = "access-key")]
    pub access_key_id: Option<String>,
    /// SigV4 secret (also --secret-key). Default: $AWS_SECRET_ACCESS_KEY,
    /// else a dummy secret.
    #[arg(long, visible_alias = "secret-key")]
    pub secret_access_key: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// First CPU to pin executor threads to.
    #[arg(long, default_value_t = 0)]
    pub cpu_offset: usize,
    /// Let the OS place executor threads.
    #[arg(long)]
    pub no_pin: bool,
    /// Busy-poll this many µs before an idle executor sleeps (tighter
    /// open-loop pacing on dedicated cores, at the cost of CPU).
    #[arg(long, default_value_t = 0)]
    pub spin_before_park_us: u64,
    /// Per-request timeout in ms (counted as RequestTimeout errors; 0 = none).
    #[arg(long, default_value_t = 10_000)]
    pub request_timeout_ms: u64,
    /// Retry a throttled request (ThrottlingException,
    /// ProvisionedThroughputExceededException, …) up to this many times
    /// with SDK-style exponential back-off and full jitter; retries and
    /// throttles are reported apart from errors. 0 (default) never retries.
    #[arg(long, default_value_t = 0)]
    pub retries: u32,
    /// Back-off base in ms: attempt n waits a random time in
    /// [0, min(base × 2^n, 20 s)] (the AWS SDKs' DynamoDB default is 25 ms).
    #[arg(long, default_value_t = 25)]
    pub retry_base_ms: u64,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    pub endpoint: String,
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// Name of this run in reports and plots.
    #[arg(long)]
    pub label: Option<String>,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<String>,
    /// Write the overall percentile distribution (.hgrm) here.
    #[arg(long)]
    pub hgrm: Option<String>,
    /// Write an HdrHistogram interval log (one histogram per op per second).
    #[arg(long)]
    pub hdr_log: Option<String>,
    /// Write an SVG latency-by-percentile plot of this run here.
    #[arg(long)]
    pub plot: Option<String>,
    /// Earlier JSON reports to overlay on --plot.
    #[arg(long)]
    pub plot_add: Vec<String>,
    /// Fail (exit 3) if the overall p99 exceeds this many milliseconds.
    #[arg(long)]
    pub p99_target_ms: Option<f64>,
    /// Per-operation p99 targets in ms, e.g. get=2,put=5.
    #[arg(long)]
    pub p99_target: Option<String>,
    /// Fail (exit 3) if failed ÷ attempted requests exceeds this fraction
    /// (timeouts and, in open loop, requests due but never sent count as
    /// failed). Default 0 whenever a p99 target is set: any error fails it.
    #[arg(long)]
    pub max_error_rate: Option<f64>,
    /// No per-second progress lines.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    #[arg(long)]
    pub endpoint_a: String,
    #[arg(long)]
    pub endpoint_b: String,
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// Write the comparison (both merged reports and ratios) as JSON.
    #[arg(long)]
    pub json: Option<String>,
    /// Overlay A and B in an SVG plot.
    #[arg(long)]
    pub plot: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct PlotArgs {
    /// JSON reports written by `run --json`.
    #[arg(required = true)]
    pub reports: Vec<String>,
    #[arg(short = 'o', long = "output")]
    pub output: String,
    #[arg(long, default_value = "Latency by percentile")]
    pub title: String,
    /// Plot this operation's curve instead of the overall one.
    #[arg(long)]
    pub op: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct FakeServerArgs {
    #[arg(long, default_value = "127.0.0.1:8100")]
    pub listen: String,
    /// Also listen on N per-shard ports starting at --shard-port-base.
    #[arg(long, default_value_t = 0)]
    pub shards: u16,
    #[arg(long, default_value_t = 8200)]
    pub shard_port_base: u16,
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    #[arg(long, default_value_t = 1)]
    pub cpu_offset: usize,
    #[arg(long)]
    pub no_pin: bool,
}

/// `30`, `30s`, `2m`, `1h` → seconds (wrk's habit; plain numbers are seconds).
pub fn parse_seconds(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30, 10s, 2m or 1h"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (use s, m or h)")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too long"))
}

fn env_or(flag: &Option<String>, var: &str, default: &str) -> String {
    flag.clone()
        .or_else(|| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| default.to_string())
}

impl WorkloadArgs {
    /// Validates flags and builds the run description for `endpoint`.
    pub fn to_spec(&self, endpoint: &str) -> Result<RunSpec> {
        let invalid = |m: &str| Err(LoadgenError::InvalidArgument(m.to_string()));
        if self.threads == 0 {
            return invalid("--threads must be at least 1");
        }
        if self.connections < self.threads {
            return invalid("--connections must be at least --threads");
        }
        if let Some(r) = self.rate
            && !(r.is_finite() && r > 0.0)
        {
            return invalid("--rate must be a positive number of ops/s");
        }
        if self.duration == 0 {
            return invalid("--duration must be at least 1 second");
        }
        if self.record_count == 0 {
            return invalid("--record-count must be at least 1");
        }
        let valid_table = (3..=255).contains(&self.table.len())
            && self
                .table
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if !valid_table {
            return invalid("--table must be 3–255 characters of [A-Za-z0-9_.-]");
        }
        let (preset_mix, preset_dist) =
            ycsb_preset(if self.mix.is_some() && self.workload == "ycsb-b" {
                "custom"
            } else {
                &self.workload
            })?;
        let mix = match &self.mix {
            Some(m) => Mix::parse(m)?,
            None => preset_mix,
        };
        // BatchWriteItem takes 25 requests; BatchGetItem and transactions 100.
        if self.batch_size == 0
            || self.batch_size > 100
            || (self.batch_size > 25 && mix.contains(crate::workload::OpKind::BatchWrite))
        {
            return invalid(
                "--batch-size must be 1..=25 with batchwrite (BatchWriteItem's limit), else 1..=100",
            );
        }
        let endpoint = Endpoint::parse(endpoint)?;
        match &self.ca {
            Some(ca) => crate::tls::configure(ca)?,
            None if endpoint.tls => return invalid("https:// endpoints need --ca FILE"),
            None => {}
        }
        Ok(RunSpec {
            endpoint,
            shard_map: None,
            key_filter: None,
            creds: Credentials {
                access_key_id: env_or(&self.access_key_id, "AWS_ACCESS_KEY_ID", "AKIDLOADGEN"),
                secret_access_key: env_or(
                    &self.secret_access_key,
                    "AWS_SECRET_ACCESS_KEY",
                    "loadgen-dummy-secret",
                ),
                session_token: std::env::var("AWS_SESSION_TOKEN")
                    .ok()
                    .filter(|t| !t.is_empty()),
            },
            region: env_or(&self.region, "AWS_REGION", "us-east-1"),
            mix,
            distribution: self.distribution.unwrap_or(preset_dist),
            shape: RecordShape {
                table: self.table.clone(),
                field_count: self.field_count,
                value_size: self.value_size,
                scan_length_max: self.scan_length_max,
                batch_size: self.batch_size,
            },
            record_count: self.record_count,
            threads: self.threads,
            connections: self.connections,
            rate_ops_per_s: self.rate,
            duration_s: self.duration,
            warmup_s: self.warmup,
            seed: self.seed,
            pinning: Pinning {
                enabled: !self.no_pin,
                cpu_offset: self.cpu_offset,
                spin_before_park: std::time::Duration::from_micros(self.spin_before_park_us),
            },
            request_timeout: (self.request_timeout_ms > 0)
                .then(|| std::time::Duration::from_millis(self.request_timeout_ms)),
            retries_max: self.retries,
            retry_base: std::time::Duration::from_millis(self.retry_base_ms),
        })
    }

    /// Workload name as shown in reports.
    pub fn display_name(&self) -> String {
        match &self.mix {
            Some(m) => format!("mix({m})"),
            None => self.workload.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_flags_mean_run() {
        let cli = Cli::try_parse_from(["lg", "--endpoint", "http://127.0.0.1:1", "--rate", "1000"])
            .unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.run.workload.rate, Some(1000.0));
        let spec = cli.run.workload.to_spec(&cli.run.endpoint).unwrap();
        assert_eq!(spec.endpoint.addr, "127.0.0.1:1");
    }

    #[test]
    fn subcommands_parse() {
        let cli = Cli::try_parse_from(["lg", "plot", "a.json", "b.json", "-o", "x.svg"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Plot(p)) if p.reports.len() == 2));
        let cli = Cli::try_parse_from([
            "lg",
            "compare",
            "--endpoint-a",
            "http://a:1",
            "--endpoint-b",
            "http://b:1",
            "--workload",
            "ycsb-c",
            "--rounds",
            "2",
        ])
        .unwrap();
        assert!(matches!(cli.command, Some(Command::Compare(c)) if c.rounds == 2));
    }

    #[test]
    fn durations_accept_units() {
        assert_eq!(parse_seconds("30"), Ok(30));
        assert_eq!(parse_seconds("10s"), Ok(10));
        assert_eq!(parse_seconds("2m"), Ok(120));
        assert_eq!(parse_seconds("1h"), Ok(3600));
        assert!(parse_seconds("10ms").is_err());
        assert!(parse_seconds("m").is_err());
        assert!(parse_seconds("-1").is_err());
        let cli = Cli::try_parse_from(["lg", "--duration", "2m", "--warmup", "5s"]).unwrap();
        assert_eq!(cli.run.workload.duration, 120);
        assert_eq!(cli.run.workload.warmup, 5);
        let cli = Cli::try_parse_from(["lg", "--max-error-rate", "0.01"]).unwrap();
        assert_eq!(cli.run.max_error_rate, Some(0.01));
    }

    #[test]
    fn validation() {
        let parse = |extra: &[&str]| {
            let mut v = vec!["lg"];
            v.extend_from_slice(extra);
            let cli = Cli::try_parse_from(v).unwrap();
            cli.run.workload.to_spec(&cli.run.endpoint)
        };
        assert!(parse(&["--rate", "0"]).is_err());
        assert!(parse(&["--threads", "0"]).is_err());
        assert!(parse(&["--workload", "ycsb-q"]).is_err());
        assert!(parse(&["--mix", "get=1,scan=1"]).is_ok());
        assert!(parse(&["--endpoint", "https://x"]).is_err());
        let spec = parse(&["--workload", "ycsb-d"]).unwrap();
        assert_eq!(spec.distribution, DistributionKind::Latest);
    }
}
