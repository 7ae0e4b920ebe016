//! TLS for the front door: HTTPS on `tls_listen` with rustls (TLS 1.2 and
//! 1.3, ALPN `http/1.1`) over glommio's TCP streams, served by every shard
//! (SO_REUSEPORT, like the plaintext listener) through the same HTTP layer,
//! deadlines and limits (`server.rs` is generic over the stream).
//!
//! What is shared between shards: one read-only `Arc<ServerConfig>` (the
//! certificate chain, key and rustls' stateless session-ticket-free
//! settings) per certificate generation, and nothing else. rustls' session
//! cache is per `ServerConfig`, so it is disabled: resumption would need a
//! cache every shard consults (a lock on the handshake path); a client
//! reconnecting pays a full handshake, measured in README.
//!
//! Reload: on SIGHUP a dedicated thread (never a shard) re-reads the PEM
//! files and, if they parse, publishes a new generation; each shard sees the
//! generation change at its next accept and takes the new config. Live
//! connections keep the config they shook hands with, so none is dropped; a
//! bad file is logged and the old certificate stays. The mutex is taken only
//! when the generation changed (once per reload per shard), never per
//! request.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_rustls::TlsAcceptor;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why a certificate or key could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("cannot read TLS certificate {}: {reason}", path.display())]
    Certificate { path: PathBuf, reason: String },
    #[error("cannot read TLS private key {}: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    #[error("TLS certificate {} and key {} do not form a server configuration: {reason}", cert.display(), key.display())]
    Config {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
}

/// Where the certificate chain and private key (PEM) are read from.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Reads the PEM files and builds the server configuration. Blocking file
/// I/O: call at start-up or from the reload thread, never on a shard.
pub fn load(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = read_certs(&files.cert)?;
    let key = read_key(&files.key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config_error = |e: rustls::Error| TlsError::Config {
        cert: files.cert.clone(),
        key: files.key.clone(),
        reason: e.to_string(),
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(config_error)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(config_error)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // No session cache shared across shards (see the module doc); tickets
    // would need a ticket key every shard shares, so none either.
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |reason: String| TlsError::Certificate {
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(e.to_string()))?;
    if certs.is_empty() {
        return Err(error("no CERTIFICATE block in the file".to_string()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Key {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// The current certificate generation, shared by every shard (read-only
/// between reloads).
pub struct Certificates {
    files: TlsFiles,
    generation: AtomicU64,
    current: Mutex<Arc<ServerConfig>>,
}

impl Certificates {
    /// Loads the files once; start-up fails if they do not parse.
    pub fn open(files: TlsFiles) -> Result<Arc<Certificates>, TlsError> {
        let config = load(&files)?;
        Ok(Arc::new(Certificates {
            files,
            generation: AtomicU64::new(1),
            current: Mutex::new(config),
        }))
    }

    /// Re-reads the files; on success later handshakes use them. Blocking:
    /// the reload thread calls it, never a shard.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = load(&self.files)?;
        // A poisoned lock only means a reader panicked while cloning an
        // Arc; the value inside is still whole.
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = config;
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    fn snapshot(&self) -> (u64, Arc<ServerConfig>) {
        let generation = self.generation.load(Ordering::Acquire);
        let config = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        (generation, config)
    }
}

/// One shard's view: the acceptor of the generation it last saw.
pub struct ShardTls {
    shared: Arc<Certificates>,
    cached: RefCell<(u64, TlsAcceptor)>,
}

impl ShardTls {
    pub fn new(shared: Arc<Certificates>) -> ShardTls {
        let (generation, config) = shared.snapshot();
        ShardTls {
            shared,
            cached: RefCell::new((generation, TlsAcceptor::from(config))),
        }
    }

    /// The acceptor for a new connection: one atomic load unless a reload
    /// happened since the last accept.
    pub fn acceptor(&self) -> TlsAcceptor {
        let seen = self.cached.borrow().0;
        if self.shared.generation.load(Ordering::Acquire) != seen {
            let (generation, config) = self.shared.snapshot();
            *self.cached.borrow_mut() = (generation, TlsAcceptor::from(config));
        }
        self.cached.borrow().1.clone()
    }
}

/// Reloads the certificate on every SIGHUP until `shutdown`, on a thread of
/// its own (file reads block). Kept apart from other SIGHUP reloads
/// (credentials) so each can fail and log on its own.
pub fn spawn_reload_on_sighup(
    certs: Arc<Certificates>,
    shutdown: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, hup.clone())?;
    std::thread::Builder::new()
        .name("tls-reload".to_string())
        .spawn(move || {
            while !shutdown.load(Ordering::Relaxed) {
                if hup.swap(false, Ordering::AcqRel) {
                    match certs.reload() {
                        Ok(()) => tracing::info!(
                            cert = %certs.files.cert.display(),
                            "TLS certificate reloaded (SIGHUP)"
                        ),
                        Err(e) => {
                            tracing::error!("TLS reload failed, keeping the old certificate: {e}")
                        }
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        })?;
    Ok(())
}
