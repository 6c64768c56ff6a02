//! A move carries its history: the original's comments travel to the twin, each once, with who wrote
//! them and when, public comments as public comments and internal notes as internal notes (ServiceNow
//! `comments` / `work_notes`; Jira Service Management internal comments). A crash at any copy, then a
//! resumed run, leaves each copy there once.

use crate::apply_support;

use apply_support::*;
use serde_json::{Value, json};

const JIRA_PUBLIC: &str = "Same here: the login page shows error 500 for everyone in sales.";
const JIRA_INTERNAL: &str = "Agent note: the primary lost its disk at 08:57, failover did not start.";
const SN_PUBLIC: &str = "Customer: it would also help to share the wishlist by e-mail.";
const SN_INTERNAL: &str = "Triage: this is a product idea, not an incident.";

/// The comments a reporter and an agent left on both misfiled originals, before the move.
async fn comment_the_originals(h: &Harness) -> (String, String) {
    let (jira_source, sn_source) = sources(h);
    h.jira_edit(&jira_source, json!({"update": {"comment": [{"add": {"body": JIRA_PUBLIC}}]}})).await;
    h.jira_post(
        &format!("/issue/{jira_source}/comment"),
        json!({"body": JIRA_INTERNAL, "properties": [{"key": "sd.public.comment", "value": {"internal": true}}]}),
    )
    .await;
    h.sn_edit(&sn_source, json!({"comments": SN_PUBLIC})).await;
    h.sn_edit(&sn_source, json!({"work_notes": SN_INTERNAL})).await;
    (jira_source, sn_source)
}

/// The Jira twin's comments: (text, public).
fn jira_twin_comments(h: &Harness, key: &str) -> Vec<(String, bool)> {
    h.jira_issue(key)["fields"]["comment"]["comments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| (c["body"].as_str().unwrap_or_default().to_string(), c["jsdPublic"] != Value::Bool(false)))
        .collect()
}

/// Each comment of each original is on its twin once, on the same side (public or internal), naming its
/// author; nothing else was copied.
fn assert_carried(h: &Harness, jira_source: &str, sn_source: &str, context: &str) {
    let sn_twin = assert_moved_from_jira(h, jira_source, context);
    let public = h.sn_journal(&sn_twin, "comments");
    let internal = h.sn_journal(&sn_twin, "work_notes");
    assert_eq!(count_containing(&public, JIRA_PUBLIC), 1, "{context}: the public comment, once: {public:#?}");
    assert_eq!(count_containing(&internal, JIRA_INTERNAL), 1, "{context}: the internal one, once: {internal:#?}");
    assert_eq!(count_containing(&internal, JIRA_PUBLIC) + count_containing(&public, JIRA_INTERNAL), 0, "{context}");
    let copy = public.iter().find(|t| t.contains(JIRA_PUBLIC)).unwrap();
    assert!(copy.contains("comment by Twotrack Integration on ") && copy.contains(jira_source), "{context}: {copy}");

    let jira_twin = assert_moved_from_servicenow(h, sn_source, context);
    let comments = jira_twin_comments(h, &jira_twin);
    let find = |text: &str| comments.iter().filter(|(t, _)| t.contains(text)).collect::<Vec<_>>();
    assert_eq!(find(SN_PUBLIC).len(), 1, "{context}: {comments:#?}");
    assert!(find(SN_PUBLIC)[0].1, "{context}: the customer's comment stays public");
    assert_eq!(find(SN_INTERNAL).len(), 1, "{context}: {comments:#?}");
    assert!(!find(SN_INTERNAL)[0].1, "{context}: the work note is an internal comment");
    assert!(find(SN_PUBLIC)[0].0.contains(&format!("copied from {sn_source}")), "{context}");
    assert_eq!(
        count_containing(&comments.iter().map(|c| c.0.clone()).collect::<Vec<_>>(), "linked to"),
        0,
        "{context}: twotrack's own notes stay behind"
    );
}

#[tokio::test]
async fn the_originals_comments_travel_to_the_twin_once_each() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, sn_source) = comment_the_originals(&h).await;
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    assert_carried(&h, &jira_source, &sn_source, "one run");
    let history = h.ok(&["history", &sn_source]).await.stdout;
    assert!(history.contains("carried 2 of the original's comments"), "{history}");
}

async fn crash_and_resume(point: &str) {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, sn_source) = comment_the_originals(&h).await;
    h.ok(&["sync"]).await;
    for only in [&sn_source, &jira_source] {
        h.crash_apply_at(point, only).await;
    }
    h.ok(&["apply", "--yes"]).await;
    assert_carried(&h, &jira_source, &sn_source, &format!("crash at {point}"));
}

crash_cases! {
    crash_before_copy_comment: "before-copy-comment",
    crash_after_copy_comment: "after-copy-comment",
}
