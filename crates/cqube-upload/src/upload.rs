//! Sending parts: at most `parts_in_flight` PUTs at once across every stream, each retried on its own.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cqube_protocol::CompletedPart;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::target::DeliveryTarget;
use crate::{Error, Part, RetryPolicy, StoredPartRecord};

/// A part the uploader finished with: stored by this run, or found stored by an earlier one.
#[derive(Debug, Clone, Copy)]
pub struct PartEvent<'a> {
    /// The part.
    pub part: &'a StoredPartRecord,
    /// True when an earlier run stored it with the same checksum and it was not sent again.
    pub skipped: bool,
}

/// A part attempt that failed and will be tried again.
#[derive(Debug, Clone, Copy)]
pub struct PartRetry<'a> {
    /// Part number.
    pub part_number: u32,
    /// The attempt that failed (1 for the first).
    pub attempt: u32,
    /// Why it failed.
    pub error: &'a Error,
    /// How long until the next attempt.
    pub delay: Duration,
}

/// Called for every part retry; shared by the part tasks of one stream.
pub type OnRetry = Arc<dyn Fn(PartRetry<'_>) + Send + Sync>;

/// Sends parts to a [`DeliveryTarget`]; one per process, shared by every file being emitted.
#[derive(Debug, Clone)]
pub struct Uploader {
    target: Arc<dyn DeliveryTarget>,
    retry: RetryPolicy,
    permits: Arc<Semaphore>,
    /// Part PUTs running now (retries and their waits included).
    running: Arc<AtomicUsize>,
    /// Parts taken off any stream's channel so far.
    taken: Arc<AtomicUsize>,
}

/// Counts one running PUT for as long as it lives, cancelled or not.
struct Running(Arc<AtomicUsize>);

impl Running {
    fn start(count: &Arc<AtomicUsize>) -> Running {
        count.fetch_add(1, Ordering::Relaxed);
        Running(Arc::clone(count))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Uploader {
    /// An uploader keeping at most `parts_in_flight` part PUTs running at once (over all streams), each part
    /// retried under `retry`.
    pub fn new(target: Arc<dyn DeliveryTarget>, parts_in_flight: usize, retry: RetryPolicy) -> Uploader {
        let permits = Arc::new(Semaphore::new(parts_in_flight.max(1)));
        Uploader { target, retry, permits, running: Arc::default(), taken: Arc::default() }
    }

    /// An uploader for a one-shot target's file (see [`OneShot`](crate::OneShot)): its parts go in order, one at
    /// a time, and none is retried on its own, since a failure breaks the one request body and restarts the file.
    #[must_use]
    pub fn one_at_a_time(&self) -> Uploader {
        let retry = RetryPolicy { max_retries: 0, ..self.retry };
        let permits = Arc::new(Semaphore::new(1));
        Uploader { target: Arc::clone(&self.target), retry, permits, running: Arc::default(), taken: Arc::default() }
    }

    /// Part PUTs running now, over every stream: none means the link waits for parts.
    pub fn puts_running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// Parts taken off the streams' channels so far, over every stream.
    pub fn parts_taken(&self) -> usize {
        self.taken.load(Ordering::Relaxed)
    }

    /// The target parts go to.
    pub fn target(&self) -> &dyn DeliveryTarget {
        self.target.as_ref()
    }

    /// Sends every part arriving on `parts` to upload `upload_id` and returns the list `complete` needs.
    ///
    /// A part whose number, size and checksum match `stored` (from the journal) is not sent again. A part is taken
    /// off the channel only once a PUT slot is free, so parts wait in the producer (bounded), not here. The first
    /// error that retries cannot fix stops the stream; PUTs still running are cancelled.
    pub async fn send_parts(
        &self,
        upload_id: &str,
        mut parts: mpsc::Receiver<Part>,
        stored: &BTreeMap<u32, StoredPartRecord>,
        on_part: &mut (dyn FnMut(PartEvent<'_>) -> Result<(), Error> + Send),
        on_retry: &OnRetry,
    ) -> Result<Vec<CompletedPart>, Error> {
        let mut done = Vec::new();
        let mut running: JoinSet<Result<StoredPartRecord, Error>> = JoinSet::new();
        let mut open = true;
        while open || !running.is_empty() {
            tokio::select! {
                Some(finished) = running.join_next(), if !running.is_empty() => {
                    let record = finished.map_err(|e| Error::Protocol {
                        what: format!("upload {upload_id}"),
                        detail: format!("a part task failed: {e}"),
                    })??;
                    on_part(PartEvent { part: &record, skipped: false })?;
                    done.push(CompletedPart { part_number: record.part_number, etag: record.etag });
                }
                next = async {
                    let permit = Arc::clone(&self.permits).acquire_owned().await;
                    (permit, parts.recv().await)
                }, if open => {
                    let (permit, part) = next;
                    let Some(part) = part else { open = false; continue };
                    self.taken.fetch_add(1, Ordering::Relaxed);
                    if let Some(known) = stored.get(&part.number).filter(|k| {
                        k.checksum == part.checksum && k.size == part.data.len() as u64
                    }) {
                        on_part(PartEvent { part: known, skipped: true })?;
                        done.push(CompletedPart { part_number: known.part_number, etag: known.etag.clone() });
                        continue;
                    }
                    let (target, retry, on_retry) = (Arc::clone(&self.target), self.retry, Arc::clone(on_retry));
                    let upload_id = upload_id.to_owned();
                    let busy = Running::start(&self.running);
                    running.spawn(async move {
                        let (_slot, _busy) = (permit, busy);
                        let span = tracing::debug_span!("upload", %upload_id, part = part.number, bytes = part.data.len());
                        put_part(target.as_ref(), retry, &upload_id, &part, on_retry.as_ref()).instrument(span).await
                    });
                }
            }
        }
        done.sort_by_key(|p| p.part_number);
        Ok(done)
    }
}

/// One part, retried under `retry`: the target renews what an attempt needs (a presigned URL) on its own.
async fn put_part(
    target: &dyn DeliveryTarget,
    retry: RetryPolicy,
    upload_id: &str,
    part: &Part,
    on_retry: &(dyn Fn(PartRetry<'_>) + Send + Sync),
) -> Result<StoredPartRecord, Error> {
    let what = format!("part {} of upload {upload_id}", part.number);
    let notify = |error: &Error, attempt: u32, delay: Duration| {
        on_retry(PartRetry { part_number: part.number, attempt, error, delay });
    };
    let etag = retry.run_notifying(&what, || target.put_part(upload_id, part), notify).await?;
    tracing::debug!("part stored");
    Ok(StoredPartRecord { part_number: part.number, etag, size: part.data.len() as u64, checksum: part.checksum })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use bytes::Bytes;

    use super::*;
    use crate::memory::{Fault, MemoryTarget};

    fn part(number: u32, fill: u8) -> Part {
        let data = Bytes::from(vec![fill; 16]);
        Part { number, checksum: xxhash_rust::xxh3::xxh3_64(&data), data }
    }

    fn quick() -> RetryPolicy {
        RetryPolicy { max_retries: 3, min_delay: Duration::from_millis(1), max_delay: Duration::from_millis(2) }
    }

    async fn send(
        uploader: &Uploader,
        upload_id: &str,
        parts: Vec<Part>,
        stored: &BTreeMap<u32, StoredPartRecord>,
    ) -> (Result<Vec<CompletedPart>, Error>, Vec<(u32, bool)>, u32) {
        let (tx, rx) = mpsc::channel(parts.len().max(1));
        for p in parts {
            tx.send(p).await.unwrap();
        }
        drop(tx);
        let mut seen = Vec::new();
        let retries = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&retries);
        let on_retry: OnRetry = Arc::new(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let result = uploader
            .send_parts(
                upload_id,
                rx,
                stored,
                &mut |e| {
                    seen.push((e.part.part_number, e.skipped));
                    Ok(())
                },
                &on_retry,
            )
            .await;
        (result, seen, retries.load(Ordering::SeqCst))
    }

    async fn created(target: &MemoryTarget) -> String {
        let request = cqube_protocol::CreateUploadRequest {
            source: "school_master".into(),
            filename: "school_master/school_mst.zip".into(),
            expected_size_bytes: None,
        };
        target.create(&request).await.unwrap().upload_id
    }

    #[tokio::test]
    async fn unavailable_and_expired_parts_are_retried_and_reported() {
        let target = Arc::new(MemoryTarget::new());
        let id = created(&target).await;
        target.fail_puts([Fault::Unavailable, Fault::Expired]);
        let uploader = Uploader::new(Arc::clone(&target) as Arc<dyn DeliveryTarget>, 1, quick());
        let (result, mut seen, retries) = send(&uploader, &id, vec![part(1, 1), part(2, 2)], &BTreeMap::new()).await;
        let done = result.unwrap();
        seen.sort_unstable();
        assert_eq!(seen, [(1, false), (2, false)]);
        assert_eq!(done.iter().map(|p| p.part_number).collect::<Vec<_>>(), [1, 2]);
        assert_eq!((retries, target.put_attempts()), (2, 4), "two failed attempts, then one per part");
        assert_eq!(uploader.puts_running(), 0, "every PUT is counted out, retried ones too");
        assert_eq!(uploader.parts_taken(), 2);
        assert_eq!(target.list_parts(&id).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn stored_parts_are_not_sent_again_and_a_refusal_stops_the_stream() {
        let target = Arc::new(MemoryTarget::new());
        let id = created(&target).await;
        let uploader = Uploader::new(Arc::clone(&target) as Arc<dyn DeliveryTarget>, 2, quick());
        let first = part(1, 1);
        let stored = BTreeMap::from([(
            1,
            StoredPartRecord { part_number: 1, etag: "\"e1\"".into(), size: 16, checksum: first.checksum },
        )]);
        let (result, seen, _) = send(&uploader, &id, vec![first, part(2, 2)], &stored).await;
        assert_eq!(result.unwrap()[0].etag, "\"e1\"");
        assert!(seen.contains(&(1, true)) && seen.contains(&(2, false)), "{seen:?}");
        assert_eq!(target.put_attempts(), 1, "part 1 was stored by an earlier run");

        target.fail_puts([Fault::Refused]);
        let (result, _, retries) = send(&uploader, &id, vec![part(3, 3)], &BTreeMap::new()).await;
        let err = result.unwrap_err();
        assert!(err.is_refusal() && retries == 0, "{err}");
    }
}
