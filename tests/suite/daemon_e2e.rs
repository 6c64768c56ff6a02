//! `twotrack run` end to end, as a child process against both simulators (running in this test process):
//! - the scheduled daemon: readiness, metrics, every misfiled item moved exactly once, a rejected reload
//!   that leaves it running on its old configuration, a clean SIGTERM and a consistent mirror afterwards;
//! - SIGTERM during a (slowed-down) sync lets that sync finish, then exits 0;
//! - `--once`: a dry run writes nothing; an unreachable tracker fails the run (exit 1) but the other one
//!   still syncs; moves capped by policy.max_moves wait for the next cycle.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use twotrack::api::Connector;
use twotrack::demo::{World, WorldOptions};
use twotrack::mirror::Mirror;
use twotrack::outbox::{Outbox, Planned2, Selection, State};
use twotrack::registry::Registry;
use twotrack::sync::{SyncOptions, sync_all};
use twotrack_sim::faults::FaultSpec;

use crate::apply_support::metrics::metric;

/// Generous: the machine may be busy compiling next to us.
const DEADLINE: Duration = Duration::from_secs(60);

/// Items filed in each simulated tracker: enough for the site model to learn (40 a role).
const ITEMS: usize = 50;
/// Few misfiled, as on a real site, so that one cycle's moves stay under `max_moves`.
const MISFILED: f64 = 0.08;

/// Write the simulators' configuration with every job firing every second.
fn write_config(world: &World, dir: &Path, dry_run: bool) -> PathBuf {
    write_config_with(world, dir, dry_run, 10)
}

