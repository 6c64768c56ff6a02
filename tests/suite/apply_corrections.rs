//! Misroutes and misprioritisations are corrections too, each behind its own policy switch: off, they are
//! reported and nothing is written; on, the service item gets the right queue / impact and urgency, once.

use crate::apply_support;

use apply_support::*;

const MISROUTED: &str = "Orders database down: the production Postgres cluster refuses every connection";
const MISROUTED_TEXT: &str = "Since 9am the orders database rejects all connections, the whole web shop fails at \
                              checkout for everyone. Please restore the database service ASAP.";

/// The database outage filed with the access team at the lowest impact and urgency.
fn backlog() -> Vec<twotrack_sim::generator::GeneratedItem> {
    vec![
        sn_incident(MISROUTED, MISROUTED_TEXT, "Identity & Access", 3, 3),
        sn_incident(
            "Please reset my password, I am locked out of my laptop",
            "I forgot my password and my account is locked. I cannot work until it is reset.",
            "Identity & Access",
            3,
            2,
        ),
    ]
}

fn fields(h: &Harness, number: &str) -> (String, String, String) {
    let (_, r) = h.sn_record(number);
    let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    (s("assignment_group"), s("impact"), s("urgency"))
}

#[tokio::test]
async fn with_the_switches_off_misroutes_and_misprioritisations_are_only_reported() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    h.ok(&["sync"]).await;
    let kinds = h.finding_kinds(MISROUTED).await;
    assert!(kinds.iter().any(|k| k == "misrouted") && kinds.iter().any(|k| k == "misprioritised"), "{kinds:?}");
    let number = h.sn_number(MISROUTED);
    // explain says what the audit says: in the right tracker, but in the wrong group at the wrong priority.
    let explained = h.ok(&["explain", &number]).await.stdout;
    assert!(explained.contains("in the right tracker") && !explained.contains("correctly filed"), "{explained}");
    assert!(explained.contains("finding:    misrouted: Identity & Access -> "), "{explained}");
    assert!(explained.contains("finding:    misprioritised: impact 3, urgency 3 -> impact 1"), "{explained}");
    assert!(explained.contains("(for review)") && !explained.contains("apply would fix"), "switches off: {explained}");
    let before = fields(&h, &number);
    h.clear_logs();
    h.ok(&["apply", "--yes"]).await;
    assert!(h.mutations().is_empty(), "nothing is written while fix_routing / fix_priority are off");
    assert_eq!(fields(&h, &number), before);
}

#[tokio::test]
async fn with_the_switches_on_the_queue_and_priority_are_corrected_once() {
    let policy = Policy { fix_routing: true, fix_priority: true, ..Policy::writes() };
    let h = Harness::start(backlog(), &policy).await;
    h.ok(&["sync"]).await;
    let number = h.sn_number(MISROUTED);
    let (group_before, impact_before, urgency_before) = fields(&h, &number);
    assert_eq!((impact_before.as_str(), urgency_before.as_str()), ("3", "3"));

    let run = h.ok(&["apply", "--yes"]).await;
    assert!(run.stdout.contains("reassign to Database Administration"), "{}", run.stdout);
    let (group, impact, urgency) = fields(&h, &number);
    assert_ne!(group, group_before, "the assignment group changed");
    assert_eq!((impact.as_str(), urgency.as_str()), ("1", "1"), "everyone is affected, right now");
    let (_, record) = h.sn_record(&number);
    assert_eq!(record["priority"], "1", "the tracker derives priority 1 from impact 1 x urgency 1");
    let notes = h.sn_journal(&number, "work_notes");
    assert!(notes.iter().any(|n| n.contains("reassigned")), "the reroute is explained: {notes:?}");
    assert!(notes.iter().any(|n| n.contains("impact 1 x urgency 1")), "the priority is explained: {notes:?}");

    // Nothing more to do: a second cycle writes nothing.
    h.ok(&["sync"]).await;
    h.clear_logs();
    h.ok(&["apply", "--yes"]).await;
    assert!(h.mutations().is_empty(), "corrections are applied once: {:?}", h.mutations());
    let history = h.ok(&["history", &number]).await;
    assert!(history.stdout.contains("rerouted") && history.stdout.contains("reprioritised"), "{}", history.stdout);
}

