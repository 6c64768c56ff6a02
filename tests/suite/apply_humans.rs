//! Humans win after a move: an original its reporter reopens, or a twin an agent returns as misfiled,
//! is never moved again, is reported with the keys of both sides, and teaches the site model; and the
//! follow-back passes the twin's resolution and its notes on to the original's reporter. Every human act
//! here is a plain REST call to a simulator, as a person's browser would make it.

use crate::apply_support;

use apply_support::*;
use serde_json::{Value, json};
use twotrack::classify::site::Label;
use twotrack::mirror::Mirror;

/// `POST /rest/api/2/issue/{key}/transitions` "Reopen" (Done -> To Do), as the reporter would.
async fn jira_reopen(h: &Harness, key: &str) {
    let url = format!("{}/rest/api/2/issue/{key}/transitions", h.world.jira.base_url());
    let (user, token) = h.world.basic();
    let response = reqwest::Client::new()
        .post(&url)
        .basic_auth(user, Some(token))
        .json(&json!({ "transition": { "id": "41" } }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "reopen {key}: HTTP {}", response.status());
    assert!(!h.jira_done(key), "{key} is open again");
}

/// Both misfiled items moved. Returns (jira source, its ServiceNow twin, sn source, its Jira twin).
async fn moved(h: &Harness) -> (String, String, String, String) {
    let (jira_source, sn_source) = sources(h);
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let sn_twin = assert_moved_from_jira(h, &jira_source, "the move");
    let jira_twin = assert_moved_from_servicenow(h, &sn_source, "the move");
    (jira_source, sn_twin, sn_source, jira_twin)
}

/// The audit's findings, as JSON.
async fn audit_findings(h: &Harness) -> Vec<Value> {
    let run = h.ok(&["audit", "--format", "json"]).await;
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    report["findings"].as_array().unwrap().clone()
}

fn finding<'a>(findings: &'a [Value], key: &str) -> Vec<&'a Value> {
    findings.iter().filter(|f| f["key"] == key).collect()
}

/// The label the site model learns `key` in `tracker` with, as the mirror holds it now.
fn site_label(h: &Harness, tracker: &str, key: &str) -> Label {
    let config = twotrack::config::load(&h.config).unwrap();
    let mirror = Mirror::open(&h.mirror_path()).unwrap();
    let moves = twotrack::outbox::moves(&mirror, &config.policy.returns).unwrap();
    let item = mirror.get(tracker, key).unwrap().unwrap_or_else(|| panic!("{tracker} {key} is mirrored"));
    twotrack::plan::site_label(&config, &moves, &item)
}

#[tokio::test]
async fn a_reopened_original_is_never_moved_again_and_is_reported_with_its_twin() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, sn_twin, ..) = moved(&h).await;
    h.ok(&["sync"]).await;
    assert_eq!(
        site_label(&h, SN, &sn_twin),
        Label::Decided,
        "before any human act, the twin is a clean label of where it was put"
    );

    // The reporter reopens the original: it and its open twin are now the same request twice.
    jira_reopen(&h, &jira_source).await;
    h.ok(&["sync"]).await;
    h.clear_logs();

    let dry = h.ok(&["apply"]).await.stdout;
    assert!(
        !dry.lines().any(|l| l.contains(&format!("{JIRA}:{jira_source}")) && l.contains("move to")),
        "the reopened original is not planned for a move:\n{dry}"
    );
    assert!(!dry.contains("(already handled)"), "nothing shows as already handled:\n{dry}");
    let line = dry.lines().find(|l| l.contains("reopened after move")).unwrap_or_else(|| panic!("reported:\n{dry}"));
    assert!(
        line.contains(&jira_source) && line.contains(&sn_twin) && line.contains("duplicate"),
        "the pair is named, as a duplicate to close one side of: {line}"
    );

    // Writes allowed: the original is neither moved nor closed again; no second twin.
    h.ok(&["apply", "--yes"]).await;
    h.ok(&["run", "--once"]).await;
    assert_eq!(h.sn_twins(&jira_source), std::slice::from_ref(&sn_twin), "one twin, as before");
    assert!(!h.jira_done(&jira_source), "the reopened original stays open");
    assert_eq!(h.jira_closes(&jira_source), 0, "not closed again");
    assert_eq!(h.sn_creates(), 0, "nothing created");

    // The audit reports it with the keys of both sides, and does not count it as misfiled.
    let findings = audit_findings(&h).await;
    let found = finding(&findings, &jira_source);
    assert_eq!(found.len(), 1, "one finding about {jira_source}: {found:#?}");
    let f = found[0];
    assert_eq!(f["kind"], "reopened-after-move", "{f:#}");
    assert!(f["from"].as_str().unwrap().contains(&jira_source), "{f:#}");
    assert!(f["to"].as_str().unwrap().contains(&sn_twin), "{f:#}");
    assert!(f["to"].as_str().unwrap().contains("duplicate"), "{f:#}");

    // The human's decision is a clean label: the original belongs where it was reopened; the disputed
    // twin teaches nothing while the pair stands.
    assert_eq!(site_label(&h, JIRA, &jira_source), Label::Decided);
    assert_eq!(site_label(&h, SN, &sn_twin), Label::Ignored);
}

