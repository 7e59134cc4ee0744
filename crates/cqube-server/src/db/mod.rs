//! The server's state (tokens, users, uploads, reserved keys, emissions, settings) behind one seam,
//! [`StateStore`], with two implementations chosen by URL: SQLite in the data directory (the embedded default, one
//! process) and PostgreSQL (`database_url = "postgresql://..."`, shared by replicas).
//!
//! What replicas rely on lives in the database, never in a process: unique keys (`key_slots`, `reserved_keys`),
//! one acknowledgement per upload (`emissions.upload_id` is unique; the loser of a race reads the winner's row),
//! and [`StateStore::lock`], which serializes completing, aborting and sweeping one upload across processes.

mod postgres;
mod sqlite;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use crate::Error;

pub use sqlite::{DB_FILE, RESERVE_FILE};

/// A handle on the state store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Database(Arc<dyn StateStore>);

impl std::ops::Deref for Database {
    type Target = dyn StateStore;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl Database {
    /// Opens the store `url` names (`postgresql://` or `postgres://`), or without one the SQLite file in
    /// `data_dir`; creates or migrates the schema (idempotent, also when replicas start at once).
    pub async fn open(url: Option<&DatabaseUrl>, data_dir: &Path) -> Result<Database, Error> {
        match url {
            None => Ok(Database(Arc::new(sqlite::Sqlite::open(data_dir)?))),
            Some(url) => Ok(Database(Arc::new(postgres::Postgres::connect(url).await?))),
        }
    }
}

/// A PostgreSQL URL whose password never reaches a log, an error or `Debug` output.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct DatabaseUrl(String);

impl TryFrom<String> for DatabaseUrl {
    type Error = String;

    fn try_from(url: String) -> Result<DatabaseUrl, String> {
        DatabaseUrl::parse(&url)
    }
}

impl DatabaseUrl {
    /// Checks the scheme; the rest is checked when connecting.
    pub fn parse(url: &str) -> Result<DatabaseUrl, String> {
        let url = url.trim();
        if url.starts_with("postgresql://") || url.starts_with("postgres://") {
            Ok(DatabaseUrl(url.to_owned()))
        } else {
            Err("database_url must start with postgresql:// (without it the server keeps its state in SQLite in \
                 data_dir)"
                .into())
        }
    }

    /// The URL itself, for connecting only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.0.split_once("://") else { return "***".into() };
        let (authority, tail) = rest.find(['/', '?']).map_or((rest, ""), |i| rest.split_at(i));
        let authority = match authority.rsplit_once('@') {
            Some((user_info, host)) => match user_info.split_once(':') {
                Some((user, _)) => format!("{user}:***@{host}"),
                None => authority.to_owned(),
            },
            None => authority.to_owned(),
        };
        // A password may also travel as a query parameter.
        let (path, query) = tail.split_once('?').map_or((tail, None), |(p, q)| (p, Some(q)));
        let query = query.map_or_else(String::new, |q| {
            let pairs: Vec<&str> =
                q.split('&').map(|kv| if kv.starts_with("password=") { "password=***" } else { kv }).collect();
            format!("?{}", pairs.join("&"))
        });
        format!("{scheme}://{authority}{path}{query}")
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A lock held across processes until dropped (see [`StateStore::lock`]).
pub struct ClusterLock(#[allow(dead_code, reason = "held for its Drop")] Option<Box<dyn Send + Sync>>);

impl std::fmt::Debug for ClusterLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterLock")
    }
}

/// Connections of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// Handed out.
    pub in_use: u32,
    /// Open and free.
    pub idle: u32,
    /// The most it opens.
    pub max: u32,
}

