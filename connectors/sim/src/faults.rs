//! Fault injection, deterministic from a seed, settable at start and while running.
//!
//! A [`FaultSpec`] says what to inject: a share of requests (`rate`) gets one of the enabled
//! [`FaultKind`]s, every request gets `latency` added, and an optional server-side token bucket
//! answers excess requests with 429. [`Faults`] is the runtime handle the HTTP layer asks for a
//! decision on each request (see [`crate::server`]).
//!
//! Each fault happens in a [`FaultPhase`]: *before* handling (the request is rejected, nothing is
//! written) or *after* handling (the write is done, then the response is lost, broken or late). The
//! after-phase faults on writes are the realistic hard case for clients: an error although the write
//! happened. Rejections that a server only gives before doing anything (429, 5xx, an HTML page) are
//! always injected before handling.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// 429 with an integer `Retry-After` and the vendor's rate-limit headers. Retrying before the
    /// period is over fails again with the same `Retry-After`.
    RateLimited,
    /// 500, 502 or 503 (503 with `Retry-After`).
    ServerError,
    /// The connection is dropped mid-response: headers with a `Content-Length`, then part of the body.
    Reset,
    /// No response for [`FaultSpec::hang`] (then a 504 before handling, or the real response after).
    Hang,
    /// A 200 whose JSON body is truncated.
    MalformedJson,
    /// A 200 `text/html` page (a hibernating instance, a login or maintenance page).
    HtmlPage,
}

impl FaultKind {
    /// Every kind, in a fixed order.
    pub const ALL: [FaultKind; 6] = [
        FaultKind::RateLimited,
        FaultKind::ServerError,
        FaultKind::Reset,
        FaultKind::Hang,
        FaultKind::MalformedJson,
        FaultKind::HtmlPage,
    ];

    /// The name used in the spec syntax and in [`crate::log::LogEntry::fault`]:
    /// `429`, `5xx`, `reset`, `hang`, `badjson`, `html`.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::RateLimited => "429",
            FaultKind::ServerError => "5xx",
            FaultKind::Reset => "reset",
            FaultKind::Hang => "hang",
            FaultKind::MalformedJson => "badjson",
            FaultKind::HtmlPage => "html",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FaultKind {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "429" | "ratelimit" | "rate-limited" | "ratelimited" => FaultKind::RateLimited,
            "5xx" | "500" | "server-error" | "servererror" => FaultKind::ServerError,
            "reset" => FaultKind::Reset,
            "hang" => FaultKind::Hang,
            "badjson" | "bad-json" | "malformed-json" | "malformedjson" => FaultKind::MalformedJson,
            "html" | "hibernate" | "htmlpage" => FaultKind::HtmlPage,
            other => return Err(FaultSpecError::UnknownKind(other.to_owned())),
        })
    }
}

/// When a fault strikes relative to the real handling of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultPhase {
    /// The request is answered by the fault; the handler never runs (nothing is written).
    BeforeHandling,
    /// The handler ran (a write happened); then the response is lost, broken or late.
    AfterHandling,
}

impl FaultPhase {
    /// `before handling` or `after handling`.
    pub fn name(self) -> &'static str {
        match self {
            FaultPhase::BeforeHandling => "before handling",
            FaultPhase::AfterHandling => "after handling",
        }
    }
}

/// What to inject. `Default` injects nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Seed of the fault decisions (same seed and same request sequence, same faults).
    pub seed: u64,
    /// Share of requests, 0..=1, that get a fault of one of `kinds`.
    pub rate: f64,
    /// The kinds to choose from (uniformly).
    pub kinds: Vec<FaultKind>,
    /// Added to every request.
    pub latency: Duration,
    /// A server-side token bucket: (tokens per second, burst). Requests finding it empty get 429.
    pub server_rate_limit: Option<(f64, u32)>,
    /// How long a hang lasts.
    pub hang: Duration,
    /// The `Retry-After` (seconds) of an injected 429 or 503.
    pub retry_after: u64,
}

impl Default for FaultSpec {
    fn default() -> Self {
        FaultSpec {
            seed: 0,
            rate: 0.0,
            kinds: FaultKind::ALL.to_vec(),
            latency: Duration::ZERO,
            server_rate_limit: None,
            hang: Duration::from_secs(60),
            retry_after: 1,
        }
    }
}

