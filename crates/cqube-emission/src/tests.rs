//! The engine end to end against the in-memory target: no server, no subprocess.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cqube_core::Catalog;
use cqube_upload::memory::{Fault, MemoryTarget};
use cqube_upload::{DeliveryTarget, Journal, RetryPolicy};
use cqube_zip::{ZipOptions, ZipStream};
use sha2::Digest;

use crate::{Ended, Event, EventSink, ExitStatus, FileResult, Interrupt, Job, JobSpec, Report, Settings, Watermarks};

/// Every event, in order.
#[derive(Default)]
struct Recorder(Mutex<Vec<Event>>);

impl EventSink for Recorder {
    fn event(&self, event: &Event) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Recorder {
    fn names(&self) -> Vec<String> {
        let events = self.0.lock().unwrap();
        events.iter().map(|e| serde_json::to_value(e).unwrap()["event"].as_str().unwrap().to_owned()).collect()
    }
}

/// `<dir>/<source dir>/<stem>.zip` holding `rows` rows (stored, so sizes are predictable).
fn write_zip(catalog: &Catalog, dir: &Path, source: &str, rows: usize) -> Vec<u8> {
    let source = catalog.get(source).unwrap();
    let options = ZipOptions { level: 0, ..ZipOptions::default() };
    let mut zip = ZipStream::new(Vec::new(), &format!("{}.csv", source.file_stem), options).unwrap();
    writeln!(zip, "{}", source.header_line()).unwrap();
    let row = vec!["x"; source.columns.len()].join("|");
    for _ in 0..rows {
        writeln!(zip, "{row}").unwrap();
    }
    let bytes = zip.finish().unwrap().0;
    let path = dir.join(source.emission_path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, &bytes).unwrap();
    bytes
}

fn spec(inputs: &Path) -> JobSpec {
    JobSpec {
        api: "memory".into(),
        inputs: vec![inputs.to_path_buf()],
        source: None,
        normalize: false,
        only: Vec::new(),
        zip_modified_unix: 0,
        level: None,
        part_size_bytes: None,
        on_error: None,
        strict: None,
        full: false,
        masters: None,
    }
}

fn settings(max_retries: usize) -> Settings {
    Settings {
        jobs: 2,
        parts_in_flight: 1,
        part_size_bytes: cqube_upload::MIN_PART_BYTES,
        retry: RetryPolicy { max_retries, min_delay: Duration::from_millis(1), max_delay: Duration::from_millis(2) },
        zip: ZipOptions::default(),
        auto_level: None,
        zip_limits: cqube_zip::check::Limits::default(),
        convert: cqube_convert::ConvertOptions::default(),
        normalize: false,
        databases: std::collections::BTreeMap::new(),
        database_convert: cqube_convert::ConvertOptions::default(),
        watermarks: Watermarks::Incremental,
        streams: std::collections::BTreeMap::new(),
        rejects: None,
        masters: crate::masters::Supplied::default(),
    }
}

struct Run {
    ended: Ended,
    events: Arc<Recorder>,
}

impl Run {
    fn report(&self) -> &Report {
        match &self.ended {
            Ended::Finished(report) => report,
            Ended::Interrupted(signal) => panic!("interrupted by {signal:?}"),
        }
    }
}

async fn run(
    target: &Arc<MemoryTarget>,
    inputs: &Path,
    journals: &Path,
    resume: bool,
    max_retries: usize,
    stop: impl std::future::Future<Output = Interrupt> + Send,
) -> Run {
    run_with(target, inputs, journals, resume, settings(max_retries), stop).await
}

async fn run_with(
    target: &Arc<MemoryTarget>,
    inputs: &Path,
    journals: &Path,
    resume: bool,
    settings: Settings,
    stop: impl std::future::Future<Output = Interrupt> + Send,
) -> Run {
    let catalog = Arc::new(Catalog::builtin());
    let job = Job::open(spec(inputs), resume, journals).unwrap();
    let items =
        crate::plan::build(&catalog, &job.spec().inputs, None, &[], &[], &cqube_convert::ConvertOptions::default())
            .unwrap();
    let events = Arc::new(Recorder::default());
    let target = Arc::clone(target) as Arc<dyn DeliveryTarget>;
    let sink = Arc::clone(&events) as Arc<dyn EventSink>;
    let ended = job.run(items, catalog, settings, target, sink, stop).await.unwrap();
    Run { ended, events }
}

fn never() -> impl std::future::Future<Output = Interrupt> + Send {
    std::future::pending()
}

fn journal_path(journals: &Path, inputs: &Path) -> PathBuf {
    Journal::path(journals, &spec(inputs).id())
}

#[tokio::test]
async fn dependencies_go_first_and_objects_are_the_zips_byte_for_byte() {
    let (inputs, journals) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let catalog = Catalog::builtin();
    let district = write_zip(&catalog, inputs.path(), "district_master", 3);
    let block = write_zip(&catalog, inputs.path(), "block_master", 5);
    let target = Arc::new(MemoryTarget::new());
    let run = run(&target, inputs.path(), journals.path(), false, 0, never()).await;
    let report = run.report();
    assert_eq!(report.status, ExitStatus::Success);
    let objects = target.objects();
    assert_eq!(objects.len(), 2);
    assert!(objects[0].0.starts_with("district_master/"), "the dependency completes first: {objects:?}");
    assert_eq!((&objects[0].1, &objects[1].1), (&district, &block));
    let rows: Vec<u64> = report
        .results
        .iter()
        .map(|r| if let FileResult::Acknowledged { ack, .. } = r { ack.rows } else { panic!("{r:?}") })
        .collect();
    assert_eq!(rows, [3, 5]);
    let names = run.events.names();
    assert_eq!(names.first().map(String::as_str), Some("job_started"));
    assert_eq!(names.last().map(String::as_str), Some("summary"));
    assert!(!journal_path(journals.path(), inputs.path()).exists(), "a finished job leaves no journal");
}

#[tokio::test]
async fn unavailable_and_expired_parts_are_retried_and_reported() {
    let (inputs, journals) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let zip = write_zip(&Catalog::builtin(), inputs.path(), "district_master", 3);
    let target = Arc::new(MemoryTarget::new());
    target.fail_puts([Fault::Unavailable, Fault::Expired]);
    let run = run(&target, inputs.path(), journals.path(), false, 3, never()).await;
    assert_eq!(run.report().status, ExitStatus::Success);
    assert_eq!(target.objects()[0].1, zip);
    let retried = run.events.names().iter().filter(|n| *n == "part_retried").count();
    assert_eq!((retried, target.put_attempts()), (2, 3));
}

#[tokio::test]
async fn a_refused_part_aborts_the_upload_and_skips_dependents() {
    let (inputs, journals) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let catalog = Catalog::builtin();
    write_zip(&catalog, inputs.path(), "district_master", 3);
    write_zip(&catalog, inputs.path(), "block_master", 3);
    let target = Arc::new(MemoryTarget::new());
    target.fail_puts([Fault::Refused]);
    let run = run(&target, inputs.path(), journals.path(), false, 3, never()).await;
    let report = run.report();
    assert!(matches!(report.results[0], FileResult::Failed { status: ExitStatus::Permanent, .. }), "{report:?}");
    assert!(matches!(report.results[1], FileResult::Skipped { .. }), "{report:?}");
    assert_eq!(report.status, ExitStatus::Permanent, "nothing got through: the failure's status");
    assert_eq!((target.aborted().len(), target.open_uploads().len()), (1, 0), "no partial upload is left open");
    assert!(journal_path(journals.path(), inputs.path()).exists(), "the journal is kept for resume");
}

#[tokio::test]
async fn resume_continues_the_open_upload_without_resending_stored_parts() {
    let (inputs, journals) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Three parts of 5 MiB at most.
    let zip = write_zip(&Catalog::builtin(), inputs.path(), "district_master", 1_600_000);
    assert!(zip.len() > 2 * cqube_upload::MIN_PART_BYTES);
    let target = Arc::new(MemoryTarget::new());
    target.fail_puts_from(2, [Fault::Unavailable]);
    let first = run(&target, inputs.path(), journals.path(), false, 0, never()).await;
    assert!(matches!(first.report().results[0], FileResult::Failed { status: ExitStatus::Transient, .. }));
    let open = target.open_uploads();
    assert_eq!(open.len(), 1, "a transient failure keeps the upload for resume");
    assert_eq!(target.list_parts(&open[0]).await.unwrap().len(), 1);

    let second = run(&target, inputs.path(), journals.path(), true, 0, never()).await;
    assert_eq!(second.report().status, ExitStatus::Success);
    assert_eq!(target.objects(), [(target.objects()[0].0.clone(), zip)]);
    let events = second.events.0.lock().unwrap();
    let skipped: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            Event::PartDone { part_number, skipped: true, .. } => Some(*part_number),
            _ => None,
        })
        .collect();
    assert_eq!(skipped, [1], "the stored part is not sent again");
    assert_eq!(target.put_attempts(), 2 + 2, "run one: part 1 and the failed part 2; run two: parts 2 and 3");
}

