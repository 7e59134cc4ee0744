//! `cqube-emit config show`: the resolved configuration and where each value came from (STYLE.md section 6).
//!
//! `config show` takes no `convert`/`emit` flags, so a value comes from the environment (`CQUBE_EMIT_*`), the
//! config file, or the built-in default; only the config and catalog paths can also come from a flag. `[emit]` and
//! `[daemon]` are resolved by `settings`, exactly as their commands resolve them. Secrets are never printed:
//! connection URLs are masked and a set `CQUBE_EMIT_TOKEN` shows as `***`.

use std::io::Write;
use std::path::Path;

use clap::Subcommand;
use serde::Serialize;
use serde_json::{Value, json};

use crate::config::FileConfig;
use crate::exit::{ExitStatus, fail};
use crate::global::GlobalArgs;
use crate::settings::{ConvertFlags, ConvertSettings, DaemonFlags, DaemonSettings, EmitFlags, EmitSettings};

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

/// One resolved setting.
#[derive(Debug, Serialize)]
struct Setting {
    value: Value,
    origin: String,
}

/// One `[[source]]` as `emit` would use it.
#[derive(Debug, Serialize)]
struct SourceView {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    table: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    watermark: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule: Option<String>,
    /// The connection URL with its password masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url_origin: Option<String>,
    /// Why the database settings cannot be used (the message never contains the URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    origin: String,
}

/// Everything `config show` prints.
#[derive(Debug)]
struct Resolved {
    config_file: Setting,
    catalog: Setting,
    convert: Vec<(String, Setting)>,
    emit: Vec<(String, Setting)>,
    daemon: Vec<(String, Setting)>,
    sources: Vec<SourceView>,
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
    let resolved = resolve(config, config_path, global)?;
    let mut out = std::io::stdout().lock();
    if global.json {
        serde_json::to_writer(&mut out, &to_json(&resolved))?;
        writeln!(out)?;
    } else {
        write_text(&mut out, &resolved)?;
    }
    Ok(ExitStatus::Success)
}

fn resolve(config: &FileConfig, config_path: Option<&Path>, global: &GlobalArgs) -> anyhow::Result<Resolved> {
    let file_origin = config_path.map_or_else(String::new, |p| format!("file {}", p.display()));
    let convert = convert_rows(
        &ConvertSettings::resolve(ConvertFlags::default(), config).map_err(|e| fail(ExitStatus::Usage, e))?,
    );
    let (emit, daemon) = match (
        EmitSettings::resolve(EmitFlags::default(), config),
        DaemonSettings::resolve(DaemonFlags::default(), config),
    ) {
        (Ok(emit), Ok(daemon)) => (emit_rows(&emit), daemon_rows(&daemon)),
        (Err(e), _) | (_, Err(e)) => return Err(fail(ExitStatus::Usage, e)),
    };
    Ok(Resolved {
        config_file: config_file_setting(config_path, global),
        catalog: catalog_setting(config, config_path, global, &file_origin),
        convert,
        emit,
        daemon,
        sources: config.sources.iter().map(|s| source_view(s, config_path, &file_origin)).collect(),
    })
}

fn row<T: Serialize>(key: &str, setting: &crate::settings::Setting<T>) -> (String, Setting) {
    (key.to_owned(), Setting { value: json!(setting.value), origin: setting.origin.to_string() })
}

fn convert_rows(c: &ConvertSettings) -> Vec<(String, Setting)> {
    let shown = |value: Value, origin: &crate::settings::Origin| Setting { value, origin: origin.to_string() };
    let or = |value: Option<Value>, default: &str| value.unwrap_or_else(|| json!(default));
    vec![
        (
            "delimiter".into(),
            shown(or(c.delimiter.value.map(|d| json!(char::from(d.0).to_string())), "detected"), &c.delimiter.origin),
        ),
        ("encoding".into(), shown(or(c.encoding.value.as_ref().map(|e| json!(e)), "detected"), &c.encoding.origin)),
        ("on_error".into(), shown(json!(format!("{:?}", c.on_error.value).to_lowercase()), &c.on_error.origin)),
        row("max_errors", &c.max_errors),
        row("null_tokens", &c.null_tokens),
        row("thousands_separator", &c.thousands_separator),
        row("utc_offset_minutes", &c.utc_offset_minutes),
        row("level", &c.level),
        ("threads".into(), shown(or(c.threads.value.map(|t| json!(t)), "all cores"), &c.threads.origin)),
        row("key_memory_bytes", &c.key_memory_bytes),
        row("chunk_bytes", &c.chunk_bytes),
        row("strict", &c.strict),
        row("strict_checks", &c.strict_checks),
    ]
}

