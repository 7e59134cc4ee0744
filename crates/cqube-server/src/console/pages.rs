//! The console's handlers, each rendering one page.

// A refused request is answered with a page as much as an accepted one: both sides of `Page` are responses, as in
// axum's own `Result<Response, Response>` handlers.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use maud::{Markup, html};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::chart::{self, Bar};
use super::data::{self, EmissionQuery, SCAN_LIMIT};
use super::session::{self, Claims, Kind};
use super::view::{self, Section, age, bytes, count, day_start, plural, time};
use super::{Session, Ui};
use crate::auth::{MIN_PASSWORD_CHARS, NewToken, now_ms};
use crate::db::{EmissionRecord, UploadRecord};
use crate::{AppState, Error};

/// A page, or the page that says why not.
type Page = Result<Response, Response>;

const STYLESHEET: &str = include_str!("assets/console.css");
/// Emissions per page of the listing.
const PAGE_SIZE: usize = 50;
/// Days the charts cover.
const CHART_DAYS: u32 = 30;
const REFUSED_FORM: &str = "This form was refused: it came from another site, or from a page of an earlier \
                            sign-in. Reload the page and try again.";

fn failed(session: &Session) -> impl FnOnce(Error) -> Response + '_ {
    move |err| view::internal(&session.ui, Some(session), &err)
}

fn link(base: &str, path: &str, query: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(query).unwrap_or_default();
    if query.is_empty() { format!("{base}{path}") } else { format!("{base}{path}?{query}") }
}

/// Parses a posted form after checking that it carries the session's CSRF token and came from our own origin.
fn read_form<T: DeserializeOwned>(session: &Session, headers: &HeaderMap, body: &[u8]) -> Result<T, Response> {
    #[derive(Deserialize)]
    struct Csrf {
        #[serde(default)]
        csrf: String,
    }
    let presented = serde_urlencoded::from_bytes::<Csrf>(body).map(|c| c.csrf).unwrap_or_default();
    let valid = session.ui.same_origin(headers) && bool::from(presented.as_bytes().ct_eq(session.csrf.as_bytes()));
    if !valid {
        tracing::warn!(token_id = %session.who.token_id, "console form refused: wrong CSRF token or another origin");
        return Err(view::message(&session.ui, Some(session), StatusCode::FORBIDDEN, REFUSED_FORM));
    }
    serde_urlencoded::from_bytes(body).map_err(|e| {
        view::message(&session.ui, Some(session), StatusCode::BAD_REQUEST, &format!("The form could not be read: {e}."))
    })
}

