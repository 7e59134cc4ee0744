//! `cqube-emit convert` and `cqube-emit validate`: one export through the conversion engine.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use cqube_convert::{ConvertOptions, Input, NoRejects, OnError, Prepared, RejectCsv, RejectSink, Summary};
use cqube_core::Catalog;
use cqube_normalize::TextEncoding;
use cqube_zip::ZipOptions;

use crate::cli::GlobalArgs;
use crate::config::FileConfig;
use crate::exit::{ExitStatus, fail};
use crate::progress;

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
    #[arg(long, value_parser = parse_delimiter, env = "CQUBE_EMIT_DELIMITER")]
    pub delimiter: Option<u8>,
    /// Input encoding: utf-8, utf-16le, utf-16be, windows-1252 (latin1). Detected when omitted.
    #[arg(long, env = "CQUBE_EMIT_ENCODING")]
    pub encoding: Option<String>,
    /// What a bad row does: `fail` stops at the first one (no output); `skip` leaves it out and reports it.
    #[arg(long, value_enum, env = "CQUBE_EMIT_ON_ERROR")]
    pub on_error: Option<OnErrorArg>,
    /// With --on-error skip: stop once more than N rows were rejected.
    #[arg(long, env = "CQUBE_EMIT_MAX_ERRORS")]
    pub max_errors: Option<u64>,
    /// Write every rejected row (file, line, column, value, rule) to this CSV report.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// A value that means null (repeatable). Default: empty, NULL, null, NA, N/A.
    #[arg(long = "null-token", value_name = "TOKEN")]
    pub null_tokens: Vec<String>,
    /// Accept thousands separators in numbers (1,234 -> 1234).
    #[arg(long)]
    pub thousands_separator: bool,
    /// Worker threads (default: all cores).
    #[arg(long, env = "CQUBE_EMIT_THREADS")]
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
    /// Deflate level 0-9: lower is faster, higher is smaller.
    #[arg(long, env = "CQUBE_EMIT_LEVEL", value_parser = clap::value_parser!(u32).range(0..=9))]
    pub level: Option<u32>,
}

/// `--on-error` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnErrorArg {
    Fail,
    Skip,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!("expected one ASCII character or `tab`, got {s:?}")),
    }
}

/// Builds engine options: flags and env first, then the config file, then defaults.
pub fn options(args: &InputArgs, config: &FileConfig) -> anyhow::Result<ConvertOptions> {
    let file = &config.convert;
    let mut o = ConvertOptions { mappings: config.mappings(), ..ConvertOptions::default() };
    o.delimiter = match (args.delimiter, &file.delimiter) {
        (Some(d), _) => Some(d),
        (None, Some(d)) => {
            Some(parse_delimiter(d).map_err(|e| fail(ExitStatus::Usage, anyhow::anyhow!("[convert] delimiter: {e}")))?)
        }
        (None, None) => None,
    };
    if let Some(label) = args.encoding.as_ref().or(file.encoding.as_ref()) {
        o.encoding = Some(TextEncoding::from_label(label).ok_or_else(|| {
            fail(
                ExitStatus::Usage,
                anyhow::anyhow!("unknown encoding: {label}\n\nhint: utf-8, utf-16le, utf-16be, windows-1252"),
            )
        })?);
    }
    o.on_error = match (args.on_error, file.on_error.as_deref()) {
        (Some(OnErrorArg::Skip), _) | (None, Some("skip")) => OnError::Skip,
        (Some(OnErrorArg::Fail), _) | (None, Some("fail") | None) => OnError::Fail,
        (None, Some(other)) => {
            return Err(fail(
                ExitStatus::Usage,
                anyhow::anyhow!("[convert] on_error: expected fail or skip, got {other:?}"),
            ));
        }
    };
    o.max_errors = args.max_errors.or(file.max_errors);
    if !args.null_tokens.is_empty() {
        o.values.null_tokens.clone_from(&args.null_tokens);
    } else if let Some(tokens) = &file.null_tokens {
        o.values.null_tokens.clone_from(tokens);
    }
    o.values.thousands_separator = args.thousands_separator || file.thousands_separator.unwrap_or(false);
    if let Some(offset) = file.utc_offset_minutes {
        o.values.utc_offset_minutes = offset;
    }
    if let Some(bytes) = file.key_memory_bytes {
        o.key_memory_bytes = bytes;
    }
    if let Some(bytes) = file.chunk_bytes {
        o.chunk_bytes = bytes;
    }
    Ok(o)
}

