//! HTTP handlers: cQube's endpoints (same paths and payloads), the multipart endpoints, emissions and auth.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use cqube_protocol::{
    Acknowledgement, AuthRequest, AuthResponse, CompleteUploadRequest, CreateUploadRequest, CreateUploadResponse,
    DownloadUriRequest, EmissionList, ListFilesRequest, ListPartsResponse, PresignPartsRequest, PresignPartsResponse,
    PresignedPart, UploadUrlRequest,
};
use serde::de::DeserializeOwned;
use tokio::io::AsyncWriteExt;

use crate::auth::{Principal, now_ms};
use crate::db::{EmissionFilter, EmissionRecord, UploadRecord};
use crate::{AppState, Error, form, keys};

/// S3's part-number range.
const PART_NUMBERS: std::ops::RangeInclusive<u32> = 1..=10_000;
/// Part URLs one request may ask for.
const MAX_PARTS_PER_REQUEST: usize = 1000;
/// S3's largest object.
const MAX_OBJECT_BYTES: u64 = 5 * 1024 * 1024 * 1024 * 1024;

impl FromRequestParts<AppState> for Principal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Principal, Error> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let principal = crate::auth::authenticate(&state.inner.db, header).await?;
        tracing::Span::current().record("token_id", principal.token_id.as_str());
        Ok(principal)
    }
}

/// A request body in JSON or as an HTML form (cQube's client sends forms; `reqparse` took both).
#[derive(Debug)]
pub struct Payload<T>(pub T);

/// How a request body is encoded, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFormat {
    Json,
    Form,
}

/// Parses the media type as RFC 9110 says: type and subtype case-insensitive, parameters (`charset=...`) allowed.
/// JSON is `application/json` or any `application/*+json`; no header at all is taken as JSON, as before.
fn body_format(content_type: Option<&header::HeaderValue>) -> Result<BodyFormat, Error> {
    let unsupported = || {
        Error::api(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/json or application/x-www-form-urlencoded",
        )
    };
    let Some(value) = content_type else { return Ok(BodyFormat::Json) };
    let value = value.to_str().map_err(|_| unsupported())?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    if essence.is_empty() {
        return Ok(BodyFormat::Json);
    }
    let (kind, subtype) = essence.split_once('/').ok_or_else(unsupported)?;
    if !kind.eq_ignore_ascii_case("application") {
        return Err(unsupported());
    }
    let subtype = subtype.to_ascii_lowercase();
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b));
    match subtype.as_str() {
        "json" => Ok(BodyFormat::Json),
        "x-www-form-urlencoded" => Ok(BodyFormat::Form),
        s if s.strip_suffix("+json").is_some_and(token) => Ok(BodyFormat::Json),
        _ => Err(unsupported()),
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for Payload<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Payload<T>, Error> {
        let format = body_format(req.headers().get(header::CONTENT_TYPE))?;
        let body = axum::body::Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::api(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the request body is too large")
            } else {
                Error::bad_request("invalid_request", format!("could not read the request body: {rejection}"))
            }
        })?;
        match format {
            BodyFormat::Form => {
                let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
                    .map_err(|e| Error::bad_request("invalid_request", format!("the form is malformed: {e}")))?;
                let mut object = serde_json::Map::new();
                for (name, value) in pairs {
                    match object.get_mut(&name) {
                        None => {
                            object.insert(name, serde_json::Value::String(value));
                        }
                        Some(serde_json::Value::Array(values)) => values.push(serde_json::Value::String(value)),
                        Some(first) => *first = serde_json::Value::Array(vec![first.take(), value.into()]),
                    }
                }
                serde_json::from_value(serde_json::Value::Object(object)).map(Payload).map_err(|e| {
                    Error::bad_request("invalid_request", format!("the form does not fit this endpoint: {e}"))
                })
            }
            BodyFormat::Json => serde_json::from_slice(&body).map(Payload).map_err(|e| {
                if e.is_data() {
                    Error::bad_request("invalid_request", format!("the JSON does not fit this endpoint: {e}"))
                } else {
                    Error::bad_request("invalid_json", format!("the body is not valid JSON: {e}"))
                }
            }),
        }
    }
}

