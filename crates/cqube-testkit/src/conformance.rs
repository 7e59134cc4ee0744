//! The delivery-target conformance suite: what every [`DeliveryTarget`] must do, checked against the store it
//! writes to with a client that is not ours (boto3, through [`S3Store`]). Modelled on object_store's
//! `integration.rs`: one set of checks, run by each target on each store.
//!
//! A target joins by describing itself as a [`Subject`] and calling [`run`] (or single checks) from its own
//! integration test. Multipart targets meet the checks below; one-shot targets (one request per file) meet those of
//! [`one_shot`], and [`run`] picks the section from [`DeliveryTarget::one_shot`]. Who runs it:
//!
//! - `ApiClient` → the emission API on the embedded store, moto, SeaweedFS and `CQUBE_EMIT_TEST_S3_ENDPOINT`, and
//!   `PostTarget` → the API with multipart off on the embedded store: `crates/cqube-server/tests/it/conformance.rs`;
//! - `PostTarget` → the stock-cQube stand-in ([`crate::stock_cqube`]) on moto and SeaweedFS, and `S3Target` on
//!   moto, SeaweedFS and `CQUBE_EMIT_TEST_S3_ENDPOINT`: `crates/cqube-upload/tests/conformance.rs`.
//!
//! Every check panics with the subject's name on the first thing that does not conform.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cqube_protocol::{
    Acknowledgement, CompleteUploadRequest, CompletedPart, CreateUploadRequest, CreateUploadResponse, StoredPart,
};
use cqube_upload::{Aborted, DeliveryTarget, MIN_PART_BYTES, Part};
use sha2::Digest;

use crate::{S3Store, payload};

pub mod one_shot;

/// A target under test and the store behind it.
pub struct Subject<'a> {
    /// Names the target and store in every failure, e.g. `ApiClient on moto`.
    pub name: String,
    /// A new client of the target, as a new process would open it: nothing cached from earlier calls. Each
    /// call must reach the same uploads.
    pub connect: Box<dyn Fn() -> Arc<dyn DeliveryTarget> + Send + Sync + 'a>,
    /// The store the target's objects land in (the bucket comes from the acknowledgement).
    pub store: &'a S3Store,
    /// What `list_parts` can tell on this store.
    pub listing: Listing,
    /// For a target that sends parts to presigned URLs: a client whose URLs live only this long, so a check can
    /// outlive them. `None` for a target without URLs.
    pub short_lived_urls: Option<(Arc<dyn DeliveryTarget>, Duration)>,
}

/// What a target's `list_parts` can tell on a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Part numbers and sizes, and ETags where the store lists them (the embedded store lists none: they would
    /// cost a read of every part; a resumed run takes them from its journal).
    Parts,
    /// The store's ListParts answer cannot be read: moto 5.2 names its root element `ListPartsResponse`, not
    /// `ListPartsResult`. The checks assert that `list_parts` fails instead of answering wrongly, and go on with the
    /// ETags the puts returned, as a resumed run does from its journal.
    Unreadable,
}

impl std::fmt::Debug for Subject<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subject").field("name", &self.name).field("store", &self.store.endpoint).finish_non_exhaustive()
    }
}

