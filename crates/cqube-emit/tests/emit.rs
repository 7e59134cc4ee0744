//! End-to-end tests of `cqube-emit emit`, `plan`, `resume` and `verify` through `cqube-emit serve`, on the embedded
//! store and on moto_server.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use cqube_testkit::proxy::{Fault, FaultyProxy};
use serde_json::Value;

mod common;
use common::{
    Killed, MIB, Server, assert_bounded, bin, convert_with_peak, depends_on, events, free_port, gen_all, of, run_ok,
    watch, without_zip_times,
};

/// A `student_attendance` zip of `rows` rows at deflate level 1 (fast to make, big enough for many parts).
fn gen_attendance_zip(rows: &str, out: &Path) {
    let args = ["gen", "--source", "student_attendance", "--rows", rows, "--format", "zip", "--level", "1", "-o"];
    run_ok(bin().args(args).arg(out));
}

#[test]
fn every_generated_source_is_emitted_in_dependency_order_and_verifies() {
    let server = Server::start(false);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("cqube_emission");
    let generated = gen_all(&dir, "300");

    let dry = run_ok(server.emit(&["--dry-run", dir.to_str().unwrap()]));
    assert_eq!(dry.lines().count(), generated.len() + 1, "the plan, then the protocol");
    assert!(dry.lines().all(|l| l.starts_with("(dry-run) ")), "{dry}");
    assert!(dry.lines().last().unwrap().starts_with("(dry-run) protocol multipart: the API lists multipart"), "{dry}");
    assert!(server.keys().is_empty(), "a dry run sends nothing");
    let tree = run_ok(bin().args(["plan", dir.to_str().unwrap()]));
    assert!(tree.contains("└── cluster_master"), "{tree}");

    let out = run_ok(server.emit(&["--json", "--jobs", "3", dir.to_str().unwrap()]));
    let events = events(&out);
    let acks: BTreeMap<String, &Value> = of(&events, "file_acknowledged")
        .iter()
        .map(|e| (e["source"].as_str().unwrap().to_owned(), &e["ack"]))
        .collect();
    assert_eq!(acks.len(), generated.len(), "every generated file is acknowledged");
    let deps = depends_on();
    let mut checked = 0;
    for (source, ack) in &acks {
        for dep in &deps[source] {
            if let Some(dep_ack) = acks.get(dep) {
                // RFC 3339 in UTC with milliseconds: text order is time order.
                let (done, started) = (dep_ack["completed_at"].as_str().unwrap(), ack["started_at"].as_str().unwrap());
                assert!(done <= started, "{dep} completed at {done}, after {source} started at {started}");
                checked += 1;
            }
        }
        let zip = std::fs::read(&generated[source]).unwrap();
        assert_eq!(ack["bytes"], zip.len(), "{source}");
    }
    assert!(checked > 50, "the plan has many dependency edges ({checked})");
    let summary = of(&events, "summary")[0];
    assert_eq!((summary["acknowledged"].as_u64(), summary["exit_status"].as_u64()), (Some(acks.len() as u64), Some(0)));

    // What was sent is what was generated, byte for byte, and verify agrees.
    let key = acks["school_master"]["key"].as_str().unwrap();
    assert_eq!(server.download(key), std::fs::read(&generated["school_master"]).unwrap());
    let verified = run_ok(bin().args(["verify", key, "--json", "--api", &server.base, "--token", &server.token]));
    assert_eq!(events_of(verified.as_bytes())[0]["rows"], acks["school_master"]["rows"]);
    assert!(!server.dir.path().join("journal").read_dir().unwrap().any(|_| true), "a finished job leaves no journal");
}

