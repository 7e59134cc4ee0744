//! Everything the console reads from or writes to the database, in one place (the state-store seam), and the
//! sums it makes of what it reads. Principals that are not admins only ever get their own sources' rows.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use cqube_core::Catalog;

use crate::Error;
use crate::auth::{self, NewToken, Principal};
use crate::db::{Database, EmissionFilter, EmissionRecord, TokenRecord, UploadRecord, upload_state};

use super::view::day_start;

/// Setting that holds the hex HMAC key of console sessions.
const SECRET_SETTING: &str = "console_session_secret";
/// Most emissions one listing reads; the page says when a filter matched more.
pub(super) const SCAN_LIMIT: u32 = 100_000;
/// Most uploads read per state.
const UPLOAD_LIMIT: u32 = 10_000;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// The HMAC key of console sessions, made on first use and kept in the database so that every replica of the
/// server signs and checks cookies with the same key.
pub(super) async fn session_secret(db: &Database) -> Result<Vec<u8>, Error> {
    // Replicas starting at the same moment agree on the key the database kept first.
    let kept = db.setting_or_insert(SECRET_SETTING, &auth::random_hex(32)?).await?;
    hex::decode(kept).ok().filter(|b| b.len() >= 32).ok_or_else(|| {
        Error::Admin(format!("the console's session key (setting {SECRET_SETTING}) is not 32 hex bytes"))
    })
}

fn signed_out_setting(token_id: &str) -> String {
    format!("console_signed_out:{token_id}")
}

/// Records that `token_id` signed out of the console at `now`: cookies issued before then stop working, in every
/// browser and on every replica (a stateless cookie cannot be taken back otherwise).
pub(super) async fn record_sign_out(db: &Database, token_id: &str, now: i64) -> Result<(), Error> {
    db.set_setting(&signed_out_setting(token_id), &now.to_string()).await
}

/// When `token_id` last signed out of the console.
pub(super) async fn signed_out_at(db: &Database, token_id: &str) -> Result<Option<i64>, Error> {
    Ok(db.setting(&signed_out_setting(token_id)).await?.and_then(|t| t.parse().ok()))
}

/// The principal of a live (neither revoked nor expired) token.
pub(super) async fn live_principal(db: &Database, token_id: &str, now: i64) -> Result<Option<Principal>, Error> {
    Ok(db
        .token_by_id(token_id)
        .await?
        .filter(|t| t.revoked_at.is_none() && t.expires_at.is_none_or(|at| at > now))
        .map(|t| Principal { token_id: t.id, token_name: t.name, sources: t.sources, admin: t.admin }))
}

/// Checks a token typed into the sign-in form, as the API checks a bearer token.
pub(super) async fn sign_in_with_token(db: &Database, token: &str) -> Result<Principal, Error> {
    auth::authenticate(db, Some(&format!("Bearer {}", token.trim()))).await
}

/// Checks an emission user's password and returns the id of the short-lived token issued for the session.
pub(super) async fn sign_in_as_user(
    db: &Database,
    name: &str,
    password: &str,
    ttl_seconds: u64,
) -> Result<String, Error> {
    let token = auth::login(db, name, password, ttl_seconds).await?;
    cqube_protocol::TokenParts::parse(&token)
        .map(|parts| parts.id.to_owned())
        .ok_or_else(|| Error::Admin("login issued a token that does not parse".into()))
}

/// Revokes the live token with this id (a user session's own token at sign-out).
pub(super) async fn revoke_by_id(db: &Database, token_id: &str, now: i64) -> Result<(), Error> {
    if let Some(token) = db.token_by_id(token_id).await?.filter(|t| t.revoked_at.is_none()) {
        db.revoke_token(&token.name, now).await?;
    }
    Ok(())
}

/// Revokes the live token with this name; `false` when there is none.
pub(super) async fn revoke_by_name(db: &Database, name: &str, now: i64) -> Result<bool, Error> {
    db.revoke_token(name, now).await
}

/// Every token, newest first.
pub(super) async fn tokens(db: &Database) -> Result<Vec<TokenRecord>, Error> {
    let mut tokens = db.tokens().await?;
    tokens.reverse();
    Ok(tokens)
}

/// Every emission user: name, scope, creation time (never the password hash).
pub(super) async fn users(db: &Database) -> Result<Vec<(String, Option<Vec<String>>, i64)>, Error> {
    Ok(db.users().await?.into_iter().map(|(name, _, sources, created_at)| (name, sources, created_at)).collect())
}

