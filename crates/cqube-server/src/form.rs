//! Reading the presigned-POST form (`POST /data/post-object/{bucket}`, no credentials needed) in bounded memory.
//!
//! multer, under axum's `Multipart`, buffers whatever it has not yet handed on: a preamble without a boundary, part
//! headers that never end, and (because it reads until the body stalls) as much of a fast body as arrives in one
//! poll. [`guard`] sits between the body and multer: it counts the bytes multer has taken in since the handler last
//! received any and refuses the body past [`MAX_FORM_OVERHEAD_BYTES`], and it lets multer read one chunk per poll,
//! so what multer holds stays one chunk deep while the file streams. Field values are capped by the handler.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, BodyDataStream, Bytes};
use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use futures_util::Stream;

use crate::Error;

/// Largest value of a non-file field: policy, signature, credential and key are far smaller.
pub(crate) const MAX_FORM_FIELD_BYTES: usize = 8 * 1024;
/// Longest field name.
const MAX_FIELD_NAME_BYTES: usize = 256;
/// Non-file fields one form may have (S3's POST uses about ten).
pub(crate) const MAX_FORM_FIELDS: usize = 64;
/// Body bytes the parser may take in without handing any on: boundaries and part headers are small.
pub(crate) const MAX_FORM_OVERHEAD_BYTES: u64 = 1024 * 1024;

/// Bytes taken from the body that the handler has not yet received.
#[derive(Debug, Clone, Default)]
pub(crate) struct Budget(Arc<AtomicU64>);

impl Budget {
    /// The handler received data: what the parser took in so far is accounted for.
    pub(crate) fn received(&self) {
        self.0.store(0, Ordering::Relaxed);
    }

    /// The error for a failed form read: 413 when the guard refused the body, 400 otherwise.
    pub(crate) fn error(&self, e: &MultipartError) -> Error {
        if self.0.load(Ordering::Relaxed) > MAX_FORM_OVERHEAD_BYTES {
            too_large(format!(
                "the form's boundaries and part headers exceed {MAX_FORM_OVERHEAD_BYTES} bytes without a field"
            ))
        } else {
            Error::bad_request("invalid_request", format!("the form is malformed: {}", e.body_text()))
        }
    }
}

pub(crate) fn too_large(message: String) -> Error {
    Error::api(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", message)
}

/// The request body, metered by `budget` (see the module comment).
pub(crate) fn guard(body: Body, budget: &Budget) -> Body {
    Body::from_stream(Guarded { inner: body.into_data_stream(), budget: budget.clone(), yield_next: false })
}

struct Guarded {
    inner: BodyDataStream,
    budget: Budget,
    yield_next: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("the form's overhead exceeds {MAX_FORM_OVERHEAD_BYTES} bytes")]
struct Overrun;

impl Stream for Guarded {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.yield_next {
            // multer reads until the body answers Pending; answering it after each chunk (and waking at once) makes
            // multer hand that chunk on before it reads the next.
            self.yield_next = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            let len = chunk.len() as u64;
            let unread = self.budget.0.fetch_add(len, Ordering::Relaxed) + len;
            if unread > MAX_FORM_OVERHEAD_BYTES {
                return Poll::Ready(Some(Err(axum::Error::new(Overrun))));
            }
            self.yield_next = true;
        }
        polled
    }
}

/// A field's lowercased name, refused when absurdly long.
pub(crate) fn field_name(field: &Field<'_>) -> Result<String, Error> {
    let name = field.name().unwrap_or_default();
    if name.len() > MAX_FIELD_NAME_BYTES {
        return Err(Error::bad_request(
            "invalid_request",
            format!("a form field name is longer than {MAX_FIELD_NAME_BYTES} bytes"),
        ));
    }
    Ok(name.to_ascii_lowercase())
}

/// A non-file field's value, at most [`MAX_FORM_FIELD_BYTES`].
pub(crate) async fn field_value(field: &mut Field<'_>, name: &str, budget: &Budget) -> Result<String, Error> {
    let mut value = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| budget.error(&e))? {
        budget.received();
        if value.len() + chunk.len() > MAX_FORM_FIELD_BYTES {
            return Err(too_large(format!("form field {name:?} is longer than {MAX_FORM_FIELD_BYTES} bytes")));
        }
        value.extend_from_slice(&chunk);
    }
    String::from_utf8(value)
        .map_err(|_| Error::bad_request("invalid_request", format!("form field {name:?} is not UTF-8")))
}
