//! `cqube-emit daemon`: the config's sources on their cron schedules.
//!
//! Sources sharing a schedule form a group; at each firing the group runs as a child `cqube-emit run --source A
//! --source B` — the same pipeline, dependency order, retries and watermarks as a run by hand, and a crash in one
//! run cannot take the daemon down. A group whose previous run is still going is not started again. The child's
//! JSON events are re-emitted on stdout tagged with the run; the last run of every source is kept in the status
//! file and served at `GET /status` on a loopback address.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use clap::Args;
use cqube_emission::Event;
use croner::Cron;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::task::JoinSet;

use crate::config::FileConfig;
use crate::exit::{ExitStatus, fail};
use crate::global::{GlobalArgs, LogFormat};
use crate::settings::{DaemonFlags, DaemonSettings};

/// `daemon` flags; each overrides its `[daemon]` key.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// IANA time zone of the schedules, e.g. Asia/Kolkata (the default). Config `daemon.timezone`. [env: CQUBE_EMIT_TIMEZONE]
    #[arg(long)]
    pub timezone: Option<String>,
    /// Status file. Default $XDG_STATE_HOME/cqube-emit/daemon-status.json. Config `daemon.status_file`. [env: CQUBE_EMIT_STATUS_FILE]
    #[arg(long)]
    pub status_file: Option<PathBuf>,
    /// Serve GET /status on this loopback address (e.g. 127.0.0.1:8471). Config `daemon.listen`. [env: CQUBE_EMIT_STATUS_LISTEN]
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Seconds running emissions get after SIGTERM before they are killed. Default 30. [env: CQUBE_EMIT_STOP_GRACE_SECONDS]
    #[arg(long)]
    pub stop_grace_seconds: Option<u64>,
}

/// Sources that share a schedule, and their next firing.
struct Group {
    schedule: String,
    cron: Cron,
    sources: Vec<String>,
    next: DateTime<Tz>,
    /// The child of the run in progress.
    running: Option<u32>,
}

/// What `GET /status` and the status file show.
#[derive(Debug, Clone, Serialize)]
struct Status {
    pid: u32,
    started_at: String,
    timezone: String,
    config: PathBuf,
    sources: BTreeMap<String, SourceStatus>,
}

#[derive(Debug, Clone, Serialize)]
struct SourceStatus {
    schedule: String,
    next_run: String,
    running: bool,
    last_run: Option<RunStatus>,
}

/// One run of a source, from the child's events and exit status.
#[derive(Debug, Clone, Serialize)]
struct RunStatus {
    run_id: String,
    started_at: String,
    finished_at: Option<String>,
    /// `running`, `success`, `partial` (some files or rows rejected), `failed` or `interrupted`.
    result: &'static str,
    exit_status: Option<i32>,
    files_acknowledged: u64,
    rows: u64,
    bytes: u64,
    watermark: Option<cqube_protocol::Watermark>,
    errors: Vec<String>,
}

/// Resolved settings.
struct Settings {
    timezone: Tz,
    status_file: PathBuf,
    listen: Option<SocketAddr>,
    grace: Duration,
    config: PathBuf,
    groups: Vec<Group>,
}

/// `cqube-emit daemon`.
pub fn run(
    args: &DaemonArgs,
    config: &FileConfig,
    config_path: Option<&Path>,
    global: &GlobalArgs,
) -> anyhow::Result<ExitStatus> {
    let settings = resolve(args, config, config_path).map_err(|e| fail(ExitStatus::Usage, e))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    runtime.block_on(serve(settings, global))
}

