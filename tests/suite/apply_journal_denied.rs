//! The ServiceNow journal (`sys_journal_field`) denied to the API user, as many instances do for
//! integration users: moves out of and into ServiceNow still leave exactly one note on each original and one
//! link note on each twin, also when the process dies at each step of the saga, and the follow-back too.
//! Where the notes cannot be read, a marker label on the original confirms each note (see `saga::post_once`).

use crate::apply_support;

use apply_support::*;
use serde_json::json;
use twotrack::demo::WorldOptions;

async fn denied() -> Harness {
    denied_with(backlog()).await
}

async fn denied_with(items: Vec<twotrack_sim::generator::GeneratedItem>) -> Harness {
    let world = WorldOptions { servicenow_denied_tables: vec!["sys_journal_field".into()], ..WorldOptions::default() };
    Harness::start_with(items, &Policy::writes(), world).await
}

/// The marker confirming the reporter's note on the ServiceNow original, as a hashtag line of its description.
fn marker_on(h: &Harness, sn_source: &str) -> bool {
    h.sn_description(sn_source).lines().any(|l| l.contains(&format!("#twotrack-told-move:{SN}:{sn_source}")))
}

#[tokio::test]
async fn moves_both_ways_leave_one_note_each_and_say_once_that_the_journal_is_denied() {
    let h = denied().await;
    let (jira_source, sn_source) = sources(&h);
    h.ok(&["sync"]).await;
    let run = h.ok(&["apply", "--yes"]).await;
    assert!(run.stdout.contains("2 done"), "{}\n{}", run.stdout, run.stderr);
    let twin = assert_moved_from_jira(&h, &jira_source, "journal denied");
    assert_moved_from_servicenow(&h, &sn_source, "journal denied");
    assert!(marker_on(&h, &sn_source), "the note is confirmed by a marker: {:?}", h.sn_description(&sn_source));
    assert!(h.sn_description(&twin).contains(&format!("#twotrack-linked-{jira_source}")), "the twin's link marker");
    assert_eq!(warnings(&run.stderr), 1, "one warning names the denied journal and the fallback:\n{}", run.stderr);
    assert!(run.stderr.contains("twotrack-told-"), "the warning names the marker:\n{}", run.stderr);

    // Nothing more is written by later runs.
    h.clear_logs();
    h.ok(&["apply", "--yes"]).await;
    assert!(h.mutations().is_empty(), "a second run writes nothing");
}

fn warnings(stderr: &str) -> usize {
    stderr.matches("cannot be read (ServiceNow: no read access to sys_journal_field)").count()
}

/// Two originals moved out of ServiceNow in one run: one note each, and the warning once.
#[tokio::test]
async fn the_denied_journal_is_reported_once_per_run() {
    let mut second = value_in_servicenow();
    second.summary = "Feature request: let shoppers compare two products side by side".into();
    second.description = "Proposal: as a shopper I would like to compare two products side by side on the product \
        page. Acceptance criteria: a compare button; the table lists price and size."
        .into();
    let mut items = backlog();
    items.push(second.clone());
    // Correctly filed service work beside them, so that two moves stay within policy.max_move_share.
    for (summary, description) in [
        ("Printer on floor 3 is jammed", "The printer near the kitchen jams on every page. Please fix it."),
        ("VPN disconnects every ten minutes", "My VPN connection drops every ten minutes since this morning."),
    ] {
        items.push(sn_incident(summary, description, "Service Desk", 3, 3));
    }
    let h = denied_with(items).await;
    h.ok(&["sync"]).await;
    let run = h.ok(&["apply", "--yes"]).await;
    for summary in [VALUE_IN_SN, second.summary.as_str()] {
        let source = h.sn_number(summary);
        assert_moved_from_servicenow(&h, &source, summary);
    }
    assert_eq!(warnings(&run.stderr), 1, "the warning once, for two notes:\n{}", run.stderr);
}

