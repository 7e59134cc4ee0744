//! Stock cQube's emission API as a [`DeliveryTarget`]: one presigned POST per file (`POST {api}/upload-url`), the
//! way cQube's own client sends, streamed with an exact `Content-Length` and confirmed with `list_s3_files`.
//!
//! A POST is one request body, so this is a one-shot target ([`OneShot`]): `create` asks for the presigned POST and
//! opens the request with the announced length; `put_part` feeds the body through a bounded channel (nothing is
//! held whole or written to disk); `complete` hands over the last byte, which is held back until then so a stream
//! that turns out wrong (length, SHA-256) never becomes an object, and awaits S3's 2xx. Stock cQube has no
//! acknowledgement endpoint: S3's 2xx is cQube's own acknowledgement, and a listing then confirms key and size
//! where it can (ingestion moves objects out of the emission bucket soon, so an object not listed is "sent, not
//! confirmed", never a failure). `abort` settles a POST whose answer was lost after its body was sent: it lists the
//! bucket, so a file that landed is not sent twice.

use std::collections::HashMap;
use std::fmt::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use cqube_protocol::{
    Acknowledgement, CompleteUploadRequest, CreateUploadRequest, CreateUploadResponse, PresignedPost, StoredPart,
    Watermark,
};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::answer::{refusal, url_path};
use crate::target::{Aborted, BoxFuture, DeliveryTarget, Landed, OneShot};
use crate::{Error, Part, RetryPolicy};

/// S3's limit for one POST upload.
pub const MAX_POST_BYTES: u64 = 5 << 30;

/// A client of a stock cQube emission API (`http://HOST/data`), or of a cqube-emit server's `upload-url`.
pub struct PostTarget {
    http: reqwest::Client,
    base: String,
    token: String,
    retry: RetryPolicy,
    request_timeout: Duration,
    max_bytes: u64,
    uploads: Mutex<HashMap<String, Upload>>,
}

impl std::fmt::Debug for PostTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostTarget").field("base", &self.base).field("token", &"***").finish_non_exhaustive()
    }
}

/// One file's POST in progress.
struct Upload {
    source: String,
    bucket: String,
    key: String,
    expected: u64,
    /// Feeds the request body; dropped to end it (or, before the last byte, to break it).
    body: Option<mpsc::Sender<Bytes>>,
    /// The request: `Ok` on S3's 2xx.
    request: Option<JoinHandle<Result<(), Error>>>,
    /// Set once the body's last bytes were handed to the connection: from then on a lost answer is ambiguous.
    body_sent: Arc<AtomicBool>,
    sent: u64,
    sha: Sha256,
    /// The stream's last byte, held back until `complete` has checked the stream.
    last: Option<Bytes>,
    /// What `complete` was asked, once it sent the last byte.
    completing: Option<CompleteUploadRequest>,
    acknowledged: Option<Acknowledgement>,
}

