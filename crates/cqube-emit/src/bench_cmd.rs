//! `cqube-emit bench`: flags, the destination and the output around `cqube_emission::bench`, which measures. With
//! no `--api` or `--s3` flag the destination is a cqube-emit server started in this process on loopback, on a
//! temporary data directory removed afterwards.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use cqube_core::Catalog;
use cqube_emission::bench::{self, Report, Spec};
use cqube_server::auth::{NewToken, create_token};

use crate::config::FileConfig;
use crate::destination::{Destination, S3Args};
use crate::emit_cmd::ApiArgs;
use crate::exit::{ExitStatus, fail};
use crate::global::GlobalArgs;
use crate::settings::ConvertFlags;

/// `bench` flags.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Data source to generate.
    #[arg(short, long, default_value = "student_attendance")]
    pub source: String,
    /// Rows to generate: exactly this many, or at most this many with --seconds. Default: as many as fit the time
    /// budget (at most 512 MiB of CSV).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub rows: Option<u64>,
    /// Size the input from a sample so the whole run takes about this long. Default 60 (without --rows).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Deflate levels to convert at, comma-separated; the lowest is also emitted. Default 1,5,6,9.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(0..=9))]
    pub levels: Vec<u32>,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub s3: S3Args,
}

/// `cqube-emit bench`.
#[allow(clippy::print_stdout)]
pub fn run(
    args: &BenchArgs,
    catalog: Arc<Catalog>,
    config: &FileConfig,
    global: &GlobalArgs,
) -> anyhow::Result<ExitStatus> {
    let settings = crate::emit_cmd::emit_settings(&args.api, Some(&args.s3), None, config)?;
    let convert = crate::convert_cmd::convert_settings(ConvertFlags::default(), config)?;
    let spec = Spec {
        source: args.source.clone(),
        levels: if args.levels.is_empty() { bench::DEFAULT_LEVELS.to_vec() } else { args.levels.clone() },
        rows: args.rows,
        seconds: args.seconds,
        seed: args.seed,
        convert: crate::convert_cmd::options(&convert, config, &catalog)?,
        zip: crate::convert_cmd::zip_options(&convert),
        parts_in_flight: settings.parts_in_flight.value.max(1),
        part_size_bytes: settings.part_size_bytes.value,
        retry: crate::emit_cmd::retry_policy(&settings),
        zip_limits: crate::emit_cmd::zip_limits(&settings, usize::MAX),
    };
    let scratch =
        tempfile::Builder::new().prefix("cqube-emit-bench").tempdir().context("creating a temporary directory")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    // Only flags send elsewhere: an `[emit] api` in the config file or CQUBE_EMIT_API is where real data goes.
    let external = args.api.api.is_some() || args.s3.s3.is_some();
    let (destination, server) = if external {
        (crate::destination::choose(&settings, None)?, None)
    } else {
        let (url, token, server) = embedded(&runtime, &scratch.path().join("server"), global)?;
        (Destination::Api { url, token }, Some(server))
    };
    if external {
        crate::global::note(&format!(
            "warning: {} receives a real {} file of generated rows",
            destination.name(),
            args.source
        ));
    }
    let name = destination.name();
    let delivery = runtime.block_on(destination.connect(&settings))?;
    let destination = bench::Destination {
        target: delivery.target,
        name: if server.is_some() { format!("{name} (embedded, loopback)") } else { name },
        protocol: delivery.protocol,
    };
    let journals = scratch.path().join("journal");
    let measured =
        bench::run(catalog, &spec, destination, &journals, runtime.handle(), &mut |line| crate::global::note(line));
    if let Some((stop, served)) = server {
        let _ = stop.send(());
        runtime.block_on(async { tokio::time::timeout(std::time::Duration::from_secs(10), served).await }).ok();
    }
    runtime.shutdown_background();
    let report = measured?;
    let mut out = std::io::stdout().lock();
    if global.json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else {
        write_table(&report, &mut out)?;
    }
    Ok(ExitStatus::Success)
}

type Stop = (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<Result<(), cqube_server::Error>>);

/// A cqube-emit server on loopback with its embedded store in `dir`, started as `serve` starts one, and a token
/// for it: its URL, the token, and how to stop it.
fn embedded(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    global: &GlobalArgs,
) -> anyhow::Result<(String, String, Stop)> {
    let config = cqube_server::ServerConfig {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.to_path_buf(),
        catalog_overrides: global.catalog.clone(),
        ..cqube_server::ServerConfig::default()
    };
    let server = runtime.block_on(cqube_server::Server::bind(config)).context("starting the embedded server")?;
    let new = NewToken { name: "bench".into(), sources: None, expires_in_seconds: None, admin: false };
    let (token, _) =
        runtime.block_on(create_token(server.state().db(), &new)).map_err(|e| fail(ExitStatus::Usage, e))?;
    let url = server.state().base_url();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = runtime.spawn(server.run(async move {
        let _ = stopped.await;
    }));
    Ok((url, token, (stop, served)))
}

/// The stages as a table, then the recommendations with their reasons.
fn write_table(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "measured: {} rows of generated {} ({:.1} MB of CSV in memory, sized by {}), {} threads, emitted to {} ({})",
        report.rows,
        report.source,
        report.input_bytes as f64 / 1e6,
        report.sized_by,
        report.threads,
        report.destination,
        report.protocol
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<9} {:>5} {:>8} {:>8} {:>8} {:>9} {:>9} {:>13} {:>6}",
        "stage", "level", "seconds", "MB/s", "CPU-s", "MB/CPU-s", "peak MiB", "zip bytes", "zip %"
    )?;
    for s in &report.stages {
        let zip = s.zip_bytes.map_or_else(|| "-".into(), |z| z.to_string());
        let share =
            s.zip_bytes.map_or_else(|| "-".into(), |z| format!("{:.1}", 100.0 * z as f64 / report.input_bytes as f64));
        let per_cpu = if s.cpu_seconds > 0.0 { report.input_bytes as f64 / 1e6 / s.cpu_seconds } else { 0.0 };
        writeln!(
            out,
            "{:<9} {:>5} {:>8.2} {:>8.1} {:>8.2} {:>9.1} {:>9.0} {:>13} {:>6}",
            s.stage,
            s.level.map_or_else(|| "-".into(), |l| l.to_string()),
            s.seconds,
            s.mb_per_second,
            s.cpu_seconds,
            per_cpu,
            s.peak_rss_bytes as f64 / f64::from(1 << 20),
            zip,
            share
        )?;
    }
    let r = &report.recommended;
    writeln!(out)?;
    writeln!(out, "recommended for this machine and destination:")?;
    writeln!(out, "  [convert] level = {}\n      {}", r.level, r.reasons.level)?;
    writeln!(out, "  [convert] threads = {}\n      {}", r.threads, r.reasons.threads)?;
    writeln!(out, "  [emit] jobs = {}   (--jobs)\n      {}", r.jobs, r.reasons.jobs)?;
    writeln!(out, "  [emit] part_size_bytes = {}\n      {}", r.part_size_bytes, r.reasons.part_size_bytes)?;
    writeln!(out, "({:.1} s in all)", report.seconds)
}
