//! The scheduling core of `cqube-emit daemon`: the config's sources grouped by cron schedule, the status of their
//! runs (kept in a file and served at `GET /status`, with `GET /metrics`), updated from each run's child events and
//! exit status. The binary starts the runs, relays their events and prints; nothing here spawns or prints.

pub mod schedule;
pub mod server;
pub mod status;

pub use schedule::{Group, groups, timestamp};
pub use server::{install_metrics, status_server};
pub use status::{Board, RunStatus, SourceStatus, Status, result_of};
