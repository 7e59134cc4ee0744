//! Issue 11: `serve` is SIGKILLed at every point from "last part sent" to "acknowledgement returned" (timed by
//! the server's debug-build pause hook, not by guessing), restarted on the same data directory, and both
//! `emit --resume` and a plain re-run of `emit` must end in exactly one acknowledgement of the right bytes with
//! nothing left in the store. The same for the `post` protocol (a server with its multipart endpoints off): `serve`
//! SIGKILLed while a presigned POST's body streams into its store.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cqube_server::test_hooks::{POINTS, POST_POINTS};
use serde_json::Value;

mod common;
use common::{Killed, bin, events, free_port, of, run_ok, sha256_hex};

/// `serve` on a fixed port and data directory (a restart must keep both: the emitter's job is bound to the API
/// URL, and presigned URLs to the store's port). With `pause_at`, returns a receiver that fires when the server
/// stops at that point. `post` switches its multipart endpoints off, so emitters send one presigned POST per file.
fn serve(data: &Path, port: u16, pause_at: Option<&str>, post: bool) -> (Killed, Option<mpsc::Receiver<()>>) {
    let mut cmd = bin();
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"]).arg(data);
    cmd.env("CQUBE_EMIT_SERVER_MULTIPART", (!post).to_string());
    if let Some(point) = pause_at {
        cmd.env("CQUBE_EMIT_SERVER_TEST_PAUSE_AT", point);
    }
    let mut child = Killed(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap());
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("http://127.0.0.1:"), "serve printed {line:?}");
    let stderr = BufReader::new(child.0.stderr.take().unwrap());
    let (tx, rx) = mpsc::channel();
    let wanted = pause_at.map(|p| format!("test hook: paused at {p}"));
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if wanted.as_deref() == Some(line.trim()) {
                let _ = tx.send(());
            }
        }
    });
    (child, pause_at.map(|_| rx))
}

fn query(db: &Path, sql: &str) -> Value {
    let script = "import json, sqlite3, sys; \
                  print(json.dumps(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall()))";
    serde_json::from_str(&run_ok(Command::new("python3").args(["-c", script]).arg(db).arg(sql))).unwrap()
}

/// Multipart uploads the embedded store still holds, asked over S3 by boto3 (not our code).
fn store_open_uploads(db: &Path) -> usize {
    let out = store_boto3(db, "print(len(s3.list_multipart_uploads(Bucket='cqube-emission').get('Uploads',[])))");
    out.trim().parse().unwrap()
}

/// Files of unfinished uploads in the store directory: parts, upload markers, their metadata, temp files.
fn leftovers(store: &Path) -> Vec<String> {
    std::fs::read_dir(store)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".upload_id-") || n.starts_with(".tmp.") || n.contains(".upload-"))
        .collect()
}

fn curl_json(base: &str, token: &str, path: &str) -> Value {
    let out = run_ok(
        Command::new("curl")
            .args(["-sf", "-H", &format!("Authorization: Bearer {token}")])
            .arg(format!("{base}/data{path}")),
    );
    serde_json::from_str(&out).unwrap()
}

fn download(base: &str, token: &str, key: &str) -> Vec<u8> {
    let body = serde_json::json!({"filename": key, "bucket": "emission"}).to_string();
    let urls: Value = serde_json::from_str(&run_ok(Command::new("curl").args([
        "-sf",
        "-H",
        &format!("Authorization: Bearer {token}"),
        "-H",
        "Content-Type: application/json",
        "-d",
        &body,
        &format!("{base}/data/download_uri"),
    ])))
    .unwrap();
    Command::new("curl").args(["-sf", urls[key].as_str().unwrap()]).output().unwrap().stdout
}

/// A zip `convert` makes reproducibly (fixed SOURCE_DATE_EPOCH, stored entries), big enough for two parts of 5 MiB
/// (so the store can be killed between them).
fn converted_zip(work: &Path) -> PathBuf {
    let csv = work.join("student_attendance.csv");
    run_ok(bin().args(["gen", "--source", "student_attendance", "--rows", "60000", "-o"]).arg(&csv));
    let zip = work.join("student_attendance.zip");
    let mut convert = bin();
    convert.args(["convert", "--source", "student_attendance", "--level", "0", "-o"]).arg(&zip).arg(&csv);
    run_ok(convert.env("SOURCE_DATE_EPOCH", "1700000000"));
    let size = std::fs::metadata(&zip).unwrap().len();
    assert!(size > 5 * 1024 * 1024 + 1, "{size} bytes make fewer than two parts");
    zip
}

