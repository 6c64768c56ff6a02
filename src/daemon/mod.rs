//! `twotrack run`: the scheduled daemon.
//!
//! One task per job (sync, apply, follow-back, see [`jobs`]), each driven by its cron schedule (see
//! [`schedule`]); an HTTP listener for `/healthz`, `/readyz` and `/metrics` (see [`http`]).
//!
//! Lifecycle:
//! - **SIGHUP** reloads the configuration file. A valid one takes effect at the next run of each job
//!   (new trackers, policy, rules, and new schedules: the job loops pick them up without a restart); an
//!   invalid one is rejected with the same errors `config check` prints, logged at error level, and the
//!   old configuration keeps running. `[mirror] path` and `[daemon] listen` need a restart.
//! - **SIGTERM / SIGINT** stop the schedules, let running jobs finish their step (at most
//!   [`Options::grace`], then they are cut off: every saga step and sync page is crash-safe), flush the
//!   mirror and return `Ok`.
//! - `--once` runs sync, apply and follow-back once, in order, and returns an error if any failed.

pub mod discovery;
pub mod http;
pub mod jobs;
pub mod schedule;
pub mod telemetry;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::watch;
use twotrack_api::ConnectorError;

use crate::config::{Config, ConfigErrors};
use crate::mirror::{Mirror, MirrorError};
use crate::registry::Registry;
use crate::report::Report;
use jobs::{Job, JobError, Mode, TrackerHealth};
use schedule::{Clock, Schedule, SystemClock};

/// How long running jobs may take to finish after SIGTERM before they are cut off.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// The configuration in force, swapped atomically on a successful reload. Each job run takes a copy
/// when it starts, so a reload never changes a run half-way.
#[derive(Clone)]
pub struct Live {
    pub config: Arc<Config>,
    pub registry: Registry,
}

/// Shared daemon state.
pub struct State {
    live: Mutex<Live>,
    pub mirror: Mirror,
    health: Mutex<BTreeMap<String, TrackerHealth>>,
    started: DateTime<Utc>,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    http: telemetry::HttpTelemetry,
    clock: Arc<dyn Clock>,
    runs: AtomicU64,
    /// The audit of the last cycle that synced (served on `/v1/report`).
    last_audit: Mutex<Option<Arc<Report>>>,
    /// One writer per tracker pair: this daemon's writer lease.
    pub writer: Arc<crate::writer::Writer>,
}

impl State {
    /// Build the connectors and open the mirror. Trackers whose last sync recorded in the mirror
    /// succeeded count as synced then (a restart does not make the daemon unready).
    fn new(config: Config) -> Result<State, DaemonError> {
        let registry = Registry::build(&config)?;
        let mirror = Mirror::open(&config.mirror.path)?;
        let mut health = BTreeMap::new();
        for t in &config.trackers {
            if let Some(record) = mirror.last_sync(&t.name)?.filter(|r| r.ok) {
                health.insert(t.name.clone(), TrackerHealth { last_ok: Some(record.at), ..TrackerHealth::default() });
            }
        }
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let writer = Arc::new(crate::writer::Writer::new(&config, &mirror)?);
        let metrics = telemetry::install();
        telemetry::export_parked(crate::outbox::Outbox::open(&mirror)?.parked()?);
        Ok(State {
            live: Mutex::new(Live { config: Arc::new(config), registry }),
            mirror,
            health: Mutex::new(health),
            started: clock.now(),
            metrics,
            http: telemetry::HttpTelemetry::default(),
            clock,
            runs: AtomicU64::new(0),
            last_audit: Mutex::new(None),
            writer,
        })
    }