#[tokio::test]
async fn a_rerun_takes_an_acknowledgement_whose_answer_was_lost_instead_of_sending_again() {
    for resume in [false, true] {
        let (inputs, journals) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let zip = write_zip(&Catalog::builtin(), inputs.path(), "district_master", 3);
        let target = Arc::new(MemoryTarget::new());
        target.lose_next_complete_answer();
        let first = run(&target, inputs.path(), journals.path(), false, 0, never()).await;
        assert!(matches!(first.report().results[0], FileResult::Failed { status: ExitStatus::Transient, .. }));

        let second = run(&target, inputs.path(), journals.path(), resume, 0, never()).await;
        let FileResult::Acknowledged { ack, .. } = &second.report().results[0] else { panic!("{:?}", second.report()) };
        assert_eq!(target.objects(), [(ack.key.clone(), zip)], "resume {resume}: one object, the first run's");
        assert_eq!(target.aborted(), Vec::<String>::new(), "resume {resume}: the acknowledged upload stays");
        assert_eq!(second.report().status, ExitStatus::Success);
    }
}

#[tokio::test]
async fn a_rerun_of_a_changed_file_emits_it_although_the_earlier_version_was_acknowledged() {
    let (inputs, journals) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let catalog = Catalog::builtin();
    write_zip(&catalog, inputs.path(), "district_master", 3);
    let target = Arc::new(MemoryTarget::new());
    target.lose_next_complete_answer();
    run(&target, inputs.path(), journals.path(), false, 0, never()).await;
    let changed = write_zip(&catalog, inputs.path(), "district_master", 4);

    let second = run(&target, inputs.path(), journals.path(), false, 0, never()).await;
    assert_eq!(second.report().status, ExitStatus::Success);
    let objects = target.objects();
    assert_eq!(objects.len(), 2, "the earlier version stands and the changed file is emitted");
    assert_eq!(objects[1].1, changed);
}