/// A fault spec that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultSpecError {
    #[error("fault spec: `{0}` is not key=value")]
    NotKeyValue(String),
    #[error("fault spec: unknown key `{0}` (expected rate, kinds, latency, seed, limit, hang, retry-after)")]
    UnknownKey(String),
    #[error("fault spec: unknown fault kind `{0}` (expected 429, 5xx, reset, hang, badjson, html)")]
    UnknownKind(String),
    #[error("fault spec: bad value `{value}` for `{key}`: {reason}")]
    BadValue { key: String, value: String, reason: &'static str },
}

impl FaultSpec {
    /// Parses the CLI syntax: comma-separated `key=value` pairs, e.g.
    /// `rate=0.2,kinds=429+5xx+reset+hang+badjson+html,latency=20ms,seed=7,limit=10/20,hang=30s,retry-after=2`.
    ///
    /// Keys: `rate` (0..=1), `kinds` (`+`-separated [`FaultKind::name`]s; default all), `latency`, `hang`
    /// (durations `250ms`, `2s`, `1.5s`, `500us`, or plain milliseconds), `seed`, `limit` (`per_second/burst`),
    /// `retry-after` (seconds). An empty string or `none` is the default (no faults).
    pub fn parse(spec: &str) -> Result<FaultSpec, FaultSpecError> {
        let mut out = FaultSpec::default();
        let spec = spec.trim();
        if spec.is_empty() || spec.eq_ignore_ascii_case("none") {
            return Ok(out);
        }
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').ok_or_else(|| FaultSpecError::NotKeyValue(pair.to_owned()))?;
            let (key, value) = (key.trim(), value.trim());
            let bad = |reason| FaultSpecError::BadValue { key: key.to_owned(), value: value.to_owned(), reason };
            match key {
                "rate" => {
                    let rate: f64 = value.parse().map_err(|_| bad("expected a number"))?;
                    if !(0.0..=1.0).contains(&rate) {
                        return Err(bad("must be between 0 and 1"));
                    }
                    out.rate = rate;
                }
                "kinds" => {
                    out.kinds = value.split('+').map(str::parse).collect::<Result<_, _>>()?;
                }
                "latency" => out.latency = parse_duration(value).ok_or_else(|| bad("expected a duration"))?,
                "hang" => out.hang = parse_duration(value).ok_or_else(|| bad("expected a duration"))?,
                "seed" => out.seed = value.parse().map_err(|_| bad("expected an unsigned integer"))?,
                "retry-after" | "retry_after" => {
                    out.retry_after = value.parse().map_err(|_| bad("expected whole seconds"))?;
                }
                "limit" => {
                    let (rate, burst) = value.split_once('/').ok_or_else(|| bad("expected per_second/burst"))?;
                    let rate: f64 = rate.trim().parse().map_err(|_| bad("expected a number per second"))?;
                    let burst: u32 = burst.trim().parse().map_err(|_| bad("expected an integer burst"))?;
                    if rate <= 0.0 || !rate.is_finite() || burst == 0 {
                        return Err(bad("rate and burst must be positive"));
                    }
                    out.server_rate_limit = Some((rate, burst));
                }
                other => return Err(FaultSpecError::UnknownKey(other.to_owned())),
            }
        }
        Ok(out)
    }
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FaultSpec::parse(s)
    }
}

/// Parses `250ms`, `2s`, `1.5s`, `500us`, `1m` or plain milliseconds.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "ms" => number / 1000.0,
        "s" => number,
        "us" | "µs" => number / 1_000_000.0,
        "m" | "min" => number * 60.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

/// A fault to inject into one specific upcoming request, regardless of `rate` (for tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injection {
    pub kind: FaultKind,
    pub phase: FaultPhase,
    /// Only a request with this method (case-insensitive) matches; `None` = any.
    pub method: Option<String>,
    /// Only a request whose path contains this matches; `None` = any.
    pub path_contains: Option<String>,
}

impl Injection {
    /// A fault for the next request, whatever it is.
    pub fn next(kind: FaultKind, phase: FaultPhase) -> Self {
        Injection { kind, phase, method: None, path_contains: None }
    }

