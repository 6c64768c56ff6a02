//! The HTTP plumbing both simulators share: binding to 127.0.0.1, serving with graceful shutdown, and
//! the middleware that applies, in order, the auth check -> latency -> server rate limit -> faults, and logs
//! every request with the fault it got (unauthenticated requests get latency and a 401, never a fault).
//!
//! A simulator supplies a [`VendorStyle`] (its own 401, 429, 5xx and HTML bodies and headers) and wraps
//! its router with [`SimCore::layer`]:
//!
//! ```no_run
//! # async fn demo(router: axum::Router, vendor: std::sync::Arc<dyn twotrack_sim::server::VendorStyle>)
//! # -> std::io::Result<()> {
//! use twotrack_sim::{SimAuth, faults::FaultSpec, server::{BoundListener, SimCore}};
//! let listener = BoundListener::bind(0).await?;
//! let core = SimCore::new(SimAuth::default(), FaultSpec::default());
//! let server = listener.serve(core.layer(router, vendor, &[]), &core);
//! println!("{}", server.base_url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::{AuthOutcome, SimAuth};
use crate::faults::{Decision, FaultKind, FaultPhase, FaultSpec, Faults, PlannedFault, RateLimitInfo, THROTTLED_LOG};
use crate::log::{LogEntry, RequestLog, is_write_method};

/// How a vendor words its errors. Every method builds a complete response (status, headers, body).
pub trait VendorStyle: Send + Sync + 'static {
    /// The 401 for missing or wrong credentials.
    fn unauthorized(&self) -> Response;

    /// A 429 with `Retry-After` and the vendor's rate-limit headers.
    fn rate_limited(&self, info: &RateLimitInfo) -> Response;

    /// A 5xx (500, 502, 503, 504); `rate_limit` is set for a 503 that carries `Retry-After`.
    fn server_error(&self, status: StatusCode, rate_limit: Option<&RateLimitInfo>) -> Response;

    /// A 200 `text/html` page served instead of the API (hibernating instance, maintenance page).
    fn html_page(&self) -> Response {
        html_response(HIBERNATING_PAGE)
    }

    /// A broken JSON body for a malformed response that has no real body to truncate.
    fn broken_json(&self) -> &'static str {
        "{\"result\":[{\"sys_id\":\"6816f79cc0a8016401c5a33be04be441\",\"number\":\"INC00"
    }
}

/// A generic "instance is hibernating" page, like a sleeping developer instance serves.
pub const HIBERNATING_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Instance Hibernating page</title></head>\
<body><h1>Your instance is hibernating</h1><p>This instance is hibernating due to inactivity. \
Sign in to wake it up.</p></body></html>\n";

/// A 200 `text/html; charset=UTF-8` response.
pub fn html_response(page: &'static str) -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=UTF-8"))], page).into_response()
}

/// The user an authenticated request acts as; inserted into the request extensions by the middleware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser(pub String);

/// What a running simulator shares with its middleware and its tests: credentials, faults, log, stop signal.
#[derive(Clone)]
pub struct SimCore {
    pub auth: SimAuth,
    pub faults: Faults,
    pub log: RequestLog,
    stop: Arc<watch::Sender<bool>>,
}

impl std::fmt::Debug for SimCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimCore").field("auth", &self.auth).field("faults", &self.faults).finish_non_exhaustive()
    }
}

impl SimCore {
    /// A core with these credentials and faults, an empty log, and no stop requested.
    pub fn new(auth: SimAuth, faults: FaultSpec) -> Self {
        SimCore { auth, faults: Faults::new(faults), log: RequestLog::new(), stop: Arc::new(watch::channel(false).0) }
    }

    /// Wraps `router` in the simulator middleware. Requests to `open_paths` (exact paths, e.g. an OAuth
    /// token endpoint) skip the auth check; everything else needs valid credentials.
    pub fn layer(&self, router: Router, vendor: Arc<dyn VendorStyle>, open_paths: &[&str]) -> Router {
        let state = LayerState {
            core: self.clone(),
            vendor,
            open_paths: open_paths.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>().into(),
        };
        router.layer(axum::middleware::from_fn_with_state(state, intercept))
    }

    /// Sleeps for `duration`, or less if the server is shutting down.
    async fn sleep(&self, duration: Duration) {
        if duration.is_zero() {
            return;
        }
        let mut stop = self.stop.subscribe();
        tokio::select! {
            () = tokio::time::sleep(duration) => {}
            _ = stop.wait_for(|stopping| *stopping) => {}
        }
    }
}

