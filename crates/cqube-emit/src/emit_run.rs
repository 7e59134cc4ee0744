//! Running an emission job: the scheduler (dependents wait for acknowledgements) and one file's pipeline
//! (producer thread -> PartWriter -> bounded channel -> Uploader -> complete -> checked acknowledgement).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use cqube_convert::{Input, NoRejects};
use cqube_core::Catalog;
use cqube_protocol::{Acknowledgement, CompleteUploadRequest, CreateUploadRequest};
use cqube_upload::{
    ApiClient, ItemState, Journal, JournalEntry, JournalState, PartEvent, PartSizer, PartWriter, Uploader,
};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::cli::GlobalArgs;
use crate::emit_cmd::Settings;
use crate::emit_plan::{Item, ItemInput};
use crate::exit::{ExitStatus, Failure, fail};

/// A plan item without borrows, so it can move into tasks.
#[derive(Debug, Clone)]
pub struct OwnedItem {
    pub id: String,
    pub source: String,
    pub filename: String,
    pub input: ItemInput,
    pub after: Vec<usize>,
}

impl From<&Item<'_>> for OwnedItem {
    fn from(item: &Item<'_>) -> OwnedItem {
        OwnedItem {
            id: item.id.clone(),
            source: item.source.name.clone(),
            filename: item.source.emission_path(),
            input: item.input.clone(),
            after: item.after.clone(),
        }
    }
}

#[derive(Debug, Clone)]
enum State {
    Pending,
    Running,
    Acked {
        ack: Box<Acknowledgement>,
        rows_rejected: u64,
    },
    /// An incremental database source with no row past its watermark: nothing to send.
    UpToDate {
        watermark: cqube_protocol::Watermark,
    },
    Failed {
        status: ExitStatus,
        error: String,
    },
    Skipped {
        reason: String,
    },
}

/// What one file's pipeline produced.
struct Produced {
    totals: cqube_upload::StreamTotals,
    rows: u64,
    rows_rejected: u64,
}

/// What the producer thread needs, owned: it runs on a blocking thread.
struct Production {
    catalog: Arc<Catalog>,
    source: String,
    input: ItemInput,
    normalize: bool,
    convert: cqube_convert::ConvertOptions,
    zip: cqube_zip::ZipOptions,
    zip_limits: cqube_zip::check::Limits,
    /// For a database item: its rows, already streaming.
    database: Option<Input>,
}

/// Shared by every file's task.
struct Ctx {
    catalog: Arc<Catalog>,
    settings: Settings,
    uploader: Uploader,
    journal: Mutex<Journal>,
    state: JournalState,
    fresh: bool,
    out: Output,
    /// Uploads being sent, by item: what a SIGTERM aborts.
    open_uploads: Mutex<std::collections::BTreeMap<String, String>>,
}

/// Which signal stopped a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interrupt {
    /// Ctrl-C: a person, who may `resume`.
    Sigint,
    /// A service manager or the daemon stopping us: nobody will resume, the next run starts over.
    Sigterm,
}

/// Events on stdout (JSON lines or human lines) and the progress bars on stderr: one overall, one per running file,
/// all counting bytes the store acknowledged.
struct Output {
    json: bool,
    quiet: bool,
    bar: Option<ProgressBar>,
    bars: Option<MultiProgress>,
}

impl Output {
    fn event(&self, value: &serde_json::Value) {
        if self.json {
            self.line(&value.to_string());
        }
    }

    /// A line of data on stdout. A closed stdout (a pipe into `head`) does not stop the uploads.
    fn line(&self, line: &str) {
        let write = || {
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        };
        match &self.bars {
            Some(bars) => bars.suspend(write),
            None => write(),
        }
    }

    fn note(&self, line: &str) {
        if !self.json && !self.quiet {
            match &self.bars {
                Some(bars) => bars.suspend(|| crate::cli::note(line)),
                None => crate::cli::note(line),
            }
        }
    }

