//! The config file (`cqube-emit.toml`): its `[convert]`, `[emit]`, `[daemon]` and `[[source]]` tables.
//!
//! Precedence: built-in defaults < config file < `CQUBE_EMIT_*` env vars < flags (clap merges the last
//! two). The `[server]` table belongs to `serve` and is read there.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cqube_core::Catalog;
use cqube_normalize::Mapping;
use serde::Deserialize;

/// The parts of the config file this module owns.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// A JSON catalog override (same shape as the built-in catalog): replaces or adds data sources.
    pub catalog: Option<PathBuf>,
    #[serde(default)]
    pub convert: ConvertSection,
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceSection>,
    /// `[emit]`: where and how `emit` sends files.
    #[serde(default)]
    pub emit: EmitSection,
    /// `[daemon]`: time zone, status file and status address of `cqube-emit daemon`.
    #[serde(default)]
    pub daemon: DaemonSection,
    /// Read by `serve` (cqube-server's `ServerConfig`), not here.
    #[serde(default, rename = "server")]
    _server: Option<toml::Value>,
    /// The file this was read from (set by `load`): relative paths in it are relative to its directory.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// `[convert]`: defaults for reading, checking and zipping exports.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvertSection {
    pub delimiter: Option<String>,
    pub encoding: Option<String>,
    pub on_error: Option<String>,
    pub max_errors: Option<u64>,
    pub null_tokens: Option<Vec<String>>,
    pub thousands_separator: Option<bool>,
    pub utc_offset_minutes: Option<i32>,
    pub level: Option<cqube_emission::Level>,
    pub threads: Option<usize>,
    pub key_memory_bytes: Option<usize>,
    pub chunk_bytes: Option<usize>,
    pub strict: Option<bool>,
    pub strict_checks: Option<Vec<String>>,
}

/// `[emit]` in the config file. Secrets are not plain keys: the token comes from `token_file`, the environment
/// (`CQUBE_EMIT_TOKEN`, `CQUBE_EMIT_TOKEN_FILE`) or `--token`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmitSection {
    /// Emission API base URL, e.g. `http://127.0.0.1:8470/data`.
    pub api: Option<String>,
    /// File holding the API token (relative to the config file).
    pub token_file: Option<PathBuf>,
    /// `s3://BUCKET[/PREFIX]`: deliver straight to the emission bucket (AWS credentials) instead of an API.
    pub s3: Option<String>,
    /// An S3-compatible store's URL for `s3`, e.g. `http://minio:9000`.
    pub s3_endpoint: Option<String>,
    /// Path-style S3 requests (`ENDPOINT/BUCKET/KEY`), as most S3-compatible stores need.
    pub s3_path_style: Option<bool>,
    /// Files emitted at once.
    pub jobs: Option<usize>,
    /// Part PUTs running at once, over all files.
    pub parts_in_flight: Option<usize>,
    /// First part size; it doubles every 1,000 parts.
    pub part_size_bytes: Option<usize>,
    /// Retries per request after the first attempt.
    pub max_retries: Option<usize>,
    /// Limit for one request (a part PUT included).
    pub request_timeout_seconds: Option<u64>,
    /// Where resume journals are kept.
    pub journal_dir: Option<PathBuf>,
    /// Largest decompressed entry of a prepared zip.
    pub max_entry_bytes: Option<u64>,
    /// Largest decompressed-to-compressed ratio of a prepared zip's entry.
    pub max_compression_ratio: Option<u64>,
    /// `auto`, `multipart` or `post`.
    pub protocol: Option<String>,
    /// Largest file one presigned POST takes.
    pub post_max_bytes: Option<u64>,
}

/// `[daemon]` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSection {
    /// IANA time zone the schedules are read in. Default Asia/Kolkata.
    pub timezone: Option<String>,
    /// Where the status JSON is written whenever a run starts or ends (relative to the config file).
    pub status_file: Option<PathBuf>,
    /// Loopback address serving `GET /status`, e.g. `127.0.0.1:8471`. Default: none.
    pub listen: Option<SocketAddr>,
    /// Seconds running emissions get to stop after SIGTERM before they are killed. Default 30.
    pub stop_grace_seconds: Option<u64>,
}

