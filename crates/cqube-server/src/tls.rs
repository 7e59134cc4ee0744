//! HTTPS for `serve`: the configured PEM files become a rustls server config (ring provider), and [`TlsListener`]
//! hands axum connections whose handshake has finished.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

use crate::Error;
use crate::config::TlsConfig;

/// A client that has not finished its handshake by then is dropped, so idle sockets cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once; further connections wait in the kernel's accept queue.
const MAX_PENDING_HANDSHAKES: usize = 256;

/// Reads and checks the certificate chain and key, reporting every problem at once with the file it is in.
pub(crate) fn server_config(config: &TlsConfig) -> Result<Arc<rustls::ServerConfig>, Error> {
    let certs = read_pem("tls.cert_file", &config.cert_file, |pem| {
        let certs = CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
        if certs.is_empty() {
            return Err("no CERTIFICATE section found (expected a PEM certificate chain)".into());
        }
        Ok(certs)
    });
    let key = read_pem("tls.key_file", &config.key_file, |pem| {
        PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "no private key found (expected a PEM PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY section)".into()
            }
            other => other.to_string(),
        })
    });
    let (certs, key) = match (certs, key) {
        (Ok(certs), Ok(key)) => (certs, key),
        (certs, key) => return Err(Error::Config(certs.err().into_iter().chain(key.err()).collect())),
    };
    // An explicit provider: the process-wide default is ambiguous when another dependency enables aws-lc-rs.
    let mut server = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| {
            Error::Config(vec![format!(
                "tls.cert_file {} and tls.key_file {}: {e}",
                config.cert_file.display(),
                config.key_file.display()
            )])
        })?;
    // axum is built with HTTP/1 only; saying so spares clients a failed HTTP/2 attempt.
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(server))
}

/// Reads `path` (config key `key`) and parses it, or says which file failed and why.
fn read_pem<T>(key: &str, path: &Path, parse: impl FnOnce(&[u8]) -> Result<T, String>) -> Result<T, String> {
    let pem = std::fs::read(path).map_err(|e| format!("{key} {}: cannot read: {e}", path.display()))?;
    parse(&pem).map_err(|e| format!("{key} {}: {e}", path.display()))
}

/// A TCP listener whose connections come out already decrypted. Handshakes run in their own tasks so one slow
/// or silent client never holds up the others.
pub(crate) struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Option<(TlsStream<TcpStream>, SocketAddr)>>,
}

impl TlsListener {
    pub(crate) fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> TlsListener {
        TlsListener { tcp, acceptor: TlsAcceptor::from(config), handshakes: JoinSet::new() }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                // Finished handshakes first, so a flood of new connections cannot starve them.
                biased;
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    if let Ok(Some(conn)) = done {
                        return conn;
                    }
                }
                // axum's accept for TcpListener logs and retries transient errors (e.g. too many open files).
                (tcp, peer) = axum::serve::Listener::accept(&mut self.tcp),
                    if self.handshakes.len() < MAX_PENDING_HANDSHAKES =>
                {
                    let acceptor = self.acceptor.clone();
                    self.handshakes.spawn(async move {
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(tls)) => Some((tls, peer)),
                            // Scanners and plain-HTTP clients end up here; not worth more than debug.
                            Ok(Err(error)) => {
                                tracing::debug!(%peer, %error, "TLS handshake failed");
                                None
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                None
                            }
                        }
                    });
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
