//! `cqube-emit ls` and `get` against a real `serve` (embedded store): what the listing shows is what the store
//! holds, and what `get` writes is the emitted zip byte for byte, with or without the bucket in the key.

use std::process::Command;

mod common;
use common::{Server, bin, run_ok};

fn with_api(server: &Server, cmd: &mut Command) {
    cmd.env("CQUBE_EMIT_API", &server.base).env("CQUBE_EMIT_TOKEN", &server.token);
}

#[test]
fn ls_lists_the_bucket_and_get_fetches_the_emitted_zip_byte_for_byte() {
    let server = Server::start(false);
    let work = tempfile::tempdir().unwrap();
    let folder = work.path().join("cqube_emission");
    run_ok(bin().args(["gen", "--all"]).arg(&folder).args(["--rows", "50", "--quiet"]));
    run_ok(server.emit(&["--no-progress", folder.to_str().unwrap()]));

    let mut ls = bin();
    ls.args(["ls", "--json"]);
    with_api(&server, &mut ls);
    let listed: Vec<(String, u64)> = run_ok(&mut ls)
        .lines()
        .map(|l| {
            let o: serde_json::Value = serde_json::from_str(l).unwrap();
            (o["Key"].as_str().unwrap().to_owned(), o["Size"].as_u64().unwrap())
        })
        .collect();
    let mut keys: Vec<String> = listed.iter().map(|(k, _)| k.clone()).collect();
    keys.sort();
    let mut stored = server.keys();
    stored.sort();
    assert_eq!(keys, stored, "ls shows exactly what list_s3_files holds");

    let mut prefixed = bin();
    prefixed.args(["ls", "-q", "emission/school_master/"]);
    with_api(&server, &mut prefixed);
    let text = run_ok(&mut prefixed);
    let key = text.lines().next().unwrap().split_whitespace().last().unwrap().to_owned();
    assert!(key.starts_with("school_master/school_mst_") && text.lines().count() == 1, "{text}");

    let original = std::fs::read(folder.join("school_master/school_mst.zip")).unwrap();
    for (as_printed, file) in [(key.clone(), "a.zip"), (format!("cqube-emission/{key}"), "b.zip")] {
        let mut get = bin();
        get.current_dir(work.path()).args(["get", &as_printed, "-o", file]);
        with_api(&server, &mut get);
        run_ok(&mut get);
        assert!(std::fs::read(work.path().join(file)).unwrap() == original, "{as_printed}: not the emitted zip");
    }
    let mut verify = bin();
    verify.args(["verify", &format!("cqube-emission/{key}")]);
    with_api(&server, &mut verify);
    assert!(run_ok(&mut verify).contains("school_master"), "verify takes the key with its bucket, as printed");
    let mut to_stdout = bin();
    to_stdout.args(["get", &key, "-o", "-"]);
    with_api(&server, &mut to_stdout);
    assert!(to_stdout.output().unwrap().stdout == original);
}

#[test]
fn get_of_a_missing_key_fails_with_a_hint_and_leaves_no_file() {
    let server = Server::start(false);
    let work = tempfile::tempdir().unwrap();
    let mut get = bin();
    get.current_dir(work.path()).args(["get", "school_master/school_mst_20000101000000.zip"]);
    with_api(&server, &mut get);
    let out = get.output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HTTP 404") && err.contains("hint: cQube's ingestion moves objects"), "{err}");
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0, "no file, partial or whole, is left");
}