/// Stops the job once the target holds an open upload with a part attempt running.
async fn when_in_flight(target: Arc<MemoryTarget>, signal: Interrupt) -> Interrupt {
    while target.put_attempts() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    signal
}

#[tokio::test]
async fn sigterm_aborts_the_uploads_in_progress_and_sigint_keeps_them() {
    for signal in [Interrupt::Sigterm, Interrupt::Sigint] {
        let (inputs, journals) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write_zip(&Catalog::builtin(), inputs.path(), "district_master", 3);
        let target = Arc::new(MemoryTarget::new());
        target.fail_puts([Fault::Hang]);
        let stop = when_in_flight(Arc::clone(&target), signal);
        let run = run(&target, inputs.path(), journals.path(), false, 0, stop).await;
        assert!(matches!(run.ended, Ended::Interrupted(s) if s == signal));
        assert_eq!(run.events.names().last().map(String::as_str), Some("interrupted"));
        let state = Journal::read(&journal_path(journals.path(), inputs.path())).unwrap().unwrap();
        let item = state.items.values().next().unwrap();
        if signal == Interrupt::Sigterm {
            assert_eq!((target.aborted().len(), target.open_uploads().len()), (1, 0));
            assert!(item.upload.is_none(), "the journal records the abort");
        } else {
            assert_eq!((target.aborted().len(), target.open_uploads().len()), (0, 1));
            assert!(item.upload.is_some(), "kept for `resume`");
        }
    }
}

