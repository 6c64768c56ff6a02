//! Storm corrections (issue 16, part 3): a generated outage, its reports filed partly in the product
//! backlog and partly in the service queue, is applied as one correction: one parent incident in
//! ServiceNow, each incident there its child (`parent_incident`), each backlog report linked to the
//! parent, its reporter told once and closed, none moved on its own. A crash at any step of the storm
//! saga leaves no second parent and no second note; a storm that grows after the parent exists attaches
//! its new reports to the same parent.

use crate::apply_support;

use apply_support::storm::{outage, world};
use apply_support::*;
use serde_json::{Value, json};
use twotrack::outbox::{Correction, Planned2};
use twotrack::plan::storm::Attach;
use twotrack_sim::generator::{GeneratedItem, Home};

fn storm_corrections(h: &Harness) -> Vec<Correction> {
    h.corrections().into_iter().filter(|c| matches!(c.action, Planned2::Storm { .. })).collect()
}

/// The ServiceNow records twotrack created as a storm's parent.
fn parents(h: &Harness) -> Vec<Value> {
    h.sn_rows()
        .into_iter()
        .filter(|(_, r)| {
            r["correlation_display"] == "twotrack"
                && r["correlation_id"].as_str().is_some_and(|c| c.starts_with("storm-"))
        })
        .map(|(_, r)| r)
        .collect()
}

fn reference(v: &Value) -> &str {
    v.as_str().or_else(|| v["value"].as_str()).unwrap_or_default()
}

/// One storm correction, done, with one parent, and every report it holds attached: incidents are the
/// parent's children, backlog reports linked, told once and closed, none with a twin of its own.
/// Returns the correction.
fn assert_gathered(h: &Harness, context: &str) -> Correction {
    let storms = storm_corrections(h);
    assert_eq!(storms.len(), 1, "{context}: one storm correction: {storms:#?}");
    let c = storms.into_iter().next().unwrap();
    assert!(is_done(&c), "{context}: the storm correction is done: {:?} {:?}", c.state, c.last_error);
    let parents = parents(h);
    assert_eq!(parents.len(), 1, "{context}: exactly one parent incident");
    let parent = &parents[0];
    let (parent_key, parent_id) = (parent["number"].as_str().unwrap(), parent["sys_id"].as_str().unwrap());
    assert_eq!(c.progress.twin.as_ref().map(|t| t.key.as_str()), Some(parent_key), "{context}: the recorded parent");
    assert!(
        parent["description"].as_str().unwrap_or_default().contains("Reports:"),
        "{context}: the parent lists the reports"
    );
    let Planned2::Storm { members, .. } = &c.action else { unreachable!() };
    for m in members {
        let done = c.progress.members.get(&m.id()).unwrap_or_else(|| panic!("{context}: {} has progress", m.key));
        assert!(done.done && done.skipped.is_none(), "{context}: {} attached: {done:?}", m.key);
        match m.attach {
            Attach::Child => {
                let (_, r) = h.sn_record(&m.key);
                assert_eq!(reference(&r["parent_incident"]), parent_id, "{context}: {} is a child", m.key);
                assert!(r["active"] == "true" || r["active"] == true, "{context}: {} stays open", m.key);
            }
            Attach::Linked => {
                let (_, r) = h.sn_record(&m.key);
                assert_eq!(r["correlation_id"], parent_key, "{context}: {} is linked to the parent", m.key);
            }
            Attach::Gathered => {
                let comments = h.jira_comments(&m.key);
                let told = format!("(twotrack ref {}:{})", c.id, m.key);
                assert_eq!(count_containing(&comments, &told), 1, "{context}: {} told once: {comments:#?}", m.key);
                assert!(comments.iter().any(|t| t.contains(parent_key)), "{context}: the note names the parent");
                assert_eq!(h.jira_links(&m.key, &format!("twotrack:{SN}:{parent_key}")), 1, "{context}: linked");
                assert!(h.jira_done(&m.key), "{context}: {} is closed", m.key);
                assert_eq!(h.jira_closes(&m.key), 1, "{context}: {} closed once", m.key);
            }
        }
        assert!(h.sn_twins(&m.key).is_empty() && h.jira_twins(&m.key).is_empty(), "{context}: {} not moved", m.key);
    }
    c
}

/// File `reports` as their reporters would (the storm goes on); returns their keys.
async fn file(h: &Harness, reports: &[GeneratedItem]) -> Vec<String> {
    let mut added = Vec::new();
    for r in reports {
        added.push(match r.home {
            Home::Jira => h.jira_file(&r.filed_type, &r.summary, &r.description).await,
            Home::ServiceNow => h.sn_file(&r.filed_type, &r.summary, &r.description).await,
        });
    }
    added
}

