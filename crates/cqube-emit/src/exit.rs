//! Exit codes: the statuses are the engine's (`cqube_emission::ExitStatus`); here they are documented in `--help`
//! and turned into the process's exit code, and a failure is printed.

use std::process::ExitCode;

pub use cqube_emission::status::{ExitStatus, fail};

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

/// Prints the error chain on one line (without repeated causes) and picks the exit status.
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
            let status = cqube_emission::status::status_of(&err);
            eprintln!("error: {}", cqube_emission::status::describe(&err));
            status
        }
    }
}

/// The process exit code of a status.
pub fn code(status: ExitStatus) -> ExitCode {
    ExitCode::from(status as u8)
}
