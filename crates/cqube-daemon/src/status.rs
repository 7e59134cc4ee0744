//! What `GET /status` and the status file show: every scheduled source's next run and last run, updated as runs
//! start, report and end, and written to the file on every change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use chrono_tz::Tz;
use cqube_emission::Event;
use serde::Serialize;

use crate::schedule::{Group, now_in, timestamp};

/// The daemon's status.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pid: u32,
    started_at: String,
    timezone: String,
    config: PathBuf,
    sources: BTreeMap<String, SourceStatus>,
}

/// One scheduled source.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    schedule: String,
    next_run: String,
    running: bool,
    last_run: Option<RunStatus>,
}

/// One run of a source, from the child's events and exit status.
#[derive(Debug, Clone, Serialize)]
pub struct RunStatus {
    run_id: String,
    started_at: String,
    finished_at: Option<String>,
    /// `running`, `success`, `partial` (some files or rows rejected), `failed` or `interrupted`.
    result: &'static str,
    exit_status: Option<i32>,
    files_acknowledged: u64,
    rows: u64,
    bytes: u64,
    watermark: Option<cqube_protocol::Watermark>,
    errors: Vec<String>,
}

impl RunStatus {
    fn started(run_id: &str, at: &str) -> RunStatus {
        RunStatus {
            run_id: run_id.to_owned(),
            started_at: at.to_owned(),
            finished_at: None,
            result: "running",
            exit_status: None,
            files_acknowledged: 0,
            rows: 0,
            bytes: 0,
            watermark: None,
            errors: Vec::new(),
        }
    }
}

/// A run's result from its child's exit code (`None`: killed by a signal).
pub fn result_of(code: Option<i32>) -> &'static str {
    match code {
        Some(0) => "success",
        Some(1) => "partial",
        Some(130) | None => "interrupted",
        Some(_) => "failed",
    }
}

/// The status, shared by the scheduler, the runs' monitors and the status server; every change is written to
/// `file`.
#[derive(Debug)]
pub struct Board {
    status: Mutex<Status>,
    file: PathBuf,
    timezone: Tz,
    /// What `GET /metrics` renders: runs by result, files by outcome, rows and bytes sent by source.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
}

impl Board {
    /// The status of a daemon that starts now with these groups (no run yet), kept in `file`. Not written yet:
    /// [`Board::save`].
    pub fn new(
        groups: &[Group],
        timezone: Tz,
        config: PathBuf,
        file: PathBuf,
        metrics: metrics_exporter_prometheus::PrometheusHandle,
    ) -> Board {
        let sources = groups
            .iter()
            .flat_map(|g| {
                g.sources.iter().map(|s| {
                    let status = SourceStatus {
                        schedule: g.schedule.clone(),
                        next_run: timestamp(&g.next),
                        running: false,
                        last_run: None,
                    };
                    (s.clone(), status)
                })
            })
            .collect();
        let status = Status {
            pid: std::process::id(),
            started_at: timestamp(&now_in(timezone)),
            timezone: timezone.name().to_owned(),
            config,
            sources,
        };
        Board { status: Mutex::new(status), file, timezone, metrics }
    }

    /// Writes the status file as it is.
    pub fn save(&self) {
        self.update(|_| {});
    }

    /// A copy of the status, for `GET /status`.
    pub fn snapshot(&self) -> Status {
        self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn update(&self, change: impl FnOnce(&mut Status)) {
        let snapshot = {
            let mut status = self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            change(&mut status);
            status.clone()
        };
        if let Err(e) = write_atomically(&self.file, &snapshot) {
            tracing::warn!(file = %self.file.display(), error = %format!("{e:#}"), "writing the status file failed");
        }
    }

    /// `group`'s run `run_id` started at `started`.
    pub fn run_started(&self, group: &Group, run_id: &str, started: &str) {
        self.update(|s| {
            for name in &group.sources {
                let source = s.sources.get_mut(name).expect("every scheduled source has a status");
                source.running = true;
                source.last_run = Some(RunStatus::started(run_id, started));
            }
        });
    }

    /// `group` fires next at `group.next`.
    pub fn next_run(&self, group: &Group) {
        let next = timestamp(&group.next);
        self.update(|s| {
            for name in &group.sources {
                if let Some(source) = s.sources.get_mut(name) {
                    source.next_run.clone_from(&next);
                }
            }
        });
    }

    /// `group`'s run `run_id` ended with exit code `code`; returns the run's result ([`result_of`]).
    pub fn run_finished(&self, group: &Group, run_id: &str, code: Option<i32>) -> &'static str {
        let result = result_of(code);
        metrics::counter!("cqube_emit_runs_total", "result" => result).increment(1);
        let finished_at = timestamp(&now_in(self.timezone));
        self.update(|s| {
            for name in &group.sources {
                let Some(source) = s.sources.get_mut(name) else { continue };
                source.running = false;
                if let Some(run) = source.last_run.as_mut().filter(|r| r.run_id == run_id) {
                    run.finished_at = Some(finished_at.clone());
                    run.exit_status = code;
                    // A source whose files all went through counts as a success even if another source of the run
                    // failed.
                    run.result = if result == "partial" && run.errors.is_empty() { "success" } else { result };
                }
            }
        });
        result
    }

