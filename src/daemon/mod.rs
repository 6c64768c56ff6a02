//! `twotrack run`: the scheduled daemon.
//!
//! One task per job (sync, apply, follow-back), each driven by its cron schedule (see [`schedule`]);
//! an HTTP listener for `/healthz`, `/readyz` and `/metrics`; SIGHUP reloads the configuration (a
//! valid one takes effect at the next cycle, an invalid one is rejected and the old one keeps running);
//! SIGTERM / SIGINT let the running step finish, flush the mirror and return.

pub mod http;
pub mod schedule;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::config::Config;
use crate::mirror::Mirror;
use crate::registry::Registry;
use crate::sync::{SyncOptions, sync_all};
use schedule::{Clock, Schedule, SystemClock};

/// The configuration in force, swapped atomically on a successful reload.
#[derive(Clone)]
pub struct Live {
    pub config: Arc<Config>,
    pub registry: Registry,
}

/// Shared daemon state, read by the HTTP endpoints.
pub struct State {
    pub live: Mutex<Live>,
    pub mirror: Mirror,
    /// Last successful sync per tracker.
    pub last_ok: Mutex<BTreeMap<String, DateTime<Utc>>>,
    pub started: DateTime<Utc>,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    pub clock: Arc<dyn Clock>,
}

impl State {
    pub fn live(&self) -> Live {
        self.live.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Ready when every tracker synced successfully within `ready_periods` sync periods.
    pub fn readiness(&self) -> Result<(), String> {
        let live = self.live();
        let now = self.clock.now();
        let sched = Schedule::new(live.config.schedule.sync.clone(), live.config.schedule.timezone);
        let period = sched.period(now).unwrap_or(std::time::Duration::from_secs(3600));
        let window = chrono::Duration::from_std(period * live.config.daemon.ready_periods.max(1)).unwrap_or_default();
        let last = self.last_ok.lock().unwrap_or_else(|e| e.into_inner());
        let mut problems = Vec::new();
        for t in &live.config.trackers {
            match last.get(&t.name) {
                None => problems.push(format!("{}: not synced yet", t.name)),
                Some(at) if now - *at > window => problems.push(format!("{}: last successful sync at {at}", t.name)),
                Some(_) => {}
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
    }
}

/// How the daemon was started.
pub struct Options {
    pub config_path: PathBuf,
    /// Run one full cycle (sync, apply, follow-back) and return.
    pub once: bool,
}

/// Errors that stop the daemon.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot listen on {addr}: {source}. Is another twotrack running? Change [daemon] listen")]
    Listen { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("one cycle failed: {0}")]
    Cycle(String),
}

/// One full cycle: sync every tracker, then plan and apply (unless dry run), then follow back.
pub async fn cycle(state: &State) -> Result<(), String> {
    sync_job(state).await?;
    apply_job(state).await?;
    followback_job(state).await
}

async fn sync_job(state: &State) -> Result<(), String> {
    let live = state.live();
    let started = Instant::now();
    let results = sync_all(&live.registry, &state.mirror, &SyncOptions::default()).await;
    let mut failed = Vec::new();
    {
        let mut last = state.last_ok.lock().unwrap_or_else(|e| e.into_inner());
        for r in &results {
            match &r.error {
                None => {
                    last.insert(r.tracker.clone(), state.clock.now());
                }
                Some(e) => failed.push(format!("{}: {e}", r.tracker)),
            }
        }
    }
    metrics::histogram!("twotrack_cycle_seconds", "job" => "sync").record(started.elapsed().as_secs_f64());
    if failed.is_empty() { Ok(()) } else { Err(failed.join("; ")) }
}

async fn apply_job(state: &State) -> Result<(), String> {
    let live = state.live();
    let started = Instant::now();
    let result = crate::outbox::cycle(&live.config, &live.registry, &state.mirror).await;
    metrics::histogram!("twotrack_cycle_seconds", "job" => "apply").record(started.elapsed().as_secs_f64());
    result.map(|_| ()).map_err(|e| e.to_string())
}

async fn followback_job(state: &State) -> Result<(), String> {
    let live = state.live();
    if live.config.policy.dry_run {
        return Ok(());
    }
    crate::outbox::follow_back(&live.config, &live.registry, &state.mirror).await.map(|_| ()).map_err(|e| e.to_string())
}

/// Load, validate and build a configuration for a reload; the errors are the ones `config check` prints.
pub fn reload(path: &std::path::Path) -> Result<Live, String> {
    let config = crate::config::load(path).map_err(|e| e.to_string())?;
    let registry = Registry::build(&config).map_err(|e| e.to_string())?;
    Ok(Live { config: Arc::new(config), registry })
}

/// Run the daemon until `shutdown` resolves (or one cycle with `once`).
pub async fn run(
    config: Config,
    opts: Options,
    shutdown: impl Future<Output = ()> + Send,
    mut hangups: impl futures::Stream<Item = ()> + Unpin + Send,
) -> Result<(), DaemonError> {
    let registry = Registry::build(&config).map_err(|e| DaemonError::Cycle(e.to_string()))?;
    let mirror = Mirror::open(&config.mirror.path).map_err(|e| DaemonError::Cycle(e.to_string()))?;
    let listen = config.daemon.listen;
    let state = Arc::new(State {
        live: Mutex::new(Live { config: Arc::new(config), registry }),
        mirror,
        last_ok: Mutex::new(BTreeMap::new()),
        started: Utc::now(),
        metrics: http::install_metrics(),
        clock: Arc::new(SystemClock),
    });

    if opts.once {
        let result = cycle(&state).await;
        let _ = state.mirror.flush();
        return result.map_err(DaemonError::Cycle);
    }

    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|source| DaemonError::Listen { addr: listen, source })?;
    let addr = listener.local_addr().unwrap_or(listen);
    tracing::info!(%addr, "listening for /healthz, /readyz and /metrics");
    let (stop_tx, stop_rx) = watch::channel(false);

    let server = {
        let state = state.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let app = http::router(state);
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
        })
    };

    let mut jobs = Vec::new();
    for job in ["sync", "apply", "followback"] {
        let state = state.clone();
        let stop = stop_rx.clone();
        jobs.push(tokio::spawn(async move {
            let sched = {
                let live = state.live();
                let s = &live.config.schedule;
                let cron = match job {
                    "sync" => s.sync.clone(),
                    "apply" => s.apply.clone(),
                    _ => s.followback.clone(),
                };
                Schedule::new(cron, s.timezone)
            };
            let clock = state.clock.clone();
            schedule::drive(job, &sched, &*clock, stop, || {
                let state = state.clone();
                async move {
                    match job {
                        "sync" => sync_job(&state).await,
                        "apply" => apply_job(&state).await,
                        _ => followback_job(&state).await,
                    }
                }
            })
            .await;
        }));
    }

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(()) = futures::StreamExt::next(&mut hangups) => {
                match reload(&opts.config_path) {
                    Ok(live) => {
                        *state.live.lock().unwrap_or_else(|e| e.into_inner()) = live;
                        tracing::info!(path = %opts.config_path.display(), "configuration reloaded; it takes effect at the next cycle");
                    }
                    Err(e) => tracing::error!(path = %opts.config_path.display(), errors = %e, "configuration rejected; the previous one keeps running"),
                }
            }
        }
    }
    tracing::info!("shutting down: letting running steps finish");
    let _ = stop_tx.send(true);
    for j in jobs {
        let _ = j.await;
    }
    let _ = server.await;
    let _ = state.mirror.flush();
    tracing::info!("stopped");
    Ok(())
}