/// A service desk with its own groups (none of them a `[[queue]]` of the configuration) and the history
/// of which group takes which work, and one ticket put in the wrong group.
fn site_with_history() -> Vec<twotrack_sim::generator::GeneratedItem> {
    const NAMES: &[&str] = &["Ana", "Bo", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea"];
    let mut items = Vec::new();
    for i in 0..24 {
        let name = NAMES[i % NAMES.len()];
        items.push(sn_incident(
            &format!("Please restore the warehouse table sales_{i} from last night's backup"),
            "The nightly load truncated it. Restore the snapshot into the staging schema please.",
            "Data Platform",
            3,
            3,
        ));
        items.push(sn_incident(
            &format!("New laptop needed for starter {name} {i} in the Paris office"),
            "Standard docking station and two monitors, ready on Monday at the front desk.",
            "EMEA Desktop",
            3,
            3,
        ));
        items.push(sn_incident(
            &format!("Grant SAP role FI_CLOSE_{i} to {name} for month-end close"),
            "Approved by the finance controller. Needed in production client 100 before Friday.",
            "SAP Basis",
            3,
            3,
        ));
    }
    items.push(sn_incident(
        "Please restore the warehouse table invoices_2024 from last night's backup",
        "The nightly load truncated it. Restore the snapshot into the staging schema please.",
        "EMEA Desktop",
        3,
        3,
    ));
    items
}

#[tokio::test]
async fn a_site_with_routing_history_is_rerouted_by_it_and_only_where_it_is_sure() {
    let policy = Policy { fix_routing: true, max_moves: 50, ..Policy::writes() };
    let h = Harness::start(site_with_history(), &policy).await;
    h.ok(&["sync"]).await;
    let wrong = "Please restore the warehouse table invoices_2024 from last night's backup";
    let audit = h.ok(&["audit", "--format", "json"]).await;
    let report: serde_json::Value = serde_json::from_str(&audit.stdout).unwrap();
    let misrouted: Vec<&serde_json::Value> =
        report["findings"].as_array().unwrap().iter().filter(|f| f["kind"] == "misrouted").collect();
    // The site's own groups are not the configured queues: only its history judges them, and it
    // finds the one ticket in the wrong group, and nothing else.
    assert_eq!(misrouted.len(), 1, "{misrouted:#?}");
    assert_eq!(misrouted[0]["title"], wrong);
    let why = misrouted[0].to_string();
    assert!(why.contains("site-route") && why.contains("Data Platform"), "{why}");

    let number = h.sn_number(wrong);
    let (sys_id, _) = h.sn_record(&number);
    h.clear_logs();
    let run = h.ok(&["apply", "--yes"]).await;
    assert!(run.stdout.contains("reassign to Data Platform"), "{}", run.stdout);
    // The group is a reference: the same record as the other Data Platform tickets'.
    let data_platform =
        fields(&h, &h.sn_number("Please restore the warehouse table sales_0 from last night's backup")).0;
    assert_eq!(fields(&h, &number).0, data_platform);
    let touched: Vec<String> = h.mutations().into_iter().map(|m| m.path).collect();
    assert!(!touched.is_empty() && touched.iter().all(|p| p.contains(&sys_id)), "{touched:?}");
    let notes = h.sn_journal(&number, "work_notes");
    assert!(notes.iter().any(|n| n.contains("from EMEA Desktop to Data Platform")), "{notes:?}");
}

#[tokio::test]
async fn a_site_whose_groups_are_named_otherwise_gets_a_note_not_a_flood_of_misroutes() {
    // The database outage again, but this service desk calls its teams something else.
    let items = vec![
        sn_incident(MISROUTED, MISROUTED_TEXT, "Team Alpha", 1, 1),
        sn_incident(
            "Please reset my password, I am locked out of my laptop",
            "I forgot my password and my account is locked. I cannot work until it is reset.",
            "Team Beta",
            3,
            2,
        ),
    ];
    let h = Harness::start(items, &Policy::writes()).await;
    h.ok(&["sync"]).await;
    let audit = h.ok(&["audit", "--format", "json"]).await;
    let report: serde_json::Value = serde_json::from_str(&audit.stdout).unwrap();
    let misrouted = report["findings"].as_array().unwrap().iter().filter(|f| f["kind"] == "misrouted").count();
    assert_eq!(misrouted, 0, "the [[queue]] groups do not exist here: {}", audit.stdout);
    let notes: Vec<&str> = report["notes"].as_array().unwrap().iter().filter_map(|n| n.as_str()).collect();
    assert!(
        notes.iter().any(|n| n.contains("None of the [[queue]] groups") && n.contains("Team Alpha (1)")),
        "{notes:?}"
    );
    let md = h.ok(&["audit"]).await.stdout;
    assert!(md.contains("**Note:** None of the ") && md.contains("Team Alpha (1)"), "{md}");
}
