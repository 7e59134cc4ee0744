//! `cqube-emit daemon`: the config's sources on their cron schedules.
//!
//! Sources sharing a schedule form a group; at each firing the group runs as a child `cqube-emit run --source A
//! --source B` — the same pipeline, dependency order, retries and watermarks as a run by hand, and a crash in one
//! run cannot take the daemon down. A group whose previous run is still going is not started again. The child's
//! JSON events are re-emitted on stdout tagged with the run; the last run of every source is kept in the status
//! file and served at `GET /status` on a loopback address. The schedules and the status are `cqube_daemon`'s;
//! here are the flags, the children and the event lines.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use chrono_tz::Tz;
use clap::Args;
use cqube_daemon::{Board, Group, timestamp};
use cqube_emission::Event;
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
    let groups = cqube_daemon::groups(config, &config_file, &Utc::now().with_timezone(&timezone))?;
    let grace = Duration::from_secs(resolved.stop_grace_seconds.value);
    Ok(Settings { timezone, status_file, listen, grace, config: config_file, groups })
}

/// One JSON event on stdout. A closed stdout does not stop the daemon.
fn event(value: &Value) {
    let _ = writeln!(std::io::stdout().lock(), "{value}");
}

async fn serve(mut settings: Settings, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let board = Arc::new(Board::new(
        &settings.groups,
        settings.timezone,
        settings.config.clone(),
        settings.status_file.clone(),
        cqube_daemon::install_metrics()?,
    ));
    board.save();
    let listening = match settings.listen {
        Some(addr) => Some(cqube_daemon::status_server(addr, Arc::clone(&board)).await?),
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
                        board.run_started(group, &run_id, &timestamp(&now));
                        let monitor = Arc::clone(&board);
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
            group.advance(&now);
            board.next_run(group);
        }
        let earliest = settings.groups.iter().map(|g| g.next).min().expect("at least one group");
        // Woken at least once a minute, so a stepped wall clock is noticed.
        let wait = (earliest - now).to_std().unwrap_or_default().min(Duration::from_mins(1));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            Some(done) = runs.join_next() => finished(done, &mut settings.groups, &board),
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
            Some(done) = runs.join_next() => finished(done, &mut settings.groups, &board),
            () = &mut deadline, if !killed => {
                killed = true;
                for pid in settings.groups.iter().filter_map(|g| g.running) {
                    tracing::warn!(pid, "a run did not stop within the grace period; killing it");
                    signal_child(pid, nix::sys::signal::Signal::SIGKILL);
                }
            }
        }
    }
    board.save();
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
fn finished(done: Result<(usize, String, Option<i32>), tokio::task::JoinError>, groups: &mut [Group], board: &Board) {
    let Ok((index, run_id, code)) = done else { return };
    let group = &mut groups[index];
    group.running = None;
    let result = board.run_finished(group, &run_id, code);
    event(&json!({"event": "run_finished", "run_id": run_id, "sources": group.sources, "exit_status": code,
        "result": result}));
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
async fn relay(stdout: Option<tokio::process::ChildStdout>, run_id: &str, board: &Board) {
    let Some(stdout) = stdout else { return };
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(child_event) = serde_json::from_str::<Event>(&line) else {
            event(&json!({"event": "run_output", "run_id": run_id, "line": line}));
            continue;
        };
        board.apply(&child_event, run_id);
        event(&json!(RunEvent { event: &child_event, run_id }));
    }
}