/// Zip options: `--level`, then `[convert] level`, then the measured default.
pub fn zip_options(level: Option<u32>, config: &FileConfig) -> anyhow::Result<ZipOptions> {
    let mut zip = ZipOptions::default();
    if let Some(level) = level.or(config.convert.level) {
        if level > 9 {
            return Err(fail(ExitStatus::Usage, anyhow::anyhow!("[convert] level must be 0-9, got {level}")));
        }
        zip.level = level;
    }
    if let Some(epoch) = source_date_epoch() {
        zip.modified = std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch);
    }
    Ok(zip)
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
fn open_input(args: &InputArgs, config: &FileConfig, options: &mut ConvertOptions) -> anyhow::Result<(Input, Opened)> {
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
    *options = database_options(options.clone(), args, config);
    options.known_extra_columns.extend(request.watermark.as_ref().map(|w| w.column.clone()));
    let (input, reached) = open_database(&request)?;
    let watermark = request.watermark.map(|w| w.column).zip(reached);
    Ok((input, Opened { size: None, watermark }))
}

/// How a database source's bytes are read: comma-separated UTF-8 whose only null is the empty field (so a text
/// value `NA` stays text), unless null tokens were given by flag, env or config.
pub fn database_options(mut options: ConvertOptions, args: &InputArgs, config: &FileConfig) -> ConvertOptions {
    options.delimiter = Some(b',');
    options.encoding = Some(TextEncoding::Utf8);
    if args.null_tokens.is_empty() && config.convert.null_tokens.is_none() {
        options.values.null_tokens = vec![String::new()];
    }
    options
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

fn open<'c>(
    args: &InputArgs,
    catalog: &'c Catalog,
    config: &FileConfig,
    options: &mut ConvertOptions,
) -> anyhow::Result<(Prepared<'c>, Opened)> {
    let source = match &args.source {
        Some(name) => Some(catalog.get(name).ok_or_else(|| {
            fail(
                ExitStatus::Usage,
                anyhow::anyhow!("unknown data source: {name}\n\nhint: `cqube-emit catalog` lists them"),
            )
        })?),
        None => None,
    };
    let (input, opened) = open_input(args, config, options)?;
    let prepared = cqube_convert::prepare(catalog, source, input, options).map_err(engine_failure)?;
    if let Some(by) = prepared.source_inferred_by {
        tracing::info!(source = %prepared.source.name, by, "data source inferred");
        crate::cli::note(&format!("data source: {} (inferred from the {by})", prepared.source.name));
    }
    Ok((prepared, opened))
}

/// Tells where a watermarked database source got to; `emit` stores it once the server acknowledges the emission.
fn report_watermark(opened: &Opened) {
    if let Some((column, value)) = &opened.watermark {
        tracing::info!(column = %column, watermark = %value, "watermark reached");
        crate::cli::note(&format!("watermark: {column} reaches {value}"));
    }
}

/// Maps engine errors to exit statuses: bad data is an input error; a missing --source is a usage error.
pub fn engine_failure(e: cqube_convert::Error) -> anyhow::Error {
    let status = match &e {
        cqube_convert::Error::UnknownSource { .. }
        | cqube_convert::Error::ColumnsUnknown(_)
        | cqube_convert::Error::BadConstant { .. } => ExitStatus::Usage,
        _ => ExitStatus::Input,
    };
    fail(status, e)
}

pub fn run_convert(
    args: &ConvertArgs,
    catalog: &Catalog,
    config: &FileConfig,
    global: &GlobalArgs,
) -> anyhow::Result<ExitStatus> {
    let mut options = options(&args.input, config)?;
    let zip = zip_options(args.level, config)?;
    let (prepared, opened) = open(&args.input, catalog, config, &mut options)?;
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
    let mut options = options(args, config)?;
    let (prepared, opened) = open(args, catalog, config, &mut options)?;
    let mut rejects = rejects_sink(args.rejects.as_deref())?;
    let bar = progress::bar(global, opened.size);
    let summary =
        prepared.validate(rejects.as_mut(), &mut |p| progress::update(bar.as_ref(), p)).map_err(engine_failure)?;
    progress::finish(bar);
    rejects.finish()?;
    report_watermark(&opened);
    report_summary(&summary, None, args.rejects.as_deref(), global, false)
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
        Some(p) => {
            let file = File::create(p)
                .with_context(|| format!("creating rejects report {}", p.display()))
                .map_err(|e| fail(ExitStatus::Usage, e))?;
            Rejects::File(Box::new(RejectCsv::new(BufWriter::new(file))?))
        }
        None => Rejects::None(NoRejects),
    })
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
