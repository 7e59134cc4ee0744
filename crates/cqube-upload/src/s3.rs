//! A direct S3 multipart upload (`cqube-emit emit --s3 s3://BUCKET[/PREFIX]`): the [`DeliveryTarget`] for a
//! state that holds write credentials to its own emission bucket and runs no emission API. Feature `s3`.
//!
//! - **Keys** are named as cQube's API names them, `[PREFIX/]<dir>/<stem>_YYYYmmddHHMMSS.zip` (UTC), so cQube's
//!   ingestion treats them like any other emission.
//! - **The acknowledgement** is S3's: CompleteMultipartUpload, then a HeadObject whose size must be the bytes sent.
//!   Rows, SHA-256 and the watermark are the emitter's own figures (S3 fixes an object's metadata when the upload
//!   is created, before they are known), kept in a small state object per source (below).
//! - **State** lives in `[PREFIX/].cqube-emit/sources/<source>.json`: the source's last acknowledgement, its last
//!   one with a watermark, and the one being completed. It is written before CompleteMultipartUpload (as `pending`) and promoted once HeadObject
//!   shows the object, so a crash between the two loses nothing: the next `last_watermark` or `abort` finds the
//!   object and promotes it. The watermark therefore advances exactly when the object lands, and survives the
//!   machine. It is JSON under a dot-directory that is no data source's `<dir>`, never a `.zip`, so cQube's
//!   ingestion (which reads `<dir>/<stem>_<time>.zip` objects) does not take it for data.
//! - **Upload ids** the engine sees are `<source>:<key>#<S3 upload id>`: every S3 call needs the key, and a resumed
//!   job (another process) has only the journal's id. Source names have no `:`, S3 upload ids no `#`.
//!
//! Every call but `create` is retried by the caller or here under the [`RetryPolicy`] (the SDK's own retries are
//! off, so a part's retries are reported like the API path's).

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, ProvideCredentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    retry, timeout,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use chrono::{DateTime, NaiveDateTime, Utc};
use cqube_protocol::{
    Acknowledgement, CompleteUploadRequest, CreateUploadRequest, CreateUploadResponse, ListedPart, StoredPart,
    Watermark, newest_parts,
};
use serde::{Deserialize, Serialize};

use crate::target::{Aborted, BoxFuture, DeliveryTarget};
use crate::{Error, Part, RetryPolicy};

/// Object metadata naming the catalog source (`x-amz-meta-cqube-emit-source`).
const SOURCE_METADATA: &str = "cqube-emit-source";

/// Where under the prefix the per-source state objects live.
const STATE_DIR: &str = ".cqube-emit/sources";

/// `s3://BUCKET[/PREFIX]`: where `--s3` delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The emission bucket.
    pub bucket: String,
    /// Key prefix without slashes at either end; empty for the bucket's root.
    pub prefix: String,
}

impl std::str::FromStr for S3Location {
    type Err = String;

    fn from_str(s: &str) -> Result<S3Location, String> {
        let rest = s.strip_prefix("s3://").ok_or_else(|| format!("expected s3://BUCKET[/PREFIX], got {s:?}"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("no bucket in {s:?}: expected s3://BUCKET[/PREFIX]"));
        }
        Ok(S3Location { bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned() })
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// How to reach the bucket besides what the standard AWS chain (`AWS_*` variables, profiles) says.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// Where to deliver.
    pub location: S3Location,
    /// An S3-compatible store's URL; overrides `AWS_ENDPOINT_URL`.
    pub endpoint: Option<String>,
    /// Path-style requests (`ENDPOINT/BUCKET/KEY`), which most S3-compatible stores need.
    pub path_style: bool,
    /// How calls are retried.
    pub retry: RetryPolicy,
    /// Time limit of one request, a part upload included.
    pub request_timeout: Duration,
}

/// What the state object of a source holds.
#[derive(Debug, Default, Serialize, Deserialize)]
struct SourceState {
    /// The newest acknowledged emission.
    acknowledged: Option<Acknowledgement>,
    /// The newest acknowledged emission with a watermark (a prepared zip of the source sent since has none, and
    /// must not reset where the next incremental run starts).
    #[serde(default)]
    watermarked: Option<Acknowledgement>,
    /// An emission whose completion was asked for and not yet seen to land.
    pending: Option<Acknowledgement>,
}

impl SourceState {
    /// Records `ack` as acknowledged; a pending entry of the same upload is settled.
    fn acknowledge(&mut self, ack: Acknowledgement) {
        if self.pending.as_ref().is_some_and(|p| p.upload_id == ack.upload_id) {
            self.pending = None;
        }
        if ack.watermark.is_some() {
            self.watermarked = Some(ack.clone());
        }
        self.acknowledged = Some(ack);
    }

