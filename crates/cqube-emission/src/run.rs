//! Running a job: the scheduler (dependents wait for acknowledgements, `jobs` files at a time) and one file's
//! delivery (producer thread -> PartWriter -> bounded channel -> Uploader -> target -> checked acknowledgement).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use cqube_core::Catalog;
use cqube_protocol::{Acknowledgement, CompleteUploadRequest, CreateUploadRequest, Watermark};
use cqube_upload::{
    Aborted, DeliveryTarget, ItemState, Journal, JournalEntry, OnRetry, OneShot, PartEvent, PartSizer, PartWriter,
    RetryPolicy, StreamTotals, Uploader,
};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::event::{Event, EventSink, Interrupt};
use crate::job::{Job, Watermarks, starts_over};
use crate::plan::{Item, ItemInput};
use crate::produce::{Measure, OpenedDatabase, Production, StreamSource, produce};
use crate::report::{FileStatus, QualityReport, SourceReport};
use crate::status::{ExitStatus, fail, remote_failure, status_of};

/// Everything a job's run needs besides its plan, resolved once by the caller.
#[derive(Debug)]
pub struct Settings {
    /// Files emitted at once.
    pub jobs: usize,
    /// Part PUTs running at once, over all files.
    pub parts_in_flight: usize,
    /// First part size; it doubles every 1,000 parts.
    pub part_size_bytes: usize,
    /// How part PUTs are retried.
    pub retry: RetryPolicy,
    /// The zip options; under `auto_level` their level is where each file starts.
    pub zip: cqube_zip::ZipOptions,
    /// `--level auto`: each converted file's level follows its uploads (see [`crate::level`]). A one-shot target
    /// keeps the starting level: its file is produced twice (measured, then sent) and both passes must agree.
    pub auto_level: Option<crate::AutoLevel>,
    /// What a prepared zip may hold.
    pub zip_limits: cqube_zip::check::Limits,
    pub convert: cqube_convert::ConvertOptions,
    /// Re-encode prepared zips instead of sending them as they are.
    pub normalize: bool,
    /// Database sources of the plan by name, and how their bytes are read.
    pub databases: BTreeMap<String, cqube_source::Request>,
    pub database_convert: cqube_convert::ConvertOptions,
    pub watermarks: Watermarks,
    /// The bytes of the plan's [`ItemInput::Stream`] items, by name.
    pub streams: BTreeMap<String, StreamSource>,
    /// `--rejects FILE`: every rejected row of every converted file.
    pub rejects: Option<cqube_convert::SharedRejects>,
    /// `--masters DIR`: codes of masters emitted before, for the cross-source checks.
    pub masters: crate::masters::Supplied,
}

/// How one file ended.
#[derive(Debug, Clone)]
pub enum FileResult {
    /// Acknowledged by the target (possibly in an earlier run of the job).
    Acknowledged {
        ack: Box<Acknowledgement>,
        rows_rejected: u64,
        /// Rows sent that break a warning rule (a check cQube does not enforce).
        rows_warned: u64,
        /// Rows rejected because a master lacks their code, by rule (`unknown_school`).
        misses: BTreeMap<String, u64>,
        /// Rows cQube would have discarded under its own duplicate rule, had the file gone unchecked.
        cqube_duplicate_discards: u64,
        /// Under `--level auto`, deflate bytes per zip level, when this run produced the file.
        levels: BTreeMap<u32, u64>,
    },
    /// An incremental database source with no row past its watermark: nothing to send.
    UpToDate {
        watermark: Watermark,
    },
    Failed {
        status: ExitStatus,
        error: String,
    },
    /// A dependency was not acknowledged.
    Skipped {
        reason: String,
    },
    /// The job stopped before it was decided.
    NotRun,
}

/// A finished job: every file's result and what the job as a whole ends with.
#[derive(Debug)]
pub struct Report {
    pub job: String,
    pub items: Vec<Item>,
    pub results: Vec<FileResult>,
    pub status: ExitStatus,
    pub seconds: f64,
    /// What the checks found, file by file (`--report`).
    pub quality: Box<QualityReport>,
}

/// How a run ended.
#[derive(Debug)]
pub enum Ended {
    /// Every file is decided.
    Finished(Report),
    /// A signal stopped it: SIGINT keeps the journal and open uploads for `resume`, SIGTERM aborted the uploads in
    /// progress.
    Interrupted(Interrupt),
}

/// Shared by every file's task.
struct Ctx {
    catalog: Arc<Catalog>,
    settings: Settings,
    uploader: Uploader,
    journal: Mutex<Journal>,
    previous: BTreeMap<String, ItemState>,
    fresh: bool,
    sink: Arc<dyn EventSink>,
    /// The codes of the plan's masters, for the cross-source checks.
    masters: crate::masters::Masters,
    /// Uploads being sent, by item: what a SIGTERM aborts.
    open_uploads: Mutex<BTreeMap<String, String>>,
    /// What the checks found in each file this run produced, by item, for the quality report.
    checked: Mutex<BTreeMap<usize, SourceReport>>,
}

impl Ctx {
    fn target(&self) -> &dyn DeliveryTarget {
        self.uploader.target()
    }

    fn journal_append(&self, entry: &JournalEntry) -> Result<(), cqube_upload::Error> {
        self.journal.lock().map_err(|_| journal_poisoned())?.append(entry)
    }
}

fn journal_poisoned() -> cqube_upload::Error {
    cqube_upload::Error::Journal { path: "journal".into(), source: std::io::Error::other("lock poisoned by a panic") }
}

