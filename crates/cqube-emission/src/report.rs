//! The data-quality report (`--report FILE.json` or `FILE.html` on `convert`, `validate` and `emit`): per file what
//! was read, written and rejected (by rule and column, with offending values), warned, null per column, duplicated,
//! missing from the masters, and what cQube itself would drop; then the totals. docs/report.md describes the
//! fields; `schema` changes whenever one changes meaning or goes away.
//!
//! Everything comes from the conversion's [`Summary`](cqube_convert::Summary), whose collectors are bounded (at most
//! [`cqube_convert::MAX_VALUES`] values per rule and column, one counter per column), so a report stays small
//! whatever the input's size. The HTML is one self-contained page: inline CSS, no script, no external asset, every
//! value escaped (maud escapes whatever it interpolates).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cqube_convert::{Missed, Rejected, Summary, Warned};
use cqube_core::DataSource;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Serialize;

use crate::status::{ExitStatus, fail};

/// The report format's version, the JSON's `schema` field.
pub const SCHEMA: &str = "cqube-emit/quality-report/1";

/// How far a file was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Every row read through the checks.
    Checked,
    /// Sent without reading its values: a prepared zip sent as it is, or one an earlier run delivered.
    NotRead,
    /// Stopped before its end: `note` says why.
    Failed,
    /// Not read because a dependency failed.
    Skipped,
}

impl FileStatus {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Checked => "checked",
            FileStatus::NotRead => "not_read",
            FileStatus::Failed => "failed",
            FileStatus::Skipped => "skipped",
        }
    }
}

/// One file of the report.
#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    pub source: String,
    pub input: String,
    pub status: FileStatus,
    /// Why a file failed, was skipped or not read.
    pub note: Option<String>,
    pub rows_read: u64,
    pub rows_written: u64,
    pub rows_rejected: u64,
    pub rows_warned: u64,
    /// Rejected rows by rule and column, most first.
    pub rejected: Vec<Rejected>,
    /// Warned cells by rule and column (rows kept).
    pub warned: Vec<Warned>,
    /// Null cells per column among the rows written.
    pub columns: Vec<ColumnReport>,
    pub duplicates: Duplicates,
    /// Rows whose codes the masters lack, per referring column.
    pub misses: Vec<Missed>,
    pub cqube_would_drop: CqubeDrops,
    /// What the conversion said besides: no data rows, a partial duplicate preview.
    pub warnings: Vec<String>,
}

/// Null cells of one column.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnReport {
    pub column: String,
    pub nulls: u64,
    /// `nulls / rows_written` (0 without rows).
    pub null_rate: f64,
}

/// The duplicate-key check.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Duplicates {
    /// The source's key columns (empty: the source has no key).
    pub key: Vec<String>,
    /// Later copies of a key, rejected (rule `duplicate_key`).
    pub rows_rejected: u64,
    /// Of those, copies identical to the first.
    pub exact: u64,
    /// Whether every row's key was checked (the key set has a memory budget).
    pub check_complete: bool,
}

/// Rows cQube's own ingestion would drop had the file been sent without our checks (INGESTION.md): rows failing
/// its type and null checks, rows whose codes its masters lack, and every copy of a key whose copies differ.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CqubeDrops {
    pub failing_checks: u64,
    pub missing_references: u64,
    pub duplicate_discards: u64,
    /// The three together (no row is in two of them).
    pub rows: u64,
}

impl CqubeDrops {
    fn new(failing_checks: u64, missing_references: u64, duplicate_discards: u64) -> CqubeDrops {
        let rows = failing_checks + missing_references + duplicate_discards;
        CqubeDrops { failing_checks, missing_references, duplicate_discards, rows }
    }

    fn add(self, o: CqubeDrops) -> CqubeDrops {
        CqubeDrops::new(
            self.failing_checks + o.failing_checks,
            self.missing_references + o.missing_references,
            self.duplicate_discards + o.duplicate_discards,
        )
    }
}

