//! The shared HTTP layer every connector talks through.
//!
//! One [`HttpClient`] per configured tracker. It owns:
//! - a `reqwest` client (rustls, connect and whole-request timeouts, a user agent);
//! - the tracker's credentials, sent as a *sensitive* `Authorization` header that never reaches a log line,
//!   a `Debug` output or an error message;
//! - a `governor` rate limiter (clocked by tokio's time, so tests can pause it): every attempt, retries
//!   included, waits for a permit; permits are spaced [`PACE`] of the configured rate apart, so that a
//!   request delayed on its way does not arrive closer to the next than the server's own spacing;
//! - the retry policy: 429, 503, 408, 500, 502, 504, timeouts, resets and truncated or non-JSON 2xx bodies
//!   are retried up to [`HttpSettings::max_retries`] times with capped exponential backoff and full jitter.
//!   `Retry-After` (seconds or an HTTP date) is honoured, else the vendors' `X-RateLimit-Reset` (Jira: ISO
//!   time `yyyy-MM-ddTHH:mmZ`; ServiceNow: epoch seconds). A wait longer than
//!   [`HttpSettings::max_retry_after`] is not slept: the error is returned with the wait in it. Once the
//!   server has asked to wait, the client's concurrent requests (the scopes of a sync) go one at a time
//!   until one succeeds, so that they do not keep a server's penalty window open for each other;
//! - a concurrency window (AIMD): at most [`HttpSettings::concurrency`] requests in flight; a 429, a 503
//!   with `Retry-After`, or a success whose vendor headers say the budget is spent (`X-RateLimit-Remaining:
//!   0`, Jira's `X-RateLimit-NearLimit: true`) halves it (once per round of requests), and every full
//!   window of successes widens it by one again, up to the setting;
//! - counters, read with [`HttpClient::stats`].
//!
//! # Writes are never blindly re-sent
//! A request marked [`Idempotency::NonIdempotent`] (a POST that creates something) is retried only when it
//! certainly did not reach the server (the connection could not be opened, or the server answered 429/503,
//! which say the request was not processed). After any failure that may have followed its arrival (a reset,
//! a timeout, a 500, an unreadable 2xx body) it returns [`ConnectorError::Unknown`]: the caller must read the
//! target to learn whether the write happened.
//!
//! # Errors
//! 401/403 become [`ConnectorError::Auth`], 404 [`ConnectorError::NotFound`], other 4xx
//! [`ConnectorError::Invalid`], each carrying the vendor's message, parsed from either vendor's error body
//! (Jira `{"errorMessages":[..],"errors":{..}}` or `{"message":..}`; ServiceNow
//! `{"error":{"message":..,"detail":..},"status":"failure"}`).

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::ops::Add;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use governor::clock::{Clock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use rand::Rng as _;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use secrecy::ExposeSecret as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

pub use reqwest::Method;
pub use reqwest::header::HeaderMap;

use crate::error::ConnectorError;
use crate::secret::Auth;

/// How to reach one tracker. Build with [`HttpSettings::new`] and adjust fields as needed.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// The configured tracker name; it prefixes every error.
    pub tracker: String,
    /// Where the REST API lives, e.g. `https://example.atlassian.net` (a path prefix is kept).
    pub base_url: Url,
    pub auth: Auth,
    /// Sustained request rate; `0` (or a non-finite value) means no client-side limit.
    pub per_second: f64,
    /// Requests allowed back to back before the rate applies (at least 1).
    pub burst: u32,
    /// Requests in flight at most (at least 1): the upper bound of the AIMD concurrency window.
    pub concurrency: u32,
    /// Deadline for one attempt, from sending to the last body byte.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries after the first attempt (so at most `max_retries + 1` attempts).
    pub max_retries: u32,
    /// The first backoff ceiling; it doubles each retry up to `backoff_cap` (full jitter below it).
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// The longest server-requested wait (`Retry-After`, reset headers) slept inside a call; a longer one
    /// is returned to the caller as [`ConnectorError::RateLimited`] / [`ConnectorError::Transient`].
    pub max_retry_after: Duration,
    pub user_agent: String,
}

impl HttpSettings {
    /// Settings with conservative defaults: 10 requests/s with a burst of 10, 30 s request and 10 s connect
    /// timeouts, 4 retries backing off from 250 ms up to 30 s, server waits up to 60 s honoured.
    pub fn new(tracker: impl Into<String>, base_url: Url, auth: Auth) -> HttpSettings {
        HttpSettings {
            tracker: tracker.into(),
            base_url,
            auth,
            per_second: 10.0,
            burst: 10,
            concurrency: 6,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_retries: 4,
            backoff_base: Duration::from_millis(250),
            backoff_cap: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            user_agent: concat!("twotrack/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// Whether a request may be sent again after it may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Reads, PUT/PATCH/DELETE, upserts: sending twice has the effect of sending once.
    Idempotent,
    /// Creates (POST issue, comment, transition): re-sent only when it certainly did not arrive.
    NonIdempotent,
}

/// A successful response: the parsed body plus the headers callers page with.
#[derive(Debug, Clone)]
pub struct Response<T> {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: T,
}

impl<T> Response<T> {
    /// A header as text, if present and printable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `rel="next"` target of a `Link` header (ServiceNow paging), if any.
    pub fn next_link(&self) -> Option<Url> {
        self.headers.get_all(reqwest::header::LINK).iter().filter_map(|v| v.to_str().ok()).find_map(link_rel_next)
    }

    /// `X-Total-Count` (ServiceNow), if present and numeric.
    pub fn total_count(&self) -> Option<u64> {
        self.header("x-total-count").and_then(|v| v.trim().parse().ok())
    }
}

/// Counters since the client was built (shared by all clones).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpStats {
    /// Attempts that were sent (or tried to be), retries included.
    pub requests: u64,
    /// Responses by HTTP status.
    pub by_status: BTreeMap<u16, u64>,
    /// Attempts that got no response (connect failures, timeouts, resets).
    pub transport_errors: u64,
    /// Attempts repeated after a transient failure.
    pub retries: u64,
    /// 429 responses received.
    pub rate_limited: u64,
    /// Times the concurrency window was halved (the server pushed back), and its width now.
    pub window_cuts: u64,
    pub window: u32,
    /// Times an attempt had to wait for the client-side rate limiter, and for how long in total.
    pub limiter_waits: u64,
    pub limiter_wait: Duration,
    /// Total time slept between retries (backoff and server-requested waits).
    pub retry_wait: Duration,
    /// Non-idempotent writes whose outcome is unknown.
    pub unknown_outcomes: u64,
}

/// A rate-limited, retrying JSON client for one tracker. Cheap to clone; clones share limiter and counters.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    tracker: String,
    base_url: Url,
    client: reqwest::Client,
    authorization: HeaderValue,
    limiter: Option<Limiter>,
    max_retries: u32,
    backoff_base: Duration,
    backoff_cap: Duration,
    max_retry_after: Duration,
    counters: Counters,
    /// Set when the server asked to wait (429, or 503 with `Retry-After`), cleared by the next success.
    /// While set, attempts go one at a time (through `single_file`), so that concurrent streams of one
    /// tracker do not keep the server's penalty window open for each other.
    throttled: AtomicBool,
    single_file: tokio::sync::Mutex<()>,
    window: Window,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("tracker", &self.inner.tracker)
            .field("base_url", &self.inner.base_url)
            .finish()
    }
}

