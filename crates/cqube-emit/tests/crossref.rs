//! Issue 16, cross-source references: rows whose school, cluster, exam or question codes the plan's masters (or
//! `--masters`) lack, counted exactly by `validate` and left out by `emit --on-error skip` against a real server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod common;
use common::{Server, bin, events, gen_all, inject, of, run_ok};

const UNKNOWN_SCHOOLS: u64 = 7;
const UNKNOWN_EXAMS: u64 = 2;
const UNKNOWN_QUESTIONS: u64 = 3;
/// Later copies of an attendance row: one exact, one that differs.
const DUPLICATES: u64 = 2;

/// A generated cqube_emission folder (referentially consistent) with orphans injected: attendance of 7 schools
/// no master knows (and two later copies of a row, `DUPLICATES`), PAT results of 2 unknown exams and 3 unknown questions, and one new school in an unknown
/// cluster (a school no transaction names, so nothing cascades).
fn folder_with_orphans(dir: &Path) -> BTreeMap<String, PathBuf> {
    let generated = gen_all(dir, "200");
    let mut attendance: Vec<Vec<(&str, String)>> = (0..UNKNOWN_SCHOOLS)
        .map(|i| {
            vec![
                ("StudentAttendanceId", format!("{}", 900_000_000 + i)),
                ("SchoolId", format!("{}", 99_999_999_900 + i)),
            ]
        })
        .collect();
    // And two copies of the last row: one exact, one that differs (cQube would discard all three rows).
    attendance.extend([vec![], vec![("AadhaarUID", "999999999999".to_owned())]]);
    inject(&generated["student_attendance"], &attendance);
    let mut results: Vec<Vec<(&str, String)>> = (0..UNKNOWN_EXAMS)
        .map(|i| vec![("exam_id", format!("{}", 990_000 + i)), ("student_uid", format!("{}", 8_800_000_000 + i))])
        .collect();
    results.extend((0..UNKNOWN_QUESTIONS).map(|i| vec![("question_id", format!("{}", 770_000 + i))]));
    inject(&generated["periodic_exam_result_trans"], &results);
    inject(
        &generated["school_master"],
        &[vec![("udise_sch_code", "99999999999".into()), ("cluster_cd", "9999999999".into())]],
    );
    generated
}

fn by_source<'a>(events: &'a [Value], kind: &str) -> BTreeMap<String, &'a Value> {
    of(events, kind).into_iter().map(|e| (e["source"].as_str().unwrap().to_owned(), e)).collect()
}

fn misses(v: &Value) -> BTreeMap<String, u64> {
    v.as_object().map_or_else(BTreeMap::new, |m| m.iter().map(|(k, n)| (k.clone(), n.as_u64().unwrap())).collect())
}

fn expected() -> BTreeMap<String, u64> {
    [
        ("unknown_school".to_owned(), UNKNOWN_SCHOOLS),
        ("unknown_exam".to_owned(), UNKNOWN_EXAMS),
        ("unknown_question".to_owned(), UNKNOWN_QUESTIONS),
        ("unknown_cluster".to_owned(), 1),
    ]
    .into()
}

