//! Producing a file's bytes on a blocking thread: a prepared zip checked as it streams past, or a raw export, stdin
//! or a database query converted on the fly, written into the part writer.

use std::sync::Arc;

use anyhow::Context;
use cqube_convert::{Input, NoRejects, RejectSink, SharedRejects};
use cqube_core::Catalog;
use cqube_upload::{PartWriter, StreamTotals};
use sha2::Digest;

use crate::plan::ItemInput;
use crate::report::{FileStatus, SourceReport};
use crate::status::{ExitStatus, engine_failure, fail};

/// What one file's producer wrote.
pub(crate) struct Produced {
    pub totals: cqube_upload::StreamTotals,
    pub rows: u64,
    pub rows_rejected: u64,
    pub rows_warned: u64,
    /// Rows rejected because a master lacks their code, per referring column.
    pub misses: Vec<cqube_convert::Missed>,
    /// Rows cQube would discard under its own duplicate rule (`Summary::cqube_duplicate_discards`).
    pub cqube_duplicate_discards: u64,
    /// The codes collected for the plan's dependents (a master's).
    pub codes: Codes,
    /// What the checks found, as the completion request carries it.
    pub quality: cqube_protocol::Quality,
    /// Under `--level auto`, deflate bytes per zip level (empty otherwise).
    pub levels: std::collections::BTreeMap<u32, u64>,
    /// What the checks found, for `--report`.
    pub report: SourceReport,
}

/// A string cut to `max` characters: rule words and column names are stored by the server within bounds.
fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The quality counts of one converted file: rejected rows per rule code and column, warned cells per rule, most
/// first, at most [`cqube_protocol::MAX_QUALITY_RULES`].
fn quality_of(summary: &cqube_convert::Summary) -> cqube_protocol::Quality {
    let rule = |rule: &str, column: Option<&str>, severity: &str, rows| cqube_protocol::RuleCount {
        rule: cut(rule, 64),
        column: column.filter(|c| !c.is_empty()).map(|c| cut(c, 128)),
        severity: severity.to_owned(),
        rows,
    };
    let mut rules: Vec<cqube_protocol::RuleCount> = summary
        .rejected
        .iter()
        .map(|r| rule(r.rule, r.column.as_deref(), "error", r.count))
        .chain(summary.warned.iter().map(|w| rule(&w.rule, Some(&w.column), "warning", w.count)))
        .collect();
    rules.sort_by_key(|r| std::cmp::Reverse(r.rows));
    rules.truncate(cqube_protocol::MAX_QUALITY_RULES);
    cqube_protocol::Quality {
        rows_read: summary.rows_in,
        rows_rejected: summary.rows_rejected,
        rows_warned: summary.rows_warned,
        rules,
    }
}

/// A master's codes, by column.
type Codes = Vec<(String, Arc<cqube_convert::CodeSet>)>;

/// What the producer thread needs, owned: it runs on a blocking thread.
pub(crate) struct Production {
    pub catalog: Arc<Catalog>,
    pub source: String,
    pub input: ItemInput,
    pub normalize: bool,
    pub convert: cqube_convert::ConvertOptions,
    pub zip: cqube_zip::ZipOptions,
    pub zip_limits: cqube_zip::check::Limits,
    /// For a database item: its rows, already streaming.
    pub database: Option<Input>,
    /// For a stream item: how to open it.
    pub stream: Option<StreamSource>,
    /// Where this pass reports rejected rows (`None`: counted only, as on a second pass over the same rows).
    pub rejects: Option<SharedRejects>,
    /// `--level auto`: each zip block's level (`None`: `zip.level` throughout).
    pub levels: Option<Box<dyn cqube_zip::LevelSource>>,
}

/// Opens the bytes of an [`ItemInput::Stream`]. Each pass over the file opens it again (a one-shot target makes two:
/// one to measure, one to send), so it must give the same bytes every time.
#[derive(Clone)]
pub struct StreamSource(pub Arc<dyn Fn() -> Box<dyn std::io::Read + Send> + Send + Sync>);

impl std::fmt::Debug for StreamSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamSource")
    }
}

/// A database item's rows, streaming.
pub(crate) struct OpenedDatabase {
    pub input: Input,
    /// The watermark column, and the value this run started after (`None`: from the first row).
    pub column: Option<String>,
    pub after: Option<cqube_protocol::Watermark>,
    /// The greatest watermark among the rows being read (`None`: no rows).
    pub reached: Option<String>,
}