#[test]
fn an_acknowledgement_that_differs_from_what_was_sent_is_refused() {
    let sent = cqube_protocol::CompleteUploadRequest {
        parts: Vec::new(),
        rows: 2,
        bytes: 10,
        sha256: "aa".into(),
        watermark: None,
        quality: None,
    };
    let ack = cqube_protocol::Acknowledgement {
        emission_id: "e".into(),
        upload_id: None,
        token_name: "t".into(),
        source: "s".into(),
        bucket: "b".into(),
        key: "k".into(),
        archived_key: None,
        bytes: 10,
        rows: 3,
        sha256: "aa".into(),
        started_at: String::new(),
        completed_at: String::new(),
        watermark: None,
        confirmed: None,
    };
    assert!(crate::run::check_acknowledgement(&ack, &sent, "k").is_err());
    let err = crate::run::check_acknowledgement(&ack, &sent, "other").unwrap_err();
    assert_eq!(crate::status::status_of(&err), ExitStatus::Permanent);
    assert!(format!("{err:#}").contains("rows 3 (sent 2), key k (created as other)"), "{err:#}");
}

/// The acknowledgement of the report's only file.
fn only_ack(report: &Report) -> &cqube_protocol::Acknowledgement {
    match &report.results[..] {
        [FileResult::Acknowledged { ack, .. }] => ack,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn one_shot_announces_a_prepared_zips_size_and_sends_its_parts_in_order_one_at_a_time() {
    let (inputs, journals) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let zip = write_zip(&Catalog::builtin(), inputs.path(), "district_master", 1_600_000);
    assert!(zip.len() > 2 * cqube_upload::MIN_PART_BYTES, "three parts");
    let target = Arc::new(MemoryTarget::one_shot(5 << 30));
    let settings = Settings { parts_in_flight: 4, ..settings(0) };
    let run = run_with(&target, inputs.path(), journals.path(), false, settings, never()).await;
    assert_eq!(run.report().status, ExitStatus::Success);
    assert_eq!(target.expected_sizes(), [Some(zip.len() as u64)]);
    assert_eq!(target.most_puts_running(), 1, "one part at a time although four may be in flight");
    assert_eq!(target.objects()[0].1, zip, "the target refuses parts out of order, so the bytes prove the order");
    assert_eq!(only_ack(run.report()).confirmed, Some(true));
}

#[tokio::test]
async fn one_shot_measures_a_converted_file_in_a_first_pass_that_the_sending_pass_matches() {
    let (inputs, journals) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut zip = ZipStream::new(Vec::new(), "district_mst.csv", ZipOptions::default()).unwrap();
    writeln!(zip, "district_name|udise_district_code|inityear|is_active").unwrap();
    for i in 0..50 {
        writeln!(zip, "District {i}|{}|1995-96|1", 2400 + i).unwrap();
    }
    std::fs::create_dir(inputs.path().join("district_master")).unwrap();
    std::fs::write(inputs.path().join("district_master/district_mst.zip"), zip.finish().unwrap().0).unwrap();
    let target = Arc::new(MemoryTarget::one_shot(5 << 30));
    // Re-encoded through the conversion engine: its size is not known until it has been produced once.
    let settings = Settings { normalize: true, ..settings(0) };
    let run = run_with(&target, inputs.path(), journals.path(), false, settings, never()).await;
    assert_eq!(run.report().status, ExitStatus::Success, "{:?}", run.report());
    let object = &target.objects()[0].1;
    assert_eq!(target.expected_sizes(), [Some(object.len() as u64)], "the size announced is the size sent");
    let ack = only_ack(run.report());
    assert_eq!((ack.rows, &ack.sha256), (50, &hex::encode(sha2::Sha256::digest(object))));
}

#[tokio::test]
async fn one_shot_refuses_a_zip_over_its_limit_before_sending_anything() {
    let (inputs, journals) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let zip = write_zip(&Catalog::builtin(), inputs.path(), "district_master", 30);
    let target = Arc::new(MemoryTarget::one_shot(100));
    let run = run(&target, inputs.path(), journals.path(), false, 3, never()).await;
    let FileResult::Failed { status, error } = &run.report().results[0] else { panic!("{:?}", run.report()) };
    assert_eq!(*status, ExitStatus::Permanent);
    assert!(error.contains(&format!("{} bytes, over the 100-byte limit", zip.len())), "{error}");
    assert!(error.contains("cqube-emit server") && error.contains("--s3"), "{error}");
    assert_eq!((target.expected_sizes().len(), target.put_attempts()), (0, 0), "no upload, no byte");
}

#[tokio::test]
async fn one_shot_restarts_the_file_under_a_new_upload_after_a_transient_failure() {
    let (inputs, journals) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let zip = write_zip(&Catalog::builtin(), inputs.path(), "district_master", 3);
    let target = Arc::new(MemoryTarget::one_shot(5 << 30));
    target.fail_puts([Fault::Unavailable, Fault::Unavailable]);
    let done = run(&target, inputs.path(), journals.path(), false, 2, never()).await;
    assert_eq!(done.report().status, ExitStatus::Success);
    assert_eq!(target.expected_sizes().len(), 3, "a new create for each attempt");
    assert_eq!(target.aborted(), ["upload-1", "upload-2"], "each failed attempt is settled");
    assert_eq!(target.objects(), [(only_ack(done.report()).key.clone(), zip)]);
    let names = done.events.names();
    assert_eq!(names.iter().filter(|n| *n == "file_restarted").count(), 2);
    assert_eq!(names.iter().filter(|n| *n == "part_retried").count(), 0, "a part is never retried alone");

    // Out of retries: the file fails as transient.
    let target = Arc::new(MemoryTarget::one_shot(5 << 30));
    target.fail_puts([Fault::Unavailable, Fault::Unavailable]);
    let failed = run(&target, inputs.path(), journals.path(), false, 1, never()).await;
    assert!(matches!(failed.report().results[0], FileResult::Failed { status: ExitStatus::Transient, .. }));
    assert_eq!((target.expected_sizes().len(), target.open_uploads().len()), (2, 0));
}

#[tokio::test]
async fn one_shot_takes_an_upload_that_landed_although_its_answer_was_lost() {
    let (inputs, journals) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let zip = write_zip(&Catalog::builtin(), inputs.path(), "district_master", 3);
    let target = Arc::new(MemoryTarget::one_shot(5 << 30));
    target.lose_next_complete_answer();
    let run = run(&target, inputs.path(), journals.path(), false, 3, never()).await;
    assert_eq!(run.report().status, ExitStatus::Success);
    assert_eq!(target.expected_sizes().len(), 1, "not sent twice");
    assert_eq!(target.objects(), [(only_ack(run.report()).key.clone(), zip)]);
}

#[tokio::test]
async fn one_shot_resume_says_the_file_restarts_and_sends_it_again_from_its_first_byte() {
    let (inputs, journals) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let zip = write_zip(&Catalog::builtin(), inputs.path(), "district_master", 3);
    let target = Arc::new(MemoryTarget::one_shot(5 << 30));
    target.fail_puts([Fault::Hang]);
    let stop = when_in_flight(Arc::clone(&target), Interrupt::Sigint);
    let first = run(&target, inputs.path(), journals.path(), false, 0, stop).await;
    assert!(matches!(first.ended, Ended::Interrupted(Interrupt::Sigint)));
    assert_eq!(target.open_uploads(), ["upload-1"], "SIGINT keeps the journal's upload");

    let second = run(&target, inputs.path(), journals.path(), true, 0, never()).await;
    assert_eq!(second.report().status, ExitStatus::Success);
    let events = second.events.0.lock().unwrap();
    let restarted: Vec<&str> = events
        .iter()
        .filter_map(|e| if let Event::FileRestarted { reason, .. } = e { Some(reason.as_str()) } else { None })
        .collect();
    assert_eq!(restarted.len(), 1);
    assert!(restarted[0].contains("cannot be resumed"), "{restarted:?}");
    assert!(!events.iter().any(|e| matches!(e, Event::PartDone { skipped: true, .. })), "nothing is continued");
    assert_eq!((target.aborted(), target.objects().len()), (vec!["upload-1".to_owned()], 1));
    assert_eq!(target.objects()[0].1, zip);
}

/// `<dir>/<source dir>/<stem>.zip` holding the source's header and `rows` as they are.
fn write_rows(catalog: &Catalog, dir: &Path, source: &str, rows: &[&str]) {
    let source = catalog.get(source).unwrap();
    let mut zip = ZipStream::new(Vec::new(), &format!("{}.csv", source.file_stem), ZipOptions::default()).unwrap();
    writeln!(zip, "{}", source.header_line()).unwrap();
    for row in rows {
        writeln!(zip, "{row}").unwrap();
    }
    let path = dir.join(source.emission_path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, zip.finish().unwrap().0).unwrap();
}

/// Issue 16: a master delivered by the first run is not sent again on `resume`, yet the files after it are still
/// checked against its codes (read from its file), as they would have been in one run.
#[tokio::test]
async fn issue_16_a_resumed_job_checks_references_to_a_master_an_earlier_run_delivered() {
    let (inputs, journals) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let catalog = Catalog::builtin();
    write_rows(&catalog, inputs.path(), "block_master", &["Rampur|750101|7501|75"]);
    write_rows(&catalog, inputs.path(), "cluster_master", &["C1|750101|7501010001", "C2|750199|7501990001"]);
    let skip = || Settings {
        convert: cqube_convert::ConvertOptions { on_error: cqube_convert::OnError::Skip, ..Default::default() },
        ..settings(0)
    };
    let target = Arc::new(MemoryTarget::new());
    // The block master's one part goes through; the cluster master's fails and is kept for resume.
    target.fail_puts_from(2, [Fault::Unavailable]);
    let first = run_with(&target, inputs.path(), journals.path(), false, skip(), never()).await;
    assert!(
        matches!(first.report().results[..], [FileResult::Acknowledged { .. }, FileResult::Failed { .. }]),
        "{:?}",
        first.report().results
    );
    let second = run_with(&target, inputs.path(), journals.path(), true, skip(), never()).await;
    let [FileResult::Acknowledged { .. }, FileResult::Acknowledged { ack, rows_rejected, misses, .. }] =
        &second.report().results[..]
    else {
        panic!("{:?}", second.report().results)
    };
    let keys: Vec<String> = target.objects().into_iter().map(|(key, _)| key).collect();
    assert_eq!(keys.len(), 2, "the block master is not sent again: {keys:?}");
    assert_eq!((ack.rows, *rows_rejected), (1, 1), "the cluster in an unknown block is left out");
    assert_eq!(misses.get("unknown_block"), Some(&1));
}

/// The CSV inside a one-entry cQube zip.
fn entry_of(zip: &[u8], source: &cqube_core::DataSource) -> Vec<u8> {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), zip).unwrap();
    let mut csv = Vec::new();
    let mut entry = crate::zip_check::open_entry(file.path(), source, &cqube_zip::check::Limits::default()).unwrap();
    std::io::Read::read_to_end(&mut entry, &mut csv).unwrap();
    csv
}

