//! `cqube-emit emit`, `plan`, `resume` and `verify`: flags, configuration and output around the emission engine
//! (`cqube-emission`), which plans, schedules, delivers and keeps the journal.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use clap::Args;
use cqube_convert::{RejectSink, SharedRejects};
use cqube_core::Catalog;
use cqube_emission::plan;
use cqube_emission::{Configured, Ended, FileResult, Item, ItemInput, Job, JobSpec, Level, Report, Watermarks};
use cqube_upload::{ApiClient, Journal, RetryPolicy};

use crate::config::FileConfig;
use crate::destination::{Destination, S3Args};
use crate::exit::{ExitStatus, fail};
use crate::global::GlobalArgs;
use crate::settings::{ConvertFlags, EmitFlags, EmitSettings, OnErrorArg, Origin, Setting};

/// How to reach the emission API.
#[derive(Debug, Args, Clone)]
pub struct ApiArgs {
    /// Emission API base URL (what `cqube-emit serve` prints). Config key `emit.api`. [env: CQUBE_EMIT_API]
    #[arg(long)]
    pub api: Option<String>,
    /// API token. Prefer CQUBE_EMIT_TOKEN or a token file: a flag shows in `ps`. [env: CQUBE_EMIT_TOKEN]
    #[arg(long)]
    pub token: Option<String>,
    /// File holding the API token. Config key `emit.token_file`. [env: CQUBE_EMIT_TOKEN_FILE]
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// How files are delivered: a cqube-emit server's multipart API, a stock cQube's presigned POST (one per file,
    /// at most 5 GiB, restarted rather than resumed), or auto: ask the API. Config key `emit.protocol`. [env: CQUBE_EMIT_PROTOCOL]
    #[arg(long, value_enum)]
    pub protocol: Option<crate::deliver::Protocol>,
}

/// Upload tuning shared by `emit` and `resume`.
#[derive(Debug, Args, Clone)]
pub struct TuningArgs {
    /// Files emitted at once; a dependent still waits for its dependencies' acknowledgements. Default 2. [env: CQUBE_EMIT_JOBS]
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Part PUTs running at once, over all files. Default 4. [env: CQUBE_EMIT_PARTS_IN_FLIGHT]
    #[arg(long)]
    pub parts_in_flight: Option<usize>,
    /// First part size in bytes (5 MiB..5 GiB); doubles every 1,000 parts. Default 8 MiB. [env: CQUBE_EMIT_PART_SIZE_BYTES]
    #[arg(long)]
    pub part_size_bytes: Option<usize>,
    /// Retries per request (transport errors, 5xx, SlowDown). Default 8. [env: CQUBE_EMIT_MAX_RETRIES]
    #[arg(long)]
    pub max_retries: Option<usize>,
    /// Time limit for one request, a part PUT included. Default 300. [env: CQUBE_EMIT_REQUEST_TIMEOUT_SECONDS]
    #[arg(long)]
    pub request_timeout_seconds: Option<u64>,
    /// Where resume journals are kept. Default $XDG_STATE_HOME/cqube-emit/jobs (~/.local/state/cqube-emit/jobs). [env: CQUBE_EMIT_JOURNAL_DIR]
    #[arg(long)]
    pub journal_dir: Option<PathBuf>,
    /// A prepared zip whose entry decompresses past this many bytes is refused. Default 64 GiB.
    #[arg(long, env = "CQUBE_EMIT_MAX_ENTRY_BYTES")]
    pub max_entry_bytes: Option<u64>,
    /// A prepared zip whose entry expands more than this many times its compressed size (past its first MiB) is
    /// refused as a zip bomb. Default 100; real cQube data stays near 20 or below.
    #[arg(long, env = "CQUBE_EMIT_MAX_COMPRESSION_RATIO", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_compression_ratio: Option<u64>,
}