    /// The entry of `upload_id`, pending or acknowledged.
    fn find(&self, upload_id: &str) -> Option<&Acknowledgement> {
        [&self.pending, &self.acknowledged, &self.watermarked]
            .into_iter()
            .flatten()
            .find(|a| a.upload_id.as_deref() == Some(upload_id))
    }
}

/// The direct S3 target. See the module docs.
pub struct S3Target {
    client: Client,
    location: S3Location,
    retry: RetryPolicy,
    /// Keys handed out (or found taken) by this process: two files of one second never share a key.
    taken: Mutex<HashSet<String>>,
    /// Serializes this process's read-modify-write of state objects.
    state_lock: tokio::sync::Mutex<()>,
    /// Whether CompleteMultipartUpload carries `If-None-Match: *`; cleared for a store that answers NotImplemented.
    conditional_complete: AtomicBool,
}

impl std::fmt::Debug for S3Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Target").field("location", &self.location.to_string()).finish_non_exhaustive()
    }
}

impl S3Target {
    /// A target for `options`, with credentials, region and endpoint from the standard AWS chain (a region left
    /// unset is `us-east-1`, as the aws CLI's s3 commands assume). Fails when no credentials are found.
    pub async fn connect(options: S3Options) -> Result<S3Target, Error> {
        let shared = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client()).load().await;
        let what = "loading AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...)";
        let credentials = shared.credentials_provider().ok_or_else(|| Error::Store {
            what: what.into(),
            status: None,
            code: None,
            detail: "no credentials provider".into(),
            retryable: false,
        })?;
        credentials.provide_credentials().await.map_err(|e| Error::Store {
            what: what.into(),
            status: None,
            code: None,
            detail: chain(&e),
            retryable: false,
        })?;
        let mut config = aws_sdk_s3::config::Builder::from(&shared);
        if shared.region().is_none() {
            config = config.region(Region::new("us-east-1"));
        }
        Ok(S3Target::from_config(config, options))
    }

    /// A target for `options` that signs with these credentials for `region` instead of the standard chain's:
    /// for a caller that reaches several stores from one process, where the process-wide `AWS_*` variables can
    /// name only one (the conformance suite).
    pub fn with_credentials(
        options: S3Options,
        access_key_id: &str,
        secret_access_key: &str,
        region: &str,
    ) -> S3Target {
        let credentials = Credentials::new(access_key_id, secret_access_key, None, None, "cqube-emit");
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http_client())
            .credentials_provider(credentials)
            .region(Region::new(region.to_owned()));
        S3Target::from_config(config, options)
    }

    /// The client every constructor ends with: path style as asked, checksums only where S3 requires them, the
    /// SDK's retries off (the [`RetryPolicy`] retries), `options.request_timeout` per attempt.
    fn from_config(config: aws_sdk_s3::config::Builder, options: S3Options) -> S3Target {
        let mut config = config
            .force_path_style(options.path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .retry_config(retry::RetryConfig::disabled())
            .timeout_config(
                timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(options.request_timeout)
                    .build(),
            );
        if let Some(endpoint) = &options.endpoint {
            config = config.endpoint_url(endpoint);
        }
        S3Target {
            client: Client::from_conf(config.build()),
            location: options.location,
            retry: options.retry,
            taken: Mutex::default(),
            state_lock: tokio::sync::Mutex::default(),
            conditional_complete: AtomicBool::new(true),
        }
    }

    fn bucket(&self) -> &str {
        &self.location.bucket
    }

    /// `PREFIX/rest`, or `rest` at the bucket's root.
    fn prefixed(&self, rest: &str) -> String {
        if self.location.prefix.is_empty() { rest.to_owned() } else { format!("{}/{rest}", self.location.prefix) }
    }

    fn state_key(&self, source: &str) -> String {
        self.prefixed(&format!("{STATE_DIR}/{source}.json"))
    }

    /// The first free key for `filename` from this second on: not handed out by this process, and absent from the
    /// bucket (HeadObject), stepping a second at a time as cQube's API would have named a later upload.
    ///
    /// Across processes this is best effort: two emitters creating the same file in the same second may both find
    /// a key free. CompleteMultipartUpload is sent with `If-None-Match: *`, so on AWS S3 (and stores that honour
    /// it) the second completion does not replace the first object (its size check then fails unless the objects
    /// are the same size); elsewhere the later one wins.
    async fn free_key(&self, filename: &str) -> Result<String, Error> {
        let stem = filename.strip_suffix(".zip").unwrap_or(filename);
        let start = Utc::now();
        for step in 0..3600 {
            let key = self.prefixed(&key_name(stem, start + chrono::TimeDelta::seconds(step)));
            let reserved = self.taken.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key.clone());
            if reserved && self.head(&key).await?.is_none() {
                return Ok(key);
            }
        }
        Err(Error::Protocol { what: format!("naming {filename}"), detail: "no free key within an hour".into() })
    }

    /// HeadObject: the object's size and last-modified time, or `None` when there is no such object.
    async fn head(&self, key: &str) -> Result<Option<(u64, String)>, Error> {
        let what = format!("checking s3://{}/{key}", self.bucket());
        self.retry
            .run(&what, || async {
                match self.client.head_object().bucket(self.bucket()).key(key).send().await {
                    Ok(head) => {
                        let size = head.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
                        let modified = head.last_modified().map_or_else(
                            || Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                            |t| rfc3339(t.secs(), t.subsec_nanos()),
                        );
                        Ok(Some((size, modified)))
                    }
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(aws_sdk_s3::operation::head_object::HeadObjectError::is_not_found) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(store_error(&what, &e)),
                }
            })
            .await
    }

    async fn read_state(&self, source: &str) -> Result<SourceState, Error> {
        let key = self.state_key(source);
        let what = format!("reading s3://{}/{key}", self.bucket());
        self.retry
            .run(&what, || async {
                let object = match self.client.get_object().bucket(self.bucket()).key(&key).send().await {
                    Ok(object) => object,
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(aws_sdk_s3::operation::get_object::GetObjectError::is_no_such_key) =>
                    {
                        return Ok(SourceState::default());
                    }
                    Err(e) => return Err(store_error(&what, &e)),
                };
                let body = object.body.collect().await.map_err(|e| Error::Store {
                    what: what.clone(),
                    status: None,
                    code: None,
                    detail: e.to_string(),
                    retryable: true,
                })?;
                serde_json::from_slice(&body.into_bytes())
                    .map_err(|e| Error::Protocol { what: what.clone(), detail: e.to_string() })
            })
            .await
    }

    async fn write_state(&self, source: &str, state: &SourceState) -> Result<(), Error> {
        let key = self.state_key(source);
        let what = format!("writing s3://{}/{key}", self.bucket());
        let body =
            serde_json::to_vec(state).map_err(|e| Error::Protocol { what: what.clone(), detail: e.to_string() })?;
        self.retry
            .run(&what, || async {
                let request = self.client.put_object().bucket(self.bucket()).key(&key);
                let request = request.content_type("application/json").body(ByteStream::from(body.clone()));
                request.send().await.map(|_| ()).map_err(|e| store_error(&what, &e))
            })
            .await
    }

    /// Moves the source's pending acknowledgement of `upload_id` (if that is what is pending) to acknowledged, and
    /// returns the source's acknowledgement of that upload, if it has one.
    async fn promote(&self, source: &str, upload_id: &str) -> Result<Option<Acknowledgement>, Error> {
        let _guard = self.state_lock.lock().await;
        let mut state = self.read_state(source).await?;
        let found = state.find(upload_id).cloned();
        let pending = state.pending.as_ref().is_some_and(|p| p.upload_id.as_deref() == Some(upload_id));
        if let Some(ack) = found.clone().filter(|_| pending) {
            state.acknowledge(ack);
            self.write_state(source, &state).await?;
        }
        Ok(found)
    }

    /// Starts a multipart upload under a free key.
    pub async fn create(&self, request: &CreateUploadRequest) -> Result<CreateUploadResponse, Error> {
        let key = self.free_key(&request.filename).await?;
        let what = format!("starting the upload of s3://{}/{key}", self.bucket());
        let created = self
            .client
            .create_multipart_upload()
            .bucket(self.bucket())
            .key(&key)
            .content_type("application/zip")
            .metadata(SOURCE_METADATA, &request.source)
            .send()
            .await
            .map_err(|e| store_error(&what, &e))?;
        let s3_id = created.upload_id().ok_or_else(|| Error::Protocol { what, detail: "no upload id".into() })?;
        Ok(CreateUploadResponse {
            upload_id: upload_id(&request.source, &key, s3_id),
            bucket: self.bucket().to_owned(),
            key,
            // S3 keeps an incomplete upload until it is aborted or the bucket's lifecycle rule removes it.
            expires_at: String::new(),
        })
    }

    /// UploadPart: one attempt; returns the part's ETag.
    pub async fn put_part(&self, upload_id: &str, part: &Part) -> Result<String, Error> {
        let (_, key, s3_id) = parse_upload_id(upload_id)?;
        let what = format!("part {} of s3://{}/{key}", part.number, self.bucket());
        let stored = self
            .client
            .upload_part()
            .bucket(self.bucket())
            .key(key)
            .upload_id(s3_id)
            .part_number(i32::try_from(part.number).unwrap_or(i32::MAX))
            .content_length(i64::try_from(part.data.len()).unwrap_or(i64::MAX))
            .body(ByteStream::from(part.data.clone()))
            .send()
            .await
            .map_err(|e| store_error(&what, &e))?;
        stored
            .e_tag()
            .map(str::to_owned)
            .ok_or_else(|| Error::Protocol { what, detail: "the answer has no ETag".into() })
    }

    /// Records the acknowledgement as pending, CompleteMultipartUpload, HeadObject (the size must be the bytes
    /// sent), then records it as the source's acknowledgement. A completion whose answer was lost is found by the
    /// HeadObject of the retry.
    pub async fn complete(&self, upload_id: &str, request: &CompleteUploadRequest) -> Result<Acknowledgement, Error> {
        let (source, key, s3_id) = parse_upload_id(upload_id)?;
        let what = format!("completing s3://{}/{key}", self.bucket());
        let mut ack = Acknowledgement {
            emission_id: s3_id.to_owned(),
            upload_id: Some(upload_id.to_owned()),
            token_name: "s3".into(),
            source: source.to_owned(),
            bucket: self.bucket().to_owned(),
            key: key.to_owned(),
            archived_key: None,
            bytes: request.bytes,
            rows: request.rows,
            sha256: request.sha256.clone(),
            started_at: started_at(key).unwrap_or_default(),
            completed_at: String::new(),
            watermark: request.watermark.clone(),
            confirmed: None,
        };
        {
            let _guard = self.state_lock.lock().await;
            let mut state = self.read_state(source).await?;
            state.pending = Some(ack.clone());
            self.write_state(source, &state).await?;
        }
        let parts: Vec<CompletedPart> = request
            .parts
            .iter()
            .map(|p| {
                let number = i32::try_from(p.part_number).unwrap_or(i32::MAX);
                // Quoted, as S3 returns ETags: some stores refuse a bare one as malformed XML.
                let etag = format!("\"{}\"", p.etag.trim().trim_matches('"'));
                CompletedPart::builder().part_number(number).e_tag(etag).build()
            })
            .collect();
        let completed = CompletedMultipartUpload::builder().set_parts(Some(parts)).build();
        self.retry
            .run(&what, || async {
                let call = self.client.complete_multipart_upload().bucket(self.bucket()).key(key).upload_id(s3_id);
                let conditional = self.conditional_complete.load(Ordering::Relaxed);
                let call = call.multipart_upload(completed.clone()).set_if_none_match(conditional.then(|| "*".into()));
                let Err(e) = call.send().await else { return Ok(()) };
                if conditional && e.code() == Some("NotImplemented") {
                    tracing::warn!(bucket = %self.bucket(), "the store does not take If-None-Match on completion; completing without it");
                    self.conditional_complete.store(false, Ordering::Relaxed);
                    return Err(Error::Store {
                        what: what.clone(),
                        status: Some(501),
                        code: Some("NotImplemented".into()),
                        detail: "If-None-Match on CompleteMultipartUpload".into(),
                        retryable: true,
                    });
                }
                // No answer, or one that does not read (moto 5.2 names its XML root differently; a retry after a
                // lost answer finds the upload gone: 404, 412, or moto's bare 500): the object decides. Keys are
                // unique, so an object at ours is this upload completed.
                if self.head(key).await?.is_some() {
                    tracing::debug!(%key, error = %chain(&e), "completion error, but the object exists");
                    return Ok(());
                }
                Err(store_error(&what, &e))
            })
            .await?;
        let (size, modified) = self.head(key).await?.ok_or_else(|| Error::Protocol {
            what: what.clone(),
            detail: "the completed object is not there".into(),
        })?;
        if size != request.bytes {
            return Err(Error::AckMismatch {
                key: key.to_owned(),
                detail: format!("bytes {size} (sent {})", request.bytes),
            });
        }
        ack.completed_at = modified;
        {
            let _guard = self.state_lock.lock().await;
            let mut state = self.read_state(source).await?;
            state.acknowledge(ack.clone());
            self.write_state(source, &state).await?;
        }
        Ok(ack)
    }

    /// AbortMultipartUpload; an upload already gone counts as aborted. An object already at the upload's key is
    /// this upload, completed (keys are unique): its acknowledgement is answered instead.
    pub async fn abort(&self, upload_id: &str) -> Result<Aborted, Error> {
        let (source, key, s3_id) = parse_upload_id(upload_id)?;
        let what = format!("aborting the upload of s3://{}/{key}", self.bucket());
        if self.head(key).await?.is_some() {
            return match self.promote(source, upload_id).await? {
                Some(ack) => Ok(Aborted::Acknowledged(Box::new(ack))),
                None => Err(Error::Protocol {
                    what,
                    detail: format!("the object exists but {} has no acknowledgement of it", self.state_key(source)),
                }),
            };
        }
        let aborted = self
            .retry
            .run(&what, || async {
                let call = self.client.abort_multipart_upload().bucket(self.bucket()).key(key).upload_id(s3_id);
                call.send().await.map(|_| ()).map_err(|e| store_error(&what, &e))
            })
            .await;
        match aborted {
            Ok(()) | Err(Error::Store { status: Some(404), .. }) => Ok(Aborted::Removed),
            Err(e) => Err(e),
        }
    }

    /// ListParts, every page, one part per number (a store may list every upload of a retried part).
    pub async fn list_parts(&self, upload_id: &str) -> Result<Vec<StoredPart>, Error> {
        let (_, key, s3_id) = parse_upload_id(upload_id)?;
        let what = format!("listing the parts of s3://{}/{key}", self.bucket());
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .retry
                .run(&what, || async {
                    let call = self.client.list_parts().bucket(self.bucket()).key(key).upload_id(s3_id);
                    call.set_part_number_marker(marker.clone()).send().await.map_err(|e| store_error(&what, &e))
                })
                .await?;
            parts.extend(page.parts().iter().map(|p| ListedPart {
                part: StoredPart {
                    part_number: p.part_number().and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
                    etag: p.e_tag().unwrap_or_default().to_owned(),
                    size_bytes: p.size().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                },
                modified: p.last_modified().map(|t| (t.secs(), t.subsec_nanos())),
            }));
            marker = page.next_part_number_marker().map(str::to_owned);
            if !page.is_truncated().unwrap_or(false) || marker.is_none() {
                return Ok(newest_parts(parts));
            }
        }
    }

    /// The watermark of `source`'s newest acknowledged emission on `column`, from its state object; a pending
    /// emission whose object is in the bucket counts as acknowledged.
    pub async fn last_watermark(&self, source: &str, column: &str) -> Result<Option<Watermark>, Error> {
        let mut state = self.read_state(source).await?;
        if let Some(pending) = &state.pending
            && let Some(upload_id) = &pending.upload_id
            && self.head(&pending.key).await?.is_some_and(|(size, _)| size == pending.bytes)
        {
            self.promote(source, upload_id).await?;
            state = self.read_state(source).await?;
        }
        Ok(state.watermarked.and_then(|ack| ack.watermark).filter(|w| w.column == column))
    }
}