    /// A failure: on stderr even with `--quiet`, which keeps errors (under `--json` the event says it).
    fn failure(&self, line: &str) {
        if !self.json {
            let write = || {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            };
            match &self.bars {
                Some(bars) => bars.suspend(write),
                None => write(),
            }
        }
    }

    fn acknowledged(&self, ack: &Acknowledgement, resumed: bool) {
        self.event(&json!({"event": "file_acknowledged", "source": ack.source, "already": resumed, "ack": ack}));
        if !self.json {
            let watermark = ack.watermark.as_ref().map(|w| format!(", watermark {} = {}", w.column, w.value));
            let line = format!(
                "acknowledged {} -> {}/{}: {} rows, {} bytes, sha256 {}, emission {}{}{}",
                ack.source,
                ack.bucket,
                ack.key,
                ack.rows,
                ack.bytes,
                ack.sha256,
                ack.emission_id,
                watermark.unwrap_or_default(),
                if resumed { " (earlier run)" } else { "" }
            );
            self.line(&line);
        }
    }
}

/// Runs the job to the end and returns its exit status.
#[allow(clippy::too_many_arguments)]
pub fn run(
    job: &str,
    items: Vec<OwnedItem>,
    catalog: Arc<Catalog>,
    settings: Settings,
    api: ApiClient,
    journal: Journal,
    state: JournalState,
    fresh: bool,
    global: &GlobalArgs,
) -> anyhow::Result<ExitStatus> {
    let total: Option<u64> = items
        .iter()
        .map(|i| match &i.input {
            ItemInput::Zip(p) if !settings.normalize => std::fs::metadata(p).ok().map(|m| m.len()),
            _ => None,
        })
        .sum();
    let bar = crate::progress::bar(global, total);
    if let Some(bar) = &bar {
        bar.set_message("acknowledged");
    }
    let uploader = Uploader::new(api, settings.parts_in_flight);
    let jobs = settings.jobs;
    let bars = bar.as_ref().map(|bar| {
        let bars = MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr());
        bars.add(bar.clone());
        bars
    });
    let out = Output { json: settings.json, quiet: settings.quiet, bar, bars };
    let ctx = Arc::new(Ctx {
        catalog,
        settings,
        uploader,
        journal: Mutex::new(journal),
        state,
        fresh,
        out,
        open_uploads: Mutex::default(),
    });
    ctx.out.note(&format!("job {job}: {} files", items.len()));
    ctx.out.event(&json!({"event": "job_started", "job": job, "files": items.len()}));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let started = Instant::now();
    let items = Arc::new(items);
    let states = match runtime.block_on(schedule(Arc::clone(&ctx), Arc::clone(&items), jobs)) {
        Ok(states) => states,
        Err(signal) => {
            if signal == Interrupt::Sigterm {
                runtime.block_on(abort_open_uploads(&ctx));
            }
            // Producers blocked on a part channel fail once their uploader is gone; nobody waits for them.
            runtime.shutdown_background();
            ctx.out.event(&json!({"event": "interrupted", "job": job, "signal": format!("{signal:?}").to_uppercase()}));
            ctx.out.note(&match signal {
                Interrupt::Sigint => format!("interrupted; the journal is kept: cqube-emit resume {job}"),
                Interrupt::Sigterm => "stopped by SIGTERM; the uploads in progress were aborted".to_owned(),
            });
            return Ok(ExitStatus::Interrupted);
        }
    };
    // The runtime goes before the journal: no task may append after it is removed.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    if let Some(bar) = &ctx.out.bar {
        bar.finish_and_clear();
    }
    summarize(job, &items, &states, &ctx, started.elapsed().as_secs_f64())
}

