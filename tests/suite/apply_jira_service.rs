//! A Jira Service Management project as the service queue, on the same Jira site as the product backlog
//! (two `[[tracker]]`s, one `base_url`, projects SHOP and ITS; no ServiceNow):
//!
//! - a Work item misfiled in SHOP moves to ITS as an Incident with Jira's priority, the ITSM Impact and
//!   Urgency, and its queue as a component; the two are joined by one issue link, the original is told
//!   and closed once, and the reporter hears once when the twin is resolved;
//! - the classifier reads ITS's components, impact and urgency, so a misrouted, misprioritised incident
//!   there is reported, and with `fix_routing` / `fix_priority` corrected once;
//! - a storm becomes one parent Incident in ITS, every report in ITS linked to it by an issue link, the
//!   reports in SHOP gathered (linked, told, closed), also when `apply` dies at any step of the storm saga.

use crate::apply_support;

use apply_support::storm::outage;
use apply_support::*;
use serde_json::{Value, json};
use twotrack::demo::WorldOptions;
use twotrack::outbox::{Correction, Planned2};
use twotrack::plan::storm::Attach;
use twotrack_jira::service::{IMPACT_OPTIONS, JIRA_PRIORITIES, URGENCY_OPTIONS};
use twotrack_sim::generator::{GeneratedItem, Home};
use twotrack_sim::jira::{IMPACT_FIELD, ServiceProject, URGENCY_FIELD};

/// The simulators with `items` (only those filed in Jira load, into SHOP), the ITS service project beside
/// SHOP, and the configuration of the two Jira trackers.
async fn start(items: Vec<GeneratedItem>) -> Harness {
    let world =
        WorldOptions { jira_service_projects: vec![ServiceProject::it_service_desk()], ..WorldOptions::default() };
    let h = Harness::start_with(items, &Policy::writes(), world).await;
    h.write_jira_service_config(&Policy::writes());
    h
}

/// File an issue in ITS as its reporter would: the reporter, the component and the ITSM fields set.
async fn file_in_its(h: &Harness, issue_type: &str, report: (&str, &str), reporter: &str, service: Value) -> String {
    let id = h.world.jira.add_user(reporter, &format!("{}@example.com", reporter.replace(' ', ".").to_lowercase()));
    let mut fields = json!({
        "project": {"key": "ITS"}, "issuetype": {"name": issue_type}, "summary": report.0, "description": report.1,
        "reporter": {"accountId": id},
    });
    fields.as_object_mut().unwrap().extend(service.as_object().cloned().unwrap_or_default());
    let created = h.jira_post("/issue", json!({ "fields": fields })).await;
    created["key"].as_str().unwrap().to_string()
}

/// The ITIL level a select option stands for (1..=3; the lowest option is 3).
fn level(options: &[&str; 4], value: &Value) -> usize {
    let value = value["value"].as_str().unwrap_or_else(|| panic!("no option in {value}"));
    options.iter().position(|o| *o == value).unwrap().min(2) + 1
}

