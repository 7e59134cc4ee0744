//! Server configuration: the `[server]` table of `cqube-emit.toml`, then `CQUBE_EMIT_*` env vars, then flags.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;

/// Port `serve` listens on when neither the config nor `--listen` names one.
pub const DEFAULT_PORT: u16 = 8470;

/// Everything `serve` and the admin subcommands need; built once, validated, then trusted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the API listens on.
    pub listen: SocketAddr,
    /// Holds `server.sqlite3` (tokens, users, emissions) and, for the embedded store, `store/`.
    pub data_dir: PathBuf,
    /// PostgreSQL URL of a state store that several replicas share; without it the state is SQLite in
    /// `data_dir`. Prefer `database_url_file` or the env var: the URL carries a password.
    pub database_url: Option<crate::db::DatabaseUrl>,
    /// File holding `database_url` (first line), so the password stays out of the config.
    pub database_url_file: Option<PathBuf>,
    /// Serve `/metrics` on this address instead of the API's (e.g. a private interface); the API then has none.
    pub metrics_listen: Option<SocketAddr>,
    /// Base URL clients reach the server at (for URLs the server hands out); defaults to `http://<listen>`.
    pub public_url: Option<String>,
    /// Lifetime of presigned URLs and POST policies.
    pub presign_expiry_seconds: u64,
    /// How long a multipart upload may stay open before its id is refused (and the sweeper aborts it).
    pub upload_expiry_seconds: u64,
    /// How often the sweeper settles abandoned uploads (it also runs at start).
    pub sweep_interval_seconds: u64,
    /// Lifetime of tokens issued by `POST /data/auth`.
    pub auth_token_ttl_seconds: u64,
    /// Largest file a presigned POST (`upload-url`) accepts.
    pub max_post_object_bytes: u64,
    /// Largest JSON or form request body the API reads.
    pub max_request_body_bytes: usize,
    /// Copy each acknowledged emission to the input bucket under cQube's archive key, then delete it.
    pub archive: bool,
    /// Serve the multipart endpoints (`/data/uploads*`). `false` makes the API behave like stock cQube's (only
    /// `upload-url`'s presigned POST), e.g. to test emitters against it.
    pub multipart: bool,
    /// JSON file of catalog overrides (same shape as `datasources.json`).
    pub catalog_overrides: Option<PathBuf>,
    /// Bucket names.
    pub buckets: Buckets,
    /// Where objects are stored.
    pub store: StoreConfig,
    /// Serve HTTPS with these PEM files when both are set.
    pub tls: Option<TlsConfig>,
    /// Serve the web console (docs/console.md).
    pub console: bool,
    /// Where the console is mounted: `/` and one or more path segments, no trailing slash.
    pub console_path: String,
    /// IANA time zone the console shows times in, e.g. `Asia/Kolkata`.
    pub console_time_zone: String,
    /// Lifetime of a console sign-in.
    pub console_session_seconds: u64,
}

/// The three cQube buckets.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Buckets {
    /// cQube's input bucket (archived emissions).
    pub input: String,
    /// cQube's output bucket.
    pub output: String,
    /// The bucket emitters write to.
    pub emission: String,
}

impl Default for Buckets {
    fn default() -> Buckets {
        Buckets { input: "cqube-input".into(), output: "cqube-output".into(), emission: "cqube-emission".into() }
    }
}

impl Buckets {
    /// The configured name for a role name (`input`, `output`, `emission`) or a configured bucket name.
    pub fn resolve(&self, name: &str) -> Option<&str> {
        [("input", &self.input), ("output", &self.output), ("emission", &self.emission)]
            .into_iter()
            .find(|(role, bucket)| *role == name || bucket.as_str() == name)
            .map(|(_, bucket)| bucket.as_str())
    }

    /// All three names.
    pub fn all(&self) -> [&str; 3] {
        [&self.input, &self.output, &self.emission]
    }
}

/// Object storage: the embedded store (default) or any S3-compatible endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StoreConfig {
    /// s3s-fs on a loopback port, files under `<data_dir>/store`, credentials generated and kept in the database.
    Embedded {
        /// Where the store listens; port 0 reuses the previous run's port when it is free.
        #[serde(default = "loopback_any_port")]
        listen: SocketAddr,
    },
    /// Any S3-compatible service through aws-sdk-s3.
    S3(S3Config),
}

impl Default for StoreConfig {
    fn default() -> StoreConfig {
        StoreConfig::Embedded { listen: loopback_any_port() }
    }
}