/// SIGTERM means nobody will `resume` (a service manager, or the daemon, whose next run starts over), so the
/// uploads in progress are aborted rather than left open for the bucket's lifecycle rule.
async fn abort_open_uploads(ctx: &Ctx) {
    let open = std::mem::take(&mut *ctx.open_uploads.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    for (item, upload_id) in open {
        let aborted =
            tokio::time::timeout(std::time::Duration::from_secs(10), ctx.uploader.api().abort(&upload_id)).await;
        match aborted {
            Ok(Ok(())) => {
                if let Err(e) = journal_append(ctx, &JournalEntry::Aborted { item, upload_id }) {
                    tracing::warn!(error = %e, "recording an aborted upload failed");
                }
            }
            Ok(Err(e)) => tracing::warn!(%upload_id, error = %e, "aborting an upload on SIGTERM failed"),
            Err(_) => tracing::warn!(%upload_id, "aborting an upload on SIGTERM timed out"),
        }
    }
}

async fn schedule(ctx: Arc<Ctx>, items: Arc<Vec<OwnedItem>>, jobs: usize) -> Result<Vec<State>, Interrupt> {
    let mut states = vec![State::Pending; items.len()];
    let mut running: JoinSet<(usize, State)> = JoinSet::new();
    let interrupt = async {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut term) => drop(term.recv().await),
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => Interrupt::Sigint,
            () = terminate => Interrupt::Sigterm,
        }
    };
    tokio::pin!(interrupt);
    loop {
        for i in 0..items.len() {
            if !matches!(states[i], State::Pending) {
                continue;
            }
            let blocked =
                items[i].after.iter().find(|&&d| matches!(states[d], State::Failed { .. } | State::Skipped { .. }));
            if let Some(&d) = blocked {
                let reason =
                    format!("dependency {} ({}) was not acknowledged", items[d].source, items[d].input.display());
                ctx.out.event(&json!({"event": "file_skipped", "source": items[i].source, "input": items[i].input.display(), "reason": reason}));
                ctx.out.note(&format!("skipped {}: {reason}", items[i].source));
                states[i] = State::Skipped { reason };
                continue;
            }
            let ready =
                items[i].after.iter().all(|&d| matches!(states[d], State::Acked { .. } | State::UpToDate { .. }));
            if ready && running.len() < jobs {
                states[i] = State::Running;
                let (ctx, items) = (Arc::clone(&ctx), Arc::clone(&items));
                running.spawn(async move { (i, emit_one(&ctx, &items[i]).await) });
            }
        }
        if running.is_empty() {
            // Skips may have unblocked nothing new: everything is decided.
            if states.iter().all(|s| !matches!(s, State::Pending)) {
                return Ok(states);
            }
            continue;
        }
        tokio::select! {
            Some(done) = running.join_next() => {
                let (i, state) = done.unwrap_or_else(|e| (usize::MAX, State::Failed { status: ExitStatus::Input, error: format!("task failed: {e}") }));
                if i < states.len() {
                    states[i] = state;
                }
            }
            signal = &mut interrupt => return Err(signal),
        }
    }
}

async fn emit_one(ctx: &Ctx, item: &OwnedItem) -> State {
    ctx.out.event(&json!({"event": "file_started", "source": item.source, "input": item.input.display(), "filename": item.filename}));
    match emit_file(ctx, item).await {
        Ok(Outcome::Acked { ack, rows_rejected, resumed }) => {
            ctx.out.acknowledged(&ack, resumed);
            State::Acked { ack, rows_rejected }
        }
        Ok(Outcome::UpToDate(watermark)) => {
            ctx.out.event(&json!({"event": "file_up_to_date", "source": item.source, "watermark": watermark}));
            if !ctx.out.json {
                ctx.out.line(&format!(
                    "up to date {}: no row past {} = {}; nothing sent",
                    item.source, watermark.column, watermark.value
                ));
            }
            State::UpToDate { watermark }
        }
        Err(e) => {
            let status = e.downcast_ref::<Failure>().map_or(ExitStatus::Input, |f| f.status);
            let error = format!("{e:#}");
            ctx.out.event(&json!({"event": "file_failed", "source": item.source, "input": item.input.display(), "exit_status": status as u8, "error": error}));
            ctx.out.failure(&format!("failed {}: {error}", item.source));
            State::Failed { status, error }
        }
    }
}