fn sign_in_page(ui: &Ui, status: StatusCode, problem: Option<&str>) -> Response {
    let action = format!("{}/sign-in", ui.base);
    let body = html! {
        @if let Some(problem) = problem { p.problem role="alert" { (problem) } }
        section aria-labelledby="with-token" {
            h2 #with-token { "With an API token" }
            form method="post" action=(action) {
                label for="token" { "Token" }
                input #token type="password" name="token" autocomplete="off" required;
                button type="submit" { "Sign in" }
            }
        }
        section aria-labelledby="as-user" {
            h2 #as-user { "As an emission user" }
            form method="post" action=(action) {
                label for="user" { "User name" }
                input #user type="text" name="user" autocomplete="username" required;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
        }
    };
    view::respond(status, view::page(ui, None, Section::Outside, "Sign in", &body))
}

pub(super) async fn sign_in_form(State(state): State<AppState>) -> Response {
    sign_in_page(&Ui::new(state.config()), StatusCode::OK, None)
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    token: Option<String>,
    user: Option<String>,
    password: Option<String>,
}

/// Signs in with a token or a user's password and sets the session cookie. The token itself goes no further
/// than this handler: the cookie names its id.
pub(super) async fn sign_in(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let ui = Ui::new(state.config());
    if !ui.same_origin(&headers) {
        return view::message(&ui, None, StatusCode::FORBIDDEN, REFUSED_FORM);
    }
    let Ok(form) = serde_urlencoded::from_bytes::<SignInForm>(&body) else {
        return sign_in_page(&ui, StatusCode::BAD_REQUEST, Some("The form could not be read; try again."));
    };
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let db = state.db();
    let signed_in = match (given(&form.token), given(&form.user)) {
        (Some(token), _) => data::sign_in_with_token(db, &token).await.map(|who| (Kind::Token, who.token_id)),
        (None, Some(user)) => {
            let password = form.password.as_deref().unwrap_or_default();
            data::sign_in_as_user(db, &user, password, ui.session_seconds).await.map(|id| (Kind::User, id))
        }
        (None, None) => {
            let problem = "Enter a token, or a user name and password.";
            return sign_in_page(&ui, StatusCode::BAD_REQUEST, Some(problem));
        }
    };
    let (kind, token_id) = match signed_in {
        Ok(signed_in) => signed_in,
        Err(Error::Api { .. }) => {
            tracing::warn!("console sign-in refused");
            let problem = "Sign-in failed: the token is unknown, revoked or expired, or the user name or password is \
                           wrong.";
            return sign_in_page(&ui, StatusCode::UNAUTHORIZED, Some(problem));
        }
        Err(err) => return view::internal(&ui, None, &err),
    };
    let secret = match data::session_secret(db).await {
        Ok(secret) => secret,
        Err(err) => return view::internal(&ui, None, &err),
    };
    let issued_at = now_ms();
    let expires_at = issued_at.saturating_add(i64::try_from(ui.session_seconds).unwrap_or(i64::MAX / 1000) * 1000);
    let cookie = session::sign(&secret, &Claims { kind, token_id: token_id.clone(), issued_at, expires_at });
    tracing::info!(token_id = %token_id, "console sign-in");
    let mut res = view::redirect(&ui.base);
    res.headers_mut().append(header::SET_COOKIE, session::set_cookie(&cookie, &ui.base, ui.session_seconds, ui.secure));
    res
}

/// Ends the session: the cookie is removed, cookies issued to the token so far stop working, and a user's session
/// token is revoked.
pub(super) async fn sign_out(State(state): State<AppState>, session: Session, headers: HeaderMap, body: Bytes) -> Page {
    let _: serde::de::IgnoredAny = read_form(&session, &headers, &body)?;
    let now = now_ms();
    data::record_sign_out(state.db(), &session.who.token_id, now).await.map_err(failed(&session))?;
    if session.kind == Kind::User {
        data::revoke_by_id(state.db(), &session.who.token_id, now).await.map_err(failed(&session))?;
    }
    tracing::info!(token_id = %session.who.token_id, "console sign-out");
    let ui = &session.ui;
    let mut res = view::redirect(&format!("{}/sign-in", ui.base));
    res.headers_mut().append(header::SET_COOKIE, session::clear_cookie(&ui.base, ui.secure));
    Ok(res)
}

fn totals_row(label: &Markup, t: &data::Totals) -> Markup {
    html! {
        th scope="row" { (label) }
        td.num { (count(t.emissions)) }
        td.num { (count(t.rows)) }
        td.num title=(format!("{} bytes", count(t.bytes))) { (bytes(t.bytes)) }
    }
}

/// A table of uploads; with `sizes` (one per upload), a column of the bytes the store holds for each.
fn upload_table(ui: &Ui, caption: &str, uploads: &[UploadRecord], now: i64, sizes: Option<&[Option<u64>]>) -> Markup {
    html! {
        @if uploads.is_empty() {
            p { "None." }
        } @else {
            div.scroll {
                table {
                    caption.visually-hidden { (caption) }
                    thead { tr {
                        th scope="col" { "Started" } th scope="col" { "Age" } th scope="col" { "Source" }
                        th scope="col" { "Token" } th scope="col" { "State" }
                        @if sizes.is_some() { th.num scope="col" { "Bytes so far" } }
                        th scope="col" { "Expires" } th scope="col" { "Key" } th scope="col" { "Upload id" }
                    } }
                    tbody {
                        @for (i, u) in uploads.iter().enumerate() { tr {
                            td { (time(ui.tz, u.created_at)) }
                            td { (age(now - u.created_at)) }
                            td { (u.source) }
                            td { (u.token_name) }
                            td { (u.state) }
                            @if let Some(sizes) = sizes {
                                @match sizes.get(i).copied().flatten() {
                                    Some(n) => { td.num title=(format!("{} bytes", count(n))) { (bytes(n)) } }
                                    None => { td.num { "unknown" } }
                                }
                            }
                            td { (time(ui.tz, u.expires_at)) }
                            td.key { (u.key) }
                            td.key { (u.id) }
                        } }
                    }
                }
            }
        }
    }
}

pub(super) async fn overview(State(state): State<AppState>, session: Session) -> Page {
    let now = now_ms();
    let o = data::overview(state.db(), &state.inner.catalog, &session.who, now).await.map_err(failed(&session))?;
    let ui = &session.ui;
    let uploads = format!("{}/uploads", ui.base);
    let body = html! {
        @for (id, heading, window) in [("day", "Last 24 hours", &o.day), ("week", "Last 7 days", &o.week)] {
            section aria-labelledby=(id) {
                h2 #(id) { (heading) }
                p.summary {
                    (plural(window.total.emissions, "emission")) ", " (plural(window.total.rows, "row")) ", "
                    (bytes(window.total.bytes)) ". "
                    a href=(uploads) { (window.failed) " failed and " (window.aborted) " aborted uploads" } "."
                }
                @if !window.per_source.is_empty() {
                    div.scroll { table {
                        caption.visually-hidden { "Emissions per source, " (heading) }
                        thead { tr {
                            th scope="col" { "Source" } th.num scope="col" { "Emissions" }
                            th.num scope="col" { "Rows" } th.num scope="col" { "Bytes" }
                        } }
                        tbody { @for (source, totals) in &window.per_source {
                            @let href = link(&ui.base, "/emissions", &[("source", source)]);
                            tr { (totals_row(&html! { a href=(href) { (source) } }, totals)) }
                        } }
                        tfoot { tr { (totals_row(&html! { "Total" }, &window.total)) } }
                    } }
                }
            }
        }
        section aria-labelledby="missing" {
            h2 #missing { "Not arrived in the last 24 hours" }
            @if o.missing.is_empty() {
                p { "Every catalog source arrived." }
            } @else {
                ul.missing { @for (source, last) in &o.missing {
                    li {
                        strong { (source) } ": "
                        @match last {
                            Some(at) => { "last emission " (time(ui.tz, *at)) }
                            None => { "none in the last 7 days" }
                        }
                    }
                } }
            }
        }
        section aria-labelledby="troubles" {
            h2 #troubles { "Failed and aborted uploads, last 7 days" }
            (upload_table(ui, "Failed and aborted uploads", &o.troubles, now, None))
        }
    };
    Ok(view::respond(StatusCode::OK, view::page(ui, Some(&session), Section::Overview, "Overview", &body)))
}

/// The emission listing's query string; every field optional, empty meaning unset.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
struct EmissionParams {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    source: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    token_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    from: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    to: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    page: String,
}

impl EmissionParams {
    fn with_page(&self, page: usize) -> String {
        let params = EmissionParams { page: page.to_string(), ..self.clone() };
        serde_urlencoded::to_string(params).unwrap_or_default()
    }
}

/// Checks the filters; the query for the store, the page number, or every problem found.
fn emission_query(
    params: &EmissionParams,
    session: &Session,
    catalog: &cqube_core::Catalog,
) -> Result<(EmissionQuery, usize), Vec<String>> {
    let mut problems = Vec::new();
    let mut query = EmissionQuery::default();
    let source = params.source.trim();
    if !source.is_empty() {
        if catalog.get(source).is_none() {
            problems.push(format!("source: {source:?} is not a data source in the catalog."));
        } else if !session.who.allows(source) {
            problems.push(format!("source: this sign-in may not see {source:?}."));
        } else {
            query.source = Some(source.to_owned());
        }
    }
    let token_name = params.token_name.trim();
    query.token_name = (!token_name.is_empty()).then(|| token_name.to_owned());
    let mut date = |field: &str, text: &str| -> Option<NaiveDate> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let parsed = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
        if parsed.is_none() {
            problems.push(format!("{field}: a date is written YYYY-MM-DD, got {text:?}."));
        }
        parsed
    };
    let from = date("from", &params.from);
    let to = date("to", &params.to);
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        problems.push(format!("to: {to} is before from ({from})."));
    }
    let tz = session.ui.tz;
    query.since = from.map(|d| day_start(tz, d));
    query.until = to.and_then(|d| d.succ_opt()).map(|d| day_start(tz, d));
    let page = match params.page.trim() {
        "" => 1,
        text => text.parse::<usize>().ok().filter(|p| *p >= 1).unwrap_or_else(|| {
            problems.push(format!("page: a page is a number from 1, got {text:?}."));
            1
        }),
    };
    if problems.is_empty() { Ok((query, page)) } else { Err(problems) }
}