impl HttpClient {
    /// Build the client. Fails on a base URL that is not http(s) or carries credentials, and on a
    /// negative rate.
    pub fn new(settings: HttpSettings) -> Result<HttpClient, ConnectorError> {
        let invalid = |message: String| ConnectorError::Invalid { tracker: settings.tracker.clone(), message };
        let base = &settings.base_url;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(invalid(format!("base URL {base} is not an http(s) URL")));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(invalid("the base URL must not contain credentials; put them in the auth section".into()));
        }
        if settings.per_second.is_nan() || settings.per_second < 0.0 {
            return Err(invalid(format!("rate limit {} per second must not be negative", settings.per_second)));
        }
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .timeout(settings.request_timeout)
            .connect_timeout(settings.connect_timeout)
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {}", error_chain(&e))))?;
        let authorization = authorization_header(&settings.auth)
            .ok_or_else(|| invalid("the credentials contain characters not allowed in an HTTP header".into()))?;
        Ok(HttpClient {
            inner: Arc::new(Inner {
                limiter: Limiter::new(settings.per_second, settings.burst),
                tracker: settings.tracker,
                base_url: settings.base_url,
                client,
                authorization,
                max_retries: settings.max_retries,
                backoff_base: settings.backoff_base,
                backoff_cap: settings.backoff_cap,
                max_retry_after: settings.max_retry_after,
                counters: Counters::default(),
                throttled: AtomicBool::new(false),
                single_file: tokio::sync::Mutex::new(()),
                window: Window::new(settings.concurrency),
            }),
        })
    }

    /// The configured tracker name.
    pub fn tracker(&self) -> &str {
        &self.inner.tracker
    }

    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// `path` (starting with `/`, may carry a query) appended to the base URL, then `query` pairs
    /// (percent-encoded).
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.inner.base_url.clone();
        let (path, existing_query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let joined = format!("{}/{}", url.path().trim_end_matches('/'), path.trim_start_matches('/'));
        url.set_path(&joined);
        url.set_query(existing_query);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// GET `path` (relative to the base URL) with `query`, retried on transient failures.
    pub async fn get_json<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Response<T>, ConnectorError> {
        self.execute(Method::GET, self.url(path, query), None, Idempotency::Idempotent, &json_reading()).await
    }

    /// GET an absolute URL the tracker handed out (a `Link: rel="next"`). It must point at the same
    /// origin as the base URL: credentials are never sent elsewhere.
    pub async fn get_json_url<T: DeserializeOwned + Send + 'static>(
        &self,
        url: &Url,
    ) -> Result<Response<T>, ConnectorError> {
        if url.origin() != self.inner.base_url.origin() {
            return Err(ConnectorError::Invalid {
                tracker: self.inner.tracker.clone(),
                message: format!("refusing to follow a link to another origin: {}", url.origin().ascii_serialization()),
            });
        }
        self.execute(Method::GET, url.clone(), None, Idempotency::Idempotent, &json_reading()).await
    }

    /// Send `body` as JSON with `method` to `path` and parse the JSON answer (an empty body parses as
    /// `null`, so `T = ()` or `Option<_>` suit 204 answers).
    pub async fn send_json<T: DeserializeOwned + Send + 'static, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: &B,
        idempotency: Idempotency,
    ) -> Result<Response<T>, ConnectorError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ConnectorError::Invalid {
            tracker: self.inner.tracker.clone(),
            message: format!("cannot encode the request body: {e}"),
        })?;
        let payload = Payload {
            bytes: Bytes::from(bytes),
            headers: vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        };
        self.execute(method, self.url(path, query), Some(payload), idempotency, &json_reading()).await
    }

    /// GET `path` and read the answer's body as bytes, never more than `limit` of them: a larger body
    /// (by its `Content-Length`, or as it streams in) is not read further and comes back as
    /// [`Bounded::TooLarge`]. For file downloads: `Accept: */*`, redirects followed (credentials are not
    /// sent to another origin), retried on transient failures like every read.
    pub async fn get_bytes(
        &self,
        path: &str,
        query: &[(&str, &str)],
        limit: u64,
    ) -> Result<Response<Bounded>, ConnectorError> {
        let reading = Reading { accept: "*/*", limit: Some(limit), decode: bounded };
        self.execute(Method::GET, self.url(path, query), None, Idempotency::Idempotent, &reading).await
    }

    /// Send `body` (of media type `content_type`, with the extra request `headers`) with `method` to
    /// `path` and parse the JSON answer: file uploads (a raw body, or a multipart form the caller built).
    #[allow(clippy::too_many_arguments)]
    pub async fn send_bytes<T: DeserializeOwned + Send + 'static>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        content_type: &str,
        body: Bytes,
        headers: &[(&str, &str)],
        idempotency: Idempotency,
    ) -> Result<Response<T>, ConnectorError> {
        let invalid = |what: &str| ConnectorError::Invalid {
            tracker: self.inner.tracker.clone(),
            message: format!("cannot send the request: {what} is not a valid HTTP header"),
        };
        let mut extra = Vec::with_capacity(headers.len() + 1);
        extra.push((CONTENT_TYPE, HeaderValue::from_str(content_type).map_err(|_| invalid(content_type))?));
        for (name, value) in headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid(name))?;
            extra.push((name, HeaderValue::from_str(value).map_err(|_| invalid(value))?));
        }
        let payload = Payload { bytes: body, headers: extra };
        self.execute(method, self.url(path, query), Some(payload), idempotency, &json_reading()).await
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> HttpStats {
        HttpStats { window: self.inner.window.width(), ..self.inner.counters.snapshot() }
    }

    async fn execute<T: Send + 'static>(
        &self,
        method: Method,
        url: Url,
        body: Option<Payload>,
        idempotency: Idempotency,
        reading: &Reading<T>,
    ) -> Result<Response<T>, ConnectorError> {
        let inner = &*self.inner;
        let mut retry = 0u32;
        loop {
            let turn = match inner.throttled.load(Ordering::Acquire) {
                true => Some(inner.single_file.lock().await),
                false => None,
            };
            let slot = inner.window.acquire().await;
            self.wait_for_permit().await;
            let started = tokio::time::Instant::now();
            let answer = self.exchange(&method, &url, body.as_ref(), reading.limit, reading.accept).await;
            // Once its answer is read the request is no longer in flight: its place in the window goes to
            // the next request while this answer is decoded.
            let round = slot.round;
            drop(slot);
            let status = answer.as_ref().ok().map(|answer| answer.status.as_u16());
            let result = match answer {
                Ok(answer) => self.read_answer(&url, answer, reading).await,
                Err(failure) => Err(failure),
            };
            match &result {
                Ok(response) => {
                    inner.throttled.store(false, Ordering::Release);
                    match budget_spent(&response.headers) {
                        true => inner.window.cut(round, &inner.counters),
                        false => inner.window.widen(),
                    }
                }
                Err(Failure::Retryable(Retryable { wait: Some(_), .. })) => {
                    inner.throttled.store(true, Ordering::Release);
                    inner.window.cut(round, &inner.counters);
                }
                Err(_) => {}
            }
            tracing::debug!(
                tracker = %inner.tracker,
                method = %method,
                path = url.path(),
                status,
                attempt = retry + 1,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "http attempt"
            );
            let failure = match result {
                Ok(response) => return Ok(response),
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Undecodable(message)) => {
                    return Err(match idempotency {
                        Idempotency::Idempotent => ConnectorError::Invalid { tracker: inner.tracker.clone(), message },
                        Idempotency::NonIdempotent => self.unknown(&method, &url, message),
                    });
                }
                Err(Failure::Retryable(failure)) => failure,
            };
            if idempotency == Idempotency::NonIdempotent && failure.sent == Sent::Maybe {
                return Err(self.unknown(&method, &url, failure.reason.message()));
            }
            let delay = match failure.wait {
                Some(wait) if wait > inner.max_retry_after => return Err(failure.into_error(&inner.tracker)),
                Some(wait) => wait + jitter(inner.backoff_base),
                None => jitter(backoff_ceiling(inner.backoff_base, inner.backoff_cap, retry)),
            };
            if retry >= inner.max_retries {
                return Err(failure.into_error(&inner.tracker));
            }
            tracing::debug!(
                tracker = %inner.tracker,
                method = %method,
                path = url.path(),
                reason = %failure.reason.message(),
                delay_ms = delay.as_millis() as u64,
                "retrying"
            );
            retry += 1;
            inner.counters.retries.fetch_add(1, Ordering::Relaxed);
            inner.counters.add_duration(&inner.counters.retry_wait_ns, delay);
            // The server's wait holds every stream of this tracker back, not only this one.
            let _turn = match failure.wait {
                Some(_) => turn,
                None => {
                    drop(turn);
                    None
                }
            };
            tokio::time::sleep(delay).await;
        }
    }

    fn unknown(&self, method: &Method, url: &Url, message: String) -> ConnectorError {
        self.inner.counters.unknown_outcomes.fetch_add(1, Ordering::Relaxed);
        ConnectorError::Unknown {
            tracker: self.inner.tracker.clone(),
            what: format!("{method} {}", url.path()),
            message,
        }
    }

    async fn wait_for_permit(&self) {
        let Some(limiter) = &self.inner.limiter else { return };
        let mut waited = Duration::ZERO;
        while let Some(wait) = limiter.check() {
            waited += wait;
            tokio::time::sleep(wait).await;
        }
        if !waited.is_zero() {
            let counters = &self.inner.counters;
            counters.limiter_waits.fetch_add(1, Ordering::Relaxed);
            counters.add_duration(&counters.limiter_wait_ns, waited);
        }
    }

    /// Send one request and read its answer's body (not yet decoded).
    async fn exchange(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Payload>,
        limit: Option<u64>,
        accept: &'static str,
    ) -> Result<Answer, Failure> {
        let inner = &*self.inner;
        inner.counters.requests.fetch_add(1, Ordering::Relaxed);
        let mut request = inner
            .client
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, inner.authorization.clone())
            .header(ACCEPT, accept);
        if let Some(body) = body {
            for (name, value) in &body.headers {
                request = request.header(name.clone(), value.clone());
            }
            request = request.body(body.bytes.clone());
        }
        let response = request.send().await.map_err(|error| {
            inner.counters.transport_errors.fetch_add(1, Ordering::Relaxed);
            Failure::Retryable(transport_failure(&error))
        })?;
        let status = response.status();
        inner.counters.count_status(status.as_u16());
        if status == StatusCode::TOO_MANY_REQUESTS {
            inner.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        let headers = response.headers().clone();
        match read_body(response, limit).await {
            Ok((bytes, over)) => Ok(Answer { status, headers, bytes, over, at: SystemTime::now() }),
            Err(error) => {
                inner.counters.transport_errors.fetch_add(1, Ordering::Relaxed);
                Err(Failure::Retryable(Retryable {
                    sent: Sent::Maybe,
                    reason: Reason::Transient(format!(
                        "the response body (HTTP {}) was cut off: {}",
                        status.as_u16(),
                        error_chain(&error)
                    )),
                    wait: None,
                }))
            }
        }
    }

    /// What an answer says: its decoded body, or why it failed. A large successful body (a page of a
    /// pull) is decoded on the blocking pool: on the caller's task it would hold up every other stream
    /// polled there (a sync's streams share one task) while it parses.
    async fn read_answer<T: Send + 'static>(
        &self,
        url: &Url,
        answer: Answer,
        reading: &Reading<T>,
    ) -> Result<Response<T>, Failure> {
        let Answer { status, headers, bytes, over, at } = answer;
        let tracker = &self.inner.tracker;
        if !(status.is_success() && bytes.len() >= DECODE_APART) {
            return interpret_with(tracker, url, status, headers, &bytes, over, at, reading.decode);
        }
        let (owned_tracker, url, decode) = (tracker.clone(), url.clone(), reading.decode);
        let decoding = tokio::task::spawn_blocking(move || {
            interpret_with(&owned_tracker, &url, status, headers, &bytes, over, at, decode)
        });
        match decoding.await {
            Ok(result) => result,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => Err(Failure::Fatal(ConnectorError::Invalid {
                tracker: tracker.clone(),
                message: "the runtime shut down while an answer was being read".to_string(),
            })),
        }
    }
}

