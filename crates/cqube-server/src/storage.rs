//! Object storage: aws-sdk-s3 against any S3-compatible endpoint, or against the embedded s3s-fs store that the
//! server starts on a loopback port with credentials it generates (the default, so one command gives a working
//! system).
//!
//! S3-compatible stores need path-style addressing and checksums only when required: the SDK's default
//! checksums break presigned URLs on several of them (STYLE.md).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use base64::Engine as _;
use cqube_protocol::{ListFilesResponse, ListedPart, ObjectInfo, PresignedPost, StoredPart};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::Error;
use crate::config::{ServerConfig, StoreConfig};
use crate::db::Database;

/// S3's largest single PUT or copy; larger archives copy in parts.
const MAX_SINGLE_COPY_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// Part size for multipart copies.
const COPY_PART_BYTES: u64 = 1024 * 1024 * 1024;

/// The embedded store's credentials, as an AWS shared-credentials file (profile [`EMBEDDED_PROFILE`]) in the data
/// directory, readable by its owner only: operators inspect the store with it, and the secret never goes to a log.
pub const EMBEDDED_CREDENTIALS_FILE: &str = "store-credentials";
/// The profile name in [`EMBEDDED_CREDENTIALS_FILE`].
pub const EMBEDDED_PROFILE: &str = "cqube-emit-store";

/// Credentials and endpoint of the embedded store, for operators who want to inspect it with boto3 or the aws CLI.
#[derive(Clone)]
pub struct StoreAccess {
    /// `http://127.0.0.1:PORT`.
    pub endpoint_url: String,
    /// Region to sign with.
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

impl std::fmt::Debug for StoreAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreAccess")
            .field("endpoint_url", &self.endpoint_url)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .finish_non_exhaustive()
    }
}

/// The object store the API talks to.
#[derive(Debug)]
pub struct Storage {
    client: Client,
    access: StoreAccess,
    /// True for the embedded store, whose own POST parser fails on large forms: `upload-url` then points at
    /// our handler, which verifies the same policy and streams the file in.
    embedded: Option<EmbeddedStore>,
}

/// The s3s-fs server task; stopped when the storage is dropped.
#[derive(Debug)]
struct EmbeddedStore {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const REGION_EMBEDDED: &str = "us-east-1";

/// Why [`Storage::complete`] did not complete.
#[derive(Debug)]
pub enum CompleteError {
    /// The store refused the part list (a wrong ETag, a missing or too small part): nothing changed.
    Refused(Error),
    /// The store does not know the upload (completed, aborted or expired there).
    NoSuchUpload,
    /// The store could not be asked or did not answer clearly.
    Unavailable(Error),
}

impl From<CompleteError> for Error {
    fn from(e: CompleteError) -> Error {
        match e {
            CompleteError::Refused(e) | CompleteError::Unavailable(e) => e,
            CompleteError::NoSuchUpload => Error::Store {
                what: "completing a multipart upload".into(),
                message: "the store no longer knows the upload".into(),
            },
        }
    }
}

/// A multipart upload the store holds open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenStoreUpload {
    /// Its key.
    pub key: String,
    /// The store's upload id.
    pub upload_id: String,
    /// When it was started, in Unix milliseconds.
    pub initiated_ms: i64,
}

impl Storage {
    /// Connects to the configured store, starting the embedded one if that is the choice.
    pub async fn connect(config: &ServerConfig, db: &Database) -> Result<Storage, Error> {
        match &config.store {
            StoreConfig::S3(s3) => {
                let access = StoreAccess {
                    endpoint_url: s3
                        .endpoint_url
                        .clone()
                        .unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", s3.region)),
                    region: if s3.region.is_empty() { REGION_EMBEDDED.to_owned() } else { s3.region.clone() },
                    access_key_id: s3.access_key_id.clone(),
                    secret_access_key: s3.secret()?,
                };
                let client = client(&access, s3.force_path_style || s3.endpoint_url.is_some());
                Ok(Storage { client, access, embedded: None })
            }
            StoreConfig::Embedded { listen } => Storage::start_embedded(&config.data_dir, *listen, db).await,
        }
    }