    /// A fault for the next request with this method.
    pub fn next_with_method(kind: FaultKind, phase: FaultPhase, method: &str) -> Self {
        Injection { kind, phase, method: Some(method.to_owned()), path_contains: None }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path_contains.as_ref().is_none_or(|p| path.contains(p.as_str()))
    }
}

/// Details of a 429 for the vendor's headers.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitInfo {
    /// Whole seconds to wait.
    pub retry_after: u64,
    /// The budget: the token bucket's burst, or a nominal budget for injected 429s.
    pub limit: u64,
    /// Tokens left (0 when limited).
    pub remaining: u64,
    /// When the budget resets.
    pub reset_at: chrono::DateTime<chrono::Utc>,
    /// Whether the server-side token bucket (rather than an injected fault) produced it.
    pub from_token_bucket: bool,
}

/// A fault chosen for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedFault {
    pub kind: FaultKind,
    pub phase: FaultPhase,
    /// For [`FaultKind::ServerError`]: 500, 502 or 503.
    pub status: u16,
    /// For [`FaultKind::RateLimited`] (and 503): the rate-limit details.
    pub rate_limit: Option<RateLimitInfo>,
    /// For [`FaultKind::Hang`]: how long.
    pub hang: Duration,
}

impl PlannedFault {
    /// The text logged in [`crate::log::LogEntry::fault`], e.g. `reset (after handling)` or
    /// `5xx 503 (before handling)`.
    pub fn describe(&self) -> String {
        match self.kind {
            FaultKind::ServerError => format!("5xx {} ({})", self.status, self.phase.name()),
            kind => format!("{kind} ({})", self.phase.name()),
        }
    }
}

/// What the HTTP layer should do with one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Latency to add before anything else.
    pub latency: Duration,
    /// Set when the server-side token bucket is empty: answer 429 (logged as `server-rate-limit`).
    pub throttled: Option<RateLimitInfo>,
    /// A fault to inject.
    pub fault: Option<PlannedFault>,
}

/// The text logged for a request refused by the server-side token bucket.
pub const THROTTLED_LOG: &str = "server-rate-limit (before handling)";

/// The nominal budget reported on injected 429s (requests per window).
const NOMINAL_LIMIT: u64 = 100;

struct TokenBucket {
    per_second: f64,
    burst: u32,
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    fn new(per_second: f64, burst: u32) -> Self {
        TokenBucket { per_second, burst, tokens: f64::from(burst), refilled: Instant::now() }
    }

    /// Takes a token, or says how long until one is available.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(f64::from(self.burst));
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.per_second))
        }
    }
}

struct FaultState {
    spec: FaultSpec,
    rng: ChaCha8Rng,
    bucket: Option<TokenBucket>,
    /// After an injected 429: requests before this instant get 429 again.
    penalty_until: Option<Instant>,
    injections: VecDeque<Injection>,
}

impl FaultState {
    fn new(spec: FaultSpec) -> Self {
        FaultState {
            rng: ChaCha8Rng::seed_from_u64(spec.seed),
            bucket: spec.server_rate_limit.map(|(rate, burst)| TokenBucket::new(rate, burst)),
            penalty_until: None,
            injections: VecDeque::new(),
            spec,
        }
    }
}

/// The runtime fault handle: cheap to clone, shared by a simulator and its tests.
#[derive(Clone)]
pub struct Faults {
    state: Arc<Mutex<FaultState>>,
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Faults").field("spec", &self.lock().spec).finish()
    }
}

impl Default for Faults {
    fn default() -> Self {
        Faults::new(FaultSpec::default())
    }
}

impl Faults {
    /// A handle injecting `spec`.
    pub fn new(spec: FaultSpec) -> Self {
        Faults { state: Arc::new(Mutex::new(FaultState::new(spec))) }
    }

    fn lock(&self) -> MutexGuard<'_, FaultState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replaces the spec; the random sequence restarts from the new seed, the bucket refills, and pending
    /// penalties and injections are dropped.
    pub fn set(&self, spec: FaultSpec) {
        *self.lock() = FaultState::new(spec);
    }

