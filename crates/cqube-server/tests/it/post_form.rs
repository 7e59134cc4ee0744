//! The presigned-POST target needs no token, so each part of its form is bounded, and its errors are the API's JSON.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::harness::{http, ok_json, start_default};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_11_the_post_form_is_bounded_and_answers_json() {
    let (_dir, server) = start_default().await;
    let token = server.token("state", None, false).await;
    let c = http();
    let post: serde_json::Value = ok_json(
        c.post(format!("{}/upload-url", server.base))
            .bearer_auth(&token)
            .json(&json!({"filename": "student_attendance/student_attendance.zip"})),
    )
    .await;
    let url = post["url"].as_str().unwrap();
    let signed = || {
        post["fields"]
            .as_object()
            .unwrap()
            .iter()
            .fold(Form::new(), |form, (k, v)| form.text(k.clone(), v.as_str().unwrap().to_owned()))
    };
    let many = (0..65).fold(Form::new(), |form, i| form.text(format!("f{i}"), "x"));
    let cases = vec![
        (signed().text("x-extra", "a".repeat(8 * 1024 + 1)), StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
        (many, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
        (Form::new().text("n".repeat(300), "x"), StatusCode::BAD_REQUEST, "invalid_request"),
        (signed(), StatusCode::BAD_REQUEST, "invalid_request"),
    ];
    for (i, (form, status, code)) in cases.into_iter().enumerate() {
        let res = c.post(url).multipart(form).send().await.unwrap();
        assert_eq!(res.status(), status, "case {i}");
        let body: cqube_protocol::ErrorBody = res.json().await.unwrap();
        assert_eq!(body.code, code, "case {i}: {}", body.message);
    }
    for (target, content_type, status, code) in [
        (url.to_owned(), "text/plain", StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (
            url.replace("cqube-emission", "nope"),
            "multipart/form-data; boundary=x",
            StatusCode::BAD_REQUEST,
            "unknown_bucket",
        ),
    ] {
        let res = c.post(target).header("content-type", content_type).body("x").send().await.unwrap();
        assert_eq!(res.status(), status);
        assert_eq!(res.json::<cqube_protocol::ErrorBody>().await.unwrap().code, code);
    }
    // a field at the limit, then the file, is stored
    let form = signed().text("x-extra", "a".repeat(8 * 1024)).part("file", Part::bytes(b"zip".to_vec()));
    let res = c.post(url).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        server.state.storage().size("cqube-emission", post["fields"]["key"].as_str().unwrap()).await.unwrap(),
        3
    );
    server.stop().await;
}
