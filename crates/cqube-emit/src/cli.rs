//! Command-line surface: clap structs only; each subcommand's logic lives in its own module.

use std::path::PathBuf;

use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, Parser, Subcommand};

use crate::catalog_cmd::CatalogArgs;
use crate::config_cmd::ConfigCommand;
use crate::convert_cmd::{ConvertArgs, InputArgs};
use crate::daemon::DaemonArgs;
use crate::emit_cmd::{EmitArgs, PlanArgs, ResumeArgs, RunArgs, VerifyArgs};
use crate::exit::EXIT_CODES_HELP;
use crate::gen_cmd::GenArgs;
use crate::server_cli::ServerCommand;

static QUIET: AtomicBool = AtomicBool::new(false);

/// Carries a state's education data into cQube quickly, safely and without babysitting.
///
/// A data source (school_master, student_attendance, UDISE tables, PAT/SAT, ...) is emitted as a
/// pipe-delimited CSV with the catalog's header, zipped as cqube_emission/<dir>/<stem>.zip.
/// `cqube-emit catalog` lists the sources; `convert` turns a raw export into such a zip; `validate`
/// checks an export without writing; `gen` makes synthetic data to try it all on.
#[derive(Debug, Parser)]
#[command(name = "cqube-emit", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print machine-readable JSON on stdout (one object per line) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Less output on stderr: errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR).
    #[arg(long, global = true, env = "CQUBE_EMIT_NO_PROGRESS")]
    pub no_progress: bool,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present).
    #[arg(long, global = true, env = "CQUBE_EMIT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources.
    #[arg(long, global = true, env = "CQUBE_EMIT_CATALOG")]
    pub catalog: Option<PathBuf>,
}

