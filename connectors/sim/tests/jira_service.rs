//! A Jira Service Management project on the simulated site: its type, issue types, components and the
//! ITSM Impact and Urgency select fields, as Jira documents them; a software project beside it keeps its own.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use twotrack_sim::jira::{Flavour, IMPACT_FIELD, JiraOptions, JiraSim, ServiceProject, URGENCY_FIELD};

async fn start(flavour: Flavour) -> JiraSim {
    let opts =
        JiraOptions { flavour, service_projects: vec![ServiceProject::it_service_desk()], ..JiraOptions::default() };
    JiraSim::start(opts).await.unwrap()
}

struct Api {
    http: reqwest::Client,
    base: String,
    root: &'static str,
    flavour: Flavour,
}

impl Api {
    fn new(sim: &JiraSim) -> Api {
        let root = match sim.flavour() {
            Flavour::Cloud => "/rest/api/3",
            Flavour::DataCenter => "/rest/api/2",
        };
        Api { http: reqwest::Client::new(), base: sim.base_url(), root, flavour: sim.flavour() }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let request = self.http.request(method, format!("{}{}{path}", self.base, self.root));
        let mut request = match self.flavour {
            Flavour::Cloud => request.basic_auth("twotrack@example.com", Some("sim-token")),
            Flavour::DataCenter => request.bearer_auth("sim-pat"),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
    }

    fn description(&self) -> Value {
        match self.flavour {
            Flavour::Cloud => json!({"type": "doc", "version": 1, "content": []}),
            Flavour::DataCenter => json!("Checkout is down"),
        }
    }
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array().unwrap().iter().map(|v| v[key].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_service_project_has_its_type_issue_types_components_and_fields() {
    for flavour in [Flavour::Cloud, Flavour::DataCenter] {
        let sim = start(flavour).await;
        let api = Api::new(&sim);
        let (status, its) = api.call(Method::GET, "/project/ITS?expand=issueTypes", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(its["projectTypeKey"], "service_desk");
        let types = names(&its["issueTypes"], "name");
        for wanted in ["Incident", "Service Request", "Change", "Problem"] {
            assert!(types.contains(&wanted.to_owned()), "{flavour:?}: {types:?}");
        }
        assert!(!types.contains(&"Story".to_owned()), "{types:?}");
        let (_, shop) = api.call(Method::GET, "/project/SHOP?expand=issueTypes", None).await;
        assert_eq!(shop["projectTypeKey"], "software");
        assert!(!names(&shop["issueTypes"], "name").contains(&"Incident".to_owned()));

        let (status, components) = api.call(Method::GET, "/project/ITS/components", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            names(&components, "name"),
            [
                "Database Administration",
                "Identity & Access",
                "Network Operations",
                "Hosting & Infrastructure",
                "End User Services",
                "Service Desk"
            ]
        );
        assert_eq!(components[0]["project"], "ITS");

        let (_, fields) = api.call(Method::GET, "/field", None).await;
        let impact = fields.as_array().unwrap().iter().find(|f| f["name"] == "Impact").unwrap();
        assert_eq!(impact["id"], IMPACT_FIELD);
        assert_eq!(impact["schema"]["type"], "option");
        assert!(fields.as_array().unwrap().iter().any(|f| f["name"] == "Urgency" && f["id"] == URGENCY_FIELD));
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn impact_urgency_and_components_are_set_by_value_or_id_and_rendered_back() {
    for flavour in [Flavour::Cloud, Flavour::DataCenter] {
        let sim = start(flavour).await;
        let api = Api::new(&sim);
        let body = json!({"fields": {
            "project": {"key": "ITS"}, "issuetype": {"name": "Incident"}, "summary": "Checkout down",
            "description": api.description(), "priority": {"name": "High"},
            "components": [{"name": "network operations"}],
            IMPACT_FIELD: {"value": "Significant / Large"}, URGENCY_FIELD: {"id": "10110"},
        }});
        let (status, created) = api.call(Method::POST, "/issue", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{flavour:?}: {created}");
        let key = created["key"].as_str().unwrap().to_owned();
        assert!(key.starts_with("ITS-"));
        let path = format!("/issue/{key}?fields=priority,components,{IMPACT_FIELD},{URGENCY_FIELD}");
        let (_, issue) = api.call(Method::GET, &path, None).await;
        assert_eq!(issue["fields"]["priority"]["name"], "High");
        assert_eq!(issue["fields"]["components"][0]["name"], "Network Operations");
        assert_eq!(issue["fields"][IMPACT_FIELD]["value"], "Significant / Large");
        assert_eq!(issue["fields"][URGENCY_FIELD]["value"], "Critical");
        assert_eq!(issue["fields"][URGENCY_FIELD]["id"], "10110");

        // Edited: another option, no components.
        let edit = json!({"fields": {IMPACT_FIELD: {"id": "10103"}, "components": []}});
        let (status, _) = api.call(Method::PUT, &format!("/issue/{key}"), Some(edit)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, issue) = api.call(Method::GET, &path, None).await;
        assert_eq!(issue["fields"][IMPACT_FIELD]["value"], "Minor / Localized");
        assert_eq!(issue["fields"]["components"], json!([]));
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn unknown_components_options_and_foreign_types_are_400s_like_jira() {
    let sim = start(Flavour::Cloud).await;
    let api = Api::new(&sim);
    let base = |project: &str, issue_type: &str| json!({"project": {"key": project}, "issuetype": {"name": issue_type}, "summary": "s"});
    let with = |mut fields: Value, extra: Value| {
        fields.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({ "fields": fields })
    };
    let (status, error) = api
        .call(
            Method::POST,
            "/issue",
            Some(with(base("ITS", "Incident"), json!({"components": [{"name": "Payments"}]}))),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["errors"]["components"], "Component name 'Payments' is not valid");
    let (status, error) = api
        .call(Method::POST, "/issue", Some(with(base("ITS", "Incident"), json!({IMPACT_FIELD: {"value": "Huge"}}))))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["errors"][IMPACT_FIELD], "Option value 'Huge' is not valid");
    // The ITSM fields are not on a software project's screens; its types are not a service project's.
    let (status, error) = api
        .call(Method::POST, "/issue", Some(with(base("SHOP", "Bug"), json!({URGENCY_FIELD: {"value": "High"}}))))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error["errors"][URGENCY_FIELD].as_str().unwrap().contains("cannot be set"), "{error}");
    let (status, error) = api.call(Method::POST, "/issue", Some(json!({"fields": base("SHOP", "Incident")}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["errors"]["issuetype"], "Specify a valid issue type");
    let (status, error) = api.call(Method::POST, "/issue", Some(json!({"fields": base("ITS", "Story")}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert!(sim.issues().is_empty(), "nothing was created");
    // A software issue shows no ITSM fields at all.
    let (status, created) = api.call(Method::POST, "/issue", Some(json!({"fields": base("SHOP", "Bug")}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, issue) = api.call(Method::GET, &format!("/issue/{}", created["key"].as_str().unwrap()), None).await;
    assert!(issue["fields"].get(IMPACT_FIELD).is_none() && issue["fields"]["components"] == json!([]), "{issue}");
    sim.shutdown().await;
}