/// From this size on, a successful answer is decoded on the blocking pool ([`HttpClient::read_answer`]).
const DECODE_APART: usize = 64 * 1024;

/// An answer as it came: status, headers and the body read (`over`: cut at the reading's limit).
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    bytes: Bytes,
    over: bool,
    at: SystemTime,
}

/// A request body with its media type and any other headers it needs.
struct Payload {
    bytes: Bytes,
    headers: Vec<(reqwest::header::HeaderName, HeaderValue)>,
}

/// How an answer is read: what is accepted, how much of the body at most, and how a 2xx body is decoded
/// (the body, and whether it was cut at the limit).
struct Reading<T> {
    accept: &'static str,
    limit: Option<u64>,
    decode: fn(&HeaderMap, u16, &[u8], bool) -> Result<T, Failure>,
}

fn json_reading<T: DeserializeOwned>() -> Reading<T> {
    Reading { accept: "application/json", limit: None, decode: |headers, code, body, _| decode(headers, code, body) }
}

/// A body read up to a limit ([`HttpClient::get_bytes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bounded {
    /// The whole body, within the limit.
    Complete(Bytes),
    /// The body is larger than the limit; it was not read beyond it.
    TooLarge,
}

fn bounded(_: &HeaderMap, _: u16, body: &[u8], over: bool) -> Result<Bounded, Failure> {
    Ok(if over { Bounded::TooLarge } else { Bounded::Complete(Bytes::copy_from_slice(body)) })
}

