//! `cqube-emit bench`: how fast this machine converts and emits, measured on generated data held in memory, and the
//! settings that follow from the measurements.
//!
//! It lives in the engine crate because what it measures is the engine itself, driven through the same public calls
//! an emission makes (`cqube_convert::prepare` and `convert`, [`Job::run`] with a [`DeliveryTarget`]); a crate of its
//! own would only re-export them. It starts nothing and prints nothing: the caller hands it a connected target (an
//! embedded server on loopback, an API, a bucket) and shows the [`Report`].
//!
//! The input is generated once into memory, so no stage pays for the generator (about as costly per byte as the
//! whole conversion) or for a disk, and every stage reads the same bytes. CPU seconds are the process's user + system
//! time (`getrusage`) over the stage, every thread included (with an embedded server, its share of the emission too).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use bytes::{Buf, Bytes};
use cqube_convert::{ConvertOptions, Input, NoRejects};
use cqube_core::{Catalog, DataSource};
use cqube_gen::{GenOptions, Universe};
use cqube_upload::{DeliveryTarget, RetryPolicy};
use cqube_zip::ZipOptions;
use serde::Serialize;

use crate::plan::{Item, ItemInput};
use crate::produce::StreamSource;
use crate::run::{Ended, FileResult, Settings};
use crate::status::{ExitStatus, engine_failure, fail};
use crate::{Event, EventSink, Interrupt, Job, JobSpec, Watermarks};

/// The levels measured when none are given: the fastest, the default, the first that stays within 2 % of
/// `pigz -6`'s size on every input of docs/benchmarks.md's frontier, and the smallest.
pub const DEFAULT_LEVELS: [u32; 4] = [1, 5, 6, 9];

/// The time budget when none is given.
pub const DEFAULT_SECONDS: f64 = 60.0;

/// A run sized by its time budget holds at most this much generated input in memory.
pub const MAX_SIZED_INPUT_BYTES: u64 = 512 << 20;

/// Rows of the sample a time budget is sized from.
const SAMPLE_ROWS: u64 = 40_000;

/// Each recommended part carries about this much of the measured upload rate.
const PART_SECONDS: f64 = 1.0;

/// A level whose predicted emission is within this share of the fastest counts as fast; the smallest zip among
/// those is recommended.
const LEVEL_TOLERANCE: f64 = 0.05;

/// What to measure.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The catalog source to generate.
    pub source: String,
    /// Deflate levels to convert at (the lowest is also emitted).
    pub levels: Vec<u32>,
    /// Exactly this many rows, or at most this many when `seconds` is given too.
    pub rows: Option<u64>,
    /// Size the input so the whole run takes about this long (default [`DEFAULT_SECONDS`] without `rows`).
    pub seconds: Option<f64>,
    /// Generator seed: the same seed gives the same bytes.
    pub seed: u64,
    pub convert: ConvertOptions,
    /// Block size and blocks in flight; the level is each stage's.
    pub zip: ZipOptions,
    /// How the emission stage sends its parts.
    pub parts_in_flight: usize,
    pub part_size_bytes: usize,
    pub retry: RetryPolicy,
    pub zip_limits: cqube_zip::check::Limits,
}

/// Where the emission stage sends its file.
pub struct Destination {
    pub target: Arc<dyn DeliveryTarget>,
    /// What the report calls it: a URL, or `s3://BUCKET[/PREFIX]`.
    pub name: String,
    /// `multipart`, `post` or `s3`.
    pub protocol: String,
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("name", &self.name)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

/// One measured stage.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    /// `generate`, `convert` or `emit`.
    pub stage: &'static str,
    /// The deflate level (`generate`: none).
    pub level: Option<u32>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// User + system CPU seconds of the whole process over the stage.
    pub cpu_seconds: f64,
    /// Input megabytes (10⁶ bytes) per wall-clock second.
    pub mb_per_second: f64,
    /// The process's peak resident memory during the stage, less the generated input it holds: about what a
    /// `cqube-emit convert` or `emit` of a file would peak at (earlier stages' freed memory may still count).
    pub peak_rss_bytes: u64,
    /// Zip bytes produced (`emit`: acknowledged by the destination); none for `generate`.
    pub zip_bytes: Option<u64>,
    /// Rows written (`emit`: acknowledged).
    pub rows: u64,
}

