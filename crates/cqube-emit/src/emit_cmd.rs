//! `cqube-emit emit`, `plan`, `resume` and `verify`: flags, configuration, the job and its journal, output.
//! The pipeline itself is in `emit_run`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use clap::Args;
use cqube_core::Catalog;
use cqube_upload::{ApiClient, Journal, JournalState, RetryPolicy};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::cli::GlobalArgs;
use crate::config::FileConfig;
use crate::convert_cmd::OnErrorArg;
use crate::emit_plan::{self, Configured, Item, ItemInput};
use crate::exit::{ExitStatus, fail};

/// `[emit]` in the config file. Secrets are not plain keys: the token comes from `token_file`, the environment
/// (`CQUBE_EMIT_TOKEN`, `CQUBE_EMIT_TOKEN_FILE`) or `--token`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmitSection {
    /// Emission API base URL, e.g. `http://127.0.0.1:8470/data`.
    pub api: Option<String>,
    /// File holding the API token (relative to the config file).
    pub token_file: Option<PathBuf>,
    /// Files emitted at once.
    pub jobs: Option<usize>,
    /// Part PUTs running at once, over all files.
    pub parts_in_flight: Option<usize>,
    /// First part size; it doubles every 1,000 parts.
    pub part_size_bytes: Option<usize>,
    /// Retries per request after the first attempt.
    pub max_retries: Option<usize>,
    /// Limit for one request (a part PUT included).
    pub request_timeout_seconds: Option<u64>,
    /// Where resume journals are kept.
    pub journal_dir: Option<PathBuf>,
    /// Largest decompressed entry of a prepared zip.
    pub max_entry_bytes: Option<u64>,
    /// Largest decompressed-to-compressed ratio of a prepared zip's entry.
    pub max_compression_ratio: Option<u64>,
}

/// How to reach the emission API.
#[derive(Debug, Args, Clone)]
pub struct ApiArgs {
    /// Emission API base URL (what `cqube-emit serve` prints). Config key `emit.api`.
    #[arg(long, env = "CQUBE_EMIT_API")]
    pub api: Option<String>,
    /// API token. Prefer CQUBE_EMIT_TOKEN or a token file: a flag shows in `ps`.
    #[arg(long, env = "CQUBE_EMIT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// File holding the API token. Config key `emit.token_file`.
    #[arg(long, env = "CQUBE_EMIT_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
}

/// Upload tuning shared by `emit` and `resume`.
#[derive(Debug, Args, Clone)]
pub struct TuningArgs {
    /// Files emitted at once; a dependent still waits for its dependencies' acknowledgements. Default 2.
    #[arg(long, short = 'j', env = "CQUBE_EMIT_JOBS")]
    pub jobs: Option<usize>,
    /// Part PUTs running at once, over all files. Default 4.
    #[arg(long, env = "CQUBE_EMIT_PARTS_IN_FLIGHT")]
    pub parts_in_flight: Option<usize>,
    /// First part size in bytes (5 MiB..5 GiB); doubles every 1,000 parts. Default 8 MiB.
    #[arg(long, env = "CQUBE_EMIT_PART_SIZE_BYTES")]
    pub part_size_bytes: Option<usize>,
    /// Retries per request (transport errors, 5xx, SlowDown). Default 8.
    #[arg(long, env = "CQUBE_EMIT_MAX_RETRIES")]
    pub max_retries: Option<usize>,
    /// Time limit for one request, a part PUT included. Default 300.
    #[arg(long, env = "CQUBE_EMIT_REQUEST_TIMEOUT_SECONDS")]
    pub request_timeout_seconds: Option<u64>,
    /// Where resume journals are kept. Default $XDG_STATE_HOME/cqube-emit/jobs (~/.local/state/cqube-emit/jobs).
    #[arg(long, env = "CQUBE_EMIT_JOURNAL_DIR")]
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
    /// What a bad row in a converted export does (fail the file, or skip the row). Config `[convert] on_error`.
    #[arg(long, value_enum, env = "CQUBE_EMIT_ON_ERROR")]
    pub on_error: Option<OnErrorArg>,
    /// Deflate level 0-9 for converted exports.
    #[arg(long, env = "CQUBE_EMIT_LEVEL", value_parser = clap::value_parser!(u32).range(0..=9))]
    pub level: Option<u32>,
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

/// What a job is; its hash is the job id, so the same command finds the same journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSpec {
    pub api: String,
    pub inputs: Vec<PathBuf>,
    pub source: Option<String>,
    pub normalize: bool,
    /// The configured sources a `run` was narrowed to (empty: all).
    #[serde(default)]
    pub only: Vec<String>,
    /// Zip entry time for converted files, fixed per job so a resumed conversion is byte-identical.
    pub zip_modified_unix: u64,
    /// What else decides the bytes and their cut into parts; a resumed job keeps the first run's values so its
    /// parts match the stored ones.
    #[serde(default)]
    pub level: Option<u32>,
    #[serde(default)]
    pub part_size_bytes: Option<usize>,
    #[serde(default)]
    pub on_error: Option<String>,
    /// `--full`: watermarks are ignored.
    #[serde(default)]
    pub full: bool,
}