    async fn start_embedded(data_dir: &Path, listen: SocketAddr, db: &Database) -> Result<Storage, Error> {
        let root = data_dir.join("store");
        std::fs::create_dir_all(&root)
            .map_err(|source| Error::Io { what: format!("creating store directory {}", root.display()), source })?;
        // Credentials persist so that operators' tools and URLs handed out before a restart keep working.
        let access_key_id = if let Some(k) = db.setting("store_access_key_id").await? {
            k
        } else {
            let k = format!("CQE{}", crate::auth::random_hex(8)?.to_uppercase());
            db.set_setting("store_access_key_id", &k).await?;
            k
        };
        let secret_access_key = if let Some(k) = db.setting("store_secret_access_key").await? {
            k
        } else {
            let k = crate::auth::random_hex(20)?;
            db.set_setting("store_secret_access_key", &k).await?;
            k
        };
        write_credentials_file(&data_dir.join(EMBEDDED_CREDENTIALS_FILE), &access_key_id, &secret_access_key)?;
        let listener = bind_store(listen, db).await?;
        let addr = listener
            .local_addr()
            .map_err(|source| Error::Io { what: "reading the embedded store's address".into(), source })?;
        db.set_setting("store_port", &addr.port().to_string()).await?;

        // Our wrapper around s3s-fs: its own multipart completion is not crash-safe (see `embedded`).
        let fs = crate::embedded::EmbeddedStore::new(&root)
            .map_err(|message| Error::Store { what: format!("opening {}", root.display()), message })?;
        let mut builder = s3s::service::S3ServiceBuilder::new(fs);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(access_key_id.clone(), secret_access_key.clone()));
        let service = builder.build();
        let task = tokio::spawn(async move {
            let http = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else { continue };
                let conn = http.serve_connection(hyper_util::rt::TokioIo::new(socket), service.clone()).into_owned();
                tokio::spawn(async move {
                    if let Err(err) = conn.await {
                        tracing::debug!(error = %err, "embedded store connection ended");
                    }
                });
            }
        });
        let access = StoreAccess {
            endpoint_url: format!("http://{addr}"),
            region: REGION_EMBEDDED.to_owned(),
            access_key_id,
            secret_access_key,
        };
        let client = client(&access, true);
        Ok(Storage { client, access, embedded: Some(EmbeddedStore { task }) })
    }

    /// Endpoint and credentials of the embedded store; `None` for an external store.
    pub fn embedded_access(&self) -> Option<&StoreAccess> {
        self.embedded.as_ref().map(|_| &self.access)
    }

    /// Whether `upload-url` should point at the server's own POST handler.
    pub fn posts_through_server(&self) -> bool {
        self.embedded.is_some()
    }

    /// One request to the store: the emission bucket's HEAD.
    pub async fn ping(&self, bucket: &str) -> Result<(), Error> {
        self.client
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .map(drop)
            .map_err(|e| Error::store(format!("HEAD {bucket}"), e))
    }

    /// Creates the buckets that do not exist yet.
    pub async fn ensure_buckets(&self, buckets: &[&str]) -> Result<(), Error> {
        for bucket in buckets {
            if self.client.head_bucket().bucket(*bucket).send().await.is_ok() {
                continue;
            }
            match self.client.create_bucket().bucket(*bucket).send().await {
                Ok(_) => tracing::info!(bucket, "bucket created"),
                Err(err) => {
                    let code = err.as_service_error().and_then(aws_sdk_s3::error::ProvideErrorMetadata::code);
                    if !matches!(code, Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")) {
                        return Err(Error::store(format!("creating bucket {bucket}"), err));
                    }
                }
            }
        }
        Ok(())
    }

    /// A presigned GET for one object.
    pub async fn presign_get(&self, bucket: &str, key: &str, expires: Duration) -> Result<String, Error> {
        let req = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(presigning(expires)?)
            .await
            .map_err(|e| Error::store(format!("presigning GET {bucket}/{key}"), e))?;
        Ok(req.uri().to_owned())
    }

    /// Starts a multipart upload and returns the store's upload id.
    pub async fn create_multipart(&self, bucket: &str, key: &str) -> Result<String, Error> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type("application/zip")
            .send()
            .await
            .map_err(|e| Error::store(format!("starting a multipart upload of {bucket}/{key}"), e))?;
        out.upload_id
            .ok_or_else(|| Error::Store { what: format!("starting {bucket}/{key}"), message: "no upload id".into() })
    }

    /// A presigned UploadPart PUT, valid only for this key, upload and part.
    pub async fn presign_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        expires: Duration,
    ) -> Result<String, Error> {
        let req = self
            .client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number.cast_signed())
            .presigned(presigning(expires)?)
            .await
            .map_err(|e| Error::store(format!("presigning part {part_number} of {bucket}/{key}"), e))?;
        Ok(req.uri().to_owned())
    }

    /// Every part upload the store lists for an upload, by part number and, within one number, oldest first.
    /// A number can appear more than once: SeaweedFS lists each upload of a part (a retried PUT) until the
    /// upload completes, and completes from the one whose ETag it is given. [`cqube_protocol::newest_parts`]
    /// keeps one per number.
    pub async fn list_parts(&self, bucket: &str, key: &str, upload_id: &str) -> Result<Vec<ListedPart>, Error> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_parts()
                .bucket(bucket)
                .key(key)
                .upload_id(upload_id)
                .set_part_number_marker(marker.clone())
                .send()
                .await
                .map_err(|e| Error::store(format!("listing parts of {bucket}/{key}"), e))?;
            for p in out.parts() {
                let part = StoredPart {
                    part_number: p.part_number().unwrap_or_default() as u32,
                    etag: p.e_tag().unwrap_or_default().to_owned(),
                    size_bytes: p.size().unwrap_or_default() as u64,
                };
                parts.push(ListedPart { part, modified: p.last_modified().map(|t| (t.secs(), t.subsec_nanos())) });
            }
            match (out.is_truncated(), out.next_part_number_marker()) {
                (Some(true), Some(next)) if Some(next) != marker.as_deref() => marker = Some(next.to_owned()),
                _ => break,
            }
        }
        parts.sort_by_key(|p| (p.part.part_number, p.modified));
        Ok(parts)
    }

    /// Completes a multipart upload. The error says whether the store refused the part list (nothing happened),
    /// no longer knows the upload, or could not be asked (the outcome is unknown until the object is looked at).
    pub async fn complete(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[cqube_protocol::CompletedPart],
    ) -> Result<(), CompleteError> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|p| {
                        // Quoted, as S3 returns ETags: some stores refuse a bare one as malformed XML.
                        let etag = format!("\"{}\"", p.etag.trim().trim_matches('"'));
                        CompletedPart::builder().part_number(p.part_number.cast_signed()).e_tag(etag).build()
                    })
                    .collect(),
            ))
            .build();
        let result = self
            .client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(completed)
            .send()
            .await;
        let Err(e) = result else { return Ok(()) };
        let code = e.as_service_error().and_then(aws_sdk_s3::error::ProvideErrorMetadata::code).map(str::to_owned);
        match code.as_deref() {
            Some("InvalidPart" | "InvalidPartOrder" | "EntityTooSmall") => {
                let detail = e
                    .as_service_error()
                    .and_then(aws_sdk_s3::error::ProvideErrorMetadata::message)
                    .map_or_else(String::new, |m| format!(": {m}"));
                Err(CompleteError::Refused(Error::bad_request(
                    "invalid_parts",
                    format!(
                        "the store refused the part list ({}{detail}): check part numbers, ETags and sizes",
                        code.unwrap_or_default()
                    ),
                )))
            }
            Some("NoSuchUpload") => Err(CompleteError::NoSuchUpload),
            // An answer the SDK cannot read (moto 5.2 names the XML root CompleteMultipartUploadResponse, and
            // answers an unknown upload with a bare 500): the object's existence says whether the completion
            // happened, and the store's list of open uploads whether the upload is gone.
            None if matches!(self.head(bucket, key).await, Ok(Some(_))) => {
                tracing::debug!(error = %e, "unreadable CompleteMultipartUpload answer, but the object exists");
                Ok(())
            }
            None if matches!(self.knows_upload(bucket, key, upload_id).await, Ok(false)) => {
                Err(CompleteError::NoSuchUpload)
            }
            _ => Err(CompleteError::Unavailable(Error::store(format!("completing {bucket}/{key}"), e))),
        }
    }

    /// Whether the store still holds this multipart upload open.
    async fn knows_upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<bool, Error> {
        let out = self
            .client
            .list_multipart_uploads()
            .bucket(bucket)
            .prefix(key)
            .send()
            .await
            .map_err(|e| Error::store(format!("listing open uploads of {bucket}/{key}"), e))?;
        Ok(out.uploads().iter().any(|u| u.upload_id() == Some(upload_id)))
    }

    /// Multipart uploads the store holds open in `bucket`, oldest first.
    pub async fn open_uploads(&self, bucket: &str) -> Result<Vec<OpenStoreUpload>, Error> {
        let mut uploads = Vec::new();
        let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
        loop {
            let out = self
                .client
                .list_multipart_uploads()
                .bucket(bucket)
                .set_key_marker(key_marker.clone())
                .set_upload_id_marker(id_marker.clone())
                .send()
                .await
                .map_err(|e| Error::store(format!("listing open uploads of {bucket}"), e))?;
            for u in out.uploads() {
                uploads.push(OpenStoreUpload {
                    key: u.key().unwrap_or_default().to_owned(),
                    upload_id: u.upload_id().unwrap_or_default().to_owned(),
                    initiated_ms: u.initiated().and_then(|t| t.to_millis().ok()).unwrap_or_default(),
                });
            }
            let next = (out.next_key_marker().map(str::to_owned), out.next_upload_id_marker().map(str::to_owned));
            if out.is_truncated() != Some(true) || next.0.is_none() || next == (key_marker.clone(), id_marker.clone()) {
                break;
            }
            (key_marker, id_marker) = next;
        }
        uploads.sort_by_key(|u| u.initiated_ms);
        Ok(uploads)
    }

    /// Aborts a multipart upload; an upload the store no longer knows counts as aborted.
    pub async fn abort(&self, bucket: &str, key: &str, upload_id: &str) -> Result<(), Error> {
        match self.client.abort_multipart_upload().bucket(bucket).key(key).upload_id(upload_id).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_s3::operation::abort_multipart_upload::AbortMultipartUploadError::is_no_such_upload,
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(Error::store(format!("aborting {bucket}/{key}"), e)),
        }
    }

    /// An object's size and ETag (unquoted), or `None` when there is no such object.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<Option<(u64, Option<String>)>, Error> {
        match self.client.head_object().bucket(bucket).key(key).send().await {
            Ok(out) => Ok(Some((
                out.content_length().unwrap_or_default() as u64,
                out.e_tag().map(|t| t.trim_matches('"').to_owned()),
            ))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_s3::operation::head_object::HeadObjectError::is_not_found) =>
            {
                Ok(None)
            }
            Err(e) => Err(Error::store(format!("reading {bucket}/{key}"), e)),
        }
    }

    /// The size of an object.
    pub async fn size(&self, bucket: &str, key: &str) -> Result<u64, Error> {
        let out = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| Error::store(format!("reading {bucket}/{key}"), e))?;
        Ok(out.content_length().unwrap_or_default() as u64)
    }

    /// Deletes an object.
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), Error> {
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| Error::store(format!("deleting {bucket}/{key}"), e))?;
        Ok(())
    }

    /// One page of a bucket listing.
    pub async fn list(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        continuation: Option<&str>,
        max_keys: u32,
    ) -> Result<ListFilesResponse, Error> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .set_prefix(prefix.map(str::to_owned))
            .set_continuation_token(continuation.map(str::to_owned))
            .max_keys(max_keys.cast_signed())
            .send()
            .await
            .map_err(|e| Error::store(format!("listing {bucket}"), e))?;
        let contents: Vec<ObjectInfo> = out
            .contents()
            .iter()
            .map(|o| ObjectInfo {
                key: o.key().unwrap_or_default().to_owned(),
                size: o.size().unwrap_or_default() as u64,
                last_modified: o
                    .last_modified()
                    .and_then(|t| t.fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime).ok()),
                e_tag: o.e_tag().map(str::to_owned),
            })
            .collect();
        Ok(ListFilesResponse {
            name: bucket.to_owned(),
            key_count: contents.len() as u32,
            contents,
            is_truncated: out.is_truncated().unwrap_or(false),
            next_continuation_token: out.next_continuation_token().map(str::to_owned),
        })
    }

    /// Uploads a local file as one object.
    pub async fn put_file(&self, bucket: &str, key: &str, path: &Path) -> Result<(), Error> {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| Error::store(format!("reading spooled upload for {bucket}/{key}"), e))?;
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body)
            .send()
            .await
            .map_err(|e| Error::store(format!("writing {bucket}/{key}"), e))?;
        Ok(())
    }

    /// Server-side copy (multipart above 5 GB), then delete of the source: the move cQube's ingestion makes.
    pub async fn move_object(&self, from: (&str, &str), to: (&str, &str), size: u64) -> Result<(), Error> {
        let (src_bucket, src_key) = from;
        let (dst_bucket, dst_key) = to;
        let source = format!("{src_bucket}/{}", encode_copy_source(src_key));
        let what = || format!("copying {src_bucket}/{src_key} to {dst_bucket}/{dst_key}");
        if size <= MAX_SINGLE_COPY_BYTES {
            self.client
                .copy_object()
                .bucket(dst_bucket)
                .key(dst_key)
                .copy_source(&source)
                .send()
                .await
                .map_err(|e| Error::store(what(), e))?;
        } else {
            let upload_id = self.create_multipart(dst_bucket, dst_key).await?;
            let mut parts = Vec::new();
            let mut start = 0;
            let mut number = 1;
            while start < size {
                let end = (start + COPY_PART_BYTES).min(size) - 1;
                let out = self
                    .client
                    .upload_part_copy()
                    .bucket(dst_bucket)
                    .key(dst_key)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .copy_source(&source)
                    .copy_source_range(format!("bytes={start}-{end}"))
                    .send()
                    .await
                    .map_err(|e| Error::store(what(), e))?;
                let etag = out.copy_part_result().and_then(|r| r.e_tag()).unwrap_or_default().to_owned();
                parts.push(cqube_protocol::CompletedPart { part_number: number as u32, etag });
                start = end + 1;
                number += 1;
            }
            self.complete(dst_bucket, dst_key, &upload_id, &parts).await.map_err(Error::from)?;
        }
        self.delete(src_bucket, src_key).await
    }

    /// A presigned POST (SigV4 POST policy) for exactly `bucket`/`key`, up to `max_bytes`, posted to `url`.
    pub fn presigned_post(
        &self,
        url: String,
        bucket: &str,
        key: &str,
        max_bytes: u64,
        expires: Duration,
    ) -> PresignedPost {
        let now = chrono::Utc::now();
        let date = now.format("%Y%m%d").to_string();
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let credential = format!("{}/{date}/{}/s3/aws4_request", self.access.access_key_id, self.access.region);
        let expiration = (now + chrono::Duration::from_std(expires).unwrap_or(chrono::Duration::hours(1)))
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        let policy = serde_json::json!({
            "expiration": expiration,
            "conditions": [
                {"bucket": bucket},
                {"key": key},
                ["content-length-range", 0, max_bytes],
                {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
                {"x-amz-credential": credential},
                {"x-amz-date": amz_date},
            ],
        });
        let policy_b64 = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
        let signature =
            hex::encode(sign_policy(&self.access.secret_access_key, &date, &self.access.region, &policy_b64));
        let fields = BTreeMap::from([
            ("key".to_owned(), key.to_owned()),
            ("policy".to_owned(), policy_b64),
            ("x-amz-algorithm".to_owned(), "AWS4-HMAC-SHA256".to_owned()),
            ("x-amz-credential".to_owned(), credential),
            ("x-amz-date".to_owned(), amz_date),
            ("x-amz-signature".to_owned(), signature),
        ]);
        PresignedPost { url, fields }
    }

    /// The form URL for a presigned POST straight to the store (path style).
    pub fn store_post_url(&self, bucket: &str) -> String {
        format!("{}/{bucket}", self.access.endpoint_url.trim_end_matches('/'))
    }

    /// Checks a POST policy this server signed: signature, expiry, bucket and key; returns the size limit.
    pub fn verify_post(&self, bucket: &str, fields: &BTreeMap<String, String>) -> Result<u64, Error> {
        let denied = |why: &str| Error::api(axum::http::StatusCode::FORBIDDEN, "invalid_signature", why.to_owned());
        let get = |name: &str| {
            fields.get(name).map(String::as_str).ok_or_else(|| denied(&format!("form field {name} is missing")))
        };
        let policy_b64 = get("policy")?;
        let credential = get("x-amz-credential")?;
        let signature = get("x-amz-signature")?;
        let mut scope = credential.split('/');
        let (Some(access_key), Some(date)) = (scope.next(), scope.next()) else {
            return Err(denied("x-amz-credential is malformed"));
        };
        if access_key != self.access.access_key_id {
            return Err(denied("unknown access key"));
        }
        let expected = hex::encode(sign_policy(&self.access.secret_access_key, date, &self.access.region, policy_b64));
        if !bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
            return Err(denied("the policy signature does not match"));
        }
        let policy: serde_json::Value = base64::engine::general_purpose::STANDARD
            .decode(policy_b64)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| denied("the policy is not base64 JSON"))?;
        let expiration = policy["expiration"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .ok_or_else(|| denied("the policy has no expiration"))?;
        if expiration < chrono::Utc::now() {
            return Err(denied("the presigned POST has expired"));
        }
        let mut max_bytes = None;
        for condition in policy["conditions"].as_array().into_iter().flatten() {
            if let Some(b) = condition.get("bucket").and_then(|v| v.as_str())
                && b != bucket
            {
                return Err(denied("the policy is for another bucket"));
            }
            if let Some(k) = condition.get("key").and_then(|v| v.as_str())
                && Some(k) != fields.get("key").map(String::as_str)
            {
                return Err(denied("the policy is for another key"));
            }
            if condition.get(0).and_then(|v| v.as_str()) == Some("content-length-range") {
                max_bytes = condition.get(2).and_then(serde_json::Value::as_u64);
            }
        }
        max_bytes.ok_or_else(|| denied("the policy has no content-length-range"))
    }
}