/// The parent's work notes about reports that joined the storm after it was created.
fn joined_notes(h: &Harness, parent: &str) -> Vec<String> {
    h.sn_journal(parent, "work_notes").into_iter().filter(|n| n.contains("joined this incident")).collect()
}

/// The key apply names a storm by (its first report), from the plan it prints.
async fn storm_key(h: &Harness) -> String {
    let plan = h.ok(&["apply"]).await.stdout;
    let line = plan.lines().find(|l| l.contains("report(s) of one event")).unwrap_or_else(|| panic!("{plan}"));
    line.split_whitespace().next().unwrap().split_once(':').unwrap().1.to_string()
}

#[tokio::test]
async fn a_storm_is_one_parent_with_its_reports_attached_and_grows_under_it() {
    let (reports, later) = outage();
    let h = Harness::start(world(&reports), &Policy::writes()).await;
    h.ok(&["sync"]).await;

    // The plan says what happens to each report.
    let plan = h.ok(&["apply"]).await.stdout;
    assert!(plan.contains("report(s) of one event under one parent incident in servicenow"), "{plan}");
    assert!(plan.contains("becomes a child of the parent") && plan.contains("its reporter told"), "{plan}");
    println!("{plan}");

    let run = h.ok(&["apply", "--yes"]).await;
    println!("{}", run.stdout);
    let c = assert_gathered(&h, "first cycle");
    let Planned2::Storm { members, .. } = &c.action else { unreachable!() };
    let held = members.len();
    assert!(held >= reports.len() - 1, "{held} of {} reports gathered", reports.len());
    let gathered = members.iter().filter(|m| m.attach == Attach::Gathered).count();
    println!("first cycle: {held} reports under one parent, {gathered} from the backlog");
    // The misfiled bystander still moves on its own; the storm's reports do not.
    assert_moved_from_jira(&h, &h.jira_key(WORK_IN_JIRA), "beside the storm");

    // The outage goes on: three more reports arrive after the parent exists.
    let added = file(&h, &later).await;
    h.ok(&["sync"]).await;
    let run = h.ok(&["apply", "--yes"]).await;
    println!("{}", run.stdout);
    let grown = assert_gathered(&h, "after growth");
    assert_eq!(grown.id, c.id, "the same storm correction");
    assert_eq!(grown.progress.twin, c.progress.twin, "the same parent");
    let Planned2::Storm { members, .. } = &grown.action else { unreachable!() };
    for key in &added {
        assert!(members.iter().any(|m| &m.key == key), "the new report {key} is attached: {members:#?}");
    }
    println!("after growth: {} reports under the same parent", members.len());
    // The parent names the reports that joined, in one work note.
    let parent = grown.progress.twin.as_ref().unwrap().key.clone();
    let notes = joined_notes(&h, &parent);
    assert_eq!(notes.len(), 1, "one note about the joined reports: {notes:#?}");
    for key in &added {
        assert!(notes[0].contains(key.as_str()), "the note names {key}: {}", notes[0]);
    }
    let history = h.ok(&["history", &c.source_key]).await.stdout;
    assert!(history.contains("grown"), "{history}");

    // A third cycle has nothing left to do for the storm.
    let again = h.ok(&["apply"]).await.stdout;
    assert!(again.contains("(already handled)") || !again.contains("of one event"), "{again}");
    assert_eq!(parents(&h).len(), 1);
    h.ok(&["apply", "--yes"]).await;
    assert_eq!(joined_notes(&h, &parent).len(), 1, "no second note for the same reports");
}

/// Crash `apply` at a step of the storm saga, resume once: one parent, each reporter told once.
async fn crash_and_resume(point: &str) {
    let (reports, _) = outage();
    let h = Harness::start(world(&reports), &Policy::writes()).await;
    h.ok(&["sync"]).await;
    let key = storm_key(&h).await;
    h.crash_apply_at(point, &key).await;
    assert!(storm_corrections(&h).iter().all(|c| !is_done(c)), "{point}: not done before the resume");
    h.ok(&["apply", "--yes", "--only", &key]).await;
    assert_gathered(&h, &format!("crash at {point}"));
}

// Every failpoint of the storm saga: right before and right after each remote write.
storm_saga_crash_cases!();

