//! The sync's reliability claims, proven against the simulators through the library:
//! - with each fault kind injected into 20% of the requests, a full sync ends with a mirror identical to
//!   a fault-free run (items and cursors);
//! - the simulators never see more requests per second than `[tracker.rate]` allows beyond its burst;
//! - a second sync with nothing changed makes one request per scope (Jira's asks for no fields but
//!   `updated`) and changes nothing.
//!
//! The simulators' request logs are the judges of the traffic.

use crate::sync_support;

use std::time::{Duration, Instant};

use futures::future::join_all;
use sync_support::*;
use twotrack::api::http::HttpSettings;
use twotrack::config::{Config, TrackerConfig, TrackerSettings};
use twotrack::mirror::Mirror;
use twotrack::registry::{AnyConnector, Registry};
use twotrack::sync::{SyncOptions, TrackerSync, sync_all, sync_tracker};
use twotrack_jira::{Flavour, JiraConnector, JiraSettings};
use twotrack_servicenow::{ServiceNowConnector, ServiceNowSettings};
use twotrack_sim::faults::{FaultKind, FaultPhase, FaultSpec, Injection};
use twotrack_sim::log::RequestLog;

const SEED: u64 = 7;

/// Sync every tracker of `registry` into `mirror`; every tracker must succeed.
async fn sync(registry: &Registry, mirror: &Mirror) -> Vec<TrackerSync> {
    let results = sync_all(registry, mirror, &SyncOptions::default()).await;
    for r in &results {
        assert!(r.error.is_none(), "{} failed: {:?}", r.tracker, r.error);
    }
    results
}

fn result<'a>(results: &'a [TrackerSync], tracker: &str) -> &'a TrackerSync {
    results.iter().find(|r| r.tracker == tracker).unwrap()
}

// ---------------------------------------------------------------------------------------------------
// Faults

/// Items filed in each tracker, and the page size used, so that each tracker makes a few dozen requests.
const FAULT_ITEMS: usize = 400;
const FAULT_PAGE: u32 = 10;

/// The configured tracker's connector as the registry builds it, but with small pages (the registry
/// uses the vendors' defaults: 100 issues, 500 records), so a small backlog still takes many requests.
fn small_page_connector(t: &TrackerConfig) -> AnyConnector {
    let http = HttpSettings {
        per_second: t.rate.per_second,
        burst: t.rate.burst,
        request_timeout: t.timeouts.request,
        connect_timeout: t.timeouts.connect,
        max_retries: t.max_retries,
        ..HttpSettings::new(t.name.clone(), t.base_url.clone(), t.auth.clone())
    };
    match &t.settings {
        TrackerSettings::Jira { scope, .. } => {
            let settings = JiraSettings {
                page_size: FAULT_PAGE,
                ..JiraSettings::new(http, Flavour::Cloud, scope.projects.clone())
            };
            AnyConnector::Jira(JiraConnector::new(settings).unwrap())
        }
        TrackerSettings::ServiceNow { scope, .. } => {
            let settings =
                ServiceNowSettings { scope: scope.clone(), page_size: FAULT_PAGE, ..ServiceNowSettings::new(http) };
            AnyConnector::ServiceNow(ServiceNowConnector::new(settings).unwrap())
        }
    }
}

/// Sync both trackers concurrently with fresh small-page connectors; both must succeed.
async fn sync_small_pages(config: &Config, mirror: &Mirror) -> Vec<(AnyConnector, TrackerSync)> {
    let connectors: Vec<AnyConnector> = config.trackers.iter().map(small_page_connector).collect();
    let results = join_all(connectors.iter().map(|c| sync_tracker(c, mirror, true, None))).await;
    for r in &results {
        assert!(r.error.is_none(), "{} failed: {:?}", r.tracker, r.error);
    }
    connectors.into_iter().zip(results).collect()
}

/// Entries of `log` that carry a fault of `kind`, e.g. `reset (after handling)`.
fn faults_of(log: &RequestLog, kind: FaultKind) -> Vec<String> {
    log.entries().into_iter().filter_map(|e| e.fault).filter(|f| f.starts_with(kind.name())).collect()
}