/// The recommended settings, each with the reason that follows from the measurements.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// `[convert] level` (`--level`).
    pub level: u32,
    /// `[convert] threads` (`--threads`).
    pub threads: usize,
    /// `[emit] jobs` (`--jobs`).
    pub jobs: usize,
    /// `[emit] part_size_bytes` (`--part-size-bytes`).
    pub part_size_bytes: usize,
    pub reasons: Reasons,
}

/// Why each recommendation, in words that cite the measured figures.
#[derive(Debug, Clone, Serialize)]
pub struct Reasons {
    pub level: String,
    pub threads: String,
    pub jobs: String,
    pub part_size_bytes: String,
}

/// What a bench run measured and recommends.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub source: String,
    /// Data rows generated (and converted, and acknowledged).
    pub rows: u64,
    /// Bytes of the generated CSV, held in memory.
    pub input_bytes: u64,
    /// How the size was chosen: `--rows`, or the budget and the sample it was sized from.
    pub sized_by: String,
    /// Cores rayon converts on.
    pub threads: usize,
    pub destination: String,
    pub protocol: String,
    pub stages: Vec<Stage>,
    /// Compressed bytes per second the destination took during the emission, in MB/s.
    pub upload_mb_per_second: f64,
    /// Whether the emission waited for the destination (it took over 15 % longer than converting at its level);
    /// when not, `upload_mb_per_second` is a lower bound.
    pub link_bound: bool,
    pub recommended: Recommendation,
    /// The whole run, sizing included.
    pub seconds: f64,
}