fn emission_filters(ui: &Ui, params: &EmissionParams, sources: &[&str]) -> Markup {
    html! {
        form.filters method="get" action={ (ui.base) "/emissions" } {
            div {
                label for="source" { "Source" }
                select #source name="source" {
                    option value="" { "Any" }
                    @for s in sources { option value=(s) selected[params.source == *s] { (s) } }
                }
            }
            div {
                label for="token_name" { "Token name" }
                input #token_name type="text" name="token_name" value=(params.token_name);
            }
            div {
                label for="from" { "From (" (ui.tz.name()) ")" }
                input #from type="date" name="from" value=(params.from);
            }
            div {
                label for="to" { "To, inclusive" }
                input #to type="date" name="to" value=(params.to);
            }
            div { button type="submit" { "Filter" } }
        }
    }
}

fn emission_table(ui: &Ui, list: &[&EmissionRecord]) -> Markup {
    html! {
        div.scroll { table {
            caption.visually-hidden { "Emissions, newest first" }
            thead { tr {
                th scope="col" { "Completed" } th scope="col" { "Source" } th scope="col" { "Token" }
                th.num scope="col" { "Rows" } th.num scope="col" { "Bytes" } th scope="col" { "SHA-256" }
                th scope="col" { "Key" }
            } }
            tbody { @for e in list { tr {
                td { (time(ui.tz, e.completed_at)) }
                td { (e.source) }
                td { (e.token_name) }
                td.num { (count(e.rows)) }
                td.num title=(format!("{} bytes", count(e.bytes))) { (bytes(e.bytes)) }
                td { code title=(e.sha256) { (e.sha256.get(..12).unwrap_or(&e.sha256)) "…" } }
                td.key { a href={ (ui.base) "/emissions/" (e.id) } { (e.key) } }
            } } }
        } }
    }
}