#[test]
fn issue_11_a_server_killed_anywhere_in_complete_ends_in_one_acknowledgement_after_resume() {
    killed_at_every_point_then(true);
}

/// Without `--resume` the earlier upload is aborted; one the restarted server acknowledged is taken as it is
/// instead of being sent a second time.
#[test]
fn issue_11_a_server_killed_anywhere_in_complete_ends_in_one_acknowledgement_after_a_plain_rerun() {
    killed_at_every_point_then(false);
}

fn killed_at_every_point_then(resume: bool) {
    let work = tempfile::tempdir().unwrap();
    let zip = converted_zip(work.path());
    let expected = std::fs::read(&zip).unwrap();
    for point in POINTS {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("server");
        let db = data.join("server.sqlite3");
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let (server, paused) = serve(&data, port, Some(point), false);
        let token = run_ok(bin().args(["token", "create", "--name", "t", "--admin", "--data-dir"]).arg(&data))
            .trim()
            .to_owned();
        let emit = || {
            let mut cmd = bin();
            cmd.args(["emit", "--json", "--source", "student_attendance", "--part-size-bytes", "5242880"]);
            cmd.env("CQUBE_EMIT_API", format!("{base}/data")).env("CQUBE_EMIT_TOKEN", &token);
            cmd.env("CQUBE_EMIT_JOURNAL_DIR", dir.path().join("journal"));
            cmd
        };
        let emitter = Killed(emit().arg(&zip).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap());
        paused.unwrap().recv_timeout(Duration::from_mins(2)).unwrap_or_else(|_| panic!("never paused at {point}"));
        drop(server); // SIGKILL at the pause point
        drop(emitter); // and the emitter, which would otherwise retry against a dead port

        let (_server, _) = serve(&data, port, None, false);
        let mut again = emit();
        if resume {
            again.arg("--resume");
        }
        let events = events(&run_ok(again.arg(&zip)));
        let acks = of(&events, "file_acknowledged");
        assert_eq!(acks.len(), 1, "{point}: {events:?}");
        let ack = &acks[0]["ack"];
        let key = ack["key"].as_str().unwrap();

        let emissions = curl_json(&base, &token, "/emissions");
        let emissions = emissions["emissions"].as_array().unwrap();
        assert_eq!(emissions.len(), 1, "{point}: exactly one acknowledgement: {emissions:?}");
        assert_eq!(emissions[0]["emission_id"], ack["emission_id"], "{point}");
        assert_eq!(emissions[0]["sha256"], sha256_hex(&expected), "{point}");
        assert!(download(&base, &token, key) == expected, "{point}: the object differs from convert's zip");
        // A re-run aborts an upload the crash left open and sends the file again; one the server settled as
        // acknowledged is taken as it is.
        let states = query(&db, "select state from uploads order by state");
        let settled = if resume { serde_json::json!([["completed"]]) } else { states.clone() };
        assert_eq!(states, settled, "{point}: resume continues the one upload");
        let completed = states.as_array().unwrap().iter().filter(|s| s[0] == "completed").count();
        assert_eq!(completed, 1, "{point}: {states:?}");
        assert!(
            states.as_array().unwrap().iter().all(|s| s[0] == "completed" || s[0] == "aborted"),
            "{point}: {states:?}"
        );
        assert_eq!(query(&db, "select count(*) from completions"), serde_json::json!([[0]]), "{point}");
        assert_eq!(store_open_uploads(&db), 0, "{point}: an incomplete multipart upload is left");
        assert_eq!(leftovers(&data.join("store")), Vec::<String>::new(), "{point}: orphan files in the store");
    }
}

