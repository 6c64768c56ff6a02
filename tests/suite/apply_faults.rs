//! Apply against flaky trackers: with 20% of requests failing in every way the connectors must survive
//! (429, 5xx, connection resets before and after the server handled the request, truncated JSON, an HTML
//! page, a hang longer than the client's timeout), every correction completes and nothing is duplicated.
//! The simulators' request logs say which faults struck and which writes really happened.

use crate::apply_support;

use std::collections::BTreeMap;
use std::time::Duration;

use apply_support::*;
use twotrack::outbox::{Correction, Planned2};
use twotrack_sim::faults::{FaultKind, FaultPhase, FaultSpec, Injection};
use twotrack_sim::generator::{GenOptions, generate};

/// The simulators' faults: 20% of requests, every kind, hangs longer than the client waits.
fn flaky(seed: u64) -> FaultSpec {
    FaultSpec {
        seed,
        rate: 0.2,
        kinds: FaultKind::ALL.to_vec(),
        hang: Duration::from_millis(1200),
        retry_after: 0,
        ..FaultSpec::default()
    }
}

/// Short client timeouts, so hangs cost little.
fn policy() -> Policy {
    Policy { request_timeout: 0.3, max_moves: 100, max_move_share: 0.5, ..Policy::writes() }
}

/// Every stored move, judged against the simulators: one twin, one comment, one link each way, closed once.
fn assert_every_move_done_once(h: &Harness, moves: &[Correction], context: &str) {
    for c in moves {
        match c.source_tracker.as_str() {
            JIRA => assert_moved_from_jira(h, &c.source_key, context),
            _ => assert_moved_from_servicenow(h, &c.source_key, context),
        };
    }
    let to_sn = moves.iter().filter(|c| c.source_tracker == JIRA).count();
    assert_eq!(h.sn_creates(), to_sn, "{context}: ServiceNow records created, in all");
    assert_eq!(h.jira_creates(), moves.len() - to_sn, "{context}: Jira issues created, in all");
}

fn moves(h: &Harness) -> Vec<Correction> {
    h.corrections().into_iter().filter(|c| matches!(c.action, Planned2::Move { .. })).collect()
}

/// Faults the simulators injected, by kind and phase (`reset (after handling)`, ...), and how many writes
/// were carried out but their answer lost or broken (the case that tempts a client to duplicate).
fn faults_seen(h: &Harness) -> (BTreeMap<String, usize>, usize) {
    let mut seen = BTreeMap::new();
    let mut lost_writes = 0;
    let mut log = h.world.jira.log().entries();
    log.extend(h.world.servicenow.log().entries());
    for e in log {
        if let Some(f) = &e.fault {
            if e.is_write() && f.contains("after handling") {
                lost_writes += 1;
            }
            let name = if f.starts_with("5xx") { "5xx".to_string() } else { f.clone() };
            *seen.entry(name).or_default() += 1;
        }
    }
    (seen, lost_writes)
}

/// Sync cleanly, then apply with 20% faults (resuming once if the first run leaves corrections failed).
async fn apply_under_faults(seed: u64) {
    let items = generate(&GenOptions { seed: 11, items_per_tracker: 50, misfiled_share: 0.2 });
    let h = Harness::start(items, &policy()).await;
    h.ok(&["sync"]).await;
    let dry = h.ok(&["apply"]).await;
    let planned: usize = dry.stdout.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap();
    assert!(planned >= 3, "the generated backlog should hold a few confident moves:\n{}", dry.stdout);

    h.world.jira.log().clear();
    h.world.servicenow.log().clear();
    h.world.jira.faults().set(flaky(seed));
    h.world.servicenow.faults().set(flaky(seed + 1000));
    let first = h.run(&["apply", "--yes"]).await;
    let mut context = format!("fault seed {seed}, {planned} moves, one apply run");
    if first.code() != Some(0) {
        // Allowed: a correction that failed all its attempts stays pending and resumes on the next run.
        context = format!("fault seed {seed}, {planned} moves, a second apply run was needed");
        assert_eq!(first.code(), Some(1), "{context}: a failed correction is a runtime failure:\n{}", first.stderr);
        let second = h.run(&["apply", "--yes"]).await;
        assert_eq!(second.code(), Some(0), "{context}: the second run finishes:\n{}\n{}", second.stdout, second.stderr);
    }
    let (seen, lost_writes) = faults_seen(&h);
    h.world.jira.faults().clear();
    h.world.servicenow.faults().clear();

    let moves = moves(&h);
    assert_eq!(moves.len(), planned, "{context}: every planned move is in the outbox");
    assert!(
        moves.iter().all(is_done),
        "{context}: every move is done: {:#?}",
        moves.iter().map(|c| (&c.id, &c.state)).collect::<Vec<_>>()
    );
    assert_every_move_done_once(&h, &moves, &context);
    let total: usize = seen.values().sum();
    assert!(total >= 10, "{context}: the simulators injected faults during apply: {seen:?}");
    assert!(lost_writes >= 1, "{context}: some write was carried out and its answer lost: {seen:?}");
    eprintln!("{context}: faults injected {seen:?}, {lost_writes} writes with a lost answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_correction_completes_once_with_20_percent_faults_seed_1() {
    apply_under_faults(1).await;
}

/// This seed's faults cover every kind: 429, 5xx, resets and hangs before and after handling, bad JSON, HTML.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_correction_completes_once_with_20_percent_faults_seed_3() {
    apply_under_faults(3).await;
}

/// The hard case, made certain: the answer to every kind of write is lost *after* the tracker carried it
/// out (create, comment, link, close, in both trackers). The saga reads before it writes again.
#[tokio::test]
async fn lost_answers_after_the_write_duplicate_nothing() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, sn_source) = sources(&h);
    h.ok(&["sync"]).await;
    let lost = |method: &str, path: &str| Injection {
        kind: FaultKind::Reset,
        phase: FaultPhase::AfterHandling,
        method: Some(method.into()),
        path_contains: Some(path.into()),
    };
    let jira = h.world.jira.faults();
    jira.inject(lost("POST", "/rest/api/3/issue"));
    jira.inject(lost("POST", "/remotelink"));
    jira.inject(lost("POST", "/comment"));
    jira.inject(lost("POST", "/transitions"));
    let sn = h.world.servicenow.faults();
    sn.inject(lost("POST", "/api/now/table/incident"));
    sn.inject(lost("PATCH", "/api/now/table/incident/"));
    sn.inject(lost("PATCH", "/api/now/table/incident/"));
    sn.inject(lost("PATCH", "/api/now/table/incident/"));

    let run = h.run(&["apply", "--yes"]).await;
    assert_eq!(run.code(), Some(0), "apply recovers within one run:\n{}\n{}", run.stdout, run.stderr);
    let (seen, lost_writes) = faults_seen(&h);
    assert_eq!(
        (seen.get("reset (after handling)"), lost_writes),
        (Some(&8), 8),
        "every injected loss struck: {seen:?}"
    );
    assert_moved_from_jira(&h, &jira_source, "lost answers");
    assert_moved_from_servicenow(&h, &sn_source, "lost answers");
    assert_eq!((h.jira_creates(), h.sn_creates()), (1, 1), "one create in each tracker in all");
}
