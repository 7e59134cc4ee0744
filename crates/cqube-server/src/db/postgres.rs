//! The replicated state store: PostgreSQL through a connection pool, shared by every server replica.
//!
//! Migrations run at start inside one transaction under an advisory lock, so replicas starting at once apply
//! each exactly once. Cross-process locks are session advisory locks held on a pooled connection for as long as
//! the [`ClusterLock`] lives; a replica killed while holding one loses its session, and with it the lock.

use std::str::FromStr;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use sha2::{Digest, Sha256};
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

use super::{
    ClusterLock, DatabaseUrl, EmissionFilter, EmissionRecord, PoolUse, StateStore, TokenRecord, UploadRecord,
    UserRecord, quality_from_sql, quality_to_sql, sources_from_sql, sources_to_sql, to_sql_u64,
};
use crate::Error;

/// Connections per replica for statements: each is held for one statement or transaction.
const POOL_SIZE: usize = 16;
/// Connections per replica for advisory locks, which hold theirs while the lock lives. A separate pool, so lock
/// holders always find a connection for their statements: waiters for a lock cannot starve the holder. Sized for
/// the process's lock stripes (`completion::LOCK_STRIPES`, one holder or waiter each) and the sweeper.
const LOCK_POOL_SIZE: usize = crate::completion::LOCK_STRIPES + 1;
/// How long a request waits for a free connection before it fails (and the emitter retries).
const POOL_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Advisory lock key under which migrations run.
const MIGRATION_LOCK: &str = "cqube-emit schema migration";

/// Each migration once, in order; `schema_migrations` records which ran.
const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE tokens (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, hash BYTEA NOT NULL, sources TEXT, admin BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL, expires_at BIGINT, last_used_at BIGINT, revoked_at BIGINT);
CREATE UNIQUE INDEX tokens_live_name ON tokens(name) WHERE revoked_at IS NULL;
CREATE TABLE users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, sources TEXT, created_at BIGINT NOT NULL);
CREATE TABLE reserved_keys (bucket TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (bucket, key));
CREATE TABLE key_slots (
    bucket TEXT NOT NULL, filename TEXT NOT NULL, second BIGINT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (bucket, filename));
CREATE TABLE uploads (
    id TEXT PRIMARY KEY, token_id TEXT NOT NULL, token_name TEXT NOT NULL, source TEXT NOT NULL,
    bucket TEXT NOT NULL, key TEXT NOT NULL, store_upload_id TEXT NOT NULL, created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL, state TEXT NOT NULL);
CREATE INDEX uploads_state ON uploads(state, created_at);
CREATE INDEX uploads_store_upload ON uploads(store_upload_id);
CREATE TABLE emissions (
    seq BIGSERIAL UNIQUE, id TEXT PRIMARY KEY, upload_id TEXT UNIQUE, token_name TEXT NOT NULL,
    source TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL, archived_key TEXT, bytes BIGINT NOT NULL,
    rows BIGINT NOT NULL, sha256 TEXT NOT NULL, started_at BIGINT NOT NULL, completed_at BIGINT NOT NULL,
    watermark_column TEXT, watermark TEXT);
CREATE INDEX emissions_completed ON emissions(completed_at);
CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE completions (upload_id TEXT PRIMARY KEY, request TEXT NOT NULL, started_at BIGINT NOT NULL);
",
    "ALTER TABLE emissions ADD COLUMN quality TEXT;",
];

/// The PostgreSQL store.
#[derive(Debug)]
pub(super) struct Postgres {
    pool: Pool,
    locks: Pool,
    url: DatabaseUrl,
}