fn resolve(args: &DaemonArgs, config: &FileConfig, config_path: Option<&Path>) -> anyhow::Result<Settings> {
    let config_file = config_path
        .context("the daemon needs a config file\n\nhint: cqube-emit daemon --config cqube-emit.toml")
        .and_then(|p| std::path::absolute(p).context("resolving the config path"))?;
    let flags = DaemonFlags {
        timezone: args.timezone.clone(),
        status_file: args.status_file.clone(),
        listen: args.listen,
        stop_grace_seconds: args.stop_grace_seconds,
    };
    let resolved = DaemonSettings::resolve(flags, config)?;
    let zone = resolved.timezone.value;
    let timezone: Tz =
        zone.parse().map_err(|e| anyhow::anyhow!("timezone {zone:?}: {e} (an IANA name such as Asia/Kolkata)"))?;
    let listen = resolved.listen.value;
    if let Some(addr) = listen.filter(|a| !a.ip().is_loopback()) {
        anyhow::bail!("listen {addr}: the status is not authenticated, so it is served on loopback only");
    }
    let status_file = match resolved.status_file.value {
        Some(file) => file,
        // Only without HOME: state_dir says so, with a hint.
        None => crate::config::state_dir()?.join("daemon-status.json"),
    };
    let now = Utc::now().with_timezone(&timezone);
    let mut groups: Vec<Group> = Vec::new();
    for source in &config.sources {
        let Some(schedule) = &source.schedule else { continue };
        let name = &source.name;
        if source.kind.is_none() && source.path.is_none() {
            anyhow::bail!("[[source]] {name}: a schedule needs a path glob or a database query to run");
        }
        if let Some(Err(e)) = source.database(Some(&config_file)) {
            return Err(e);
        }
        let schedule = schedule.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(group) = groups.iter_mut().find(|g| g.schedule == schedule) {
            group.sources.push(name.clone());
            continue;
        }
        let cron = croner::parser::CronParser::new()
            .parse(&schedule)
            .map_err(|e| anyhow::anyhow!("[[source]] {name}: schedule {schedule:?}: {e}"))?;
        let next = cron
            .find_next_occurrence(&now, false)
            .map_err(|e| anyhow::anyhow!("[[source]] {name}: schedule {schedule:?} never fires: {e}"))?;
        groups.push(Group { schedule, cron, sources: vec![name.clone()], next, running: None });
    }
    if groups.is_empty() {
        anyhow::bail!("no [[source]] has a schedule\n\nhint: schedule = \"0 30 1 * * *\" runs it at 01:30 every day");
    }
    let grace = Duration::from_secs(resolved.stop_grace_seconds.value);
    Ok(Settings { timezone, status_file, listen, grace, config: config_file, groups })
}

fn timestamp<Z: chrono::TimeZone>(t: &DateTime<Z>) -> String
where
    Z::Offset: std::fmt::Display,
{
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// One JSON event on stdout. A closed stdout does not stop the daemon.
fn event(value: &Value) {
    let _ = writeln!(std::io::stdout().lock(), "{value}");
}

/// Shared between the scheduler, the runs' monitors and the status server.
struct Shared {
    status: Mutex<Status>,
    file: PathBuf,
    timezone: Tz,
    /// What `GET /metrics` renders: runs by result, files by outcome, rows and bytes sent by source.
    metrics: metrics_exporter_prometheus::PrometheusHandle,
}

impl Shared {
    /// The current time in the schedules' zone, as the status shows times.
    fn now(&self) -> String {
        timestamp(&Utc::now().with_timezone(&self.timezone))
    }

    fn update(&self, change: impl FnOnce(&mut Status)) {
        let snapshot = {
            let mut status = self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            change(&mut status);
            status.clone()
        };
        if let Err(e) = write_atomically(&self.file, &snapshot) {
            tracing::warn!(file = %self.file.display(), error = %format!("{e:#}"), "writing the status file failed");
        }
    }

    fn snapshot(&self) -> Status {
        self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// The daemon's Prometheus recorder: the process has no other.
fn install_metrics() -> anyhow::Result<metrics_exporter_prometheus::PrometheusHandle> {
    metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder().context("installing the metrics recorder")
}

/// Readers of the status file never see half of it: a temporary file renamed over it.
fn write_atomically(path: &Path, status: &Status) -> anyhow::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("status")));
    std::fs::write(&tmp, serde_json::to_vec_pretty(status)?).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming onto {}", path.display()))
}

