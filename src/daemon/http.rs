//! The daemon's HTTP endpoints.
//!
//! Operations: `/healthz` (the process is alive and serving), `/readyz` (every tracker synced recently:
//! 200, else 503 with the reasons) and `/metrics` (Prometheus text format). These say nothing about
//! the items and stay open.
//!
//! The read API, for the CLI's read commands while the daemon holds the mirror (see
//! [`super::discovery`]), and for anyone who wants to look inside a running system:
//! - `GET /v1/report?format=html|md|json|csv[&tracker=NAME][&findings=N]`: the audit report as of the
//!   daemon's last sync (for one tracker: audited now), streamed as it is written (a million findings'
//!   CSV never sits in memory whole). The HTML page lists the first `findings` (default 500) and links
//!   to the CSV and JSON of all of them (or, with `&beside=NAME`, to the file of that name the caller
//!   writes beside the page). The headers `X-Twotrack-Misfiled`, `X-Twotrack-Reviews` and
//!   `X-Twotrack-Generated-At` carry what `audit --fail-on` needs.
//! - `GET /v1/history/{key}`: an item's audit log, as `twotrack history` prints it.
//! - `GET /v1/outbox?format=text|json[&state=parked,pending,...]`: the outbox, as `outbox list` prints it.
//! - `GET /v1/explain/{key}[?json=true]`: an item's verdict, as `twotrack explain` prints it (judged now,
//!   the site learned from the whole mirror, as the audit does).
//! - `GET /v1/stats[?json=true]`: the mirror's statistics, as `twotrack mirror stats` prints them.
//!
//! With `[daemon] token` set, every `/v1/` request must carry `Authorization: Bearer <token>`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::State;
use crate::report::{Format, FullLists, HTML_FINDINGS, HtmlOptions, Report};

pub fn router(state: Arc<State>) -> Router {
    let api = Router::new()
        .route("/v1/report", get(report))
        .route("/v1/history/{key}", get(history))
        .route("/v1/outbox", get(outbox))
        .route("/v1/explain/{key}", get(explain))
        .route("/v1/stats", get(stats))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .merge(api)
        .with_state(state)
}

async fn readyz(AxState(state): AxState<Arc<State>>) -> impl IntoResponse {
    match state.readiness() {
        Ok(()) => (StatusCode::OK, "ready\n".to_string()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}\n")),
    }
}

async fn metrics_text(AxState(state): AxState<Arc<State>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.render_metrics())
}

/// An error of the read API: a status and a sentence for the person at the other end.
#[derive(Debug)]
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{}\n", self.1)).into_response()
    }
}

impl ApiError {
    fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

/// `/v1/...` asks for the configured bearer token (compared in constant time).
async fn require_token(AxState(state): AxState<Arc<State>>, request: Request, next: Next) -> Response {
    let Some(token) = state.live().config.daemon.token.clone() else {
        return next.run(request).await;
    };
    let offered = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if constant_time_eq(offered.as_bytes(), token.expose_secret().as_bytes()) {
        return next.run(request).await;
    }
    let mut response = ApiError(
        StatusCode::UNAUTHORIZED,
        "this daemon's read API needs its bearer token ([daemon] token): send `Authorization: Bearer <token>`".into(),
    )
    .into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug, Deserialize)]
struct ReportQuery {
    format: Option<String>,
    tracker: Option<String>,
    /// The findings the HTML page lists.
    findings: Option<usize>,
    /// The name of a CSV file of all findings the caller writes beside the page (`audit --out` through
    /// the daemon): the page links to it instead of this daemon's addresses.
    beside: Option<String>,
}

