//! `serve`, `token`, `user`, `emissions`: the emission API side. Flags and output only; the work is in
//! `cqube-server`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use cqube_server::auth::{NewToken, create_token, create_user, remove_user};
use cqube_server::{Database, ServerConfig};

use crate::exit::{ExitStatus, fail};
use crate::global::GlobalArgs;

/// Server-side subcommands.
#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Run the emission API (cQube-compatible endpoints, multipart uploads, acknowledgements).
    ///
    /// Prints the base URL (http://ADDR:PORT/data) on stdout once ready; stops on ctrl-c or SIGTERM after
    /// in-flight requests finish. With the embedded store (the default) its endpoint and credentials go to stderr.
    Serve(ServeArgs),
    /// Create, list or revoke API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage emission users, who trade a password for a short-lived token at POST /data/auth.
    #[command(subcommand)]
    User(UserCommand),
    /// List acknowledged emissions from the server's database.
    Emissions(EmissionsArgs),
    /// Copy a SQLite data directory's state into the PostgreSQL database replicas will share.
    ///
    /// Copies tokens (revoked ones too), users, uploads and acknowledgements from `--data-dir` into the empty
    /// database `--database-url` names (or CQUBE_EMIT_SERVER_DATABASE_URL, or `[server] database_url_file`);
    /// refuses a database that already holds any. Stop `serve` first, then start the replicas on the database.
    /// Example: cqube-emit migrate-state --data-dir /var/lib/cqube-emit --database-url postgresql://cqube@db/emit
    MigrateState(DataDirArg),
}

/// Where the server keeps its state and embedded store.
#[derive(Debug, Args)]
pub struct DataDirArg {
    /// Server data directory (SQLite state, embedded store). Default ./cqube-server-data (relative to the working
    /// directory). Config key `server.data_dir`, env CQUBE_EMIT_SERVER_DATA_DIR.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL state shared by server replicas, e.g. postgresql://cqube@db.internal/cqube_emit (default: SQLite
    /// in the data directory). Prefer the env var or `server.database_url_file`: the URL may carry a password.
    /// Config key `server.database_url`, env CQUBE_EMIT_SERVER_DATABASE_URL.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// `serve` flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8470). Config key `server.listen`, env CQUBE_EMIT_SERVER_LISTEN.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    #[command(flatten)]
    pub data_dir: DataDirArg,
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (only the token) on stdout; it is shown once and stored as a hash.
    Create {
        /// Unique name, shown in logs and acknowledgements.
        #[arg(long)]
        name: String,
        /// Data sources the token may emit, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        sources: Option<Vec<String>>,
        /// Lifetime: e.g. 90d, 12h, 30m, 3600s, or `never` (default: never).
        #[arg(long, default_value = "never")]
        expires: String,
        /// Allow admin-only endpoints and every bucket.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        data_dir: DataDirArg,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        data_dir: DataDirArg,
    },
    /// Revoke the live token with this name.
    Revoke {
        /// Token name.
        name: String,
        #[command(flatten)]
        data_dir: DataDirArg,
    },
}

/// `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create or replace an emission user; the password is read from stdin (first line) or
    /// CQUBE_EMIT_USER_PASSWORD. Replacing a user revokes the session tokens it signed in for, so a narrowed scope
    /// applies at once.
    Create {
        /// User name.
        name: String,
        /// Data sources the user's tokens may emit, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        sources: Option<Vec<String>>,
        #[command(flatten)]
        data_dir: DataDirArg,
    },
    /// Remove an emission user and revoke the session tokens it signed in for.
    Remove {
        /// User name.
        name: String,
        #[command(flatten)]
        data_dir: DataDirArg,
    },
}

/// `emissions` flags.
#[derive(Debug, Args)]
pub struct EmissionsArgs {
    /// Only this data source.
    #[arg(long)]
    pub source: Option<String>,
    /// Only emissions completed at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    pub since: Option<String>,
    #[command(flatten)]
    pub data_dir: DataDirArg,
}

/// Runs a server-side subcommand.
pub fn run(cmd: ServerCommand, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    if let ServerCommand::Serve(args) = cmd {
        let mut config = load_config(global, &args.data_dir)?;
        if let Some(listen) = args.listen {
            config.listen = listen;
        }
        return serve(config);
    }
    // The admin commands make a few state-store calls: one thread is plenty.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(admin(cmd, global))
}