/// Writes the shared-credentials file with mode 0600 (replacing it whole, so a reader never sees half of it).
fn write_credentials_file(path: &Path, access_key_id: &str, secret_access_key: &str) -> Result<(), Error> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let io = |source| Error::Io { what: format!("writing {}", path.display()), source };
    let temp = path.with_extension("tmp");
    let mut file =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temp).map_err(io)?;
    write!(
        file,
        "[{EMBEDDED_PROFILE}]\naws_access_key_id = {access_key_id}\naws_secret_access_key = {secret_access_key}\n"
    )
    .and_then(|()| file.sync_all())
    .map_err(io)?;
    std::fs::rename(&temp, path).map_err(io)
}

async fn bind_store(listen: SocketAddr, db: &Database) -> Result<tokio::net::TcpListener, Error> {
    if listen.port() == 0
        && let Some(port) = db.setting("store_port").await?.and_then(|p| p.parse::<u16>().ok())
        && let Ok(listener) = tokio::net::TcpListener::bind(SocketAddr::new(listen.ip(), port)).await
    {
        return Ok(listener);
    }
    tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| Error::Io { what: format!("binding the embedded store to {listen}"), source })
}

fn client(access: &StoreAccess, path_style: bool) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(access.region.clone()))
        .credentials_provider(Credentials::new(
            access.access_key_id.clone(),
            access.secret_access_key.clone(),
            None,
            None,
            "cqube-server",
        ))
        .endpoint_url(access.endpoint_url.clone())
        .force_path_style(path_style)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .http_client(http)
        .build();
    Client::from_conf(config)
}