fn emit_rows(e: &EmitSettings) -> Vec<(String, Setting)> {
    let token = Setting {
        value: e.token.value.as_ref().map_or(Value::Null, |_| json!("***")),
        origin: e.token.origin.to_string(),
    };
    vec![
        row("api", &e.api),
        ("token".to_owned(), token),
        row("token_file", &e.token_file),
        row("s3", &e.s3),
        row("s3_endpoint", &e.s3_endpoint),
        row("s3_path_style", &e.s3_path_style),
        row("jobs", &e.jobs),
        row("parts_in_flight", &e.parts_in_flight),
        row("part_size_bytes", &e.part_size_bytes),
        row("max_retries", &e.max_retries),
        row("request_timeout_seconds", &e.request_timeout_seconds),
        row("journal_dir", &e.journal_dir),
        row("max_entry_bytes", &e.max_entry_bytes),
        row("max_compression_ratio", &e.max_compression_ratio),
        row("protocol", &e.protocol),
        row("post_max_bytes", &e.post_max_bytes),
    ]
}

fn daemon_rows(d: &DaemonSettings) -> Vec<(String, Setting)> {
    vec![
        row("timezone", &d.timezone),
        row("status_file", &d.status_file),
        row("listen", &d.listen),
        row("stop_grace_seconds", &d.stop_grace_seconds),
    ]
}

fn path_json(path: &Path) -> Value {
    json!(path.display().to_string())
}

/// `--config` and `CQUBE_EMIT_CONFIG` reach us merged by clap: equal to the variable means it came from there.
fn config_file_setting(config_path: Option<&Path>, global: &GlobalArgs) -> Setting {
    let Some(path) = config_path else { return Setting { value: Value::Null, origin: "default".into() } };
    let origin = match &global.config {
        Some(p) if from_env("CQUBE_EMIT_CONFIG", p) => "env CQUBE_EMIT_CONFIG",
        Some(_) => "flag --config",
        None => "working directory",
    };
    Setting { value: json!(path.display().to_string()), origin: origin.into() }
}

fn catalog_setting(config: &FileConfig, config_path: Option<&Path>, global: &GlobalArgs, file_origin: &str) -> Setting {
    if let Some(p) = &global.catalog {
        let origin = if from_env("CQUBE_EMIT_CATALOG", p) { "env CQUBE_EMIT_CATALOG" } else { "flag --catalog" };
        return Setting { value: path_json(p), origin: origin.into() };
    }
    match &config.catalog {
        // As `load_catalog` reads it: relative to the config file.
        Some(p) => Setting {
            value: path_json(&config_path.and_then(Path::parent).map_or_else(|| p.clone(), |dir| dir.join(p))),
            origin: file_origin.to_owned(),
        },
        None => Setting { value: json!("built-in"), origin: "default".into() },
    }
}

fn from_env(var: &str, value: &Path) -> bool {
    std::env::var_os(var).is_some_and(|v| Path::new(&v) == value)
}

fn source_view(s: &crate::config::SourceSection, config_path: Option<&Path>, file_origin: &str) -> SourceView {
    let mut view = SourceView {
        name: s.name.clone(),
        kind: s.kind.map_or("file", cqube_source::Backend::name).to_owned(),
        query: s.query.clone(),
        table: s.table.clone(),
        path: s.path.clone(),
        watermark: s.watermark.clone(),
        schedule: s.schedule.clone(),
        url: None,
        url_origin: None,
        error: None,
        origin: file_origin.to_owned(),
    };
    match s.database(config_path) {
        Some(Ok((request, origin))) => {
            view.url = Some(request.url.masked());
            view.url_origin = Some(origin.to_string());
        }
        Some(Err(e)) => view.error = Some(format!("{e:#}")),
        None => {}
    }
    view
}

fn to_json(r: &Resolved) -> Value {
    let table =
        |entries: &[(String, Setting)]| Value::Object(entries.iter().map(|(k, s)| (k.clone(), json!(s))).collect());
    json!({
        "config_file": r.config_file,
        "catalog": r.catalog,
        "convert": table(&r.convert),
        "emit": table(&r.emit),
        "daemon": table(&r.daemon),
        "sources": r.sources,
    })
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
