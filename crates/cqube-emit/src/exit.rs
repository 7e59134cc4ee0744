//! Exit codes, defined once and documented in `--help` and the README.

use std::process::ExitCode;

/// What the process tells its caller. Scripts and schedulers branch on these.
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

/// The table shown in `--help` and the README.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success
  1    finished, but some rows or items were rejected or failed (see the summary or --json)
  2    usage or configuration error
  3    input error: source missing or unreadable, or data invalid under --on-error fail
  4    transient failure after retries ran out: running again can help
  5    permanent remote failure (authentication, token expired, request refused)
  130  interrupted: Ctrl-C keeps the journal for resume; SIGTERM aborts the uploads in progress";

/// An error that knows which exit status it deserves; anything else is an input error.
#[derive(Debug)]
pub struct Failure {
    pub status: ExitStatus,
    pub error: anyhow::Error,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for Failure {}

/// Wraps an error with the exit status it should produce.
pub fn fail(status: ExitStatus, error: impl Into<anyhow::Error>) -> anyhow::Error {
    Failure { status, error: error.into() }.into()
}

/// Prints the error chain on one line (as `{:#}`) and picks the exit status.
#[allow(clippy::print_stderr)] // the binary's one place that talks to the user about failure
pub fn report(result: anyhow::Result<ExitStatus>) -> ExitStatus {
    match result {
        Ok(status) => status,
        Err(err) => {
            // A closed stdout (`cqube-emit catalog | head`) is not a failure, as in ripgrep.
            if err
                .chain()
                .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
            {
                return ExitStatus::Success;
            }
            let status = err.downcast_ref::<Failure>().map_or(ExitStatus::Input, |f| f.status);
            eprintln!("error: {err:#}");
            status
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status as u8)
    }
}