async fn admin(cmd: ServerCommand, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    match cmd {
        ServerCommand::Serve(_) => unreachable!("serve runs its own runtime"),
        ServerCommand::Token(TokenCommand::Create { name, sources, expires, admin, data_dir }) => {
            let db = open_db(global, &data_dir).await?;
            let expires_in_seconds = parse_duration(&expires).map_err(|e| fail(ExitStatus::Usage, e))?;
            let (token, _) = create_token(&db, &NewToken { name, sources, expires_in_seconds, admin })
                .await
                .map_err(|e| fail(ExitStatus::Usage, e))?;
            writeln!(std::io::stdout(), "{token}")?;
            Ok(ExitStatus::Success)
        }
        ServerCommand::Token(TokenCommand::List { data_dir }) => {
            let db = open_db(global, &data_dir).await?;
            let mut out = std::io::stdout().lock();
            let tokens = db.tokens().await?;
            if global.json {
                for t in &tokens {
                    writeln!(out, "{}", serde_json::to_string(t)?)?;
                }
            } else {
                let header = ["name", "id", "admin", "state", "expires (UTC)", "last used (UTC)", "sources"];
                let rows = tokens.iter().map(|t| {
                    let state = if t.revoked_at.is_some() {
                        "revoked"
                    } else if t.expires_at.is_some_and(|e| e <= cqube_server::auth::now_ms()) {
                        "expired"
                    } else {
                        "live"
                    };
                    [
                        t.name.clone(),
                        format!("cqe_{}", t.id),
                        t.admin.to_string(),
                        state.to_owned(),
                        t.expires_at.map_or_else(|| "never".into(), minute),
                        t.last_used_at.map_or_else(|| "-".into(), minute),
                        t.sources.as_ref().map_or_else(|| "all".into(), |s| s.join(",")),
                    ]
                });
                let rows: Vec<_> = rows.collect();
                write_table(&mut out, &header.map(str::to_owned), &rows)?;
            }
            Ok(ExitStatus::Success)
        }
        ServerCommand::Token(TokenCommand::Revoke { name, data_dir }) => {
            let db = open_db(global, &data_dir).await?;
            if !db.revoke_token(&name, cqube_server::auth::now_ms()).await? {
                return Err(fail(ExitStatus::Usage, anyhow::anyhow!("no live token named {name:?}")));
            }
            Ok(ExitStatus::Success)
        }
        ServerCommand::User(UserCommand::Create { name, sources, data_dir }) => {
            let db = open_db(global, &data_dir).await?;
            let password = if let Ok(p) = std::env::var("CQUBE_EMIT_USER_PASSWORD") {
                p
            } else {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).context("reading the password from stdin")?;
                line.trim_end_matches(['\n', '\r']).to_owned()
            };
            create_user(&db, &name, &password, sources.as_deref()).await.map_err(|e| fail(ExitStatus::Usage, e))?;
            Ok(ExitStatus::Success)
        }
        ServerCommand::User(UserCommand::Remove { name, data_dir }) => {
            let db = open_db(global, &data_dir).await?;
            if !remove_user(&db, &name, cqube_server::auth::now_ms()).await? {
                return Err(fail(
                    ExitStatus::Usage,
                    anyhow::anyhow!(
                        "no emission user named {name:?}\n\nhint: the console's Tokens page lists the users"
                    ),
                ));
            }
            Ok(ExitStatus::Success)
        }
        ServerCommand::Emissions(args) => emissions(global, &args).await,
        ServerCommand::MigrateState(args) => migrate_state(global, &args).await,
    }
}

async fn emissions(global: &GlobalArgs, args: &EmissionsArgs) -> anyhow::Result<ExitStatus> {
    let db = open_db(global, &args.data_dir).await?;
    let since = match &args.since {
        None => None,
        Some(s) => Some(cqube_server::api::parse_since(s).ok_or_else(|| {
            fail(ExitStatus::Usage, anyhow::anyhow!("--since must be RFC 3339 or YYYY-MM-DD, got {s:?}"))
        })?),
    };
    let mut out = std::io::stdout().lock();
    let list = db
        .emissions(&cqube_server::db::EmissionFilter {
            source: args.source.as_deref(),
            since,
            ..cqube_server::db::EmissionFilter::default()
        })
        .await?;
    if !global.json {
        writeln!(out, "{:<24} {:<28} {:>12} {:>10} {:<20} key", "completed", "source", "bytes", "rows", "token")?;
    }
    for e in &list {
        if global.json {
            let json = serde_json::json!({
                "emission_id": e.id, "upload_id": e.upload_id, "token_name": e.token_name, "source": e.source,
                "bucket": e.bucket, "key": e.key, "archived_key": e.archived_key, "bytes": e.bytes, "rows": e.rows,
                "sha256": e.sha256, "started_at": time(e.started_at), "completed_at": time(e.completed_at),
                "quality": e.quality,
            });
            writeln!(out, "{json}")?;
        } else {
            writeln!(
                out,
                "{:<24} {:<28} {:>12} {:>10} {:<20} {}",
                time(e.completed_at),
                e.source,
                e.bytes,
                e.rows,
                e.token_name,
                e.key
            )?;
        }
    }
    Ok(ExitStatus::Success)
}

