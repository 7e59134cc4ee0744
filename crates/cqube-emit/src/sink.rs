//! Where an emission's events go in this process: JSON lines on stdout (`--json`), or lines for a person plus
//! progress bars on stderr (one overall, one per running file, all counting bytes the target stored).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

use cqube_emission::{Event, EventSink};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::global::GlobalArgs;

/// The emitter's output.
pub struct Output {
    json: bool,
    quiet: bool,
    bar: Option<ProgressBar>,
    bars: Option<MultiProgress>,
    files: Mutex<HashMap<usize, ProgressBar>>,
    /// The delivery protocol and why it was chosen: on the first line (`job_started`).
    protocol: Option<(String, String)>,
}

impl Output {
    /// Output for `global`; bars only for a person at a terminal, over `total` bytes when the size is known.
    pub fn new(global: &GlobalArgs, total: Option<u64>) -> Output {
        let bar = crate::progress::bar(global, total);
        if let Some(bar) = &bar {
            bar.set_message("acknowledged");
        }
        let bars = bar.as_ref().map(|bar| {
            let bars = MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr());
            bars.add(bar.clone());
            bars
        });
        Output { json: global.json, quiet: global.quiet, bar, bars, files: Mutex::default(), protocol: None }
    }

    /// Names the delivery protocol and its reason on the job's first line.
    pub fn with_protocol(mut self, delivery: &crate::deliver::Delivery) -> Output {
        self.protocol = Some((delivery.protocol.clone(), delivery.reason.clone()));
        self
    }

    /// A line of data on stdout. A closed stdout (a pipe into `head`) does not stop the uploads.
    pub fn line(&self, line: &str) {
        let write = || {
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        };
        match &self.bars {
            Some(bars) => bars.suspend(write),
            None => write(),
        }
    }

    /// A line for the person at the terminal (stderr), not with `--json` or `--quiet`.
    pub fn note(&self, line: &str) {
        if !self.json && !self.quiet {
            match &self.bars {
                Some(bars) => bars.suspend(|| crate::global::note(line)),
                None => crate::global::note(line),
            }
        }
    }

    /// A failure: on stderr even with `--quiet`, which keeps errors (under `--json` the event says it).
    fn failure(&self, line: &str) {
        if !self.json {
            let write = || {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            };
            match &self.bars {
                Some(bars) => bars.suspend(write),
                None => write(),
            }
        }
    }

    /// Clears the bars before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn files(&self) -> std::sync::MutexGuard<'_, HashMap<usize, ProgressBar>> {
        self.files.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn file_started(&self, item: usize, source: &str, size: Option<u64>) {
        let Some(bars) = &self.bars else { return };
        let template = if size.is_some() {
            "  {prefix:32} {bar:24} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
        } else {
            "  {prefix:32} {spinner} {bytes} {bytes_per_sec}"
        };
        let bar = bars.add(ProgressBar::hidden());
        bar.set_style(ProgressStyle::with_template(template).expect("the template is valid"));
        if let Some(size) = size {
            bar.set_length(size);
        }
        bar.set_prefix(source.to_owned());
        self.files().insert(item, bar);
    }

    fn file_ended(&self, item: usize) {
        if let Some(bar) = self.files().remove(&item) {
            bar.finish_and_clear();
        }
    }

    /// What a person reads for an event (JSON mode prints the event itself).
    fn human(&self, event: &Event) {
        match event {
            Event::JobStarted { job, files } => match &self.protocol {
                Some((protocol, reason)) => {
                    self.note(&format!("job {job}: {files} files, protocol {protocol} ({reason})"));
                }
                None => self.note(&format!("job {job}: {files} files")),
            },
            Event::FileRestarted { source, attempt, reason } => {
                self.note(&format!("restarting {source} (attempt {attempt}): {reason}"));
            }
            Event::FileSkipped { source, reason, .. } => self.note(&format!("skipped {source}: {reason}")),
            Event::FileFailed { source, error, .. } => self.failure(&format!("failed {source}: {error}")),
            Event::FileAcknowledged {
                ack,
                already,
                rows_rejected,
                rows_warned,
                misses,
                cqube_duplicate_discards,
                ..
            } => {
                let watermark = ack.watermark.as_ref().map(|w| format!(", watermark {} = {}", w.column, w.value));
                let mut missed = if misses.is_empty() { String::new() } else { format!(": {}", misses_text(misses)) };
                if *cqube_duplicate_discards > 0 {
                    missed = format!("{missed}; {}", discards_text(*cqube_duplicate_discards));
                }
                let checked = if *rows_rejected > 0 || *rows_warned > 0 {
                    format!(" ({rows_rejected} rejected{missed}, {rows_warned} warned)")
                } else {
                    String::new()
                };
                self.line(&format!(
                    "acknowledged {} -> {}/{}: {} rows{checked}, {} bytes, sha256 {}, emission {}{}{}{}",
                    ack.source,
                    ack.bucket,
                    ack.key,
                    ack.rows,
                    ack.bytes,
                    ack.sha256,
                    ack.emission_id,
                    watermark.unwrap_or_default(),
                    if *already { " (earlier run)" } else { "" },
                    if ack.confirmed == Some(false) {
                        " (sent, not confirmed: ingestion may have moved it)"
                    } else {
                        ""
                    }
                ));
            }
            Event::FileUpToDate { source, watermark, .. } => self.line(&format!(
                "up to date {source}: no row past {} = {}; nothing sent",
                watermark.column, watermark.value
            )),
            _ => {}
        }
    }
}