/// An advisory lock's key: the first 8 bytes of the name's SHA-256.
fn lock_key(name: &str) -> i64 {
    let digest = Sha256::digest(name.as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

const TOKEN_COLUMNS: &str = "id, name, hash, sources, admin, created_at, expires_at, last_used_at, revoked_at";
const UPLOAD_COLUMNS: &str =
    "id, token_name, source, bucket, key, store_upload_id, created_at, expires_at, state, token_id";
const EMISSION_COLUMNS: &str = "id, upload_id, token_name, source, bucket, key, archived_key, bytes, rows, sha256, \
                                started_at, completed_at, watermark_column, watermark, quality";

fn token_row(r: &Row) -> TokenRecord {
    TokenRecord {
        id: r.get(0),
        name: r.get(1),
        hash: r.get(2),
        sources: sources_from_sql(r.get(3)),
        admin: r.get(4),
        created_at: r.get(5),
        expires_at: r.get(6),
        last_used_at: r.get(7),
        revoked_at: r.get(8),
    }
}

fn upload_row(r: &Row) -> UploadRecord {
    UploadRecord {
        id: r.get(0),
        token_name: r.get(1),
        source: r.get(2),
        bucket: r.get(3),
        key: r.get(4),
        store_upload_id: r.get(5),
        created_at: r.get(6),
        expires_at: r.get(7),
        state: r.get(8),
        token_id: r.get(9),
    }
}

fn emission_row(r: &Row) -> EmissionRecord {
    EmissionRecord {
        id: r.get(0),
        upload_id: r.get(1),
        token_name: r.get(2),
        source: r.get(3),
        bucket: r.get(4),
        key: r.get(5),
        archived_key: r.get(6),
        bytes: u64::try_from(r.get::<_, i64>(7)).unwrap_or_default(),
        rows: u64::try_from(r.get::<_, i64>(8)).unwrap_or_default(),
        sha256: r.get(9),
        started_at: r.get(10),
        completed_at: r.get(11),
        watermark: match (r.get::<_, Option<String>>(12), r.get::<_, Option<String>>(13)) {
            (Some(column), Some(value)) => Some(cqube_protocol::Watermark { column, value }),
            _ => None,
        },
        quality: quality_from_sql(r.get(14)),
    }
}

impl Postgres {
    pub(super) async fn connect(url: &DatabaseUrl) -> Result<Postgres, Error> {
        let config = tokio_postgres::Config::from_str(url.expose()).map_err(|e| {
            // tokio-postgres's parse errors do not echo the URL, so the password stays out of this message.
            Error::Config(vec![format!("database_url {}: {e}", url.redacted())])
        })?;
        // TLS only when the URL asks for it (`sslmode=require`), as libpq and the database sources do; `prefer`,
        // the default, stays plain so a self-signed certificate never breaks a URL that did not ask for TLS.
        let require_tls = config.get_ssl_mode() == tokio_postgres::config::SslMode::Require;
        let pool = |size: usize| {
            let manager_config = ManagerConfig { recycling_method: RecyclingMethod::Fast };
            let manager = if require_tls {
                Manager::from_config(config.clone(), cqube_pgtls::require(), manager_config)
            } else {
                Manager::from_config(config.clone(), NoTls, manager_config)
            };
            Pool::builder(manager)
                .max_size(size)
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(POOL_WAIT))
                .build()
                .map_err(|e| Error::Config(vec![format!("database_url {}: {e}", url.redacted())]))
        };
        let store = Postgres { pool: pool(POOL_SIZE)?, locks: pool(LOCK_POOL_SIZE)?, url: url.clone() };
        store.migrate().await?;
        Ok(store)
    }

    /// Whether this replica's statement connections are encrypted, as PostgreSQL itself reports it.
    #[cfg(test)]
    pub(super) async fn encrypted(&self) -> bool {
        let client = self.client().await.unwrap();
        client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.unwrap().get(0)
    }

    /// The emission whose unique `column` (`id` or `upload_id`, never user input) is `value`.
    async fn emission_where(&self, column: &'static str, value: &str) -> Result<Option<EmissionRecord>, Error> {
        let row = self
            .client()
            .await?
            .query_opt(&format!("SELECT {EMISSION_COLUMNS} FROM emissions WHERE {column} = $1"), &[&value])
            .await
            .map_err(Error::db("reading an emission"))?;
        Ok(row.as_ref().map(emission_row))
    }

    async fn client(&self) -> Result<Object, Error> {
        self.pool.get().await.map_err(Error::db("connecting to PostgreSQL"))
    }

    async fn migrate(&self) -> Result<(), Error> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(Error::db("starting a migration"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(MIGRATION_LOCK)])
            .await
            .map_err(Error::db("waiting for another replica's migration"))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await
        .map_err(Error::db("creating schema_migrations"))?;
        let applied: i32 = tx
            .query_one("SELECT count(*)::integer FROM schema_migrations", &[])
            .await
            .map_err(Error::db("reading schema_migrations"))?
            .get(0);
        for (version, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(applied).unwrap_or(0)) {
            tx.batch_execute(sql).await.map_err(Error::db("migrating the schema"))?;
            let version = i32::try_from(version + 1).unwrap_or(i32::MAX);
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                &[&version, &crate::auth::now_ms()],
            )
            .await
            .map_err(Error::db("recording a migration"))?;
        }
        tx.commit().await.map_err(Error::db("committing the migration"))
    }
}