fn forbidden(message: impl Into<String>) -> Error {
    Error::api(StatusCode::FORBIDDEN, "forbidden", message)
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl AppState {
    fn presign_expiry(&self) -> Duration {
        Duration::from_secs(self.inner.config.presign_expiry_seconds)
    }

    /// The configured bucket for a name, or 400 `unknown_bucket`.
    fn bucket(&self, name: &str) -> Result<String, Error> {
        self.inner.config.buckets.resolve(name).map(str::to_owned).ok_or_else(|| {
            Error::bad_request("unknown_bucket", format!("bucket {name:?} is not one of input, output, emission"))
        })
    }

    /// Non-admin tokens may read only the emission bucket.
    fn check_bucket_access(&self, who: &Principal, bucket: &str) -> Result<(), Error> {
        if who.admin || bucket == self.inner.config.buckets.emission {
            Ok(())
        } else {
            Err(forbidden(format!("bucket {bucket:?} needs an admin token")))
        }
    }
}

pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when the state store and the object store both answer, else 503 naming which did not, so
/// a load balancer takes the replica out. Public like `/healthz`; the cause goes to the log, not the answer.
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if let Err(e) = state.inner.db.ping().await {
        tracing::warn!(error = %e, "not ready: the state store does not answer");
        return (StatusCode::SERVICE_UNAVAILABLE, "state store unavailable");
    }
    if let Err(e) = state.inner.storage.ping(&state.inner.config.buckets.emission).await {
        tracing::warn!(error = %e, "not ready: the object store does not answer");
        return (StatusCode::SERVICE_UNAVAILABLE, "object store unavailable");
    }
    (StatusCode::OK, "ready")
}

/// `GET /data/capabilities`: what this server speaks, so an emitter picks its protocol before sending data (stock
/// cQube has no such endpoint and answers 404). Public, like `/healthz`: it names no data.
pub(crate) async fn capabilities(State(state): State<AppState>) -> Json<serde_json::Value> {
    let protocols: &[&str] = if state.inner.config.multipart { &["multipart", "post"] } else { &["post"] };
    Json(serde_json::json!({
        "protocols": protocols,
        "max_post_object_bytes": state.inner.config.max_post_object_bytes,
        "features": ["quality"],
    }))
}

pub(crate) async fn openapi(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], state.inner.openapi.clone()).into_response()
}

/// The OpenAPI document this server serves: openapi.json with its catalog's sources, their file names and its
/// bucket names filled in as `enum`s, so a schema-valid request never names a source or bucket it lacks.
pub(crate) fn openapi_document(catalog: &cqube_core::Catalog, buckets: &crate::config::Buckets) -> String {
    use serde_json::{Value, json};
    let mut doc: Value = serde_json::from_str(crate::OPENAPI_JSON).unwrap_or_default();
    let schemas = &mut doc["components"]["schemas"];
    let sources = catalog.sources();
    schemas["SourceName"]["enum"] = sources.iter().map(|s| json!(s.name)).collect();
    schemas["EmissionFilename"]["enum"] = sources.iter().map(|s| json!(s.emission_path())).collect();
    let mut names = vec!["input", "output", "emission"];
    for bucket in buckets.all() {
        if !names.contains(&bucket) {
            names.push(bucket);
        }
    }
    schemas["BucketName"]["enum"] = json!(names);
    // A source and its file name go together.
    schemas["CreateUploadRequest"]["oneOf"] = sources
        .iter()
        .map(|s| json!({"properties": {"source": {"enum": [s.name]}, "filename": {"enum": [s.emission_path()]}}}))
        .collect();
    doc.to_string()
}

pub(crate) async fn not_found() -> Error {
    Error::api(StatusCode::NOT_FOUND, "not_found", "no such endpoint; see /openapi.json")
}

pub(crate) async fn list_s3_buckets(
    State(state): State<AppState>,
    _who: Principal,
) -> Json<BTreeMap<&'static str, String>> {
    let b = &state.inner.config.buckets;
    Json(BTreeMap::from([("input", b.input.clone()), ("output", b.output.clone()), ("emission", b.emission.clone())]))
}

