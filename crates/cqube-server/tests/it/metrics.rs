//! `/metrics`: Prometheus text with route patterns (never ids), upload outcomes and acknowledged totals; on its own
//! address when `metrics_listen` is set.

use crate::harness::*;

async fn scrape(base: &str) -> (u16, String) {
    let res = http().get(format!("{base}/metrics")).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The value of the sample line starting with `series` (name and labels exactly as rendered).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn metrics_count_requests_by_route_uploads_and_acknowledged_bytes() {
    let (_dir, server) = start_default().await;
    let root = server.base.trim_end_matches("/data").to_owned();
    let token = server.token("state", None, false).await;
    let (_, before) = scrape(&root).await;
    let created = server.create_upload(&token, &attendance_upload()).await;
    let presigned = server.presign_parts(&token, &created.upload_id, &[1]).await;
    let body = payload(10_000, 3);
    let put = http().put(&presigned.parts[0].url).body(body.clone()).send().await.unwrap();
    let etag = put.headers()["etag"].to_str().unwrap().to_owned();
    let req = serde_json::json!({"parts": [{"part_number": 1, "etag": etag}], "bytes": body.len(), "rows": 7,
        "sha256": sha256_hex(&body)});
    let url = format!("{}/uploads/{}/complete", server.base, created.upload_id);
    let _: serde_json::Value = ok_json(http().post(url).bearer_auth(&token).json(&req)).await;

    let (status, after) = scrape(&root).await;
    assert_eq!(status, 200);
    // The registry is the process's: other tests add to it too, so compare against the scrape before.
    let grew = |series: &str, by: f64| {
        let old = if before.contains(series) { sample(&before, series) } else { 0.0 };
        assert!(sample(&after, series) >= old + by, "{series}: {old} -> {}", sample(&after, series));
    };
    grew(r#"http_requests_total{method="POST",route="/data/uploads",status="201"}"#, 1.0);
    grew(r#"http_requests_total{method="POST",route="/data/uploads/{upload_id}/complete",status="200"}"#, 1.0);
    grew(r#"cqube_uploads_total{outcome="created"}"#, 1.0);
    grew(r#"cqube_uploads_total{outcome="completed"}"#, 1.0);
    grew(r#"cqube_presigned_urls_total{kind="part"}"#, 1.0);
    grew(r#"cqube_acknowledged_bytes_total{source="student_attendance"}"#, 10_000.0);
    grew(r#"cqube_acknowledged_rows_total{source="student_attendance"}"#, 7.0);
    assert!(after.contains("# TYPE http_request_duration_seconds histogram"), "{after}");
    assert!(after.contains(r#"http_request_duration_seconds_bucket{method="POST",route="/data/uploads","#));
    // Patterns, never ids or tokens.
    assert!(!after.contains(&created.upload_id) && !after.contains(&token[4..20]));
}

#[tokio::test]
async fn metrics_listen_moves_metrics_off_the_api_address() {
    let port = cqube_testkit::free_port();
    let (_dir, server) =
        start_with(|cfg| cfg.metrics_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], port)))).await;
    let root = server.base.trim_end_matches("/data").to_owned();
    assert_eq!(scrape(&root).await.0, 404);
    assert!(http().get(format!("{root}/healthz")).send().await.unwrap().status().is_success());
    let (status, text) = scrape(&format!("http://127.0.0.1:{port}")).await;
    assert_eq!(status, 200);
    assert!(text.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"}"#), "{text}");
}