/// Maps an upload error to its exit status: 4 when running again can help, 5 when the server refused.
pub fn remote_failure(e: cqube_upload::Error, what: &str) -> anyhow::Error {
    let status = if e.is_retryable() { ExitStatus::Transient } else { ExitStatus::Permanent };
    let full = e.is_storage_full();
    let e = anyhow::Error::new(e).context(what.to_owned());
    if full {
        return fail(status, anyhow::anyhow!("{e:#}\n\nhint: {STORAGE_FULL_HINT}"));
    }
    fail(status, e)
}

/// What to do about a `507 insufficient_storage`.
const STORAGE_FULL_HINT: &str = "the server's storage is full: free space on it (remove old objects, abort stale \
                                 uploads), then run again or `cqube-emit resume`";

fn journal_append(ctx: &Ctx, entry: &JournalEntry) -> Result<(), cqube_upload::Error> {
    ctx.journal.lock().map_err(|_| journal_poisoned())?.append(entry)
}

fn journal_poisoned() -> cqube_upload::Error {
    cqube_upload::Error::Journal { path: "journal".into(), source: std::io::Error::other("lock poisoned by a panic") }
}

/// How one item ended well.
enum Outcome {
    Acked { ack: Box<Acknowledgement>, rows_rejected: u64, resumed: bool },
    UpToDate(cqube_protocol::Watermark),
}

