//! Growth: how `twotrack sync`, `twotrack audit` and `twotrack classify --site` grow with the items
//! per tracker. A plain `main` that prints figures (`cargo bench --bench growth`).
//!
//! For each size, the generator's backlog (N items per tracker, 15% misfiled each way) is loaded
//! straight into both simulators (no latency added), then release-binary children run one after the
//! other, each with its wall time and peak RSS (`VmHWM`, polled from /proc):
//! 1. `twotrack sync` into an empty mirror;
//! 2. `twotrack audit --out audit.html`: the page lists the first 500 findings, and every finding goes
//!    beside it in `audit.findings.csv`;
//! 3. `twotrack mirror export --out export.jsonl` (not timed), then `twotrack classify --site
//!    export.jsonl`: the whole export judged as one site, its verdicts thrown away.
//!
//! `GROWTH_ITEMS` sets the sizes, items per tracker, comma-separated (default `100000`; e.g.
//! `GROWTH_ITEMS=100000,200000,400000,1000000`). The simulators hold the generated items in the
//! benchmark process: about 5 GB at 1,000,000 per tracker.
//!
//! `GROWTH_KEEP=DIR` keeps each size's mirror and configuration in `DIR/<size>` and, when that mirror
//! was synced whole by an earlier run, audits it again without generating or syncing (the sync's
//! figures are then left out): to measure the audit alone, or to profile it
//! (`perf record target/release/twotrack --config DIR/<size>/twotrack.toml audit --out x.html`).

use std::path::Path;
use std::time::Instant;

mod support;

use anyhow::Context;
use support::{ChildRun, SEED, Sims, run_twotrack, run_twotrack_unread, write_config};
use twotrack_sim::faults::FaultSpec;
use twotrack_sim::generator::{GenOptions, generate};

/// One size's figures.
struct Row {
    per_tracker: usize,
    /// `None` when the mirror was kept from an earlier run.
    sync: Option<ChildRun>,
    audit: ChildRun,
    page_bytes: u64,
    csv_bytes: u64,
    /// `classify --site` of the mirror's export.
    classify: ChildRun,
}

fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = match std::env::var("GROWTH_ITEMS") {
        Ok(list) => list
            .split(',')
            .map(|n| n.trim().replace('_', "").parse().context("GROWTH_ITEMS: numbers, comma-separated"))
            .collect::<anyhow::Result<_>>()?,
        Err(_) => vec![100_000],
    };
    let keep = std::env::var_os("GROWTH_KEEP").map(std::path::PathBuf::from);
    let mut rows = Vec::new();
    for per_tracker in sizes {
        if let Some(dir) = keep.as_ref().map(|k| k.join(per_tracker.to_string()))
            && dir.join(SYNCED).exists()
        {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
            let row = runtime.block_on(audit_again(&dir, per_tracker))?;
            println!("{per_tracker} items per tracker: the mirror kept in {}", dir.display());
            print_audit(&row);
            rows.push(row);
            continue;
        }
        let started = Instant::now();
        let items = generate(&GenOptions { seed: SEED, items_per_tracker: per_tracker, misfiled_share: 0.15 });
        let sims = Sims::start(items, FaultSpec::default())?;
        println!("{per_tracker} items per tracker: generated and loaded in {:.1} s", started.elapsed().as_secs_f64());
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
        let kept = keep.as_ref().map(|k| k.join(per_tracker.to_string()));
        let row = runtime.block_on(measure(&sims, per_tracker, kept.as_deref()));
        sims.shutdown();
        let row = row?;
        if let Some(sync) = &row.sync {
            println!("  sync  {:>7.1} s  peak RSS {:>6.0} MB", sync.wall.as_secs_f64(), mb(sync.peak_rss_kb));
        }
        print_audit(&row);
        rows.push(row);
    }
    table(&rows);
    Ok(())
}

/// The marker a kept mirror gets once its sync finished.
const SYNCED: &str = "synced";

/// Sync into an empty mirror (in `keep`, or a temporary folder), then audit it.
async fn measure(sims: &Sims, per_tracker: usize, keep: Option<&Path>) -> anyhow::Result<Row> {
    let temporary = tempfile::tempdir()?;
    let dir = match keep {
        Some(dir) => {
            // A mirror whose sync did not finish is started again.
            let _ = std::fs::remove_dir_all(dir);
            std::fs::create_dir_all(dir)?;
            dir
        }
        None => temporary.path(),
    };
    let config = write_config(sims, dir)?;
    let sync = run_twotrack(&config, &["sync"]).await?;
    std::fs::write(dir.join(SYNCED), "")?;
    let (audit, page_bytes, csv_bytes) = audit(dir).await?;
    let classify = classify(dir).await?;
    Ok(Row { per_tracker, sync: Some(sync), audit, page_bytes, csv_bytes, classify })
}