/// Everything the server keeps. Times are Unix milliseconds.
#[async_trait]
pub trait StateStore: Send + Sync + std::fmt::Debug {
    /// Which store this is, safe to log (`sqlite:PATH` or the URL without its password).
    fn describe(&self) -> String;
    /// One round trip, for `/readyz`.
    async fn ping(&self) -> Result<(), Error>;
    /// The connection pool's use, for `/metrics`; `None` for a store without a pool.
    fn pool_use(&self) -> Option<PoolUse> {
        None
    }
    /// Holds `name` across every process on this store until the returned lock drops; `None` when `wait` is
    /// false and another process holds it. SQLite serves one process, which holds its own in-process locks.
    async fn lock(&self, name: &str, wait: bool) -> Result<Option<ClusterLock>, Error>;

    /// A stored setting.
    async fn setting(&self, name: &str) -> Result<Option<String>, Error>;
    /// Stores a setting, replacing it.
    async fn set_setting(&self, name: &str, value: &str) -> Result<(), Error>;
    /// The stored setting, storing `value` first when there is none: replicas starting at once agree on one.
    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String, Error>;

    /// Inserts a token; fails when a live token already has the name.
    async fn insert_token(&self, t: &TokenRecord) -> Result<(), Error>;
    /// The token with this public id.
    async fn token_by_id(&self, id: &str) -> Result<Option<TokenRecord>, Error>;
    /// All tokens, oldest first.
    async fn tokens(&self) -> Result<Vec<TokenRecord>, Error>;
    /// Marks the live token with this name revoked; `false` when there is none.
    async fn revoke_token(&self, name: &str, now: i64) -> Result<bool, Error>;
    /// Records a successful authentication, at most once a minute per token: one write per request would
    /// serialize every request on the database and fail them all on a full disk.
    async fn touch_token(&self, id: &str, now: i64) -> Result<(), Error>;

    /// Creates or replaces an emission user.
    async fn upsert_user(
        &self,
        name: &str,
        password_hash: &str,
        sources: Option<&[String]>,
        now: i64,
    ) -> Result<(), Error>;
    /// A user's password hash and scope.
    async fn user(&self, name: &str) -> Result<Option<UserRecord>, Error>;
    /// Every user: name, password hash, scope, creation time; by name.
    async fn users(&self) -> Result<Vec<(String, String, Option<Vec<String>>, i64)>, Error>;
    /// Removes an emission user; `false` when there is none of that name. Tokens it signed in for stay: revoke
    /// them apart.
    async fn delete_user(&self, name: &str) -> Result<bool, Error>;

    /// The next key slot (unix second, sequence within it) for `filename` in `bucket`, in one statement whatever
    /// came before: `now` with sequence 0 once the clock has passed the last slot's second, else that second's next
    /// sequence, else, past `per_second` sequences, the following second.
    async fn next_key_slot(&self, bucket: &str, filename: &str, now: i64, per_second: u32)
    -> Result<(i64, u32), Error>;
    /// Reserves `key` in `bucket`; `false` when another request already holds it.
    async fn reserve_key(&self, bucket: &str, key: &str) -> Result<bool, Error>;

    /// Records a started multipart upload.
    async fn insert_upload(&self, u: &UploadRecord) -> Result<(), Error>;
    /// The upload with this id.
    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>, Error>;
    /// Uploads in `state` (any when `None`), or with `expired_at` open ones whose expiry is at or before it;
    /// oldest first, at most `limit`.
    async fn uploads(
        &self,
        state: Option<&str>,
        expired_at: Option<i64>,
        limit: u32,
    ) -> Result<Vec<UploadRecord>, Error>;
    /// Whether any upload row holds this store upload id.
    async fn knows_store_upload(&self, store_upload_id: &str) -> Result<bool, Error>;
    /// Moves an open upload to `completing` and keeps the completion request (JSON) until the outcome is known;
    /// `false` when the upload was not open.
    async fn begin_completion(&self, id: &str, request: &str, now: i64) -> Result<bool, Error>;
    /// The completion request kept for a `completing` upload.
    async fn completion_request(&self, id: &str) -> Result<Option<String>, Error>;
    /// Sets an upload's state, dropping any kept completion request; on SQLite on a full disk too (using the
    /// reserve).
    async fn set_upload_state(&self, id: &str, state: &str) -> Result<(), Error>;