async fn emit_file(ctx: &Ctx, item: &OwnedItem) -> anyhow::Result<Outcome> {
    let api = ctx.uploader.api();
    let previous = ctx.state.items.get(&item.id).cloned().unwrap_or_default();
    if let Some(ack) = previous.done.as_ref().filter(|_| !ctx.fresh) {
        return Ok(Outcome::Acked { ack: Box::new(ack.clone()), rows_rejected: 0, resumed: true });
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
    let identity = item.input.identity();
    let reuse = match previous.upload.clone() {
        Some((upload_id, key, _)) if !starts_over(&previous, ctx.fresh, &identity) => Some((upload_id, key)),
        Some((upload_id, _, _)) => {
            // The source changed (or this is a new run): the old upload is dropped, not continued.
            tracing::info!(source = %item.source, %upload_id, "aborting the previous run's upload");
            api.abort(&upload_id).await.map_err(|e| remote_failure(e, "aborting the previous upload"))?;
            journal_append(ctx, &JournalEntry::Aborted { item: item.id.clone(), upload_id })?;
            None
        }
        None => None,
    };
    let stored = if reuse.is_some() { previous.parts.clone() } else { std::collections::BTreeMap::default() };
    let (upload_id, key) = if let Some(r) = reuse {
        r
    } else {
        let expected = match &item.input {
            ItemInput::Zip(p) if !ctx.settings.normalize => std::fs::metadata(p).ok().map(|m| m.len()),
            _ => None,
        };
        let request = CreateUploadRequest {
            source: item.source.clone(),
            filename: item.filename.clone(),
            expected_size_bytes: expected,
        };
        let created =
            api.create(&request).await.map_err(|e| remote_failure(e, &format!("emitting {}", item.source)))?;
        journal_append(
            ctx,
            &JournalEntry::Upload {
                item: item.id.clone(),
                identity,
                upload_id: created.upload_id.clone(),
                key: created.key.clone(),
            },
        )?;
        (created.upload_id, created.key)
    };
    let open = || ctx.open_uploads.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    open().insert(item.id.clone(), upload_id.clone());
    let result = send(ctx, item, database, &upload_id, &key, &stored).await;
    open().remove(&item.id);
    match result {
        Ok((ack, rows_rejected)) => Ok(Outcome::Acked { ack: Box::new(ack), rows_rejected, resumed: false }),
        Err(e) => {
            let transient = e.downcast_ref::<Failure>().is_some_and(|f| f.status == ExitStatus::Transient);
            if transient {
                // Kept open for `resume`: the stored parts are worth keeping, and the journal knows them.
                return Err(e);
            }
            if let Err(abort) = api.abort(&upload_id).await {
                tracing::warn!(%upload_id, error = %abort, "aborting the failed upload failed");
            } else {
                journal_append(ctx, &JournalEntry::Aborted { item: item.id.clone(), upload_id: upload_id.clone() })?;
            }
            Err(e)
        }
    }
}

/// A database item's rows, streaming.
struct OpenedDatabase {
    input: Input,
    /// The watermark column, and the value this run started after (`None`: from the first row).
    column: Option<String>,
    after: Option<cqube_protocol::Watermark>,
    /// The greatest watermark among the rows being read (`None`: no rows).
    reached: Option<String>,
}

impl OpenedDatabase {
    /// What the acknowledgement records: how far the rows reach, else where this run started.
    fn watermark(&self) -> Option<cqube_protocol::Watermark> {
        let column = self.column.clone()?;
        let value = self.reached.clone().or_else(|| self.after.as_ref().map(|a| a.value.clone()))?;
        Some(cqube_protocol::Watermark { column, value })
    }
}

/// Runs a database item's query, starting after the watermark of the source's last acknowledged emission (the
/// server keeps it with the acknowledgement, so it advances exactly when an emission is acknowledged) unless
/// `--full`.
async fn open_database(ctx: &Ctx, item: &OwnedItem) -> anyhow::Result<OpenedDatabase> {
    let mut request = ctx.settings.databases.get(&item.source).cloned().context("no query for the database source")?;
    let incremental = ctx.settings.watermarks == crate::emit_cmd::Watermarks::Incremental;
    let mut after = None;
    if let Some(watermark) = request.watermark.as_mut().filter(|_| incremental) {
        after = ctx
            .uploader
            .api()
            .last_watermark(&item.source, &watermark.column)
            .await
            .map_err(|e| remote_failure(e, &format!("reading the watermark of {}", item.source)))?;
        tracing::info!(source = %item.source, column = %watermark.column, after = ?after.as_ref().map(|w| &w.value), "incremental run");
        watermark.after = after.as_ref().map(|w| w.value.clone());
    }
    let column = request.watermark.as_ref().map(|w| w.column.clone());
    let (input, reached) = tokio::task::spawn_blocking(move || crate::convert_cmd::open_database(&request))
        .await
        .context("the database thread panicked")??;
    Ok(OpenedDatabase { input, column, after, reached })
}

async fn send(
    ctx: &Ctx,
    item: &OwnedItem,
    database: Option<OpenedDatabase>,
    upload_id: &str,
    key: &str,
    stored: &std::collections::BTreeMap<u32, cqube_upload::StoredPartRecord>,
) -> anyhow::Result<(Acknowledgement, u64)> {
    // Capacity 1: with the part being filled and the one blocked in `send`, a file holds two parts besides
    // those in flight — the `+ 2` of the memory formula.
    let (tx, rx) = mpsc::channel(1);
    let writer = PartWriter::new(tx, PartSizer::new(ctx.settings.part_size_bytes));
    let watermark = database.as_ref().and_then(OpenedDatabase::watermark);
    let production = Production {
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
        },
        zip: ctx.settings.zip,
        zip_limits: ctx.settings.zip_limits,
        database: database.map(|d| d.input),
    };
    let producer = tokio::task::spawn_blocking(move || produce(production, writer));
    let file_bar = ctx.out.bars.as_ref().map(|bars| {
        let size = match &item.input {
            ItemInput::Zip(p) if !ctx.settings.normalize => std::fs::metadata(p).ok().map(|m| m.len()),
            _ => None,
        };
        let template = if size.is_some() {
            "  {prefix:32} {bar:24} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
        } else {
            "  {prefix:32} {spinner} {bytes} {bytes_per_sec}"
        };
        let bar = bars.add(ProgressBar::hidden());
        bar.set_style(ProgressStyle::with_template(template).expect("the template is valid"));
        if let Some(size) = size {
            bar.set_length(size);
        }
        bar.set_prefix(item.source.clone());
        bar
    });
    let mut on_part = |event: PartEvent<'_>| -> Result<(), cqube_upload::Error> {
        if !event.skipped {
            journal_append(
                ctx,
                &JournalEntry::Part {
                    item: item.id.clone(),
                    upload_id: upload_id.to_owned(),
                    part: event.part.clone(),
                },
            )?;
        }
        for bar in [&ctx.out.bar, &file_bar].into_iter().flatten() {
            bar.inc(event.part.size);
        }
        ctx.out.event(&json!({"event": "part_done", "source": item.source, "upload_id": upload_id,
            "part_number": event.part.part_number, "bytes": event.part.size, "skipped": event.skipped}));
        Ok(())
    };
    let sent = ctx.uploader.send_parts(upload_id, rx, stored, &mut on_part).await;
    if let Some(bar) = file_bar {
        bar.finish_and_clear();
    }
    let produced = producer.await.context("the conversion thread panicked")?;
    // An upload failure makes the producer fail with a broken pipe: report the upload's error, not that.
    let parts = sent.map_err(|e| remote_failure(e, &format!("uploading {}", item.source)))?;
    let produced = produced?;
    let request = CompleteUploadRequest {
        parts,
        rows: produced.rows,
        bytes: produced.totals.bytes,
        sha256: produced.totals.sha256.clone(),
        watermark,
    };
    let ack = ctx
        .uploader
        .api()
        .complete(upload_id, &request)
        .await
        .map_err(|e| remote_failure(e, &format!("completing {}", item.source)))?;
    let mismatch = [
        (ack.rows != request.rows).then(|| format!("rows {} (sent {})", ack.rows, request.rows)),
        (ack.bytes != request.bytes).then(|| format!("bytes {} (sent {})", ack.bytes, request.bytes)),
        (ack.sha256 != request.sha256).then(|| format!("sha256 {} (sent {})", ack.sha256, request.sha256)),
        (ack.key != key).then(|| format!("key {} (created as {key})", ack.key)),
    ];
    let mismatch: Vec<String> = mismatch.into_iter().flatten().collect();
    if !mismatch.is_empty() {
        let e = cqube_upload::Error::AckMismatch { key: ack.key.clone(), detail: mismatch.join(", ") };
        return Err(fail(ExitStatus::Permanent, e));
    }
    journal_append(ctx, &JournalEntry::Done { item: item.id.clone(), ack: Box::new(ack.clone()) })?;
    Ok((ack, produced.rows_rejected))
}

