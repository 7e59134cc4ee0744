//! What a job tells the world while it runs: one typed event per fact, written as JSON lines by `--json`, drawn as
//! progress bars and lines at a terminal, and read back by the daemon from the runs it starts.
//!
//! The serialized names (`{"event": "file_acknowledged", "source": ..., ...}`) are a public contract: docs/emit.md
//! lists them and schedulers parse them. Fields marked `serde(skip)` are for sinks in the same process only.

use std::collections::BTreeMap;

use cqube_protocol::{Acknowledgement, Watermark};
use serde::{Deserialize, Serialize};

/// Which signal stopped a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Interrupt {
    /// Ctrl-C: a person, who may `resume`.
    Sigint,
    /// A service manager or the daemon stopping us: nobody will resume, the next run starts over.
    Sigterm,
}

/// One event of an emission job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The job starts with this many files.
    JobStarted { job: String, files: usize },
    /// A file's delivery starts.
    FileStarted {
        source: String,
        input: String,
        filename: String,
        /// The plan item (for per-file progress).
        #[serde(skip)]
        item: usize,
        /// Its size when known in advance (a prepared zip sent as it is).
        #[serde(skip)]
        size: Option<u64>,
    },
    /// A part is stored: sent by this run, or found stored by an earlier one (`skipped`).
    PartDone {
        source: String,
        upload_id: String,
        part_number: u32,
        bytes: u64,
        skipped: bool,
        #[serde(skip)]
        item: usize,
    },
    /// Under `--level auto`, the zip level changed: blocks from `block` (input byte `input_offset` of the CSV)
    /// on are compressed at `level`, until the next change.
    LevelChanged {
        source: String,
        level: u32,
        block: u64,
        input_offset: u64,
        #[serde(skip)]
        item: usize,
    },
    /// A part attempt failed and will be tried again after `delay_ms`.
    PartRetried { source: String, upload_id: String, part_number: u32, attempt: u32, delay_ms: u64, error: String },
    /// A one-shot target's file starts again from its first byte under a new upload: after a transient failure,
    /// or on `resume` (a one-shot POST cannot be continued).
    FileRestarted { source: String, attempt: u32, reason: String },
    /// The target acknowledged the file (`already`: an earlier run of this job did).
    FileAcknowledged {
        source: String,
        already: bool,
        ack: Box<Acknowledgement>,
        /// Rows the conversion left out (see `--rejects`), and rows sent that break a warning rule.
        #[serde(default)]
        rows_rejected: u64,
        #[serde(default)]
        rows_warned: u64,
        /// Rows rejected because a master of the plan lacks their code, by rule (`unknown_school`); part of
        /// `rows_rejected`.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        misses: BTreeMap<String, u64>,
        /// Rows cQube would have discarded under its own duplicate rule (every copy of a key whose copies differ,
        /// INGESTION.md §2.6), had the file gone without our duplicate check, which keeps each key's first copy.
        #[serde(default, skip_serializing_if = "is_zero")]
        cqube_duplicate_discards: u64,
        /// Under `--level auto`, the zip's deflate bytes per level (keys are levels).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        levels: BTreeMap<u32, u64>,
        #[serde(skip)]
        item: usize,
    },
    /// An incremental database source has no row past its watermark: nothing was sent.
    FileUpToDate {
        source: String,
        watermark: Watermark,
        #[serde(skip)]
        item: usize,
    },
    /// The file failed; `exit_status` says what kind of failure.
    FileFailed {
        source: String,
        input: String,
        exit_status: u8,
        error: String,
        #[serde(skip)]
        item: usize,
    },
    /// The file was not sent because a dependency was not acknowledged.
    FileSkipped { source: String, input: String, reason: String },
    /// A signal stopped the job.
    Interrupted { job: String, signal: Interrupt },
    /// The job's totals, last.
    Summary {
        job: String,
        files: usize,
        acknowledged: usize,
        up_to_date: usize,
        failed: usize,
        skipped: usize,
        rows: u64,
        bytes: u64,
        rows_rejected: u64,
        #[serde(default)]
        rows_warned: u64,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        misses: BTreeMap<String, u64>,
        #[serde(default, skip_serializing_if = "is_zero")]
        cqube_duplicate_discards: u64,
        /// Under `--level auto`, deflate bytes per zip level over the files this run produced.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        levels: BTreeMap<u32, u64>,
        seconds: f64,
        exit_status: u8,
    },
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde passes a reference")]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Where a job's events go. Called from the job's tasks, so it must not block for long.
pub trait EventSink: Send + Sync {
    /// One event.
    fn event(&self, event: &Event);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_keep_their_json_names_and_round_trip() {
        let event = Event::PartDone {
            source: "school_master".into(),
            upload_id: "u1".into(),
            part_number: 3,
            bytes: 10,
            skipped: false,
            item: 7,
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"event": "part_done", "source": "school_master", "upload_id": "u1",
                "part_number": 3, "bytes": 10, "skipped": false})
        );
        let back: Event = serde_json::from_value(json).unwrap();
        assert!(matches!(back, Event::PartDone { item: 0, part_number: 3, .. }));
        let stop = serde_json::to_value(Event::Interrupted { job: "j".into(), signal: Interrupt::Sigterm }).unwrap();
        assert_eq!(stop["signal"], "SIGTERM");
    }
}