/// S3's longest key: a longer prefix can match nothing.
const MAX_KEY_CHARS: usize = 1024;
/// Continuation tokens are the store's own (opaque, a few hundred characters on AWS).
const MAX_CONTINUATION_CHARS: usize = 4096;

/// A listing's `prefix` or `continuation_token` goes into the store's XML request, where control characters (NUL
/// first) and U+FFFE/U+FFFF cannot be written: refuse them here rather than as a store failure.
fn check_list_text(field: &str, text: Option<&str>, max_chars: usize) -> Result<(), Error> {
    let Some(text) = text else { return Ok(()) };
    if text.chars().any(|c| c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}')) {
        return Err(Error::bad_request("invalid_request", format!("{field} contains control characters")));
    }
    if text.chars().count() > max_chars {
        return Err(Error::bad_request("invalid_request", format!("{field} is longer than {max_chars} characters")));
    }
    Ok(())
}

pub(crate) async fn list_s3_files(
    State(state): State<AppState>,
    who: Principal,
    Payload(req): Payload<ListFilesRequest>,
) -> Result<Response, Error> {
    let bucket = state.bucket(&req.bucket)?;
    state.check_bucket_access(&who, &bucket)?;
    let max_keys = req.max_keys.unwrap_or(1000);
    if !(1..=1000).contains(&max_keys) {
        return Err(Error::bad_request("invalid_request", format!("max_keys must be 1..=1000, got {max_keys}")));
    }
    check_list_text("prefix", req.prefix.as_deref(), MAX_KEY_CHARS)?;
    check_list_text("continuation_token", req.continuation_token.as_deref(), MAX_CONTINUATION_CHARS)?;
    let page =
        state.inner.storage.list(&bucket, req.prefix.as_deref(), req.continuation_token.as_deref(), max_keys).await?;
    Ok(Json(page).into_response())
}

pub(crate) async fn download_uri(
    State(state): State<AppState>,
    who: Principal,
    Payload(req): Payload<DownloadUriRequest>,
) -> Result<Json<BTreeMap<String, String>>, Error> {
    let bucket = state.bucket(&req.bucket)?;
    state.check_bucket_access(&who, &bucket)?;
    if req.filename.is_empty() || req.filename.len() > 1000 {
        return Err(Error::bad_request("invalid_request", "filename must list 1..=1000 keys"));
    }
    let mut urls = BTreeMap::new();
    for key in &req.filename {
        keys::check_filename(key)?;
        if !who.admin && who.sources.is_some() {
            let in_scope = state.inner.catalog.find_by_path(key).is_some_and(|s| who.allows(&s.name));
            if !in_scope {
                return Err(forbidden(format!("{key:?} is not a data source this token may read")));
            }
        }
        let url = state.inner.storage.presign_get(&bucket, key, state.presign_expiry()).await?;
        urls.insert(key.clone(), url);
    }
    crate::metrics::presigned("get", urls.len());
    Ok(Json(urls))
}

pub(crate) async fn upload_url(
    State(state): State<AppState>,
    who: Principal,
    Payload(req): Payload<UploadUrlRequest>,
) -> Result<Json<cqube_protocol::PresignedPost>, Error> {
    let source = keys::source_for_filename(&state.inner.catalog, &req.filename)?;
    if !who.allows(&source.name) {
        return Err(forbidden(format!("data source {} is outside this token's scope", source.name)));
    }
    let bucket = state.inner.config.buckets.emission.clone();
    let key = keys::unique_key(&state.inner.db, &bucket, &req.filename).await?;
    let storage = &state.inner.storage;
    let url = if storage.posts_through_server() {
        format!("{}/data/post-object/{bucket}", state.inner.public_base)
    } else {
        storage.store_post_url(&bucket)
    };
    tracing::info!(source = %source.name, key = %key, "presigned POST issued");
    crate::metrics::presigned("post", 1);
    Ok(Json(storage.presigned_post(
        url,
        &bucket,
        &key,
        state.inner.config.max_post_object_bytes,
        state.presign_expiry(),
    )))
}

