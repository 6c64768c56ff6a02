//! The daemon's three jobs, and the wrapper every run of one goes through.
//!
//! - **sync** pulls every tracker that is not backing off, concurrently: one failing tracker backs off on
//!   its own ([`TrackerHealth`]) while the others keep syncing. After a sync the mirror is audited (in a
//!   blocking thread) to refresh the verdict and finding gauges.
//! - **apply** plans corrections from the mirror and, unless `policy.dry_run`, carries them out
//!   ([`crate::outbox::cycle`]). Failed corrections stay in the outbox and make the run a failure, so the
//!   job backs off.
//! - **followback** comments on originals whose twins were resolved (never in dry run).
//!
//! [`run`] opens a `job` span carrying the job name and a per-process run number (every event of the
//! run, the saga's included, carries both in JSON logs), then records the run's duration and outcome
//! and exports the connectors' HTTP counters.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::future::join_all;
use tracing::Instrument;

use super::schedule::{Schedule, backoff};
use super::{Live, State, telemetry};
use crate::config::ScheduleConfig;
use crate::outbox::OutboxError;
use crate::report::storm::StormRow;
use crate::sync::sync_tracker;

/// One of the daemon's jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Sync,
    Apply,
    FollowBack,
}

impl Job {
    /// In the order of one full cycle.
    pub const ALL: [Job; 3] = [Job::Sync, Job::Apply, Job::FollowBack];

    pub fn name(self) -> &'static str {
        match self {
            Job::Sync => "sync",
            Job::Apply => "apply",
            Job::FollowBack => "followback",
        }
    }

    /// This job's schedule in `s`.
    pub fn schedule(self, s: &ScheduleConfig) -> Schedule {
        let cron = match self {
            Job::Sync => &s.sync,
            Job::Apply => &s.apply,
            Job::FollowBack => &s.followback,
        };
        Schedule::new(cron.clone(), s.timezone)
    }
}

/// Why a job run failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("sync failed: {0}")]
    Sync(String),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error(
        "{failed} correction(s) failed; they stay in the outbox and resume at the next run, unless parked after \
         policy.max_attempts failed runs (see `twotrack outbox list`): {detail}"
    )]
    Corrections { failed: usize, detail: String },
    /// One writer per tracker pair: another instance holds the lease, or it could not be claimed.
    #[error(transparent)]
    Writer(#[from] crate::writer::WriterError),
}

impl JobError {
    /// A safety guard (the circuit breaker) refused the run.
    pub fn is_refusal(&self) -> bool {
        matches!(self, JobError::Outbox(e) if e.is_refusal())
    }

    /// Another instance holds the writer lease.
    pub fn is_held(&self) -> bool {
        matches!(self, JobError::Writer(e) if e.is_held())
    }
}

/// A daemon finding another instance's fresh writer lease stands by: no failure, no backoff, so that it
/// takes over within one fire once that instance stops renewing.
impl super::schedule::JobFailure for JobError {
    fn stands_by(&self) -> bool {
        self.is_held()
    }
}

/// How the run is driven: by the schedules, or once (`twotrack run --once`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Trackers in backoff are skipped; a sync run fails only when no tracker synced.
    Scheduled,
    /// Every tracker is synced, and any tracker's failure fails the run.
    Once,
}

/// One tracker's sync record in this process.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackerHealth {
    pub last_ok: Option<DateTime<Utc>>,
    /// Consecutive failures.
    pub failures: u32,
    /// Not synced again before this time (backoff after failures).
    pub retry_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl TrackerHealth {
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.retry_at.is_none_or(|t| t <= now)
    }

    pub fn succeeded(&mut self, at: DateTime<Utc>) {
        *self = TrackerHealth { last_ok: Some(at), ..TrackerHealth::default() };
    }

    /// Record a failure; returns how long the tracker now backs off.
    pub fn failed(&mut self, at: DateTime<Utc>, error: String) -> Duration {
        self.failures += 1;
        let delay = backoff(self.failures);
        self.retry_at = Some(at + chrono::Duration::from_std(delay).unwrap_or_default());
        self.last_error = Some(error);
        delay
    }
}

