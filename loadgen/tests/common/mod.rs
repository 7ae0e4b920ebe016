//! The real Dynacore binary for the load generator's integration tests.
//!
//! The binary is found at `$DYNACORE_BIN`, else `target/release/dynacore`,
//! else `target/debug/dynacore` of the workspace (or `$CARGO_TARGET_DIR`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

pub fn server_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("DYNACORE_BIN") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("DYNACORE_BIN={} is not a file", p.display()))
        };
    }
    let mut tried = Vec::new();
    for dir in [target_dir(), workspace_root().join("target")] {
        for profile in ["release", "debug"] {
            let p = dir.join(profile).join("dynacore");
            if p.is_file() {
                return Ok(p);
            }
            let shown = p.display().to_string();
            if !tried.contains(&shown) {
                tried.push(shown);
            }
        }
    }
    Err(format!(
        "Dynacore server binary not found (tried {}); build it with \
         `cargo build --release -p dynacore` or set DYNACORE_BIN",
        tried.join(", ")
    ))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A running `dynacore serve`, killed when dropped (pass or fail).
pub struct Server {
    child: Child,
    pub addr: String,
    pub log: PathBuf,
}

impl Server {
    /// Starts `dynacore serve <args> --listen <free port> --data-dir
    /// <scratch>/data` and waits until every shard reports healthy. The
    /// port is picked free and bound later by the child, so another
    /// process may take it in between: only that failure is retried, on a
    /// fresh port. The server's log goes to `<scratch>/server.log`.
    #[allow(dead_code)] // each test binary compiles common/ on its own
    pub fn start(scratch: &Path, args: &[&str]) -> Server {
        Server::start_inner(scratch, args, false)
    }

    /// [`start`](Self::start) with shard-aware ports: `--shard-port-base`
    /// is picked free on every attempt too (a base chosen once could stay
    /// taken by another process, and every retry would fail alike).
    #[allow(dead_code)] // each test binary compiles common/ on its own
    pub fn start_with_shard_ports(scratch: &Path, args: &[&str]) -> Server {
        Server::start_inner(scratch, args, true)
    }

    fn start_inner(scratch: &Path, args: &[&str], shard_ports: bool) -> Server {
        let bin = server_binary().unwrap_or_else(|msg| panic!("{msg}"));
        let log = scratch.join("server.log");
        for attempt in 1.. {
            let addr = format!("127.0.0.1:{}", free_port());
            let shard_args = if shard_ports {
                vec!["--shard-port-base".to_string(), free_port().to_string()]
            } else {
                Vec::new()
            };
            let log_file = std::fs::File::create(&log).expect("server log under target/");
            let child = Command::new(&bin)
                .arg("serve")
                // Parallel tests never share the default admin port.
                .args(["--admin-listen", "off"])
                .args(args)
                .args(&shard_args)
                .args(["--listen", &addr, "--data-dir"])
                .arg(scratch.join("data"))
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let mut server = Server {
                child,
                addr,
                log: log.clone(),
            };
            match server.wait_healthy() {
                Ok(()) => return server,
                Err(text) if attempt < 10 && text.contains("cannot listen") => continue,
                Err(text) => panic!("dynacore did not start: {text}"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// Generous: only a hang should reach the deadline, not a busy machine.
    fn wait_healthy(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                return Err(format!("exited with {status}: {log}"));
            }
            if health_status(&self.addr) == Some(200) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("not healthy on {} within 120 s", self.addr))
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// True while the process runs.
    #[allow(dead_code)] // each test binary compiles common/ on its own
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status code of `GET /dynacore/health`, if anything answered.
fn health_status(addr: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET /dynacore/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let head = String::from_utf8_lossy(&reply);
    head.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}
