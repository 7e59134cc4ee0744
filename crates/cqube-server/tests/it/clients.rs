//! Third-party clients: cQube's own Python flow with `requests`, and boto3 reading the embedded store.

use std::process::Command;

use crate::harness::{S3Store, TestServer, payload, start_default, start_with, store};

/// cQube's client (python/client/client.py), reduced to its two requests and unchanged in how it calls them.
const CQUBE_CLIENT: &str = r#"
import sys, requests
emission_url, access_token, file_path, rel_path = sys.argv[1:5]
headers = {"Authorization": "Bearer " + access_token}
res = requests.post(emission_url + "/upload-url", headers=headers, data={"filename": rel_path})
assert res.status_code == 200, (res.status_code, res.text)
body = res.json()
with open(file_path, "rb") as f:
    files = {"file": (file_path, f)}
    up = requests.post(body["url"], data=body["fields"], files=files)
print(up.status_code)
print(body["fields"]["key"])
"#;

fn run_cqube_client(base: &str, token: &str, file: &std::path::Path) -> String {
    let out = Command::new("python3")
        .args(["-c", CQUBE_CLIENT, base, token, file.to_str().unwrap(), "student_attendance/student_attendance.zip"])
        .output()
        .expect("python3 with requests is installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("204"), "S3 answers 204 to a presigned POST: {stdout}");
    lines.next().unwrap().to_owned()
}

async fn check_stored(server: &TestServer, key: &str, len: usize) {
    assert!(key.starts_with("student_attendance/student_attendance_") && key.ends_with(".zip"), "{key}");
    assert_eq!(server.state.storage().size("cqube-emission", key).await.unwrap(), len as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cqube_python_client_against_embedded_store_large_file() {
    let (dir, server) = start_default().await;
    let token = server.token("python", None, false).await;
    // s3s-fs's own form parser fails at this size (STYLE.md); the server's POST handler must not
    let len = 64 * 1024 * 1024;
    let file = dir.path().join("student_attendance.zip");
    std::fs::write(&file, payload(len, 3)).unwrap();
    let (base, t, f) = (server.base.clone(), token.clone(), file.clone());
    let key = tokio::task::spawn_blocking(move || run_cqube_client(&base, &t, &f)).await.unwrap();
    check_stored(&server, &key, len).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cqube_python_client_against_moto() {
    let moto = S3Store::moto();
    let (dir, server) = start_with(|cfg| cfg.store = store(&moto)).await;
    let token = server.token("python", None, false).await;
    let file = dir.path().join("student_attendance.zip");
    std::fs::write(&file, payload(4096, 4)).unwrap();
    let (base, t, f) = (server.base.clone(), token.clone(), file.clone());
    let key = tokio::task::spawn_blocking(move || run_cqube_client(&base, &t, &f)).await.unwrap();
    check_stored(&server, &key, 4096).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_reads_the_embedded_store_with_printed_credentials() {
    let (dir, server) = start_default().await;
    let token = server.token("python", None, false).await;
    let file = dir.path().join("student_attendance.zip");
    std::fs::write(&file, b"PK-not-really-a-zip").unwrap();
    let (base, t, f) = (server.base.clone(), token.clone(), file.clone());
    let key = tokio::task::spawn_blocking(move || run_cqube_client(&base, &t, &f)).await.unwrap();
    let access = server.state.storage().embedded_access().expect("embedded").clone();
    let script = r#"
import sys, boto3
from botocore.config import Config
endpoint, region, ak, sk, key = sys.argv[1:6]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region, aws_access_key_id=ak, aws_secret_access_key=sk,
                  config=Config(s3={"addressing_style": "path"}))
print(sorted(b["Name"] for b in s3.list_buckets()["Buckets"]))
print([o["Key"] for o in s3.list_objects_v2(Bucket="cqube-emission")["Contents"]] == [key])
print(s3.get_object(Bucket="cqube-emission", Key=key)["Body"].read().decode())
"#;
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args([
                "-c",
                script,
                &access.endpoint_url,
                &access.region,
                &access.access_key_id,
                &access.secret_access_key,
                &key,
            ])
            .output()
            .expect("python3 with boto3 is installed")
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout, "['cqube-emission', 'cqube-input', 'cqube-output']\nTrue\nPK-not-really-a-zip\n");
    server.stop().await;
}
