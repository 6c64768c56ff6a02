//! A twin carries its original's labels where the target tracker's settings say so (`carry_labels`,
//! on by default): Jira labels become ServiceNow markers (hashtag lines of the description), ServiceNow
//! markers become Jira labels; twotrack's own markers never travel.

use crate::apply_support;

use apply_support::*;
use twotrack_sim::generator::GeneratedItem;

fn backlog() -> Vec<GeneratedItem> {
    let mut work = work_in_jira();
    work.labels = vec!["checkout".into(), "ios".into()];
    let mut value = value_in_servicenow();
    value.description = format!("{}\n\n#payments #web", value.description);
    vec![work, value, value_in_jira(), work_in_servicenow()]
}

/// Move both misfiled items; the ServiceNow twin's description and the Jira twin's labels.
async fn moved(carry: bool) -> (String, Vec<String>) {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    if !carry {
        let text = std::fs::read_to_string(&h.config).unwrap();
        let text = text.replace("[tracker.scope]\n", "[tracker.targets]\ncarry_labels = false\n\n[tracker.scope]\n");
        std::fs::write(&h.config, text).unwrap();
    }
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let sn_twin = h.sn_twins(&h.jira_key(WORK_IN_JIRA));
    assert_eq!(sn_twin.len(), 1, "{sn_twin:?}");
    let description = h.sn_record(&sn_twin[0]).1["description"].as_str().unwrap_or_default().to_string();
    let jira_twin = h.jira_twins(&h.sn_number(VALUE_IN_SN));
    assert_eq!(jira_twin.len(), 1, "{jira_twin:?}");
    let labels = h.jira_issue(&jira_twin[0])["fields"]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    (description, labels)
}

#[tokio::test]
async fn labels_travel_both_ways_by_default_and_never_twotracks_own() {
    let (description, labels) = moved(true).await;
    assert!(description.ends_with("#checkout #ios"), "{description}");
    assert!(!description.contains("#twotrack"), "{description}");
    for label in ["payments", "web", "twotrack-moved", "twotrack-triage"] {
        assert!(labels.iter().any(|l| l == label), "{label} missing from {labels:?}");
    }
}

#[tokio::test]
async fn carry_labels_off_leaves_them_behind() {
    let (description, labels) = moved(false).await;
    assert!(!description.contains("#checkout") && !description.contains("#ios"), "{description}");
    assert!(!labels.iter().any(|l| l == "payments" || l == "web"), "{labels:?}");
    assert!(labels.iter().any(|l| l == "twotrack-moved"), "twotrack's own markers stay: {labels:?}");
}
