//! The request log: every request a simulator answered, for tests to assert on (counts, exactly-once
//! writes, the observed request rate).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One answered request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The URL path, e.g. `/api/now/table/incident`.
    pub path: String,
    /// The raw query string without `?` (empty when none).
    pub query: String,
    /// The status the simulator sent (for a reset connection: the status of the headers it started to send;
    /// 499 when the client gave up before the response was ready, e.g. during a hang).
    pub status: u16,
    /// When the request arrived.
    pub at: Instant,
    /// How long the simulator took to produce the response (including injected latency and hangs).
    pub elapsed: Duration,
    /// The fault injected, e.g. `"reset (after handling)"`; see [`crate::faults::FaultKind::name`].
    pub fault: Option<String>,
    /// The request body of writes (POST, PUT, PATCH, DELETE), lossily decoded as UTF-8.
    pub body: Option<String>,
}

impl LogEntry {
    /// Whether this request is a write (POST, PUT, PATCH or DELETE).
    pub fn is_write(&self) -> bool {
        is_write_method(&self.method)
    }
}

/// Whether an HTTP method changes state.
pub(crate) fn is_write_method(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
}

/// A cheap-clone, thread-safe request log shared by a simulator and its tests.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    entries: Arc<Mutex<Vec<LogEntry>>>,
}

impl RequestLog {
    /// An empty log.
    pub fn new() -> Self {
        RequestLog::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<LogEntry>> {
        // A panic while holding the lock cannot leave the Vec half-written: keep using it.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends an entry.
    pub fn record(&self, entry: LogEntry) {
        self.lock().push(entry);
    }

    /// All entries in the order the responses were produced.
    pub fn entries(&self) -> Vec<LogEntry> {
        self.lock().clone()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// How many requests had this method (case-insensitive) and a path starting with `path_prefix`.
    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        self.lock().iter().filter(|e| e.method.eq_ignore_ascii_case(method) && e.path.starts_with(path_prefix)).count()
    }

    /// The writes (POST, PUT, PATCH, DELETE), in order.
    pub fn writes(&self) -> Vec<LogEntry> {
        self.lock().iter().filter(|e| e.is_write()).cloned().collect()
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The largest number of requests that arrived within any window of length `window`
    /// (arrival times `t` with `first <= t < first + window`).
    pub fn max_requests_in_window(&self, window: Duration) -> usize {
        let mut arrivals: Vec<Instant> = self.lock().iter().map(|e| e.at).collect();
        arrivals.sort_unstable();
        let mut best = 0;
        let mut start = 0;
        for end in 0..arrivals.len() {
            while arrivals[end].duration_since(arrivals[start]) >= window {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: &str, path: &str, at: Instant) -> LogEntry {
        LogEntry {
            method: method.into(),
            path: path.into(),
            query: String::new(),
            status: 200,
            at,
            elapsed: Duration::ZERO,
            fault: None,
            body: None,
        }
    }

    #[test]
    fn counts_filters_and_clears() {
        let log = RequestLog::new();
        let now = Instant::now();
        log.record(entry("GET", "/api/now/table/incident", now));
        log.record(entry("POST", "/api/now/table/incident", now));
        log.record(entry("PATCH", "/api/now/table/rm_story/abc", now));
        assert_eq!(log.count("get", "/api/now/table/"), 1);
        assert_eq!(log.count("POST", "/api/now/table/incident"), 1);
        assert_eq!(log.count("POST", "/rest"), 0);
        assert_eq!(log.writes().len(), 2);
        log.clear();
        assert!(log.is_empty());
    }

    #[test]
    fn finds_the_busiest_window() {
        let log = RequestLog::new();
        let t0 = Instant::now();
        for ms in [0, 10, 20, 500, 990, 1000, 1005, 1010] {
            log.record(entry("GET", "/", t0 + Duration::from_millis(ms)));
        }
        // [20, 1020) holds 20, 500, 990, 1000, 1005, 1010.
        assert_eq!(log.max_requests_in_window(Duration::from_secs(1)), 6);
        assert_eq!(log.max_requests_in_window(Duration::from_millis(30)), 4);
        assert_eq!(RequestLog::new().max_requests_in_window(Duration::from_secs(1)), 0);
    }
}
