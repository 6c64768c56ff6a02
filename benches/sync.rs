//! Sync throughput against the simulators: `cargo bench --bench sync` prints figures (a plain `main`).
//!
//! 1. A full `twotrack sync` (the release binary, a child process) of 100,000 Jira issues and 100,000
//!    ServiceNow records from the simulators, which add 20 ms of latency to every request; the client-side
//!    rate limit is set far above what is reached. Figures: wall time, items/s, requests made (from the
//!    simulators' logs), the child's peak RSS (VmHWM) and CPU time (polled from /proc), and where the time
//!    went: each tracker pulls its scopes and pages one after the other, so per tracker the wall time is
//!    the time the simulator took to answer plus the time between an answer and the next request (twotrack
//!    parsing, mapping and committing a page). The trackers run concurrently.
//! 2. A no-change incremental sync over that 200k mirror, twice: as a `twotrack sync` child (what a user
//!    waits for: process start, mirror open, connectors cold) and in this process through the library with
//!    warm connectors, where the local work is the sync's duration minus the simulators' answer times.
//!
//! Each simulator runs on a runtime (and thread) of its own, so that one simulator's CPU-bound handlers
//! do not delay the other's answers, and neither shares threads with the in-process sync.
//!
//! `SYNC_BENCH_ITEMS` (default 100000) sets the items per tracker, for a quick run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::runtime::Runtime;
use twotrack::mirror::Mirror;
use twotrack::registry::Registry;
use twotrack::sync::{SyncOptions, TrackerSync, sync_all};
use twotrack_sim::SimAuth;
use twotrack_sim::faults::FaultSpec;
use twotrack_sim::generator::{GenOptions, GeneratedItem, generate};
use twotrack_sim::jira::{JiraOptions, JiraSim};
use twotrack_sim::log::RequestLog;
use twotrack_sim::servicenow::{ServiceNowOptions, ServiceNowSim};

const LATENCY: Duration = Duration::from_millis(20);
const SEED: u64 = 42;
const TABLES: [&str; 6] = ["incident", "sc_req_item", "sc_task", "rm_story", "rm_defect", "rm_enhancement"];
/// Linux reports process CPU times in USER_HZ ticks, 100 per second.
const TICKS_PER_SECOND: f64 = 100.0;

fn main() -> anyhow::Result<()> {
    let per_tracker: usize = match std::env::var("SYNC_BENCH_ITEMS") {
        Ok(n) => n.parse().context("SYNC_BENCH_ITEMS must be a number")?,
        Err(_) => 100_000,
    };
    println!("sync benchmark: {per_tracker} items per tracker, {} ms latency per request", LATENCY.as_millis());
    let started = Instant::now();
    let items = generate(&GenOptions { seed: SEED, items_per_tracker: per_tracker, misfiled_share: 0.15 });
    println!("generate                 {:>8.2} s  ({} items)", started.elapsed().as_secs_f64(), items.len());
    let started = Instant::now();
    let sims = Sims::start(items)?;
    println!("load the simulators      {:>8.2} s", started.elapsed().as_secs_f64());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let outcome = runtime.block_on(bench(&sims));
    sims.shutdown();
    outcome
}

/// Both simulators, each on its own single-threaded runtime.
struct Sims {
    jira: JiraSim,
    servicenow: ServiceNowSim,
    jira_runtime: Runtime,
    servicenow_runtime: Runtime,
}

impl Sims {
    fn start(items: Vec<GeneratedItem>) -> anyhow::Result<Sims> {
        let runtime = |name: &str| {
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name(name).enable_all().build()
        };
        let (jira_runtime, servicenow_runtime) = (runtime("jira-sim")?, runtime("servicenow-sim")?);
        let faults = FaultSpec { latency: LATENCY, ..FaultSpec::default() };
        let jira = jira_runtime.block_on(JiraSim::start(JiraOptions {
            items: items.clone(),
            faults: faults.clone(),
            ..JiraOptions::default()
        }))?;
        let servicenow = servicenow_runtime.block_on(ServiceNowSim::start(ServiceNowOptions {
            items,
            faults,
            seed: SEED,
            ..Default::default()
        }))?;
        Ok(Sims { jira, servicenow, jira_runtime, servicenow_runtime })
    }

