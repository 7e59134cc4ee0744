//! Sending parts: at most `parts_in_flight` PUTs at once across every stream, each retried on its own.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cqube_protocol::{CompletedPart, PresignedPart};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::api::without_url;
use crate::{ApiClient, Error, Part, StoredPartRecord};

/// A part the uploader finished with: stored by this run, or found stored by an earlier one.
#[derive(Debug, Clone, Copy)]
pub struct PartEvent<'a> {
    /// The part.
    pub part: &'a StoredPartRecord,
    /// True when an earlier run stored it with the same checksum and it was not sent again.
    pub skipped: bool,
}

/// Sends parts to presigned URLs; one per process, shared by every file being emitted.
#[derive(Debug, Clone)]
pub struct Uploader {
    api: ApiClient,
    permits: Arc<Semaphore>,
}

/// A URL is renewed when it has less than this left: a slow PUT must not outlive it.
const URL_MARGIN: Duration = Duration::from_mins(2);

impl Uploader {
    /// An uploader keeping at most `parts_in_flight` part PUTs running at once (over all streams).
    pub fn new(api: ApiClient, parts_in_flight: usize) -> Uploader {
        Uploader { api, permits: Arc::new(Semaphore::new(parts_in_flight.max(1))) }
    }

    /// The API client.
    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    /// Sends every part arriving on `parts` to upload `upload_id` and returns the list `complete` needs.
    ///
    /// A part whose number, size and checksum match `stored` (from the journal) is not sent again. A part is taken
    /// off the channel only once a PUT slot is free, so parts wait in the producer (bounded), not here. The first
    /// error that retries cannot fix stops the stream; PUTs still running are cancelled.
    pub async fn send_parts(
        &self,
        upload_id: &str,
        mut parts: mpsc::Receiver<Part>,
        stored: &BTreeMap<u32, StoredPartRecord>,
        on_part: &mut (dyn FnMut(PartEvent<'_>) -> Result<(), Error> + Send),
    ) -> Result<Vec<CompletedPart>, Error> {
        let mut done = Vec::new();
        let mut running: JoinSet<Result<StoredPartRecord, Error>> = JoinSet::new();
        let mut open = true;
        while open || !running.is_empty() {
            tokio::select! {
                Some(finished) = running.join_next(), if !running.is_empty() => {
                    let record = finished.map_err(|e| Error::Protocol {
                        what: format!("upload {upload_id}"),
                        detail: format!("a part task failed: {e}"),
                    })??;
                    on_part(PartEvent { part: &record, skipped: false })?;
                    done.push(CompletedPart { part_number: record.part_number, etag: record.etag });
                }
                next = async {
                    let permit = Arc::clone(&self.permits).acquire_owned().await;
                    (permit, parts.recv().await)
                }, if open => {
                    let (permit, part) = next;
                    let Some(part) = part else { open = false; continue };
                    if let Some(known) = stored.get(&part.number).filter(|k| {
                        k.checksum == part.checksum && k.size == part.data.len() as u64
                    }) {
                        on_part(PartEvent { part: known, skipped: true })?;
                        done.push(CompletedPart { part_number: known.part_number, etag: known.etag.clone() });
                        continue;
                    }
                    let api = self.api.clone();
                    let upload_id = upload_id.to_owned();
                    running.spawn(async move {
                        let _slot = permit;
                        let span = tracing::debug_span!("upload", %upload_id, part = part.number, bytes = part.data.len());
                        put_part(&api, &upload_id, part).instrument(span).await
                    });
                }
            }
        }
        done.sort_by_key(|p| p.part_number);
        Ok(done)
    }
}

async fn put_part(api: &ApiClient, upload_id: &str, part: Part) -> Result<StoredPartRecord, Error> {
    let url: Mutex<Option<PresignedPart>> = Mutex::new(None);
    let what = format!("part {} of upload {upload_id}", part.number);
    let etag = api
        .retry()
        .run(&what, || async {
            let current = url.lock().map_err(|_| poisoned(&what))?.clone();
            let presigned = if let Some(u) = current.filter(|u| !expiring(&u.expires_at)) {
                u
            } else {
                let fresh = api.presign(upload_id, part.number).await?;
                *url.lock().map_err(|_| poisoned(&what))? = Some(fresh.clone());
                fresh
            };
            let response = api
                .http()
                .put(&presigned.url)
                .header(reqwest::header::CONTENT_LENGTH, part.data.len())
                .body(part.data.clone())
                .send()
                .await
                .map_err(|e| Error::Transport { what: what.clone(), source: without_url(e) })?;
            let status = response.status();
            if status.is_success() {
                let etag = response.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok());
                return etag.map(str::to_owned).ok_or_else(|| Error::Protocol {
                    what: what.clone(),
                    detail: "the store's answer has no ETag".into(),
                });
            }
            let body = response.text().await.unwrap_or_default();
            let detail = s3_code(&body).unwrap_or_else(|| body.chars().take(120).collect());
            // An expired URL (a long backoff, a paused laptop) is renewed and the part sent again.
            let expired = status == reqwest::StatusCode::FORBIDDEN && body.to_ascii_lowercase().contains("expired");
            if expired {
                *url.lock().map_err(|_| poisoned(&what))? = None;
            }
            let retryable = status.is_server_error()
                || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                || detail == "SlowDown"
                || expired;
            Err(Error::PartRejected {
                part: part.number,
                upload_id: upload_id.to_owned(),
                status: status.as_u16(),
                detail,
                retryable,
            })
        })
        .await?;
    tracing::debug!("part stored");
    Ok(StoredPartRecord { part_number: part.number, etag, size: part.data.len() as u64, checksum: part.checksum })
}

fn poisoned(what: &str) -> Error {
    Error::Protocol { what: what.to_owned(), detail: "URL cache poisoned by a panic".into() }
}

/// Whether an RFC 3339 expiry is within [`URL_MARGIN`]; an unreadable one counts as expiring.
fn expiring(expires_at: &str) -> bool {
    let Some(at) = parse_rfc3339(expires_at) else { return true };
    !at.duration_since(SystemTime::now()).is_ok_and(|left| left >= URL_MARGIN)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)` (what the API writes) without a date library.
#[allow(clippy::many_single_char_names)] // the calendar formula's own names
fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    if b.len() < 20 || b[4] != b'-' || b[10] != b'T' {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let rest = &s[19..];
    let rest = rest.strip_prefix('.').map_or(rest, |r| r.trim_start_matches(|c: char| c.is_ascii_digit()));
    let offset = match rest {
        "Z" | "+00:00" => 0,
        o if o.len() == 6 => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (o[1..3].parse::<i64>().ok()? * 3600 + o[4..6].parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss - offset;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// The `<Code>` of an S3 error document.
fn s3_code(body: &str) -> Option<String> {
    let start = body.find("<Code>")? + "<Code>".len();
    let end = body[start..].find("</Code>")? + start;
    Some(body[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_expiry_parsing() {
        let t = parse_rfc3339("2024-07-28T10:15:00.123Z").unwrap();
        assert_eq!(t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(), 1_722_161_700);
        assert_eq!(parse_rfc3339("2024-07-28T15:45:00+05:30"), parse_rfc3339("2024-07-28T10:15:00Z"));
        assert!(parse_rfc3339("yesterday").is_none());
        assert!(expiring("2000-01-01T00:00:00Z"));
        assert!(expiring("garbage"));
        assert!(!expiring("2999-01-01T00:00:00Z"));
    }

    #[test]
    fn s3_error_code_is_read_from_the_xml() {
        assert_eq!(s3_code("<Error><Code>SlowDown</Code><Message>x</Message></Error>").as_deref(), Some("SlowDown"));
        assert_eq!(s3_code("oops"), None);
    }
}
