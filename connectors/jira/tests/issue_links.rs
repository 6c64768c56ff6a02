//! Issue links (issue 16: "in Jira, a parent issue and links"): the simulator's `issueLink` and
//! `issueLinkType` resources as Jira documents them, and the connector joining two issues of one site with
//! an issue link (read first, so a retry after a lost answer never doubles it) while a target in another
//! tracker keeps the remote link.

use std::time::Duration;

use serde_json::{Value, json};
use twotrack_api::connector::OriginRef;
use twotrack_api::http::HttpSettings;
use twotrack_api::secret::Auth;
use twotrack_api::{Connector, ConnectorError};
use twotrack_jira::{DEFAULT_LINK_TYPE, Flavour, JiraConnector, JiraSettings, JiraWrite};
use twotrack_sim::faults::{FaultKind, FaultPhase, Injection};
use twotrack_sim::jira::{self as sim, JiraOptions, JiraSim};

const FLAVOURS: [Flavour; 2] = [Flavour::Cloud, Flavour::DataCenter];

async fn start(flavour: Flavour) -> JiraSim {
    let flavour = match flavour {
        Flavour::Cloud => sim::Flavour::Cloud,
        Flavour::DataCenter => sim::Flavour::DataCenter,
    };
    let sim = JiraSim::start(JiraOptions { flavour, ..JiraOptions::default() }).await.unwrap();
    // Three reports of one outage, SHOP-1 to SHOP-3, filed as a reporter would.
    for summary in ["checkout is down", "checkout down for me too", "many reports: checkout"] {
        let fields = json!({ "fields": {
            "project": { "key": "SHOP" }, "issuetype": { "name": "Task" }, "summary": summary } });
        let (status, body) = send(&sim, reqwest::Method::POST, "/rest/api/2/issue", Some(fields)).await;
        assert_eq!(status, 201, "{body}");
    }
    sim.log().clear();
    sim
}

fn auth(flavour: Flavour) -> Auth {
    match flavour {
        Flavour::Cloud => Auth::Basic { user: "twotrack@example.com".into(), token: "sim-token".into() },
        Flavour::DataCenter => Auth::Bearer { token: "sim-pat".into() },
    }
}

fn connector(sim: &JiraSim, flavour: Flavour, link_type: &str) -> JiraConnector {
    let http = HttpSettings {
        per_second: 0.0,
        request_timeout: Duration::from_secs(5),
        max_retries: 4,
        backoff_base: Duration::from_millis(2),
        backoff_cap: Duration::from_millis(20),
        ..HttpSettings::new("jira-sim", sim.base_url().parse().unwrap(), auth(flavour))
    };
    JiraConnector::new(JiraSettings {
        write: JiraWrite { project: "SHOP".into(), link_type: link_type.into(), ..JiraWrite::default() },
        ..JiraSettings::new(http, flavour, vec!["SHOP".into()])
    })
    .unwrap()
}

/// The issue `key` of the simulator's site, as the parent of a storm names it.
fn on_site(sim: &JiraSim, key: &str) -> OriginRef {
    OriginRef {
        tracker: "jira-service".into(),
        key: key.into(),
        url: format!("{}/browse/{key}", sim.base_url()),
        summary: "Many reports of one event".into(),
    }
}

/// The `issuelinks` of an issue as the simulator holds it.
fn issue_links(sim: &JiraSim, key: &str) -> Vec<Value> {
    sim.issue(key).unwrap()["fields"]["issuelinks"].as_array().cloned().unwrap_or_default()
}

fn link_posts(sim: &JiraSim) -> usize {
    sim.log().entries().iter().filter(|e| e.method == "POST" && e.path.ends_with("/issueLink")).count()
}

#[tokio::test]
async fn two_issues_of_the_site_are_joined_by_one_issue_link_however_often_asked() {
    for flavour in FLAVOURS {
        let sim = start(flavour).await;
        let jira = connector(&sim, flavour, DEFAULT_LINK_TYPE);
        let parent = on_site(&sim, "SHOP-3");
        jira.set_parent("SHOP-1", &parent).await.unwrap();
        jira.set_parent("SHOP-1", &parent).await.unwrap();
        jira.link("SHOP-1", &parent).await.unwrap();
        let links = issue_links(&sim, "SHOP-1");
        assert_eq!(links.len(), 1, "{flavour:?}: one link: {links:#?}");
        assert_eq!(links[0]["type"]["name"], "Relates");
        assert_eq!(links[0]["inwardIssue"]["key"], "SHOP-3", "{flavour:?}: the parent is on the other side");
        let back = issue_links(&sim, "SHOP-3");
        assert_eq!(back.len(), 1, "{flavour:?}: the parent shows the link too");
        assert_eq!(back[0]["outwardIssue"]["key"], "SHOP-1");
        assert_eq!(link_posts(&sim), 1, "{flavour:?}: created once, then found by reading first");
        assert!(sim.issue("SHOP-1").unwrap()["remotelinks"].as_array().unwrap().is_empty(), "no remote link");

        // A target in another tracker keeps the remote link.
        let elsewhere = OriginRef {
            tracker: "servicenow".into(),
            key: "INC0010001".into(),
            url: "https://example.service-now.com/incident.do?sys_id=1".into(),
            summary: "checkout".into(),
        };
        jira.link("SHOP-2", &elsewhere).await.unwrap();
        assert_eq!(sim.issue("SHOP-2").unwrap()["remotelinks"].as_array().unwrap().len(), 1, "{flavour:?}");
        assert!(issue_links(&sim, "SHOP-2").is_empty(), "{flavour:?}: no issue link to another tracker");
        assert_eq!(link_posts(&sim), 1);
    }
}

