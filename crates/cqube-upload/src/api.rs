//! The emission API's multipart endpoints, as a client: the first [`DeliveryTarget`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cqube_protocol::{
    Acknowledgement, CompleteUploadRequest, CreateUploadRequest, CreateUploadResponse, DownloadUriRequest,
    EmissionList, ListFilesRequest, ListFilesResponse, ListPartsResponse, PresignPartsRequest, PresignPartsResponse,
    PresignedPart, StoredPart, Watermark,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::target::{Aborted, BoxFuture, DeliveryTarget};
use crate::{Error, Part, RetryPolicy};

/// A URL is renewed when it has less than this left: a slow PUT must not outlive it.
const URL_MARGIN: Duration = Duration::from_mins(2);

/// A client for one API base URL (`http://HOST:PORT/data`) and token. Cheap to clone.
///
/// Every call is retried under the [`RetryPolicy`]; `create` is the exception, since a retried create whose first
/// answer was lost would leave an orphan upload (the bucket's lifecycle rule for incomplete uploads removes it).
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: String,
    retry: RetryPolicy,
    /// Presigned part URLs by (upload, part), kept across a part's attempts until they succeed or expire.
    urls: Arc<Mutex<HashMap<(String, u32), PresignedPart>>>,
    /// Whether `/capabilities` listed `quality`: only then do completions carry quality counts (the request refuses
    /// unknown fields, so an older server would refuse them).
    takes_quality: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient").field("base", &self.base).field("token", &"***").finish_non_exhaustive()
    }
}