    /// Stores an emission and marks its upload completed, atomically, and returns the stored record: when the
    /// upload already has one (another replica won a race), that one, so every caller acknowledges the same.
    async fn insert_emission(&self, e: &EmissionRecord) -> Result<EmissionRecord, Error>;
    /// Records where an emission was archived.
    async fn set_archived_key(&self, emission_id: &str, archived_key: &str) -> Result<(), Error>;
    /// The emission that completed this upload.
    async fn emission_for_upload(&self, upload_id: &str) -> Result<Option<EmissionRecord>, Error>;
    /// The emission with this id.
    async fn emission(&self, id: &str) -> Result<Option<EmissionRecord>, Error>;
    /// Emissions matching `filter`, newest first.
    async fn emissions(&self, filter: &EmissionFilter<'_>) -> Result<Vec<EmissionRecord>, Error>;
}

/// A stored token (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenRecord {
    /// Public id, the visible part after `cqe_`.
    pub id: String,
    /// Unique name among live tokens.
    pub name: String,
    /// Data sources it may emit; `None` means all.
    pub sources: Option<Vec<String>>,
    /// May use admin-only endpoints.
    pub admin: bool,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds; `None` never expires.
    pub expires_at: Option<i64>,
    /// Unix milliseconds of the last authenticated request.
    pub last_used_at: Option<i64>,
    /// Unix milliseconds of revocation.
    pub revoked_at: Option<i64>,
    #[serde(skip)]
    pub(crate) hash: Vec<u8>,
}

/// An emission user: argon2 password hash (PHC string) and the sources they may emit (`None`: all).
pub type UserRecord = (String, Option<Vec<String>>);

/// A multipart upload the server started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    /// Our id.
    pub id: String,
    /// Id of the token that started it: only that token may continue it (a later token of the same name may not).
    pub token_id: String,
    /// Name of that token, for people reading lists.
    pub token_name: String,
    /// Data source.
    pub source: String,
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// The store's multipart upload id.
    pub store_upload_id: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub expires_at: i64,
    /// One of the `upload_state` constants.
    pub state: String,
}

/// The states of an upload: `open` → `completing` (recorded before the store is asked) → `completed`, or back to
/// `open` when the store refuses the part list; `failed` when the store lost it; `aborted` at the end.
pub mod upload_state {
    /// Parts may be sent.
    pub const OPEN: &str = "open";
    /// The store was asked to complete it; the request is kept until the outcome is known.
    pub const COMPLETING: &str = "completing";
    /// Acknowledged (an emission row exists).
    pub const COMPLETED: &str = "completed";
    /// The store lost the upload before the object existed; its parts are being removed.
    pub const FAILED: &str = "failed";
    /// Aborted in the store.
    pub const ABORTED: &str = "aborted";
    /// Every state.
    pub const ALL: &[&str] = &[OPEN, COMPLETING, COMPLETED, FAILED, ABORTED];
}

/// A completed emission as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmissionRecord {
    /// Id.
    pub id: String,
    /// Upload it completed.
    pub upload_id: Option<String>,
    /// Token name.
    pub token_name: String,
    /// Data source.
    pub source: String,
    /// Bucket of `key`.
    pub bucket: String,
    /// Emission key.
    pub key: String,
    /// Input-bucket key when archived.
    pub archived_key: Option<String>,
    /// Object size.
    pub bytes: u64,
    /// Rows reported.
    pub rows: u64,
    /// SHA-256 reported.
    pub sha256: String,
    /// Unix milliseconds.
    pub started_at: i64,
    /// Unix milliseconds.
    pub completed_at: i64,
    /// How far an incremental source's rows reach.
    pub watermark: Option<cqube_protocol::Watermark>,
    /// What the emitter's checks found, when it said.
    pub quality: Option<cqube_protocol::Quality>,
}

