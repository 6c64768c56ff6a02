//! Partitioned, concurrent pulls against slow simulators (issue 13): `cargo bench --bench pull` prints
//! figures (a plain `main`; never a timed test).
//!
//! 1. A first `twotrack sync` (the release binary, a child process) of `PULL_BENCH_ITEMS` (default 100,000)
//!    Jira issues and as many ServiceNow records, every request 100 ms late, concurrency 8 per tracker and
//!    a client-side rate limit far above what 8 streams need. Figures: wall time against requests x
//!    latency / concurrency per tracker (the trackers run side by side, so the slower one bounds the sync)
//!    and against the simulators' own answer times / concurrency, peak RSS (target < 150 MB).
//! 2. The same pull into a new mirror with a server-side rate limit of 20 requests/s on each simulator
//!    (and the tracker's `rate.per_second = 20`): the busiest second of each simulator's log (target: never
//!    more than 20), the 429s, and the wall time against requests / 20 s (target within 1.2x).
//! 3. The same pull with pycontribs `jira` (enhanced search, every page) and `pysnow` (every table, every
//!    page), in a virtual environment this benchmark creates (`target/pull-bench-venv`, `pip install jira
//!    pysnow`), through `scripts/pull_bench_clients.py`; when it cannot be installed (no network) it says
//!    so and the twotrack side stands alone.
//! 4. How the ratio grows with concurrency: the same first sync at `concurrency` 1, 2 and 4 (8 is step 1)
//!    against the Python clients' times (`PULL_BENCH_SWEEP=1,2,4` sets the values; empty skips it).
//!
//! 5. Each tracker's first sync alone (`sync --tracker`), against its own requests x latency / concurrency:
//!    what the trackers cost each other on a machine they share with both simulators.
//!
//! `PULL_BENCH_STEPS=1,3` runs only those steps (default all five; step 1 always runs: the others compare
//! with it). The machine's load average (`/proc/loadavg`) is printed when the benchmark starts and after
//! each step: on a shared machine the figures mean little without it. `PULL_BENCH_DUMP=<file>` writes
//! both simulators' request logs of step 1 there, a line a request (tracker, milliseconds since its
//! first request, answer time in milliseconds, status, path, query), to see how the streams ran.

mod support;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use support::{SEED, Sims, TABLES, run_sync, write_config_with};
use twotrack_sim::SimAuth;
use twotrack_sim::faults::FaultSpec;
use twotrack_sim::generator::{GenOptions, generate};
use twotrack_sim::log::RequestLog;

const LATENCY: Duration = Duration::from_millis(100);
const CONCURRENCY: u32 = 8;
const SERVER_RATE: f64 = 20.0;

fn main() -> anyhow::Result<()> {
    let per_tracker: usize = match std::env::var("PULL_BENCH_ITEMS") {
        Ok(n) => n.parse().context("PULL_BENCH_ITEMS must be a number")?,
        Err(_) => 100_000,
    };
    println!(
        "pull benchmark: {per_tracker} items per tracker, {} ms latency, concurrency {CONCURRENCY}; {}",
        LATENCY.as_millis(),
        support::load_average()
    );
    let items = generate(&GenOptions { seed: SEED, items_per_tracker: per_tracker, misfiled_share: 0.15 });
    let sims = Sims::start(items, FaultSpec { latency: LATENCY, ..FaultSpec::default() })?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let outcome = runtime.block_on(bench(&sims));
    sims.shutdown();
    outcome
}

/// One tracker's requests in a simulator's log.
struct Traffic {
    name: &'static str,
    requests: usize,
    answering: Duration,
    throttled: usize,
    busiest_second: usize,
}

impl Traffic {
    fn of(name: &'static str, log: &RequestLog) -> Traffic {
        let entries = log.entries();
        Traffic {
            name,
            requests: entries.len(),
            answering: entries.iter().map(|e| e.elapsed).sum(),
            throttled: entries.iter().filter(|e| e.status == 429).count(),
            busiest_second: log.max_requests_in_window(Duration::from_secs(1)),
        }
    }
}

fn traffic(sims: &Sims) -> Vec<Traffic> {
    sims.logs().iter().map(|(name, log)| Traffic::of(name, log)).collect()
}