#[tokio::test]
async fn work_misfiled_in_the_backlog_moves_to_the_service_project_and_back_and_forth_nothing_breaks() {
    let h = start(vec![work_in_jira(), value_in_jira()]).await;
    file_in_its(
        &h,
        "Service Request",
        ("Please reset my password, I am locked out of my laptop", "My account is locked; I cannot work."),
        "Tom Baker",
        json!({"components": [{"name": "Identity & Access"}]}),
    )
    .await;
    h.ok(&["sync"]).await;
    let plan = h.ok(&["apply"]).await.stdout;
    assert!(plan.contains("jira-its"), "the plan names the service project's tracker: {plan}");
    h.ok(&["apply", "--yes"]).await;

    // The twin carries the summary too: the original is the one in SHOP.
    let issues = h.world.jira.issues();
    let keys = issues.iter().filter(|i| i["fields"]["summary"] == WORK_IN_JIRA).map(|i| i["key"].as_str().unwrap());
    let source = keys.filter(|k| k.starts_with("SHOP-")).map(str::to_string).next().unwrap();
    let twins = h.jira_twins(&source);
    assert_eq!(twins.len(), 1, "one twin of {source}: {twins:?}");
    let twin = &twins[0];
    assert!(twin.starts_with("ITS-"), "the twin is in the service project: {twin}");
    let fields = h.jira_issue(twin)["fields"].clone();
    assert_eq!(fields["issuetype"]["name"], "Incident");
    assert_eq!(fields["components"][0]["name"], "Database Administration", "the queue is the component");
    let (impact, urgency) =
        (level(&IMPACT_OPTIONS, &fields[IMPACT_FIELD]), level(&URGENCY_OPTIONS, &fields[URGENCY_FIELD]));
    assert_eq!(fields["priority"]["name"], JIRA_PRIORITIES[impact + urgency - 2], "priority from {impact} x {urgency}");
    assert!(impact <= 2 && urgency <= 2, "a production outage is not low impact: {impact} x {urgency}");

    // The original: told once, joined to the twin by one issue link (no remote link on one site), closed.
    let reference = format!("(twotrack ref move:{JIRA}:{source})");
    let comments = h.jira_comments(&source);
    assert_eq!(count_containing(&comments, &reference), 1, "{comments:#?}");
    assert!(comments.iter().any(|c| c.contains(&reference) && c.contains(twin.as_str())));
    assert_eq!(h.jira_issue_links(&source, twin), ["Relates"], "one issue link between the two");
    assert!(h.jira_done(&source));
    assert_eq!(h.jira_closes(&source), 1);
    let c = h.correction(&format!("move:{JIRA}:{source}")).unwrap();
    assert!(is_done(&c), "{:?}", c.state);

    // Another cycle: the twin (a moved item) and the closed original stay as they are.
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    assert_eq!(h.jira_twins(&source).len(), 1);
    assert_eq!(h.jira_issue_links(&source, twin).len(), 1);
    assert_eq!(h.jira_closes(&source), 1);

    // The service desk resolves the twin: the reporter hears it once, on the original.
    h.jira_resolve(twin).await;
    h.ok(&["run", "--once"]).await;
    h.ok(&["run", "--once"]).await;
    let told = format!("(twotrack ref followback:move:{JIRA}:{source})");
    let comments = h.jira_comments(&source);
    assert_eq!(count_containing(&comments, &told), 1, "one follow-back: {comments:#?}");
    assert!(comments.iter().any(|c| c.contains(&told) && c.contains(twin.as_str())));
    assert_eq!(h.jira_twins(&source).len(), 1, "still one twin");
}

const MISROUTED: &str = "Orders database down: the production Postgres cluster refuses every connection";
const MISROUTED_TEXT: &str = "Since 9am the orders database rejects all connections, the whole web shop fails at \
                              checkout for everyone. Please restore the database service ASAP.";

#[tokio::test]
async fn the_queue_impact_and_urgency_of_a_service_project_issue_are_judged() {
    let h = start(vec![value_in_jira()]).await;
    let low = json!({"components": [{"name": "Identity & Access"}], IMPACT_FIELD: {"value": "Minor / Localized"},
        URGENCY_FIELD: {"value": "Low"}, "priority": {"name": "Lowest"}});
    let key = file_in_its(&h, "Incident", (MISROUTED, MISROUTED_TEXT), "Ann Lee", low).await;
    h.ok(&["sync"]).await;
    let kinds = h.finding_kinds(MISROUTED).await;
    assert!(kinds.iter().any(|k| k == "misrouted") && kinds.iter().any(|k| k == "misprioritised"), "{kinds:?}");
    let explained = h.ok(&["explain", &key]).await.stdout;
    assert!(explained.contains("misrouted: Identity & Access -> "), "{explained}");
    assert!(explained.contains("misprioritised: impact 3, urgency 3 -> impact 1"), "{explained}");
}

