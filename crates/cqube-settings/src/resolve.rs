//! Settings resolved once per command family, each value with where it came from (modelled on uv's settings.rs
//! and on cqube-server's `ServerConfig`): built-in default < config file < `CQUBE_EMIT_*` env < flag.
//!
//! clap only parses flags (no `env =`, no defaults); the environment is read here through one table, so `emit`,
//! the daemon and `config show` cannot disagree about a value or its origin.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;

use crate::config::FileConfig;

/// The first part size when nothing sets one (also what a resumed job that recorded none used).
pub const DEFAULT_PART_SIZE_BYTES: usize = 8 << 20;

/// Env vars and the config key each one sets (docs/emit.md lists them with their flags).
pub const ENV: &[(&str, &str)] = &[
    ("CQUBE_EMIT_DELIMITER", "convert.delimiter"),
    ("CQUBE_EMIT_ENCODING", "convert.encoding"),
    ("CQUBE_EMIT_ON_ERROR", "convert.on_error"),
    ("CQUBE_EMIT_MAX_ERRORS", "convert.max_errors"),
    ("CQUBE_EMIT_STRICT", "convert.strict"),
    ("CQUBE_EMIT_LEVEL", "convert.level"),
    ("CQUBE_EMIT_THREADS", "convert.threads"),
    ("CQUBE_EMIT_API", "emit.api"),
    ("CQUBE_EMIT_TOKEN", "emit.token"),
    ("CQUBE_EMIT_TOKEN_FILE", "emit.token_file"),
    ("CQUBE_EMIT_S3", "emit.s3"),
    ("CQUBE_EMIT_S3_ENDPOINT", "emit.s3_endpoint"),
    ("CQUBE_EMIT_S3_PATH_STYLE", "emit.s3_path_style"),
    ("CQUBE_EMIT_JOBS", "emit.jobs"),
    ("CQUBE_EMIT_PARTS_IN_FLIGHT", "emit.parts_in_flight"),
    ("CQUBE_EMIT_PART_SIZE_BYTES", "emit.part_size_bytes"),
    ("CQUBE_EMIT_MAX_RETRIES", "emit.max_retries"),
    ("CQUBE_EMIT_REQUEST_TIMEOUT_SECONDS", "emit.request_timeout_seconds"),
    ("CQUBE_EMIT_JOURNAL_DIR", "emit.journal_dir"),
    ("CQUBE_EMIT_MAX_ENTRY_BYTES", "emit.max_entry_bytes"),
    ("CQUBE_EMIT_MAX_COMPRESSION_RATIO", "emit.max_compression_ratio"),
    ("CQUBE_EMIT_PROTOCOL", "emit.protocol"),
    ("CQUBE_EMIT_POST_MAX_BYTES", "emit.post_max_bytes"),
    ("CQUBE_EMIT_TIMEZONE", "daemon.timezone"),
    ("CQUBE_EMIT_STATUS_FILE", "daemon.status_file"),
    ("CQUBE_EMIT_STATUS_LISTEN", "daemon.listen"),
    ("CQUBE_EMIT_STOP_GRACE_SECONDS", "daemon.stop_grace_seconds"),
];

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(&'static str),
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => write!(f, "default"),
            Origin::File(path) => write!(f, "file {}", path.display()),
            Origin::Env(var) => write!(f, "env {var}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A resolved value and its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

/// The layers below the flags: the config file and the environment (a snapshot, so tests can pass their own).
pub(crate) struct Layers<'a> {
    config: &'a FileConfig,
    env: Vec<(String, String)>,
    problems: Vec<String>,
}

impl<'a> Layers<'a> {
    /// The config and the process environment.
    pub fn new(config: &'a FileConfig) -> Layers<'a> {
        Layers::with_env(config, std::env::vars())
    }

    /// The config and the given environment.
    pub fn with_env(config: &'a FileConfig, env: impl IntoIterator<Item = (String, String)>) -> Layers<'a> {
        Layers { config, env: env.into_iter().collect(), problems: Vec::new() }
    }

    /// The env var for `key` when it is set and not empty (an empty variable counts as unset).
    fn env(&self, key: &str) -> Option<(&'static str, &str)> {
        let (var, _) = ENV.iter().find(|(_, k)| *k == key)?;
        let (_, value) = self.env.iter().find(|(name, value)| name == var && !value.is_empty())?;
        Some((var, value.as_str()))
    }

    /// `flag` > env > `file`, or `None` when no layer sets the key. An env value that does not parse is recorded as
    /// a problem and skipped.
    fn layer<T: FromStr>(
        &mut self,
        key: &str,
        flag: Option<T>,
        flag_name: &'static str,
        file: Option<T>,
    ) -> Option<Setting<T>>
    where
        T::Err: fmt::Display,
    {
        if let Some(value) = flag {
            return Some(Setting { value, origin: Origin::Flag(flag_name) });
        }
        if let Some((var, text)) = self.env(key) {
            match text.parse() {
                Ok(value) => return Some(Setting { value, origin: Origin::Env(var) }),
                Err(e) => {
                    let problem = format!("{var}={text:?}: {e}");
                    self.problems.push(problem);
                }
            }
        }
        file.map(|value| Setting { value, origin: self.file_origin() })
    }

    /// [`Layers::layer`], else the built-in `default`.
    fn pick<T: FromStr>(
        &mut self,
        key: &str,
        flag: Option<T>,
        flag_name: &'static str,
        file: Option<T>,
        default: T,
    ) -> Setting<T>
    where
        T::Err: fmt::Display,
    {
        self.layer(key, flag, flag_name, file).unwrap_or(Setting { value: default, origin: Origin::Default })
    }

    /// [`Layers::layer`] for a setting without a default.
    fn pick_opt<T: FromStr>(
        &mut self,
        key: &str,
        flag: Option<T>,
        flag_name: &'static str,
        file: Option<T>,
    ) -> Setting<Option<T>>
    where
        T::Err: fmt::Display,
    {
        self.layer(key, flag, flag_name, file).map_or(Setting { value: None, origin: Origin::Default }, |s| Setting {
            value: Some(s.value),
            origin: s.origin,
        })
    }

    /// A key only the config file sets (no env var, no flag), else its default.
    fn file_or<T>(&self, value: Option<T>, default: T) -> Setting<T> {
        match value {
            Some(value) => Setting { value, origin: self.file_origin() },
            None => Setting { value: default, origin: Origin::Default },
        }
    }

    fn file_origin(&self) -> Origin {
        Origin::File(self.config.path.clone().unwrap_or_default())
    }

    /// A path from the config file, relative to the file's directory.
    fn relative(&self, path: Option<&PathBuf>) -> Option<PathBuf> {
        let p = path?;
        Some(self.config.path.as_deref().and_then(Path::parent).map_or_else(|| p.clone(), |dir| dir.join(p)))
    }

    /// A text value of the config file parsed as `T`; one that does not parse is a problem, named `what`.
    fn parse_file<T: FromStr>(&mut self, what: &str, text: Option<&String>) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        match text?.parse() {
            Ok(value) => Some(value),
            Err(e) => {
                self.problems.push(format!("{what}: {e}"));
                None
            }
        }
    }

    /// Every problem found, at once.
    fn finish(self) -> anyhow::Result<()> {
        if self.problems.is_empty() {
            return Ok(());
        }
        Err(anyhow::anyhow!("{}", self.problems.join("; ")))
    }
}

/// An input field separator: one ASCII character, or `tab`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiter(pub u8);

impl FromStr for Delimiter {
    type Err = String;
    fn from_str(s: &str) -> Result<Delimiter, String> {
        match s {
            "tab" | "\\t" | "\t" => Ok(Delimiter(b'\t')),
            _ if s.len() == 1 && s.is_ascii() => Ok(Delimiter(s.as_bytes()[0])),
            _ => Err(format!("expected one ASCII character or `tab`, got {s:?}")),
        }
    }
}

/// What a bad row does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OnErrorArg {
    Fail,
    Skip,
}

impl FromStr for OnErrorArg {
    type Err = String;
    fn from_str(s: &str) -> Result<OnErrorArg, String> {
        match s {
            "fail" => Ok(OnErrorArg::Fail),
            "skip" => Ok(OnErrorArg::Skip),
            other => Err(format!("expected fail or skip, got {other:?}")),
        }
    }
}

/// `--protocol`: how files are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Ask the API: multipart when it lists it, else post.
    Auto,
    /// A cqube-emit server's `/uploads` endpoints: parts in parallel, resumable, acknowledged.
    Multipart,
    /// Stock cQube's `upload-url`: one presigned POST per file, at most 5 GiB, restarted rather than resumed.
    Post,
}

