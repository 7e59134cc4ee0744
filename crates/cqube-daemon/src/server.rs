//! `GET /status` and `GET /metrics` on a loopback address.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;

use crate::status::Board;

/// The daemon's Prometheus recorder: the process has no other.
pub fn install_metrics() -> anyhow::Result<metrics_exporter_prometheus::PrometheusHandle> {
    metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder().context("installing the metrics recorder")
}

/// Serves `GET /status` (JSON) and `GET /metrics` (Prometheus text) at `addr`; returns the address bound (port 0
/// picks a free one).
pub async fn status_server(addr: SocketAddr, board: Arc<Board>) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
    let bound = listener.local_addr()?;
    let for_metrics = Arc::clone(&board);
    let app = axum::Router::new()
        .route(
            "/status",
            axum::routing::get(move || {
                let board = Arc::clone(&board);
                async move { axum::Json(board.snapshot()) }
            }),
        )
        .route(
            "/metrics",
            axum::routing::get(move || {
                let rendered = for_metrics.metrics.render();
                async move { ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], rendered) }
            }),
        );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the status server stopped");
        }
    });
    Ok(bound)
}
