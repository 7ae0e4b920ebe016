//! Fault containment: per-shard liveness, the panic hook, the supervisor
//! loop of the main thread, and the `GET /dynacore/health` report.
//!
//! This is the one piece of state every thread sees: a fixed array of
//! atomics, one slot per shard, written only by its own shard (heartbeat,
//! poisoned flag, connection gauges) or by the panic hook, and read by any
//! shard answering a health check. It holds no shard data, so no lock and
//! no mesh round trip is needed: a health check answers even when a peer is
//! stuck or dead.
//!
//! The decision to know: a panic anywhere in the process is fatal. Keeping
//! the other shards up would serve half a keyspace (the dead shard's hash
//! ranges fail or hang), so the supervisor stops every shard and the process
//! exits non-zero within [`PANIC_EXIT_GRACE_MS`]; a supervisor (systemd,
//! `tuning/dynacore.service`) restarts it and WAL recovery brings back every
//! acknowledged write.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// After a panic, how long the other shards get to close their stores
/// before the process exits regardless (a shard may be waiting on the dead
/// one). Recovery does not need the close; it only makes restart faster.
pub const PANIC_EXIT_GRACE_MS: u64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardState {
    Starting,
    Serving,
    Stopped,
    Dead,
}

impl ShardState {
    fn from_u8(v: u8) -> ShardState {
        match v {
            0 => ShardState::Starting,
            1 => ShardState::Serving,
            2 => ShardState::Stopped,
            _ => ShardState::Dead,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ShardState::Starting => "starting",
            ShardState::Serving => "serving",
            ShardState::Stopped => "stopped",
            ShardState::Dead => "dead",
        }
    }
}

#[derive(Default)]
struct Slot {
    state: AtomicU8,
    poisoned: AtomicBool,
    heartbeat_ms: AtomicU64,
    connections_open: AtomicU64,
    buffer_bytes: AtomicU64,
}

/// Liveness of every shard of this process.
pub struct Health {
    start: Instant,
    stale_ms: u64,
    shards: Box<[Slot]>,
    panic: OnceLock<String>,
    /// The first shard that stopped with an error while the others ran.
    failure: OnceLock<String>,
}

/// One shard's figures, as the health report shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardReport {
    pub state: ShardState,
    pub poisoned: bool,
    pub heartbeat_age_ms: u64,
    pub connections_open: u64,
    pub buffer_bytes: u64,
}

impl ShardReport {
    fn healthy(&self, stale_ms: u64) -> bool {
        self.state == ShardState::Serving && !self.poisoned && self.heartbeat_age_ms <= stale_ms
    }
}