impl FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Protocol, String> {
        match s {
            "auto" => Ok(Protocol::Auto),
            "multipart" => Ok(Protocol::Multipart),
            "post" => Ok(Protocol::Post),
            other => Err(format!("expected auto, multipart or post, got {other:?}")),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Auto => "auto",
            Protocol::Multipart => "multipart",
            Protocol::Post => "post",
        })
    }
}

/// The `[convert]` flags a command was given.
#[derive(Debug, Default)]
pub struct ConvertFlags {
    pub delimiter: Option<Delimiter>,
    pub encoding: Option<String>,
    pub on_error: Option<OnErrorArg>,
    pub max_errors: Option<u64>,
    pub null_tokens: Vec<String>,
    pub thousands_separator: bool,
    pub level: Option<cqube_emission::Level>,
    pub threads: Option<usize>,
    /// `--strict` (`None`: not given).
    pub strict: Option<bool>,
}

/// `[convert]`: how exports are read, checked and zipped.
#[derive(Debug)]
pub struct ConvertSettings {
    /// `None`: detected.
    pub delimiter: Setting<Option<Delimiter>>,
    /// `None`: detected.
    pub encoding: Setting<Option<String>>,
    pub on_error: Setting<OnErrorArg>,
    pub max_errors: Setting<Option<u64>>,
    pub null_tokens: Setting<Vec<String>>,
    pub thousands_separator: Setting<bool>,
    pub utc_offset_minutes: Setting<i32>,
    /// `auto` only for emissions (`convert` refuses it).
    pub level: Setting<cqube_emission::Level>,
    /// `None`: all cores.
    pub threads: Setting<Option<usize>>,
    pub key_memory_bytes: Setting<usize>,
    pub chunk_bytes: Setting<usize>,
    /// Warning rules (checks cQube does not enforce) reject rows like errors.
    pub strict: Setting<bool>,
    /// `source.column` names whose warning rules reject rows.
    pub strict_checks: Setting<Vec<String>>,
}