/// A listener bound to 127.0.0.1, whose address is known before the router is built.
#[derive(Debug)]
pub struct BoundListener {
    listener: TcpListener,
    addr: SocketAddr,
}

impl BoundListener {
    /// Binds 127.0.0.1:`port` (0 = any free port).
    pub async fn bind(port: u16) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        Ok(BoundListener { listener, addr })
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts serving `router` (already wrapped with [`SimCore::layer`]) on a background task.
    pub fn serve(self, router: Router, core: &SimCore) -> SimServer {
        let mut stop = core.stop.subscribe();
        let shutdown = async move {
            // An error means the sender is gone: stop as well.
            let _ = stop.wait_for(|stopping| *stopping).await;
        };
        let task = tokio::spawn(axum::serve(self.listener, router).with_graceful_shutdown(shutdown).into_future());
        SimServer { addr: self.addr, stop: Arc::clone(&core.stop), task }
    }
}

/// How long a graceful shutdown may wait for open connections before they are cut.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running simulator server.
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    stop: Arc<watch::Sender<bool>>,
    task: JoinHandle<io::Result<()>>,
}

impl SimServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, cancels hangs and latency, lets in-flight responses finish (up to a few seconds).
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut self.task).await.is_err() {
            self.task.abort();
        }
    }
}

#[derive(Clone)]
struct LayerState {
    core: SimCore,
    vendor: Arc<dyn VendorStyle>,
    open_paths: Arc<[String]>,
}

/// The largest request body the simulators buffer (bigger ones are answered 413).
const MAX_BODY: usize = 16 * 1024 * 1024;

async fn intercept(State(layer): State<LayerState>, request: Request, next: Next) -> Response {
    let at = Instant::now();
    let method = request.method().as_str().to_owned();
    let (request, body) = if is_write_method(&method) {
        let (parts, body) = request.into_parts();
        match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                (Request::from_parts(parts, Body::from(bytes)), Some(text))
            }
            Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
        }
    } else {
        (request, None)
    };
    let entry = LogEntry {
        method,
        path: request.uri().path().to_owned(),
        query: request.uri().query().unwrap_or_default().to_owned(),
        status: CLIENT_CLOSED_REQUEST,
        at,
        elapsed: Duration::ZERO,
        fault: None,
        body,
    };
    let mut pending = PendingEntry { log: layer.core.log.clone(), entry: Some(entry) };
    // Unauthenticated requests take no fault decision: they neither consume injections nor the bucket.
    let Some(request) = layer.authenticate(request) else {
        layer.core.sleep(layer.core.faults.latency()).await;
        let response = layer.vendor.unauthorized();
        pending.finish(response.status().as_u16(), None);
        return response;
    };
    let decision = layer.core.faults.decide(request.method().as_str(), request.uri().path());
    pending.plan(match (&decision.throttled, &decision.fault) {
        (Some(_), _) => Some(THROTTLED_LOG.to_owned()),
        (None, Some(fault)) => Some(fault.describe()),
        (None, None) => None,
    });
    layer.core.sleep(decision.latency).await;
    let (response, fault) = layer.respond(request, decision, next).await;
    pending.finish(response.status().as_u16(), fault);
    response
}

/// The status logged for a request whose client went away before the response was ready (nginx's 499).
pub const CLIENT_CLOSED_REQUEST: u16 = 499;

/// A log entry in the making: recorded when the response is ready, or, if the client gives up first
/// (the request future is dropped, e.g. during a hang), on drop with status [`CLIENT_CLOSED_REQUEST`].
struct PendingEntry {
    log: RequestLog,
    entry: Option<LogEntry>,
}

impl PendingEntry {
    /// Notes the fault planned for the request (logged even if the client leaves before it is served).
    fn plan(&mut self, fault: Option<String>) {
        if let Some(entry) = self.entry.as_mut() {
            entry.fault = fault;
        }
    }

    fn finish(&mut self, status: u16, fault: Option<String>) {
        if let Some(mut entry) = self.entry.take() {
            entry.status = status;
            entry.fault = fault;
            entry.elapsed = entry.at.elapsed();
            self.log.record(entry);
        }
    }
}

impl Drop for PendingEntry {
    fn drop(&mut self) {
        if let Some(mut entry) = self.entry.take() {
            entry.elapsed = entry.at.elapsed();
            self.log.record(entry);
        }
    }
}

