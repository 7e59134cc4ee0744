//! Flags every subcommand takes, the logging they set up, and the one way to write a line for a person.
//! A leaf module: everything may import it, it imports nothing of the binary.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;

static QUIET: AtomicBool = AtomicBool::new(false);

/// Flags every subcommand takes.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
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

impl GlobalArgs {
    /// Installs the stderr log subscriber: `-v`/`-q` pick the level, RUST_LOG overrides it. `serving`: the command
    /// is `serve`, whose requests are logged by default.
    pub fn init_logging(&self, serving: bool) {
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
        // `serve` logs one line per request by default; `bench`'s in-process server does not.
        let defaults = if serving && level == "warn" {
            format!("{level},{}", cqube_server::DEFAULT_LOG_DIRECTIVES)
        } else {
            level.into()
        };
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