impl ConvertSettings {
    /// Resolves `[convert]` under the flags a command has.
    pub fn resolve(flags: ConvertFlags, config: &FileConfig) -> anyhow::Result<ConvertSettings> {
        let mut l = Layers::new(config);
        let file = &config.convert;
        let defaults = cqube_convert::ConvertOptions::default();
        let file_delimiter = l.parse_file("[convert] delimiter", file.delimiter.as_ref());
        let file_on_error = l.parse_file("[convert] on_error", file.on_error.as_ref());
        let null_tokens = if flags.null_tokens.is_empty() {
            l.file_or(file.null_tokens.clone(), defaults.values.null_tokens.clone())
        } else {
            Setting { value: flags.null_tokens, origin: Origin::Flag("--null-token") }
        };
        let thousands_separator = if flags.thousands_separator {
            Setting { value: true, origin: Origin::Flag("--thousands-separator") }
        } else {
            l.file_or(file.thousands_separator, defaults.values.thousands_separator)
        };
        let settings = ConvertSettings {
            delimiter: l.pick_opt("convert.delimiter", flags.delimiter, "--delimiter", file_delimiter),
            encoding: l.pick_opt("convert.encoding", flags.encoding, "--encoding", file.encoding.clone()),
            on_error: l.pick("convert.on_error", flags.on_error, "--on-error", file_on_error, OnErrorArg::Fail),
            max_errors: l.pick_opt("convert.max_errors", flags.max_errors, "--max-errors", file.max_errors),
            null_tokens,
            thousands_separator,
            utc_offset_minutes: l.file_or(file.utc_offset_minutes, defaults.values.utc_offset_minutes),
            level: l.pick(
                "convert.level",
                flags.level,
                "--level",
                file.level,
                cqube_emission::Level::Fixed(cqube_zip::ZipOptions::default().level),
            ),
            threads: l.pick_opt("convert.threads", flags.threads, "--threads", file.threads),
            key_memory_bytes: l.file_or(file.key_memory_bytes, defaults.key_memory_bytes),
            chunk_bytes: l.file_or(file.chunk_bytes, defaults.chunk_bytes),
            strict: l.pick("convert.strict", flags.strict, "--strict", file.strict, defaults.strict),
            strict_checks: l.file_or(file.strict_checks.clone(), defaults.strict_checks),
        };
        l.finish()?;
        Ok(settings)
    }
}

/// The rayon pool's size: `--threads`, `CQUBE_EMIT_THREADS`, `[convert] threads`, else all cores (`None`).
pub fn threads(flag: Option<usize>, config: &FileConfig) -> anyhow::Result<Option<usize>> {
    let mut l = Layers::new(config);
    let threads = l.pick_opt("convert.threads", flag, "--threads", config.convert.threads).value;
    l.finish()?;
    Ok(threads)
}

