//! Presigned parts → complete → list → download_uri → byte compare, on the embedded store and on moto.

use cqube_protocol::{Acknowledgement, EmissionList, ListPartsResponse};
use serde_json::json;

use crate::harness::{
    S3Store, TestServer, attendance_upload, http, ok_json, payload, sha256_hex, start_default, start_with, store,
};

const MIB: usize = 1024 * 1024;

/// The whole emitter flow; returns the acknowledgement.
/// `list_parts`: whether the store's ListParts answer is readable (moto 5.2's is not).
/// `watermark`: what the completion reports for an incremental source.
async fn emit_in_parts(
    server: &TestServer,
    token: &str,
    data: &[u8],
    list_parts: bool,
    watermark: Option<serde_json::Value>,
) -> Acknowledgement {
    let c = http();
    let mut body = attendance_upload();
    body["expected_size_bytes"] = json!(data.len());
    let created = server.create_upload(token, &body).await;
    assert!(created.key.starts_with("student_attendance/student_attendance_") && created.key.ends_with(".zip"));
    let chunks: Vec<&[u8]> = data.chunks(5 * MIB).collect();
    let numbers: Vec<u32> = (1..=chunks.len() as u32).collect();
    let presigned = server.presign_parts(token, &created.upload_id, &numbers).await;
    let mut parts = Vec::new();
    for (part, chunk) in presigned.parts.iter().zip(&chunks) {
        let res = c.put(&part.url).body(chunk.to_vec()).send().await.unwrap();
        assert!(res.status().is_success(), "part {} PUT: {}", part.part_number, res.status());
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        parts.push(json!({"part_number": part.part_number, "etag": etag}));
    }
    if list_parts {
        let listed: ListPartsResponse =
            ok_json(c.get(format!("{}/uploads/{}/parts", server.base, created.upload_id)).bearer_auth(token)).await;
        assert_eq!(listed.parts.len(), chunks.len());
        assert_eq!(listed.parts.iter().map(|p| p.size_bytes).sum::<u64>(), data.len() as u64);
    }

    if list_parts {
        // a wrong byte count is refused before anything is completed
        let wrong = json!({"parts": parts, "rows": 1, "bytes": data.len() + 1, "sha256": sha256_hex(data)});
        let res = c
            .post(format!("{}/uploads/{}/complete", server.base, created.upload_id))
            .bearer_auth(token)
            .json(&wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(res.json::<serde_json::Value>().await.unwrap()["code"], "size_mismatch");
    }
    let mut complete = json!({"parts": parts, "rows": 1234, "bytes": data.len(), "sha256": sha256_hex(data)});
    if let Some(w) = watermark {
        complete["watermark"] = w;
    }
    let url = format!("{}/uploads/{}/complete", server.base, created.upload_id);
    let ack: Acknowledgement = ok_json(c.post(&url).bearer_auth(token).json(&complete)).await;
    assert_eq!((ack.bytes, ack.rows, ack.source.as_str()), (data.len() as u64, 1234, "student_attendance"));
    assert_eq!(ack.key, created.key);
    // completing again returns the same acknowledgement and changes nothing
    let again: Acknowledgement = ok_json(c.post(&url).bearer_auth(token).json(&complete)).await;
    assert_eq!(again, ack);
    ack
}

async fn listed_and_downloaded(server: &TestServer, token: &str, key: &str, data: &[u8]) {
    let c = http();
    let page: serde_json::Value =
        ok_json(c.post(format!("{}/list_s3_files", server.base)).bearer_auth(token).form(&[("bucket", "emission")]))
            .await;
    let found = page["Contents"].as_array().unwrap().iter().find(|o| o["Key"] == key).expect("listed");
    assert_eq!(found["Size"], data.len());
    let urls: serde_json::Value = ok_json(
        c.post(format!("{}/download_uri", server.base))
            .bearer_auth(token)
            .json(&json!({"filename": [key], "bucket": "emission"})),
    )
    .await;
    let body =
        c.get(urls[key].as_str().unwrap()).send().await.unwrap().error_for_status().unwrap().bytes().await.unwrap();
    assert!(body.as_ref() == data, "downloaded bytes differ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_store_parts_complete_list_download() {
    let (_dir, server) = start_default().await;
    let token = server.token("state", Some(&["student_attendance"]), false).await;
    let data = payload(11 * MIB + 123, 1);
    let ack = emit_in_parts(&server, &token, &data, true, None).await;
    listed_and_downloaded(&server, &token, &ack.key, &data).await;
    let list: EmissionList =
        ok_json(http().get(format!("{}/emissions?source=student_attendance", server.base)).bearer_auth(&token)).await;
    assert_eq!(list.emissions, vec![ack]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_parts_complete_list_download_and_archive() {
    let moto = S3Store::moto();
    let (_dir, server) = start_with(|cfg| {
        cfg.store = store(&moto);
        cfg.archive = true;
    })
    .await;
    let token = server.token("state", None, false).await;
    let admin = server.token("admin", None, true).await;
    let data = payload(6 * MIB + 7, 2);
    let ack = emit_in_parts(&server, &token, &data, false, None).await;
    // archive: moved to the input bucket under cQube's key, gone from the emission bucket
    let archived = ack.archived_key.clone().expect("archived");
    assert!(archived.starts_with("student_attendance/20"), "{archived}");
    assert!(archived.ends_with("_student_attendance.zip"), "{archived}");
    let size = server.state.storage().size("cqube-input", &archived).await.unwrap();
    assert_eq!(size, data.len() as u64);
    assert!(server.state.storage().size("cqube-emission", &ack.key).await.is_err());
    let page: serde_json::Value = ok_json(
        http().post(format!("{}/list_s3_files", server.base)).bearer_auth(&admin).json(&json!({"bucket": "input"})),
    )
    .await;
    assert_eq!(page["Contents"][0]["Key"], archived.as_str());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_get_distinct_keys() {
    let (_dir, server) = start_default().await;
    let token = server.token("state", None, false).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (base, token) = (server.base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let c = http();
            let res = if i % 2 == 0 {
                ok_json::<serde_json::Value>(
                    c.post(format!("{base}/uploads")).bearer_auth(&token).json(&attendance_upload()),
                )
                .await["key"]
                    .clone()
            } else {
                ok_json::<serde_json::Value>(
                    c.post(format!("{base}/upload-url"))
                        .bearer_auth(&token)
                        .form(&[("filename", "student_attendance/student_attendance.zip")]),
                )
                .await["fields"]["key"]
                    .clone()
            };
            res.as_str().unwrap().to_owned()
        }));
    }
    let mut keys = std::collections::HashSet::new();
    for t in tasks {
        assert!(keys.insert(t.await.unwrap()));
    }
    assert_eq!(keys.len(), 16);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_urls_are_bound_to_part_and_expire() {
    let (_dir, server) = start_with(|cfg| cfg.presign_expiry_seconds = 1).await;
    let token = server.token("state", None, false).await;
    let c = http();
    let created = server.create_upload(&token, &attendance_upload()).await;
    let presigned = server.presign_parts(&token, &created.upload_id, &[1]).await;
    let url = &presigned.parts[0].url;
    // the signature covers the part number: the same URL for part 2 is refused
    let other_part = url.replace("partNumber=1", "partNumber=2");
    assert_ne!(&other_part, url);
    assert_eq!(c.put(&other_part).body("x").send().await.unwrap().status(), 403);
    // and the method: GET with the PUT signature is refused
    assert_eq!(c.get(url).send().await.unwrap().status(), 403);
    // after the expiry the URL is refused
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(c.put(url).body("x").send().await.unwrap().status(), 403);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_then_complete_is_refused() {
    let (_dir, server) = start_default().await;
    let token = server.token("state", None, false).await;
    let c = http();
    let created = server.create_upload(&token, &attendance_upload()).await;
    let url = format!("{}/uploads/{}", server.base, created.upload_id);
    assert_eq!(c.delete(&url).bearer_auth(&token).send().await.unwrap().status(), 204);
    let res = c
        .post(format!("{url}/complete"))
        .bearer_auth(&token)
        .json(&json!({"parts": [{"part_number": 1, "etag": "\"x\""}], "rows": 1, "bytes": 1, "sha256": "0".repeat(64)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["code"], "upload_not_open");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watermarks_are_kept_with_acknowledgements_and_the_newest_is_found_by_column() {
    let (_dir, server) = start_default().await;
    let token = server.token("state", None, false).await;
    let small = payload(1000, 3);
    let first =
        emit_in_parts(&server, &token, &small, false, Some(json!({"column": "updated_at", "value": "2024-07-01"})))
            .await;
    assert_eq!(first.watermark.as_ref().map(|w| w.value.as_str()), Some("2024-07-01"));
    emit_in_parts(&server, &token, &small, false, Some(json!({"column": "updated_at", "value": "2024-07-02"}))).await;
    emit_in_parts(&server, &token, &small, false, Some(json!({"column": "id", "value": "99"}))).await;
    let plain = emit_in_parts(&server, &token, &small, false, None).await;
    assert_eq!(plain.watermark, None);

    let list = |query: &'static str| {
        let url = format!("{}/emissions?source=student_attendance{query}", server.base);
        let token = token.clone();
        async move { ok_json::<EmissionList>(http().get(url).bearer_auth(token)).await.emissions }
    };
    assert_eq!(list("").await.len(), 4);
    let newest = list("&watermark_column=updated_at&limit=1").await;
    assert_eq!(newest.len(), 1);
    assert_eq!(
        newest[0].watermark.as_ref().map(|w| (w.column.as_str(), w.value.as_str())),
        Some(("updated_at", "2024-07-02"))
    );
    assert_eq!(list("&watermark_column=updated_at").await.len(), 2);
    assert_eq!(list("&watermark_column=id").await[0].watermark.as_ref().unwrap().value, "99");

    server.stop().await;
}

/// Uploads `chunks` as parts 1.. of an open upload; returns the part list `complete` takes.
pub(crate) async fn put_parts(
    server: &TestServer,
    token: &str,
    upload_id: &str,
    chunks: &[&[u8]],
) -> Vec<serde_json::Value> {
    let numbers: Vec<u32> = (1..=chunks.len() as u32).collect();
    let presigned = server.presign_parts(token, upload_id, &numbers).await;
    let mut parts = Vec::new();
    for (part, chunk) in presigned.parts.iter().zip(chunks) {
        let res = http().put(&part.url).body(chunk.to_vec()).send().await.unwrap();
        assert!(res.status().is_success(), "part {} PUT: {}", part.part_number, res.status());
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        parts.push(json!({"part_number": part.part_number, "etag": etag}));
    }
    parts
}

/// `POST .../complete`: the status and the JSON body.
pub(crate) async fn complete(
    server: &TestServer,
    token: &str,
    upload_id: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let url = format!("{}/uploads/{upload_id}/complete", server.base);
    let res = http().post(url).bearer_auth(token).json(body).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn upload_state(server: &TestServer, upload_id: &str) -> String {
    server.state.db().upload(upload_id).await.unwrap().unwrap().state
}

/// Issue 11: complete checks every part's ETag and size on every store, and a refused part list changes nothing.
async fn complete_checks_etags_and_sizes(server: &TestServer, lists_parts: bool) {
    let token = server.token("state", None, false).await;
    let first = payload(5 * MIB, 4);
    let (second, third) = (payload(100, 5), payload(70, 6));
    let created = server.create_upload(&token, &attendance_upload()).await;
    let id = &created.upload_id;
    let parts = put_parts(server, &token, id, &[&first, &second, &third]).await;
    let all: Vec<u8> = [first.as_slice(), &second].concat();
    let body = |parts: &[serde_json::Value], bytes: usize| json!({"parts": parts, "rows": 3, "bytes": bytes, "sha256": sha256_hex(&all)});

    // parts 1 and 2 make the upload; part 3 is stored but left out (S3 drops such parts)
    let listed = &parts[..2];
    // a wrong ETag, on any part: the first, the last
    for i in [0, 1] {
        let mut wrong = listed.to_vec();
        wrong[i]["etag"] = json!("\"0123456789abcdef0123456789abcdef\"");
        let (status, answer) = complete(server, &token, id, &body(&wrong, all.len())).await;
        assert_eq!((status, answer["code"].as_str()), (400, Some("invalid_parts")), "wrong ETag of part {i}: {answer}");
        assert_eq!(upload_state(server, id).await, "open");
    }
    // a part the store does not have
    let mut missing = listed.to_vec();
    missing.push(json!({"part_number": 9, "etag": parts[0]["etag"]}));
    let (status, answer) = complete(server, &token, id, &body(&missing, all.len())).await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("invalid_parts")), "{answer}");
    // a part below S3's 5 MiB minimum that is not the last
    let small_first = vec![parts[1].clone(), parts[2].clone()];
    let (status, answer) = complete(server, &token, id, &body(&small_first, 170)).await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("invalid_parts")), "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("EntityTooSmall"), "{answer}");
    assert_eq!(upload_state(server, id).await, "open");
    assert!(server.state.db().emission_for_upload(id).await.unwrap().is_none());

    if lists_parts {
        // a byte count the parts do not add up to is refused before the store is asked
        let (status, answer) = complete(server, &token, id, &body(listed, all.len() - 1)).await;
        assert_eq!((status, answer["code"].as_str()), (400, Some("size_mismatch")), "{answer}");
        assert_eq!(upload_state(server, id).await, "open");
    }
    // after every refusal the right list still completes, once
    let (status, ack) = complete(server, &token, id, &body(listed, all.len())).await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack["bytes"], all.len());
    let (status, again) = complete(server, &token, id, &body(listed, all.len())).await;
    assert_eq!((status, &again), (200, &ack));
    listed_and_downloaded(server, &token, &created.key, &all).await;

    // a wrong byte count is never acknowledged: refused before completing where ListParts can be read, else
    // caught after completing, and the object removed
    let other = server.create_upload(&token, &attendance_upload()).await;
    let parts = put_parts(server, &token, &other.upload_id, &[&first]).await;
    let wrong = json!({"parts": parts, "rows": 1, "bytes": first.len() + 1, "sha256": sha256_hex(&first)});
    let (status, answer) = complete(server, &token, &other.upload_id, &wrong).await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("size_mismatch")), "{answer}");
    assert!(server.state.db().emission_for_upload(&other.upload_id).await.unwrap().is_none());
    assert!(server.state.storage().head("cqube-emission", &other.key).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_store_complete_checks_every_part_etag_and_size() {
    let (_dir, server) = start_default().await;
    complete_checks_etags_and_sizes(&server, true).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_complete_checks_every_part_etag_and_size() {
    let moto = S3Store::moto();
    let (_dir, server) = start_with(|cfg| cfg.store = store(&moto)).await;
    complete_checks_etags_and_sizes(&server, false).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_completes_of_one_upload_give_one_acknowledgement() {
    let (_dir, server) = start_default().await;
    let token = server.token("state", None, false).await;
    let data = payload(7 * MIB, 7);
    let created = server.create_upload(&token, &attendance_upload()).await;
    let chunks: Vec<&[u8]> = data.chunks(5 * MIB).collect();
    let parts = put_parts(&server, &token, &created.upload_id, &chunks).await;
    let body = json!({"parts": parts, "rows": 9, "bytes": data.len(), "sha256": sha256_hex(&data)});
    let url = format!("{}/uploads/{}/complete", server.base, created.upload_id);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (url, token, body) = (url.clone(), token.clone(), body.clone());
            tokio::spawn(
                async move { ok_json::<Acknowledgement>(http().post(url).bearer_auth(token).json(&body)).await },
            )
        })
        .collect();
    let mut acks = Vec::new();
    for t in tasks {
        acks.push(t.await.unwrap());
    }
    assert!(acks.iter().all(|a| a == &acks[0]), "every complete returns the same acknowledgement");
    let list: EmissionList = ok_json(http().get(format!("{}/emissions", server.base)).bearer_auth(&token)).await;
    assert_eq!(list.emissions, vec![acks[0].clone()]);
    // an acknowledged upload cannot be aborted, and its object stays
    let res = http().delete(format!("{}/uploads/{}", server.base, created.upload_id)).bearer_auth(&token).send().await;
    assert_eq!(res.unwrap().status(), 409);
    listed_and_downloaded(&server, &token, &created.key, &data).await;
    server.stop().await;
}