impl PostTarget {
    /// A client for `base` (`http://HOST/data`) sending `token` as given (a cQube gateway's JWT or our `cqe_`
    /// token); `request_timeout` bounds each API request and each wait for the store while a POST streams, and
    /// files over `max_bytes` (at most [`MAX_POST_BYTES`]) are refused before any byte is sent.
    pub fn new(
        base: &str,
        token: &str,
        retry: RetryPolicy,
        request_timeout: Duration,
        max_bytes: u64,
    ) -> Result<PostTarget, Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(request_timeout)
            .build()
            .map_err(|source| Error::Transport { what: "building the HTTP client".into(), source })?;
        Ok(PostTarget {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            retry,
            request_timeout,
            max_bytes: max_bytes.min(MAX_POST_BYTES),
            uploads: Mutex::default(),
        })
    }

    fn uploads(&self) -> std::sync::MutexGuard<'_, HashMap<String, Upload>> {
        self.uploads.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `POST {api}/upload-url` with form field `filename`, as cQube's client sends it: a presigned POST.
    async fn presigned_post(&self, filename: &str) -> Result<PresignedPost, Error> {
        let what = format!("asking for a presigned POST for {filename}");
        self.retry
            .run(&what, || async {
                let request = self.http.post(format!("{}/upload-url", self.base)).form(&[("filename", filename)]);
                let bytes = self.send(&what, "/upload-url", request).await?;
                serde_json::from_slice(&bytes)
                    .map_err(|e| Error::Protocol { what: what.clone(), detail: e.to_string() })
            })
            .await
    }

    /// `POST {api}/list_s3_files` for `bucket` (stock cQube takes only `bucket` and returns at most 1,000 keys;
    /// `prefix` narrows a cqube-emit server's answer): `key`'s size and unquoted ETag when it is listed, `None`
    /// when it is not and the listing is complete.
    async fn listed(&self, bucket: &str, key: &str) -> Result<Option<(u64, Option<String>)>, Error> {
        let what = format!("listing bucket {bucket} for {key}");
        let listing: serde_json::Value = self
            .retry
            .run(&what, || async {
                let form = [("bucket", bucket), ("prefix", key)];
                let request = self.http.post(format!("{}/list_s3_files", self.base)).form(&form);
                let bytes = self.send(&what, "/list_s3_files", request).await?;
                serde_json::from_slice(&bytes)
                    .map_err(|e| Error::Protocol { what: what.clone(), detail: e.to_string() })
            })
            .await?;
        let contents = listing.get("Contents").and_then(serde_json::Value::as_array).map_or(&[][..], Vec::as_slice);
        if let Some(found) = contents.iter().find(|o| o.get("Key").and_then(serde_json::Value::as_str) == Some(key)) {
            let size = found.get("Size").and_then(serde_json::Value::as_u64).ok_or_else(|| Error::Protocol {
                what: what.clone(),
                detail: format!("{key} is listed without a size"),
            })?;
            let etag = found.get("ETag").and_then(serde_json::Value::as_str).map(|e| e.trim_matches('"').to_owned());
            return Ok(Some((size, etag)));
        }
        if listing.get("IsTruncated").and_then(serde_json::Value::as_bool).unwrap_or(false) {
            return Err(Error::Protocol {
                what,
                detail: format!("the listing stops at {} keys without {key}, so it cannot tell", contents.len()),
            });
        }
        Ok(None)
    }

    /// Sends an API request with the bearer token and returns the body of a 2xx answer.
    async fn send(&self, what: &str, path: &str, request: reqwest::RequestBuilder) -> Result<Bytes, Error> {
        let request = request.bearer_auth(&self.token).timeout(self.request_timeout);
        let transport =
            |source: reqwest::Error| Error::Transport { what: what.to_owned(), source: source.without_url() };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return Ok(bytes);
        }
        Err(refusal(what, &format!("{}{path}", url_path(&self.base)), status.as_u16(), &bytes))
    }

    /// Opens the POST of `fields` plus `file` to `url`, `expected` file bytes long, its body fed by the returned
    /// channel. S3 refuses a chunked POST, so the length is exact and announced.
    fn open_post(
        &self,
        post: &PresignedPost,
        filename: &str,
        expected: u64,
        what: String,
    ) -> (mpsc::Sender<Bytes>, JoinHandle<Result<(), Error>>, Arc<AtomicBool>) {
        let boundary = format!("cqube-emit-{:016x}", xxhash_rust::xxh3::xxh3_64(what.as_bytes()) ^ rand_u64());
        let mut head = String::new();
        for (name, value) in &post.fields {
            let _ = write!(head, "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n");
        }
        let file = filename.rsplit('/').next().unwrap_or(filename);
        let _ = write!(
            head,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file}\"\r\nContent-Type: \
             application/zip\r\n\r\n"
        );
        let end = format!("\r\n--{boundary}--\r\n");
        let length = head.len() as u64 + expected + end.len() as u64;
        // Capacity 1: the part being handed on, besides the one the connection is writing.
        let (tx, rx) = mpsc::channel(1);
        let body_sent = Arc::new(AtomicBool::new(false));
        let body = FormBody {
            head: Some(Bytes::from(head)),
            rx,
            end: Some(Bytes::from(end)),
            expected,
            got: 0,
            length,
            body_sent: Arc::clone(&body_sent),
        };
        let request = self
            .http
            .post(&post.url)
            .header(reqwest::header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .header(reqwest::header::CONTENT_LENGTH, length)
            .body(reqwest::Body::wrap(body));
        let task = tokio::spawn(async move {
            let response = request
                .send()
                .await
                .map_err(|source| Error::Transport { what: what.clone(), source: source.without_url() })?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let text = response.text().await.unwrap_or_default();
            let detail = crate::answer::s3_code(&text).unwrap_or_else(|| "no S3 error code".into());
            Err(Error::Api {
                what,
                status: status.as_u16(),
                code: detail,
                message: "the store refused the POST".into(),
            })
        });
        (tx, task, body_sent)
    }

    /// `POST {api}/upload-url` and open the file's POST.
    async fn create_post(&self, request: &CreateUploadRequest) -> Result<CreateUploadResponse, Error> {
        let what = format!("POST of {}", request.filename);
        let expected = request.expected_size_bytes.ok_or_else(|| Error::Protocol {
            what: what.clone(),
            detail: "a presigned POST needs the file's size in advance".into(),
        })?;
        if expected > self.max_bytes {
            return Err(Error::Protocol {
                what,
                detail: format!(
                    "{expected} bytes, over the {}-byte limit of one presigned POST; nothing was sent",
                    self.max_bytes
                ),
            });
        }
        let post = self.presigned_post(&request.filename).await?;
        let key = post
            .fields
            .get("key")
            .cloned()
            .ok_or_else(|| Error::Protocol { what: what.clone(), detail: "upload-url's fields have no key".into() })?;
        let bucket = bucket_of(&post).ok_or_else(|| Error::Protocol {
            what: what.clone(),
            detail: "neither the POST policy nor the URL names a bucket".into(),
        })?;
        // What a later run needs to settle this POST from its journal alone: size, bucket and key.
        let upload_id = format!("post:{expected}:{bucket}:{key}");
        let (body, task, body_sent) = self.open_post(&post, &request.filename, expected, format!("POST of {key}"));
        self.uploads().insert(
            upload_id.clone(),
            Upload {
                source: request.source.clone(),
                bucket: bucket.clone(),
                key: key.clone(),
                expected,
                body: Some(body),
                request: Some(task),
                body_sent,
                sent: 0,
                sha: Sha256::new(),
                last: None,
                completing: None,
                acknowledged: None,
            },
        );
        tracing::debug!(%upload_id, %key, bytes = expected, "presigned POST opened");
        Ok(CreateUploadResponse { upload_id, bucket, key, expires_at: String::new() })
    }

    /// Feeds one part into the body; the stream's last byte is kept back for `complete`.
    async fn put(&self, upload_id: &str, part: &Part) -> Result<String, Error> {
        let what = format!("part {} of POST {upload_id}", part.number);
        let (tx, chunk) = {
            let mut uploads = self.uploads();
            let upload = uploads.get_mut(upload_id).ok_or_else(|| gone(&what))?;
            let len = part.data.len() as u64;
            if upload.sent + len > upload.expected {
                return Err(Error::Protocol {
                    what,
                    detail: format!("the stream is longer than the {} bytes announced", upload.expected),
                });
            }
            upload.sha.update(&part.data);
            upload.sent += len;
            let mut chunk = part.data.clone();
            if upload.sent == upload.expected && !chunk.is_empty() {
                upload.last = Some(chunk.split_off(chunk.len() - 1));
            }
            (upload.body.clone().ok_or_else(|| gone(&what))?, chunk)
        };
        if tx.send(chunk).await.is_err() {
            // The request ended early: its own error says why.
            return Err(self.request_error(upload_id, &what).await);
        }
        Ok(format!("\"post-part-{}\"", part.number))
    }

    /// The error of a request that stopped taking its body.
    async fn request_error(&self, upload_id: &str, what: &str) -> Error {
        let task = self.uploads().get_mut(upload_id).and_then(|u| u.request.take());
        match task {
            Some(task) => match task.await {
                Ok(Err(e)) => e,
                Ok(Ok(())) => Error::Protocol { what: what.to_owned(), detail: "the store answered early".into() },
                Err(e) => Error::Protocol { what: what.to_owned(), detail: format!("the POST task failed: {e}") },
            },
            None => gone(what),
        }
    }

    /// Checks the stream, sends its last byte, awaits S3's 2xx and confirms the object by listing.
    async fn finish(&self, upload_id: &str, request: &CompleteUploadRequest) -> Result<Acknowledgement, Error> {
        let what = format!("completing POST {upload_id}");
        let (tx, last, task) = {
            let mut uploads = self.uploads();
            let upload = uploads.get_mut(upload_id).ok_or_else(|| gone(&what))?;
            if let Some(ack) = &upload.acknowledged {
                return Ok(ack.clone());
            }
            let sha256 = hex::encode(upload.sha.clone().finalize());
            if upload.sent != upload.expected || request.bytes != upload.sent || request.sha256 != sha256 {
                // Dropping the body before its last byte breaks the request: nothing is stored.
                upload.body = None;
                return Err(Error::AckMismatch {
                    key: upload.key.clone(),
                    detail: format!(
                        "{} bytes announced, {} streamed (sha256 {sha256}), {} reported (sha256 {})",
                        upload.expected, upload.sent, request.bytes, request.sha256
                    ),
                });
            }
            upload.completing = Some(request.clone());
            (upload.body.take(), upload.last.take(), upload.request.take())
        };
        let (Some(tx), Some(task)) = (tx, task) else { return Err(gone(&what)) };
        if let Some(last) = last {
            // A failed send means the request already ended; its result says how.
            let _ = tx.send(last).await;
        }
        drop(tx);
        task.await
            .map_err(|e| Error::Protocol { what: what.clone(), detail: format!("the POST task failed: {e}") })??;
        let (bucket, key, source) = {
            let uploads = self.uploads();
            let upload = uploads.get(upload_id).ok_or_else(|| gone(&what))?;
            (upload.bucket.clone(), upload.key.clone(), upload.source.clone())
        };
        let confirmed = match self.listed(&bucket, &key).await {
            Ok(Some((size, _))) if size == request.bytes => true,
            Ok(Some((size, _))) => {
                return Err(Error::AckMismatch {
                    key,
                    detail: format!("listed with {size} bytes, sent {}", request.bytes),
                });
            }
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(%key, error = %e, "the POST was stored (S3 answered 2xx) but listing it failed");
                false
            }
        };
        let ack = acknowledgement(upload_id, &source, &bucket, &key, request, confirmed);
        if let Some(upload) = self.uploads().get_mut(upload_id) {
            upload.acknowledged = Some(ack.clone());
        }
        Ok(ack)
    }

    /// Settles a POST an earlier run started (its id names size, bucket and key): removed when the bucket does not
    /// hold it; landed, for the engine to recognize by length and MD5, when it does (that run's acknowledgement,
    /// with its rows and SHA-256, was lost with it); an error, so the file is not sent twice, when the listing
    /// cannot tell.
    async fn settle_earlier(&self, upload_id: &str) -> Result<Aborted, Error> {
        let mut fields = upload_id.splitn(4, ':');
        let (Some("post"), Some(size), Some(bucket), Some(key)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Ok(Aborted::Removed);
        };
        let what = format!("settling an earlier run's POST of {key}");
        let listed = self.listed(bucket, key).await.map_err(|e| Error::Protocol {
            what,
            detail: format!("whether it landed cannot be told, so it is not sent again: {e}"),
        })?;
        match listed {
            Some((bytes, etag)) if size.parse() == Ok(bytes) => {
                Ok(Aborted::Landed(Box::new(Landed { bucket: bucket.to_owned(), key: key.to_owned(), bytes, etag })))
            }
            _ => Ok(Aborted::Removed),
        }
    }

    /// Settles an upload: acknowledged when it landed, removed when it cannot have, an error when nobody can tell.
    async fn settle(&self, upload_id: &str) -> Result<Aborted, Error> {
        let Some(mut upload) = self.uploads().remove(upload_id) else { return self.settle_earlier(upload_id).await };
        if let Some(ack) = upload.acknowledged {
            return Ok(Aborted::Acknowledged(Box::new(ack)));
        }
        upload.body = None;
        if let Some(task) = upload.request.take() {
            task.abort();
        }
        let Some(request) = upload.completing.filter(|_| upload.body_sent.load(Ordering::SeqCst)) else {
            // The last byte never left: the store cannot have the object.
            return Ok(Aborted::Removed);
        };
        let listed = self.listed(&upload.bucket, &upload.key).await.map_err(|e| Error::Protocol {
            what: format!("settling the POST of {}", upload.key),
            detail: format!("its answer was lost after the body was sent, and {e}"),
        })?;
        match listed {
            Some((size, _)) if size == upload.expected => {
                let ack = acknowledgement(upload_id, &upload.source, &upload.bucket, &upload.key, &request, true);
                Ok(Aborted::Acknowledged(Box::new(ack)))
            }
            _ => Ok(Aborted::Removed),
        }
    }
}

