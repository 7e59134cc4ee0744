//! `emit` over the `post` protocol (stock cQube's `upload-url`: one presigned POST per file): against our own
//! server with its multipart endpoints switched off, against SeaweedFS's and moto's real presigned POST behind a
//! stand-in for cQube's Flask `upload-url`, a gateway's 401, a zip over the POST limit, a connection cut after the
//! body was sent, an emitter killed after its POST landed, and a 300 MB export in bounded memory.
//!
//! The stand-in (`cqube-testkit/cqube_upload_url.py`, started by `cqube_testkit::stock_cqube`) is a Python port of
//! cQube's own endpoint, boto3 `generate_presigned_post(bucket, filename_with_timestamp, ExpiresIn=3600)`, run as a
//! real HTTP server: cQube's Flask app itself is not installable here.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::{
    Killed, MIB, S3Store, Server, assert_bounded, bin, convert_with_peak, events, of, sha256_hex, watch,
    without_zip_times, zip_rows,
};
use cqube_testkit::stock_cqube;
use serde_json::Value;

/// A small cqube_emission folder of every catalog source, from `cqube-emit gen`.
fn emission_folder(dir: &Path) -> PathBuf {
    let root = dir.join("cqube_emission");
    let out = bin().args(["gen", "--all"]).arg(&root).args(["--rows", "60", "--schools", "10"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    root
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Checks every acknowledged file came after the files it depends on, by the catalog's order.
fn assert_dependency_order(acked: &[&Value]) {
    let catalog = cqube_core::Catalog::builtin();
    let position = |source: &str| acked.iter().position(|e| e["source"] == source);
    for (a, b) in
        [("district_master", "block_master"), ("block_master", "cluster_master"), ("cluster_master", "school_master")]
    {
        assert!(catalog.get(a).is_some() && catalog.get(b).is_some());
        assert!(position(a).unwrap() < position(b).unwrap(), "{a} before {b}");
    }
}

#[test]
fn post_to_our_server_with_multipart_off_delivers_a_folder_in_dependency_order() {
    let server = Server::start_with(false, &[("CQUBE_EMIT_SERVER_MULTIPART", "false")]);
    let root = emission_folder(server.dir.path());

    let dry = server.emit(&["--dry-run"]).arg(&root).output().unwrap();
    assert!(text(&dry.stdout).contains("(dry-run) protocol post: the API lists only post"), "{}", text(&dry.stdout));

    let out = server.emit(&["--json"]).arg(&root).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events = events(&text(&out.stdout));
    assert_eq!(events[0]["event"], "job_started");
    assert_eq!(events[0]["protocol"], "post");
    let acked = of(&events, "file_acknowledged");
    let files = cqube_core::Catalog::builtin().sources().len();
    assert_eq!(acked.len(), files);
    assert!(acked.iter().all(|e| e["ack"]["confirmed"] == true), "our server lists what it stored");
    assert_dependency_order(&acked);
    let mut keys = server.keys();
    keys.sort();
    assert_eq!(keys.len(), files, "one object per file: {keys:?}");
    let school = acked.iter().find(|e| e["source"] == "school_master").unwrap();
    let local = std::fs::read(root.join("school_master/school_mst.zip")).unwrap();
    assert_eq!(server.download(school["ack"]["key"].as_str().unwrap()), local, "sent byte for byte");
    assert!(server.upload_states().is_empty(), "no multipart upload was used");
}

#[test]
fn a_zip_over_the_post_limit_is_refused_before_anything_is_sent() {
    let server = Server::start_with(false, &[("CQUBE_EMIT_SERVER_MULTIPART", "false")]);
    let root = emission_folder(server.dir.path());
    let zip = root.join("district_master/district_mst.zip");
    let size = std::fs::metadata(&zip).unwrap().len();
    let limit = (size - 1).to_string();
    let out = server.emit(&[]).arg(&zip).env("CQUBE_EMIT_POST_MAX_BYTES", &limit).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("{size} bytes, over the {limit}-byte limit")), "{stderr}");
    assert!(stderr.contains("--s3") && stderr.contains("cqube-emit server"), "{stderr}");
    assert!(server.keys().is_empty(), "nothing reached the bucket");
}

/// A gateway that answers every request with an HTML 401, as Kong's JWT plugin does without a valid token.
fn html_401_gateway() -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/data", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(2) {
            let mut stream = stream.unwrap();
            cqube_testkit::read_http_request(&stream);
            let page = "<html><head><title>401 Authorization Required</title></head><body><center><h1>401 \
                        Authorization Required</h1></center><hr><center>kong</center></body></html>";
            let answer = format!(
                "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            stream.write_all(answer.as_bytes()).unwrap();
        }
    });
    (base, handle)
}

