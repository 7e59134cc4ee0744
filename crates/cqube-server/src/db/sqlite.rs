//! The embedded state store: SQLite (WAL) in the data directory, for one server process.
//!
//! Queries take well under a millisecond, so they run directly under one mutex instead of hopping to a blocking
//! thread; WAL lets the admin subcommands write while a server runs.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

use async_trait::async_trait;

use super::{
    ClusterLock, EmissionFilter, EmissionRecord, StateStore, TokenRecord, UploadRecord, UserRecord, quality_from_sql,
    quality_to_sql, sources_from_sql, sources_to_sql, to_sql_u64,
};
use crate::Error;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, hash BLOB NOT NULL, sources TEXT, admin INTEGER NOT NULL,
    created_at INTEGER NOT NULL, expires_at INTEGER, last_used_at INTEGER, revoked_at INTEGER);
CREATE UNIQUE INDEX IF NOT EXISTS tokens_live_name ON tokens(name) WHERE revoked_at IS NULL;
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, sources TEXT, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reserved_keys (bucket TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (bucket, key));
CREATE TABLE IF NOT EXISTS key_slots (
    bucket TEXT NOT NULL, filename TEXT NOT NULL, second INTEGER NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (bucket, filename));
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY, token_name TEXT NOT NULL, source TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL,
    store_upload_id TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, state TEXT NOT NULL,
    token_id TEXT);
CREATE TABLE IF NOT EXISTS emissions (
    id TEXT PRIMARY KEY, upload_id TEXT UNIQUE, token_name TEXT NOT NULL, source TEXT NOT NULL, bucket TEXT NOT NULL,
    key TEXT NOT NULL, archived_key TEXT, bytes INTEGER NOT NULL, rows INTEGER NOT NULL, sha256 TEXT NOT NULL,
    started_at INTEGER NOT NULL, completed_at INTEGER NOT NULL, watermark_column TEXT, watermark TEXT, quality TEXT);
CREATE INDEX IF NOT EXISTS emissions_completed ON emissions(completed_at);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS completions (upload_id TEXT PRIMARY KEY, request TEXT NOT NULL, started_at INTEGER NOT NULL);
";

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "server.sqlite3";

/// File in the data directory that holds space for the database on a full disk (see [`Sqlite::open`]).
pub const RESERVE_FILE: &str = "server.reserve";
/// Its size: room for many small writes.
const RESERVE_BYTES: usize = 1024 * 1024;

/// The SQLite store: one connection under a mutex (queries take well under a millisecond).
#[derive(Debug)]
pub(super) struct Sqlite {
    conn: Mutex<Connection>,
    path: std::path::PathBuf,
    reserve: std::path::PathBuf,
}

/// Brings a database made by an older version up to the current schema.
fn migrate(conn: &Connection) -> Result<(), Error> {
    let has_watermark: bool = conn
        .query_row("SELECT count(*) FROM pragma_table_info('emissions') WHERE name = 'watermark'", [], |r| r.get(0))
        .map_err(Error::db("reading the schema"))?;
    if !has_watermark {
        conn.execute_batch(
            "ALTER TABLE emissions ADD COLUMN watermark_column TEXT; ALTER TABLE emissions ADD COLUMN watermark TEXT;",
        )
        .map_err(Error::db("adding the watermark columns"))?;
    }
    let has_quality: bool = conn
        .query_row("SELECT count(*) FROM pragma_table_info('emissions') WHERE name = 'quality'", [], |r| r.get(0))
        .map_err(Error::db("reading the schema"))?;
    if !has_quality {
        conn.execute_batch("ALTER TABLE emissions ADD COLUMN quality TEXT;")
            .map_err(Error::db("adding the quality column"))?;
    }
    let has_token_id: bool = conn
        .query_row("SELECT count(*) FROM pragma_table_info('uploads') WHERE name = 'token_id'", [], |r| r.get(0))
        .map_err(Error::db("reading the schema"))?;
    if !has_token_id {
        // Older uploads named their token only: give each to the token of that name that existed when it started
        // (names are unique among live tokens), never to a later token that reused the name.
        conn.execute_batch(
            "ALTER TABLE uploads ADD COLUMN token_id TEXT;
             UPDATE uploads SET token_id = (SELECT t.id FROM tokens t WHERE t.name = uploads.token_name
                 AND t.created_at <= uploads.created_at ORDER BY t.created_at DESC LIMIT 1);",
        )
        .map_err(Error::db("adding the uploads' token ids"))?;
    }
    Ok(())
}

