//! The crate's error type and its one mapping to HTTP responses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cqube_protocol::ErrorBody;

/// Everything that can go wrong in the server; each variant says what failed and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid; every problem is listed.
    #[error("invalid server configuration:\n  - {}", .0.join("\n  - "))]
    Config(Vec<String>),
    /// A file or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The database refused an operation.
    #[error("database {what}: {source}")]
    Db {
        /// What was being done.
        what: &'static str,
        /// The cause (SQLite's or PostgreSQL's error, or the connection pool's).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The object store refused an operation.
    #[error("object store: {what}: {message}")]
    Store {
        /// The operation and its bucket/key.
        what: String,
        /// The store's error, flattened (the SDK's error chain).
        message: String,
    },
    /// A command-line admin action was refused (duplicate token name, unknown user, ...).
    #[error("{0}")]
    Admin(String),
    /// A request was refused; becomes an HTTP error with a stable code.
    #[error("{code}: {message}")]
    Api {
        /// HTTP status.
        status: StatusCode,
        /// Stable code (see docs/api.md).
        code: &'static str,
        /// Safe, human-readable message.
        message: String,
    },
}

impl Error {
    /// A client error with a stable code.
    pub(crate) fn api(status: StatusCode, code: &'static str, message: impl Into<String>) -> Error {
        Error::Api { status, code, message: message.into() }
    }

    /// 400 with a code.
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Error {
        Error::api(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn store(what: impl Into<String>, err: impl std::error::Error) -> Error {
        crate::metrics::store_error();
        // The SDK's Display is only "service error"; the chain carries the store's code and message.
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Error::Store { what: what.into(), message }
    }

    pub(crate) fn db<E: std::error::Error + Send + Sync + 'static>(what: &'static str) -> impl FnOnce(E) -> Error {
        move |source| Error::Db { what, source: Box::new(source) }
    }

    /// Whether the failure is a full disk or store: the data directory (ENOSPC, or a quota), the database
    /// (SQLite's "database or disk is full"), or the store (the embedded store's and S3-compatible stores'
    /// storage-full codes; the store's answer reaches us flattened to text, so its code is matched there).
    pub fn is_storage_full(&self) -> bool {
        match self {
            Error::Io { source, .. } => {
                source.kind() == std::io::ErrorKind::StorageFull || source.kind() == std::io::ErrorKind::QuotaExceeded
            }
            Error::Db { source, .. } => source
                .downcast_ref::<rusqlite::Error>()
                .is_some_and(|e| e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)),
            Error::Store { message, .. } => STORE_FULL_CODES.iter().any(|code| message.contains(code)),
            _ => false,
        }
    }
}

/// S3 error codes that mean the store is out of space: the embedded store's (`store_full.rs`) and MinIO's.
const STORE_FULL_CODES: &[&str] = &[crate::store_full::CODE, "XMinioStorageFull"];

/// Internal errors go to the log in full; the client sees only a code and a generic message.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            Error::Api { status, code, message } => (status, code, message),
            other if other.is_storage_full() => {
                tracing::error!(error = %other, "request failed: storage full");
                let message =
                    "the server's storage is full: an operator must free space on it (retrying will not help)";
                (StatusCode::INSUFFICIENT_STORAGE, "insufficient_storage", message.to_owned())
            }
            other => {
                tracing::error!(error = %other, "request failed");
                let code = if matches!(other, Error::Store { .. }) { "store_unavailable" } else { "internal" };
                let status = if code == "store_unavailable" {
                    StatusCode::BAD_GATEWAY
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                };
                (status, code, "the server could not complete the request; see its log".to_owned())
            }
        };
        (status, axum::Json(ErrorBody { code: code.to_owned(), message })).into_response()
    }
}