impl DeliveryTarget for PostTarget {
    fn create<'a>(&'a self, request: &'a CreateUploadRequest) -> BoxFuture<'a, Result<CreateUploadResponse, Error>> {
        Box::pin(self.create_post(request))
    }

    fn put_part<'a>(&'a self, upload_id: &'a str, part: &'a Part) -> BoxFuture<'a, Result<String, Error>> {
        Box::pin(self.put(upload_id, part))
    }

    fn complete<'a>(
        &'a self,
        upload_id: &'a str,
        request: &'a CompleteUploadRequest,
    ) -> BoxFuture<'a, Result<Acknowledgement, Error>> {
        Box::pin(self.finish(upload_id, request))
    }

    fn abort<'a>(&'a self, upload_id: &'a str) -> BoxFuture<'a, Result<Aborted, Error>> {
        Box::pin(self.settle(upload_id))
    }

    fn list_parts<'a>(&'a self, _upload_id: &'a str) -> BoxFuture<'a, Result<Vec<StoredPart>, Error>> {
        // A POST stores nothing until its whole body arrived.
        Box::pin(async { Ok(Vec::new()) })
    }

    fn one_shot(&self) -> Option<OneShot> {
        Some(OneShot { max_bytes: self.max_bytes })
    }

    fn last_watermark<'a>(
        &'a self,
        source: &'a str,
        _column: &'a str,
    ) -> BoxFuture<'a, Result<Option<Watermark>, Error>> {
        Box::pin(async move {
            Err(Error::Protocol {
                what: format!("reading the last watermark of {source}"),
                detail: "a stock cQube API keeps no acknowledgements, so incremental database sources need a \
                         cqube-emit server (multipart), or --full"
                    .into(),
            })
        })
    }
}

