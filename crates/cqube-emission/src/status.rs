//! How a job, a file or a command ends: the statuses scripts branch on, and errors that know theirs.
//!
//! The numbers are part of the event contract (`file_failed` and `summary` carry them) as well as the process exit
//! codes the binary documents.

/// What a job (and the process running it) tells its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything succeeded.
    Success = 0,
    /// Finished, but some rows or items were rejected, skipped or failed.
    Partial = 1,
    /// Usage or configuration error: fix the command or config file.
    Usage = 2,
    /// Input error: a source is missing, unreadable, or its data is invalid.
    Input = 3,
    /// Transient failure after retries ran out: running again can help.
    Transient = 4,
    /// Permanent remote failure: authentication, token expired, request refused.
    Permanent = 5,
    /// Interrupted: by SIGINT, with work kept for `resume`; by SIGTERM, with the uploads in progress aborted.
    Interrupted = 130,
}

/// An error that knows which status it deserves; anything else is an input error.
#[derive(Debug)]
pub struct Failure {
    /// The status.
    pub status: ExitStatus,
    /// What went wrong.
    pub error: anyhow::Error,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for Failure {}

/// Wraps an error with the status it should produce.
pub fn fail(status: ExitStatus, error: impl Into<anyhow::Error>) -> anyhow::Error {
    Failure { status, error: error.into() }.into()
}

/// The status an error deserves: its [`Failure`]'s, else [`ExitStatus::Input`].
pub fn status_of(error: &anyhow::Error) -> ExitStatus {
    error.downcast_ref::<Failure>().map_or(ExitStatus::Input, |f| f.status)
}

/// Maps an upload error to its status: 4 when running again can help, 5 when the server refused.
pub fn remote_failure(e: cqube_upload::Error, what: &str) -> anyhow::Error {
    let status = if e.is_retryable() { ExitStatus::Transient } else { ExitStatus::Permanent };
    let full = e.is_storage_full();
    let e = anyhow::Error::new(e).context(what.to_owned());
    if full {
        return fail(status, anyhow::anyhow!("{e:#}\n\nhint: {STORAGE_FULL_HINT}"));
    }
    fail(status, e)
}

/// What to do about a `507 insufficient_storage`.
const STORAGE_FULL_HINT: &str = "the server's storage is full: free space on it (remove old objects, abort stale \
                                 uploads), then run again or `cqube-emit resume`";

/// Maps conversion errors to statuses: bad data is an input error; a missing or unknown source is a usage error.
pub fn engine_failure(e: cqube_convert::Error) -> anyhow::Error {
    let status = match &e {
        cqube_convert::Error::UnknownSource { .. }
        | cqube_convert::Error::ColumnsUnknown(_)
        | cqube_convert::Error::BadConstant { .. } => ExitStatus::Usage,
        _ => ExitStatus::Input,
    };
    fail(status, e)
}
