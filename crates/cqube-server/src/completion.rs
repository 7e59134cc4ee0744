//! Completing and aborting uploads so that a crash at any point ends in exactly one acknowledgement, or in a
//! failed upload whose parts are removed.
//!
//! The completion request is recorded (state `completing`) before the store is asked. Whoever next touches the
//! upload — the emitter's retried or resumed `complete`, an abort, or the sweeper at start and on its schedule —
//! reconciles it from the store: an object of the recorded size (and multipart ETag, where the store gives one)
//! is acknowledged; otherwise the upload is completed again from its parts; a store that no longer knows the
//! upload and has no object makes it `failed`. One lock per upload (striped) keeps a complete, an abort and the
//! sweeper from overlapping, so concurrent completes give one acknowledgement.

use axum::http::StatusCode;
use cqube_protocol::{CompleteUploadRequest, CompletedPart};

use crate::auth::now_ms;
use crate::db::{EmissionRecord, UploadRecord, upload_state};
use crate::storage::CompleteError;
use crate::test_hooks::pause;
use crate::{AppState, Error, keys};

/// Completions, aborts and sweeps of different uploads run this many at once per process.
pub(crate) const LOCK_STRIPES: usize = 16;

/// Per-upload locks: striped by id within the process, then the state store's lock across replicas (a no-op on
/// SQLite, which one process owns).
#[derive(Debug)]
pub(crate) struct Locks(Box<[tokio::sync::Mutex<()>; LOCK_STRIPES]>);

/// Both halves of an upload's lock, released on drop.
pub(crate) struct UploadLock<'a> {
    _local: tokio::sync::MutexGuard<'a, ()>,
    _cluster: crate::db::ClusterLock,
}

impl Locks {
    pub(crate) fn new() -> Locks {
        Locks(Box::new(std::array::from_fn(|_| tokio::sync::Mutex::new(()))))
    }

    pub(crate) async fn lock<'a>(&'a self, db: &crate::Database, upload_id: &str) -> Result<UploadLock<'a>, Error> {
        let stripe = upload_id.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(b)));
        let local = self.0[stripe % LOCK_STRIPES].lock().await;
        let cluster = db.lock(&format!("upload {upload_id}"), true).await?;
        let cluster = cluster.ok_or_else(|| Error::Admin("a waiting lock was not granted".into()))?;
        Ok(UploadLock { _local: local, _cluster: cluster })
    }
}

/// What reconciling a `completing` upload found.
#[derive(Debug)]
pub(crate) enum Reconciled {
    /// Acknowledged now or before.
    Acknowledged(Box<EmissionRecord>),
    /// The store refused the recorded part list: the upload is open again.
    Reopened(Error),
    /// The store lost the upload before the object existed.
    Failed,
}

fn not_open(upload: &UploadRecord) -> Error {
    Error::api(StatusCode::CONFLICT, "upload_not_open", format!("upload {} is {}", upload.id, upload.state))
}

pub(crate) async fn reread(state: &AppState, id: &str) -> Result<UploadRecord, Error> {
    state.inner.db.upload(id).await?.ok_or_else(|| Error::Admin(format!("upload {id} vanished from the database")))
}

/// Completes an upload the caller may use, with a request the handler checked; an upload already acknowledged
/// returns its acknowledgement.
pub(crate) async fn complete(
    state: &AppState,
    upload_id: &str,
    req: &CompleteUploadRequest,
) -> Result<EmissionRecord, Error> {
    let _guard = state.inner.locks.lock(&state.inner.db, upload_id).await?;
    let record = complete_locked(state, upload_id, req).await?;
    archived(state, record).await
}

/// With `archive` on, moves an acknowledged emission to the input bucket unless that was done already (a crash
/// between the acknowledgement and the move leaves it for the next complete or sweep); the caller holds the lock.
pub(crate) async fn archived(state: &AppState, mut record: EmissionRecord) -> Result<EmissionRecord, Error> {
    if state.inner.config.archive && record.archived_key.is_none() {
        record.archived_key = Some(crate::api::archive(state, &record).await?);
    }
    Ok(record)
}