#[test]
fn issue_16_validate_counts_every_orphan_of_a_folder_and_sends_nothing() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("cqube_emission");
    let generated = folder_with_orphans(&dir);
    let rejects = work.path().join("rejects.csv");
    let out = bin()
        .args(["validate", "--json", "--on-error", "skip", "--rejects", rejects.to_str().unwrap()])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "rows rejected: {}", String::from_utf8_lossy(&out.stderr));
    let checked = events(&String::from_utf8(out.stdout).unwrap());
    let files = by_source(&checked, "file_checked");
    assert_eq!(files.len(), generated.len(), "every file is checked");
    let summary = of(&checked, "summary")[0];
    assert_eq!(misses(&summary["misses"]), expected());
    let attendance = files["student_attendance"];
    assert_eq!(attendance["rows_rejected"], UNKNOWN_SCHOOLS + DUPLICATES);
    assert_eq!(attendance["cqube_duplicate_discards"], 3, "the first copy and both later ones");
    assert_eq!(summary["cqube_duplicate_discards"], 3);
    assert_eq!(attendance["misses"][0]["rule"], "unknown_school");
    assert_eq!(attendance["misses"][0]["column"], "SchoolId");
    assert_eq!(attendance["misses"][0]["master"], "school_master.udise_sch_code");
    assert_eq!(attendance["misses"][0]["first_value"], "99999999900");
    let results = files["periodic_exam_result_trans"];
    let rules: Vec<(&str, u64)> = results["misses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["rule"].as_str().unwrap(), m["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(rules, [("unknown_exam", UNKNOWN_EXAMS), ("unknown_question", UNKNOWN_QUESTIONS)], "catalog order");
    for (source, file) in &files {
        if !["student_attendance", "periodic_exam_result_trans", "school_master"].contains(&source.as_str()) {
            assert_eq!(file["rows_rejected"], 0, "{source}: generated data is consistent");
        }
    }
    // The rejects report names each orphan with its rule, one line each.
    let report = std::fs::read_to_string(&rejects).unwrap();
    for (rule, n) in expected() {
        assert_eq!(report.lines().filter(|l| l.contains(&rule)).count() as u64, n, "{rule}: {report}");
    }

    // Stopping at the first bad row (the default) fails the files that have one, and names the row.
    let out = bin().args(["validate", "--json"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "some files failed, others passed");
    let stopped = events(&String::from_utf8(out.stdout).unwrap());
    let files = by_source(&stopped, "file_checked");
    let error = files["school_master"]["error"].as_str().unwrap();
    assert!(error.contains("cluster_cd") && error.contains("unknown_cluster"), "{error}");
    let error = files["periodic_exam_result_trans"]["error"].as_str().unwrap();
    assert!(error.contains("exam_id") && error.contains("990000") && error.contains("unknown_exam"), "{error}");
    // A master that failed gave no codes: what refers to it is not checked against a partial list, and the
    // attendance file stops at its first duplicate instead.
    let error = files["student_attendance"]["error"].as_str().unwrap();
    assert!(error.contains("duplicate key") && !error.contains("unknown_school"), "{error}");
}

#[test]
fn issue_16_masters_emitted_before_are_read_from_a_folder() {
    let work = tempfile::tempdir().unwrap();
    let masters = work.path().join("cqube_emission");
    let generated = folder_with_orphans(&masters);
    let attendance = work.path().join("july/student_attendance");
    std::fs::create_dir_all(&attendance).unwrap();
    std::fs::copy(&generated["student_attendance"], attendance.join("student_attendance.zip")).unwrap();
    let july = work.path().join("july");
    // Without masters no code is known, so none is checked: only the duplicates are rejected.
    let out = bin().args(["validate", "--json", "--on-error", "skip"]).arg(&july).output().unwrap();
    let alone = events(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(of(&alone, "summary")[0]["rows_rejected"], DUPLICATES);
    assert!(of(&alone, "summary")[0]["misses"].as_object().unwrap().is_empty());
    let out = bin()
        .args(["validate", "--json", "--on-error", "skip", "--masters"])
        .arg(&masters)
        .arg(&july)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let checked = events(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(misses(&of(&checked, "summary")[0]["misses"]), [("unknown_school".to_owned(), UNKNOWN_SCHOOLS)].into());
}

#[test]
fn issue_16_emit_on_error_skip_leaves_orphans_out_and_reports_them() {
    let server = Server::start(false);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("cqube_emission");
    let generated = folder_with_orphans(&dir);
    let rows_of = |source: &str| common::zip_rows(&generated[source]);
    let (attendance_rows, result_rows) = (rows_of("student_attendance"), rows_of("periodic_exam_result_trans"));

    // Failing fast: the school master stops before a byte is sent, and everything that needs it waits.
    let out = server.emit(&["--json", dir.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let failed = events(&String::from_utf8(out.stdout).unwrap());
    let school = by_source(&failed, "file_failed")["school_master"];
    let error = school["error"].as_str().unwrap();
    assert!(error.contains("unknown_cluster") && error.contains("hint: "), "{error}");
    assert!(by_source(&failed, "file_skipped").contains_key("student_attendance"));
    assert!(!server.keys().iter().any(|k| k.starts_with("school_master/")), "{:?}", server.keys());

    let rejects = work.path().join("rejects.csv");
    let out = server
        .emit(&["--json", "--on-error", "skip", "--rejects", rejects.to_str().unwrap(), dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "rows were left out: {}", String::from_utf8_lossy(&out.stderr));
    let sent = events(&String::from_utf8(out.stdout).unwrap());
    let acks = by_source(&sent, "file_acknowledged");
    assert_eq!(acks.len(), generated.len(), "every file is sent");
    let attendance = acks["student_attendance"];
    assert_eq!(attendance["rows_rejected"], UNKNOWN_SCHOOLS + DUPLICATES);
    assert_eq!(misses(&attendance["misses"]), [("unknown_school".to_owned(), UNKNOWN_SCHOOLS)].into());
    assert_eq!(attendance["ack"]["rows"], attendance_rows - UNKNOWN_SCHOOLS - DUPLICATES, "orphans, later copies out");
    assert_eq!(attendance["cqube_duplicate_discards"], 3, "what cQube would have dropped of the copies");
    assert_eq!(acks["periodic_exam_result_trans"]["ack"]["rows"], result_rows - UNKNOWN_EXAMS - UNKNOWN_QUESTIONS);
    // A file with no orphan is sent as it is, byte for byte.
    let district = acks["district_master"];
    assert_eq!(district["ack"]["bytes"], std::fs::metadata(&generated["district_master"]).unwrap().len());
    assert!(district.get("misses").is_none() && district.get("cqube_duplicate_discards").is_none());
    let summary = of(&sent, "summary")[0];
    assert_eq!(misses(&summary["misses"]), expected());
    assert_eq!(summary["cqube_duplicate_discards"], 3);
    let report = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(report.lines().filter(|l| l.contains("unknown_school")).count() as u64, UNKNOWN_SCHOOLS, "{report}");

    // The server keeps the counts with the acknowledgement (it listed `quality` in its capabilities).
    let listed = bin()
        .args(["emissions", "--json", "--source", "student_attendance", "--data-dir"])
        .arg(server.dir.path().join("server"))
        .output()
        .unwrap();
    let stored: Value =
        serde_json::from_str(String::from_utf8(listed.stdout).unwrap().lines().next().unwrap()).unwrap();
    let quality = &stored["quality"];
    assert_eq!(quality["rows_read"], attendance_rows);
    assert_eq!(quality["rows_rejected"], UNKNOWN_SCHOOLS + DUPLICATES);
    let rows_for = |rule: &str| -> u64 {
        quality["rules"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["rule"] == rule)
            .map(|r| r["rows"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(rows_for("unknown_school"), UNKNOWN_SCHOOLS, "{quality}");
    assert!(quality["rules"].as_array().unwrap().iter().all(|r| r["severity"] == "error"), "{quality}");
}

/// Peak RSS (KiB) of `cmd`, measured by GNU time, and its stdout.
fn peak_kib(cmd: &mut Command, report: &Path) -> (u64, String) {
    let mut timed = Command::new("/usr/bin/time");
    timed.args(["-f", "%M", "-o"]).arg(report).arg(cmd.get_program()).args(cmd.get_args());
    timed.envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))));
    let out = timed.output().unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&out.stderr));
    // GNU time writes "Command exited with non-zero status 1" first when it did.
    let kib = std::fs::read_to_string(report).unwrap().lines().last().unwrap().trim().parse().unwrap();
    (kib, String::from_utf8(out.stdout).unwrap())
}

/// The stated bound (docs/checks.md): a master column's codes take 8 bytes each, at most twice that while the
/// master is read: 24 MiB for the 1.5 million schools of a large state.
#[test]
fn issue_16_the_schools_of_a_large_state_are_checked_within_the_stated_memory_bound() {
    const SCHOOLS: &str = "1500000";
    let work = tempfile::tempdir().unwrap();
    let (masters, july) = (work.path().join("masters"), work.path().join("july"));
    let (school, attendance) =
        (masters.join("school_master/school_mst.zip"), july.join("student_attendance/student_attendance.zip"));
    let generate = |source: &str, rows: &str, out: &Path| {
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let args = ["gen", "--source", source, "--schools", SCHOOLS, "--rows", rows, "--format", "zip", "--level", "1"];
        run_ok(bin().args(args).arg("-o").arg(out));
    };
    generate("school_master", SCHOOLS, &school);
    generate("student_attendance", "20000", &attendance);
    inject(&attendance, &[vec![("StudentAttendanceId", "990000001".into()), ("SchoolId", "99999999999".into())]]);
    let report = work.path().join("time.txt");

    // The same school master read without keeping its codes (nothing refers to it), then kept and looked up.
    let (alone, _) = peak_kib(bin().args(["validate", "-q", "--on-error", "skip"]).arg(&masters), &report);
    let (kept, out) = peak_kib(
        bin().args(["validate", "--json", "--on-error", "skip", "--masters"]).arg(&masters).arg(&july),
        &report,
    );
    let summary = of(&events(&out), "summary")[0].clone();
    assert_eq!(misses(&summary["misses"]), [("unknown_school".to_owned(), 1)].into(), "1.5 M codes, one orphan");
    let bound_kib = 2 * 8 * 1_500_000 / 1024;
    assert!(
        kept <= alone + bound_kib + 8 * 1024,
        "peak {kept} KiB, {alone} KiB without the codes, bound {bound_kib} KiB"
    );
}