pub(super) async fn emissions(State(state): State<AppState>, session: Session, RawQuery(query): RawQuery) -> Page {
    let catalog = &state.inner.catalog;
    let (params, parsed) = match serde_urlencoded::from_str::<EmissionParams>(query.as_deref().unwrap_or_default()) {
        Ok(params) => {
            let parsed = emission_query(&params, &session, catalog);
            (params, parsed)
        }
        Err(e) => (EmissionParams::default(), Err(vec![format!("The filter could not be read: {e}.")])),
    };
    let ui = &session.ui;
    let sources: Vec<&str> =
        catalog.sources().iter().map(|s| s.name.as_str()).filter(|s| session.who.allows(s)).collect();
    let filters = emission_filters(ui, &params, &sources);
    let (query, page) = match parsed {
        Ok(parsed) => parsed,
        Err(problems) => {
            let body = html! {
                (filters)
                div.problem role="alert" {
                    p { "These filters cannot be used:" }
                    ul { @for p in &problems { li { (p) } } }
                }
            };
            let page = view::page(ui, Some(&session), Section::Emissions, "Emissions", &body);
            return Ok(view::respond(StatusCode::BAD_REQUEST, page));
        }
    };
    let (list, truncated) = data::emissions(state.db(), &session.who, &query).await.map_err(failed(&session))?;
    let pages = list.len().div_ceil(PAGE_SIZE).max(1);
    let shown: Vec<&EmissionRecord> = list.iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE).collect();
    let here = format!("{}/emissions", ui.base);
    let body = html! {
        (filters)
        @if truncated {
            p.problem role="status" {
                "More than " (count(SCAN_LIMIT.into())) " emissions match: narrow the filters to see them all."
            }
        }
        p.summary { (plural(list.len() as u64, "emission")) @if list.len() == 1 { " matches." } @else { " match." } }
        @if shown.is_empty() {
            p { @if page > pages { "There is no page " (page) "; there are " (pages) "." } @else { "No emissions." } }
        } @else {
            (emission_table(ui, &shown))
        }
        nav.pages aria-label="Pages" {
            @if page > 1 && page <= pages {
                a rel="prev" href={ (here) "?" (params.with_page(page - 1)) } { "Previous" }
            }
            span { "Page " (page) " of " (pages) }
            @if page < pages { a rel="next" href={ (here) "?" (params.with_page(page + 1)) } { "Next" } }
        }
    };
    Ok(view::respond(StatusCode::OK, view::page(ui, Some(&session), Section::Emissions, "Emissions", &body)))
}

fn no_emission(session: &Session) -> Response {
    let text = "There is no emission with this id that this sign-in may see.";
    view::message(&session.ui, Some(session), StatusCode::NOT_FOUND, text)
}

pub(super) async fn emission(State(state): State<AppState>, session: Session, Path(id): Path<String>) -> Page {
    let e = data::emission(state.db(), &session.who, &id)
        .await
        .map_err(failed(&session))?
        .ok_or_else(|| no_emission(&session))?;
    let ui = &session.ui;
    let minutes = state.config().presign_expiry_seconds.div_ceil(60);
    let downloadable = e.archived_key.is_none() || session.who.admin;
    let body = html! {
        dl.detail {
            dt { "Source" } dd { (e.source) }
            dt { "Token" } dd { (e.token_name) }
            dt { "Key" } dd.key { (e.bucket) "/" (e.key) }
            @if let Some(archived) = &e.archived_key {
                dt { "Archived to" } dd.key { (state.config().buckets.input) "/" (archived) }
            }
            dt { "Rows" } dd { (count(e.rows)) }
            dt { "Bytes" } dd { (count(e.bytes)) " (" (bytes(e.bytes)) ")" }
            dt { "SHA-256" } dd { code.key { (e.sha256) } }
            dt { "Started" } dd { (time(ui.tz, e.started_at)) }
            dt { "Completed" } dd { (time(ui.tz, e.completed_at)) " (after " (age(e.completed_at - e.started_at)) ")" }
            dt { "Watermark" } dd {
                @match &e.watermark { Some(w) => { code { (w.column) } " = " code { (w.value) } } None => { "none" } }
            }
            dt { "Upload id" } dd.key { (e.upload_id.as_deref().unwrap_or("none (a presigned POST)")) }
            dt { "Emission id" } dd.key { (e.id) }
        }
        @if downloadable {
            p { a.button href={ (ui.base) "/emissions/" (e.id) "/download" } { "Download" }
                " A link valid for " (minutes) " minutes is made when you click." }
        } @else {
            p { "The emission was archived to the input bucket, which only an admin sign-in may read." }
        }
    };
    Ok(view::respond(StatusCode::OK, view::page(ui, Some(&session), Section::Emissions, "Emission", &body)))
}

/// Sends the browser to a presigned GET of the emission's object, made now.
pub(super) async fn download(State(state): State<AppState>, session: Session, Path(id): Path<String>) -> Page {
    let e = data::emission(state.db(), &session.who, &id)
        .await
        .map_err(failed(&session))?
        .ok_or_else(|| no_emission(&session))?;
    let config = state.config();
    let (bucket, key) = match &e.archived_key {
        None => (e.bucket.as_str(), e.key.as_str()),
        Some(archived) if session.who.admin => (config.buckets.input.as_str(), archived.as_str()),
        Some(_) => {
            return Err(view::message(
                &session.ui,
                Some(&session),
                StatusCode::FORBIDDEN,
                "Archived emissions need an admin sign-in.",
            ));
        }
    };
    let expiry = Duration::from_secs(config.presign_expiry_seconds);
    let url = state.storage().presign_get(bucket, key, expiry).await.map_err(failed(&session))?;
    tracing::info!(token_id = %session.who.token_id, emission_id = %e.id, "console download link issued");
    Ok(view::redirect(&url))
}