/// Receives a presigned POST form for the embedded store: verifies the policy this server signed, spools the file
/// to disk (bounded memory, no size guess), then writes it to the store. s3s-fs's own form parser fails on large
/// files (STYLE.md), which is why the embedded store's `upload-url` points here. Anyone may call it, so every part
/// of the form is bounded before the policy is checked (`form.rs`), and every error is the API's JSON.
pub(crate) async fn post_object(
    State(state): State<AppState>,
    bucket: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<StatusCode, Error> {
    let Path(bucket) = bucket.map_err(|e| Error::bad_request("unknown_bucket", e.body_text()))?;
    let bucket = state.bucket(&bucket)?;
    let budget = form::Budget::default();
    let (parts, body) = req.into_parts();
    let req = Request::from_parts(parts, form::guard(body, &budget));
    let mut form = Multipart::from_request(req, &state).await.map_err(|_| {
        Error::api(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the presigned POST as multipart/form-data",
        )
    })?;
    let mut fields = BTreeMap::new();
    while let Some(mut field) = form.next_field().await.map_err(|e| budget.error(&e))? {
        let name = form::field_name(&field)?;
        if name != "file" {
            if fields.len() == form::MAX_FORM_FIELDS {
                return Err(form::too_large(format!("the form has more than {} fields", form::MAX_FORM_FIELDS)));
            }
            let value = form::field_value(&mut field, &name, &budget).await?;
            fields.insert(name, value);
            continue;
        }
        let max_bytes = state.inner.storage.verify_post(&bucket, &fields)?;
        let key = fields.get("key").cloned().unwrap_or_default();
        let spool_dir = state.inner.config.data_dir.join(SPOOL_DIR);
        tokio::fs::create_dir_all(&spool_dir)
            .await
            .map_err(|source| Error::Io { what: format!("creating {}", spool_dir.display()), source })?;
        let spool = spool_dir.join(format!("{}.part", crate::auth::random_hex(16)?));
        let result = async {
            let io = |source| Error::Io { what: format!("spooling an upload to {}", spool.display()), source };
            let mut file = tokio::fs::File::create(&spool).await.map_err(io)?;
            let mut written: u64 = 0;
            while let Some(chunk) = field.chunk().await.map_err(|e| budget.error(&e))? {
                budget.received();
                written += chunk.len() as u64;
                if written > max_bytes {
                    return Err(form::too_large(format!("the file exceeds the policy's limit of {max_bytes} bytes")));
                }
                file.write_all(&chunk).await.map_err(io)?;
                if written == chunk.len() as u64 {
                    crate::test_hooks::pause("post.spooling").await;
                }
            }
            file.flush().await.map_err(io)?;
            drop(file);
            state.inner.storage.put_file(&bucket, &key, &spool).await?;
            tracing::info!(key = %key, bytes = written, "presigned POST received");
            Ok(())
        }
        .await;
        let _ = tokio::fs::remove_file(&spool).await;
        return result.map(|()| StatusCode::NO_CONTENT);
    }
    Err(Error::bad_request("invalid_request", "the form has no `file` field"))
}

/// Where `post_object` spools a POST's file, under the data directory.
const SPOOL_DIR: &str = "spool";

/// Removes the spool files a crash left: a POST whose server died mid-body is gone (its client never got an
/// answer, so it sends again), and only this server's POSTs write there.
pub(crate) fn clear_spool(data_dir: &std::path::Path) -> Result<(), Error> {
    let spool = data_dir.join(SPOOL_DIR);
    let io = |source| Error::Io { what: format!("clearing {}", spool.display()), source };
    match std::fs::read_dir(&spool) {
        Ok(entries) => {
            for entry in entries {
                let path = entry.map_err(io)?.path();
                std::fs::remove_file(&path).map_err(io)?;
                tracing::info!(file = %path.display(), "removed the spool file of a POST a crash interrupted");
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(e)),
    }
}

/// Who may act on an upload besides the token that started it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Others {
    /// Nobody: presigning, listing and completing continue an upload.
    Refused,
    /// Admin tokens too: aborting clears up after a revoked or lost token.
    Admin,
}

async fn upload_for(state: &AppState, who: &Principal, upload_id: &str, others: Others) -> Result<UploadRecord, Error> {
    let upload = state.inner.db.upload(upload_id).await?;
    // Ownership is the token's id, not its name: a new token that reuses a revoked one's name (perhaps with
    // another scope) must not continue its uploads. Someone else's upload looks exactly like a missing one.
    let upload = upload.filter(|u| u.token_id == who.token_id || (others == Others::Admin && who.admin));
    let upload = upload.ok_or_else(|| {
        Error::api(StatusCode::NOT_FOUND, "upload_not_found", format!("no upload {upload_id:?} for this token"))
    })?;
    Ok(upload)
}

pub(crate) fn require_open(upload: &UploadRecord) -> Result<(), Error> {
    if upload.state != "open" {
        return Err(Error::api(
            StatusCode::CONFLICT,
            "upload_not_open",
            format!("upload {} is {}", upload.id, upload.state),
        ));
    }
    if upload.expires_at <= now_ms() {
        return Err(Error::api(StatusCode::GONE, "upload_expired", format!("upload {} has expired", upload.id)));
    }
    Ok(())
}

fn check_part_number(n: u32) -> Result<(), Error> {
    if PART_NUMBERS.contains(&n) {
        Ok(())
    } else {
        Err(Error::bad_request("invalid_part_number", format!("part number {n} is outside 1..=10000")))
    }
}

pub(crate) async fn create_upload(
    State(state): State<AppState>,
    who: Principal,
    Payload(req): Payload<CreateUploadRequest>,
) -> Result<(StatusCode, Json<CreateUploadResponse>), Error> {
    let source = state.inner.catalog.get(&req.source).ok_or_else(|| {
        Error::bad_request("unknown_source", format!("data source {:?} is not in the catalog", req.source))
    })?;
    if !who.allows(&source.name) {
        return Err(forbidden(format!("data source {} is outside this token's scope", source.name)));
    }
    keys::check_filename_for(source, &req.filename)?;
    if req.expected_size_bytes.is_some_and(|s| s > MAX_OBJECT_BYTES) {
        return Err(Error::bad_request("too_large", "expected_size_bytes exceeds S3's 5 TiB object limit"));
    }
    let bucket = state.inner.config.buckets.emission.clone();
    let key = keys::unique_key(&state.inner.db, &bucket, &req.filename).await?;
    let store_upload_id = state.inner.storage.create_multipart(&bucket, &key).await?;
    let now = now_ms();
    let upload = UploadRecord {
        id: keys::uuid_v4()?,
        token_id: who.token_id.clone(),
        token_name: who.token_name.clone(),
        source: source.name.clone(),
        bucket: bucket.clone(),
        key: key.clone(),
        store_upload_id,
        created_at: now,
        expires_at: now.saturating_add(
            i64::try_from(state.inner.config.upload_expiry_seconds).unwrap_or(i64::MAX).saturating_mul(1000),
        ),
        state: "open".into(),
    };
    state.inner.db.insert_upload(&upload).await?;
    tracing::info!(upload_id = %upload.id, source = %source.name, key = %key, "upload created");
    crate::metrics::upload("created");
    Ok((
        StatusCode::CREATED,
        Json(CreateUploadResponse { upload_id: upload.id, bucket, key, expires_at: rfc3339(upload.expires_at) }),
    ))
}

pub(crate) async fn presign_parts(
    State(state): State<AppState>,
    who: Principal,
    Path(upload_id): Path<String>,
    Payload(req): Payload<PresignPartsRequest>,
) -> Result<Json<PresignPartsResponse>, Error> {
    if req.part_numbers.is_empty() || req.part_numbers.len() > MAX_PARTS_PER_REQUEST {
        return Err(Error::bad_request("invalid_request", "part_numbers must list 1..=1000 parts"));
    }
    req.part_numbers.iter().try_for_each(|n| check_part_number(*n))?;
    let upload = upload_for(&state, &who, &upload_id, Others::Refused).await?;
    require_open(&upload)?;
    // A URL must not outlive the upload it belongs to.
    let remaining = u64::try_from((upload.expires_at - now_ms()) / 1000).unwrap_or(1).max(1);
    let expiry = state.presign_expiry().min(Duration::from_secs(remaining));
    let expires_at = rfc3339(now_ms() + expiry.as_millis() as i64);
    let mut parts = Vec::with_capacity(req.part_numbers.len());
    for n in req.part_numbers {
        let url =
            state.inner.storage.presign_part(&upload.bucket, &upload.key, &upload.store_upload_id, n, expiry).await?;
        parts.push(PresignedPart { part_number: n, url, expires_at: expires_at.clone() });
    }
    crate::metrics::presigned("part", parts.len());
    Ok(Json(PresignPartsResponse { parts }))
}

pub(crate) async fn list_parts(
    State(state): State<AppState>,
    who: Principal,
    Path(upload_id): Path<String>,
) -> Result<Json<ListPartsResponse>, Error> {
    let upload = upload_for(&state, &who, &upload_id, Others::Refused).await?;
    require_open(&upload)?;
    let parts = state.inner.storage.list_parts(&upload.bucket, &upload.key, &upload.store_upload_id).await?;
    Ok(Json(ListPartsResponse { parts: cqube_protocol::newest_parts(parts) }))
}

fn acknowledgement(e: EmissionRecord) -> Acknowledgement {
    Acknowledgement {
        emission_id: e.id,
        upload_id: e.upload_id,
        token_name: e.token_name,
        source: e.source,
        bucket: e.bucket,
        key: e.key,
        archived_key: e.archived_key,
        bytes: e.bytes,
        rows: e.rows,
        sha256: e.sha256,
        started_at: rfc3339(e.started_at),
        completed_at: rfc3339(e.completed_at),
        watermark: e.watermark,
        confirmed: None,
    }
}

pub(crate) async fn complete_upload(
    State(state): State<AppState>,
    who: Principal,
    Path(upload_id): Path<String>,
    Payload(req): Payload<CompleteUploadRequest>,
) -> Result<Json<Acknowledgement>, Error> {
    let upload = upload_for(&state, &who, &upload_id, Others::Refused).await?;
    // Completing again returns the acknowledgement, whatever the body says.
    if upload.state != crate::db::upload_state::COMPLETED {
        check_completion(&req)?;
        crate::test_hooks::pause("complete.received").await;
    }
    let record = crate::completion::complete(&state, &upload.id, &req).await?;
    Ok(Json(acknowledgement(record)))
}

/// Quality counts are stored as sent: bounded in number and length, and consistent with each other.
fn check_quality(q: &cqube_protocol::Quality) -> Result<(), Error> {
    let bad = |message: String| Err(Error::bad_request("invalid_quality", message));
    if q.rules.len() > cqube_protocol::MAX_QUALITY_RULES {
        return bad(format!("quality.rules: at most {} entries", cqube_protocol::MAX_QUALITY_RULES));
    }
    if q.rows_rejected > q.rows_read || q.rows_warned > q.rows_read {
        return bad("quality: rows_rejected and rows_warned cannot exceed rows_read".into());
    }
    for r in &q.rules {
        if r.rule.is_empty()
            || r.rule.chars().count() > 64
            || r.column.as_ref().is_some_and(|c| c.is_empty() || c.chars().count() > 128)
        {
            return bad("quality.rules: rule 1-64 characters, column 1-128".into());
        }
        if r.severity != "error" && r.severity != "warning" {
            return bad(format!("quality.rules: severity must be error or warning, got {:?}", r.severity));
        }
    }
    Ok(())
}

fn check_completion(req: &CompleteUploadRequest) -> Result<(), Error> {
    if req.sha256.len() != 64 || !req.sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(Error::bad_request("invalid_sha256", "sha256 must be 64 lowercase hex digits"));
    }
    if req.parts.is_empty() {
        return Err(Error::bad_request("invalid_parts", "parts must not be empty"));
    }
    if let Some(w) = &req.watermark
        && (w.column.is_empty() || w.column.chars().count() > 256 || w.value.chars().count() > 1024)
    {
        return Err(Error::bad_request(
            "invalid_watermark",
            "a watermark needs a column name (at most 256 characters) and a value of at most 1024 characters",
        ));
    }
    if let Some(q) = &req.quality {
        check_quality(q)?;
    }
    for (i, p) in req.parts.iter().enumerate() {
        check_part_number(p.part_number)?;
        if i > 0 && req.parts[i - 1].part_number >= p.part_number {
            return Err(Error::bad_request(
                "invalid_parts",
                "parts must be in ascending part-number order, without repeats",
            ));
        }
    }
    Ok(())
}