/// An instance's own return marker and close code (`policy.return_label`, `policy.return_resolutions`)
/// return twins as the defaults do; the defaults then no longer do.
#[tokio::test]
async fn an_instance_returns_twins_with_its_own_marker_and_close_code() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (_, sn_twin, sn_source, jira_twin) = moved(&h).await;
    let text = std::fs::read_to_string(&h.config)
        .unwrap()
        .replace("[policy]\n", "[policy]\nreturn_label = \"sent-back\"\nreturn_resolutions = [\"Misrouted\"]\n");
    std::fs::write(&h.config, text).unwrap();

    h.sn_next_second(&sn_twin).await;
    h.sn_edit(&sn_twin, json!({ "state": "7", "close_code": "Misrouted", "close_notes": "Wrong desk." })).await;
    h.jira_edit(&jira_twin, json!({ "update": { "labels": [{ "add": "twotrack-return" }] } })).await;
    h.ok(&["sync"]).await;
    let dry = h.ok(&["apply"]).await.stdout;
    let returned: Vec<&str> = dry.lines().filter(|l| l.contains("returned by a human")).collect();
    assert_eq!(returned.len(), 1, "the configured close code returns; the default marker no longer does:\n{dry}");
    assert!(returned[0].contains(&sn_twin), "{dry}");
    assert_eq!(site_label(&h, SN, &sn_twin), Label::Returned);

    h.jira_edit(&jira_twin, json!({ "update": { "labels": [{ "add": "sent-back" }] } })).await;
    h.ok(&["sync"]).await;
    let dry = h.ok(&["apply"]).await.stdout;
    assert!(dry.lines().any(|l| l.contains("returned by a human") && l.contains(&sn_source)), "{dry}");
    assert_eq!(site_label(&h, JIRA, &jira_twin), Label::Returned);
}

