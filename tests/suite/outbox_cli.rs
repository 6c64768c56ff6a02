//! `twotrack outbox list | retry | cancel` and parking, against both simulators:
//! - a move to an impossible target (a Jira project that does not exist) fails every run; after
//!   `policy.max_attempts` failed runs it is parked with its last error and no longer attempted (the
//!   simulator's request log shows no further create), `outbox list` shows it, the audit and `apply` count
//!   it, and once the configuration is fixed `outbox retry` lets the next apply carry it out;
//! - `outbox cancel` gives up a pending correction that wrote nothing, and refuses (exit 4) one whose twin
//!   exists or whose create was sent without a known outcome, leaving it to finish;
//! - the daemon exports the parked count at /metrics, and an outbox command says that the daemon holds
//!   the mirror.

use crate::apply_support;

use apply_support::daemon::{Daemon, eventually};
use apply_support::metrics::metric;
use apply_support::*;
use serde_json::Value;
use twotrack::outbox::State;

/// The Jira project the impossible target names.
const GONE: &str = "GONE";

/// Write the configuration with `policy.max_attempts` and, if given, a Jira target project; `extra` is
/// appended (a table of its own).
fn configure(h: &Harness, policy: &Policy, max_attempts: u32, jira_project: Option<&str>, extra: &str) {
    h.write_config(policy);
    let mut text = std::fs::read_to_string(&h.config).unwrap();
    assert_eq!(text.matches("[policy]\n").count(), 1, "{text}");
    text = text.replace("[policy]\n", &format!("[policy]\nmax_attempts = {max_attempts}\n"));
    if let Some(project) = jira_project {
        let scope = "projects = [\"SHOP\"]\n";
        assert_eq!(text.matches(scope).count(), 1, "{text}");
        text = text.replace(scope, &format!("{scope}\n[tracker.targets]\nproject = \"{project}\"\n"));
    }
    text += extra;
    std::fs::write(&h.config, text).unwrap();
}