impl Job {
    /// Runs the job's `items` to the end (or until `stop` resolves) and reports every file's result. Events go to
    /// `sink`; nothing is printed. The journal is removed once every file is acknowledged or up to date.
    pub async fn run(
        self,
        items: Vec<Item>,
        catalog: Arc<Catalog>,
        settings: Settings,
        target: Arc<dyn DeliveryTarget>,
        sink: Arc<dyn EventSink>,
        stop: impl Future<Output = Interrupt> + Send,
    ) -> anyhow::Result<Ended> {
        let uploader = Uploader::new(target, settings.parts_in_flight, settings.retry);
        let jobs = settings.jobs;
        let masters = crate::masters::Masters::new(&catalog, &items, settings.masters.clone());
        let ctx = Arc::new(Ctx {
            catalog,
            settings,
            uploader,
            journal: Mutex::new(self.journal),
            previous: self.state.items,
            fresh: self.fresh,
            sink,
            masters,
            open_uploads: Mutex::default(),
            checked: Mutex::default(),
        });
        ctx.sink.event(&Event::JobStarted { job: self.id.clone(), files: items.len() });
        let started = Instant::now();
        let items = Arc::new(items);
        let results = match schedule(Arc::clone(&ctx), Arc::clone(&items), jobs, stop).await {
            Ok(results) => results,
            Err(signal) => {
                if signal == Interrupt::Sigterm {
                    abort_open_uploads(&ctx).await;
                }
                ctx.sink.event(&Event::Interrupted { job: self.id.clone(), signal });
                return Ok(Ended::Interrupted(signal));
            }
        };
        let items = Arc::try_unwrap(items).unwrap_or_else(|shared| shared.as_ref().clone());
        let report = summarize(self.id, items, results, &ctx, started.elapsed().as_secs_f64())?;
        Ok(Ended::Finished(report))
    }
}