impl Sqlite {
    /// Opens (creating if needed) `<data_dir>/server.sqlite3` in WAL mode.
    pub(super) fn open(data_dir: &Path) -> Result<Sqlite, Error> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| Error::Io { what: format!("creating data directory {}", data_dir.display()), source })?;
        let path = data_dir.join(DB_FILE);
        let conn = Connection::open(&path).map_err(Error::db("open"))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(Error::db("enabling WAL"))?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(Error::db("setting synchronous"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(Error::db("setting busy timeout"))?;
        conn.execute_batch(SCHEMA).map_err(Error::db("creating schema"))?;
        migrate(&conn)?;
        // Recording an abort must work on a full disk (the abort is how space gets freed): a reserved megabyte is
        // given up for it then, and taken again at the next start.
        let reserve = data_dir.join(RESERVE_FILE);
        if !reserve.exists()
            && let Err(err) = std::fs::write(&reserve, vec![0u8; RESERVE_BYTES])
        {
            let _ = std::fs::remove_file(&reserve);
            tracing::warn!(path = %reserve.display(), error = %err, "could not reserve disk space for the database");
        }
        Ok(Sqlite { conn: Mutex::new(conn), path, reserve })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (statements are atomic).
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The emission whose unique `column` (`id` or `upload_id`, never user input) is `value`.
    fn emission_where(&self, column: &'static str, value: &str) -> Result<Option<EmissionRecord>, Error> {
        self.conn()
            .query_row(
                &format!("SELECT {} FROM emissions WHERE {column} = ?1", Self::EMISSION_COLUMNS),
                [value],
                Self::emission_row,
            )
            .optional()
            .map_err(Error::db("reading an emission"))
    }

    const TOKEN_COLUMNS: &str = "id, name, hash, sources, admin, created_at, expires_at, last_used_at, revoked_at";

    fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
        Ok(TokenRecord {
            id: r.get(0)?,
            name: r.get(1)?,
            hash: r.get(2)?,
            sources: sources_from_sql(r.get(3)?),
            admin: r.get(4)?,
            created_at: r.get(5)?,
            expires_at: r.get(6)?,
            last_used_at: r.get(7)?,
            revoked_at: r.get(8)?,
        })
    }

    const UPLOAD_COLUMNS: &str =
        "id, token_name, source, bucket, key, store_upload_id, created_at, expires_at, state, token_id";

    fn upload_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UploadRecord> {
        Ok(UploadRecord {
            id: r.get(0)?,
            token_name: r.get(1)?,
            source: r.get(2)?,
            bucket: r.get(3)?,
            key: r.get(4)?,
            store_upload_id: r.get(5)?,
            created_at: r.get(6)?,
            expires_at: r.get(7)?,
            state: r.get(8)?,
            // A pre-migration upload whose token is gone belongs to no token.
            token_id: r.get::<_, Option<String>>(9)?.unwrap_or_default(),
        })
    }

    /// Gives up the reserved space; `false` when there was none left to give.
    fn release_reserve(&self) -> bool {
        let released = std::fs::remove_file(&self.reserve).is_ok();
        if released {
            tracing::error!(
                path = %self.reserve.display(),
                "the disk is full: released the database's reserved space; free space, then restart to reserve it again"
            );
        }
        released
    }

    const EMISSION_COLUMNS: &str = "id, upload_id, token_name, source, bucket, key, archived_key, bytes, rows, sha256, \
                                    started_at, completed_at, watermark_column, watermark, quality";

    fn emission_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EmissionRecord> {
        Ok(EmissionRecord {
            id: r.get(0)?,
            upload_id: r.get(1)?,
            token_name: r.get(2)?,
            source: r.get(3)?,
            bucket: r.get(4)?,
            key: r.get(5)?,
            archived_key: r.get(6)?,
            bytes: r.get::<_, i64>(7)? as u64,
            rows: r.get::<_, i64>(8)? as u64,
            sha256: r.get(9)?,
            started_at: r.get(10)?,
            completed_at: r.get(11)?,
            watermark: match (r.get::<_, Option<String>>(12)?, r.get::<_, Option<String>>(13)?) {
                (Some(column), Some(value)) => Some(cqube_protocol::Watermark { column, value }),
                _ => None,
            },
            quality: quality_from_sql(r.get(14)?),
        })
    }
}

