//! The pull loop: for every tracker and every scope of it (all concurrently, each scope its own stream),
//! read the cursor, pull pages of changed items and commit each page together with the advanced cursor,
//! atomically, to the mirror.
//!
//! A crash between pages loses nothing: the next run resumes from the last committed cursor, and the
//! cursor's dedupe drops what was already stored.
//!
//! The pages of one scope are pipelined: the request for page *n + 1* is sent before page *n* is
//! committed, so the commit hides behind the network round trip. At most one page is in flight ahead of
//! the mirror, and the cursor a commit stores never runs ahead of the items it commits.

use std::pin::pin;
use std::sync::{Mutex, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::future::join_all;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use twotrack_api::{Connector, ConnectorError, Cursor};

use crate::mirror::{Mirror, MirrorError, PageOutcome, SyncRecord};
use crate::registry::{AnyConnector, Registry};

/// What to sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Only this tracker.
    pub tracker: Option<String>,
    /// Forget the cursors and pull everything again.
    pub full: bool,
    /// Draw progress bars (on a terminal).
    pub progress: bool,
}

/// The outcome for one tracker.
#[derive(Debug, Clone)]
pub struct TrackerSync {
    pub tracker: String,
    pub pulled: usize,
    pub new: usize,
    pub changed: usize,
    pub pages: usize,
    pub duration: Duration,
    pub error: Option<String>,
}

impl TrackerSync {
    fn named(tracker: &str) -> TrackerSync {
        TrackerSync {
            tracker: tracker.to_string(),
            pulled: 0,
            new: 0,
            changed: 0,
            pages: 0,
            duration: Duration::ZERO,
            error: None,
        }
    }

    fn add_page(&mut self, pulled: usize, outcome: PageOutcome) {
        self.pages += 1;
        self.pulled += pulled;
        self.new += outcome.new;
        self.changed += outcome.changed;
    }
}

/// Errors that stop one tracker's sync.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    /// Some scopes of the tracker failed, for different reasons (the others were pulled).
    #[error("{}", scope_failures(.0))]
    Scopes(Vec<(String, SyncError)>),
}

/// "incident, problem: <why>; sc_req_item: <why>": the failed scopes grouped by what went wrong.
fn scope_failures(failed: &[(String, SyncError)]) -> String {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for (scope, e) in failed {
        let why = e.to_string();
        match groups.iter_mut().find(|(w, _)| *w == why) {
            Some((_, scopes)) => scopes.push(scope),
            None => groups.push((why, vec![scope])),
        }
    }
    groups.iter().map(|(why, scopes)| format!("{}: {why}", scopes.join(", "))).collect::<Vec<_>>().join("; ")
}

/// Sync every selected tracker concurrently; one failing tracker does not stop the others.
pub async fn sync_all(registry: &Registry, mirror: &Mirror, opts: &SyncOptions) -> Vec<TrackerSync> {
    let bars = if opts.progress { Some(MultiProgress::new()) } else { None };
    let runs = registry.iter().filter(|(name, _)| opts.tracker.as_deref().is_none_or(|t| t == *name)).map(
        |(name, connector)| {
            let bar = bars.as_ref().map(|m| {
                let bar = m.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:12} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(name.to_string());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            });
            async move {
                let result = sync_tracker(connector, mirror, opts.full, bar.as_ref()).await;
                if let Some(bar) = &bar {
                    bar.finish_and_clear();
                }
                result
            }
        },
    );
    join_all(runs).await
}

/// Sync one tracker: every scope, page by page.
pub async fn sync_tracker(
    connector: &AnyConnector,
    mirror: &Mirror,
    full: bool,
    bar: Option<&ProgressBar>,
) -> TrackerSync {
    let name = connector.name().to_string();
    let started = Instant::now();
    let mut out = TrackerSync::named(&name);
    let result = sync_scopes(connector, mirror, full, bar, &mut out).await;
    out.duration = started.elapsed();
    if let Err(e) = &result {
        out.error = Some(e.to_string());
    }
    metrics::counter!("twotrack_items_pulled_total", "tracker" => name.clone()).increment(out.pulled as u64);
    metrics::histogram!("twotrack_sync_seconds", "tracker" => name.clone()).record(out.duration.as_secs_f64());
    let record = SyncRecord {
        at: Utc::now(),
        pulled: out.pulled as u64,
        new: out.new as u64,
        changed: out.changed as u64,
        ok: result.is_ok(),
        error: out.error.clone(),
    };
    if let Err(e) = mirror.record_sync(&name, &record) {
        tracing::warn!(tracker = %name, error = %e, "could not record the sync outcome");
    }
    match &result {
        Ok(()) => tracing::debug!(tracker = %name, pulled = out.pulled, new = out.new, changed = out.changed, "synced"),
        Err(e) => tracing::error!(tracker = %name, error = %e, "sync failed"),
    }
    out
}

