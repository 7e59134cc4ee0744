//! The emission API: cQube's endpoints (`/data/upload-url`, `/data/list_s3_files`, ...) with the same payloads,
//! multipart presigning for large emissions, acknowledgements, admin-issued tokens, and an embedded S3 store.
//!
//! Entry points: [`Server::bind`] then [`Server::run`] for a process; [`AppState::new`] and [`app`] for tests
//! and embedding. The admin subcommands use [`Database`] and [`auth`] directly.

pub mod api;
pub mod auth;
mod completion;
pub mod config;
mod console;
pub mod db;
mod embedded;
mod error;
mod form;
pub mod keys;
mod metrics;
pub mod storage;
mod store_full;
pub mod sweeper;
pub mod test_hooks;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use cqube_core::Catalog;
use tower_http::trace::TraceLayer;

pub use crate::config::ServerConfig;
pub use crate::db::Database;
pub use crate::error::Error;
pub use crate::storage::{Storage, StoreAccess};

/// Log directives for the server's own events at their default level: one `info` line per request (method, path,
/// status, latency, token id) and the lifecycle events. Used when `RUST_LOG` is not set.
pub const DEFAULT_LOG_DIRECTIVES: &str = "cqube_server=info";

/// Targets capped at `info` whatever `RUST_LOG` asks for: at debug and trace the embedded store (s3s, s3s-fs)
/// logs request URLs, which for presigned requests carry their signatures, and the S3 SDK and the HTTP stacks
/// (aws-*, hyper, reqwest, h2) log requests with their `Authorization` headers. Tokens and presigned URLs must
/// reach no log at any level, so the binary installs these as a filter beside `RUST_LOG`.
pub const LOG_CAPS: &[(&str, tracing::Level)] = &[
    ("s3s", tracing::Level::INFO),
    ("s3s_fs", tracing::Level::INFO),
    ("aws", tracing::Level::INFO),
    ("hyper", tracing::Level::INFO),
    ("hyper_util", tracing::Level::INFO),
    ("reqwest", tracing::Level::INFO),
    ("h2", tracing::Level::INFO),
    ("tower_http", tracing::Level::INFO),
];

/// The OpenAPI description served at `/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Shared state of the handlers; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ServerConfig,
    db: Database,
    storage: Storage,
    catalog: Catalog,
    /// Base URL clients reach us at, without `/data`.
    public_base: String,
    /// The OpenAPI document with this catalog and these buckets ([`api::openapi_document`]).
    openapi: String,
    /// One lock per upload (striped) for completing, aborting and sweeping.
    locks: completion::Locks,
}

/// Loads the configured catalog: the built-in one, with overrides from `catalog_overrides` if set.
pub fn load_catalog(config: &ServerConfig) -> Result<Catalog, Error> {
    let catalog = Catalog::builtin();
    match &config.catalog_overrides {
        None => Ok(catalog),
        Some(path) => {
            let json = std::fs::read_to_string(path).map_err(|source| Error::Io {
                what: format!("reading catalog overrides {}", path.display()),
                source,
            })?;
            catalog.with_overrides(&json).map_err(|e| Error::Config(vec![format!("{}: {e}", path.display())]))
        }
    }
}

impl AppState {
    /// Opens the database, connects to (or starts) the store and creates missing buckets. `bound` is the address
    /// the API listens on, used for URLs when `public_url` is not configured.
    pub async fn new(config: ServerConfig, bound: SocketAddr) -> Result<AppState, Error> {
        config.validate()?;
        metrics::handle();
        let catalog = load_catalog(&config)?;
        let db = config.open_database().await?;
        tracing::info!(state = %db.describe(), "state store open");
        api::clear_spool(&config.data_dir)?;
        let storage = Storage::connect(&config, &db).await?;
        let b = &config.buckets;
        storage.ensure_buckets(&[&b.input, &b.output, &b.emission]).await?;
        let public_base = config.public_base(bound);
        let openapi = api::openapi_document(&catalog, &config.buckets);
        let locks = completion::Locks::new();
        Ok(AppState { inner: Arc::new(Inner { config, db, storage, catalog, public_base, openapi, locks }) })
    }

    /// The database (for admin actions in-process).
    pub fn db(&self) -> &Database {
        &self.inner.db
    }

    /// The store, e.g. to read what was uploaded.
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// The resolved configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// `http(s)://HOST:PORT/data`, the base URL emitters are given.
    pub fn base_url(&self) -> String {
        format!("{}/data", self.inner.public_base)
    }
}