/// The producer thread: the file's zip bytes into the part writer.
fn produce(job: Production, mut writer: PartWriter) -> anyhow::Result<Produced> {
    let catalog = &job.catalog;
    let source = catalog.get(&job.source).context("source left the catalog")?;
    let input_error = |e: anyhow::Error| fail(ExitStatus::Input, e);
    let (rows, rows_rejected, writer) = match &job.input {
        ItemInput::Zip(path) if !job.normalize => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("opening {}", path.display()))
                .map_err(input_error)?;
            let facts = crate::emit_zip::check_zip(file, &mut writer, source, &job.zip_limits)
                .with_context(|| path.display().to_string())
                .map_err(input_error)?;
            (facts.rows, 0, writer)
        }
        other => {
            let opened = match other {
                ItemInput::Zip(path) => crate::emit_zip::open_entry(path, source, &job.zip_limits)
                    .and_then(|r| Ok(Input::from_reader(&path.display().to_string(), None, r)?)),
                ItemInput::Raw(path) => Input::open(path).with_context(|| format!("opening {}", path.display())),
                ItemInput::Stdin => Input::open(std::path::Path::new("-")).context("reading stdin"),
                ItemInput::Database(_) => job.database.context("no rows for the database source"),
            };
            let prepared = cqube_convert::prepare(catalog, Some(source), opened.map_err(input_error)?, &job.convert)
                .map_err(crate::convert_cmd::engine_failure)?;
            let (writer, summary) = prepared
                .convert(writer, job.zip, &mut NoRejects, &mut |_| {})
                .map_err(crate::convert_cmd::engine_failure)?;
            (summary.rows_out, summary.rows_rejected, writer)
        }
    };
    let totals = writer.finish().context("handing the last part over")?;
    Ok(Produced { totals, rows, rows_rejected })
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn summarize(job: &str, items: &[OwnedItem], states: &[State], ctx: &Ctx, seconds: f64) -> anyhow::Result<ExitStatus> {
    let acked = states.iter().filter(|s| matches!(s, State::Acked { .. })).count();
    let up_to_date = states.iter().filter(|s| matches!(s, State::UpToDate { .. })).count();
    let failed: Vec<ExitStatus> =
        states.iter().filter_map(|s| if let State::Failed { status, .. } = s { Some(*status) } else { None }).collect();
    let skipped = states.iter().filter(|s| matches!(s, State::Skipped { .. })).count();
    let rejected: u64 =
        states.iter().map(|s| if let State::Acked { rows_rejected, .. } = s { *rows_rejected } else { 0 }).sum();
    let (bytes, rows) = states.iter().fold((0, 0), |(b, r), s| match s {
        State::Acked { ack, .. } => (b + ack.bytes, r + ack.rows),
        _ => (b, r),
    });
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
    ctx.out.event(&json!({"event": "summary", "job": job, "files": items.len(), "acknowledged": acked,
        "up_to_date": up_to_date, "failed": failed.len(), "skipped": skipped, "rows": rows, "bytes": bytes, "rows_rejected": rejected,
        "seconds": seconds, "exit_status": status as u8}));
    if !ctx.out.json && !ctx.out.quiet {
        let mut err = std::io::stderr().lock();
        writeln!(err, "\n{:<40} {:<13} {:>10} {:>12}", "source", "result", "rows", "bytes")?;
        for (item, state) in items.iter().zip(states) {
            let (result, rows, bytes, why) = match state {
                State::Acked { ack, .. } => {
                    ("acknowledged", ack.rows.to_string(), ack.bytes.to_string(), String::new())
                }
                State::UpToDate { watermark } => (
                    "up to date",
                    "0".into(),
                    "-".into(),
                    format!("  nothing past {} = {}", watermark.column, watermark.value),
                ),
                State::Failed { error, .. } => ("failed", "-".into(), "-".into(), format!("  {error}")),
                State::Skipped { reason } => ("skipped", "-".into(), "-".into(), format!("  {reason}")),
                State::Pending | State::Running => ("not run", "-".into(), "-".into(), String::new()),
            };
            writeln!(err, "{:<40} {result:<13} {rows:>10} {bytes:>12}{why}", item.source)?;
        }
        writeln!(
            err,
            "{acked} of {} files acknowledged, {up_to_date} up to date, {} failed, {skipped} skipped; {rows} rows, {bytes} bytes in {seconds:.1} s",
            items.len(),
            failed.len()
        )?;
        if !failed.is_empty() {
            writeln!(err, "the journal is kept: cqube-emit resume {job}")?;
        }
    } else if ctx.out.quiet && !ctx.out.json && !failed.is_empty() {
        writeln!(std::io::stderr().lock(), "hint: the journal is kept: cqube-emit resume {job}")?;
    }
    Ok(status)
}

/// Whether an item's open upload from the journal is dropped: on a fresh run, or when the source changed.
fn starts_over(previous: &ItemState, fresh: bool, identity: &str) -> bool {
    !matches!(&previous.upload, Some((_, _, old)) if !fresh && old == identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_source_or_a_fresh_run_starts_over() {
        let open = ItemState { upload: Some(("u".into(), "k".into(), "size=1".into())), ..ItemState::default() };
        assert!(!starts_over(&open, false, "size=1"));
        assert!(starts_over(&open, false, "size=2"));
        assert!(starts_over(&open, true, "size=1"));
        assert!(starts_over(&ItemState::default(), false, "size=1"));
    }
}