async fn report(AxState(state): AxState<Arc<State>>, Query(q): Query<ReportQuery>) -> Result<Response, ApiError> {
    let format = match q.format.as_deref() {
        None => Format::Json,
        Some(f) => <Format as clap::ValueEnum>::from_str(f, true)
            .map_err(|_| ApiError(StatusCode::BAD_REQUEST, format!("unknown format {f:?}: html, md, json or csv")))?,
    };
    let live = state.live();
    if let Some(t) = &q.tracker
        && live.config.tracker(t).is_none()
    {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("no tracker named {t:?} in the daemon's configuration")));
    }
    let trackers = live.config.trackers.iter().map(|t| t.name.as_str());
    let trackers = trackers.filter(|t| q.tracker.as_deref().is_none_or(|only| only == *t));
    let never = state.mirror.never_synced(trackers).map_err(ApiError::internal)?;
    if !never.is_empty() {
        return Err(ApiError(
            StatusCode::CONFLICT,
            format!(
                "the daemon's mirror holds nothing of {} yet (never synced): an audit would read as a clean backlog; \
                 wait for the daemon's first sync (see /readyz)",
                never.join(", ")
            ),
        ));
    }
    let report = match (&q.tracker, state.last_audit()) {
        (None, Some(report)) => report,
        (tracker, _) => {
            let (config, mirror, tracker) = (live.config.clone(), state.mirror.clone(), tracker.clone());
            let audited =
                tokio::task::spawn_blocking(move || crate::audit::audit(&config, &mirror, tracker.as_deref()))
                    .await
                    .map_err(ApiError::internal)?
                    .map_err(ApiError::internal)?;
            let audited = Arc::new(audited);
            if q.tracker.is_none() {
                state.set_last_audit(audited.clone());
            }
            audited
        }
    };
    let mut response =
        ([(header::CONTENT_TYPE, content_type(format))], streamed(report.clone(), format, &q)).into_response();
    summary_headers(response.headers_mut(), &report);
    Ok(response)
}