    fn logs(&self) -> [(&'static str, RequestLog); 2] {
        [("jira", self.jira.log()), ("servicenow", self.servicenow.log())]
    }

    fn shutdown(self) {
        self.jira_runtime.block_on(self.jira.shutdown());
        self.servicenow_runtime.block_on(self.servicenow.shutdown());
    }
}

async fn bench(sims: &Sims) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = write_config(sims, dir.path())?;
    let logs = sims.logs();

    println!("\nfull sync (twotrack sync, release binary)");
    let full = run_sync(&config, &[]).await?;
    print!("{}", full.stdout);
    let traffic: Vec<Traffic> = logs.iter().map(|(name, log)| Traffic::of(name, log)).collect();
    for t in &traffic {
        t.print();
    }
    let stored = Mirror::open(&dir.path().join("mirror"))?.count(None)?;
    let requests: usize = traffic.iter().map(|t| t.requests).sum();
    let latency_floor = traffic.iter().map(|t| LATENCY * t.requests as u32).max().unwrap_or_default();
    let answer_floor = traffic.iter().map(|t| t.answering).max().unwrap_or_default();
    let naive = LATENCY.mul_f64(requests as f64 / 2.0);
    let wall = full.wall.as_secs_f64();
    println!("  items stored           {stored:>8}");
    println!("  wall time              {wall:>8.2} s");
    println!("  items/s                {:>8.0}", stored as f64 / wall);
    println!("  peak RSS               {:>8.1} MB", full.peak_rss_kb as f64 / 1024.0);
    println!(
        "  twotrack CPU time      {:>8.2} s  ({:.0}% of one core)",
        full.cpu_seconds,
        100.0 * full.cpu_seconds / wall
    );
    println!(
        "  wall / (requests x latency / 2 trackers = {:.2} s)            {:>6.2} x",
        naive.as_secs_f64(),
        wall / naive.as_secs_f64()
    );
    println!(
        "  wall / (slowest tracker's requests x latency = {:.2} s)       {:>6.2} x",
        latency_floor.as_secs_f64(),
        wall / latency_floor.as_secs_f64()
    );
    println!(
        "  wall / (slowest tracker's simulator answer time = {:.2} s)    {:>6.2} x",
        answer_floor.as_secs_f64(),
        wall / answer_floor.as_secs_f64()
    );

    println!("\neach tracker alone (twotrack sync --tracker NAME into an empty mirror: no other simulator busy)");
    let alone = tempfile::tempdir()?;
    let alone_config = write_config(sims, alone.path())?;
    for (name, log) in &logs {
        clear(&logs);
        let run = run_sync(&alone_config, &["--tracker", name]).await?;
        let t = Traffic::of(name, log);
        t.print();
        println!(
            "  {:<12} wall {:.2} s: {:.2} x requests x latency ({:.2} s), {:.2} x the simulator's answer time; peak RSS {:.1} MB, CPU {:.2} s",
            "",
            run.wall.as_secs_f64(),
            run.wall.as_secs_f64() / (LATENCY * t.requests as u32).as_secs_f64(),
            (LATENCY * t.requests as u32).as_secs_f64(),
            run.wall.as_secs_f64() / t.answering.as_secs_f64(),
            run.peak_rss_kb as f64 / 1024.0,
            run.cpu_seconds,
        );
    }