async fn complete_locked(
    state: &AppState,
    upload_id: &str,
    req: &CompleteUploadRequest,
) -> Result<EmissionRecord, Error> {
    let mut upload = reread(state, upload_id).await?;
    if upload.state == upload_state::COMPLETING {
        match reconcile_locked(state, &upload).await? {
            Reconciled::Acknowledged(done) => return Ok(*done),
            Reconciled::Reopened(why) => tracing::info!(upload_id, error = %why, "the recorded completion was refused"),
            Reconciled::Failed => {}
        }
        upload = reread(state, upload_id).await?;
    }
    match upload.state.as_str() {
        upload_state::COMPLETED => return acknowledged(state, &upload).await,
        upload_state::OPEN => {}
        _ => return Err(not_open(&upload)),
    }
    crate::api::require_open(&upload)?;
    check_parts(state, &upload, req).await?;
    let request = serde_json::to_string(req).map_err(|e| Error::Admin(format!("encoding a completion: {e}")))?;
    if !state.inner.db.begin_completion(&upload.id, &request, now_ms()).await? {
        return Err(not_open(&reread(state, upload_id).await?));
    }
    pause("complete.recorded").await;
    let storage = &state.inner.storage;
    match storage.complete(&upload.bucket, &upload.key, &upload.store_upload_id, &req.parts).await {
        Ok(()) => {}
        Err(CompleteError::Refused(e)) => {
            state.inner.db.set_upload_state(&upload.id, upload_state::OPEN).await?;
            return Err(e);
        }
        Err(CompleteError::NoSuchUpload) => {
            fail(state, &upload).await?;
            return Err(not_open(&reread(state, upload_id).await?));
        }
        // The outcome is unknown: the upload stays `completing` for the next complete or the sweeper.
        Err(CompleteError::Unavailable(e)) => return Err(e),
    }
    pause("complete.stored").await;
    finish(state, &upload, req).await
}

/// Checks the part list against the store's ListParts before anything changes: every part present, and with
/// the same ETag where the store lists one (the store checks them again when completing; a store that lists a
/// retried part more than once completes from the upload whose ETag it is given), and the sizes add up
/// to `bytes`. Stores whose ListParts the SDK cannot read (moto 5.2 answers with the wrong XML root) are checked
/// by their own complete and by the size check after it.
async fn check_parts(state: &AppState, upload: &UploadRecord, req: &CompleteUploadRequest) -> Result<(), Error> {
    let listed = state.inner.storage.list_parts(&upload.bucket, &upload.key, &upload.store_upload_id).await;
    let stored = match listed {
        Ok(stored) => stored,
        Err(err) => {
            tracing::warn!(error = %err, "listing parts failed; the store's complete checks them");
            return Ok(());
        }
    };
    let mut total: u64 = 0;
    for p in &req.parts {
        let mut uploads = stored.iter().map(|l| &l.part).filter(|s| s.part_number == p.part_number).peekable();
        if uploads.peek().is_none() {
            return Err(Error::bad_request("invalid_parts", format!("part {} is not in the store", p.part_number)));
        }
        let Some(found) =
            uploads.find(|s| s.etag.is_empty() || unquote(&s.etag).eq_ignore_ascii_case(unquote(&p.etag)))
        else {
            return Err(Error::bad_request(
                "invalid_parts",
                format!("part {}: the ETag does not match the stored part", p.part_number),
            ));
        };
        total += found.size_bytes;
    }
    check_size(total, req.bytes)
}

fn unquote(etag: &str) -> &str {
    etag.trim().trim_matches('"')
}

fn check_size(stored: u64, reported: u64) -> Result<(), Error> {
    if stored == reported {
        Ok(())
    } else {
        Err(Error::bad_request(
            "size_mismatch",
            format!("the parts hold {stored} bytes but the request says {reported}"),
        ))
    }
}

/// S3's multipart ETag for these parts (MD5 of the parts' MD5s, `-count`), when every part ETag is a plain MD5.
fn multipart_etag(parts: &[CompletedPart]) -> Option<String> {
    let mut md5s = Vec::with_capacity(parts.len() * 16);
    for p in parts {
        let digest = hex::decode(unquote(&p.etag)).ok().filter(|d| d.len() == 16)?;
        md5s.extend_from_slice(&digest);
    }
    Some(format!("{}-{}", hex::encode(md5_of(&md5s)), parts.len()))
}

