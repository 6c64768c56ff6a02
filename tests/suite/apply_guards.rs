//! The guards of the write path, judged by the simulators: an edit between audit and apply is
//! re-evaluated, a human keep marker always wins, twins are never moved back, a cycle is capped at
//! policy.max_moves (the rest wait), the circuit breaker refuses a cycle that would move a large share
//! of a tracker, `--limit` / `--only` narrow the plan, and a dry run writes nothing.

use crate::apply_support;

use apply_support::*;
use serde_json::json;

/// Run the plan (a dry `apply`) and return its output, asserting it lists `n` corrections.
async fn planned(h: &Harness, n: usize) -> String {
    let run = h.ok(&["apply"]).await;
    assert!(run.stdout.starts_with(&format!("{n} correction(s) planned")), "expected {n} planned:\n{}", run.stdout);
    run.stdout
}

fn assert_no_mutations(h: &Harness, context: &str) {
    let m = h.mutations();
    assert!(
        m.is_empty(),
        "{context}: nothing may be written, yet: {:#?}",
        m.iter().map(|e| (&e.method, &e.path)).collect::<Vec<_>>()
    );
}

fn assert_dropped(h: &Harness, id: &str, context: &str) {
    let c = h.correction(id).unwrap_or_else(|| panic!("{context}: {id} was planned"));
    assert!(is_dropped(&c), "{context}: {id} is dropped: {:?}", c.state);
}

async fn assert_history_says(h: &Harness, key: &str, event: &str) {
    let history = h.ok(&["history", key]).await.stdout;
    assert!(history.lines().any(|l| l.contains(&format!(" {event} "))), "history of {key} says {event}:\n{history}");
}

#[tokio::test]
async fn an_edit_between_audit_and_apply_is_re_evaluated_and_the_move_dropped() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, sn_source) = sources(&h);
    h.ok(&["sync"]).await;
    planned(&h, 2).await;

    // Someone rewrites both items so that each now belongs where it is filed.
    h.jira_edit(&jira_source, json!({ "fields": { "summary": VALUE_REWRITE.0, "description": VALUE_REWRITE.1 } }))
        .await;
    h.sn_edit(&sn_source, json!({ "short_description": WORK_REWRITE.0, "description": WORK_REWRITE.1 })).await;
    h.clear_logs();

    let run = h.ok(&["apply", "--yes"]).await;
    assert!(run.stdout.contains("0 done, 2 dropped"), "{}", run.stdout);
    assert_no_mutations(&h, "edited items");
    assert!(h.sn_twins(&jira_source).is_empty() && h.jira_twins(&sn_source).is_empty(), "no twin was created");
    assert!(!h.jira_done(&jira_source) && h.sn_active(&sn_source), "both sources stay open");
    assert_dropped(&h, &format!("move:{JIRA}:{jira_source}"), "edited Jira item");
    assert_dropped(&h, &format!("move:{SN}:{sn_source}"), "edited ServiceNow item");
    assert_history_says(&h, &jira_source, "dropped").await;
    assert_history_says(&h, &sn_source, "dropped").await;

    // Synced and planned again, the edited items are no longer misfiled: nothing to do.
    h.ok(&["sync"]).await;
    planned(&h, 0).await;
}

/// A move dropped because the item changed is not forgotten: when the item changes back into a confident
/// misfile, the next plan supersedes the dropped correction and the move happens.
#[tokio::test]
async fn a_dropped_move_is_planned_again_when_the_item_changes_back() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, _) = sources(&h);
    h.ok(&["sync"]).await;
    h.jira_edit(&jira_source, json!({ "fields": { "summary": VALUE_REWRITE.0, "description": VALUE_REWRITE.1 } }))
        .await;
    h.ok(&["apply", "--yes", "--only", &jira_source]).await;
    assert_dropped(&h, &format!("move:{JIRA}:{jira_source}"), "rewritten as Value");

    let original = work_in_jira();
    h.jira_edit(
        &jira_source,
        json!({ "fields": { "summary": original.summary, "description": original.description } }),
    )
    .await;
    h.ok(&["sync"]).await;
    let plan = planned(&h, 2).await;
    assert!(!plan.contains("already handled"), "the changed item is a new move:\n{plan}");
    h.ok(&["apply", "--yes", "--only", &jira_source]).await;
    assert_moved_from_jira(&h, &jira_source, "changed back");
    assert_history_says(&h, &jira_source, "planned-again").await;
}