    println!("\nno-change sync (twotrack sync, release binary: process start, mirror open, connectors cold)");
    clear(&logs);
    let again = run_sync(&config, &[]).await?;
    print!("{}", again.stdout);
    for (name, log) in &logs {
        Traffic::of(name, log).print();
    }
    let entries: Vec<_> = logs.iter().flat_map(|(_, log)| log.entries()).collect();
    let first = entries.iter().map(|e| e.at).min().context("no requests")?;
    let last = entries.iter().map(|e| e.at + e.elapsed).max().context("no requests")?;
    println!("  wall time              {:>8.1} ms", ms(again.wall));
    println!("    process start to the first request  {:>6.1} ms", ms(first.saturating_duration_since(again.started)));
    println!("    first request to the last answer    {:>6.1} ms", ms(last.saturating_duration_since(first)));
    println!("    last answer to the process exit     {:>6.1} ms", ms(again.ended.saturating_duration_since(last)));
    println!("  twotrack CPU time      {:>8.1} ms", again.cpu_seconds * 1000.0);
    println!("  peak RSS               {:>8.1} MB", again.peak_rss_kb as f64 / 1024.0);

    println!("\nno-change sync (library, in process, connectors warm)");
    let started = Instant::now();
    let mirror = Mirror::open(&dir.path().join("mirror"))?;
    let opened = started.elapsed();
    let loaded = twotrack::config::load(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let registry = Registry::build(&loaded)?;
    check(&sync_all(&registry, &mirror, &SyncOptions::default()).await)?; // warms Jira's myself and field
    clear(&logs);
    let started = Instant::now();
    let results = sync_all(&registry, &mirror, &SyncOptions::default()).await;
    let wall = started.elapsed();
    check(&results)?;
    println!("  open the mirror        {:>8.1} ms", ms(opened));
    for r in &results {
        let log = &logs.iter().find(|(name, _)| *name == r.tracker).context("unknown tracker")?.1;
        let answering: Duration = log.entries().iter().map(|e| e.elapsed).sum();
        println!(
            "  {:<12} {} requests in {:.1} ms: {:.1} ms answering, {:.1} ms local  (pulled {}, new {}, changed {})",
            r.tracker,
            log.len(),
            ms(r.duration),
            ms(answering),
            ms(r.duration.saturating_sub(answering)),
            r.pulled,
            r.new,
            r.changed
        );
    }
    println!("  wall time              {:>8.1} ms", ms(wall));
    println!("\nthis process (simulators + generated backlog): peak RSS {:.1} MB", vm_hwm_kb("self")? as f64 / 1024.0);
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn clear(logs: &[(&str, RequestLog)]) {
    for (_, log) in logs {
        log.clear();
    }
}

fn check(results: &[TrackerSync]) -> anyhow::Result<()> {
    match results.iter().find_map(|r| r.error.as_ref().map(|e| (r.tracker.as_str(), e))) {
        Some((tracker, error)) => anyhow::bail!("{tracker} failed: {error}"),
        None => Ok(()),
    }
}

/// One simulator's view of a sync.
struct Traffic {
    name: String,
    requests: usize,
    /// Requests per scope, e.g. `search 1000` or `incident 106, sc_req_item 70, ...`.
    scopes: String,
    /// From the first request's arrival to the last answer.
    span: Duration,
    /// The sum of the simulator's answer times (latency included); the requests of one tracker do not
    /// overlap, so `span - answering` is the time twotrack spent between an answer and its next request.
    answering: Duration,
}

impl Traffic {
    fn of(name: &str, log: &RequestLog) -> Traffic {
        let entries = log.entries();
        let answering = entries.iter().map(|e| e.elapsed).sum();
        let span = match (entries.iter().map(|e| e.at).min(), entries.iter().map(|e| e.at + e.elapsed).max()) {
            (Some(first), Some(last)) => last - first,
            _ => Duration::ZERO,
        };
        let count = |path: &str| entries.iter().filter(|e| e.path == path).count();
        let scopes: Vec<String> = if name == "jira" {
            vec![format!("search {}", count("/rest/api/3/search/jql"))]
        } else {
            TABLES.iter().map(|t| format!("{t} {}", count(&format!("/api/now/table/{t}")))).collect()
        };
        Traffic { name: name.to_string(), requests: entries.len(), scopes: scopes.join(", "), span, answering }
    }

    fn print(&self) {
        let per_request = |d: Duration| ms(d) / self.requests.max(1) as f64;
        println!(
            "  {:<12} {:>5} requests ({}) in {:.2} s = simulator answering {:.2} s ({:.1} ms/request) + twotrack between requests {:.2} s ({:.1} ms/request)",
            self.name,
            self.requests,
            self.scopes,
            self.span.as_secs_f64(),
            self.answering.as_secs_f64(),
            per_request(self.answering),
            self.span.saturating_sub(self.answering).as_secs_f64(),
            per_request(self.span.saturating_sub(self.answering)),
        );
    }
}

/// A finished child sync.
struct ChildRun {
    started: Instant,
    ended: Instant,
    wall: Duration,
    peak_rss_kb: u64,
    cpu_seconds: f64,
    stdout: String,
}

/// Run `twotrack sync <args>` to completion, polling its peak RSS and CPU time.
async fn run_sync(config: &Path, args: &[&str]) -> anyhow::Result<ChildRun> {
    let started = Instant::now();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_twotrack"))
        .arg("--config")
        .arg(config)
        .args(["-q", "sync"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("the child has no pid")?.to_string();
    let mut stdout = child.stdout.take().context("no stdout")?;
    let reader = tokio::spawn(async move {
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut text).await.map(|_| text)
    });
    let (mut peak_rss_kb, mut cpu_seconds) = (0, 0.0);
    let status = loop {
        // Both only grow; the last reading before the exit is within one poll of the final value.
        if let Ok(kb) = vm_hwm_kb(&pid) {
            peak_rss_kb = peak_rss_kb.max(kb);
        }
        if let Ok(cpu) = cpu_seconds_of(&pid) {
            cpu_seconds = f64::max(cpu_seconds, cpu);
        }
        tokio::select! {
            status = child.wait() => break status?,
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    };
    let ended = Instant::now();
    let wall = ended - started;
    let stdout = reader.await??;
    anyhow::ensure!(status.success(), "twotrack sync failed ({status}):\n{stdout}");
    Ok(ChildRun { started, ended, wall, peak_rss_kb, cpu_seconds, stdout })
}

/// `VmHWM` (peak resident set) of `/proc/<pid>/status`, in kB.
fn vm_hwm_kb(pid: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM")?;
    Ok(line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse()?)
}

/// User plus system CPU time of all threads of a process (`/proc/<pid>/stat` fields 14 and 15).
fn cpu_seconds_of(pid: &str) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces; the fields after it are plain numbers.
    let rest = stat.rsplit_once(')').context("unreadable stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> { Ok(fields.get(i).context("short stat")?.parse::<f64>()?) };
    // After the name: field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
    Ok((ticks(11)? + ticks(12)?) / TICKS_PER_SECOND)
}

/// `dir/twotrack.toml` for the simulators: every generated table, a rate limit far above what is reached.
fn write_config(sims: &Sims, dir: &Path) -> anyhow::Result<PathBuf> {
    let (user, token) = SimAuth::default().basic.context("the simulators' default credentials")?;
    std::fs::create_dir_all(dir.join("secrets"))?;
    std::fs::write(dir.join("secrets").join("sim-token"), format!("{token}\n"))?;
    let tracker = |name: &str, kind: &str, role: &str, url: String, scope: String| {
        format!(
            "[[tracker]]\nname = \"{name}\"\nkind = \"{kind}\"\nrole = \"{role}\"\nbase_url = \"{url}\"\n\n\
             [tracker.auth]\nuser = \"{user}\"\ntoken = {{ file = \"secrets/sim-token\" }}\n\n\
             [tracker.rate]\nper_second = 100000.0\nburst = 10000\n\n[tracker.scope]\n{scope}\n\n"
        )
    };
    let tables: Vec<String> = TABLES.iter().map(|t| format!("{t:?}")).collect();
    let text = format!(
        "{}{}[mirror]\npath = \"mirror\"\n",
        tracker("jira", "jira", "product", sims.jira.base_url(), "projects = [\"SHOP\"]".into()),
        tracker(
            "servicenow",
            "servicenow",
            "service",
            sims.servicenow.base_url(),
            format!("tables = [{}]", tables.join(", "))
        ),
    );
    let path = dir.join("twotrack.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}
