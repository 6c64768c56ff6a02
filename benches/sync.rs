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

use std::time::{Duration, Instant};

mod support;

use anyhow::Context;
use support::{SEED, Sims, TABLES, run_sync, vm_hwm_kb, write_config};
use twotrack::mirror::Mirror;
use twotrack::registry::Registry;
use twotrack::sync::{SyncOptions, TrackerSync, sync_all};
use twotrack_sim::faults::FaultSpec;
use twotrack_sim::generator::{GenOptions, generate};
use twotrack_sim::log::RequestLog;

const LATENCY: Duration = Duration::from_millis(20);

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
    let sims = Sims::start(items, FaultSpec { latency: LATENCY, ..FaultSpec::default() })?;
    println!("load the simulators      {:>8.2} s", started.elapsed().as_secs_f64());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let outcome = runtime.block_on(bench(&sims));
    sims.shutdown();
    outcome
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
