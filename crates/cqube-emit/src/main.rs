//! The `cqube-emit` binary: argument parsing, logging, exit codes and wiring. The work happens in the library crates.

mod bench_cmd;
mod bucket_cmd;
mod catalog_cmd;
mod cli;
mod config_cmd;
mod convert_cmd;
mod daemon;
mod deliver;
mod destination;
mod docs_cmd;
mod emit_cmd;
mod exit;
mod gen_cmd;
mod global;
mod progress;
mod server_cli;
mod signal;
mod sink;
mod uploads_cmd;
mod validate_cmd;

use std::process::ExitCode;

use clap::Parser;
// The settings live in cqube-settings; these names keep `crate::config::…`/`crate::settings::…` paths short.
use cqube_settings as settings;
use cqube_settings::config;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.global.init_logging(matches!(cli.command, Command::Server(server_cli::ServerCommand::Serve(_))));
    let result = match cli.command {
        Command::Server(cmd) => server_cli::run(cmd, &cli.global),
        Command::Help(args) => docs_cmd::help(&args),
        Command::Completions(args) => Ok(docs_cmd::completions(&args)),
        Command::Man(args) => docs_cmd::man(&args),
        command => run_data_command(command, &cli.global),
    };
    exit::code(exit::report(result))
}

/// The commands that read the catalog and config: catalog, convert, validate, gen.
fn run_data_command(command: Command, global: &global::GlobalArgs) -> anyhow::Result<ExitStatus> {
    let (config, config_path) =
        config::FileConfig::load(global.config.as_deref()).map_err(|e| exit::fail(ExitStatus::Usage, e))?;
    let catalog = config::load_catalog(global.catalog.as_deref(), &config, config_path.as_deref())
        .map_err(|e| exit::fail(ExitStatus::Usage, e))?;
    let threads = match &command {
        Command::Convert(args) => args.input.threads,
        Command::Validate(args) => args.input.threads,
        _ => None,
    };
    if let Some(threads) = settings::threads(threads, &config).map_err(|e| exit::fail(ExitStatus::Usage, e))? {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build_global()?;
    }
    match command {
        Command::Catalog(args) => catalog_cmd::run(&args, &catalog, global.json),
        Command::Convert(args) => convert_cmd::run_convert(&args, &catalog, &config, global),
        Command::Validate(args) => validate_cmd::run(&args, &catalog, &config, global),
        Command::Gen(args) => gen_cmd::run(&args, &catalog, global),
        Command::Bench(args) => bench_cmd::run(&args, catalog.into(), &config, global),
        Command::Emit(args) => {
            emit_cmd::run_emit(&args, Vec::new(), catalog.into(), &config, config_path.as_deref(), global)
        }
        Command::Run(args) => {
            let (emit, only) = args.into_emit();
            emit_cmd::run_emit(&emit, only, catalog.into(), &config, config_path.as_deref(), global)
        }
        Command::Daemon(args) => daemon::run(&args, &config, config_path.as_deref(), global),
        Command::Plan(args) => emit_cmd::run_plan(&args, &catalog, &config, config_path.as_deref(), global),
        Command::Resume(args) => emit_cmd::run_resume(&args, catalog.into(), &config, config_path.as_deref(), global),
        Command::Verify(args) => emit_cmd::run_verify(&args, &catalog, &config, global),
        Command::Config(cmd) => config_cmd::run(&cmd, &config, config_path.as_deref(), global),
        Command::Uploads(cmd) => uploads_cmd::run(&cmd, &config, global),
        Command::Ls(args) => bucket_cmd::ls(&args, &config, global),
        Command::Get(args) => bucket_cmd::get(&args, &config),
        Command::Server(_) | Command::Help(_) | Command::Completions(_) | Command::Man(_) => {
            unreachable!("dispatched in main")
        }
    }
}