/// In-progress uploads whose stored bytes the uploads page asks the store for, newest first.
const SIZED_UPLOADS: usize = 100;

/// What the store holds of an upload so far (the newest upload of each part); `None` where the store could not
/// say, which the page shows rather than failing.
async fn bytes_so_far(state: &AppState, upload: &UploadRecord) -> Option<u64> {
    match state.storage().list_parts(&upload.bucket, &upload.key, &upload.store_upload_id).await {
        Ok(parts) => Some(cqube_protocol::newest_parts(parts).iter().map(|p| p.size_bytes).sum()),
        Err(err) => {
            tracing::warn!(upload_id = %upload.id, error = %err, "console could not list an upload's parts");
            None
        }
    }
}

pub(super) async fn uploads(State(state): State<AppState>, session: Session) -> Page {
    let now = now_ms();
    let u = data::uploads(state.db(), &session.who, now).await.map_err(failed(&session))?;
    let mut sizes = Vec::new();
    // eight store requests at a time
    for batch in u.in_progress[..u.in_progress.len().min(SIZED_UPLOADS)].chunks(8) {
        sizes.extend(futures_util::future::join_all(batch.iter().map(|upload| bytes_so_far(&state, upload))).await);
    }
    let ui = &session.ui;
    let sections = [
        ("in-progress", "In progress", &u.in_progress, Some(sizes.as_slice())),
        ("expired", "Expired, waiting for the sweeper to abort them", &u.expired, None),
        ("failed", "Failed: the store lost them", &u.failed, None),
        ("aborted", "Aborted", &u.aborted, None),
    ];
    let body = html! {
        p { "Multipart uploads that have not completed, newest first. Completed ones are on the "
            a href={ (ui.base) "/emissions" } { "emissions" } " page." }
        @for (id, heading, list, sizes) in sections {
            section aria-labelledby=(id) {
                h2 #(id) { (heading) " (" (list.len()) ")" }
                (upload_table(ui, heading, list, now, sizes))
            }
        }
    };
    Ok(view::respond(StatusCode::OK, view::page(ui, Some(&session), Section::Uploads, "Uploads", &body)))
}

pub(super) async fn charts(State(state): State<AppState>, session: Session) -> Page {
    let ui = &session.ui;
    let today = chrono::Utc::now().with_timezone(&ui.tz).date_naive();
    let daily = data::daily(state.db(), &session.who, ui.tz, today, CHART_DAYS).await.map_err(failed(&session))?;
    let day = |d: &NaiveDate| d.format("%Y-%m-%d").to_string();
    let short = |d: &NaiveDate| d.format("%d %b").to_string();
    let body = html! {
        p { "Rows and bytes per day over the last " (CHART_DAYS) " days, by the day (" (ui.tz.name())
            ") each emission completed. Hover over a bar for its numbers; every chart's numbers are in the table \
            under it." }
        @if daily.sources.is_empty() { p { "No emissions in the last " (CHART_DAYS) " days." } }
        @for s in &daily.sources {
            @let rows: Vec<Bar> = daily.days.iter().zip(&s.days).map(|(d, t)| Bar {
                value: t.rows, label: short(d), title: format!("{}: {} rows", day(d), count(t.rows)) }).collect();
            @let sizes: Vec<Bar> = daily.days.iter().zip(&s.days).map(|(d, t)| Bar {
                value: t.bytes, label: short(d), title: format!("{}: {}", day(d), bytes(t.bytes)) }).collect();
            section.source aria-labelledby={ "chart-" (s.source) } {
                h2 id={ "chart-" (s.source) } { (s.source) }
                div.charts {
                    figure {
                        (chart::bars(&format!("Rows per day, {}", s.source), &rows, count))
                        figcaption { "Rows per day" }
                    }
                    figure {
                        (chart::bars(&format!("Bytes per day, {}", s.source), &sizes, bytes))
                        figcaption { "Bytes per day" }
                    }
                }
                details {
                    summary { "Numbers for " (s.source) }
                    div.scroll { table {
                        thead { tr {
                            th scope="col" { "Day" } th.num scope="col" { "Emissions" }
                            th.num scope="col" { "Rows" } th.num scope="col" { "Bytes" }
                        } }
                        tbody { @for (d, t) in daily.days.iter().zip(&s.days) {
                            tr { (totals_row(&html! { (day(d)) }, t)) }
                        } }
                    } }
                }
            }
        }
    };
    Ok(view::respond(StatusCode::OK, view::page(ui, Some(&session), Section::Charts, "Charts", &body)))
}

/// Reject rate as a percentage with one decimal, or a dash without rows.
fn rate(rejected: u64, read: u64) -> String {
    if read == 0 {
        "–".into()
    } else {
        #[allow(clippy::cast_precision_loss)] // a percentage shown with one decimal
        let percent = rejected as f64 * 100.0 / read as f64;
        format!("{percent:.1} %")
    }
}