/// Whether an emission user of this name exists.
pub(super) async fn user_exists(db: &Database, name: &str) -> Result<bool, Error> {
    Ok(db.user(name).await?.is_some())
}

/// Creates or replaces an emission user, as `cqube-emit user create` does.
pub(super) async fn create_user(
    db: &Database,
    name: &str,
    password: &str,
    sources: Option<&[String]>,
) -> Result<(), Error> {
    auth::create_user(db, name, password, sources).await
}

/// Removes an emission user and revokes its session tokens; `false` when there is no such user.
pub(super) async fn remove_user(db: &Database, name: &str, now: i64) -> Result<bool, Error> {
    auth::remove_user(db, name, now).await
}

/// Creates a token; returns its text (shown once) and record.
pub(super) async fn create_token(db: &Database, new: &NewToken) -> Result<(String, TokenRecord), Error> {
    auth::create_token(db, new).await
}

/// Which emissions a listing shows.
#[derive(Debug, Default, Clone)]
pub(super) struct EmissionQuery {
    pub source: Option<String>,
    pub token_name: Option<String>,
    /// Unix milliseconds, inclusive.
    pub since: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub until: Option<i64>,
}

fn scope(who: &Principal) -> Option<&[String]> {
    if who.admin { None } else { who.sources.as_deref() }
}

/// Emissions matching `query` that `who` may see, newest first, and whether [`SCAN_LIMIT`] cut the list short.
pub(super) async fn emissions(
    db: &Database,
    who: &Principal,
    query: &EmissionQuery,
) -> Result<(Vec<EmissionRecord>, bool), Error> {
    let mut list = db
        .emissions(&EmissionFilter {
            token_name: query.token_name.as_deref(),
            source: query.source.as_deref(),
            since: query.since,
            limit: Some(SCAN_LIMIT),
            scope: scope(who),
            ..EmissionFilter::default()
        })
        .await?;
    let truncated = list.len() >= SCAN_LIMIT as usize;
    if let Some(until) = query.until {
        list.retain(|e| e.completed_at < until);
    }
    Ok((list, truncated))
}

/// The emission with this id, if `who` may see it.
pub(super) async fn emission(db: &Database, who: &Principal, id: &str) -> Result<Option<EmissionRecord>, Error> {
    Ok(db.emission(id).await?.filter(|e| who.allows(&e.source)))
}

/// Uploads of one kind on the uploads page.
#[derive(Debug, Default)]
pub(super) struct Uploads {
    /// Open and not expired, or being completed.
    pub in_progress: Vec<UploadRecord>,
    /// Open past their expiry: the sweeper aborts them.
    pub expired: Vec<UploadRecord>,
    pub failed: Vec<UploadRecord>,
    pub aborted: Vec<UploadRecord>,
}

/// Uploads not (yet) completed that `who` may see, each list newest first.
pub(super) async fn uploads(db: &Database, who: &Principal, now: i64) -> Result<Uploads, Error> {
    let read = async |state: &str| -> Result<Vec<UploadRecord>, Error> {
        let mut list = db.uploads(Some(state), None, UPLOAD_LIMIT).await?;
        list.retain(|u| who.allows(&u.source));
        list.reverse();
        Ok(list)
    };
    let (expired, mut in_progress): (Vec<_>, Vec<_>) =
        read(upload_state::OPEN).await?.into_iter().partition(|u| u.expires_at <= now);
    in_progress.extend(read(upload_state::COMPLETING).await?);
    in_progress.sort_by_key(|u| std::cmp::Reverse(u.created_at));
    let failed = read(upload_state::FAILED).await?;
    Ok(Uploads { in_progress, expired, failed, aborted: read(upload_state::ABORTED).await? })
}

/// Emissions, rows and bytes summed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Totals {
    pub emissions: u64,
    pub rows: u64,
    pub bytes: u64,
}

impl Totals {
    fn add(&mut self, e: &EmissionRecord) {
        self.emissions += 1;
        self.rows += e.rows;
        self.bytes += e.bytes;
    }
}

/// One window of the overview.
#[derive(Debug, Default)]
pub(super) struct Window {
    pub per_source: BTreeMap<String, Totals>,
    pub total: Totals,
    pub failed: usize,
    pub aborted: usize,
}

/// The overview: the last 24 hours and the last 7 days.
#[derive(Debug)]
pub(super) struct Overview {
    pub day: Window,
    pub week: Window,
    /// Failed and aborted uploads started in the last 7 days, newest first.
    pub troubles: Vec<UploadRecord>,
    /// Catalog sources `who` may emit with no emission in the last 24 hours, with their last one in the last 7
    /// days.
    pub missing: Vec<(String, Option<i64>)>,
}