#[tokio::test]
async fn with_the_switches_on_the_component_impact_and_urgency_are_corrected_once() {
    let h = start(vec![value_in_jira()]).await;
    let policy = Policy { fix_routing: true, fix_priority: true, ..Policy::writes() };
    h.write_jira_service_config(&policy);
    let low = json!({"components": [{"name": "Identity & Access"}], IMPACT_FIELD: {"value": "Minor / Localized"},
        URGENCY_FIELD: {"value": "Low"}, "priority": {"name": "Lowest"}});
    let key = file_in_its(&h, "Incident", (MISROUTED, MISROUTED_TEXT), "Ann Lee", low).await;
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let fields = h.jira_issue(&key)["fields"].clone();
    assert_eq!(fields["components"][0]["name"], "Database Administration", "{fields}");
    let (impact, urgency) =
        (level(&IMPACT_OPTIONS, &fields[IMPACT_FIELD]), level(&URGENCY_OPTIONS, &fields[URGENCY_FIELD]));
    assert_eq!(impact, 1, "{fields}");
    assert_eq!(fields["priority"]["name"], JIRA_PRIORITIES[impact + urgency - 2]);
    let edits = h.world.jira.log().entries().iter().filter(|e| e.method == "PUT" && e.path.ends_with(&key)).count();
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let again = h.world.jira.log().entries().iter().filter(|e| e.method == "PUT" && e.path.ends_with(&key)).count();
    assert_eq!(again, edits, "corrected once");
}

// --- storms ------------------------------------------------------------------------------------------------

fn storm_corrections(h: &Harness) -> Vec<Correction> {
    h.corrections().into_iter().filter(|c| matches!(c.action, Planned2::Storm { .. })).collect()
}

/// The Jira issues twotrack created as a storm's parent (origin label `twotrack-from-storm-...`).
fn parents(h: &Harness) -> Vec<Value> {
    let is_parent = |l: &Value| l.as_str().is_some_and(|l| l.to_lowercase().starts_with("twotrack-from-storm-"));
    let issues = h.world.jira.issues();
    issues.into_iter().filter(|i| i["fields"]["labels"].as_array().into_iter().flatten().any(is_parent)).collect()
}

/// The outage: its backlog reports load into SHOP, its service-queue reports are filed in ITS (incidents
/// as Incident, requests as Service Request) by their reporters; plus a misfiled bystander in SHOP.
async fn storm_world() -> Harness {
    let (reports, _) = outage();
    let (in_backlog, in_queue): (Vec<_>, Vec<_>) = reports.into_iter().partition(|r| r.home == Home::Jira);
    let mut items = in_backlog;
    items.extend([work_in_jira(), value_in_jira()]);
    let h = start(items).await;
    for r in &in_queue {
        let issue_type = if r.filed_type == "incident" { "Incident" } else { "Service Request" };
        file_in_its(&h, issue_type, (&r.summary, &r.description), &r.reporter, json!({})).await;
    }
    h
}

