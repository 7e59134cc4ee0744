//! Who may call what: missing/invalid/expired/revoked tokens → 401, out of scope → 403, admin-only → 403.

use cqube_server::auth::{NewToken, create_token, now_ms};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{http, ok_json, start_default};

/// Method, path, JSON body, token, expected status.
type Case<'a> = (Method, &'a str, Option<serde_json::Value>, Option<&'a str>, StatusCode);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_matrix() {
    let (_dir, server) = start_default().await;
    let scoped = server.token("scoped", Some(&["student_attendance"]), false).await;
    let all = server.token("all", None, false).await;
    let admin = server.token("admin", None, true).await;
    let revoked = server.token("revoked", None, false).await;
    assert!(server.state.db().revoke_token("revoked", now_ms()).await.unwrap());
    let (expired, _) = create_token(
        server.state.db(),
        &NewToken { name: "expired".into(), expires_in_seconds: Some(0), ..NewToken::default() },
    )
    .await
    .unwrap();
    let forged = format!("{}{}", &admin[..admin.len() - 4], "0000");

    let attendance = json!({"filename": "student_attendance/student_attendance.zip"});
    let school = json!({"filename": "school_master/school_mst.zip"});
    let upload = |source: &str, filename: &str| json!({"source": source, "filename": filename});
    // (method, path, body, token, expected status)
    let cases: Vec<Case<'_>> = vec![
        (Method::GET, "/list_s3_buckets", None, None, StatusCode::UNAUTHORIZED),
        (Method::GET, "/list_s3_buckets", None, Some("not-a-token"), StatusCode::UNAUTHORIZED),
        (Method::GET, "/list_s3_buckets", None, Some(&forged), StatusCode::UNAUTHORIZED),
        (Method::GET, "/list_s3_buckets", None, Some(&revoked), StatusCode::UNAUTHORIZED),
        (Method::GET, "/list_s3_buckets", None, Some(&expired), StatusCode::UNAUTHORIZED),
        (Method::GET, "/list_s3_buckets", None, Some(&scoped), StatusCode::OK),
        (Method::POST, "/upload-url", Some(attendance.clone()), None, StatusCode::UNAUTHORIZED),
        (Method::POST, "/upload-url", Some(attendance.clone()), Some(&scoped), StatusCode::OK),
        (Method::POST, "/upload-url", Some(school.clone()), Some(&scoped), StatusCode::FORBIDDEN),
        (Method::POST, "/upload-url", Some(school.clone()), Some(&all), StatusCode::OK),
        (
            Method::POST,
            "/uploads",
            Some(upload("school_master", "school_master/school_mst.zip")),
            Some(&scoped),
            StatusCode::FORBIDDEN,
        ),
        (
            Method::POST,
            "/uploads",
            Some(upload("school_master", "school_master/school_mst.zip")),
            Some(&revoked),
            StatusCode::UNAUTHORIZED,
        ),
        (
            Method::POST,
            "/uploads",
            Some(upload("school_master", "school_master/school_mst.zip")),
            Some(&admin),
            StatusCode::CREATED,
        ),
        (Method::POST, "/list_s3_files", Some(json!({"bucket": "emission"})), Some(&scoped), StatusCode::OK),
        (Method::POST, "/list_s3_files", Some(json!({"bucket": "input"})), Some(&all), StatusCode::FORBIDDEN),
        (Method::POST, "/list_s3_files", Some(json!({"bucket": "output"})), Some(&admin), StatusCode::OK),
        (
            Method::POST,
            "/download_uri",
            Some(json!({"filename": ["school_master/school_mst_20240101000000.zip"], "bucket": "emission"})),
            Some(&scoped),
            StatusCode::FORBIDDEN,
        ),
        (
            Method::POST,
            "/download_uri",
            Some(json!({"filename": ["x/y.zip"], "bucket": "input"})),
            Some(&all),
            StatusCode::FORBIDDEN,
        ),
        (
            Method::POST,
            "/download_uri",
            Some(json!({"filename": ["x/y.zip"], "bucket": "input"})),
            Some(&admin),
            StatusCode::OK,
        ),
        (Method::GET, "/emissions", None, None, StatusCode::UNAUTHORIZED),
        (Method::GET, "/emissions", None, Some(&scoped), StatusCode::OK),
    ];
    let c = http();
    for (method, path, body, token, expected) in cases {
        let mut req = c.request(method.clone(), format!("{}{path}", server.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = &body {
            req = req.json(b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        assert_eq!(status, expected, "{method} {path} {body:?}");
        if !status.is_success() {
            let err: cqube_protocol::ErrorBody = res.json().await.unwrap();
            let code = if status == StatusCode::UNAUTHORIZED { "unauthorized" } else { "forbidden" };
            assert_eq!(err.code, code);
        }
    }
    // another token's upload id looks unknown
    let created =
        server.create_upload(&all, &upload("student_attendance", "student_attendance/student_attendance.zip")).await;
    let res = c
        .get(format!("{}/uploads/{}/parts", server.base, created.upload_id))
        .bearer_auth(&scoped)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.json::<cqube_protocol::ErrorBody>().await.unwrap().code, "upload_not_found");
    // a token is never echoed back, whatever the failure
    let res = c.get(format!("{}/list_s3_buckets", server.base)).bearer_auth(&forged).send().await.unwrap();
    assert!(!res.text().await.unwrap().contains(&forged[4..]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_login_gives_a_short_lived_scoped_token() {
    let (_dir, server) = start_default().await;
    cqube_server::auth::create_user(
        server.state.db(),
        "emitter",
        "a long passphrase",
        Some(&["student_attendance".into()]),
    )
    .await
    .unwrap();
    let c = http();
    let bad = c
        .post(format!("{}/auth", server.base))
        .form(&[("username", "emitter"), ("password", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let ok: serde_json::Value = ok_json(
        c.post(format!("{}/auth", server.base)).form(&[("username", "emitter"), ("password", "a long passphrase")]),
    )
    .await;
    assert_eq!(ok["expires_in"], 3600);
    let token = ok["access_token"].as_str().unwrap();
    for (filename, expected) in [
        ("student_attendance/student_attendance.zip", StatusCode::OK),
        ("school_master/school_mst.zip", StatusCode::FORBIDDEN),
    ] {
        let res = c
            .post(format!("{}/upload-url", server.base))
            .bearer_auth(token)
            .form(&[("filename", filename)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expected, "{filename}");
    }
    server.stop().await;
}

/// Issue 11: revoking `gujarat` and creating a new `gujarat` (any scope) must not let the new token continue the old
/// one's upload; an admin may abort it. Acknowledgements stay with the name, within the new token's scope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_11_a_reused_token_name_does_not_continue_uploads() {
    let (_dir, server) = start_default().await;
    let c = http();
    let old = server.token("gujarat", Some(&["student_attendance"]), false).await;
    let admin = server.token("admin", None, true).await;
    let attendance = json!({"source": "student_attendance", "filename": "student_attendance/student_attendance.zip"});

    // one acknowledged emission with a watermark, and one upload left open
    let done = server.create_upload(&old, &attendance).await;
    let url = &server.presign_parts(&old, &done.upload_id, &[1]).await.parts[0].url;
    let res = c.put(url).body(b"zip".to_vec()).send().await.unwrap();
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let complete = json!({"parts": [{"part_number": 1, "etag": etag}], "rows": 1, "bytes": 3,
        "sha256": crate::harness::sha256_hex(b"zip"), "watermark": {"column": "id", "value": "7"}});
    let _: serde_json::Value = ok_json(
        c.post(format!("{}/uploads/{}/complete", server.base, done.upload_id)).bearer_auth(&old).json(&complete),
    )
    .await;
    let open = server.create_upload(&old, &attendance).await;
    let url = &server.presign_parts(&old, &open.upload_id, &[1]).await.parts[0].url;
    let res = c.put(url).body(b"zip".to_vec()).send().await.unwrap();
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let complete = json!({"parts": [{"part_number": 1, "etag": etag}], "rows": 1, "bytes": 3,
        "sha256": crate::harness::sha256_hex(b"zip")});

    assert!(server.state.db().revoke_token("gujarat", now_ms()).await.unwrap());
    let base = &server.base;
    let id = &open.upload_id;
    // the issue's case (another scope), then the same scope again: neither continues the old upload
    for (scope, sees_emissions) in [("school_master", 0), ("student_attendance", 1)] {
        let new = server.token("gujarat", Some(&[scope]), false).await;
        let attempts = [
            c.post(format!("{base}/uploads/{id}/parts")).json(&json!({"part_numbers": [2]})),
            c.get(format!("{base}/uploads/{id}/parts")),
            c.post(format!("{base}/uploads/{id}/complete")).json(&complete),
            c.delete(format!("{base}/uploads/{id}")),
        ];
        for attempt in attempts {
            let res = attempt.bearer_auth(&new).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{scope}");
            assert_eq!(res.json::<cqube_protocol::ErrorBody>().await.unwrap().code, "upload_not_found");
        }
        // the name keeps its acknowledgements (an incremental run continues from the watermark), within scope
        let list: cqube_protocol::EmissionList = ok_json(c.get(format!("{base}/emissions")).bearer_auth(&new)).await;
        assert_eq!(list.emissions.len(), sees_emissions, "{scope}");
        assert!(list.emissions.iter().all(|e| e.watermark.as_ref().is_some_and(|w| w.value == "7")));
        assert!(server.state.db().revoke_token("gujarat", now_ms()).await.unwrap());
    }
    assert_eq!(server.state.db().upload(id).await.unwrap().unwrap().state, "open");
    // the revoked token itself is refused, and an admin clears the upload up
    let res = c.delete(format!("{base}/uploads/{id}")).bearer_auth(&old).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = c.delete(format!("{base}/uploads/{id}")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(server.state.db().upload(id).await.unwrap().unwrap().state, "aborted");
    // but an admin does not continue another token's upload either
    let res = c.get(format!("{base}/uploads/{id}/parts")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}