/// Sums the last 24 hours and 7 days for `who`.
pub(super) async fn overview(db: &Database, catalog: &Catalog, who: &Principal, now: i64) -> Result<Overview, Error> {
    let day_ago = now - DAY_MS;
    let week_ago = now - 7 * DAY_MS;
    let (week_emissions, _) =
        emissions(db, who, &EmissionQuery { since: Some(week_ago), ..EmissionQuery::default() }).await?;
    let (mut day, mut week) = (Window::default(), Window::default());
    let mut last_seen: BTreeMap<&str, i64> = BTreeMap::new();
    for e in &week_emissions {
        week.per_source.entry(e.source.clone()).or_default().add(e);
        week.total.add(e);
        if e.completed_at >= day_ago {
            day.per_source.entry(e.source.clone()).or_default().add(e);
            day.total.add(e);
        }
        let seen = last_seen.entry(&e.source).or_insert(e.completed_at);
        *seen = (*seen).max(e.completed_at);
    }
    let mut troubles = Vec::new();
    for state in [upload_state::FAILED, upload_state::ABORTED] {
        for upload in db.uploads(Some(state), None, UPLOAD_LIMIT).await? {
            if upload.created_at < week_ago || !who.allows(&upload.source) {
                continue;
            }
            let failed = state == upload_state::FAILED;
            for (window, start) in [(&mut day, day_ago), (&mut week, week_ago)] {
                if upload.created_at >= start {
                    *(if failed { &mut window.failed } else { &mut window.aborted }) += 1;
                }
            }
            troubles.push(upload);
        }
    }
    troubles.sort_by_key(|u| std::cmp::Reverse(u.created_at));
    let missing = catalog
        .sources()
        .iter()
        .filter(|s| who.allows(&s.name) && !day.per_source.contains_key(&s.name))
        .map(|s| (s.name.clone(), last_seen.get(s.name.as_str()).copied()))
        .collect();
    Ok(Overview { day, week, troubles, missing })
}

/// Rows, bytes and emissions per local day for one source.
#[derive(Debug)]
pub(super) struct SourceDays {
    pub source: String,
    /// One entry per day of [`Daily::days`].
    pub days: Vec<Totals>,
}

/// The last `n` days in the console's time zone, today last, and each source's totals on them.
#[derive(Debug)]
pub(super) struct Daily {
    pub days: Vec<NaiveDate>,
    pub sources: Vec<SourceDays>,
}

/// Sums `who`'s emissions per source and local day over the `n` days ending `today`.
pub(super) async fn daily(db: &Database, who: &Principal, tz: Tz, today: NaiveDate, n: u32) -> Result<Daily, Error> {
    let days: Vec<NaiveDate> =
        (0..n).rev().filter_map(|back| today.checked_sub_days(chrono::Days::new(back.into()))).collect();
    let Some(&first) = days.first() else { return Ok(Daily { days, sources: Vec::new() }) };
    let (list, _) =
        emissions(db, who, &EmissionQuery { since: Some(day_start(tz, first)), ..EmissionQuery::default() }).await?;
    let mut per_source: BTreeMap<String, Vec<Totals>> = BTreeMap::new();
    for e in &list {
        let Some(local) = chrono::DateTime::from_timestamp_millis(e.completed_at) else { continue };
        let date = local.with_timezone(&tz).date_naive();
        let Some(index) = days.iter().position(|d| *d == date) else { continue };
        per_source.entry(e.source.clone()).or_insert_with(|| vec![Totals::default(); days.len()])[index].add(e);
    }
    let sources = per_source.into_iter().map(|(source, days)| SourceDays { source, days }).collect();
    Ok(Daily { days, sources })
}

/// What the emitters' checks found in one source's files over a period (only files that sent counts).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct SourceQuality {
    pub source: String,
    /// Emissions in the period, and how many of them carried counts.
    pub emissions: u64,
    pub with_counts: u64,
    pub rows_read: u64,
    pub rows_rejected: u64,
    pub rows_warned: u64,
    /// Rejected rows per local day of [`Quality::days`] (read, rejected).
    pub days: Vec<(u64, u64)>,
}

/// Rows per rule, column and severity, summed over sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RuleTotal {
    pub rule: String,
    pub column: Option<String>,
    pub severity: String,
    pub rows: u64,
    pub sources: Vec<String>,
}

