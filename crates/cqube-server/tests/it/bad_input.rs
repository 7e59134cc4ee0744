//! Bad requests get a 4xx with a stable code and change nothing.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{attendance_upload, http, ok_json, start_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_stable_codes_and_changes_nothing() {
    let (_dir, server) = start_with(|cfg| cfg.max_request_body_bytes = 4096).await;
    let token = server.token("state", None, false).await;
    let c = http();
    let id = server.create_upload(&token, &attendance_upload()).await.upload_id;
    let raw = |path: &str, body: &str| {
        c.post(format!("{}{path}", server.base))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.to_owned())
    };
    let typed = |content_type: &str, body: &str| {
        c.post(format!("{}/list_s3_files", server.base))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body.to_owned())
    };
    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (raw("/uploads", "{not json"), StatusCode::BAD_REQUEST, "invalid_json"),
        (raw("/uploads", r#"{"source": 5, "filename": "x"}"#), StatusCode::BAD_REQUEST, "invalid_request"),
        (raw("/uploads", &format!(r#"{{"source": "{}"}}"#, "x".repeat(10_000))), StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
        (raw("/uploads", r#"{"source": "nope", "filename": "nope/nope.zip"}"#), StatusCode::BAD_REQUEST, "unknown_source"),
        (raw("/uploads", r#"{"source": "student_attendance", "filename": "student_attendance/../x.zip"}"#), StatusCode::BAD_REQUEST, "invalid_filename"),
        (raw("/uploads", r#"{"source": "student_attendance", "filename": "/student_attendance/student_attendance.zip"}"#), StatusCode::BAD_REQUEST, "invalid_filename"),
        (raw("/uploads", r#"{"source": "student_attendance", "filename": "student_attendance/student_attendance\u0007.zip"}"#), StatusCode::BAD_REQUEST, "invalid_filename"),
        (raw("/uploads", r#"{"source": "student_attendance", "filename": "student_attendance/school_mst.zip"}"#), StatusCode::BAD_REQUEST, "invalid_filename"),
        (raw("/upload-url", r#"{"filename": "../../etc/passwd"}"#), StatusCode::BAD_REQUEST, "invalid_filename"),
        (raw("/upload-url", "{}"), StatusCode::BAD_REQUEST, "invalid_request"),
        (raw("/list_s3_files", r#"{"bucket": "secrets"}"#), StatusCode::BAD_REQUEST, "unknown_bucket"),
        (raw("/list_s3_files", r#"{"bucket": "emission", "max_keys": 0}"#), StatusCode::BAD_REQUEST, "invalid_request"),
        (raw(&format!("/uploads/{id}/parts"), r#"{"part_numbers": [0]}"#), StatusCode::BAD_REQUEST, "invalid_part_number"),
        (raw(&format!("/uploads/{id}/parts"), r#"{"part_numbers": [10001]}"#), StatusCode::BAD_REQUEST, "invalid_part_number"),
        (raw("/uploads/00000000-0000-4000-8000-000000000000/parts", r#"{"part_numbers": [1]}"#), StatusCode::NOT_FOUND, "upload_not_found"),
        (raw(&format!("/uploads/{id}/complete"), &json!({"parts": [{"part_number": 1, "etag": "\"x\""}], "rows": 1, "bytes": 1, "sha256": "XYZ"}).to_string()), StatusCode::BAD_REQUEST, "invalid_sha256"),
        (raw(&format!("/uploads/{id}/complete"), &json!({"parts": [{"part_number": 2, "etag": "a"}, {"part_number": 1, "etag": "b"}], "rows": 1, "bytes": 1, "sha256": "0".repeat(64)}).to_string()), StatusCode::BAD_REQUEST, "invalid_parts"),
        (raw(&format!("/uploads/{id}/complete"), &json!({"parts": [{"part_number": 1, "etag": "\"nope\""}], "rows": 1, "bytes": 1, "sha256": "0".repeat(64)}).to_string()), StatusCode::BAD_REQUEST, "invalid_parts"),
        (raw(&format!("/uploads/{id}/complete"), &json!({"parts": [{"part_number": 1, "etag": "\"x\""}], "rows": 1, "bytes": 1, "sha256": "0".repeat(64), "watermark": {"column": "", "value": "1"}}).to_string()), StatusCode::BAD_REQUEST, "invalid_watermark"),
        (raw(&format!("/uploads/{id}/complete"), &json!({"parts": [{"part_number": 1, "etag": "\"x\""}], "rows": 1, "bytes": 1, "sha256": "0".repeat(64), "watermark": {"column": "id", "value": "9".repeat(1025)}}).to_string()), StatusCode::BAD_REQUEST, "invalid_watermark"),
        (c.get(format!("{}/emissions?since=yesterday", server.base)).bearer_auth(&token), StatusCode::BAD_REQUEST, "invalid_since"),
        (c.post(format!("{}/uploads", server.base)).bearer_auth(&token).header("content-type", "text/plain").body("x"), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (typed("application/jsonp", r#"{"bucket": "secrets"}"#), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (typed("text/json", r#"{"bucket": "secrets"}"#), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (typed("application/json-seq", r#"{"bucket": "secrets"}"#), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        // Media types are case-insensitive and may carry parameters: these bodies are read, then refused for the bucket.
        (typed("Application/JSON", r#"{"bucket": "secrets"}"#), StatusCode::BAD_REQUEST, "unknown_bucket"),
        (typed("application/json; charset=UTF-8", r#"{"bucket": "secrets"}"#), StatusCode::BAD_REQUEST, "unknown_bucket"),
        (typed("application/vnd.cqube+json", r#"{"bucket": "secrets"}"#), StatusCode::BAD_REQUEST, "unknown_bucket"),
        (typed("APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8", "bucket=secrets"), StatusCode::BAD_REQUEST, "unknown_bucket"),
        // A NUL cannot be written into the store's XML request: refused here, not answered 502.
        (raw("/list_s3_files", r#"{"bucket": "emission", "prefix": "a\u0000b"}"#), StatusCode::BAD_REQUEST, "invalid_request"),
        (raw("/list_s3_files", r#"{"bucket": "emission", "continuation_token": "\u0000"}"#), StatusCode::BAD_REQUEST, "invalid_request"),
        (typed("application/x-www-form-urlencoded", "bucket=emission&prefix=%00"), StatusCode::BAD_REQUEST, "invalid_request"),
        (typed("application/x-www-form-urlencoded", "bucket=emission&max_keys=05"), StatusCode::BAD_REQUEST, "invalid_request"),
        (raw("/list_s3_files", &format!(r#"{{"bucket": "emission", "prefix": "{}"}}"#, "p".repeat(1025))), StatusCode::BAD_REQUEST, "invalid_request"),
        (raw("/download_uri", r#"{"bucket": "emission", "filename": "C:/x.zip"}"#), StatusCode::BAD_REQUEST, "invalid_filename"),
        (c.get(format!("{}/nothing-here", server.base)).bearer_auth(&token), StatusCode::NOT_FOUND, "not_found"),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "case {i}");
        let body: cqube_protocol::ErrorBody = res.json().await.unwrap();
        assert_eq!(body.code, code, "case {i}: {}", body.message);
    }
    // The same listing with a form, prefix and max_keys as text, is answered.
    let page: cqube_protocol::ListFilesResponse = ok_json(
        c.post(format!("{}/list_s3_files", server.base))
            .bearer_auth(&token)
            .header("content-type", "Application/X-WWW-Form-URLEncoded")
            .body("bucket=emission&prefix=student_attendance%2F&max_keys=1000"),
    )
    .await;
    assert_eq!(page.key_count, 0);
    // nothing was completed or recorded, and the upload is still open
    assert!(server.state.db().emissions(&cqube_server::db::EmissionFilter::default()).await.unwrap().is_empty());
    assert_eq!(server.state.db().upload(&id).await.unwrap().unwrap().state, "open");
    // a presigned POST for one key cannot store another
    let post: serde_json::Value = ok_json(
        c.post(format!("{}/upload-url", server.base))
            .bearer_auth(&token)
            .json(&json!({"filename": "student_attendance/student_attendance.zip"})),
    )
    .await;
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in post["fields"].as_object().unwrap() {
        let v = if k == "key" { "student_attendance/other.zip".to_owned() } else { v.as_str().unwrap().to_owned() };
        form = form.text(k.clone(), v);
    }
    form = form.part("file", reqwest::multipart::Part::bytes(b"zip".to_vec()));
    let res = c.post(post["url"].as_str().unwrap()).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    server.stop().await;
}