/// `emit` flags.
#[derive(Debug, Args)]
pub struct EmitArgs {
    /// A cqube_emission directory, cQube-ready zips, raw exports, or - for stdin. Default: the config's
    /// `[[source]]`s (path globs and database queries).
    pub inputs: Vec<PathBuf>,
    /// Data source of stdin or of a raw file whose name does not say; with no inputs, the configured source to send.
    #[arg(short, long)]
    pub source: Option<String>,
    /// Re-encode zips through the conversion engine instead of sending them as they are.
    #[arg(long)]
    pub normalize: bool,
    /// Continue this job's journal: parts already stored are not sent again.
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub send: SendArgs,
}

/// `run` flags: `emit` of the config's sources, for cron and systemd.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Only these configured sources (repeatable); default all. Their dependencies are not added.
    #[arg(short, long = "source", value_name = "NAME")]
    pub sources: Vec<String>,
    #[command(flatten)]
    pub send: SendArgs,
}

/// What `emit` and `run` share: how files are converted and sent.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// What a bad row in a converted export does (fail the file, or skip the row). Config `[convert] on_error`. [env: CQUBE_EMIT_ON_ERROR]
    #[arg(long, value_enum)]
    pub on_error: Option<OnErrorArg>,
    /// Reject rows of converted exports that break a warning rule too (a check cQube does not enforce); by default
    /// they are counted and sent. Config `[convert] strict`. [env: CQUBE_EMIT_STRICT]
    #[arg(long)]
    pub strict: bool,
    /// Write every row left out of a converted export (file, line, column, value, rule) to this CSV report.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Write a data-quality report of every file (rejected and warned rows by rule, nulls per column, duplicates,
    /// codes missing from masters, what cQube would drop): FILE.json or FILE.html, by extension.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// A cqube_emission folder of masters emitted earlier (school, cluster, block, district, exam and question
    /// masters): rows whose codes are in neither these nor the plan's own masters are errors (unknown_school, ...).
    #[arg(long, value_name = "DIR")]
    pub masters: Option<PathBuf>,
    /// Deflate level 0-9 for converted exports, or auto: each file's level moves between 1 and 7 as its uploads
    /// keep up or fall behind (lower when the link waits for parts, higher when parts wait for the link). Config
    /// `[convert] level`. [env: CQUBE_EMIT_LEVEL]
    #[arg(long, value_name = "LEVEL")]
    pub level: Option<Level>,
    /// Print the plan, labelled (dry-run), and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Database sources with a watermark: read every row, not only those past the last acknowledged watermark
    /// (for backfills). The new watermark is still recorded with the acknowledgement.
    #[arg(long)]
    pub full: bool,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub s3: S3Args,
    #[command(flatten)]
    pub tuning: TuningArgs,
}

impl RunArgs {
    /// The `emit` this run is, and the sources it is narrowed to.
    pub fn into_emit(self) -> (EmitArgs, Vec<String>) {
        let emit = EmitArgs { inputs: Vec::new(), source: None, normalize: false, resume: false, send: self.send };
        (emit, self.sources)
    }
}

/// `plan` flags.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// As for `emit`.
    pub inputs: Vec<PathBuf>,
    /// As for `emit`.
    #[arg(short, long)]
    pub source: Option<String>,
}

/// `resume` flags.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The job id `emit` printed (also the journal's file name).
    pub job: String,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub s3: S3Args,
    #[command(flatten)]
    pub tuning: TuningArgs,
}

/// `verify` flags.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Object key in the emission bucket, as the acknowledgement names it.
    pub key: String,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// The `[emit]` flags of a command, for [`EmitSettings::resolve`].
fn emit_flags(api: &ApiArgs, s3: Option<&S3Args>, tuning: Option<&TuningArgs>) -> EmitFlags {
    EmitFlags {
        api: api.api.clone(),
        token: api.token.clone(),
        token_file: api.token_file.clone(),
        s3: s3.and_then(|s| s.s3.clone()),
        s3_endpoint: s3.and_then(|s| s.s3_endpoint.clone()),
        s3_path_style: s3.and_then(|s| s.s3_path_style.then_some(true)),
        jobs: tuning.and_then(|t| t.jobs),
        parts_in_flight: tuning.and_then(|t| t.parts_in_flight),
        part_size_bytes: tuning.and_then(|t| t.part_size_bytes),
        max_retries: tuning.and_then(|t| t.max_retries),
        request_timeout_seconds: tuning.and_then(|t| t.request_timeout_seconds),
        journal_dir: tuning.and_then(|t| t.journal_dir.clone()),
        max_entry_bytes: tuning.and_then(|t| t.max_entry_bytes),
        max_compression_ratio: tuning.and_then(|t| t.max_compression_ratio),
        protocol: api.protocol,
    }
}

