//! The config file (`cqube-emit.toml`): what `convert`, `validate` and `gen` read from it.
//!
//! Precedence: built-in defaults < config file < `CQUBE_EMIT_*` env vars < flags (clap merges the last
//! two). The `[server]` table belongs to `serve` and is read there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cqube_core::Catalog;
use cqube_normalize::Mapping;
use serde::Deserialize;

use crate::cli::GlobalArgs;

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
    pub emit: crate::emit_cmd::EmitSection,
    /// Read by `serve` (cqube-server's `ServerConfig`), not here.
    #[serde(default, rename = "server")]
    _server: Option<toml::Value>,
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
    pub level: Option<u32>,
    pub threads: Option<usize>,
    pub key_memory_bytes: Option<usize>,
    pub chunk_bytes: Option<usize>,
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
}

impl FileConfig {
    /// Loads `--config`/`CQUBE_EMIT_CONFIG`, else `./cqube-emit.toml` when present, else defaults.
    pub fn load(global: &GlobalArgs) -> anyhow::Result<(FileConfig, Option<PathBuf>)> {
        let path = global.config.clone().or_else(|| {
            let local = PathBuf::from("cqube-emit.toml");
            local.exists().then_some(local)
        });
        let Some(path) = path else { return Ok((FileConfig::default(), None)) };
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading config file {}", path.display()))?;
        let config: FileConfig = toml::from_str(&text).with_context(|| format!("config file {}", path.display()))?;
        Ok((config, Some(path)))
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