/// `[[source]]`: one data source's export and how its header maps to the catalog.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// Catalog data source name, e.g. `student_attendance`.
    pub name: String,
    /// Source header name -> catalog column.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Catalog column -> constant value.
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
    /// Glob of raw export files `emit` sends for this source (relative to the config file), e.g. `exports/att_*.csv`.
    pub path: Option<String>,
    /// `postgres` (`postgresql`) or `mysql` (`mariadb`): read the rows from a database instead of a file
    /// (docs/databases.md).
    #[serde(default, rename = "type")]
    pub kind: Option<cqube_source::Backend>,
    /// With `type`: the SELECT whose rows are the export.
    pub query: Option<String>,
    /// With `type`: a table to read whole (instead of `query`).
    pub table: Option<String>,
    /// With `type`: the environment variable holding the connection URL.
    pub url_env: Option<String>,
    /// With `type`: a file holding the connection URL (a secret; relative to the config file).
    pub url_file: Option<PathBuf>,
    /// With `type`: a column that grows with every change; only newer rows are read (`--full` reads all).
    pub watermark: Option<String>,
    /// When `cqube-emit daemon` runs this source: a cron expression (`sec min hour day month weekday`, seconds
    /// optional), in `[daemon] timezone`.
    pub schedule: Option<String>,
}

/// Where a database source's connection URL came from, for messages and `config show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlOrigin {
    Env(String),
    File(PathBuf),
}

impl std::fmt::Display for UrlOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlOrigin::Env(var) => write!(f, "env {var}"),
            UrlOrigin::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

impl SourceSection {
    /// The database to read from, when the section has a `type`: the request (without a watermark position) and
    /// where its URL came from. Every problem of the section is reported at once.
    pub fn database(&self, config_path: Option<&Path>) -> Option<anyhow::Result<(cqube_source::Request, UrlOrigin)>> {
        let backend = self.kind?;
        Some(self.database_request(backend, config_path))
    }

    fn database_request(
        &self,
        backend: cqube_source::Backend,
        config_path: Option<&Path>,
    ) -> anyhow::Result<(cqube_source::Request, UrlOrigin)> {
        let name = &self.name;
        let mut problems = Vec::new();
        let query = match (&self.query, &self.table) {
            (Some(q), None) => Some(q.clone()),
            (None, Some(t)) => Some(cqube_source::table_query(backend, t)),
            (Some(_), Some(_)) => {
                problems.push("query and table: give one, not both".into());
                None
            }
            (None, None) => {
                problems.push("needs query or table".into());
                None
            }
        };
        let url = match (&self.url_env, &self.url_file) {
            (Some(var), None) => match std::env::var(var) {
                Ok(url) if !url.trim().is_empty() => Some((url, UrlOrigin::Env(var.clone()))),
                _ => {
                    problems.push(format!("url_env: environment variable {var} is not set"));
                    None
                }
            },
            (None, Some(file)) => {
                let file = config_path.and_then(Path::parent).map_or_else(|| file.clone(), |dir| dir.join(file));
                match std::fs::read_to_string(&file) {
                    Ok(url) if !url.trim().is_empty() => Some((url, UrlOrigin::File(file))),
                    Ok(_) => {
                        problems.push(format!("url_file: {} is empty", file.display()));
                        None
                    }
                    Err(e) => {
                        problems.push(format!("url_file: reading {}: {e}", file.display()));
                        None
                    }
                }
            }
            (Some(_), Some(_)) => {
                problems.push("url_env and url_file: give one, not both".into());
                None
            }
            (None, None) => {
                problems.push("needs url_env or url_file (the connection URL is a secret: never in this file)".into());
                None
            }
        };
        match (query, url) {
            (Some(query), Some((url, origin))) if problems.is_empty() => {
                let mut request =
                    cqube_source::Request::new(name, backend, cqube_source::ConnectionUrl::new(&url), &query);
                request.watermark =
                    self.watermark.clone().map(|column| cqube_source::Watermark { column, after: None });
                Ok((request, origin))
            }
            _ => Err(anyhow::anyhow!("[[source]] {name}: {}", problems.join("; "))),
        }
    }
}