/// Audit the mirror a finished earlier run kept in `dir`.
async fn audit_again(dir: &Path, per_tracker: usize) -> anyhow::Result<Row> {
    let (audit, page_bytes, csv_bytes) = audit(dir).await?;
    let classify = classify(dir).await?;
    Ok(Row { per_tracker, sync: None, audit, page_bytes, csv_bytes, classify })
}

/// `twotrack audit --out dir/audit.html` with `dir/twotrack.toml`: the run and the sizes of the page and
/// of the findings beside it.
async fn audit(dir: &Path) -> anyhow::Result<(ChildRun, u64, u64)> {
    let page = dir.join("audit.html");
    let audit =
        run_twotrack(&dir.join("twotrack.toml"), &["audit", "--out", page.to_str().context("a UTF-8 path")?]).await?;
    let size = |name: &str| std::fs::metadata(dir.join(name)).map(|m| m.len()).unwrap_or(0);
    Ok((audit, size("audit.html"), size("audit.findings.csv")))
}

/// `twotrack classify --site` of the mirror in `dir`, exported to JSON Lines first (the export not
/// timed, and removed after).
async fn classify(dir: &Path) -> anyhow::Result<ChildRun> {
    let (config, export) = (dir.join("twotrack.toml"), dir.join("export.jsonl"));
    let export = export.to_str().context("a UTF-8 path")?;
    run_twotrack(&config, &["mirror", "export", "--out", export]).await?;
    let classify = run_twotrack_unread(&config, &["classify", "--site", export]).await;
    std::fs::remove_file(export)?;
    classify
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// The audit's line of one size.
fn print_audit(row: &Row) {
    println!(
        "  audit {:>7.1} s  peak RSS {:>6.0} MB  (page {:.2} MB, all findings as CSV {:.1} MB)",
        row.audit.wall.as_secs_f64(),
        mb(row.audit.peak_rss_kb),
        row.page_bytes as f64 / 1e6,
        row.csv_bytes as f64 / 1e6,
    );
    println!(
        "  classify --site {:>7.1} s  peak RSS {:>6.0} MB",
        row.classify.wall.as_secs_f64(),
        mb(row.classify.peak_rss_kb)
    );
}

/// The figures side by side, each size against the first (the sync's only where it ran: "-" for a kept
/// mirror).
fn table(rows: &[Row]) {
    let Some(first) = rows.first() else { return };
    println!(
        "\n| items per tracker | sync wall | sync peak RSS | audit wall | audit peak RSS | page | CSV | classify --site wall | classify --site peak RSS |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let times = |a: f64, b: Option<f64>| match b {
        Some(b) if b > 0.0 => format!(" ({:.1}x)", a / b),
        _ => String::new(),
    };
    let first_sync = first.sync.as_ref();
    for r in rows {
        let (sync, sync_mb) = match &r.sync {
            Some(s) => {
                let (wall, peak) = (s.wall.as_secs_f64(), mb(s.peak_rss_kb));
                (
                    format!("{wall:.1} s{}", times(wall, first_sync.map(|f| f.wall.as_secs_f64()))),
                    format!("{peak:.0} MB{}", times(peak, first_sync.map(|f| mb(f.peak_rss_kb)))),
                )
            }
            None => ("-".to_string(), "-".to_string()),
        };
        let (audit, audit_mb) = (r.audit.wall.as_secs_f64(), mb(r.audit.peak_rss_kb));
        let (classify, classify_mb) = (r.classify.wall.as_secs_f64(), mb(r.classify.peak_rss_kb));
        println!(
            "| {} | {sync} | {sync_mb} | {audit:.1} s{} | {audit_mb:.0} MB{} | {:.2} MB | {:.1} MB | {classify:.1} s{} | {classify_mb:.0} MB{} |",
            r.per_tracker,
            times(audit, Some(first.audit.wall.as_secs_f64())),
            times(audit_mb, Some(mb(first.audit.peak_rss_kb))),
            r.page_bytes as f64 / 1e6,
            r.csv_bytes as f64 / 1e6,
            times(classify, Some(first.classify.wall.as_secs_f64())),
            times(classify_mb, Some(mb(first.classify.peak_rss_kb))),
        );
    }
}