/// The prepared-zip limits; records as long as `convert` accepts.
pub(crate) fn zip_limits(settings: &EmitSettings, max_record_bytes: usize) -> cqube_zip::check::Limits {
    cqube_zip::check::Limits {
        max_entry_bytes: settings.max_entry_bytes.value,
        max_ratio: settings.max_compression_ratio.value.max(1),
        max_record_bytes,
    }
}

pub(crate) fn emit_settings(
    api: &ApiArgs,
    s3: Option<&S3Args>,
    tuning: Option<&TuningArgs>,
    config: &FileConfig,
) -> anyhow::Result<EmitSettings> {
    EmitSettings::resolve(emit_flags(api, s3, tuning), config).map_err(|e| fail(ExitStatus::Usage, e))
}

fn journal_dir(settings: &EmitSettings) -> anyhow::Result<PathBuf> {
    match &settings.journal_dir.value {
        Some(dir) => Ok(dir.clone()),
        // Only without HOME: state_dir says so, with a hint.
        None => Ok(crate::config::state_dir().map_err(|e| fail(ExitStatus::Usage, e))?.join("jobs")),
    }
}

pub(crate) fn retry_policy(settings: &EmitSettings) -> RetryPolicy {
    RetryPolicy { max_retries: settings.max_retries.value, ..RetryPolicy::default() }
}

/// The API client; `api_default` (a resumed job's API) stands between the flag or env and the config file.
pub(crate) fn api_client(settings: &EmitSettings, api_default: Option<&str>) -> anyhow::Result<ApiClient> {
    let (api, token) = api_endpoint(settings, api_default)?;
    let timeout = Duration::from_secs(settings.request_timeout_seconds.value);
    ApiClient::new(&api, &token, retry_policy(settings), timeout).map_err(|e| fail(ExitStatus::Usage, e))
}

/// The API URL and token, as [`api_client`] resolves them.
pub(crate) fn api_endpoint(settings: &EmitSettings, api_default: Option<&str>) -> anyhow::Result<(String, String)> {
    let usage = |m: String| fail(ExitStatus::Usage, anyhow::anyhow!(m));
    let api = match &settings.api {
        Setting { value: Some(api), origin: Origin::Flag(_) | Origin::Env(_) } => Some(api.clone()),
        Setting { value, .. } => api_default.map(str::to_owned).or_else(|| value.clone()),
    }
    .ok_or_else(|| {
        usage(
            "no emission API URL\n\nhint: --api URL, CQUBE_EMIT_API or [emit] api (or --s3 s3://BUCKET to write to S3)"
                .into(),
        )
    })?;
    let token = match (&settings.token.value, &settings.token_file.value) {
        (Some(t), _) => t.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .with_context(|| format!("reading token file {}", file.display()))
            .map_err(|e| fail(ExitStatus::Usage, e))?
            .trim()
            .to_owned(),
        (None, None) => {
            return Err(usage(
                "no API token\n\nhint: CQUBE_EMIT_TOKEN, CQUBE_EMIT_TOKEN_FILE, --token-file or [emit] token_file"
                    .into(),
            ));
        }
    };
    Ok((api, token))
}

/// The config's `[[source]]`s that `emit` can send without inputs: `path` globs and database queries.
fn configured(config: &FileConfig, config_path: Option<&Path>) -> Vec<Configured> {
    let base = config_path.and_then(Path::parent);
    config
        .sources
        .iter()
        .filter_map(|s| {
            if let Some(kind) = &s.kind {
                return Some(Configured::Database { source: s.name.clone(), backend: *kind });
            }
            let p = PathBuf::from(s.path.as_ref()?);
            let pattern = if p.is_relative() { base.map_or_else(|| p.clone(), |b| b.join(&p)) } else { p };
            Some(Configured::Files { source: s.name.clone(), pattern })
        })
        .collect()
}