impl SourceReport {
    /// A file read to its end through the checks.
    pub fn of_summary(summary: &Summary, source: &DataSource) -> SourceReport {
        let by_rule = |rule: &str| summary.rejected.iter().filter(|r| r.rule == rule).map(|r| r.count).sum::<u64>();
        let duplicates = by_rule("duplicate_key");
        let missing: u64 = summary.misses.iter().map(|m| m.count).sum();
        let rate = |nulls: u64| if summary.rows_out == 0 { 0.0 } else { nulls as f64 / summary.rows_out as f64 };
        SourceReport {
            source: summary.source.clone(),
            input: summary.input.clone(),
            status: FileStatus::Checked,
            note: None,
            rows_read: summary.rows_in,
            rows_written: summary.rows_out,
            rows_rejected: summary.rows_rejected,
            rows_warned: summary.rows_warned,
            rejected: summary.rejected.clone(),
            warned: summary.warned.clone(),
            columns: summary
                .nulls
                .iter()
                .map(|c| ColumnReport { column: c.column.clone(), nulls: c.nulls, null_rate: rate(c.nulls) })
                .collect(),
            duplicates: Duplicates {
                key: source.key.clone(),
                rows_rejected: duplicates,
                exact: summary.duplicates_exact,
                check_complete: summary.key_check_complete,
            },
            misses: summary.misses.clone(),
            cqube_would_drop: CqubeDrops::new(
                summary.rows_rejected - duplicates - missing,
                missing,
                summary.cqube_duplicate_discards,
            ),
            warnings: summary.warnings.clone(),
        }
    }

    /// A file whose rows were not read through the checks: `rows` as counted (0 when unknown).
    pub fn unread(source: &str, input: &str, status: FileStatus, note: String, rows: u64) -> SourceReport {
        SourceReport {
            source: source.to_owned(),
            input: input.to_owned(),
            status,
            note: Some(note),
            rows_read: rows,
            rows_written: rows,
            rows_rejected: 0,
            rows_warned: 0,
            rejected: Vec::new(),
            warned: Vec::new(),
            columns: Vec::new(),
            duplicates: Duplicates::default(),
            misses: Vec::new(),
            cqube_would_drop: CqubeDrops::default(),
            warnings: Vec::new(),
        }
    }
}

/// The plan's totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub files: usize,
    /// Files that failed or were skipped.
    pub failed: usize,
    pub rows_read: u64,
    pub rows_written: u64,
    pub rows_rejected: u64,
    pub rows_warned: u64,
    /// Rejected rows by rule, over every file.
    pub rejected_by_rule: BTreeMap<String, u64>,
    /// Warned cells by rule, over every file.
    pub warned_by_rule: BTreeMap<String, u64>,
    /// Rows missing from their masters, by rule (`unknown_school`).
    pub misses: BTreeMap<String, u64>,
    pub cqube_would_drop: CqubeDrops,
}

/// A whole report: one command's files and their totals.
#[derive(Debug, Clone, Serialize)]
pub struct QualityReport {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// `convert`, `validate` or `emit`.
    pub command: String,
    /// The emitter's version.
    pub version: &'static str,
    pub sources: Vec<SourceReport>,
    pub totals: Totals,
}

impl QualityReport {
    pub fn new(command: &str, sources: Vec<SourceReport>) -> QualityReport {
        let mut t = Totals { files: sources.len(), ..Totals::default() };
        for s in &sources {
            t.failed += usize::from(matches!(s.status, FileStatus::Failed | FileStatus::Skipped));
            t.rows_read += s.rows_read;
            t.rows_written += s.rows_written;
            t.rows_rejected += s.rows_rejected;
            t.rows_warned += s.rows_warned;
            for r in &s.rejected {
                *t.rejected_by_rule.entry(r.rule.to_owned()).or_default() += r.count;
            }
            for w in &s.warned {
                *t.warned_by_rule.entry(w.rule.clone()).or_default() += w.count;
            }
            for m in &s.misses {
                *t.misses.entry(m.rule.to_owned()).or_default() += m.count;
            }
            t.cqube_would_drop = t.cqube_would_drop.add(s.cqube_would_drop);
        }
        QualityReport {
            schema: SCHEMA,
            command: command.to_owned(),
            version: env!("CARGO_PKG_VERSION"),
            sources,
            totals: t,
        }
    }