impl JobSpec {
    fn id(&self) -> String {
        let mut h = sha2::Sha256::new();
        let identity = serde_json::json!([self.api, self.inputs, self.source, self.normalize, self.only]);
        h.update(identity.to_string().as_bytes());
        hex::encode(&h.finalize()[..8])
    }
}

/// Whether database sources start after their last acknowledged watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watermarks {
    /// Only rows past the watermark of the source's last acknowledged emission.
    Incremental,
    /// Every row (`--full`).
    Ignored,
}

/// Everything the runner needs, resolved once.
pub struct Settings {
    pub jobs: usize,
    /// What a prepared zip may hold.
    pub zip_limits: cqube_zip::check::Limits,
    pub parts_in_flight: usize,
    pub part_size_bytes: usize,
    pub zip: cqube_zip::ZipOptions,
    pub convert: cqube_convert::ConvertOptions,
    pub normalize: bool,
    /// Database sources of the plan by name, and how their bytes are read.
    pub databases: std::collections::BTreeMap<String, cqube_source::Request>,
    pub database_convert: cqube_convert::ConvertOptions,
    pub watermarks: Watermarks,
    pub json: bool,
    pub quiet: bool,
}

/// The prepared-zip limits: flags and env over the config over cqube-zip's defaults; records as long as `convert`
/// accepts.
fn zip_limits(tuning: Option<&TuningArgs>, config: &FileConfig, max_record_bytes: usize) -> cqube_zip::check::Limits {
    let defaults = cqube_zip::check::Limits::default();
    cqube_zip::check::Limits {
        max_entry_bytes: tuning
            .and_then(|t| t.max_entry_bytes)
            .or(config.emit.max_entry_bytes)
            .unwrap_or(defaults.max_entry_bytes),
        max_ratio: tuning
            .and_then(|t| t.max_compression_ratio)
            .or(config.emit.max_compression_ratio)
            .unwrap_or(defaults.max_ratio)
            .max(1),
        max_record_bytes,
    }
}

fn journal_dir(tuning: &TuningArgs, config: &FileConfig) -> anyhow::Result<PathBuf> {
    if let Some(dir) = tuning.journal_dir.clone().or_else(|| config.emit.journal_dir.clone()) {
        return Ok(dir);
    }
    Ok(state_dir()?.join("jobs"))
}

/// Where cqube-emit keeps state by default: $XDG_STATE_HOME/cqube-emit (~/.local/state/cqube-emit).
pub fn state_dir() -> anyhow::Result<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .context("no HOME or XDG_STATE_HOME for cqube-emit's state\n\nhint: pass --journal-dir or --status-file")
        .map_err(|e| fail(ExitStatus::Usage, e))?;
    Ok(state.join("cqube-emit"))
}

