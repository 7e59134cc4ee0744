//! The web console at `console_path` (default `/console`): server-rendered pages over the server's state for the
//! people who run it (docs/console.md). Sign-in with an API token or an emission user's password; pages work
//! without JavaScript; the one stylesheet is compiled into the binary.

mod chart;
mod data;
mod pages;
mod session;
mod view;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::{get, post};
use chrono_tz::Tz;

use crate::auth::{Principal, now_ms};
use crate::{AppState, ServerConfig};

/// Nests the console's routes under `console_path` when `console` is on.
pub(crate) fn mount(router: Router<AppState>, config: &ServerConfig) -> Router<AppState> {
    if !config.console {
        return router;
    }
    let console = Router::new()
        .route("/", get(pages::overview))
        .route("/sign-in", get(pages::sign_in_form).post(pages::sign_in))
        .route("/sign-out", post(pages::sign_out))
        .route("/emissions", get(pages::emissions))
        .route("/emissions/{id}", get(pages::emission))
        .route("/emissions/{id}/download", get(pages::download))
        .route("/uploads", get(pages::uploads))
        .route("/charts", get(pages::charts))
        .route("/quality", get(pages::quality))
        .route("/tokens", get(pages::tokens).post(pages::create_token))
        .route("/tokens/revoke", post(pages::revoke_token))
        .route("/users", post(pages::create_user))
        .route("/users/remove", post(pages::remove_user))
        .route("/console.css", get(pages::stylesheet))
        .fallback(pages::not_found)
        .method_not_allowed_fallback(pages::not_allowed);
    let base = config.console_path.clone();
    let home = format!("{base}/");
    // `/console/` is where people type; the nested router itself only sees paths below it.
    router.route(&home, get(move || std::future::ready(view::redirect(&base)))).nest(&config.console_path, console)
}

/// What every console page needs from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct Ui {
    /// The console's path, e.g. `/console`.
    base: String,
    tz: Tz,
    /// Cookies only over HTTPS: served with TLS, or behind a proxy at an `https://` public URL.
    secure: bool,
    session_seconds: u64,
    /// `scheme://host[:port]` of `public_url`: the origin browsers send from behind a proxy that rewrites `Host`.
    public_origin: Option<String>,
}

impl Ui {
    fn new(config: &ServerConfig) -> Ui {
        Ui {
            base: config.console_path.clone(),
            // `ServerConfig::validate` has checked the name.
            tz: config.console_time_zone.parse().unwrap_or(Tz::UTC),
            secure: config.tls.is_some() || config.public_url.as_deref().is_some_and(|u| u.starts_with("https://")),
            session_seconds: config.console_session_seconds,
            public_origin: config.public_url.as_deref().and_then(|url| {
                let (scheme, rest) = url.split_once("://")?;
                Some(format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest)))
            }),
        }
    }

    /// Whether a form was posted from the console's own pages: browsers send `Origin` with every POST, and a page
    /// of another site cannot make it ours. Requests without one (non-browser clients) still need the CSRF token.
    fn same_origin(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
        if self.public_origin.as_deref() == Some(origin) {
            return true;
        }
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host = origin.split_once("://").map(|(_, rest)| rest);
        host.is_some() && origin_host == host
    }
}

/// A signed-in person: the token behind the session cookie, live at this request.
#[derive(Debug)]
pub(crate) struct Session {
    who: Principal,
    kind: session::Kind,
    /// The token every form of this session must carry.
    csrf: String,
    ui: Ui,
}

impl FromRequestParts<AppState> for Session {
    /// The sign-in page for anyone without a live session.
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Session, Response> {
        let ui = Ui::new(state.config());
        let signed_out = || view::redirect(&format!("{}/sign-in", ui.base));
        let Some(cookie) = session::from_request(&parts.headers) else { return Err(signed_out()) };
        let secret = data::session_secret(state.db()).await.map_err(|e| view::internal(&ui, None, &e))?;
        let now = now_ms();
        let Some(claims) = session::verify(&secret, cookie, now) else { return Err(signed_out()) };
        let failed = |e: crate::Error| view::internal(&ui, None, &e);
        let signed_out_at = data::signed_out_at(state.db(), &claims.token_id).await.map_err(failed)?;
        if signed_out_at.is_some_and(|at| claims.issued_at < at) {
            return Err(signed_out());
        }
        let Some(who) = data::live_principal(state.db(), &claims.token_id, now).await.map_err(failed)? else {
            return Err(signed_out());
        };
        tracing::Span::current().record("token_id", who.token_id.as_str());
        let csrf = session::csrf_token(&secret, cookie);
        Ok(Session { who, kind: claims.kind, csrf, ui })
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn posts_from_other_origins_are_told_apart() {
        let headers = |origin: Option<&'static str>| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8470"));
            if let Some(o) = origin {
                h.insert(header::ORIGIN, HeaderValue::from_static(o));
            }
            h
        };
        let direct = Ui::new(&ServerConfig::default());
        assert_eq!(direct.public_origin, None);
        assert!(direct.same_origin(&headers(None)));
        assert!(direct.same_origin(&headers(Some("http://127.0.0.1:8470"))));
        assert!(!direct.same_origin(&headers(Some("http://127.0.0.1:8471"))));
        assert!(!direct.same_origin(&headers(Some("https://evil.example"))));
        assert!(!direct.same_origin(&headers(Some("null"))));
        // behind a proxy that passes its own Host: the public URL's origin is ours too
        for url in ["https://emission.example.org", "https://emission.example.org/", "https://emission.example.org/x"] {
            let proxied = Ui::new(&ServerConfig { public_url: Some(url.into()), ..ServerConfig::default() });
            assert_eq!(proxied.public_origin.as_deref(), Some("https://emission.example.org"), "{url}");
            assert!(proxied.same_origin(&headers(Some("https://emission.example.org"))));
            assert!(!proxied.same_origin(&headers(Some("http://emission.example.org"))));
            assert!(!proxied.same_origin(&headers(Some("https://emission.example.org.evil"))));
        }
    }
}
