//! Issue 11 against a real `cqube-emit serve` process: unauthenticated bodies in bounded memory, secrets in no log at
//! any level, and a full disk named (507) instead of retried.
#![allow(clippy::print_stderr, reason = "the memory figures and a skip reason are for the person running the tests")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

mod common;
use common::{Killed, bin, run_ok};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// `serve` on a free port with `data_dir`, stderr to `log`; returns the process and its base URL.
fn serve(data_dir: &Path, log: &Path, env: &[(&str, &str)]) -> (Killed, String) {
    let mut cmd = bin();
    cmd.envs(env.iter().copied());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(data_dir);
    let stderr = std::fs::File::create(log).unwrap();
    let mut child = Killed(cmd.stdout(Stdio::piped()).stderr(stderr).spawn().unwrap());
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim_end().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "serve printed {line:?}");
    (child, base)
}

fn token(data_dir: &Path, name: &str) -> String {
    run_ok(bin().args(["token", "create", "--name", name, "--admin", "--data-dir"]).arg(data_dir)).trim().to_owned()
}

/// The peak resident set of a process (VmHWM), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// How a streamed body is framed.
#[derive(Clone, Copy)]
enum Framing {
    /// `Content-Length` given up front.
    Length,
    /// `Transfer-Encoding: chunked`: no length header at all.
    Chunked,
}

/// Sends `head` (request line and headers, without the final blank line), then `prefix` and `len` filler bytes (made
/// as they are sent, never held), then `suffix`, while reading the answer; returns its status and body. The writer
/// stops when the server stops reading.
fn stream_request(base: &str, head: &str, framing: Framing, parts: (&[u8], u64, &[u8])) -> (u16, String) {
    let (prefix, len, suffix) = parts;
    let addr = base.trim_start_matches("http://").split('/').next().unwrap().to_owned();
    let mut socket = TcpStream::connect(&addr).unwrap();
    let mut writer = socket.try_clone().unwrap();
    let total = prefix.len() as u64 + len + suffix.len() as u64;
    let head = match framing {
        Framing::Length => format!("{head}\r\nHost: {addr}\r\nContent-Length: {total}\r\n\r\n"),
        Framing::Chunked => format!("{head}\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\n\r\n"),
    };
    let prefix = prefix.to_vec();
    let suffix = suffix.to_vec();
    let sender = std::thread::spawn(move || -> std::io::Result<()> {
        writer.write_all(head.as_bytes())?;
        let mut send = |bytes: &[u8]| -> std::io::Result<()> {
            match framing {
                // an empty chunk would end the body
                Framing::Chunked if bytes.is_empty() => Ok(()),
                Framing::Length => writer.write_all(bytes),
                Framing::Chunked => {
                    write!(writer, "{:x}\r\n", bytes.len())?;
                    writer.write_all(bytes)?;
                    writer.write_all(b"\r\n")
                }
            }
        };
        send(&prefix)?;
        let chunk = vec![b'a'; 64 * 1024];
        let mut left = len;
        while left > 0 {
            let n = left.min(chunk.len() as u64);
            send(&chunk[..usize::try_from(n).unwrap()])?;
            left -= n;
        }
        send(&suffix)?;
        if matches!(framing, Framing::Chunked) {
            writer.write_all(b"0\r\n\r\n")?;
        }
        Ok(())
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    let (status, body) = loop {
        let n = socket.read(&mut buf).unwrap_or(0);
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let status: u16 = text[9..12].parse().unwrap();
            let length = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .map_or(0, |v| v.parse::<usize>().unwrap());
            if answer.len() >= end + 4 + length || n == 0 {
                break (status, text[end + 4..].to_owned());
            }
        }
        assert!(n > 0, "the server closed the connection without an answer");
    };
    // Unblocks the writer if the server keeps the connection open without reading.
    let _ = socket.shutdown(Shutdown::Both);
    let _ = sender.join().unwrap();
    (status, body)
}

fn assert_json_error(status: u16, body: &str, expected: (u16, &str)) {
    assert_eq!(status, expected.0, "{body}");
    let error: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: not JSON: {body:?}"));
    assert_eq!(error["code"], expected.1, "{body}");
}

#[test]
fn issue_11_unauthenticated_bodies_are_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (server, base) = serve(&dir.path().join("server"), &dir.path().join("serve.log"), &[]);
    let pid = server.0.id();
    let form = "POST /data/post-object/cqube-emission HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=XyZ";
    // Warm up every path the big requests take, then take the idle figure.
    let small = stream_request(
        &base,
        form,
        Framing::Length,
        (b"--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n", 10, b"\r\n--XyZ--\r\n"),
    );
    assert_json_error(small.0, &small.1, (400, "invalid_request"));
    let idle = peak_rss(pid);

    // one 1 GiB text field
    let field = b"--XyZ\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\n";
    let (status, body) = stream_request(&base, form, Framing::Length, (field, GIB, b"\r\n--XyZ--\r\n"));
    assert_json_error(status, &body, (413, "body_too_large"));
    // 1 GiB with no length header whose part headers never end
    let headers = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"";
    let (status, body) = stream_request(&base, form, Framing::Chunked, (headers, GIB, b""));
    assert_json_error(status, &body, (413, "body_too_large"));
    // 1 GiB with no length header and no boundary at all
    let (status, body) = stream_request(&base, form, Framing::Chunked, (b"", GIB, b""));
    assert_json_error(status, &body, (413, "body_too_large"));
    // 1 GiB of JSON with no length header to the other endpoint that needs no token
    let auth = "POST /data/auth HTTP/1.1\r\nContent-Type: application/json";
    let (status, body) = stream_request(&base, auth, Framing::Chunked, (b"{\"username\": \"", GIB, b"\"}"));
    assert_json_error(status, &body, (413, "body_too_large"));
    // headers are capped by the HTTP layer before any handler
    let long_header = format!("GET /data/list_s3_buckets HTTP/1.1\r\nX-Pad: {}", "a".repeat(2 * MIB as usize));
    let (status, _) = stream_request(&base, &long_header, Framing::Length, (b"", 0, b""));
    assert_eq!(status, 431);
    // a wrong content type on the form endpoint is JSON too
    let (status, body) = stream_request(
        &base,
        "POST /data/post-object/cqube-emission HTTP/1.1\r\nContent-Type: text/plain",
        Framing::Length,
        (b"x", 0, b""),
    );
    assert_json_error(status, &body, (415, "unsupported_media_type"));

    let peak = peak_rss(pid);
    eprintln!("serve peak RSS: idle {} MiB, after the 1 GiB requests {} MiB", idle / MIB, peak / MIB);
    assert!(peak < idle + 100 * MIB, "peak RSS grew from {idle} to {peak} bytes");
    // and the server still answers
    let ok = Command::new("curl").args(["-sf", &base.replace("/data", "/healthz")]).output().unwrap();
    assert_eq!(ok.stdout, b"ok");
}

