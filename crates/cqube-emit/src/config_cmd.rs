//! `cqube-emit config show`: the resolved configuration and where each value came from (STYLE.md section 6).
//!
//! `config show` takes no `convert`/`emit` flags, so a value comes from the environment (`CQUBE_EMIT_*`), the
//! config file, or the built-in default; only the config and catalog paths can also come from a flag. Secrets are
//! never printed: connection URLs are masked and a set `CQUBE_EMIT_TOKEN` shows as `***`.

use std::io::Write;
use std::path::Path;

use clap::Subcommand;
use serde::Serialize;
use serde_json::{Value, json};

use crate::cli::GlobalArgs;
use crate::config::FileConfig;
use crate::exit::ExitStatus;

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
    let resolved = resolve(config, config_path, global);
    let mut out = std::io::stdout().lock();
    if global.json {
        serde_json::to_writer(&mut out, &to_json(&resolved))?;
        writeln!(out)?;
    } else {
        write_text(&mut out, &resolved)?;
    }
    Ok(ExitStatus::Success)
}

fn resolve(config: &FileConfig, config_path: Option<&Path>, global: &GlobalArgs) -> Resolved {
    let file_origin = config_path.map_or_else(String::new, |p| format!("file {}", p.display()));
    let convert_defaults = cqube_convert::ConvertOptions::default();
    let value_defaults = cqube_normalize::ValueOptions::default();
    let c = &config.convert;
    let pick = |env: Option<&str>, file: Option<Value>, default: Value| pick(env, file, default, &file_origin);
    let convert = vec![
        ("delimiter", pick(Some("CQUBE_EMIT_DELIMITER"), c.delimiter.as_ref().map(|v| json!(v)), json!("detected"))),
        ("encoding", pick(Some("CQUBE_EMIT_ENCODING"), c.encoding.as_ref().map(|v| json!(v)), json!("detected"))),
        ("on_error", pick(Some("CQUBE_EMIT_ON_ERROR"), c.on_error.as_ref().map(|v| json!(v)), json!("fail"))),
        ("max_errors", pick(Some("CQUBE_EMIT_MAX_ERRORS"), c.max_errors.map(|v| json!(v)), Value::Null)),
        ("null_tokens", pick(None, c.null_tokens.as_ref().map(|v| json!(v)), json!(value_defaults.null_tokens))),
        (
            "thousands_separator",
            pick(None, c.thousands_separator.map(|v| json!(v)), json!(value_defaults.thousands_separator)),
        ),
        (
            "utc_offset_minutes",
            pick(None, c.utc_offset_minutes.map(|v| json!(v)), json!(value_defaults.utc_offset_minutes)),
        ),
        (
            "level",
            pick(Some("CQUBE_EMIT_LEVEL"), c.level.map(|v| json!(v)), json!(cqube_zip::ZipOptions::default().level)),
        ),
        ("threads", pick(Some("CQUBE_EMIT_THREADS"), c.threads.map(|v| json!(v)), json!("all cores"))),
        (
            "key_memory_bytes",
            pick(None, c.key_memory_bytes.map(|v| json!(v)), json!(convert_defaults.key_memory_bytes)),
        ),
        ("chunk_bytes", pick(None, c.chunk_bytes.map(|v| json!(v)), json!(convert_defaults.chunk_bytes))),
    ];
    // `emit` keeps its defaults inside its own code (see `cqube-emit emit --help`), so only their existence is shown.
    let e = &config.emit;
    let zip_limits = cqube_zip::check::Limits::default();
    let builtin = || json!("built-in (see emit --help)");
    let token = std::env::var("CQUBE_EMIT_TOKEN").ok().filter(|t| !t.is_empty());
    let emit = vec![
        ("api", pick(Some("CQUBE_EMIT_API"), e.api.as_ref().map(|v| json!(v)), Value::Null)),
        (
            "token",
            token.map_or_else(
                || Setting { value: Value::Null, origin: "default".into() },
                |_| Setting { value: json!("***"), origin: "env CQUBE_EMIT_TOKEN".into() },
            ),
        ),
        ("token_file", pick(Some("CQUBE_EMIT_TOKEN_FILE"), e.token_file.as_deref().map(path_json), Value::Null)),
        ("jobs", pick(Some("CQUBE_EMIT_JOBS"), e.jobs.map(|v| json!(v)), builtin())),
        ("parts_in_flight", pick(Some("CQUBE_EMIT_PARTS_IN_FLIGHT"), e.parts_in_flight.map(|v| json!(v)), builtin())),
        ("part_size_bytes", pick(Some("CQUBE_EMIT_PART_SIZE_BYTES"), e.part_size_bytes.map(|v| json!(v)), builtin())),
        ("max_retries", pick(Some("CQUBE_EMIT_MAX_RETRIES"), e.max_retries.map(|v| json!(v)), builtin())),
        (
            "request_timeout_seconds",
            pick(Some("CQUBE_EMIT_REQUEST_TIMEOUT_SECONDS"), e.request_timeout_seconds.map(|v| json!(v)), builtin()),
        ),
        ("journal_dir", pick(Some("CQUBE_EMIT_JOURNAL_DIR"), e.journal_dir.as_deref().map(path_json), builtin())),
        (
            "max_entry_bytes",
            pick(
                Some("CQUBE_EMIT_MAX_ENTRY_BYTES"),
                e.max_entry_bytes.map(|v| json!(v)),
                json!(zip_limits.max_entry_bytes),
            ),
        ),
        (
            "max_compression_ratio",
            pick(
                Some("CQUBE_EMIT_MAX_COMPRESSION_RATIO"),
                e.max_compression_ratio.map(|v| json!(v)),
                json!(zip_limits.max_ratio),
            ),
        ),
    ];
    let d = &config.daemon;
    let daemon = vec![
        ("timezone", pick(Some("CQUBE_EMIT_TIMEZONE"), d.timezone.as_ref().map(|v| json!(v)), json!("Asia/Kolkata"))),
        (
            "status_file",
            pick(
                Some("CQUBE_EMIT_STATUS_FILE"),
                d.status_file.as_deref().map(path_json),
                json!("$XDG_STATE_HOME/cqube-emit/daemon-status.json"),
            ),
        ),
        ("listen", pick(Some("CQUBE_EMIT_STATUS_LISTEN"), d.listen.map(|v| json!(v.to_string())), Value::Null)),
        (
            "stop_grace_seconds",
            pick(Some("CQUBE_EMIT_STOP_GRACE_SECONDS"), d.stop_grace_seconds.map(|v| json!(v)), json!(30)),
        ),
    ];
    Resolved {
        config_file: config_file_setting(config_path, global),
        catalog: catalog_setting(config, config_path, global, &file_origin),
        convert: convert.into_iter().map(|(k, s)| (k.to_owned(), s)).collect(),
        emit: emit.into_iter().map(|(k, s)| (k.to_owned(), s)).collect(),
        daemon: daemon.into_iter().map(|(k, s)| (k.to_owned(), s)).collect(),
        sources: config.sources.iter().map(|s| source_view(s, config_path, &file_origin)).collect(),
    }
}

/// The environment wins over the file, the file over the default. An empty variable counts as unset, as for clap.
fn pick(env: Option<&str>, file: Option<Value>, default: Value, file_origin: &str) -> Setting {
    if let Some((var, value)) = env.and_then(|var| Some((var, std::env::var(var).ok().filter(|v| !v.is_empty())?))) {
        return Setting { value: json!(value), origin: format!("env {var}") };
    }
    match file {
        Some(value) => Setting { value, origin: file_origin.to_owned() },
        None => Setting { value: default, origin: "default".into() },
    }
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
        kind: s.kind.clone().unwrap_or_else(|| "file".into()),
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
