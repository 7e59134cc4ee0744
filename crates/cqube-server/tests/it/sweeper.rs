//! Issue 11: the sweeper and the admin's view of uploads. A completion recorded before a crash is reconciled from
//! the store (acknowledged once, or failed and cleaned), expired uploads and store uploads nobody knows are
//! aborted, and an admin lists and aborts uploads through the API; on the embedded store and on moto.

use cqube_protocol::{Acknowledgement, UploadList};
use serde_json::json;

use crate::harness::{S3Store, TestServer, attendance_upload, http, ok_json, payload, sha256_hex, start_with, store};
use crate::multipart::{complete, put_parts};

const BUCKET: &str = "cqube-emission";

async fn state_of(server: &TestServer, upload_id: &str) -> String {
    server.state.db().upload(upload_id).await.unwrap().unwrap().state
}

/// Open multipart uploads in the store, asked over S3.
async fn store_open(server: &TestServer) -> usize {
    server.state.storage().open_uploads(BUCKET).await.unwrap().len()
}

/// The three crash outcomes a restart finds, each recorded as `completing` and settled by one sweep.
async fn sweep_reconciles_recorded_completions(server: &TestServer) {
    let token = server.token("state", None, false).await;
    let storage = server.state.storage();
    let data = payload(5 * 1024 * 1024 + 99, 8);
    let chunks: Vec<&[u8]> = data.chunks(5 * 1024 * 1024).collect();
    let mut cases = Vec::new();
    for case in ["store never asked", "store completed", "store lost the upload"] {
        let created = server.create_upload(&token, &attendance_upload()).await;
        let parts = put_parts(server, &token, &created.upload_id, &chunks).await;
        let body = json!({"parts": parts, "rows": 2, "bytes": data.len(), "sha256": sha256_hex(&data)});
        let upload = server.state.db().upload(&created.upload_id).await.unwrap().unwrap();
        assert!(server.state.db().begin_completion(&upload.id, &body.to_string(), 0).await.unwrap());
        let completed: Vec<cqube_protocol::CompletedPart> = serde_json::from_value(body["parts"].clone()).unwrap();
        match case {
            "store completed" => {
                storage.complete(BUCKET, &upload.key, &upload.store_upload_id, &completed).await.unwrap();
            }
            "store lost the upload" => storage.abort(BUCKET, &upload.key, &upload.store_upload_id).await.unwrap(),
            _ => {}
        }
        cases.push((case, created, body));
    }
    let swept = cqube_server::sweeper::sweep(&server.state).await.unwrap();
    assert_eq!(swept.reconciled, 3, "{swept:?}");
    for (case, created, body) in &cases {
        let (status, answer) = complete(server, &token, &created.upload_id, body).await;
        if *case == "store lost the upload" {
            assert_eq!((status, answer["code"].as_str()), (409, Some("upload_not_open")), "{case}: {answer}");
            assert_eq!(state_of(server, &created.upload_id).await, "aborted", "{case}");
            assert!(storage.head(BUCKET, &created.key).await.unwrap().is_none(), "{case}");
        } else {
            assert_eq!(status, 200, "{case}: {answer}");
            let ack: Acknowledgement = serde_json::from_value(answer).unwrap();
            let recorded = server.state.db().emission_for_upload(&created.upload_id).await.unwrap().unwrap();
            assert_eq!(ack.emission_id, recorded.id, "{case}: the sweep's acknowledgement is the one returned");
            assert_eq!(storage.size(BUCKET, &created.key).await.unwrap(), data.len() as u64, "{case}");
        }
    }
    let all = server.state.db().emissions(&cqube_server::db::EmissionFilter::default()).await.unwrap();
    assert_eq!(all.len(), 2, "one acknowledgement per completed upload");
    assert_eq!(store_open(server).await, 0, "no incomplete multipart upload is left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_store_sweep_reconciles_completions_recorded_before_a_crash() {
    let (dir, server) = start_with(|_| ()).await;
    sweep_reconciles_recorded_completions(&server).await;
    let store = dir.path().join("store");
    let leftovers: Vec<String> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".upload") || n.starts_with(".tmp.") || n.contains(".upload-"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new(), "no part or upload file is left in the store");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_sweep_reconciles_completions_recorded_before_a_crash() {
    let moto = S3Store::moto();
    let (_dir, server) = start_with(|cfg| cfg.store = store(&moto)).await;
    sweep_reconciles_recorded_completions(&server).await;
    server.stop().await;
}

/// Expired uploads and store uploads no row knows are aborted; an admin lists and aborts by hand.
async fn sweep_and_admin_abort_abandoned_uploads(server: &TestServer) {
    let token = server.token("state", None, false).await;
    let other = server.token("other", None, false).await;
    let admin = server.token("admin", None, true).await;
    let c = http();
    let abandoned = server.create_upload(&token, &attendance_upload()).await;
    put_parts(server, &token, &abandoned.upload_id, &[b"abandoned"]).await;
    let orphan_key = "student_attendance/student_attendance_orphan.zip";
    server.state.storage().create_multipart(BUCKET, orphan_key).await.unwrap();
    let list = |token: String, query: &'static str| {
        let url = format!("{}/uploads{query}", server.base);
        async move { http().get(url).bearer_auth(token).send().await.unwrap() }
    };
    assert_eq!(list(token.clone(), "").await.status(), 403, "listing uploads is for admins");
    assert_eq!(list(admin.clone(), "?state=nonsense").await.status(), 400);
    let open: UploadList = list(admin.clone(), "?state=open").await.json().await.unwrap();
    assert_eq!(open.uploads.len(), 1);
    assert_eq!(open.uploads[0].upload_id, abandoned.upload_id);

    // past the expiry (1 s here) the sweeper aborts both
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let expired: UploadList = list(admin.clone(), "?state=expired").await.json().await.unwrap();
    assert_eq!(expired.uploads.len(), 1);
    assert!(expired.uploads[0].expired);
    let swept = cqube_server::sweeper::sweep(&server.state).await.unwrap();
    assert_eq!((swept.aborted, swept.orphans), (1, 1), "{swept:?}");
    assert_eq!(state_of(server, &abandoned.upload_id).await, "aborted");
    assert_eq!(store_open(server).await, 0);

    // by hand: another token cannot see the upload, an admin aborts it, and its owner can no longer complete it
    let by_hand = server.create_upload(&token, &attendance_upload()).await;
    let parts = put_parts(server, &token, &by_hand.upload_id, &[b"by hand"]).await;
    let url = format!("{}/uploads/{}", server.base, by_hand.upload_id);
    assert_eq!(c.delete(&url).bearer_auth(&other).send().await.unwrap().status(), 404);
    assert_eq!(c.delete(&url).bearer_auth(&admin).send().await.unwrap().status(), 204);
    assert_eq!(c.delete(&url).bearer_auth(&admin).send().await.unwrap().status(), 204, "aborting twice is fine");
    let body = json!({"parts": parts, "rows": 1, "bytes": 7, "sha256": sha256_hex(b"by hand")});
    let (status, answer) = complete(server, &token, &by_hand.upload_id, &body).await;
    assert_eq!((status, answer["code"].as_str()), (409, Some("upload_not_open")), "{answer}");
    let aborted: UploadList =
        ok_json(c.get(format!("{}/uploads?state=aborted", server.base)).bearer_auth(&admin)).await;
    assert_eq!(aborted.uploads.len(), 2);
    assert_eq!(store_open(server).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_store_sweeper_and_admin_abort_abandoned_uploads() {
    let (_dir, server) = start_with(|cfg| cfg.upload_expiry_seconds = 1).await;
    sweep_and_admin_abort_abandoned_uploads(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_sweeper_and_admin_abort_abandoned_uploads() {
    let moto = S3Store::moto();
    let (_dir, server) = start_with(|cfg| {
        cfg.store = store(&moto);
        cfg.upload_expiry_seconds = 1;
    })
    .await;
    sweep_and_admin_abort_abandoned_uploads(&server).await;
    server.stop().await;
}