/// The audit's estimate of a capped cycle counts a storm as apply does: one correction, not a move per
/// report in the backlog. With one correction a cycle, the storm goes first and only the misfiled
/// bystander waits.
#[tokio::test]
async fn the_audit_counts_a_storm_as_one_correction_against_the_cap() {
    let (reports, _) = outage();
    let h = Harness::start(world(&reports), &Policy { max_moves: 1, ..Policy::writes() }).await;
    h.ok(&["sync"]).await;
    let audit: Value = serde_json::from_str(&h.ok(&["audit", "--format", "json"]).await.stdout).unwrap();
    let totals = &audit["totals"];
    let in_backlog = reports.iter().filter(|r| r.home == Home::Jira).count() as u64;
    assert!(totals["moves"].as_u64().unwrap() > in_backlog, "the backlog's reports read as misfiled: {totals}");
    assert_eq!(totals["moves_waiting"], 1, "only the bystander waits: {totals}");
}

/// Follow-back for storms: once the parent is resolved, the reporter of each report the storm closed in
/// the backlog hears once how it ended (its resolution and notes), also when the process dies right after
/// posting to the first of them; the reports that stay open beside the parent get no note.
#[tokio::test]
async fn the_reporters_of_closed_reports_hear_once_how_the_parent_was_resolved() {
    let (reports, _) = outage();
    let h = Harness::start(world(&reports), &Policy::writes()).await;
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let c = assert_gathered(&h, "before the parent is resolved");
    let Planned2::Storm { members, .. } = &c.action else { unreachable!() };
    let told = |h: &Harness, key: &str| {
        count_containing(&h.jira_comments(key), &format!("(twotrack ref followback:{}:{key})", c.id))
    };
    let gathered: Vec<&str> = members.iter().filter(|m| m.attach == Attach::Gathered).map(|m| m.key.as_str()).collect();
    assert!(gathered.len() >= 2, "{gathered:?}");

    // Nothing while the parent is open.
    h.ok(&["run", "--once"]).await;
    assert!(gathered.iter().all(|k| told(&h, k) == 0), "the parent is still open");

    let parent = c.progress.twin.as_ref().unwrap().key.clone();
    h.sn_next_second(&parent).await;
    let notes = "The core router was replaced; checkout works again.";
    h.sn_edit(&parent, json!({ "state": "6", "close_code": "Solved (Permanently)", "close_notes": notes })).await;
    // Killed right after the first note: the next cycle finds it and tells only the others.
    let crashed = h.run_with(&["run", "--once"], &[("TWOTRACK_FAILPOINT", "storm-after-followback")]).await;
    assert!(crashed.died(), "{}", crashed.stderr);
    h.ok(&["run", "--once"]).await;
    h.ok(&["run", "--once"]).await;
    for key in &gathered {
        assert_eq!(told(&h, key), 1, "{key}: told once: {:#?}", h.jira_comments(key));
        let comments = h.jira_comments(key);
        let note = comments.iter().find(|t| t.contains("followback:")).unwrap();
        assert!(note.contains(&parent) && note.contains("has been resolved") && note.contains(notes), "{note}");
    }
    for m in members.iter().filter(|m| m.attach != Attach::Gathered) {
        let comments = h.sn_journal(&m.key, "comments");
        assert_eq!(count_containing(&comments, "followback:"), 0, "{}: stays beside the parent, no note", m.key);
    }
    let stored = h.correction(&c.id).unwrap();
    for key in &gathered {
        assert!(stored.progress.members[&format!("{JIRA}:{key}")].followed_back, "{key} recorded");
    }
}

/// Reports that join a grown storm are named on the parent once, also when `apply` dies right before or
/// right after the note.
async fn join_crash_and_resume(point: &str) {
    let (reports, later) = outage();
    let h = Harness::start(world(&reports), &Policy::writes()).await;
    h.ok(&["sync"]).await;
    let key = storm_key(&h).await;
    h.ok(&["apply", "--yes"]).await;
    let added = file(&h, &later).await;
    h.ok(&["sync"]).await;
    h.crash_apply_at(point, &key).await;
    h.ok(&["apply", "--yes", "--only", &key]).await;
    let c = assert_gathered(&h, &format!("crash at {point}"));
    let notes = joined_notes(&h, &c.progress.twin.as_ref().unwrap().key);
    assert_eq!(notes.len(), 1, "{point}: one note about the joined reports: {notes:#?}");
    assert!(added.iter().all(|k| notes[0].contains(k.as_str())), "{point}: {}", notes[0]);
}

#[tokio::test]
async fn crash_before_joined_note() {
    join_crash_and_resume("storm-before-joined").await;
}

#[tokio::test]
async fn crash_after_joined_note() {
    join_crash_and_resume("storm-after-joined").await;
}