/// The `[emit]` flags a command was given (clap parses them; nothing else is filled in).
#[derive(Debug, Default)]
pub struct EmitFlags {
    pub api: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    pub s3: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_path_style: Option<bool>,
    pub jobs: Option<usize>,
    pub parts_in_flight: Option<usize>,
    pub part_size_bytes: Option<usize>,
    pub max_retries: Option<usize>,
    pub request_timeout_seconds: Option<u64>,
    pub journal_dir: Option<PathBuf>,
    pub max_entry_bytes: Option<u64>,
    pub max_compression_ratio: Option<u64>,
    pub protocol: Option<Protocol>,
}

/// The `[daemon]` flags.
#[derive(Debug, Default)]
pub struct DaemonFlags {
    pub timezone: Option<String>,
    pub status_file: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub stop_grace_seconds: Option<u64>,
}

/// `[emit]`: how `emit`, `run`, `resume` and `verify` reach the API and pace the upload.
pub struct EmitSettings {
    pub api: Setting<Option<String>>,
    /// A secret: never printed (`config show` masks it).
    pub token: Setting<Option<String>>,
    pub token_file: Setting<Option<PathBuf>>,
    /// `s3://BUCKET[/PREFIX]`: deliver straight to S3 instead of through an API.
    pub s3: Setting<Option<String>>,
    /// An S3-compatible store's URL (else the AWS chain's endpoint).
    pub s3_endpoint: Setting<Option<String>>,
    pub s3_path_style: Setting<bool>,
    pub jobs: Setting<usize>,
    pub parts_in_flight: Setting<usize>,
    pub part_size_bytes: Setting<usize>,
    pub max_retries: Setting<usize>,
    pub request_timeout_seconds: Setting<u64>,
    /// `None` only when there is no HOME or XDG_STATE_HOME for the default.
    pub journal_dir: Setting<Option<PathBuf>>,
    /// Largest decompressed entry of a prepared zip.
    pub max_entry_bytes: Setting<u64>,
    /// Largest decompressed-to-compressed ratio of a prepared zip's entry.
    pub max_compression_ratio: Setting<u64>,
    /// How files are delivered: our multipart API, a stock cQube's presigned POST, or whichever the API speaks.
    pub protocol: Setting<Protocol>,
    /// Largest file one presigned POST takes (S3: 5 GiB; lower it to test the refusal).
    pub post_max_bytes: Setting<u64>,
}

impl fmt::Debug for EmitSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmitSettings").field("api", &self.api.value).field("token", &"***").finish_non_exhaustive()
    }
}

impl EmitSettings {
    /// Resolves `[emit]` under the flags a command has (`verify` has no tuning flags, `config show` none at all).
    pub fn resolve(flags: EmitFlags, config: &FileConfig) -> anyhow::Result<EmitSettings> {
        let mut l = Layers::new(config);
        let file = &config.emit;
        let token_file = l.relative(file.token_file.as_ref());
        let zip_limits = cqube_zip::check::Limits::default();
        let file_protocol = l.parse_file("[emit] protocol", file.protocol.as_ref());
        let settings = EmitSettings {
            api: l.pick_opt("emit.api", flags.api, "--api", file.api.clone()),
            token: l.pick_opt("emit.token", flags.token, "--token", None),
            token_file: l.pick_opt("emit.token_file", flags.token_file, "--token-file", token_file),
            s3: l.pick_opt("emit.s3", flags.s3, "--s3", file.s3.clone()),
            s3_endpoint: l.pick_opt("emit.s3_endpoint", flags.s3_endpoint, "--s3-endpoint", file.s3_endpoint.clone()),
            s3_path_style: l.pick(
                "emit.s3_path_style",
                flags.s3_path_style,
                "--s3-path-style",
                file.s3_path_style,
                false,
            ),
            jobs: l.pick("emit.jobs", flags.jobs, "--jobs", file.jobs, 2),
            parts_in_flight: l.pick(
                "emit.parts_in_flight",
                flags.parts_in_flight,
                "--parts-in-flight",
                file.parts_in_flight,
                4,
            ),
            part_size_bytes: l.pick(
                "emit.part_size_bytes",
                flags.part_size_bytes,
                "--part-size-bytes",
                file.part_size_bytes,
                DEFAULT_PART_SIZE_BYTES,
            ),
            max_retries: l.pick(
                "emit.max_retries",
                flags.max_retries,
                "--max-retries",
                file.max_retries,
                cqube_upload::RetryPolicy::default().max_retries,
            ),
            request_timeout_seconds: l.pick(
                "emit.request_timeout_seconds",
                flags.request_timeout_seconds,
                "--request-timeout-seconds",
                file.request_timeout_seconds,
                300,
            ),
            journal_dir: l.pick_opt("emit.journal_dir", flags.journal_dir, "--journal-dir", file.journal_dir.clone()),
            max_entry_bytes: l.pick(
                "emit.max_entry_bytes",
                flags.max_entry_bytes,
                "--max-entry-bytes",
                file.max_entry_bytes,
                zip_limits.max_entry_bytes,
            ),
            max_compression_ratio: l.pick(
                "emit.max_compression_ratio",
                flags.max_compression_ratio,
                "--max-compression-ratio",
                file.max_compression_ratio,
                zip_limits.max_ratio,
            ),
            protocol: l.pick("emit.protocol", flags.protocol, "--protocol", file_protocol, Protocol::Auto),
            post_max_bytes: l.pick("emit.post_max_bytes", None, "", file.post_max_bytes, cqube_upload::MAX_POST_BYTES),
        };
        if settings.post_max_bytes.value > cqube_upload::MAX_POST_BYTES {
            let s = &settings.post_max_bytes;
            l.problems.push(format!(
                "post_max_bytes must be at most 5 GiB (S3's POST limit), got {} ({})",
                s.value, s.origin
            ));
        }
        l.finish()?;
        let mut settings = settings;
        if settings.journal_dir.value.is_none() {
            settings.journal_dir.value = crate::config::state_dir().ok().map(|d| d.join("jobs"));
        }
        Ok(settings)
    }
}