impl DeliveryTarget for S3Target {
    fn create<'a>(&'a self, request: &'a CreateUploadRequest) -> BoxFuture<'a, Result<CreateUploadResponse, Error>> {
        Box::pin(S3Target::create(self, request))
    }

    fn put_part<'a>(&'a self, upload_id: &'a str, part: &'a Part) -> BoxFuture<'a, Result<String, Error>> {
        Box::pin(S3Target::put_part(self, upload_id, part))
    }

    fn complete<'a>(
        &'a self,
        upload_id: &'a str,
        request: &'a CompleteUploadRequest,
    ) -> BoxFuture<'a, Result<Acknowledgement, Error>> {
        Box::pin(S3Target::complete(self, upload_id, request))
    }

    fn abort<'a>(&'a self, upload_id: &'a str) -> BoxFuture<'a, Result<Aborted, Error>> {
        Box::pin(S3Target::abort(self, upload_id))
    }

    fn list_parts<'a>(&'a self, upload_id: &'a str) -> BoxFuture<'a, Result<Vec<StoredPart>, Error>> {
        Box::pin(S3Target::list_parts(self, upload_id))
    }

    fn last_watermark<'a>(
        &'a self,
        source: &'a str,
        column: &'a str,
    ) -> BoxFuture<'a, Result<Option<Watermark>, Error>> {
        Box::pin(S3Target::last_watermark(self, source, column))
    }
}

