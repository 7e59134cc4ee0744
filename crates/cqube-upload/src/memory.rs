//! An in-memory [`DeliveryTarget`] that can be told to fail: the engine's tests run a whole emission against it
//! (retries, expired URLs, resume, abort) without a server or a subprocess. Feature `memory`; not for production.

use std::collections::BTreeMap;
use std::sync::Mutex;

use cqube_protocol::{
    Acknowledgement, CompleteUploadRequest, CreateUploadRequest, CreateUploadResponse, StoredPart, Watermark,
};
use sha2::{Digest, Sha256};

use crate::target::{Aborted, BoxFuture, DeliveryTarget, OneShot};
use crate::{Error, Part};

/// What a `put_part` attempt does instead of storing the part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `503 SlowDown`: retryable.
    Unavailable,
    /// `403` for an expired presigned URL: retryable once the URL is renewed.
    Expired,
    /// `403 AccessDenied`: not retryable.
    Refused,
    /// Never answers (a stalled connection), so a test can stop the job while a part is in flight.
    Hang,
}

#[derive(Debug, Default)]
struct Open {
    source: String,
    key: String,
    parts: BTreeMap<u32, (String, bytes::Bytes)>,
    expected_size: Option<u64>,
}

#[derive(Debug, Default)]
struct State {
    created: u32,
    open: BTreeMap<String, Open>,
    /// Completed uploads in order: id, acknowledgement and the object's bytes.
    done: Vec<(String, Acknowledgement, Vec<u8>)>,
    aborted: Vec<String>,
    put_attempts: u32,
    /// Faults by `put_part` attempt number (1-based, over every upload).
    faults: BTreeMap<u32, Fault>,
    /// The next `complete` stores the object but answers with an error, as a crash between the two would.
    lose_complete_answer: bool,
    /// The `expected_size_bytes` of every `create`, in order.
    expected_sizes: Vec<Option<u64>>,
    /// `put_part` calls running now, and the most there ever were.
    puts_running: u32,
    most_puts_running: u32,
}

/// The in-memory target. Keys are `<dir>/<stem>_<n>.zip`, upload ids `upload-<n>`.
#[derive(Debug, Default)]
pub struct MemoryTarget {
    state: Mutex<State>,
    one_shot: Option<OneShot>,
}

impl MemoryTarget {
    /// An empty target.
    pub fn new() -> MemoryTarget {
        MemoryTarget::default()
    }

    /// A target that behaves like a one-shot POST: it needs the file's size at `create`, takes parts only in order
    /// and only a whole file of that size, and says so through [`DeliveryTarget::one_shot`].
    pub fn one_shot(max_bytes: u64) -> MemoryTarget {
        MemoryTarget { state: Mutex::default(), one_shot: Some(OneShot { max_bytes }) }
    }

    /// The `expected_size_bytes` of every `create` so far, in order.
    pub fn expected_sizes(&self) -> Vec<Option<u64>> {
        self.state().expected_sizes.clone()
    }

