//! A server restarted on the same data directory keeps its tokens, emissions and stored objects.

use cqube_protocol::{Acknowledgement, EmissionList};
use serde_json::json;

use crate::harness::{TestServer, config, http, ok_json, sha256_hex, start_default};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_tokens_and_emissions() {
    let (dir, server) = start_default().await;
    let token = server.token("state", None, false).await;
    let c = http();
    let created = server
        .create_upload(&token, &json!({"source": "school_master", "filename": "school_master/school_mst.zip"}))
        .await;
    let parts = server.presign_parts(&token, &created.upload_id, &[1]).await;
    let data = b"one small part".to_vec();
    let put = c.put(&parts.parts[0].url).body(data.clone()).send().await.unwrap();
    let etag = put.headers()["etag"].to_str().unwrap().to_owned();
    let _: Acknowledgement = ok_json(
        c.post(format!("{}/uploads/{}/complete", server.base, created.upload_id)).bearer_auth(&token).json(
            &json!({"parts": [{"part_number": 1, "etag": etag}], "rows": 1, "bytes": data.len(), "sha256": sha256_hex(&data)}),
        ),
    )
    .await;
    server.stop().await;

    let server = TestServer::start(config(dir.path())).await;
    // the token survives the restart: an unknown one would get a 401 here
    let list: EmissionList = ok_json(c.get(format!("{}/emissions", server.base)).bearer_auth(&token)).await;
    assert_eq!(list.emissions.len(), 1);
    assert_eq!(list.emissions[0].key, created.key);
    assert_eq!(server.state.storage().size("cqube-emission", &created.key).await.unwrap(), data.len() as u64);
    server.stop().await;
}