async fn sync_scopes(
    connector: &AnyConnector,
    mirror: &Mirror,
    full: bool,
    bar: Option<&ProgressBar>,
    out: &mut TrackerSync,
) -> Result<(), SyncError> {
    let name = connector.name().to_string();
    if full {
        mirror.reset_cursors(&name)?;
    }
    // Every scope is its own stream (its own cursor and pages), so they run side by side; they share
    // the connector's HTTP client and with it the tracker's rate limiter. A failing scope stops only itself.
    let shared = Mutex::new(std::mem::replace(out, TrackerSync::named(&name)));
    let scopes = connector.scopes();
    let results = join_all(scopes.iter().map(|scope| sync_scope(connector, mirror, &name, scope, bar, &shared))).await;
    *out = shared.into_inner().unwrap_or_else(PoisonError::into_inner);
    let failed = scopes.iter().zip(results).filter_map(|(scope, r)| r.err().map(|e| (scope.to_string(), e)));
    let outcome = outcome(scopes.len(), failed.collect());
    // What the scopes that succeeded pulled is made durable either way.
    mirror.flush()?;
    outcome
}

/// The outcome of a tracker whose `failed` scopes (of `scopes`) failed: where every scope failed for the
/// same reason (credentials, an unreachable server), that reason alone; otherwise each failed scope with
/// its own (the others were pulled).
fn outcome(scopes: usize, mut failed: Vec<(String, SyncError)>) -> Result<(), SyncError> {
    let same = failed.windows(2).all(|w| w[0].1.to_string() == w[1].1.to_string());
    match failed.len() {
        0 => Ok(()),
        n if n == scopes && same => Err(failed.swap_remove(0).1),
        _ => Err(SyncError::Scopes(failed)),
    }
}

/// Pull one scope to its end, page by page, each page committed with its cursor.
async fn sync_scope(
    connector: &AnyConnector,
    mirror: &Mirror,
    name: &str,
    scope: &str,
    bar: Option<&ProgressBar>,
    out: &Mutex<TrackerSync>,
) -> Result<(), SyncError> {
    let mut cursor: Cursor = mirror.cursor(name, scope)?.unwrap_or_default();
    let mut page = connector.pull_page(scope, &cursor, None).await?;
    loop {
        for item in &page.items {
            cursor.advance(item);
        }
        // Ask for the next page (with the cursor advanced over this one, as the connectors expect)
        // before committing this one: the first poll sends the request, the commit runs while it travels.
        let next = {
            let mut next = pin!(async {
                match &page.next {
                    Some(token) => Some(connector.pull_page(scope, &cursor, Some(token)).await),
                    None => None,
                }
            });
            let early = futures::poll!(next.as_mut());
            let outcome = mirror.apply_page(name, scope, &page.items, &cursor)?;
            {
                let mut out = out.lock().unwrap_or_else(PoisonError::into_inner);
                out.add_page(page.items.len(), outcome);
                if let Some(bar) = bar {
                    bar.set_message(format!(
                        "{scope}: {} pulled, {} new, {} changed",
                        out.pulled, out.new, out.changed
                    ));
                }
            }
            match early {
                Poll::Ready(next) => next,
                Poll::Pending => next.await,
            }
        };
        match next {
            Some(next) => page = next?,
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(scope: &str, why: &str) -> (String, SyncError) {
        let e = ConnectorError::Invalid { tracker: "servicenow".into(), message: why.into() };
        (scope.to_string(), SyncError::Connector(e))
    }

    #[test]
    fn every_failed_scope_is_named_and_one_shared_reason_said_once() {
        assert!(outcome(3, Vec::new()).is_ok());
        let all_alike = outcome(2, vec![failed("incident", "denied"), failed("problem", "denied")]).unwrap_err();
        assert_eq!(all_alike.to_string(), "servicenow: denied");
        let some = outcome(
            4,
            vec![failed("incident", "denied"), failed("problem", "denied"), failed("change_request", "gone")],
        )
        .unwrap_err();
        assert_eq!(some.to_string(), "incident, problem: servicenow: denied; change_request: servicenow: gone");
        let one_of_many = outcome(6, vec![failed("sc_req_item", "denied")]).unwrap_err();
        assert_eq!(one_of_many.to_string(), "sc_req_item: servicenow: denied");
    }
}