/// The body of `response`, or with a `limit`, at most that many bytes of it and whether there was more
/// (nothing is read when the announced length is over the limit).
async fn read_body(mut response: reqwest::Response, limit: Option<u64>) -> Result<(Bytes, bool), reqwest::Error> {
    let Some(limit) = limit else { return Ok((response.bytes().await?, false)) };
    if response.content_length().is_some_and(|length| length > limit) {
        return Ok((Bytes::new(), true));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Ok((Bytes::from(body), true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((Bytes::from(body), false))
}

enum Failure {
    /// Retrying cannot help: 4xx.
    Fatal(ConnectorError),
    /// A 2xx whose JSON has a shape we do not know: the request was processed but we cannot read the answer.
    Undecodable(String),
    Retryable(Retryable),
}

struct Retryable {
    sent: Sent,
    reason: Reason,
    /// A wait the server asked for.
    wait: Option<Duration>,
}

/// Whether a failed attempt may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// Certainly not processed (connection refused, 429, 503): safe to send again whatever the method.
    No,
    Maybe,
}

enum Reason {
    RateLimited,
    Transient(String),
}

impl Reason {
    fn message(&self) -> String {
        match self {
            Reason::RateLimited => "rate limited (HTTP 429)".to_string(),
            Reason::Transient(message) => message.clone(),
        }
    }
}

impl Retryable {
    fn into_error(self, tracker: &str) -> ConnectorError {
        match self.reason {
            Reason::RateLimited => ConnectorError::RateLimited { tracker: tracker.to_string(), retry_after: self.wait },
            Reason::Transient(message) => ConnectorError::Transient { tracker: tracker.to_string(), message },
        }
    }
}

fn transport_failure(error: &reqwest::Error) -> Retryable {
    // A connect error (refused, DNS, TLS handshake, connect timeout) means no byte of the request left.
    let sent = if error.is_connect() { Sent::No } else { Sent::Maybe };
    let message = if error.is_timeout() && !error.is_connect() {
        "the request timed out".to_string()
    } else {
        error_chain(error)
    };
    Retryable { sent, reason: Reason::Transient(message), wait: None }
}

/// Turn a received response into a parsed body or a classified failure. Pure, so it is unit-tested.
#[cfg(test)]
fn interpret<T: DeserializeOwned>(
    tracker: &str,
    url: &Url,
    status: StatusCode,
    headers: HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<Response<T>, Failure> {
    interpret_with(tracker, url, status, headers, body, false, now, |headers, code, body, _| {
        decode(headers, code, body)
    })
}

/// [`interpret`] with the decoder of the request's [`Reading`]; `over` says the body was cut at its limit.
#[allow(clippy::too_many_arguments)]
fn interpret_with<T>(
    tracker: &str,
    url: &Url,
    status: StatusCode,
    headers: HeaderMap,
    body: &[u8],
    over: bool,
    now: SystemTime,
    decode: fn(&HeaderMap, u16, &[u8], bool) -> Result<T, Failure>,
) -> Result<Response<T>, Failure> {
    let code = status.as_u16();
    if status.is_success() {
        if let Some(reason) = headers.get("x-seraph-loginreason").and_then(|v| v.to_str().ok())
            && reason.contains("AUTHENTICATED_FAILED")
        {
            return Err(Failure::Fatal(ConnectorError::Auth {
                tracker: tracker.to_string(),
                status: code,
                message: format!("the server reports the login failed ({reason})"),
            }));
        }
        return decode(&headers, code, body, over).map(|body| Response { status: code, headers, body });
    }
    let message = || vendor_message(&headers, body).unwrap_or_else(|| status_text(status));
    let transient = |sent: Sent| {
        Failure::Retryable(Retryable {
            sent,
            reason: Reason::Transient(format!("HTTP {code}: {}", message())),
            wait: server_wait(&headers, now),
        })
    };
    match code {
        401 | 403 => {
            Err(Failure::Fatal(ConnectorError::Auth { tracker: tracker.to_string(), status: code, message: message() }))
        }
        404 => Err(Failure::Fatal(ConnectorError::NotFound {
            tracker: tracker.to_string(),
            what: format!("{} ({})", url.path(), message()),
        })),
        429 => Err(Failure::Retryable(Retryable {
            sent: Sent::No,
            reason: Reason::RateLimited,
            wait: server_wait(&headers, now),
        })),
        503 => Err(transient(Sent::No)),
        408 | 500 | 502 | 504 => Err(transient(Sent::Maybe)),
        _ => Err(Failure::Fatal(ConnectorError::Invalid {
            tracker: tracker.to_string(),
            message: format!("HTTP {code} from {}: {}", url.path(), message()),
        })),
    }
}

fn decode<T: DeserializeOwned>(headers: &HeaderMap, code: u16, body: &[u8]) -> Result<T, Failure> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let not_json =
        |what: String| Failure::Retryable(Retryable { sent: Sent::Maybe, reason: Reason::Transient(what), wait: None });
    if content_type.contains("html") || (body.first() == Some(&b'<')) {
        return Err(not_json(format!(
            "HTTP {code} with an HTML page instead of JSON (the instance may be hibernating, or a login or proxy page answered)"
        )));
    }
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"null" } else { body };
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            Failure::Undecodable(format!("unexpected JSON shape in the response (HTTP {code}): {e}"))
        }
        _ => not_json(format!("HTTP {code} with a truncated or malformed JSON body: {e}")),
    })
}

