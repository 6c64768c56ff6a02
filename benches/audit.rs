//! Audit over a large mirror: wall time and peak RSS of `twotrack::audit::audit`.
//!
//! `cargo bench --bench audit [-- N]` (N = items per tracker, default 50,000: 100,000 in all).
//! Phase 1 builds a mirror from generated items in a temporary directory; phase 2 runs the audit in a
//! fresh child process so its peak RSS (VmHWM) is the audit's alone.

use std::path::{Path, PathBuf};
use std::time::Instant;

use twotrack::api::{Cursor, Item};
use twotrack::mirror::Mirror;
use twotrack_sim::generator::{GenOptions, GeneratedItem, Home, generate};

const CONFIG: &str = r#"
[[tracker]]
name = "jira"
kind = "jira"
role = "product"
base_url = "http://127.0.0.1:9"
[tracker.auth]
user = "bench@example.com"
token = { file = "token" }
[tracker.scope]
projects = ["SHOP"]

[[tracker]]
name = "servicenow"
kind = "servicenow"
role = "service"
base_url = "http://127.0.0.1:9"
[tracker.auth]
user = "bench"
token = { file = "token" }

[mirror]
path = "mirror"

[policy]
max_moves = 1000000

# The generated instance's assignment groups for the built-in queues, as an administrator would map them.
[[queue]]
name = "database"
group = "Database Administration"
[[queue]]
name = "access"
group = "Identity & Access"
[[queue]]
name = "infrastructure"
group = "Hosting & Infrastructure"
[[queue]]
name = "end-user"
group = "End User Services"
"#;

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn to_item(g: &GeneratedItem, n: usize) -> Item {
    let (tracker, key) = match g.home {
        Home::Jira => ("jira", format!("SHOP-{n}")),
        Home::ServiceNow => ("servicenow", format!("INC{n:07}")),
    };
    let mut i = Item::new(tracker, key, g.summary.clone());
    i.filed_type = g.filed_type.clone();
    i.description = g.description.clone();
    i.labels = g.labels.clone();
    i.reporter = Some(g.reporter.clone());
    i.created = g.created;
    i.updated = g.updated;
    i.queue = g.assignment_group.clone();
    i.impact = g.impact;
    i.urgency = g.urgency;
    i.status = g.status.clone();
    if let Some(c) = &g.category {
        i.fields.insert("category".into(), c.clone());
    }
    if let Some(c) = &g.contact_type {
        i.fields.insert("contact_type".into(), c.clone());
    }
    i
}

fn build(dir: &Path, per_tracker: usize) {
    std::fs::write(dir.join("token"), "bench-token").unwrap();
    std::fs::write(dir.join("twotrack.toml"), CONFIG).unwrap();
    let started = Instant::now();
    let items = generate(&GenOptions { seed: 7, items_per_tracker: per_tracker, misfiled_share: 0.15 });
    let items: Vec<Item> = items.iter().enumerate().map(|(n, g)| to_item(g, n + 1)).collect();
    let mirror = Mirror::open(&dir.join("mirror")).unwrap();
    for tracker in ["jira", "servicenow"] {
        let mine: Vec<Item> = items.iter().filter(|i| i.tracker == tracker).cloned().collect();
        let mut cursor = Cursor::default();
        for page in mine.chunks(500) {
            for i in page {
                cursor.advance(i);
            }
            mirror.writing().apply_page(tracker, "bench", page, &cursor).unwrap();
        }
    }
    mirror.flush().unwrap();
    println!("built a mirror of {} items in {:.1}s", items.len(), started.elapsed().as_secs_f64());
}

fn audit(dir: &Path) {
    let config = twotrack::config::load(&dir.join("twotrack.toml")).unwrap();
    let mirror = Mirror::open(&config.mirror.path).unwrap();
    // The parts, for orientation: reading the mirror, then reading + classifying.
    let started = Instant::now();
    let n = mirror.items(None).filter_map(Result::ok).count();
    let read = started.elapsed();
    let classifier = twotrack::audit::classifier(&config).unwrap();
    let started = Instant::now();
    let work = mirror
        .items(None)
        .filter_map(Result::ok)
        .filter(|i| classifier.classify(i).class == twotrack::api::Class::Work)
        .count();
    let classify = started.elapsed();
    let started = Instant::now();
    let site = twotrack::audit::learn_site(&config, &mirror, &classifier).unwrap();
    let learn = started.elapsed();
    println!(
        "read {n} items in {:.2}s; read + classify in {:.2}s ({work} work); learn the site in {:.2}s ({})",
        read.as_secs_f64(),
        classify.as_secs_f64(),
        learn.as_secs_f64(),
        site.model.abstains().unwrap_or("site model learned"),
    );
    let started = Instant::now();
    let report = twotrack::audit::audit(&config, &mirror, None).unwrap();
    let elapsed = started.elapsed();
    let rss_audit = peak_rss_mb();
    let html_started = Instant::now();
    let html = report.render(twotrack::report::Format::Html).unwrap();
    let render = html_started.elapsed();
    println!(
        "audit: {} open items, {} findings in {:.2}s ({:.0} items/s), peak RSS {rss_audit:.0} MB; HTML {:.1} MB rendered in {:.2}s; peak RSS {:.0} MB",
        report.totals.open_items,
        report.findings.len(),
        elapsed.as_secs_f64(),
        report.totals.open_items as f64 / elapsed.as_secs_f64(),
        html.len() as f64 / 1e6,
        render.as_secs_f64(),
        peak_rss_mb()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if let Some(dir) = std::env::var_os("TWOTRACK_BENCH_AUDIT_DIR") {
        audit(&PathBuf::from(dir));
        return;
    }
    let per_tracker = args.first().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), per_tracker);
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .env("TWOTRACK_BENCH_AUDIT_DIR", dir.path())
        .status()
        .unwrap();
    assert!(status.success());
}
