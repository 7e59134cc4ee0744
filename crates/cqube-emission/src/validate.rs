//! `cqube-emit validate DIR`: a whole plan read and checked as `emit` converts it, in the same order and with the
//! same cross-source checks (each master's codes collected before its dependents are read), and nothing sent.

use std::collections::BTreeMap;

use anyhow::Context;
use cqube_convert::{ConvertOptions, Input, Missed, RejectSink};
use cqube_core::Catalog;
use serde::Serialize;

use crate::masters::{Masters, Supplied};
use crate::plan::{Item, ItemInput};
use crate::report::{FileStatus, QualityReport, SourceReport};
use crate::status::{ExitStatus, engine_failure, fail, status_of};

/// One file of the plan, checked.
#[derive(Debug, Clone, Serialize)]
pub struct FileCheck {
    pub source: String,
    pub input: String,
    /// Rows read, rows that would be sent, rows left out (with `--on-error skip`) and rows sent with warnings.
    pub rows_in: u64,
    pub rows_out: u64,
    pub rows_rejected: u64,
    pub rows_warned: u64,
    /// Rows whose codes the plan's (or the supplied) masters lack, per referring column.
    pub misses: Vec<Missed>,
    /// Rows cQube would discard under its own duplicate rule (every copy of a key whose copies differ).
    pub cqube_duplicate_discards: u64,
    /// Why the file could not be checked to its end (with `--on-error fail`, its first bad row).
    pub error: Option<String>,
    #[serde(skip)]
    pub status: Option<ExitStatus>,
}

/// The plan's totals.
#[derive(Debug, Clone, Serialize)]
pub struct PlanCheck {
    pub files: usize,
    pub failed: usize,
    pub rows_in: u64,
    pub rows_rejected: u64,
    pub rows_warned: u64,
    /// Rows rejected for codes their masters lack, by rule (`unknown_school`).
    pub misses: BTreeMap<String, u64>,
    pub cqube_duplicate_discards: u64,
    #[serde(skip)]
    pub status: ExitStatus,
    /// File by file, what the checks found (`--report`).
    #[serde(skip)]
    pub report: QualityReport,
}

/// Checks `items` in plan order (masters first), reporting each file to `on_file` as it is done. Rejected rows go
/// to `rejects`; a file that cannot be read or, with `--on-error fail`, has a bad row is reported and the rest go
/// on (its codes, if it is a master, are then not known to its dependents).
pub fn check_plan(
    catalog: &Catalog,
    items: &[Item],
    options: &ConvertOptions,
    limits: &cqube_zip::check::Limits,
    supplied: Supplied,
    rejects: &mut dyn RejectSink,
    on_file: &mut dyn FnMut(&FileCheck),
) -> PlanCheck {
    let masters = Masters::new(catalog, items, supplied);
    let mut plan = PlanCheck {
        files: items.len(),
        failed: 0,
        rows_in: 0,
        rows_rejected: 0,
        rows_warned: 0,
        misses: BTreeMap::new(),
        cqube_duplicate_discards: 0,
        status: ExitStatus::Success,
        report: QualityReport::new("validate", Vec::new()),
    };
    let mut reports = Vec::with_capacity(items.len());
    let mut first_failure = None;
    for item in items {
        let options = options.clone().with_cross(masters.cross_checks(catalog, &item.source));
        let mut file = FileCheck {
            source: item.source.clone(),
            input: item.input.display(),
            rows_in: 0,
            rows_out: 0,
            rows_rejected: 0,
            rows_warned: 0,
            misses: Vec::new(),
            cqube_duplicate_discards: 0,
            error: None,
            status: None,
        };
        match check_file(catalog, item, &options, limits, rejects) {
            Ok(summary) => {
                masters.add(&item.source, &summary.codes);
                if let Some(source) = catalog.get(&item.source) {
                    reports.push(SourceReport::of_summary(&summary, source));
                }
                (file.rows_in, file.rows_out) = (summary.rows_in, summary.rows_out);
                (file.rows_rejected, file.rows_warned) = (summary.rows_rejected, summary.rows_warned);
                file.misses = summary.misses;
                file.cqube_duplicate_discards = summary.cqube_duplicate_discards;
            }
            Err(e) => {
                let status = status_of(&e);
                first_failure.get_or_insert(status);
                (file.error, file.status) = (Some(crate::status::describe(&e)), Some(status));
                plan.failed += 1;
                let error = file.error.clone().unwrap_or_default();
                reports.push(SourceReport::unread(&file.source, &file.input, FileStatus::Failed, error, 0));
            }
        }
        plan.rows_in += file.rows_in;
        plan.rows_rejected += file.rows_rejected;
        plan.rows_warned += file.rows_warned;
        plan.cqube_duplicate_discards += file.cqube_duplicate_discards;
        for m in &file.misses {
            *plan.misses.entry(m.rule.to_owned()).or_default() += m.count;
        }
        on_file(&file);
    }
    plan.status = match first_failure {
        None if plan.rows_rejected == 0 => ExitStatus::Success,
        Some(first) if plan.failed == plan.files => first,
        _ => ExitStatus::Partial,
    };
    plan.report = QualityReport::new("validate", reports);
    plan
}

pub(crate) fn check_file(
    catalog: &Catalog,
    item: &Item,
    options: &ConvertOptions,
    limits: &cqube_zip::check::Limits,
    rejects: &mut dyn RejectSink,
) -> anyhow::Result<cqube_convert::Summary> {
    let source = catalog.get(&item.source).context("source left the catalog")?;
    let input_error = |e: anyhow::Error| fail(ExitStatus::Input, e);
    let input = match &item.input {
        ItemInput::Zip(path) => crate::zip_check::open_entry(path, source, limits)
            .and_then(|r| Ok(Input::from_reader(&path.display().to_string(), None, r)?)),
        ItemInput::Raw(path) => Input::open(path).with_context(|| format!("opening {}", path.display())),
        ItemInput::Stdin => Input::open(std::path::Path::new("-")).context("reading stdin"),
        ItemInput::Database(_) | ItemInput::Stream(_) => {
            let e = anyhow::anyhow!(
                "{}: a plan's database sources are not validated here\n\nhint: cqube-emit validate --source {}",
                item.source,
                item.source
            );
            return Err(fail(ExitStatus::Usage, e));
        }
    }
    .map_err(input_error)?;
    let prepared = cqube_convert::prepare(catalog, Some(source), input, options).map_err(engine_failure)?;
    let summary = prepared.validate(rejects, &mut |_| {}).map_err(engine_failure)?;
    rejects.flush().context("writing the rejects report")?;
    Ok(summary)
}
