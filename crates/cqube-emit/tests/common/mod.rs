//! What the end-to-end tests share: the binary, `cqube-emit serve` on a free port (embedded store or moto from
//! the test kit),
//! and the JSON events `emit` prints.
#![allow(dead_code, unused_imports, reason = "each test crate uses its own subset")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub const MIB: usize = 1 << 20;

pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cqube-emit"));
    for var in ["CQUBE_EMIT_CONFIG", "CQUBE_EMIT_SERVER_DATA_DIR", "RUST_LOG", "CQUBE_EMIT_API", "CQUBE_EMIT_TOKEN"] {
        cmd.env_remove(var);
    }
    cmd.env_remove("HTTP_PROXY").env_remove("http_proxy").env("NO_COLOR", "1");
    cmd
}

pub fn run_ok(mut cmd: impl std::borrow::BorrowMut<Command>) -> String {
    let cmd = cmd.borrow_mut();
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

pub use cqube_testkit::{Killed, S3Store, free_port};

/// `cqube-emit serve` on a free port with an admin token; optionally on moto instead of the embedded store.
pub struct Server {
    _child: Killed,
    _moto: Option<S3Store>,
    pub moto_endpoint: Option<String>,
    pub base: String,
    pub token: String,
    pub dir: tempfile::TempDir,
}

impl Server {
    pub fn start(moto: bool) -> Server {
        Server::start_with(moto, &[])
    }

    pub fn start_with(moto: bool, env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("server");
        let mut serve = bin();
        serve.envs(env.iter().copied());
        serve.args(["serve", "--listen", "127.0.0.1:0", "--data-dir", d.to_str().unwrap()]);
        let (moto_store, moto_endpoint) = if moto {
            let store = S3Store::moto();
            let endpoint = store.endpoint.clone();
            let config = dir.path().join("server.toml");
            std::fs::write(
                &config,
                format!(
                    "[server.store]\ntype = \"s3\"\nendpoint_url = \"{endpoint}\"\nregion = \"us-east-1\"\n\
                     force_path_style = true\naccess_key_id = \"testing\"\nsecret_access_key = \"testing\"\n"
                ),
            )
            .unwrap();
            serve.arg("--config").arg(&config);
            (Some(store), Some(endpoint))
        } else {
            (None, None)
        };
        let mut child = Killed(serve.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap());
        let mut line = String::new();
        BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let base = line.trim_end().to_owned();
        assert!(base.starts_with("http://127.0.0.1:"), "serve printed {line:?}");
        let token =
            run_ok(bin().args(["token", "create", "--name", "t", "--admin", "--data-dir", d.to_str().unwrap()]))
                .trim()
                .to_owned();
        Server { _child: child, _moto: moto_store, moto_endpoint, base, token, dir }
    }

    pub fn emit(&self, args: &[&str]) -> Command {
        let mut cmd = bin();
        cmd.arg("emit").args(args).env("CQUBE_EMIT_API", &self.base).env("CQUBE_EMIT_TOKEN", &self.token);
        cmd.env("CQUBE_EMIT_JOURNAL_DIR", self.dir.path().join("journal"));
        cmd
    }

    /// The successful JSON answer to `body` posted to `path` with the admin token, through curl like any client.
    pub fn post_json<T: serde::de::DeserializeOwned>(&self, path: &str, body: &Value) -> T {
        let out = run_ok(Command::new("curl").args([
            "-sf",
            "-H",
            &format!("Authorization: Bearer {}", self.token),
            "-H",
            "Content-Type: application/json",
            "-d",
            &body.to_string(),
            &format!("{}{path}", self.base),
        ]));
        serde_json::from_str(&out).unwrap()
    }

    /// An object's bytes, through `download_uri` like any client.
    pub fn download(&self, key: &str) -> Vec<u8> {
        let urls: BTreeMap<String, String> =
            self.post_json("/download_uri", &serde_json::json!({"filename": key, "bucket": "emission"}));
        Command::new("curl").args(["-sf", &urls[key]]).output().unwrap().stdout
    }

    /// The state of every upload the server ever created, from its own database (read with Python's sqlite3,
    /// not our code): `open`, `completed` or `aborted`.
    pub fn upload_states(&self) -> Vec<String> {
        let db = self.dir.path().join("server/server.sqlite3");
        let script = "import json, sqlite3, sys; \
                      print(json.dumps([r[0] for r in sqlite3.connect(sys.argv[1]).execute('select state from uploads')]))";
        serde_json::from_str(&run_ok(Command::new("python3").args(["-c", script]).arg(db))).unwrap()
    }

    pub fn keys(&self) -> Vec<String> {
        let page: Value = self.post_json("/list_s3_files", &serde_json::json!({"bucket": "emission"}));
        page["Contents"]
            .as_array()
            .map_or_else(Vec::new, |c| c.iter().map(|o| o["Key"].as_str().unwrap().to_owned()).collect())
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The data rows of a cQube zip's one CSV, counted by Python's zipfile (not our code): its lines after the header.
pub fn zip_rows(zip: &Path) -> u64 {
    let script =
        "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint(z.read(z.namelist()[0]).count(b'\\n') - 1)";
    let out = Command::new("python3").args(["-c", script]).arg(zip).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

/// Appends rows to a cQube zip's CSV with Python's zipfile (not our code): each a copy of its last row with the
/// given columns changed.
pub fn inject(zip: &Path, rows: &[Vec<(&str, String)>]) {
    let script = r#"
import json, sys, zipfile
path, rows = sys.argv[1], json.loads(sys.argv[2])
with zipfile.ZipFile(path) as z:
    name = z.namelist()[0]
    lines = z.read(name).decode().rstrip("\n").split("\n")
header, last = lines[0].split("|"), lines[-1].split("|")
for edit in rows:
    row = list(last)
    for column, value in edit:
        row[header.index(column)] = value
    lines.append("|".join(row))
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(name, "\n".join(lines) + "\n")
"#;
    let rows: Vec<Vec<(String, String)>> =
        rows.iter().map(|r| r.iter().map(|(c, v)| ((*c).to_owned(), v.clone())).collect()).collect();
    run_ok(Command::new("python3").args(["-c", script]).arg(zip).arg(serde_json::to_string(&rows).unwrap()));
}

pub fn events(stdout: &str) -> Vec<Value> {
    stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

pub fn of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

/// Peak RSS and bytes written to disk of a running child, read until it prints its summary.
pub fn watch(child: &mut Child, mut on_line: impl FnMut(&Value) -> bool) -> (Vec<Value>, u64, u64) {
    let pid = child.id();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    let (mut hwm, mut written) = (0, 0);
    for line in stdout.lines() {
        let event: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            hwm = field(&status, "VmHWM:") * 1024;
        }
        if let Ok(io) = std::fs::read_to_string(format!("/proc/{pid}/io")) {
            written = field(&io, "write_bytes:");
        }
        let stop = on_line(&event);
        seen.push(event);
        if stop {
            break;
        }
    }
    (seen, hwm, written)
}

pub fn field(text: &str, name: &str) -> u64 {
    text.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap_or(0)
}

/// `convert` of a student_attendance export to a pipe: its zip and its peak RSS (the engine's own footprint, the
/// constant of the memory formula).
pub fn convert_with_peak(csv: &std::path::Path) -> (Vec<u8>, u64) {
    use std::io::Read;
    let mut convert = bin()
        .args(["convert", "--source", "student_attendance", "-o", "-"])
        .arg(csv)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = convert.id();
    let mut reference = Vec::new();
    let mut out = convert.stdout.take().unwrap();
    let mut buf = vec![0; MIB];
    let mut convert_hwm = 0;
    loop {
        let n = out.read(&mut buf).unwrap();
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            convert_hwm = convert_hwm.max(field(&status, "VmHWM:") * 1024);
        }
        if n == 0 {
            break;
        }
        reference.extend_from_slice(&buf[..n]);
    }
    assert!(convert.wait().unwrap().success());
    (reference, convert_hwm)
}

/// `gen --all` into `dir`: each source's generated file, by source.
pub fn gen_all(dir: &Path, rows: &str) -> BTreeMap<String, PathBuf> {
    let out = run_ok(bin().args(["gen", "--all", dir.to_str().unwrap(), "--rows", rows, "--json"]));
    events(&out)
        .iter()
        .map(|e| (e["source"].as_str().unwrap().to_owned(), PathBuf::from(e["path"].as_str().unwrap())))
        .collect()
}

/// The catalog's dependencies, by source.
pub fn depends_on() -> BTreeMap<String, Vec<String>> {
    let out = run_ok(bin().args(["catalog", "--json"]));
    events(&out)
        .iter()
        .map(|s| {
            let deps = s["depends_on"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned()).collect();
            (s["name"].as_str().unwrap().to_owned(), deps)
        })
        .collect()
}

/// An emission's peak RSS stays within `convert`'s on the same input plus `bound` (the parts it may hold) and
/// 24 MiB of slack, and it writes less than a MiB to disk (the journal).
#[allow(clippy::print_stderr)] // the measured figures, for the record (`-- --nocapture`)
pub fn assert_bounded(what: &str, hwm: u64, convert_hwm: u64, bound: usize, written: u64) {
    let slack = 24 * MIB;
    eprintln!(
        "peak RSS: {what} {} MiB, convert {} MiB, parts bound {} MiB; written {written} bytes",
        hwm >> 20,
        convert_hwm >> 20,
        bound >> 20
    );
    assert!(
        hwm as usize <= convert_hwm as usize + bound + slack,
        "{what} peak {hwm} vs convert {convert_hwm} + {bound} + {slack}"
    );
    assert!(written < MIB as u64, "{what}: only the journal is written: {written} bytes");
}

/// Zips compared byte for byte except their entry timestamp (a job fixes its own; `convert` uses the clock).
pub fn without_zip_times(mut zip: Vec<u8>) -> Vec<u8> {
    zip[10..14].fill(0);
    let central = (0..zip.len() - 4).rev().find(|&i| zip[i..i + 4] == [0x50, 0x4b, 0x01, 0x02]).unwrap();
    zip[central + 12..central + 16].fill(0);
    zip
}