impl OpenedDatabase {
    /// What the acknowledgement records: how far the rows reach, else where this run started.
    pub fn watermark(&self) -> Option<cqube_protocol::Watermark> {
        let column = self.column.clone()?;
        let value = self.reached.clone().or_else(|| self.after.as_ref().map(|a| a.value.clone()))?;
        Some(cqube_protocol::Watermark { column, value })
    }
}

/// Runs a database source's query (connection and SQL errors come back here, before any row); the rows stream
/// in the background. Also returns the greatest watermark among them, when the request has a watermark.
pub fn open_database(request: &cqube_source::Request) -> anyhow::Result<(Input, Option<String>)> {
    tracing::info!(source = %request.name, backend = %request.backend, url = %request.url, stage = "read", "opening database source");
    let opened = cqube_source::open(request).map_err(|e| {
        let status = if e.is_retryable() { ExitStatus::Transient } else { ExitStatus::Input };
        fail(status, e)
    })?;
    let label = format!("{}:{}", request.backend, request.name);
    let input = Input::from_reader(&label, None, opened.reader).map_err(|e| fail(ExitStatus::Input, e))?;
    Ok((input, opened.watermark))
}

/// Where a producer writes the zip: the part writer, or (for a one-shot target's first pass) a counter.
pub(crate) trait ZipSink: std::io::Write {
    /// Ends the stream: its length and SHA-256.
    fn end(self) -> std::io::Result<StreamTotals>;
}

impl ZipSink for PartWriter {
    fn end(self) -> std::io::Result<StreamTotals> {
        self.finish()
    }
}

/// Counts and hashes a zip without keeping it: how a one-shot target learns a converted file's exact length before
/// its first byte is sent (the conversion is deterministic with a fixed zip time, so the sending pass repeats it),
/// and, [`Measure::with_md5`], whether an object an earlier run left is this file.
#[derive(Default)]
pub(crate) struct Measure {
    bytes: u64,
    sha: sha2::Sha256,
    md5: Option<md5::Md5>,
}

impl Measure {
    pub fn with_md5() -> Measure {
        Measure { md5: Some(md5::Md5::default()), ..Measure::default() }
    }
}

impl std::io::Write for Measure {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.sha.update(data);
        if let Some(md5) = &mut self.md5 {
            md5::Digest::update(md5, data);
        }
        self.bytes += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ZipSink for Measure {
    fn end(self) -> std::io::Result<StreamTotals> {
        Ok(StreamTotals {
            bytes: self.bytes,
            sha256: hex::encode(self.sha.finalize()),
            parts: 0,
            md5: self.md5.map(|m| hex::encode(md5::Digest::finalize(m))),
        })
    }
}

/// The producer thread: the file's zip bytes into `writer`. A prepared zip is sent as it is, unless it is to be
/// re-encoded (`--normalize`), or rows of it refer to codes the plan's masters lack and `--on-error skip` leaves
/// them out (the file is then converted, like any export, without those rows).
pub(crate) fn produce<W: ZipSink>(job: Production, mut writer: W) -> anyhow::Result<Produced> {
    let catalog = &job.catalog;
    let source = catalog.get(&job.source).context("source left the catalog")?;
    let input_error = |e: anyhow::Error| fail(ExitStatus::Input, e);
    let as_is = match &job.input {
        ItemInput::Zip(path) if !job.normalize => {
            if job.convert.cross.is_empty() {
                Some(None)
            } else {
                references_hold(&job, source, path)?.map(Some)
            }
        }
        _ => None,
    };
    let mut levels = std::collections::BTreeMap::new();
    let (rows, rows_rejected, rows_warned, misses, discards, codes, quality, report, writer) = match (&job.input, as_is)
    {
        (ItemInput::Zip(path), Some(checked)) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("opening {}", path.display()))
                .map_err(input_error)?;
            let facts = crate::zip_check::check_zip(file, &mut writer, source, &job.zip_limits)
                .with_context(|| path.display().to_string())
                .map_err(input_error)?;
            let quality = cqube_protocol::Quality { rows_read: facts.rows, ..cqube_protocol::Quality::default() };
            // The cross-source pass read every row through the checks; without it only the rows were counted.
            let (report, codes) = if let Some(summary) = checked {
                let mut report = SourceReport::of_summary(&summary, source);
                report.rows_written = facts.rows;
                if summary.rows_rejected > 0 {
                    report.note = Some(
                        "a prepared zip sent as it is: its rejected rows were sent too, and cQube drops them \
                         (--normalize --on-error skip leaves them out)"
                            .into(),
                    );
                }
                (report, summary.codes)
            } else {
                let note = "a prepared zip sent as it is: rows counted, values not read (--normalize reads them)";
                let input = path.display().to_string();
                (SourceReport::unread(&job.source, &input, FileStatus::NotRead, note.into(), facts.rows), Vec::new())
            };
            (facts.rows, 0, 0, Vec::new(), 0, codes, quality, report, writer)
        }
        (other, _) => {
            let opened = match other {
                ItemInput::Zip(path) => crate::zip_check::open_entry(path, source, &job.zip_limits)
                    .and_then(|r| Ok(Input::from_reader(&path.display().to_string(), None, r)?)),
                ItemInput::Raw(path) => Input::open(path).with_context(|| format!("opening {}", path.display())),
                ItemInput::Stdin => Input::open(std::path::Path::new("-")).context("reading stdin"),
                ItemInput::Database(_) => job.database.context("no rows for the database source"),
                ItemInput::Stream(name) => match &job.stream {
                    Some(open) => Input::from_reader(name, None, (open.0)()).map_err(anyhow::Error::from),
                    None => Err(anyhow::anyhow!("no stream named {name} in the settings")),
                },
            };
            let prepared = cqube_convert::prepare(catalog, Some(source), opened.map_err(input_error)?, &job.convert)
                .map_err(engine_failure)?;
            let mut rejects: Box<dyn RejectSink> = match job.rejects {
                Some(shared) => Box::new(shared),
                None => Box::new(NoRejects),
            };
            let auto = job.levels.is_some();
            let (writer, summary) = match job.levels {
                Some(source) => prepared.convert_with_levels(writer, job.zip, source, rejects.as_mut(), &mut |_| {}),
                None => prepared.convert(writer, job.zip, rejects.as_mut(), &mut |_| {}),
            }
            .map_err(engine_failure)?;
            if auto {
                levels = (0..).zip(summary.deflated_by_level).filter(|&(_, bytes)| bytes > 0).collect();
            }
            rejects.flush().context("writing the rejects report")?;
            let quality = quality_of(&summary);
            let report = SourceReport::of_summary(&summary, source);
            let discards = summary.cqube_duplicate_discards;
            (
                summary.rows_out,
                summary.rows_rejected,
                summary.rows_warned,
                summary.misses,
                discards,
                summary.codes,
                quality,
                report,
                writer,
            )
        }
    };
    let totals = writer.end().context("handing the last part over")?;
    Ok(Produced {
        totals,
        rows,
        rows_rejected,
        rows_warned,
        misses,
        cqube_duplicate_discards: discards,
        codes,
        quality,
        levels,
        report,
    })
}

