//! The subcommands: wiring of load phase, run phase, outputs and SLO gate.
//!
//! Everything here runs on the main thread; the executors live inside
//! [`runner::run`] and [`load::load`]. Progress and diagnostics go to
//! stderr, the summary to stdout, so `> result.txt` captures only results.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::V2Serializer;
use hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder;

use crate::cli::{CompareArgs, FuzzArgs, PlotArgs, RunArgs, WorkloadArgs};
use crate::control;
use crate::error::{LoadgenError, Result};
use crate::http::Endpoint;
use crate::load;
use crate::plot::{Series, render};
use crate::report::{Report, ReportContext, SloTargets, hgrm, log_interval};
use crate::runner::{self, RunOutcome, RunSpec};
use crate::shard::ShardMap;
use crate::stats::Stats;

/// Exit code when an SLO target is missed.
pub const EXIT_SLO_FAILED: u8 = 3;

/// Fetches the partition map when `--shard-aware` or `--keys-on-shard` is on.
fn attach_shard_map(spec: &mut RunSpec, workload: &WorkloadArgs) -> Result<()> {
    if let Some(shard) = workload.keys_on_shard {
        let map = fetch_shard_map(spec)?;
        if shard >= map.endpoints.len() {
            return Err(LoadgenError::InvalidArgument(format!(
                "--keys-on-shard {shard}: the server has {} shards",
                map.endpoints.len()
            )));
        }
        spec.key_filter = Some((map, shard));
    }
    if !workload.shard_aware {
        return Ok(());
    }
    let map = fetch_shard_map(spec)?;
    eprintln!("shard-aware: {} shards", map.endpoints.len());
    spec.shard_map = Some(map);
    Ok(())
}

fn fetch_shard_map(spec: &RunSpec) -> Result<ShardMap> {
    let mut signer = crate::sigv4::Signer::new(spec.creds.clone(), &spec.region, "dynamodb");
    let resp = control::get(&spec.endpoint, &mut signer, "/dynacore/partition-map")?;
    if resp.status != 200 {
        return Err(LoadgenError::ShardMap(format!(
            "GET /dynacore/partition-map answered HTTP {} — is this a Dynacore server?",
            resp.status
        )));
    }
    ShardMap::parse(&resp.body)
}

/// Creates and fills the table unless `--skip-load` or already loaded.
fn prepare(spec: &RunSpec, w: &WorkloadArgs) -> Result<()> {
    if w.skip_load {
        return Ok(());
    }
    let created = load::ensure_table(spec)?;
    if !created && load::is_loaded(spec)? {
        eprintln!(
            "table {} already holds record {} — skipping load",
            spec.shape.table,
            spec.record_count - 1
        );
        return Ok(());
    }
    eprintln!(
        "loading {} records into {} ({} threads, {} connections)…",
        spec.record_count, spec.shape.table, spec.threads, spec.connections
    );
    let (written, took) = load::load(spec)?;
    eprintln!(
        "loaded {written} records in {:.1} s ({:.0} records/s)",
        took.as_secs_f64(),
        written as f64 / took.as_secs_f64().max(1e-9)
    );
    Ok(())
}

fn progress_line(index: u64, stats: &Stats, warmup: bool) -> String {
    let all = stats.overall();
    format!(
        "[{:>4}s{}] {:>9} ops/s  p99 {:>8.3} ms (uncorrected {:>8.3})  max {:>8.3} ms  errors {} (throttles {})",
        index + 1,
        if warmup { " warmup" } else { "" },
        all.ops(),
        all.corrected.value_at_quantile(0.99) as f64 / 1000.0,
        all.uncorrected.value_at_quantile(0.99) as f64 / 1000.0,
        all.corrected.max() as f64 / 1000.0,
        stats.total_errors(),
        stats.throttles
    )
}