/// Ready when every tracker in `trackers` synced successfully at or after `since`; otherwise the reasons.
pub fn readiness<'a>(
    trackers: impl IntoIterator<Item = &'a str>,
    health: &BTreeMap<String, TrackerHealth>,
    since: DateTime<Utc>,
) -> Result<(), String> {
    let mut problems = Vec::new();
    for name in trackers {
        let h = health.get(name);
        let last_ok = h.and_then(|h| h.last_ok);
        let problem = match last_ok {
            None => format!("{name}: no successful sync yet"),
            Some(at) if at < since => format!("{name}: last successful sync at {}", at.to_rfc3339()),
            Some(_) => continue,
        };
        let error = h.and_then(|h| h.last_error.as_deref()).map(|e| format!(" (last error: {e})")).unwrap_or_default();
        problems.push(problem + &error);
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

/// Run `job` once, wrapped: span, metrics, HTTP counters.
pub async fn run(state: Arc<State>, job: Job, mode: Mode) -> Result<(), JobError> {
    let live = state.live();
    let span = tracing::info_span!("job", job = job.name(), run = state.next_run());
    let started = Instant::now();
    let result = async {
        match job {
            Job::Sync => sync(&state, &live, mode).await,
            Job::Apply => apply(&state, &live).await,
            Job::FollowBack => follow_back(&state, &live).await,
        }
    }
    .instrument(span.clone())
    .await;
    let elapsed = started.elapsed();
    let outcome = match &result {
        Ok(()) => "ok",
        Err(e) if e.is_held() => "standby",
        Err(_) => "failed",
    };
    metrics::histogram!("twotrack_cycle_seconds", "job" => job.name()).record(elapsed.as_secs_f64());
    metrics::counter!("twotrack_job_runs_total", "job" => job.name(), "outcome" => outcome).increment(1);
    if result.is_ok() {
        let now = state.clock.now().timestamp_millis() as f64 / 1000.0;
        metrics::gauge!("twotrack_job_last_success_timestamp_seconds", "job" => job.name()).set(now);
    }
    state.http.export(&live.registry);
    if let Some(handle) = &state.metrics {
        handle.run_upkeep();
    }
    span.in_scope(|| tracing::debug!(outcome, elapsed_ms = elapsed.as_millis() as u64, "job finished"));
    result
}

async fn sync(state: &State, live: &Live, mode: Mode) -> Result<(), JobError> {
    let now = state.clock.now();
    let due: Vec<_> = {
        let health = state.health();
        live.registry
            .iter()
            .filter(|(name, _)| {
                let due = mode == Mode::Once || health.get(*name).is_none_or(|h| h.due(now));
                if !due {
                    tracing::debug!(tracker = %name, "skipped: backing off after failures");
                }
                due
            })
            .map(|(_, c)| c.clone())
            .collect()
    };
    let results = join_all(due.iter().map(|c| sync_tracker(c, &state.mirror, false, None))).await;
    let (mut synced, mut failed) = (0, Vec::new());
    {
        let mut health = state.health();
        for r in &results {
            let h = health.entry(r.tracker.clone()).or_default();
            match &r.error {
                None => {
                    h.succeeded(state.clock.now());
                    synced += 1;
                    metrics::counter!("twotrack_tracker_syncs_total", "tracker" => r.tracker.clone(), "outcome" => "ok")
                        .increment(1);
                    tracing::info!(
                        tracker = %r.tracker,
                        pulled = r.pulled,
                        new = r.new,
                        changed = r.changed,
                        pages = r.pages,
                        elapsed_ms = r.duration.as_millis() as u64,
                        "synced"
                    );
                }
                Some(e) => {
                    let delay = h.failed(state.clock.now(), e.clone());
                    metrics::counter!("twotrack_tracker_syncs_total", "tracker" => r.tracker.clone(), "outcome" => "failed")
                        .increment(1);
                    tracing::warn!(tracker = %r.tracker, failures = h.failures, retry_in_s = delay.as_secs(), "tracker backs off");
                    failed.push(format!("{}: {e}", r.tracker));
                }
            }
        }
    }
    if synced > 0 {
        refresh_audit(live, state).await;
    }
    let fails_run = match mode {
        Mode::Once => !failed.is_empty(),
        Mode::Scheduled => synced == 0 && !failed.is_empty(),
    };
    if fails_run { Err(JobError::Sync(failed.join("; "))) } else { Ok(()) }
}

/// Audit the mirror, keep the report for `/v1/report` and export the verdict and finding gauges (in a
/// blocking thread: it classifies every open item). A tracker never synced yet is not audited: its
/// empty picture would read as a clean backlog.
pub(super) async fn refresh_audit(live: &Live, state: &State) {
    let (config, mirror) = (live.config.clone(), state.mirror.clone());
    match mirror.never_synced(config.trackers.iter().map(|t| t.name.as_str())) {
        Ok(never) if never.is_empty() => {}
        Ok(_) => return,
        Err(e) => return tracing::warn!(error = %e, "could not audit the mirror"),
    }
    match tokio::task::spawn_blocking(move || crate::audit::audit(&config, &mirror, None)).await {
        Ok(Ok(report)) => {
            telemetry::export_audit(&report);
            let before = state.last_audit();
            for (storm, was) in storm_news(before.as_ref().map_or(&[], |r| &r.storms[..]), &report.storms) {
                let parent = storm.parent.as_ref().map(|p| p.tracker.as_str()).unwrap_or("");
                match was {
                    None => tracing::warn!(
                        storm = %storm.id, reports = storm.reports, reporters = storm.reporters,
                        priority = storm.priority, parent_tracker = parent, headline = %storm.headline,
                        "storm found: many reports of one event"
                    ),
                    Some(was) => tracing::info!(
                        storm = %storm.id, reports = storm.reports, was, reporters = storm.reporters,
                        priority = storm.priority, "storm grew"
                    ),
                }
            }
            state.set_last_audit(Arc::new(report));
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "could not audit the mirror for the metrics"),
        Err(e) => tracing::warn!(error = %e, "the audit for the metrics did not finish"),
    }
}

/// The storms of an audit worth a log line against the audit before: each one not seen before (`None`),
/// and each one that gained reports (with how many it had). A storm is named by its first report, so a
/// growing storm keeps its name; one that stays the same is said once, when it is first found.
fn storm_news<'a>(before: &[StormRow], now: &'a [StormRow]) -> Vec<(&'a StormRow, Option<u64>)> {
    now.iter()
        .filter_map(|storm| match before.iter().find(|b| b.id == storm.id) {
            None => Some((storm, None)),
            Some(b) if b.reports < storm.reports => Some((storm, Some(b.reports))),
            Some(_) => None,
        })
        .collect()
}

/// One writer per tracker pair: hold the lease before a job writes (claimed once, then renewed in the
/// background; a stale heartbeat of another instance is taken over, a fresh one refuses the job).
async fn hold_lease(state: &State, live: &Live) -> Result<(), JobError> {
    state.writer.hold(&live.registry, false).await?;
    state.writer.start_heartbeat(live.registry.clone());
    Ok(())
}

async fn apply(state: &State, live: &Live) -> Result<(), JobError> {
    if !live.config.policy.dry_run {
        hold_lease(state, live).await?;
    }
    let report = crate::outbox::cycle(&live.config, &live.registry, &state.mirror).await?;
    telemetry::export_parked(report.parked);
    if live.config.policy.dry_run {
        return Ok(());
    }
    let busy = report.done + report.dropped + report.failed > 0;
    if busy {
        tracing::info!(
            planned = report.planned,
            done = report.done,
            dropped = report.dropped,
            failed = report.failed,
            "corrections carried out"
        );
    }
    if report.failed > 0 {
        return Err(JobError::Corrections { failed: report.failed, detail: report.failures.join("; ") });
    }
    Ok(())
}

async fn follow_back(state: &State, live: &Live) -> Result<(), JobError> {
    if live.config.policy.dry_run {
        return Ok(());
    }
    hold_lease(state, live).await?;
    let n = crate::outbox::follow_back(&live.config, &live.registry, &state.mirror).await?;
    if n > 0 {
        tracing::info!(followed_back = n, "told reporters that their moved items were resolved");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, min, 0).unwrap()
    }

    fn storm(id: &str, reports: u64) -> StormRow {
        StormRow {
            id: id.into(),
            headline: format!("{reports} reports"),
            words: Vec::new(),
            first: String::new(),
            last: String::new(),
            span_minutes: 0,
            reports,
            reporters: reports,
            by_tracker: BTreeMap::new(),
            expected: 0.0,
            arrivals: Vec::new(),
            parent: None,
            reach: reports,
            impact: 1,
            urgency: 1,
            priority: 1,
            priority_name: String::new(),
            derivation: Vec::new(),
            members: Vec::new(),
        }
    }

    #[test]
    fn a_storm_is_logged_when_found_and_when_it_grows_never_while_it_stays() {
        let first = [storm("sn/INC1", 12)];
        let news = storm_news(&[], &first);
        assert_eq!(news.iter().map(|(s, was)| (s.id.as_str(), *was)).collect::<Vec<_>>(), [("sn/INC1", None)]);
        assert!(storm_news(&first, &first).is_empty(), "the same storm again: nothing new");
        let later = [storm("sn/INC1", 20), storm("jira/SHOP-9", 6)];
        let news = storm_news(&first, &later);
        assert_eq!(
            news.iter().map(|(s, was)| (s.id.as_str(), *was)).collect::<Vec<_>>(),
            [("sn/INC1", Some(12)), ("jira/SHOP-9", None)]
        );
        assert!(storm_news(&later, &first).is_empty(), "a storm that shrank or ended is no news");
    }

    #[test]
    fn a_failing_tracker_backs_off_alone_and_recovers() {
        let mut h = TrackerHealth::default();
        assert!(h.due(at(0)));
        assert_eq!(h.failed(at(0), "down".into()), Duration::from_secs(30));
        assert!(!h.due(at(0)));
        assert!(h.due(at(1)));
        assert_eq!(h.failed(at(1), "down".into()), Duration::from_secs(60));
        assert!(!h.due(at(1) + chrono::Duration::seconds(59)));
        h.succeeded(at(3));
        assert_eq!(h, TrackerHealth { last_ok: Some(at(3)), ..TrackerHealth::default() });
        assert!(h.due(at(3)));
    }

    #[test]
    fn ready_only_when_every_tracker_synced_recently() {
        let mut health = BTreeMap::new();
        let trackers = ["jira", "servicenow"];
        let why = readiness(trackers, &health, at(0)).unwrap_err();
        assert!(why.contains("jira: no successful sync yet") && why.contains("servicenow"), "{why}");

        health.entry("jira".to_string()).or_insert_with(TrackerHealth::default).succeeded(at(10));
        let mut sn = TrackerHealth::default();
        sn.succeeded(at(2));
        sn.failed(at(9), "servicenow: authentication failed".into());
        health.insert("servicenow".to_string(), sn);
        let why = readiness(trackers, &health, at(5)).unwrap_err();
        assert!(!why.contains("jira"), "{why}");
        assert!(why.contains("servicenow: last successful sync at") && why.contains("authentication failed"), "{why}");

        assert_eq!(readiness(trackers, &health, at(1)), Ok(()));
    }
}