    /// What one of run `run_id`'s child events changes in the status and the metrics.
    pub fn apply(&self, child_event: &Event, run_id: &str) {
        let (Event::FileAcknowledged { source, .. }
        | Event::FileFailed { source, .. }
        | Event::FileSkipped { source, .. }) = child_event
        else {
            return;
        };
        let outcome = match child_event {
            Event::FileAcknowledged { ack, .. } => {
                metrics::counter!("cqube_emit_bytes_sent_total", "source" => source.clone()).increment(ack.bytes);
                metrics::counter!("cqube_emit_rows_sent_total", "source" => source.clone()).increment(ack.rows);
                "acknowledged"
            }
            Event::FileFailed { .. } => "failed",
            _ => "skipped",
        };
        metrics::counter!("cqube_emit_files_total", "source" => source.clone(), "outcome" => outcome).increment(1);
        self.update(|s| {
            let Some(run) =
                s.sources.get_mut(source).and_then(|src| src.last_run.as_mut()).filter(|r| r.run_id == run_id)
            else {
                return;
            };
            match child_event {
                Event::FileAcknowledged { ack, .. } => {
                    run.files_acknowledged += 1;
                    run.rows += ack.rows;
                    run.bytes += ack.bytes;
                    if let Some(watermark) = &ack.watermark {
                        run.watermark = Some(watermark.clone());
                    }
                }
                Event::FileFailed { error: why, .. } | Event::FileSkipped { reason: why, .. } => {
                    run.errors.push(why.clone());
                }
                _ => {}
            }
        });
    }
}

/// Readers of the status file never see half of it: a temporary file renamed over it.
fn write_atomically(path: &Path, status: &Status) -> anyhow::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("status")));
    std::fs::write(&tmp, serde_json::to_vec_pretty(status)?).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming onto {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn a_runs_events_and_exit_status_become_each_sources_last_run_in_the_status_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state/daemon-status.json");
        let toml = "[[source]]\nname = \"a\"\npath = \"a.csv\"\nschedule = \"0 30 1 * * *\"\n\
                    [[source]]\nname = \"b\"\npath = \"b.csv\"\nschedule = \"0 30 1 * * *\"\n";
        let config: cqube_settings::config::FileConfig = toml::from_str(toml).unwrap();
        let now = chrono_tz::UTC.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
        let groups = crate::groups(&config, Path::new("/etc/c.toml"), &now).unwrap();
        let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder().handle();
        let board = Board::new(&groups, chrono_tz::UTC, "/etc/c.toml".into(), file.clone(), metrics);
        board.run_started(&groups[0], "r1", "2026-01-05T01:30:00+00:00");
        let failed = Event::FileFailed {
            source: "b".into(),
            input: "b.csv".into(),
            exit_status: 3,
            error: "b.csv: bad row".into(),
            item: 0,
        };
        board.apply(&failed, "r1");
        board.apply(&Event::FileSkipped { source: "a".into(), input: "a.csv".into(), reason: "x".into() }, "r0");
        assert_eq!(board.run_finished(&groups[0], "r1", Some(1)), "partial");

        let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let (a, b) = (&written["sources"]["a"], &written["sources"]["b"]);
        assert_eq!(a["last_run"]["result"], "success", "a had no errors in r1 (the r0 event is another run's)");
        assert_eq!(b["last_run"]["result"], "partial");
        assert_eq!(b["last_run"]["errors"], serde_json::json!(["b.csv: bad row"]));
        assert_eq!((a["running"].as_bool(), a["last_run"]["exit_status"].as_i64()), (Some(false), Some(1)));
        assert_eq!(a["next_run"], "2026-01-05T01:30:00+00:00");
        assert_eq!(
            [result_of(Some(0)), result_of(None), result_of(Some(130)), result_of(Some(4))],
            ["success", "interrupted", "interrupted", "failed"]
        );
    }
}
