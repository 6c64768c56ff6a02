//! The Jira simulator endpoint by endpoint, over plain HTTP: documented shapes, status codes, headers,
//! auth failures, permissions and the Jira wording of injected faults.

use chrono::{DateTime, TimeZone, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use twotrack_sim::SimAuth;
use twotrack_sim::faults::{FaultKind, FaultPhase, FaultSpec, Injection};
use twotrack_sim::generator::{GeneratedItem, Home, Truth};
use twotrack_sim::jira::{Flavour, JiraOptions, JiraSim};

const USER: &str = "twotrack@example.com";
const TOKEN: &str = "sim-token";

fn item(n: usize, status: &str) -> GeneratedItem {
    let created = Utc.with_ymd_and_hms(2024, 1, 15, 10, 0, 0).unwrap() + chrono::Duration::minutes(n as i64);
    GeneratedItem {
        home: Home::Jira,
        filed_type: if n.is_multiple_of(2) { "Bug" } else { "Story" }.into(),
        summary: format!("Checkout fails for order {n}"),
        description: format!("Steps for {n}:\nopen the cart\n\nExpected: it works"),
        labels: vec!["web".into()],
        reporter: "Ann Lee".into(),
        created,
        updated: created + chrono::Duration::seconds(30),
        status: status.into(),
        assignment_group: None,
        impact: None,
        urgency: None,
        category: None,
        contact_type: None,
        story_points: Some(3.0),
        truth: Truth { class: "value".into(), kind: "defect".into(), queue: None, impact: None, urgency: None },
    }
}

async fn start(flavour: Flavour) -> JiraSim {
    let opts = JiraOptions {
        flavour,
        items: vec![item(0, "To Do"), item(1, "In Progress"), item(2, "Done")],
        projects: vec![("SHOP".into(), "Web Shop".into()), ("OPS".into(), "Operations".into())],
        read_only_projects: vec!["OPS".into()],
        ..JiraOptions::default()
    };
    JiraSim::start(opts).await.unwrap()
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(sim: &JiraSim) -> Api {
        Api { http: reqwest::Client::new(), base: sim.base_url() }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base)).basic_auth(USER, Some(TOKEN))
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() };
        (status, value)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    async fn updated(&self, key: &str) -> DateTime<Utc> {
        let (_, issue) = self.get(&format!("/rest/api/2/issue/{key}?fields=updated")).await;
        parse_time(issue["fields"]["updated"].as_str().unwrap())
    }
}

fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.3f%z").unwrap().with_timezone(&Utc)
}

fn adf(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]})
}

fn is_jira_timestamp(value: &Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    text.len() == 28 && DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.3f%z").is_ok()
}

#[tokio::test]
async fn server_info_myself_and_fields_in_cloud() {
    let sim = start(Flavour::Cloud).await;
    let api = Api::new(&sim);
    let (status, info) = api.get("/rest/api/3/serverInfo").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["deploymentType"], "Cloud");
    assert_eq!(info["baseUrl"], sim.base_url());
    assert!(info["versionNumbers"].as_array().is_some_and(|v| v.len() == 3));
    assert!(is_jira_timestamp(&info["serverTime"]), "{}", info["serverTime"]);

    let (_, me) = api.get("/rest/api/3/myself").await;
    assert!(me["accountId"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(me["emailAddress"], USER);
    assert_eq!(me["timeZone"], "UTC");
    assert!(me["displayName"].is_string());
    assert!(me["self"].as_str().unwrap().starts_with(&sim.base_url()));

    let (_, fields) = api.get("/rest/api/2/field").await;
    let points = fields.as_array().unwrap().iter().find(|f| f["name"] == "Story Points").unwrap();
    assert_eq!(points["id"], twotrack_sim::jira::STORY_POINTS_FIELD);
    assert_eq!(points["custom"], true);
    assert_eq!(points["schema"]["type"], "number");
    assert!(points["clauseNames"].as_array().unwrap().contains(&json!("cf[10016]")));

    let (_, project) = api.get("/rest/api/3/project/shop").await;
    assert_eq!((project["key"].as_str(), project["name"].as_str()), (Some("SHOP"), Some("Web Shop")));
    assert!(project["issueTypes"].as_array().unwrap().iter().any(|t| t["name"] == "Bug"));
    let (status, missing) = api.get("/rest/api/3/project/NOPE").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["errorMessages"][0], "No project could be found with key 'NOPE'.");
    let (_, projects) = api.get("/rest/api/3/project/search").await;
    assert_eq!((projects["total"].as_u64(), projects["isLast"].as_bool()), (Some(2), Some(true)));
    sim.shutdown().await;
}