/// Runs every check that applies to `subject`: the one-shot section ([`one_shot`]) for a target whose
/// [`DeliveryTarget::one_shot`] is `Some`, else the multipart checks below. Returns the names of those that ran
/// (`expired_url` needs [`Subject::short_lived_urls`]).
pub async fn run(subject: &Subject<'_>) -> Vec<&'static str> {
    if (subject.connect)().one_shot().is_some() {
        return one_shot::run(subject).await;
    }
    let mut ran = Vec::new();
    happy_path(subject).await;
    ran.push("happy_path");
    part_retry(subject).await;
    ran.push("part_retry");
    if expired_url(subject).await {
        ran.push("expired_url");
    }
    resume_after_kill(subject).await;
    ran.push("resume_after_kill");
    abort_cleans_up(subject).await;
    ran.push("abort_cleans_up");
    idempotent_complete(subject).await;
    ran.push("idempotent_complete");
    abort_after_complete(subject).await;
    ran.push("abort_after_complete");
    ran
}

/// A file of three parts (two full, one short last part) and what completing it needs.
struct File {
    /// The catalog source and its `<dir>/<stem>.zip`.
    source: &'static str,
    filename: &'static str,
    data: Vec<u8>,
    parts: Vec<Part>,
}

impl File {
    fn new(seed: u64) -> File {
        File::of(seed, ("student_attendance", "student_attendance/student_attendance.zip"))
    }

    fn of(seed: u64, (source, filename): (&'static str, &'static str)) -> File {
        let data = payload(2 * MIN_PART_BYTES + (1 << 20) + 7, seed);
        let parts = data.chunks(MIN_PART_BYTES).zip(1..).map(|(chunk, number)| part(number, chunk)).collect();
        File { source, filename, data, parts }
    }

    fn create_request(&self) -> CreateUploadRequest {
        CreateUploadRequest {
            source: self.source.into(),
            filename: self.filename.into(),
            expected_size_bytes: Some(self.data.len() as u64),
        }
    }

    fn sha256(&self) -> String {
        hex::encode(sha2::Sha256::digest(&self.data))
    }

    fn complete_request(&self, etags: &[String]) -> CompleteUploadRequest {
        assert_eq!(etags.len(), self.parts.len(), "one ETag per part");
        CompleteUploadRequest {
            parts: (1..)
                .zip(etags)
                .map(|(part_number, etag)| CompletedPart { part_number, etag: etag.clone() })
                .collect(),
            rows: 1234,
            bytes: self.data.len() as u64,
            sha256: self.sha256(),
            watermark: None,
            quality: None,
        }
    }
}

fn part(number: u32, data: &[u8]) -> Part {
    Part { number, checksum: xxhash_rust::xxh3::xxh3_64(data), data: Bytes::copy_from_slice(data) }
}

async fn create(s: &Subject<'_>, target: &dyn DeliveryTarget, file: &File) -> CreateUploadResponse {
    target.create(&file.create_request()).await.unwrap_or_else(|e| panic!("{}: create: {e}", s.name))
}

async fn put(s: &Subject<'_>, target: &dyn DeliveryTarget, upload_id: &str, part: &Part) -> String {
    target.put_part(upload_id, part).await.unwrap_or_else(|e| panic!("{}: put part {}: {e}", s.name, part.number))
}

async fn complete(
    s: &Subject<'_>,
    target: &dyn DeliveryTarget,
    upload_id: &str,
    file: &File,
    etags: &[String],
) -> Acknowledgement {
    let request = file.complete_request(etags);
    target.complete(upload_id, &request).await.unwrap_or_else(|e| panic!("{}: complete: {e}", s.name))
}

/// The target's part list, or `None` where [`Listing::Unreadable`] (after asserting that it fails).
async fn list_parts(s: &Subject<'_>, target: &dyn DeliveryTarget, upload_id: &str) -> Option<Vec<StoredPart>> {
    let listed = target.list_parts(upload_id).await;
    match s.listing {
        Listing::Parts => Some(listed.unwrap_or_else(|e| panic!("{}: list_parts: {e}", s.name))),
        Listing::Unreadable => {
            assert!(listed.is_err(), "{}: list_parts answered where the store's answer is unreadable", s.name);
            None
        }
    }
}

fn unquoted(etag: &str) -> &str {
    etag.trim_matches('"')
}

/// The acknowledgement names the object, and the store holds exactly the file's bytes under it.
fn assert_delivered(s: &Subject<'_>, ack: &Acknowledgement, created: &CreateUploadResponse, file: &File) {
    assert_eq!(ack.key, created.key, "{}: acknowledged key", s.name);
    assert_eq!((ack.bytes, ack.rows), (file.data.len() as u64, 1234), "{}: acknowledged bytes and rows", s.name);
    let stored = s.store.get(&ack.bucket, &ack.key);
    assert!(
        stored == file.data,
        "{}: {}/{} differs from what was sent ({} bytes stored)",
        s.name,
        ack.bucket,
        ack.key,
        stored.len()
    );
}

/// Create, parts in the order 3, 1, 2, complete: the object is byte-identical to the file.
pub async fn happy_path(s: &Subject<'_>) {
    let target = (s.connect)();
    let file = File::new(11);
    let created = create(s, &*target, &file).await;
    let mut etags = vec![String::new(); file.parts.len()];
    for i in [2, 0, 1] {
        etags[i] = put(s, &*target, &created.upload_id, &file.parts[i]).await;
    }
    let ack = complete(s, &*target, &created.upload_id, &file, &etags).await;
    assert_delivered(s, &ack, &created, &file);
}

/// A part sent twice (first with other bytes, as a retry after a lost answer may): the store keeps one part 2,
/// the one sent last.
pub async fn part_retry(s: &Subject<'_>) {
    let target = (s.connect)();
    let file = File::new(12);
    let created = create(s, &*target, &file).await;
    let mut etags = Vec::new();
    for p in &file.parts {
        if p.number == 2 {
            put(s, &*target, &created.upload_id, &part(2, &payload(MIN_PART_BYTES, 99))).await;
        }
        etags.push(put(s, &*target, &created.upload_id, p).await);
    }
    if let Some(listed) = list_parts(s, &*target, &created.upload_id).await {
        let found: Vec<(u32, u64)> = listed.iter().map(|p| (p.part_number, p.size_bytes)).collect();
        let expected: Vec<(u32, u64)> = file.parts.iter().map(|p| (p.number, p.data.len() as u64)).collect();
        assert_eq!(found, expected, "{}: stored parts after part 2 was sent twice", s.name);
        if !listed[1].etag.is_empty() {
            assert_eq!(unquoted(&listed[1].etag), unquoted(&etags[1]), "{}: part 2's listed ETag", s.name);
        }
    }
    let ack = complete(s, &*target, &created.upload_id, &file, &etags).await;
    assert_delivered(s, &ack, &created, &file);
}

/// With URLs that live `lifetime`: parts sent after every URL handed out so far has expired still land (the
/// target asks for new ones; an attempt that meets an expired URL fails as retryable and the next one lands, as
/// the uploader retries it). Returns `false` when the target has no URLs.
pub async fn expired_url(s: &Subject<'_>) -> bool {
    let Some((target, lifetime)) = &s.short_lived_urls else { return false };
    let file = File::new(13);
    let created = create(s, &**target, &file).await;
    let mut etags = Vec::new();
    for p in &file.parts {
        if !etags.is_empty() {
            tokio::time::sleep(*lifetime + Duration::from_secs(1)).await;
        }
        let mut attempts = 0;
        let etag = loop {
            attempts += 1;
            match target.put_part(&created.upload_id, p).await {
                Ok(etag) => break etag,
                Err(e) if e.is_retryable() && attempts < 3 => {}
                Err(e) => panic!("{}: put part {} (attempt {attempts}): {e}", s.name, p.number),
            }
        };
        etags.push(etag);
    }
    let ack = complete(s, &**target, &created.upload_id, &file, &etags).await;
    assert_delivered(s, &ack, &created, &file);
    true
}

/// A client killed after two parts; a new one lists the stored parts (numbers, sizes, and ETags where listed),
/// sends the rest and completes from the listed ETags (the first client's where the store lists none, as a
/// resumed run takes them from its journal).
pub async fn resume_after_kill(s: &Subject<'_>) {
    let file = File::new(14);
    let first = (s.connect)();
    let created = create(s, &*first, &file).await;
    let mut etags = Vec::new();
    for p in &file.parts[..2] {
        etags.push(put(s, &*first, &created.upload_id, p).await);
    }
    drop(first);
    let second = (s.connect)();
    if let Some(listed) = list_parts(s, &*second, &created.upload_id).await {
        let found: Vec<(u32, u64)> = listed.iter().map(|p| (p.part_number, p.size_bytes)).collect();
        assert_eq!(found, [(1, MIN_PART_BYTES as u64), (2, MIN_PART_BYTES as u64)], "{}: listed parts", s.name);
        for (etag, listed) in etags.iter_mut().zip(&listed) {
            if !listed.etag.is_empty() {
                assert_eq!(
                    unquoted(&listed.etag),
                    unquoted(etag),
                    "{}: part {}'s listed ETag",
                    s.name,
                    listed.part_number
                );
                etag.clone_from(&listed.etag);
            }
        }
    }
    etags.push(put(s, &*second, &created.upload_id, &file.parts[2]).await);
    let ack = complete(s, &*second, &created.upload_id, &file, &etags).await;
    assert_delivered(s, &ack, &created, &file);
}

/// An aborted upload leaves nothing: no open multipart upload for its key, no object; aborting again (an upload
/// already gone) is still `Removed`.
pub async fn abort_cleans_up(s: &Subject<'_>) {
    let target = (s.connect)();
    let file = File::new(15);
    let created = create(s, &*target, &file).await;
    for p in &file.parts[..2] {
        put(s, &*target, &created.upload_id, p).await;
    }
    assert!(
        s.store.open_upload_keys(&created.bucket).contains(&created.key),
        "{}: the store shows no open upload for {} before the abort",
        s.name,
        created.key
    );
    for attempt in ["abort", "second abort"] {
        let aborted = target.abort(&created.upload_id).await.unwrap_or_else(|e| panic!("{}: {attempt}: {e}", s.name));
        assert_eq!(aborted, Aborted::Removed, "{}: {attempt}", s.name);
    }
    assert!(
        !s.store.open_upload_keys(&created.bucket).contains(&created.key),
        "{}: an open upload for {} remains after the abort",
        s.name,
        created.key
    );
    assert_eq!(s.store.objects(&created.bucket, &created.key), [], "{}: an object remains after the abort", s.name);
}

/// Completing twice, the second time from a new client (a retry after a lost answer), gives the same
/// acknowledgement and one object.
pub async fn idempotent_complete(s: &Subject<'_>) {
    let target = (s.connect)();
    let file = File::new(16);
    let created = create(s, &*target, &file).await;
    let mut etags = Vec::new();
    for p in &file.parts {
        etags.push(put(s, &*target, &created.upload_id, p).await);
    }
    let ack = complete(s, &*target, &created.upload_id, &file, &etags).await;
    let again = complete(s, &*(s.connect)(), &created.upload_id, &file, &etags).await;
    assert_eq!(again, ack, "{}: a second completion's acknowledgement", s.name);
    assert_delivered(s, &ack, &created, &file);
}

/// Aborting an upload the target has acknowledged (a completion whose answer was lost to a crash) keeps the
/// object and answers with the acknowledgement.
pub async fn abort_after_complete(s: &Subject<'_>) {
    let target = (s.connect)();
    let file = File::new(17);
    let created = create(s, &*target, &file).await;
    let mut etags = Vec::new();
    for p in &file.parts {
        etags.push(put(s, &*target, &created.upload_id, p).await);
    }
    let ack = complete(s, &*target, &created.upload_id, &file, &etags).await;
    let aborted = (s.connect)().abort(&created.upload_id).await.unwrap_or_else(|e| panic!("{}: abort: {e}", s.name));
    assert_eq!(aborted, Aborted::Acknowledged(Box::new(ack.clone())), "{}: abort of a completed upload", s.name);
    assert_delivered(s, &ack, &created, &file);
}