/// The vendor's own error message from an error body, if it has one.
fn vendor_message(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        return json_error_message(&value);
    }
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() || content_type.contains("html") || text.starts_with('<') {
        return None;
    }
    Some(text.chars().take(300).collect())
}

/// Jira `{"errorMessages":[..],"errors":{..}}`, `{"message":..}`, JSM `{"errorMessage":..}`,
/// ServiceNow `{"error":{"message":..,"detail":..}}`.
fn json_error_message(value: &serde_json::Value) -> Option<String> {
    let text = |v: &serde_json::Value| v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let mut parts: Vec<String> = Vec::new();
    if let Some(messages) = value.get("errorMessages").and_then(|v| v.as_array()) {
        parts.extend(messages.iter().filter_map(text));
    }
    if let Some(errors) = value.get("errors").and_then(|v| v.as_object()) {
        parts.extend(errors.iter().filter_map(|(field, v)| text(v).map(|m| format!("{field}: {m}"))));
    }
    match value.get("error") {
        Some(error @ serde_json::Value::Object(_)) => {
            let message = error.get("message").and_then(text);
            let detail = error.get("detail").and_then(text);
            match (message, detail) {
                (Some(m), Some(d)) => parts.push(format!("{m} ({d})")),
                (Some(m), None) | (None, Some(m)) => parts.push(m),
                (None, None) => {}
            }
        }
        Some(other) => parts.extend(text(other)),
        None => {}
    }
    for key in ["message", "errorMessage"] {
        parts.extend(value.get(key).and_then(text));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn status_text(status: StatusCode) -> String {
    status.canonical_reason().unwrap_or("no message").to_string()
}

/// How long the server asked us to wait: `Retry-After` (seconds or HTTP date), else `X-RateLimit-Reset`
/// (epoch seconds, or an ISO time such as Jira's `2024-01-15T10:31Z`).
fn server_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::trim);
    if let Some(value) = header(RETRY_AFTER.as_str()) {
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        if let Ok(at) = httpdate::parse_http_date(value) {
            return Some(at.duration_since(now).unwrap_or(Duration::ZERO));
        }
    }
    let reset = header("x-ratelimit-reset")?;
    let at = match reset.parse::<u64>() {
        Ok(epoch_seconds) => SystemTime::UNIX_EPOCH + Duration::from_secs(epoch_seconds),
        Err(_) => SystemTime::from(parse_iso_time(reset)?),
    };
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn parse_iso_time(value: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Some(t.to_utc());
    }
    chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%MZ").ok().map(|t| t.and_utc())
}

