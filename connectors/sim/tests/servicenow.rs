//! The ServiceNow simulator, endpoint by endpoint, over plain HTTP: documented shapes, headers and codes.

use chrono::{DateTime, Duration as TimeDelta, TimeZone, Utc};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use twotrack_sim::SimAuth;
use twotrack_sim::generator::{GeneratedItem, Home, Truth};
use twotrack_sim::servicenow::{ServiceNowOptions, ServiceNowSim};

const USER: &str = "twotrack@example.com";
const PASSWORD: &str = "sim-token";

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap() + TimeDelta::seconds(seconds)
}

fn item(table: &str, summary: &str, created: DateTime<Utc>, updated: DateTime<Utc>) -> GeneratedItem {
    GeneratedItem {
        home: Home::ServiceNow,
        filed_type: table.into(),
        summary: summary.into(),
        description: format!("{summary}, in detail"),
        labels: vec![],
        reporter: "Jane Doe".into(),
        created,
        updated,
        status: "2".into(),
        assignment_group: Some("Database Administration".into()),
        impact: Some(2),
        urgency: Some(1),
        category: Some("database".into()),
        contact_type: Some("email".into()),
        story_points: None,
        truth: Truth {
            class: "work".into(),
            kind: "incident".into(),
            queue: Some("database".into()),
            impact: Some(2),
            urgency: Some(1),
        },
    }
}

async fn start(items: Vec<GeneratedItem>) -> ServiceNowSim {
    ServiceNowSim::start(ServiceNowOptions { items, ..ServiceNowOptions::default() }).await.unwrap()
}

/// A GET as the integration user.
async fn get(sim: &ServiceNowSim, path_and_query: &str) -> Response {
    Client::new()
        .get(format!("{}{path_and_query}", sim.base_url()))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap()
}

async fn send(sim: &ServiceNowSim, method: reqwest::Method, path: &str, body: Value) -> Response {
    Client::new()
        .request(method, format!("{}{path}", sim.base_url()))
        .basic_auth(USER, Some(PASSWORD))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

async fn result(response: Response) -> Value {
    assert!(header(&response, "content-type").unwrap().starts_with("application/json"));
    let body: Value = response.json().await.unwrap();
    body["result"].clone()
}

fn is_utc_timestamp(text: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").is_ok()
}

#[tokio::test]
async fn lists_records_with_string_values_references_and_a_total() {
    let sim =
        start(vec![item("incident", "Orders DB slow", at(0), at(60)), item("rm_story", "Wishlist", at(5), at(5))])
            .await;
    let response = get(&sim, "/api/now/table/incident").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "x-total-count"), Some("1"));
    assert_eq!(header(&response, "link"), None, "a single page has no Link header");
    let records = result(response).await;
    let incident = &records.as_array().unwrap()[0];
    assert!(incident.as_object().unwrap().values().all(|v| v.is_string() || v.is_object()));
    assert_eq!(incident["number"], "INC0010001");
    assert_eq!(incident["short_description"], "Orders DB slow");
    assert_eq!(
        (incident["state"].as_str(), incident["impact"].as_str(), incident["urgency"].as_str()),
        (Some("2"), Some("2"), Some("1"))
    );
    assert_eq!(incident["priority"], "2", "impact 2 x urgency 1 -> 2 High");
    assert_eq!(
        (incident["sys_created_on"].as_str(), incident["sys_updated_on"].as_str()),
        (Some("2025-03-01 08:00:00"), Some("2025-03-01 08:01:00"))
    );
    assert_eq!(
        (incident["active"].as_str(), incident["work_notes"].as_str(), incident["comments"].as_str()),
        (Some("true"), Some(""), Some(""))
    );
    assert_eq!(incident["sys_id"].as_str().unwrap().len(), 32);
    assert_eq!(incident["sys_class_name"], "incident");
    let group = &incident["assignment_group"];
    let group_id = group["value"].as_str().unwrap();
    assert_eq!(group["link"], format!("{}/api/now/table/sys_user_group/{group_id}", sim.base_url()));
    let group = result(get(&sim, &format!("/api/now/table/sys_user_group/{group_id}")).await).await;
    assert_eq!(group["name"], "Database Administration");
    let caller = result(
        get(&sim, &format!("/api/now/table/sys_user/{}", incident["caller_id"]["value"].as_str().unwrap())).await,
    )
    .await;
    assert_eq!((caller["name"].as_str(), caller["user_name"].as_str()), (Some("Jane Doe"), Some("jane.doe")));
    let stories = result(get(&sim, "/api/now/v2/table/rm_story").await).await;
    assert_eq!(stories[0]["number"], "STRY0010001");
    assert_eq!(result(get(&sim, "/api/now/v1/table/sc_task").await).await, json!([]));
    sim.shutdown().await;
}

