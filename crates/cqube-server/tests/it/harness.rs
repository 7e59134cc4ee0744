//! A real server on a loopback socket, with tokens; S3 stores come from the test kit.

use std::net::SocketAddr;

use cqube_protocol::{CreateUploadResponse, PresignPartsResponse};
use cqube_server::auth::{NewToken, create_token};
use cqube_server::config::{S3Config, StoreConfig};
use cqube_server::{AppState, ServerConfig};
pub use cqube_testkit::{S3Store, payload};

/// A running server; stopped (gracefully) when dropped or by `stop`.
pub struct TestServer {
    pub base: String,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub fn config(dir: &std::path::Path) -> ServerConfig {
    ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.to_path_buf(),
        ..ServerConfig::default()
    }
}

/// A server on a fresh data directory with the default config changed by `adjust`; the directory lives as long as
/// the returned handle.
pub async fn start_with(adjust: impl FnOnce(&mut ServerConfig)) -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    adjust(&mut cfg);
    let server = TestServer::start(cfg).await;
    (dir, server)
}

/// A server with the default config on a fresh data directory.
pub async fn start_default() -> (tempfile::TempDir, TestServer) {
    start_with(|_| ()).await
}

/// The `POST /uploads` body most tests use.
pub fn attendance_upload() -> serde_json::Value {
    serde_json::json!({"source": "student_attendance", "filename": "student_attendance/student_attendance.zip"})
}

impl TestServer {
    pub async fn start(config: ServerConfig) -> TestServer {
        let server = cqube_server::Server::bind(config).await.expect("server starts");
        let state = server.state().clone();
        let base = state.base_url();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .run(async {
                    let _ = rx.await;
                })
                .await
                .expect("server runs");
        });
        TestServer { base, state, stop: Some(tx), task: Some(task) }
    }

    pub async fn token(&self, name: &str, sources: Option<&[&str]>, admin: bool) -> String {
        create_token(
            self.state.db(),
            &NewToken {
                name: name.into(),
                sources: sources.map(|s| s.iter().map(|x| (*x).to_owned()).collect()),
                expires_in_seconds: None,
                admin,
            },
        )
        .await
        .unwrap()
        .0
    }

    /// `POST /uploads` with `body`, which must succeed.
    pub async fn create_upload(&self, token: &str, body: &serde_json::Value) -> CreateUploadResponse {
        ok_json(http().post(format!("{}/uploads", self.base)).bearer_auth(token).json(body)).await
    }

    /// Presigned `PUT` URLs for `part_numbers` of an open upload, which must succeed.
    pub async fn presign_parts(&self, token: &str, upload_id: &str, part_numbers: &[u32]) -> PresignPartsResponse {
        let url = format!("{}/uploads/{upload_id}/parts", self.base);
        ok_json(http().post(url).bearer_auth(token).json(&serde_json::json!({"part_numbers": part_numbers}))).await
    }

    /// Stops accepting, waits for in-flight requests, and releases the state (and the embedded store).
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// Sends `req` and parses the body of its successful response; the error body otherwise, in the panic message.
pub async fn ok_json<T: serde::de::DeserializeOwned>(req: reqwest::RequestBuilder) -> T {
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// The server's store settings for an S3 store from the test kit.
pub fn store(s3: &S3Store) -> StoreConfig {
    StoreConfig::S3(S3Config {
        endpoint_url: Some(s3.endpoint.clone()),
        region: s3.region.clone(),
        force_path_style: true,
        access_key_id: s3.access_key_id.clone(),
        secret_access_key: Some(s3.secret_access_key.clone()),
        secret_access_key_file: None,
    })
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
