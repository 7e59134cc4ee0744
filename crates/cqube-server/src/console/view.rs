//! The console's page frame, its responses and how it writes times, sizes and counts.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use maud::{DOCTYPE, Markup, html};

use super::{Session, Ui};

/// The console's sections, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Overview,
    Emissions,
    Uploads,
    Charts,
    Quality,
    Tokens,
    /// Sign-in and error pages.
    Outside,
}

const NAV: &[(Section, &str, &str)] = &[
    (Section::Overview, "", "Overview"),
    (Section::Emissions, "/emissions", "Emissions"),
    (Section::Uploads, "/uploads", "Uploads"),
    (Section::Charts, "/charts", "Charts"),
    (Section::Quality, "/quality", "Data quality"),
    (Section::Tokens, "/tokens", "Tokens"),
];

/// A whole page: header with navigation and sign-out (when signed in), `body` under an `h1` of `title`, and a
/// footer naming the time zone.
pub(super) fn page(ui: &Ui, session: Option<&Session>, section: Section, title: &str, body: &Markup) -> Markup {
    let base = &ui.base;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · cqube-emit console" }
                link rel="stylesheet" href={ (base) "/console.css?v=" (env!("CARGO_PKG_VERSION")) };
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    p.brand { a href=(base) { "cqube-emit console" } }
                    @if let Some(session) = session {
                        nav aria-label="Console" {
                            ul {
                                @for (target, path, label) in NAV {
                                    @if *target != Section::Tokens || session.who.admin {
                                        li {
                                            a href={ (base) (path) }
                                                aria-current=[(*target == section).then_some("page")] { (label) }
                                        }
                                    }
                                }
                            }
                        }
                        form.signout method="post" action={ (base) "/sign-out" } {
                            input type="hidden" name="csrf" value=(session.csrf);
                            span { "Signed in as " strong { (session.who.token_name) }
                                @if session.who.admin { " (admin)" } }
                            " "
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
                footer { p { "Times are shown in " (ui.tz.name()) "." } }
            }
        }
    }
}

/// An HTML response that no cache keeps (pages can show a new token) and that loads only the console's own
/// stylesheet.
pub(super) fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut res = (status, markup.into_string()).into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
             base-uri 'none'",
        ),
    );
    res
}

/// A page that only says what went wrong.
pub(super) fn message(ui: &Ui, session: Option<&Session>, status: StatusCode, text: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = html! {
        p role="alert" { (text) }
        p { a href=(ui.base) { "Back to the overview" } }
    };
    respond(status, page(ui, session, Section::Outside, title, &body))
}

/// A failure of the server itself: the log gets the error, the page a generic message.
pub(super) fn internal(ui: &Ui, session: Option<&Session>, err: &crate::Error) -> Response {
    tracing::error!(error = %err, "console request failed");
    let text = if err.is_storage_full() {
        "The server's storage is full: an operator must free space on it."
    } else {
        "The server could not complete the request; see its log."
    };
    message(ui, session, StatusCode::INTERNAL_SERVER_ERROR, text)
}

/// `303 See Other` to `location`.
pub(super) fn redirect(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, value);
    }
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The instant a local day starts in `tz`, in Unix milliseconds (the first instant of it where a clock change
/// skips midnight).
pub(super) fn day_start(tz: Tz, date: NaiveDate) -> i64 {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    let local = tz.from_local_datetime(&midnight);
    match local.earliest() {
        Some(t) => t.timestamp_millis(),
        // Midnight does not exist that day: the day starts when the clock jumps, at most a few hours later.
        None => (1..=24 * 4)
            .find_map(|quarter| {
                tz.from_local_datetime(&(midnight + chrono::Duration::minutes(15 * quarter))).earliest()
            })
            .map_or_else(|| midnight.and_utc().timestamp_millis(), |t| t.timestamp_millis()),
    }
}

/// A `<time>` element: the local time with its zone's abbreviation, the instant in `datetime`.
pub(super) fn time(tz: Tz, ms: i64) -> Markup {
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else { return html! { "?" } };
    let local = t.with_timezone(&tz);
    html! {
        time datetime=(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) { (local.format("%Y-%m-%d %H:%M:%S %Z")) }
    }
}

/// A duration in the two largest units: `45 s`, `12 min 3 s`, `3 h 12 min`, `2 d 4 h`.
pub(super) fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A count with thousands separators: `1,234,567`.
pub(super) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count and a noun, plural unless the count is one: `1 emission`, `1,234 rows`.
pub(super) fn plural(n: u64, noun: &str) -> String {
    format!("{} {noun}{}", count(n), if n == 1 { "" } else { "s" })
}

/// A size in binary units: `999 B`, `1.5 KiB`, `12.0 MiB`.
pub(super) fn bytes(n: u64) -> String {
    const UNITS: &[&str] = &["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(plural(1, "row"), "1 row");
        assert_eq!(plural(1234, "row"), "1,234 rows");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(12 * 1024 * 1024), "12.0 MiB");
        assert_eq!(age(59_999), "59 s");
        assert_eq!(age(3_723_000), "1 h 2 min");
        assert_eq!(age(2 * 86_400_000 + 4 * 3_600_000), "2 d 4 h");
        assert_eq!(age(-5), "0 s");
    }

    #[test]
    fn days_start_at_local_midnight() {
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        // 00:00 IST is 18:30 UTC the day before.
        let expected = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap().and_hms_opt(18, 30, 0).unwrap().and_utc();
        assert_eq!(day_start(kolkata, date), expected.timestamp_millis());
        // Santiago skips 00:00-01:00 when its summer time starts (2026-09-06): the day starts at 01:00 local.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let skipped = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        let start = chrono::DateTime::from_timestamp_millis(day_start(santiago, skipped)).unwrap();
        assert_eq!(start.with_timezone(&santiago).format("%Y-%m-%d %H:%M").to_string(), "2026-09-06 01:00");
        assert!(time(kolkata, expected.timestamp_millis()).into_string().contains("2026-03-10 00:00:00 IST"));
    }
}