/// The copy-and-delete cQube's ingestion would make, for deployments without it.
pub(crate) async fn archive(state: &AppState, e: &EmissionRecord) -> Result<String, Error> {
    let source = state
        .inner
        .catalog
        .get(&e.source)
        .ok_or_else(|| Error::Admin(format!("data source {} vanished from the catalog", e.source)))?;
    let key = keys::archive_key(source, &chrono::Local::now(), &keys::uuid_v4()?);
    let input = &state.inner.config.buckets.input;
    state.inner.storage.move_object((&e.bucket, &e.key), (input, &key), e.bytes).await?;
    state.inner.db.set_archived_key(&e.id, &key).await?;
    tracing::info!(key = %e.key, archived_key = %key, "emission archived to the input bucket");
    Ok(key)
}

pub(crate) async fn abort_upload(
    State(state): State<AppState>,
    who: Principal,
    Path(upload_id): Path<String>,
) -> Result<StatusCode, Error> {
    // An admin may abort any upload (to clear abandoned ones by hand); others only their own.
    let upload = upload_for(&state, &who, &upload_id, Others::Admin).await?;
    crate::completion::abort(&state, &upload.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UploadsQuery {
    /// `open`, `expired` (open past its expiry), `completing`, `completed`, `failed` or `aborted`.
    state: Option<String>,
    /// At most this many, the oldest first.
    limit: Option<u32>,
}

/// `GET /data/uploads` (admin): the uploads in a state, to find abandoned ones.
pub(crate) async fn list_uploads(
    State(state): State<AppState>,
    who: Principal,
    uri: axum::http::Uri,
) -> Result<Json<cqube_protocol::UploadList>, Error> {
    if !who.admin {
        return Err(forbidden("listing uploads needs an admin token"));
    }
    let query: UploadsQuery = serde_urlencoded::from_str(uri.query().unwrap_or_default())
        .map_err(|e| Error::bad_request("invalid_request", format!("bad query: {e}")))?;
    let limit = query.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        return Err(Error::bad_request("invalid_request", format!("limit must be 1..=10000, got {limit}")));
    }
    let now = now_ms();
    let (filter, expired_at) = match query.state.as_deref() {
        None => (None, None),
        Some("expired") => (None, Some(now)),
        Some(s) if crate::db::upload_state::ALL.contains(&s) => (Some(s), None),
        Some(other) => {
            return Err(Error::bad_request(
                "invalid_request",
                format!("state must be open, expired, completing, completed, failed or aborted, got {other:?}"),
            ));
        }
    };
    let uploads = state.inner.db.uploads(filter, expired_at, limit).await?;
    Ok(Json(cqube_protocol::UploadList {
        uploads: uploads
            .into_iter()
            .map(|u| cqube_protocol::UploadInfo {
                expired: u.state == crate::db::upload_state::OPEN && u.expires_at <= now,
                upload_id: u.id,
                token_name: u.token_name,
                source: u.source,
                bucket: u.bucket,
                key: u.key,
                state: u.state,
                created_at: rfc3339(u.created_at),
                expires_at: rfc3339(u.expires_at),
            })
            .collect(),
    }))
}

/// `since` as RFC 3339 or a date (`YYYY-MM-DD`, midnight UTC), in unix milliseconds.
pub fn parse_since(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text).map(|t| t.timestamp_millis()).ok().or_else(|| {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp_millis())
    })
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmissionsQuery {
    source: Option<String>,
    since: Option<String>,
    /// Only emissions that carry a watermark on this column (the emitter's next starting point is the newest).
    watermark_column: Option<String>,
    /// Only the emission that completed this upload (how an emitter that lost a completion's answer finds it).
    upload_id: Option<String>,
    /// At most this many, the newest.
    limit: Option<u32>,
}

