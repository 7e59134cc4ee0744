//! `serve`, `token`, `user`, `emissions`: the emission API side (placeholder until the server lands).

use clap::Subcommand;

use crate::cli::GlobalArgs;
use crate::exit::ExitStatus;

/// Server-side subcommands.
#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Run the emission API (not built yet).
    Serve,
}

/// Runs a server-side subcommand.
pub fn run(cmd: ServerCommand, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    match cmd {
        ServerCommand::Serve => anyhow::bail!("serve is not built yet"),
    }
}
