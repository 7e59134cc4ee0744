//! Test-only pause points, compiled into debug builds only: with `CQUBE_EMIT_SERVER_TEST_PAUSE_AT=NAME` the
//! server stops at the named point of a completion, prints `test hook: paused at NAME` on stderr and waits for
//! ever, so a crash test can SIGKILL it at exactly that point instead of guessing a delay. Release builds ignore
//! the variable. The points, in the order a completion passes them, are [`POINTS`]; a presigned POST to the
//! embedded store passes [`POST_POINTS`].

/// The env var naming the point to pause at.
pub const PAUSE_AT_VAR: &str = "CQUBE_EMIT_SERVER_TEST_PAUSE_AT";

/// Every pause point, from the complete request's arrival to its answer.
pub const POINTS: &[&str] = &[
    "complete.received",
    "complete.recorded",
    "store.assembling",
    "store.assembled",
    "store.renamed",
    "store.parts_removed",
    "store.forgotten",
    "complete.stored",
    "complete.acknowledged",
];

/// The points of a presigned POST through the server: its file's first bytes spooled, its last not yet arrived.
pub const POST_POINTS: &[&str] = &["post.spooling"];

/// Waits for ever when the server was started to pause at `point` (debug builds only).
pub(crate) async fn pause(point: &'static str) {
    debug_assert!(POINTS.contains(&point) || POST_POINTS.contains(&point), "unknown pause point {point}");
    #[cfg(debug_assertions)]
    {
        static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        if AT.get_or_init(|| std::env::var(PAUSE_AT_VAR).ok()).as_deref() == Some(point) {
            #[allow(clippy::print_stderr, reason = "the crash test reads this line to time its SIGKILL")]
            {
                eprintln!("test hook: paused at {point}");
            }
            std::future::pending::<()>().await;
        }
    }
}