#[test]
fn a_gateways_401_names_the_status_path_and_token_without_its_html() {
    let dir = tempfile::tempdir().unwrap();
    let root = emission_folder(dir.path());
    let zip = root.join("district_master/district_mst.zip");
    for (protocol, path) in [("auto", "/data/capabilities"), ("post", "/data/upload-url")] {
        let (base, gateway) = html_401_gateway();
        let out = bin()
            .args(["emit", "--protocol", protocol])
            .arg(&zip)
            .env("CQUBE_EMIT_API", &base)
            .env("CQUBE_EMIT_TOKEN", "eyJhbGciOiJIUzI1NiJ9.e30.signature")
            .env("CQUBE_EMIT_JOURNAL_DIR", dir.path().join("journal"))
            .env("CQUBE_EMIT_MAX_RETRIES", "0")
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "{protocol}: {stderr}");
        assert!(stderr.contains("HTTP 401") && stderr.contains(path) && stderr.contains("token"), "{stderr}");
        assert!(!stderr.contains("<html") && !stderr.contains("kong"), "{stderr}");
        drop(gateway);
    }
}

fn emit_to(base: &str, dir: &Path, input: &Path) -> std::process::Output {
    bin()
        .args(["emit", "--json"])
        .arg(input)
        .env("CQUBE_EMIT_API", base)
        .env("CQUBE_EMIT_TOKEN", "eyJhbGciOiJIUzI1NiJ9.e30.signature")
        .env("CQUBE_EMIT_JOURNAL_DIR", dir.join("journal"))
        .output()
        .unwrap()
}

#[test]
fn post_to_a_stock_cqube_on_seaweedfs_delivers_a_folder_in_dependency_order() {
    stock_cqube_delivers_a_folder(&S3Store::seaweedfs(&["cqube-emission"]));
}

#[test]
fn post_to_a_stock_cqube_on_moto_delivers_a_folder_in_dependency_order() {
    let store = S3Store::moto();
    store.create_bucket("cqube-emission");
    stock_cqube_delivers_a_folder(&store);
}

/// A generated folder through the stand-in's presigned POSTs into `store`: every file acknowledged in dependency
/// order, each object listed with its size, one byte for byte.
fn stock_cqube_delivers_a_folder(store: &S3Store) {
    let dir = tempfile::tempdir().unwrap();
    let root = emission_folder(dir.path());
    let log = dir.path().join("relay.log");
    let (base, _api) = stock_cqube(store, "cqube-emission", &[], &log);
    let out = emit_to(&base, dir.path(), &root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events = events(&text(&out.stdout));
    assert_eq!(events[0]["protocol"], "post");
    assert!(events[0]["protocol_reason"].as_str().unwrap().contains("no /capabilities"), "{}", events[0]);
    let acked = of(&events, "file_acknowledged");
    assert_eq!(acked.len(), cqube_core::Catalog::builtin().sources().len());
    assert_dependency_order(&acked);
    let objects = store.objects("cqube-emission", "");
    assert_eq!(objects.len(), acked.len(), "{objects:?}");
    for e in &acked {
        let key = e["ack"]["key"].as_str().unwrap();
        assert!(objects.iter().any(|(k, size)| k == key && Some(*size) == e["ack"]["bytes"].as_u64()), "{key}");
    }
    let block = acked.iter().find(|e| e["source"] == "block_master").unwrap();
    let local = std::fs::read(root.join("block_master/block_mst.zip")).unwrap();
    assert_eq!(store.get("cqube-emission", block["ack"]["key"].as_str().unwrap()), local);
}

#[test]
fn a_connection_cut_after_the_body_was_sent_leaves_no_duplicate() {
    let store = S3Store::seaweedfs(&["cqube-emission"]);
    let dir = tempfile::tempdir().unwrap();
    let root = emission_folder(dir.path());
    let log = dir.path().join("relay.log");
    let (base, _api) = stock_cqube(&store, "cqube-emission", &["--cut-first-post"], &log);
    let zip = root.join("district_master/district_mst.zip");
    let out = emit_to(&base, dir.path(), &zip);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events = events(&text(&out.stdout));
    let acked = of(&events, "file_acknowledged");
    assert_eq!(acked.len(), 1);
    assert_eq!(of(&events, "file_restarted").len(), 0, "the listing showed it landed: not sent again");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().collect::<Vec<_>>(),
        ["204"],
        "one POST reached the store"
    );
    let objects = store.objects("cqube-emission", "district_master/");
    assert_eq!(objects.len(), 1, "{objects:?}");
    assert_eq!(objects[0].0, acked[0]["ack"]["key"].as_str().unwrap());
    assert_eq!(store.get("cqube-emission", &objects[0].0), std::fs::read(&zip).unwrap());
}

