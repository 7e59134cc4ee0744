//! The delivery-target seam: where an emitted file's parts go and who acknowledges it.
//!
//! Modelled on object_store's `MultipartUpload` (create, put part, complete, abort, list parts), plus what emission
//! needs besides bytes: an acknowledgement from `complete`, and the watermark of a source's last acknowledged
//! emission. The scheduler and [`Uploader`](crate::Uploader) only see this trait, so a new target (a one-shot
//! presigned POST, a direct S3 multipart upload) is a new implementation, not a change to them.
//!
//! Each method is one attempt: retries, backoff and the choice of which errors to retry belong to the caller
//! (the uploader retries [`DeliveryTarget::put_part`] under its [`RetryPolicy`](crate::RetryPolicy) and reports
//! every retry). A target says what went wrong through [`Error`]; [`Error::is_retryable`] decides.

use cqube_protocol::{
    Acknowledgement, CompleteUploadRequest, CreateUploadRequest, CreateUploadResponse, StoredPart, Watermark,
};
pub use futures_util::future::BoxFuture;

use crate::{Error, Part};

/// What [`DeliveryTarget::abort`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Aborted {
    /// Nothing of the upload remains.
    Removed,
    /// The target had acknowledged the upload before the abort arrived; the emission stands.
    Acknowledged(Box<Acknowledgement>),
    /// An earlier run's one-shot upload is in the store, but the target never saw its bytes and keeps no record of
    /// them, so only the caller, which can reproduce the file, can tell whether it is this file: the same length
    /// and an ETag equal to the file's MD5 (a single-request object's ETag is its MD5).
    Landed(Box<Landed>),
}

/// An object an earlier run's one-shot upload left in the store ([`Aborted::Landed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    /// Where it landed.
    pub bucket: String,
    /// Its key, as the upload was created under.
    pub key: String,
    /// Its size in the store.
    pub bytes: u64,
    /// The ETag the store lists for it, unquoted (`None`: the listing gave none).
    pub etag: Option<String>,
}

impl Landed {
    /// Whether the object is a file `bytes` long with MD5 `md5` (hex): a single-request object's ETag is its MD5.
    pub fn is(&self, bytes: u64, md5: &str) -> bool {
        self.bytes == bytes && !md5.is_empty() && self.etag.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(md5))
    }
}

/// What a one-shot target (one request per file, such as stock cQube's presigned POST) needs from the engine.
///
/// Such a target needs the file's exact length before its first byte (`CreateUploadRequest::expected_size_bytes`),
/// takes parts in order one at a time (they are one request body), cannot retry a part (the body is gone) nor
/// continue an upload later: a failed or interrupted file is sent again under a new `create`. `abort` settles an
/// upload whose outcome is unknown (the connection was lost after the body was sent): it answers
/// [`Aborted::Acknowledged`] when the object landed, so the engine never sends a file twice, and [`Aborted::Landed`]
/// for an earlier run's upload that landed, for the engine to compare with the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OneShot {
    /// The largest file the target takes (S3 POST: 5 GiB).
    pub max_bytes: u64,
}

/// Somewhere emitted files are delivered to and acknowledged by. Object-safe, so the target is chosen at run time.
pub trait DeliveryTarget: Send + Sync + std::fmt::Debug {
    /// Starts delivering one file; the answer names the upload and the object key it will become.
    ///
    /// Not retried by callers: a retried create whose first answer was lost would leave an orphan upload.
    fn create<'a>(&'a self, request: &'a CreateUploadRequest) -> BoxFuture<'a, Result<CreateUploadResponse, Error>>;

    /// Stores one part; returns the ETag `complete` needs. Parts may arrive in any order and be sent again.
    fn put_part<'a>(&'a self, upload_id: &'a str, part: &'a Part) -> BoxFuture<'a, Result<String, Error>>;

    /// Completes the upload from its parts and returns the target's acknowledgement. Completing twice returns the
    /// same acknowledgement, so a retry after a lost answer is safe.
    fn complete<'a>(
        &'a self,
        upload_id: &'a str,
        request: &'a CompleteUploadRequest,
    ) -> BoxFuture<'a, Result<Acknowledgement, Error>>;

    /// Aborts the upload so no partial object remains; an upload already gone counts as aborted. An upload the
    /// target had already acknowledged (a completion whose answer was lost to a crash) is not removed: the answer
    /// carries its acknowledgement, so the caller neither loses nor duplicates the emission.
    fn abort<'a>(&'a self, upload_id: &'a str) -> BoxFuture<'a, Result<Aborted, Error>>;

    /// The parts the target holds for an open upload.
    fn list_parts<'a>(&'a self, upload_id: &'a str) -> BoxFuture<'a, Result<Vec<StoredPart>, Error>>;

    /// `Some` for a target that takes each file in one request (see [`OneShot`]); multipart targets keep the default.
    fn one_shot(&self) -> Option<OneShot> {
        None
    }

    /// The watermark of `source`'s newest acknowledged emission on `column`: where an incremental run starts.
    /// `None` before the first one.
    fn last_watermark<'a>(
        &'a self,
        source: &'a str,
        column: &'a str,
    ) -> BoxFuture<'a, Result<Option<Watermark>, Error>>;
}
