//! `cqube-emit bench` through the real binary: the documented `--json` fields, and relations between them that hold
//! on any machine (never their speed): rows are what was generated, the same level gives the same zip whether
//! converted or emitted, zips shrink or stay as the level rises, recommendations are within what was measured.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Server, bin, run_ok};
use serde_json::Value;

/// `bench --json ARGS` with its temporary files under `tmp`; its one JSON object.
fn bench(tmp: &Path, args: &[&str]) -> Value {
    let mut cmd = bin();
    cmd.env("TMPDIR", tmp).args(["bench", "--json"]).args(args);
    let out = run_ok(&mut cmd);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON object on stdout: {out}");
    serde_json::from_str(lines[0]).unwrap()
}

/// The documented fields, with the types docs/benchmarks.md gives them.
fn assert_fields(report: &Value) {
    for key in ["source", "sized_by", "destination", "protocol"] {
        assert!(report[key].is_string(), "{key} in {report}");
    }
    for key in ["rows", "input_bytes", "threads"] {
        assert!(report[key].is_u64(), "{key} in {report}");
    }
    for key in ["upload_mb_per_second", "seconds"] {
        assert!(report[key].is_number(), "{key} in {report}");
    }
    assert!(report["link_bound"].is_boolean());
    for stage in report["stages"].as_array().unwrap() {
        for key in ["seconds", "cpu_seconds", "mb_per_second"] {
            assert!(stage[key].is_number(), "{key} in {stage}");
        }
        for key in ["peak_rss_bytes", "rows"] {
            assert!(stage[key].is_u64(), "{key} in {stage}");
        }
        assert!(stage["stage"].is_string());
        assert!(stage["level"].is_u64() || stage["level"].is_null());
        assert!(stage["zip_bytes"].is_u64() || stage["zip_bytes"].is_null());
    }
    let r = &report["recommended"];
    for key in ["level", "threads", "jobs", "part_size_bytes"] {
        assert!(r[key].is_u64(), "recommended.{key} in {report}");
        assert!(!r["reasons"][key].as_str().unwrap().is_empty(), "recommended.reasons.{key} in {report}");
    }
}

fn stages<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report["stages"].as_array().unwrap().iter().filter(|s| s["stage"] == kind).collect()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

/// Relations every report holds, whatever the machine: returns the emitted zip's size.
fn assert_relations(report: &Value, levels: &[u64]) -> u64 {
    assert_fields(report);
    let rows = u(&report["rows"]);
    let generate = stages(report, "generate");
    assert_eq!(generate.len(), 1);
    assert!(generate[0]["zip_bytes"].is_null() && generate[0]["level"].is_null());
    let converts = stages(report, "convert");
    let measured: Vec<u64> = converts.iter().map(|s| u(&s["level"])).collect();
    assert_eq!(measured, levels, "every level, once, lowest first");
    // Every stage saw every generated row, none rejected.
    for stage in report["stages"].as_array().unwrap() {
        assert_eq!(u(&stage["rows"]), rows, "{stage}");
    }
    for pair in converts.windows(2) {
        assert!(u(&pair[1]["zip_bytes"]) <= u(&pair[0]["zip_bytes"]), "a higher level, a bigger zip: {pair:?}");
    }
    // Compressed, so smaller than the CSV (none of these levels is 0).
    assert!(u(&converts[0]["zip_bytes"]) < u(&report["input_bytes"]));
    let emitted = stages(report, "emit");
    assert_eq!(emitted.len(), 1);
    assert_eq!(emitted[0]["level"], levels[0], "emitted at the lowest level");
    // The destination acknowledged exactly the bytes the conversion at that level made.
    let zip = u(&emitted[0]["zip_bytes"]);
    assert_eq!(zip, u(&converts[0]["zip_bytes"]));
    let r = &report["recommended"];
    assert!(levels.contains(&u(&r["level"])), "the recommended level was measured: {r}");
    assert!(r["reasons"]["level"].as_str().unwrap().contains(&format!("level {}", r["level"])));
    assert!((1..=u(&report["threads"])).contains(&u(&r["threads"])), "{r}");
    assert!((1..=4).contains(&u(&r["jobs"])), "{r}");
    assert!((5 << 20..=64 << 20).contains(&u(&r["part_size_bytes"])), "{r}");
    zip
}

fn gen_bytes(source: &str, rows: u64) -> usize {
    run_ok(bin().args(["gen", "--source", source, "--rows", &rows.to_string()])).len()
}

#[test]
fn bench_json_has_the_documented_fields_and_consistent_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let report = bench(tmp.path(), &["--rows", "20000", "--seconds", "5", "--levels", "9,1,5"]);
    assert_relations(&report, &[1, 5, 9]);
    assert_eq!(report["source"], "student_attendance");
    assert_eq!(u(&report["rows"]), 20_000);
    // The input is `gen`'s with the same seed: the same bytes, generated in memory.
    assert_eq!(u(&report["input_bytes"]), gen_bytes("student_attendance", 20_000) as u64);
    assert!(report["sized_by"].as_str().unwrap().contains("--rows 20000"), "{report}");
    // The embedded server, on loopback, speaking multipart; its data directory and the journal are gone.
    assert!(report["destination"].as_str().unwrap().starts_with("http://127.0.0.1:"), "{report}");
    assert_eq!(report["protocol"], "multipart");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "bench left {left:?} in TMPDIR");
}

#[test]
fn a_time_budget_sizes_the_input_from_a_sample_within_the_rows_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let report =
        bench(tmp.path(), &["--source", "school_master", "--rows", "60000", "--seconds", "1", "--levels", "2,6"]);
    assert_relations(&report, &[2, 6]);
    let rows = u(&report["rows"]);
    // Never fewer than the 40,000-row sample it was sized from, never more than --rows.
    assert!((40_000..=60_000).contains(&rows), "{report}");
    assert!(report["sized_by"].as_str().unwrap().contains("--"), "{report}");
}

#[test]
fn bench_emits_to_the_api_it_is_given() {
    let server = Server::start(false);
    let tmp = tempfile::tempdir().unwrap();
    let report = bench(
        tmp.path(),
        &["--rows", "15000", "--levels", "3,7", "--api", &server.base, "--token", &server.token, "--protocol", "post"],
    );
    let zip = assert_relations(&report, &[3, 7]);
    assert_eq!(report["destination"], server.base.as_str());
    assert_eq!(report["protocol"], "post");
    // The server holds the one file bench sent: its bytes and rows, read back with Python's zipfile.
    let keys = server.keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let object = server.download(&keys[0]);
    assert_eq!(object.len() as u64, zip);
    let path = tmp.path().join("sent.zip");
    std::fs::write(&path, &object).unwrap();
    let script = "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
                  print(sum(1 for _ in z.open(z.namelist()[0])) - 1)";
    let lines = run_ok(Command::new("python3").args(["-c", script]).arg(&path));
    assert_eq!(lines.trim().parse::<u64>().unwrap(), u(&report["rows"]));
}

#[test]
fn an_unknown_source_is_a_usage_error_with_a_hint() {
    let out = bin().args(["bench", "--source", "student_attendence", "--rows", "10"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("student_attendance"), "{stderr}");
}