/// The `rel="next"` URL of one `Link` header value (`<u1>;rel="first",<u2>;rel="next"`).
fn link_rel_next(header: &str) -> Option<Url> {
    header.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            p.trim()
                .split_once('=')
                .is_some_and(|(k, v)| k.trim().eq_ignore_ascii_case("rel") && v.trim().trim_matches('"') == "next")
        });
        if is_next { Url::parse(target).ok() } else { None }
    })
}

/// The backoff ceiling before retry number `retry + 1`: `base * 2^retry`, capped.
fn backoff_ceiling(base: Duration, cap: Duration, retry: u32) -> Duration {
    base.saturating_mul(2u32.saturating_pow(retry.min(30))).min(cap)
}

/// A uniformly random duration in `[0, ceiling]` ("full jitter").
fn jitter(ceiling: Duration) -> Duration {
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::rng().random_range(0..=nanos))
}

fn authorization_header(auth: &Auth) -> Option<HeaderValue> {
    let text = match auth {
        Auth::Basic { user, token } => {
            let pair = format!("{user}:{}", token.expose_secret());
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
        }
        Auth::Bearer { token } => format!("Bearer {}", token.expose_secret()),
    };
    let mut value = HeaderValue::from_str(&text).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// An error and its sources on one line (reqwest's Display alone hides the cause), without the URL.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    by_status: Mutex<BTreeMap<u16, u64>>,
    transport_errors: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    limiter_waits: AtomicU64,
    limiter_wait_ns: AtomicU64,
    retry_wait_ns: AtomicU64,
    unknown_outcomes: AtomicU64,
    window_cuts: AtomicU64,
}

impl Counters {
    fn count_status(&self, status: u16) {
        if let Ok(mut by_status) = self.by_status.lock() {
            *by_status.entry(status).or_default() += 1;
        }
    }

    fn add_duration(&self, counter: &AtomicU64, duration: Duration) {
        counter.fetch_add(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn snapshot(&self) -> HttpStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        HttpStats {
            requests: load(&self.requests),
            by_status: self.by_status.lock().map(|m| m.clone()).unwrap_or_default(),
            transport_errors: load(&self.transport_errors),
            retries: load(&self.retries),
            rate_limited: load(&self.rate_limited),
            limiter_waits: load(&self.limiter_waits),
            limiter_wait: Duration::from_nanos(load(&self.limiter_wait_ns)),
            retry_wait: Duration::from_nanos(load(&self.retry_wait_ns)),
            unknown_outcomes: load(&self.unknown_outcomes),
            window_cuts: load(&self.window_cuts),
            window: 0,
        }
    }
}

/// Whether a successful answer's vendor headers say the rate-limit budget is (nearly) spent: ServiceNow's
/// and Jira's `X-RateLimit-Remaining: 0`, Jira Cloud's `X-RateLimit-NearLimit: true`.
fn budget_spent(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    header("x-ratelimit-nearlimit").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || header("x-ratelimit-remaining").and_then(|v| v.parse::<u64>().ok()) == Some(0)
}

/// The AIMD concurrency window: how many requests may be in flight.
struct Window {
    max: u32,
    state: Mutex<WindowState>,
    changed: tokio::sync::Notify,
}

struct WindowState {
    width: u32,
    in_flight: u32,
    /// Successes since the window last changed.
    successes: u32,
    /// Bumped by every cut: a request sent before the last cut does not cut again (one cut per round).
    round: u64,
    cuts: u64,
}

/// One request's place in the window; gives it back when dropped.
struct Slot<'a> {
    window: &'a Window,
    round: u64,
}

impl Window {
    fn new(max: u32) -> Window {
        let max = max.max(1);
        let state = WindowState { width: max, in_flight: 0, successes: 0, round: 0, cuts: 0 };
        Window { max, state: Mutex::new(state), changed: tokio::sync::Notify::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WindowState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn acquire(&self) -> Slot<'_> {
        loop {
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            {
                let mut state = self.lock();
                if state.in_flight < state.width {
                    state.in_flight += 1;
                    return Slot { window: self, round: state.round };
                }
            }
            changed.await;
        }
    }

    /// Additive increase: one more after a full window of successes.
    fn widen(&self) {
        let mut state = self.lock();
        state.successes += 1;
        if state.successes >= state.width && state.width < self.max {
            state.width += 1;
            state.successes = 0;
            drop(state);
            self.changed.notify_waiters();
        }
    }

    /// Multiplicative decrease, once per round.
    /// `round`: the round the request that saw the signal was sent in ([`Slot::round`]).
    fn cut(&self, round: u64, counters: &Counters) {
        let mut state = self.lock();
        if round == state.round {
            state.width = (state.width / 2).max(1);
            state.successes = 0;
            state.round += 1;
            state.cuts += 1;
            counters.window_cuts.store(state.cuts, Ordering::Relaxed);
        }
    }

    fn width(&self) -> u32 {
        self.lock().width
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.window.lock().in_flight -= 1;
        self.window.changed.notify_waiters();
    }
}

/// The share of the configured rate the limiter paces at. A server spaces its tokens exactly (Jira's and
/// ServiceNow's limits are token buckets); requests sent exactly that far apart reach it with jitter (the
/// network, its scheduler, a 1 ms timer), and every pair that lands closer than the spacing is refused
/// with a `Retry-After` of a second or more. Pacing 5% under leaves about 2.5 ms of slack at 20
/// requests/s and costs 5% of the throughput.
pub const PACE: f64 = 0.95;

/// The client-side rate limiter: GCRA from `governor`, clocked by tokio so paused-time tests drive it.
struct Limiter {
    limiter: RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<TokioInstant>>,
    clock: TokioClock,
}

impl Limiter {
    /// `None` when there is no limit to enforce.
    fn new(per_second: f64, burst: u32) -> Option<Limiter> {
        if !per_second.is_finite() || per_second <= 0.0 {
            return None;
        }
        let period = Duration::try_from_secs_f64(1.0 / (per_second * PACE)).ok()?;
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)?.allow_burst(burst);
        let clock = TokioClock { origin: tokio::time::Instant::now() };
        Some(Limiter { limiter: RateLimiter::direct_with_clock(quota, clock.clone()), clock })
    }

