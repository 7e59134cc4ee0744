//! `cqube-emit convert` and `cqube-emit validate`: one export through the conversion engine.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use cqube_convert::{ConvertOptions, Input, NoRejects, OnError, Prepared, RejectCsv, RejectSink, Summary};
use cqube_core::Catalog;
use cqube_normalize::TextEncoding;
use cqube_zip::ZipOptions;

use crate::config::FileConfig;
use crate::exit::{ExitStatus, fail};
use crate::global::GlobalArgs;
use crate::progress;
use crate::settings::{ConvertFlags, ConvertSettings, Delimiter, OnErrorArg, Origin};
use cqube_emission::Level;
use cqube_emission::report::{QualityReport, ReportFile, SourceReport};
use cqube_emission::status::engine_failure;

/// Flags shared by `convert` and `validate`: what to read and how to check it.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// The export: a file (CSV, TSV, any delimiter; gzip recognised by content) or - for stdin. Omit it to read
    /// the --source's database query from the config file (`[[source]]` with `type = "postgres"` or `"mysql"`).
    pub input: Option<PathBuf>,
    /// Catalog data source (see `cqube-emit catalog`). Inferred from the file name or header when omitted.
    #[arg(short, long)]
    pub source: Option<String>,
    /// Input field separator: a character, or `tab`. Detected (comma, tab, semicolon, pipe) when omitted.
    #[arg(long)]
    pub delimiter: Option<Delimiter>,
    /// Input encoding: utf-8, utf-16le, utf-16be, windows-1252 (latin1). Detected when omitted. [env: CQUBE_EMIT_ENCODING]
    #[arg(long)]
    pub encoding: Option<String>,
    /// What a bad row does: `fail` stops at the first one (no output); `skip` leaves it out and reports it. [env: CQUBE_EMIT_ON_ERROR]
    #[arg(long, value_enum)]
    pub on_error: Option<OnErrorArg>,
    /// With --on-error skip: stop once more than N rows were rejected. [env: CQUBE_EMIT_MAX_ERRORS]
    #[arg(long)]
    pub max_errors: Option<u64>,
    /// Write every rejected row (file, line, column, value, rule) to this CSV report.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Write a data-quality report (rejected and warned rows by rule, nulls per column, duplicates, codes missing
    /// from masters, what cQube would drop): FILE.json or FILE.html, by extension.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Reject rows that break a warning rule too (a check cQube does not enforce, such as district_master
    /// inityear's format); by default they are only counted. Config `[convert] strict`. [env: CQUBE_EMIT_STRICT]
    #[arg(long)]
    pub strict: bool,
    /// A value that means null (repeatable). Default: empty, NULL, null, NA, N/A.
    #[arg(long = "null-token", value_name = "TOKEN")]
    pub null_tokens: Vec<String>,
    /// Accept thousands separators in numbers (1,234 -> 1234).
    #[arg(long)]
    pub thousands_separator: bool,
    /// Worker threads (default: all cores). [env: CQUBE_EMIT_THREADS]
    #[arg(long)]
    pub threads: Option<usize>,
}

/// `convert` flags.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output zip, or - for stdout. Default: ./<file_stem>.zip.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Deflate level 0-9: lower is faster, higher is smaller (`auto` is for emit). [env: CQUBE_EMIT_LEVEL]
    #[arg(long, value_name = "LEVEL")]
    pub level: Option<Level>,
}

/// The `[convert]` flags of `convert`/`validate` (and `level`, which only `convert` has).
pub fn convert_flags(args: &InputArgs, level: Option<Level>) -> ConvertFlags {
    ConvertFlags {
        delimiter: args.delimiter,
        encoding: args.encoding.clone(),
        on_error: args.on_error,
        max_errors: args.max_errors,
        null_tokens: args.null_tokens.clone(),
        thousands_separator: args.thousands_separator,
        level,
        threads: args.threads,
        strict: args.strict.then_some(true),
    }
}