fn loopback_any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Connection settings for an S3-compatible service.
#[derive(Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    /// e.g. `http://127.0.0.1:9000`; `None` means AWS itself.
    pub endpoint_url: Option<String>,
    /// Signing region.
    pub region: String,
    /// Path-style addressing (`endpoint/bucket/key`), needed by MinIO, moto and most non-AWS stores.
    pub force_path_style: bool,
    /// Access key id.
    pub access_key_id: String,
    /// Secret key; prefer `secret_access_key_file` or `CQUBE_EMIT_S3_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<String>,
    /// File holding the secret key.
    pub secret_access_key_file: Option<PathBuf>,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint_url", &self.endpoint_url)
            .field("region", &self.region)
            .field("force_path_style", &self.force_path_style)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "***"))
            .field("secret_access_key_file", &self.secret_access_key_file)
            .finish()
    }
}

/// PEM certificate chain and private key for HTTPS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain (PEM).
    pub cert_file: PathBuf,
    /// Private key (PEM).
    pub key_file: PathBuf,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            data_dir: PathBuf::from("cqube-server-data"),
            database_url: None,
            database_url_file: None,
            metrics_listen: None,
            public_url: None,
            presign_expiry_seconds: 3600,
            upload_expiry_seconds: 7 * 24 * 3600,
            sweep_interval_seconds: 3600,
            auth_token_ttl_seconds: 3600,
            max_post_object_bytes: 5 * 1024 * 1024 * 1024,
            max_request_body_bytes: 1024 * 1024,
            archive: false,
            multipart: true,
            catalog_overrides: None,
            buckets: Buckets::default(),
            store: StoreConfig::default(),
            tls: None,
            console: true,
            console_path: "/console".into(),
            console_time_zone: "UTC".into(),
            console_session_seconds: 8 * 3600,
        }
    }
}

/// Env vars that override config keys, with the key each one sets (documented in docs/server.md).
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("CQUBE_EMIT_SERVER_LISTEN", "listen"),
    ("CQUBE_EMIT_SERVER_DATA_DIR", "data_dir"),
    ("CQUBE_EMIT_SERVER_DATABASE_URL", "database_url"),
    ("CQUBE_EMIT_SERVER_DATABASE_URL_FILE", "database_url_file"),
    ("CQUBE_EMIT_SERVER_PUBLIC_URL", "public_url"),
    ("CQUBE_EMIT_SERVER_METRICS_LISTEN", "metrics_listen"),
    ("CQUBE_EMIT_SERVER_PRESIGN_EXPIRY_SECONDS", "presign_expiry_seconds"),
    ("CQUBE_EMIT_SERVER_ARCHIVE", "archive"),
    ("CQUBE_EMIT_SERVER_MULTIPART", "multipart"),
    ("CQUBE_EMIT_SERVER_UPLOAD_EXPIRY_SECONDS", "upload_expiry_seconds"),
    ("CQUBE_EMIT_SERVER_SWEEP_INTERVAL_SECONDS", "sweep_interval_seconds"),
    ("CQUBE_EMIT_SERVER_CONSOLE", "console"),
    ("CQUBE_EMIT_SERVER_CONSOLE_TIME_ZONE", "console_time_zone"),
    ("CQUBE_EMIT_BUCKET_INPUT", "buckets.input"),
    ("CQUBE_EMIT_BUCKET_OUTPUT", "buckets.output"),
    ("CQUBE_EMIT_BUCKET_EMISSION", "buckets.emission"),
    ("CQUBE_EMIT_S3_ENDPOINT_URL", "store.endpoint_url"),
    ("CQUBE_EMIT_S3_REGION", "store.region"),
    ("CQUBE_EMIT_S3_ACCESS_KEY_ID", "store.access_key_id"),
    ("CQUBE_EMIT_S3_SECRET_ACCESS_KEY", "store.secret_access_key"),
    ("CQUBE_EMIT_S3_FORCE_PATH_STYLE", "store.force_path_style"),
];

