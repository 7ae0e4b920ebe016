//! The `dynacore` binary: command line, configuration, then the runtime.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dynacore::config::{Config, ConfigError};

#[derive(Parser)]
#[command(
    name = "dynacore",
    version,
    about = "DynamoDB-compatible database server, thread-per-core on io_uring"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (every shard accepts here).
    #[arg(long)]
    listen: Option<String>,
    /// Data directory.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Number of shards (default: the CPUs available to the process).
    #[arg(long)]
    shards: Option<u32>,
    /// Shard i also listens on this port + i, for shard-aware clients.
    #[arg(long)]
    shard_port_base: Option<u16>,
    /// Admin listener (Prometheus /metrics, /dynacore/*): ADDR, or "off".
    #[arg(long)]
    admin_listen: Option<String>,
    /// TOML configuration file (flags override it).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Preset the file and flags start from: default or test_min.
    #[arg(long, default_value = "default")]
    profile: String,
}

fn build_config(args: ServeArgs) -> Result<Config, String> {
    let base = Config::preset(&args.profile)
        .ok_or_else(|| ConfigError::UnknownProfile(args.profile.clone()).to_string())?;
    let mut config = match &args.config {
        Some(path) => Config::load(path, base).map_err(|e| e.to_string())?,
        None => base,
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(admin) = args.admin_listen {
        config.admin_listen = admin;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    if args.shards.is_some() {
        config.shards = args.shards;
    }
    if args.shard_port_base.is_some() {
        config.shard_port_base = args.shard_port_base;
    }
    Ok(config)
}

fn main() -> ExitCode {
    // Colour codes only for a person at a terminal; log files and pipes get
    // plain text.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => build_config(args)
            .and_then(|config| dynacore::runtime::run(config).map_err(|e| e.to_string())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dynacore: {e}");
            ExitCode::FAILURE
        }
    }
}