/// Generates the input, converts it at every level, emits it once to `destination` (at the lowest level, which
/// sends the most bytes the fastest, so a slow link shows) and recommends settings. `journal_dir` holds the
/// emission's journal, which is removed once the file is acknowledged. `note` receives progress lines for a person.
pub fn run(
    catalog: Arc<Catalog>,
    spec: &Spec,
    destination: Destination,
    journal_dir: &Path,
    runtime: &tokio::runtime::Handle,
    note: &mut dyn FnMut(&str),
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let source = catalog.get(&spec.source).ok_or_else(|| usage(catalog.unknown_source(&spec.source)))?;
    let mut levels = spec.levels.clone();
    levels.sort_unstable();
    levels.dedup();
    let emit_level = *levels.first().ok_or_else(|| usage("no levels to measure\n\nhint: --levels 1,5,6,9".into()))?;
    if let Some(bad) = levels.iter().find(|&&l| l > 9) {
        return Err(usage(format!("level {bad}: levels are 0 to 9\n\nhint: --levels 1,5,6,9")));
    }
    let (rows, sized_by, sample) = size(&catalog, source, spec, &levels, started, note)?;
    let (data, generate) = if let Some(sample) = sample.filter(|(data, _)| data.rows == rows) {
        sample
    } else {
        note(&format!("generating {rows} rows of {} in memory", source.name));
        generated(source, spec.seed, rows)?
    };
    let held = data.bytes.len() as u64;
    let mut stages = vec![generate];
    for &level in &levels {
        note(&format!("converting at level {level}"));
        stages.push(convert(&catalog, source, spec, &data, level, held)?);
    }
    note(&format!("emitting at level {emit_level} to {}", destination.name));
    let source = source.name.clone();
    stages.push(emit(
        catalog,
        &source,
        spec,
        &data,
        emit_level,
        destination.target,
        &destination.name,
        journal_dir,
        runtime,
    )?);
    let threads = rayon::current_num_threads();
    let (recommended, upload, link_bound) = recommend(&stages, emit_level, threads, spec);
    Ok(Report {
        source,
        rows: data.rows,
        input_bytes: held,
        sized_by,
        threads,
        destination: destination.name,
        protocol: destination.protocol,
        stages,
        upload_mb_per_second: upload / 1e6,
        link_bound,
        recommended,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn usage(message: String) -> anyhow::Error {
    fail(ExitStatus::Usage, anyhow::anyhow!(message))
}

/// Generated CSV held in memory.
struct Data {
    bytes: Bytes,
    rows: u64,
}

impl Data {
    fn reader(&self) -> impl std::io::Read + Send + 'static {
        self.bytes.clone().reader()
    }
}

/// How many rows to generate, why, and the sample when one was generated (reused when it is the whole run).
type Sizing = (u64, String, Option<(Data, Stage)>);

/// `--rows` as given, or the rows that fit the time budget (at most `--rows`), judged from a sample's stages.
fn size(
    catalog: &Catalog,
    source: &DataSource,
    spec: &Spec,
    levels: &[u32],
    started: Instant,
    note: &mut dyn FnMut(&str),
) -> anyhow::Result<Sizing> {
    let budget = match (spec.rows, spec.seconds) {
        (Some(rows), None) => return Ok((rows, format!("--rows {rows}"), None)),
        (_, seconds) => seconds.unwrap_or(DEFAULT_SECONDS),
    };
    if !budget.is_finite() || budget <= 0.0 {
        return Err(usage(format!("--seconds {budget}: must be above 0\n\nhint: --seconds 60")));
    }
    let cap = spec.rows.unwrap_or(u64::MAX);
    let sample_rows = SAMPLE_ROWS.min(cap);
    note(&format!("sizing the run to about {budget} s from a {sample_rows}-row sample"));
    let (data, generate) = generated(source, spec.seed, sample_rows)?;
    if data.rows < sample_rows {
        let why = format!("all {} rows the generator has keys for", data.rows);
        return Ok((data.rows, why, Some((data, generate))));
    }
    if sample_rows == cap {
        return Ok((cap, format!("--rows {cap} (no more than the sizing sample)"), Some((data, generate))));
    }
    // The sample's stages, once each, plus the emission (at least as slow as converting at its level).
    let mut seconds = generate.seconds;
    let mut emitted_level = 0.0;
    for (i, &level) in levels.iter().enumerate() {
        let stage = convert(catalog, source, spec, &data, level, 0)?;
        seconds += stage.seconds;
        if i == 0 {
            emitted_level = stage.seconds;
        }
    }
    // The emission converts at its level and sends: guessed at half as long again as converting alone.
    seconds += 1.5 * emitted_level;
    let per_row = seconds / data.rows as f64;
    let left = (budget - started.elapsed().as_secs_f64()).max(0.0);
    let bytes_per_row = data.bytes.len() as f64 / data.rows as f64;
    let by_memory = (MAX_SIZED_INPUT_BYTES as f64 / bytes_per_row) as u64;
    let by_time = (left / per_row) as u64;
    let rows = by_time.min(by_memory).min(cap).max(sample_rows);
    let why = if rows == cap {
        format!("--rows {cap}")
    } else if rows == by_memory {
        format!("--seconds {budget}, capped at {} MiB of input in memory", MAX_SIZED_INPUT_BYTES >> 20)
    } else {
        format!("--seconds {budget} (from a {sample_rows}-row sample: {:.2} µs a row)", per_row * 1e6)
    };
    Ok((rows, why, Some((data, generate))))
}

/// The generator's rows of `source`, in memory, and what generating them cost. A master has one row per entity,
/// so its universe grows with the rows asked for.
fn generated(source: &DataSource, seed: u64, rows: u64) -> anyhow::Result<(Data, Stage)> {
    let mut universe = Universe::new(seed, 200);
    if cqube_gen::default_rows(source, &universe, u64::MAX) < rows {
        universe = Universe::new(seed, u32::try_from(rows).unwrap_or(u32::MAX));
    }
    let options = GenOptions { seed, rows, dirty: false, universe };
    let mut bytes = Vec::new();
    let (report, stage) = measure(0, || cqube_gen::write_csv(source, &options, &mut bytes))?;
    let report = report.map_err(|e| fail(ExitStatus::Usage, anyhow::Error::new(e)))?;
    let bytes = Bytes::from(bytes);
    let stage =
        Stage { stage: "generate", mb_per_second: rate(bytes.len() as u64, stage.seconds), rows: report.rows, ..stage };
    Ok((Data { bytes, rows: report.rows }, stage))
}

/// One conversion of the whole input at `level` into a byte counter.
fn convert(
    catalog: &Catalog,
    source: &DataSource,
    spec: &Spec,
    data: &Data,
    level: u32,
    held: u64,
) -> anyhow::Result<Stage> {
    let zip = ZipOptions { level, modified: SystemTime::UNIX_EPOCH + Duration::from_secs(ZIP_TIME), ..spec.zip };
    let input = Input::from_reader(&format!("generated {}", source.name), Some(data.bytes.len() as u64), data.reader())
        .context("reading the generated input")?;
    let (converted, stage) = measure(held, || -> anyhow::Result<_> {
        let prepared = cqube_convert::prepare(catalog, Some(source), input, &spec.convert).map_err(engine_failure)?;
        let (_, summary) =
            prepared.convert(std::io::sink(), zip, &mut NoRejects, &mut |_| {}).map_err(engine_failure)?;
        Ok(summary)
    })?;
    let summary = converted?;
    Ok(Stage {
        stage: "convert",
        level: Some(level),
        mb_per_second: rate(data.bytes.len() as u64, stage.seconds),
        zip_bytes: Some(summary.bytes_out),
        rows: summary.rows_out,
        ..stage
    })
}

/// 2000-01-01: every stage's zip has the same entry time, so equal levels give equal bytes.
const ZIP_TIME: u64 = 946_684_800;

/// The engine's own emission of the input, at `level`, to `target`.
#[allow(clippy::too_many_arguments)]
fn emit(
    catalog: Arc<Catalog>,
    source: &str,
    spec: &Spec,
    data: &Data,
    level: u32,
    target: Arc<dyn DeliveryTarget>,
    name: &str,
    journal_dir: &Path,
    runtime: &tokio::runtime::Handle,
) -> anyhow::Result<Stage> {
    let stream = format!("generated {source}");
    let filename = catalog.get(source).context("the source left the catalog")?.emission_path();
    let item = Item {
        id: format!("{source}:bench"),
        source: source.to_owned(),
        filename,
        input: ItemInput::Stream(stream.clone()),
        after: Vec::new(),
    };
    let job = Job::open(
        JobSpec {
            api: name.to_owned(),
            inputs: Vec::new(),
            source: Some(source.to_owned()),
            normalize: false,
            only: Vec::new(),
            zip_modified_unix: ZIP_TIME,
            level: Some(crate::Level::Fixed(level)),
            part_size_bytes: Some(spec.part_size_bytes),
            on_error: None,
            full: false,
            strict: None,
            masters: None,
        },
        false,
        journal_dir,
    )?;
    let bytes = data.bytes.clone();
    let open = StreamSource(Arc::new(move || Box::new(bytes.clone().reader()) as Box<dyn std::io::Read + Send>));
    let settings = Settings {
        jobs: 1,
        parts_in_flight: spec.parts_in_flight.max(1),
        part_size_bytes: spec.part_size_bytes,
        retry: spec.retry,
        zip: ZipOptions { level, modified: SystemTime::UNIX_EPOCH + Duration::from_secs(ZIP_TIME), ..spec.zip },
        auto_level: None,
        zip_limits: spec.zip_limits,
        convert: spec.convert.clone(),
        normalize: false,
        databases: std::collections::BTreeMap::new(),
        database_convert: spec.convert.clone(),
        rejects: None,
        masters: crate::masters::Supplied::default(),
        watermarks: Watermarks::Ignored,
        streams: [(stream, open)].into(),
    };
    let held = data.bytes.len() as u64;
    let (ended, stage) = measure(held, || {
        runtime.block_on(job.run(
            vec![item],
            catalog,
            settings,
            target,
            Arc::new(Quiet),
            std::future::pending::<Interrupt>(),
        ))
    })?;
    let report = match ended? {
        Ended::Finished(report) => report,
        Ended::Interrupted(signal) => anyhow::bail!("the emission was interrupted by {signal:?}"),
    };
    match report.results.into_iter().next() {
        Some(FileResult::Acknowledged { ack, .. }) => Ok(Stage {
            stage: "emit",
            level: Some(level),
            mb_per_second: rate(data.bytes.len() as u64, stage.seconds),
            zip_bytes: Some(ack.bytes),
            rows: ack.rows,
            ..stage
        }),
        Some(FileResult::Failed { status, error }) => {
            Err(fail(status, anyhow::anyhow!("the emission failed: {error}")))
        }
        other => anyhow::bail!("the emission ended without an acknowledgement: {other:?}"),
    }
}

/// The emission's events are not shown: the stage's figures are.
struct Quiet;

impl EventSink for Quiet {
    fn event(&self, _: &Event) {}
}

/// Runs `work` and measures it: wall and CPU seconds, and the process's peak RSS during it less `held`.
fn measure<T>(held: u64, work: impl FnOnce() -> T) -> anyhow::Result<(T, Stage)> {
    let peak = Peak::reset();
    let cpu = cpu_seconds()?;
    let started = Instant::now();
    let out = work();
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = cpu_seconds()? - cpu;
    let stage = Stage {
        stage: "",
        level: None,
        seconds,
        cpu_seconds,
        mb_per_second: 0.0,
        peak_rss_bytes: peak.bytes().saturating_sub(held),
        zip_bytes: None,
        rows: 0,
    };
    Ok((out, stage))
}

fn cpu_seconds() -> anyhow::Result<f64> {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_SELF).context("getrusage")?;
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    Ok(secs(usage.user_time()) + secs(usage.system_time()))
}

/// The process's peak RSS since it was reset. Linux resets the high-water mark when `5` is written to
/// `/proc/self/clear_refs`; where that fails the peak is the process's since it started (`getrusage`).
struct Peak {
    reset: bool,
}

impl Peak {
    fn reset() -> Peak {
        Peak { reset: std::fs::write("/proc/self/clear_refs", "5").is_ok() }
    }

    fn bytes(&self) -> u64 {
        let high_water = || -> Option<u64> {
            let status = std::fs::read_to_string("/proc/self/status").ok()?;
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
        };
        match self.reset.then(high_water).flatten() {
            Some(bytes) => bytes,
            None => nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
                .map_or(0, |u| u.max_rss().max(0) as u64 * 1024),
        }
    }
}

fn rate(bytes: u64, seconds: f64) -> f64 {
    if seconds > 0.0 { bytes as f64 / seconds / 1e6 } else { 0.0 }
}

/// The recommendation, the upload rate (bytes per second) and whether the emission waited for the link.
fn recommend(stages: &[Stage], emit_level: u32, cores: usize, spec: &Spec) -> (Recommendation, f64, bool) {
    let converts: Vec<&Stage> = stages.iter().filter(|s| s.stage == "convert").collect();
    let emitted = stages.iter().find(|s| s.stage == "emit").expect("run always emits");
    let at_emit = converts.iter().find(|s| s.level == Some(emit_level)).expect("the emit level is converted");
    let zip = |s: &Stage| s.zip_bytes.unwrap_or(0) as f64;
    let upload = zip(emitted) / emitted.seconds.max(1e-9);
    let link_bound = emitted.seconds > 1.15 * at_emit.seconds;
    // Conversion and upload overlap, so an emission takes as long as the slower of the two.
    let predicted = |s: &Stage| s.seconds.max(zip(s) / upload);
    let fastest = converts.iter().map(|s| predicted(s)).fold(f64::INFINITY, f64::min);
    let chosen = converts
        .iter()
        .filter(|s| predicted(s) <= fastest * (1.0 + LEVEL_TOLERANCE))
        .min_by(|a, b| zip(a).total_cmp(&zip(b)))
        .expect("at least one level is within the tolerance of the fastest");
    let level = chosen.level.unwrap_or(emit_level);
    let each: Vec<String> =
        converts.iter().map(|s| format!("{} {:.1} s", s.level.unwrap_or(0), predicted(s))).collect();
    let bound = if link_bound {
        format!(
            "the emission waited for the destination ({:.1} s against {:.1} s to convert), which took {:.1} MB/s of zip",
            emitted.seconds,
            at_emit.seconds,
            upload / 1e6
        )
    } else {
        format!(
            "the destination kept pace with conversion (emission {:.1} s, conversion {:.1} s), so it takes at least {:.1} MB/s of zip",
            emitted.seconds,
            at_emit.seconds,
            upload / 1e6
        )
    };
    let level_reason = format!(
        "{bound}; an emission takes the longer of converting and uploading, predicted per level: {}; level {level} is \
         the smallest zip ({} bytes) within {:.0} % of the fastest",
        each.join(", "),
        zip(chosen) as u64,
        LEVEL_TOLERANCE * 100.0
    );
    // What sending costs besides converting (hashing, HTTP, and an embedded server's own work).
    let send_cpu = (emitted.cpu_seconds - at_emit.cpu_seconds).max(0.0);
    let busy = (chosen.cpu_seconds + send_cpu) / predicted(chosen).max(1e-9);
    let threads = (busy.ceil() as usize).clamp(1, cores.max(1));
    let threads_reason = format!(
        "an emission at level {level} keeps {busy:.2} cores busy ({:.1} CPU-s converting + {send_cpu:.1} sending, over \
         {:.1} s); {threads} of the {cores} threads cover that",
        chosen.cpu_seconds,
        predicted(chosen)
    );
    let (jobs, jobs_reason) = if link_bound {
        (1, "the destination is the bottleneck: files sent at once would share the same link".to_owned())
    } else if busy >= cores as f64 - 0.5 {
        (
            1,
            format!(
                "one file keeps {busy:.2} of {cores} cores busy: a second at once would share them, and hold 2 more parts in memory"
            ),
        )
    } else {
        let jobs = ((cores as f64 / busy.max(1e-9)).floor() as usize).clamp(1, 4);
        (jobs, format!("one file keeps {busy:.2} of {cores} cores busy: {jobs} at once fill them (at most 4)"))
    };
    let mib = 1 << 20;
    let part =
        ((upload * PART_SECONDS / mib as f64).ceil() as usize * mib).clamp(cqube_upload::MIN_PART_BYTES, 64 * mib);
    let memory = (spec.parts_in_flight + 2 * jobs) * part;
    let part_reason = format!(
        "about {PART_SECONDS:.0} s of the measured {:.1} MB/s upload per part (so per-request overhead stays small and a \
         retried part resends little), between S3's 5 MiB minimum and 64 MiB; parts then hold about {} MiB \
         ((parts_in_flight {} + 2 x jobs {jobs}) x part)",
        upload / 1e6,
        memory / mib,
        spec.parts_in_flight
    );
    let recommendation = Recommendation {
        level,
        threads,
        jobs,
        part_size_bytes: part,
        reasons: Reasons {
            level: level_reason,
            threads: threads_reason,
            jobs: jobs_reason,
            part_size_bytes: part_reason,
        },
    };
    (recommendation, upload, link_bound)
}