#[tokio::test]
async fn seeds_the_service_queues_and_product_teams() {
    let sim = start(vec![]).await;
    let groups =
        result(get(&sim, "/api/now/table/sys_user_group?sysparm_fields=name&sysparm_query=ORDERBYname").await).await;
    let names: Vec<&str> = groups.as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    for expected in [
        "Database Administration",
        "Identity & Access",
        "Network Operations",
        "Hosting & Infrastructure",
        "End User Services",
        "Service Desk",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    assert!(names.len() > 6, "product teams too: {names:?}");
    let states = result(get(&sim, "/api/now/table/sys_choice?sysparm_query=name=incident^element=state^inactive=false^ORDERBYsequence&sysparm_fields=value,label").await).await;
    let expected = json!([{"value":"1","label":"New"},{"value":"2","label":"In Progress"},{"value":"3","label":"On Hold"},
        {"value":"6","label":"Resolved"},{"value":"7","label":"Closed"},{"value":"8","label":"Canceled"}]);
    assert_eq!(states, expected);
    sim.shutdown().await;
}

#[tokio::test]
async fn fields_display_values_and_reference_links_follow_the_sysparms() {
    let sim = start(vec![item("incident", "Orders DB slow", at(0), at(0))]).await;
    let only = result(
        get(&sim, "/api/now/table/incident?sysparm_fields=number,assignment_group,assignment_group.name,nope").await,
    )
    .await;
    let record = only[0].as_object().unwrap();
    assert_eq!(record.keys().collect::<Vec<_>>(), ["assignment_group", "assignment_group.name", "number"]);
    assert_eq!(record["assignment_group.name"], "Database Administration");
    let plain = result(
        get(&sim, "/api/now/table/incident?sysparm_fields=assignment_group&sysparm_exclude_reference_link=true").await,
    )
    .await;
    assert_eq!(plain[0]["assignment_group"].as_str().unwrap().len(), 32);
    let display = result(
        get(
            &sim,
            "/api/now/table/incident?sysparm_display_value=true&sysparm_fields=state,priority,assignment_group,active",
        )
        .await,
    )
    .await;
    assert_eq!(display[0]["state"], "In Progress");
    assert_eq!(display[0]["priority"], "2 - High");
    assert_eq!(display[0]["assignment_group"]["display_value"], "Database Administration");
    assert!(display[0]["assignment_group"]["link"].as_str().unwrap().starts_with(&sim.base_url()));
    assert!(display[0]["assignment_group"].get("value").is_none());
    let all = result(get(&sim, "/api/now/table/incident?sysparm_display_value=all&sysparm_fields=impact,caller_id&sysparm_exclude_reference_link=true").await).await;
    assert_eq!(all[0]["impact"], json!({"display_value": "2 - Medium", "value": "2"}));
    assert_eq!(all[0]["caller_id"]["display_value"], "Jane Doe");
    assert!(all[0]["caller_id"].get("link").is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn sysparm_query_filters_and_orders() {
    let items = vec![
        item("incident", "VPN down", at(0), at(30)),
        item("incident", "Printer jam", at(5), at(20)),
        item("incident", "vpn slow", at(8), at(10)),
    ];
    let sim = start(items).await;
    let numbers = |records: Value| -> Vec<String> {
        records.as_array().unwrap().iter().map(|r| r["short_description"].as_str().unwrap().to_owned()).collect()
    };
    let cases: &[(&str, &[&str])] = &[
        ("short_descriptionLIKEvpn^ORDERBYDESCshort_description", &["vpn slow", "VPN down"]),
        ("sys_updated_on>=2025-03-01 08:00:20^ORDERBYsys_updated_on", &["Printer jam", "VPN down"]),
        ("sys_updated_on<2025-03-01 08:00:20^ORshort_descriptionSTARTSWITHprinter", &["Printer jam", "vpn slow"]),
        ("numberININC0010001,INC0010003", &["VPN down", "vpn slow"]),
        ("number=INC0010002^NQnumber=INC0010003", &["Printer jam", "vpn slow"]),
        ("correlation_idISEMPTY^short_description!=VPN down^ORDERBYDESCsys_created_on", &["vpn slow", "Printer jam"]),
        ("bogus_field=1^number=INC0010002", &["Printer jam"]),
    ];
    for (query, expected) in cases {
        let encoded = url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>();
        let response = get(&sim, &format!("/api/now/table/incident?sysparm_query={encoded}")).await;
        assert_eq!(header(&response, "x-total-count").unwrap(), expected.len().to_string(), "{query}");
        assert_eq!(numbers(result(response).await), *expected, "{query}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn creates_records_with_numbers_timestamps_and_derived_priority() {
    let sim = start(vec![]).await;
    let started = Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let body = json!({"short_description": "Cannot log in", "impact": "1", "urgency": "2", "caller_id": "Abel Tuter",
        "assignment_group": "Identity & Access", "correlation_id": "JIRA-42", "work_notes": "moved from Jira", "unknown": "x"});
    let response = send(&sim, reqwest::Method::POST, "/api/now/table/incident", body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = header(&response, "location").unwrap().to_owned();
    let created = result(response).await;
    assert_eq!(location, format!("{}/api/now/table/incident/{}", sim.base_url(), created["sys_id"].as_str().unwrap()));
    assert_eq!(created["number"], "INC0010001");
    assert_eq!((created["priority"].as_str(), created["state"].as_str()), (Some("2"), Some("1")));
    assert_eq!((created["correlation_id"].as_str(), created["work_notes"].as_str()), (Some("JIRA-42"), Some("")));
    assert_eq!(created["sys_mod_count"], "0");
    assert_eq!(created["sys_created_by"], USER);
    assert!(created.get("unknown").is_none());
    let updated_on = created["sys_updated_on"].as_str().unwrap();
    assert!(is_utc_timestamp(updated_on) && updated_on >= started.as_str(), "{updated_on} >= {started}");
    assert_eq!(created["caller_id"]["value"], "Abel Tuter", "an unknown user is kept as given, unresolved");
    let group = result(
        get(&sim, &format!("/api/now/table/sys_user_group/{}", created["assignment_group"]["value"].as_str().unwrap()))
            .await,
    )
    .await;
    assert_eq!(group["name"], "Identity & Access");

    for (table, number) in [
        ("sc_req_item", "RITM0010001"),
        ("sc_task", "SCTASK0010001"),
        ("rm_story", "STRY0010001"),
        ("rm_defect", "DFCT0010001"),
        ("rm_enhancement", "ENHC0010001"),
    ] {
        let response =
            send(&sim, reqwest::Method::POST, &format!("/api/now/table/{table}"), json!({"short_description": "x"}))
                .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{table}");
        assert_eq!(result(response).await["number"], number);
    }
    let explicit = send(
        &sim,
        reqwest::Method::POST,
        "/api/now/v2/table/incident",
        json!({"impact": 1, "urgency": 1, "priority": 4}),
    )
    .await;
    assert_eq!(result(explicit).await["priority"], "4", "an explicit priority wins");

    let quiet = Client::new()
        .post(format!("{}/api/now/table/incident", sim.base_url()))
        .basic_auth(USER, Some(PASSWORD))
        .header("X-no-response-body", "true")
        .json(&json!({"short_description": "quiet"}))
        .send()
        .await
        .unwrap();
    assert_eq!(quiet.status(), StatusCode::CREATED);
    assert!(quiet.text().await.unwrap().is_empty());
    assert_eq!(sim.snapshot("incident").len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn updates_bump_timestamps_and_append_journal_entries() {
    let sim = start(vec![item("incident", "Orders DB slow", at(0), at(0))]).await;
    let sys_id = sim.snapshot("incident")[0]["sys_id"].as_str().unwrap().to_owned();
    let path = format!("/api/now/table/incident/{sys_id}");
    let patched = result(
        send(&sim, reqwest::Method::PATCH, &path, json!({"urgency": "3", "work_notes": "checked the slow query log"}))
            .await,
    )
    .await;
    assert_eq!((patched["priority"].as_str(), patched["sys_mod_count"].as_str()), (Some("4"), Some("1")));
    assert!(patched["sys_updated_on"].as_str().unwrap() > "2025-03-01 08:00:00");
    assert_eq!(patched["work_notes"], "");
    let resolved = result(
        send(
            &sim,
            reqwest::Method::PUT,
            &path,
            json!({"state": "6", "close_code": "Solution provided", "close_notes": "index added", "comments": "fixed"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (resolved["state"].as_str(), resolved["incident_state"].as_str(), resolved["active"].as_str()),
        (Some("6"), Some("6"), Some("true"))
    );
    assert!(is_utc_timestamp(resolved["resolved_at"].as_str().unwrap()));
    assert_eq!(resolved["sys_mod_count"], "2");
    let closed = result(send(&sim, reqwest::Method::PATCH, &path, json!({"state": 7})).await).await;
    assert_eq!((closed["active"].as_str(), closed["sys_mod_count"].as_str()), (Some("false"), Some("3")));

    let journal_query =
        format!("/api/now/table/sys_journal_field?sysparm_query=element_id={sys_id}^ORDERBYsys_created_on");
    let entries = result(get(&sim, &journal_query).await).await;
    let entries: Vec<(&str, &str)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["element"].as_str().unwrap(), e["value"].as_str().unwrap()))
        .collect();
    assert_eq!(entries, [("work_notes", "checked the slow query log"), ("comments", "fixed")]);
    let history =
        result(get(&sim, &format!("{path}?sysparm_display_value=true&sysparm_fields=work_notes")).await).await;
    assert!(history["work_notes"].as_str().unwrap().contains("(Work notes)\nchecked the slow query log"));
    let snapshot = &sim.snapshot("incident")[0];
    assert_eq!(snapshot["comments"][0]["value"], "fixed");
    assert_eq!(snapshot["close_notes"], "index added");
    sim.shutdown().await;
}

#[tokio::test]
async fn deletes_and_reports_missing_records_with_the_documented_envelopes() {
    let sim = start(vec![item("incident", "Orders DB slow", at(0), at(0))]).await;
    let sys_id = sim.snapshot("incident")[0]["sys_id"].as_str().unwrap().to_owned();
    let path = format!("/api/now/table/incident/{sys_id}");
    let deleted = send(&sim, reqwest::Method::DELETE, &path, json!({})).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let missing = get(&sim, &path).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let expected = json!({"error":{"message":"No Record found","detail":"Record doesn't exist or ACL restricts the record retrieval"},"status":"failure"});
    assert_eq!(missing.json::<Value>().await.unwrap(), expected);
    assert_eq!(send(&sim, reqwest::Method::PATCH, &path, json!({"state": "2"})).await.status(), StatusCode::NOT_FOUND);

    let invalid = get(&sim, "/api/now/table/sys_nonexistent").await;
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    let expected = json!({"error":{"message":"Invalid table sys_nonexistent","detail":"Table sys_nonexistent does not exist"},"status":"failure"});
    assert_eq!(invalid.json::<Value>().await.unwrap(), expected);
    let unknown = get(&sim, "/api/now/tables").await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown.json::<Value>().await.unwrap()["error"]["message"],
        "Requested URI does not represent any resource"
    );
    assert_eq!(get(&sim, "/api/now/v9/table/incident").await.status(), StatusCode::BAD_REQUEST);
    sim.shutdown().await;
}

#[tokio::test]
async fn rejects_bad_requests_methods_and_media_types() {
    let sim = start(vec![]).await;
    let url = format!("{}/api/now/table/incident", sim.base_url());
    let client = Client::new();
    let broken = client
        .post(&url)
        .basic_auth(USER, Some(PASSWORD))
        .header("content-type", "application/json")
        .body("{\"short")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    assert_eq!(broken.json::<Value>().await.unwrap()["error"]["message"], "Exception while reading request");
    let xml = client
        .post(&url)
        .basic_auth(USER, Some(PASSWORD))
        .header("content-type", "application/xml")
        .body("<x/>")
        .send()
        .await
        .unwrap();
    assert_eq!(xml.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let accept = client.get(&url).basic_auth(USER, Some(PASSWORD)).header("accept", "text/csv").send().await.unwrap();
    assert_eq!(accept.status(), StatusCode::NOT_ACCEPTABLE);
    let not_allowed = client.delete(&url).basic_auth(USER, Some(PASSWORD)).send().await.unwrap();
    assert_eq!(not_allowed.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(not_allowed.json::<Value>().await.unwrap()["status"], "failure");
    assert!(sim.snapshot("incident").is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn auth_failures_get_the_documented_401_and_acl_denials_403() {
    let options = ServiceNowOptions { acl_denied_tables: vec!["sys_user".into()], ..ServiceNowOptions::default() };
    let sim = ServiceNowSim::start(options).await.unwrap();
    let url = format!("{}/api/now/table/incident", sim.base_url());
    let client = Client::new();
    let expected = json!({"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"});
    for request in [
        client.get(&url),
        client.get(&url).basic_auth(USER, Some("wrong")),
        client.get(&url).basic_auth("someone@example.com", Some(PASSWORD)),
        client.get(&url).bearer_auth("wrong-token"),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.json::<Value>().await.unwrap(), expected);
    }
    assert_eq!(client.get(&url).bearer_auth("sim-pat").send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(client.get(&url).basic_auth(USER, Some(PASSWORD)).send().await.unwrap().status(), StatusCode::OK);

    let denied =
        client.get(format!("{}/api/now/table/sys_user", sim.base_url())).bearer_auth("sim-pat").send().await.unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let expected = json!({"error":{"message":"Insufficient rights to query records","detail":null},"status":"failure"});
    assert_eq!(denied.json::<Value>().await.unwrap(), expected);
    let write = client
        .post(format!("{}/api/now/table/sys_user", sim.base_url()))
        .bearer_auth("sim-pat")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::FORBIDDEN);
    assert_eq!(sim.log().count("GET", "/api/now/table/incident"), 6);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_oauth_token_endpoint_hands_out_the_bearer_token() {
    let auth = SimAuth { basic: Some(("svc".into(), "pw".into())), bearer: Some("token-1".into()) };
    let sim = ServiceNowSim::start(ServiceNowOptions { auth, ..ServiceNowOptions::default() }).await.unwrap();
    let client = Client::new();
    let token_url = format!("{}/oauth_token.do", sim.base_url());
    let form = [
        ("grant_type", "password"),
        ("client_id", "c"),
        ("client_secret", "s"),
        ("username", "svc"),
        ("password", "pw"),
    ];
    let granted: Value = client.post(&token_url).form(&form).send().await.unwrap().json().await.unwrap();
    assert_eq!((granted["access_token"].as_str(), granted["token_type"].as_str()), (Some("token-1"), Some("Bearer")));
    assert!(granted["expires_in"].as_u64().unwrap() > 0);
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", granted["refresh_token"].as_str().unwrap())];
    assert_eq!(client.post(&token_url).form(&refresh).send().await.unwrap().status(), StatusCode::OK);
    let wrong = [("grant_type", "password"), ("username", "svc"), ("password", "nope")];
    assert_eq!(client.post(&token_url).form(&wrong).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let response =
        client.get(format!("{}/api/now/table/incident", sim.base_url())).bearer_auth("token-1").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    sim.shutdown().await;
}

/// Follows `rel="next"` from `first_path` and returns the pages' records and Link headers.
async fn walk(sim: &ServiceNowSim, first_path: &str) -> (Vec<Value>, Vec<Option<String>>) {
    let mut url = format!("{}{first_path}", sim.base_url());
    let (mut records, mut links) = (Vec::new(), Vec::new());
    loop {
        let response = Client::new().get(&url).basic_auth(USER, Some(PASSWORD)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let link = header(&response, "link").map(str::to_owned);
        records.extend(result(response).await.as_array().unwrap().iter().cloned());
        links.push(link.clone());
        let next = link.as_deref().and_then(|l| l.split(',').find(|p| p.ends_with("rel=\"next\""))).map(str::to_owned);
        match next {
            Some(part) => url = part.trim_start_matches('<').split(">;").next().unwrap().to_owned(),
            None => return (records, links),
        }
    }
}

#[tokio::test]
async fn pages_through_2500_records_with_link_next() {
    let items = (0..2500).map(|i| item("incident", &format!("item {i}"), at(i), at(i))).collect();
    let sim = start(items).await;
    let first = get(&sim, "/api/now/table/incident?sysparm_limit=1000&sysparm_fields=number").await;
    assert_eq!(header(&first, "x-total-count"), Some("2500"));
    let (records, links) = walk(
        &sim,
        "/api/now/table/incident?sysparm_fields=sys_id,number&sysparm_limit=1000&sysparm_query=active%3Dtrue",
    )
    .await;
    assert_eq!(records.len(), 2500);
    let mut ids: Vec<&str> = records.iter().map(|r| r["sys_id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 2500);
    assert_eq!(links.len(), 3);
    let base = format!(
        "{}/api/now/table/incident?sysparm_fields=sys_id%2Cnumber&sysparm_limit=1000&sysparm_query=active%3Dtrue",
        sim.base_url()
    );
    assert_eq!(
        links[0].as_deref().unwrap(),
        format!(
            "<{base}&sysparm_offset=0>;rel=\"first\",<{base}&sysparm_offset=1000>;rel=\"next\",<{base}&sysparm_offset=2000>;rel=\"last\""
        )
    );
    assert!(links[1].as_deref().unwrap().contains(&format!("<{base}&sysparm_offset=0>;rel=\"prev\"")));
    assert!(!links[2].as_deref().unwrap().contains("rel=\"next\""));

    let default_page = get(&sim, "/api/now/table/incident?sysparm_fields=number").await;
    assert_eq!(header(&default_page, "link"), None, "the default limit (10000) holds all 2500");
    let uncounted =
        get(&sim, "/api/now/table/incident?sysparm_limit=2000&sysparm_no_count=true&sysparm_fields=number").await;
    assert_eq!(header(&uncounted, "x-total-count"), None);
    let link = header(&uncounted, "link").unwrap().to_owned();
    assert!(link.contains("rel=\"next\"") && !link.contains("rel=\"last\""), "{link}");
    let suppressed =
        get(&sim, "/api/now/table/incident?sysparm_limit=10&sysparm_suppress_pagination_header=true").await;
    assert_eq!(header(&suppressed, "link"), None);
    assert_eq!(result(suppressed).await.as_array().unwrap().len(), 10);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_page_boundary_inside_150_records_sharing_one_second_loses_nothing() {
    let mut items: Vec<GeneratedItem> =
        (0..100).map(|i| item("incident", &format!("before {i}"), at(i), at(i))).collect();
    items.extend((0..150).map(|i| item("incident", &format!("same second {i}"), at(i), at(500))));
    items.extend((0..60).map(|i| item("incident", &format!("after {i}"), at(i), at(600 + i))));
    let sim = start(items).await;
    let query = url::form_urlencoded::byte_serialize(b"sys_updated_on>=2025-03-01 08:01:00^ORDERBYsys_updated_on")
        .collect::<String>();
    let (records, links) = walk(
        &sim,
        &format!(
            "/api/now/table/incident?sysparm_limit=100&sysparm_fields=sys_id,sys_updated_on&sysparm_query={query}"
        ),
    )
    .await;
    assert_eq!(links.len(), 3);
    assert_eq!(records.len(), 40 + 150 + 60);
    let shared = records.iter().filter(|r| r["sys_updated_on"] == "2025-03-01 08:08:20").count();
    assert_eq!(shared, 150);
    let stamps: Vec<&str> = records.iter().map(|r| r["sys_updated_on"].as_str().unwrap()).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "ordered by sys_updated_on");
    let mut ids: Vec<&str> = records.iter().map(|r| r["sys_id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 250, "no record lost or repeated at the boundaries");
    sim.shutdown().await;
}

#[tokio::test]
async fn keyset_paging_on_sys_id_works() {
    let sim = start((0..30).map(|i| item("incident", &format!("item {i}"), at(i), at(0))).collect()).await;
    let mut last = String::new();
    let mut seen = 0;
    loop {
        let path = format!(
            "/api/now/table/incident?sysparm_query=sys_id>{last}^ORDERBYsys_id&sysparm_limit=7&sysparm_fields=sys_id&sysparm_suppress_pagination_header=true"
        );
        let page = result(get(&sim, &path).await).await;
        let page = page.as_array().unwrap();
        if page.is_empty() {
            break;
        }
        let next = page.last().unwrap()["sys_id"].as_str().unwrap().to_owned();
        assert!(next > last);
        last = next;
        seen += page.len();
    }
    assert_eq!(seen, 30);
    sim.shutdown().await;
}

#[tokio::test]
async fn loads_a_generated_backlog_into_the_tables_it_was_filed_in() {
    use twotrack_sim::generator::{GenOptions, generate};
    let items = generate(&GenOptions { seed: 7, items_per_tracker: 2500, ..GenOptions::default() });
    let started = std::time::Instant::now();
    let sim = start(items.clone()).await;
    let load_time = started.elapsed();
    let mut total = 0;
    for table in ["incident", "sc_req_item", "sc_task", "rm_story", "rm_defect", "rm_enhancement"] {
        let response = get(&sim, &format!("/api/now/table/{table}?sysparm_limit=1")).await;
        let count: usize = header(&response, "x-total-count").unwrap().parse().unwrap();
        let expected = items.iter().filter(|i| i.home == Home::ServiceNow && i.filed_type == table).count();
        assert_eq!(count, expected, "{table}");
        total += count;
    }
    assert_eq!(total, 2500, "every ServiceNow item and no Jira item");
    let first = items.iter().find(|i| i.home == Home::ServiceNow && i.filed_type == "incident").unwrap();
    let query = url::form_urlencoded::byte_serialize(format!("short_description={}", first.summary).as_bytes())
        .collect::<String>();
    let found =
        result(get(&sim, &format!("/api/now/table/incident?sysparm_display_value=true&sysparm_query={query}")).await)
            .await;
    let record = &found[0];
    assert_eq!(record["assignment_group"]["display_value"].as_str(), first.assignment_group.as_deref());
    assert_eq!(record["sys_created_on"], first.created.format("%Y-%m-%d %H:%M:%S").to_string());
    assert_eq!(record["caller_id"]["display_value"], first.reporter.as_str());
    eprintln!("loaded 2,500 ServiceNow items in {load_time:?}");
    sim.shutdown().await;
}