/// The report written in `format` on a blocking thread, handed to the client in chunks as it is
/// written: memory stays at a chunk or two whatever the number of findings. A client that goes away
/// stops the writing; a failure half way cuts the body (the status is sent already) and is logged.
fn streamed(report: Arc<Report>, format: Format, q: &ReportQuery) -> axum::body::Body {
    // Tracker names are plain words (letters, digits, '-', '_'): nothing to escape in a query.
    let only = q.tracker.as_ref().map(|t| format!("&tracker={t}")).unwrap_or_default();
    let full_lists = match &q.beside {
        Some(name) => FullLists::Beside(vec![name.clone()]),
        None => FullLists::Served(["csv", "json"].iter().map(|f| format!("/v1/report?format={f}{only}")).collect()),
    };
    let html = HtmlOptions { findings: q.findings.unwrap_or(HTML_FINDINGS), full_lists };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<axum::body::Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufWriter::with_capacity(CHUNK, Chunks(tx));
        if let Err(e) = report.write(format, &html, &mut out)
            && !e.is_broken_pipe()
        {
            tracing::error!(error = %e, "the report could not be written; its body is cut short");
        }
    });
    axum::body::Body::from_stream(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// The size of the chunks a report is streamed in.
const CHUNK: usize = 64 * 1024;

/// A writer that sends what it is given to a response body, one chunk at a time (wrapped in a
/// `BufWriter` of [`CHUNK`]).
struct Chunks(tokio::sync::mpsc::Sender<std::io::Result<axum::body::Bytes>>);

impl std::io::Write for Chunks {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(axum::body::Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What `audit --fail-on` and the CLI's summary line need, without parsing the report.
fn summary_headers(headers: &mut HeaderMap, report: &Report) {
    let reviews = report.review_findings();
    for (name, value) in [
        ("x-twotrack-open-items", report.totals.open_items.to_string()),
        ("x-twotrack-misfiled", report.misfiled().to_string()),
        ("x-twotrack-moves", report.totals.moves.to_string()),
        ("x-twotrack-reviews", report.totals.reviews.to_string()),
        ("x-twotrack-review-findings", reviews.to_string()),
        ("x-twotrack-findings", report.findings.len().to_string()),
        ("x-twotrack-generated-at", report.generated_at.clone()),
        ("x-twotrack-waiting", report.totals.waiting_line().unwrap_or_default()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value)
            && !value.is_empty()
        {
            headers.insert(name, value);
        }
    }
}

fn content_type(format: Format) -> &'static str {
    match format {
        Format::Html => "text/html; charset=utf-8",
        Format::Md => "text/markdown; charset=utf-8",
        Format::Json => "application/json",
        Format::Csv => "text/csv; charset=utf-8",
    }
}

async fn history(AxState(state): AxState<Arc<State>>, Path(key): Path<String>) -> Result<Response, ApiError> {
    let outbox = crate::outbox::Outbox::open(&state.mirror).map_err(ApiError::internal)?;
    let entries = outbox.history(&key).map_err(ApiError::internal)?;
    let text = crate::report::history::render(&key, &entries);
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

#[derive(Debug, Deserialize)]
struct OutboxQuery {
    format: Option<String>,
    /// States, separated by commas.
    state: Option<String>,
}

async fn outbox(AxState(state): AxState<Arc<State>>, Query(q): Query<OutboxQuery>) -> Result<Response, ApiError> {
    use crate::outbox::control::StateName;
    use crate::report::outbox::{ListFormat, OutboxList};
    let bad = |what: &str, value: &str| ApiError(StatusCode::BAD_REQUEST, format!("unknown {what} {value:?}"));
    let format = match q.format.as_deref() {
        None => ListFormat::Json,
        Some(f) => <ListFormat as clap::ValueEnum>::from_str(f, true).map_err(|_| bad("format", f))?,
    };
    let states = q
        .state
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.is_empty())
        .map(|s| <StateName as clap::ValueEnum>::from_str(s, true).map_err(|_| bad("state", s)))
        .collect::<Result<Vec<_>, _>>()?;
    let outbox = crate::outbox::Outbox::open(&state.mirror).map_err(ApiError::internal)?;
    let corrections = outbox.all().collect::<Result<Vec<_>, _>>().map_err(ApiError::internal)?;
    let max_attempts = state.live().config.policy.max_attempts;
    let list = OutboxList::new(&corrections, &states, max_attempts, state.clock.now());
    let body = list.render(format).map_err(ApiError::internal)?;
    let content_type = match format {
        ListFormat::Json => "application/json",
        ListFormat::Text => "text/plain; charset=utf-8",
    };
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

#[derive(Debug, Deserialize)]
struct JsonQuery {
    #[serde(default)]
    json: bool,
}

async fn explain(
    AxState(state): AxState<Arc<State>>,
    Path(key): Path<String>,
    Query(q): Query<JsonQuery>,
) -> Result<Response, ApiError> {
    let (config, mirror, wanted) = (state.live().config, state.mirror.clone(), key.clone());
    let text = tokio::task::spawn_blocking(move || {
        crate::audit::explain(&config, &mirror, &wanted, q.json, &crate::audit::Quiet)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?
    .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no item {key:?} in the daemon's mirror")))?;
    let content_type = if q.json { "application/x-ndjson" } else { "text/plain; charset=utf-8" };
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}

async fn stats(AxState(state): AxState<Arc<State>>, Query(q): Query<JsonQuery>) -> Result<Response, ApiError> {
    let mirror = state.mirror.clone();
    let stats = tokio::task::spawn_blocking(move || mirror.stats())
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let path = state.mirror.path();
    let (content_type, text) = if q.json {
        ("application/json", crate::report::stats::json(path, &stats).map_err(ApiError::internal)?)
    } else {
        ("text/plain; charset=utf-8", crate::report::stats::table(path, &stats))
    };
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3cre"));
        assert!(!constant_time_eq(b"", b"s3cret"));
        assert!(!constant_time_eq(b"s3creT", b"s3cret"));
    }
}
