//! The process's one signal handler: what stops an emission or the daemon.

use cqube_emission::Interrupt;
use tokio::signal::unix::{SignalKind, signal};

/// Resolves at the first SIGINT (Ctrl-C) or SIGTERM. Create it once and poll it (pinned) for the whole run: a
/// signal arriving between two fresh handlers would be missed.
pub async fn interrupted() -> Interrupt {
    let terminate = async {
        match signal(SignalKind::terminate()) {
            Ok(mut term) => drop(term.recv().await),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => Interrupt::Sigint,
        () = terminate => Interrupt::Sigterm,
    }
}