fn absolute(inputs: &[PathBuf]) -> Vec<PathBuf> {
    inputs
        .iter()
        .map(|p| if p.as_os_str() == "-" { p.clone() } else { std::path::absolute(p).unwrap_or_else(|_| p.clone()) })
        .collect()
}

/// `cqube-emit plan`: the plan as a tree on stdout.
#[allow(clippy::print_stdout)]
pub fn run_plan(
    args: &PlanArgs,
    catalog: &Catalog,
    config: &FileConfig,
    config_path: Option<&Path>,
    global: &GlobalArgs,
) -> anyhow::Result<ExitStatus> {
    let only = narrowed(&args.inputs, args.source.as_ref());
    let convert = inference_options(config, catalog)?;
    let configured = configured(config, config_path);
    let items = plan::build(catalog, &args.inputs, args.source.as_deref(), &configured, &only, &convert)?;
    let mut out = std::io::stdout().lock();
    if global.json {
        for (i, item) in items.iter().enumerate() {
            let after: Vec<&str> = item.after.iter().map(|&a| items[a].source.as_str()).collect();
            let line = serde_json::json!({"step": i + 1, "source": item.source, "input": item.input, "after": after});
            writeln!(out, "{line}")?;
        }
    } else {
        write!(out, "{}", plan::tree(&items))?;
    }
    Ok(ExitStatus::Success)
}

/// Without inputs, `--source NAME` picks one of the config's sources.
fn narrowed(inputs: &[PathBuf], source: Option<&String>) -> Vec<String> {
    if inputs.is_empty() { source.cloned().into_iter().collect() } else { Vec::new() }
}

/// `cqube-emit emit` (and `run`, which is `emit` of the config's sources, possibly narrowed to `only`).
pub fn run_emit(
    args: &EmitArgs,
    mut only: Vec<String>,
    catalog: Arc<Catalog>,
    config: &FileConfig,
    config_path: Option<&Path>,
    global: &GlobalArgs,
) -> anyhow::Result<ExitStatus> {
    let inputs = absolute(&args.inputs);
    let configured = configured(config, config_path);
    if inputs.is_empty() && configured.is_empty() {
        return Err(fail(
            ExitStatus::Usage,
            anyhow::anyhow!(
                "nothing to emit\n\nhint: cqube-emit emit DIR, or [[source]]s with path = \"exports/*.csv\" or a \
                 database query in the config"
            ),
        ));
    }
    only.extend(narrowed(&inputs, args.source.as_ref()));
    let convert = inference_options(config, &catalog)?;
    let items = plan::build(&catalog, &inputs, args.source.as_deref(), &configured, &only, &convert)?;
    if items.is_empty() {
        return Err(fail(
            ExitStatus::Usage,
            anyhow::anyhow!(
                "nothing to emit: no cQube zips or exports found

hint: `cqube-emit plan DIR` shows what is found"
            ),
        ));
    }
    let settings = emit_settings(&args.send.api, Some(&args.send.s3), Some(&args.send.tuning), config);
    if args.send.dry_run {
        let settings = settings.ok();
        print_dry_run(&items, global.json, &crate::destination::describe(settings.as_ref()))?;
        if let Some(settings) = &settings {
            print_dry_run_protocol(settings, global.json)?;
        }
        return Ok(ExitStatus::Success);
    }
    let settings = settings?;
    let destination = crate::destination::choose(&settings, None)?;
    let (on_error, level, strict) = job_conversion(&args.send, config)?;
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let spec = JobSpec {
        api: destination.name(),
        inputs,
        source: args.source.clone(),
        normalize: args.normalize,
        only,
        zip_modified_unix: crate::convert_cmd::source_date_epoch().unwrap_or(now),
        level,
        part_size_bytes: (settings.part_size_bytes.origin != Origin::Default).then_some(settings.part_size_bytes.value),
        on_error,
        strict,
        full: args.send.full,
        masters: args.send.masters.as_deref().map(|m| absolute(&[m.to_path_buf()]).remove(0)),
    };
    let dir = journal_dir(&settings)?;
    let outputs = (args.send.rejects.as_deref(), args.send.report.as_deref());
    run_job(spec, args.resume, &settings, &dir, destination, catalog, config, config_path, global, outputs)
}

