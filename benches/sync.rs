//! Sync throughput against the simulators: `cargo bench --bench sync` prints figures (a plain `main`).
//!
//! 1. A full `twotrack sync` (the release binary, a child process) of 100,000 Jira issues and 100,000
//!    ServiceNow records from the simulators, which add 20 ms of latency to every request; the client-side
//!    rate limit is set far above what is reached. Figures: wall time, items/s, requests made (from the
//!    simulators' logs), the time the simulators spent answering, the child's peak RSS (VmHWM, polled), and
//!    the wall time against the network floor: each tracker pulls its scopes and pages one after the
//!    other, so its floor is its requests x latency, and the trackers run concurrently.
//! 2. A no-change incremental sync over that 200k mirror, twice: as a `twotrack sync` child (what a user
//!    waits for, process start and mirror open included), and in this process through the library with
//!    warmed connectors, where the local work is the sync's duration minus the simulators' answer times.
//!
//! `SYNC_BENCH_ITEMS` (default 100000) sets the items per tracker, for a quick run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use twotrack::demo::{World, WorldOptions};
use twotrack::mirror::Mirror;
use twotrack::registry::Registry;
use twotrack::sync::{SyncOptions, TrackerSync, sync_all};
use twotrack_sim::faults::FaultSpec;
use twotrack_sim::generator::{GenOptions, generate};
use twotrack_sim::log::RequestLog;

const LATENCY: Duration = Duration::from_millis(20);
const SEED: u64 = 42;
const TABLES: [&str; 6] = ["incident", "sc_req_item", "sc_task", "rm_story", "rm_defect", "rm_enhancement"];