    /// The most `put_part` calls that ever ran at once (counted in one-shot mode, where each holds a moment).
    pub fn most_puts_running(&self) -> u32 {
        self.state().most_puts_running
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next `put_part` attempts fail with these, in order.
    pub fn fail_puts(&self, faults: impl IntoIterator<Item = Fault>) {
        let next = self.state().put_attempts + 1;
        self.fail_puts_from(next, faults);
    }

    /// `put_part` attempts from number `first` on (1-based, over every upload) fail with these, in order.
    pub fn fail_puts_from(&self, first: u32, faults: impl IntoIterator<Item = Fault>) {
        let mut state = self.state();
        for (n, fault) in (first..).zip(faults) {
            state.faults.insert(n, fault);
        }
    }

    /// The next `complete` acknowledges the upload but its answer is lost (a 503, as from a gateway whose
    /// backend died after storing the object).
    pub fn lose_next_complete_answer(&self) {
        self.state().lose_complete_answer = true;
    }

    /// Completed objects: key and bytes.
    pub fn objects(&self) -> Vec<(String, Vec<u8>)> {
        self.state().done.iter().map(|(_, ack, data)| (ack.key.clone(), data.clone())).collect()
    }

    /// Ids of uploads created and neither completed nor aborted.
    pub fn open_uploads(&self) -> Vec<String> {
        self.state().open.keys().cloned().collect()
    }

    /// The parts an open upload holds, by number, with their bytes.
    pub fn stored_parts(&self, upload_id: &str) -> Vec<(u32, Vec<u8>)> {
        let state = self.state();
        let parts = state.open.get(upload_id).map(|open| &open.parts);
        parts.into_iter().flatten().map(|(n, (_, data))| (*n, data.to_vec())).collect()
    }

    /// Ids of aborted uploads, in order.
    pub fn aborted(&self) -> Vec<String> {
        self.state().aborted.clone()
    }

    /// `put_part` calls so far, failed ones included.
    pub fn put_attempts(&self) -> u32 {
        self.state().put_attempts
    }

    /// Records an acknowledged emission directly (as an earlier run would have), e.g. to give a source a watermark.
    pub fn acknowledge(&self, ack: Acknowledgement) {
        let mut state = self.state();
        let id = format!("earlier-{}", state.done.len());
        state.done.push((id, ack, Vec::new()));
    }
}

fn no_upload(upload_id: &str) -> Error {
    Error::Api {
        what: format!("upload {upload_id}"),
        status: 404,
        code: "not_found".into(),
        message: "no such upload".into(),
    }
}

impl DeliveryTarget for MemoryTarget {
    fn create<'a>(&'a self, request: &'a CreateUploadRequest) -> BoxFuture<'a, Result<CreateUploadResponse, Error>> {
        Box::pin(async move {
            let mut state = self.state();
            state.expected_sizes.push(request.expected_size_bytes);
            if self.one_shot.is_some() && request.expected_size_bytes.is_none() {
                return Err(Error::Protocol {
                    what: "create".into(),
                    detail: "a one-shot upload needs its size".into(),
                });
            }
            state.created += 1;
            let n = state.created;
            let upload_id = format!("upload-{n}");
            let key = format!("{}_{n}.zip", request.filename.trim_end_matches(".zip"));
            let open = Open {
                source: request.source.clone(),
                key: key.clone(),
                parts: BTreeMap::new(),
                expected_size: request.expected_size_bytes,
            };
            state.open.insert(upload_id.clone(), open);
            Ok(CreateUploadResponse { upload_id, bucket: "emission".into(), key, expires_at: String::new() })
        })
    }