fn presigning(expires: Duration) -> Result<PresigningConfig, Error> {
    PresigningConfig::expires_in(expires).map_err(|e| Error::Config(vec![format!("presign expiry: {e}")]))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// SigV4 signature of a POST policy: the string to sign is the base64 policy itself.
fn sign_policy(secret: &str, date: &str, region: &str, policy_b64: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, b"s3");
    let k_signing = hmac(&k_service, b"aws4_request");
    hmac(&k_signing, policy_b64.as_bytes())
}

/// `CopySource` is `bucket/key` with the key URL-encoded (slashes kept).
fn encode_copy_source(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_encoding_keeps_slashes() {
        assert_eq!(encode_copy_source("a/04-06-2020_13:12:59.574_x.zip"), "a/04-06-2020_13%3A12%3A59.574_x.zip");
    }

    #[test]
    fn policy_signature_matches_aws_example() {
        // AWS's documented SigV4 signing-key example (Examples of how to derive a signing key):
        // secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20120215, us-east-1, iam.
        let k_date = hmac(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", b"20120215");
        let k_region = hmac(&k_date, b"us-east-1");
        let k_service = hmac(&k_region, b"iam");
        let k_signing = hmac(&k_service, b"aws4_request");
        assert_eq!(hex::encode(k_signing), "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
    }
}