    /// Stops injecting anything (same as `set(FaultSpec::default())`).
    pub fn clear(&self) {
        self.set(FaultSpec::default());
    }

    /// The current spec.
    pub fn spec(&self) -> FaultSpec {
        self.lock().spec.clone()
    }

    /// The latency added to every request.
    pub fn latency(&self) -> Duration {
        self.lock().spec.latency
    }

    /// Queues a fault for the next request that matches it (queued injections apply in order).
    pub fn inject(&self, injection: Injection) {
        self.lock().injections.push_back(injection);
    }

    /// Decides the fate of one request. Draws the same amount of randomness for every request, so the
    /// faults of a sequential request sequence depend only on the seed.
    pub fn decide(&self, method: &str, path: &str) -> Decision {
        let now = Instant::now();
        let mut state = self.lock();
        let state = &mut *state;
        let draws: [f64; 4] = [state.rng.random(), state.rng.random(), state.rng.random(), state.rng.random()];
        let spec = &state.spec;
        let latency = spec.latency;
        let write = crate::log::is_write_method(method);

        if let Some(bucket) = state.bucket.as_mut()
            && let Err(wait) = bucket.take(now)
        {
            let retry_after = wait.as_secs_f64().ceil().max(1.0) as u64;
            let throttled = RateLimitInfo {
                retry_after,
                limit: u64::from(bucket.burst),
                remaining: 0,
                reset_at: chrono::Utc::now() + wait,
                from_token_bucket: true,
            };
            return Decision { latency, throttled: Some(throttled), fault: None };
        }

        let position = state.injections.iter().position(|i| i.matches(method, path));
        let injected = position.and_then(|p| state.injections.remove(p)).map(|i| (i.kind, i.phase));
        let penalised = state.penalty_until.is_some_and(|until| now < until);
        let chosen = injected.or_else(|| {
            if penalised {
                Some((FaultKind::RateLimited, FaultPhase::BeforeHandling))
            } else if draws[0] < spec.rate && !spec.kinds.is_empty() {
                let kind = spec.kinds[((draws[1] * spec.kinds.len() as f64) as usize).min(spec.kinds.len() - 1)];
                Some((kind, natural_phase(kind, write, draws[2])))
            } else {
                None
            }
        });
        let fault = chosen.map(|(kind, phase)| {
            let (status, rate_limit) = match kind {
                FaultKind::RateLimited => {
                    state.penalty_until = Some(now + Duration::from_secs(spec.retry_after));
                    (429, Some(nominal_rate_limit(spec.retry_after)))
                }
                FaultKind::ServerError => match (draws[3] * 3.0) as u8 {
                    0 => (500, None),
                    1 => (502, None),
                    _ => (503, Some(nominal_rate_limit(spec.retry_after))),
                },
                FaultKind::HtmlPage | FaultKind::MalformedJson => (200, None),
                FaultKind::Reset => (200, None),
                FaultKind::Hang => (504, None),
            };
            PlannedFault { kind, phase, status, rate_limit, hang: spec.hang }
        });
        Decision { latency, throttled: None, fault }
    }
}

fn nominal_rate_limit(retry_after: u64) -> RateLimitInfo {
    RateLimitInfo {
        retry_after,
        limit: NOMINAL_LIMIT,
        remaining: 0,
        reset_at: chrono::Utc::now() + Duration::from_secs(retry_after.max(1)),
        from_token_bucket: false,
    }
}