    /// The configuration in force.
    pub fn live(&self) -> Live {
        self.live.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_live(&self, live: Live) {
        *self.live.lock().unwrap_or_else(|e| e.into_inner()) = live;
    }

    fn health(&self) -> MutexGuard<'_, BTreeMap<String, TrackerHealth>> {
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The audit of the last cycle that synced, if one finished since the daemon started.
    pub fn last_audit(&self) -> Option<Arc<Report>> {
        self.last_audit.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_last_audit(&self, report: Arc<Report>) {
        *self.last_audit.lock().unwrap_or_else(|e| e.into_inner()) = Some(report);
    }

    /// A new run number (the correlation id of one job run in the logs).
    fn next_run(&self) -> u64 {
        self.runs.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Ready when every tracker synced successfully since the `ready_periods + 1`-th last sync fire:
    /// not ready once `ready_periods` scheduled syncs of a tracker in a row failed (or were skipped while
    /// it backed off).
    pub fn readiness(&self) -> Result<(), String> {
        let live = self.live();
        let config = &live.config;
        let sync = Job::Sync.schedule(&config.schedule);
        let since =
            sync.previous_fire(self.clock.now(), config.daemon.ready_periods.saturating_add(1)).unwrap_or(self.started);
        jobs::readiness(config.trackers.iter().map(|t| t.name.as_str()), &self.health(), since)
    }

    /// The Prometheus text exposition (with the connectors' latest HTTP counters).
    pub fn render_metrics(&self) -> String {
        self.http.export(&self.live().registry);
        self.metrics.as_ref().map(|h| h.render()).unwrap_or_default()
    }
}

/// How the daemon was started (the configuration file says what to do; these say how this process runs).
#[derive(Debug, Clone)]
pub struct Options {
    /// The file SIGHUP reloads.
    pub config_path: PathBuf,
    /// Run one full cycle (sync, apply, follow-back) and return.
    pub once: bool,
    /// Also write the listener's bound address (`host:port` and a newline) to this file, atomically.
    pub listen_file: Option<PathBuf>,
    /// How long running jobs may take to finish after a stop request.
    pub grace: Duration,
}

impl Options {
    pub fn new(config_path: PathBuf) -> Options {
        Options { config_path, once: false, listen_file: None, grace: DEFAULT_GRACE }
    }
}

/// Errors that stop the daemon.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("could not set up the connectors: {0}")]
    Connectors(#[from] ConnectorError),
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    #[error(transparent)]
    Writer(#[from] crate::writer::WriterError),
    #[error("cannot listen on {addr}: {source}. Is another twotrack running? Change [daemon] listen")]
    Listen { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("cannot announce the daemon beside the mirror in {path}: {source}; check that the directory is writable")]
    Announce { path: PathBuf, source: std::io::Error },
    #[error("cannot write the listen address to {path}: {source}")]
    ListenFile { path: PathBuf, source: std::io::Error },
    /// `--once`: a step failed (the others still ran).
    #[error("the cycle failed: {errors}")]
    Cycle {
        errors: String,
        /// The circuit breaker refused the apply step.
        refused: bool,
        /// Another instance holds the writer lease.
        held: bool,
    },
}

/// Why a reload was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    #[error("the new configuration's connectors cannot be built: {0}")]
    Connectors(#[from] ConnectorError),
}

/// Load, validate and build a configuration for a reload; the errors are the ones `config check` prints.
pub fn reload(path: &Path) -> Result<Live, ReloadError> {
    let config = crate::config::load(path)?;
    let registry = Registry::build(&config)?;
    Ok(Live { config: Arc::new(config), registry })
}

/// Run the daemon until `shutdown` resolves (or one cycle with `opts.once`); every item of `hangups`
/// reloads the configuration from `opts.config_path`.
pub async fn run(
    config: Config,
    opts: Options,
    shutdown: impl Future<Output = ()> + Send,
    hangups: impl futures::Stream<Item = ()> + Unpin + Send,
) -> Result<(), DaemonError> {
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let state = Arc::new(State::new(config)?);
    let result =
        if opts.once { once(&state, &opts, shutdown).await } else { serve(&state, &opts, shutdown, hangups).await };
    state.writer.release(&state.live().registry).await;
    state.mirror.flush()?;
    result
}

/// `--once`: sync, apply, follow-back, in order; a stop request lets the current step finish.
async fn once(
    state: &Arc<State>,
    opts: &Options,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), DaemonError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let work = async {
        let mut errors = Vec::new();
        for job in Job::ALL {
            if *stop_rx.borrow() {
                tracing::warn!(job = job.name(), "stop requested: skipped");
                continue;
            }
            if let Err(e) = jobs::run(state.clone(), job, Mode::Once).await {
                tracing::error!(job = job.name(), error = %e, "step failed");
                errors.push(e);
            }
        }
        errors
    };
    tokio::pin!(work, shutdown);
    let errors = tokio::select! {
        errors = &mut work => errors,
        () = &mut shutdown => {
            tracing::info!("stop requested: finishing the current step");
            let _ = stop_tx.send(true);
            match tokio::time::timeout(opts.grace, &mut work).await {
                Ok(errors) => errors,
                Err(_) => {
                    tracing::warn!(grace_s = opts.grace.as_secs(), "the step did not finish in time; stopping it");
                    Vec::new()
                }
            }
        }
    };
    if errors.is_empty() {
        return Ok(());
    }
    let refused = errors.iter().any(JobError::is_refusal);
    let held = errors.iter().any(JobError::is_held);
    let errors = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
    Err(DaemonError::Cycle { errors, refused, held })
}

/// The scheduled daemon: listener, one loop per job, reloads, graceful stop.
async fn serve(
    state: &Arc<State>,
    opts: &Options,
    shutdown: impl Future<Output = ()> + Send,
    mut hangups: impl futures::Stream<Item = ()> + Unpin + Send,
) -> Result<(), DaemonError> {
    let live = state.live();
    let listen = live.config.daemon.listen;
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|source| DaemonError::Listen { addr: listen, source })?;
    let addr = listener.local_addr().map_err(|source| DaemonError::Listen { addr: listen, source })?;
    tracing::info!(%addr, "listening");
    if let Some(path) = &opts.listen_file {
        write_atomically(path, &format!("{addr}\n"))
            .map_err(|source| DaemonError::ListenFile { path: path.clone(), source })?;
    }
    let mirror_dir = state.mirror.path().to_path_buf();
    let announcement = discovery::Announcement::new(addr, state.started, live.config.daemon.token.is_some());
    discovery::write(&mirror_dir, &announcement)
        .map_err(|source| DaemonError::Announce { path: discovery::path(&mirror_dir), source })?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    {
        let app = http::router(state.clone());
        let mut stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
                tracing::error!(error = %e, "the HTTP listener failed");
            }
        }));
    }
    // What the mirror holds already is served at once, not only after the first sync.
    {
        let state = state.clone();
        tasks.push(tokio::spawn(async move { jobs::refresh_audit(&state.live(), &state).await }));
    }
    let mut schedules = Vec::new();
    for job in Job::ALL {
        let (tx, rx) = watch::channel(job.schedule(&live.config.schedule));
        schedules.push((job, tx));
        let (state, stop) = (state.clone(), stop_rx.clone());
        tasks.push(tokio::spawn(async move {
            let clock = state.clock.clone();
            schedule::drive(job.name(), rx, &*clock, stop, || jobs::run(state.clone(), job, Mode::Scheduled)).await;
        }));
    }
    let s = &live.config.schedule;
    tracing::info!(
        sync = %s.sync_expr,
        apply = %s.apply_expr,
        followback = %s.followback_expr,
        timezone = %s.timezone,
        dry_run = live.config.policy.dry_run,
        "daemon started"
    );
    drop(live);

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            hangup = hangups.next() => match hangup {
                Some(()) => on_hangup(state, &opts.config_path, &schedules),
                None => {
                    // No more reload signals can arrive; keep running until shutdown.
                    (&mut shutdown).await;
                    break;
                }
            },
        }
    }

    tracing::info!(grace_s = opts.grace.as_secs(), "stopping: letting running jobs finish");
    let _ = stop_tx.send(true);
    if !drain(tasks, opts.grace).await {
        tracing::warn!(grace_s = opts.grace.as_secs(), "jobs did not finish in time; cut off");
    }
    if let Some(path) = &opts.listen_file {
        let _ = std::fs::remove_file(path);
    }
    discovery::remove(&mirror_dir);
    tracing::info!("stopped");
    Ok(())
}

