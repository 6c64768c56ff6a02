//! Mirror throughput: `cargo bench --bench mirror` prints figures (a plain `main`, no harness).
//!
//! - apply_page: 200,000 items (two trackers of 100,000) into an empty mirror, in pages of 100 and of 500
//! - the same pages applied again with nothing changed (what an incremental sync costs locally)
//! - iteration over 100,000 items, stats and export over 200,000
//!
//! Items look like real ones: a paragraph of description, labels, a few extra fields.

use std::time::{Duration, Instant};

use chrono::DateTime;
use twotrack::api::connector::Cursor;
use twotrack::api::model::Item;
use twotrack::mirror::Mirror;

const PER_TRACKER: usize = 100_000;
const TRACKERS: [&str; 2] = ["jira", "snow"];

fn item(tracker: &str, n: usize) -> Item {
    let mut item = Item::new(tracker, format!("K-{n}"), format!("Item {n}: the export button fails on large reports"));
    item.id = format!("{}", 10_000_000 + n);
    item.url = format!("https://{tracker}.example.com/browse/K-{n}");
    item.filed_type = ["Story", "Bug", "incident", "sc_req_item"][n % 4].into();
    item.description = "When a report has more than ten thousand rows the export button spins and nothing is \
        downloaded. Steps: open any large report, press export, wait. Expected a CSV file. Seen on Chrome and \
        Firefox since the last release; several customers asked about it on the support portal."
        .into();
    item.labels = vec!["customer".into(), format!("team-{}", n % 7)];
    item.status = "In Progress".into();
    item.open = !n.is_multiple_of(5);
    item.reporter = Some(format!("user{}@example.com", n % 1000));
    item.created = DateTime::from_timestamp(1_600_000_000 + n as i64, 0).unwrap_or_default();
    item.updated = DateTime::from_timestamp(1_700_000_000 + n as i64, 0).unwrap_or_default();
    item.priority = Some("3 - Moderate".into());
    item.fields.insert("category".into(), "software".into());
    item.fields.insert("story_points".into(), (n % 13).to_string());
    item
}

/// Apply every page of every tracker with its advancing cursor; returns (new, changed, unchanged) and the
/// time spent in the mirror (pages are generated on the fly, outside the timing, so that memory figures
/// are the mirror's).
fn apply_all(mirror: &Mirror, page_size: usize) -> ([usize; 3], Duration) {
    let mut took = Duration::ZERO;
    let mut counts = [0; 3];
    for tracker in TRACKERS {
        let mut cursor = Cursor::default();
        for start in (0..PER_TRACKER).step_by(page_size) {
            let page: Vec<Item> = (start..PER_TRACKER.min(start + page_size)).map(|n| item(tracker, n)).collect();
            for item in &page {
                cursor.advance(item);
            }
            let started = Instant::now();
            let o = mirror.writing().apply_page(tracker, "scope", &page, &cursor).expect("apply_page");
            took += started.elapsed();
            counts[0] += o.new;
            counts[1] += o.changed;
            counts[2] += o.unchanged;
        }
    }
    let started = Instant::now();
    mirror.flush().expect("flush");
    (counts, took + started.elapsed())
}

fn rate(n: usize, d: Duration) -> String {
    format!("{:>9.0} items/s  ({:.2} s for {n})", n as f64 / d.as_secs_f64(), d.as_secs_f64())
}

fn peak_rss_mib() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap_or("VmHWM: ? kB");
    let kb: f64 = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
    format!("{:.0} MiB", kb / 1024.0)
}

fn main() {
    let total = PER_TRACKER * TRACKERS.len();
    println!("mirror benchmark: {total} items ({} trackers x {PER_TRACKER})", TRACKERS.len());
    let mut last = None;
    for size in [100, 500] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mirror = Mirror::open(&dir.path().join("mirror")).expect("open");
        let (counts, took) = apply_all(&mirror, size);
        assert_eq!(counts, [total, 0, 0]);
        println!("apply_page, empty mirror, pages of {size:>3}:   {}", rate(total, took));
        let (counts, took) = apply_all(&mirror, size);
        assert_eq!(counts, [0, 0, total]);
        println!("apply_page, nothing changed, pages of {size:>3}: {}", rate(total, took));
        let size_on_disk = mirror.size_on_disk().expect("size");
        println!("  size on disk: {:.0} MiB", size_on_disk as f64 / (1024.0 * 1024.0));
        last = Some((dir, mirror));
    }
    let Some((_dir, mirror)) = last else { return };

    let started = Instant::now();
    let n = mirror.items(Some("jira")).try_fold(0, |n, item| item.map(|_| n + 1)).expect("items");
    println!("items(): iterate one tracker:          {}", rate(n, started.elapsed()));

    let started = Instant::now();
    let stats = mirror.stats().expect("stats");
    println!("stats() over all items:                {}", rate(stats.total().items as usize, started.elapsed()));

    let started = Instant::now();
    let n = mirror.export_jsonl(std::io::sink(), None).expect("export");
    println!("export_jsonl() of all items:           {}", rate(n as usize, started.elapsed()));

    let started = Instant::now();
    for k in 0..10_000 {
        assert_eq!(mirror.find(&format!("k-{k}")).expect("find").len(), 2);
    }
    println!("find(): 10000 lookups in {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);
    println!("peak RSS: {}", peak_rss_mib());
}