/// SIGTERM means nobody will `resume` (a service manager, or the daemon, whose next run starts over), so the
/// uploads in progress are aborted rather than left open for the bucket's lifecycle rule.
async fn abort_open_uploads(ctx: &Ctx) {
    let open = std::mem::take(&mut *ctx.open_uploads.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    for (item, upload_id) in open {
        let aborted = tokio::time::timeout(std::time::Duration::from_secs(10), ctx.target().abort(&upload_id)).await;
        match aborted {
            Ok(Ok(aborted)) => {
                // A completion that raced the signal stands: the journal keeps its acknowledgement.
                let entry = match aborted {
                    Aborted::Removed => JournalEntry::Aborted { item, upload_id },
                    Aborted::Acknowledged(ack) => JournalEntry::Done { item, ack },
                    // Only the next run, which can reproduce the file, can tell whether it is this file.
                    Aborted::Landed(_) => continue,
                };
                if let Err(e) = ctx.journal_append(&entry) {
                    tracing::warn!(error = %e, "recording an aborted upload failed");
                }
            }
            Ok(Err(e)) => tracing::warn!(%upload_id, error = %e, "aborting an upload on SIGTERM failed"),
            Err(_) => tracing::warn!(%upload_id, "aborting an upload on SIGTERM timed out"),
        }
    }
}

#[derive(Debug, Clone)]
enum State {
    Pending,
    Running,
    Done(FileResult),
}

impl State {
    fn blocks(&self) -> bool {
        matches!(self, State::Done(FileResult::Failed { .. } | FileResult::Skipped { .. }))
    }

    fn unblocks(&self) -> bool {
        matches!(self, State::Done(FileResult::Acknowledged { .. } | FileResult::UpToDate { .. }))
    }
}

async fn schedule(
    ctx: Arc<Ctx>,
    items: Arc<Vec<Item>>,
    jobs: usize,
    stop: impl Future<Output = Interrupt>,
) -> Result<Vec<FileResult>, Interrupt> {
    let mut states = vec![State::Pending; items.len()];
    let mut running: JoinSet<(usize, FileResult)> = JoinSet::new();
    tokio::pin!(stop);
    loop {
        for i in 0..items.len() {
            if !matches!(states[i], State::Pending) {
                continue;
            }
            if let Some(&d) = items[i].after.iter().find(|&&d| states[d].blocks()) {
                let reason =
                    format!("dependency {} ({}) was not acknowledged", items[d].source, items[d].input.display());
                ctx.sink.event(&Event::FileSkipped {
                    source: items[i].source.clone(),
                    input: items[i].input.display(),
                    reason: reason.clone(),
                });
                states[i] = State::Done(FileResult::Skipped { reason });
                continue;
            }
            let ready = items[i].after.iter().all(|&d| states[d].unblocks());
            if ready && running.len() < jobs.max(1) {
                states[i] = State::Running;
                let (ctx, items) = (Arc::clone(&ctx), Arc::clone(&items));
                running.spawn(async move { (i, emit_one(&ctx, i, &items[i]).await) });
            }
        }
        if running.is_empty() {
            // Skips may have unblocked nothing new: everything is decided.
            if states.iter().all(|s| !matches!(s, State::Pending)) {
                let results = states.into_iter().map(|s| if let State::Done(r) = s { r } else { FileResult::NotRun });
                return Ok(results.collect());
            }
            continue;
        }
        tokio::select! {
            Some(done) = running.join_next() => {
                let (i, result) = done.unwrap_or_else(|e| (usize::MAX, FileResult::Failed { status: ExitStatus::Input, error: format!("task failed: {e}") }));
                if i < states.len() {
                    states[i] = State::Done(result);
                }
            }
            signal = &mut stop => return Err(signal),
        }
    }
}

/// How one item ended well.
enum Outcome {
    Acked { ack: Box<Acknowledgement>, counts: RowCounts, resumed: bool },
    UpToDate(Watermark),
}

async fn emit_one(ctx: &Ctx, index: usize, item: &Item) -> FileResult {
    let size = prepared_size(&ctx.settings, &item.input);
    ctx.sink.event(&Event::FileStarted {
        source: item.source.clone(),
        input: item.input.display(),
        filename: item.filename.clone(),
        item: index,
        size,
    });
    match emit_file(ctx, index, item).await {
        Ok(Outcome::Acked { ack, counts, resumed }) => {
            if !counts.produced {
                recollect_codes(ctx, item).await;
            }
            let event = Event::FileAcknowledged {
                source: ack.source.clone(),
                already: resumed,
                ack: ack.clone(),
                rows_rejected: counts.rejected,
                rows_warned: counts.warned,
                misses: counts.misses.clone(),
                cqube_duplicate_discards: counts.cqube_duplicate_discards,
                levels: counts.levels.clone(),
                item: index,
            };
            ctx.sink.event(&event);
            FileResult::Acknowledged {
                ack,
                rows_rejected: counts.rejected,
                rows_warned: counts.warned,
                misses: counts.misses,
                cqube_duplicate_discards: counts.cqube_duplicate_discards,
                levels: counts.levels,
            }
        }
        Ok(Outcome::UpToDate(watermark)) => {
            let event = Event::FileUpToDate { source: item.source.clone(), watermark: watermark.clone(), item: index };
            ctx.sink.event(&event);
            FileResult::UpToDate { watermark }
        }
        Err(e) => {
            let status = status_of(&e);
            let error = crate::status::describe(&e);
            ctx.sink.event(&Event::FileFailed {
                source: item.source.clone(),
                input: item.input.display(),
                exit_status: status as u8,
                error: error.clone(),
                item: index,
            });
            FileResult::Failed { status, error }
        }
    }
}

/// A master acknowledged without being produced by this run (an earlier run delivered it, or its upload landed
/// although the answer was lost) still owes the files after it its codes: they are read from its file (nothing sent). A database or stream master is not read twice, so the references to
/// it go unchecked, with a warning.
async fn recollect_codes(ctx: &Ctx, item: &Item) {
    let collect = ctx.masters.cross_checks(&ctx.catalog, &item.source).collect;
    if collect.is_empty() {
        return;
    }
    if !item.input.is_file() {
        tracing::warn!(source = %item.source, "delivered by an earlier run and not a file: the references to it are not checked");
        return;
    }
    let options = cqube_convert::ConvertOptions {
        on_error: cqube_convert::OnError::Skip,
        max_errors: None,
        ..ctx.settings.convert.clone()
    }
    .with_cross(cqube_convert::CrossChecks { collect, lookups: Vec::new() });
    let (catalog, item_owned, limits) = (Arc::clone(&ctx.catalog), item.clone(), ctx.settings.zip_limits);
    let read = tokio::task::spawn_blocking(move || {
        crate::validate::check_file(&catalog, &item_owned, &options, &limits, &mut cqube_convert::NoRejects)
    })
    .await;
    match read {
        Ok(Ok(summary)) => ctx.masters.add(&item.source, &summary.codes),
        Ok(Err(e)) => {
            tracing::warn!(source = %item.source, error = %format!("{e:#}"), "reading the codes of a master delivered earlier failed: the references to it are not checked");
        }
        Err(e) => tracing::warn!(source = %item.source, error = %e, "the reading thread panicked"),
    }
}

/// The size of a prepared zip sent as it is; converted streams are not known in advance.
fn prepared_size(settings: &Settings, input: &ItemInput) -> Option<u64> {
    match input {
        ItemInput::Zip(p) if !settings.normalize => std::fs::metadata(p).ok().map(|m| m.len()),
        _ => None,
    }
}

/// Decides what an earlier run left (an acknowledgement, an open upload to continue or abort), then delivers.
async fn emit_file(ctx: &Ctx, index: usize, item: &Item) -> anyhow::Result<Outcome> {
    let previous = ctx.previous.get(&item.id).cloned().unwrap_or_default();
    if let Some(ack) = previous.done.as_ref().filter(|_| !ctx.fresh) {
        return Ok(Outcome::Acked { ack: Box::new(ack.clone()), counts: RowCounts::default(), resumed: true });
    }
    // A database is queried before the upload is created: a refused connection or bad SQL leaves nothing open, and
    // a source with nothing new sends nothing.
    let database = match &item.input {
        ItemInput::Database(_) => {
            let opened = open_database(ctx, item).await?;
            if let (Some(after), None) = (&opened.after, &opened.reached) {
                return Ok(Outcome::UpToDate(after.clone()));
            }
            Some(opened)
        }
        _ => None,
    };
    if let Some(one_shot) = ctx.target().one_shot() {
        return emit_one_shot(ctx, index, item, database, &previous, one_shot).await;
    }
    let identity = item.input.identity();
    let reuse = match previous.upload.clone() {
        Some((upload_id, key, _)) if !starts_over(&previous, ctx.fresh, &identity) => Some((upload_id, key)),
        Some((upload_id, _, earlier)) => {
            // The source changed (or this is a new run): the old upload is dropped, not continued.
            tracing::info!(source = %item.source, %upload_id, "aborting the previous run's upload");
            let aborted =
                ctx.target().abort(&upload_id).await.map_err(|e| remote_failure(e, "aborting the previous upload"))?;
            match aborted {
                Aborted::Removed => ctx.journal_append(&JournalEntry::Aborted { item: item.id.clone(), upload_id })?,
                // The earlier run's completion reached the target but its answer was lost (a crash of either
                // side): the same file is acknowledged already, and sending it again would duplicate it. A stream
                // or a query has no identity to compare, and an incremental query now starts after that
                // acknowledgement's watermark, so those go on.
                Aborted::Acknowledged(ack) if earlier == identity && item.input.is_file() => {
                    tracing::info!(source = %item.source, %upload_id, key = %ack.key, "the previous run's upload was acknowledged; not sending it again");
                    ctx.journal_append(&JournalEntry::Done { item: item.id.clone(), ack: ack.clone() })?;
                    return Ok(Outcome::Acked { ack, counts: RowCounts::default(), resumed: true });
                }
                Aborted::Acknowledged(ack) => {
                    tracing::warn!(source = %item.source, %upload_id, key = %ack.key, "the previous run's upload was acknowledged; this run's input is emitted as well");
                }
                // Only one-shot targets answer so, and they do not reach this path.
                Aborted::Landed(landed) => return Err(not_recognized(item, &landed, "a multipart target")),
            }
            None
        }
        None => None,
    };
    // What the continued upload holds: its stored parts, and the levels they were made with.
    let stored = if reuse.is_some() { previous.clone() } else { ItemState::default() };
    let (upload_id, key) = if let Some(r) = reuse {
        r
    } else {
        let request = CreateUploadRequest {
            source: item.source.clone(),
            filename: item.filename.clone(),
            expected_size_bytes: prepared_size(&ctx.settings, &item.input),
        };
        let created =
            ctx.target().create(&request).await.map_err(|e| remote_failure(e, &format!("emitting {}", item.source)))?;
        ctx.journal_append(&JournalEntry::Upload {
            item: item.id.clone(),
            identity,
            upload_id: created.upload_id.clone(),
            key: created.key.clone(),
        })?;
        (created.upload_id, created.key)
    };
    let open = || ctx.open_uploads.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    open().insert(item.id.clone(), upload_id.clone());
    let result = send(ctx, &ctx.uploader, index, item, database, (&upload_id, &key), &stored, None).await;
    open().remove(&item.id);
    match result {
        Ok((ack, counts)) => Ok(Outcome::Acked { ack: Box::new(ack), counts, resumed: false }),
        Err(e) => {
            if status_of(&e) == ExitStatus::Transient {
                // Kept open for `resume`: the stored parts are worth keeping, and the journal knows them.
                return Err(e);
            }
            match ctx.target().abort(&upload_id).await {
                Ok(Aborted::Removed) => {
                    ctx.journal_append(&JournalEntry::Aborted { item: item.id.clone(), upload_id: upload_id.clone() })?;
                }
                // Acknowledged, yet this run saw it fail (its acknowledgement disagreed with what was sent): the
                // error stands and the operator decides.
                Ok(Aborted::Acknowledged(ack)) => {
                    tracing::warn!(%upload_id, key = %ack.key, "the failed upload was acknowledged by the target");
                }
                Ok(Aborted::Landed(landed)) => {
                    tracing::warn!(%upload_id, key = %landed.key, "the failed upload was stored by the target");
                }
                Err(abort) => tracing::warn!(%upload_id, error = %abort, "aborting the failed upload failed"),
            }
            Err(e)
        }
    }
}

/// Runs a database item's query, starting after the watermark of the source's last acknowledged emission (the
/// target keeps it with the acknowledgement, so it advances exactly when an emission is acknowledged) unless
/// `--full`.
async fn open_database(ctx: &Ctx, item: &Item) -> anyhow::Result<OpenedDatabase> {
    let mut request = ctx.settings.databases.get(&item.source).cloned().context("no query for the database source")?;
    let mut after = None;
    if let Some(watermark) = request.watermark.as_mut().filter(|_| ctx.settings.watermarks == Watermarks::Incremental) {
        after = ctx
            .target()
            .last_watermark(&item.source, &watermark.column)
            .await
            .map_err(|e| remote_failure(e, &format!("reading the watermark of {}", item.source)))?;
        tracing::info!(source = %item.source, column = %watermark.column, after = ?after.as_ref().map(|w| &w.value), "incremental run");
        watermark.after = after.as_ref().map(|w| w.value.clone());
    }
    let column = request.watermark.as_ref().map(|w| w.column.clone());
    let (input, reached) = tokio::task::spawn_blocking(move || crate::produce::open_database(&request))
        .await
        .context("the database thread panicked")??;
    Ok(OpenedDatabase { input, column, after, reached })
}

/// Streams the file's parts to the target, completes the upload and checks the acknowledgement against what was
/// sent. Parts `stored` already are not sent again; under `--level auto` the levels they were made with are replayed
/// first. `expected` (a one-shot target's announced length and SHA-256) must be what this pass produced, or the
/// upload is not completed.
#[allow(clippy::too_many_arguments)]
async fn send(
    ctx: &Ctx,
    uploader: &Uploader,
    index: usize,
    item: &Item,
    database: Option<OpenedDatabase>,
    (upload_id, key): (&str, &str),
    stored: &ItemState,
    expected: Option<&StreamTotals>,
) -> anyhow::Result<(Acknowledgement, RowCounts)> {
    // Capacity 1: with the part being filled and the one blocked in `send`, a file holds two parts besides
    // those in flight — the `+ 2` of the memory formula.
    let (tx, rx) = mpsc::channel(1);
    let watermark = database.as_ref().and_then(OpenedDatabase::watermark);
    // A one-shot target's measuring pass reported the rejects already.
    let mut production = production(ctx, item, database, expected.is_none());
    let schedule = Arc::new(Mutex::new(Vec::new()));
    if let Some(auto) = ctx.settings.auto_level.filter(|_| expected.is_none()) {
        production.levels = Some(Box::new(controller(ctx, index, item, auto, &tx, &stored.levels, &schedule)));
    }
    let writer = PartWriter::new(tx, PartSizer::new(ctx.settings.part_size_bytes));
    let producer = tokio::task::spawn_blocking(move || produce(production, writer));
    let mut on_part = |event: PartEvent<'_>| -> Result<(), cqube_upload::Error> {
        if !event.skipped {
            // Every level decided so far: a prefix of what later parts record, covering this part's blocks.
            let levels = schedule.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
            ctx.journal_append(&JournalEntry::Part {
                item: item.id.clone(),
                upload_id: upload_id.to_owned(),
                part: event.part.clone(),
                levels,
            })?;
        }
        ctx.sink.event(&Event::PartDone {
            source: item.source.clone(),
            upload_id: upload_id.to_owned(),
            part_number: event.part.part_number,
            bytes: event.part.size,
            skipped: event.skipped,
            item: index,
        });
        Ok(())
    };
    let on_retry: OnRetry = {
        let (sink, source, upload_id) = (Arc::clone(&ctx.sink), item.source.clone(), upload_id.to_owned());
        Arc::new(move |retry| {
            sink.event(&Event::PartRetried {
                source: source.clone(),
                upload_id: upload_id.clone(),
                part_number: retry.part_number,
                attempt: retry.attempt,
                delay_ms: u64::try_from(retry.delay.as_millis()).unwrap_or(u64::MAX),
                error: retry.error.to_string(),
            });
        })
    };
    let sent = uploader.send_parts(upload_id, rx, &stored.parts, &mut on_part, &on_retry).await;
    let produced = producer.await.context("the conversion thread panicked")?;
    // An upload failure makes the producer fail with a broken pipe: report the upload's error, not that.
    let parts = sent.map_err(|e| remote_failure(e, &format!("uploading {}", item.source)))?;
    let produced = produced?;
    if let Some(expected) =
        expected.filter(|e| (e.bytes, &e.sha256) != (produced.totals.bytes, &produced.totals.sha256))
    {
        let detail = format!(
            "the sending pass produced {} bytes (sha256 {}), the measuring pass {} bytes (sha256 {}); nothing was \
             stored",
            produced.totals.bytes, produced.totals.sha256, expected.bytes, expected.sha256
        );
        return Err(fail(
            ExitStatus::Input,
            anyhow::anyhow!("{}: the input changed while it was sent: {detail}", item.source),
        ));
    }
    let request = CompleteUploadRequest {
        parts,
        rows: produced.rows,
        bytes: produced.totals.bytes,
        sha256: produced.totals.sha256.clone(),
        watermark,
        quality: Some(produced.quality.clone()),
    };
    let ack = ctx
        .target()
        .complete(upload_id, &request)
        .await
        .map_err(|e| remote_failure(e, &format!("completing {}", item.source)))?;
    check_acknowledgement(&ack, &request, key)?;
    ctx.journal_append(&JournalEntry::Done { item: item.id.clone(), ack: Box::new(ack.clone()) })?;
    ctx.masters.add(&item.source, &produced.codes);
    ctx.checked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(index, produced.report);
    let counts = RowCounts {
        rejected: produced.rows_rejected,
        warned: produced.rows_warned,
        misses: produced.misses.iter().fold(BTreeMap::new(), |mut by_rule, m| {
            *by_rule.entry(m.rule.to_owned()).or_default() += m.count;
            by_rule
        }),
        cqube_duplicate_discards: produced.cqube_duplicate_discards,
        levels: produced.levels,
        produced: true,
    };
    Ok((ack, counts))
}