fn md5_of(bytes: &[u8]) -> [u8; 16] {
    use s3s::crypto::Checksum as _;
    s3s::crypto::Md5::checksum(bytes)
}

/// The object is in place: checks its size, then records the acknowledgement (and the upload `completed`) in one
/// transaction.
async fn finish(state: &AppState, upload: &UploadRecord, req: &CompleteUploadRequest) -> Result<EmissionRecord, Error> {
    let storage = &state.inner.storage;
    let total = storage.size(&upload.bucket, &upload.key).await?;
    if let Err(mismatch) = check_size(total, req.bytes) {
        storage.delete(&upload.bucket, &upload.key).await?;
        state.inner.db.set_upload_state(&upload.id, upload_state::ABORTED).await?;
        return Err(mismatch);
    }
    let record = EmissionRecord {
        id: keys::uuid_v4()?,
        upload_id: Some(upload.id.clone()),
        token_name: upload.token_name.clone(),
        source: upload.source.clone(),
        bucket: upload.bucket.clone(),
        key: upload.key.clone(),
        archived_key: None,
        bytes: total,
        rows: req.rows,
        sha256: req.sha256.clone(),
        started_at: upload.created_at,
        completed_at: now_ms(),
        watermark: req.watermark.clone(),
        quality: req.quality.clone(),
    };
    // Another replica may have recorded this upload's acknowledgement first: every caller returns that one.
    let ours = record.id.clone();
    let record = state.inner.db.insert_emission(&record).await?;
    if record.id == ours {
        crate::metrics::upload("completed");
        crate::metrics::acknowledged(&record.source, record.bytes, record.rows);
    }
    tracing::info!(upload_id = %upload.id, source = %upload.source, key = %upload.key, bytes = total, rows = req.rows, "emission acknowledged");
    pause("complete.acknowledged").await;
    Ok(record)
}

async fn acknowledged(state: &AppState, upload: &UploadRecord) -> Result<EmissionRecord, Error> {
    state
        .inner
        .db
        .emission_for_upload(&upload.id)
        .await?
        .ok_or_else(|| Error::Admin(format!("upload {} is completed but has no emission", upload.id)))
}

/// Settles a `completing` upload from what the store holds; the caller holds its lock.
pub(crate) async fn reconcile_locked(state: &AppState, upload: &UploadRecord) -> Result<Reconciled, Error> {
    let db = &state.inner.db;
    let Some(text) = db.completion_request(&upload.id).await? else {
        // Recorded by a version that kept no request: nothing to complete with.
        db.set_upload_state(&upload.id, upload_state::OPEN).await?;
        return Ok(Reconciled::Reopened(Error::Admin("no completion request was kept".into())));
    };
    let req: CompleteUploadRequest = serde_json::from_str(&text)
        .map_err(|e| Error::Admin(format!("the kept completion request of upload {} is unreadable: {e}", upload.id)))?;
    let storage = &state.inner.storage;
    let object = storage.head(&upload.bucket, &upload.key).await?;
    let expected_etag = multipart_etag(&req.parts);
    let whole = object.as_ref().is_some_and(|(size, etag)| {
        let etag_agrees = match (etag, &expected_etag) {
            // Only a multipart-style ETag (`md5-count`) can be compared; SSE-KMS and others are not MD5s.
            (Some(got), Some(want)) if got.contains('-') => got.eq_ignore_ascii_case(want),
            _ => true,
        };
        *size == req.bytes && etag_agrees
    });
    if whole {
        tracing::info!(upload_id = %upload.id, "reconciled: the object was written before the crash");
        let record = finish(state, upload, &req).await?;
        // A store that crashed after writing the object may still hold the parts.
        if let Err(e) = storage.abort(&upload.bucket, &upload.key, &upload.store_upload_id).await {
            tracing::warn!(upload_id = %upload.id, error = %e, "removing the parts of a completed upload failed");
        }
        return Ok(Reconciled::Acknowledged(Box::new(record)));
    }
    match storage.complete(&upload.bucket, &upload.key, &upload.store_upload_id, &req.parts).await {
        Ok(()) => {
            tracing::info!(upload_id = %upload.id, "reconciled: completed again from the parts");
            Ok(Reconciled::Acknowledged(Box::new(finish(state, upload, &req).await?)))
        }
        Err(CompleteError::Refused(e)) => {
            db.set_upload_state(&upload.id, upload_state::OPEN).await?;
            Ok(Reconciled::Reopened(e))
        }
        Err(CompleteError::NoSuchUpload) => {
            fail(state, upload).await?;
            Ok(Reconciled::Failed)
        }
        Err(CompleteError::Unavailable(e)) => Err(e),
    }
}

