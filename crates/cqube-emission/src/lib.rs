//! The emission engine: what `cqube-emit emit`, `run` and `resume` do between their flags and their output.
//!
//! ```text
//! plan::build ─► Job::open (journal, resume rules) ─► Job::run
//!                                                     ├─ scheduler: dependents wait for acknowledgements
//!                                                     ├─ produce (blocking thread): zip check or conversion ─► PartWriter
//!                                                     ├─ Uploader ─► DeliveryTarget (cqube-upload)
//!                                                     └─ acknowledgement check, journal, keep-or-abort
//! ```
//!
//! The API takes resolved [`Settings`], a [`DeliveryTarget`](cqube_upload::DeliveryTarget), an [`EventSink`] and a
//! stop future (the caller's signal handler); it never parses flags, prints or exits.

pub mod bench;
pub mod event;
pub mod generate;
pub mod job;
pub mod level;
pub mod masters;
pub mod plan;
pub mod produce;
pub mod report;
mod run;
pub mod status;
pub mod validate;
pub mod zip_check;

pub use event::{Event, EventSink, Interrupt};
pub use job::{Job, JobSpec, Watermarks};
pub use level::{AutoLevel, Level};
pub use plan::{Configured, Item, ItemInput};
pub use produce::StreamSource;
pub use run::{Ended, FileResult, Report, Settings};
pub use status::{ExitStatus, Failure, fail};

#[cfg(test)]
mod tests;