/// HTTPS with rustls on ring, as the rest of the workspace.
fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// `<stem>_YYYYmmddHHMMSS.zip`, the time in UTC: cQube's API's name for an upload of `<stem>.zip` at `at`.
fn key_name(stem: &str, at: DateTime<Utc>) -> String {
    format!("{stem}_{}.zip", at.format("%Y%m%d%H%M%S"))
}

/// The creation time a key carries, as RFC 3339.
fn started_at(key: &str) -> Option<String> {
    let stamp = key.strip_suffix(".zip")?.rsplit('_').next()?;
    let at = NaiveDateTime::parse_from_str(stamp, "%Y%m%d%H%M%S").ok()?.and_utc();
    Some(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

fn rfc3339(secs: i64, nanos: u32) -> String {
    DateTime::from_timestamp(secs, nanos).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn upload_id(source: &str, key: &str, s3_id: &str) -> String {
    format!("{source}:{key}#{s3_id}")
}

/// `(source, key, S3 upload id)` of an id [`S3Target::create`] made.
fn parse_upload_id(id: &str) -> Result<(&str, &str, &str), Error> {
    let parsed = id.split_once(':').and_then(|(source, rest)| {
        let (key, s3_id) = rest.rsplit_once('#')?;
        Some((source, key, s3_id)).filter(|(s, k, u)| !s.is_empty() && !k.is_empty() && !u.is_empty())
    });
    parsed.ok_or_else(|| Error::Protocol {
        what: format!("upload {id}"),
        detail: "not an S3 upload id (<source>:<key>#<upload id>): was the job started with --api?".into(),
    })
}

/// An error and its sources on one line (the SDK's own `DisplayErrorContext` adds a Debug dump of the answer).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line = format!("{line}: {text}");
        }
        source = s.source();
    }
    line
}