/// Reject rates per source and day, and the rules that cost most rows.
#[derive(Debug)]
pub(super) struct Quality {
    pub days: Vec<NaiveDate>,
    pub sources: Vec<SourceQuality>,
    /// Most rows first.
    pub rules: Vec<RuleTotal>,
}

/// A rule count's identity: rule, column, severity.
type RuleKey = (String, Option<String>, String);

/// Sums the quality counts of `who`'s emissions per source and local day over the `n` days ending `today`.
pub(super) async fn quality(
    db: &Database,
    who: &Principal,
    tz: Tz,
    today: NaiveDate,
    n: u32,
) -> Result<Quality, Error> {
    let days: Vec<NaiveDate> =
        (0..n).rev().filter_map(|back| today.checked_sub_days(chrono::Days::new(back.into()))).collect();
    let Some(&first) = days.first() else { return Ok(Quality { days, sources: Vec::new(), rules: Vec::new() }) };
    let (list, _) =
        emissions(db, who, &EmissionQuery { since: Some(day_start(tz, first)), ..EmissionQuery::default() }).await?;
    let mut per_source: BTreeMap<String, SourceQuality> = BTreeMap::new();
    let mut rules: BTreeMap<RuleKey, (u64, std::collections::BTreeSet<String>)> = BTreeMap::new();
    for e in &list {
        let entry = per_source.entry(e.source.clone()).or_insert_with(|| SourceQuality {
            source: e.source.clone(),
            days: vec![(0, 0); days.len()],
            ..SourceQuality::default()
        });
        entry.emissions += 1;
        let Some(q) = &e.quality else { continue };
        entry.with_counts += 1;
        entry.rows_read += q.rows_read;
        entry.rows_rejected += q.rows_rejected;
        entry.rows_warned += q.rows_warned;
        let local = chrono::DateTime::from_timestamp_millis(e.completed_at).map(|t| t.with_timezone(&tz).date_naive());
        if let Some(index) = local.and_then(|date| days.iter().position(|d| *d == date)) {
            entry.days[index].0 += q.rows_read;
            entry.days[index].1 += q.rows_rejected;
        }
        for r in &q.rules {
            let total = rules.entry((r.rule.clone(), r.column.clone(), r.severity.clone())).or_default();
            total.0 += r.rows;
            total.1.insert(e.source.clone());
        }
    }
    let mut rules: Vec<RuleTotal> = rules
        .into_iter()
        .map(|((rule, column, severity), (rows, sources))| RuleTotal {
            rule,
            column,
            severity,
            rows,
            sources: sources.into_iter().collect(),
        })
        .collect();
    rules.sort_by_key(|r| std::cmp::Reverse(r.rows));
    Ok(Quality { days, sources: per_source.into_values().collect(), rules })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::now_ms;

    fn emission(id: &str, source: &str, rows: u64, completed_at: i64) -> EmissionRecord {
        EmissionRecord {
            id: id.into(),
            upload_id: None,
            token_name: "state".into(),
            source: source.into(),
            bucket: "cqube-emission".into(),
            key: format!("{source}/{id}.zip"),
            archived_key: None,
            bytes: rows * 10,
            rows,
            sha256: "00".repeat(32),
            started_at: completed_at - 1000,
            completed_at,
            watermark: None,
            quality: None,
        }
    }

    fn principal(sources: Option<&[&str]>, admin: bool) -> Principal {
        Principal {
            token_id: "id".into(),
            token_name: "someone".into(),
            sources: sources.map(|s| s.iter().map(|x| (*x).to_owned()).collect()),
            admin,
        }
    }

    #[tokio::test]
    async fn the_overview_sums_windows_and_names_missing_sources_within_scope() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(None, dir.path()).await.unwrap();
        let now = now_ms();
        db.insert_emission(&emission("a", "student_attendance", 5, now - 3600 * 1000)).await.unwrap();
        db.insert_emission(&emission("b", "student_attendance", 7, now - 3 * DAY_MS)).await.unwrap();
        db.insert_emission(&emission("c", "school_master", 11, now - 2 * DAY_MS)).await.unwrap();
        db.insert_emission(&emission("d", "school_master", 13, now - 9 * DAY_MS)).await.unwrap();
        let catalog = Catalog::builtin();

        let all = overview(&db, &catalog, &principal(None, true), now).await.unwrap();
        assert_eq!(all.day.total, Totals { emissions: 1, rows: 5, bytes: 50 });
        assert_eq!(all.week.total, Totals { emissions: 3, rows: 23, bytes: 230 });
        assert_eq!(all.week.per_source["school_master"].rows, 11);
        assert!(!all.missing.iter().any(|(s, _)| s == "student_attendance"));
        assert_eq!(
            all.missing.iter().find(|(s, _)| s == "school_master"),
            Some(&("school_master".to_owned(), Some(now - 2 * DAY_MS)))
        );
        assert_eq!(all.missing.len(), catalog.sources().len() - 1);

        let scoped = overview(&db, &catalog, &principal(Some(&["school_master"]), false), now).await.unwrap();
        assert_eq!(scoped.week.total.emissions, 1);
        assert_eq!(scoped.day.total.emissions, 0);
        assert_eq!(scoped.missing, vec![("school_master".to_owned(), Some(now - 2 * DAY_MS))]);
    }

    #[tokio::test]
    async fn daily_totals_fall_on_local_days() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(None, dir.path()).await.unwrap();
        let tz: Tz = "Asia/Kolkata".parse().unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        // 2026-03-09 23:00 in Kolkata is 17:30 UTC: the 9th there, whatever the UTC date.
        let late_on_the_ninth = day_start(tz, today) - 3600 * 1000;
        db.insert_emission(&emission("a", "student_attendance", 5, late_on_the_ninth)).await.unwrap();
        db.insert_emission(&emission("b", "student_attendance", 7, day_start(tz, today) + 1)).await.unwrap();
        db.insert_emission(&emission("c", "student_attendance", 9, day_start(tz, today) - 40 * DAY_MS)).await.unwrap();
        let daily = daily(&db, &principal(None, true), tz, today, 30).await.unwrap();
        assert_eq!(daily.days.len(), 30);
        assert_eq!(daily.days.last(), Some(&today));
        let [attendance] = daily.sources.as_slice() else { panic!("{:?}", daily.sources) };
        assert_eq!(attendance.days[29].rows, 7);
        assert_eq!(attendance.days[28].rows, 5);
        assert_eq!(attendance.days.iter().map(|t| t.emissions).sum::<u64>(), 2);
    }

    #[tokio::test]
    async fn quality_sums_rejects_per_source_and_day_and_ranks_rules() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(None, dir.path()).await.unwrap();
        let tz: Tz = "Asia/Kolkata".parse().unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let noon = day_start(tz, today) + 12 * 3600 * 1000;
        let rule = |rule: &str, column: Option<&str>, severity: &str, rows| cqube_protocol::RuleCount {
            rule: rule.into(),
            column: column.map(Into::into),
            severity: severity.into(),
            rows,
        };
        let mut a = emission("a", "student_attendance", 90, noon);
        a.quality = Some(cqube_protocol::Quality {
            rows_read: 100,
            rows_rejected: 10,
            rows_warned: 3,
            rules: vec![
                rule("unknown_school", Some("school_id"), "error", 7),
                rule("type_int", Some("day_1"), "error", 3),
            ],
        });
        let mut b = emission("b", "student_attendance", 50, noon - DAY_MS);
        b.quality = Some(cqube_protocol::Quality {
            rows_read: 50,
            rows_rejected: 0,
            rows_warned: 0,
            rules: vec![rule("unknown_school", Some("school_id"), "error", 4)],
        });
        db.insert_emission(&a).await.unwrap();
        db.insert_emission(&b).await.unwrap();
        db.insert_emission(&emission("c", "school_master", 5, noon)).await.unwrap();

        let q = quality(&db, &principal(None, true), tz, today, 30).await.unwrap();
        let att = q.sources.iter().find(|s| s.source == "student_attendance").unwrap();
        assert_eq!(
            (att.emissions, att.with_counts, att.rows_read, att.rows_rejected, att.rows_warned),
            (2, 2, 150, 10, 3)
        );
        assert_eq!((att.days[29], att.days[28]), ((100, 10), (50, 0)));
        let schools = q.sources.iter().find(|s| s.source == "school_master").unwrap();
        assert_eq!((schools.emissions, schools.with_counts), (1, 0), "an emission without counts is counted apart");
        assert_eq!(q.rules[0].rule, "unknown_school");
        assert_eq!((q.rules[0].rows, q.rules[1].rows), (11, 3));

        let scoped = quality(&db, &principal(Some(&["school_master"]), false), tz, today, 30).await.unwrap();
        assert!(scoped.rules.is_empty() && scoped.sources.len() == 1);
    }
}