    /// The report as one self-contained HTML page.
    pub fn html(&self) -> String {
        html::page(self).into_string()
    }
}

/// Where `--report` goes, and in which format (from the extension). Made before the run, so a bad path fails at
/// once rather than after the data was read.
#[derive(Debug, Clone)]
pub struct ReportFile {
    path: PathBuf,
    html: bool,
}

impl ReportFile {
    /// Checks the extension (`.json`, `.html` or `.htm`) and that the file can be written.
    pub fn create(path: &Path) -> anyhow::Result<ReportFile> {
        let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        let html = match extension.as_deref() {
            Some("json") => false,
            Some("html" | "htm") => true,
            _ => {
                let e = anyhow::anyhow!(
                    "--report {}: unknown format\n\nhint: name the file *.json or *.html",
                    path.display()
                );
                return Err(fail(ExitStatus::Usage, e));
            }
        };
        std::fs::File::create(path)
            .with_context(|| format!("creating report {}", path.display()))
            .map_err(|e| fail(ExitStatus::Usage, e))?;
        Ok(ReportFile { path: path.to_owned(), html })
    }

    /// Writes `report` in this file's format.
    pub fn write(&self, report: &QualityReport) -> anyhow::Result<()> {
        let text = if self.html { report.html() } else { serde_json::to_string_pretty(report)? + "\n" };
        std::fs::write(&self.path, text).with_context(|| format!("writing report {}", self.path.display()))
    }
}

mod html {
    use super::{BTreeMap, CqubeDrops, DOCTYPE, Markup, PreEscaped, QualityReport, SourceReport, html};