pub(super) async fn quality(State(state): State<AppState>, session: Session) -> Page {
    let ui = &session.ui;
    let today = chrono::Utc::now().with_timezone(&ui.tz).date_naive();
    let q = data::quality(state.db(), &session.who, ui.tz, today, CHART_DAYS).await.map_err(failed(&session))?;
    let day = |d: &NaiveDate| d.format("%Y-%m-%d").to_string();
    let body = html! {
        p { "What the emitters' checks left out (rejected: rows cQube's ingestion would drop) and flagged (warned: \
            rows sent that break a check cQube does not enforce), over the last " (CHART_DAYS) " days, by the day ("
            (ui.tz.name()) ") each emission completed. Emitters send these counts with each completion; emissions \
            from emitters that do not are counted apart." }
        @if q.sources.is_empty() { p { "No emissions in the last " (CHART_DAYS) " days." } }
        @else {
            section aria-labelledby="quality-sources" {
                h2 #quality-sources { "Per source" }
                div.scroll { table {
                    thead { tr {
                        th scope="col" { "Source" } th.num scope="col" { "Emissions" }
                        th.num scope="col" { "With counts" } th.num scope="col" { "Rows read" }
                        th.num scope="col" { "Rejected" } th.num scope="col" { "Reject rate" }
                        th.num scope="col" { "Warned" }
                    } }
                    tbody { @for s in &q.sources { tr {
                        th scope="row" { (s.source) }
                        td.num { (count(s.emissions)) } td.num { (count(s.with_counts)) }
                        td.num { (count(s.rows_read)) } td.num { (count(s.rows_rejected)) }
                        td.num { (rate(s.rows_rejected, s.rows_read)) } td.num { (count(s.rows_warned)) }
                    } } }
                } }
            }
            section aria-labelledby="quality-rules" {
                h2 #quality-rules { "Top rules" }
                @if q.rules.is_empty() { p { "No rule was broken in the counts received." } }
                @else { div.scroll { table {
                    thead { tr {
                        th scope="col" { "Rule" } th scope="col" { "Column" } th scope="col" { "Severity" }
                        th.num scope="col" { "Rows" } th scope="col" { "Sources" }
                    } }
                    tbody { @for r in q.rules.iter().take(20) { tr {
                        td { code { (r.rule) } } td { (r.column.as_deref().unwrap_or("–")) } td { (r.severity) }
                        td.num { (count(r.rows)) } td { (r.sources.join(", ")) }
                    } } }
                } } }
            }
            section aria-labelledby="quality-days" {
                h2 #quality-days { "Reject rate per day" }
                div.scroll { table {
                    thead { tr {
                        th scope="col" { "Day" }
                        @for s in &q.sources { th.num scope="col" { (s.source) } }
                    } }
                    tbody { @for (i, d) in q.days.iter().enumerate().rev() {
                        @if q.sources.iter().any(|s| s.days[i].0 > 0) { tr {
                            th scope="row" { (day(d)) }
                            @for s in &q.sources {
                                td.num title={ (count(s.days[i].1)) " of " (count(s.days[i].0)) " rows rejected" } {
                                    (rate(s.days[i].1, s.days[i].0))
                                }
                            }
                        } }
                    } }
                } }
            }
        }
    };
    Ok(view::respond(StatusCode::OK, view::page(ui, Some(&session), Section::Quality, "Data quality", &body)))
}

