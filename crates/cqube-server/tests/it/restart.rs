//! A server restarted on the same data directory keeps its tokens, emissions and stored objects.

use cqube_protocol::{CreateUploadResponse, EmissionList, PresignPartsResponse};
use serde_json::json;

use crate::harness::{TestServer, config, http, sha256_hex};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_tokens_and_emissions() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(config(dir.path())).await;
    let token = server.token("state", None, false);
    let c = http();
    let created: CreateUploadResponse = c
        .post(format!("{}/uploads", server.base))
        .bearer_auth(&token)
        .json(&json!({"source": "school_master", "filename": "school_master/school_mst.zip"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let parts: PresignPartsResponse = c
        .post(format!("{}/uploads/{}/parts", server.base, created.upload_id))
        .bearer_auth(&token)
        .json(&json!({"part_numbers": [1]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let data = b"one small part".to_vec();
    let put = c.put(&parts.parts[0].url).body(data.clone()).send().await.unwrap();
    let etag = put.headers()["etag"].to_str().unwrap().to_owned();
    c.post(format!("{}/uploads/{}/complete", server.base, created.upload_id))
        .bearer_auth(&token)
        .json(&json!({"parts": [{"part_number": 1, "etag": etag}], "rows": 1, "bytes": data.len(), "sha256": sha256_hex(&data)}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    server.stop().await;

    let server = TestServer::start(config(dir.path())).await;
    let list: EmissionList = c
        .get(format!("{}/emissions", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .expect("the token survives the restart")
        .json()
        .await
        .unwrap();
    assert_eq!(list.emissions.len(), 1);
    assert_eq!(list.emissions[0].key, created.key);
    assert_eq!(server.state.storage().size("cqube-emission", &created.key).await.unwrap(), data.len() as u64);
    server.stop().await;
}
