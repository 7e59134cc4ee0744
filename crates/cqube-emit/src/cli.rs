//! Command-line surface: the top-level clap structs; each subcommand's flags and logic live in its own module, the
//! flags every subcommand takes in `global`.

use clap::{Parser, Subcommand};

use crate::bench_cmd::BenchArgs;
use crate::bucket_cmd::{GetArgs, LsArgs};
use crate::catalog_cmd::CatalogArgs;
use crate::config_cmd::ConfigCommand;
use crate::convert_cmd::ConvertArgs;
use crate::daemon::DaemonArgs;
use crate::docs_cmd::{CompletionsArgs, HelpArgs, ManArgs};
use crate::emit_cmd::{EmitArgs, PlanArgs, ResumeArgs, RunArgs, VerifyArgs};
use crate::exit::EXIT_CODES_HELP;
use crate::gen_cmd::GenArgs;
use crate::global::GlobalArgs;
use crate::server_cli::ServerCommand;
use crate::validate_cmd::ValidateArgs;

/// Carries a state's education data into cQube quickly, safely and without babysitting.
///
/// A data source (school_master, student_attendance, UDISE tables, PAT/SAT, ...) is emitted as a
/// pipe-delimited CSV with the catalog's header, zipped as cqube_emission/<dir>/<stem>.zip.
/// `cqube-emit catalog` lists the sources; `convert` turns a raw export into such a zip; `validate`
/// checks an export without writing; `gen` makes synthetic data to try it all on.
#[derive(Debug, Parser)]
#[command(name = "cqube-emit", disable_help_subcommand = true, version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("CQUBE_EMIT_BUILD"), ")"), after_help = EXIT_CODES_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
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
    /// Examples:
    ///   cqube-emit convert --source student_attendance exports/att_2024_07.csv -o student_attendance.zip
    ///   cqube-emit convert exports/school_master.csv.gz            # source inferred from the name
    ///   cqube-emit convert --on-error skip --rejects bad.csv att.csv -o att.zip
    ///   psql -c "\copy (select * from att) to stdout csv header" \
    ///     | cqube-emit convert -s student_attendance - -o - > att.zip
    ///
    /// Reads CSV/TSV with any delimiter, UTF-8/UTF-16/windows-1252, gzip or not; maps the header onto
    /// the catalog's columns; normalizes values (dates to yyyy-MM-dd, nulls, numbers); checks types,
    /// rules and duplicate keys; writes <stem>.zip. Nothing but the zip (and --rejects) is written.
    #[command(verbatim_doc_comment)]
    Convert(ConvertArgs),
    /// Check an export, or a whole cqube_emission folder, against the catalog; nothing is written or sent.
    ///
    /// Examples:
    ///   cqube-emit validate --source school_master school.csv
    ///   cqube-emit validate --on-error skip --rejects rejects.csv att.csv --json
    ///   cqube-emit validate --on-error skip cqube_emission/
    ///   cqube-emit validate --masters last_month/cqube_emission att.csv
    ///
    /// A folder is checked as `emit` would send it: one plan, masters first, every row
    /// converted and checked (types, nulls, duplicate keys, value rules), and each file's
    /// school, cluster, block, district, exam and question codes looked up in the masters
    /// of the plan and of --masters (rules unknown_school, ...). Prints rows, rejected,
    /// warned and misses per file (--json: one file_checked object per file, then a
    /// summary); exits 1 when rows were rejected or a file failed.
    #[command(verbatim_doc_comment)]
    Validate(ValidateArgs),
    /// Generate deterministic synthetic data for any data source (for trials and benchmarks).
    ///
    /// Examples:
    ///   cqube-emit gen --source student_attendance --rows 1000000 -o att.csv
    ///   cqube-emit gen --source school_master --rows 500 --dirty -o messy.csv
    ///   cqube-emit gen --all cqube_emission --rows 10000     # every source, referentially consistent
    #[command(verbatim_doc_comment)]
    Gen(GenArgs),
    /// Measure this machine before a real run: convert and emit generated data, and recommend settings.
    ///
    /// Examples:
    ///   cqube-emit bench                        # about a minute, to a server started in-process
    ///   cqube-emit bench --seconds 20 --levels 1,5,9
    ///   cqube-emit bench --source school_master --rows 200000 --json | jq .recommended
    ///   cqube-emit bench --api https://cqube.example/data --token-file ~/.cqube-token
    ///
    /// Generates rows of --source in memory (nothing is written to disk), converts them at
    /// each of --levels, and emits them once, at the lowest level, through the engine: to a
    /// cqube-emit server it starts on loopback with a temporary data directory, or to --api
    /// or --s3 when given (which then receive a real file of generated rows). Prints MB/s,
    /// CPU seconds, peak memory and zip size per stage, and the [convert] level, threads,
    /// --jobs and part size that follow from them, each with its reason. Without --rows the
    /// input is sized from a sample to take about --seconds (60) in all.
    ///
    /// --json prints one object: source, rows, input_bytes, sized_by, threads,
    /// destination, protocol, stages (stage, level, seconds, cpu_seconds, mb_per_second,
    /// peak_rss_bytes, zip_bytes, rows), upload_mb_per_second, link_bound,
    /// recommended (level, threads, jobs, part_size_bytes, reasons) and seconds;
    /// docs/benchmarks.md describes each field.
    #[command(verbatim_doc_comment)]
    Bench(BenchArgs),
    /// Emit exports to cQube through the emission API (or its bucket, --s3): converted, zipped, sent in parts.
    ///
    /// Examples:
    ///   cqube-emit emit --api http://127.0.0.1:8470/data --token $T cqube_emission/
    ///   CQUBE_EMIT_TOKEN_FILE=~/.cqube-token cqube-emit emit --dry-run cqube_emission/
    ///   cqube-emit emit --source student_attendance exports/att_2024_07.csv
    ///   psql -c "\copy (select * from att) to stdout csv header" \
    ///     | cqube-emit emit --source student_attendance -
    ///   cqube-emit emit --resume cqube_emission/        # after a crash: stored parts are not sent again
    ///   AWS_PROFILE=cqube cqube-emit emit --s3 s3://cqube-emission cqube_emission/   # no API
    ///   cqube-emit emit --json cqube_emission/ | jq .   # one event per line for schedulers
    ///   cqube-emit emit --config cqube-emit.toml --source student_attendance --full
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
    #[command(verbatim_doc_comment)]
    Emit(EmitArgs),
    /// Emit every source of the config file once, in dependency order (for cron and systemd timers).
    ///
    /// Examples:
    ///   cqube-emit run --config /etc/cqube-emit/cqube-emit.toml
    ///   cqube-emit run --config cqube-emit.toml --source school_master --source student_attendance
    ///   cqube-emit run --config cqube-emit.toml --full --json
    ///
    /// The same pipeline as `emit` with no inputs: `[[source]]` path globs and database
    /// queries, incremental where a source names a watermark.
    #[command(verbatim_doc_comment)]
    Run(RunArgs),
    /// Run the config's sources on their cron schedules until stopped (SIGTERM).
    ///
    /// Examples:
    ///   cqube-emit daemon --config /etc/cqube-emit/cqube-emit.toml
    ///   curl -s http://127.0.0.1:8471/status | jq .
    ///
    /// Each `[[source]]` with a `schedule` ("0 30 1 * * *": sec min hour day month weekday,
    /// seconds optional) runs in the `[daemon] timezone` (default Asia/Kolkata); sources
    /// sharing a schedule run together, in dependency order. A source whose previous run is
    /// still going is not started again. Every run's events are JSON lines on stdout; the
    /// last run of each source is in the status file and at GET /status on `[daemon] listen`.
    /// SIGTERM stops scheduling, passes SIGTERM to running emissions (they abort their
    /// uploads, so nothing is left open) and exits 0.
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
    /// List what a bucket holds (default: the emission bucket), through the API.
    ///
    /// Examples:
    ///   cqube-emit ls
    ///   cqube-emit ls emission/student_attendance/
    ///   cqube-emit ls input --json
    #[command(verbatim_doc_comment)]
    Ls(LsArgs),
    /// Download one object through the API (a presigned GET), e.g. to see what cQube received.
    ///
    /// Examples:
    ///   cqube-emit get student_attendance/student_attendance_20240728101500.zip
    ///   cqube-emit get cqube-emission/school_master/school_mst_20240728101500.zip -o school.zip
    ///   cqube-emit get school_master/school_mst_20240728101500.zip -o - | unzip -l /dev/stdin
    #[command(verbatim_doc_comment)]
    Get(GetArgs),
    /// Show the resolved configuration and where each value came from (secrets masked).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// See and clear the server's multipart uploads (admin token): list, abort.
    #[command(subcommand)]
    Uploads(crate::uploads_cmd::UploadsCommand),
    #[command(flatten)]
    Server(ServerCommand),
    /// Help on a command (`help emit`, `help token create`) or a topic: configuration, delivery, exit-codes.
    ///
    /// Examples:
    ///   cqube-emit help emit
    ///   cqube-emit help configuration
    ///   cqube-emit help delivery
    ///   cqube-emit help exit-codes
    #[command(verbatim_doc_comment)]
    Help(HelpArgs),
    /// Print a shell completion script.
    ///
    /// Examples:
    ///   cqube-emit completions bash > /etc/bash_completion.d/cqube-emit
    ///   cqube-emit completions zsh > "${fpath[1]}/_cqube-emit"
    ///   cqube-emit completions fish > ~/.config/fish/completions/cqube-emit.fish
    #[command(verbatim_doc_comment)]
    Completions(CompletionsArgs),
    /// Write the man pages (one per subcommand), e.g. for a package.
    ///
    /// Examples:
    ///   cqube-emit man -o /usr/share/man/man1
    #[command(verbatim_doc_comment)]
    Man(ManArgs),
}
