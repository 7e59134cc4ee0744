//! `cqube-emit uploads list|abort`: an admin's view of the server's multipart uploads, through the API (the
//! embedded store lives inside `serve`, so the server does the aborting).

use std::io::Write;

use clap::{Args, Subcommand};

use crate::config::FileConfig;
use crate::emit_cmd::{ApiArgs, api_client, emit_settings};
use crate::exit::ExitStatus;
use crate::global::GlobalArgs;

/// `uploads` subcommands.
#[derive(Debug, Subcommand)]
pub enum UploadsCommand {
    /// List the server's multipart uploads, oldest first (admin token).
    ///
    /// Examples:
    ///   cqube-emit uploads list --state expired
    ///   cqube-emit uploads list --state failed --json
    #[command(verbatim_doc_comment)]
    List(ListArgs),
    /// Abort an upload and remove its parts from the store (admin token: any upload).
    ///
    /// Examples:
    ///   cqube-emit uploads abort 0b6f8c7e-3d1a-4f7e-9a51-2c4d8e9f1a2b
    #[command(verbatim_doc_comment)]
    Abort(AbortArgs),
}

/// `uploads list` flags.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only uploads in this state.
    #[arg(long, value_parser = ["open", "expired", "completing", "completed", "failed", "aborted"])]
    pub state: Option<String>,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `uploads abort` flags.
#[derive(Debug, Args)]
pub struct AbortArgs {
    /// The upload id (`uploads list` shows them).
    pub upload_id: String,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Runs an `uploads` subcommand.
pub fn run(cmd: &UploadsCommand, config: &FileConfig, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut out = std::io::stdout().lock();
    match cmd {
        UploadsCommand::List(args) => {
            let api = api_client(&emit_settings(&args.api, None, None, config)?, None)?;
            let list = runtime
                .block_on(api.uploads(args.state.as_deref()))
                .map_err(|e| cqube_emission::status::remote_failure(e, "listing uploads"))?;
            for u in &list.uploads {
                if global.json {
                    writeln!(out, "{}", serde_json::to_string(u)?)?;
                } else {
                    let state = if u.expired { "expired" } else { &u.state };
                    writeln!(out, "{}  {state:<10}  {}  {}  {}", u.upload_id, u.created_at, u.source, u.key)?;
                }
            }
        }
        UploadsCommand::Abort(args) => {
            let api = api_client(&emit_settings(&args.api, None, None, config)?, None)?;
            runtime.block_on(api.abort_by_admin(&args.upload_id)).map_err(|e| {
                cqube_emission::status::remote_failure(e, &format!("aborting upload {}", args.upload_id))
            })?;
            crate::global::note(&format!("upload {} aborted; its parts are removed", args.upload_id));
        }
    }
    Ok(ExitStatus::Success)
}
