//! Two server replicas on one PostgreSQL database and one SeaweedFS store: whatever one replica starts, the other
//! can continue, and racing completions give one acknowledgement.

use cqube_protocol::{CompleteUploadRequest, CompletedPart};
use cqube_server::db::{DatabaseUrl, EmissionFilter};
use cqube_testkit::PgDatabase;

use crate::harness::*;

async fn replica(pg: &PgDatabase, weed: &S3Store) -> (tempfile::TempDir, TestServer) {
    start_with(|cfg| {
        cfg.database_url = Some(DatabaseUrl::parse(&pg.url()).unwrap());
        cfg.store = store(weed);
    })
    .await
}

/// Sends `body` as part 1 of `upload_id` through replica `via` and returns the completion request.
async fn one_part(via: &TestServer, token: &str, upload_id: &str, body: &[u8]) -> CompleteUploadRequest {
    let presigned = via.presign_parts(token, upload_id, &[1]).await;
    let res = http().put(&presigned.parts[0].url).body(body.to_vec()).send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    CompleteUploadRequest {
        parts: vec![CompletedPart { part_number: 1, etag }],
        bytes: u64::try_from(body.len()).unwrap(),
        rows: 1,
        sha256: sha256_hex(body),
        watermark: None,
        quality: None,
    }
}

async fn complete(via: &TestServer, token: &str, upload_id: &str, req: &CompleteUploadRequest) -> serde_json::Value {
    let url = format!("{}/uploads/{upload_id}/complete", via.base);
    ok_json(http().post(url).bearer_auth(token).json(req)).await
}

#[tokio::test]
async fn replicas_share_tokens_uploads_keys_and_give_one_acknowledgement_per_upload() {
    let pg = PgDatabase::create("cqe_replicas");
    let weed = S3Store::seaweedfs(&cqube_server::ServerConfig::default().buckets.all());
    let ((_da, a), (_db, b)) = (replica(&pg, &weed).await, replica(&pg, &weed).await);

    // A token made on A works on B at once.
    let token = a.token("gujarat", None, false).await;

    // Created on A, presigned and completed on B.
    let created = a.create_upload(&token, &attendance_upload()).await;
    let created_key = created.key.clone();
    let body = payload(64 * 1024, 7);
    let req = one_part(&b, &token, &created.upload_id, &body).await;
    let ack = complete(&b, &token, &created.upload_id, &req).await;
    assert_eq!(ack["key"], created.key);
    let object = weed.get(ack["bucket"].as_str().unwrap(), &created.key);
    assert_eq!(sha256_hex(&object), sha256_hex(&body));
    // A retried complete on A returns B's acknowledgement.
    assert_eq!(complete(&a, &token, &created.upload_id, &req).await["emission_id"], ack["emission_id"]);

    // The same upload completed on both replicas at the same moment: one acknowledgement, given to both.
    for round in 0..5 {
        let created = b.create_upload(&token, &attendance_upload()).await;
        let req = one_part(&a, &token, &created.upload_id, &payload(4096, round)).await;
        let (on_a, on_b) = tokio::join!(
            complete(&a, &token, &created.upload_id, &req),
            complete(&b, &token, &created.upload_id, &req)
        );
        assert_eq!(on_a["emission_id"], on_b["emission_id"], "round {round}");
        let filter = EmissionFilter { upload_id: Some(&created.upload_id), ..EmissionFilter::default() };
        assert_eq!(a.state.db().emissions(&filter).await.unwrap().len(), 1, "round {round}");
    }

    // Aborted on B after A created it: no upload left open in the store.
    let created = a.create_upload(&token, &attendance_upload()).await;
    one_part(&a, &token, &created.upload_id, &payload(1024, 9)).await;
    let res = http().delete(format!("{}/uploads/{}", b.base, created.upload_id)).bearer_auth(&token).send().await;
    assert!(res.unwrap().status().is_success());
    assert_eq!(a.state.db().upload(&created.upload_id).await.unwrap().unwrap().state, "aborted");

    // Keys stay unique whichever replica names them, in the same second.
    let mut keys = std::collections::BTreeSet::new();
    for i in 0..20 {
        let via = if i % 2 == 0 { &a } else { &b };
        keys.insert(via.create_upload(&token, &attendance_upload()).await.key);
    }
    assert_eq!(keys.len(), 20, "{keys:?}");

    // One sweeper at a time: while A holds the sweeper's lock, B's sweep leaves a failed upload alone.
    let failed = a.create_upload(&token, &attendance_upload()).await;
    a.state.db().set_upload_state(&failed.upload_id, "failed").await.unwrap();
    let held = a.state.db().lock("sweeper", false).await.unwrap().expect("free at first");
    assert_eq!(cqube_server::sweeper::sweep(&b.state).await.unwrap(), cqube_server::sweeper::Swept::default());
    assert_eq!(b.state.db().upload(&failed.upload_id).await.unwrap().unwrap().state, "failed");
    drop(held);
    // The lock is released on a spawned task: sweep until B gets it.
    let mut aborted = 0;
    for _ in 0..100 {
        aborted = cqube_server::sweeper::sweep(&b.state).await.unwrap().aborted;
        if aborted > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(aborted, 1);
    assert_eq!(a.state.db().upload(&failed.upload_id).await.unwrap().unwrap().state, "aborted");
    // The console signs and checks sessions with one key from the database: a session from A works on B, and B
    // lists what A acknowledged.
    let admin = a.token("ops", None, true).await;
    let cookie = crate::console::Console::new(&a).sign_in(&[("token", &admin)]).await;
    let page = crate::console::Console::new(&b).get("/emissions", Some(&cookie)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&created_key), "{}", page.body);

    // Ready while both stores answer; without its database a replica says so, for the load balancer.
    let ready = |s: &TestServer| http().get(format!("{}/readyz", s.base.trim_end_matches("/data"))).send();
    assert_eq!(ready(&a).await.unwrap().status(), 200);
    drop(pg);
    let res = ready(&b).await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.text().await.unwrap(), "state store unavailable");
    a.stop().await;
    b.stop().await;
}
