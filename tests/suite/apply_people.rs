//! A move carries its people: the twin is created on behalf of the original's reporter, found in the
//! other tracker by e-mail (Jira `reporter`, ServiceNow `caller_id` / `requested_for`). Where they cannot
//! be found, or the tracker refuses the field, the twin is still created and says on whose behalf; the
//! reporter still hears of the outcome through the original.

use crate::apply_support;

use apply_support::*;
use serde_json::Value;

/// The e-mail address the simulators give the reporter of the hand-picked backlog ("Maria Lopez" in Jira,
/// `maria.lopez` in ServiceNow).
const MARIA: &str = "maria.lopez@example.com";

fn sn_user_id(h: &Harness, email: &str) -> String {
    let users = h.world.servicenow.snapshot("sys_user");
    let found: Vec<&Value> = users.iter().filter(|u| u["email"] == email).collect();
    assert_eq!(found.len(), 1, "one sys_user with {email}");
    found[0]["sys_id"].as_str().unwrap().to_string()
}

fn description(h: &Harness, key: &str) -> String {
    h.jira_issue(key)["fields"]["description"].as_str().unwrap_or_default().to_string()
}

/// `twotrack history KEY`: the item's audit log.
async fn history(h: &Harness, key: &str) -> String {
    h.ok(&["history", key]).await.stdout
}

#[tokio::test]
async fn each_twin_is_created_on_behalf_of_the_originals_reporter() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let (jira_source, sn_source) = sources(&h);

    // Jira -> ServiceNow: the incident's caller is the Jira reporter's sys_user.
    let sn_twin = assert_moved_from_jira(&h, &jira_source, "jira -> servicenow");
    let (table, record) = h.sn_record(&sn_twin);
    assert_eq!(table, "incident");
    assert_eq!(record["caller_id"], sn_user_id(&h, MARIA).as_str(), "the twin's caller is the reporter: {record:#}");

    // ServiceNow -> Jira: the issue's reporter is the caller's Jira account.
    let jira_twin = assert_moved_from_servicenow(&h, &sn_source, "servicenow -> jira");
    let reporter = &h.jira_issue(&jira_twin)["fields"]["reporter"];
    assert_eq!(reporter["emailAddress"], MARIA, "the twin's reporter is the caller: {reporter:#}");
    assert_eq!(reporter["displayName"], "Maria Lopez");
    assert!(!description(&h, &jira_twin).contains("on behalf of"), "set, so not named again");
}

#[tokio::test]
async fn a_reporter_whose_address_is_hidden_is_still_found_by_it() {
    // Maria Lopez reported an issue in Jira (a bystander): Jira knows her.
    let h = Harness::start(vec![value_in_servicenow(), value_in_jira()], &Policy::writes()).await;
    h.world.jira.hide_email(MARIA);
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let source = h.sn_number(VALUE_IN_SN);
    let twin = assert_moved_from_servicenow(&h, &source, "hidden address");
    let reporter = &h.jira_issue(&twin)["fields"]["reporter"];
    assert_eq!(reporter["displayName"], "Maria Lopez", "the one user the whole address finds: {reporter:#}");
}

#[tokio::test]
async fn a_reporter_field_the_project_refuses_leaves_the_person_named_in_the_description() {
    let h = Harness::start(vec![value_in_servicenow(), value_in_jira()], &Policy::writes()).await;
    h.world.jira.lock_reporter("SHOP");
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let source = h.sn_number(VALUE_IN_SN);
    let twin = assert_moved_from_servicenow(&h, &source, "reporter not on the create screen");
    let issue = h.jira_issue(&twin);
    assert_eq!(issue["fields"]["reporter"]["displayName"], "Twotrack Integration", "the API user reports it");
    let text = description(&h, &twin);
    assert!(text.contains(&format!("on behalf of maria.lopez <{MARIA}>, who reported {source}")), "{text}");
    let log = history(&h, &source).await;
    assert!(log.contains("refused the person"), "the audit log says why: {log}");
}