/// The request body: the form's fields, the file as its parts arrive, then the closing boundary. Its exact length
/// is its size hint, so the request carries `Content-Length` and is never chunked.
struct FormBody {
    head: Option<Bytes>,
    rx: mpsc::Receiver<Bytes>,
    end: Option<Bytes>,
    expected: u64,
    got: u64,
    length: u64,
    body_sent: Arc<AtomicBool>,
}

impl http_body::Body for FormBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        if let Some(head) = this.head.take() {
            return Poll::Ready(Some(Ok(http_body::Frame::data(head))));
        }
        if this.end.is_none() {
            return Poll::Ready(None);
        }
        match this.rx.poll_recv(cx) {
            Poll::Ready(Some(chunk)) => {
                this.got += chunk.len() as u64;
                Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
            }
            Poll::Ready(None) if this.got == this.expected => {
                this.body_sent.store(true, Ordering::SeqCst);
                Poll::Ready(this.end.take().map(|end| Ok(http_body::Frame::data(end))))
            }
            // Stopped before the last byte: the request fails and the store keeps nothing.
            Poll::Ready(None) => Poll::Ready(Some(Err(std::io::Error::other("the upload stopped before its end")))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.length)
    }
}

impl Landed {
    /// The acknowledgement an earlier run's POST would have had, once the caller recognized the object as the file
    /// `sent` describes.
    pub fn acknowledgement(&self, upload_id: &str, source: &str, sent: &CompleteUploadRequest) -> Acknowledgement {
        acknowledgement(upload_id, source, &self.bucket, &self.key, sent, true)
    }
}