/// The `auto` level source of one file: it watches the file's part queue `tx` (without keeping it open) and the
/// uploader's running PUTs, replays
/// `replay` (the levels of the parts an earlier run stored), records every level in `schedule` for the journal, and
/// reports each change it decides.
fn controller(
    ctx: &Ctx,
    index: usize,
    item: &Item,
    auto: crate::AutoLevel,
    tx: &mpsc::Sender<cqube_upload::Part>,
    replay: &[(u32, u64)],
    schedule: &Arc<Mutex<crate::level::Runs>>,
) -> crate::level::Controller {
    let queue = tx.downgrade();
    let uploader = ctx.uploader.clone();
    // Another file's part also counts as under way: the link is shared.
    let taken_before = uploader.parts_taken();
    let upload = Box::new(move || {
        let look = if uploader.parts_taken() == taken_before {
            return None;
        } else if queue.upgrade().is_some_and(|tx| tx.capacity() == 0) {
            // The uploader takes a part as soon as a PUT slot is free, so a full queue means every slot is busy.
            crate::level::Upload::Behind
        } else if uploader.puts_running() > 0 {
            crate::level::Upload::Busy
        } else {
            crate::level::Upload::Idle
        };
        Some(look)
    });
    let (sink, source, block_size) = (Arc::clone(&ctx.sink), item.source.clone(), ctx.settings.zip.block_size);
    let on_change = Box::new(move |block: u64, level: u32| {
        tracing::debug!(%source, block, level, "zip level changed");
        let input_offset = block * block_size as u64;
        sink.event(&Event::LevelChanged { source: source.clone(), level, block, input_offset, item: index });
    });
    let start = ctx.settings.zip.level;
    crate::level::Controller::new(auto, start, replay, upload, Arc::clone(schedule), on_change)
}

