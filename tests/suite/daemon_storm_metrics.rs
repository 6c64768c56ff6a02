//! `/metrics` counts storms: a daemon that audits a mirror holding one storm (a generated outage, its
//! reports in the product backlog and in the service queue) exports `twotrack_storms` = 1 and
//! `twotrack_storm_reports` = the reports the audit gathers in it, the figures `audit --format json`
//! gives for the same mirror.

use crate::apply_support;

use apply_support::daemon::{Daemon, eventually};
use apply_support::metrics::metric;
use apply_support::storm::{outage, world};
use apply_support::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_exports_the_storms_of_its_last_audit() {
    let (reports, _) = outage();
    let policy = Policy { dry_run: true, ..Policy::writes() };
    let h = Harness::start(world(&reports), &policy).await;

    // What the audit finds in this mirror, read by the CLI before the daemon holds it.
    h.ok(&["sync"]).await;
    let audit: Value = serde_json::from_str(&h.ok(&["audit", "--format", "json"]).await.stdout).unwrap();
    let totals = &audit["totals"];
    assert_eq!(totals["storms"], 1, "the outage is one storm: {totals}");
    let gathered = totals["storm_reports"].as_u64().unwrap();
    assert!(gathered as usize >= reports.len() - 1, "{gathered} of {} reports in the storm", reports.len());

    // The daemon syncs every second and audits after each sync; nothing else runs.
    let mut text = std::fs::read_to_string(&h.config).unwrap();
    text += "\n[schedule]\nsync = \"*/1 * * * * *\"\napply = \"0 0 0 1 1 *\"\nfollowback = \"0 0 0 1 1 *\"\n";
    std::fs::write(&h.config, text).unwrap();
    let (_daemon, addr) = Daemon::start(&h.config, h.dir.path(), &h.dir.path().join("listen")).await;
    let http = reqwest::Client::new();
    // Once an audit ran (its verdict gauges are there), its storm gauges are there too.
    let text = eventually("an audit's gauges at /metrics", async || {
        let text = http.get(format!("http://{addr}/metrics")).send().await.ok()?.text().await.ok()?;
        (metric(&text, "twotrack_verdicts", &[]) > 0.0).then_some(text)
    })
    .await;
    assert_eq!(metric(&text, "twotrack_storms", &[]), 1.0, "{text}");
    assert_eq!(metric(&text, "twotrack_storm_reports", &[]), gathered as f64, "{text}");
    assert!(text.contains("# HELP twotrack_storms ") && text.contains("# HELP twotrack_storm_reports "), "{text}");
}