async fn serve(mut settings: Settings, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let now = Utc::now().with_timezone(&settings.timezone);
    let sources = settings
        .groups
        .iter()
        .flat_map(|g| {
            g.sources.iter().map(|s| {
                let status = SourceStatus {
                    schedule: g.schedule.clone(),
                    next_run: timestamp(&g.next),
                    running: false,
                    last_run: None,
                };
                (s.clone(), status)
            })
        })
        .collect();
    let shared = Arc::new(Shared {
        status: Mutex::new(Status {
            pid: std::process::id(),
            started_at: timestamp(&now),
            timezone: settings.timezone.name().to_owned(),
            config: settings.config.clone(),
            sources,
        }),
        file: settings.status_file.clone(),
        timezone: settings.timezone,
        metrics: install_metrics()?,
    });
    shared.update(|_| {});
    let listening = match settings.listen {
        Some(addr) => Some(status_server(addr, Arc::clone(&shared)).await?),
        None => None,
    };
    let schedules: Vec<Value> = settings
        .groups
        .iter()
        .map(|g| json!({"schedule": g.schedule, "sources": g.sources, "next_run": timestamp(&g.next)}))
        .collect();
    event(&json!({"event": "daemon_started", "pid": std::process::id(), "timezone": settings.timezone.name(),
        "schedules": schedules, "status_file": settings.status_file, "listen": listening.map(|a| a.to_string())}));

    let interrupted = crate::signal::interrupted();
    tokio::pin!(interrupted);
    let mut runs: JoinSet<(usize, String, Option<i32>)> = JoinSet::new();
    let mut counter = 0u64;
    let stop = loop {
        let now = Utc::now().with_timezone(&settings.timezone);
        for (index, group) in settings.groups.iter_mut().enumerate() {
            if group.next > now {
                continue;
            }
            if let Some(pid) = group.running {
                event(&json!({"event": "run_skipped", "sources": group.sources, "schedule": group.schedule,
                    "reason": format!("the previous run (pid {pid}) is still going")}));
            } else {
                counter += 1;
                let run_id = format!("{}-{counter}", now.format("%Y%m%dT%H%M%S"));
                match start_run(&settings.config, &group.sources, &run_id, global) {
                    Ok(mut child) => {
                        group.running = child.id();
                        event(&json!({"event": "run_started", "run_id": run_id, "sources": group.sources,
                            "schedule": group.schedule, "pid": child.id()}));
                        let started = timestamp(&now);
                        shared.update(|s| {
                            for name in &group.sources {
                                let source = s.sources.get_mut(name).expect("every scheduled source has a status");
                                source.running = true;
                                source.last_run = Some(RunStatus::started(&run_id, &started));
                            }
                        });
                        let monitor = Arc::clone(&shared);
                        let stdout = child.stdout.take();
                        runs.spawn(async move {
                            relay(stdout, &run_id, &monitor).await;
                            let code = child.wait().await.ok().and_then(|s| s.code());
                            (index, run_id, code)
                        });
                    }
                    Err(e) => {
                        event(&json!({"event": "run_failed_to_start", "sources": group.sources,
                            "error": format!("{e:#}")}));
                    }
                }
            }
            group.next = group.cron.find_next_occurrence(&now, false).unwrap_or(now + chrono::Duration::days(3650));
            let (next, names) = (timestamp(&group.next), group.sources.clone());
            shared.update(|s| {
                for name in &names {
                    if let Some(source) = s.sources.get_mut(name) {
                        source.next_run.clone_from(&next);
                    }
                }
            });
        }
        let earliest = settings.groups.iter().map(|g| g.next).min().expect("at least one group");
        // Woken at least once a minute, so a stepped wall clock is noticed.
        let wait = (earliest - now).to_std().unwrap_or_default().min(Duration::from_mins(1));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            Some(done) = runs.join_next() => finished(done, &mut settings.groups, &shared),
            signal = &mut interrupted => break signal,
        }
    };
    event(&json!({"event": "daemon_stopping", "signal": stop, "running": runs.len()}));
    for pid in settings.groups.iter().filter_map(|g| g.running) {
        signal_child(pid, nix::sys::signal::Signal::SIGTERM);
    }
    let deadline = tokio::time::sleep(settings.grace);
    tokio::pin!(deadline);
    let mut killed = false;
    while !runs.is_empty() {
        tokio::select! {
            Some(done) = runs.join_next() => finished(done, &mut settings.groups, &shared),
            () = &mut deadline, if !killed => {
                killed = true;
                for pid in settings.groups.iter().filter_map(|g| g.running) {
                    tracing::warn!(pid, "a run did not stop within the grace period; killing it");
                    signal_child(pid, nix::sys::signal::Signal::SIGKILL);
                }
            }
        }
    }
    shared.update(|_| {});
    event(&json!({"event": "daemon_stopped", "signal": stop}));
    Ok(ExitStatus::Success)
}

fn signal_child(pid: u32, sig: nix::sys::signal::Signal) {
    let Ok(raw) = i32::try_from(pid) else { return };
    if let Err(e) = nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), sig) {
        tracing::warn!(pid, signal = %sig, error = %e, "signalling a run failed");
    }
}

/// A run's end: its group may fire again, and its sources' status says how it went.
fn finished(done: Result<(usize, String, Option<i32>), tokio::task::JoinError>, groups: &mut [Group], shared: &Shared) {
    let Ok((index, run_id, code)) = done else { return };
    let group = &mut groups[index];
    group.running = None;
    let result = match code {
        Some(0) => "success",
        Some(1) => "partial",
        Some(130) | None => "interrupted",
        Some(_) => "failed",
    };
    event(&json!({"event": "run_finished", "run_id": run_id, "sources": group.sources, "exit_status": code,
        "result": result}));
    metrics::counter!("cqube_emit_runs_total", "result" => result).increment(1);
    let finished_at = shared.now();
    shared.update(|s| {
        for name in &group.sources {
            let Some(source) = s.sources.get_mut(name) else { continue };
            source.running = false;
            if let Some(run) = source.last_run.as_mut().filter(|r| r.run_id == run_id) {
                run.finished_at = Some(finished_at.clone());
                run.exit_status = code;
                // A source whose files all went through counts as a success even if another source of the run failed.
                run.result = if result == "partial" && run.errors.is_empty() { "success" } else { result };
            }
        }
    });
}