/// `cqube-emit resume JOB`: runs the job its journal describes, reusing what was stored.
pub fn run_resume(
    args: &ResumeArgs,
    catalog: Arc<Catalog>,
    config: &FileConfig,
    config_path: Option<&Path>,
    global: &GlobalArgs,
) -> anyhow::Result<ExitStatus> {
    let settings = emit_settings(&args.api, Some(&args.s3), Some(&args.tuning), config)?;
    let dir = journal_dir(&settings)?;
    let path = Journal::path(&dir, &args.job);
    let state = Journal::read(&path)?.ok_or_else(|| {
        fail(ExitStatus::Usage, anyhow::anyhow!("no journal for job {}: {}", args.job, path.display()))
    })?;
    let spec = JobSpec::from_journal(&state).map_err(|e| fail(ExitStatus::Usage, e))?;
    let destination = crate::destination::choose(&settings, Some(&spec.api))?;
    run_job(spec, true, &settings, &dir, destination, catalog, config, config_path, global, (None, None))
}

/// How an emission converts and zips.
struct Conversion {
    files: cqube_convert::ConvertOptions,
    databases: cqube_convert::ConvertOptions,
    zip: cqube_zip::ZipOptions,
    auto_level: Option<cqube_emission::AutoLevel>,
}

/// How exports are converted, and how database rows are, as `convert` would; a job's own `on_error` and `level`
/// (its first run's, when resumed) stand in for the flags.
fn convert_options(spec: &JobSpec, config: &FileConfig, catalog: &Catalog) -> anyhow::Result<Conversion> {
    let on_error = spec.on_error.as_deref().map(|e| if e == "skip" { OnErrorArg::Skip } else { OnErrorArg::Fail });
    let flags = ConvertFlags { on_error, level: spec.level, strict: spec.strict, ..ConvertFlags::default() };
    let settings = crate::convert_cmd::convert_settings(flags, config)?;
    let files = crate::convert_cmd::options(&settings, config, catalog)?;
    let databases = crate::convert_cmd::database_options(files.clone(), &settings);
    let zip = crate::convert_cmd::zip_options(&settings);
    let auto_level = (settings.level.value == Level::Auto).then(cqube_emission::AutoLevel::default);
    Ok(Conversion { files, databases, zip, auto_level })
}

/// How a plan reads raw exports to infer their source: as `convert` reads them by default (delimiter, encoding and
/// column mappings from the config).
fn inference_options(config: &FileConfig, catalog: &Catalog) -> anyhow::Result<cqube_convert::ConvertOptions> {
    crate::convert_cmd::options(
        &crate::convert_cmd::convert_settings(ConvertFlags::default(), config)?,
        config,
        catalog,
    )
}

/// The `on_error`, `level` and `strict` an emission's job records: given by flag or env (the config file's are read
/// again on resume, as before).
fn job_conversion(
    send: &SendArgs,
    config: &FileConfig,
) -> anyhow::Result<(Option<String>, Option<Level>, Option<bool>)> {
    let flags = ConvertFlags {
        on_error: send.on_error,
        level: send.level,
        strict: send.strict.then_some(true),
        ..ConvertFlags::default()
    };
    let settings = crate::convert_cmd::convert_settings(flags, config)?;
    let given = |origin: &Origin| matches!(origin, Origin::Flag(_) | Origin::Env(_));
    let on_error = given(&settings.on_error.origin).then(|| format!("{:?}", settings.on_error.value).to_lowercase());
    let level = given(&settings.level.origin).then_some(settings.level.value);
    let strict = given(&settings.strict.origin).then_some(settings.strict.value);
    Ok((on_error, level, strict))
}