/// The API's routes. Request logs carry method, path, status and latency, never headers or query strings
/// (tokens travel in headers, signatures in query strings). Bodies are capped at `max_request_body_bytes` on every
/// route and the fallback, before authentication; the presigned-POST form bounds its own fields instead
/// (`form.rs`). Headers are capped by hyper (about 400 KiB, 100 headers: 431 beyond).
pub fn app(state: AppState) -> Router {
    let body_limit = state.inner.config.max_request_body_bytes;
    let mut data = Router::new()
        .route("/capabilities", get(api::capabilities))
        .route("/list_s3_buckets", get(api::list_s3_buckets))
        .route("/list_s3_files", post(api::list_s3_files))
        .route("/download_uri", post(api::download_uri))
        .route("/upload-url", post(api::upload_url))
        .route("/emissions", get(api::emissions))
        .route("/auth", post(api::auth))
        // The form upload streams to disk and enforces the policy's own limit instead.
        .route("/post-object/{bucket}", post(api::post_object).layer(DefaultBodyLimit::disable()));
    if state.inner.config.multipart {
        data = data
            .route("/uploads", post(api::create_upload).get(api::list_uploads))
            .route("/uploads/{upload_id}/parts", post(api::presign_parts).get(api::list_parts))
            .route("/uploads/{upload_id}/complete", post(api::complete_upload))
            .route("/uploads/{upload_id}", axum::routing::delete(api::abort_upload));
    }
    let track = axum::middleware::from_fn(metrics::track);
    let mut root = console::mount(Router::new(), &state.inner.config)
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/openapi.json", get(api::openapi));
    if state.inner.config.metrics_listen.is_none() {
        root = root.route("/metrics", get(metrics::render));
    }
    // Route layers, so each request is counted under its route pattern (requests matching no route are not).
    root.route_layer(track.clone())
        .nest("/data", data.route_layer(track))
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), token_id = tracing::field::Empty)
                })
                .on_request(())
                // Our own target, so that the default filter (`DEFAULT_LOG_DIRECTIVES`) shows the line.
                .on_response(|res: &axum::response::Response, latency: std::time::Duration, _: &tracing::Span| {
                    tracing::info!(status = res.status().as_u16(), latency_ms = latency.as_millis(), "answered");
                }),
        )
        .with_state(state)
}

/// A bound, ready server: database open, store up, buckets created, TLS certificate loaded if configured.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    metrics_listener: Option<tokio::net::TcpListener>,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    state: AppState,
}

impl Server {
    /// Binds the listen address and prepares the state. With `tls` configured, an unreadable or invalid
    /// certificate or key is an [`Error::Config`] naming the file, found before anything is bound or started.
    pub async fn bind(config: ServerConfig) -> Result<Server, Error> {
        config.validate()?;
        let tls = config.tls.as_ref().map(tls::server_config).transpose()?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Io { what: format!("binding {}", config.listen), source })?;
        let bound =
            listener.local_addr().map_err(|source| Error::Io { what: "reading the bound address".into(), source })?;
        let metrics_listener = match config.metrics_listen {
            None => None,
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|source| Error::Io { what: format!("binding metrics_listen {addr}"), source })?,
            ),
        };
        let state = AppState::new(config, bound).await?;
        Ok(Server { listener, metrics_listener, tls, state })
    }

    /// The state the server runs with.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves (HTTPS if configured) until `shutdown` resolves, then lets in-flight requests finish. The sweeper
    /// runs alongside: at once (settling what a crash left), then every `sweep_interval_seconds`.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), Error> {
        let router = app(self.state.clone());
        let interval = std::time::Duration::from_secs(self.state.inner.config.sweep_interval_seconds);
        let sweeper = AbortOnDrop(tokio::spawn(sweeper::run(self.state.clone(), interval)));
        let metrics = self.metrics_listener.map(|listener| {
            let router = Router::new().route("/metrics", get(metrics::render)).with_state(self.state.clone());
            AbortOnDrop(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "serving /metrics failed");
                }
            }))
        });
        let served = match self.tls {
            None => serve(self.listener, router, shutdown).await,
            Some(tls) => serve(tls::TlsListener::new(self.listener, tls), router, shutdown).await,
        };
        drop((sweeper, metrics));
        served
    }
}

/// Stops a background task when the server stops, however it stops.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn serve<L>(listener: L, router: Router, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), Error>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| Error::Io { what: "serving HTTP".into(), source })
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