impl ServerConfig {
    /// Reads the `[server]` table of a config file (other tables belong to other subcommands), then applies
    /// env overrides from `env` (pass `std::env::vars()`); a missing file means defaults.
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<ServerConfig, Error> {
        let mut table = toml::Table::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|source| Error::Io { what: format!("reading config file {}", path.display()), source })?;
            let mut doc: toml::Table = text
                .parse()
                .map_err(|e: toml::de::Error| Error::Config(vec![format!("{}: {}", path.display(), e.message())]))?;
            if let Some(server) = doc.remove("server") {
                match server {
                    toml::Value::Table(t) => table = t,
                    _ => return Err(Error::Config(vec![format!("{}: `server` must be a table", path.display())])),
                }
            }
        }
        let env: Vec<(String, String)> = env.into_iter().collect();
        for (var, key) in ENV_OVERRIDES {
            let Some((_, value)) = env.iter().find(|(k, _)| k == var) else { continue };
            if key.starts_with("store.") {
                // Pointing the server at an S3 endpoint through env alone selects the s3 store.
                let store = table.entry("store").or_insert_with(|| toml::Value::Table(toml::Table::new()));
                if let toml::Value::Table(t) = store {
                    t.entry("type").or_insert_with(|| toml::Value::String("s3".into()));
                }
            }
            set_path(&mut table, key, env_value(value));
        }
        let config: ServerConfig = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| Error::Config(vec![format!("[server]: {}", e.message())]))?;
        Ok(config)
    }

    /// Every problem with the values, reported at once.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        if !(1..=7 * 24 * 3600).contains(&self.presign_expiry_seconds) {
            problems.push(format!(
                "presign_expiry_seconds must be 1..=604800 (SigV4's limit), got {}",
                self.presign_expiry_seconds
            ));
        }
        if self.upload_expiry_seconds == 0 {
            problems.push("upload_expiry_seconds must be positive".into());
        }
        if self.sweep_interval_seconds == 0 {
            problems.push("sweep_interval_seconds must be positive".into());
        }
        if self.auth_token_ttl_seconds == 0 {
            problems.push("auth_token_ttl_seconds must be positive".into());
        }
        if self.max_post_object_bytes > 5 * 1024 * 1024 * 1024 {
            problems.push("max_post_object_bytes must be at most 5 GiB (S3's limit for one POST)".into());
        }
        let names = self.buckets.all();
        for (i, name) in names.iter().enumerate() {
            if name.len() < 3
                || name.len() > 63
                || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            {
                problems.push(format!("bucket name {name:?}: 3-63 lowercase letters, digits, '-' or '.'"));
            }
            if names[..i].contains(name) {
                problems.push(format!("bucket name {name:?} is used for two roles"));
            }
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            problems.push(format!("public_url must start with http:// or https://, got {url:?}"));
        }
        if self.database_url.is_some() && self.database_url_file.is_some() {
            problems.push("database_url and database_url_file: give one, not both".into());
        }
        let path = &self.console_path;
        if !path.starts_with('/')
            || path.ends_with('/')
            || ["/data", "/healthz", "/readyz", "/metrics", "/openapi.json"]
                .iter()
                .any(|api| path == api || path.starts_with(&format!("{api}/")))
            || path.split('/').skip(1).any(|segment| segment.is_empty() || segment.starts_with('.'))
            || !path.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b))
        {
            problems.push(format!(
                "console_path must be `/` then letters, digits, '-', '_', '.' or '/', without empty or dot segments, \
                 outside the API's paths (/data, /healthz, /readyz, /metrics, /openapi.json), got {path:?}"
            ));
        }
        if self.console_time_zone.parse::<chrono_tz::Tz>().is_err() {
            problems.push(format!(
                "console_time_zone must be an IANA time zone name such as \"Asia/Kolkata\", got {:?}",
                self.console_time_zone
            ));
        }
        if self.console_session_seconds == 0 {
            problems.push("console_session_seconds must be positive".into());
        }
        if let StoreConfig::S3(s3) = &self.store {
            if s3.access_key_id.is_empty() {
                problems.push("store.access_key_id is required for type = \"s3\"".into());
            }
            if s3.secret_access_key.is_none() && s3.secret_access_key_file.is_none() {
                problems.push("store.secret_access_key or store.secret_access_key_file is required".into());
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(Error::Config(problems)) }
    }

    /// Base URL of the API as clients should use it, without a trailing slash and without `/data`.
    pub fn public_base(&self, bound: SocketAddr) -> String {
        if let Some(url) = &self.public_url {
            url.trim_end_matches('/').to_owned()
        } else {
            let scheme = if self.tls.is_some() { "https" } else { "http" };
            format!("{scheme}://{bound}")
        }
    }
}