/// Rows a converted file left out and rows it flagged (zeros for a prepared zip, or one an earlier run sent).
#[derive(Debug, Clone, Default)]
struct RowCounts {
    rejected: u64,
    warned: u64,
    misses: BTreeMap<String, u64>,
    cqube_duplicate_discards: u64,
    levels: BTreeMap<u32, u64>,
    /// This run produced the file (so a master's codes are collected); `false` for one acknowledged without that.
    produced: bool,
}

/// What the producer thread needs for `item`; `report_rejects` on the one pass whose rejects go to the report.
fn production(ctx: &Ctx, item: &Item, database: Option<OpenedDatabase>, report_rejects: bool) -> Production {
    Production {
        catalog: Arc::clone(&ctx.catalog),
        source: item.source.clone(),
        input: item.input.clone(),
        normalize: ctx.settings.normalize,
        convert: match &database {
            Some(db) => {
                let mut options = ctx.settings.database_convert.clone();
                options.known_extra_columns.extend(db.column.clone());
                options
            }
            None => ctx.settings.convert.clone(),
        }
        .with_cross(ctx.masters.cross_checks(&ctx.catalog, &item.source)),
        zip: ctx.settings.zip,
        zip_limits: ctx.settings.zip_limits,
        database: database.map(|d| d.input),
        stream: match &item.input {
            ItemInput::Stream(name) => ctx.settings.streams.get(name).cloned(),
            _ => None,
        },
        rejects: ctx.settings.rejects.clone().filter(|_| report_rejects),
        levels: None,
    }
}