/// Runs the measured phase, printing progress and writing the interval log.
fn measure(spec: &RunSpec, quiet: bool, hdr_log: Option<&str>) -> Result<RunOutcome> {
    let mut log_file = match hdr_log {
        Some(path) => Some((
            path,
            BufWriter::new(File::create(path).map_err(|e| LoadgenError::output(path, e))?),
        )),
        None => None,
    };
    let mut serializer = V2Serializer::new();
    let start_time = SystemTime::now();
    let mut log_error: Option<LoadgenError> = None;
    let outcome = {
        let mut writer = match &mut log_file {
            Some((path, file)) => Some(
                IntervalLogWriterBuilder::new()
                    .add_comment("dynacore-loadgen interval log; values in microseconds; tag = operation, untagged = all")
                    .with_start_time(start_time)
                    .with_base_time(start_time)
                    .with_max_value_divisor(1000.0)
                    .begin_log_with(file, &mut serializer)
                    .map_err(|e| LoadgenError::output(*path, e))?,
            ),
            None => None,
        };
        runner::run(spec, |index, stats, warmup| {
            if !quiet {
                eprintln!("{}", progress_line(index, stats, warmup));
            }
            if let Some(w) = writer.as_mut()
                && let Err(e) = log_interval(w, index, stats)
            {
                log_error.get_or_insert(LoadgenError::Output {
                    path: hdr_log.unwrap_or_default().to_string(),
                    source: std::io::Error::other(e),
                });
            }
        })?
    };
    if let Some((path, mut file)) = log_file {
        file.flush().map_err(|e| LoadgenError::output(path, e))?;
    }
    if let Some(e) = log_error {
        return Err(e);
    }
    Ok(outcome)
}

/// `run`: returns the process exit code.
pub fn run(args: &RunArgs) -> Result<u8> {
    let slo = SloTargets::parse_with_error_rate(
        args.p99_target_ms,
        args.p99_target.as_deref(),
        args.max_error_rate,
    )?;
    let mut spec = args.workload.to_spec(&args.endpoint)?;
    attach_shard_map(&mut spec, &args.workload)?;
    prepare(&spec, &args.workload)?;
    let outcome = measure(&spec, args.quiet, args.hdr_log.as_deref())?;
    let workload = args.workload.display_name();
    let label = args.label.clone().unwrap_or_else(|| workload.clone());
    let ctx = ReportContext {
        label: &label,
        endpoint: &args.endpoint,
        workload: &workload,
        rate: spec.rate_ops_per_s,
        threads: spec.threads,
        connections: spec.connections,
        duration_s: spec.duration_s,
    };
    let mut report = Report::build(
        &ctx,
        &outcome.totals,
        outcome.cpu,
        outcome.wall.as_secs_f64(),
    );
    print!("{}", report.summary());
    let mut exit = 0;
    if !slo.is_empty() {
        let (pass, verdict) = slo.evaluate(&report);
        println!("{verdict}");
        report.slo = Some(verdict);
        if !pass {
            exit = EXIT_SLO_FAILED;
        }
    }
    if let Some(path) = &args.json {
        report.write_json(path)?;
    }
    if let Some(path) = &args.hgrm {
        let text = hgrm(&outcome.totals.overall().corrected);
        std::fs::write(path, text).map_err(|e| LoadgenError::output(path, e))?;
    }
    if let Some(path) = &args.plot {
        let mut series = Vec::new();
        for prior in &args.plot_add {
            let r = Report::read_json(prior)?;
            series.push(Series {
                label: r.label.clone(),
                points: r.all.percentiles.clone(),
            });
        }
        series.push(Series {
            label: report.label.clone(),
            points: report.all.percentiles.clone(),
        });
        let svg = render(&format!("{workload} — latency by percentile"), &series);
        std::fs::write(path, svg).map_err(|e| LoadgenError::output(path, e))?;
    }
    Ok(exit)
}

/// `plot`: overlay saved reports.
pub fn plot(args: &PlotArgs) -> Result<u8> {
    let mut series = Vec::new();
    for path in &args.reports {
        let r = Report::read_json(path)?;
        let points = match &args.op {
            None => r.all.percentiles.clone(),
            Some(op) => r
                .operations
                .get(op)
                .map(|o| o.percentiles.clone())
                .ok_or_else(|| {
                    LoadgenError::InvalidArgument(format!("{path} has no operation {op:?}"))
                })?,
        };
        let label = if r.label.is_empty() {
            path.clone()
        } else {
            format!("{} ({path})", r.label)
        };
        series.push(Series { label, points });
    }
    std::fs::write(&args.output, render(&args.title, &series))
        .map_err(|e| LoadgenError::output(&args.output, e))?;
    eprintln!("wrote {}", args.output);
    Ok(0)
}