impl Health {
    /// `stale_ms`: a serving shard whose heartbeat is older counts as down
    /// (its executor is blocked or spinning).
    pub fn new(shards: u32, stale_ms: u64) -> Health {
        Health {
            start: Instant::now(),
            stale_ms,
            shards: (0..shards).map(|_| Slot::default()).collect(),
            panic: OnceLock::new(),
            failure: OnceLock::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn slot(&self, shard: u32) -> Option<&Slot> {
        self.shards.get(shard as usize)
    }

    pub fn set_state(&self, shard: u32, state: ShardState) {
        if let Some(s) = self.slot(shard) {
            // Dead is final: a later "stopped" from unwinding must not hide it.
            let _ = s
                .state
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |old| {
                    (ShardState::from_u8(old) != ShardState::Dead).then_some(state as u8)
                });
            s.heartbeat_ms.store(self.now_ms(), Ordering::Relaxed);
        }
    }

    /// Called by the shard itself on every tick of its main loop.
    pub fn beat(&self, shard: u32, poisoned: bool, buffer_bytes: u64) {
        if let Some(s) = self.slot(shard) {
            s.heartbeat_ms.store(self.now_ms(), Ordering::Relaxed);
            s.poisoned.store(poisoned, Ordering::Relaxed);
            s.buffer_bytes.store(buffer_bytes, Ordering::Relaxed);
        }
    }

    /// The shard's open connections, updated as they open and close.
    pub fn set_connections_open(&self, shard: u32, open: u64) {
        if let Some(s) = self.slot(shard) {
            s.connections_open.store(open, Ordering::Relaxed);
        }
    }

    /// Records the first panic of the process (later ones are logged by the
    /// hook but the first is the cause).
    pub fn record_panic(&self, shard: Option<u32>, message: String) {
        if let Some(id) = shard {
            self.set_state(id, ShardState::Dead);
        }
        let _ = self.panic.set(message);
    }

    /// A shard stopped with an error (it could not open its store, join
    /// the mesh, listen, …): as fatal as a panic, since the other shards
    /// may wait for it forever (a peer that never joins the mesh).
    pub fn record_failure(&self, shard: u32, message: String) {
        self.set_state(shard, ShardState::Dead);
        let _ = self.failure.set(format!("shard {shard}: {message}"));
    }

    pub fn panic_message(&self) -> Option<&str> {
        self.panic.get().map(String::as_str)
    }

    pub fn report(&self) -> Vec<ShardReport> {
        let now = self.now_ms();
        self.shards
            .iter()
            .map(|s| ShardReport {
                state: ShardState::from_u8(s.state.load(Ordering::SeqCst)),
                poisoned: s.poisoned.load(Ordering::Relaxed),
                heartbeat_age_ms: now.saturating_sub(s.heartbeat_ms.load(Ordering::Relaxed)),
                connections_open: s.connections_open.load(Ordering::Relaxed),
                buffer_bytes: s.buffer_bytes.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// `(status, body)` for `GET /dynacore/health`: 200 only while every
    /// shard serves, is not poisoned and has a fresh heartbeat; else 503.
    pub fn http_report(&self) -> (u16, Vec<u8>) {
        let shards = self.report();
        let ok = self.panic.get().is_none() && shards.iter().all(|s| s.healthy(self.stale_ms));
        let mut out = format!(
            "{{\"status\":\"{}\",\"shards\":[",
            if ok { "ok" } else { "unavailable" }
        );
        for (i, s) in shards.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&format!(
                "{{\"shard\":{i},\"state\":\"{}\",\"healthy\":{},\"poisoned\":{},\"heartbeat_age_ms\":{},\
                 \"connections_open\":{},\"connection_buffer_bytes\":{}}}",
                s.state.name(),
                s.healthy(self.stale_ms),
                s.poisoned,
                s.heartbeat_age_ms,
                s.connections_open,
                s.buffer_bytes
            ));
        }
        out.push_str("]}");
        (if ok { 200 } else { 503 }, out.into_bytes())
    }

    /// True once no shard is starting or serving any more.
    fn all_down(&self) -> bool {
        self.report()
            .iter()
            .all(|s| matches!(s.state, ShardState::Stopped | ShardState::Dead))
    }
}

/// Sets the shard's final state when its executor's main future ends,
/// whether it returned or unwound.
pub struct ShardGuard<'a> {
    pub health: &'a Health,
    pub shard: u32,
}

impl Drop for ShardGuard<'_> {
    fn drop(&mut self) {
        let state = if std::thread::panicking() {
            ShardState::Dead
        } else {
            ShardState::Stopped
        };
        self.health.set_state(self.shard, state);
    }
}

/// Makes every panic in the process visible to the supervisor: the default
/// hook still prints the message and location to stderr, and the message is
/// also logged through tracing and recorded in `health`.
pub fn install_panic_hook(health: std::sync::Arc<Health>) {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_string());
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed").to_string();
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        // glommio names executor threads "<our name>-<executor id>".
        let shard = name
            .strip_prefix("shard-")
            .and_then(|n| n.split('-').next()?.parse().ok());
        tracing::error!(thread = %name, %location, "panic: {message}");
        health.record_panic(
            shard,
            format!("thread '{name}' panicked at {location}: {message}"),
        );
        default(info);
    }));
}