pub(crate) async fn emissions(
    State(state): State<AppState>,
    who: Principal,
    uri: axum::http::Uri,
) -> Result<Json<EmissionList>, Error> {
    let query: EmissionsQuery = serde_urlencoded::from_str(uri.query().unwrap_or_default())
        .map_err(|e| Error::bad_request("invalid_request", format!("bad query: {e}")))?;
    let since = query
        .since
        .as_deref()
        .map(|s| {
            parse_since(s).ok_or_else(|| Error::bad_request("invalid_since", "since must be RFC 3339 or YYYY-MM-DD"))
        })
        .transpose()?;
    if let Some(source) = &query.source
        && state.inner.catalog.get(source).is_none()
    {
        return Err(Error::bad_request("unknown_source", format!("data source {source:?} is not in the catalog")));
    }
    // Admins see every emission; other tokens those of their name (a token re-created under the same name
    // continues from its predecessor's watermarks) within their scope.
    let token = (!who.admin).then_some(who.token_name.as_str());
    let scope = if who.admin { None } else { who.sources.as_deref() };
    let list = state
        .inner
        .db
        .emissions(&EmissionFilter {
            token_name: token,
            source: query.source.as_deref(),
            since,
            watermark_column: query.watermark_column.as_deref(),
            upload_id: query.upload_id.as_deref(),
            limit: query.limit,
            scope,
        })
        .await?;
    Ok(Json(EmissionList { emissions: list.into_iter().map(acknowledgement).collect() }))
}

