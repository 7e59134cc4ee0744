//! `cqube-emit validate`: one export (as `convert` reads it, nothing written), or a whole cqube_emission folder as
//! one plan with the cross-source checks (the engine's `validate::check_plan`); nothing is sent.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use cqube_core::Catalog;
use cqube_emission::masters::Supplied;
use cqube_emission::validate::{FileCheck, PlanCheck};

use crate::config::FileConfig;
use crate::convert_cmd::InputArgs;
use crate::exit::{ExitStatus, fail};
use crate::global::GlobalArgs;
use crate::settings::{EmitFlags, EmitSettings};

/// `validate` flags.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// A cqube_emission folder of masters emitted earlier: rows whose school, cluster, block, district, exam or
    /// question codes are in neither these nor the checked folder's own masters are errors (unknown_school, ...).
    #[arg(long, value_name = "DIR")]
    pub masters: Option<PathBuf>,
}

pub fn run(
    args: &ValidateArgs,
    catalog: &Catalog,
    config: &FileConfig,
    global: &GlobalArgs,
) -> anyhow::Result<ExitStatus> {
    let planned = args.input.input.as_ref().filter(|p| p.is_dir() || (args.masters.is_some() && p.is_file()));
    let Some(input) = planned else {
        if args.masters.is_some() {
            let e = anyhow::anyhow!(
                "--masters needs a folder or a file to check\n\nhint: cqube-emit validate --masters DIR FILE"
            );
            return Err(fail(ExitStatus::Usage, e));
        }
        return crate::convert_cmd::run_validate(&args.input, catalog, config, global);
    };
    let settings = crate::convert_cmd::convert_settings(crate::convert_cmd::convert_flags(&args.input, None), config)?;
    let options = crate::convert_cmd::options(&settings, config, catalog)?;
    let emit = EmitSettings::resolve(EmitFlags::default(), config).map_err(|e| fail(ExitStatus::Usage, e))?;
    let limits = crate::emit_cmd::zip_limits(&emit, options.max_record_bytes);
    let items = cqube_emission::plan::build(
        catalog,
        std::slice::from_ref(input),
        args.input.source.as_deref(),
        &[],
        &[],
        &options,
    )?;
    if items.is_empty() {
        let e = anyhow::anyhow!(
            "nothing to validate in {}: no cQube zips found\n\nhint: `cqube-emit plan DIR` shows what is found",
            input.display()
        );
        return Err(fail(ExitStatus::Usage, e));
    }
    let supplied = match &args.masters {
        Some(dir) => Supplied::load(dir, catalog, &options, &limits)?,
        None => Supplied::default(),
    };
    let report = crate::convert_cmd::quality_report_file(&args.input)?;
    let mut rejects = crate::convert_cmd::rejects_sink(args.input.rejects.as_deref())?;
    let mut out = Printer { json: global.json, quiet: global.quiet, header: false };
    let plan = cqube_emission::validate::check_plan(
        catalog,
        &items,
        &options,
        &limits,
        supplied,
        rejects.as_mut(),
        &mut |file| out.file(file),
    );
    rejects.finish()?;
    if let Some(file) = &report {
        file.write(&plan.report)?;
    }
    out.summary(&plan, args.input.rejects.as_deref().is_some());
    Ok(plan.status)
}

/// Each file's line as it is checked, then the totals: JSON lines on stdout, or a table on stderr.
struct Printer {
    json: bool,
    quiet: bool,
    header: bool,
}

impl Printer {
    #[allow(clippy::print_stdout)]
    fn file(&mut self, file: &FileCheck) {
        if self.json {
            let mut line = serde_json::json!({"event": "file_checked"});
            if let (Some(map), Ok(serde_json::Value::Object(fields))) =
                (line.as_object_mut(), serde_json::to_value(file))
            {
                map.extend(fields);
            }
            println!("{line}");
            return;
        }
        if self.quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        if !self.header {
            self.header = true;
            let _ = writeln!(err, "{:<38} {:>10} {:>9} {:>9}  misses", "source", "rows", "rejected", "warned");
        }
        let misses: Vec<String> =
            file.misses.iter().map(|m| format!("{} {} ({})", m.rule, m.count, m.column)).collect();
        let _ = match &file.error {
            Some(error) => writeln!(err, "{:<38} {:>10} {:>9} {:>9}  failed: {error}", file.source, "-", "-", "-"),
            None => writeln!(
                err,
                "{:<38} {:>10} {:>9} {:>9}  {}",
                file.source,
                file.rows_in,
                file.rows_rejected,
                file.rows_warned,
                misses.join(", ")
            ),
        };
        if file.cqube_duplicate_discards > 0 {
            let _ = writeln!(err, "  duplicates: {}", crate::sink::discards_text(file.cqube_duplicate_discards));
        }
        for m in &file.misses {
            let _ = writeln!(
                err,
                "  {}: {} rows refer to codes not in {} (first at line {}: {:?})",
                m.column, m.count, m.master, m.first_line, m.first_value
            );
        }
    }

    #[allow(clippy::print_stdout)]
    fn summary(&self, plan: &PlanCheck, rejects_written: bool) {
        if self.json {
            let mut line = serde_json::json!({"event": "summary", "exit_status": plan.status as u8});
            if let (Some(map), Ok(serde_json::Value::Object(fields))) =
                (line.as_object_mut(), serde_json::to_value(plan))
            {
                map.extend(fields);
            }
            println!("{line}");
            return;
        }
        if self.quiet {
            return;
        }
        let misses: Vec<String> = plan.misses.iter().map(|(rule, n)| format!("{rule} {n}")).collect();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "\nvalidated {} files (nothing sent): {} failed, {} rows, {} rejected, {} warned{}",
            plan.files,
            plan.failed,
            plan.rows_in,
            plan.rows_rejected,
            plan.rows_warned,
            if misses.is_empty() { String::new() } else { format!("; missing from masters: {}", misses.join(", ")) }
        );
        if plan.rows_rejected > 0 && !rejects_written {
            let _ = writeln!(err, "\nhint: pass --rejects FILE for the list of rejected rows");
        }
    }
}