/// One storm correction, done, with one parent Incident in ITS; each report in ITS joined to it by one
/// issue link and left open; each report in SHOP linked once, told once and closed once; none moved.
fn assert_gathered(h: &Harness, context: &str) {
    let storms = storm_corrections(h);
    assert_eq!(storms.len(), 1, "{context}: one storm correction: {storms:#?}");
    let c = &storms[0];
    assert!(is_done(c), "{context}: the storm correction is done: {:?} {:?}", c.state, c.last_error);
    let parents = parents(h);
    assert_eq!(parents.len(), 1, "{context}: exactly one parent issue");
    let parent = parents[0]["key"].as_str().unwrap();
    assert!(parent.starts_with("ITS-"), "{context}: the parent is in the service project: {parent}");
    assert_eq!(parents[0]["fields"]["issuetype"]["name"], "Incident");
    assert_eq!(c.progress.twin.as_ref().map(|t| t.key.as_str()), Some(parent), "{context}: the recorded parent");
    let Planned2::Storm { members, .. } = &c.action else { unreachable!() };
    assert!(members.iter().any(|m| m.attach == Attach::Child), "{context}: incidents in ITS are children");
    assert!(members.iter().any(|m| m.attach == Attach::Linked), "{context}: requests in ITS are linked");
    assert!(members.iter().any(|m| m.attach == Attach::Gathered), "{context}: backlog reports are gathered");
    for m in members {
        let done = c.progress.members.get(&m.id()).unwrap_or_else(|| panic!("{context}: {} has progress", m.key));
        assert!(done.done && done.skipped.is_none(), "{context}: {} attached: {done:?}", m.key);
        let links = h.jira_issue_links(&m.key, parent);
        assert_eq!(links, ["Relates"], "{context}: {} joined to {parent} by one issue link", m.key);
        match m.attach {
            Attach::Child | Attach::Linked => {
                assert_eq!(m.tracker, JIRA_ITS, "{context}: {}", m.key);
                // The parent's children are the incidents; a service request is linked beside them.
                let incident = h.jira_issue(&m.key)["fields"]["issuetype"]["name"] == "Incident";
                assert_eq!(m.attach == Attach::Child, incident, "{context}: {} is {:?}", m.key, m.attach);
                assert!(!h.jira_done(&m.key), "{context}: {} stays open beside the parent", m.key);
            }
            Attach::Gathered => {
                let told = format!("(twotrack ref {}:{})", c.id, m.key);
                let comments = h.jira_comments(&m.key);
                assert_eq!(count_containing(&comments, &told), 1, "{context}: {} told once: {comments:#?}", m.key);
                assert!(comments.iter().any(|t| t.contains(parent)), "{context}: the note names the parent");
                assert!(h.jira_done(&m.key), "{context}: {} is closed", m.key);
                assert_eq!(h.jira_closes(&m.key), 1, "{context}: {} closed once", m.key);
            }
        }
        assert!(h.jira_twins(&m.key).is_empty(), "{context}: {} not moved on its own", m.key);
    }
}

/// The key apply names a storm by (its first report), from the plan it prints.
async fn storm_key(h: &Harness) -> String {
    let plan = h.ok(&["apply"]).await.stdout;
    let line = plan.lines().find(|l| l.contains("report(s) of one event")).unwrap_or_else(|| panic!("{plan}"));
    assert!(line.contains("under one parent incident in jira-its"), "{line}");
    line.split_whitespace().next().unwrap().split_once(':').unwrap().1.to_string()
}

#[tokio::test]
async fn a_storm_is_one_parent_issue_in_the_service_project_with_its_reports_linked() {
    let h = storm_world().await;
    h.ok(&["sync"]).await;
    storm_key(&h).await;
    h.ok(&["apply", "--yes"]).await;
    assert_gathered(&h, "first cycle");
    // The parent carries the event's priority, impact and urgency.
    let parent = &parents(&h)[0]["fields"];
    let (impact, urgency) =
        (level(&IMPACT_OPTIONS, &parent[IMPACT_FIELD]), level(&URGENCY_OPTIONS, &parent[URGENCY_FIELD]));
    assert_eq!(parent["priority"]["name"], JIRA_PRIORITIES[impact + urgency - 2]);
    // Another cycle changes nothing.
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    assert_gathered(&h, "second cycle");
}

/// Crash `apply` at a step of the storm saga, resume once: one parent, one link per report.
async fn crash_and_resume(point: &str) {
    let h = storm_world().await;
    h.ok(&["sync"]).await;
    let key = storm_key(&h).await;
    h.crash_apply_at(point, &key).await;
    assert!(storm_corrections(&h).iter().all(|c| !is_done(c)), "{point}: not done before the resume");
    h.ok(&["apply", "--yes", "--only", &key]).await;
    assert_gathered(&h, &format!("crash at {point}"));
}

// Every failpoint of the storm saga: right before and right after each remote write.
storm_saga_crash_cases!();
