//! Presigned parts → complete → list → download_uri → byte compare, on the embedded store and on moto.

use cqube_protocol::{Acknowledgement, EmissionList, ListPartsResponse};
use serde_json::json;

use crate::harness::{
    Moto, TestServer, attendance_upload, http, ok_json, payload, sha256_hex, start_default, start_with,
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
    let token = server.token("state", Some(&["student_attendance"]), false);
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
    let moto = Moto::start().await;
    let (_dir, server) = start_with(|cfg| {
        cfg.store = moto.store();
        cfg.archive = true;
    })
    .await;
    let token = server.token("state", None, false);
    let admin = server.token("admin", None, true);
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
    let token = server.token("state", None, false);
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
    let token = server.token("state", None, false);
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
    let token = server.token("state", None, false);
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
    let token = server.token("state", None, false);
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