/// Every create Jira was asked for (whatever the answer).
fn jira_create_requests(h: &Harness) -> usize {
    h.world.jira.log().entries().iter().filter(|e| e.method == "POST" && e.path.ends_with("/issue")).count()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

#[tokio::test]
async fn a_move_that_keeps_failing_is_parked_listed_counted_and_carried_out_once_retried() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    configure(&h, &Policy::writes(), 2, Some(GONE), "");
    let (jira_source, sn_source) = sources(&h);
    let id = format!("move:{SN}:{sn_source}");
    h.ok(&["sync"]).await;
    let empty = h.ok(&["outbox", "list"]).await.stdout;
    assert!(empty.starts_with("The outbox is empty"), "{empty}");

    // Run 1: the Jira item moves; the ServiceNow item's create is rejected (no such project).
    let first = h.run(&["apply", "--yes"]).await;
    assert_eq!(first.code(), Some(1), "{}\n{}", first.stdout, first.stderr);
    assert!(
        first.stdout.contains("1 done, 0 dropped (re-evaluated or exempt), 1 failed, 0 parked"),
        "{}",
        first.stdout
    );
    assert!(first.stderr.contains("1 stay in the outbox and resume on the next run"), "{}", first.stderr);
    assert_moved_from_jira(&h, &jira_source, "run 1");
    assert_eq!(jira_create_requests(&h), 1);
    let c = h.correction(&id).unwrap();
    assert_eq!((c.state.clone(), c.attempts), (State::Pending, 1));
    assert!(!c.progress.create_sent, "a rejected create made no twin: {:?}", c.progress);

    // Run 2: the second failed run in a row parks it.
    let second = h.run(&["apply", "--yes"]).await;
    assert_eq!(second.code(), Some(1), "{}\n{}", second.stdout, second.stderr);
    assert!(
        second.stdout.contains("0 done, 0 dropped (re-evaluated or exempt), 1 failed, 1 parked"),
        "{}",
        second.stdout
    );
    assert!(
        second.stderr.contains(&format!("{id}: "))
            && second.stderr.contains("parked: it failed policy.max_attempts = 2"),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains("1 parked by this run wait for `twotrack outbox retry`"), "{}", second.stderr);
    assert_eq!(jira_create_requests(&h), 2);
    let c = h.correction(&id).unwrap();
    let State::Parked { error, .. } = &c.state else { panic!("parked: {:?}", c.state) };
    assert!(error.contains("Specify a valid project ID or key"), "{error}");
    assert_eq!(c.attempts, 2);

    // Run 3: not attempted again; apply succeeds and says what is parked.
    let third = h.ok(&["apply", "--yes"]).await;
    assert!(third.stdout.contains(", 1 parked (not attempted):"), "{}", third.stdout);
    assert!(third.stdout.contains("(parked: not attempted until `twotrack outbox retry`)"), "{}", third.stdout);
    assert!(
        third.stdout.contains("0 done, 0 dropped (re-evaluated or exempt), 0 failed, 1 parked"),
        "{}",
        third.stdout
    );
    assert!(third.stdout.contains("`twotrack outbox list --state parked`"), "{}", third.stdout);
    assert_eq!(jira_create_requests(&h), 2, "a parked correction is not attempted again");
    assert_eq!(h.correction(&id).unwrap().attempts, 2);

    // The list, for a human and for a script.
    let listed = h.ok(&["outbox", "list"]).await.stdout;
    assert!(listed.starts_with("2 of 2 correction(s) in the outbox (1 parked, 1 done):"), "{listed}");
    let line = listed.lines().find(|l| l.starts_with(&id)).unwrap_or_else(|| panic!("{id} in\n{listed}"));
    for cell in ["parked", "2/2", "move", &format!("{SN}:{sn_source} -> {JIRA}")] {
        assert!(line.contains(cell), "{cell:?} in {line:?}");
    }
    assert!(
        listed.contains("    last error: jira: ") && listed.contains("Specify a valid project ID or key"),
        "{listed}"
    );
    assert!(listed.contains("`twotrack outbox retry ID`"), "{listed}");
    let parked = json(&h.ok(&["outbox", "list", "--state", "parked", "--format", "json"]).await.stdout);
    assert_eq!(parked["schema_version"], 1);
    assert_eq!(parked["max_attempts"], 2);
    assert_eq!(parked["totals"], serde_json::json!({ "parked": 1, "done": 1 }));
    let rows = parked["corrections"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{parked:#}");
    let row = &rows[0];
    assert_eq!(
        (row["id"].as_str(), row["state"].as_str(), row["attempts"].as_u64()),
        (Some(id.as_str()), Some("parked"), Some(2))
    );
    assert_eq!((row["action"].as_str(), row["target"].as_str()), (Some("move"), Some(JIRA)));
    assert!(row["last_error"].as_str().unwrap().contains("Specify a valid project ID or key"), "{row:#}");
    assert!(row["age_seconds"].as_i64().is_some() && row["state_since"].is_string(), "{row:#}");
    let pending = h.ok(&["outbox", "list", "--state", "pending"]).await.stdout;
    assert_eq!(pending, "No pending corrections. The outbox holds 2: 1 parked, 1 done.\n");

    // The audit counts it in every format that shows totals.
    let audit = json(&h.ok(&["audit", "--format", "json"]).await.stdout);
    assert_eq!(audit["totals"]["parked"], 1, "{:#}", audit["totals"]);
    let md = h.ok(&["audit", "--format", "md"]).await.stdout;
    assert!(md.contains("1 parked correction(s) (`twotrack outbox list --state parked`)"), "{md}");
    let html = h.ok(&["audit", "--format", "html"]).await.stdout;
    assert!(html.contains("<b>1</b>parked corrections"), "{html}");

    // Fix the target, retry: the next apply carries it out, once.
    configure(&h, &Policy::writes(), 2, None, "");
    let retried = h.ok(&["outbox", "retry", &id]).await.stdout;
    assert!(retried.contains(&format!("{id}: parked -> pending")), "{retried}");
    let c = h.correction(&id).unwrap();
    assert_eq!((c.state.clone(), c.attempts, c.last_error.clone()), (State::Pending, 0, None));
    let again = h.ok(&["outbox", "retry", &id]).await.stdout;
    assert!(again.contains(&format!("{id}: unchanged, it is pending already")), "{again}");
    let applied = h.ok(&["apply", "--yes"]).await.stdout;
    assert!(applied.contains("1 done, 0 dropped (re-evaluated or exempt), 0 failed, 0 parked"), "{applied}");
    assert_moved_from_servicenow(&h, &sn_source, "after the retry");
    assert_eq!(jira_create_requests(&h), 3);
    let none = h.ok(&["outbox", "list", "--state", "parked"]).await.stdout;
    assert_eq!(none, "No parked corrections. The outbox holds 2: 2 done.\n");

    // The audit log tells the whole story; the last error stays in it.
    let history = h.ok(&["history", &sn_source]).await.stdout;
    // (Each attempt also judges the source again: its "re-evaluated" lines are left out here.)
    let events: Vec<&str> =
        history.lines().filter_map(|l| l.split_whitespace().nth(2)).filter(|e| *e != "re-evaluated").collect();
    assert_eq!(
        events,
        [
            "planned",
            "failed",
            "parked",
            "retried",
            "created",
            "linked",
            "history",
            "attachments",
            "commented",
            "closed",
            "done"
        ],
        "{history}"
    );
    let retried = history.lines().find(|l| l.contains(" retried ")).unwrap();
    assert!(retried.contains("after 2 failed run(s); the last error: jira:"), "{retried}");
    assert!(retried.contains("Specify a valid project ID or key"), "{retried}");

    // Retrying what is done is refused (exit 4); an unknown id is a usage error (exit 2) naming it.
    let done = h.run(&["outbox", "retry", &id]).await;
    assert_eq!(done.code(), Some(4), "{}", done.stderr);
    assert!(done.stderr.contains(&format!("{id} cannot be retried: it is done already")), "{}", done.stderr);
    let unknown = h.run(&["outbox", "retry", &sn_source]).await;
    assert_eq!(unknown.code(), Some(2), "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains(&format!("there is no correction {sn_source:?} in the outbox (did you mean {id}?)")),
        "{}",
        unknown.stderr
    );
}

#[tokio::test]
async fn retry_all_parked_and_a_configurable_max_attempts() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    configure(&h, &Policy::writes(), 1, Some(GONE), "");
    let (_, sn_source) = sources(&h);
    let id = format!("move:{SN}:{sn_source}");
    h.ok(&["sync"]).await;
    let nothing = h.ok(&["outbox", "retry", "--all-parked"]).await.stdout;
    assert_eq!(nothing, "No parked corrections: nothing to retry.\n");

    // max_attempts = 1: the first failed run parks.
    let first = h.run(&["apply", "--yes"]).await;
    assert_eq!(first.code(), Some(1), "{}", first.stderr);
    assert!(first.stdout.contains("1 failed, 1 parked"), "{}", first.stdout);
    assert!(matches!(h.correction(&id).unwrap().state, State::Parked { .. }));
    h.ok(&["apply", "--yes"]).await;
    assert_eq!(jira_create_requests(&h), 1);

    // Retried while the target is still wrong: it fails and is parked again, after one more run.
    let retried = h.ok(&["outbox", "retry", "--all-parked"]).await.stdout;
    assert!(retried.contains(&format!("{id}: parked -> pending")), "{retried}");
    assert_eq!(h.run(&["apply", "--yes"]).await.code(), Some(1));
    assert_eq!(jira_create_requests(&h), 2);
    let c = h.correction(&id).unwrap();
    assert!(matches!(c.state, State::Parked { .. }) && c.attempts == 1, "{c:?}");

    // A parked move that wrote nothing can be cancelled; it is neither attempted nor planned again.
    let cancelled = h.ok(&["outbox", "cancel", &id, "--reason", "the wishlist belongs to another team"]).await.stdout;
    assert!(cancelled.contains(&format!("{id}: parked -> cancelled")), "{cancelled}");
    configure(&h, &Policy::writes(), 1, None, "");
    let applied = h.ok(&["apply", "--yes"]).await.stdout;
    assert!(applied.contains(&format!("{SN}:{sn_source}")) && applied.contains("(cancelled)"), "{applied}");
    assert!(applied.contains("0 done, 0 dropped (re-evaluated or exempt), 0 failed, 0 parked"), "{applied}");
    assert_eq!(jira_create_requests(&h), 2);
    assert!(h.sn_active(&sn_source), "{sn_source} stays open");
    let history = h.ok(&["history", &sn_source]).await.stdout;
    assert!(
        history.lines().any(|l| l.contains(" cancelled ") && l.contains("the wishlist belongs to another team")),
        "{history}"
    );
    let listed = h.ok(&["outbox", "list", "--state", "cancelled"]).await.stdout;
    assert!(listed.contains("    cancelled: the wishlist belongs to another team"), "{listed}");
}

#[tokio::test]
async fn cancel_gives_up_a_pending_correction_and_refuses_half_a_move() {
    let policy = Policy { max_move_share: 0.7, ..Policy::writes() };
    let mut items = backlog();
    items.push(more_work_in_jira());
    let h = Harness::start(items, &policy).await;
    let (jira_source, sn_source) = sources(&h);
    let more = h.jira_key(MORE_WORK_IN_JIRA);
    h.ok(&["sync"]).await;

    // Crash apply at a different step each time. An apply carries out every pending correction, in the
    // order of their ids (move:jira:SHOP-1 < move:jira:SHOP-3 < move:servicenow:...), so: the ServiceNow move
    // dies once its twin is recorded; then the first Jira move dies right after its create (the answer
    // never recorded); then the second Jira move is stored, but the run dies (in the first one, again)
    // before it starts: it has written nothing.
    for (only, point) in [(&sn_source, "before-link"), (&jira_source, "after-create"), (&more, "before-find")] {
        let crashed = h.run_with(&["apply", "--yes", "--only", only], &[("TWOTRACK_FAILPOINT", point)]).await;
        assert!(crashed.died(), "{point}: {}", crashed.stderr);
    }
    assert!(jira_source < more, "{jira_source} sorts before {more}");
    let stored = h.correction(&format!("move:{JIRA}:{more}")).unwrap();
    assert_eq!((stored.state.clone(), stored.progress.clone()), (State::Pending, Default::default()), "{stored:?}");

    // Nothing written: cancelled.
    let id = format!("move:{JIRA}:{more}");
    let cancelled = h.ok(&["outbox", "cancel", &id]).await.stdout;
    assert!(cancelled.contains(&format!("{id}: pending -> cancelled")), "{cancelled}");
    assert!(cancelled.contains("label it \"twotrack-keep\""), "{cancelled}");
    let again = h.ok(&["outbox", "cancel", &id]).await.stdout;
    assert!(again.contains("unchanged, it is cancelled already"), "{again}");

    // The create went out and its answer was lost: a twin may exist. Refused, exit 4, nothing changed.
    let in_flight = format!("move:{JIRA}:{jira_source}");
    let refused = h.run(&["outbox", "cancel", &in_flight]).await;
    assert_eq!(refused.code(), Some(4), "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains(&format!("{in_flight} cannot be cancelled: the create of its twin was sent to {SN}")),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains(&format!("add the label \"twotrack-keep\" to {JIRA}:{jira_source}")),
        "{}",
        refused.stderr
    );

    // The twin exists: refused, naming it.
    let with_twin = format!("move:{SN}:{sn_source}");
    let twin = h.correction(&with_twin).unwrap().progress.twin.unwrap().key;
    let refused = h.run(&["outbox", "cancel", &with_twin]).await;
    assert_eq!(refused.code(), Some(4), "{}", refused.stderr);
    assert!(refused.stderr.contains(&format!("its twin {JIRA}:{twin} exists already")), "{}", refused.stderr);
    assert!(refused.stderr.contains("half a move"), "{}", refused.stderr);

    // Unknown id: exit 2, named.
    let unknown = h.run(&["outbox", "cancel", "move:jira:NOPE-1"]).await;
    assert_eq!(unknown.code(), Some(2), "{}", unknown.stderr);
    assert!(unknown.stderr.contains("there is no correction \"move:jira:NOPE-1\" in the outbox"), "{}", unknown.stderr);

    // The refused ones finish as if nothing happened; the cancelled one is not carried out.
    let applied = h.ok(&["apply", "--yes"]).await.stdout;
    assert!(applied.contains("2 done, 0 dropped (re-evaluated or exempt), 0 failed, 0 parked"), "{applied}");
    assert_moved_from_jira(&h, &jira_source, "after the refused cancel");
    assert_moved_from_servicenow(&h, &sn_source, "after the refused cancel");
    assert!(h.sn_twins(&more).is_empty(), "no twin of the cancelled {more}");
    assert!(!h.jira_done(&more), "{more} stays open");
    let history = h.ok(&["history", &more]).await.stdout;
    let events: Vec<&str> = history.lines().filter_map(|l| l.split_whitespace().nth(2)).collect();
    assert_eq!(events, ["planned", "cancelled"], "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_parks_and_exports_the_parked_count() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let schedule = "\n[schedule]\nsync = \"*/1 * * * * *\"\napply = \"*/1 * * * * *\"\nfollowback = \"0 0 0 1 1 *\"\n";
    configure(&h, &Policy::writes(), 1, Some(GONE), schedule);
    let listen_file = h.dir.path().join("listen");
    let (daemon, addr) = Daemon::start(&h.config, h.dir.path(), &listen_file).await;
    let http = reqwest::Client::new();
    let scrape =
        async || -> Option<String> { http.get(format!("http://{addr}/metrics")).send().await.ok()?.text().await.ok() };

    // The first apply run fails the move and parks it (max_attempts = 1); later runs leave it alone and
    // succeed.
    let runs_after_parking = eventually("the parked gauge", async || {
        let text = scrape().await?;
        (metric(&text, "twotrack_corrections_parked", &[]) == 1.0)
            .then(|| metric(&text, "twotrack_job_runs_total", &[("job", "apply"), ("outcome", "ok")]))
    })
    .await;
    let text = eventually("two more apply runs", async || {
        let text = scrape().await?;
        let runs = metric(&text, "twotrack_job_runs_total", &[("job", "apply"), ("outcome", "ok")]);
        (runs >= runs_after_parking + 2.0).then_some(text)
    })
    .await;
    assert_eq!(metric(&text, "twotrack_corrections_parked", &[]), 1.0, "{text}");
    assert_eq!(metric(&text, "twotrack_corrections_total", &[("outcome", "parked")]), 1.0, "{text}");
    assert_eq!(metric(&text, "twotrack_corrections_total", &[("outcome", "failed")]), 1.0, "{text}");
    assert!(text.contains("# HELP twotrack_corrections_parked"), "{text}");
    assert_eq!(jira_create_requests(&h), 1, "parked: not attempted by the later runs");

    // While the daemon holds the mirror, `outbox list` asks it, and a command that changes the outbox
    // names the daemon.
    let listed = h.run(&["outbox", "list", "--state", "parked"]).await;
    assert_eq!(listed.code(), Some(0), "{}", listed.stderr);
    assert!(listed.stderr.contains("the running daemon (pid"), "{}", listed.stderr);
    assert!(listed.stdout.contains("parked") && listed.stdout.contains("move:"), "{}", listed.stdout);
    let locked = h.run(&["outbox", "retry", "--all-parked"]).await;
    assert_eq!(locked.code(), Some(1), "{}", locked.stderr);
    assert!(locked.stderr.contains("held by the running daemon (pid"), "{}", locked.stderr);
    assert!(locked.stderr.contains("stop the daemon first"), "{}", locked.stderr);
    drop(daemon);

    // A daemon that starts with a parked correction exports it before any job runs.
    let idle = "\n[schedule]\nsync = \"0 0 0 1 1 *\"\napply = \"0 0 0 1 1 *\"\nfollowback = \"0 0 0 1 1 *\"\n";
    configure(&h, &Policy::writes(), 1, Some(GONE), idle);
    let _ = std::fs::remove_file(&listen_file);
    let (_daemon, addr) = Daemon::start(&h.config, h.dir.path(), &listen_file).await;
    let text = eventually("/metrics", async || {
        http.get(format!("http://{addr}/metrics")).send().await.ok()?.text().await.ok()
    })
    .await;
    assert_eq!(metric(&text, "twotrack_corrections_parked", &[]), 1.0, "{text}");
    assert_eq!(metric(&text, "twotrack_job_runs_total", &[]), 0.0, "no job ran yet: {text}");
}