/// A fault-free full sync, then a full sync into a second mirror with `kind` injected into 20% of the
/// requests of both simulators: the two mirrors hold the same items and the same cursors.
async fn faults_leave_no_trace(kind: FaultKind) {
    let world = world(FAULT_ITEMS, SEED, FaultSpec::default()).await;
    let (jira_items, sn_items) = world.counts();
    let dir = tempfile::tempdir().unwrap();
    // A hang lasts 2 s; the request timeout gives up after 0.5 s and the retry succeeds. Faults strike
    // 20% of requests in arrival order, which concurrent streams make vary from run to run: with the
    // default 4 retries, one request in 3,000 would meet five faults in a row and fail the sync (a few
    // per cent of runs); with 10, one in 50 million.
    let tuning = Tuning { request_timeout: 0.5, max_retries: 10, ..Tuning::default() };
    let config = load(&write_config(&world, dir.path(), &tuning));

    let clean = Mirror::temporary().unwrap();
    let clean_runs = sync_small_pages(&config, &clean).await;
    let expected = items(&clean);
    assert_eq!(expected.len(), jira_items + sn_items, "the fault-free run mirrors every item");

    let spec = FaultSpec {
        // A seed of its own per kind, so the faults strike different requests in each test.
        seed: SEED + FaultKind::ALL.iter().position(|k| *k == kind).unwrap_or_default() as u64,
        rate: 0.2,
        kinds: vec![kind],
        hang: Duration::from_secs(2),
        retry_after: 1,
        ..FaultSpec::default()
    };
    for (faults, log) in [(world.jira.faults(), world.jira.log()), (world.servicenow.faults(), world.servicenow.log())]
    {
        faults.set(spec.clone());
        log.clear();
    }
    if kind == FaultKind::Reset {
        // Random resets of reads strike after handling; make sure a connection dropped before handling
        // (no response at all) is among them too. Jira's searches are POSTs and get both phases at random.
        world.servicenow.faults().inject(Injection::next_with_method(
            FaultKind::Reset,
            FaultPhase::BeforeHandling,
            "GET",
        ));
    }
    let faulted = Mirror::temporary().unwrap();
    let faulted_runs = sync_small_pages(&config, &faulted).await;

    assert_eq!(items(&faulted), expected, "{kind}: the mirror after a faulty sync differs from the fault-free one");
    for ((clean_connector, _), (connector, run)) in clean_runs.iter().zip(&faulted_runs) {
        assert_eq!(cursors(&faulted, connector), cursors(&clean, clean_connector), "{kind}: {} cursors", run.tracker);
        let log = if run.tracker == JIRA { world.jira.log() } else { world.servicenow.log() };
        let injected = faults_of(&log, kind);
        let requests = log.len();
        // The simulator answers 429 to every request arriving while a penalty runs: the requests other
        // streams had in flight when one was refused get it too, so 429s exceed the 20% drawn.
        let most = if kind == FaultKind::RateLimited { 5 } else { 4 };
        assert!(
            injected.len() >= 2 && injected.len() * 10 <= requests * most,
            "{kind}: {}: {} faults in {requests} requests, expected about 20%",
            run.tracker,
            injected.len()
        );
        let stats = connector.http_stats();
        eprintln!(
            "{kind}: {}: {} faults in {requests} requests, {} retries",
            run.tracker,
            injected.len(),
            stats.retries
        );
        assert!(
            stats.retries as usize >= injected.len(),
            "{kind}: {}: {} retries for {} faults",
            run.tracker,
            stats.retries,
            injected.len()
        );
    }
    let all_faults: Vec<String> =
        [world.jira.log(), world.servicenow.log()].iter().flat_map(|l| faults_of(l, kind)).collect();
    match kind {
        FaultKind::Reset => {
            for phase in ["before handling", "after handling"] {
                assert!(all_faults.iter().any(|f| f.contains(phase)), "no reset {phase} among {all_faults:?}");
            }
        }
        FaultKind::Hang => {
            // The request timeout cut the hangs short: the client saw timeouts, not the late 504s.
            for (connector, run) in &faulted_runs {
                let stats = connector.http_stats();
                assert!(stats.transport_errors >= 1, "{}: no request timed out: {stats:?}", run.tracker);
                assert!(!stats.by_status.contains_key(&504), "{}: waited for a hang to end: {stats:?}", run.tracker);
            }
        }
        _ => {}
    }
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_429s_leave_no_trace() {
    faults_leave_no_trace(FaultKind::RateLimited).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_leave_no_trace() {
    faults_leave_no_trace(FaultKind::ServerError).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_resets_leave_no_trace() {
    faults_leave_no_trace(FaultKind::Reset).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_leaves_no_trace() {
    faults_leave_no_trace(FaultKind::MalformedJson).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_pages_leave_no_trace() {
    faults_leave_no_trace(FaultKind::HtmlPage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hangs_leave_no_trace() {
    faults_leave_no_trace(FaultKind::Hang).await;
}

// ---------------------------------------------------------------------------------------------------
// Rate limit

/// The largest number of requests `per_second` with `burst` lets through in any window of `window`.
fn allowed(per_second: f64, burst: u32, window: Duration) -> usize {
    burst as usize + (window.as_secs_f64() * per_second).ceil() as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulators_never_see_more_requests_than_the_configured_rate() {
    // 1,500 issues are 15 search pages; the records fill 6 tables. Three syncs add one request per scope
    // each; unlimited, every sync would take a few milliseconds.
    // Eight streams per tracker and slow answers (300 ms): the streams overlap, the rate still holds.
    let world = world(1_500, SEED, FaultSpec { latency: Duration::from_millis(300), ..FaultSpec::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    let (per_second, burst) = (8.0, 3);
    let tuning = Tuning { per_second, burst, concurrency: 8, ..Tuning::default() };
    let config = load(&write_config(&world, dir.path(), &tuning));
    let registry = Registry::build(&config).unwrap();
    let mirror = Mirror::temporary().unwrap();

    let started = Instant::now();
    for _ in 0..3 {
        sync(&registry, &mirror).await;
    }
    let elapsed = started.elapsed();

    let mut busiest = 0;
    for (name, log) in [(JIRA, world.jira.log()), (SN, world.servicenow.log())] {
        let requests = log.len();
        busiest = busiest.max(requests);
        assert!(requests > allowed(per_second, burst, Duration::from_secs(1)), "{name}: only {requests} requests");
        for window in [Duration::from_millis(250), Duration::from_secs(1), Duration::from_secs(2)] {
            let seen = log.max_requests_in_window(window);
            let limit = allowed(per_second, burst, window);
            assert!(seen <= limit, "{name}: {seen} requests within {window:?}, the limit allows {limit}");
        }
        let stats = registry.get(name).unwrap().http_stats();
        assert!(stats.limiter_waits > 0, "{name}: the client-side limiter never made a request wait");
        let entries = log.entries();
        let overlapping = entries.windows(2).filter(|w| w[1].at < w[0].at + w[0].elapsed).count();
        assert!(overlapping > 0, "{name}: no request was sent while another was being answered");
    }
    let minimum = Duration::from_secs_f64((busiest - burst as usize) as f64 / per_second);
    assert!(elapsed >= minimum.mul_f64(0.9), "{busiest} requests took {elapsed:?}, the limit needs {minimum:?}");
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_side_rate_limit_narrows_the_concurrency_and_every_item_still_arrives() {
    // The simulators refuse what exceeds 10 requests/s (429 with Retry-After); the client's own limit is
    // far above it and eight streams per tracker ask at once.
    let limited = FaultSpec { server_rate_limit: Some((10.0, 2)), ..FaultSpec::default() };
    let world = world(1_500, SEED, limited).await;
    let (jira_items, sn_items) = world.counts();
    let dir = tempfile::tempdir().unwrap();
    let tuning = Tuning { concurrency: 8, max_retries: 10, ..Tuning::default() };
    let config = load(&write_config(&world, dir.path(), &tuning));
    let registry = Registry::build(&config).unwrap();
    let mirror = Mirror::temporary().unwrap();

    let runs = sync(&registry, &mirror).await;
    assert!(runs.iter().all(|r| r.error.is_none()), "{runs:?}");
    assert_eq!(
        (mirror.count(Some(JIRA)).unwrap(), mirror.count(Some(SN)).unwrap()),
        (jira_items as u64, sn_items as u64)
    );
    for (name, log) in [(JIRA, world.jira.log()), (SN, world.servicenow.log())] {
        let stats = registry.get(name).unwrap().http_stats();
        let refused = log.entries().iter().filter(|e| e.status == 429).count();
        eprintln!(
            "{name}: {} requests, {refused} refused, window cut {} times, now {}",
            log.len(),
            stats.window_cuts,
            stats.window
        );
        assert!(refused > 0, "{name}: the server never refused a request");
        assert!(stats.window_cuts > 0 && stats.window < 8, "{name}: the concurrency never narrowed: {stats:?}");
    }
    world.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------
// Incremental sync

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sync_with_nothing_changed_makes_one_request_per_scope_and_changes_nothing() {
    // 1,200 issues are 12 search pages; the incident table holds more than one 500-record page.
    let world = world(1_200, SEED, FaultSpec::default()).await;
    let (jira_items, sn_items) = world.counts();
    let dir = tempfile::tempdir().unwrap();
    let config = load(&write_config(&world, dir.path(), &Tuning::default()));
    let registry = Registry::build(&config).unwrap();
    let mirror = Mirror::temporary().unwrap();

    let first = sync(&registry, &mirror).await;
    assert_eq!((result(&first, JIRA).new, result(&first, SN).new), (jira_items, sn_items));
    assert!(result(&first, JIRA).pages > 1 && result(&first, SN).pages > TABLES.len(), "more than one page a scope");
    let before = items(&mirror);
    let cursors_before: Vec<_> = registry.iter().map(|(_, c)| cursors(&mirror, c)).collect();
    world.jira.log().clear();
    world.servicenow.log().clear();

    let second = sync(&registry, &mirror).await;
    for r in &second {
        assert_eq!((r.pulled, r.new, r.changed), (0, 0, 0), "{}: nothing changed, nothing to pull", r.tracker);
    }
    let jira = world.jira.log().entries();
    assert_eq!(jira.len(), 1, "Jira: one search for its one scope, nothing else: {jira:#?}");
    assert_eq!((jira[0].method.as_str(), jira[0].path.as_str()), ("POST", JIRA_SEARCH));
    // JQL compares dates to the minute, so the search matches the cursor's last minute again: it asks for
    // their timestamps only, and no issue is downloaded again.
    let search: serde_json::Value = serde_json::from_str(jira[0].body.as_deref().unwrap_or("{}")).unwrap();
    assert_eq!(search["fields"], serde_json::json!(["updated"]), "Jira: ids and timestamps only: {search}");
    assert_eq!(world.servicenow.log().len(), TABLES.len(), "ServiceNow: one request per table, nothing else");
    for (table, n) in table_requests(&world.servicenow.log()) {
        assert_eq!(n, 1, "ServiceNow table {table}: one list request");
    }
    assert_eq!(items(&mirror), before, "the mirror is unchanged");
    let cursors_after: Vec<_> = registry.iter().map(|(_, c)| cursors(&mirror, c)).collect();
    assert_eq!(cursors_after, cursors_before, "the cursors are unchanged");
    for item in before.iter().take(20) {
        assert_eq!(mirror.history(&item.tracker, &item.key).unwrap().len(), 1, "{}: one revision", item.key);
    }

    // A new process (fresh connectors) reads Jira's user and fields once more, then makes the same one
    // search per scope.
    world.jira.log().clear();
    world.servicenow.log().clear();
    let fresh = Registry::build(&config).unwrap();
    let third = sync(&fresh, &mirror).await;
    assert!(third.iter().all(|r| (r.new, r.changed) == (0, 0)), "{third:?}");
    assert_eq!(world.jira.log().count("POST", JIRA_SEARCH), 1);
    assert_eq!(world.servicenow.log().len(), TABLES.len());
    assert_eq!(items(&mirror), before);
    world.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------
// Concurrency

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tables_of_a_tracker_are_pulled_side_by_side() {
    // Small pages: every table takes a few requests; a slow instance (every answer 150 ms late) shows
    // which requests were sent before any answer came back.
    let world = world(FAULT_ITEMS, SEED, FaultSpec::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = load(&write_config(&world, dir.path(), &Tuning::default()));
    let sn = config.trackers.iter().find(|t| t.name == SN).unwrap();
    let connector = small_page_connector(sn);
    let filled: Vec<&str> = TABLES.iter().copied().filter(|t| !world.servicenow.snapshot(t).is_empty()).collect();
    assert!(filled.len() >= 3, "{filled:?}");
    world.servicenow.faults().set(FaultSpec { latency: Duration::from_millis(150), ..FaultSpec::default() });
    world.servicenow.log().clear();

    let mirror = Mirror::temporary().unwrap();
    let run = sync_tracker(&connector, &mirror, true, None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.new, world.counts().1);

    // The first request of every table arrived before the second request of any: each table is its own
    // stream, none waits for another to finish.
    let entries = world.servicenow.log().entries();
    let first: Vec<&str> = entries.iter().take(TABLES.len()).map(|e| e.path.trim_start_matches(SN_TABLE)).collect();
    let mut distinct = first.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), TABLES.len(), "the first {} requests: {first:?}", TABLES.len());
    assert!(table_requests(&world.servicenow.log()).iter().any(|(_, n)| *n > 1), "some table takes several pages");
    world.shutdown().await;
}
