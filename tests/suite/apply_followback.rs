//! Follow-back: when a twin twotrack created is resolved, the reporter of the original hears about it
//! once: one comment on the original, none more on later cycles, and exactly one even when the process
//! dies right before or right after posting it.

use crate::apply_support;

use apply_support::*;
use serde_json::json;

/// Both items moved, then both twins resolved by their new owners. Returns (jira source, sn source).
async fn moved_and_resolved(h: &Harness) -> (String, String) {
    let (jira_source, sn_source) = sources(h);
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let sn_twin = assert_moved_from_jira(h, &jira_source, "before follow-back");
    let jira_twin = assert_moved_from_servicenow(h, &sn_source, "before follow-back");

    // No follow-back while the twins are open.
    h.ok(&["run", "--once"]).await;
    assert_eq!(followbacks(h, &jira_source, &sn_source), (0, 0), "twins still open: no follow-back yet");

    h.jira_resolve(&jira_twin).await;
    h.sn_next_second(&sn_twin).await;
    h.sn_edit(&sn_twin, json!({ "state": "6", "close_code": "Solved (Permanently)", "close_notes": "Restored." }))
        .await;
    assert!(h.sn_record(&sn_twin).1["state"] == "6");
    (jira_source, sn_source)
}

/// Follow-back comments on the two originals: (on the Jira source, on the ServiceNow source).
fn followbacks(h: &Harness, jira_source: &str, sn_source: &str) -> (usize, usize) {
    let jira = count_containing(
        &h.jira_comments(jira_source),
        &format!("(twotrack ref followback:move:{JIRA}:{jira_source})"),
    );
    let sn = count_containing(
        &h.sn_journal(sn_source, "comments"),
        &format!("(twotrack ref followback:move:{SN}:{sn_source})"),
    );
    (jira, sn)
}

fn assert_followed_back(h: &Harness, jira_source: &str, sn_source: &str, context: &str) {
    assert_eq!(followbacks(h, jira_source, sn_source), (1, 1), "{context}: one follow-back comment on each original");
    for c in h.corrections() {
        assert!(c.progress.followed_back, "{context}: {} is marked followed back", c.id);
    }
}

#[tokio::test]
async fn a_resolved_twin_is_reported_on_the_original_once() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, sn_source) = moved_and_resolved(&h).await;

    h.ok(&["run", "--once"]).await;
    assert_followed_back(&h, &jira_source, &sn_source, "first cycle");
    let comments = h.jira_comments(&jira_source);
    let note = comments.iter().find(|c| c.contains("followback:")).unwrap();
    assert!(note.contains("has been resolved"), "the comment says what happened: {note}");
    let history = h.ok(&["history", &jira_source]).await.stdout;
    assert!(history.contains("followed-back"), "{history}");

    // Later cycles write nothing more.
    h.clear_logs();
    h.ok(&["run", "--once"]).await;
    h.ok(&["run", "--once"]).await;
    assert_followed_back(&h, &jira_source, &sn_source, "two more cycles");
    let m = h.mutations();
    assert!(
        m.is_empty(),
        "nothing written by later cycles: {:#?}",
        m.iter().map(|e| (&e.method, &e.path)).collect::<Vec<_>>()
    );
}

/// The process dies right before or right after posting a follow-back comment; the next cycle finishes.
async fn crash_in_followback(point: &str) {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, sn_source) = moved_and_resolved(&h).await;
    let crashed = h.run_with(&["run", "--once"], &[("TWOTRACK_FAILPOINT", point)]).await;
    assert!(crashed.died() && crashed.stderr.contains(point), "{point}: the cycle aborts:\n{}", crashed.stderr);
    h.ok(&["run", "--once"]).await;
    assert_followed_back(&h, &jira_source, &sn_source, &format!("crash at {point}"));
}

#[tokio::test]
async fn a_crash_before_the_followback_comment_loses_nothing() {
    crash_in_followback("before-followback").await;
}

#[tokio::test]
async fn a_crash_after_the_followback_comment_duplicates_nothing() {
    crash_in_followback("after-followback").await;
}
