//! The `cqube-emit` binary: argument parsing, logging, exit codes and wiring. The work happens in the library crates.

mod cli;
mod exit;
mod server_cli;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.global.init_logging();
    let result = match cli.command {
        Command::Server(cmd) => server_cli::run(cmd, &cli.global),
    };
    exit::report(result).into()
}