/// A prepared zip's cross-source pass before it is sent as it is: its rows read (nothing written), every referring
/// code looked up; its summary holds the codes a master collects. `None` when some row's code is missing and
/// `--on-error skip` leaves such rows out: the zip must then be converted. With `--on-error fail` a missing code
/// stops the file before any byte is sent.
fn references_hold(
    job: &Production,
    source: &cqube_core::DataSource,
    path: &std::path::Path,
) -> anyhow::Result<Option<cqube_convert::Summary>> {
    let input_error = |e: anyhow::Error| fail(ExitStatus::Input, e);
    let entry = crate::zip_check::open_entry(path, source, &job.zip_limits).map_err(input_error)?;
    let input = Input::from_reader(&path.display().to_string(), None, entry).map_err(|e| input_error(e.into()))?;
    // Every row is read: rows cQube drops for other reasons are not codes, and are not this pass's to refuse.
    let options = cqube_convert::ConvertOptions {
        on_error: cqube_convert::OnError::Skip,
        max_errors: None,
        ..job.convert.clone()
    };
    let summary = cqube_convert::prepare(&job.catalog, Some(source), input, &options)
        .and_then(|p| p.validate(&mut NoRejects, &mut |_| {}))
        .map_err(engine_failure)?;
    let Some(first) = summary.misses.first() else { return Ok(Some(summary)) };
    if job.convert.on_error == cqube_convert::OnError::Skip {
        tracing::info!(source = %job.source, path = %path.display(), "rows refer to unknown codes: the zip is converted without them");
        return Ok(None);
    }
    let count: u64 = summary.misses.iter().map(|m| m.count).sum();
    let e = anyhow::anyhow!(
        "{}:{}: column {}: value {:?}: {}: not in {}; {count} rows refer to codes the plan's masters lack, and cQube \
         joins on them\n\nhint: fix the export or the master; --on-error skip leaves these rows out (see --rejects)",
        path.display(),
        first.first_line,
        first.column,
        first.first_value,
        first.rule,
        first.master
    );
    Err(input_error(e))
}
