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
        f.write_str(&describe(&self.error))
    }
}

/// An error and its causes on one line, as `{:#}` writes them, but without repeats: many errors print their
/// source in their own message and return it as their source too (`binding X: Address already in use` followed
/// by `Address already in use`), so a cause whose text already ends the line is left out.
pub fn describe(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
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
    let hint = if e.is_storage_full() {
        Some(STORAGE_FULL_HINT)
    } else if e.is_connect() {
        Some(CONNECT_HINT)
    } else if e.is_token_refused() {
        Some(TOKEN_HINT)
    } else {
        None
    };
    let e = anyhow::Error::new(e).context(what.to_owned());
    match hint {
        Some(hint) => fail(status, anyhow::anyhow!("{}\n\nhint: {hint}", describe(&e))),
        None => fail(status, e),
    }
}

/// What to do when a cqube-emit server refuses the token.
const TOKEN_HINT: &str = "check the token (CQUBE_EMIT_TOKEN, CQUBE_EMIT_TOKEN_FILE or --token-file): the server's \
                          operator makes one with `cqube-emit token create --name NAME`, shown once";

/// What to do when nothing answers at the API's address.
const CONNECT_HINT: &str = "nothing answers at that address: start the API (`cqube-emit serve` prints its URL) or \
                            check --api / CQUBE_EMIT_API (host, port, http or https)";

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Prints its source in its message and returns it as its source, as thiserror's `{source}` does.
    #[derive(Debug)]
    struct Bind(std::io::Error);

    impl std::fmt::Display for Bind {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "binding 127.0.0.1:1: {}", self.0)
        }
    }

    impl std::error::Error for Bind {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::AddrInUse, "Address already in use");
        let e = anyhow::Error::new(Bind(io)).context("starting the server");
        assert_eq!(
            format!("{e:#}"),
            "starting the server: binding 127.0.0.1:1: Address already in use: Address already in use"
        );
        assert_eq!(describe(&e), "starting the server: binding 127.0.0.1:1: Address already in use");
        let wrapped = fail(ExitStatus::Usage, e);
        assert_eq!(wrapped.to_string(), "starting the server: binding 127.0.0.1:1: Address already in use");
    }
}