/// Secrets that must not appear in a log at any level.
fn assert_no_secrets(log: &str, what: &str, token: &str) {
    let secret = token.rsplit('_').next().unwrap();
    for needle in ["X-Amz-Signature", "x-amz-signature=", "cqe_", "Authorization", "authorization:", "Bearer ", secret]
    {
        let hit = log.lines().find(|l| l.contains(needle));
        assert!(hit.is_none(), "{what} log holds {needle:?}: {}", hit.unwrap_or_default());
    }
}

#[test]
fn issue_11_no_token_or_presigned_url_reaches_a_log_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    // the default level logs one line per request
    let default_log = dir.path().join("default.log");
    let (server, base) = serve(&data, &default_log, &[]);
    let admin = token(&data, "admin");
    let auth = format!("Authorization: Bearer {admin}");
    run_ok(Command::new("curl").args(["-sf", "-H", &auth, &format!("{base}/list_s3_buckets")]));
    drop(server);
    let log = std::fs::read_to_string(&default_log).unwrap();
    let line =
        log.lines().find(|l| l.contains("/data/list_s3_buckets")).unwrap_or_else(|| panic!("no request line: {log}"));
    assert!(line.contains("INFO") && line.contains("status=200") && line.contains("token_id="), "{line}");

    let serve_log = dir.path().join("serve.log");
    let (_server, base) = serve(&data, &serve_log, &[("RUST_LOG", "trace")]);
    let zip = dir.path().join("student_attendance.zip");
    run_ok(bin().args(["gen", "--source", "student_attendance", "--rows", "2000", "--format", "zip", "-o"]).arg(&zip));
    let emit = bin()
        .arg("emit")
        .arg(&zip)
        .env("CQUBE_EMIT_API", &base)
        .env("CQUBE_EMIT_TOKEN", &admin)
        .env("CQUBE_EMIT_JOURNAL_DIR", dir.path().join("journal"))
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let emit_log = String::from_utf8_lossy(&emit.stderr).into_owned();
    assert!(emit.status.success(), "{emit_log}");
    assert!(emit_log.contains("DEBUG"), "RUST_LOG=trace reached the emitter: {emit_log}");
    // the cQube-style presigned POST and a presigned download go through the server too
    let post: Value = serde_json::from_str(&run_ok(Command::new("curl").args([
        "-sf",
        "-H",
        &auth,
        "-d",
        "filename=student_attendance/student_attendance.zip",
        &format!("{base}/upload-url"),
    ])))
    .unwrap();
    let mut curl = Command::new("curl");
    curl.args(["-sf", post["url"].as_str().unwrap()]);
    for (name, value) in post["fields"].as_object().unwrap() {
        curl.args(["-F", &format!("{name}={}", value.as_str().unwrap())]);
    }
    run_ok(curl.arg("-F").arg(format!("file=@{}", zip.display())));
    let key = post["fields"]["key"].as_str().unwrap();
    let body = serde_json::json!({"filename": key, "bucket": "emission"}).to_string();
    let urls: Value = serde_json::from_str(&run_ok(Command::new("curl").args([
        "-sf",
        "-H",
        &auth,
        "-H",
        "Content-Type: application/json",
        "-d",
        &body,
        &format!("{base}/download_uri"),
    ])))
    .unwrap();
    assert!(urls[key].as_str().unwrap().contains("X-Amz-Signature"), "the URLs the test checks for are presigned");
    run_ok(Command::new("curl").args(["-sf", "-o", "/dev/null", urls[key].as_str().unwrap()]));

    let server_log = std::fs::read_to_string(&serve_log).unwrap();
    assert!(server_log.contains("TRACE") && server_log.contains("presigned POST received"), "{server_log}");
    assert_no_secrets(&server_log, "serve", &admin);
    assert_no_secrets(&emit_log, "emit", &admin);

    // The embedded store's secret key is in its owner-only credentials file, named on stderr, and in no log.
    let credentials = data.join("store-credentials");
    assert_eq!(std::fs::metadata(&credentials).unwrap().permissions().mode() & 0o777, 0o600);
    let credentials_text = std::fs::read_to_string(&credentials).unwrap();
    let store_secret = credentials_text
        .lines()
        .find_map(|l| l.strip_prefix("aws_secret_access_key = "))
        .unwrap_or_else(|| panic!("no secret in {credentials_text}"));
    assert!(store_secret.len() >= 32, "{credentials_text}");
    assert!(server_log.contains(&format!("credentials in {}", credentials.display())), "{server_log}");
    for (log, what) in [(&server_log, "serve"), (&emit_log, "emit")] {
        assert!(!log.contains(store_secret), "{what} log holds the embedded store's secret access key");
    }
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(at).output();
        match out {
            Ok(out) if out.status.success() => Some(Tmpfs(at.to_owned())),
            Ok(out) => {
                eprintln!("skipped: cannot mount a tmpfs here: {}", String::from_utf8_lossy(&out.stderr).trim());
                None
            }
            Err(e) => {
                eprintln!("skipped: cannot run mount: {e}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros to `path` until the disk is full, or until `leave` bytes remain free.
fn fill(path: &Path, leave: u64) {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    let free = || {
        let out = run_ok(Command::new("df").args(["--output=avail", "-B1"]).arg(path));
        out.lines().nth(1).unwrap().trim().parse::<u64>().unwrap()
    };
    let chunk = vec![0u8; 64 * 1024];
    while free() > leave + chunk.len() as u64 {
        file.write_all(&chunk).unwrap();
    }
    if leave == 0 {
        while file.write_all(&chunk).and_then(|()| file.sync_data()).is_ok() {}
        let _ = file.write_all(&[0]);
    }
}

/// `curl` with the token; returns the status and body.
fn call(token: &str, method: &str, url: &str, body: Option<&str>) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-X", method, "-H", &format!("Authorization: Bearer {token}"), "-w", "\n%{http_code}", url]);
    if let Some(b) = body {
        cmd.args(["-H", "Content-Type: application/json", "-d", b]);
    }
    let out = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
    let (body, status) = out.rsplit_once('\n').unwrap();
    (status.parse().unwrap(), body.to_owned())
}

/// Creates an attendance upload and stores `parts` parts of 5 MiB; returns its id and the completion body.
fn upload_with_parts(base: &str, token: &str, dir: &Path, parts: u32) -> (String, String) {
    let body = r#"{"source": "student_attendance", "filename": "student_attendance/student_attendance.zip"}"#;
    let (status, created) = call(token, "POST", &format!("{base}/uploads"), Some(body));
    assert_eq!(status, 201, "{created}");
    let id = serde_json::from_str::<Value>(&created).unwrap()["upload_id"].as_str().unwrap().to_owned();
    let part = dir.join("part.bin");
    std::fs::write(&part, vec![7u8; 5 * MIB as usize]).unwrap();
    let mut done = Vec::new();
    for n in 1..=parts {
        let numbers = format!(r#"{{"part_numbers": [{n}]}}"#);
        let (_, presigned) = call(token, "POST", &format!("{base}/uploads/{id}/parts"), Some(&numbers));
        let url = serde_json::from_str::<Value>(&presigned).unwrap()["parts"][0]["url"].as_str().unwrap().to_owned();
        let etag = run_ok(
            Command::new("curl")
                .args(["-sf", "-X", "PUT", "--data-binary"])
                .arg(format!("@{}", part.display()))
                .args(["-o", "/dev/null", "-w", "%header{etag}", &url]),
        );
        done.push(serde_json::json!({"part_number": n, "etag": etag}));
    }
    let sha = "0".repeat(64);
    let complete = serde_json::json!({"parts": done, "rows": 1, "bytes": u64::from(parts) * 5 * MIB, "sha256": sha});
    (id, complete.to_string())
}

#[test]
fn issue_11_a_full_disk_is_named_and_stops_the_emitter() {
    let work = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&work.path().join("disk"), "48m") else { return };
    let data = disk.0.join("server");
    let serve_log = work.path().join("serve.log");
    let (_server, base) = serve(&data, &serve_log, &[]);
    let log = || std::fs::read_to_string(&serve_log).unwrap();
    let admin = token(&data, "admin");
    let (full_id, full_complete) = upload_with_parts(&base, &admin, work.path(), 2);
    let (with_part, _) = upload_with_parts(&base, &admin, work.path(), 1);
    let (without_parts, _) = upload_with_parts(&base, &admin, work.path(), 0);
    fill(&disk.0.join("filler"), 0);

    // requests still authenticate, and listing works
    let (status, body) = call(&admin, "GET", &format!("{base}/list_s3_buckets"), None);
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(&admin, "POST", &format!("{base}/list_s3_files"), Some(r#"{"bucket": "emission"}"#));
    assert_eq!(status, 200, "{body}");
    // what cannot be stored is named
    let (status, body) = call(&admin, "POST", &format!("{base}/uploads/{full_id}/complete"), Some(&full_complete));
    assert_json_error(status, &body, (507, "insufficient_storage"));
    let created = r#"{"source": "school_master", "filename": "school_master/school_mst.zip"}"#;
    let (status, body) = call(&admin, "POST", &format!("{base}/uploads"), Some(created));
    assert_json_error(status, &body, (507, "insufficient_storage"));
    // abort works, also where it frees nothing (the database's reserve records it). (Aborting the upload whose
    // completion failed is issue 11's item 1: s3s-fs has already dropped its upload id.)
    for id in [&without_parts, &with_part] {
        let (status, body) = call(&admin, "DELETE", &format!("{base}/uploads/{id}"), None);
        assert_eq!(status, 204, "{body}: {}", log());
    }

    // an emission that does not fit: exit 5 at the first refusal, with the hint, no retry
    std::fs::remove_file(disk.0.join("filler")).unwrap();
    fill(&disk.0.join("filler"), MIB);
    let zip = work.path().join("student_attendance.zip");
    run_ok(
        bin().args(["gen", "--source", "student_attendance", "--rows", "100000", "--format", "zip", "-o"]).arg(&zip),
    );
    assert!(std::fs::metadata(&zip).unwrap().len() > 2 * MIB, "the zip must not fit in the space left");
    let emit = bin()
        .arg("emit")
        .arg(&zip)
        .env("CQUBE_EMIT_API", &base)
        .env("CQUBE_EMIT_TOKEN", &admin)
        .env("CQUBE_EMIT_JOURNAL_DIR", work.path().join("journal"))
        .env("RUST_LOG", "cqube_upload=debug")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&emit.stderr);
    assert_eq!(emit.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("507") && stderr.contains("hint: the server's storage is full"), "{stderr}");
    assert!(!stderr.contains("retrying"), "a full store is not retried: {stderr}");
}
