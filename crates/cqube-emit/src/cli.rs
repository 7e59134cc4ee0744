//! Command-line surface: clap structs only; each subcommand's logic lives in its own module.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::exit::EXIT_CODES_HELP;
use crate::server_cli::ServerCommand;

/// Carries a state's education data into cQube quickly, safely and without babysitting.
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
    #[command(flatten)]
    Server(ServerCommand),
}

impl GlobalArgs {
    /// Installs the stderr log subscriber: `-v`/`-q` pick the level, RUST_LOG overrides it.
    pub fn init_logging(&self) {
        let level = match (self.quiet, self.verbose) {
            (true, _) => "error",
            (false, 0) => "warn",
            (false, 1) => "info",
            (false, 2) => "debug",
            _ => "trace",
        };
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
        let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
        match self.log_format {
            LogFormat::Json => builder.json().init(),
            LogFormat::Text => builder.with_target(false).init(),
        }
    }
}