fn main() -> anyhow::Result<()> {
    let per_tracker: usize = match std::env::var("SYNC_BENCH_ITEMS") {
        Ok(n) => n.parse().context("SYNC_BENCH_ITEMS must be a number")?,
        Err(_) => 100_000,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(bench(per_tracker))
}

async fn bench(per_tracker: usize) -> anyhow::Result<()> {
    println!("sync benchmark: {per_tracker} items per tracker, {} ms latency per request", LATENCY.as_millis());

    let started = Instant::now();
    let items = generate(&GenOptions { seed: SEED, items_per_tracker: per_tracker, misfiled_share: 0.15 });
    println!("generate                 {:>8.2} s  ({} items)", started.elapsed().as_secs_f64(), items.len());
    let started = Instant::now();
    let latency = FaultSpec { latency: LATENCY, ..FaultSpec::default() };
    let world = World::start(&WorldOptions { items_from: Some(items), faults: latency, ..WorldOptions::default() })
        .await
        .context("starting the simulators")?;
    println!("load the simulators      {:>8.2} s", started.elapsed().as_secs_f64());
    let dir = tempfile::tempdir()?;
    let config = write_config(&world, dir.path())?;
    let logs = [("jira", world.jira.log()), ("servicenow", world.servicenow.log())];

    println!("\nfull sync (twotrack sync, release binary)");
    let full = run_sync(&config).await?;
    print!("{}", full.stdout);
    let synced = Mirror::open(&dir.path().join("mirror"))?.count(None)?;
    let floors = report_traffic(&logs, full.wall);
    let floor = floors.iter().copied().fold(Duration::ZERO, Duration::max);
    let requests: usize = logs.iter().map(|(_, log)| log.len()).sum();
    let naive = LATENCY.mul_f64(requests as f64 / 2.0);
    println!("  items stored           {synced:>8}");
    println!("  wall time              {:>8.2} s", full.wall.as_secs_f64());
    println!("  items/s                {:>8.0}", synced as f64 / full.wall.as_secs_f64());
    println!("  peak RSS               {:>8.1} MB", full.peak_rss_kb as f64 / 1024.0);
    println!(
        "  vs network floor       {:>8.2} x  (slowest tracker's requests x latency = {:.2} s)",
        full.wall.as_secs_f64() / floor.as_secs_f64(),
        floor.as_secs_f64()
    );
    println!(
        "  vs requests x latency / 2 {:>5.2} x  (all {requests} requests over 2 concurrent trackers = {:.2} s)",
        full.wall.as_secs_f64() / naive.as_secs_f64(),
        naive.as_secs_f64()
    );

    println!("\nno-change sync (twotrack sync, release binary: process start, mirror open, connectors cold)");
    clear(&logs);
    let again = run_sync(&config).await?;
    print!("{}", again.stdout);
    report_traffic(&logs, again.wall);
    println!("  wall time              {:>8.3} s", again.wall.as_secs_f64());
    println!("  peak RSS               {:>8.1} MB", again.peak_rss_kb as f64 / 1024.0);

    println!("\nno-change sync (library, in process, connectors warm)");
    let started = Instant::now();
    let mirror = Mirror::open(&dir.path().join("mirror"))?;
    let opened = started.elapsed();
    let loaded = twotrack::config::load(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let registry = Registry::build(&loaded)?;
    sync_all(&registry, &mirror, &SyncOptions::default()).await; // warms the connectors (Jira: myself, field)
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
            "  {:<12} {:>3} requests  {:>6.1} ms in all, {:>6.1} ms answering, {:>5.1} ms local  (pulled {}, new {}, changed {})",
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
    println!("\nthis process (simulators + generated backlog) peak RSS {:.1} MB", vm_hwm_kb("self")? as f64 / 1024.0);
    world.shutdown().await;
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

/// Print each simulator's requests and answer times; returns each tracker's network floor.
fn report_traffic(logs: &[(&str, RequestLog)], wall: Duration) -> Vec<Duration> {
    logs.iter()
        .map(|(name, log)| {
            let entries = log.entries();
            let answering: Duration = entries.iter().map(|e| e.elapsed).sum();
            let floor = LATENCY * entries.len() as u32;
            let scopes: Vec<String> = if *name == "servicenow" {
                TABLES
                    .iter()
                    .map(|t| {
                        let path = format!("/api/now/table/{t}");
                        format!("{t} {}", entries.iter().filter(|e| e.path == path).count())
                    })
                    .collect()
            } else {
                vec![format!("search {}", entries.iter().filter(|e| e.path.ends_with("/search/jql")).count())]
            };
            println!(
                "  {name:<12} {:>6} requests ({}); simulator answering {:.2} s ({:.1} ms/request), floor {:.2} s; client side {:.2} s",
                entries.len(),
                scopes.join(", "),
                answering.as_secs_f64(),
                ms(answering) / entries.len().max(1) as f64,
                floor.as_secs_f64(),
                wall.saturating_sub(answering).as_secs_f64(),
            );
            floor
        })
        .collect()
}

/// A finished child sync.
struct ChildRun {
    wall: Duration,
    peak_rss_kb: u64,
    stdout: String,
}

/// Run `twotrack sync` to completion, polling its peak RSS.
async fn run_sync(config: &Path) -> anyhow::Result<ChildRun> {
    let started = Instant::now();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_twotrack"))
        .arg("--config")
        .arg(config)
        .args(["-q", "sync"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("the child has no pid")?.to_string();
    let mut stdout = child.stdout.take().context("no stdout")?;
    let reader = tokio::spawn(async move {
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut text).await.map(|_| text)
    });
    let mut peak_rss_kb = 0;
    let status = loop {
        if let Ok(kb) = vm_hwm_kb(&pid) {
            peak_rss_kb = peak_rss_kb.max(kb);
        }
        tokio::select! {
            status = child.wait() => break status?,
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
    };
    let wall = started.elapsed();
    let stdout = reader.await??;
    anyhow::ensure!(status.success(), "twotrack sync failed ({status}):\n{stdout}");
    Ok(ChildRun { wall, peak_rss_kb, stdout })
}

/// `VmHWM` (peak resident set) of `/proc/<pid>/status`, in kB.
fn vm_hwm_kb(pid: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM")?;
    let kb = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim();
    Ok(kb.parse()?)
}

/// `dir/twotrack.toml` for the simulators: every generated table, a rate limit far above what is reached.
fn write_config(world: &World, dir: &Path) -> anyhow::Result<PathBuf> {
    let (user, token) = world.basic();
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
        tracker("jira", "jira", "product", world.jira.base_url(), "projects = [\"SHOP\"]".into()),
        tracker(
            "servicenow",
            "servicenow",
            "service",
            world.servicenow.base_url(),
            format!("tables = [{}]", tables.join(", "))
        ),
    );
    let path = dir.join("twotrack.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}