/// Whether S3 answering `status` with error `code` may succeed when asked again: 5xx, 429, throttling and
/// request timeouts; never access or validation errors.
fn retryable(status: Option<u16>, code: Option<&str>) -> bool {
    let transient_code = matches!(
        code,
        Some(
            "SlowDown"
                | "Throttling"
                | "ThrottlingException"
                | "RequestTimeout"
                | "InternalError"
                | "ServiceUnavailable"
        )
    );
    transient_code || status.is_some_and(|s| s >= 500 || s == 429)
}

/// An SDK error as an [`Error::Store`]: service errors keep their status and code; no answer at all (a timeout,
/// a connection refused or reset, a body cut short) is retryable; a request that could not be built is not.
fn store_error<E>(what: &str, e: &SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (status, code, retry, detail) = match e {
        SdkError::ServiceError(_) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            let code = e.code().map(str::to_owned);
            let status_text = status.map_or_else(|| "?".into(), |s| s.to_string());
            let detail = match (code.as_deref(), e.message()) {
                (Some(code), message) => format!("HTTP {status_text} {code}: {}", message.unwrap_or_default()),
                // An answer the SDK could not read as an S3 error: its own account says why.
                (None, _) => format!("HTTP {status_text}: {}", chain(e)),
            };
            (status, code.clone(), retryable(status, code.as_deref()), detail)
        }
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => (None, None, true, chain(e)),
        SdkError::DispatchFailure(d) => (None, None, d.is_io() || d.is_timeout(), chain(e)),
        _ => (None, None, false, chain(e)),
    };
    Error::Store { what: what.to_owned(), status, code, detail, retryable: retry }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_named_as_cqubes_api_names_them_in_utc() {
        let at = DateTime::parse_from_rfc3339("2024-07-28T15:45:09+05:30").unwrap().with_timezone(&Utc);
        let key = key_name("student_attendance/student_attendance", at);
        assert_eq!(key, "student_attendance/student_attendance_20240728101509.zip");
        assert_eq!(started_at(&key).as_deref(), Some("2024-07-28T10:15:09.000Z"));
    }

    #[test]
    fn locations_and_upload_ids_round_trip() {
        let l: S3Location = "s3://emission/state/ka/".parse().unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("emission", "state/ka"));
        assert_eq!(l.to_string(), "s3://emission/state/ka");
        assert_eq!("s3://emission".parse::<S3Location>().unwrap().prefix, "");
        assert!("emission".parse::<S3Location>().is_err());
        assert!("s3:///x".parse::<S3Location>().is_err());
        let id = upload_id("school_master", "p:x#y/school_master/school_master_20240101000000.zip", "2~Ab.c_d-E");
        assert_eq!(
            parse_upload_id(&id).unwrap(),
            ("school_master", "p:x#y/school_master/school_master_20240101000000.zip", "2~Ab.c_d-E")
        );
        assert!(parse_upload_id("upload-1").is_err(), "an API upload id is refused, not misread");
    }

    #[test]
    fn a_zip_sent_after_an_incremental_run_keeps_its_watermark_and_settles_only_its_own_pending_entry() {
        let ack = |id: &str, watermark: Option<&str>| Acknowledgement {
            emission_id: id.into(),
            upload_id: Some(id.into()),
            token_name: "s3".into(),
            source: "student_attendance".into(),
            bucket: "b".into(),
            key: format!("k{id}"),
            archived_key: None,
            bytes: 1,
            rows: 1,
            sha256: String::new(),
            started_at: String::new(),
            completed_at: String::new(),
            watermark: watermark.map(|v| Watermark { column: "id".into(), value: v.into() }),
            confirmed: None,
        };
        let mut state = SourceState { pending: Some(ack("2", None)), ..SourceState::default() };
        state.acknowledge(ack("1", Some("500")));
        assert!(state.pending.is_some(), "another upload's pending entry stays");
        state.acknowledge(ack("2", None));
        assert!(state.pending.is_none());
        assert_eq!(state.acknowledged.as_ref().unwrap().emission_id, "2");
        assert_eq!(state.watermarked.as_ref().unwrap().watermark.as_ref().unwrap().value, "500");
        assert_eq!(state.find("1").unwrap().emission_id, "1");
        assert!(state.find("3").is_none());
    }

    fn store_error(status: u16, code: &str) -> Error {
        let (status, code) = (Some(status), Some(code.to_owned()));
        Error::Store {
            what: "w".into(),
            retryable: retryable(status, code.as_deref()),
            status,
            code,
            detail: String::new(),
        }
    }

    #[test]
    fn throttling_and_5xx_are_retried_access_and_validation_errors_are_not() {
        for (status, code) in [(503, "SlowDown"), (500, "InternalError"), (400, "RequestTimeout"), (429, "x")] {
            let e = store_error(status, code);
            assert!(e.is_retryable(), "{status} {code}");
            assert!(!e.is_refusal(), "{status} {code}");
        }
        for (status, code) in
            [(403, "AccessDenied"), (403, "SignatureDoesNotMatch"), (404, "NoSuchBucket"), (400, "InvalidPart")]
        {
            let e = store_error(status, code);
            assert!(!e.is_retryable(), "{status} {code}");
            assert!(e.is_refusal(), "{status} {code}");
        }
    }
}