    const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
        table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.2em .6em;\
        text-align:left;vertical-align:top}td.n{text-align:right}th{background:#f3f3f3}\
        section{border-top:2px solid #888;margin-top:2em}.bad{color:#a00}.note{color:#555}code{white-space:pre-wrap}";

    pub(super) fn page(r: &QualityReport) -> Markup {
        let t = &r.totals;
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    title { "cQube data-quality report" }
                    style { (PreEscaped(STYLE)) }
                }
                body {
                    h1 { "cQube data-quality report" }
                    p.note { "cqube-emit " (r.version) " " (r.command) ", schema " (r.schema) }
                    h2 { "Totals" }
                    table #totals {
                        (row("files", t.files))
                        (row("files failed or skipped", t.failed))
                        (row("rows read", t.rows_read))
                        (row("rows written", t.rows_written))
                        (row("rows rejected", t.rows_rejected))
                        (row("rows warned", t.rows_warned))
                        (drops(&t.cqube_would_drop))
                    }
                    (by_rule("totals-rejected", "Rejected rows by rule", &t.rejected_by_rule))
                    (by_rule("totals-warned", "Warned cells by rule", &t.warned_by_rule))
                    (by_rule("totals-misses", "Rows missing from their masters", &t.misses))
                    @for (i, s) in r.sources.iter().enumerate() {
                        (source(i, s))
                    }
                }
            }
        }
    }

    fn row(name: &str, value: impl std::fmt::Display) -> Markup {
        html! { tr { th { (name) } td.n { (value) } } }
    }

    fn drops(d: &CqubeDrops) -> Markup {
        html! {
            (row("cQube would drop: rows failing its checks", d.failing_checks))
            (row("cQube would drop: rows missing from masters", d.missing_references))
            (row("cQube would drop: copies of differing duplicate keys", d.duplicate_discards))
            (row("cQube would drop: rows in all", d.rows))
        }
    }

    fn by_rule(id: &str, title: &str, counts: &BTreeMap<String, u64>) -> Markup {
        html! {
            @if !counts.is_empty() {
                h3 { (title) }
                table id=(id) {
                    tr { th { "rule" } th { "count" } }
                    @for (rule, n) in counts { tr { td { (rule) } td.n { (n) } } }
                }
            }
        }
    }

    fn values(o: &cqube_convert::Offenders) -> Markup {
        html! {
            @for v in &o.values { code { (v.value) } " ×" (v.count) br; }
            @if o.other > 0 { span.note { "and " (o.other) " more" } }
        }
    }

    fn source(i: usize, s: &SourceReport) -> Markup {
        let id = |what: &str| format!("s{i}-{what}");
        html! {
            section data-source=(s.source) {
                h2 { (s.source) }
                p.note { (s.input) " — " (s.status.as_str()) }
                @if let Some(note) = &s.note { p.bad { (note) } }
                @for w in &s.warnings { p.note { (w) } }
                table id=(id("counts")) {
                    (row("rows read", s.rows_read))
                    (row("rows written", s.rows_written))
                    (row("rows rejected", s.rows_rejected))
                    (row("rows warned", s.rows_warned))
                    @if !s.duplicates.key.is_empty() {
                        (row("duplicate keys rejected", s.duplicates.rows_rejected))
                        (row("of which exact copies", s.duplicates.exact))
                    }
                    (drops(&s.cqube_would_drop))
                }
                @if !s.rejected.is_empty() {
                    h3 { "Rejected rows" }
                    table id=(id("rejected")) {
                        tr { th { "rule" } th { "column" } th { "rows" } th { "first line" } th { "why" } th { "values" } }
                        @for r in &s.rejected {
                            tr {
                                td { (r.rule) } td { (r.column.as_deref().unwrap_or("")) } td.n { (r.count) }
                                td.n { (r.first_line) } td { (r.description) } td { (values(&r.offenders)) }
                            }
                        }
                    }
                }
                @if !s.warned.is_empty() {
                    h3 { "Warnings (rows kept)" }
                    table id=(id("warned")) {
                        tr { th { "rule" } th { "column" } th { "cells" } th { "first line" } th { "values" } }
                        @for w in &s.warned {
                            tr {
                                td { (w.rule) } td { (w.column) } td.n { (w.count) } td.n { (w.first_line) }
                                td { (values(&w.offenders)) }
                            }
                        }
                    }
                }
                @if !s.misses.is_empty() {
                    h3 { "Codes missing from their masters" }
                    table id=(id("misses")) {
                        tr { th { "rule" } th { "column" } th { "master" } th { "rows" } th { "first line" } th { "first value" } }
                        @for m in &s.misses {
                            tr {
                                td { (m.rule) } td { (m.column) } td { (m.master) } td.n { (m.count) }
                                td.n { (m.first_line) } td { code { (m.first_value) } }
                            }
                        }
                    }
                }
                @if !s.columns.is_empty() {
                    h3 { "Nulls per column" }
                    table id=(id("nulls")) {
                        tr { th { "column" } th { "nulls" } th { "rate" } }
                        @for c in &s.columns {
                            tr { td { (c.column) } td.n { (c.nulls) } td.n { (format!("{:.1} %", 100.0 * c.null_rate)) } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_and_unknown_extensions_are_refused() {
        let a = SourceReport::unread("a", "a.zip", FileStatus::NotRead, "sent as it is".into(), 5);
        let b = SourceReport::unread("b", "b.zip", FileStatus::Failed, "bad".into(), 0);
        let r = QualityReport::new("emit", vec![a, b]);
        assert_eq!((r.totals.files, r.totals.failed, r.totals.rows_read), (2, 1, 5));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["schema"], SCHEMA);
        for (i, status) in [FileStatus::NotRead, FileStatus::Failed].into_iter().enumerate() {
            assert_eq!(json["sources"][i]["status"], status.as_str(), "the page and the JSON name it alike");
        }
        let dir = tempfile::tempdir().unwrap();
        let e = ReportFile::create(&dir.path().join("r.txt")).unwrap_err();
        assert!(format!("{e:#}").contains("hint: name the file *.json or *.html"), "{e:#}");
    }

    #[test]
    fn html_escapes_values_and_has_no_external_reference() {
        let mut s = SourceReport::unread("x", "<script>alert(1)</script>", FileStatus::Failed, "<b>".into(), 0);
        s.warnings.push("\"quoted\" & <tag>".into());
        let page = QualityReport::new("validate", vec![s]).html();
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && page.contains("&lt;b&gt;"), "{page}");
        assert!(!page.contains("<script") && !page.contains("http"), "{page}");
    }
}
