//! What the daemon exports at `/metrics`, besides what the library records on its own
//! (`twotrack_items_pulled_total` in sync, `twotrack_corrections_total` in the outbox):
//!
//! - API traffic, from each connector's [`HttpStats`] snapshot: the snapshots are cumulative per
//!   client, so [`HttpTelemetry`] remembers the last one it exported per connector and adds the
//!   difference to Prometheus counters (after every job and at every scrape).
//! - The last audit of the mirror as gauges: open items by verdict class and findings by kind, per
//!   tracker, and the storms found (`twotrack_storms`, `twotrack_storm_reports`). Gauges, not counters:
//!   they describe the backlog as it is now.
//! - Job runs, durations and last success (recorded by the job runner in [`super::jobs`]).
//! - Corrections parked in the outbox (`twotrack_corrections_parked`, a gauge): set when the daemon
//!   starts, after every apply run and with the audit gauges. Parked corrections are no longer attempted,
//!   so an apply job stops failing on them: alert on this gauge instead.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use twotrack_api::http::HttpStats;

use crate::plan::FindingKind;
use crate::registry::{AnyConnector, Registry};
use crate::report::Report;

/// Bucket bounds (seconds) of the duration histograms.
const DURATION_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0];

/// Install the global Prometheus recorder (once per process); `None` if one is already installed.
pub fn install() -> Option<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), DURATION_BUCKETS)
        .ok()?
        .install_recorder()
        .ok()?;
    describe();
    // Series that matter at zero, so dashboards and alerts see them before the first event.
    for outcome in ["applied", "failed", "parked"] {
        metrics::counter!("twotrack_corrections_total", "outcome" => outcome).increment(0);
    }
    for outcome in ["ok", "rejected"] {
        metrics::counter!("twotrack_config_reloads_total", "outcome" => outcome).increment(0);
    }
    Some(handle)
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!("twotrack_items_pulled_total", "Items pulled from trackers");
    describe_counter!("twotrack_tracker_syncs_total", "Syncs of one tracker by outcome (ok, failed)");
    describe_gauge!("twotrack_verdicts", "Open items by verdict class (value, work) at the last audit");
    describe_gauge!("twotrack_findings", "Findings by kind (misfiled, misrouted, misprioritised) at the last audit");
    describe_gauge!("twotrack_storms", "Storms (many reports of one event) among the open items at the last audit");
    describe_gauge!("twotrack_storm_reports", "Open items that are reports of a storm at the last audit");
    describe_counter!("twotrack_corrections_total", "Corrections by outcome (applied, failed, parked)");
    describe_gauge!(
        "twotrack_corrections_parked",
        "Corrections parked in the outbox after policy.max_attempts failed runs; they wait for `twotrack outbox retry`"
    );
    describe_counter!("twotrack_api_requests_total", "Tracker API responses by tracker and HTTP status (error: none)");
    describe_counter!("twotrack_api_retries_total", "Tracker API attempts repeated after a transient failure");
    describe_counter!("twotrack_api_throttled_total", "429 answers received from trackers");
    describe_counter!("twotrack_api_unknown_outcomes_total", "Tracker writes whose outcome is unknown");
    describe_counter!("twotrack_rate_limit_waits_total", "Requests that waited for the client-side rate limit");
    describe_counter!(
        "twotrack_job_runs_total",
        "Daemon job runs by job (sync, apply, followback) and outcome (ok, failed, standby: another instance holds the writer lease)"
    );
    describe_gauge!("twotrack_job_last_success_timestamp_seconds", "Unix time of each job's last successful run");
    describe_counter!("twotrack_config_reloads_total", "SIGHUP reloads by outcome (ok, rejected)");
    describe_histogram!("twotrack_cycle_seconds", "Duration of daemon jobs");
    describe_histogram!("twotrack_sync_seconds", "Duration of one tracker's sync");
}

/// Turns cumulative per-connector [`HttpStats`] into Prometheus counters.
#[derive(Default)]
pub struct HttpTelemetry {
    /// The last exported snapshot per connector, by the connector's address. The weak reference
    /// keeps the entry honest: an entry is dropped only once its connector is gone (after a reload,
    /// when no job holds the old registry any more), so an address cannot be reused while remembered.
    last: Mutex<BTreeMap<usize, (Weak<AnyConnector>, HttpStats)>>,
}