/// Releases a session advisory lock when dropped.
struct AdvisoryLock {
    client: Option<Object>,
    key: i64,
}

impl Drop for AdvisoryLock {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else { return };
        let key = self.key;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(e) = client.execute("SELECT pg_advisory_unlock($1)", &[&key]).await {
                        tracing::warn!(error = %e, "releasing an advisory lock failed; closing its connection");
                        // Closing the session releases its locks; returned to the pool it would keep them.
                        drop(Object::take(client));
                    }
                });
            }
            Err(_) => drop(Object::take(client)),
        }
    }
}

#[async_trait]
impl StateStore for Postgres {
    fn describe(&self) -> String {
        self.url.redacted()
    }

    async fn ping(&self) -> Result<(), Error> {
        self.client().await?.execute("SELECT 1", &[]).await.map(drop).map_err(Error::db("ping"))
    }

    fn pool_use(&self) -> Option<PoolUse> {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let (statements, locks) = (self.pool.status(), self.locks.status());
        Some(PoolUse {
            in_use: count(statements.size - statements.available + locks.size - locks.available),
            idle: count(statements.available + locks.available),
            max: count(statements.max_size + locks.max_size),
        })
    }

    async fn lock(&self, name: &str, wait: bool) -> Result<Option<ClusterLock>, Error> {
        let client = self.locks.get().await.map_err(Error::db("connecting to PostgreSQL"))?;
        let key = lock_key(name);
        let held = if wait {
            client.execute("SELECT pg_advisory_lock($1)", &[&key]).await.map_err(Error::db("taking a lock"))?;
            true
        } else {
            client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                .await
                .map_err(Error::db("taking a lock"))?
                .get(0)
        };
        Ok(held.then(|| ClusterLock(Some(Box::new(AdvisoryLock { client: Some(client), key })))))
    }

