//! `config check --online`: connect to every tracker and check its credentials.
//!
//! One line per tracker: `OK` with the server and the account the credentials belong to (from
//! [`Connector::health`]), or `FAILED` with what went wrong and what to check. Trackers are checked
//! concurrently; a failing one does not hide the others. Tokens never appear: the connectors' errors
//! carry the vendor's message and the tracker name, never a credential.

use super::output::outln;
use futures::future::join_all;
use twotrack_api::connector::Health;
use twotrack_api::{Connector, ConnectorError};

use crate::config::{Config, TrackerConfig};
use crate::registry::AnyConnector;

/// Retries for a health check: enough to ride out one transient failure, few enough that an unreachable
/// tracker is reported in seconds rather than after the full retry budget of a sync.
const CHECK_RETRIES: u32 = 1;

/// Check every tracker, printing one line each. Returns whether all of them answered and accepted the
/// credentials.
pub async fn check_online(config: &Config) -> anyhow::Result<bool> {
    let outcomes = join_all(config.trackers.iter().map(check_tracker)).await;
    let mut all_ok = true;
    for (tracker, outcome) in config.trackers.iter().zip(outcomes) {
        all_ok &= outcome.is_ok();
        outln!("{}", line(tracker, &outcome));
    }
    Ok(all_ok)
}

async fn check_tracker(tracker: &TrackerConfig) -> Result<Health, ConnectorError> {
    let mut tracker = tracker.clone();
    tracker.max_retries = tracker.max_retries.min(CHECK_RETRIES);
    AnyConnector::build(&tracker)?.health().await
}

/// `jira           OK      Jira Cloud 1001.0.0 as Twotrack Integration` or
/// `jira           FAILED  authentication failed (HTTP 401): ... Check ...`.
fn line(tracker: &TrackerConfig, outcome: &Result<Health, ConnectorError>) -> String {
    match outcome {
        Ok(health) => format!("{:<14} OK      {} as {}", tracker.name, health.server, health.account),
        Err(error) => format!("{:<14} FAILED  {}", tracker.name, advice(tracker, error)),
    }
}

/// What went wrong, without the tracker-name prefix the line already shows, and what to check.
fn advice(tracker: &TrackerConfig, error: &ConnectorError) -> String {
    let url = tracker.base_url.as_str().trim_end_matches('/');
    match error {
        ConnectorError::Auth { status, message, .. } => format!(
            "{url} refused the credentials (HTTP {status}: {message}). Check `user` and the token in [tracker.auth] \
             (is it current, for this account, allowed to use the REST API and to read the configured scope?)"
        ),
        ConnectorError::Transient { message, .. } => format!(
            "cannot reach {url}: {message}. Check `base_url`, the network path to it (DNS, proxy, firewall, VPN) \
             and that the tracker is up; [tracker.timeouts] if it is merely slow"
        ),
        ConnectorError::RateLimited { .. } => {
            format!("{url} rate-limits this account right now. Try again later, or lower [tracker.rate] if it persists")
        }
        ConnectorError::NotFound { what, .. } => format!(
            "{url} has no such API ({what}). Check `base_url`{}",
            if tracker.kind == twotrack_api::TrackerKind::Jira {
                " and `flavour` (cloud uses /rest/api/3, datacenter /rest/api/2)"
            } else {
                " (the instance URL, without a path) and that the account may read the configured tables"
            }
        ),
        // The connectors already say what to fix in these (a flavour mismatch, an HTML page instead of JSON).
        ConnectorError::Invalid { message, .. } => message.clone(),
        ConnectorError::Unknown { .. } => error.to_string(),
    }
}