/// Which emissions [`StateStore::emissions`] lists; every `None` matches all.
#[derive(Debug, Default, Clone, Copy)]
pub struct EmissionFilter<'a> {
    /// Only this token's.
    pub token_name: Option<&'a str>,
    /// Only this data source's.
    pub source: Option<&'a str>,
    /// Only those completed at or after this time (Unix milliseconds).
    pub since: Option<i64>,
    /// Only those carrying a watermark on this column.
    pub watermark_column: Option<&'a str>,
    /// Only the one that completed this upload.
    pub upload_id: Option<&'a str>,
    /// At most this many (the newest).
    pub limit: Option<u32>,
    /// Only these data sources (a scoped token's).
    pub scope: Option<&'a [String]>,
}

/// What [`copy_state`] moved.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Copied {
    /// Tokens, revoked ones included.
    pub tokens: usize,
    /// Emission users.
    pub users: usize,
    /// Uploads in any state.
    pub uploads: usize,
    /// Acknowledged emissions.
    pub emissions: usize,
}

/// Copies tokens (with their revocation and last use), users, uploads (with kept completion requests) and
/// acknowledgements from one store into another that holds none yet, e.g. a SQLite data directory into the
/// PostgreSQL database replicas will share. Settings stay behind: the embedded store's credentials and the
/// console's session key belong to the old deployment. Reserved keys stay behind too: new keys carry the current
/// second, so they cannot meet an old one unless the clock goes back.
pub async fn copy_state(from: &Database, to: &Database) -> Result<Copied, Error> {
    let empty = to.tokens().await?.is_empty()
        && to.users().await?.is_empty()
        && to.uploads(None, None, 1).await?.is_empty()
        && to.emissions(&EmissionFilter { limit: Some(1), ..EmissionFilter::default() }).await?.is_empty();
    if !empty {
        return Err(Error::Admin(format!(
            "{} already holds tokens, users, uploads or emissions; copy into an empty database",
            to.describe()
        )));
    }
    let mut copied = Copied::default();
    // Oldest first: a name is unique among live tokens, so an older token of a name was revoked before the next.
    for token in from.tokens().await? {
        to.insert_token(&token).await?;
        if let Some(at) = token.revoked_at {
            to.revoke_token(&token.name, at).await?;
        }
        if let Some(at) = token.last_used_at {
            to.touch_token(&token.id, at).await?;
        }
        copied.tokens += 1;
    }
    for (name, hash, sources, created_at) in from.users().await? {
        to.upsert_user(&name, &hash, sources.as_deref(), created_at).await?;
        copied.users += 1;
    }
    for upload in from.uploads(None, None, u32::MAX).await? {
        let completing = upload.state == upload_state::COMPLETING;
        let state = if completing { upload_state::OPEN } else { upload.state.as_str() };
        to.insert_upload(&UploadRecord { state: state.to_owned(), ..upload.clone() }).await?;
        if completing && let Some(request) = from.completion_request(&upload.id).await? {
            to.begin_completion(&upload.id, &request, upload.created_at).await?;
        }
        copied.uploads += 1;
    }
    let mut emissions = from.emissions(&EmissionFilter::default()).await?;
    emissions.reverse();
    for emission in emissions {
        to.insert_emission(&emission).await?;
        copied.emissions += 1;
    }
    Ok(copied)
}

/// Scopes are stored as one comma-separated column in both stores (source names contain no comma).
fn sources_to_sql(sources: Option<&[String]>) -> Option<String> {
    sources.map(|s| s.join(","))
}

fn sources_from_sql(text: Option<String>) -> Option<Vec<String>> {
    text.map(|t| t.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect())
}

/// Quality counts are kept as one JSON text column in both stores: read whole, never queried inside.
fn quality_to_sql(quality: Option<&cqube_protocol::Quality>) -> Option<String> {
    quality.and_then(|q| serde_json::to_string(q).ok())
}

fn quality_from_sql(text: Option<String>) -> Option<cqube_protocol::Quality> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

/// Row counts and sizes are `u64` in Rust and signed 64-bit in both databases.
fn to_sql_u64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