/// The database requests of the plan's database items; every misconfigured section is a usage error up front.
fn database_requests(
    items: &[Item],
    config: &FileConfig,
    convert: &cqube_convert::ConvertOptions,
) -> anyhow::Result<std::collections::BTreeMap<String, cqube_source::Request>> {
    let mut requests = std::collections::BTreeMap::new();
    for item in items.iter().filter(|i| matches!(i.input, ItemInput::Database(_))) {
        let name = &item.source;
        let request = config
            .database_request(name, convert.values.utc_offset_minutes)
            .context("the plan names a database source the config lacks")?
            .map_err(|e| fail(ExitStatus::Usage, e))?;
        requests.insert(name.clone(), request);
    }
    Ok(requests)
}

#[allow(clippy::too_many_arguments)]
fn run_job(
    spec: JobSpec,
    resume: bool,
    emit: &EmitSettings,
    dir: &Path,
    destination: Destination,
    catalog: Arc<Catalog>,
    config: &FileConfig,
    config_path: Option<&Path>,
    global: &GlobalArgs,
    (rejects, report): (Option<&Path>, Option<&Path>),
) -> anyhow::Result<ExitStatus> {
    let report = report.map(cqube_emission::report::ReportFile::create).transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let delivery = runtime.block_on(destination.connect(emit))?;
    let job = Job::open(spec, resume, dir)?;
    if job.resumed() {
        crate::global::note(&format!("resuming job {}", job.id()));
        if delivery.target.one_shot().is_some() {
            crate::global::note(
                "a one-shot POST cannot be continued: files not yet acknowledged restart from their first byte",
            );
        }
    }
    let spec = job.spec();
    let Conversion { files: convert, databases: database_convert, mut zip, auto_level } =
        convert_options(spec, config, &catalog)?;
    zip.modified = SystemTime::UNIX_EPOCH + Duration::from_secs(spec.zip_modified_unix);
    let configured = configured(config, config_path);
    let items = plan::build(&catalog, &spec.inputs, spec.source.as_deref(), &configured, &spec.only, &convert)?;
    let rejects = rejects.map(|p| crate::convert_cmd::rejects_file(p).map(SharedRejects::new)).transpose()?;
    let zip_limits = zip_limits(emit, convert.max_record_bytes);
    let masters = match &spec.masters {
        Some(dir) => cqube_emission::masters::Supplied::load(dir, &catalog, &convert, &zip_limits)?,
        None => cqube_emission::masters::Supplied::default(),
    };
    let settings = cqube_emission::Settings {
        jobs: emit.jobs.value.max(1),
        zip_limits,
        parts_in_flight: emit.parts_in_flight.value.max(1),
        // The job's own (a resumed job keeps its first run's), so its parts match the stored ones.
        part_size_bytes: spec.part_size_bytes.unwrap_or(crate::settings::DEFAULT_PART_SIZE_BYTES),
        retry: retry_policy(emit),
        zip,
        auto_level,
        databases: database_requests(&items, config, &database_convert)?,
        convert,
        database_convert,
        normalize: spec.normalize,
        watermarks: if spec.full { Watermarks::Ignored } else { Watermarks::Incremental },
        streams: std::collections::BTreeMap::new(),
        rejects: rejects.clone(),
        masters,
    };
    let total: Option<u64> = items
        .iter()
        .map(|i| match &i.input {
            ItemInput::Zip(p) if !settings.normalize => std::fs::metadata(p).ok().map(|m| m.len()),
            _ => None,
        })
        .sum();
    let output = Arc::new(crate::sink::Output::new(global, total).with_protocol(&delivery));
    let id = job.id().to_owned();
    let sink: Arc<dyn cqube_emission::EventSink> = output.clone();
    let ended =
        runtime.block_on(job.run(items, catalog, settings, delivery.target, sink, crate::signal::interrupted()));
    // Producers blocked on a part channel fail once their uploader is gone; nobody waits for them.
    runtime.shutdown_background();
    output.finish();
    if let Some(mut rejects) = rejects {
        rejects.flush().context("writing the rejects report")?;
    }
    match ended? {
        Ended::Finished(finished) => {
            if let Some(file) = &report {
                file.write(&finished.quality)?;
            }
            print_summary(&finished, global)?;
            Ok(finished.status)
        }
        Ended::Interrupted(signal) => {
            output.note(&match signal {
                cqube_emission::Interrupt::Sigint => {
                    format!("interrupted; the journal is kept: cqube-emit resume {id}")
                }
                cqube_emission::Interrupt::Sigterm => {
                    "stopped by SIGTERM; the uploads in progress were aborted".to_owned()
                }
            });
            Ok(ExitStatus::Interrupted)
        }
    }
}