impl RunStatus {
    fn started(run_id: &str, at: &str) -> RunStatus {
        RunStatus {
            run_id: run_id.to_owned(),
            started_at: at.to_owned(),
            finished_at: None,
            result: "running",
            exit_status: None,
            files_acknowledged: 0,
            rows: 0,
            bytes: 0,
            watermark: None,
            errors: Vec::new(),
        }
    }
}

/// The child: `cqube-emit run` of the group's sources, with the daemon's config, catalog and log settings.
fn start_run(
    config: &Path,
    sources: &[String],
    run_id: &str,
    global: &GlobalArgs,
) -> anyhow::Result<tokio::process::Child> {
    let exe = std::env::current_exe().context("finding the cqube-emit executable")?;
    let mut command = tokio::process::Command::new(exe);
    command.args(["--json", "--no-progress", "--config"]).arg(config);
    if let Some(catalog) = &global.catalog {
        command.arg("--catalog").arg(std::path::absolute(catalog)?);
    }
    if global.log_format == LogFormat::Json {
        command.args(["--log-format", "json"]);
    }
    if global.quiet {
        command.arg("--quiet");
    } else if global.verbose > 0 {
        command.arg(format!("-{}", "v".repeat(usize::from(global.verbose))));
    }
    command.arg("run");
    for source in sources {
        command.args(["--source", source]);
    }
    command.env("CQUBE_EMIT_RUN_ID", run_id).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
    command.spawn().context("starting cqube-emit run")
}

/// A child's event, re-emitted tagged with its run.
#[derive(Serialize)]
struct RunEvent<'a> {
    #[serde(flatten)]
    event: &'a Event,
    run_id: &'a str,
}

/// Re-emits the child's events tagged with the run, keeping its sources' status up to date. A line that is not an
/// event (a child writing something else on stdout) is passed on as `run_output`.
async fn relay(stdout: Option<tokio::process::ChildStdout>, run_id: &str, shared: &Shared) {
    let Some(stdout) = stdout else { return };
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(child_event) = serde_json::from_str::<Event>(&line) else {
            event(&json!({"event": "run_output", "run_id": run_id, "line": line}));
            continue;
        };
        apply(&child_event, run_id, shared);
        event(&json!(RunEvent { event: &child_event, run_id }));
    }
}

/// What one of the child's events changes in the status.
fn apply(child_event: &Event, run_id: &str, shared: &Shared) {
    let (Event::FileAcknowledged { source, .. } | Event::FileFailed { source, .. } | Event::FileSkipped { source, .. }) =
        child_event
    else {
        return;
    };
    let outcome = match child_event {
        Event::FileAcknowledged { ack, .. } => {
            metrics::counter!("cqube_emit_bytes_sent_total", "source" => source.clone()).increment(ack.bytes);
            metrics::counter!("cqube_emit_rows_sent_total", "source" => source.clone()).increment(ack.rows);
            "acknowledged"
        }
        Event::FileFailed { .. } => "failed",
        _ => "skipped",
    };
    metrics::counter!("cqube_emit_files_total", "source" => source.clone(), "outcome" => outcome).increment(1);
    shared.update(|s| {
        let Some(run) = s.sources.get_mut(source).and_then(|src| src.last_run.as_mut()).filter(|r| r.run_id == run_id)
        else {
            return;
        };
        match child_event {
            Event::FileAcknowledged { ack, .. } => {
                run.files_acknowledged += 1;
                run.rows += ack.rows;
                run.bytes += ack.bytes;
                if let Some(watermark) = &ack.watermark {
                    run.watermark = Some(watermark.clone());
                }
            }
            Event::FileFailed { error: why, .. } | Event::FileSkipped { reason: why, .. } => {
                run.errors.push(why.clone());
            }
            _ => {}
        }
    });
}

/// `GET /status` (JSON) and `GET /metrics` (Prometheus text) on a loopback address; returns the address bound
/// (port 0 picks a free one).
async fn status_server(addr: SocketAddr, shared: Arc<Shared>) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
    let bound = listener.local_addr()?;
    let for_metrics = Arc::clone(&shared);
    let app = axum::Router::new()
        .route(
            "/status",
            axum::routing::get(move || {
                let shared = Arc::clone(&shared);
                async move { axum::Json(shared.snapshot()) }
            }),
        )
        .route(
            "/metrics",
            axum::routing::get(move || {
                let rendered = for_metrics.metrics.render();
                async move { ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], rendered) }
            }),
        );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the status server stopped");
        }
    });
    Ok(bound)
}
