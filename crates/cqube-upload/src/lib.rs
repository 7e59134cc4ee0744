//! Streams bytes into a multipart emission: part buffering, presigned PUTs with retry, and the resume journal.
//!
//! ```text
//! producer thread: ... -> ZipStream -> PartWriter --bounded channel--> Uploader::send_parts (async)
//!                                                                      at most parts_in_flight PUTs at once
//!                                                                      -> DeliveryTarget::put_part (ApiClient, ...)
//! ```
//!
//! Memory is fixed by configuration: a producer holds one part being filled and one blocked on the full channel,
//! the channel holds none it has not handed on, and the uploader holds `parts_in_flight` parts being sent, so
//! `(parts_in_flight + 2) × part size` for one stream (each further concurrent stream adds `2 × part size`).

mod answer;
mod api;
mod journal;
#[cfg(any(test, feature = "memory"))]
pub mod memory;
mod part;
mod post;
mod retry;
#[cfg(feature = "s3")]
pub mod s3;
pub mod target;
mod upload;

pub use api::ApiClient;
pub use journal::{ItemState, Journal, JournalEntry, JournalState, StoredPartRecord};
pub use part::{MAX_PART_BYTES, MAX_PARTS, MIN_PART_BYTES, Part, PartSizer, PartWriter, StreamTotals};
pub use post::{MAX_POST_BYTES, PostTarget};
pub use retry::RetryPolicy;
pub use target::{Aborted, DeliveryTarget, Landed, OneShot};
pub use upload::{OnRetry, PartEvent, PartRetry, Uploader};

/// Why an API call, a part upload or the journal failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No answer: connection refused or reset, timeout, or a body cut short.
    #[error("{what}: {source}")]
    Transport {
        /// The request, e.g. `creating upload for student_attendance`.
        what: String,
        /// The client's error (never includes a presigned URL's query: see `ApiClient`).
        #[source]
        source: reqwest::Error,
    },
    /// The API answered with an error body.
    #[error("{what}: HTTP {status} {code}: {message}")]
    Api {
        /// The request.
        what: String,
        /// HTTP status.
        status: u16,
        /// The API's stable error code.
        code: String,
        /// The API's message.
        message: String,
    },
    /// The store refused a part `PUT`.
    #[error("part {part} of upload {upload_id}: HTTP {status} {detail}")]
    PartRejected {
        /// Part number.
        part: u32,
        /// Our upload id.
        upload_id: String,
        /// HTTP status.
        status: u16,
        /// The store's error code or the start of its answer.
        detail: String,
        /// Whether trying again can help (5xx, 429, SlowDown, an expired URL).
        retryable: bool,
    },
    /// An answer that is not what the protocol promises.
    #[error("{what}: unexpected answer: {detail}")]
    Protocol {
        /// The request.
        what: String,
        /// What was wrong with it.
        detail: String,
    },
    /// The server acknowledged something other than what was sent.
    #[error("acknowledgement for {key} does not match what was sent: {detail}")]
    AckMismatch {
        /// Object key.
        key: String,
        /// Which field differs.
        detail: String,
    },
    /// A request of the direct S3 target failed (no presigned URL or secret is part of it).
    #[error("{what}: {detail}")]
    Store {
        /// The request, e.g. `part 3 of s3://emission/student_attendance/...zip`.
        what: String,
        /// HTTP status, when S3 answered.
        status: Option<u16>,
        /// S3's error code, when it answered with one.
        code: Option<String>,
        /// What S3 or the SDK said.
        detail: String,
        /// Whether trying again can help (no answer, 5xx, 429, SlowDown, RequestTimeout).
        retryable: bool,
    },
    /// Reading or writing the resume journal.
    #[error("resume journal {path}: {source}")]
    Journal {
        /// The journal file.
        path: String,
        /// The I/O or parse error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Whether retrying the same request can succeed: transport errors, 5xx (but a full store), 429 and SlowDown.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { .. } => true,
            Error::Api { status, .. } => (*status >= 500 && !self.is_storage_full()) || *status == 429,
            Error::PartRejected { retryable, .. } => *retryable && !self.is_storage_full(),
            Error::Store { retryable, .. } => *retryable,
            Error::Protocol { .. } | Error::AckMismatch { .. } | Error::Journal { .. } => false,
        }
    }

    /// Whether a cqube-emit server refused the token (401 with its own error body; a gateway's page carries its
    /// own hint).
    pub fn is_token_refused(&self) -> bool {
        matches!(self, Error::Api { status: 401, code, .. } if code != "http")
    }

    /// Whether nothing answered at the address (connection refused, no route, DNS failure): the API is not
    /// running there, or the address is wrong.
    pub fn is_connect(&self) -> bool {
        matches!(self, Error::Transport { source, .. } if source.is_connect())
    }

    /// Whether the server or its store is out of space (`507 insufficient_storage`): an operator must free space,
    /// and retrying until then only waits.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, Error::Api { status: 507, .. } | Error::PartRejected { status: 507, .. })
    }

    /// Whether the server refused the request for good (authentication, scope, validation): running again
    /// unchanged cannot help.
    pub fn is_refusal(&self) -> bool {
        match self {
            Error::Api { status, .. } | Error::PartRejected { status, .. } => {
                (400..500).contains(status) && !self.is_retryable()
            }
            Error::Store { status: Some(status), .. } => (400..500).contains(status) && !self.is_retryable(),
            _ => false,
        }
    }

    /// The API's error code, when the API answered with one.
    pub fn api_code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}