impl FileConfig {
    /// Loads `flag` (`--config`/`CQUBE_EMIT_CONFIG`), else `./cqube-emit.toml` when present, else defaults.
    pub fn load(flag: Option<&Path>) -> anyhow::Result<(FileConfig, Option<PathBuf>)> {
        let path = flag.map(Path::to_path_buf).or_else(|| {
            let local = PathBuf::from("cqube-emit.toml");
            local.exists().then_some(local)
        });
        let Some(path) = path else { return Ok((FileConfig::default(), None)) };
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading config file {}", path.display()))?;
        let mut config: FileConfig =
            toml::from_str(&text).with_context(|| format!("config file {}", path.display()))?;
        config.path = Some(path.clone());
        Ok((config, Some(path)))
    }

    /// The query of the `[[source]]` named `name`, when it reads a database (`None` otherwise), with MySQL
    /// `TIMESTAMP`s written at `utc_offset_minutes`. Logs where its URL came from.
    pub fn database_request(
        &self,
        name: &str,
        utc_offset_minutes: i32,
    ) -> Option<anyhow::Result<cqube_source::Request>> {
        let section = self.sources.iter().find(|s| s.name == name && s.kind.is_some())?;
        Some(section.database(self.path.as_deref())?.map(|(mut request, origin)| {
            request.utc_offset_minutes = utc_offset_minutes;
            tracing::info!(source = %name, backend = %request.backend, url = %request.url, url_from = %origin, "database source");
            request
        }))
    }

    /// Column mappings by data source name.
    pub fn mappings(&self) -> BTreeMap<String, Mapping> {
        self.sources
            .iter()
            .map(|s| (s.name.clone(), Mapping { columns: s.columns.clone(), constants: s.constants.clone() }))
            .collect()
    }
}

/// The built-in catalog with the override file (flag, env, or config key `catalog`) applied.
pub fn load_catalog(flag: Option<&Path>, config: &FileConfig, config_path: Option<&Path>) -> anyhow::Result<Catalog> {
    let file = flag.map(Path::to_path_buf).or_else(|| {
        // A relative path in the config file is relative to the config file.
        let p = config.catalog.as_ref()?;
        Some(config_path.and_then(Path::parent).map_or_else(|| p.clone(), |dir| dir.join(p)))
    });
    let catalog = Catalog::builtin();
    let Some(file) = file else { return Ok(catalog) };
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading catalog {}", file.display()))?;
    catalog.with_overrides(&text).with_context(|| format!("catalog {}", file.display()))
}

/// Where cqube-emit keeps state by default: $XDG_STATE_HOME/cqube-emit (~/.local/state/cqube-emit).
pub fn state_dir() -> Result<PathBuf, NoStateDir> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .ok_or(NoStateDir)?;
    Ok(state.join("cqube-emit"))
}

/// Neither HOME nor XDG_STATE_HOME is set, so state has no default place (a usage error for the binary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoStateDir;

impl std::fmt::Display for NoStateDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no HOME or XDG_STATE_HOME for cqube-emit's state\n\nhint: pass --journal-dir or --status-file")
    }
}

impl std::error::Error for NoStateDir {}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(toml_type: &str) -> Result<SourceSection, toml::de::Error> {
        toml::from_str(&format!("name = \"student_attendance\"\ntype = \"{toml_type}\"\ntable = \"att\""))
    }

    #[test]
    fn source_type_takes_the_backends_and_their_aliases() {
        for (written, backend) in [
            ("postgres", cqube_source::Backend::Postgres),
            ("postgresql", cqube_source::Backend::Postgres),
            ("mysql", cqube_source::Backend::Mysql),
            ("mariadb", cqube_source::Backend::Mysql),
        ] {
            assert_eq!(source(written).unwrap().kind, Some(backend), "type = {written}");
        }
        let file: SourceSection = toml::from_str("name = \"school_master\"\npath = \"exports/*.csv\"").unwrap();
        assert_eq!(file.kind, None);
    }

    #[test]
    fn an_unknown_source_type_names_the_allowed_ones() {
        let message = source("oracle").unwrap_err().to_string();
        assert!(message.contains("oracle") && message.contains("postgres") && message.contains("mysql"), "{message}");
    }
}