    fn put_part<'a>(&'a self, upload_id: &'a str, part: &'a Part) -> BoxFuture<'a, Result<String, Error>> {
        Box::pin(async move {
            let fault = {
                let mut state = self.state();
                state.put_attempts += 1;
                let attempt = state.put_attempts;
                state.faults.remove(&attempt)
            };
            if let Some(fault) = fault {
                let (status, detail, retryable) = match fault {
                    Fault::Unavailable => (503, "SlowDown", true),
                    Fault::Expired => (403, "Request has expired", true),
                    Fault::Refused => (403, "AccessDenied", false),
                    Fault::Hang => return std::future::pending().await,
                };
                let (part, upload_id) = (part.number, upload_id.to_owned());
                return Err(Error::PartRejected { part, upload_id, status, detail: detail.into(), retryable });
            }
            if self.one_shot.is_some() {
                // Holds the call open a moment, so parts sent concurrently would overlap and be counted.
                {
                    let mut state = self.state();
                    state.puts_running += 1;
                    state.most_puts_running = state.most_puts_running.max(state.puts_running);
                }
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                self.state().puts_running -= 1;
            }
            let mut state = self.state();
            let open = state.open.get_mut(upload_id).ok_or_else(|| no_upload(upload_id))?;
            if self.one_shot.is_some() && part.number as usize != open.parts.len() + 1 {
                return Err(Error::Protocol {
                    what: format!("part {} of upload {upload_id}", part.number),
                    detail: format!("out of order: {} parts stored", open.parts.len()),
                });
            }
            let etag = format!("\"{:016x}\"", part.checksum);
            open.parts.insert(part.number, (etag.clone(), part.data.clone()));
            Ok(etag)
        })
    }

    fn complete<'a>(
        &'a self,
        upload_id: &'a str,
        request: &'a CompleteUploadRequest,
    ) -> BoxFuture<'a, Result<Acknowledgement, Error>> {
        Box::pin(async move {
            let mut state = self.state();
            if let Some((_, ack, _)) = state.done.iter().find(|(id, _, _)| id == upload_id) {
                return Ok(ack.clone());
            }
            let open = state.open.remove(upload_id).ok_or_else(|| no_upload(upload_id))?;
            let mut data = Vec::new();
            for p in &request.parts {
                match open.parts.get(&p.part_number) {
                    Some((etag, bytes)) if *etag == p.etag => data.extend_from_slice(bytes),
                    _ => {
                        return Err(Error::Api {
                            what: format!("completing upload {upload_id}"),
                            status: 400,
                            code: "invalid_part".into(),
                            message: format!("part {} is not stored with that ETag", p.part_number),
                        });
                    }
                }
            }
            if let Some(expected) = open.expected_size.filter(|_| self.one_shot.is_some())
                && expected != data.len() as u64
            {
                return Err(Error::Protocol {
                    what: format!("completing upload {upload_id}"),
                    detail: format!("{} bytes sent, {expected} announced", data.len()),
                });
            }
            let ack = Acknowledgement {
                emission_id: format!("emission-{upload_id}"),
                upload_id: Some(upload_id.to_owned()),
                token_name: "memory".into(),
                source: open.source,
                bucket: "emission".into(),
                key: open.key,
                archived_key: None,
                bytes: data.len() as u64,
                rows: request.rows,
                sha256: hex::encode(Sha256::digest(&data)),
                started_at: String::new(),
                completed_at: String::new(),
                watermark: request.watermark.clone(),
                confirmed: self.one_shot.map(|_| true),
            };
            state.done.push((upload_id.to_owned(), ack.clone(), data));
            if std::mem::take(&mut state.lose_complete_answer) {
                return Err(Error::Api {
                    what: format!("completing upload {upload_id}"),
                    status: 503,
                    code: "unavailable".into(),
                    message: "the answer was lost".into(),
                });
            }
            Ok(ack)
        })
    }

    fn abort<'a>(&'a self, upload_id: &'a str) -> BoxFuture<'a, Result<Aborted, Error>> {
        Box::pin(async move {
            let mut state = self.state();
            if let Some((_, ack, _)) = state.done.iter().find(|(id, _, _)| id == upload_id) {
                return Ok(Aborted::Acknowledged(Box::new(ack.clone())));
            }
            if state.open.remove(upload_id).is_some() {
                state.aborted.push(upload_id.to_owned());
            }
            Ok(Aborted::Removed)
        })
    }

    fn list_parts<'a>(&'a self, upload_id: &'a str) -> BoxFuture<'a, Result<Vec<StoredPart>, Error>> {
        Box::pin(async move {
            let state = self.state();
            let open = state.open.get(upload_id).ok_or_else(|| no_upload(upload_id))?;
            Ok(open
                .parts
                .iter()
                .map(|(&n, (etag, data))| StoredPart {
                    part_number: n,
                    etag: etag.clone(),
                    size_bytes: data.len() as u64,
                })
                .collect())
        })
    }

    fn one_shot(&self) -> Option<OneShot> {
        self.one_shot
    }

    fn last_watermark<'a>(
        &'a self,
        source: &'a str,
        column: &'a str,
    ) -> BoxFuture<'a, Result<Option<Watermark>, Error>> {
        Box::pin(async move {
            let state = self.state();
            Ok(state
                .done
                .iter()
                .rev()
                .find_map(|(_, ack, _)| ack.watermark.clone().filter(|w| ack.source == source && w.column == column)))
        })
    }
}