#[tokio::test]
async fn a_link_whose_answer_was_lost_is_found_not_sent_again() {
    for flavour in FLAVOURS {
        let sim = start(flavour).await;
        let jira = connector(&sim, flavour, DEFAULT_LINK_TYPE);
        sim.faults().inject(Injection {
            kind: FaultKind::Reset,
            phase: FaultPhase::AfterHandling,
            method: Some("POST".into()),
            path_contains: Some("/issueLink".into()),
        });
        let error = jira.link("SHOP-1", &on_site(&sim, "SHOP-3")).await.unwrap_err();
        assert!(matches!(error, ConnectorError::Unknown { .. }), "{flavour:?}: {error:?}");
        // The caller tries again: the link made by the lost request is read, and nothing is sent.
        jira.link("SHOP-1", &on_site(&sim, "SHOP-3")).await.unwrap();
        assert_eq!(issue_links(&sim, "SHOP-1").len(), 1, "{flavour:?}");
        assert_eq!(link_posts(&sim), 1, "{flavour:?}: sent once");
    }
}

#[tokio::test]
async fn a_link_type_the_site_lacks_names_the_setting() {
    let sim = start(Flavour::Cloud).await;
    let jira = connector(&sim, Flavour::Cloud, "Gathered by");
    let error = jira.link("SHOP-1", &on_site(&sim, "SHOP-3")).await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, ConnectorError::Invalid { .. }), "{error:?}");
    assert!(text.contains("\"Gathered by\"") && text.contains("targets.link_type"), "{text}");
    assert!(issue_links(&sim, "SHOP-1").is_empty());
}

/// Plain HTTP to the simulator, as any client would send it.
async fn send(sim: &JiraSim, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", sim.base_url()))
        .basic_auth("twotrack@example.com", Some("sim-token"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_simulator_serves_issue_links_as_documented() {
    let sim = start(Flavour::Cloud).await;
    for api in ["/rest/api/3", "/rest/api/2"] {
        let (status, types) = send(&sim, reqwest::Method::GET, &format!("{api}/issueLinkType"), None).await;
        assert_eq!(status, 200);
        let names: Vec<&str> =
            types["issueLinkTypes"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
        assert_eq!(names, ["Blocks", "Cloners", "Duplicate", "Relates"], "{api}");
    }
    let link = |t: &str, inward: &str, outward: &str| json!({ "type": { "name": t }, "inwardIssue": { "key": inward }, "outwardIssue": { "key": outward } });
    let post = |body: Value| send(&sim, reqwest::Method::POST, "/rest/api/3/issueLink", Some(body));
    // Created: 201 without a body; a duplicate "indicates that the issue link was created" and adds none.
    assert_eq!(post(link("Blocks", "SHOP-2", "SHOP-1")).await, (201, Value::Null));
    assert_eq!(post(link("blocks", "SHOP-2", "SHOP-1")).await.0, 201);
    assert_eq!(issue_links(&sim, "SHOP-1").len(), 1, "no duplicate link");
    // Unknown type or issue: 404, nothing created.
    let (status, body) = post(link("Gathered by", "SHOP-2", "SHOP-1")).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["errorMessages"][0].as_str().unwrap().contains("Gathered by"), "{body}");
    assert_eq!(post(link("Relates", "SHOP-99", "SHOP-1")).await.0, 404);
    // A comment with the link goes to the outward issue; an empty one is a 400 and creates no link.
    let mut with_comment = link("Relates", "SHOP-3", "SHOP-1");
    with_comment["comment"] = json!({ "body": "" });
    assert_eq!(post(with_comment.clone()).await.0, 400);
    assert_eq!(issue_links(&sim, "SHOP-1").len(), 1);
    with_comment["comment"] = json!({ "body": { "type": "doc", "version": 1, "content": [
        { "type": "paragraph", "content": [{ "type": "text", "text": "same outage" }] }] } });
    assert_eq!(post(with_comment).await.0, 201);
    assert_eq!(sim.issue("SHOP-1").unwrap()["fields"]["comment"]["comments"].as_array().unwrap().len(), 1);

    // The issue shows each link with the other issue on its side; GET and DELETE by id.
    let links = issue_links(&sim, "SHOP-1");
    assert_eq!(links.len(), 2);
    assert_eq!(
        (links[0]["type"]["name"].as_str(), links[0]["inwardIssue"]["key"].as_str()),
        (Some("Blocks"), Some("SHOP-2"))
    );
    let id = links[0]["id"].as_str().unwrap().to_string();
    let (status, one) = send(&sim, reqwest::Method::GET, &format!("/rest/api/2/issueLink/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        (one["inwardIssue"]["key"].as_str(), one["outwardIssue"]["key"].as_str()),
        (Some("SHOP-2"), Some("SHOP-1"))
    );
    assert_eq!(one["type"]["outward"], "blocks");
    assert_eq!(send(&sim, reqwest::Method::GET, "/rest/api/3/issueLink/abc", None).await.0, 400);
    assert_eq!(send(&sim, reqwest::Method::DELETE, &format!("/rest/api/3/issueLink/{id}"), None).await.0, 204);
    assert_eq!(send(&sim, reqwest::Method::GET, &format!("/rest/api/3/issueLink/{id}"), None).await.0, 404);
    assert_eq!(issue_links(&sim, "SHOP-2").len(), 0);
    assert_eq!(issue_links(&sim, "SHOP-1").len(), 1);
}