pub(crate) async fn auth(
    State(state): State<AppState>,
    Payload(req): Payload<AuthRequest>,
) -> Result<Json<AuthResponse>, Error> {
    let ttl = state.inner.config.auth_token_ttl_seconds;
    let access_token = crate::auth::login(&state.inner.db, &req.username, &req.password, ttl).await?;
    tracing::info!(user = %req.username, "short-lived token issued");
    Ok(Json(AuthResponse { access_token, token_type: "Bearer".into(), expires_in: ttl }))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn media_types_are_parsed_not_prefix_matched() {
        let format = |v: &str| body_format(Some(&HeaderValue::from_str(v).unwrap())).ok();
        assert_eq!(body_format(None).ok(), Some(BodyFormat::Json));
        for json in ["application/json", "Application/JSON", "application/json;charset=utf-8", "application/ld+json"] {
            assert_eq!(format(json), Some(BodyFormat::Json), "{json}");
        }
        for form in ["application/x-www-form-urlencoded", "APPLICATION/X-WWW-FORM-URLENCODED ; charset=UTF-8"] {
            assert_eq!(format(form), Some(BodyFormat::Form), "{form}");
        }
        for other in ["application/jsonp", "application/json-seq", "text/json", "application/+json", "json", "*/*"] {
            assert_eq!(format(other), None, "{other}");
        }
    }

    #[test]
    fn the_served_document_lists_this_servers_sources_and_buckets() {
        let catalog = cqube_core::Catalog::builtin();
        let buckets = crate::config::Buckets::default();
        let doc: serde_json::Value = serde_json::from_str(&openapi_document(&catalog, &buckets)).unwrap();
        let schemas = &doc["components"]["schemas"];
        let names: Vec<&str> =
            schemas["SourceName"]["enum"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        assert_eq!(names.len(), catalog.sources().len());
        assert!(names.contains(&"student_attendance"));
        let pairs = schemas["CreateUploadRequest"]["oneOf"].as_array().unwrap();
        let attendance = catalog.get("student_attendance").unwrap();
        assert!(pairs.iter().any(|p| p["properties"]["source"]["enum"][0] == "student_attendance"
            && p["properties"]["filename"]["enum"][0] == attendance.emission_path().as_str()));
        let bucket_names = schemas["BucketName"]["enum"].as_array().unwrap();
        for name in ["input", "output", "emission", "cqube-emission"] {
            assert!(bucket_names.iter().any(|b| b == name), "{name}");
        }
        // Every reference resolves.
        let text = doc.to_string();
        for reference in text.split("\"#/components/schemas/").skip(1) {
            let name = &reference[..reference.find('"').unwrap()];
            assert!(schemas.get(name).is_some(), "{name} is referenced but not defined");
        }
    }
}