/// What the tokens page says above its list after a form.
enum Notice {
    Created {
        name: String,
        token: String,
    },
    Revoked(String),
    /// An emission user's name and what was done to it ("created", "saved", "removed").
    User(String, &'static str),
    Problem(String),
}

fn require_admin(session: &Session) -> Result<(), Response> {
    if session.who.admin {
        Ok(())
    } else {
        Err(view::message(&session.ui, Some(session), StatusCode::FORBIDDEN, "The tokens page needs an admin sign-in."))
    }
}

async fn tokens_page(state: &AppState, session: &Session, status: StatusCode, notice: Option<&Notice>) -> Page {
    let tokens = data::tokens(state.db()).await.map_err(failed(session))?;
    let users = data::users(state.db()).await.map_err(failed(session))?;
    let ui = &session.ui;
    let now = now_ms();
    let body = html! {
        @match notice {
            Some(Notice::Created { name, token }) => {
                section.notice role="status" aria-labelledby="new-token" {
                    h2 #new-token { "New token " q { (name) } }
                    p { "Copy it now: it is shown only this once." }
                    p { code #new-token-value .key { (token) } }
                }
            }
            Some(Notice::Revoked(name)) => { p.notice role="status" { "Revoked " q { (name) } "." } }
            Some(Notice::User(name, done)) => { p.notice role="status" { "User " q { (name) } " " (done) "." } }
            Some(Notice::Problem(problem)) => { p.problem role="alert" { (problem) } }
            None => {}
        }
        section aria-labelledby="create" {
            h2 #create { "Create a token" }
            form.stacked method="post" action={ (ui.base) "/tokens" } {
                input type="hidden" name="csrf" value=(session.csrf);
                label for="name" { "Name" }
                input #name type="text" name="name" required maxlength="200";
                label for="sources" { "Sources, comma-separated (empty: all)" }
                input #sources type="text" name="sources" placeholder="student_attendance,school_master";
                label for="expires_days" { "Expires after, in days (empty: never)" }
                input #expires_days type="number" name="expires_days" min="1" max="3650";
                div.check {
                    input #admin type="checkbox" name="admin" value="on";
                    label for="admin" { "Admin: every endpoint and source, and this page" }
                }
                button type="submit" { "Create" }
            }
        }
        section aria-labelledby="list" {
            h2 #list { "Tokens" }
            div.scroll { table {
                caption.visually-hidden { "Tokens, newest first" }
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Id" } th scope="col" { "Kind" }
                    th scope="col" { "Sources" } th scope="col" { "Created" } th scope="col" { "Expires" }
                    th scope="col" { "Last used" } th scope="col" { "Status" } th scope="col" { "Action" }
                } }
                tbody { @for t in &tokens {
                    @let live = t.revoked_at.is_none() && t.expires_at.is_none_or(|at| at > now);
                    tr {
                        td { (t.name) }
                        td { code { (t.id) } }
                        td { @if t.admin { "admin" } @else { "emitter" } }
                        td { @match &t.sources { Some(s) => { (s.join(", ")) } None => { "all" } } }
                        td { (time(ui.tz, t.created_at)) }
                        td { @match t.expires_at { Some(at) => { (time(ui.tz, at)) } None => { "never" } } }
                        td { @match t.last_used_at { Some(at) => { (time(ui.tz, at)) } None => { "never" } } }
                        td { @if let Some(at) = t.revoked_at { "revoked " (time(ui.tz, at)) }
                             @else if live { "live" } @else { "expired" } }
                        td { @if t.revoked_at.is_none() {
                            form.inline method="post" action={ (ui.base) "/tokens/revoke" } {
                                input type="hidden" name="csrf" value=(session.csrf);
                                input type="hidden" name="name" value=(t.name);
                                button type="submit" aria-label={ "Revoke " (t.name) } { "Revoke" }
                            }
                        } }
                    }
                } }
            } }
        }
        section aria-labelledby="users" {
            h2 #users { "Emission users" }
            p { "Users trade their password for a short-lived token at " code { "POST /data/auth" } " or sign in here; \
                their tokens are listed above as " code { "NAME:session-…" } ". Replacing or removing a user revokes \
                those." }
            @if users.is_empty() { p { "No emission users." } }
            @else { div.scroll { table {
                caption.visually-hidden { "Emission users, by name" }
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Sources" } th scope="col" { "Created" }
                    th scope="col" { "Action" }
                } }
                tbody { @for (name, sources, created_at) in &users { tr {
                    td { (name) }
                    td { @match sources { Some(s) => { (s.join(", ")) } None => { "all" } } }
                    td { (time(ui.tz, *created_at)) }
                    td { form.inline method="post" action={ (ui.base) "/users/remove" } {
                        input type="hidden" name="csrf" value=(session.csrf);
                        input type="hidden" name="name" value=(name);
                        button type="submit" aria-label={ "Remove user " (name) } { "Remove" }
                    } }
                } } }
            } } }
        }
        section aria-labelledby="create-user" {
            h2 #create-user { "Create an emission user" }
            form.stacked method="post" action={ (ui.base) "/users" } {
                input type="hidden" name="csrf" value=(session.csrf);
                label for="user_name" { "Name (no colon)" }
                input #user_name type="text" name="name" required maxlength="200" autocomplete="off";
                label for="user_password" { "Password, at least " (MIN_PASSWORD_CHARS) " characters" }
                input #user_password type="password" name="password" required minlength=(MIN_PASSWORD_CHARS)
                    autocomplete="new-password";
                label for="user_sources" { "Sources, comma-separated (empty: all)" }
                input #user_sources type="text" name="sources" placeholder="student_attendance,school_master";
                div.check {
                    input #user_replace type="checkbox" name="replace" value="on";
                    label for="user_replace" { "Replace the user of this name: new password and sources" }
                }
                button type="submit" { "Create user" }
            }
        }
    };
    Ok(view::respond(status, view::page(ui, Some(session), Section::Tokens, "Tokens", &body)))
}

pub(super) async fn tokens(State(state): State<AppState>, session: Session) -> Page {
    require_admin(&session)?;
    tokens_page(&state, &session, StatusCode::OK, None).await
}

#[derive(Debug, Deserialize)]
struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    sources: String,
    #[serde(default)]
    expires_days: String,
    admin: Option<String>,
}

/// The sources of a comma-separated scope field (`None`, all, when empty), each checked against the catalog.
fn scope_field(text: &str, catalog: &cqube_core::Catalog, problems: &mut Vec<String>) -> Option<Vec<String>> {
    let sources: Vec<String> = text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    for source in &sources {
        if catalog.get(source).is_none() {
            problems.push(format!("sources: {}.", catalog.unknown_source(source)));
        }
    }
    (!sources.is_empty()).then_some(sources)
}

/// Checks the form against the catalog; the token to make, or every problem found.
fn new_token(form: &CreateForm, catalog: &cqube_core::Catalog) -> Result<NewToken, String> {
    let mut problems = Vec::new();
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        problems.push("name: give 1 to 200 characters.".to_owned());
    }
    let sources = scope_field(&form.sources, catalog, &mut problems);
    let expires_in_seconds = match form.expires_days.trim() {
        "" => None,
        text => {
            let days = text.parse::<u64>().ok().filter(|d| (1..=3650).contains(d));
            if days.is_none() {
                problems.push(format!("expires after: a number of days from 1 to 3650, got {text:?}."));
            }
            days.map(|d| d * 86_400)
        }
    };
    if !problems.is_empty() {
        return Err(problems.join(" "));
    }
    Ok(NewToken { name: name.to_owned(), sources, expires_in_seconds, admin: form.admin.is_some() })
}