/// The phase a randomly chosen fault strikes in. Rejections come before handling; a truncated JSON body
/// is a broken real response; resets and hangs hit writes before or after handling with equal odds.
fn natural_phase(kind: FaultKind, write: bool, draw: f64) -> FaultPhase {
    match kind {
        FaultKind::RateLimited | FaultKind::ServerError | FaultKind::HtmlPage => FaultPhase::BeforeHandling,
        FaultKind::MalformedJson => FaultPhase::AfterHandling,
        FaultKind::Reset if !write => FaultPhase::AfterHandling,
        FaultKind::Hang if !write => FaultPhase::BeforeHandling,
        FaultKind::Reset | FaultKind::Hang => {
            if draw < 0.5 {
                FaultPhase::BeforeHandling
            } else {
                FaultPhase::AfterHandling
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_cli_syntax() {
        let spec =
            FaultSpec::parse("rate=0.2,kinds=429+5xx+reset+hang+badjson+html,latency=20ms,seed=7,limit=10/20").unwrap();
        assert_eq!(spec.rate, 0.2);
        assert_eq!(spec.kinds, FaultKind::ALL.to_vec());
        assert_eq!(spec.latency, Duration::from_millis(20));
        assert_eq!(spec.seed, 7);
        assert_eq!(spec.server_rate_limit, Some((10.0, 20)));
        let spec = FaultSpec::parse("kinds=reset,hang=1.5s,retry-after=3").unwrap();
        assert_eq!(spec.kinds, vec![FaultKind::Reset]);
        assert_eq!(spec.hang, Duration::from_millis(1500));
        assert_eq!(spec.retry_after, 3);
        assert_eq!(FaultSpec::parse("none").unwrap(), FaultSpec::default());
    }

    #[test]
    fn rejects_bad_specs() {
        assert!(matches!(FaultSpec::parse("rate"), Err(FaultSpecError::NotKeyValue(_))));
        assert!(matches!(FaultSpec::parse("speed=1"), Err(FaultSpecError::UnknownKey(_))));
        assert!(matches!(FaultSpec::parse("kinds=fire"), Err(FaultSpecError::UnknownKind(_))));
        assert!(matches!(FaultSpec::parse("rate=2"), Err(FaultSpecError::BadValue { .. })));
        assert!(matches!(FaultSpec::parse("limit=0/5"), Err(FaultSpecError::BadValue { .. })));
        assert!(matches!(FaultSpec::parse("latency=fast"), Err(FaultSpecError::BadValue { .. })));
    }

    fn kinds_for(seed: u64) -> Vec<Option<FaultKind>> {
        // Without 429s: an injected 429 makes every early retry a 429 too.
        let kinds = FaultKind::ALL[1..].to_vec();
        let faults = Faults::new(FaultSpec { seed, rate: 0.5, kinds, ..FaultSpec::default() });
        (0..64).map(|_| faults.decide("GET", "/x").fault.map(|f| f.kind)).collect()
    }

    #[test]
    fn decisions_are_deterministic_from_the_seed() {
        assert_eq!(kinds_for(7), kinds_for(7));
        assert_ne!(kinds_for(7), kinds_for(8));
        let hits = kinds_for(7).iter().filter(|k| k.is_some()).count();
        assert!((16..=48).contains(&hits), "{hits} of 64 at rate 0.5");
    }

    #[test]
    fn an_injected_429_penalises_early_retries() {
        let faults = Faults::new(FaultSpec { retry_after: 30, ..FaultSpec::default() });
        faults.inject(Injection::next_with_method(FaultKind::RateLimited, FaultPhase::BeforeHandling, "get"));
        assert!(faults.decide("POST", "/x").fault.is_none(), "the injection waits for a GET");
        let first = faults.decide("GET", "/x").fault.unwrap();
        assert_eq!(first.status, 429);
        let again = faults.decide("POST", "/x").fault.unwrap();
        assert_eq!((again.kind, again.rate_limit.unwrap().retry_after), (FaultKind::RateLimited, 30));
        faults.clear();
        assert!(faults.decide("GET", "/x").fault.is_none());
    }

    #[test]
    fn the_token_bucket_refuses_excess_requests() {
        let faults = Faults::new(FaultSpec { server_rate_limit: Some((1.0, 3)), ..FaultSpec::default() });
        let throttled = (0..5).filter(|_| faults.decide("GET", "/x").throttled.is_some()).count();
        assert_eq!(throttled, 2);
    }

    #[test]
    fn random_faults_on_writes_use_realistic_phases() {
        assert_eq!(natural_phase(FaultKind::ServerError, true, 0.9), FaultPhase::BeforeHandling);
        assert_eq!(natural_phase(FaultKind::MalformedJson, true, 0.1), FaultPhase::AfterHandling);
        assert_eq!(natural_phase(FaultKind::Reset, true, 0.9), FaultPhase::AfterHandling);
        assert_eq!(natural_phase(FaultKind::Reset, true, 0.1), FaultPhase::BeforeHandling);
    }
}