#[tokio::test]
async fn a_twin_returned_as_misfiled_is_not_moved_again_is_reported_and_is_a_clean_label_of_its_source() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, sn_twin, sn_source, jira_twin) = moved(&h).await;

    // The service desk closes the twin as not theirs; the product owner returns the other twin with
    // the return marker and leaves it open.
    h.sn_next_second(&sn_twin).await;
    h.sn_edit(
        &sn_twin,
        json!({ "state": "7", "close_code": "Misfiled", "close_notes": "Not ours: this is a change to the product." }),
    )
    .await;
    h.jira_edit(&jira_twin, json!({ "update": { "labels": [{ "add": "twotrack-return" }] } })).await;
    h.ok(&["sync"]).await;
    h.clear_logs();

    let dry = h.ok(&["apply"]).await.stdout;
    let returned: Vec<&str> = dry.lines().filter(|l| l.contains("returned by a human")).collect();
    assert_eq!(returned.len(), 2, "both returns are reported:\n{dry}");
    assert!(
        returned.iter().any(|l| l.contains(&jira_source) && l.contains(&sn_twin) && l.contains("reopen it")),
        "the closed original of the closed returned twin is named, to be reopened:\n{dry}"
    );
    assert!(returned.iter().any(|l| l.contains(&sn_source) && l.contains(&jira_twin)), "{dry}");

    h.ok(&["apply", "--yes"]).await;
    assert!(h.mutations().is_empty(), "nothing moved back or again: {:#?}", h.mutations());
    assert_eq!(h.jira_twins(&sn_source), std::slice::from_ref(&jira_twin));

    // The reporter of the original hears that its twin was returned, and why.
    h.ok(&["run", "--once"]).await;
    let on_jira = h.jira_comments(&jira_source);
    let note = on_jira.iter().find(|c| c.contains("followback:")).unwrap_or_else(|| panic!("{on_jira:#?}"));
    assert!(note.contains("returned as not belonging there") && note.contains("resolution: Misfiled"), "{note}");
    assert!(note.contains("Not ours: this is a change to the product."), "{note}");

    // The open returned twin is reported by the audit with its original; never as misfiled.
    let findings = audit_findings(&h).await;
    let found = finding(&findings, &jira_twin);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["kind"], "returned-by-human");
    assert!(found[0]["from"].as_str().unwrap().contains(&sn_source), "{:#}", found[0]);

    // Each returned twin is a clean label of the tracker it was returned to, where its original sits.
    assert_eq!(site_label(&h, SN, &sn_twin), Label::Returned);
    assert_eq!(site_label(&h, JIRA, &jira_twin), Label::Returned);

    // The reporter reopens the original after the return: still never moved again.
    jira_reopen(&h, &jira_source).await;
    h.ok(&["sync"]).await;
    h.clear_logs();
    h.ok(&["apply", "--yes"]).await;
    assert!(!h.jira_done(&jira_source));
    assert_eq!(h.sn_twins(&jira_source), std::slice::from_ref(&sn_twin));
    let f = audit_findings(&h).await;
    assert_eq!(finding(&f, &jira_source)[0]["kind"], "returned-by-human");
}

#[tokio::test]
async fn the_followback_passes_on_the_twins_resolution_and_its_notes() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, sn_twin, sn_source, jira_twin) = moved(&h).await;

    h.sn_next_second(&sn_twin).await;
    h.sn_edit(
        &sn_twin,
        json!({ "state": "6", "close_code": "Solved (Permanently)", "close_notes": "Restarted the database cluster; logins work again." }),
    )
    .await;
    let url = format!("{}/rest/api/2/issue/{jira_twin}/comment", h.world.jira.base_url());
    let (user, token) = h.world.basic();
    let response = reqwest::Client::new()
        .post(&url)
        .basic_auth(user, Some(token))
        .json(&json!({ "body": "Shipped in release 4.2: the wishlist has a share button now." }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    h.jira_resolve(&jira_twin).await;

    h.ok(&["run", "--once"]).await;
    let on_jira = h.jira_comments(&jira_source);
    let note = on_jira.iter().find(|c| c.contains("followback:")).unwrap_or_else(|| panic!("{on_jira:#?}"));
    assert!(note.contains("resolution: Solved (Permanently)"), "the close code is passed on: {note}");
    assert!(note.contains("Restarted the database cluster; logins work again."), "and the close notes: {note}");
    let on_sn = h.sn_journal(&sn_source, "comments");
    let note = on_sn.iter().find(|c| c.contains("followback:")).unwrap_or_else(|| panic!("{on_sn:#?}"));
    assert!(note.contains("resolution: Done"), "the Jira resolution is passed on: {note}");
    assert!(note.contains("Shipped in release 4.2"), "and the last comment as its notes: {note}");
}