/// The table of every file's result, on stderr for a person.
fn print_summary(report: &Report, global: &GlobalArgs) -> std::io::Result<()> {
    // Resuming helps only where running again can (a transient failure); a refused token or bad data needs a fix
    // first, which each failure's own line says.
    let resumable =
        report.results.iter().any(|r| matches!(r, FileResult::Failed { status: ExitStatus::Transient, .. }));
    if global.quiet && !global.json && resumable {
        writeln!(std::io::stderr().lock(), "hint: the journal is kept: cqube-emit resume {}", report.job)?;
    }
    if global.json || global.quiet {
        return Ok(());
    }
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "\n{:<40} {:<13} {:>10} {:>9} {:>9} {:>12}",
        "source", "result", "rows", "rejected", "warned", "bytes"
    )?;
    let (mut acked, mut up_to_date, mut failed, mut skipped, mut rows, mut bytes) = (0, 0, 0, 0, 0, 0);
    let (mut rejected, mut warned) = (0, 0);
    let mut all_levels = std::collections::BTreeMap::new();
    for (item, result) in report.items.iter().zip(&report.results) {
        let (mut file_rejected, mut file_warned) = ("-".to_owned(), "-".to_owned());
        let (result, row_count, byte_count, why) = match result {
            FileResult::Acknowledged { ack, rows_rejected, rows_warned, misses, cqube_duplicate_discards, levels } => {
                acked += 1;
                (rows, bytes) = (rows + ack.rows, bytes + ack.bytes);
                (rejected, warned) = (rejected + rows_rejected, warned + rows_warned);
                (file_rejected, file_warned) = (rows_rejected.to_string(), rows_warned.to_string());
                let mut notes = Vec::new();
                if !misses.is_empty() {
                    notes.push(format!("rejected: {}", crate::sink::misses_text(misses)));
                }
                if *cqube_duplicate_discards > 0 {
                    notes.push(crate::sink::discards_text(*cqube_duplicate_discards));
                }
                if !levels.is_empty() {
                    notes.push(crate::sink::levels_text(levels));
                    for (level, n) in levels {
                        *all_levels.entry(*level).or_default() += n;
                    }
                }
                let missed = if notes.is_empty() { String::new() } else { format!("  ({})", notes.join("; ")) };
                let why = if ack.confirmed == Some(false) {
                    format!("  sent, not confirmed (ingestion may have moved it){missed}")
                } else {
                    missed
                };
                ("acknowledged", ack.rows.to_string(), ack.bytes.to_string(), why)
            }
            FileResult::UpToDate { watermark } => {
                up_to_date += 1;
                (
                    "up to date",
                    "0".into(),
                    "-".into(),
                    format!("  nothing past {} = {}", watermark.column, watermark.value),
                )
            }
            FileResult::Failed { error, .. } => {
                failed += 1;
                ("failed", "-".into(), "-".into(), format!("  {error}"))
            }
            FileResult::Skipped { reason } => {
                skipped += 1;
                ("skipped", "-".into(), "-".into(), format!("  {reason}"))
            }
            FileResult::NotRun => ("not run", "-".into(), "-".into(), String::new()),
        };
        writeln!(
            err,
            "{:<40} {result:<13} {row_count:>10} {file_rejected:>9} {file_warned:>9} {byte_count:>12}{why}",
            item.source
        )?;
    }
    writeln!(
        err,
        "{acked} of {} files acknowledged, {up_to_date} up to date, {failed} failed, {skipped} skipped; {rows} rows, {bytes} bytes in {:.1} s",
        report.items.len(),
        report.seconds
    )?;
    if rejected > 0 || warned > 0 {
        writeln!(
            err,
            "{rejected} rows rejected (left out; --rejects FILE lists them), {warned} rows sent with warnings (checks \
             cQube does not enforce; --strict rejects them)"
        )?;
    }
    if !all_levels.is_empty() {
        writeln!(err, "--level auto: {}", crate::sink::levels_text(&all_levels))?;
    }
    if resumable {
        writeln!(err, "hint: running again can help; the journal is kept: cqube-emit resume {}", report.job)?;
    }
    Ok(())
}