pub(crate) fn api_client(
    args: &ApiArgs,
    tuning: Option<&TuningArgs>,
    config: &FileConfig,
    config_path: Option<&Path>,
    api_default: Option<&str>,
) -> anyhow::Result<ApiClient> {
    let usage = |m: String| fail(ExitStatus::Usage, anyhow::anyhow!(m));
    let api = args
        .api
        .clone()
        .or_else(|| api_default.map(str::to_owned))
        .or_else(|| config.emit.api.clone())
        .ok_or_else(|| usage("no emission API URL\n\nhint: --api URL, CQUBE_EMIT_API or [emit] api".into()))?;
    let token_file = args.token_file.clone().or_else(|| {
        let p = config.emit.token_file.as_ref()?;
        Some(config_path.and_then(Path::parent).map_or_else(|| p.clone(), |dir| dir.join(p)))
    });
    let token = match (&args.token, token_file) {
        (Some(t), _) => t.clone(),
        (None, Some(file)) => std::fs::read_to_string(&file)
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
    let retry = RetryPolicy {
        max_retries: tuning.and_then(|t| t.max_retries).or(config.emit.max_retries).unwrap_or(8),
        ..RetryPolicy::default()
    };
    let timeout = tuning.and_then(|t| t.request_timeout_seconds).or(config.emit.request_timeout_seconds).unwrap_or(300);
    ApiClient::new(&api, &token, retry, Duration::from_secs(timeout)).map_err(|e| fail(ExitStatus::Usage, e))
}

/// The config's `[[source]]`s that `emit` can send without inputs: `path` globs and database queries.
fn configured(config: &FileConfig, config_path: Option<&Path>) -> Vec<Configured> {
    let base = config_path.and_then(Path::parent);
    config
        .sources
        .iter()
        .filter_map(|s| {
            if let Some(kind) = &s.kind {
                return Some(Configured::Database { source: s.name.clone(), backend: kind.clone() });
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
    let items =
        emit_plan::build(catalog, &args.inputs, args.source.as_deref(), &configured(config, config_path), &only)?;
    let mut out = std::io::stdout().lock();
    if global.json {
        for (i, item) in items.iter().enumerate() {
            let after: Vec<&str> = item.after.iter().map(|&a| items[a].source.name.as_str()).collect();
            let line =
                serde_json::json!({"step": i + 1, "source": item.source.name, "input": item.input, "after": after});
            writeln!(out, "{line}")?;
        }
    } else {
        write!(out, "{}", emit_plan::tree(&items))?;
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
    let items = emit_plan::build(&catalog, &inputs, args.source.as_deref(), &configured, &only)?;
    if items.is_empty() {
        return Err(fail(
            ExitStatus::Usage,
            anyhow::anyhow!(
                "nothing to emit: no cQube zips or exports found

hint: `cqube-emit plan DIR` shows what is found"
            ),
        ));
    }
    if args.send.dry_run {
        print_dry_run(&items, global.json)?;
        return Ok(ExitStatus::Success);
    }
    let api = api_client(&args.send.api, Some(&args.send.tuning), config, config_path, None)?;
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let spec = JobSpec {
        api: args.send.api.api.clone().or_else(|| config.emit.api.clone()).unwrap_or_default(),
        inputs,
        source: args.source.clone(),
        normalize: args.normalize,
        only,
        zip_modified_unix: crate::convert_cmd::source_date_epoch().unwrap_or(now),
        level: args.send.level,
        part_size_bytes: args.send.tuning.part_size_bytes.or(config.emit.part_size_bytes),
        on_error: args.send.on_error.map(|e| format!("{e:?}").to_lowercase()),
        full: args.send.full,
    };
    let dir = journal_dir(&args.send.tuning, config)?;
    run_job(spec, args.resume, &args.send.tuning, &dir, api, catalog, config, config_path, global)
}

/// `cqube-emit resume JOB`: runs the job its journal describes, reusing what was stored.
pub fn run_resume(
    args: &ResumeArgs,
    catalog: Arc<Catalog>,
    config: &FileConfig,
    config_path: Option<&Path>,
    global: &GlobalArgs,
) -> anyhow::Result<ExitStatus> {
    let dir = journal_dir(&args.tuning, config)?;
    let path = Journal::path(&dir, &args.job);
    let state = Journal::read(&path)?.ok_or_else(|| {
        fail(ExitStatus::Usage, anyhow::anyhow!("no journal for job {}: {}", args.job, path.display()))
    })?;
    let spec: JobSpec = state
        .spec
        .context("the journal has no job line")
        .and_then(|v| serde_json::from_value(v).context("reading the job line"))
        .map_err(|e| fail(ExitStatus::Usage, e))?;
    let api = api_client(&args.api, Some(&args.tuning), config, config_path, Some(&spec.api))?;
    run_job(spec, true, &args.tuning, &dir, api, catalog, config, config_path, global)
}

/// How exports are converted, and how database rows are: as `convert` would, its env vars and defaults included.
fn convert_options(
    on_error: Option<&str>,
    config: &FileConfig,
) -> anyhow::Result<(cqube_convert::ConvertOptions, cqube_convert::ConvertOptions)> {
    /// `convert`'s input flags, parsed from nothing so their env vars and defaults apply as they do for `convert`.
    #[derive(clap::Parser)]
    struct Defaults {
        #[command(flatten)]
        input: crate::convert_cmd::InputArgs,
    }
    let mut args = <Defaults as clap::Parser>::try_parse_from(["emit", "-"])
        .map_err(|e| fail(ExitStatus::Usage, anyhow::anyhow!("conversion settings: {e}")))?
        .input;
    match on_error {
        Some("skip") => args.on_error = Some(OnErrorArg::Skip),
        Some(_) => args.on_error = Some(OnErrorArg::Fail),
        None => {}
    }
    let files = crate::convert_cmd::options(&args, config)?;
    let databases = crate::convert_cmd::database_options(files.clone(), &args, config);
    Ok((files, databases))
}

/// The database requests of the plan's database items; every misconfigured section is a usage error up front.
fn database_requests(
    items: &[Item<'_>],
    config: &FileConfig,
    convert: &cqube_convert::ConvertOptions,
) -> anyhow::Result<std::collections::BTreeMap<String, cqube_source::Request>> {
    let mut requests = std::collections::BTreeMap::new();
    for item in items.iter().filter(|i| matches!(i.input, ItemInput::Database(_))) {
        let name = &item.source.name;
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
    mut spec: JobSpec,
    resume: bool,
    tuning: &TuningArgs,
    dir: &Path,
    api: ApiClient,
    catalog: Arc<Catalog>,
    config: &FileConfig,
    config_path: Option<&Path>,
    global: &GlobalArgs,
) -> anyhow::Result<ExitStatus> {
    let job = spec.id();
    let previous = Journal::read(&Journal::path(dir, &job))?;
    let (journal, state) = match previous {
        Some(state) if resume => {
            if let Some(old) = state.spec.clone().and_then(|v| serde_json::from_value::<JobSpec>(v).ok()) {
                spec.zip_modified_unix = old.zip_modified_unix;
                spec.level = old.level;
                spec.part_size_bytes = old.part_size_bytes;
                spec.on_error = old.on_error;
            }
            crate::cli::note(&format!("resuming job {job}"));
            (Journal::reopen(dir, &job)?, state)
        }
        previous => {
            let journal = Journal::create(dir, &job, serde_json::to_value(&spec)?)?;
            let stale = previous.map(|s| s.items).unwrap_or_default();
            (
                journal,
                JournalState {
                    spec: None,
                    items: stale
                        .into_iter()
                        .map(|(k, mut v)| {
                            // Without --resume an old job's open uploads are aborted, not continued.
                            v.done = None;
                            v.parts.clear();
                            (k, v)
                        })
                        .collect(),
                },
            )
        }
    };
    let (convert, database_convert) = convert_options(spec.on_error.as_deref(), config)?;
    let mut zip = crate::convert_cmd::zip_options(spec.level, config)?;
    zip.modified = SystemTime::UNIX_EPOCH + Duration::from_secs(spec.zip_modified_unix);
    let settings = Settings {
        jobs: tuning.jobs.or(config.emit.jobs).unwrap_or(2).max(1),
        zip_limits: zip_limits(Some(tuning), config, convert.max_record_bytes),
        parts_in_flight: tuning.parts_in_flight.or(config.emit.parts_in_flight).unwrap_or(4).max(1),
        part_size_bytes: spec.part_size_bytes.unwrap_or(8 << 20),
        zip,
        databases: std::collections::BTreeMap::new(),
        convert,
        database_convert,
        normalize: spec.normalize,
        watermarks: if spec.full { Watermarks::Ignored } else { Watermarks::Incremental },
        json: global.json,
        quiet: global.quiet,
    };
    let items =
        emit_plan::build(&catalog, &spec.inputs, spec.source.as_deref(), &configured(config, config_path), &spec.only)?;
    let settings = Settings { databases: database_requests(&items, config, &settings.database_convert)?, ..settings };
    let owned: Vec<crate::emit_run::OwnedItem> = items.iter().map(crate::emit_run::OwnedItem::from).collect();
    let fresh = !resume;
    crate::emit_run::run(&job, owned, catalog, settings, api, journal, state, fresh, global)
}

fn print_dry_run(items: &[Item<'_>], json: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for (i, item) in items.iter().enumerate() {
        let after: Vec<&str> = item.after.iter().map(|&a| items[a].source.name.as_str()).collect();
        if json {
            let line = serde_json::json!({"event": "plan", "dry_run": true, "step": i + 1, "source": item.source.name,
                "input": item.input, "key_prefix": item.source.emission_path(), "after": after});
            writeln!(out, "{line}")?;
        } else {
            let after = if after.is_empty() { String::new() } else { format!(" (after {})", after.join(", ")) };
            writeln!(
                out,
                "(dry-run) {}. emit {} <- {}{after}",
                i + 1,
                item.source.emission_path(),
                item.input.display()
            )?;
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
    config_path: Option<&Path>,
    global: &GlobalArgs,
) -> anyhow::Result<ExitStatus> {
    let source = catalog
        .find_by_path(&args.key)
        .ok_or_else(|| fail(ExitStatus::Usage, anyhow::anyhow!("no data source for key {}", args.key)))?;
    let api = api_client(&args.api, None, config, config_path, None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<bytes::Bytes>>(8);
    let key = args.key.clone();
    let fetch = runtime.spawn(async move {
        let url = api.download_uri(&key).await?;
        let mut response = api.http().get(&url).send().await.map_err(|e| cqube_upload::Error::Transport {
            what: format!("downloading {key}"),
            source: e.without_url(),
        })?;
        if !response.status().is_success() {
            return Err(cqube_upload::Error::Protocol {
                what: format!("downloading {key}"),
                detail: format!("HTTP {}", response.status()),
            });
        }
        loop {
            let chunk = response.chunk().await.map_err(|e| std::io::Error::other(e.without_url()));
            let stop = !matches!(chunk, Ok(Some(_)));
            let item = match chunk {
                Ok(Some(b)) => Ok(b),
                Ok(None) => break,
                Err(e) => Err(e),
            };
            if tx.send(item).is_err() || stop {
                break;
            }
        }
        Ok(())
    });
    let (convert, _) = convert_options(None, config)?;
    let limits = zip_limits(None, config, convert.max_record_bytes);
    let checked = crate::emit_zip::check_zip(
        ChannelReader { rx, current: bytes::Bytes::new() },
        &mut std::io::sink(),
        source,
        &limits,
    );
    let fetched = runtime.block_on(fetch).context("download task")?;
    fetched.map_err(|e| crate::emit_run::remote_failure(e, &args.key))?;
    let facts = checked.with_context(|| format!("object {}", args.key)).map_err(|e| fail(ExitStatus::Input, e))?;
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

/// A blocking reader over chunks an async download sends.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<std::io::Result<bytes::Bytes>>,
    current: bytes::Bytes,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.recv() {
                Ok(chunk) => self.current = chunk?,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