impl ServerConfig {
    /// The state store's URL from `database_url` or its file; `None` means SQLite in `data_dir`.
    pub fn database_url(&self) -> Result<Option<crate::db::DatabaseUrl>, Error> {
        let text = match (&self.database_url, &self.database_url_file) {
            (Some(url), _) => return Ok(Some(url.clone())),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|source| Error::Io { what: format!("reading database_url_file {}", path.display()), source })?
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            (None, None) => return Ok(None),
        };
        crate::db::DatabaseUrl::parse(&text).map(Some).map_err(|e| Error::Config(vec![e]))
    }

    /// Opens the state store this configuration names.
    pub async fn open_database(&self) -> Result<crate::Database, Error> {
        crate::Database::open(self.database_url()?.as_ref(), &self.data_dir).await
    }
}

impl S3Config {
    /// The secret key from the config value or its file.
    pub fn secret(&self) -> Result<String, Error> {
        if let Some(secret) = &self.secret_access_key {
            return Ok(secret.clone());
        }
        let path =
            self.secret_access_key_file.as_ref().ok_or_else(|| Error::Config(vec!["no S3 secret key".into()]))?;
        std::fs::read_to_string(path)
            .map(|s| s.trim().to_owned())
            .map_err(|source| Error::Io { what: format!("reading {}", path.display()), source })
    }
}

/// Env values are strings; numbers and booleans are recognised so `CQUBE_EMIT_SERVER_ARCHIVE=true` works.
fn env_value(value: &str) -> toml::Value {
    if let Ok(b) = value.parse::<bool>() {
        toml::Value::Boolean(b)
    } else if let Ok(n) = value.parse::<i64>() {
        toml::Value::Integer(n)
    } else {
        toml::Value::String(value.to_owned())
    }
}

fn set_path(table: &mut toml::Table, dotted: &str, value: toml::Value) {
    match dotted.split_once('.') {
        None => {
            table.insert(dotted.to_owned(), value);
        }
        Some((head, rest)) => {
            let entry = table.entry(head).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(inner) = entry {
                set_path(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_are_valid_and_embedded() {
        let config = ServerConfig::load(None, env(&[])).unwrap();
        config.validate().unwrap();
        assert!(matches!(config.store, StoreConfig::Embedded { .. }));
        assert_eq!(config.listen.port(), DEFAULT_PORT);
    }

    #[test]
    fn file_then_env_override() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cqube-emit.toml");
        std::fs::write(
            &path,
            "[emit]\nwhatever = 1\n[server]\nlisten = \"127.0.0.1:9999\"\narchive = false\n[server.buckets]\nemission = \"em\"\n",
        )
        .unwrap();
        let config = ServerConfig::load(
            Some(&path),
            env(&[("CQUBE_EMIT_SERVER_ARCHIVE", "true"), ("CQUBE_EMIT_S3_ENDPOINT_URL", "http://127.0.0.1:1")]),
        )
        .unwrap();
        assert_eq!(config.listen.port(), 9999);
        assert!(config.archive);
        assert_eq!(config.buckets.emission, "em");
        let StoreConfig::S3(s3) = &config.store else { panic!("env endpoint selects s3") };
        assert_eq!(s3.endpoint_url.as_deref(), Some("http://127.0.0.1:1"));
        // s3 without credentials and a too-short bucket name: both reported
        let Err(Error::Config(problems)) = config.validate() else { panic!("invalid") };
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[server]\nlisten_addr = \"x\"\n").unwrap();
        let err = ServerConfig::load(Some(&path), env(&[])).unwrap_err();
        assert!(err.to_string().contains("listen_addr"), "{err}");
    }

    #[test]
    fn console_settings_are_checked() {
        let config = ServerConfig {
            console_path: "/console/".into(),
            console_time_zone: "Asia/Kolkatta".into(),
            console_session_seconds: 0,
            ..ServerConfig::default()
        };
        let Err(Error::Config(problems)) = config.validate() else { panic!("invalid") };
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[1].contains("Asia/Kolkatta"), "{problems:?}");
        let config = ServerConfig {
            console_path: "/ops/console".into(),
            console_time_zone: "Asia/Kolkata".into(),
            ..ServerConfig::default()
        };
        config.validate().unwrap();
        assert!(ServerConfig { console_path: "/data/console".into(), ..config }.validate().is_err());
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let s3 = S3Config { secret_access_key: Some("hunter2".into()), ..S3Config::default() };
        assert!(!format!("{s3:?}").contains("hunter2"));
    }

    #[test]
    fn buckets_resolve_by_role_or_name() {
        let b = Buckets::default();
        assert_eq!(b.resolve("emission"), Some("cqube-emission"));
        assert_eq!(b.resolve("cqube-input"), Some("cqube-input"));
        assert_eq!(b.resolve("other"), None);
    }
}