/// The boto3 client of the embedded store, with its credentials from the server's database.
fn store_boto3(db: &Path, snippet: &str) -> String {
    let settings = query(db, "select name, value from settings");
    let get = |name: &str| {
        settings.as_array().unwrap().iter().find(|r| r[0] == name).unwrap()[1].as_str().unwrap().to_owned()
    };
    let script = format!(
        "import sys,boto3; s3=boto3.client('s3',endpoint_url=sys.argv[1],region_name='us-east-1',\
         aws_access_key_id=sys.argv[2],aws_secret_access_key=sys.argv[3])\n{snippet}"
    );
    run_ok(Command::new("python3").args([
        "-c",
        &script,
        &format!("http://127.0.0.1:{}", get("store_port")),
        &get("store_access_key_id"),
        &get("store_secret_access_key"),
    ]))
}

/// `serve` (multipart endpoints off, so the emitter sends one presigned POST) SIGKILLed once the POST's first bytes
/// were spooled (its pause point), well before its last: the restarted server holds no object and no spool or temp
/// file of it, and a plain re-run or `--resume` sends the file once, byte for byte.
#[test]
fn a_server_killed_while_a_post_streams_keeps_nothing_and_a_rerun_or_resume_sends_it_once() {
    let work = tempfile::tempdir().unwrap();
    let zip = converted_zip(work.path());
    let expected = std::fs::read(&zip).unwrap();
    for point in POST_POINTS {
        for resume in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let data = dir.path().join("server");
            let db = data.join("server.sqlite3");
            let port = free_port();
            let (server, paused) = serve(&data, port, Some(point), true);
            let token = run_ok(bin().args(["token", "create", "--name", "t", "--admin", "--data-dir"]).arg(&data))
                .trim()
                .to_owned();
            let emit = || {
                let mut cmd = bin();
                cmd.args(["emit", "--json", "--protocol", "post", "--source", "student_attendance"]);
                cmd.env("CQUBE_EMIT_API", format!("http://127.0.0.1:{port}/data")).env("CQUBE_EMIT_TOKEN", &token);
                cmd.env("CQUBE_EMIT_JOURNAL_DIR", dir.path().join("journal"));
                cmd
            };
            let emitter = Killed(emit().arg(&zip).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap());
            paused.unwrap().recv_timeout(Duration::from_mins(2)).unwrap_or_else(|_| panic!("never paused at {point}"));
            assert!(!std::fs::read_dir(data.join("spool")).unwrap().collect::<Vec<_>>().is_empty(), "{point}");
            drop(server); // SIGKILL with the POST's body half received
            drop(emitter);

            let (_server, _) = serve(&data, port, None, true);
            let what = format!("{point}, resume {resume}");
            let listed = || {
                let snippet = "print('\\n'.join(o['Key'] for o in \
                               s3.list_objects_v2(Bucket='cqube-emission').get('Contents', [])))";
                store_boto3(&db, snippet).lines().filter(|l| !l.is_empty()).map(str::to_owned).collect::<Vec<_>>()
            };
            assert_eq!(listed(), Vec::<String>::new(), "{what}: the killed POST left an object");
            assert_eq!(std::fs::read_dir(data.join("spool")).unwrap().count(), 0, "{what}: its spool file is left");
            assert_eq!(leftovers(&data.join("store")), Vec::<String>::new(), "{what}: orphan files in the store");
            let mut again = emit();
            if resume {
                again.arg("--resume");
            }
            let events = events(&run_ok(again.arg(&zip)));
            let acks = of(&events, "file_acknowledged");
            assert_eq!(acks.len(), 1, "{what}: {events:?}");
            let key = acks[0]["ack"]["key"].as_str().unwrap();
            assert_eq!(listed(), [key.to_owned()], "{what}: exactly one object");
            assert_eq!(acks[0]["ack"]["sha256"], sha256_hex(&expected), "{what}");
            let sha = format!(
                "import hashlib; print(hashlib.sha256(s3.get_object(Bucket='cqube-emission', \
                 Key='{key}')['Body'].read()).hexdigest())"
            );
            assert_eq!(store_boto3(&db, &sha).trim(), sha256_hex(&expected), "{what}: the object is not convert's zip");
        }
    }
}