fn clear(sims: &Sims) {
    for (_, log) in sims.logs() {
        log.clear();
    }
}

/// Each tracker's `in X.Ys`, when its summary line says it.
type TrackerSeconds = Vec<(&'static str, Option<f64>)>;

/// The `in X.Ys` of `tracker`'s summary line.
fn tracker_seconds(stdout: &str, tracker: &str) -> Option<f64> {
    let line = stdout.lines().find(|l| l.split_whitespace().next() == Some(tracker))?;
    line.rsplit_once(" in ")?.1.trim().trim_end_matches('s').parse().ok()
}

/// Whether `PULL_BENCH_STEPS` (a comma-separated list; unset = every step) asks for `step`.
fn wanted(step: u32) -> bool {
    match std::env::var("PULL_BENCH_STEPS") {
        Ok(list) => step == 1 || list.split(',').any(|s| s.trim() == step.to_string()),
        Err(_) => true,
    }
}

async fn bench(sims: &Sims) -> anyhow::Result<()> {
    let concurrency = format!("concurrency = {CONCURRENCY}");

    // 1. Unthrottled.
    let dir = tempfile::tempdir()?;
    let config = write_config_with(sims, dir.path(), &concurrency, 100_000.0, 10_000)?;
    clear(sims);
    let run = run_sync(&config, &[]).await?;
    print!("{}", run.stdout);
    let seen = traffic(sims);
    if let Ok(path) = std::env::var("PULL_BENCH_DUMP") {
        let mut out = String::new();
        for (name, log) in sims.logs() {
            let entries = log.entries();
            let Some(first) = entries.iter().map(|e| e.at).min() else { continue };
            for e in &entries {
                out.push_str(&format!(
                    "{name}\t{}\t{}\t{}\t{}\t{}\n",
                    (e.at - first).as_millis(),
                    e.elapsed.as_millis(),
                    e.status,
                    e.path,
                    e.query
                ));
            }
        }
        std::fs::write(path, out)?;
    }
    let mut bound = Duration::ZERO;
    println!("\n1. first sync, {} ms latency, concurrency {CONCURRENCY}", LATENCY.as_millis());
    for t in &seen {
        let nominal = LATENCY.mul_f64(t.requests as f64 / f64::from(CONCURRENCY));
        let answered = t.answering.div_f64(f64::from(CONCURRENCY));
        bound = bound.max(nominal);
        println!(
            "   {:<10} {:>6} requests  requests x latency / {CONCURRENCY} = {:>6.2} s  answer time / {CONCURRENCY} = {:>6.2} s  ({:.1} ms a request)",
            t.name,
            t.requests,
            nominal.as_secs_f64(),
            answered.as_secs_f64(),
            t.answering.as_secs_f64() * 1000.0 / t.requests.max(1) as f64,
        );
    }
    println!(
        "   wall {:.2} s = {:.2}x the slower tracker's requests x latency / {CONCURRENCY} ({:.2} s); peak RSS {:.1} MB; CPU {:.1} s",
        run.wall.as_secs_f64(),
        run.wall.as_secs_f64() / bound.as_secs_f64(),
        bound.as_secs_f64(),
        run.peak_rss_kb as f64 / 1024.0,
        run.cpu_seconds
    );
    println!("   {}", support::load_average());
    let twotrack_seconds: TrackerSeconds =
        ["jira", "servicenow"].iter().map(|t| (*t, tracker_seconds(&run.stdout, t))).collect();

    // 2. A server-side rate limit of 20 requests/s on each simulator.
    if wanted(2) {
        throttled(sims, &concurrency).await?;
    }

    // 3. The Python clients.
    let python = if wanted(3) { python_step(sims, &twotrack_seconds).await } else { Err(anyhow::anyhow!("not run")) };

    // 4. The ratio against concurrency.
    if wanted(4) {
        sweep(sims, &python, twotrack_seconds, run.wall).await?;
    }

    // 5. Each tracker alone.
    if wanted(5) {
        alone(sims, &concurrency).await?;
    }
    Ok(())
}

/// Step 5: the first sync of each tracker alone (`sync --tracker`), into a new mirror each, against its
/// own requests x latency / concurrency: what the two trackers cost each other on a shared machine (both
/// simulators and both trackers' streams run on the same cores).
async fn alone(sims: &Sims, concurrency: &str) -> anyhow::Result<()> {
    println!(
        "
5. each tracker alone, {} ms latency, concurrency {CONCURRENCY}",
        LATENCY.as_millis()
    );
    for tracker in ["jira", "servicenow"] {
        let dir = tempfile::tempdir()?;
        let config = write_config_with(sims, dir.path(), concurrency, 100_000.0, 10_000)?;
        clear(sims);
        let run = run_sync(&config, &["--tracker", tracker]).await?;
        let seen = traffic(sims);
        let Some(t) = seen.iter().find(|t| t.name == tracker) else { continue };
        let nominal = LATENCY.mul_f64(t.requests as f64 / f64::from(CONCURRENCY));
        println!(
            "   {tracker:<10} {:>6} requests  wall {:>6.2} s = {:.2}x requests x latency / {CONCURRENCY} ({:.2} s); answer time / {CONCURRENCY} = {:.2} s; peak RSS {:.1} MB",
            t.requests,
            run.wall.as_secs_f64(),
            run.wall.as_secs_f64() / nominal.as_secs_f64(),
            nominal.as_secs_f64(),
            t.answering.div_f64(f64::from(CONCURRENCY)).as_secs_f64(),
            run.peak_rss_kb as f64 / 1024.0,
        );
    }
    println!("   {}", support::load_average());
    Ok(())
}

/// Step 2: the pull against a server-side limit of [`SERVER_RATE`] requests/s.
async fn throttled(sims: &Sims, concurrency: &str) -> anyhow::Result<()> {
    let limited = FaultSpec { latency: LATENCY, server_rate_limit: Some((SERVER_RATE, 1)), ..FaultSpec::default() };
    sims.jira.faults().set(limited.clone());
    sims.servicenow.faults().set(limited);
    let dir2 = tempfile::tempdir()?;
    let config2 = write_config_with(sims, dir2.path(), concurrency, SERVER_RATE, 1)?;
    clear(sims);
    let run2 = run_sync(&config2, &[]).await?;
    print!("{}", run2.stdout);
    println!(
        "\n2. the same pull, server-side limit {SERVER_RATE} requests/s per simulator, rate.per_second = {SERVER_RATE}"
    );
    let seen = traffic(sims);
    let slowest = seen.iter().map(|t| t.requests).max().unwrap_or_default();
    for t in &seen {
        println!(
            "   {:<10} {:>6} requests  busiest second {:>3}  429s {:>3}  requests / {SERVER_RATE} = {:>6.2} s",
            t.name,
            t.requests,
            t.busiest_second,
            t.throttled,
            t.requests as f64 / SERVER_RATE
        );
    }
    let floor = slowest as f64 / SERVER_RATE;
    println!(
        "   wall {:.2} s = {:.2}x the busier simulator's requests / {SERVER_RATE} ({floor:.2} s); peak RSS {:.1} MB",
        run2.wall.as_secs_f64(),
        run2.wall.as_secs_f64() / floor,
        run2.peak_rss_kb as f64 / 1024.0
    );
    println!("   {}", support::load_average());
    sims.jira.faults().set(FaultSpec { latency: LATENCY, ..FaultSpec::default() });
    sims.servicenow.faults().set(FaultSpec { latency: LATENCY, ..FaultSpec::default() });
    Ok(())
}

/// The Python clients' lines (tracker, items, seconds).
type PythonLines = anyhow::Result<Vec<(String, usize, f64)>>;

/// Step 3: the Python clients, against twotrack's times of step 1.
async fn python_step(sims: &Sims, twotrack_seconds: &TrackerSeconds) -> PythonLines {
    println!("\n3. pycontribs jira and pysnow, {} ms latency, one page after the other", LATENCY.as_millis());
    let python = python_clients(sims).await;
    match &python {
        Ok(lines) => {
            for (tracker, items, seconds) in lines.iter().cloned() {
                let ours = twotrack_seconds.iter().find(|(t, _)| *t == tracker).and_then(|(_, s)| *s);
                match ours {
                    Some(ours) => println!(
                        "   {tracker:<10} {items:>7} items in {seconds:>7.2} s; twotrack {ours:>6.2} s: {:.1}x faster",
                        seconds / ours
                    ),
                    None => println!("   {tracker:<10} {items:>7} items in {seconds:>7.2} s"),
                }
            }
        }
        Err(e) => println!("   not run: {e:#}"),
    }
    println!("   {}", support::load_average());
    python
}

/// Step 4: the first sync at the concurrencies of `PULL_BENCH_SWEEP` against the Python clients.
async fn sweep(sims: &Sims, python: &PythonLines, at_8: TrackerSeconds, wall_8: Duration) -> anyhow::Result<()> {
    let sweep: Vec<u32> = match std::env::var("PULL_BENCH_SWEEP") {
        Ok(list) => {
            list.split(',').filter(|v| !v.trim().is_empty()).map(|v| v.trim().parse()).collect::<Result<_, _>>()?
        }
        Err(_) => vec![1, 2, 4],
    };
    if sweep.is_empty() {
        return Ok(());
    }
    println!(
        "\n4. twotrack's first sync by concurrency, {} ms latency; the Python clients' time / twotrack's",
        LATENCY.as_millis()
    );
    let python_seconds = |tracker: &str| {
        python.as_ref().ok().and_then(|lines| lines.iter().find(|(t, _, _)| t == tracker).map(|(_, _, s)| *s))
    };
    let mut rows: Vec<(u32, TrackerSeconds, Duration)> = Vec::new();
    for concurrency in sweep {
        let dir = tempfile::tempdir()?;
        let config = write_config_with(sims, dir.path(), &format!("concurrency = {concurrency}"), 100_000.0, 10_000)?;
        let swept = run_sync(&config, &[]).await?;
        let seconds = ["jira", "servicenow"].iter().map(|t| (*t, tracker_seconds(&swept.stdout, t))).collect();
        rows.push((concurrency, seconds, swept.wall));
    }
    rows.push((CONCURRENCY, at_8, wall_8));
    rows.sort_by_key(|(c, _, _)| *c);
    for (concurrency, seconds, wall) in rows {
        let cells: Vec<String> = seconds
            .iter()
            .map(|(tracker, ours)| match (ours, python_seconds(tracker)) {
                (Some(ours), Some(theirs)) => format!("{tracker} {ours:>6.2} s ({:>4.1}x)", theirs / ours),
                (Some(ours), None) => format!("{tracker} {ours:>6.2} s"),
                _ => format!("{tracker} ?"),
            })
            .collect();
        println!("   concurrency {concurrency:>2}: {}; wall {:.2} s", cells.join("  "), wall.as_secs_f64());
    }
    println!("   {}", support::load_average());
    Ok(())
}

/// Run `scripts/pull_bench_clients.py` in the benchmark's own virtual environment (created on first use).
async fn python_clients(sims: &Sims) -> PythonLines {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join("target").join("pull-bench-venv");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        let created = tokio::process::Command::new("python3").arg("-m").arg("venv").arg(&venv).status().await?;
        anyhow::ensure!(created.success(), "python3 -m venv {} failed ({created})", venv.display());
    }
    let install =
        tokio::process::Command::new(&python).args(["-m", "pip", "install", "-q", "jira", "pysnow"]).output().await?;
    anyhow::ensure!(
        install.status.success(),
        "pip install jira pysnow failed ({}): {}",
        install.status,
        String::from_utf8_lossy(&install.stderr).trim()
    );
    let (user, token) = SimAuth::default().basic.context("the simulators' default credentials")?;
    let output = tokio::process::Command::new(&python)
        .arg(root.join("scripts").join("pull_bench_clients.py"))
        .args([sims.jira.base_url(), sims.servicenow.base_url(), user, token, TABLES.join(",")])
        .output()
        .await?;
    anyhow::ensure!(output.status.success(), "the Python clients failed: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let parse = |line: &str| -> Option<(String, usize, f64)> {
        let mut words = line.split_whitespace();
        Some((words.next()?.to_string(), words.next()?.parse().ok()?, words.next()?.parse().ok()?))
    };
    Ok(stdout.lines().filter_map(parse).collect())
}
