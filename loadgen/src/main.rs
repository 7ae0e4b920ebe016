//! `dynacore-loadgen`: the bundled load generator of Dynacore.
//!
//! Drives any DynamoDB-compatible HTTP endpoint with SigV4-signed requests
//! from glommio executors (one per `--threads`), with YCSB A–F or custom
//! mixes, open-loop (coordinated-omission corrected) or closed-loop, and
//! reports HdrHistogram latencies per operation. The one design decision to
//! know: latency is always measured from the *intended* send time; the
//! uncorrected figure is shown beside it, never instead of it.

mod cli;
mod commands;
mod conn;
mod control;
mod error;
mod fake_server;
mod http;
mod keydist;
mod load;
mod netfuzz;
mod plot;
mod report;
mod runner;
mod runtime;
mod schedule;
mod shard;
mod sigv4;
mod stats;
mod tls;
mod workload;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        None => commands::run(&cli.run),
        Some(Command::Run(args)) => commands::run(args),
        Some(Command::Compare(args)) => commands::compare(args),
        Some(Command::Plot(args)) => commands::plot(args),
        Some(Command::Fuzz(args)) => commands::fuzz(args),
        Some(Command::FakeServer(args)) => fake_server::serve(fake_server::FakeServerSpec {
            listen: args.listen.clone(),
            shard_ports: (0..args.shards).map(|i| args.shard_port_base + i).collect(),
            threads: args.threads,
            pinning: runtime::Pinning {
                enabled: !args.no_pin,
                cpu_offset: args.cpu_offset,
                spin_before_park: std::time::Duration::ZERO,
            },
            ready: None,
        })
        .map(|()| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("dynacore-loadgen: {e}");
            ExitCode::from(1)
        }
    }
}
