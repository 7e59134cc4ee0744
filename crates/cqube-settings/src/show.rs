//! What `cqube-emit config show` prints: every resolved setting and where it came from, resolved exactly as the
//! commands resolve them. Secrets are never shown: connection URLs are masked and a set token shows as `***`.

use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};

use crate::config::{FileConfig, SourceSection};
use crate::{ConvertFlags, ConvertSettings, DaemonFlags, DaemonSettings, EmitFlags, EmitSettings, Origin};

/// One resolved setting, as shown.
#[derive(Debug, Serialize)]
pub struct Shown {
    /// The value as JSON (`null`: none).
    pub value: Value,
    /// `default`, `file PATH`, `env VAR`, `flag --NAME` or `working directory`.
    pub origin: String,
}

/// One `[[source]]` as `emit` would use it.
#[derive(Debug, Serialize)]
pub struct SourceView {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watermark: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The connection URL with its password masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_origin: Option<String>,
    /// Why the database settings cannot be used (the message never contains the URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub origin: String,
}

/// Everything `config show` prints.
#[derive(Debug)]
pub struct Resolved {
    pub config_file: Shown,
    pub catalog: Shown,
    pub convert: Vec<(String, Shown)>,
    pub emit: Vec<(String, Shown)>,
    pub daemon: Vec<(String, Shown)>,
    pub sources: Vec<SourceView>,
}

/// The paths a command line can give: `--config`/`CQUBE_EMIT_CONFIG` and `--catalog`/`CQUBE_EMIT_CATALOG`, which
/// clap merges (equal to the variable means it came from there).
#[derive(Debug, Clone, Copy)]
pub struct PathFlags<'a> {
    pub config: Option<&'a Path>,
    pub catalog: Option<&'a Path>,
}

impl Resolved {
    /// Resolves every table with no `convert`/`emit`/`daemon` flags (`config show` takes none), so a value comes
    /// from the environment, the config file at `config_path`, or the built-in default.
    pub fn resolve(config: &FileConfig, config_path: Option<&Path>, flags: PathFlags<'_>) -> anyhow::Result<Resolved> {
        let file_origin = config_path.map_or_else(String::new, |p| format!("file {}", p.display()));
        let convert = convert_rows(&ConvertSettings::resolve(ConvertFlags::default(), config)?);
        let emit = emit_rows(&EmitSettings::resolve(EmitFlags::default(), config)?);
        let daemon = daemon_rows(&DaemonSettings::resolve(DaemonFlags::default(), config)?);
        Ok(Resolved {
            config_file: config_file_setting(config_path, flags.config),
            catalog: catalog_setting(config, config_path, flags.catalog, &file_origin),
            convert,
            emit,
            daemon,
            sources: config.sources.iter().map(|s| source_view(s, config_path, &file_origin)).collect(),
        })
    }

    /// The `--json` object: `config_file`, `catalog`, `convert`, `emit`, `daemon` (key → value and origin) and
    /// `sources`.
    pub fn to_json(&self) -> Value {
        let table =
            |entries: &[(String, Shown)]| Value::Object(entries.iter().map(|(k, s)| (k.clone(), json!(s))).collect());
        json!({
            "config_file": self.config_file,
            "catalog": self.catalog,
            "convert": table(&self.convert),
            "emit": table(&self.emit),
            "daemon": table(&self.daemon),
            "sources": self.sources,
        })
    }
}

fn shown(value: Value, origin: &Origin) -> Shown {
    Shown { value, origin: origin.to_string() }
}

fn row<T: Serialize>(key: &str, setting: &crate::Setting<T>) -> (String, Shown) {
    (key.to_owned(), shown(json!(setting.value), &setting.origin))
}

fn convert_rows(c: &ConvertSettings) -> Vec<(String, Shown)> {
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

fn emit_rows(e: &EmitSettings) -> Vec<(String, Shown)> {
    let token = shown(e.token.value.as_ref().map_or(Value::Null, |_| json!("***")), &e.token.origin);
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

fn daemon_rows(d: &DaemonSettings) -> Vec<(String, Shown)> {
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

fn config_file_setting(config_path: Option<&Path>, flag: Option<&Path>) -> Shown {
    let Some(path) = config_path else { return Shown { value: Value::Null, origin: "default".into() } };
    let origin = match flag {
        Some(p) if from_env("CQUBE_EMIT_CONFIG", p) => "env CQUBE_EMIT_CONFIG",
        Some(_) => "flag --config",
        None => "working directory",
    };
    Shown { value: path_json(path), origin: origin.into() }
}

fn catalog_setting(config: &FileConfig, config_path: Option<&Path>, flag: Option<&Path>, file_origin: &str) -> Shown {
    if let Some(p) = flag {
        let origin = if from_env("CQUBE_EMIT_CATALOG", p) { "env CQUBE_EMIT_CATALOG" } else { "flag --catalog" };
        return Shown { value: path_json(p), origin: origin.into() };
    }
    match &config.catalog {
        // As `load_catalog` reads it: relative to the config file.
        Some(p) => Shown {
            value: path_json(&config_path.and_then(Path::parent).map_or_else(|| p.clone(), |dir| dir.join(p))),
            origin: file_origin.to_owned(),
        },
        None => Shown { value: json!("built-in"), origin: "default".into() },
    }
}

fn from_env(var: &str, value: &Path) -> bool {
    std::env::var_os(var).is_some_and(|v| Path::new(&v) == value)
}

fn source_view(s: &SourceSection, config_path: Option<&Path>, file_origin: &str) -> SourceView {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_values_name_their_file_relative_paths_follow_it_and_a_broken_source_says_why() {
        let toml = "catalog = \"catalog.json\"\n[emit]\njobs = 5\n\
                    [[source]]\nname = \"att\"\ntype = \"postgres\"\ntable = \"att\"\nurl_env = \"CQUBE_SETTINGS_TEST_UNSET\"\n";
        let path = Path::new("/etc/cqube/cqube-emit.toml");
        let mut config: FileConfig = toml::from_str(toml).unwrap();
        config.path = Some(path.to_path_buf());
        let r = Resolved::resolve(&config, Some(path), PathFlags { config: Some(path), catalog: None }).unwrap();
        let v = r.to_json();
        assert_eq!(v["emit"]["jobs"], json!({"value": 5, "origin": "file /etc/cqube/cqube-emit.toml"}));
        assert_eq!(v["catalog"]["value"], "/etc/cqube/catalog.json");
        assert_eq!(v["config_file"]["origin"], "flag --config");
        assert_eq!(v["sources"][0]["type"], "postgres");
        let error = v["sources"][0]["error"].as_str().unwrap();
        assert!(error.contains("CQUBE_SETTINGS_TEST_UNSET is not set"), "{error}");
    }
}