impl HttpTelemetry {
    /// Export what every connector of `registry` did since the last export.
    pub fn export(&self, registry: &Registry) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.retain(|_, (weak, _)| weak.strong_count() > 0);
        for (name, connector) in registry.iter() {
            let now = connector.http_stats();
            let key = Arc::as_ptr(connector) as usize;
            let entry = last.entry(key).or_insert_with(|| (Arc::downgrade(connector), HttpStats::default()));
            for d in deltas(&entry.1, &now) {
                let tracker = name.to_string();
                match d {
                    Delta::Status(status, n) => {
                        metrics::counter!("twotrack_api_requests_total", "tracker" => tracker, "status" => status)
                            .increment(n)
                    }
                    Delta::Counter(metric, n) => metrics::counter!(metric, "tracker" => tracker).increment(n),
                }
            }
            entry.1 = now;
        }
    }
}

/// One counter increase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delta {
    /// `twotrack_api_requests_total` for this status ("200", ..., or "error" for no response).
    Status(String, u64),
    /// A per-tracker counter.
    Counter(&'static str, u64),
}

/// What happened between two snapshots of one client (zero increases left out).
pub fn deltas(before: &HttpStats, now: &HttpStats) -> Vec<Delta> {
    let mut out = Vec::new();
    for (status, n) in &now.by_status {
        let d = n.saturating_sub(before.by_status.get(status).copied().unwrap_or(0));
        if d > 0 {
            out.push(Delta::Status(status.to_string(), d));
        }
    }
    let counters = [
        ("error", now.transport_errors, before.transport_errors),
        ("twotrack_api_retries_total", now.retries, before.retries),
        ("twotrack_api_throttled_total", now.rate_limited, before.rate_limited),
        ("twotrack_rate_limit_waits_total", now.limiter_waits, before.limiter_waits),
        ("twotrack_api_unknown_outcomes_total", now.unknown_outcomes, before.unknown_outcomes),
    ];
    for (metric, now, before) in counters {
        let d = now.saturating_sub(before);
        if d == 0 {
            continue;
        }
        out.push(if metric == "error" { Delta::Status("error".into(), d) } else { Delta::Counter(metric, d) });
    }
    out
}

/// Set the gauge of corrections parked in the outbox.
pub fn export_parked(parked: usize) {
    metrics::gauge!("twotrack_corrections_parked").set(parked as f64);
}

/// The finding kinds exported.
/// Set the audit gauges from `report`: open items by verdict class, and findings by kind, per tracker
/// (every tracker gets every kind, zero included, so no gauge keeps a stale value).
pub fn export_audit(report: &Report) {
    let mut findings: BTreeMap<(String, String), u64> = BTreeMap::new();
    for t in &report.trackers {
        for (class, n) in [("value", t.value), ("work", t.work)] {
            metrics::gauge!("twotrack_verdicts", "tracker" => t.name.clone(), "class" => class).set(n as f64);
        }
        for kind in FindingKind::ALL {
            findings.insert((t.name.clone(), kind.as_str().to_string()), 0);
        }
    }
    for f in &report.findings {
        *findings.entry((f.tracker.to_string(), f.kind.to_string())).or_default() += 1;
    }
    for ((tracker, kind), n) in findings {
        metrics::gauge!("twotrack_findings", "tracker" => tracker, "kind" => kind).set(n as f64);
    }
    metrics::gauge!("twotrack_storms").set(report.totals.storms as f64);
    metrics::gauge!("twotrack_storm_reports").set(report.totals.storm_reports as f64);
    export_parked(report.totals.parked as usize);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(statuses: &[(u16, u64)], retries: u64, waits: u64, errors: u64) -> HttpStats {
        HttpStats {
            by_status: statuses.iter().copied().collect(),
            retries,
            limiter_waits: waits,
            transport_errors: errors,
            ..HttpStats::default()
        }
    }

    #[test]
    fn deltas_are_the_increase_since_the_last_snapshot() {
        let before = stats(&[(200, 10), (429, 1)], 1, 0, 0);
        let now = stats(&[(200, 15), (429, 1), (503, 2)], 3, 4, 1);
        assert_eq!(
            deltas(&before, &now),
            [
                Delta::Status("200".into(), 5),
                Delta::Status("503".into(), 2),
                Delta::Status("error".into(), 1),
                Delta::Counter("twotrack_api_retries_total", 2),
                Delta::Counter("twotrack_rate_limit_waits_total", 4),
            ]
        );
        assert!(deltas(&now, &now).is_empty(), "nothing new, nothing exported");
        // From nothing: everything counts.
        assert_eq!(deltas(&HttpStats::default(), &stats(&[(201, 2)], 0, 0, 0)), [Delta::Status("201".into(), 2)]);
    }
}