async fn migrate_state(global: &GlobalArgs, args: &DataDirArg) -> anyhow::Result<ExitStatus> {
    let config = load_config(global, args)?;
    let usage = |message: String| fail(ExitStatus::Usage, anyhow::anyhow!(message));
    if config.database_url().map_err(|e| fail(ExitStatus::Usage, e))?.is_none() {
        return Err(usage("give the PostgreSQL database to copy into: --database-url postgresql://...".into()));
    }
    let sqlite = config.data_dir.join(cqube_server::db::DB_FILE);
    if !sqlite.exists() {
        return Err(usage(format!(
            "{} does not exist; point --data-dir at the old server's directory",
            sqlite.display()
        )));
    }
    let from = Database::open(None, &config.data_dir).await.map_err(|e| fail(ExitStatus::Usage, e))?;
    let to = open_db(global, args).await?;
    let copied = cqube_server::db::copy_state(&from, &to).await.map_err(|e| fail(ExitStatus::Usage, e))?;
    let mut out = std::io::stdout().lock();
    if global.json {
        writeln!(out, "{}", serde_json::to_string(&copied)?)?;
    } else {
        writeln!(
            out,
            "copied {} tokens, {} users, {} uploads and {} emissions from {} into {}",
            copied.tokens,
            copied.users,
            copied.uploads,
            copied.emissions,
            sqlite.display(),
            to.describe()
        )?;
    }
    Ok(ExitStatus::Success)
}

/// A table whose columns are as wide as their widest cell, so no value runs into the next column.
fn write_table<const N: usize>(
    out: &mut impl Write,
    header: &[String; N],
    rows: &[[String; N]],
) -> std::io::Result<()> {
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(header).chain(rows) {
        let cells: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}

/// A time to the minute, for tables (`--json` keeps milliseconds).
fn minute(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().format("%Y-%m-%d %H:%M").to_string()
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn load_config(global: &GlobalArgs, data_dir: &DataDirArg) -> anyhow::Result<ServerConfig> {
    let file = global.config.clone().or_else(|| {
        let local = PathBuf::from("cqube-emit.toml");
        local.exists().then_some(local)
    });
    let mut config = ServerConfig::load(file.as_deref(), std::env::vars()).map_err(|e| fail(ExitStatus::Usage, e))?;
    if let Some(dir) = &data_dir.data_dir {
        config.data_dir.clone_from(dir);
    }
    if let Some(url) = &data_dir.database_url {
        config.database_url =
            Some(cqube_server::db::DatabaseUrl::parse(url).map_err(|e| fail(ExitStatus::Usage, anyhow::anyhow!(e)))?);
        config.database_url_file = None;
    }
    config.validate().map_err(|e| fail(ExitStatus::Usage, e))?;
    Ok(config)
}

async fn open_db(global: &GlobalArgs, data_dir: &DataDirArg) -> anyhow::Result<Database> {
    let config = load_config(global, data_dir)?;
    config.open_database().await.map_err(|e| match e {
        cqube_server::Error::Db { .. } => fail(
            ExitStatus::Transient,
            anyhow::anyhow!("{e}; check that PostgreSQL runs at the URL's host and port and that the database exists"),
        ),
        other => fail(ExitStatus::Usage, other),
    })
}

fn serve(config: ServerConfig) -> anyhow::Result<ExitStatus> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async {
        let server = cqube_server::Server::bind(config).await.map_err(|e| match e {
            cqube_server::Error::Config(_) => fail(ExitStatus::Usage, e),
            other => anyhow::Error::new(other),
        })?;
        if let Some(store) = server.state().storage().embedded_access() {
            // The secret stays in the credentials file: stderr is often a log.
            let credentials = server.state().config().data_dir.join(cqube_server::storage::EMBEDDED_CREDENTIALS_FILE);
            writeln!(
                std::io::stderr(),
                "embedded store: endpoint {} region {}; credentials in {} (e.g. AWS_SHARED_CREDENTIALS_FILE={} \
                 AWS_PROFILE={} aws --endpoint-url {} s3 ls s3://{} --recursive)",
                store.endpoint_url,
                store.region,
                credentials.display(),
                credentials.display(),
                cqube_server::storage::EMBEDDED_PROFILE,
                store.endpoint_url,
                server.state().config().buckets.emission,
            )?;
        }
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{}", server.state().base_url())?;
        stdout.flush()?;
        server.run(cqube_server::shutdown_signal()).await?;
        Ok(ExitStatus::Success)
    })
}

/// `90d`, `12h`, `30m`, `45s` or `never`, in seconds.
fn parse_duration(text: &str) -> anyhow::Result<Option<u64>> {
    if text == "never" {
        return Ok(None);
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 =
        number.parse().with_context(|| format!("--expires {text:?}: expected e.g. 90d, 12h, 30m, 45s or never"))?;
    let scale = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" | "" => 1,
        _ => anyhow::bail!("--expires {text:?}: unit must be d, h, m or s"),
    };
    Ok(Some(n.saturating_mul(scale)))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90d").unwrap(), Some(90 * 86_400));
        assert_eq!(parse_duration("12h").unwrap(), Some(43_200));
        assert_eq!(parse_duration("never").unwrap(), None);
        assert!(parse_duration("3w").is_err());
        assert!(parse_duration("d").is_err());
    }
}