/// A one-shot target's file: its exact length and SHA-256 first (a prepared zip's from the file; a converted one's
/// from a pass that only counts and hashes), refused over the target's limit before any byte is sent; then one
/// upload with parts in order, one at a time. A transient failure settles the upload (the target answers whether
/// the object landed after all, so nothing is sent twice) and restarts the file under a new upload, up to the
/// retry limit. Nothing is continued from an earlier run: the body of a one-shot request cannot be resumed.
async fn emit_one_shot(
    ctx: &Ctx,
    index: usize,
    item: &Item,
    mut database: Option<OpenedDatabase>,
    previous: &ItemState,
    one_shot: OneShot,
) -> anyhow::Result<Outcome> {
    let restart = |attempt: u32, reason: String| {
        tracing::warn!(source = %item.source, attempt, %reason, "restarting the file");
        ctx.sink.event(&Event::FileRestarted { source: item.source.clone(), attempt, reason });
    };
    // An earlier run's upload is settled first, on a plain re-run too: a POST that landed is not sent again.
    if let Some((upload_id, key, earlier)) = previous.upload.clone() {
        if !ctx.fresh {
            restart(1, "a one-shot POST cannot be resumed: the file is sent again from its first byte".into());
        }
        // A POST that landed although the earlier run never heard so stands, as on the multipart path.
        let unchanged_file = earlier == item.input.identity() && item.input.is_file();
        let settled = match settle(ctx, item, &upload_id).await {
            Ok(Aborted::Acknowledged(ack)) if unchanged_file => Ok(ack),
            Ok(Aborted::Landed(landed)) if unchanged_file => recognize(ctx, item, &upload_id, &landed).await,
            Ok(Aborted::Landed(landed)) => {
                tracing::warn!(source = %item.source, %upload_id, key = %landed.key, "the previous run's POST landed; this run's input is emitted as well");
                ctx.journal_append(&JournalEntry::Aborted { item: item.id.clone(), upload_id: upload_id.clone() })?;
                Err(None)
            }
            Ok(_) => Err(None),
            Err(e) => Err(Some(e)),
        };
        match settled {
            Ok(ack) => {
                ctx.journal_append(&JournalEntry::Done { item: item.id.clone(), ack: ack.clone() })?;
                return Ok(Outcome::Acked { ack, counts: RowCounts::default(), resumed: true });
            }
            Err(Some(e)) => {
                // Still unsettled: this run's journal keeps it, so the next run asks again instead of sending.
                let entry = JournalEntry::Upload { item: item.id.clone(), identity: earlier, upload_id, key };
                ctx.journal_append(&entry)?;
                return Err(e);
            }
            Err(None) => {}
        }
    }
    if matches!(item.input, ItemInput::Stdin) {
        let e = anyhow::anyhow!(
            "stdin cannot be read twice, and a one-shot POST needs the zip's length before its first byte\n\nhint: \
             save the export to a file, or emit to a cqube-emit server (multipart) or with --s3"
        );
        return Err(fail(ExitStatus::Usage, e));
    }
    let expected = measure(ctx, item, database.take()).await?;
    if expected.bytes > one_shot.max_bytes {
        let e = anyhow::anyhow!(
            "{}: the zip is {} bytes, over the {}-byte limit of one presigned POST; nothing was sent\n\nhint: a \
             cqube-emit server (multipart) or --s3 has no such limit",
            item.source,
            expected.bytes,
            one_shot.max_bytes
        );
        return Err(fail(ExitStatus::Permanent, e));
    }
    // Parts go in order, one at a time, and are never retried on their own: a failure restarts the whole file.
    let uploader = ctx.uploader.one_at_a_time();
    let mut attempt = 1;
    loop {
        let database = match &item.input {
            ItemInput::Database(_) => Some(open_database(ctx, item).await?),
            _ => None,
        };
        let request = CreateUploadRequest {
            source: item.source.clone(),
            filename: item.filename.clone(),
            expected_size_bytes: Some(expected.bytes),
        };
        let created =
            ctx.target().create(&request).await.map_err(|e| remote_failure(e, &format!("emitting {}", item.source)));
        let e = match created {
            Ok(created) => {
                ctx.journal_append(&JournalEntry::Upload {
                    item: item.id.clone(),
                    identity: item.input.identity(),
                    upload_id: created.upload_id.clone(),
                    key: created.key.clone(),
                })?;
                let open = || ctx.open_uploads.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                open().insert(item.id.clone(), created.upload_id.clone());
                let ids = (created.upload_id.as_str(), created.key.as_str());
                let sent =
                    send(ctx, &uploader, index, item, database, ids, &ItemState::default(), Some(&expected)).await;
                open().remove(&item.id);
                match sent {
                    Ok((ack, counts)) => {
                        return Ok(Outcome::Acked { ack: Box::new(ack), counts, resumed: false });
                    }
                    Err(e) => match settle(ctx, item, &created.upload_id).await? {
                        Aborted::Acknowledged(ack) => {
                            check_acknowledgement(&ack, &expected_request(&expected, ack.rows), &created.key)?;
                            return Ok(Outcome::Acked { ack, counts: RowCounts::default(), resumed: false });
                        }
                        // This run sent it, so the target vouches for it itself: not answered for this run's uploads.
                        Aborted::Landed(landed) => return Err(not_recognized(item, &landed, "this run's upload")),
                        Aborted::Removed => e,
                    },
                }
            }
            Err(e) => e,
        };
        if status_of(&e) != ExitStatus::Transient || attempt > ctx.settings.retry.max_retries as u32 {
            return Err(e);
        }
        attempt += 1;
        restart(attempt, format!("{e:#}"));
        tokio::time::sleep(ctx.settings.retry.delay(attempt - 1)).await;
    }
}