/// Which protocol `emit` would use, and why; asking the API when `auto` sends no data.
fn print_dry_run_protocol(settings: &EmitSettings, json: bool) -> anyhow::Result<()> {
    let chosen = crate::destination::choose(settings, None).and_then(|destination| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(destination.connect(settings))
    });
    let (protocol, reason) = match chosen {
        Ok(d) => (Some(d.protocol), d.reason),
        Err(e) => (None, format!("not chosen: {}", format!("{e:#}").lines().next().unwrap_or_default())),
    };
    let mut out = std::io::stdout().lock();
    if json {
        let line = serde_json::json!({"event": "protocol", "dry_run": true, "protocol": protocol, "reason": reason});
        writeln!(out, "{line}")?;
    } else {
        writeln!(out, "(dry-run) protocol {}: {reason}", protocol.as_deref().unwrap_or("-"))?;
    }
    Ok(())
}

fn print_dry_run(items: &[Item], json: bool, destination: &str) -> std::io::Result<()> {
    crate::global::note(&format!("(dry-run) would deliver to {destination}"));
    let mut out = std::io::stdout().lock();
    for (i, item) in items.iter().enumerate() {
        let after: Vec<&str> = item.after.iter().map(|&a| items[a].source.as_str()).collect();
        if json {
            let line = serde_json::json!({"event": "plan", "dry_run": true, "step": i + 1, "source": item.source,
                "input": item.input, "key_prefix": item.filename, "after": after, "destination": destination});
            writeln!(out, "{line}")?;
        } else {
            let after = if after.is_empty() { String::new() } else { format!(" (after {})", after.join(", ")) };
            writeln!(out, "(dry-run) {}. emit {} <- {}{after}", i + 1, item.filename, item.input.display())?;
        }
    }
    Ok(())
}

/// `cqube-emit verify KEY`: downloads the object through `download_uri` and checks it as `emit` checks a zip.
#[allow(clippy::print_stdout)]
pub fn run_verify(
    args: &VerifyArgs,
    catalog: &Catalog,
    config: &FileConfig,
    global: &GlobalArgs,
) -> anyhow::Result<ExitStatus> {
    let source = catalog
        .find_by_path(&args.key)
        .ok_or_else(|| fail(ExitStatus::Usage, anyhow::anyhow!("no data source for key {}", args.key)))?;
    let emit = emit_settings(&args.api, None, None, config)?;
    let api = api_client(&emit, None)?;
    let convert = inference_options(config, catalog)?;
    let limits = zip_limits(&emit, convert.max_record_bytes);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    // The key as an acknowledgement or `ls` prints it, with or without its bucket in front.
    let facts = runtime.block_on(async {
        let (bucket, key) = crate::bucket_cmd::locate(&api, &args.key).await?;
        cqube_emission::zip_check::verify_object(&api, &bucket, &key, source, &limits).await
    })?;
    if global.json {
        let line = serde_json::json!({"event": "verified", "key": args.key, "source": source.name, "rows": facts.rows,
            "crc32": format!("{:08x}", facts.crc32), "csv_bytes": facts.csv_bytes, "zip_bytes": facts.zip_bytes});
        println!("{line}");
    } else {
        println!(
            "{}: ok — {}, one entry, header as the catalog says, {} rows, crc32 {:08x}, {} bytes",
            args.key, source.name, facts.rows, facts.crc32, facts.zip_bytes
        );
    }
    Ok(ExitStatus::Success)
}