/// Wait for `tasks` to finish, at most `grace`; then abort the rest. Returns whether all finished in time.
async fn drain(tasks: Vec<tokio::task::JoinHandle<()>>, grace: Duration) -> bool {
    let aborts: Vec<_> = tasks.iter().map(|t| t.abort_handle()).collect();
    if tokio::time::timeout(grace, futures::future::join_all(tasks)).await.is_ok() {
        return true;
    }
    for a in aborts {
        a.abort();
    }
    false
}

/// SIGHUP: swap in the new configuration if it is valid, keep the old one if not.
fn on_hangup(state: &State, path: &Path, schedules: &[(Job, watch::Sender<Schedule>)]) {
    let new = match reload(path) {
        Ok(new) => new,
        Err(e) => {
            metrics::counter!("twotrack_config_reloads_total", "outcome" => "rejected").increment(1);
            tracing::error!(path = %path.display(), errors = %e, "configuration rejected; the previous one keeps running");
            return;
        }
    };
    let old = state.live();
    if new.config.mirror.path != old.config.mirror.path {
        tracing::warn!(path = %new.config.mirror.path.display(), "[mirror] path changed: it takes effect after a restart");
    }
    if new.config.daemon.listen != old.config.daemon.listen {
        tracing::warn!(listen = %new.config.daemon.listen, "[daemon] listen changed: it takes effect after a restart");
    }
    for warning in &new.config.warnings {
        tracing::warn!("{warning}");
    }
    // Count the old connectors' last requests before they are replaced.
    state.http.export(&old.registry);
    state.set_live(new.clone());
    for (job, tx) in schedules {
        let schedule = job.schedule(&new.config.schedule);
        let changed = tx.send_if_modified(|current| {
            let changed = *current != schedule;
            if changed {
                *current = schedule.clone();
            }
            changed
        });
        if changed {
            tracing::info!(job = job.name(), schedule = %schedule.cron, "new schedule");
        }
    }
    metrics::counter!("twotrack_config_reloads_total", "outcome" => "ok").increment(1);
    tracing::info!(
        path = %path.display(),
        trackers = new.config.trackers.len(),
        dry_run = new.config.policy.dry_run,
        "configuration reloaded; it takes effect at the next run"
    );
}

/// Write `text` to `path` through a temporary file and a rename, so readers never see half of it.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn drain_waits_for_finishing_tasks_and_cuts_off_the_rest() {
        let quick = tokio::spawn(tokio::time::sleep(Duration::from_secs(3)));
        let started = tokio::time::Instant::now();
        assert!(drain(vec![quick], DEFAULT_GRACE).await);
        assert_eq!(started.elapsed(), Duration::from_secs(3));

        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let stuck = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            let _ = tx.send(());
        });
        let started = tokio::time::Instant::now();
        assert!(!drain(vec![stuck], DEFAULT_GRACE).await);
        assert_eq!(started.elapsed(), DEFAULT_GRACE);
        // Aborted: the task is gone without reaching its end.
        assert!(rx.await.is_err());
    }
}