/// The main thread's loop while shards run. Returns `Ok` once every shard
/// stopped by itself (the caller joins them for their results), or `Err`
/// with the panic message once a panic was recorded: then it has asked the
/// others to stop (`shutdown`) and waited for them at most `grace`, and the
/// caller must exit the process non-zero without joining.
pub fn supervise(
    health: &Health,
    shutdown: &AtomicBool,
    grace: Duration,
) -> Result<(), super::error::RuntimeError> {
    loop {
        if let Some(message) = health.panic_message() {
            tracing::error!("a shard panicked; stopping every shard and exiting: {message}");
            stop_every_shard(health, shutdown, grace);
            return Err(super::error::RuntimeError::ShardPanicked {
                message: message.to_string(),
            });
        }
        if let Some(message) = health.failure.get() {
            tracing::error!("a shard failed; stopping every shard and exiting: {message}");
            stop_every_shard(health, shutdown, grace);
            return Err(super::error::RuntimeError::ShardFailed {
                message: message.clone(),
            });
        }
        if health.all_down() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asks every shard to stop and gives them `grace` to close their stores.
fn stop_every_shard(health: &Health, shutdown: &AtomicBool, grace: Duration) {
    shutdown.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + grace;
    while !health.all_down() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn report_fails_while_a_shard_is_down_or_poisoned() {
        let h = Health::new(2, 60_000);
        assert_eq!(h.http_report().0, 503, "starting shards are not healthy");
        h.set_state(0, ShardState::Serving);
        h.set_state(1, ShardState::Serving);
        let (status, body) = h.http_report();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        h.beat(1, true, 0);
        assert_eq!(h.http_report().0, 503);
        h.beat(1, false, 4096);
        assert_eq!(h.http_report().0, 200);
        h.record_panic(Some(1), "boom".into());
        let (status, body) = h.http_report();
        let body = String::from_utf8_lossy(&body).to_string();
        assert_eq!(status, 503);
        assert!(body.contains("\"state\":\"dead\""), "{body}");
        // A dead shard stays dead when its guard later reports "stopped".
        h.set_state(1, ShardState::Stopped);
        assert_eq!(h.report()[1].state, ShardState::Dead);
    }

    #[test]
    fn stale_heartbeat_is_unhealthy() {
        let h = Health::new(1, 0);
        h.set_state(0, ShardState::Serving);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(h.http_report().0, 503);
    }

    /// The panic → exit path with real threads: one "shard" panics, the
    /// other runs until told to stop; supervise must return the panic
    /// message promptly instead of waiting for the survivor forever.
    #[test]
    fn a_panicking_shard_stops_the_process() {
        let health = Arc::new(Health::new(2, 60_000));
        let shutdown = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for id in 0..2u32 {
            let (health, shutdown) = (health.clone(), shutdown.clone());
            threads.push(std::thread::spawn(move || {
                let _guard = ShardGuard {
                    health: &health,
                    shard: id,
                };
                health.set_state(id, ShardState::Serving);
                if id == 1 {
                    // What the process-wide hook does, without installing a
                    // hook in the shared test process.
                    health.record_panic(Some(1), "thread 'shard-1' panicked: test".into());
                    panic!("test panic in shard 1");
                }
                while !shutdown.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }));
        }
        let result = supervise(&health, &shutdown, Duration::from_secs(60));
        let err = result.expect_err("a panic must fail the process");
        let err = err.to_string();
        assert!(err.contains("shard-1"), "{err}");
        assert!(
            shutdown.load(Ordering::SeqCst),
            "survivors are told to stop"
        );
        let states: Vec<_> = health.report().iter().map(|s| s.state).collect();
        assert_eq!(states, vec![ShardState::Stopped, ShardState::Dead]);
        for t in threads {
            let _ = t.join();
        }
    }

    #[test]
    fn clean_stop_returns_ok() {
        let health = Health::new(1, 60_000);
        health.set_state(0, ShardState::Stopped);
        let result = supervise(&health, &AtomicBool::new(false), Duration::ZERO);
        assert!(result.is_ok(), "{result:?}");
    }
}