#[test]
fn a_300_mb_export_is_converted_twice_and_posted_in_bounded_memory_without_touching_disk() {
    let server = Server::start_with(false, &[("CQUBE_EMIT_SERVER_MULTIPART", "false")]);
    let work = tempfile::tempdir().unwrap();
    let csv = work.path().join("att.csv");
    let out = bin().args(["gen", "--source", "student_attendance", "--rows", "2500000", "-o"]).arg(&csv).output();
    assert!(out.unwrap().status.success());
    assert!(std::fs::metadata(&csv).unwrap().len() > 280_000_000);
    let (reference, convert_hwm) = convert_with_peak(&csv);

    let part_size = 5 * MIB;
    let mut child = Killed(
        server
            .emit(&["--json", "--source", "student_attendance", "--protocol", "post"])
            .args(["--part-size-bytes", &part_size.to_string()])
            .arg(&csv)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (events, hwm, written) = watch(&mut child.0, |e| e["event"] == "summary");
    assert!(child.0.wait().unwrap().success());
    let ack = &of(&events, "file_acknowledged")[0]["ack"];
    assert_eq!(ack["confirmed"], true);
    let object = server.download(ack["key"].as_str().unwrap());
    assert!(without_zip_times(object) == without_zip_times(reference), "the object is convert's zip, byte for byte");
    // One part being sent, one in the body's channel, one the connection writes, and the producer's two.
    assert_bounded("emit (post)", hwm, convert_hwm, 5 * part_size, written);
}

/// The emitter SIGKILLed after its POST's body was sent, while the store's answer hangs: the store has the object,
/// the journal only the upload. A plain re-run and `--resume` each recognize the object as the file (same length,
/// ETag = the file's MD5) and take it as acknowledged, with the file's rows and SHA-256, without a second POST; an
/// object of the same length but other bytes is not taken, and not overwritten by a second send either.
#[test]
fn a_post_that_landed_before_a_crash_is_acknowledged_not_sent_again_by_a_rerun_or_resume() {
    let store = S3Store::seaweedfs(&["cqube-emission"]);
    let dir = tempfile::tempdir().unwrap();
    let root = emission_folder(dir.path());
    let zip = root.join("district_master/district_mst.zip");
    let local = std::fs::read(&zip).unwrap();
    for (run, how) in ["rerun", "resume", "replaced"].into_iter().enumerate() {
        let journal = dir.path().join(format!("journal-{how}"));
        let log = dir.path().join(format!("relay-{how}.log"));
        let (base, _api) = stock_cqube(&store, "cqube-emission", &["--hang-first-post"], &log);
        let emit = || {
            let mut cmd = bin();
            cmd.args(["emit", "--json", "--max-retries", "0"]).arg(&zip).env("CQUBE_EMIT_API", &base);
            cmd.env("CQUBE_EMIT_TOKEN", "t").env("CQUBE_EMIT_JOURNAL_DIR", &journal);
            cmd
        };
        let crashed = Killed(emit().stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap());
        // The store has the object once the relay logged its answer; the emitter is still waiting for it.
        while std::fs::read_to_string(&log).map_or(true, |l| l.is_empty()) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        drop(crashed); // SIGKILL
        let objects = store.objects("cqube-emission", "");
        assert_eq!(objects.len(), run + 1, "{how}: {objects:?}");
        let key = objects.iter().map(|(k, _)| k.clone()).max().unwrap(); // keys carry the time: the newest
        if how == "replaced" {
            // Same length, other bytes: the store's ETag is no longer the file's MD5.
            let mut other = local.clone();
            other[local.len() / 2] ^= 0xff;
            let tmp = dir.path().join("other.zip");
            std::fs::write(&tmp, other).unwrap();
            let put = "s3.put_object(Bucket='cqube-emission', Key=sys.argv[2], Body=open(sys.argv[1], 'rb').read())";
            store.boto3(put, &[tmp.to_str().unwrap(), &key]);
        }
        let mut cmd = emit();
        if how == "resume" {
            cmd.arg("--resume");
        }
        let out = cmd.output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 1, "{how}: one POST reached the store");
        assert_eq!(store.objects("cqube-emission", "").len(), run + 1, "{how}: no second object");
        if how == "replaced" {
            let stdout = text(&out.stdout);
            assert_eq!(out.status.code(), Some(5), "{stderr}");
            let events = events(&stdout);
            let failed = of(&events, "file_failed");
            let error = failed[0]["error"].as_str().unwrap();
            assert!(error.contains("cannot be told to be this file") && error.contains("not sent again"), "{error}");
            assert!(error.contains("hint: look at it with `cqube-emit get cqube-emission/"), "{error}");
            continue;
        }
        assert!(out.status.success(), "{how}: {stderr}");
        let events = events(&text(&out.stdout));
        let acked = of(&events, "file_acknowledged");
        assert_eq!(acked.len(), 1, "{how}");
        let ack = &acked[0]["ack"];
        assert_eq!(ack["key"], key.as_str(), "{how}");
        assert_eq!(ack["bytes"], local.len() as u64, "{how}");
        assert_eq!(ack["sha256"], sha256_hex(&local), "{how}");
        assert_eq!(ack["rows"], zip_rows(&zip), "{how}: the file's rows, counted again");
        assert_eq!(ack["confirmed"], true, "{how}");
        assert_eq!(store.get("cqube-emission", &key), local, "{how}");
    }
}
