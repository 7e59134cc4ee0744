//! End-to-end tests of `cqube-emit emit --s3`: straight into a bucket of moto_server and of SeaweedFS, checked with
//! boto3 (not our client).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use sha2::{Digest, Sha256};

mod common;
use common::{Killed, S3Store, bin, depends_on, events, gen_all, of, run_ok};

const BUCKET: &str = "emission";
const PREFIX: &str = "state-ka";

fn moto() -> S3Store {
    let store = S3Store::moto();
    store.create_bucket(BUCKET);
    store
}

fn seaweedfs() -> S3Store {
    S3Store::seaweedfs(&[BUCKET])
}

/// `cqube-emit emit --s3 s3://emission/state-ka` against `store`, its credentials in the `AWS_*` variables as a
/// user would give them, and the journal in `journal`.
fn emit(store: &S3Store, journal: &Path, args: &[&str]) -> Command {
    let mut cmd = bin();
    for var in ["AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "CQUBE_EMIT_S3"] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_ACCESS_KEY_ID", &store.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &store.secret_access_key)
        .env("AWS_REGION", &store.region)
        .env("AWS_CONFIG_FILE", journal.join("no-aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", journal.join("no-aws-credentials"))
        .env("CQUBE_EMIT_JOURNAL_DIR", journal);
    cmd.arg("emit").args(["--s3", &format!("s3://{BUCKET}/{PREFIX}"), "--s3-endpoint", &store.endpoint]);
    cmd.arg("--s3-path-style").args(args);
    cmd
}

/// Whether `key` is `state-ka/<dir>/<stem>_YYYYmmddHHMMSS.zip` for `filename` = `<dir>/<stem>.zip`.
fn named_as_cqube_does(key: &str, filename: &str) -> bool {
    let stem = filename.strip_suffix(".zip").unwrap();
    key.strip_prefix(&format!("{PREFIX}/{stem}_"))
        .and_then(|rest| rest.strip_suffix(".zip"))
        .is_some_and(|stamp| stamp.len() == 14 && stamp.bytes().all(|b| b.is_ascii_digit()))
}

/// The emitted zips in the bucket (the state objects under `.cqube-emit/` left out).
fn zips(store: &S3Store) -> Vec<(String, u64)> {
    let objects = store.objects(BUCKET, &format!("{PREFIX}/"));
    let (state, zips): (Vec<_>, Vec<_>) =
        objects.into_iter().partition(|(k, _)| k.starts_with(&format!("{PREFIX}/.cqube-emit/")));
    let json = |k: &str| Path::new(k).extension().is_some_and(|e| e == "json");
    assert!(state.iter().all(|(k, _)| json(k)), "state objects are JSON, never zips: {state:?}");
    zips
}

fn a_folder_lands_in_dependency_order_byte_identical(store: &S3Store) {
    let work = tempfile::tempdir().unwrap();
    let journal = work.path().join("journal");
    let dir = work.path().join("cqube_emission");
    let generated = gen_all(&dir, "200");

    let dry = emit(store, &journal, &["--dry-run", dir.to_str().unwrap()]).output().unwrap();
    assert!(dry.status.success());
    let said = String::from_utf8_lossy(&dry.stderr);
    assert!(said.contains(&format!("would deliver to s3://{BUCKET}/{PREFIX} (direct S3")), "{said}");
    assert!(store.objects(BUCKET, "").is_empty(), "a dry run sends nothing");

    let out = run_ok(emit(store, &journal, &["--json", "--jobs", "3", dir.to_str().unwrap()]));
    let events = events(&out);
    let deps = depends_on();
    // Event order is the order things happened in: a file starts only after its dependencies' acknowledgements.
    let mut acked: BTreeMap<String, Value> = BTreeMap::new();
    let mut edges = 0;
    for e in &events {
        let source = e["source"].as_str().unwrap_or_default().to_owned();
        match e["event"].as_str().unwrap() {
            "file_started" => {
                for dep in deps[&source].iter().filter(|d| generated.contains_key(*d)) {
                    assert!(acked.contains_key(dep), "{source} started before {dep} was acknowledged");
                    edges += 1;
                }
            }
            "file_acknowledged" => {
                acked.insert(source, e["ack"].clone());
            }
            _ => {}
        }
    }
    assert!(edges > 50, "the plan has many dependency edges ({edges})");
    assert_eq!(acked.len(), generated.len(), "every file is acknowledged");
    let filenames: BTreeMap<String, String> = of(&events, "file_started")
        .iter()
        .map(|e| (e["source"].as_str().unwrap().to_owned(), e["filename"].as_str().unwrap().to_owned()))
        .collect();

    let in_bucket = zips(store);
    assert_eq!(in_bucket.len(), generated.len(), "one object per file: {in_bucket:?}");
    let stored = store.sha256s(BUCKET, &format!("{PREFIX}/"));
    for (source, ack) in &acked {
        let key = ack["key"].as_str().unwrap();
        assert!(named_as_cqube_does(key, &filenames[source]), "{key} for {}", filenames[source]);
        let sent = std::fs::read(&generated[source]).unwrap();
        assert_eq!(ack["bytes"], sent.len(), "{source}");
        let sha256 = hex::encode(Sha256::digest(&sent));
        assert_eq!(stored[key], sha256, "{key} is not byte-identical to {}", generated[source].display());
        assert_eq!(ack["sha256"], sha256);
    }
    assert_eq!(store.open_multipart_uploads(BUCKET), 0);
    let summary = of(&events, "summary")[0];
    assert_eq!(summary["exit_status"], 0);
    assert!(!journal.read_dir().unwrap().any(|_| true), "a finished job leaves no journal");
}

#[test]
fn on_moto_a_folder_lands_in_dependency_order_byte_identical() {
    a_folder_lands_in_dependency_order_byte_identical(&moto());
}

#[test]
fn on_seaweedfs_a_folder_lands_in_dependency_order_byte_identical() {
    a_folder_lands_in_dependency_order_byte_identical(&seaweedfs());
}

/// A `student_attendance` zip of at least three 5 MiB parts, corrupted at 80 %: parts are stored before the
/// damage is read, so the emission fails mid-upload.
fn a_failure_mid_upload_leaves_no_incomplete_upload(store: &S3Store) {
    let work = tempfile::tempdir().unwrap();
    let zip = work.path().join("student_attendance.zip");
    let args = ["gen", "--source", "student_attendance", "--rows", "300000", "--format", "zip", "--level", "0", "-o"];
    run_ok(bin().args(args).arg(&zip));
    let mut bytes = std::fs::read(&zip).unwrap();
    assert!(bytes.len() > 15 << 20, "{} bytes", bytes.len());
    let at = bytes.len() * 4 / 5;
    bytes[at..at + 64].iter_mut().for_each(|b| *b ^= 0x5a);
    std::fs::write(&zip, &bytes).unwrap();

    let out = emit(store, &work.path().join("journal"), &["--json", "--part-size-bytes", "5242880"])
        .arg(&zip)
        .output()
        .unwrap();
    let events = events(std::str::from_utf8(&out.stdout).unwrap());
    assert!(!of(&events, "part_done").is_empty(), "parts were stored before the failure");
    assert_eq!(of(&events, "file_failed").len(), 1);
    assert_eq!(out.status.code(), Some(3), "an input error: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(store.open_multipart_uploads(BUCKET), 0, "the upload was aborted");
    assert!(zips(store).is_empty());
}

#[test]
fn on_moto_a_failure_mid_upload_leaves_no_incomplete_upload() {
    a_failure_mid_upload_leaves_no_incomplete_upload(&moto());
}

#[test]
fn on_seaweedfs_a_failure_mid_upload_leaves_no_incomplete_upload() {
    a_failure_mid_upload_leaves_no_incomplete_upload(&seaweedfs());
}

/// Reads `child`'s JSON events until `stop` says so.
fn watch(child: &mut Child, mut stop: impl FnMut(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let event: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let done = stop(&event);
        seen.push(event);
        if done {
            break;
        }
    }
    seen
}

#[test]
fn on_seaweedfs_sigterm_aborts_the_upload_in_progress() {
    let store = seaweedfs();
    let work = tempfile::tempdir().unwrap();
    let csv = work.path().join("student_attendance.csv");
    run_ok(bin().args(["gen", "--source", "student_attendance", "--rows", "100000", "-o"]).arg(&csv));
    let data = std::fs::read(&csv).unwrap();
    // Stored entries (level 0) make a first 5 MiB part; stdin stays open, so the emission is still going.
    let args = ["--json", "--source", "student_attendance", "--part-size-bytes", "5242880", "--level", "0", "-"];
    let mut cmd = emit(&store, &work.path().join("journal"), &args);
    let mut child = Killed(cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap());
    let mut stdin = child.0.stdin.take().unwrap();
    stdin.write_all(&data).unwrap();
    let seen = watch(&mut child.0, |e| e["event"] == "part_done");
    assert!(!of(&seen, "part_done").is_empty(), "a part was stored before the signal");
    assert_eq!(store.open_multipart_uploads(BUCKET), 1);
    assert!(Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap().success());
    assert_eq!(child.0.wait().unwrap().code(), Some(130));
    drop(stdin);
    assert_eq!(store.open_multipart_uploads(BUCKET), 0, "the upload was aborted");
    assert!(zips(&store).is_empty());
}

/// SIGKILL after the first part of a converted export (level 0, 5 MiB parts, 3+ of them), then `emit --resume`:
/// the stored parts are not sent again, and the one object is the same zip an uninterrupted run makes.
fn a_killed_emission_resumes_to_one_byte_identical_object(store: &S3Store) {
    let work = tempfile::tempdir().unwrap();
    let journal = work.path().join("journal");
    let csv = work.path().join("student_attendance.csv");
    run_ok(bin().args(["gen", "--source", "student_attendance", "--rows", "200000", "-o"]).arg(&csv));
    let args = [
        "--json",
        "--source",
        "student_attendance",
        "--part-size-bytes",
        "5242880",
        "--parts-in-flight",
        "1",
        "--level",
        "0",
    ];
    // What the object must be: the same conversion, made without sending (one fixed zip time for both).
    let expected = work.path().join("expected.zip");
    let convert = ["convert", "--source", "student_attendance", "--level", "0", "-o"];
    run_ok(bin().env("SOURCE_DATE_EPOCH", "1722161700").args(convert).arg(&expected).arg(&csv));
    let expected = std::fs::read(&expected).unwrap();
    assert!(expected.len() > 15 << 20, "{} bytes: at least 3 parts", expected.len());

    let mut cmd = emit(store, &journal, &args);
    cmd.env("SOURCE_DATE_EPOCH", "1722161700").arg(&csv).stdout(Stdio::piped());
    let mut child = Killed(cmd.spawn().unwrap());
    let seen = watch(&mut child.0, |e| e["event"] == "part_done");
    child.0.kill().unwrap(); // SIGKILL
    child.0.wait().unwrap();
    let stored: BTreeSet<u64> = of(&seen, "part_done").iter().map(|e| e["part_number"].as_u64().unwrap()).collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(store.open_multipart_uploads(BUCKET), 1, "the killed run's upload is open");

    let out = run_ok(emit(store, &journal, &args).arg("--resume").arg(&csv));
    let events = events(&out);
    let parts = of(&events, "part_done");
    assert!(parts.len() >= 3, "{} parts", parts.len());
    for e in &parts {
        let n = e["part_number"].as_u64().unwrap();
        assert_eq!(e["skipped"] == true, stored.contains(&n), "part {n}: stored parts are not sent again");
    }
    let key = of(&events, "file_acknowledged")[0]["ack"]["key"].as_str().unwrap().to_owned();
    assert_eq!(zips(store), [(key.clone(), expected.len() as u64)], "exactly one object");
    assert!(store.get(BUCKET, &key) == expected, "the object is the uninterrupted conversion, byte for byte");
    assert_eq!(store.open_multipart_uploads(BUCKET), 0);
}

#[test]
fn on_moto_a_killed_emission_resumes_to_one_byte_identical_object() {
    a_killed_emission_resumes_to_one_byte_identical_object(&moto());
}

#[test]
fn on_seaweedfs_a_killed_emission_resumes_to_one_byte_identical_object() {
    a_killed_emission_resumes_to_one_byte_identical_object(&seaweedfs());
}

#[test]
fn s3_and_api_together_are_a_usage_error_and_config_show_names_the_s3_settings() {
    let out = bin().args(["emit", "--s3", "s3://b", "--api", "http://x/data", "x.zip"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--api"));

    let work = tempfile::tempdir().unwrap();
    let zip = work.path().join("school_master.zip");
    run_ok(bin().args(["gen", "--source", "school_master", "--rows", "5", "--format", "zip", "-o"]).arg(&zip));
    let out = bin()
        .env("CQUBE_EMIT_S3", "s3://b")
        .env("CQUBE_EMIT_API", "http://x/data")
        .env("CQUBE_EMIT_TOKEN", "t")
        .arg("emit")
        .arg(&zip)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("choose one") && said.contains("CQUBE_EMIT_S3"), "{said}");

    let shown = run_ok(bin().env("CQUBE_EMIT_S3", "s3://b/p").args(["config", "show", "--json"]));
    let v: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(
        (&v["emit"]["s3"]["value"], &v["emit"]["s3"]["origin"]),
        (&"s3://b/p".into(), &"env CQUBE_EMIT_S3".into())
    );
    assert_eq!(
        (&v["emit"]["s3_path_style"]["value"], &v["emit"]["s3_endpoint"]["value"]),
        (&false.into(), &Value::Null)
    );
}

#[test]
fn on_seaweedfs_a_wrong_secret_fails_at_once_as_a_permanent_error() {
    let store = seaweedfs();
    let work = tempfile::tempdir().unwrap();
    let zip = work.path().join("school_master.zip");
    run_ok(bin().args(["gen", "--source", "school_master", "--rows", "5", "--format", "zip", "-o"]).arg(&zip));
    let mut cmd = emit(&store, &work.path().join("journal"), &["--json"]);
    let out = cmd.env("AWS_SECRET_ACCESS_KEY", "not-the-secret").arg(&zip).output().unwrap();
    let events = events(std::str::from_utf8(&out.stdout).unwrap());
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{said}");
    assert!(of(&events, "part_retried").is_empty(), "access errors are not retried");
    let error = of(&events, "file_failed")[0]["error"].as_str().unwrap().to_owned();
    assert!(error.contains("403") && !error.contains("not-the-secret"), "{error}");
    assert!(zips(&store).is_empty());
}

/// A run whose completion reached S3 but never reached the journal (a crash between the two): the next run's abort
/// of that upload finds the object and its acknowledgement in the bucket's state, so the file is not sent twice.
#[test]
fn on_moto_a_completion_the_journal_missed_is_taken_not_sent_twice() {
    let store = moto();
    let work = tempfile::tempdir().unwrap();
    let journal = work.path().join("journal");
    let (school, attendance) = (work.path().join("school_master.zip"), work.path().join("student_attendance.zip"));
    run_ok(bin().args(["gen", "--source", "school_master", "--rows", "50", "--format", "zip", "-o"]).arg(&school));
    run_ok(
        bin()
            .args(["gen", "--source", "student_attendance", "--rows", "500", "--format", "zip", "-o"])
            .arg(&attendance),
    );
    // A damaged dependent fails after school_master is acknowledged, so the journal is kept.
    let mut bytes = std::fs::read(&attendance).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 32].iter_mut().for_each(|b| *b ^= 0x5a);
    std::fs::write(&attendance, bytes).unwrap();
    let inputs = [school.to_str().unwrap(), attendance.to_str().unwrap()];

    let first = emit(&store, &journal, &["--json"]).args(inputs).output().unwrap();
    assert_eq!(first.status.code(), Some(1), "{}", String::from_utf8_lossy(&first.stderr));
    let first = events(std::str::from_utf8(&first.stdout).unwrap());
    let ack = &of(&first, "file_acknowledged")[0]["ack"];
    assert_eq!(ack["source"], "school_master");
    let file = journal.read_dir().unwrap().next().unwrap().unwrap().path();
    let lines = std::fs::read_to_string(&file).unwrap();
    let kept: Vec<&str> =
        lines.lines().filter(|l| !(l.contains("\"type\":\"done\"") && l.contains("school_master"))).collect();
    assert_eq!(kept.len() + 1, lines.lines().count(), "the journal had school_master's acknowledgement");
    std::fs::write(&file, kept.join("\n") + "\n").unwrap();

    let again = emit(&store, &journal, &["--json"]).args(inputs).output().unwrap();
    let again = events(std::str::from_utf8(&again.stdout).unwrap());
    let taken = of(&again, "file_acknowledged");
    assert_eq!((taken.len(), &taken[0]["already"]), (1, &Value::Bool(true)), "{again:?}");
    assert_eq!(taken[0]["ack"], *ack, "the acknowledgement is the first run's, from the bucket");
    assert!(of(&again, "part_done").iter().all(|e| e["source"] != "school_master"), "nothing sent again");
    assert_eq!(zips(&store).len(), 1, "one school_master object");
    assert_eq!(store.open_multipart_uploads(BUCKET), 0);
}

#[test]
fn on_moto_files_of_one_source_sent_at_once_get_distinct_keys_a_second_apart() {
    let store = moto();
    let work = tempfile::tempdir().unwrap();
    let mut inputs = Vec::new();
    for n in 0..3 {
        let csv = work.path().join(format!("att_{n}.csv"));
        run_ok(
            bin()
                .args(["gen", "--source", "student_attendance", "--rows", "100", "--seed", &n.to_string(), "-o"])
                .arg(&csv),
        );
        inputs.push(csv);
    }
    let args = ["--json", "--jobs", "3", "--source", "student_attendance"];
    let events = events(&run_ok(emit(&store, &work.path().join("journal"), &args).args(&inputs)));
    let keys: BTreeSet<String> =
        of(&events, "file_acknowledged").iter().map(|e| e["ack"]["key"].as_str().unwrap().to_owned()).collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert_eq!(zips(&store).into_iter().map(|(k, _)| k).collect::<BTreeSet<_>>(), keys);
    assert!(keys.iter().all(|k| named_as_cqube_does(k, "student_attendance/student_attendance.zip")), "{keys:?}");
}
