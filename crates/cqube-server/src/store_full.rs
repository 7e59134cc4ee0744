//! The embedded store with a full disk named: s3s-fs answers a write that hits ENOSPC with a bare `500
//! InternalError`, which clients retry as transient. The embedded store (`embedded.rs`) passes every answer through
//! [`named`], which makes it `507 InsufficientStorage` instead, to the API (which answers its own `507
//! insufficient_storage`) and to emitters' presigned part `PUT`s alike, so both stop and ask an operator.

use s3s::{S3Error, S3ErrorCode};

/// The error code of a full store, as MinIO-style stores name it; `Error::is_storage_full` matches it.
pub(crate) const CODE: &str = "InsufficientStorage";

fn is_full(e: &S3Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = e.source().map(|s| s as _);
    while let Some(c) = cause {
        if c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| matches!(io.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded))
        {
            return true;
        }
        cause = c.source();
    }
    false
}

/// A store error caused by ENOSPC (or a quota) as `507 InsufficientStorage`; any other error unchanged.
pub(crate) fn named(e: S3Error) -> S3Error {
    if !is_full(&e) {
        return e;
    }
    let mut full = S3Error::with_message(S3ErrorCode::Custom(CODE.into()), "the embedded store's disk is full");
    full.set_status_code(axum::http::StatusCode::INSUFFICIENT_STORAGE);
    full
}
