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
    Serve(Box<ServeArgs>),
    /// Write a new random 32-byte encryption key to FILE (mode 0600; an
    /// existing file is never overwritten).
    Keygen {
        /// Where to write the key.
        file: PathBuf,
    },
}

/// Writes a fresh master key; refuses to replace an existing file (losing
/// a key loses the data it encrypts).
fn keygen(file: &std::path::Path) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let bytes = dynacore::engine::seal::MasterKey::generate().map_err(|e| e.to_string())?;
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => format!(
                "{} already exists; refusing to overwrite a key (move it away first)",
                file.display()
            ),
            _ => format!("cannot create {}: {e}", file.display()),
        })?;
    out.write_all(&bytes)
        .and_then(|()| out.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    eprintln!(
        "dynacore: wrote a new 32-byte key to {} (mode 0600); keep a copy: data encrypted under it cannot be read without it",
        file.display()
    );
    Ok(())
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
    /// Address to serve HTTPS on (every shard accepts here), beside or
    /// instead of --listen (`--listen ''` turns plaintext off).
    #[arg(long)]
    tls_listen: Option<String>,
    /// PEM certificate chain for --tls-listen (re-read on SIGHUP).
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert (re-read on SIGHUP).
    #[arg(long)]
    tls_key: Option<PathBuf>,
    /// Encrypt data at rest under the 32-byte key in FILE (`dynacore keygen`).
    #[arg(long, value_name = "FILE")]
    encryption_key_file: Option<PathBuf>,
    /// Admin listener (Prometheus /metrics, /dynacore/*): ADDR, or "off".
    #[arg(long)]
    admin_listen: Option<String>,
    /// Root of the S3-layout folders for ExportTableToPointInTime and
    /// ImportTable (S3Bucket = a folder under it; default DATA_DIR/exports).
    #[arg(long)]
    export_root: Option<PathBuf>,
    /// TOML configuration file (flags override it).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Credentials file (TOML `[[credentials]]` entries); reloaded on SIGHUP.
    #[arg(long)]
    credentials: Option<PathBuf>,
    /// Serve a non-loopback address without --credentials (unauthenticated).
    #[arg(long)]
    insecure_no_auth: bool,
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
    if args.export_root.is_some() {
        config.export_root = args.export_root;
    }
    if args.shards.is_some() {
        config.shards = args.shards;
    }
    if args.shard_port_base.is_some() {
        config.shard_port_base = args.shard_port_base;
    }
    if args.credentials.is_some() {
        config.credentials_file = args.credentials;
    }
    if args.insecure_no_auth {
        config.insecure_no_auth = true;
    }
    if args.tls_listen.is_some() {
        config.tls_listen = args.tls_listen;
    }
    if args.tls_cert.is_some() {
        config.tls_cert = args.tls_cert;
    }
    if args.tls_key.is_some() {
        config.tls_key = args.tls_key;
    }
    if args.encryption_key_file.is_some() {
        config.encryption_key_file = args.encryption_key_file;
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
        Command::Serve(args) => build_config(*args)
            .and_then(|config| dynacore::runtime::run(config).map_err(|e| e.to_string())),
        Command::Keygen { file } => keygen(&file),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dynacore: {e}");
            ExitCode::FAILURE
        }
    }
}