/// `[convert]` resolved; every bad value is a usage error, all reported at once.
pub fn convert_settings(flags: ConvertFlags, config: &FileConfig) -> anyhow::Result<ConvertSettings> {
    ConvertSettings::resolve(flags, config).map_err(|e| fail(ExitStatus::Usage, e))
}

/// Engine options from the resolved settings and the config's column mappings.
pub fn options(settings: &ConvertSettings, config: &FileConfig, catalog: &Catalog) -> anyhow::Result<ConvertOptions> {
    let mut o = ConvertOptions { mappings: config.mappings(), ..ConvertOptions::default() };
    o.delimiter = settings.delimiter.value.map(|d| d.0);
    if let Some(label) = &settings.encoding.value {
        o.encoding = Some(TextEncoding::from_label(label).ok_or_else(|| {
            fail(
                ExitStatus::Usage,
                anyhow::anyhow!("unknown encoding: {label}\n\nhint: utf-8, utf-16le, utf-16be, windows-1252"),
            )
        })?);
    }
    o.on_error = match settings.on_error.value {
        OnErrorArg::Skip => OnError::Skip,
        OnErrorArg::Fail => OnError::Fail,
    };
    o.max_errors = settings.max_errors.value;
    o.values.null_tokens.clone_from(&settings.null_tokens.value);
    o.values.thousands_separator = settings.thousands_separator.value;
    o.values.utc_offset_minutes = settings.utc_offset_minutes.value;
    o.key_memory_bytes = settings.key_memory_bytes.value;
    o.chunk_bytes = settings.chunk_bytes.value;
    o.strict = settings.strict.value;
    let unknown = catalog.unknown_warning_columns(&settings.strict_checks.value);
    if !unknown.is_empty() {
        return Err(fail(
            ExitStatus::Usage,
            anyhow::anyhow!(
                "[convert] strict_checks: {} names no column with a warning rule\n\nhint: write source.column; \
                 `cqube-emit catalog NAME` shows each rule's severity",
                unknown.join(", ")
            ),
        ));
    }
    o.strict_checks.clone_from(&settings.strict_checks.value);
    Ok(o)
}

/// Zip options: the resolved level (`auto` starts where the default level is); `SOURCE_DATE_EPOCH` fixes the entry
/// time.
pub fn zip_options(settings: &ConvertSettings) -> ZipOptions {
    let mut zip = ZipOptions::default();
    if let Level::Fixed(level) = settings.level.value {
        zip.level = level;
    }
    if let Some(epoch) = source_date_epoch() {
        zip.modified = std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch);
    }
    zip
}

/// `SOURCE_DATE_EPOCH`, the reproducible-builds convention: zips made with it have this entry time, so the same
/// input gives the same zip, byte for byte, from `convert` and `emit` alike.
pub fn source_date_epoch() -> Option<u64> {
    std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|v| v.trim().parse::<u64>().ok())
}

/// What is known of an opened input besides its bytes: its size, and for a database the watermark reached.
struct Opened {
    size: Option<u64>,
    watermark: Option<(String, String)>,
}