/// Issue 18: an `auto` emission stopped after its first part is resumed with the levels its journal recorded, so
/// the regenerated part is the stored one (not sent again) and the object holds what `convert` writes.
#[tokio::test]
async fn issue_18_a_resumed_auto_emission_replays_the_recorded_levels() {
    let (inputs, journals) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let catalog = Catalog::builtin();
    let source = catalog.get("student_attendance").unwrap();
    let export = inputs.path().join("student_attendance.csv");
    let options =
        cqube_gen::GenOptions { seed: 18, rows: 300_000, dirty: false, universe: cqube_gen::Universe::new(18, 200) };
    cqube_gen::write_csv(source, &options, std::fs::File::create(&export).unwrap()).unwrap();
    // The entry time is part of the bytes: fixed, as `emit` fixes it per job.
    let zip =
        ZipOptions { modified: std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000), ..ZipOptions::default() };
    let auto = |min, max| Settings { zip, auto_level: Some(crate::AutoLevel { min, max, window: 1 }), ..settings(0) };

    let target = Arc::new(MemoryTarget::new());
    target.fail_puts_from(2, [Fault::Unavailable]);
    // A decision every block. Whether this run's level moves depends on how the upload looks (the controller's
    // unit tests cover that); what matters here is that whatever it chose is recorded and replayed.
    let first = run_with(&target, &export, journals.path(), false, auto(1, 7), never()).await;
    assert!(matches!(first.report().results[0], FileResult::Failed { status: ExitStatus::Transient, .. }));
    let open = target.open_uploads();
    assert_eq!(open.len(), 1, "{:?}", first.report());
    let stored = target.stored_parts(&open[0]);
    assert_eq!(stored.iter().map(|p| p.0).collect::<Vec<_>>(), [1]);
    let state = Journal::read(&journal_path(journals.path(), &export)).unwrap().unwrap();
    let levels = &state.items.values().next().unwrap().levels;
    let blocks: u64 = levels.iter().map(|r| r.1).sum();
    assert!(blocks * (1 << 20) > stored[0].1.len() as u64, "the journal covers part 1's blocks: {levels:?}");
    let changes = first.events.names().iter().filter(|n| *n == "level_changed").count();
    assert!(changes >= levels.len() - 1, "{changes} level_changed events for {levels:?}");

    // Left to itself this run would compress at 9 throughout: only the journal's levels give part 1's bytes again.
    let second = run_with(&target, &export, journals.path(), true, auto(9, 9), never()).await;
    assert_eq!(second.report().status, ExitStatus::Success, "{:?}", second.report());
    let events = second.events.0.lock().unwrap();
    assert!(events.iter().any(|e| matches!(e, Event::PartDone { part_number: 1, skipped: true, .. })));
    let object = &target.objects()[0].1;
    assert!(object.starts_with(&stored[0].1), "the object begins with the part the interrupted run sent");
    let Some(Event::Summary { levels, .. }) = events.last() else { panic!("no summary") };
    assert!(levels.contains_key(&9) && levels.len() > 1, "the replayed levels, then 9: {levels:?}");
    assert!(levels.values().sum::<u64>() < object.len() as u64);

    let prepared = cqube_convert::prepare(
        &catalog,
        Some(source),
        cqube_convert::Input::open(&export).unwrap(),
        &cqube_convert::ConvertOptions::default(),
    )
    .unwrap();
    let (converted, _) =
        prepared.convert(Vec::new(), ZipOptions::default(), &mut cqube_convert::NoRejects, &mut |_| {}).unwrap();
    assert!(entry_of(object, source) == entry_of(&converted, source), "the same CSV as convert writes");
}