/// Asks the target what became of a one-shot upload that failed or was left by an earlier run: an acknowledgement
/// when the object landed after all (journaled), removed when nothing of it remains (journaled as aborted), or an
/// earlier run's object for the caller to recognize (not journaled yet). An answer the target cannot give (a
/// listing that cannot settle it) stops the file rather than risk sending it twice.
async fn settle(ctx: &Ctx, item: &Item, upload_id: &str) -> anyhow::Result<Aborted> {
    let settled = ctx.target().abort(upload_id).await.map_err(|e| {
        let what = format!("{}: settling upload {upload_id}", item.source);
        fail(ExitStatus::Permanent, anyhow::Error::new(e).context(what))
    })?;
    match &settled {
        Aborted::Removed => {
            ctx.journal_append(&JournalEntry::Aborted { item: item.id.clone(), upload_id: upload_id.to_owned() })?;
        }
        Aborted::Acknowledged(ack) => {
            tracing::info!(source = %item.source, %upload_id, key = %ack.key, "the upload landed although its answer was lost; not sending it again");
            ctx.journal_append(&JournalEntry::Done { item: item.id.clone(), ack: ack.clone() })?;
        }
        Aborted::Landed(_) => {}
    }
    Ok(settled)
}

/// Whether the object an earlier run's one-shot upload left (that run was killed before it heard the answer) is
/// this file: the file is produced again, counted and hashed (nothing kept), and its length and MD5 compared with
/// the object's size and ETag. The acknowledgement that run lost, else an error: it is not sent twice.
async fn recognize(
    ctx: &Ctx,
    item: &Item,
    upload_id: &str,
    landed: &cqube_upload::Landed,
) -> Result<Box<Acknowledgement>, Option<anyhow::Error>> {
    let production = production(ctx, item, None, false);
    let produced = tokio::task::spawn_blocking(move || produce(production, Measure::with_md5()))
        .await
        .context("the measuring thread panicked")
        .and_then(|p| p)
        .map_err(Some)?;
    let totals = &produced.totals;
    if !landed.is(totals.bytes, totals.md5.as_deref().unwrap_or_default()) {
        return Err(Some(not_recognized(
            item,
            landed,
            &format!("{} bytes, MD5 {}", totals.bytes, totals.md5.as_deref().unwrap_or("?")),
        )));
    }
    tracing::info!(source = %item.source, %upload_id, key = %landed.key, "the previous run's POST landed with this file's length and MD5; not sending it again");
    let sent = expected_request(totals, produced.rows);
    Ok(Box::new(landed.acknowledgement(upload_id, &item.source, &sent)))
}

/// An object an earlier upload left that cannot be recognized as this file: not sent again, the operator decides.
fn not_recognized(item: &Item, landed: &cqube_upload::Landed, file: &str) -> anyhow::Error {
    let e = anyhow::anyhow!(
        "{}: an earlier run's upload left {}/{} ({} bytes, ETag {}) and it cannot be told to be this file ({file}), so          the file is not sent again\n\nhint: look at it with `cqube-emit get {}/{}`; to send the file anyway, remove          this job's journal",
        item.source,
        landed.bucket,
        landed.key,
        landed.bytes,
        landed.etag.as_deref().unwrap_or("none"),
        landed.bucket,
        landed.key
    );
    fail(ExitStatus::Permanent, e)
}

/// The length and SHA-256 a one-shot upload announces: a prepared zip sent as it is, from its file; anything else
/// from a conversion pass that only counts and hashes.
async fn measure(ctx: &Ctx, item: &Item, database: Option<OpenedDatabase>) -> anyhow::Result<StreamTotals> {
    let production = production(ctx, item, database, true);
    let measured = tokio::task::spawn_blocking(move || match &production.input {
        ItemInput::Zip(path) if !production.normalize => {
            let mut file = std::fs::File::open(path)
                .with_context(|| format!("opening {}", path.display()))
                .map_err(|e| fail(ExitStatus::Input, e))?;
            let mut sink = Measure::default();
            std::io::copy(&mut file, &mut sink).with_context(|| format!("reading {}", path.display()))?;
            Ok(crate::produce::ZipSink::end(sink)?)
        }
        _ => produce(production, Measure::default()).map(|p| p.totals),
    });
    measured.await.context("the measuring thread panicked")?
}