/// The file or stdin named by INPUT, else the --source's database from the config. A database source reads
/// comma-separated UTF-8 whose only null is the empty field (a text value `NA` stays text), unless flags or the
/// config say otherwise.
fn open_input(
    args: &InputArgs,
    config: &FileConfig,
    settings: &ConvertSettings,
    options: &mut ConvertOptions,
) -> anyhow::Result<(Input, Opened)> {
    if let Some(path) = &args.input {
        let input = Input::open(path)
            .with_context(|| format!("opening {}", path.display()))
            .map_err(|e| fail(ExitStatus::Input, e))?;
        let size = (path.as_os_str() != "-").then(|| std::fs::metadata(path).ok().map(|m| m.len())).flatten();
        return Ok((input, Opened { size, watermark: None }));
    }
    let usage = |message: String| fail(ExitStatus::Usage, anyhow::anyhow!(message));
    let Some(name) = &args.source else {
        return Err(usage(
            "no INPUT given\n\nhint: pass a file, - for stdin, or --source NAME of a database source".into(),
        ));
    };
    let request = config
        .database_request(name, options.values.utc_offset_minutes)
        .ok_or_else(|| {
            usage(format!(
                "no INPUT given, and the config has no database source {name}\n\nhint: add a [[source]] with type, \
                 query and url_env (docs/databases.md), or pass a file"
            ))
        })?
        .map_err(|e| fail(ExitStatus::Usage, e))?;
    *options = database_options(options.clone(), settings);
    options.known_extra_columns.extend(request.watermark.as_ref().map(|w| w.column.clone()));
    let (input, reached) = cqube_emission::produce::open_database(&request)?;
    let watermark = request.watermark.map(|w| w.column).zip(reached);
    Ok((input, Opened { size: None, watermark }))
}

/// How a database source's bytes are read: comma-separated UTF-8 whose only null is the empty field (so a text
/// value `NA` stays text), unless null tokens were given by flag or config.
pub fn database_options(mut options: ConvertOptions, settings: &ConvertSettings) -> ConvertOptions {
    options.delimiter = Some(b',');
    options.encoding = Some(TextEncoding::Utf8);
    if settings.null_tokens.origin == Origin::Default {
        options.values.null_tokens = vec![String::new()];
    }
    options
}

fn open<'c>(
    args: &InputArgs,
    catalog: &'c Catalog,
    config: &FileConfig,
    settings: &ConvertSettings,
    options: &mut ConvertOptions,
) -> anyhow::Result<(Prepared<'c>, Opened)> {
    let source = match &args.source {
        Some(name) => Some(
            catalog.get(name).ok_or_else(|| fail(ExitStatus::Usage, anyhow::anyhow!(catalog.unknown_source(name))))?,
        ),
        None => None,
    };
    let (input, opened) = open_input(args, config, settings, options)?;
    let prepared = cqube_convert::prepare(catalog, source, input, options).map_err(engine_failure)?;
    if let Some(by) = prepared.source_inferred_by {
        tracing::info!(source = %prepared.source.name, by, "data source inferred");
        crate::global::note(&format!("data source: {} (inferred from the {by})", prepared.source.name));
    }
    Ok((prepared, opened))
}

/// Tells where a watermarked database source got to; `emit` stores it once the server acknowledges the emission.
fn report_watermark(opened: &Opened) {
    if let Some((column, value)) = &opened.watermark {
        tracing::info!(column = %column, watermark = %value, "watermark reached");
        crate::global::note(&format!("watermark: {column} reaches {value}"));
    }
}

pub fn run_convert(
    args: &ConvertArgs,
    catalog: &Catalog,
    config: &FileConfig,
    global: &GlobalArgs,
) -> anyhow::Result<ExitStatus> {
    let settings = convert_settings(convert_flags(&args.input, args.level), config)?;
    if settings.level.value == Level::Auto {
        let e = anyhow::anyhow!(
            "level auto ({}) is for emit only: convert writes one file whose size is compared, at one level\n\nhint: \
             give convert --level 0-9 (5 is the default)",
            settings.level.origin
        );
        return Err(fail(ExitStatus::Usage, e));
    }
    let mut options = options(&settings, config, catalog)?;
    let zip = zip_options(&settings);
    let quality = quality_report_file(&args.input)?;
    let (prepared, opened) = open(&args.input, catalog, config, &settings, &mut options)?;
    let source = prepared.source;
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    let output = args.output.clone().unwrap_or_else(|| PathBuf::from(format!("{}.zip", prepared.source.file_stem)));
    let mut rejects = rejects_sink(args.input.rejects.as_deref())?;
    let bar = progress::bar(global, opened.size);
    let mut report = |p: &cqube_convert::Progress| progress::update(bar.as_ref(), p);
    let summary = if to_stdout {
        let stdout = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
        let (mut out, summary) =
            prepared.convert(stdout, zip, rejects.as_mut(), &mut report).map_err(engine_failure)?;
        out.flush().context("writing stdout")?;
        summary
    } else {
        // Write beside the target and rename at the end: a failed run leaves no half-written zip.
        let partial = partial_path(&output);
        let file = File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
        let result = prepared.convert(BufWriter::with_capacity(1 << 20, file), zip, rejects.as_mut(), &mut report);
        let finished = result.map_err(engine_failure).and_then(|(out, summary)| {
            let file = out.into_inner().map_err(std::io::IntoInnerError::into_error)?;
            file.sync_all()?;
            std::fs::rename(&partial, &output).with_context(|| format!("renaming to {}", output.display()))?;
            Ok(summary)
        });
        if finished.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        finished?
    };
    progress::finish(bar);
    rejects.finish()?;
    write_quality_report(quality.as_ref(), "convert", &summary, source)?;
    report_watermark(&opened);
    let target = if to_stdout { "stdout".to_owned() } else { output.display().to_string() };
    report_summary(&summary, Some(&target), args.input.rejects.as_deref(), global, to_stdout)
}