/// `[daemon]`: when and where `cqube-emit daemon` runs and reports.
#[derive(Debug)]
pub struct DaemonSettings {
    pub timezone: Setting<String>,
    /// `None` only when there is no HOME or XDG_STATE_HOME for the default.
    pub status_file: Setting<Option<PathBuf>>,
    pub listen: Setting<Option<SocketAddr>>,
    pub stop_grace_seconds: Setting<u64>,
}

impl DaemonSettings {
    /// Resolves `[daemon]` under the daemon's flags (none for `config show`).
    pub fn resolve(flags: DaemonFlags, config: &FileConfig) -> anyhow::Result<DaemonSettings> {
        let mut l = Layers::new(config);
        let file = &config.daemon;
        let status_file = l.relative(file.status_file.as_ref());
        let mut settings = DaemonSettings {
            timezone: l.pick(
                "daemon.timezone",
                flags.timezone,
                "--timezone",
                file.timezone.clone(),
                "Asia/Kolkata".to_owned(),
            ),
            status_file: l.pick_opt("daemon.status_file", flags.status_file, "--status-file", status_file),
            listen: l.pick_opt("daemon.listen", flags.listen, "--listen", file.listen),
            stop_grace_seconds: l.pick(
                "daemon.stop_grace_seconds",
                flags.stop_grace_seconds,
                "--stop-grace-seconds",
                file.stop_grace_seconds,
                30,
            ),
        };
        l.finish()?;
        if settings.status_file.value.is_none() {
            settings.status_file.value = crate::config::state_dir().ok().map(|d| d.join("daemon-status.json"));
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_beats_env_beats_file_beats_default_and_bad_env_values_are_all_reported() {
        let mut config = FileConfig::default();
        config.path = Some(PathBuf::from("/etc/c.toml"));
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
        };
        let mut l = Layers::with_env(&config, env(&[("CQUBE_EMIT_JOBS", "7"), ("CQUBE_EMIT_API", "")]));
        assert_eq!(l.pick("emit.jobs", Some(3), "--jobs", Some(5), 2).origin, Origin::Flag("--jobs"));
        assert_eq!(
            l.pick("emit.jobs", None, "--jobs", Some(5), 2),
            Setting { value: 7, origin: Origin::Env("CQUBE_EMIT_JOBS") }
        );
        let api = l.pick_opt::<String>("emit.api", None, "--api", Some("http://x/data".into()));
        assert_eq!(api.origin.to_string(), "file /etc/c.toml", "an empty variable counts as unset");
        assert_eq!(l.pick::<u64>("emit.max_retries", None, "--max-retries", None, 8).origin, Origin::Default);
        l.finish().unwrap();

        let mut l =
            Layers::with_env(&config, env(&[("CQUBE_EMIT_JOBS", "many"), ("CQUBE_EMIT_STATUS_LISTEN", "here")]));
        assert_eq!(l.pick("emit.jobs", None, "--jobs", None, 2).value, 2);
        assert_eq!(l.pick_opt::<SocketAddr>("daemon.listen", None, "--listen", None).value, None);
        let err = l.finish().unwrap_err().to_string();
        assert!(err.contains("CQUBE_EMIT_JOBS=\"many\"") && err.contains("CQUBE_EMIT_STATUS_LISTEN"), "{err}");
    }
}
