//! `config check --online` for a Jira Service Management project as the service queue: the incident and
//! request issue types are confirmed in the target project (the feature and defect types, which a service
//! project lacks, are not asked there), and a software project as a service queue's target is flagged.

use crate::apply_support;

use apply_support::*;
use twotrack::demo::WorldOptions;
use twotrack_sim::jira::ServiceProject;

async fn start() -> Harness {
    let world =
        WorldOptions { jira_service_projects: vec![ServiceProject::it_service_desk()], ..WorldOptions::default() };
    let h = Harness::start_with(vec![value_in_jira()], &Policy::writes(), world).await;
    h.write_jira_service_config(&Policy::writes());
    h
}

fn missing(stdout: &str) -> Vec<&str> {
    stdout.lines().map(str::trim).filter(|l| l.starts_with("MISSING")).collect()
}

#[tokio::test]
async fn a_service_projects_incident_and_request_types_are_confirmed() {
    let h = start().await;
    let r = h.run(&["config", "check", "--online"]).await;
    assert_eq!(r.code(), Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(missing(&r.stdout).is_empty(), "{}", r.stdout);
    assert!(
        r.stdout.contains("project ITS \"IT Service Desk\": issue types ") && r.stdout.contains("Incident"),
        "{}",
        r.stdout
    );
}

#[tokio::test]
async fn a_software_project_as_the_service_queues_target_is_flagged() {
    let h = start().await;
    let text = std::fs::read_to_string(&h.config).unwrap();
    let text = text.replace("[tracker.targets]\nproject = \"ITS\"", "[tracker.targets]\nproject = \"SHOP\"");
    std::fs::write(&h.config, text).unwrap();
    let r = h.run(&["config", "check", "--online"]).await;
    assert_eq!(r.code(), Some(2), "{}\n{}", r.stdout, r.stderr);
    let flagged = missing(&r.stdout);
    for e in [
        "targets.incident_type = \"Incident\" is not an issue type of project SHOP",
        "targets.request_type = \"Service Request\" is not an issue type of project SHOP",
    ] {
        assert!(flagged.iter().any(|l| l.contains(e)), "not flagged: {e:?}\n{}", r.stdout);
    }
    // The product backlog is still asked for its own types only.
    assert!(!flagged.iter().any(|l| l.contains("feature_type")), "{}", r.stdout);
}