#[test]
fn on_moto_a_bad_file_fails_with_its_dependents_only_and_leaves_no_upload_behind() {
    let server = Server::start(true);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("cqube_emission");
    let generated = gen_all(&dir, "200");
    // A big zip corrupted at 80%: parts are stored before the damage is read. (A source that refers to a master,
    // such as student_attendance, is read whole before its first byte to look its codes up: diksha_tpd is not.)
    let att = &generated["diksha_tpd"];
    let big = ["gen", "--source", "diksha_tpd", "--rows", "300000", "--format", "zip", "--level", "1", "-o"];
    run_ok(bin().args(big).arg(att));
    let mut zip = std::fs::read(att).unwrap();
    assert!(zip.len() > 3 * 5 * MIB, "{} bytes", zip.len());
    let at = zip.len() * 4 / 5;
    zip[at..at + 64].iter_mut().for_each(|b| *b ^= 0x5a);
    std::fs::write(att, &zip).unwrap();
    // And a master with dependents whose zip is another source's.
    let block = &generated["periodic_exam_mst"];
    run_ok(
        bin()
            .args(["gen", "--source", "cluster_master", "--rows", "5", "--format", "zip", "-o"])
            .arg(work.path().join("c.zip")),
    );
    let wrong = std::fs::read(work.path().join("c.zip")).unwrap();
    std::fs::write(block, wrong).unwrap();

    let out = server
        .emit(&["--json", "--part-size-bytes", &(5 * MIB).to_string(), "--parts-in-flight", "2", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "partial: {}", String::from_utf8_lossy(&out.stderr));
    let events = events(&String::from_utf8(out.stdout).unwrap());
    let failed: BTreeSet<&str> = of(&events, "file_failed").iter().map(|e| e["source"].as_str().unwrap()).collect();
    assert_eq!(failed, BTreeSet::from(["diksha_tpd", "periodic_exam_mst"]));
    let att_parts = of(&events, "part_done").iter().filter(|e| e["source"] == "diksha_tpd").count();
    assert!(att_parts >= 2, "diksha_tpd failed after {att_parts} parts were stored");
    let skipped: Vec<&Value> = of(&events, "file_skipped");
    let skipped_names: BTreeSet<&str> = skipped.iter().map(|e| e["source"].as_str().unwrap()).collect();
    // Exactly the sources that depend, directly or not, on a failed one.
    let deps = depends_on();
    let mut blocked: BTreeSet<&str> = failed.clone();
    while let Some(next) = deps.iter().find(|(s, d)| {
        !blocked.contains(s.as_str()) && generated.contains_key(*s) && d.iter().any(|d| blocked.contains(d.as_str()))
    }) {
        blocked.insert(next.0);
    }
    let expected: BTreeSet<&str> = blocked.difference(&failed).copied().collect();
    assert!(expected.contains("periodic_exam_result_trans"));
    assert_eq!(skipped_names, expected);
    assert!(skipped[0]["reason"].as_str().unwrap().contains("periodic_exam_mst"), "{}", skipped[0]);
    let acked: BTreeSet<&str> =
        of(&events, "file_acknowledged").iter().map(|e| e["source"].as_str().unwrap()).collect();
    assert!(acked.contains("district_master"));
    assert_eq!(acked.len() + failed.len() + skipped.len(), generated.len());

    let keys = server.keys();
    // The bucket holds the acknowledged objects and nothing else: no partial object of a failed file.
    let acked_keys: BTreeSet<&str> =
        of(&events, "file_acknowledged").iter().map(|e| e["ack"]["key"].as_str().unwrap()).collect();
    assert_eq!(keys.iter().map(String::as_str).collect::<BTreeSet<_>>(), acked_keys);
    let endpoint = server.moto_endpoint.as_deref().unwrap();
    let uploads = run_ok(Command::new("python3").args([
        "-c",
        "import sys,boto3; s3=boto3.client('s3',endpoint_url=sys.argv[1],region_name='us-east-1',\
         aws_access_key_id='testing',aws_secret_access_key='testing'); \
         print(len(s3.list_multipart_uploads(Bucket='cqube-emission').get('Uploads',[])))",
        endpoint,
    ]));
    assert_eq!(uploads.trim(), "0", "aborted uploads leave nothing behind");
}

#[test]
fn a_300_mb_export_streams_through_many_parts_in_bounded_memory_without_touching_disk() {
    let server = Server::start(false);
    let work = tempfile::tempdir().unwrap();
    let csv = work.path().join("att.csv");
    run_ok(bin().args(["gen", "--source", "student_attendance", "--rows", "2500000", "-o"]).arg(&csv));
    assert!(std::fs::metadata(&csv).unwrap().len() > 280_000_000);

    // The engine's own footprint (`convert` to a pipe) is the formula's constant.
    let (reference, convert_hwm) = convert_with_peak(&csv);

    let (part_size, in_flight) = (5 * MIB, 4);
    let mut child = Killed(
        server
            .emit(&["--json", "--source", "student_attendance", "--jobs", "1"])
            .args(["--part-size-bytes", &part_size.to_string(), "--parts-in-flight", &in_flight.to_string()])
            .arg(&csv)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (events, hwm, written) = watch(&mut child.0, |e| e["event"] == "summary");
    assert!(child.0.wait().unwrap().success());
    let parts = of(&events, "part_done").len();
    assert!(parts >= 10, "{parts} parts");
    let ack = &of(&events, "file_acknowledged")[0]["ack"];
    let object = server.download(ack["key"].as_str().unwrap());
    assert_eq!(object.len(), reference.len());
    assert!(without_zip_times(object) == without_zip_times(reference), "the object is convert's zip, byte for byte");

    assert_bounded("emit", hwm, convert_hwm, (in_flight + 2) * part_size, written);
}

#[test]
fn a_killed_emission_resumes_without_resending_stored_parts_and_ends_byte_identical() {
    let server = Server::start(false);
    let work = tempfile::tempdir().unwrap();
    let csv = work.path().join("student_attendance.csv");
    run_ok(bin().args(["gen", "--source", "student_attendance", "--rows", "700000", "-o"]).arg(&csv));
    let args = [
        "--json",
        "--source",
        "student_attendance",
        "--part-size-bytes",
        "5242880",
        "--parts-in-flight",
        "2",
        "--level",
        "1",
    ];

    // Uninterrupted, with its own journal directory (so it is a separate job).
    let mut whole = server.emit(&args);
    whole.arg(&csv).arg("--journal-dir").arg(work.path().join("other-journal"));
    let whole_events = events(&run_ok(&mut whole));
    let whole_key = of(&whole_events, "file_acknowledged")[0]["ack"]["key"].as_str().unwrap().to_owned();
    let total_parts = of(&whole_events, "part_done").len();
    assert!(total_parts >= 5, "{total_parts} parts");

    let mut uploaded_before: BTreeSet<u64> = BTreeSet::new();
    for (kill_after, resume) in [(1, false), (2, true)] {
        let mut cmd = server.emit(&args);
        if resume {
            cmd.arg("--resume");
        }
        let mut child = Killed(cmd.arg(&csv).stdout(Stdio::piped()).spawn().unwrap());
        let mut fresh = 0;
        let (events, _, _) = watch(&mut child.0, |e| {
            fresh += usize::from(e["event"] == "part_done" && e["skipped"] == false);
            fresh >= kill_after
        });
        child.0.kill().unwrap(); // SIGKILL
        child.0.wait().unwrap();
        for e in of(&events, "part_done") {
            let n = e["part_number"].as_u64().unwrap();
            if e["skipped"] == true {
                assert!(uploaded_before.contains(&n), "part {n} skipped but never stored");
            } else {
                assert!(!uploaded_before.contains(&n), "part {n} was uploaded twice");
                uploaded_before.insert(n);
            }
        }
    }
    assert!(uploaded_before.len() >= 3);

    // The last run by job id, as an operator would after a crash: `resume` reads what to do from the journal.
    let job = of(&whole_events, "job_started")[0]["job"].as_str().unwrap().to_owned();
    let mut resume = bin();
    resume.args(["resume", &job, "--json"]).env("CQUBE_EMIT_TOKEN", &server.token);
    resume.env("CQUBE_EMIT_JOURNAL_DIR", server.dir.path().join("journal"));
    let events = events(&run_ok(resume));
    for e in of(&events, "part_done") {
        let n = e["part_number"].as_u64().unwrap();
        assert_eq!(e["skipped"] == true, uploaded_before.contains(&n), "part {n}");
    }
    assert_eq!(of(&events, "part_done").len(), total_parts);
    let key = of(&events, "file_acknowledged")[0]["ack"]["key"].as_str().unwrap().to_owned();
    assert!(without_zip_times(server.download(&key)) == without_zip_times(server.download(&whole_key)));
}

#[test]
fn part_uploads_survive_resets_slowdowns_errors_delays_and_expired_urls() {
    let server = Server::start_with(false, &[("CQUBE_EMIT_SERVER_PRESIGN_EXPIRY_SECONDS", "1")]);
    let work = tempfile::tempdir().unwrap();
    let zip = work.path().join("student_attendance.zip");
    gen_attendance_zip("400000", &zip);
    // Every sixth part PUT from the first: reset, pass, SlowDown, held past its 1-second URL, 500, pass.
    let proxy = FaultyProxy::start(|n| match n % 6 {
        0 => Fault::Reset,
        2 => Fault::SlowDown,
        3 => Fault::Delay(Duration::from_millis(2200)),
        4 => Fault::ServerError,
        _ => Fault::Pass,
    });
    let out = run_ok(
        server
            .emit(&["--json", "--part-size-bytes", "5242880", "--parts-in-flight", "3"])
            .arg(&zip)
            .env("HTTP_PROXY", proxy.url())
            .env("NO_PROXY", ""),
    );
    let events = events(&out);
    assert!(proxy.faults() >= 3, "faults injected: {}", proxy.faults());
    assert!(proxy.expired() >= 1, "a held-back PUT met an expired URL and was presigned again");
    let ack = &of(&events, "file_acknowledged")[0]["ack"];
    assert_eq!(server.download(ack["key"].as_str().unwrap()), std::fs::read(&zip).unwrap());
}

#[test]
fn stdin_and_config_globs_are_converted_and_errors_have_their_exit_codes() {
    let server = Server::start(false);
    let work = tempfile::tempdir().unwrap();
    let exports = work.path().join("exports");
    std::fs::create_dir_all(&exports).unwrap();
    for month in ["07", "08"] {
        run_ok(
            bin()
                .args(["gen", "--source", "student_attendance", "--rows", "500", "--seed", month, "-o"])
                .arg(exports.join(format!("att_{month}.csv"))),
        );
    }
    let config = work.path().join("cqube-emit.toml");
    std::fs::write(&config, "[[source]]\nname = \"student_attendance\"\npath = \"exports/att_*.csv\"\n").unwrap();
    let out = run_ok(server.emit(&["--json"]).arg("--config").arg(&config));
    let events = events(&out);
    let acks = of(&events, "file_acknowledged");
    assert_eq!(acks.len(), 2);
    assert!(acks.iter().all(|a| a["ack"]["rows"] == 500));

    // --normalize: a zip re-encoded through the engine carries the same rows.
    let zip = work.path().join("student_attendance.zip");
    run_ok(bin().args(["convert", "--source", "student_attendance", "-o"]).arg(&zip).arg(exports.join("att_08.csv")));
    let out = run_ok(server.emit(&["--json", "--normalize"]).arg(&zip));
    assert_eq!(of(&events_of(out.as_bytes()), "file_acknowledged")[0]["ack"]["rows"], 500);

    let csv = std::fs::read(exports.join("att_07.csv")).unwrap();
    let mut child = server
        .emit(&["--json", "--source", "student_attendance", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&csv).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(of(&events_of(&out.stdout), "file_acknowledged")[0]["ack"]["rows"], 500);

    let code = |cmd: &mut Command| cmd.output().unwrap().status.code();
    assert_eq!(
        code(bin().args(["emit", "--api", &server.base, "--token", "cqe_bad"]).arg(&exports)),
        Some(2),
        "nothing to emit in a dir of raw files"
    );
    let mut wrong_token = bin();
    wrong_token.args([
        "emit",
        "--api",
        &server.base,
        "--token",
        "cqe_000000000000_00",
        "--source",
        "student_attendance",
    ]);
    wrong_token.arg(exports.join("att_07.csv")).arg("--journal-dir").arg(work.path().join("j"));
    assert_eq!(code(&mut wrong_token), Some(5), "a refused token is permanent");
    let quiet = wrong_token.arg("-q").output().unwrap();
    assert_eq!(quiet.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&quiet.stderr);
    assert!(stderr.contains("failed student_attendance: ") && stderr.contains("401"), "-q keeps errors: {stderr:?}");
    let mut no_server = bin();
    no_server.args([
        "emit",
        "--api",
        &format!("http://127.0.0.1:{}/data", free_port()),
        "--token",
        "x",
        "--max-retries",
        "1",
    ]);
    no_server
        .args(["--source", "student_attendance"])
        .arg(exports.join("att_07.csv"))
        .arg("--journal-dir")
        .arg(work.path().join("j"));
    assert_eq!(code(&mut no_server), Some(4), "an unreachable API is transient");
}

#[test]
fn with_source_date_epoch_an_emitted_export_is_byte_identical_to_convert() {
    let server = Server::start(false);
    let work = tempfile::tempdir().unwrap();
    let csv = work.path().join("student_attendance.csv");
    run_ok(bin().args(["gen", "--source", "student_attendance", "--rows", "2000", "-o"]).arg(&csv));
    let zip = work.path().join("student_attendance.zip");
    let epoch = ("SOURCE_DATE_EPOCH", "1700000000");
    run_ok(bin().env(epoch.0, epoch.1).args(["convert", "--source", "student_attendance", "-o"]).arg(&zip).arg(&csv));
    let converted = std::fs::read(&zip).unwrap();
    let emitted = |env: Option<(&str, &str)>| {
        let mut cmd = server.emit(&["--json", "--source", "student_attendance"]);
        cmd.envs(env).arg(&csv).arg("--journal-dir").arg(work.path().join(format!("journal-{}", env.is_some())));
        let events = events(&run_ok(cmd));
        server.download(of(&events, "file_acknowledged")[0]["ack"]["key"].as_str().unwrap())
    };
    assert!(emitted(Some(epoch)) == converted, "the emitted object is the converted zip, byte for byte");
    let now = emitted(None);
    assert!(now != converted && without_zip_times(now) == without_zip_times(converted), "only the time differs");
}

fn events_of(stdout: &[u8]) -> Vec<Value> {
    events(std::str::from_utf8(stdout).unwrap())
}

#[test]
fn sigterm_aborts_the_uploads_in_progress_and_exits_130() {
    let server = Server::start(false);
    let work = tempfile::tempdir().unwrap();
    let csv = work.path().join("student_attendance.csv");
    run_ok(bin().args(["gen", "--source", "student_attendance", "--rows", "100000", "-o"]).arg(&csv));
    let data = std::fs::read(&csv).unwrap();
    // Stored entries (level 0) so the 12 MB written make a first 5 MiB part; stdin stays open, so the emission
    // is still going when SIGTERM comes.
    let args = ["--json", "--source", "student_attendance", "--part-size-bytes", "5242880", "--level", "0", "-"];
    let mut child = Killed(server.emit(&args).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap());
    let mut stdin = child.0.stdin.take().unwrap();
    stdin.write_all(&data).unwrap();
    let (seen, _, _) = watch(&mut child.0, |e| e["event"] == "part_done");
    assert!(!of(&seen, "part_done").is_empty(), "a part was stored before the signal");
    let term = Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
    assert!(term.success());
    let status = child.0.wait().unwrap();
    drop(stdin);
    assert_eq!(status.code(), Some(130));

    // The server's own record (its database, read with Python's sqlite3): the upload was aborted, not left open.
    assert_eq!(server.upload_states(), ["aborted"]);
    assert!(server.keys().is_empty(), "no object");
}

/// The summary offers `resume` only where running again can help: after a refused connection (transient), not
/// after a refused token (permanent), which needs a new token first.
#[test]
fn the_resume_hint_appears_only_for_failures_resuming_can_fix() {
    let work = tempfile::tempdir().unwrap();
    let csv = work.path().join("district_master.csv");
    run_ok(bin().args(["gen", "--source", "district_master", "--rows", "3", "-o"]).arg(&csv));
    let emit = |api: &str, token: &str| {
        let mut cmd = bin();
        // multipart: the job starts (and keeps a journal) without first asking the API what it speaks
        cmd.args(["emit", "--no-progress", "--max-retries", "0", "--protocol", "multipart"]);
        cmd.args(["--source", "district_master"]).arg(&csv);
        cmd.env("CQUBE_EMIT_API", api).env("CQUBE_EMIT_TOKEN", token);
        cmd.env("CQUBE_EMIT_JOURNAL_DIR", work.path().join("journal"));
        let out = cmd.output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = emit(&format!("http://127.0.0.1:{}/data", free_port()), "cqe_x");
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("hint: running again can help; the journal is kept: cqube-emit resume"), "{err}");
    assert!(err.contains("hint: nothing answers at that address"), "{err}");

    let server = Server::start(false);
    let (code, err) = emit(&server.base, "cqe_0123456789ab_wrongsecret");
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("401") && !err.contains("cqube-emit resume"), "{err}");
    assert!(err.contains("hint: check the token") && err.contains("cqube-emit token create"), "{err}");
}

#[test]
fn issue_16_emit_infers_as_convert_does_and_shows_rejected_and_warned_rows_per_file() {
    let server = Server::start(false);
    let work = tempfile::tempdir().unwrap();
    // Named by nothing: the header says district_master, as `convert` would infer it.
    let export = work.path().join("export_2024.csv");
    std::fs::write(
        &export,
        "district_name|udise_district_code|inityear|is_active\nD1|7501|2001|1\nD2|75x1|1995-96|1\nD3|7503|1995-96|1\n",
    )
    .unwrap();
    let rejects = work.path().join("rejects.csv");
    let out = server
        .emit(&[
            "--on-error",
            "skip",
            "--no-progress",
            "--rejects",
            rejects.to_str().unwrap(),
            export.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a rejected row makes the run partial: {stderr}");
    let row = stderr.lines().find(|l| l.starts_with("district_master ")).unwrap_or_else(|| panic!("{stderr}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[1..5], ["acknowledged", "2", "1", "1"], "rows, rejected, warned: {row}");
    assert!(
        stderr.contains("1 rows rejected (left out; --rejects FILE lists them), 1 rows sent with warnings"),
        "{stderr}"
    );
    let report = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 2, "{report}");
    assert_eq!(lines[0], "file,line,column,value,rule,code");
    assert!(lines[1].ends_with(",3,udise_district_code,75x1,not an integer,not_integer"), "{report}");

    let out = server.emit(&["--json", "--on-error", "skip", "--strict", export.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let events = events(&String::from_utf8(out.stdout).unwrap());
    let ack = of(&events, "file_acknowledged")[0];
    assert_eq!((ack["rows_rejected"].as_u64(), ack["rows_warned"].as_u64()), (Some(2), Some(0)), "--strict: {ack}");
    assert_eq!(ack["ack"]["rows"], 1);
    let summary = of(&events, "summary")[0];
    assert_eq!((summary["rows_rejected"].as_u64(), summary["rows_warned"].as_u64()), (Some(2), Some(0)));
}