impl LayerState {
    /// Checks the credentials of a request to a protected path and attaches its user; `None` means 401.
    fn authenticate(&self, mut request: Request) -> Option<Request> {
        if self.open_paths.iter().any(|p| p == request.uri().path()) {
            return Some(request);
        }
        let header = request.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        match self.core.auth.check(header) {
            AuthOutcome::Authenticated(user) => {
                request.extensions_mut().insert(AuthenticatedUser(user));
                Some(request)
            }
            AuthOutcome::Missing | AuthOutcome::Invalid => None,
        }
    }

    async fn respond(&self, request: Request, decision: Decision, next: Next) -> (Response, Option<String>) {
        if let Some(info) = decision.throttled {
            return (self.vendor.rate_limited(&info), Some(THROTTLED_LOG.to_owned()));
        }
        let Some(fault) = decision.fault else { return (next.run(request).await, None) };
        let response = match fault.phase {
            FaultPhase::BeforeHandling => self.instead_of_handling(&fault).await,
            FaultPhase::AfterHandling => {
                let handled = next.run(request).await;
                self.after_handling(&fault, handled).await
            }
        };
        (response, Some(fault.describe()))
    }

    /// The response of a fault that replaces the handler: nothing is processed.
    async fn instead_of_handling(&self, fault: &PlannedFault) -> Response {
        match fault.kind {
            FaultKind::RateLimited => self.vendor.rate_limited(&fault_rate_limit(fault)),
            FaultKind::ServerError => {
                let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                self.vendor.server_error(status, fault.rate_limit.as_ref())
            }
            FaultKind::HtmlPage => self.vendor.html_page(),
            FaultKind::MalformedJson => {
                json_bytes(StatusCode::OK, Bytes::from_static(self.vendor.broken_json().as_bytes()))
            }
            FaultKind::Reset => {
                let whole = json_bytes(StatusCode::OK, Bytes::from_static(self.vendor.broken_json().as_bytes()));
                reset_midway(whole).await
            }
            FaultKind::Hang => {
                self.core.sleep(fault.hang).await;
                self.vendor.server_error(StatusCode::GATEWAY_TIMEOUT, None)
            }
        }
    }

    /// The response of a fault that strikes after the handler ran (its effects stay).
    async fn after_handling(&self, fault: &PlannedFault, handled: Response) -> Response {
        match fault.kind {
            FaultKind::Reset => reset_midway(handled).await,
            FaultKind::MalformedJson => {
                let (parts, body) = handled.into_parts();
                let bytes = axum::body::to_bytes(body, MAX_BODY).await.unwrap_or_default();
                let broken = if bytes.len() > 1 {
                    bytes.slice(..bytes.len() / 2)
                } else {
                    Bytes::from_static(self.vendor.broken_json().as_bytes())
                };
                let mut response = json_bytes(parts.status, broken);
                for (name, value) in &parts.headers {
                    if name != CONTENT_LENGTH && name != CONTENT_TYPE {
                        response.headers_mut().append(name, value.clone());
                    }
                }
                response
            }
            FaultKind::Hang => {
                self.core.sleep(fault.hang).await;
                handled
            }
            FaultKind::RateLimited | FaultKind::ServerError | FaultKind::HtmlPage => {
                self.instead_of_handling(&PlannedFault { hang: Duration::ZERO, ..fault.clone() }).await
            }
        }
    }
}

fn fault_rate_limit(fault: &PlannedFault) -> RateLimitInfo {
    fault.rate_limit.clone().unwrap_or(RateLimitInfo {
        retry_after: 1,
        limit: 100,
        remaining: 0,
        reset_at: chrono::Utc::now() + Duration::from_secs(1),
        from_token_bucket: false,
    })
}

fn json_bytes(status: StatusCode, bytes: Bytes) -> Response {
    (status, [(CONTENT_TYPE, HeaderValue::from_static("application/json;charset=UTF-8"))], bytes).into_response()
}

/// Keeps the status and headers, announces the full `Content-Length`, sends half the body, then aborts
/// the connection.
async fn reset_midway(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let announced = bytes.len().max(64);
    let sent = bytes.slice(..bytes.len() / 2);
    let chunks: [Result<Bytes, io::Error>; 2] =
        [Ok(sent), Err(io::Error::new(io::ErrorKind::ConnectionReset, "simulated connection reset"))];
    parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(announced));
    Response::from_parts(parts, Body::from_stream(futures::stream::iter(chunks)))
}
