//! Console sessions: a cookie `KIND.TOKEN_ID.ISSUED.EXPIRES.MAC`, signed with HMAC-SHA256 under a secret kept in
//! the database (so every replica shares it), and a CSRF token derived from the cookie under the same secret.
//! The cookie names the token the person signed in with, never its secret; each request checks that the token is
//! still live (revoking it ends the session) and that the token has not signed out since the cookie was issued.

use axum::http::{HeaderMap, HeaderValue, header};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The cookie's name.
pub(super) const COOKIE: &str = "cqube_console";

/// How the person signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// With an API token: signing out leaves the token alone.
    Token,
    /// As an emission user: the short-lived token issued at sign-in is revoked at sign-out.
    User,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Token => "t",
            Kind::User => "u",
        }
    }
}

/// What a valid cookie says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Claims {
    pub kind: Kind,
    pub token_id: String,
    /// Unix milliseconds.
    pub issued_at: i64,
    /// Unix milliseconds.
    pub expires_at: i64,
}

fn mac(secret: &[u8], purpose: &str, text: &str) -> HmacSha256 {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(purpose.as_bytes());
    mac.update(&[0]);
    mac.update(text.as_bytes());
    mac
}

/// The cookie value for `claims`.
pub(super) fn sign(secret: &[u8], claims: &Claims) -> String {
    let body = format!("{}.{}.{}.{}", claims.kind.tag(), claims.token_id, claims.issued_at, claims.expires_at);
    let tag = hex::encode(mac(secret, "session", &body).finalize().into_bytes());
    format!("{body}.{tag}")
}

/// The claims of a cookie value signed under `secret` and not expired at `now`.
pub(super) fn verify(secret: &[u8], value: &str, now: i64) -> Option<Claims> {
    let (body, tag) = value.rsplit_once('.')?;
    let tag = hex::decode(tag).ok()?;
    mac(secret, "session", body).verify_slice(&tag).ok()?;
    let mut fields = body.split('.');
    let kind = match fields.next()? {
        "t" => Kind::Token,
        "u" => Kind::User,
        _ => return None,
    };
    let token_id = fields.next()?.to_owned();
    let issued_at: i64 = fields.next()?.parse().ok()?;
    let expires_at: i64 = fields.next()?.parse().ok()?;
    (fields.next().is_none() && expires_at > now).then_some(Claims { kind, token_id, issued_at, expires_at })
}

/// The CSRF token of the session whose cookie value is `cookie`: a form without it is refused.
pub(super) fn csrf_token(secret: &[u8], cookie: &str) -> String {
    hex::encode(mac(secret, "csrf", cookie).finalize().into_bytes())
}

/// The console cookie's value among the request's `Cookie` headers.
pub(super) fn from_request(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// `Set-Cookie` for a session: only sent back to the console's path, invisible to scripts, never on cross-site
/// requests, only over HTTPS when the console is served over it.
pub(super) fn set_cookie(value: &str, path: &str, max_age_seconds: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{COOKIE}={value}; Path={path}; Max-Age={max_age_seconds}; HttpOnly; SameSite=Strict{secure}");
    // The value is hex, digits and dots, the path checked by `ServerConfig::validate`.
    HeaderValue::from_str(&text).expect("cookie text is visible ASCII")
}

/// `Set-Cookie` that removes the session cookie.
pub(super) fn clear_cookie(path: &str, secure: bool) -> HeaderValue {
    set_cookie("", path, 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn claims(expires_at: i64) -> Claims {
        Claims { kind: Kind::User, token_id: "a1b2c3d4e5f6".into(), issued_at: 1_000, expires_at }
    }

    #[test]
    fn cookies_verify_until_they_expire() {
        let value = sign(SECRET, &claims(2_000));
        assert!(!value.contains("secret"));
        assert_eq!(verify(SECRET, &value, 1_999), Some(claims(2_000)));
        assert_eq!(verify(SECRET, &value, 2_000), None);
        assert_eq!(verify(b"another secret", &value, 0), None);
    }

    #[test]
    fn tampered_cookies_are_refused() {
        let value = sign(SECRET, &claims(2_000));
        let longer = value.replacen(".2000.", ".9999999999999.", 1);
        let older = value.replacen(".1000.", ".999.", 1);
        let other_kind = format!("t{}", &value[1..]);
        let other_token = value.replacen("a1b2", "ffff", 1);
        for forged in [longer.as_str(), &older, &other_kind, &other_token, "", ".", "u.x.1", &value[..value.len() - 2]]
        {
            assert_eq!(verify(SECRET, forged, 0), None, "{forged}");
        }
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let one = sign(SECRET, &claims(2_000));
        let two = sign(SECRET, &claims(3_000));
        let token = csrf_token(SECRET, &one);
        assert_eq!(token, csrf_token(SECRET, &one));
        assert_eq!(token.len(), 64);
        assert_ne!(token, csrf_token(SECRET, &two));
        assert_ne!(token, csrf_token(b"another secret", &one));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; cqube_console_x=2"));
        headers.append(header::COOKIE, HeaderValue::from_static("b=3;cqube_console=v.1.2.abc"));
        assert_eq!(from_request(&headers), Some("v.1.2.abc"));
        let text = set_cookie("v", "/console", 60, true);
        assert_eq!(
            text.to_str().unwrap(),
            "cqube_console=v; Path=/console; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
    }
}
