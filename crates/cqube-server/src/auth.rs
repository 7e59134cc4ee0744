//! API tokens (random, stored as SHA-256, compared in constant time) and emission users (argon2 passwords).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::http::StatusCode;
use cqube_protocol::{TOKEN_ID_HEX_LEN, TOKEN_SECRET_HEX_LEN, TokenParts};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::Error;
use crate::db::{Database, TokenRecord};

/// What a valid token allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Public id of the token.
    pub token_id: String,
    /// Name of the token.
    pub token_name: String,
    /// Sources it may emit; `None` means all.
    pub sources: Option<Vec<String>>,
    /// Admin tokens may use every endpoint and bucket.
    pub admin: bool,
}

impl Principal {
    /// Whether the token may emit (or read) this data source.
    pub fn allows(&self, source: &str) -> bool {
        self.admin || self.sources.as_ref().is_none_or(|s| s.iter().any(|x| x == source))
    }
}

/// Options for a new token.
#[derive(Debug, Clone, Default)]
pub struct NewToken {
    /// Unique among live tokens.
    pub name: String,
    /// Sources in scope; `None` means all.
    pub sources: Option<Vec<String>>,
    /// Lifetime in seconds; `None` never expires.
    pub expires_in_seconds: Option<u64>,
    /// Admin rights.
    pub admin: bool,
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `n` random bytes from the OS.
pub(crate) fn random_bytes(n: usize) -> Result<Vec<u8>, Error> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| Error::Io {
        what: "reading OS randomness".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(bytes)
}

/// `n` random bytes from the OS as lowercase hex.
pub(crate) fn random_hex(n: usize) -> Result<String, Error> {
    random_bytes(n).map(hex::encode)
}

fn hash_secret(secret: &str) -> Vec<u8> {
    // The secret has 256 random bits, so a fast hash is enough: no dictionary to slow down.
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Creates a token and returns its text (shown once) and record.
pub async fn create_token(db: &Database, new: &NewToken) -> Result<(String, TokenRecord), Error> {
    if new.name.is_empty() || new.name.chars().any(char::is_control) {
        return Err(Error::Admin("token name must be non-empty and printable".into()));
    }
    let id = random_hex(TOKEN_ID_HEX_LEN / 2)?;
    let secret = random_hex(TOKEN_SECRET_HEX_LEN / 2)?;
    let now = now_ms();
    let record = TokenRecord {
        id: id.clone(),
        name: new.name.clone(),
        sources: new.sources.clone(),
        admin: new.admin,
        created_at: now,
        expires_at: new
            .expires_in_seconds
            .map(|s| now.saturating_add(i64::try_from(s).unwrap_or(i64::MAX).saturating_mul(1000))),
        last_used_at: None,
        revoked_at: None,
        hash: hash_secret(&secret),
    };
    db.insert_token(&record).await?;
    Ok((TokenParts::format(&id, &secret), record))
}

fn unauthorized(message: &str) -> Error {
    Error::api(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// Checks an `Authorization` header value; every failure is a 401 with the same code.
pub async fn authenticate(db: &Database, header: Option<&str>) -> Result<Principal, Error> {
    let header = header.ok_or_else(|| unauthorized("missing Authorization: Bearer <token> header"))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <token>`"))?
        .trim();
    let parts = TokenParts::parse(token).ok_or_else(|| unauthorized("the token is not a cqube-emit token"))?;
    let record = db.token_by_id(parts.id).await?;
    // Hash even when the id is unknown, so the two failures take the same path.
    let presented = hash_secret(parts.secret);
    let stored = record.as_ref().map_or(&[0u8; 32][..], |r| &r.hash);
    let matches: bool = presented.ct_eq(stored).into();
    let Some(record) = record.filter(|_| matches) else {
        return Err(unauthorized("the token is not valid"));
    };
    let now = now_ms();
    if record.revoked_at.is_some() {
        return Err(unauthorized("the token has been revoked"));
    }
    if record.expires_at.is_some_and(|t| t <= now) {
        return Err(unauthorized("the token has expired"));
    }
    // Bookkeeping only: a full disk or a busy database must not refuse a valid token (nor the abort that would
    // free space).
    if let Err(err) = db.touch_token(&record.id, now).await {
        tracing::warn!(token_id = %record.id, error = %err, "could not record the token's last use");
    }
    Ok(Principal { token_id: record.id, token_name: record.name, sources: record.sources, admin: record.admin })
}

/// Fewest characters of an emission user's password.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Creates or replaces an emission user with an argon2id password hash. Replacing revokes the tokens it signed in
/// for: they carry the old scope, and a new password is often given because the old one leaked.
pub async fn create_user(db: &Database, name: &str, password: &str, sources: Option<&[String]>) -> Result<(), Error> {
    let mut problems = Vec::new();
    if name.is_empty() || name.chars().any(|c| c.is_control() || c == ':') {
        problems.push("user name must be non-empty, printable and without ':'".to_owned());
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        problems.push(format!("the password must have at least {MIN_PASSWORD_CHARS} characters"));
    }
    if !problems.is_empty() {
        return Err(Error::Admin(problems.join("; ")));
    }
    let salt = SaltString::encode_b64(&random_bytes(16)?).map_err(|e| Error::Admin(format!("making a salt: {e}")))?;
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| Error::Admin(format!("hashing the password: {e}")))?
        .to_string();
    let now = now_ms();
    db.upsert_user(name, &hash, sources, now).await?;
    revoke_sessions(db, name, now).await
}

/// Removes an emission user and revokes the tokens it signed in for; `false` when there is no such user.
pub async fn remove_user(db: &Database, name: &str, now: i64) -> Result<bool, Error> {
    if !db.delete_user(name).await? {
        return Ok(false);
    }
    revoke_sessions(db, name, now).await?;
    Ok(true)
}

/// Revokes the live tokens user `name` signed in for, named `NAME:session-…` by [`login`] (user names hold no
/// `:`, so no other user's tokens share the prefix).
async fn revoke_sessions(db: &Database, name: &str, now: i64) -> Result<(), Error> {
    let prefix = format!("{name}:session-");
    for token in db.tokens().await? {
        if token.revoked_at.is_none() && token.name.starts_with(&prefix) {
            db.revoke_token(&token.name, now).await?;
        }
    }
    Ok(())
}

/// Checks a user's password and issues a short-lived token scoped like the user.
pub async fn login(db: &Database, name: &str, password: &str, ttl_seconds: u64) -> Result<String, Error> {
    let refused = || unauthorized("unknown user or wrong password");
    let Some((hash, sources)) = db.user(name).await? else { return Err(refused()) };
    let parsed = PasswordHash::new(&hash).map_err(|_| refused())?;
    argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).map_err(|_| refused())?;
    let session = random_hex(4)?;
    let (token, _) = create_token(
        db,
        &NewToken {
            name: format!("{name}:session-{session}"),
            sources,
            expires_in_seconds: Some(ttl_seconds),
            admin: false,
        },
    )
    .await?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(None, dir.path()).await.unwrap();
        (dir, db)
    }

    fn code(err: &Error) -> (StatusCode, &'static str) {
        match err {
            Error::Api { status, code, .. } => (*status, code),
            other => panic!("not an API error: {other}"),
        }
    }

    #[tokio::test]
    async fn token_roundtrip_scope_and_revocation() {
        let (_dir, db) = db().await;
        let (token, record) = create_token(
            &db,
            &NewToken { name: "state".into(), sources: Some(vec!["student_attendance".into()]), ..NewToken::default() },
        )
        .await
        .unwrap();
        assert!(token.starts_with("cqe_") && token.len() == 4 + 12 + 1 + 64);
        assert_ne!(record.hash, token.as_bytes());
        let who = authenticate(&db, Some(&format!("Bearer {token}"))).await.unwrap();
        assert_eq!(who.token_name, "state");
        assert!(who.allows("student_attendance") && !who.allows("school_master"));
        assert!(db.token_by_id(&who.token_id).await.unwrap().unwrap().last_used_at.is_some());
        // same id, wrong secret
        let forged = format!("{}{}", &token[..token.len() - 1], if token.ends_with('0') { '1' } else { '0' });
        assert_eq!(
            code(&authenticate(&db, Some(&format!("Bearer {forged}"))).await.unwrap_err()).0,
            StatusCode::UNAUTHORIZED
        );
        assert!(db.revoke_token("state", now_ms()).await.unwrap());
        assert_eq!(code(&authenticate(&db, Some(&format!("Bearer {token}"))).await.unwrap_err()).1, "unauthorized");
        // the name is free again after revocation, but not while live
        create_token(&db, &NewToken { name: "state".into(), ..NewToken::default() }).await.unwrap();
        assert!(create_token(&db, &NewToken { name: "state".into(), ..NewToken::default() }).await.is_err());
    }

    #[tokio::test]
    async fn expired_and_malformed_tokens_are_refused() {
        let (_dir, db) = db().await;
        let (token, _) =
            create_token(&db, &NewToken { name: "old".into(), expires_in_seconds: Some(0), ..NewToken::default() })
                .await
                .unwrap();
        assert!(authenticate(&db, Some(&format!("Bearer {token}"))).await.is_err());
        for header in [None, Some("Basic abc"), Some("Bearer nope"), Some("Bearer ")] {
            assert_eq!(code(&authenticate(&db, header).await.unwrap_err()), (StatusCode::UNAUTHORIZED, "unauthorized"));
        }
    }

    #[tokio::test]
    async fn users_log_in_with_argon2_passwords() {
        let (_dir, db) = db().await;
        assert!(create_user(&db, "emitter", "short", None).await.is_err());
        create_user(&db, "emitter", "correct horse battery", Some(&["school_master".into()])).await.unwrap();
        assert!(db.user("emitter").await.unwrap().unwrap().0.starts_with("$argon2id$"));
        assert!(login(&db, "emitter", "wrong password!!", 60).await.is_err());
        assert!(login(&db, "nobody", "correct horse battery", 60).await.is_err());
        let token = login(&db, "emitter", "correct horse battery", 60).await.unwrap();
        let who = authenticate(&db, Some(&format!("Bearer {token}"))).await.unwrap();
        assert!(who.allows("school_master") && !who.allows("student_attendance") && !who.admin);
    }
}
