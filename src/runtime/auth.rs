//! The runtime side of authentication: which credentials are in force, the
//! start-up rule for servers without credentials, the SIGHUP reload, and
//! each shard's check of a request's signature before anything decodes it.
//!
//! Sharing: the credentials set is immutable (`Arc<Credentials>`); a reload
//! builds a new one on the reloader thread and publishes it in [`Shared`]
//! (a generation counter plus the set). Each shard polls the generation in
//! its heartbeat loop (every 50 ms) and swaps in a new [`Verifier`] (with a
//! fresh signing-key cache) — the request path touches only the shard's own
//! `Rc`, and a request in flight keeps the verifier it started with.

use std::cell::{Cell, RefCell};
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::auth::sigv4::{self, SignedRequest};
use crate::auth::{AuthError, Credentials, Key, Verifier};
use crate::config::Config;

use super::error::RuntimeError;

/// Headers a request may carry that the verifier looks at (httparse's
/// own limit in `http.rs` is the same).
const HEADERS_MAX: usize = 48;

/// The credentials in force, shared by every shard.
pub struct Shared {
    generation: AtomicU64,
    current: Mutex<Option<Arc<Credentials>>>,
    path: Option<PathBuf>,
}

impl Shared {
    /// Loads the configured credentials (if any) and applies the start
    /// rule: without credentials every listen address must be loopback,
    /// unless `insecure_no_auth`.
    pub fn start(config: &Config, listen: &[String]) -> Result<Arc<Shared>, RuntimeError> {
        let current = match &config.credentials_file {
            Some(path) => {
                let creds = Credentials::load(path)
                    .map_err(|e| RuntimeError::Credentials(e.to_string()))?;
                tracing::info!(keys = creds.len(), file = %path.display(), "SigV4 verification on");
                Some(Arc::new(creds))
            }
            None => {
                let open: Vec<&String> = listen.iter().filter(|a| !is_loopback(a)).collect();
                if !open.is_empty() && !config.insecure_no_auth {
                    return Err(RuntimeError::OpenWithoutCredentials {
                        listen: open
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
                if open.is_empty() {
                    tracing::warn!(
                        "no --credentials: accepting any well-formed SigV4 signature (loopback only)"
                    );
                } else {
                    tracing::warn!(
                        "--insecure-no-auth: serving {} WITHOUT authentication; anyone who can reach it may read, write and delete every table",
                        open.iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                None
            }
        };
        Ok(Arc::new(Shared {
            generation: AtomicU64::new(0),
            current: Mutex::new(current),
            path: config.credentials_file.clone(),
        }))
    }

    fn snapshot(&self) -> (u64, Option<Arc<Credentials>>) {
        let current = match self.current.lock() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        (self.generation.load(Ordering::Acquire), current)
    }
}

/// Re-reads the credentials file (SIGHUP). A file that does not parse
/// leaves the credentials in force as they were. Blocking file I/O: runs
/// on the reloader thread, never on a shard.
pub fn reload_credentials(shared: &Shared) {
    let Some(path) = &shared.path else {
        tracing::info!("SIGHUP: no credentials file configured; nothing to reload");
        return;
    };
    match Credentials::load(path) {
        Ok(creds) => {
            let keys = creds.len();
            match shared.current.lock() {
                Ok(mut c) => *c = Some(Arc::new(creds)),
                Err(poisoned) => *poisoned.into_inner() = Some(Arc::new(creds)),
            }
            shared.generation.fetch_add(1, Ordering::AcqRel);
            tracing::info!(keys, file = %path.display(), "credentials reloaded");
        }
        Err(e) => tracing::error!("credentials reload failed, previous credentials kept: {e}"),
    }
}

/// Starts the thread that reloads credentials on SIGHUP.
pub fn spawn_reloader(shared: Arc<Shared>) -> Result<(), RuntimeError> {
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP])
        .map_err(RuntimeError::Signal)?;
    std::thread::Builder::new()
        .name("sighup".into())
        .spawn(move || {
            for _ in signals.forever() {
                reload_credentials(&shared);
            }
        })
        .map_err(RuntimeError::Signal)?;
    Ok(())
}

/// True when `addr` (host:port) names only loopback addresses.
pub fn is_loopback(addr: &str) -> bool {
    match addr.to_socket_addrs() {
        Ok(resolved) => {
            let all: Vec<_> = resolved.collect();
            !all.is_empty() && all.iter().all(|a| a.ip().is_loopback())
        }
        Err(_) => false,
    }
}

/// One shard's view: the verifier in force (None: no credentials).
pub struct ShardAuth {
    shared: Arc<Shared>,
    generation: Cell<u64>,
    verifier: RefCell<Option<Rc<Verifier>>>,
    region: String,
    keys_max: usize,
}

/// Who signed a request.
pub enum Caller {
    /// No credentials configured: a well-formed signature of anyone.
    Anonymous,
    /// A configured key (kept alive by its verifier's credentials).
    Key(Rc<Verifier>, String),
}

impl Caller {
    /// The key, when credentials are configured.
    pub fn key(&self) -> Option<&Key> {
        match self {
            Caller::Anonymous => None,
            Caller::Key(v, id) => v.credentials().get(id),
        }
    }
}

impl ShardAuth {
    pub fn new(shared: Arc<Shared>, config: &Config) -> ShardAuth {
        let auth = ShardAuth {
            shared,
            generation: Cell::new(u64::MAX),
            verifier: RefCell::new(None),
            region: config.region.clone(),
            keys_max: config.signing_keys_max,
        };
        auth.refresh();
        auth
    }

    /// Picks up reloaded credentials (the shard's heartbeat calls this).
    pub fn refresh(&self) {
        if self.shared.generation.load(Ordering::Acquire) == self.generation.get() {
            return;
        }
        let (generation, creds) = self.shared.snapshot();
        *self.verifier.borrow_mut() =
            creds.map(|c| Rc::new(Verifier::new(c, &self.region, self.keys_max)));
        self.generation.set(generation);
    }

    /// Verifies the signature of a request whose head is `head` (raw bytes)
    /// and body `body` (as received).
    pub fn authenticate(&self, head: &[u8], body: &[u8]) -> Result<Caller, AuthError> {
        let mut parsed = [httparse::EMPTY_HEADER; HEADERS_MAX];
        let mut req = httparse::Request::new(&mut parsed);
        // The HTTP layer parsed this head already; failing now is impossible
        // short of a bug, and then nothing is authenticated.
        if !matches!(req.parse(head), Ok(httparse::Status::Complete(_))) {
            return Err(AuthError::Missing);
        }
        let mut fields: [(&str, &[u8]); HEADERS_MAX] = [("", &[]); HEADERS_MAX];
        let mut n = 0;
        for h in req.headers.iter() {
            if n < HEADERS_MAX {
                fields[n] = (h.name, h.value);
                n += 1;
            }
        }
        let request = SignedRequest {
            method: req.method.unwrap_or(""),
            target: req.path.unwrap_or(""),
            headers: &fields[..n],
            body,
        };
        let verifier = self.verifier.borrow().clone();
        match verifier {
            None => anonymous(&request).map(|()| Caller::Anonymous),
            Some(v) => {
                let id = v.verify(&request, unix_now())?.access_key_id.clone();
                Ok(Caller::Key(v, id))
            }
        }
    }
}

/// Without credentials: any well-formed `Authorization` header (as DynamoDB
/// Local does), dated or not.
fn anonymous(request: &SignedRequest<'_>) -> Result<(), AuthError> {
    let value = request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, v)| std::str::from_utf8(v).ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let Some(value) = value else {
        return Err(AuthError::Missing);
    };
    sigv4::parse_authorization(value, true).map(|_| ())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