#[async_trait]
impl StateStore for Sqlite {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    async fn ping(&self) -> Result<(), Error> {
        self.conn().query_row("SELECT 1", [], |_| Ok(())).map_err(Error::db("ping"))
    }

    /// One process owns a SQLite data directory: the caller's in-process locks are all there is to hold.
    async fn lock(&self, _name: &str, _wait: bool) -> Result<Option<ClusterLock>, Error> {
        Ok(Some(ClusterLock(None)))
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String, Error> {
        self.conn()
            .query_row(
                "INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = value
                 RETURNING value",
                [name, value],
                |r| r.get(0),
            )
            .map_err(Error::db("writing a setting"))
    }

    /// A stored setting.
    async fn setting(&self, name: &str) -> Result<Option<String>, Error> {
        self.conn()
            .query_row("SELECT value FROM settings WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(Error::db("reading a setting"))
    }

    /// Stores a setting.
    async fn set_setting(&self, name: &str, value: &str) -> Result<(), Error> {
        self.conn()
            .execute(
                "INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = ?2",
                [name, value],
            )
            .map(drop)
            .map_err(Error::db("writing a setting"))
    }

    /// Inserts a token; fails when a live token already has the name.
    async fn insert_token(&self, t: &TokenRecord) -> Result<(), Error> {
        let result = self.conn().execute(
            "INSERT INTO tokens (id, name, hash, sources, admin, created_at, expires_at) VALUES (?1,?2,?3,?4,?5,?6,?7)",
            params![t.id, t.name, t.hash, sources_to_sql(t.sources.as_deref()), t.admin, t.created_at, t.expires_at],
        );
        match result {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                Err(Error::Admin(format!("a live token named {:?} already exists; revoke it first", t.name)))
            }
            Err(e) => Err(Error::db("inserting a token")(e)),
        }
    }

    /// The token with this public id.
    async fn token_by_id(&self, id: &str) -> Result<Option<TokenRecord>, Error> {
        self.conn()
            .query_row(&format!("SELECT {} FROM tokens WHERE id = ?1", Self::TOKEN_COLUMNS), [id], Self::token_row)
            .optional()
            .map_err(Error::db("reading a token"))
    }

    /// All tokens, oldest first.
    async fn tokens(&self) -> Result<Vec<TokenRecord>, Error> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!("SELECT {} FROM tokens ORDER BY created_at, name", Self::TOKEN_COLUMNS))
            .map_err(Error::db("listing tokens"))?;
        stmt.query_map([], Self::token_row).and_then(Iterator::collect).map_err(Error::db("listing tokens"))
    }

    /// Marks the live token with this name revoked; `false` when there is none.
    async fn revoke_token(&self, name: &str, now: i64) -> Result<bool, Error> {
        self.conn()
            .execute("UPDATE tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL", params![name, now])
            .map(|n| n > 0)
            .map_err(Error::db("revoking a token"))
    }

    /// Records a successful authentication, at most once a minute per token: one write per request would
    /// serialize every request on the database and fail them all on a full disk.
    async fn touch_token(&self, id: &str, now: i64) -> Result<(), Error> {
        self.conn()
            .execute(
                "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?2 - 60000)",
                params![id, now],
            )
            .map(drop)
            .map_err(Error::db("updating a token"))
    }

    /// Creates or replaces an emission user.
    async fn upsert_user(
        &self,
        name: &str,
        password_hash: &str,
        sources: Option<&[String]>,
        now: i64,
    ) -> Result<(), Error> {
        self.conn()
            .execute(
                "INSERT INTO users (name, password_hash, sources, created_at) VALUES (?1,?2,?3,?4)
                 ON CONFLICT(name) DO UPDATE SET password_hash = ?2, sources = ?3",
                params![name, password_hash, sources_to_sql(sources), now],
            )
            .map(drop)
            .map_err(Error::db("writing a user"))
    }

    /// A user's password hash and scope.
    async fn user(&self, name: &str) -> Result<Option<UserRecord>, Error> {
        self.conn()
            .query_row("SELECT password_hash, sources FROM users WHERE name = ?1", [name], |r| {
                Ok((r.get(0)?, sources_from_sql(r.get(1)?)))
            })
            .optional()
            .map_err(Error::db("reading a user"))
    }

    async fn users(&self) -> Result<Vec<(String, String, Option<Vec<String>>, i64)>, Error> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT name, password_hash, sources, created_at FROM users ORDER BY name")
            .map_err(Error::db("listing users"))?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, sources_from_sql(r.get(2)?), r.get(3)?)))
            .and_then(Iterator::collect)
            .map_err(Error::db("listing users"))
    }

    async fn delete_user(&self, name: &str) -> Result<bool, Error> {
        self.conn()
            .execute("DELETE FROM users WHERE name = ?1", [name])
            .map(|n| n > 0)
            .map_err(Error::db("removing a user"))
    }

    /// The next key slot (unix second, sequence within it) for `filename` in `bucket`, in one statement whatever
    /// came before: `now` with sequence 0 once the clock has passed the last slot's second, else that second's next
    /// sequence, else, past `per_second` sequences, the following second.
    async fn next_key_slot(
        &self,
        bucket: &str,
        filename: &str,
        now: i64,
        per_second: u32,
    ) -> Result<(i64, u32), Error> {
        self.conn()
            .query_row(
                "INSERT INTO key_slots (bucket, filename, second, seq) VALUES (?1, ?2, ?3, 0)
                 ON CONFLICT (bucket, filename) DO UPDATE SET
                   second = CASE WHEN ?3 > second THEN ?3 WHEN seq + 1 >= ?4 THEN second + 1 ELSE second END,
                   seq = CASE WHEN ?3 > second OR seq + 1 >= ?4 THEN 0 ELSE seq + 1 END
                 RETURNING second, seq",
                params![bucket, filename, now, per_second],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(Error::db("taking a key slot"))
    }

    /// Reserves `key` in `bucket`; `false` when another request already holds it.
    async fn reserve_key(&self, bucket: &str, key: &str) -> Result<bool, Error> {
        self.conn()
            .execute("INSERT OR IGNORE INTO reserved_keys (bucket, key) VALUES (?1, ?2)", [bucket, key])
            .map(|n| n == 1)
            .map_err(Error::db("reserving a key"))
    }

    /// Records a started multipart upload.
    async fn insert_upload(&self, u: &UploadRecord) -> Result<(), Error> {
        self.conn()
            .execute(
                "INSERT INTO uploads (id, token_id, token_name, source, bucket, key, store_upload_id, created_at, expires_at,
                 state) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
                params![
                    u.id,
                    u.token_id,
                    u.token_name,
                    u.source,
                    u.bucket,
                    u.key,
                    u.store_upload_id,
                    u.created_at,
                    u.expires_at,
                    u.state
                ],
            )
            .map(drop)
            .map_err(Error::db("recording an upload"))
    }

    /// The upload with this id.
    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>, Error> {
        self.conn()
            .query_row(&format!("SELECT {} FROM uploads WHERE id = ?1", Self::UPLOAD_COLUMNS), [id], Self::upload_row)
            .optional()
            .map_err(Error::db("reading an upload"))
    }

    /// Uploads in `state` (any when `None`), or with `expired_at` open ones whose expiry is at or before it;
    /// oldest first, at most `limit`.
    async fn uploads(
        &self,
        state: Option<&str>,
        expired_at: Option<i64>,
        limit: u32,
    ) -> Result<Vec<UploadRecord>, Error> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {} FROM uploads WHERE (?1 IS NULL OR state = ?1)
                 AND (?2 IS NULL OR (state = 'open' AND expires_at <= ?2)) ORDER BY created_at, id LIMIT ?3",
                Self::UPLOAD_COLUMNS
            ))
            .map_err(Error::db("listing uploads"))?;
        stmt.query_map(params![state, expired_at, limit], Self::upload_row)
            .and_then(Iterator::collect)
            .map_err(Error::db("listing uploads"))
    }

    /// Whether any upload row holds this store upload id.
    async fn knows_store_upload(&self, store_upload_id: &str) -> Result<bool, Error> {
        self.conn()
            .query_row("SELECT count(*) FROM uploads WHERE store_upload_id = ?1", [store_upload_id], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n > 0)
            .map_err(Error::db("reading an upload"))
    }

    /// Moves an open upload to `completing` and keeps the completion request (JSON) until the outcome is known;
    /// `false` when the upload was not open.
    async fn begin_completion(&self, id: &str, request: &str, now: i64) -> Result<bool, Error> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(Error::db("starting a transaction"))?;
        let moved = tx
            .execute("UPDATE uploads SET state = 'completing' WHERE id = ?1 AND state = 'open'", [id])
            .map_err(Error::db("updating an upload"))?;
        if moved == 1 {
            tx.execute(
                "INSERT OR REPLACE INTO completions (upload_id, request, started_at) VALUES (?1, ?2, ?3)",
                params![id, request, now],
            )
            .map_err(Error::db("recording a completion"))?;
        }
        tx.commit().map_err(Error::db("committing a completion"))?;
        Ok(moved == 1)
    }

    /// The completion request kept for a `completing` upload.
    async fn completion_request(&self, id: &str) -> Result<Option<String>, Error> {
        self.conn()
            .query_row("SELECT request FROM completions WHERE upload_id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(Error::db("reading a completion"))
    }

    /// Sets an upload's state, dropping any kept completion request; on a full disk too (using the reserve).
    async fn set_upload_state(&self, id: &str, state: &str) -> Result<(), Error> {
        let update = || {
            let mut conn = self.conn();
            let tx = conn.transaction()?;
            tx.execute("UPDATE uploads SET state = ?2 WHERE id = ?1", [id, state])?;
            tx.execute("DELETE FROM completions WHERE upload_id = ?1", [id])?;
            tx.commit()
        };
        match update() {
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) && self.release_reserve() => {
                update()
            }
            other => other,
        }
        .map_err(Error::db("updating an upload"))
    }

    async fn insert_emission(&self, e: &EmissionRecord) -> Result<EmissionRecord, Error> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(Error::db("starting a transaction"))?;
        let inserted = tx.execute(
            "INSERT INTO emissions (id, upload_id, token_name, source, bucket, key, archived_key, bytes, rows, sha256,
             started_at, completed_at, watermark_column, watermark, quality)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)
             ON CONFLICT (upload_id) DO NOTHING",
            params![
                e.id,
                e.upload_id,
                e.token_name,
                e.source,
                e.bucket,
                e.key,
                e.archived_key,
                to_sql_u64(e.bytes),
                to_sql_u64(e.rows),
                e.sha256,
                e.started_at,
                e.completed_at,
                e.watermark.as_ref().map(|w| &w.column),
                e.watermark.as_ref().map(|w| &w.value),
                quality_to_sql(e.quality.as_ref())
            ],
        )
        .map_err(Error::db("recording an emission"))?;
        if inserted == 0 {
            let upload = e.upload_id.as_deref().unwrap_or_default();
            return tx
                .query_row(
                    &format!("SELECT {} FROM emissions WHERE upload_id = ?1", Self::EMISSION_COLUMNS),
                    [upload],
                    Self::emission_row,
                )
                .map_err(Error::db("reading an emission"));
        }
        if let Some(upload) = &e.upload_id {
            tx.execute("UPDATE uploads SET state = 'completed' WHERE id = ?1", [upload])
                .map_err(Error::db("completing an upload"))?;
            tx.execute("DELETE FROM completions WHERE upload_id = ?1", [upload])
                .map_err(Error::db("completing an upload"))?;
        }
        tx.commit().map_err(Error::db("committing an emission"))?;
        Ok(e.clone())
    }

    /// Records where an emission was archived.
    async fn set_archived_key(&self, emission_id: &str, archived_key: &str) -> Result<(), Error> {
        self.conn()
            .execute("UPDATE emissions SET archived_key = ?2 WHERE id = ?1", [emission_id, archived_key])
            .map(drop)
            .map_err(Error::db("recording an archive key"))
    }

    /// The emission that completed this upload.
    async fn emission_for_upload(&self, upload_id: &str) -> Result<Option<EmissionRecord>, Error> {
        self.emission_where("upload_id", upload_id)
    }

    async fn emission(&self, id: &str) -> Result<Option<EmissionRecord>, Error> {
        self.emission_where("id", id)
    }

    /// Emissions matching `filter`, newest first.
    async fn emissions(&self, filter: &EmissionFilter<'_>) -> Result<Vec<EmissionRecord>, Error> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {} FROM emissions WHERE (?1 IS NULL OR token_name = ?1) AND (?2 IS NULL OR source = ?2)
                 AND (?3 IS NULL OR completed_at >= ?3) AND (?4 IS NULL OR watermark_column = ?4)
                 AND (?6 IS NULL OR instr(',' || ?6 || ',', ',' || source || ',') > 0)
                 AND (?7 IS NULL OR upload_id = ?7)
                 ORDER BY completed_at DESC, rowid DESC LIMIT ?5",
                Self::EMISSION_COLUMNS
            ))
            .map_err(Error::db("listing emissions"))?;
        // SQLite reads a negative LIMIT as none.
        let limit = filter.limit.map_or(-1, i64::from);
        let EmissionFilter { token_name, source, since, watermark_column, upload_id, scope, .. } = filter;
        let scope = sources_to_sql(*scope);
        stmt.query_map(
            params![token_name, source, since, watermark_column, limit, scope, upload_id],
            Self::emission_row,
        )
        .and_then(Iterator::collect)
        .map_err(Error::db("listing emissions"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_of_an_older_database_go_to_the_token_that_started_them() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        // the schema before uploads carried a token id
        conn.execute_batch(
            "CREATE TABLE tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, hash BLOB NOT NULL, sources TEXT,
                 admin INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER, last_used_at INTEGER,
                 revoked_at INTEGER);
             CREATE TABLE uploads (id TEXT PRIMARY KEY, token_name TEXT NOT NULL, source TEXT NOT NULL,
                 bucket TEXT NOT NULL, key TEXT NOT NULL, store_upload_id TEXT NOT NULL, created_at INTEGER NOT NULL,
                 expires_at INTEGER NOT NULL, state TEXT NOT NULL);
             INSERT INTO tokens VALUES ('old', 'gujarat', x'00', NULL, 0, 100, NULL, NULL, 300);
             INSERT INTO tokens VALUES ('new', 'gujarat', x'00', NULL, 0, 400, NULL, NULL, NULL);
             INSERT INTO uploads VALUES ('u1', 'gujarat', 's', 'b', 'k1', 'x', 200, 9999, 'open');
             INSERT INTO uploads VALUES ('u2', 'gujarat', 's', 'b', 'k2', 'y', 500, 9999, 'open');
             INSERT INTO uploads VALUES ('u3', 'gone', 's', 'b', 'k3', 'z', 500, 9999, 'open');",
        )
        .unwrap();
        drop(conn);
        let db = Sqlite::open(dir.path()).unwrap();
        let owner = |id: &str| futures_util::FutureExt::now_or_never(db.upload(id)).unwrap().unwrap().unwrap().token_id;
        assert_eq!((owner("u1"), owner("u2"), owner("u3")), ("old".into(), "new".into(), String::new()));
    }
}