impl EventSink for Output {
    fn event(&self, event: &Event) {
        match event {
            Event::FileStarted { item, source, size, .. } => self.file_started(*item, source, *size),
            Event::PartDone { item, bytes, .. } => {
                let file = self.files().get(item).cloned();
                for bar in [self.bar.as_ref(), file.as_ref()].into_iter().flatten() {
                    bar.inc(*bytes);
                }
            }
            Event::FileAcknowledged { item, .. }
            | Event::FileUpToDate { item, .. }
            | Event::FileFailed { item, .. } => {
                self.file_ended(*item);
            }
            _ => {}
        }
        if self.json {
            let mut value = serde_json::to_value(event).unwrap_or_default();
            if let (Event::JobStarted { .. }, Some((protocol, reason))) = (event, &self.protocol) {
                value["protocol"] = serde_json::json!(protocol);
                value["protocol_reason"] = serde_json::json!(reason);
            }
            match serde_json::to_string(&value) {
                Ok(line) => self.line(&line),
                Err(e) => tracing::warn!(error = %e, "an event could not be written as JSON"),
            }
        } else {
            self.human(event);
        }
    }
}

/// Rows rejected for codes their masters lack, by rule: `unknown_school 3, unknown_exam 1`.
pub fn misses_text(misses: &std::collections::BTreeMap<String, u64>) -> String {
    misses.iter().map(|(rule, n)| format!("{rule} {n}")).collect::<Vec<_>>().join(", ")
}

/// Deflate bytes per zip level under `--level auto`, as shares: `zip levels 3 41 %, 4 59 %`.
pub fn levels_text(levels: &std::collections::BTreeMap<u32, u64>) -> String {
    let total = levels.values().sum::<u64>().max(1) as f64;
    let shares: Vec<String> =
        levels.iter().map(|(level, n)| format!("{level} {:.0} %", 100.0 * *n as f64 / total)).collect();
    format!("zip levels {} of the compressed bytes", shares.join(", "))
}

/// cQube's duplicate rule, previewed: what it would have discarded had the file gone unchecked.
pub fn discards_text(rows: u64) -> String {
    format!(
        "cQube would have discarded {rows} rows sharing a key with different values; the first copy of each key was sent"
    )
}