impl ApiClient {
    /// A client; `request_timeout` bounds each API request and each part `PUT`.
    pub fn new(base: &str, token: &str, retry: RetryPolicy, request_timeout: Duration) -> Result<ApiClient, Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(request_timeout)
            .build()
            .map_err(|source| Error::Transport { what: "building the HTTP client".into(), source })?;
        Ok(ApiClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            retry,
            urls: Arc::default(),
            takes_quality: Arc::default(),
        })
    }

    /// The HTTP client, for part `PUT`s to presigned URLs (which carry their own authorization).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The retry policy.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// `GET /capabilities`: the protocols the server takes (`multipart`, `post`); `None` when it has no such
    /// endpoint, as a stock cQube API (404). Remembers whether it takes quality counts with completions.
    pub async fn capabilities(&self) -> Result<Option<Vec<String>>, Error> {
        let what = "asking the API what it speaks".to_owned();
        let answer = self
            .retry
            .run(&what, || self.call::<(), serde_json::Value>(&what, reqwest::Method::GET, "/capabilities", None))
            .await;
        match answer {
            Ok(caps) => {
                let quality = caps["features"].as_array().is_some_and(|f| f.iter().any(|v| v == "quality"));
                self.takes_quality.store(quality, std::sync::atomic::Ordering::Relaxed);
                let protocols = caps["protocols"]
                    .as_array()
                    .map(|p| p.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect());
                protocols.map(Some).ok_or_else(|| Error::Protocol { what, detail: "no protocols listed".into() })
            }
            Err(Error::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /uploads`: starts a multipart emission. Retried like the other calls, so a replica dying mid-request
    /// does not fail the file: an upload whose answer was lost is never used, and the server's sweeper aborts it
    /// at its expiry.
    pub async fn create(&self, request: &CreateUploadRequest) -> Result<CreateUploadResponse, Error> {
        let what = format!("starting the upload of {}", request.filename);
        self.retry.run(&what, || self.call(&what, reqwest::Method::POST, "/uploads", Some(request))).await
    }

    /// `POST /uploads/{id}/parts` for one part.
    pub async fn presign(&self, upload_id: &str, part_number: u32) -> Result<PresignedPart, Error> {
        let what = format!("presigning part {part_number} of upload {upload_id}");
        let body = PresignPartsRequest { part_numbers: vec![part_number] };
        let path = format!("/uploads/{upload_id}/parts");
        self.retry
            .run(&what, || async {
                let mut answer: PresignPartsResponse =
                    self.call(&what, reqwest::Method::POST, &path, Some(&body)).await?;
                answer.parts.pop().filter(|p| p.part_number == part_number).ok_or_else(|| Error::Protocol {
                    what: what.clone(),
                    detail: "no URL for the part asked for".into(),
                })
            })
            .await
    }

    /// `POST /uploads/{id}/complete`: the acknowledgement.
    pub async fn complete(&self, upload_id: &str, request: &CompleteUploadRequest) -> Result<Acknowledgement, Error> {
        let what = format!("completing upload {upload_id}");
        let path = format!("/uploads/{upload_id}/complete");
        let without_quality;
        let request = if request.quality.is_some() && !self.takes_quality.load(std::sync::atomic::Ordering::Relaxed) {
            without_quality = CompleteUploadRequest { quality: None, ..request.clone() };
            &without_quality
        } else {
            request
        };
        // Completing twice returns the same acknowledgement, so a retry after a lost answer is safe.
        self.retry.run(&what, || self.call(&what, reqwest::Method::POST, &path, Some(request))).await
    }

    /// `DELETE /uploads/{id}`: aborts, so no partial object remains; an upload already gone counts as aborted.
    /// The server refuses (409) only an upload it has acknowledged; its acknowledgement is then fetched, so a
    /// completion whose answer was lost is neither lost nor sent again.
    pub async fn abort(&self, upload_id: &str) -> Result<Aborted, Error> {
        let what = format!("aborting upload {upload_id}");
        let path = format!("/uploads/{upload_id}");
        let result = self.retry.run(&what, || self.call::<(), ()>(&what, reqwest::Method::DELETE, &path, None)).await;
        self.urls.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|(id, _), _| id != upload_id);
        match result {
            Err(Error::Api { status: 404, .. }) | Ok(()) => Ok(Aborted::Removed),
            Err(Error::Api { status: 409, .. }) => match self.acknowledgement(upload_id).await? {
                Some(ack) => Ok(Aborted::Acknowledged(Box::new(ack))),
                None => Err(Error::Protocol { what, detail: "refused as acknowledged, but no emission has it".into() }),
            },
            Err(e) => Err(e),
        }
    }

    /// `GET /emissions?upload_id=`: the acknowledgement of an upload, once completed.
    pub async fn acknowledgement(&self, upload_id: &str) -> Result<Option<Acknowledgement>, Error> {
        let what = format!("reading the acknowledgement of upload {upload_id}");
        let query = serde_urlencoded::to_string([("upload_id", upload_id)])
            .map_err(|e| Error::Protocol { what: what.clone(), detail: e.to_string() })?;
        let path = format!("/emissions?{query}");
        let list: EmissionList =
            self.retry.run(&what, || self.call::<(), _>(&what, reqwest::Method::GET, &path, None)).await?;
        Ok(list.emissions.into_iter().find(|ack| ack.upload_id.as_deref() == Some(upload_id)))
    }

    /// `GET /uploads?state=` (admin): the server's uploads, oldest first.
    pub async fn uploads(&self, state: Option<&str>) -> Result<cqube_protocol::UploadList, Error> {
        let what = "listing uploads".to_owned();
        let query = serde_urlencoded::to_string(state.map(|s| [("state", s)]).unwrap_or_default())
            .map_err(|e| Error::Protocol { what: what.clone(), detail: e.to_string() })?;
        let path = if query.is_empty() { "/uploads".to_owned() } else { format!("/uploads?{query}") };
        self.retry.run(&what, || self.call::<(), _>(&what, reqwest::Method::GET, &path, None)).await
    }

    /// `DELETE /uploads/{id}` as an admin clearing an upload by hand: unlike [`ApiClient::abort`], an upload that
    /// is unknown or already acknowledged is an error, so the operator hears of it.
    pub async fn abort_by_admin(&self, upload_id: &str) -> Result<(), Error> {
        let what = format!("aborting upload {upload_id}");
        let path = format!("/uploads/{upload_id}");
        self.retry.run(&what, || self.call::<(), ()>(&what, reqwest::Method::DELETE, &path, None)).await
    }

    /// `POST /download_uri`: a presigned GET for a key in the emission bucket.
    pub async fn download_uri(&self, key: &str) -> Result<String, Error> {
        self.download_uri_in("emission", key).await
    }

    /// `POST /download_uri`: a presigned GET for a key in `bucket` (a role, `emission`, or the bucket's name).
    pub async fn download_uri_in(&self, bucket: &str, key: &str) -> Result<String, Error> {
        let what = format!("presigning a download of {key}");
        let body = DownloadUriRequest { filename: vec![key.to_owned()], bucket: bucket.to_owned() };
        let mut answer: std::collections::BTreeMap<String, String> =
            self.retry.run(&what, || self.call(&what, reqwest::Method::POST, "/download_uri", Some(&body))).await?;
        answer.remove(key).ok_or_else(|| Error::Protocol { what, detail: "no URL for the key".into() })
    }

    /// `GET /list_s3_buckets`: the bucket of each role (`input`, `output`, `emission`).
    pub async fn buckets(&self) -> Result<std::collections::BTreeMap<String, String>, Error> {
        let what = "listing the buckets".to_owned();
        self.retry.run(&what, || self.call::<(), _>(&what, reqwest::Method::GET, "/list_s3_buckets", None)).await
    }

    /// `POST /list_s3_files`: one page of a bucket's keys.
    pub async fn list_files(&self, request: &ListFilesRequest) -> Result<ListFilesResponse, Error> {
        let what = format!("listing bucket {}", request.bucket);
        self.retry.run(&what, || self.call(&what, reqwest::Method::POST, "/list_s3_files", Some(request))).await
    }

    /// `GET /uploads/{id}/parts`: the parts the store holds.
    pub async fn list_parts(&self, upload_id: &str) -> Result<Vec<StoredPart>, Error> {
        let what = format!("listing the parts of upload {upload_id}");
        let path = format!("/uploads/{upload_id}/parts");
        let answer: ListPartsResponse =
            self.retry.run(&what, || self.call::<(), _>(&what, reqwest::Method::GET, &path, None)).await?;
        Ok(answer.parts)
    }

    /// One attempt at storing a part: a presigned URL (cached, renewed when it is about to expire), then the `PUT`.
    /// An expired URL (a long backoff, a paused laptop) is dropped and the attempt reported as retryable.
    pub async fn put_part(&self, upload_id: &str, part: &Part) -> Result<String, Error> {
        let what = format!("part {} of upload {upload_id}", part.number);
        let slot = (upload_id.to_owned(), part.number);
        let urls = || self.urls.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let cached = urls().get(&slot).filter(|u| !expiring(&u.expires_at)).cloned();
        let presigned = if let Some(u) = cached {
            u
        } else {
            let fresh = self.presign(upload_id, part.number).await?;
            urls().insert(slot.clone(), fresh.clone());
            fresh
        };
        let response = self
            .http
            .put(&presigned.url)
            .header(reqwest::header::CONTENT_LENGTH, part.data.len())
            .body(part.data.clone())
            .send()
            .await
            .map_err(|e| Error::Transport { what: what.clone(), source: without_url(e) })?;
        let status = response.status();
        if status.is_success() {
            urls().remove(&slot);
            let etag = response.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok());
            return etag
                .map(str::to_owned)
                .ok_or_else(|| Error::Protocol { what, detail: "the store's answer has no ETag".into() });
        }
        let body = response.text().await.unwrap_or_default();
        let detail = crate::answer::s3_code(&body).unwrap_or_else(|| body.chars().take(120).collect());
        let expired = status == reqwest::StatusCode::FORBIDDEN && body.to_ascii_lowercase().contains("expired");
        if expired {
            urls().remove(&slot);
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
    }

    /// The watermark of `source`'s newest acknowledged emission on `column` (`GET /emissions`): where an
    /// incremental run starts. `None` before the first one.
    pub async fn last_watermark(&self, source: &str, column: &str) -> Result<Option<Watermark>, Error> {
        let what = format!("reading the last watermark of {source}");
        let query = serde_urlencoded::to_string([("source", source), ("watermark_column", column), ("limit", "1")])
            .map_err(|e| Error::Protocol { what: what.clone(), detail: e.to_string() })?;
        let path = format!("/emissions?{query}");
        let list: EmissionList =
            self.retry.run(&what, || self.call::<(), _>(&what, reqwest::Method::GET, &path, None)).await?;
        Ok(list.emissions.into_iter().find_map(|ack| ack.watermark))
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        what: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, Error> {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |source| Error::Transport { what: what.to_owned(), source: without_url(source) };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            let path = format!("{}{}", crate::answer::url_path(&self.base), path.split('?').next().unwrap_or(path));
            return Err(crate::answer::refusal(what, &path, status.as_u16(), &bytes));
        }
        // A 204 (abort) has no body; `()` reads from `null`.
        let text: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        serde_json::from_slice(text).map_err(|e| Error::Protocol { what: what.to_owned(), detail: e.to_string() })
    }
}

impl DeliveryTarget for ApiClient {
    fn create<'a>(&'a self, request: &'a CreateUploadRequest) -> BoxFuture<'a, Result<CreateUploadResponse, Error>> {
        Box::pin(ApiClient::create(self, request))
    }

    fn put_part<'a>(&'a self, upload_id: &'a str, part: &'a Part) -> BoxFuture<'a, Result<String, Error>> {
        Box::pin(ApiClient::put_part(self, upload_id, part))
    }

    fn complete<'a>(
        &'a self,
        upload_id: &'a str,
        request: &'a CompleteUploadRequest,
    ) -> BoxFuture<'a, Result<Acknowledgement, Error>> {
        Box::pin(ApiClient::complete(self, upload_id, request))
    }

    fn abort<'a>(&'a self, upload_id: &'a str) -> BoxFuture<'a, Result<Aborted, Error>> {
        Box::pin(ApiClient::abort(self, upload_id))
    }

    fn list_parts<'a>(&'a self, upload_id: &'a str) -> BoxFuture<'a, Result<Vec<StoredPart>, Error>> {
        Box::pin(ApiClient::list_parts(self, upload_id))
    }

    fn last_watermark<'a>(
        &'a self,
        source: &'a str,
        column: &'a str,
    ) -> BoxFuture<'a, Result<Option<Watermark>, Error>> {
        Box::pin(ApiClient::last_watermark(self, source, column))
    }
}

/// Drops the URL from a client error: a presigned URL's query is a credential and must not reach a log line.
fn without_url(e: reqwest::Error) -> reqwest::Error {
    e.without_url()
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
    let days = cqube_core::calendar::days_from_civil(y, u32::try_from(m).ok()?, u32::try_from(d).ok()?);
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss - offset;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
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

    /// A replica killed while `POST /uploads` is in flight closes the connection unanswered; the retry reaches a
    /// live one (here: the next connection) and the file goes on.
    #[tokio::test]
    async fn create_is_retried_after_a_connection_closed_unanswered() {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            for answer in [false, true] {
                let (conn, _) = listener.accept().unwrap();
                cqube_testkit::read_http_request(&conn);
                if answer {
                    let body = r#"{"upload_id":"u2","bucket":"b","key":"k","expires_at":"2999-01-01T00:00:00Z"}"#;
                    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close";
                    write!(&conn, "{head}\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
                }
            }
        });
        let retry = RetryPolicy { min_delay: Duration::from_millis(1), ..RetryPolicy::default() };
        let api =
            ApiClient::new(&format!("http://127.0.0.1:{port}/data"), "t", retry, Duration::from_secs(10)).unwrap();
        let request = CreateUploadRequest { source: "s".into(), filename: "d/s.zip".into(), expected_size_bytes: None };
        assert_eq!(api.create(&request).await.unwrap().upload_id, "u2");
        server.join().unwrap();
    }
}
