//! `GET /data/capabilities`, and `[server] multipart = false`: a stock-cQube-like API that only takes presigned POSTs.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{attendance_upload, http, ok_json, start_default, start_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_name_both_protocols_without_a_token() {
    let (_dir, server) = start_default().await;
    let caps: serde_json::Value = ok_json(http().get(format!("{}/capabilities", server.base))).await;
    assert_eq!(caps["protocols"], json!(["multipart", "post"]));
    assert_eq!(caps["max_post_object_bytes"], json!(5u64 << 30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_multipart_off_uploads_answer_404_and_upload_url_still_works() {
    let (_dir, server) = start_with(|c| c.multipart = false).await;
    let token = server.token("state", None, false).await;
    let c = http();
    let caps: serde_json::Value = ok_json(c.get(format!("{}/capabilities", server.base))).await;
    assert_eq!(caps["protocols"], json!(["post"]));
    let res = c.post(format!("{}/uploads", server.base)).bearer_auth(&token).json(&attendance_upload()).send().await;
    assert_eq!(res.unwrap().status(), StatusCode::NOT_FOUND);
    for path in ["/uploads/u1/parts", "/uploads/u1/complete"] {
        let res = c.post(format!("{}{path}", server.base)).bearer_auth(&token).json(&json!({})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let res = c.delete(format!("{}/uploads/u1", server.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let post: serde_json::Value = ok_json(
        c.post(format!("{}/upload-url", server.base))
            .bearer_auth(&token)
            .form(&[("filename", "student_attendance/student_attendance.zip")]),
    )
    .await;
    assert!(post["fields"]["key"].as_str().unwrap().starts_with("student_attendance/student_attendance_"));
}

#[test]
fn the_env_switches_multipart_off() {
    let config = cqube_server::ServerConfig::load(None, [("CQUBE_EMIT_SERVER_MULTIPART".into(), "false".into())]);
    assert!(!config.unwrap().multipart);
}