/// The store lost the upload and no whole object exists: the upload is `failed`, and whatever the store kept
/// (parts, a partial object) is removed now or by the sweeper.
async fn fail(state: &AppState, upload: &UploadRecord) -> Result<(), Error> {
    tracing::warn!(upload_id = %upload.id, key = %upload.key, "the store lost the upload before the object was whole; marking it failed");
    state.inner.db.set_upload_state(&upload.id, upload_state::FAILED).await?;
    let storage = &state.inner.storage;
    let cleaned = async {
        storage.abort(&upload.bucket, &upload.key, &upload.store_upload_id).await?;
        if storage.head(&upload.bucket, &upload.key).await?.is_some() {
            storage.delete(&upload.bucket, &upload.key).await?;
        }
        state.inner.db.set_upload_state(&upload.id, upload_state::ABORTED).await
    };
    if let Err(e) = cleaned.await {
        tracing::warn!(upload_id = %upload.id, error = %e, "cleaning up a failed upload failed; the sweeper retries");
    }
    Ok(())
}

/// Aborts an upload (any upload for an admin): its parts leave the store. A `completing` one is reconciled first,
/// and an acknowledged one cannot be aborted.
pub(crate) async fn abort(state: &AppState, upload_id: &str) -> Result<(), Error> {
    let _guard = state.inner.locks.lock(&state.inner.db, upload_id).await?;
    abort_locked(state, reread(state, upload_id).await?).await
}

pub(crate) async fn abort_locked(state: &AppState, mut upload: UploadRecord) -> Result<(), Error> {
    if upload.state == upload_state::COMPLETING {
        reconcile_locked(state, &upload).await?;
        upload = reread(state, &upload.id).await?;
    }
    match upload.state.as_str() {
        upload_state::ABORTED => return Ok(()),
        upload_state::COMPLETED => return Err(not_open(&upload)),
        _ => {}
    }
    state.inner.storage.abort(&upload.bucket, &upload.key, &upload.store_upload_id).await?;
    state.inner.db.set_upload_state(&upload.id, upload_state::ABORTED).await?;
    tracing::info!(upload_id = %upload.id, "upload aborted");
    crate::metrics::upload("aborted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(n: u32, etag: &str) -> CompletedPart {
        CompletedPart { part_number: n, etag: etag.into() }
    }

    #[test]
    fn multipart_etag_is_md5_of_md5s() {
        // Two parts "a" and "b": md5("a") = 0cc175b9c0f1b6a831c399e269772661, md5("b") = 92eb5ffee6ae2fec3ad71c777531578f.
        let parts = [part(1, "\"0cc175b9c0f1b6a831c399e269772661\""), part(2, "92eb5ffee6ae2fec3ad71c777531578f")];
        let mut both = hex::decode("0cc175b9c0f1b6a831c399e269772661").unwrap();
        both.extend(hex::decode("92eb5ffee6ae2fec3ad71c777531578f").unwrap());
        let want = format!("{}-2", hex::encode(md5_of(&both)));
        assert_eq!(multipart_etag(&parts), Some(want));
        assert_eq!(hex::encode(md5_of(b"a")), "0cc175b9c0f1b6a831c399e269772661");
    }

    #[test]
    fn multipart_etag_needs_md5_part_etags() {
        assert_eq!(multipart_etag(&[part(1, "not-an-md5")]), None);
        assert_eq!(multipart_etag(&[part(1, "0cc175b9c0f1b6a8")]), None);
    }
}
