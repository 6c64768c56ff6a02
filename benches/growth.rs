//! Growth: how `twotrack sync` and `twotrack audit` grow with the items per tracker. A plain `main`
//! that prints figures (`cargo bench --bench growth`).
//!
//! For each size, the generator's backlog (N items per tracker, 15% misfiled each way) is loaded
//! straight into both simulators (no latency added), then two release-binary children run one after
//! the other, each with its wall time and peak RSS (`VmHWM`, polled from /proc):
//! 1. `twotrack sync` into an empty mirror;
//! 2. `twotrack audit --out audit.html`: the page lists the first 500 findings, and every finding goes
//!    beside it in `audit.findings.csv`.
//!
//! `GROWTH_ITEMS` sets the sizes, items per tracker, comma-separated (default `100000`; e.g.
//! `GROWTH_ITEMS=100000,200000,400000,1000000`). The simulators hold the generated items in the
//! benchmark process: about 5 GB at 1,000,000 per tracker.

use std::time::Instant;

mod support;

use anyhow::Context;
use support::{ChildRun, SEED, Sims, run_twotrack, write_config};
use twotrack_sim::faults::FaultSpec;
use twotrack_sim::generator::{GenOptions, generate};

/// One size's figures.
struct Row {
    per_tracker: usize,
    sync: ChildRun,
    audit: ChildRun,
    page_bytes: u64,
    csv_bytes: u64,
}

fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = match std::env::var("GROWTH_ITEMS") {
        Ok(list) => list
            .split(',')
            .map(|n| n.trim().replace('_', "").parse().context("GROWTH_ITEMS: numbers, comma-separated"))
            .collect::<anyhow::Result<_>>()?,
        Err(_) => vec![100_000],
    };
    let mut rows = Vec::new();
    for per_tracker in sizes {
        let started = Instant::now();
        let items = generate(&GenOptions { seed: SEED, items_per_tracker: per_tracker, misfiled_share: 0.15 });
        let sims = Sims::start(items, FaultSpec::default())?;
        println!("{per_tracker} items per tracker: generated and loaded in {:.1} s", started.elapsed().as_secs_f64());
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
        let row = runtime.block_on(measure(&sims, per_tracker));
        sims.shutdown();
        let row = row?;
        println!(
            "  sync  {:>7.1} s  peak RSS {:>6.0} MB\n  audit {:>7.1} s  peak RSS {:>6.0} MB  (page {:.2} MB, all findings as CSV {:.1} MB)",
            row.sync.wall.as_secs_f64(),
            row.sync.peak_rss_kb as f64 / 1024.0,
            row.audit.wall.as_secs_f64(),
            row.audit.peak_rss_kb as f64 / 1024.0,
            row.page_bytes as f64 / 1e6,
            row.csv_bytes as f64 / 1e6,
        );
        rows.push(row);
    }
    table(&rows);
    Ok(())
}

async fn measure(sims: &Sims, per_tracker: usize) -> anyhow::Result<Row> {
    let dir = tempfile::tempdir()?;
    let config = write_config(sims, dir.path())?;
    let sync = run_twotrack(&config, &["sync"]).await?;
    let page = dir.path().join("audit.html");
    let audit = run_twotrack(&config, &["audit", "--out", page.to_str().context("a UTF-8 temporary path")?]).await?;
    let size = |name: &str| std::fs::metadata(dir.path().join(name)).map(|m| m.len()).unwrap_or(0);
    Ok(Row { per_tracker, sync, audit, page_bytes: size("audit.html"), csv_bytes: size("audit.findings.csv") })
}

/// The figures side by side, each size against the first.
fn table(rows: &[Row]) {
    let Some(first) = rows.first() else { return };
    println!("\n| items per tracker | sync wall | sync peak RSS | audit wall | audit peak RSS | page | CSV |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let times = |a: f64, b: f64| if b > 0.0 { format!(" ({:.1}x)", a / b) } else { String::new() };
    for r in rows {
        let (sync, audit) = (r.sync.wall.as_secs_f64(), r.audit.wall.as_secs_f64());
        let (sync_mb, audit_mb) = (r.sync.peak_rss_kb as f64 / 1024.0, r.audit.peak_rss_kb as f64 / 1024.0);
        println!(
            "| {} | {sync:.1} s{} | {sync_mb:.0} MB{} | {audit:.1} s{} | {audit_mb:.0} MB{} | {:.2} MB | {:.1} MB |",
            r.per_tracker,
            times(sync, first.sync.wall.as_secs_f64()),
            times(sync_mb, first.sync.peak_rss_kb as f64 / 1024.0),
            times(audit, first.audit.wall.as_secs_f64()),
            times(audit_mb, first.audit.peak_rss_kb as f64 / 1024.0),
            r.page_bytes as f64 / 1e6,
            r.csv_bytes as f64 / 1e6,
        );
    }
}