pub fn run_validate(
    args: &InputArgs,
    catalog: &Catalog,
    config: &FileConfig,
    global: &GlobalArgs,
) -> anyhow::Result<ExitStatus> {
    let settings = convert_settings(convert_flags(args, None), config)?;
    let mut options = options(&settings, config, catalog)?;
    let report = quality_report_file(args)?;
    let (prepared, opened) = open(args, catalog, config, &settings, &mut options)?;
    let source = prepared.source;
    let mut rejects = rejects_sink(args.rejects.as_deref())?;
    let bar = progress::bar(global, opened.size);
    let summary =
        prepared.validate(rejects.as_mut(), &mut |p| progress::update(bar.as_ref(), p)).map_err(engine_failure)?;
    progress::finish(bar);
    rejects.finish()?;
    write_quality_report(report.as_ref(), "validate", &summary, source)?;
    report_watermark(&opened);
    report_summary(&summary, None, args.rejects.as_deref(), global, false)
}

/// `--report FILE`, checked before anything is read.
pub fn quality_report_file(args: &InputArgs) -> anyhow::Result<Option<ReportFile>> {
    args.report.as_deref().map(ReportFile::create).transpose()
}

fn write_quality_report(
    file: Option<&ReportFile>,
    command: &str,
    summary: &Summary,
    source: &cqube_core::DataSource,
) -> anyhow::Result<()> {
    let Some(file) = file else { return Ok(()) };
    file.write(&QualityReport::new(command, vec![SourceReport::of_summary(summary, source)]))
}

fn partial_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(".partial");
    output.with_file_name(name)
}

/// The rejects report, or a sink that only counts.
pub enum Rejects {
    File(Box<RejectCsv<BufWriter<File>>>),
    None(NoRejects),
}

impl Rejects {
    pub fn as_mut(&mut self) -> &mut dyn RejectSink {
        match self {
            Rejects::File(f) => f.as_mut(),
            Rejects::None(n) => n,
        }
    }

    pub fn finish(self) -> anyhow::Result<()> {
        if let Rejects::File(f) = self {
            f.finish()?.flush().context("writing rejects report")?;
        }
        Ok(())
    }
}

pub fn rejects_sink(path: Option<&Path>) -> anyhow::Result<Rejects> {
    Ok(match path {
        Some(p) => Rejects::File(Box::new(rejects_file(p)?)),
        None => Rejects::None(NoRejects),
    })
}

/// The rejects report at `path` (`--rejects` of `convert`, `validate` and `emit`), its header written.
pub fn rejects_file(path: &Path) -> anyhow::Result<RejectCsv<BufWriter<File>>> {
    let file = File::create(path)
        .with_context(|| format!("creating rejects report {}", path.display()))
        .map_err(|e| fail(ExitStatus::Usage, e))?;
    Ok(RejectCsv::new(BufWriter::new(file))?)
}