#[tokio::test]
async fn tracker_narrows_the_plan_and_an_unknown_tracker_is_a_usage_error() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, sn_source) = sources(&h);
    h.ok(&["sync"]).await;
    let run = h.ok(&["apply", "--tracker", SN]).await;
    assert!(run.stdout.starts_with("1 correction(s) planned") && run.stdout.contains(&sn_source), "{}", run.stdout);
    assert!(!run.stdout.contains(&jira_source), "{}", run.stdout);
    let run = h.run(&["apply", "--tracker", "nope"]).await;
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
    assert_no_mutations(&h, "plans only");
}

/// ServiceNow stamps `sys_updated_on` to the second: an edit in the same second as the sync that planned
/// the move leaves the timestamp unchanged. The mirror is made to show exactly that (the edited revision's
/// timestamp with the text from before the edit); the saga must still judge the item as it is now.
#[tokio::test]
async fn an_edit_the_timestamp_cannot_show_is_re_evaluated_too() {
    use twotrack::api::Connector;
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (_, sn_source) = sources(&h);
    h.ok(&["sync"]).await;
    h.sn_edit(&sn_source, json!({ "short_description": WORK_REWRITE.0, "description": WORK_REWRITE.1 })).await;
    {
        let config = twotrack::config::load(&h.config).unwrap();
        let registry = twotrack::registry::Registry::build(&config).unwrap();
        let fresh = registry.get(SN).unwrap().get(&sn_source).await.unwrap();
        let mirror = twotrack::mirror::Mirror::open(&h.mirror_path()).unwrap();
        let mut stale = mirror.get(SN, &sn_source).unwrap().unwrap();
        assert_ne!(stale.summary, fresh.summary);
        stale.updated = fresh.updated;
        mirror.upsert_item(&stale).unwrap();
        mirror.flush().unwrap();
    }
    h.clear_logs();
    planned(&h, 2).await;
    let run = h.ok(&["apply", "--yes", "--only", &sn_source]).await;
    assert!(run.stdout.contains("0 done, 1 dropped"), "{}", run.stdout);
    assert_no_mutations(&h, "edited in the same second");
    assert!(h.jira_twins(&sn_source).is_empty() && h.sn_active(&sn_source), "no twin, the source stays open");
    assert_dropped(&h, &format!("move:{SN}:{sn_source}"), "edited in the same second");
}

#[tokio::test]
async fn an_edit_that_keeps_the_item_misfiled_moves_the_edited_text() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, _) = sources(&h);
    h.ok(&["sync"]).await;
    let summary = "URGENT: checkout database down, all customers get errors";
    h.jira_edit(&jira_source, json!({ "fields": { "summary": summary } })).await;
    h.ok(&["apply", "--yes", "--only", &jira_source]).await;
    let twin = assert_moved_from_jira(&h, &jira_source, "edited but still Work");
    assert_eq!(h.sn_record(&twin).1["short_description"], summary, "the twin carries the text as it is now");
    assert_history_says(&h, &jira_source, "re-evaluated").await;
}

#[tokio::test]
async fn a_keep_marker_added_after_the_plan_wins() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, sn_source) = sources(&h);
    h.ok(&["sync"]).await;
    planned(&h, 2).await;

    h.jira_edit(&jira_source, json!({ "update": { "labels": [{ "add": "twotrack-keep" }] } })).await;
    let description = format!("{}\n\n#twotrack-keep", h.sn_description(&sn_source));
    h.sn_edit(&sn_source, json!({ "description": description })).await;
    h.clear_logs();

    let run = h.ok(&["apply", "--yes"]).await;
    assert!(run.stdout.contains("0 done, 2 dropped"), "{}", run.stdout);
    assert_no_mutations(&h, "kept items");
    assert_dropped(&h, &format!("move:{JIRA}:{jira_source}"), "kept Jira item");
    assert_dropped(&h, &format!("move:{SN}:{sn_source}"), "kept ServiceNow item");
    for key in [&jira_source, &sn_source] {
        let history = h.ok(&["history", key]).await.stdout;
        assert!(history.contains("dropped") && history.contains("keep marker"), "history of {key}:\n{history}");
    }

    // Once synced, kept items are not even planned.
    h.ok(&["sync"]).await;
    h.clear_logs();
    planned(&h, 0).await;
    h.ok(&["apply", "--yes"]).await;
    assert_no_mutations(&h, "kept items, next cycle");
}

