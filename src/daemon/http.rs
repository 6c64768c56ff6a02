//! The daemon's HTTP endpoints: `/healthz` (alive), `/readyz` (every tracker synced recently) and
//! `/metrics` (Prometheus text format).

use std::sync::Arc;

use axum::Router;
use axum::extract::State as AxState;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::State;

/// Install the global Prometheus recorder (once per process); `None` if one is already installed.
pub fn install_metrics() -> Option<PrometheusHandle> {
    let handle = PrometheusBuilder::new().install_recorder().ok()?;
    describe();
    Some(handle)
}

fn describe() {
    metrics::describe_counter!("twotrack_items_pulled_total", "Items pulled from trackers");
    metrics::describe_counter!("twotrack_verdicts_total", "Verdicts by class");
    metrics::describe_counter!("twotrack_findings_total", "Findings by kind");
    metrics::describe_counter!("twotrack_corrections_total", "Corrections applied or failed");
    metrics::describe_counter!("twotrack_api_requests_total", "Tracker API requests by tracker and status");
    metrics::describe_counter!("twotrack_rate_limit_waits_total", "Times a request waited on a rate limit");
    metrics::describe_histogram!("twotrack_cycle_seconds", "Duration of daemon jobs");
    metrics::describe_histogram!("twotrack_sync_seconds", "Duration of one tracker's sync");
}

pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(state)
}

async fn readyz(AxState(state): AxState<Arc<State>>) -> impl IntoResponse {
    match state.readiness() {
        Ok(()) => (StatusCode::OK, "ready\n".to_string()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}\n")),
    }
}

async fn metrics_text(AxState(state): AxState<Arc<State>>) -> impl IntoResponse {
    let body = state.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