/// The acknowledgement of a POST: what was sent, under the key upload-url issued.
fn acknowledgement(
    upload_id: &str,
    source: &str,
    bucket: &str,
    key: &str,
    request: &CompleteUploadRequest,
    confirmed: bool,
) -> Acknowledgement {
    Acknowledgement {
        emission_id: format!("post:{key}"),
        upload_id: Some(upload_id.to_owned()),
        token_name: String::new(),
        source: source.to_owned(),
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        archived_key: None,
        bytes: request.bytes,
        rows: request.rows,
        sha256: request.sha256.clone(),
        started_at: String::new(),
        completed_at: String::new(),
        watermark: request.watermark.clone(),
        confirmed: Some(confirmed),
    }
}

/// The bucket a presigned POST writes to: the policy's `bucket` condition (boto3 always sets it), else the URL's
/// first path segment (path style) or first host label (virtual-hosted style).
fn bucket_of(post: &PresignedPost) -> Option<String> {
    use base64::Engine;
    let from_policy = post
        .fields
        .get("policy")
        .and_then(|p| base64::engine::general_purpose::STANDARD.decode(p).ok())
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .and_then(|policy| {
            policy["conditions"].as_array()?.iter().find_map(|c| c.get("bucket")?.as_str().map(str::to_owned))
        });
    from_policy.or_else(|| {
        let url = reqwest::Url::parse(&post.url).ok()?;
        let segment = url.path_segments()?.rfind(|s| !s.is_empty()).map(str::to_owned);
        segment.or_else(|| url.host_str()?.split('.').next().map(str::to_owned))
    })
}

fn gone(what: &str) -> Error {
    Error::Protocol { what: what.to_owned(), detail: "no such POST in progress".into() }
}

/// Enough randomness for a multipart boundary that no file's bytes are likely to contain.
fn rand_u64() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    xxhash_rust::xxh3::xxh3_64(&now.as_nanos().to_le_bytes())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn the_bucket_comes_from_the_policy_else_the_url() {
        use base64::Engine;
        let policy = base64::engine::general_purpose::STANDARD
            .encode(br#"{"expiration": "x", "conditions": [{"bucket": "cqube-emission"}, {"key": "a/b.zip"}]}"#);
        let mut post = PresignedPost {
            url: "https://other.s3.amazonaws.com/".into(),
            fields: BTreeMap::from([("policy".to_owned(), policy)]),
        };
        assert_eq!(bucket_of(&post).as_deref(), Some("cqube-emission"));
        post.fields.clear();
        assert_eq!(bucket_of(&post).as_deref(), Some("other"));
        post.url = "http://127.0.0.1:8333/emission".into();
        assert_eq!(bucket_of(&post).as_deref(), Some("emission"));
    }
}