/// How log lines on stderr are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the data sources cQube accepts, or show one in full.
    ///
    /// Examples:
    ///   cqube-emit catalog
    ///   cqube-emit catalog student_attendance
    ///   cqube-emit catalog sch_enr_age --json
    #[command(verbatim_doc_comment)]
    Catalog(CatalogArgs),
    /// Convert a raw export into a cQube-ready zip (pipe-delimited, catalog header, one CSV per zip).
    ///
    /// Reads CSV/TSV with any delimiter, UTF-8/UTF-16/windows-1252, gzip or not; maps the header onto
    /// the catalog's columns; normalizes values (dates to yyyy-MM-dd, nulls, numbers); checks types,
    /// rules and duplicate keys; writes <stem>.zip. Nothing but the zip (and --rejects) is written.
    ///
    /// Examples:
    ///   cqube-emit convert --source student_attendance exports/att_2024_07.csv -o student_attendance.zip
    ///   cqube-emit convert exports/school_master.csv.gz            # source inferred from the name
    ///   cqube-emit convert --on-error skip --rejects bad.csv att.csv -o att.zip
    ///   psql -c "\copy (select * from att) to stdout csv header" \
    ///     | cqube-emit convert -s student_attendance - -o - > att.zip
    #[command(verbatim_doc_comment)]
    Convert(ConvertArgs),
    /// Check an export against the catalog without writing anything (except --rejects).
    ///
    /// Examples:
    ///   cqube-emit validate --source school_master school.csv
    ///   cqube-emit validate --on-error skip --rejects rejects.csv att.csv --json
    #[command(verbatim_doc_comment)]
    Validate(InputArgs),
    /// Generate deterministic synthetic data for any data source (for trials and benchmarks).
    ///
    /// Examples:
    ///   cqube-emit gen --source student_attendance --rows 1000000 -o att.csv
    ///   cqube-emit gen --source school_master --rows 500 --dirty -o messy.csv
    ///   cqube-emit gen --all cqube_emission --rows 10000     # every source, referentially consistent
    #[command(verbatim_doc_comment)]
    Gen(GenArgs),
    /// Emit exports to cQube through the emission API: converted, zipped and uploaded in parts, all streamed.
    ///
    /// Inputs: a cqube_emission directory (<dir>/<stem>.zip files: each checked, then sent
    /// as it is, or re-encoded with --normalize), raw exports (converted on the fly), `-`
    /// for stdin, or nothing to use the config's `[[source]]`s: `path` globs and database
    /// queries (`--source NAME` picks one). A database source with a `watermark` column
    /// sends only rows past the watermark of its last acknowledged emission (`--full`: all).
    ///
    /// Files go in dependency order (masters first); independent files run --jobs at a
    /// time, and a file whose dependency failed is skipped. Nothing but the small resume
    /// journal is written to disk; memory stays under
    /// (parts_in_flight + 2 × jobs) × part_size_bytes + the engine's buffers.
    ///
    /// Examples:
    ///   cqube-emit emit --api http://127.0.0.1:8470/data --token $T cqube_emission/
    ///   CQUBE_EMIT_TOKEN_FILE=~/.cqube-token cqube-emit emit --dry-run cqube_emission/
    ///   cqube-emit emit --source student_attendance exports/att_2024_07.csv
    ///   psql -c "\copy (select * from att) to stdout csv header" \
    ///     | cqube-emit emit --source student_attendance -
    ///   cqube-emit emit --resume cqube_emission/        # after a crash: stored parts are not sent again
    ///   cqube-emit emit --json cqube_emission/ | jq .   # one event per line for schedulers
    ///   cqube-emit emit --config cqube-emit.toml --source student_attendance --full
    #[command(verbatim_doc_comment)]
    Emit(EmitArgs),
    /// Emit every source of the config file once, in dependency order (for cron and systemd timers).
    ///
    /// The same pipeline as `emit` with no inputs: `[[source]]` path globs and database
    /// queries, incremental where a source names a watermark.
    ///
    /// Examples:
    ///   cqube-emit run --config /etc/cqube-emit/cqube-emit.toml
    ///   cqube-emit run --config cqube-emit.toml --source school_master --source student_attendance
    ///   cqube-emit run --config cqube-emit.toml --full --json
    #[command(verbatim_doc_comment)]
    Run(RunArgs),
    /// Run the config's sources on their cron schedules until stopped (SIGTERM).
    ///
    /// Each `[[source]]` with a `schedule` ("0 30 1 * * *": sec min hour day month weekday,
    /// seconds optional) runs in the `[daemon] timezone` (default Asia/Kolkata); sources
    /// sharing a schedule run together, in dependency order. A source whose previous run is
    /// still going is not started again. Every run's events are JSON lines on stdout; the
    /// last run of each source is in the status file and at GET /status on `[daemon] listen`.
    /// SIGTERM stops scheduling, passes SIGTERM to running emissions (they abort their
    /// uploads, so nothing is left open) and exits 0.
    ///
    /// Examples:
    ///   cqube-emit daemon --config /etc/cqube-emit/cqube-emit.toml
    ///   curl -s http://127.0.0.1:8471/status | jq .
    #[command(verbatim_doc_comment)]
    Daemon(DaemonArgs),
    /// Show the order `emit` would send files in, as a tree of dependencies.
    ///
    /// Examples:
    ///   cqube-emit plan cqube_emission/
    #[command(verbatim_doc_comment)]
    Plan(PlanArgs),
    /// Continue an interrupted or failed `emit` job from its journal.
    ///
    /// Examples:
    ///   cqube-emit resume 3f2a9c0d1e4b5a67
    #[command(verbatim_doc_comment)]
    Resume(ResumeArgs),
    /// Download an emitted object through the API and check its zip CRC, header and rows.
    ///
    /// Examples:
    ///   cqube-emit verify student_attendance/student_attendance_20240728101500.zip
    #[command(verbatim_doc_comment)]
    Verify(VerifyArgs),
    /// Show the resolved configuration and where each value came from (secrets masked).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// See and clear the server's multipart uploads (admin token): list, abort.
    #[command(subcommand)]
    Uploads(crate::uploads_cmd::UploadsCommand),
    #[command(flatten)]
    Server(ServerCommand),
}

impl GlobalArgs {
    /// Installs the stderr log subscriber: `-v`/`-q` pick the level, RUST_LOG overrides it.
    pub fn init_logging(&self) {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        QUIET.store(self.quiet, Ordering::Relaxed);
        let level = match (self.quiet, self.verbose) {
            (true, _) => "error",
            (false, 0) => "warn",
            (false, 1) => "info",
            (false, 2) => "debug",
            _ => "trace",
        };
        // `serve` logs one line per request by default (no effect on the other commands, which run no server).
        let defaults =
            if level == "warn" { format!("{level},{}", cqube_server::DEFAULT_LOG_DIRECTIVES) } else { level.into() };
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(defaults));
        // Whatever RUST_LOG says: the targets whose debug events carry presigned URLs or Authorization headers.
        let caps = tracing_subscriber::filter::Targets::new()
            .with_default(tracing::Level::TRACE)
            .with_targets(cqube_server::LOG_CAPS.iter().copied());
        // Colours only for a person at a terminal: not in files, journald or a daemon's captured stderr.
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
        let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
        match self.log_format {
            LogFormat::Json => builder.json().finish().with(caps).init(),
            LogFormat::Text => builder.with_target(false).finish().with(caps).init(),
        }
    }
}

/// A line for the person at the terminal (stderr), unless `--quiet`.
#[allow(clippy::print_stderr)]
pub fn note(line: &str) {
    if !QUIET.load(Ordering::Relaxed) {
        eprintln!("{line}");
    }
}