/// The move died after creating and linking the twin; before it resumed, a human put the keep marker on
/// the original. The original is neither told nor closed; the twin stays for a human to resolve.
#[tokio::test]
async fn a_keep_marker_added_while_a_move_was_interrupted_still_wins() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, _) = sources(&h);
    h.ok(&["sync"]).await;
    let crashed =
        h.run_with(&["apply", "--yes", "--only", &jira_source], &[("TWOTRACK_FAILPOINT", "before-comment")]).await;
    assert!(crashed.died(), "the first run dies before telling the reporter:\n{}", crashed.stderr);
    assert_eq!(h.sn_twins(&jira_source).len(), 1, "the twin exists");

    h.jira_edit(&jira_source, json!({ "update": { "labels": [{ "add": "twotrack-keep" }] } })).await;
    let run = h.ok(&["apply", "--yes", "--only", &jira_source]).await;
    assert!(run.stdout.contains("0 done, 1 dropped"), "{}", run.stdout);
    assert!(!h.jira_done(&jira_source) && h.jira_closes(&jira_source) == 0, "the original stays open");
    let reference = format!("(twotrack ref move:{JIRA}:{jira_source})");
    assert_eq!(count_containing(&h.jira_comments(&jira_source), &reference), 0, "the reporter is not told of a move");
    assert_eq!((h.sn_twins(&jira_source).len(), h.sn_creates()), (1, 1), "the twin is left, not duplicated");
    assert_dropped(&h, &format!("move:{JIRA}:{jira_source}"), "kept during the move");
    let history = h.ok(&["history", &jira_source]).await.stdout;
    assert!(history.contains("dropped") && history.contains("keep marker"), "{history}");
}

#[tokio::test]
async fn twins_are_never_moved_back_even_when_they_read_misfiled() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, sn_source) = sources(&h);
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let sn_twin = assert_moved_from_jira(&h, &jira_source, "first apply");
    let jira_twin = assert_moved_from_servicenow(&h, &sn_source, "first apply");

    // Make each twin read as if it were misfiled in its new home, then sync and apply twice.
    h.sn_edit(&sn_twin, json!({ "short_description": VALUE_REWRITE.0, "description": VALUE_REWRITE.1 })).await;
    h.jira_edit(&jira_twin, json!({ "fields": { "summary": WORK_REWRITE.0, "description": WORK_REWRITE.1 } })).await;
    h.ok(&["sync"]).await;
    h.clear_logs();
    for round in 1..=2 {
        let plan = planned(&h, 0).await;
        assert!(!plan.contains(&sn_twin) && !plan.contains(&jira_twin), "round {round}: twins are not planned");
        h.ok(&["apply", "--yes"]).await;
        h.ok(&["sync"]).await;
    }
    assert_no_mutations(&h, "twins");
    assert_eq!((h.jira_creates(), h.sn_creates()), (0, 0), "no second create");
    assert_eq!((h.jira_twins(&sn_twin).len(), h.sn_twins(&jira_twin).len()), (0, 0), "no twin of a twin");
}

#[tokio::test]
async fn a_cycle_is_capped_at_max_moves_the_most_confident_first_and_the_rest_wait() {
    let h = Harness::start(backlog(), &Policy { max_moves: 1, ..Policy::writes() }).await;
    h.ok(&["sync"]).await;
    // The dry plan, most confident first, says what waits.
    let dry = h.ok(&["apply"]).await.stdout;
    assert!(dry.starts_with("1 correction(s) planned"), "{dry}");
    assert!(dry.contains("1 more move(s) wait for the next cycle: at most policy.max_moves = 1"), "{dry}");
    let first = dry.lines().nth(1).unwrap().split_whitespace().next().unwrap().to_string();

    h.clear_logs();
    let run = h.ok(&["apply", "--yes"]).await;
    assert!(run.stdout.contains("1 more move(s) wait"), "{}", run.stdout);
    let moved: Vec<_> = h.corrections().into_iter().filter(is_done).collect();
    assert_eq!(moved.len(), 1, "one move this cycle");
    assert_eq!(format!("{}:{}", moved[0].source_tracker, moved[0].source_key), first, "the most confident one");
    assert_eq!(h.jira_creates() + h.sn_creates(), 1, "one twin created");

    // The next cycle moves the one that waited.
    let run = h.ok(&["apply", "--yes"]).await;
    assert!(!run.stdout.contains("wait for the next cycle"), "{}", run.stdout);
    assert_eq!(h.corrections().into_iter().filter(is_done).count(), 2, "both moved over two cycles");
}

