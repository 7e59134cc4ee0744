//! `cqube-emit config show`: the resolved configuration and where each value came from (STYLE.md section 6).
//!
//! `config show` takes no `convert`/`emit` flags, so a value comes from the environment (`CQUBE_EMIT_*`), the
//! config file, or the built-in default; only the config and catalog paths can also come from a flag. The values
//! are `cqube_settings::show`'s, resolved exactly as their commands resolve them; here they are printed. Secrets
//! are never printed: connection URLs are masked and a set `CQUBE_EMIT_TOKEN` shows as `***`.

use std::io::Write;
use std::path::Path;

use clap::Subcommand;
use serde_json::Value;

use crate::config::FileConfig;
use crate::exit::{ExitStatus, fail};
use crate::global::GlobalArgs;
use crate::settings::show::{PathFlags, Resolved};

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every resolved setting and where it came from (default, file PATH, env VAR); secrets are masked.
    ///
    /// Examples:
    ///   cqube-emit config show
    ///   cqube-emit --config /etc/cqube-emit.toml config show --json
    #[command(verbatim_doc_comment)]
    Show,
}

/// Runs `cqube-emit config ...`.
#[allow(clippy::print_stdout)] // the listing is this command's data
pub fn run(
    command: &ConfigCommand,
    config: &FileConfig,
    config_path: Option<&Path>,
    global: &GlobalArgs,
) -> anyhow::Result<ExitStatus> {
    let ConfigCommand::Show = command;
    let flags = PathFlags { config: global.config.as_deref(), catalog: global.catalog.as_deref() };
    let resolved = Resolved::resolve(config, config_path, flags).map_err(|e| fail(ExitStatus::Usage, e))?;
    let mut out = std::io::stdout().lock();
    if global.json {
        serde_json::to_writer(&mut out, &resolved.to_json())?;
        writeln!(out)?;
    } else {
        write_text(&mut out, &resolved)?;
    }
    Ok(ExitStatus::Success)
}

fn write_text(out: &mut impl Write, r: &Resolved) -> std::io::Result<()> {
    let show = |v: &Value| match v {
        Value::Null => "(none)".to_owned(),
        other => other.to_string(),
    };
    writeln!(out, "config file = {}  ({})", show(&r.config_file.value), r.config_file.origin)?;
    writeln!(out, "catalog = {}  ({})", show(&r.catalog.value), r.catalog.origin)?;
    for (title, entries) in [("convert", &r.convert), ("emit", &r.emit), ("daemon", &r.daemon)] {
        writeln!(out, "\n[{title}]")?;
        for (key, s) in entries {
            writeln!(out, "{key:<24} = {:<40} {}", show(&s.value), s.origin)?;
        }
    }
    for s in &r.sources {
        writeln!(out, "\n[[source]] {}  ({})", s.name, s.origin)?;
        writeln!(out, "  type = {}", s.kind)?;
        let fields = [
            ("query", &s.query),
            ("table", &s.table),
            ("path", &s.path),
            ("watermark", &s.watermark),
            ("schedule", &s.schedule),
            ("url", &s.url),
            ("url from", &s.url_origin),
            ("error", &s.error),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                writeln!(out, "  {key} = {value}")?;
            }
        }
    }
    Ok(())
}
