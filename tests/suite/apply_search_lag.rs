//! Jira Cloud's search lags behind writes: the saga's crash trial with the Jira simulator's search a
//! long way behind (longer than the test: search never sees the twin while it runs). A move into Jira
//! whose create was sent but whose answer was lost (the process died right after the create) must
//! adopt the twin it made, not create another: there is no second twin and one create in all.

use crate::apply_support;

use apply_support::*;

/// Longer than the whole test: search never sees the twin during it (no sleeping, no race with a clock).
const LAG: std::time::Duration = std::time::Duration::from_secs(3600);

async fn crash_and_resume_with_lag(point: &str) {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    h.world.jira.set_search_lag(LAG);
    let (_, sn_source) = sources(&h);
    h.ok(&["sync"]).await;

    h.crash_apply_at(point, &sn_source).await;
    let twins = h.jira_twins(&sn_source);
    assert_eq!(twins.len(), 1, "{point}: the crashed run created the twin: {twins:?}");

    h.ok(&["apply", "--yes", "--only", &sn_source]).await;
    let context = format!("crash at {point}, search {} s behind", LAG.as_secs());
    let twin = assert_moved_from_servicenow(&h, &sn_source, &context);
    assert_eq!(twin, twins[0], "{context}: the twin made before the crash was adopted");
    assert_eq!(h.jira_creates(), 1, "{context}: one create in Jira in all");
    let audit = h.ok(&["history", &sn_source]).await.stdout;
    assert!(audit.lines().any(|l| l.contains(" adopted ")), "{context}: the history says adopted:\n{audit}");
}

#[tokio::test]
async fn a_lost_create_answer_is_adopted_although_search_does_not_see_the_twin() {
    crash_and_resume_with_lag("after-create").await;
}

/// The same with the crash before the create: nothing to adopt, and the resumed run creates the one twin.
#[tokio::test]
async fn a_crash_before_the_create_creates_the_twin_once() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    h.world.jira.set_search_lag(LAG);
    let (_, sn_source) = sources(&h);
    h.ok(&["sync"]).await;
    h.crash_apply_at("before-create", &sn_source).await;
    assert!(h.jira_twins(&sn_source).is_empty());
    h.ok(&["apply", "--yes", "--only", &sn_source]).await;
    assert_moved_from_servicenow(&h, &sn_source, "crash before create, search lagging");
    assert_eq!(h.jira_creates(), 1);
}