/// What a one-shot upload's acknowledgement must match when it was settled rather than completed: the announced
/// length and SHA-256 (rows are the target's record of the completion).
fn expected_request(expected: &StreamTotals, rows: u64) -> CompleteUploadRequest {
    CompleteUploadRequest {
        parts: Vec::new(),
        rows,
        bytes: expected.bytes,
        sha256: expected.sha256.clone(),
        watermark: None,
        quality: None,
    }
}

/// The acknowledgement must name what was sent: rows, bytes, SHA-256 and the key the upload was created under.
pub(crate) fn check_acknowledgement(
    ack: &Acknowledgement,
    sent: &CompleteUploadRequest,
    key: &str,
) -> anyhow::Result<()> {
    let mismatch = [
        (ack.rows != sent.rows).then(|| format!("rows {} (sent {})", ack.rows, sent.rows)),
        (ack.bytes != sent.bytes).then(|| format!("bytes {} (sent {})", ack.bytes, sent.bytes)),
        (ack.sha256 != sent.sha256).then(|| format!("sha256 {} (sent {})", ack.sha256, sent.sha256)),
        (ack.key != key).then(|| format!("key {} (created as {key})", ack.key)),
    ];
    let mismatch: Vec<String> = mismatch.into_iter().flatten().collect();
    if mismatch.is_empty() {
        return Ok(());
    }
    let e = cqube_upload::Error::AckMismatch { key: ack.key.clone(), detail: mismatch.join(", ") };
    Err(fail(ExitStatus::Permanent, e))
}

/// The job's status from its files', the summary event, and the journal removed when nothing is left to resume.
fn summarize(
    job: String,
    items: Vec<Item>,
    results: Vec<FileResult>,
    ctx: &Ctx,
    seconds: f64,
) -> anyhow::Result<Report> {
    let count = |f: fn(&FileResult) -> bool| results.iter().filter(|r| f(r)).count();
    let acked = count(|r| matches!(r, FileResult::Acknowledged { .. }));
    let up_to_date = count(|r| matches!(r, FileResult::UpToDate { .. }));
    let skipped = count(|r| matches!(r, FileResult::Skipped { .. }));
    let failed: Vec<ExitStatus> = results
        .iter()
        .filter_map(|r| if let FileResult::Failed { status, .. } = r { Some(*status) } else { None })
        .collect();
    let (mut rows, mut bytes, mut rejected, mut warned) = (0, 0, 0, 0);
    let mut misses: BTreeMap<String, u64> = BTreeMap::new();
    let mut discards = 0;
    let mut levels: BTreeMap<u32, u64> = BTreeMap::new();
    for r in &results {
        if let FileResult::Acknowledged {
            ack,
            rows_rejected,
            rows_warned,
            misses: file_misses,
            cqube_duplicate_discards,
            levels: file_levels,
        } = r
        {
            for (level, bytes) in file_levels {
                *levels.entry(*level).or_default() += bytes;
            }
            discards += cqube_duplicate_discards;
            (rows, bytes) = (rows + ack.rows, bytes + ack.bytes);
            (rejected, warned) = (rejected + rows_rejected, warned + rows_warned);
            for (rule, n) in file_misses {
                *misses.entry(rule.clone()).or_default() += n;
            }
        }
    }
    let status = match (failed.first(), skipped, acked + up_to_date) {
        (None, 0, _) if rejected == 0 => ExitStatus::Success,
        // Nothing got through: the first failure says what kind of problem it is.
        (Some(first), _, 0) => *first,
        _ => ExitStatus::Partial,
    };
    if status == ExitStatus::Success {
        // Everything is acknowledged: nothing is left to resume.
        ctx.journal.lock().map_err(|_| journal_poisoned())?.remove()?;
    }
    ctx.sink.event(&Event::Summary {
        job: job.clone(),
        files: items.len(),
        acknowledged: acked,
        up_to_date,
        failed: failed.len(),
        skipped,
        rows,
        bytes,
        rows_rejected: rejected,
        rows_warned: warned,
        misses,
        cqube_duplicate_discards: discards,
        levels,
        seconds,
        exit_status: status as u8,
    });
    let quality = Box::new(quality_report(&items, &results, ctx));
    Ok(Report { job, items, results, status, seconds, quality })
}

/// The quality report of a job: each file this run produced as its checks found it, the others as they ended.
fn quality_report(items: &[Item], results: &[FileResult], ctx: &Ctx) -> QualityReport {
    let mut checked = std::mem::take(&mut *ctx.checked.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    let files = items.iter().zip(results).enumerate().filter_map(|(i, (item, result))| {
        if let Some(report) = checked.remove(&i) {
            return Some(report);
        }
        let (status, note, rows) = match result {
            FileResult::Acknowledged { ack, .. } => (
                FileStatus::NotRead,
                "acknowledged without this run reading it (an earlier run sent it)".into(),
                ack.rows,
            ),
            FileResult::UpToDate { watermark } => {
                (FileStatus::NotRead, format!("up to date: no row past {} {}", watermark.column, watermark.value), 0)
            }
            FileResult::Failed { error, .. } => (FileStatus::Failed, error.clone(), 0),
            FileResult::Skipped { reason } => (FileStatus::Skipped, reason.clone(), 0),
            FileResult::NotRun => return None,
        };
        Some(SourceReport::unread(&item.source, &item.input.display(), status, note, rows))
    });
    QualityReport::new("emit", files.collect())
}