#[tokio::test]
async fn a_reporter_unknown_to_the_other_tracker_is_named_on_the_twin() {
    let mut item = value_in_servicenow();
    item.reporter = "zed.nobody".into();
    let h = Harness::start(vec![item], &Policy::writes()).await;
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let source = h.sn_number(VALUE_IN_SN);
    let twin = assert_moved_from_servicenow(&h, &source, "unknown person");
    let text = description(&h, &twin);
    assert!(
        text.contains(&format!("on behalf of zed.nobody <zed.nobody@example.com>, who reported {source}")),
        "{text}"
    );
    let log = history(&h, &source).await;
    assert!(log.contains("nobody in jira has that e-mail address"), "{log}");
}

#[tokio::test]
async fn a_jira_reporter_who_hides_their_address_is_named_on_the_servicenow_twin() {
    let h = Harness::start(vec![work_in_jira()], &Policy::writes()).await;
    h.world.jira.hide_email(MARIA);
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let source = h.jira_key(WORK_IN_JIRA);
    let twin = assert_moved_from_jira(&h, &source, "hidden address in the original");
    let (_, record) = h.sn_record(&twin);
    assert_eq!(record["caller_id"], "", "nobody to set: {record:#}");
    let text = record["description"].as_str().unwrap_or_default();
    assert!(text.contains(&format!("on behalf of Maria Lopez, who reported {source}")), "{text}");
}

#[tokio::test]
async fn a_tracker_that_hides_its_people_still_gets_the_twin() {
    // Some ServiceNow integration users may not read sys_user (HTTP 403).
    let world =
        twotrack::demo::WorldOptions { servicenow_denied_tables: vec!["sys_user".into()], ..Default::default() };
    let h = Harness::start_with(vec![work_in_jira()], &Policy::writes(), world).await;
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let source = h.jira_key(WORK_IN_JIRA);
    let twin = assert_moved_from_jira(&h, &source, "sys_user denied");
    let (_, record) = h.sn_record(&twin);
    let text = record["description"].as_str().unwrap_or_default();
    assert!(text.contains(&format!("on behalf of Maria Lopez <{MARIA}>, who reported {source}")), "{text}");
    let log = history(&h, &source).await;
    assert!(log.contains("could not be searched for people"), "{log}");
}

#[tokio::test]
async fn a_request_twin_is_requested_for_the_reporter() {
    let mut item = work_in_jira();
    item.summary = "Please grant me access to the finance shared drive".into();
    item.description = "I joined the finance team today and need read and write access to the finance shared \
                        drive to do my job. Can someone please grant the permission?"
        .into();
    item.truth.kind = "request".into();
    // Maria Lopez called the service desk before (a bystander): ServiceNow knows her.
    let h = Harness::start(vec![item, work_in_servicenow()], &Policy::writes()).await;
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let source = h.jira_key("Please grant me access to the finance shared drive");
    let twins = h.sn_twins(&source);
    assert_eq!(twins.len(), 1, "{twins:?}");
    let (table, record) = h.sn_record(&twins[0]);
    assert_eq!(table, "sc_req_item", "a request becomes a requested item: {record:#}");
    assert_eq!(record["requested_for"], sn_user_id(&h, MARIA).as_str(), "{record:#}");
}

#[tokio::test]
async fn a_data_center_twin_is_reported_by_the_user_its_name_finds() {
    let world =
        twotrack::demo::WorldOptions { jira_flavour: twotrack::demo::JiraFlavour::DataCenter, ..Default::default() };
    let h = Harness::start_with(vec![value_in_servicenow(), value_in_jira()], &Policy::writes(), world).await;
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let source = h.sn_number(VALUE_IN_SN);
    let twin = assert_moved_from_servicenow(&h, &source, "data center");
    let reporter = &h.jira_issue(&twin)["fields"]["reporter"];
    assert_eq!(reporter["emailAddress"], MARIA, "Data Center names users by name, found by e-mail: {reporter:#}");
    assert!(!description(&h, &twin).contains("on behalf of"), "set, so not named again");
}