#[tokio::test]
async fn data_center_serves_v2_only_with_user_names() {
    let sim = start(Flavour::DataCenter).await;
    let api = Api::new(&sim);
    let (_, info) = api.get("/rest/api/2/serverInfo").await;
    assert_eq!(info["deploymentType"], "Server");
    let (status, body) = api.get("/rest/api/3/serverInfo").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["status-code"], 404);
    let (status, body) = api.get("/rest/api/2/no/such/resource").await;
    assert_eq!((status, &body["status-code"]), (StatusCode::NOT_FOUND, &json!(404)));
    let (status, _) = api.get("/rest/api/2/search/jql?jql=project%3DSHOP").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the enhanced search is Cloud only");
    let (status, me) = api.get("/rest/api/latest/myself").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["name"], USER);
    assert!(me.get("accountId").is_none());
    let (_, issue) = api.get("/rest/api/2/issue/SHOP-1?fields=reporter,description").await;
    assert_eq!(issue["fields"]["reporter"]["name"], "ann.lee");
    assert!(issue["fields"]["description"].is_string());
    sim.shutdown().await;
}

#[tokio::test]
async fn get_issue_shapes_in_v2_and_v3() {
    let sim = start(Flavour::Cloud).await;
    let api = Api::new(&sim);
    let (status, v3) = api.get("/rest/api/3/issue/shop-1").await;
    assert_eq!(status, StatusCode::OK, "keys are case-insensitive");
    assert_eq!(v3["key"], "SHOP-1");
    assert_eq!(v3["self"], format!("{}/rest/api/3/issue/{}", sim.base_url(), v3["id"].as_str().unwrap()));
    let f = &v3["fields"];
    assert_eq!(f["summary"], "Checkout fails for order 0");
    assert_eq!(f["description"]["type"], "doc");
    assert_eq!(f["description"]["version"], 1);
    assert_eq!(f["description"]["content"][0]["content"][1]["type"], "hardBreak");
    assert_eq!(f["issuetype"]["name"], "Bug");
    assert_eq!(f["issuetype"]["subtask"], false);
    assert_eq!((f["project"]["key"].as_str(), f["project"]["name"].as_str()), (Some("SHOP"), Some("Web Shop")));
    assert_eq!(f["status"]["name"], "To Do");
    assert_eq!(f["status"]["statusCategory"]["key"], "new");
    assert_eq!(f["labels"], json!(["web"]));
    assert_eq!(f["priority"]["name"], "Medium");
    assert_eq!(f["reporter"]["displayName"], "Ann Lee");
    assert!(f["reporter"]["accountId"].is_string());
    assert_eq!(f["created"], "2024-01-15T10:00:00.000+0000");
    assert_eq!(f["updated"], "2024-01-15T10:00:30.000+0000");
    assert_eq!(f["resolution"], Value::Null);
    assert_eq!(f[twotrack_sim::jira::STORY_POINTS_FIELD], 3.0);
    assert_eq!(f["comment"]["total"], 0);

    let (_, v2) = api.get(&format!("/rest/api/2/issue/{}", v3["id"].as_str().unwrap())).await;
    assert_eq!(v2["key"], "SHOP-1", "ids work too");
    assert_eq!(v2["fields"]["description"], "Steps for 0:\nopen the cart\n\nExpected: it works");

    let (_, done) = api.get("/rest/api/2/issue/SHOP-3?fields=status,resolution,resolutiondate&fields=-status").await;
    let fields = done["fields"].as_object().unwrap();
    assert_eq!(fields.keys().collect::<Vec<_>>(), ["resolution", "resolutiondate"]);
    assert_eq!(fields["resolution"]["name"], "Done");

    let (_, named) = api.get("/rest/api/3/issue/SHOP-1?fields=summary&expand=names").await;
    assert_eq!(named["names"]["summary"], "Summary");

    let (status, body) = api.get("/rest/api/3/issue/SHOP-999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn create_issue_validates_like_jira() {
    let sim = start(Flavour::Cloud).await;
    let api = Api::new(&sim);
    let body = json!({"fields": {
        "project": {"key": "SHOP"}, "issuetype": {"name": "Task"}, "summary": "Rotate the TLS certificate",
        "description": adf("Expires Friday"), "labels": ["sn-INC0010001"], "priority": {"name": "High"},
    }, "properties": [{"key": "twotrack", "value": {"origin": "INC0010001"}}]});
    let (status, created) = api.post("/rest/api/3/issue", body).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["key"], "SHOP-4");
    assert_eq!(created["self"], format!("{}/rest/api/3/issue/{id}", sim.base_url()));
    let (_, issue) = api.get("/rest/api/2/issue/SHOP-4?properties=twotrack").await;
    assert_eq!(issue["fields"]["description"], "Expires Friday");
    assert_eq!(issue["fields"]["labels"], json!(["sn-INC0010001"]));
    assert_eq!(issue["fields"]["priority"]["name"], "High");
    assert_eq!(issue["fields"]["status"]["name"], "To Do");
    assert_eq!(issue["fields"]["created"], issue["fields"]["updated"]);
    assert_eq!(issue["properties"]["twotrack"]["origin"], "INC0010001");

    let (status, body) = api
        .post("/rest/api/2/issue", json!({"fields": {"project": {"key": "NOPE"}, "issuetype": {"name": "Epicc"}}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errorMessages"], json!([]));
    assert_eq!(body["errors"]["project"], "Specify a valid project ID or key");
    assert_eq!(body["errors"]["issuetype"], "Specify a valid issue type");
    assert_eq!(body["errors"]["summary"], "You must specify a summary of the issue.");

    let plain = json!({"fields": {"project": {"key": "SHOP"}, "issuetype": {"id": "10003"}, "summary": "x", "description": "plain"}});
    let (status, body) = api.post("/rest/api/3/issue", plain.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "v3 wants ADF");
    assert!(body["errors"]["description"].as_str().unwrap().contains("Atlassian Document"));
    let (status, _) = api.post("/rest/api/2/issue", plain).await;
    assert_eq!(status, StatusCode::CREATED, "v2 takes plain text");

    let response = api
        .request(Method::POST, "/rest/api/2/issue")
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = api
        .request(Method::POST, "/rest/api/2/issue")
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (status, body) = api
        .post(
            "/rest/api/2/issue",
            json!({"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["errorMessages"][0].as_str().unwrap().contains("permission"));
    assert_eq!(sim.issues().len(), 5, "only the two valid creates stored");
    sim.shutdown().await;
}

#[tokio::test]
async fn edit_issue_applies_fields_and_label_updates() {
    let sim = start(Flavour::Cloud).await;
    let api = Api::new(&sim);
    let before = api.updated("SHOP-1").await;
    let body = json!({
        "fields": {"summary": "Checkout fails on Safari", twotrack_sim::jira::STORY_POINTS_FIELD: 5},
        "update": {"labels": [{"add": "triaged"}, {"remove": "web"}, {"add": "sn-INC1"}]},
    });
    let (status, body) = api.put("/rest/api/2/issue/SHOP-1", body).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (_, issue) = api.get("/rest/api/2/issue/SHOP-1").await;
    assert_eq!(issue["fields"]["summary"], "Checkout fails on Safari");
    assert_eq!(issue["fields"]["labels"], json!(["sn-INC1", "triaged"]));
    assert_eq!(issue["fields"][twotrack_sim::jira::STORY_POINTS_FIELD], 5.0);
    let after = api.updated("SHOP-1").await;
    assert!(after > before, "updated bumps on every write");

    let (status, _) = api.put("/rest/api/2/issue/SHOP-1", json!({"update": {"labels": [{"set": ["only"]}]}})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(api.updated("SHOP-1").await > after);
    assert_eq!(sim.issue("SHOP-1").unwrap()["fields"]["labels"], json!(["only"]));

    let (status, body) = api
        .put("/rest/api/2/issue/SHOP-1", json!({"fields": {"labels": []}, "update": {"labels": [{"add": "x"}]}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"]["labels"].is_string());
    let (status, body) = api.put("/rest/api/2/issue/SHOP-1", json!({"fields": {"status": {"name": "Done"}}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["errors"]["status"],
        "Field 'status' cannot be set. It is not on the appropriate screen, or unknown."
    );
    let (status, returned) =
        api.put("/rest/api/3/issue/SHOP-1?returnIssue=true", json!({"fields": {"description": adf("new")}})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(returned["fields"]["description"], adf("new"));
    let (status, _) = api.put("/rest/api/2/issue/SHOP-404", json!({"fields": {"summary": "x"}})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    sim.shutdown().await;
}

#[tokio::test]
async fn comments_are_added_and_paged() {
    let sim = start(Flavour::Cloud).await;
    let api = Api::new(&sim);
    let before = api.updated("SHOP-1").await;
    let (status, comment) = api.post("/rest/api/3/issue/SHOP-1/comment", json!({"body": adf("First")})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(comment["body"], adf("First"));
    assert!(comment["author"]["accountId"].is_string());
    assert!(is_jira_timestamp(&comment["created"]));
    let id = comment["id"].as_str().unwrap();
    assert!(comment["self"].as_str().unwrap().ends_with(&format!("/comment/{id}")));
    assert!(api.updated("SHOP-1").await > before);
    for text in ["Second", "Third"] {
        let (status, c) = api.post("/rest/api/2/issue/SHOP-1/comment", json!({"body": text})).await;
        assert_eq!((status, c["body"].as_str()), (StatusCode::CREATED, Some(text)));
    }
    let (_, page) = api.get("/rest/api/2/issue/SHOP-1/comment?startAt=1&maxResults=1").await;
    assert_eq!(
        (page["startAt"].as_u64(), page["maxResults"].as_u64(), page["total"].as_u64()),
        (Some(1), Some(1), Some(3))
    );
    assert_eq!(page["comments"][0]["body"], "Second");
    let (_, newest) = api.get("/rest/api/2/issue/SHOP-1/comment?orderBy=-created").await;
    assert_eq!(newest["comments"][0]["body"], "Third");
    assert_eq!(newest["comments"][2]["body"], "First", "ADF bodies read back as text in v2");
    let (_, v3) = api.get("/rest/api/3/issue/SHOP-1/comment").await;
    assert_eq!(v3["comments"][1]["body"]["type"], "doc");
    let (_, one) = api.get(&format!("/rest/api/2/issue/SHOP-1/comment/{id}")).await;
    assert_eq!(one["body"], "First");
    let (_, issue) = api.get("/rest/api/2/issue/SHOP-1?fields=comment").await;
    assert_eq!(issue["fields"]["comment"]["total"], 3);

    let (status, body) = api.post("/rest/api/2/issue/SHOP-1/comment", json!({"body": ""})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"]["comment"], "Comment body can not be empty!");
    let (status, _) = api.get("/rest/api/2/issue/SHOP-1/comment?orderBy=author").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api.post("/rest/api/2/issue/SHOP-99/comment", json!({"body": "x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    sim.shutdown().await;
}

#[tokio::test]
async fn transitions_walk_the_workflow_and_set_resolutions() {
    let sim = start(Flavour::Cloud).await;
    let api = Api::new(&sim);
    let (_, list) = api.get("/rest/api/3/issue/SHOP-1/transitions").await;
    let names: Vec<&str> =
        list["transitions"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Start Progress"]);
    assert_eq!(list["transitions"][0]["to"]["statusCategory"]["key"], "indeterminate");
    let (_, all) = api.get("/rest/api/3/issue/SHOP-1/transitions?includeUnavailableTransitions=true").await;
    assert_eq!(all["transitions"].as_array().unwrap().len(), 4);

    let (status, body) = api.post("/rest/api/3/issue/SHOP-1/transitions", json!({"transition": {"id": "21"}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "Done is not reachable from To Do");
    assert_eq!(body["errorMessages"][0], "Transition id '21' is not valid for this issue.");
    let (status, _) = api
        .post(
            "/rest/api/3/issue/SHOP-1/transitions",
            json!({"transition": {"id": "11"}, "fields": {"resolution": {"name": "Done"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no resolution outside the Done screen");
    let (status, _) = api.post("/rest/api/3/issue/SHOP-1/transitions", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let before = api.updated("SHOP-1").await;
    let (status, _) = api.post("/rest/api/3/issue/SHOP-1/transitions", json!({"transition": {"id": "11"}})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(api.updated("SHOP-1").await > before);
    let (_, with_fields) = api.get("/rest/api/3/issue/SHOP-1/transitions?expand=transitions.fields").await;
    let done = with_fields["transitions"].as_array().unwrap().iter().find(|t| t["id"] == "21").unwrap();
    let allowed: Vec<&str> = done["fields"]["resolution"]["allowedValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(allowed, ["Done", "Won't Do", "Duplicate"]);

    let body = json!({"transition": {"id": "21"}, "fields": {"resolution": {"name": "Won't Do"}},
        "update": {"comment": [{"add": {"body": adf("Closing: moved to ServiceNow")}}]}});
    let (status, _) = api.post("/rest/api/3/issue/SHOP-1/transitions", body).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, issue) = api.get("/rest/api/2/issue/SHOP-1").await;
    let f = &issue["fields"];
    assert_eq!(
        (f["status"]["name"].as_str(), f["status"]["statusCategory"]["key"].as_str()),
        (Some("Done"), Some("done"))
    );
    assert_eq!(f["resolution"]["name"], "Won't Do");
    assert!(is_jira_timestamp(&f["resolutiondate"]));
    assert_eq!(f["comment"]["comments"][0]["body"], "Closing: moved to ServiceNow");

    let (status, _) = api.post("/rest/api/2/issue/SHOP-1/transitions", json!({"transition": {"id": "41"}})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, reopened) = api.get("/rest/api/2/issue/SHOP-1?fields=status,resolution,resolutiondate").await;
    assert_eq!(reopened["fields"]["status"]["name"], "To Do");
    assert_eq!(
        (&reopened["fields"]["resolution"], &reopened["fields"]["resolutiondate"]),
        (&Value::Null, &Value::Null)
    );

    // A Done transition without a resolution gets "Done".
    api.post("/rest/api/2/issue/SHOP-2/transitions", json!({"transition": {"id": 21}})).await;
    assert_eq!(sim.issue("SHOP-2").unwrap()["fields"]["resolution"]["name"], "Done");
    sim.shutdown().await;
}

#[tokio::test]
async fn remote_links_upsert_by_global_id() {
    let sim = start(Flavour::Cloud).await;
    let api = Api::new(&sim);
    let global_id = "system=https://sn.example.com&id=INC0010001";
    let link = json!({"globalId": global_id, "application": {"name": "ServiceNow", "type": "com.servicenow"},
        "relationship": "mirrors", "object": {"url": "https://sn.example.com/incident/1", "title": "INC0010001"}});
    let (status, created) = api.post("/rest/api/3/issue/SHOP-1/remotelink", link).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_u64().unwrap();
    assert_eq!(created["self"], format!("{}/rest/api/3/issue/SHOP-1/remotelink/{id}", sim.base_url()));

    let replacement = json!({"globalId": global_id, "object": {"url": "https://sn.example.com/incident/1", "title": "INC0010001 (closed)"}});
    let (status, updated) = api.post("/rest/api/3/issue/SHOP-1/remotelink", replacement).await;
    assert_eq!((status, updated["id"].as_u64()), (StatusCode::OK, Some(id)));
    let encoded: String = url::form_urlencoded::byte_serialize(global_id.as_bytes()).collect();
    let (status, one) = api.get(&format!("/rest/api/3/issue/SHOP-1/remotelink?globalId={encoded}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["object"]["title"], "INC0010001 (closed)");
    assert!(one.get("relationship").is_none() && one.get("application").is_none(), "fields not sent are nulled");
    let (_, all) = api.get("/rest/api/2/issue/SHOP-1/remotelink").await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(sim.issue("SHOP-1").unwrap()["remotelinks"][0]["globalId"], global_id);

    let (status, body) = api.post("/rest/api/3/issue/SHOP-1/remotelink", json!({"object": {"url": "https://x"}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"errorMessages": [], "errors": {"title": "'title' is required."}}));
    let (status, body) = api.post("/rest/api/3/issue/SHOP-1/remotelink", json!({"globalId": "g"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"]["url"].is_string() && body["errors"]["title"].is_string());

    let response = api
        .request(Method::DELETE, &format!("/rest/api/3/issue/SHOP-1/remotelink?globalId={encoded}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, _) = api.get(&format!("/rest/api/3/issue/SHOP-1/remotelink/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    sim.shutdown().await;
}

#[tokio::test]
async fn issue_properties_round_trip() {
    let sim = start(Flavour::Cloud).await;
    let api = Api::new(&sim);
    let path = "/rest/api/3/issue/SHOP-1/properties/twotrack.origin";
    let (status, body) = api.put(path, json!({"system": "servicenow", "id": "INC0010001"})).await;
    assert_eq!((status, body), (StatusCode::CREATED, Value::Null));
    let (status, _) = api.put(path, json!({"system": "servicenow", "id": "INC0010002"})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, got) = api.get(path).await;
    assert_eq!(got, json!({"key": "twotrack.origin", "value": {"system": "servicenow", "id": "INC0010002"}}));
    let (_, keys) = api.get("/rest/api/3/issue/SHOP-1/properties").await;
    assert_eq!(keys["keys"][0]["key"], "twotrack.origin");
    assert_eq!(keys["keys"][0]["self"], format!("{}{path}", sim.base_url()));
    let (_, searched) =
        api.post("/rest/api/3/search/jql", json!({"jql": "key = SHOP-1", "properties": ["twotrack.origin"]})).await;
    assert_eq!(searched["issues"][0]["properties"]["twotrack.origin"]["id"], "INC0010002");

    let big = json!({"blob": "x".repeat(40_000)});
    let (status, _) = api.put(path, big).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let response = api.request(Method::DELETE, path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, body) = api.get(path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["errorMessages"][0].as_str().unwrap().contains("twotrack.origin"));
    sim.shutdown().await;
}

#[tokio::test]
async fn auth_failures_use_jira_bodies_and_headers() {
    let sim = JiraSim::start(JiraOptions::default()).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/rest/api/3/myself", sim.base_url());
    for request in [http.get(&url), http.get(&url).basic_auth(USER, Some("wrong")), http.get(&url).bearer_auth("nope")]
    {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()["x-seraph-loginreason"], "AUTHENTICATED_FAILED");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"message": "Client must be authenticated to access this resource.", "status-code": 401})
        );
    }
    let response = http.get(&url).bearer_auth("sim-pat").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    sim.shutdown().await;

    let custom = SimAuth { basic: Some(("dc-user".into(), "dc-pass".into())), bearer: None };
    let sim = JiraSim::start(JiraOptions { flavour: Flavour::DataCenter, auth: custom, ..JiraOptions::default() })
        .await
        .unwrap();
    let url = format!("{}/rest/api/2/myself", sim.base_url());
    assert_eq!(http.get(&url).basic_auth("dc-user", Some("dc-pass")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(http.get(&url).bearer_auth("sim-pat").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    sim.shutdown().await;
}

#[tokio::test]
async fn permissions_hide_and_protect_projects() {
    let opts = JiraOptions {
        items: vec![item(0, "To Do")],
        projects: vec![("SHOP".into(), "Web Shop".into()), ("HR".into(), "Payroll".into())],
        read_only_projects: vec!["SHOP".into()],
        hidden_projects: vec!["HR".into()],
        ..JiraOptions::default()
    };
    let sim = JiraSim::start(opts).await.unwrap();
    let api = Api::new(&sim);
    let (status, _) = api.get("/rest/api/3/issue/SHOP-1").await;
    assert_eq!(status, StatusCode::OK, "read-only projects are readable");
    let forbidden =
        json!({"errorMessages": ["You do not have permission to edit issues in this project."], "errors": {}});
    assert_eq!(
        api.put("/rest/api/2/issue/SHOP-1", json!({"fields": {"summary": "x"}})).await,
        (StatusCode::FORBIDDEN, forbidden.clone())
    );
    assert_eq!(
        api.post("/rest/api/2/issue/SHOP-1/comment", json!({"body": "x"})).await,
        (StatusCode::FORBIDDEN, forbidden.clone())
    );
    assert_eq!(api.put("/rest/api/2/issue/SHOP-1/properties/p", json!(1)).await, (StatusCode::FORBIDDEN, forbidden));
    let (status, body) = api.get("/rest/api/2/search/jql?jql=project%20%3D%20HR").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errorMessages"][0], "The value 'HR' does not exist for the field 'project'.");
    let (status, _) = api.get("/rest/api/2/project/HR").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_faults_speak_jira() {
    let sim = start(Flavour::Cloud).await;
    let api = Api::new(&sim);
    let faults = sim.faults();

    faults.inject(Injection::next(FaultKind::RateLimited, FaultPhase::BeforeHandling));
    let response = api.request(Method::GET, "/rest/api/3/issue/SHOP-1").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let headers = response.headers();
    assert!(headers["retry-after"].to_str().unwrap().parse::<u64>().is_ok());
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    assert!(headers.contains_key("x-ratelimit-limit"));
    assert_eq!(headers["ratelimit-reason"], "jira-burst-based");
    let reset = headers["x-ratelimit-reset"].to_str().unwrap();
    assert!(chrono::NaiveDateTime::parse_from_str(reset, "%Y-%m-%dT%H:%MZ").is_ok(), "{reset}");
    faults.clear();

    faults.inject(Injection::next(FaultKind::HtmlPage, FaultPhase::BeforeHandling));
    let response = api.request(Method::GET, "/rest/api/3/issue/SHOP-1").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));

    // A write whose response is lost after it was applied: the comment exists exactly once.
    faults.inject(Injection::next_with_method(FaultKind::Reset, FaultPhase::AfterHandling, "POST"));
    let outcome =
        api.request(Method::POST, "/rest/api/2/issue/SHOP-1/comment").json(&json!({"body": "once"})).send().await;
    let failed = match outcome {
        Err(_) => true,
        Ok(response) => response.text().await.is_err(),
    };
    assert!(failed, "the reset must break the response");
    assert_eq!(sim.issue("SHOP-1").unwrap()["fields"]["comment"]["total"], 1);
    assert_eq!(sim.log().count("POST", "/rest/api/2/issue/SHOP-1/comment"), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limit_headers_follow_the_flavour() {
    // A token bucket of 2 that practically never refills: the third request is throttled.
    let faults = FaultSpec { server_rate_limit: Some((0.001, 2)), ..FaultSpec::default() };
    let sim = JiraSim::start(JiraOptions { faults: faults.clone(), ..JiraOptions::default() }).await.unwrap();
    let api = Api::new(&sim);
    let statuses = [api.get("/rest/api/3/myself").await.0, api.get("/rest/api/3/myself").await.0];
    assert_eq!(statuses, [StatusCode::OK, StatusCode::OK]);
    let response = api.request(Method::GET, "/rest/api/3/myself").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["ratelimit-reason"], "jira-quota-tenant-based");
    assert_eq!(response.headers()["x-ratelimit-limit"], "2");
    assert!(response.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    sim.shutdown().await;

    let sim =
        JiraSim::start(JiraOptions { flavour: Flavour::DataCenter, faults, ..JiraOptions::default() }).await.unwrap();
    let api = Api::new(&sim);
    for _ in 0..2 {
        assert_eq!(api.get("/rest/api/2/myself").await.0, StatusCode::OK);
    }
    let response = api.request(Method::GET, "/rest/api/2/myself").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let headers = response.headers();
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    assert!(headers.contains_key("x-ratelimit-interval-seconds") && headers.contains_key("x-ratelimit-fillrate"));
    assert!(!headers.contains_key("ratelimit-reason"), "Cloud-only header");
    sim.shutdown().await;
}