fn write_config_with(world: &World, dir: &Path, dry_run: bool, max_moves: usize) -> PathBuf {
    let path = world.write_config(dir, dry_run, max_moves).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let fast = text
        .replace(r#"sync = "*/20 * * * * *""#, r#"sync = "*/1 * * * * *""#)
        .replace(r#"apply = "5/20 * * * * *""#, r#"apply = "*/1 * * * * *""#)
        .replace(r#"followback = "10/20 * * * * *""#, r#"followback = "*/2 * * * * *""#);
    assert_eq!(fast.matches("* * * * *\"").count(), 3, "the schedule section changed shape:\n{fast}");
    assert!(fast.contains(r#"sync = "*/1 * * * * *""#));
    std::fs::write(&path, fast).unwrap();
    path
}

/// A planned move: (source tracker, source key, target tracker).
type Move = (String, String, String);

/// Simulators whose generated backlog has at least one confident misfile each way, with the configuration
/// for them in `dir` (writes allowed) and the moves an apply makes. Generated backlogs, the classifier and
/// the connectors evolve, so the seed is searched, not fixed: the first backlog whose moves a trial run on
/// a throwaway copy of its world carries out completely.
async fn misfiled_world(dir: &Path) -> (World, PathBuf, Vec<Move>) {
    for seed in 1..=40 {
        let opts = WorldOptions { seed, items: ITEMS, misfiled_share: MISFILED, ..WorldOptions::default() };
        let Some(moves) = trial(&opts).await else { continue };
        let world = World::start(&opts).await.unwrap();
        let config_path = write_config(&world, dir, false);
        return (world, config_path, moves);
    }
    panic!("no seed in 1..=40 gives a backlog with a confident misfile each way that apply carries out");
}

/// Sync, plan and apply a world once with the library. The moves, if there is at least one each way and
/// the circuit breaker lets them through and every one of them is done.
async fn trial(opts: &WorldOptions) -> Option<Vec<Move>> {
    let world = World::start(opts).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = twotrack::config::load(&write_config(&world, dir.path(), false)).unwrap();
    let registry = Registry::build(&config).unwrap();
    let scratch = Mirror::temporary().unwrap();
    for r in sync_all(&registry, &scratch, &SyncOptions::default()).await {
        assert!(r.error.is_none(), "{r:?}");
    }
    let classifier = twotrack::audit::classifier(&config).unwrap();
    let site = twotrack::audit::learn_site(&config, &scratch, &classifier).unwrap();
    let plan = twotrack::outbox::plan(&config, &scratch, &classifier, &site, &Selection::default()).unwrap();
    let moves: Vec<Move> = plan
        .corrections
        .iter()
        .filter_map(|c| match &c.action {
            Planned2::Move { target_tracker, .. } => {
                Some((c.source_tracker.clone(), c.source_key.clone(), target_tracker.clone()))
            }
            _ => None,
        })
        .collect();
    let each_way = [("jira", "servicenow"), ("servicenow", "jira")]
        .iter()
        .all(|(from, to)| moves.iter().any(|m| m.0 == *from && m.2 == *to));
    let carried_out = each_way
        && twotrack::outbox::cycle(&config, &registry, &scratch)
            .await
            .is_ok_and(|r| r.failed == 0 && r.done == moves.len());
    world.shutdown().await;
    carried_out.then_some(moves)
}

/// The daemon under test; killed if the test fails half-way.
struct Daemon {
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    fn start(config: &Path, extra: &[&str]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_twotrack"))
            .arg("--config")
            .arg(config)
            .args(["--log-format", "json", "run"])
            .args(extra)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Daemon { child, logs }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill").args([format!("-{name}"), self.child.id().to_string()]).status().unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// The parsed JSON log events whose message starts with `message`.
    fn events(&self, message: &str) -> Vec<serde_json::Value> {
        self.logs()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| e["message"].as_str().is_some_and(|m| m.starts_with(message)))
            .collect()
    }

    /// The last log lines, routine sync events left out.
    fn tail(&self) -> String {
        let logs: Vec<String> = self.logs().into_iter().filter(|l| !l.contains(r#""message":"synced""#)).collect();
        logs[logs.len().saturating_sub(40)..].join("\n")
    }

    /// Wait for the process to exit, at most `limit`.
    async fn wait(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < limit, "the daemon did not exit within {limit:?}\n{}", self.tail());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `check` until it yields a value, failing after `DEADLINE` with `what` and the daemon's last logs.
async fn eventually<T, F, Fut>(daemon: &Daemon, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}\n--- daemon log ---\n{}", daemon.tail());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn get(url: &str) -> Option<(u16, String)> {
    let response = reqwest::get(url).await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_moves_each_misfile_once_survives_a_bad_reload_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (world, config_path, moves) = misfiled_world(dir.path()).await;
    let listen_file = dir.path().join("listen");

    let mut daemon = Daemon::start(&config_path, &["--listen-file", listen_file.to_str().unwrap()]);
    let addr = eventually(&daemon, "the listen file", || async {
        std::fs::read_to_string(&listen_file).ok().filter(|s| s.ends_with('\n')).map(|s| s.trim().to_string())
    })
    .await;
    assert!(addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"), "{addr}");
    let listening = daemon.events("listening");
    assert_eq!(listening.len(), 1, "one `listening` event\n{}", daemon.tail());
    assert_eq!(listening[0]["addr"], addr.as_str());
    let base = format!("http://{addr}");

    // Ready once both trackers synced.
    eventually(&daemon, "/readyz 200", || async { get(&format!("{base}/readyz")).await.filter(|r| r.0 == 200) }).await;

    // Every move applied, then two more apply runs that must not repeat any.
    let applied_runs = eventually(&daemon, "the corrections applied", || async {
        let (_, text) = get(&format!("{base}/metrics")).await?;
        let applied = metric(&text, "twotrack_corrections_total", &[("outcome", "applied")]);
        (applied >= moves.len() as f64)
            .then(|| metric(&text, "twotrack_job_runs_total", &[("job", "apply"), ("outcome", "ok")]))
    })
    .await;
    let text = eventually(&daemon, "two more apply runs", || async {
        let (_, text) = get(&format!("{base}/metrics")).await?;
        let runs = metric(&text, "twotrack_job_runs_total", &[("job", "apply"), ("outcome", "ok")]);
        (runs >= applied_runs + 2.0).then_some(text)
    })
    .await;
    assert_eq!(metric(&text, "twotrack_corrections_total", &[("outcome", "applied")]), moves.len() as f64, "{text}");
    assert_eq!(metric(&text, "twotrack_corrections_total", &[("outcome", "failed")]), 0.0);
    assert_eq!(metric(&text, "twotrack_job_runs_total", &[("outcome", "failed")]), 0.0, "{text}");
    for tracker in ["jira", "servicenow"] {
        assert!(metric(&text, "twotrack_items_pulled_total", &[("tracker", tracker)]) > 0.0, "{text}");
        assert!(
            metric(&text, "twotrack_api_requests_total", &[("tracker", tracker), ("status", "200")]) > 0.0,
            "{text}"
        );
        assert!(metric(&text, "twotrack_tracker_syncs_total", &[("tracker", tracker), ("outcome", "ok")]) > 0.0);
        assert!(text.contains(&format!("twotrack_verdicts{{tracker=\"{tracker}\",class=\"value\"}}")), "{text}");
        assert!(text.contains(&format!("twotrack_findings{{tracker=\"{tracker}\",kind=\"misfiled\"}}")), "{text}");
        // Every kind has its gauge, zero included, so none keeps a stale value from an earlier cycle.
        assert!(
            text.contains(&format!("twotrack_findings{{tracker=\"{tracker}\",kind=\"returned-by-human\"}} 0")),
            "{text}"
        );
    }
    assert!(metric(&text, "twotrack_cycle_seconds_count", &[("job", "sync")]) > 0.0, "{text}");

    // Exactly once: one create per move in the request logs, one twin per source, every source closed.
    let creates_in = |log: twotrack_sim::log::RequestLog, path: &dyn Fn(&str) -> bool| {
        log.writes().iter().filter(|e| e.method == "POST" && path(&e.path)).count()
    };
    let jira_creates = creates_in(world.jira.log(), &|p| p == "/rest/api/3/issue");
    // (The writer lease's heartbeat row in sys_properties is not an item.)
    let sn_creates =
        creates_in(world.servicenow.log(), &|p| p.starts_with("/api/now/table/") && !p.ends_with("/sys_properties"));
    assert_eq!(jira_creates, moves.iter().filter(|m| m.2 == "jira").count(), "creates in Jira");
    assert_eq!(sn_creates, moves.iter().filter(|m| m.2 == "servicenow").count(), "creates in ServiceNow");
    let config = twotrack::config::load(&config_path).unwrap();
    let registry = Registry::build(&config).unwrap();
    for (source_tracker, key, target_tracker) in &moves {
        let twins = registry.get(target_tracker).unwrap().find_by_origin(key).await.unwrap();
        assert_eq!(twins.len(), 1, "{key}: one twin in {target_tracker}, got {twins:?}");
        let source = registry.get(source_tracker).unwrap().get(key).await.unwrap();
        assert!(!source.open, "{key} is closed after its move: {source:?}");
    }

    // A broken configuration on SIGHUP: rejected with `config check`'s errors, the old one keeps running.
    let good = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(&config_path, good.replace(r#"sync = "*/1 * * * * *""#, r#"sync = "every second""#)).unwrap();
    let check = Command::new(env!("CARGO_BIN_EXE_twotrack"))
        .arg("--config")
        .arg(&config_path)
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(2));
    let check_errors = String::from_utf8_lossy(&check.stderr).to_string();
    let syncs_before = metric(
        &get(&format!("{base}/metrics")).await.unwrap().1,
        "twotrack_job_runs_total",
        &[("job", "sync"), ("outcome", "ok")],
    );
    daemon.signal("HUP");
    let rejected = eventually(&daemon, "the rejection in the log", || async {
        daemon.events("configuration rejected").into_iter().next()
    })
    .await;
    assert_eq!(rejected["level"], "ERROR");
    let errors = rejected["errors"].as_str().unwrap();
    assert!(errors.contains("twotrack.toml:") && errors.contains("every second"), "{errors}");
    assert!(
        check_errors.contains(errors),
        "the daemon's errors differ from `config check`'s:\n{errors}\n---\n{check_errors}"
    );
    assert_eq!(get(&format!("{base}/healthz")).await.map(|r| r.0), Some(200));
    eventually(&daemon, "syncs on the old configuration", || async {
        let (_, text) = get(&format!("{base}/metrics")).await?;
        (metric(&text, "twotrack_job_runs_total", &[("job", "sync"), ("outcome", "ok")]) >= syncs_before + 2.0)
            .then_some(())
    })
    .await;
    assert_eq!(get(&format!("{base}/readyz")).await.map(|r| r.0), Some(200));
    assert!(daemon.child.try_wait().unwrap().is_none(), "still running");

    // SIGTERM: exit 0 within the bound.
    let stop = Instant::now();
    daemon.signal("TERM");
    let status = daemon.wait(Duration::from_secs(15)).await;
    assert!(status.success(), "exit status {status:?}\n{}", daemon.tail());
    assert!(stop.elapsed() < Duration::from_secs(12), "stopping took {:?}", stop.elapsed());
    assert_eq!(daemon.events("stopped").len(), 1, "{}", daemon.tail());
    assert!(!listen_file.exists(), "the listen file is removed on exit");

    // The mirror is consistent: readable, every correction done, nothing pending.
    let mirror = Mirror::open(&dir.path().join("mirror")).unwrap();
    let stats = mirror.stats().unwrap();
    for tracker in ["jira", "servicenow"] {
        let t = &stats.trackers[tracker];
        assert!(t.total.items > 0 && t.last_sync.as_ref().is_some_and(|s| s.ok), "{tracker}: {t:?}");
    }
    let corrections: Vec<_> = Outbox::open(&mirror).unwrap().all().map(Result::unwrap).collect();
    assert_eq!(corrections.len(), moves.len(), "{corrections:?}");
    for c in &corrections {
        assert!(matches!(c.state, State::Done { .. }), "{c:?}");
        assert!(c.progress.twin.is_some() && c.progress.closed, "{c:?}");
        assert!(moves.iter().any(|m| m.0 == c.source_tracker && m.1 == c.source_key), "{c:?}");
    }

    // One event per action, with its ids: each move's "move done" names the correction, source and twin,
    // inside a job span with a run number.
    let done = daemon.events("move done");
    assert_eq!(done.len(), moves.len(), "{}", daemon.tail());
    for e in &done {
        assert!(e["correction"].as_str().is_some_and(|c| c.starts_with("move:")), "{e}");
        assert!(e["source"].is_string() && e["twin"].is_string(), "{e}");
        assert_eq!(e["span"]["job"], "apply", "{e}");
        assert!(e["span"]["run"].is_u64(), "{e}");
    }
    assert!(daemon.events("synced").iter().all(|e| e["tracker"].is_string()));
    world.shutdown().await;
}

/// Nothing but reads reached the simulators (Jira's search and approximate count are POSTs, but read).
fn assert_no_writes(world: &World) {
    assert_no_writes_but_the_lease(world, false);
}

/// [`assert_no_writes`], allowing the writer lease's heartbeat when `lease` (a cycle allowed to write
/// claims it: see `apply_writers`).
fn assert_no_writes_but_the_lease(world: &World, lease: bool) {
    let is_lease = |path: &str| path.contains("/properties/twotrack.writer.") || path.contains("/table/sys_properties");
    let writes: Vec<_> = [world.jira.log(), world.servicenow.log()]
        .iter()
        .flat_map(|log| log.writes())
        .filter(|e| !e.path.starts_with("/rest/api/3/search/"))
        .filter(|e| !(lease && is_lease(&e.path)))
        .collect();
    assert!(writes.is_empty(), "writes reached a tracker: {writes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_running_sync_finish_then_exits_0() {
    let world = World::start(&WorldOptions { items: ITEMS, misfiled_share: MISFILED, ..WorldOptions::default() })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_path = write_config(&world, dir.path(), true);
    // A tracker's tables are pulled side by side; a low rate limit makes their requests take turns, so
    // that a sync is still under way when its first table has answered.
    let text = std::fs::read_to_string(&config_path).unwrap();
    let (fast, slow) = ("per_second = 200.0\nburst = 50", "per_second = 3.0\nburst = 1");
    assert_eq!(text.matches(fast).count(), 2, "the rate sections changed shape:\n{text}");
    std::fs::write(&config_path, text.replace(fast, slow)).unwrap();
    let listen_file = dir.path().join("listen");
    let mut daemon = Daemon::start(&config_path, &["--listen-file", listen_file.to_str().unwrap()]);
    let addr = eventually(&daemon, "the listen file", || async {
        std::fs::read_to_string(&listen_file).ok().filter(|s| s.ends_with('\n')).map(|s| s.trim().to_string())
    })
    .await;
    eventually(&daemon, "/readyz 200", || async { get(&format!("http://{addr}/readyz")).await.filter(|r| r.0 == 200) })
        .await;

    // Slow ServiceNow down, and wait until a sync has started under the latency: its first table answered
    // slowly, the others are still waiting for their turn.
    let latency = Duration::from_millis(300);
    world.servicenow.faults().set(FaultSpec { latency, ..FaultSpec::default() });
    let log = world.servicenow.log();
    let seen = log.len();
    eventually(&daemon, "a slow sync under way", || async {
        log.entries()[seen..].iter().any(|e| e.path == "/api/now/table/incident" && e.elapsed >= latency).then_some(())
    })
    .await;
    let stop = Instant::now();
    daemon.signal("TERM");
    let status = daemon.wait(Duration::from_secs(15)).await;
    assert!(status.success(), "{status:?}\n{}", daemon.tail());
    assert!(stop.elapsed() < Duration::from_secs(12), "stopping took {:?}", stop.elapsed());

    // In the log: stopping, then the running ServiceNow sync completing, then stopped.
    let messages: Vec<(String, String)> = daemon
        .logs()
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|e| (e["message"].as_str().unwrap_or("").to_string(), e["tracker"].as_str().unwrap_or("").to_string()))
        .collect();
    let at = |message: &str, tracker: &str| messages.iter().rposition(|m| m.0 == message && m.1 == tracker);
    let stopping = at("stopping: letting running jobs finish", "").expect("a stopping event");
    let synced = at("synced", "servicenow").expect("a servicenow sync");
    let stopped = at("stopped", "").expect("a stopped event");
    assert!(stopping < synced && synced < stopped, "{messages:?}");
    let mirror = Mirror::open(&dir.path().join("mirror")).unwrap();
    assert!(mirror.last_sync("servicenow").unwrap().is_some_and(|r| r.ok));
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_with_moves_capped_to_none_writes_nothing_and_says_they_wait() {
    let dir = tempfile::tempdir().unwrap();
    let (world, _, moves) = misfiled_world(dir.path()).await;
    assert!(!moves.is_empty());
    // policy.max_moves = 0: moves paused. Not a fault: the cycle succeeds and the moves wait.
    let config_path = write_config_with(&world, dir.path(), false, 0);
    let mut daemon = Daemon::start(&config_path, &["--once"]);
    let status = daemon.wait(DEADLINE).await;
    assert_eq!(status.code(), Some(0), "{}", daemon.tail());
    let capped = daemon.events("moves capped by policy.max_moves");
    assert!(
        capped.iter().any(|e| e["waiting"].as_u64() == Some(moves.len() as u64)),
        "every move waits:\n{}",
        daemon.tail()
    );
    assert_no_writes_but_the_lease(&world, true);
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_in_dry_run_syncs_and_writes_nothing() {
    let world = World::start(&WorldOptions { items: ITEMS, misfiled_share: MISFILED, ..WorldOptions::default() })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_path = write_config(&world, dir.path(), true);
    let mut daemon = Daemon::start(&config_path, &["--once"]);
    let status = daemon.wait(DEADLINE).await;
    assert!(status.success(), "{status:?}\n{}", daemon.tail());
    assert_no_writes(&world);
    let mirror = Mirror::open(&dir.path().join("mirror")).unwrap();
    let (jira, servicenow) = world.counts();
    let stats = mirror.stats().unwrap();
    assert_eq!(stats.trackers["jira"].total.items, jira as u64);
    assert_eq!(stats.trackers["servicenow"].total.items, servicenow as u64);
    assert!(daemon.events("listening").is_empty(), "--once does not listen");
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_fails_when_a_tracker_is_unreachable_but_syncs_the_others() {
    let world = World::start(&WorldOptions { items: ITEMS, misfiled_share: MISFILED, ..WorldOptions::default() })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_path = write_config(&world, dir.path(), true);
    // Point ServiceNow at a port nobody listens on, without retries.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let text = std::fs::read_to_string(&config_path).unwrap();
    let sn = world.servicenow.base_url();
    let broken =
        text.replace(&format!("base_url = \"{sn}\""), &format!("base_url = \"http://{closed}\"\nmax_retries = 0"));
    assert_ne!(broken, text);
    std::fs::write(&config_path, broken).unwrap();

    let mut daemon = Daemon::start(&config_path, &["--once"]);
    let status = daemon.wait(DEADLINE).await;
    assert_eq!(status.code(), Some(1), "{}", daemon.tail());
    let failed = daemon.events("step failed");
    assert!(failed.iter().any(|e| e["job"] == "sync" && e["error"].as_str().is_some_and(|m| m.contains("servicenow"))));
    let mirror = Mirror::open(&dir.path().join("mirror")).unwrap();
    let stats = mirror.stats().unwrap();
    assert_eq!(stats.trackers["jira"].total.items, world.counts().0 as u64, "jira synced despite servicenow");
    world.shutdown().await;
}