#[tokio::test]
async fn the_circuit_breaker_refuses_more_than_max_move_share_of_a_tracker() {
    let mut items = backlog();
    items.push(more_work_in_jira());
    // Jira: 3 open items, 2 of them to move (67%) > 50%.
    let h = Harness::start(items, &Policy { max_move_share: 0.5, ..Policy::writes() }).await;
    let (jira_source, _) = sources(&h);
    h.ok(&["sync"]).await;
    h.clear_logs();
    let run = h.run(&["apply", "--yes"]).await;
    assert_eq!(run.code(), Some(4), "refused:\n{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("2 of jira's 3 open items would move, more than policy.max_move_share = 50%")
            && run.stderr.contains("the rules behind most of these moves: ")
            && !run.stderr.contains("none named"),
        "a clear message:\n{}",
        run.stderr
    );
    assert_no_mutations(&h, "refused cycle");
    assert!(h.corrections().is_empty(), "a refused cycle stores no correction");
    // A dry run never trips it: it says what a run with writes would meet.
    let dry = h.ok(&["apply"]).await;
    assert!(dry.stdout.contains("With writes allowed this cycle would be refused"), "{}", dry.stdout);

    // --only narrows the plan to one item.
    let run = h.ok(&["apply", "--yes", "--only", &jira_source]).await;
    assert!(run.stdout.starts_with("1 correction(s) planned"), "{}", run.stdout);
    assert_moved_from_jira(&h, &jira_source, "--only");
    let other = h.jira_key(MORE_WORK_IN_JIRA);
    assert!(h.sn_twins(&other).is_empty() && !h.jira_done(&other), "{other} was left alone");
    assert_eq!(h.corrections().len(), 1, "only the selected item was enqueued");
}

/// The moves `max_moves` leaves for later cycles still count against `max_move_share`: a plan makes
/// corrections only of the moves a cycle can make, but the breaker counts every move it would make.
#[tokio::test]
async fn the_circuit_breaker_counts_the_moves_left_for_later_cycles() {
    let mut items = backlog();
    items.push(more_work_in_jira());
    // Jira: 3 open items, 2 of them to move (67%) > 50%, one a cycle.
    let h = Harness::start(items, &Policy { max_move_share: 0.5, max_moves: 1, ..Policy::writes() }).await;
    h.ok(&["sync"]).await;
    h.clear_logs();
    let run = h.run(&["apply", "--yes"]).await;
    assert_eq!(run.code(), Some(4), "refused:\n{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("2 of jira's 3 open items would move"), "{}", run.stderr);
    assert_no_mutations(&h, "refused cycle");
    assert!(h.corrections().is_empty(), "a refused cycle stores no correction");
}

#[tokio::test]
async fn a_dry_run_writes_nothing() {
    // policy.dry_run = true, even with --yes.
    let h = Harness::start(backlog(), &Policy { dry_run: true, ..Policy::writes() }).await;
    h.ok(&["sync"]).await;
    let run = h.ok(&["apply", "--yes"]).await;
    assert!(run.stdout.starts_with("2 correction(s) planned") && run.stdout.contains("Dry run"), "{}", run.stdout);
    assert_no_mutations(&h, "policy.dry_run");
    assert!(h.corrections().is_empty(), "a dry run stores no correction");

    // Writes allowed, but no --yes.
    h.write_config(&Policy::writes());
    let run = h.ok(&["apply"]).await;
    assert!(run.stdout.contains("Nothing was written"), "{}", run.stdout);
    assert_no_mutations(&h, "no --yes");
    assert!(h.corrections().is_empty(), "a plan without --yes stores no correction");
}