    /// Take a permit, or say how long to wait before asking again.
    fn check(&self) -> Option<Duration> {
        self.limiter.check().err().map(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[derive(Clone)]
struct TokioClock {
    origin: tokio::time::Instant,
}

/// Nanoseconds since the limiter's creation, on tokio's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct TokioInstant(u64);

impl Add<Nanos> for TokioInstant {
    type Output = TokioInstant;

    fn add(self, other: Nanos) -> TokioInstant {
        TokioInstant(self.0.saturating_add(other.as_u64()))
    }
}

impl Reference for TokioInstant {
    fn duration_since(&self, earlier: Self) -> Nanos {
        Nanos::from(Duration::from_nanos(self.0.saturating_sub(earlier.0)))
    }

    fn saturating_sub(&self, duration: Nanos) -> Self {
        TokioInstant(self.0.saturating_sub(duration.as_u64()))
    }
}

impl Clock for TokioClock {
    type Instant = TokioInstant;

    fn now(&self) -> TokioInstant {
        TokioInstant(u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn url() -> Url {
        Url::parse("https://x.example/rest/api/3/issue/A-1").unwrap()
    }

    fn interpret_json(
        status: u16,
        hdrs: &[(&'static str, &str)],
        body: &str,
    ) -> Result<Response<serde_json::Value>, Failure> {
        interpret(
            "jira",
            &url(),
            StatusCode::from_u16(status).unwrap(),
            headers(hdrs),
            body.as_bytes(),
            SystemTime::now(),
        )
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(server_wait(&headers(&[("retry-after", "7")]), now), Some(Duration::from_secs(7)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(server_wait(&headers(&[("retry-after", &date)]), now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(server_wait(&headers(&[("retry-after", &past)]), now), Some(Duration::ZERO));
    }

    #[test]
    fn reset_headers_are_used_without_retry_after() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let epoch = headers(&[("x-ratelimit-reset", "1700000042")]);
        assert_eq!(server_wait(&epoch, now), Some(Duration::from_secs(42)));
        // 1_700_000_000 is 2023-11-14T22:13:20Z; Jira's reset has minute precision.
        let jira = headers(&[("x-ratelimit-reset", "2023-11-14T22:15Z")]);
        assert_eq!(server_wait(&jira, now), Some(Duration::from_secs(100)));
        let both = headers(&[("x-ratelimit-reset", "1700000042"), ("retry-after", "3")]);
        assert_eq!(server_wait(&both, now), Some(Duration::from_secs(3)));
        assert_eq!(server_wait(&headers(&[("x-ratelimit-reset", "soon")]), now), None);
    }

    #[test]
    fn vendor_messages_of_both_vendors_are_extracted() {
        let check = |body: &str, expected: &str| {
            assert_eq!(vendor_message(&HeaderMap::new(), body.as_bytes()).as_deref(), Some(expected), "{body}");
        };
        check(r#"{"errorMessages":["Field 'priority' is required"],"errors":{}}"#, "Field 'priority' is required");
        check(r#"{"errorMessages":[],"errors":{"title":"'title' is required."}}"#, "title: 'title' is required.");
        check(
            r#"{"message":"Client must be authenticated to access this resource.","status-code":401}"#,
            "Client must be authenticated to access this resource.",
        );
        check(
            r#"{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}"#,
            "User Not Authenticated (Required to provide Auth information)",
        );
        check(
            r#"{"error":{"message":"Insufficient rights to query records","detail":null},"status":"failure"}"#,
            "Insufficient rights to query records",
        );
        check(
            "Basic authentication with passwords is deprecated.",
            "Basic authentication with passwords is deprecated.",
        );
        let html = headers(&[("content-type", "text/html")]);
        assert_eq!(vendor_message(&html, b"<html><body>Login</body></html>"), None);
    }

    #[test]
    fn statuses_map_to_typed_errors() {
        let auth = interpret_json(401, &[], r#"{"message":"Client must be authenticated"}"#);
        assert!(
            matches!(auth, Err(Failure::Fatal(ConnectorError::Auth { status: 401, ref message, .. })) if message == "Client must be authenticated")
        );
        let missing = interpret_json(404, &[], r#"{"errorMessages":["Issue does not exist"],"errors":{}}"#);
        assert!(
            matches!(missing, Err(Failure::Fatal(ConnectorError::NotFound { ref what, .. })) if what.contains("Issue does not exist"))
        );
        let gone = interpret_json(410, &[], r#"{"errorMessages":["The requested API has been removed."]}"#);
        assert!(
            matches!(gone, Err(Failure::Fatal(ConnectorError::Invalid { ref message, .. })) if message.contains("410") && message.contains("removed"))
        );
        let limited = interpret_json(429, &[("retry-after", "2")], "");
        assert!(
            matches!(limited, Err(Failure::Retryable(Retryable { sent: Sent::No, reason: Reason::RateLimited, wait: Some(w) })) if w == Duration::from_secs(2))
        );
        assert!(matches!(interpret_json(503, &[], ""), Err(Failure::Retryable(Retryable { sent: Sent::No, .. }))));
        for status in [500, 502, 504] {
            assert!(matches!(
                interpret_json(status, &[], ""),
                Err(Failure::Retryable(Retryable { sent: Sent::Maybe, .. }))
            ));
        }
        let seraph = interpret_json(200, &[("x-seraph-loginreason", "AUTHENTICATED_FAILED")], "{}");
        assert!(matches!(seraph, Err(Failure::Fatal(ConnectorError::Auth { .. }))));
    }

    #[test]
    fn bodies_of_2xx_are_checked() {
        assert_eq!(interpret_json(200, &[], r#"{"a":1}"#).ok().map(|r| r.body), Some(serde_json::json!({"a":1})));
        assert_eq!(interpret_json(204, &[], "").ok().map(|r| r.body), Some(serde_json::Value::Null));
        let html = interpret_json(200, &[("content-type", "text/html")], "<html>Instance Hibernating</html>");
        assert!(
            matches!(html, Err(Failure::Retryable(Retryable { reason: Reason::Transient(ref m), .. })) if m.contains("hibernating"))
        );
        let cut = interpret_json(200, &[("content-type", "application/json")], r#"{"issues":[{"id":"1"#);
        assert!(matches!(cut, Err(Failure::Retryable(Retryable { sent: Sent::Maybe, .. }))));
        let shape: Result<Response<Vec<u8>>, Failure> =
            interpret("t", &url(), StatusCode::OK, HeaderMap::new(), br#"{"a":1}"#, SystemTime::now());
        assert!(matches!(shape, Err(Failure::Undecodable(_))));
    }

    #[test]
    fn link_header_next_is_found() {
        let link = r#"<https://sn.example/api/now/table/incident?sysparm_offset=0>;rel="first",<https://sn.example/api/now/table/incident?sysparm_offset=100>;rel="next",<https://sn.example/api/now/table/incident?sysparm_offset=900>;rel="last""#;
        assert_eq!(
            link_rel_next(link).unwrap().as_str(),
            "https://sn.example/api/now/table/incident?sysparm_offset=100"
        );
        assert_eq!(link_rel_next(r#"<https://sn.example/a>;rel="last""#), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(1);
        let ceilings: Vec<_> = (0..6).map(|r| backoff_ceiling(base, cap, r).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff_ceiling(base, cap, u32::MAX), cap);
        assert!((0..100).all(|_| jitter(base) <= base));
    }

    #[test]
    fn authorization_is_sensitive_and_debug_hides_it() {
        let auth = Auth::Basic { user: "me@example.com".into(), token: "s3cret-token".into() };
        let value = authorization_header(&auth).unwrap();
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("s3cret"));
        let settings = HttpSettings::new("jira", Url::parse("https://x.example").unwrap(), auth);
        assert!(!format!("{settings:?}").contains("s3cret"));
    }

    #[test]
    fn urls_join_the_base_path() {
        let settings = HttpSettings::new(
            "jira",
            Url::parse("https://api.example/ex/jira/abc/").unwrap(),
            Auth::Bearer { token: "t".into() },
        );
        let client = HttpClient::new(settings).unwrap();
        let url = client.url("/rest/api/3/search/jql?fields=id", &[("jql", "project = A AND labels = \"x y\"")]);
        assert_eq!(url.path(), "/ex/jira/abc/rest/api/3/search/jql");
        let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
        assert_eq!(pairs[0], ("fields".into(), "id".into()));
        assert_eq!(pairs[1], ("jql".into(), "project = A AND labels = \"x y\"".into()));
    }

    #[test]
    fn base_url_with_credentials_is_refused() {
        let settings = HttpSettings::new(
            "jira",
            Url::parse("https://me:pw@x.example").unwrap(),
            Auth::Bearer { token: "t".into() },
        );
        assert!(matches!(HttpClient::new(settings), Err(ConnectorError::Invalid { .. })));
    }

    #[test]
    fn spent_budgets_are_read_from_both_vendors_headers() {
        assert!(budget_spent(&headers(&[("x-ratelimit-remaining", "0")])));
        assert!(budget_spent(&headers(&[("X-RateLimit-NearLimit", "true")])));
        assert!(!budget_spent(&headers(&[("x-ratelimit-remaining", "12"), ("x-ratelimit-nearlimit", "false")])));
        assert!(!budget_spent(&headers(&[])));
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_halves_once_per_round_and_widens_by_one_per_full_window() {
        let (window, counters) = (Window::new(8), Counters::default());
        let mut slots = Vec::new();
        for _ in 0..8 {
            slots.push(window.acquire().await);
        }
        assert_eq!(window.lock().in_flight, 8);
        // A ninth request waits for a slot.
        assert!(tokio::time::timeout(Duration::from_secs(1), window.acquire()).await.is_err());
        // Three requests of the same round are refused: one cut.
        for slot in &slots[..3] {
            window.cut(slot.round, &counters);
        }
        assert_eq!((window.width(), counters.window_cuts.load(Ordering::Relaxed)), (4, 1));
        drop(slots);
        let ninth = window.acquire().await;
        // A request of the new round cuts again.
        window.cut(ninth.round, &counters);
        assert_eq!(window.width(), 2);
        drop(ninth);
        window.cut(window.acquire().await.round, &counters);
        window.cut(window.acquire().await.round, &counters);
        assert_eq!(window.width(), 1, "never below one");
        // 1 success widens to 2, 2 more to 3, 3 more to 4.
        for expected in [2, 2, 3, 3, 3, 4] {
            window.widen();
            assert_eq!(window.width(), expected);
        }
        for _ in 0..100 {
            window.widen();
        }
        assert_eq!(window.width(), 8, "never above the setting");
    }

    #[tokio::test(start_paused = true)]
    async fn limiter_spaces_permits_after_the_burst() {
        let limiter = Limiter::new(10.0, 3).unwrap();
        let start = tokio::time::Instant::now();
        let mut granted = Vec::new();
        for _ in 0..13 {
            while let Some(wait) = limiter.check() {
                tokio::time::sleep(wait).await;
            }
            granted.push(start.elapsed());
        }
        // The burst goes at once; then one permit every 100 ms / PACE (105.3 ms): never more than 10 a second.
        assert!(granted[..3].iter().all(|t| t.is_zero()), "{granted:?}");
        assert!(granted[3] >= Duration::from_millis(105), "{granted:?}");
        let last = granted[12];
        assert!(last >= Duration::from_millis(1052) && last <= Duration::from_millis(1060), "{last:?}");
        assert!(Limiter::new(0.0, 5).is_none());
    }
}
