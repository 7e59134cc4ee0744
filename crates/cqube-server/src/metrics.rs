//! `/metrics` in Prometheus text format: requests by route pattern and status, latency histograms, presigned URLs,
//! upload outcomes, acknowledged bytes and rows by source, store errors and database pool use.
//!
//! Recorded through the `metrics` facade into one process-wide Prometheus recorder (installed by the first server
//! in a process; a process with several servers, like the tests, shares it). Labels carry route patterns
//! (`/data/uploads/{upload_id}/parts`), never paths, ids, keys or tokens, so cardinality stays fixed.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AppState;

/// Request latency buckets, in seconds: presigning answers in about a millisecond, a complete can take seconds.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0];

/// The process's recorder handle, installed on first use.
pub(crate) fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .expect("the bucket list is not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder installed by an embedding program wins; ours then renders only what it was given.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows none of this server's figures");
        }
        handle
    })
}

/// Records every request: `http_requests_total{method,route,status}` and
/// `http_request_duration_seconds{method,route}`. Unmatched paths count under `route="unmatched"`.
pub(crate) async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`.
pub(crate) async fn render(State(state): State<AppState>) -> impl IntoResponse {
    if let Some(pool) = state.inner.db.pool_use() {
        metrics::gauge!("db_pool_connections", "state" => "in_use").set(f64::from(pool.in_use));
        metrics::gauge!("db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
        metrics::gauge!("db_pool_max_connections").set(f64::from(pool.max));
    }
    let handle = handle();
    handle.run_upkeep();
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render())
}

/// Presigned URLs handed out, by kind (`part`, `post`, `get`).
pub(crate) fn presigned(kind: &'static str, count: usize) {
    metrics::counter!("cqube_presigned_urls_total", "kind" => kind).increment(u64::try_from(count).unwrap_or(u64::MAX));
}

/// An upload's lifecycle step: `created`, `completed`, `aborted`, `expired`.
pub(crate) fn upload(outcome: &'static str) {
    metrics::counter!("cqube_uploads_total", "outcome" => outcome).increment(1);
}

/// An acknowledgement recorded for `source`.
pub(crate) fn acknowledged(source: &str, bytes: u64, rows: u64) {
    metrics::counter!("cqube_acknowledged_bytes_total", "source" => source.to_owned()).increment(bytes);
    metrics::counter!("cqube_acknowledged_rows_total", "source" => source.to_owned()).increment(rows);
}

/// The object store refused or failed an operation.
pub(crate) fn store_error() {
    metrics::counter!("cqube_store_errors_total").increment(1);
}