/// Prints the summary (a table on stderr, or JSON on stdout) and picks the exit status.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub fn report_summary(
    s: &Summary,
    output: Option<&str>,
    rejects: Option<&Path>,
    global: &GlobalArgs,
    stdout_taken: bool,
) -> anyhow::Result<ExitStatus> {
    tracing::info!(
        source = %s.source,
        input = %s.input,
        rows_in = s.rows_in,
        rows_out = s.rows_out,
        rows_rejected = s.rows_rejected,
        bytes_in = s.bytes_in,
        bytes_out = s.bytes_out,
        seconds = s.seconds,
        "finished"
    );
    if global.json {
        let line = serde_json::to_string(s)?;
        if stdout_taken { eprintln!("{line}") } else { println!("{line}") }
    } else if !global.quiet {
        let verb = if output.is_some() { "converted" } else { "validated" };
        eprintln!("{verb} {}: {}{}", s.source, s.input, output.map(|o| format!(" -> {o}")).unwrap_or_default());
        let where_rejects = match (s.rows_rejected, rejects) {
            (0, _) => String::new(),
            (_, Some(p)) => format!(" (see {})", p.display()),
            (_, None) => " (pass --rejects FILE for the list)".into(),
        };
        eprintln!("  rows:   {} in, {} out, {} rejected{where_rejects}", s.rows_in, s.rows_out, s.rows_rejected);
        if s.rows_warned > 0 {
            eprintln!(
                "  warned: {} rows kept that break a check cQube does not enforce (--strict rejects them):",
                s.rows_warned
            );
            for w in &s.warned {
                eprintln!(
                    "    {}: {}: {} cells, first at line {} ({:?})",
                    w.column, w.rule, w.count, w.first_line, w.first_value
                );
            }
        }
        let zip = if s.bytes_out > 0 {
            format!(
                ", {} zip ({:.1}% of csv)",
                human_bytes(s.bytes_out),
                100.0 * s.bytes_out as f64 / s.csv_bytes.max(1) as f64
            )
        } else {
            String::new()
        };
        eprintln!("  bytes:  {} in, {} csv{zip}", human_bytes(s.bytes_in), human_bytes(s.csv_bytes));
        eprintln!(
            "  read:   {}{}, delimiter {:?}{}",
            s.encoding,
            if s.gzip { " (gzip)" } else { "" },
            s.delimiter,
            if s.delimiter_detected { " (detected)" } else { "" }
        );
        for warning in &s.warnings {
            eprintln!("  warning: {warning}");
        }
        if !s.dropped_columns.is_empty() {
            eprintln!("  dropped columns not in the catalog: {}", s.dropped_columns.join(", "));
        }
        if s.duplicates_exact > 0 || s.cqube_duplicate_discards > 0 {
            eprintln!(
                "  duplicates: {} later copies identical to the first (cQube collapses them); sent as they were, \
                 cQube would discard {} rows, every copy of a key whose copies differ",
                s.duplicates_exact, s.cqube_duplicate_discards,
            );
        }
        if !s.key_check_complete {
            eprintln!(
                "  duplicate-key check covered the first {} keys only (raise [convert] key_memory_bytes)",
                s.keys_tracked
            );
        }
        eprintln!("  time:   {:.2} s, {:.1} MB/s", s.seconds, s.mb_per_second());
    }
    Ok(if s.rows_rejected > 0 { ExitStatus::Partial } else { ExitStatus::Success })
}

fn human_bytes(n: u64) -> String {
    let n = n as f64;
    match n {
        _ if n >= 1e9 => format!("{:.2} GB", n / 1e9),
        _ if n >= 1e6 => format!("{:.1} MB", n / 1e6),
        _ if n >= 1e3 => format!("{:.1} kB", n / 1e3),
        _ => format!("{n} B"),
    }
}