    async fn setting(&self, name: &str) -> Result<Option<String>, Error> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT value FROM settings WHERE name = $1", &[&name])
            .await
            .map_err(Error::db("reading a setting"))?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn set_setting(&self, name: &str, value: &str) -> Result<(), Error> {
        self.client()
            .await?
            .execute(
                "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = $2",
                &[&name, &value],
            )
            .await
            .map(drop)
            .map_err(Error::db("writing a setting"))
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String, Error> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &value],
            )
            .await
            .map_err(Error::db("writing a setting"))?;
        // A new statement, so a new snapshot: it sees the row whichever replica's insert won.
        let row = client
            .query_one("SELECT value FROM settings WHERE name = $1", &[&name])
            .await
            .map_err(Error::db("reading a setting"))?;
        Ok(row.get(0))
    }

    async fn insert_token(&self, t: &TokenRecord) -> Result<(), Error> {
        let result = self
            .client()
            .await?
            .execute(
                "INSERT INTO tokens (id, name, hash, sources, admin, created_at, expires_at)
                 VALUES ($1,$2,$3,$4,$5,$6,$7)",
                &[
                    &t.id,
                    &t.name,
                    &t.hash,
                    &sources_to_sql(t.sources.as_deref()),
                    &t.admin,
                    &t.created_at,
                    &t.expires_at,
                ],
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                Err(Error::Admin(format!("a live token named {:?} already exists; revoke it first", t.name)))
            }
            Err(e) => Err(Error::db("inserting a token")(e)),
        }
    }

    async fn token_by_id(&self, id: &str) -> Result<Option<TokenRecord>, Error> {
        let row = self
            .client()
            .await?
            .query_opt(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1"), &[&id])
            .await
            .map_err(Error::db("reading a token"))?;
        Ok(row.as_ref().map(token_row))
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>, Error> {
        let rows = self
            .client()
            .await?
            .query(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at, name"), &[])
            .await
            .map_err(Error::db("listing tokens"))?;
        Ok(rows.iter().map(token_row).collect())
    }

    async fn revoke_token(&self, name: &str, now: i64) -> Result<bool, Error> {
        self.client()
            .await?
            .execute("UPDATE tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL", &[&name, &now])
            .await
            .map(|n| n > 0)
            .map_err(Error::db("revoking a token"))
    }

    async fn touch_token(&self, id: &str, now: i64) -> Result<(), Error> {
        self.client()
            .await?
            .execute(
                "UPDATE tokens SET last_used_at = $2::bigint WHERE id = $1
                 AND (last_used_at IS NULL OR last_used_at <= $2::bigint - 60000)",
                &[&id, &now],
            )
            .await
            .map(drop)
            .map_err(Error::db("updating a token"))
    }

    async fn upsert_user(
        &self,
        name: &str,
        password_hash: &str,
        sources: Option<&[String]>,
        now: i64,
    ) -> Result<(), Error> {
        self.client()
            .await?
            .execute(
                "INSERT INTO users (name, password_hash, sources, created_at) VALUES ($1,$2,$3,$4)
                 ON CONFLICT (name) DO UPDATE SET password_hash = $2, sources = $3",
                &[&name, &password_hash, &sources_to_sql(sources), &now],
            )
            .await
            .map(drop)
            .map_err(Error::db("writing a user"))
    }

    async fn user(&self, name: &str) -> Result<Option<UserRecord>, Error> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT password_hash, sources FROM users WHERE name = $1", &[&name])
            .await
            .map_err(Error::db("reading a user"))?;
        Ok(row.map(|r| (r.get(0), sources_from_sql(r.get(1)))))
    }

    async fn users(&self) -> Result<Vec<(String, String, Option<Vec<String>>, i64)>, Error> {
        let rows = self
            .client()
            .await?
            .query("SELECT name, password_hash, sources, created_at FROM users ORDER BY name", &[])
            .await
            .map_err(Error::db("listing users"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), sources_from_sql(r.get(2)), r.get(3))).collect())
    }

    async fn delete_user(&self, name: &str) -> Result<bool, Error> {
        self.client()
            .await?
            .execute("DELETE FROM users WHERE name = $1", &[&name])
            .await
            .map(|n| n > 0)
            .map_err(Error::db("removing a user"))
    }

    async fn next_key_slot(
        &self,
        bucket: &str,
        filename: &str,
        now: i64,
        per_second: u32,
    ) -> Result<(i64, u32), Error> {
        let per_second = i32::try_from(per_second).unwrap_or(i32::MAX);
        let row = self
            .client()
            .await?
            .query_one(
                "INSERT INTO key_slots AS k (bucket, filename, second, seq) VALUES ($1, $2, $3, 0)
                 ON CONFLICT (bucket, filename) DO UPDATE SET
                   second = CASE WHEN $3 > k.second THEN $3 WHEN k.seq + 1 >= $4 THEN k.second + 1 ELSE k.second END,
                   seq = CASE WHEN $3 > k.second OR k.seq + 1 >= $4 THEN 0 ELSE k.seq + 1 END
                 RETURNING second, seq",
                &[&bucket, &filename, &now, &per_second],
            )
            .await
            .map_err(Error::db("taking a key slot"))?;
        Ok((row.get(0), u32::try_from(row.get::<_, i32>(1)).unwrap_or_default()))
    }

    async fn reserve_key(&self, bucket: &str, key: &str) -> Result<bool, Error> {
        self.client()
            .await?
            .execute("INSERT INTO reserved_keys (bucket, key) VALUES ($1, $2) ON CONFLICT DO NOTHING", &[&bucket, &key])
            .await
            .map(|n| n == 1)
            .map_err(Error::db("reserving a key"))
    }

    async fn insert_upload(&self, u: &UploadRecord) -> Result<(), Error> {
        self.client()
            .await?
            .execute(
                "INSERT INTO uploads (id, token_id, token_name, source, bucket, key, store_upload_id, created_at,
                 expires_at, state) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
                &[
                    &u.id,
                    &u.token_id,
                    &u.token_name,
                    &u.source,
                    &u.bucket,
                    &u.key,
                    &u.store_upload_id,
                    &u.created_at,
                    &u.expires_at,
                    &u.state,
                ],
            )
            .await
            .map(drop)
            .map_err(Error::db("recording an upload"))
    }

    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>, Error> {
        let row = self
            .client()
            .await?
            .query_opt(&format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1"), &[&id])
            .await
            .map_err(Error::db("reading an upload"))?;
        Ok(row.as_ref().map(upload_row))
    }

    async fn uploads(
        &self,
        state: Option<&str>,
        expired_at: Option<i64>,
        limit: u32,
    ) -> Result<Vec<UploadRecord>, Error> {
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE ($1::text IS NULL OR state = $1)
                     AND ($2::bigint IS NULL OR (state = 'open' AND expires_at <= $2))
                     ORDER BY created_at, id LIMIT $3"
                ),
                &[&state, &expired_at, &i64::from(limit)],
            )
            .await
            .map_err(Error::db("listing uploads"))?;
        Ok(rows.iter().map(upload_row).collect())
    }

    async fn knows_store_upload(&self, store_upload_id: &str) -> Result<bool, Error> {
        self.client()
            .await?
            .query_one("SELECT EXISTS (SELECT 1 FROM uploads WHERE store_upload_id = $1)", &[&store_upload_id])
            .await
            .map(|r| r.get(0))
            .map_err(Error::db("reading an upload"))
    }

    async fn begin_completion(&self, id: &str, request: &str, now: i64) -> Result<bool, Error> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(Error::db("starting a transaction"))?;
        let moved = tx
            .execute("UPDATE uploads SET state = 'completing' WHERE id = $1 AND state = 'open'", &[&id])
            .await
            .map_err(Error::db("updating an upload"))?;
        if moved == 1 {
            tx.execute(
                "INSERT INTO completions (upload_id, request, started_at) VALUES ($1, $2, $3)
                 ON CONFLICT (upload_id) DO UPDATE SET request = $2, started_at = $3",
                &[&id, &request, &now],
            )
            .await
            .map_err(Error::db("recording a completion"))?;
        }
        tx.commit().await.map_err(Error::db("committing a completion"))?;
        Ok(moved == 1)
    }

    async fn completion_request(&self, id: &str) -> Result<Option<String>, Error> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT request FROM completions WHERE upload_id = $1", &[&id])
            .await
            .map_err(Error::db("reading a completion"))?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn set_upload_state(&self, id: &str, state: &str) -> Result<(), Error> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(Error::db("starting a transaction"))?;
        tx.execute("UPDATE uploads SET state = $2 WHERE id = $1", &[&id, &state])
            .await
            .map_err(Error::db("updating an upload"))?;
        tx.execute("DELETE FROM completions WHERE upload_id = $1", &[&id])
            .await
            .map_err(Error::db("updating an upload"))?;
        tx.commit().await.map_err(Error::db("updating an upload"))
    }

    async fn insert_emission(&self, e: &EmissionRecord) -> Result<EmissionRecord, Error> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(Error::db("starting a transaction"))?;
        // On a concurrent insert for the same upload this waits for the other transaction, then inserts nothing.
        let inserted = tx
            .execute(
                "INSERT INTO emissions (id, upload_id, token_name, source, bucket, key, archived_key, bytes, rows,
                 sha256, started_at, completed_at, watermark_column, watermark, quality)
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) ON CONFLICT (upload_id) DO NOTHING",
                &[
                    &e.id,
                    &e.upload_id,
                    &e.token_name,
                    &e.source,
                    &e.bucket,
                    &e.key,
                    &e.archived_key,
                    &to_sql_u64(e.bytes),
                    &to_sql_u64(e.rows),
                    &e.sha256,
                    &e.started_at,
                    &e.completed_at,
                    &e.watermark.as_ref().map(|w| &w.column),
                    &e.watermark.as_ref().map(|w| &w.value),
                    &quality_to_sql(e.quality.as_ref()),
                ],
            )
            .await
            .map_err(Error::db("recording an emission"))?;
        if inserted == 0 {
            let row = tx
                .query_one(&format!("SELECT {EMISSION_COLUMNS} FROM emissions WHERE upload_id = $1"), &[&e.upload_id])
                .await
                .map_err(Error::db("reading an emission"))?;
            return Ok(emission_row(&row));
        }
        if let Some(upload) = &e.upload_id {
            tx.execute("UPDATE uploads SET state = 'completed' WHERE id = $1", &[upload])
                .await
                .map_err(Error::db("completing an upload"))?;
            tx.execute("DELETE FROM completions WHERE upload_id = $1", &[upload])
                .await
                .map_err(Error::db("completing an upload"))?;
        }
        tx.commit().await.map_err(Error::db("committing an emission"))?;
        Ok(e.clone())
    }

    async fn set_archived_key(&self, emission_id: &str, archived_key: &str) -> Result<(), Error> {
        self.client()
            .await?
            .execute("UPDATE emissions SET archived_key = $2 WHERE id = $1", &[&emission_id, &archived_key])
            .await
            .map(drop)
            .map_err(Error::db("recording an archive key"))
    }

    async fn emission_for_upload(&self, upload_id: &str) -> Result<Option<EmissionRecord>, Error> {
        self.emission_where("upload_id", upload_id).await
    }

    async fn emission(&self, id: &str) -> Result<Option<EmissionRecord>, Error> {
        self.emission_where("id", id).await
    }

    async fn emissions(&self, filter: &EmissionFilter<'_>) -> Result<Vec<EmissionRecord>, Error> {
        let EmissionFilter { token_name, source, since, watermark_column, upload_id, limit, scope } = *filter;
        let limit = limit.map(i64::from);
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {EMISSION_COLUMNS} FROM emissions WHERE ($1::text IS NULL OR token_name = $1)
                     AND ($2::text IS NULL OR source = $2) AND ($3::bigint IS NULL OR completed_at >= $3)
                     AND ($4::text IS NULL OR watermark_column = $4) AND ($5::text[] IS NULL OR source = ANY($5))
                     AND ($6::text IS NULL OR upload_id = $6)
                     ORDER BY completed_at DESC, seq DESC LIMIT $7"
                ),
                &[&token_name, &source, &since, &watermark_column, &scope, &upload_id, &limit],
            )
            .await
            .map_err(Error::db("listing emissions"))?;
        Ok(rows.iter().map(emission_row).collect())
    }
}
