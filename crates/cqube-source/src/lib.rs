//! Database sources: one query's rows as a stream of CSV bytes (header first) behind a blocking [`Read`].
//!
//! ```text
//! database --(tokio-postgres COPY | mysql_async query_iter)--> thread with a current-thread runtime
//!   --> byte_channel (buffers_in_flight x buffer_bytes) --> ByteReader: std::io::Read
//! ```
//!
//! PostgreSQL writes the CSV itself (`COPY (query) TO STDOUT (FORMAT csv, HEADER)`); MySQL rows are read one at a
//! time and encoded here. Either way the whole result is never held: memory is the channel's bound plus the
//! driver's read buffer.
//!
//! What the bytes look like, whatever the server: comma-separated, `"`-quoted, UTF-8, a NULL is an empty unquoted
//! field and an empty string a quoted `""` (CSV readers that do not tell them apart see both as empty), dates
//! `yyyy-MM-dd`, PostgreSQL `timestamptz` in UTC with an explicit `+00`, MySQL `TIMESTAMP` in the session zone set
//! from [`Request::utc_offset_minutes`], MySQL zero dates as NULL.

use std::fmt;

#[cfg(any(feature = "postgres", feature = "mysql"))]
mod bridge;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
mod query;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod stream;
mod url;

pub use query::{Watermark, table_query};
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub use stream::{ByteReader, ByteSender, byte_channel};
pub use url::ConnectionUrl;

/// Which database server a source reads from: a `[[source]]`'s `type` tag. An unknown tag fails the config with
/// serde's message, which names the allowed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// PostgreSQL, through tokio-postgres.
    #[serde(alias = "postgresql")]
    Postgres,
    /// MySQL or MariaDB, through mysql_async.
    #[serde(alias = "mariadb")]
    Mysql,
}

impl Backend {
    /// The config `type` value.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }

    /// Whether this build can read from this backend (its cargo feature is on).
    pub fn compiled_in(self) -> bool {
        match self {
            Backend::Postgres => cfg!(feature = "postgres"),
            Backend::Mysql => cfg!(feature = "mysql"),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One query to stream: where, what, and how much memory the stream may hold.
#[derive(Debug, Clone)]
pub struct Request {
    /// The data source's name, used in every message (e.g. `student_attendance`).
    pub name: String,
    pub backend: Backend,
    pub url: ConnectionUrl,
    /// A `SELECT` (any query that can be a subquery); see [`table_query`] for a whole table.
    pub query: String,
    /// Only rows past the last watermark, and report the new one.
    pub watermark: Option<Watermark>,
    /// The zone MySQL `TIMESTAMP` values are written in (minutes east of UTC); PostgreSQL writes explicit offsets.
    pub utc_offset_minutes: i32,
    /// Bytes gathered before one hand-over to the reader.
    pub buffer_bytes: usize,
    /// Buffers waiting in the channel: with `buffer_bytes`, the memory bound of the stream.
    pub buffers_in_flight: usize,
}

impl Request {
    /// A request with the default buffering (8 buffers of 256 KiB) and IST for MySQL `TIMESTAMP`s.
    pub fn new(name: &str, backend: Backend, url: ConnectionUrl, query: &str) -> Request {
        Request {
            name: name.to_owned(),
            backend,
            url,
            query: query.to_owned(),
            watermark: None,
            utc_offset_minutes: 330,
            buffer_bytes: 256 << 10,
            buffers_in_flight: 8,
        }
    }
}

/// An open stream: the CSV bytes, and the watermark the emitted rows reach.
#[cfg(any(feature = "postgres", feature = "mysql"))]
#[derive(Debug)]
pub struct Opened {
    /// CSV bytes, header first; a failure later in the stream is an `io::Error` wrapping [`Error`].
    pub reader: ByteReader,
    /// With a watermark: the greatest value among the rows being streamed (`None` when there are none), as text.
    /// Store it only once the emission is acknowledged.
    pub watermark: Option<String>,
}

/// Runs the query and returns once the server has accepted it (connection, SQL and permission errors come back
/// here, before any byte is read), with the rows streaming in the background.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub fn open(request: &Request) -> Result<Opened, Error> {
    bridge::open(request)
}

/// Why a database source failed. Every message names the source; none holds the password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("source {name}: bad connection URL {url}: {reason}")]
    BadUrl { name: String, url: String, reason: String },
    #[error("source {name}: this build has no {backend} support\n\nhint: build with the `{backend}` feature")]
    NotCompiledIn { name: String, backend: Backend },
    #[error("source {name}: cannot connect to {backend} at {url}: {message}")]
    Connect { name: String, backend: Backend, url: String, message: String, retryable: bool },
    #[error("source {name}: {backend} query failed: {message}\n  query: {query}")]
    Query { name: String, backend: Backend, message: String, query: String },
    #[error("source {name}: reading rows from {backend}: {message}")]
    Stream { name: String, backend: Backend, message: String, retryable: bool },
    #[error(
        "source {name}: column {column}, row {row}: value is not UTF-8 text (a binary column?)\n\n\
         hint: select it as text in the query, e.g. HEX({column})"
    )]
    NotUtf8 { name: String, column: String, row: u64 },
    #[error("source {name}: watermark value {value:?} holds a NUL byte")]
    BadWatermark { name: String, value: String },
    #[error("source {name}: cannot start the database thread: {source}")]
    Thread { name: String, source: std::io::Error },
    #[error("source {name}: the database thread stopped without finishing the stream")]
    WorkerLost { name: String },
}

impl Error {
    /// Whether trying again later may succeed (the server was unreachable or the connection broke), as opposed to
    /// bad SQL, a missing table, a refused password or bad data.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Connect { retryable, .. } | Error::Stream { retryable, .. } => *retryable,
            Error::WorkerLost { .. } => true,
            _ => false,
        }
    }
}