/// Crash `apply` at `point` while it moves the ServiceNow item, then (where the point is on the way of
/// a move into ServiceNow too) while it moves the Jira item; resume once; judge.
async fn crash_and_resume(point: &str, both_ways: bool) {
    let h = denied().await;
    let (jira_source, sn_source) = sources(&h);
    h.ok(&["sync"]).await;
    let onlys: Vec<&String> = if both_ways { vec![&sn_source, &jira_source] } else { vec![&sn_source] };
    for only in onlys {
        h.crash_apply_at(point, only).await;
    }
    h.ok(&["apply", "--yes"]).await;
    let context = format!("journal denied, crash at {point}");
    assert_moved_from_jira(&h, &jira_source, &context);
    assert_moved_from_servicenow(&h, &sn_source, &context);
    assert!(marker_on(&h, &sn_source), "{context}: the marker is on {sn_source}");
    assert_eq!((h.jira_creates(), h.sn_creates()), (1, 1), "{context}: one create in each tracker in all");
    // Right after the note was posted and before its marker, the saga cannot tell whether it went out:
    // it does not send it again (the note is there, once) and the audit log says it may be missing.
    let history = h.ok(&["history", &sn_source]).await.stdout;
    let in_doubt = point == "after-comment";
    assert_eq!(
        history.contains("may be missing"),
        in_doubt,
        "{context}: a note in doubt only after-comment:\n{history}"
    );
}

macro_rules! crash_cases {
    ($($name:ident: $point:literal, $both:literal,)*) => {
        $(#[tokio::test] async fn $name() { crash_and_resume($point, $both).await })*
    };
}

crash_cases! {
    crash_before_link: "before-link", true,
    crash_after_link: "after-link", true,
    crash_before_comment: "before-comment", true,
    crash_after_comment: "after-comment", true,
    crash_after_marker: "after-marker", false,
    crash_before_close: "before-close", true,
}

/// Both moved, both twins resolved; the follow-back reaches each original once, also after a crash.
async fn followback(point: Option<&str>) {
    let h = denied().await;
    let (jira_source, sn_source) = sources(&h);
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let sn_twin = assert_moved_from_jira(&h, &jira_source, "before follow-back");
    let jira_twin = assert_moved_from_servicenow(&h, &sn_source, "before follow-back");
    h.jira_resolve(&jira_twin).await;
    h.sn_next_second(&sn_twin).await;
    h.sn_edit(&sn_twin, json!({ "state": "6", "close_code": "Solved (Permanently)", "close_notes": "Restored." }))
        .await;
    if let Some(point) = point {
        let crashed = h.run_with(&["run", "--once"], &[("TWOTRACK_FAILPOINT", point)]).await;
        assert!(crashed.died() && crashed.stderr.contains(point), "{point}: the cycle aborts:\n{}", crashed.stderr);
    }
    h.ok(&["run", "--once"]).await;
    h.ok(&["run", "--once"]).await;
    let context = format!("follow-back, crash at {point:?}");
    let reference = format!("(twotrack ref followback:move:{SN}:{sn_source})");
    assert_eq!(count_containing(&h.sn_journal(&sn_source, "comments"), &reference), 1, "{context}");
    let jira_reference = format!("(twotrack ref followback:move:{JIRA}:{jira_source})");
    assert_eq!(count_containing(&h.jira_comments(&jira_source), &jira_reference), 1, "{context}");
    assert!(h.sn_description(&sn_source).contains(&format!("#twotrack-told-followback:move:{SN}:{sn_source}")));
    assert!(h.corrections().iter().all(|c| c.progress.followed_back), "{context}");
}

#[tokio::test]
async fn the_followback_reaches_the_servicenow_original_once() {
    followback(None).await;
}

#[tokio::test]
async fn a_crash_before_the_followback_loses_nothing() {
    followback(Some("before-followback")).await;
}

#[tokio::test]
async fn a_crash_after_the_followback_duplicates_nothing() {
    followback(Some("after-followback")).await;
}

#[tokio::test]
async fn a_crash_after_the_followback_marker_duplicates_nothing() {
    followback(Some("after-followback-marker")).await;
}