/// `compare`: A and B in alternation, merged per side, ratios B/A.
pub fn compare(args: &CompareArgs) -> Result<u8> {
    if args.rounds == 0 {
        return Err(LoadgenError::InvalidArgument(
            "--rounds must be at least 1".into(),
        ));
    }
    let mut specs = Vec::new();
    for ep in [&args.endpoint_a, &args.endpoint_b] {
        let mut spec = args.workload.to_spec(ep)?;
        attach_shard_map(&mut spec, &args.workload)?;
        prepare(&spec, &args.workload)?;
        specs.push(spec);
    }
    let workload = args.workload.display_name();
    let mut merged = [Stats::new(), Stats::new()];
    let mut cpu = [Duration::ZERO, Duration::ZERO];
    let mut wall = [0.0f64; 2];
    println!("round side  ops/s        p99 ms   errors");
    for round in 1..=args.rounds {
        // Alternate which side goes first so drift (thermal, page cache,
        // compaction debt) does not always favour the same side.
        let order: [usize; 2] = if round % 2 == 1 { [0, 1] } else { [1, 0] };
        for side in order {
            let outcome = measure(&specs[side], true, None)?;
            let secs = specs[side].duration_s as f64;
            let all = outcome.totals.overall();
            println!(
                "{round:>5} {}   {:>10.0}  {:>9.3}   {}",
                ["A", "B"][side],
                all.ops() as f64 / secs,
                all.corrected.value_at_quantile(0.99) as f64 / 1000.0,
                outcome.totals.total_errors()
            );
            merged[side].add(&outcome.totals);
            cpu[side] += outcome.cpu.user + outcome.cpu.system;
            wall[side] += outcome.wall.as_secs_f64();
        }
    }
    let reports: Vec<Report> = (0..2)
        .map(|side| {
            let ctx = ReportContext {
                label: ["A", "B"][side],
                endpoint: [&args.endpoint_a, &args.endpoint_b][side],
                workload: &workload,
                rate: specs[side].rate_ops_per_s,
                threads: specs[side].threads,
                connections: specs[side].connections,
                duration_s: specs[side].duration_s * u64::from(args.rounds),
            };
            let cpu = crate::runtime::CpuTimes {
                user: cpu[side],
                system: Duration::ZERO,
            };
            Report::build(&ctx, &merged[side], cpu, wall[side])
        })
        .collect();
    for r in &reports {
        print!("{}", r.summary());
    }
    let ratio = |b: f64, a: f64| if a > 0.0 { b / a } else { f64::NAN };
    let tput = ratio(
        reports[1].throughput_ops_per_s,
        reports[0].throughput_ops_per_s,
    );
    let p99 = ratio(
        reports[1].all.latency.p99_us as f64,
        reports[0].all.latency.p99_us as f64,
    );
    println!("B/A throughput ratio {tput:.3}, p99 ratio {p99:.3}");
    for op in reports[0].operations.keys() {
        if let (Some(a), Some(b)) = (reports[0].operations.get(op), reports[1].operations.get(op)) {
            println!(
                "  {op}: throughput {:.3}, p99 {:.3}",
                ratio(b.throughput_ops_per_s, a.throughput_ops_per_s),
                ratio(b.latency.p99_us as f64, a.latency.p99_us as f64)
            );
        }
    }
    if let Some(path) = &args.json {
        let v = serde_json::json!({
            "a": reports[0], "b": reports[1],
            "throughput_ratio_b_over_a": tput, "p99_ratio_b_over_a": p99,
            "rounds": args.rounds,
        });
        let text = serde_json::to_string_pretty(&v).map_err(|e| LoadgenError::json(path, e))?;
        std::fs::write(path, text).map_err(|e| LoadgenError::output(path, e))?;
    }
    if let Some(path) = &args.plot {
        let series: Vec<Series> = reports
            .iter()
            .map(|r| Series {
                label: format!("{} {}", r.label, r.endpoint),
                points: r.all.percentiles.clone(),
            })
            .collect();
        std::fs::write(path, render(&format!("{workload}: A vs B"), &series))
            .map_err(|e| LoadgenError::output(path, e))?;
    }
    Ok(0)
}

/// `fuzz`: adversarial requests, then the liveness and canary checks.
pub fn fuzz(args: &FuzzArgs) -> Result<u8> {
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let spec = crate::netfuzz::FuzzSpec {
        endpoint: Endpoint::parse(&args.endpoint)?,
        seed,
        requests: args.requests,
        duration: std::time::Duration::from_secs(args.duration),
        reply_timeout: std::time::Duration::from_millis(args.reply_timeout_ms.max(1)),
        table: args.table.clone(),
        verbose: args.verbose,
    };
    println!("fuzz: seed {seed} (replay with --seed {seed})");
    let summary = crate::netfuzz::run(&spec)?;
    print!("{}", crate::netfuzz::report(&spec, &summary));
    Ok(0)
}
