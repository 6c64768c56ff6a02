//! One ServiceNow instance as both trackers: its Agile 2.0 tables (rm_story, rm_defect) are the product
//! backlog, its ITSM tables (incident, sc_req_item) the service queue. A feature filed as an incident
//! moves to rm_story, an outage filed as a story moves to incident, each original closed in its own
//! table's states, and a second run writes nothing.

use crate::apply_support;

use apply_support::*;
use twotrack_sim::generator::{ASSIGNMENT_GROUPS, GeneratedItem, Home};

const AGILE: &str = "agile";
const ITSM: &str = "itsm";
const STORY_BYSTANDER: &str = "Show the delivery date estimate on the checkout summary page";

/// `item`, filed in the ServiceNow table `table` (a draft, when it is an Agile 2.0 table).
fn filed_in(mut item: GeneratedItem, table: &str) -> GeneratedItem {
    item.home = Home::ServiceNow;
    item.filed_type = table.into();
    if table.starts_with("rm_") {
        item.status = "-6".into();
        item.assignment_group = None;
        item.impact = None;
        item.urgency = None;
    }
    item.reporter = "maria.lopez".into();
    item
}

fn backlog() -> Vec<GeneratedItem> {
    let mut story = filed_in(value_in_jira(), "rm_story");
    story.summary = STORY_BYSTANDER.into();
    story.description = "As a shopper I want to see when my order arrives before I pay. Acceptance criteria: \
                         the estimate shows on the summary; it updates with the shipping option."
        .into();
    vec![value_in_servicenow(), work_in_servicenow(), filed_in(work_in_jira(), "rm_story"), story]
}

/// Two trackers on the one simulated instance.
fn write_config(h: &Harness) {
    let (user, _) = h.world.basic();
    let url = h.world.servicenow.base_url();
    let tracker = |name: &str, role: &str, tables: &str| {
        format!(
            "[[tracker]]\nname = \"{name}\"\nkind = \"servicenow\"\nrole = \"{role}\"\nbase_url = \"{url}\"\n\
             auth = {{ user = \"{user}\", token = {{ file = \"secrets/sim-token\" }} }}\n\
             rate = {{ per_second = 500.0, burst = 100 }}\nscope = {{ tables = {tables} }}\n\n"
        )
    };
    let mut text = tracker(AGILE, "product", r#"["rm_story", "rm_defect"]"#)
        + &tracker(ITSM, "service", r#"["incident", "sc_req_item"]"#)
        + "[mirror]\npath = \"mirror\"\n\n[policy]\ndry_run = false\nmax_moves = 10\nmax_move_share = 0.6\n\
           rules_may_move_alone = true\nmove_threshold = 0.8\n\n[daemon]\nlisten = \"127.0.0.1:0\"\n";
    for (name, group) in ASSIGNMENT_GROUPS {
        text += &format!("\n[[queue]]\nname = {name:?}\ngroup = {group:?}\n");
    }
    std::fs::write(&h.config, text).unwrap();
}

#[tokio::test]
async fn an_agile_backlog_and_an_itsm_queue_on_one_instance_trade_misfiled_items() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    write_config(&h);
    let feature = h.sn_number(VALUE_IN_SN);
    let outage = h.sn_number(WORK_IN_JIRA);
    assert!(feature.starts_with("INC") && outage.starts_with("STRY"), "{feature} {outage}");

    h.ok(&["sync"]).await;
    let audit = h.ok(&["audit", "--format", "json"]).await;
    let report: serde_json::Value = serde_json::from_str(&audit.stdout).unwrap();
    let targets: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["action"] == "move")
        .map(|f| (f["key"].as_str().unwrap().to_string(), f["target"]["container"].to_string()))
        .collect();
    assert!(targets.contains(&(feature.clone(), "\"rm_story\"".into())), "{targets:?}\n{}", audit.stdout);
    assert!(targets.contains(&(outage.clone(), "\"incident\"".into())), "{targets:?}");

    h.ok(&["apply", "--yes"]).await;
    // The feature is a story now, the outage an incident; each original closed in its table's states.
    let story = h.sn_twins(&feature);
    assert_eq!(story.len(), 1, "{story:?}");
    let (table, twin) = h.sn_record(&story[0]);
    assert_eq!((table.as_str(), &twin["short_description"]), ("rm_story", &serde_json::json!(VALUE_IN_SN)));
    let incident = h.sn_twins(&outage);
    assert_eq!(incident.len(), 1, "{incident:?}");
    let (table, twin) = h.sn_record(&incident[0]);
    assert_eq!(table, "incident");
    assert_eq!(twin["short_description"], WORK_IN_JIRA);
    assert!(twin["impact"].as_str().is_some_and(|i| !i.is_empty()), "Work gets its impact: {twin}");
    // Each twin is for the original's reporter: the story's opened_by, the incident's caller.
    let users = h.world.servicenow.snapshot("sys_user");
    let maria = users.iter().find(|u| u["email"] == "maria.lopez@example.com").unwrap()["sys_id"].clone();
    assert_eq!(h.sn_record(&story[0]).1["opened_by"], maria, "the story is opened on the caller's behalf");
    assert_eq!(twin["caller_id"], maria, "the incident's caller is the story's opener");
    let state = |number: &str| h.sn_record(number).1["state"].as_str().unwrap_or_default().to_string();
    assert_eq!(state(&feature), "7", "an incident closes with close_state");
    assert_eq!(state(&outage), "4", "a story closes with agile_close_state (Cancelled)");
    // The bystanders stay as they were.
    assert_eq!(state(&h.sn_number(STORY_BYSTANDER)), "-6");
    assert!(h.sn_twins(&h.sn_number(WORK_IN_SN)).is_empty());

    // Again: nothing more is written.
    h.ok(&["sync"]).await;
    h.clear_logs();
    h.ok(&["apply", "--yes"]).await;
    let posts: Vec<_> = h.mutations().into_iter().filter(|m| m.method == "POST").collect();
    assert!(posts.is_empty(), "a second run creates nothing: {posts:?}");
    assert_eq!((h.sn_twins(&feature).len(), h.sn_twins(&outage).len()), (1, 1));
}
