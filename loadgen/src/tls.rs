//! TLS for `https://` endpoints: one rustls client configuration for the
//! process, trusting only the CA file given with `--ca` (a benchmark talks
//! to a server whose certificate it was handed, not to the public web), set
//! once before executors start and shared read-only by every connection.
//! Each connection does a full handshake when it is dialed and keeps it for
//! its life (keep-alive), as SDKs do; session resumption is off, matching
//! the server.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use futures_rustls::TlsConnector;
use rustls::ClientConfig;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::error::{LoadgenError, Result};

static CLIENT: OnceLock<Arc<ClientConfig>> = OnceLock::new();

/// Trusts the certificates of `ca` (PEM) for every `https://` endpoint.
pub fn configure(ca: &Path) -> Result<()> {
    let bad =
        |reason: String| LoadgenError::InvalidArgument(format!("--ca {}: {reason}", ca.display()));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| bad(e.to_string()))? {
        roots
            .add(cert.map_err(|e| bad(e.to_string()))?)
            .map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificate in the file".to_string()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = rustls::client::Resumption::disabled();
    // A second call (another endpoint of the same run) keeps the first.
    let _ = CLIENT.set(Arc::new(config));
    Ok(())
}

/// The connector for `https://` endpoints, if `--ca` was given.
pub fn connector() -> Option<TlsConnector> {
    CLIENT.get().map(|c| TlsConnector::from(c.clone()))
}
