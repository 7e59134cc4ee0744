//! The emission API's multipart endpoints, as a client.

use std::time::Duration;

use cqube_protocol::{
    Acknowledgement, CompleteUploadRequest, CreateUploadRequest, CreateUploadResponse, DownloadUriRequest,
    EmissionList, ErrorBody, PresignPartsRequest, PresignPartsResponse, PresignedPart, Watermark,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, RetryPolicy};

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
        Ok(ApiClient { http, base: base.trim_end_matches('/').to_owned(), token: token.to_owned(), retry })
    }

    /// The HTTP client, for part `PUT`s to presigned URLs (which carry their own authorization).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The retry policy.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// `POST /uploads`: starts a multipart emission.
    pub async fn create(&self, request: &CreateUploadRequest) -> Result<CreateUploadResponse, Error> {
        let what = format!("starting the upload of {}", request.filename);
        self.call(&what, reqwest::Method::POST, "/uploads", Some(request)).await
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
        // Completing twice returns the same acknowledgement, so a retry after a lost answer is safe.
        self.retry.run(&what, || self.call(&what, reqwest::Method::POST, &path, Some(request))).await
    }

    /// `DELETE /uploads/{id}`: aborts, so no partial object remains; an upload already gone counts as aborted.
    pub async fn abort(&self, upload_id: &str) -> Result<(), Error> {
        let what = format!("aborting upload {upload_id}");
        let path = format!("/uploads/{upload_id}");
        let result = self.retry.run(&what, || self.call::<(), ()>(&what, reqwest::Method::DELETE, &path, None)).await;
        match result {
            Err(Error::Api { status: 404 | 409, .. }) | Ok(()) => Ok(()),
            Err(e) => Err(e),
        }
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
        let what = format!("presigning a download of {key}");
        let body = DownloadUriRequest { filename: vec![key.to_owned()], bucket: "emission".into() };
        let mut answer: std::collections::BTreeMap<String, String> =
            self.retry.run(&what, || self.call(&what, reqwest::Method::POST, "/download_uri", Some(&body))).await?;
        answer.remove(key).ok_or_else(|| Error::Protocol { what, detail: "no URL for the key".into() })
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
            let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(b) => (b.code, b.message),
                Err(_) => ("http".to_owned(), String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned()),
            };
            return Err(Error::Api { what: what.to_owned(), status: status.as_u16(), code, message });
        }
        // A 204 (abort) has no body; `()` reads from `null`.
        let text: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        serde_json::from_slice(text).map_err(|e| Error::Protocol { what: what.to_owned(), detail: e.to_string() })
    }
}

/// Drops the URL from a client error: a presigned URL's query is a credential and must not reach a log line.
pub(crate) fn without_url(e: reqwest::Error) -> reqwest::Error {
    e.without_url()
}