/// Creates a token and shows it once, in this response only.
pub(super) async fn create_token(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Page {
    require_admin(&session)?;
    let form: CreateForm = read_form(&session, &headers, &body)?;
    let new = match new_token(&form, &state.inner.catalog) {
        Ok(new) => new,
        Err(problem) => {
            return tokens_page(&state, &session, StatusCode::BAD_REQUEST, Some(&Notice::Problem(problem))).await;
        }
    };
    match data::create_token(state.db(), &new).await {
        Ok((token, record)) => {
            tracing::info!(token_id = %record.id, by = %session.who.token_id, "console created a token");
            let notice = Notice::Created { name: record.name, token };
            tokens_page(&state, &session, StatusCode::CREATED, Some(&notice)).await
        }
        Err(Error::Admin(problem)) => {
            tokens_page(&state, &session, StatusCode::BAD_REQUEST, Some(&Notice::Problem(format!("{problem}.")))).await
        }
        Err(err) => Err(failed(&session)(err)),
    }
}

/// A form naming one token or user.
#[derive(Debug, Deserialize)]
struct RevokeForm {
    #[serde(default)]
    name: String,
}

pub(super) async fn revoke_token(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Page {
    require_admin(&session)?;
    let form: RevokeForm = read_form(&session, &headers, &body)?;
    let revoked = data::revoke_by_name(state.db(), &form.name, now_ms()).await.map_err(failed(&session))?;
    if revoked {
        tracing::info!(by = %session.who.token_id, "console revoked a token");
        tokens_page(&state, &session, StatusCode::OK, Some(&Notice::Revoked(form.name))).await
    } else {
        let problem = format!("There is no live token named {:?}.", form.name);
        tokens_page(&state, &session, StatusCode::NOT_FOUND, Some(&Notice::Problem(problem))).await
    }
}

#[derive(Debug, Deserialize)]
struct UserForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    sources: String,
    replace: Option<String>,
}

/// Creates an emission user (or replaces one, when asked to) with the store calls `cqube-emit user create` makes.
pub(super) async fn create_user(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Page {
    require_admin(&session)?;
    let form: UserForm = read_form(&session, &headers, &body)?;
    let problem = |text: String| Notice::Problem(text);
    let mut problems = Vec::new();
    let name = form.name.trim();
    let sources = scope_field(&form.sources, &state.inner.catalog, &mut problems);
    let replace = form.replace.is_some();
    if !name.is_empty() && !replace && data::user_exists(state.db(), name).await.map_err(failed(&session))? {
        problems.push(format!("name: a user named {name:?} exists; tick \"Replace\" to give it a new password."));
    }
    if !problems.is_empty() {
        return tokens_page(&state, &session, StatusCode::BAD_REQUEST, Some(&problem(problems.join(" ")))).await;
    }
    // The name and password rules are the CLI's, checked in `auth::create_user`.
    match data::create_user(state.db(), name, &form.password, sources.as_deref()).await {
        Ok(()) => {
            tracing::info!(by = %session.who.token_id, "console created or replaced an emission user");
            let done = if replace { "saved" } else { "created" };
            tokens_page(&state, &session, StatusCode::CREATED, Some(&Notice::User(name.to_owned(), done))).await
        }
        Err(Error::Admin(text)) => {
            tokens_page(&state, &session, StatusCode::BAD_REQUEST, Some(&problem(format!("{text}.")))).await
        }
        Err(err) => Err(failed(&session)(err)),
    }
}

/// Removes an emission user and ends the sessions it signed in for.
pub(super) async fn remove_user(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Page {
    require_admin(&session)?;
    let form: RevokeForm = read_form(&session, &headers, &body)?;
    if data::remove_user(state.db(), &form.name, now_ms()).await.map_err(failed(&session))? {
        tracing::info!(by = %session.who.token_id, "console removed an emission user");
        tokens_page(&state, &session, StatusCode::OK, Some(&Notice::User(form.name, "removed"))).await
    } else {
        let problem = format!("There is no emission user named {:?}.", form.name);
        tokens_page(&state, &session, StatusCode::NOT_FOUND, Some(&Notice::Problem(problem))).await
    }
}

pub(super) async fn stylesheet() -> Response {
    let mut res = STYLESHEET.into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    // The page asks for it with the version in its query, so a new release is fetched anew.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    res
}

pub(super) async fn not_allowed(State(state): State<AppState>) -> Response {
    let ui = Ui::new(state.config());
    view::message(&ui, None, StatusCode::METHOD_NOT_ALLOWED, "This page does not take that kind of request.")
}

pub(super) async fn not_found(State(state): State<AppState>) -> Response {
    let ui = Ui::new(state.config());
    view::message(&ui, None, StatusCode::NOT_FOUND, "There is no console page at this address.")
}
