//! Typed connector errors: whether to retry is a property of the type, not of a message.

use std::time::Duration;

/// Everything that can go wrong talking to a tracker.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// 401/403: the credentials are wrong, expired or lack a permission. Not retryable.
    #[error(
        "{tracker}: authentication failed (HTTP {status}): {}. Check the user and token in the tracker's [tracker.auth] section, and that the account may use the REST API",
        message.trim_end_matches('.')
    )]
    Auth { tracker: String, status: u16, message: String },
    /// 404: the item (or the endpoint) does not exist or is not visible to this account.
    #[error("{tracker}: not found: {what}")]
    NotFound { tracker: String, what: String },
    /// 429 that outlived the retry budget.
    #[error("{tracker}: rate limited by the tracker{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited { tracker: String, retry_after: Option<Duration> },
    /// Timeouts, resets, 5xx, truncated bodies: retryable, and retried by the HTTP layer before surfacing.
    #[error("{tracker}: temporary failure: {message}")]
    Transient { tracker: String, message: String },
    /// The tracker rejected the request (400, 410, ...) or answered something we cannot read
    /// (a shape we do not know). Not retryable. (An HTML page where JSON was expected, e.g. a hibernating
    /// instance, is Transient and retried.)
    #[error("{tracker}: {message}")]
    Invalid { tracker: String, message: String },
    /// A write may or may not have happened (the connection died after sending a POST).
    /// Callers must read the target before trying again; the HTTP layer never re-sends it.
    #[error("{tracker}: outcome unknown for {what}: {message}")]
    Unknown { tracker: String, what: String, message: String },
}

impl ConnectorError {
    /// Whether trying the same request again later could succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ConnectorError::RateLimited { .. } | ConnectorError::Transient { .. })
    }

    /// The configured tracker name this error is about.
    pub fn tracker(&self) -> &str {
        match self {
            ConnectorError::Auth { tracker, .. }
            | ConnectorError::NotFound { tracker, .. }
            | ConnectorError::RateLimited { tracker, .. }
            | ConnectorError::Transient { tracker, .. }
            | ConnectorError::Invalid { tracker, .. }
            | ConnectorError::Unknown { tracker, .. } => tracker,
        }
    }
}
