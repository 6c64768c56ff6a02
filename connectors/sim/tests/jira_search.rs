//! Issue search over plain HTTP: the enhanced `search/jql` (tokens, snapshots, field selection, caps), the
//! Data Center offset search, approximate counts, the removed legacy search, and the JQL subset.

use std::collections::HashSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use reqwest::StatusCode;
use serde_json::{Value, json};
use twotrack_sim::generator::{GeneratedItem, Home, Truth};
use twotrack_sim::jira::{Flavour, JiraOptions, JiraSim};

const USER: &str = "twotrack@example.com";
const TOKEN: &str = "sim-token";

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 0).unwrap()
}

fn item(n: usize, updated: DateTime<Utc>) -> GeneratedItem {
    GeneratedItem {
        home: Home::Jira,
        filed_type: ["Bug", "Story", "Task"][n % 3].into(),
        summary: format!("Item {n}"),
        description: String::new(),
        labels: if n.is_multiple_of(4) { vec![] } else { vec![format!("batch-{}", n % 4)] },
        reporter: "Ann Lee".into(),
        created: base_time() - Duration::days(30) + Duration::seconds(n as i64),
        updated,
        status: ["To Do", "In Progress", "Done"][n % 3].into(),
        assignment_group: None,
        impact: None,
        urgency: None,
        category: None,
        contact_type: None,
        story_points: None,
        truth: Truth { class: "value".into(), kind: "feature".into(), queue: None, impact: None, urgency: None },
    }
}

/// `n` items, each updated one second after the previous one.
fn items(n: usize) -> Vec<GeneratedItem> {
    (0..n).map(|i| item(i, base_time() + Duration::seconds(i as i64))).collect()
}

async fn start(flavour: Flavour, items: Vec<GeneratedItem>, time_zone: Tz) -> JiraSim {
    JiraSim::start(JiraOptions { flavour, items, time_zone, ..JiraOptions::default() }).await.unwrap()
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(sim: &JiraSim) -> Api {
        Api { http: reqwest::Client::new(), base: sim.base_url() }
    }

    async fn get(&self, path_and_query: &str) -> (StatusCode, Value) {
        let response =
            self.http.get(format!("{}{path_and_query}", self.base)).basic_auth(USER, Some(TOKEN)).send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn get_query(&self, path: &str, query: &[(&str, &str)]) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.base);
        let response = self.http.get(url).query(query).basic_auth(USER, Some(TOKEN)).send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.base);
        let response = self.http.post(url).json(&body).basic_auth(USER, Some(TOKEN)).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
    }

    /// Keys matching `jql` (ids-only search, one big page).
    async fn keys(&self, jql: &str) -> Vec<String> {
        let (status, body) =
            self.post("/rest/api/3/search/jql", json!({"jql": jql, "fields": ["key"], "maxResults": 5000})).await;
        assert_eq!(status, StatusCode::OK, "{jql}: {body}");
        assert_eq!(body["isLast"], true);
        body["issues"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap().to_owned()).collect()
    }

    async fn jql_error(&self, jql: &str) -> String {
        let (status, body) = self.get_query("/rest/api/3/search/jql", &[("jql", jql)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{jql}: {body}");
        assert_eq!(body["errors"], json!({}), "{jql}");
        body["errorMessages"][0].as_str().unwrap().to_owned()
    }

    /// Pages through `search/jql` with POST; returns every issue and the number of pages.
    async fn page_all(&self, mut request: Value) -> (Vec<Value>, usize) {
        let mut all = Vec::new();
        let mut pages = 0;
        loop {
            let (status, page) = self.post("/rest/api/3/search/jql", request.clone()).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            assert!(page.get("total").is_none() && page.get("startAt").is_none());
            pages += 1;
            all.extend(page["issues"].as_array().unwrap().iter().cloned());
            if page["isLast"] == true {
                assert!(page.get("nextPageToken").is_none(), "the token key is omitted on the last page");
                return (all, pages);
            }
            request["nextPageToken"] = page["nextPageToken"].clone();
        }
    }
}

fn keys_of(issues: &[Value]) -> Vec<String> {
    issues.iter().map(|i| i["key"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn pages_through_2500_issues_with_next_page_tokens() {
    let sim = start(Flavour::Cloud, items(2500), Tz::UTC).await;
    let api = Api::new(&sim);
    let request =
        json!({"jql": "project = SHOP ORDER BY key ASC", "fields": ["summary", "updated"], "maxResults": 1000});
    let (issues, pages) = api.page_all(request).await;
    assert_eq!(pages, 25, "maxResults is capped at 100 when fields are requested");
    assert_eq!(issues.len(), 2500);
    let keys = keys_of(&issues);
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), 2500);
    assert_eq!((keys[0].as_str(), keys[2499].as_str()), ("SHOP-1", "SHOP-2500"));
    assert!(issues.iter().all(|i| i["fields"].as_object().unwrap().len() == 2));

    // GET with the defaults: ids only, 50 a page.
    let (_, first) = api.get_query("/rest/api/3/search/jql", &[("jql", "project = SHOP")]).await;
    let issues = first["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 50);
    assert_eq!(first["isLast"], false);
    let keys: Vec<&str> = issues[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["expand", "id", "key", "self"], "fields default to id");
    let token = first["nextPageToken"].as_str().unwrap();
    let (_, second) =
        api.get_query("/rest/api/3/search/jql", &[("jql", "project = SHOP"), ("nextPageToken", token)]).await;
    assert_eq!(second["issues"][0]["key"], "SHOP-2450", "default order is key descending");

    // Ids only may come 5000 a page.
    let (_, all) = api.post("/rest/api/3/search/jql", json!({"jql": "project = SHOP", "maxResults": 5000})).await;
    assert_eq!((all["issues"].as_array().unwrap().len(), &all["isLast"]), (2500, &json!(true)));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_page_boundary_inside_150_issues_sharing_one_updated_timestamp() {
    let tie = base_time() + Duration::hours(1);
    let mut list: Vec<GeneratedItem> = (0..80).map(|i| item(i, base_time() + Duration::seconds(i as i64))).collect();
    list.extend((80..230).map(|i| item(i, tie)));
    list.extend((230..300).map(|i| item(i, tie + Duration::minutes(5) + Duration::seconds(i as i64))));
    let sim = start(Flavour::Cloud, list, Tz::UTC).await;
    let api = Api::new(&sim);
    let request =
        json!({"jql": "project = SHOP ORDER BY updated ASC, key ASC", "fields": ["updated"], "maxResults": 100});
    let (issues, pages) = api.page_all(request).await;
    assert_eq!((issues.len(), pages), (300, 3));
    let keys = keys_of(&issues);
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), 300, "no duplicates across the boundaries");
    let tied: Vec<&Value> =
        issues.iter().filter(|i| i["fields"]["updated"] == "2024-01-15T11:30:00.000+0000").collect();
    assert_eq!(tied.len(), 150);
    // Within the tie, key order (SHOP-81..SHOP-230), spanning pages 1-3.
    let tied_keys: Vec<u32> = tied.iter().map(|i| i["key"].as_str().unwrap()[5..].parse().unwrap()).collect();
    assert!(tied_keys.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(keys[99], "SHOP-100");

    // Incremental sync from the tie's minute: minute precision returns the whole tie and what follows.
    assert_eq!(api.keys("project = SHOP AND updated >= \"2024-01-15 11:30\"").await.len(), 220);
    assert_eq!(api.keys("project = SHOP AND updated > \"2024/01/15 11:30\"").await.len(), 70);

    // The snapshot is stable: an issue updated mid-paging is neither skipped nor repeated.
    let (_, first) = api
        .post(
            "/rest/api/3/search/jql",
            json!({"jql": "project = SHOP ORDER BY updated ASC, key ASC", "maxResults": 100}),
        )
        .await;
    let later_key = "SHOP-150";
    let response = api
        .http
        .put(format!("{}/rest/api/2/issue/{later_key}", api.base))
        .basic_auth(USER, Some(TOKEN))
        .json(&json!({"fields": {"summary": "touched"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let mut seen = keys_of(first["issues"].as_array().unwrap());
    let (rest, _) = api.page_all(json!({"jql": "project = SHOP ORDER BY updated ASC, key ASC", "maxResults": 100, "nextPageToken": first["nextPageToken"]})).await;
    seen.extend(keys_of(&rest));
    assert_eq!(seen.len(), 300);
    assert_eq!(seen.iter().filter(|k| *k == later_key).count(), 1);
    let fresh = api.keys("project = SHOP ORDER BY updated DESC").await;
    assert_eq!(fresh[0], later_key, "a new search sees the write");
    sim.shutdown().await;
}

#[tokio::test]
async fn data_center_pages_2500_issues_with_start_at_and_total() {
    let sim = start(Flavour::DataCenter, items(2500), Tz::UTC).await;
    let api = Api::new(&sim);
    let mut keys = Vec::new();
    let mut start = 0;
    loop {
        let (status, page) = api
            .get_query(
                "/rest/api/2/search",
                &[
                    ("jql", "project = SHOP ORDER BY key"),
                    ("startAt", &start.to_string()),
                    ("maxResults", "2000"),
                    ("fields", "summary"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["total"], 2500);
        assert_eq!(page["startAt"], start);
        let max = page["maxResults"].as_u64().unwrap() as usize;
        assert_eq!(max, 1000, "Data Center caps maxResults");
        keys.extend(keys_of(page["issues"].as_array().unwrap()));
        start += max;
        if start >= 2500 {
            break;
        }
    }
    assert_eq!(keys.len(), 2500);
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), 2500);

    let (_, defaults) = api.get_query("/rest/api/2/search", &[("jql", "project = SHOP")]).await;
    assert_eq!((defaults["maxResults"].as_u64(), defaults["issues"].as_array().unwrap().len()), (Some(50), 50));
    assert!(defaults["issues"][0]["fields"]["summary"].is_string(), "fields default to *navigable");
    assert!(defaults["issues"][0]["fields"].get("comment").is_none());
    let (_, post) =
        api.post("/rest/api/2/search", json!({"jql": "", "startAt": 2490, "maxResults": 50, "fields": ["key"]})).await;
    assert_eq!((post["total"].as_u64(), post["issues"].as_array().unwrap().len()), (Some(2500), 10));
    sim.shutdown().await;
}

#[tokio::test]
async fn search_request_forms_and_errors() {
    let sim = start(Flavour::Cloud, items(20), Tz::UTC).await;
    let api = Api::new(&sim);
    let (_, get) =
        api.get("/rest/api/3/search/jql?jql=key%3DSHOP-1&fields=summary,labels&fields=status&expand=names").await;
    let fields = get["issues"][0]["fields"].as_object().unwrap();
    assert!(fields.contains_key("summary") && fields.contains_key("labels") && fields.contains_key("status"));
    assert_eq!(fields.len(), 3);
    assert_eq!(get["names"]["status"], "Status");
    let (_, v2) = api.get("/rest/api/2/search/jql?jql=key%3DSHOP-1&fields=*all,-comment").await;
    let all = v2["issues"][0]["fields"].as_object().unwrap();
    assert!(all.contains_key("reporter") && all.contains_key("resolution") && !all.contains_key("comment"));
    assert!(v2["issues"][0]["self"].as_str().unwrap().contains("/rest/api/2/issue/"));
    let (_, navigable) = api
        .post("/rest/api/3/search/jql", json!({"jql": "key = SHOP-1", "fields": ["*navigable", "-description"]}))
        .await;
    assert!(!navigable["issues"][0]["fields"].as_object().unwrap().contains_key("description"));

    let (status, body) = api.get_query("/rest/api/3/search/jql", &[("jql", "order by key desc")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errorMessages"][0].as_str().unwrap().starts_with("Unbounded JQL queries are not allowed here."));
    let (status, _) =
        api.get_query("/rest/api/3/search/jql", &[("jql", "project = SHOP"), ("nextPageToken", "bogus")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api.post("/rest/api/3/search/jql", json!({"jql": "project = SHOP", "startAt": 0})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the request bean allows no other properties");

    for path in ["/rest/api/3/search?jql=project%3DSHOP", "/rest/api/2/search"] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, StatusCode::GONE);
        assert_eq!(
            body["errorMessages"][0],
            "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."
        );
    }
    let (status, _) = api.post("/rest/api/3/search", json!({"jql": "project = SHOP"})).await;
    assert_eq!(status, StatusCode::GONE);

    let (status, count) =
        api.post("/rest/api/3/search/approximate-count", json!({"jql": "project = SHOP AND status = Done"})).await;
    assert_eq!((status, count), (StatusCode::OK, json!({"count": 6})));
    let (status, _) = api.post("/rest/api/3/search/approximate-count", json!({"jql": ""})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_jql_subset_filters_and_orders() {
    let sim = start(Flavour::Cloud, items(12), Tz::UTC).await;
    let api = Api::new(&sim);
    // Item n is SHOP-(n+1): type Bug/Story/Task and status To Do/In Progress/Done by n % 3,
    // label batch-(n % 4) except when n % 4 == 0, updated at 10:30:00 + n seconds.
    assert_eq!(
        api.keys("project = SHOP AND issuetype = Bug ORDER BY key").await,
        ["SHOP-1", "SHOP-4", "SHOP-7", "SHOP-10"]
    );
    assert_eq!(api.keys("project in (SHOP, \"Web Shop\") AND type in (Story, Task)").await.len(), 8);
    assert_eq!(api.keys("labels = batch-1 ORDER BY key").await, ["SHOP-2", "SHOP-6", "SHOP-10"]);
    assert_eq!(api.keys("labels in (batch-2, BATCH-3)").await.len(), 6);
    assert_eq!(api.keys("labels is EMPTY ORDER BY key").await, ["SHOP-1", "SHOP-5", "SHOP-9"]);
    assert_eq!(api.keys("labels != batch-1").await.len(), 6, "unlabelled issues never match !=");
    assert_eq!(api.keys("status = \"In Progress\" ORDER BY key").await, ["SHOP-2", "SHOP-5", "SHOP-8", "SHOP-11"]);
    assert_eq!(api.keys("status != Done").await.len(), 8);
    assert_eq!(api.keys("statusCategory = done").await.len(), 4);
    assert_eq!(api.keys("statusCategory != \"To Do\"").await.len(), 8);
    assert_eq!(api.keys("resolution = Unresolved").await.len(), 8);
    assert_eq!(api.keys("resolution IS NOT EMPTY").await.len(), 4);
    assert_eq!(api.keys("key in (SHOP-1, shop-2) OR (key = SHOP-12 AND NOT status = Done)").await.len(), 2);
    assert_eq!(api.keys("project = SHOP ORDER BY updated DESC").await[0], "SHOP-12");
    assert_eq!(api.keys("project = SHOP ORDER BY created ASC").await[0], "SHOP-1");
    assert_eq!(
        api.keys("project = SHOP AND updated >= \"2024-01-15 10:30\" AND updated < \"2024-01-15 10:31\"").await.len(),
        12
    );
    assert_eq!(api.keys("updated >= \"2024-01-15\"").await.len(), 12);
    let ms = (base_time() + Duration::seconds(9)).timestamp_millis();
    assert_eq!(
        api.keys(&format!("project = SHOP AND updated >= {ms} ORDER BY key")).await,
        ["SHOP-10", "SHOP-11", "SHOP-12"]
    );
    assert_eq!(api.keys("updated >= -1d").await.len(), 0);

    assert!(api.jql_error("project = SHOP AND").await.starts_with("Error in the JQL Query:"));
    assert!(
        api.jql_error("project SHOP").await.starts_with("Error in the JQL Query: Expecting operator but got 'SHOP'.")
    );
    assert_eq!(api.jql_error("project = NOPE").await, "The value 'NOPE' does not exist for the field 'project'.");
    assert_eq!(
        api.jql_error("nosuch = 1").await,
        "Field 'nosuch' does not exist or you do not have permission to view it."
    );
    assert!(
        api.jql_error("updated >= \"15.01.2024\"")
            .await
            .starts_with("Date value '15.01.2024' for field 'updated' is invalid.")
    );
    assert!(api.jql_error("assignee = currentUser()").await.contains("not supported"));
    assert!(api.jql_error("project = SHOP AND summary ~ checkout").await.contains("not supported"));
    assert!(api.jql_error("status was Done").await.contains("not supported"));
    assert!(api.jql_error("project = SHOP ORDER BY priority").await.contains("not supported"));
    sim.shutdown().await;
}

#[tokio::test]
async fn dates_use_the_users_time_zone_at_minute_precision() {
    // One issue updated at 10:30:30 UTC = 11:30:30 in Berlin.
    let sim = start(Flavour::Cloud, vec![item(0, base_time() + Duration::seconds(30))], Tz::Europe__Berlin).await;
    let api = Api::new(&sim);
    assert_eq!(api.keys("updated >= \"2024-01-15 11:30\"").await, ["SHOP-1"]);
    assert_eq!(api.keys("updated > \"2024-01-15 11:30\"").await, ["SHOP-1"], "the literal is 11:30:00");
    assert!(api.keys("updated >= \"2024-01-15 11:31\"").await.is_empty());
    assert!(api.keys("updated >= \"2024-01-15 10:31\"").await.len() == 1, "10:31 Berlin is 09:31 UTC");
    let (_, issue) = api.get("/rest/api/3/issue/SHOP-1?fields=updated").await;
    assert_eq!(issue["fields"]["updated"], "2024-01-15T11:30:30.000+0100");
    let (_, me) = api.get("/rest/api/3/myself").await;
    assert_eq!(me["timeZone"], "Europe/Berlin");
    sim.shutdown().await;
}

/// With a search lag, a write is not seen by search (`search/jql`, approximate count, the Data Center
/// search) until the lag has passed, except for ids in `reconcileIssues`; reads by key are current at once.
#[tokio::test]
async fn search_lags_behind_writes_and_reconcile_issues_sees_them() {
    for flavour in [Flavour::Cloud, Flavour::DataCenter] {
        let lag = std::time::Duration::from_secs(3600);
        let sim = JiraSim::start(JiraOptions { flavour, items: items(3), search_lag: lag, ..JiraOptions::default() })
            .await
            .unwrap();
        assert_eq!(sim.search_lag(), lag);
        let api = Api::new(&sim);
        let (status, created) = api
            .post(
                "/rest/api/2/issue",
                json!({"fields": {"project": {"key": "SHOP"}, "issuetype": {"name": "Story"}, "summary": "Fresh",
                       "labels": ["fresh"]}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let (key, id) = (created["key"].as_str().unwrap().to_owned(), created["id"].as_str().unwrap().to_owned());
        let response = api
            .http
            .put(format!("{}/rest/api/2/issue/SHOP-1", api.base))
            .basic_auth(USER, Some(TOKEN))
            .json(&json!({"update": {"labels": [{"add": "edited"}]}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);

        // Reads by key are current.
        let (status, fresh) = api.get(&format!("/rest/api/2/issue/{key}")).await;
        assert_eq!((status, fresh["fields"]["summary"].as_str()), (StatusCode::OK, Some("Fresh")));
        let (_, edited) = api.get("/rest/api/2/issue/SHOP-1?fields=labels").await;
        assert!(edited["fields"]["labels"].as_array().unwrap().contains(&json!("edited")));

        // Search is not, in either flavour.
        let search_keys = |body: &Value| keys_of(body["issues"].as_array().unwrap());
        let (status, body) = api.get_query("/rest/api/2/search", &[("jql", "labels in (fresh, edited)")]).await;
        if flavour == Flavour::DataCenter {
            assert_eq!((status, body["total"].as_u64()), (StatusCode::OK, Some(0)), "{body}");
            let (_, all) =
                api.get_query("/rest/api/2/search", &[("jql", "project = SHOP"), ("fields", "labels")]).await;
            assert_eq!(search_keys(&all), ["SHOP-3", "SHOP-2", "SHOP-1"], "the new issue is not found yet");
            continue;
        }
        assert!(api.keys("labels in (fresh, edited)").await.is_empty());
        assert_eq!(api.keys("project = SHOP").await, ["SHOP-3", "SHOP-2", "SHOP-1"]);
        let (_, count) = api.post("/rest/api/3/search/approximate-count", json!({"jql": "project = SHOP"})).await;
        assert_eq!(count["count"], 3);
        let (_, old) = api.post("/rest/api/3/search/jql", json!({"jql": "key = SHOP-1", "fields": ["labels"]})).await;
        assert!(!old["issues"][0]["fields"]["labels"].as_array().unwrap().contains(&json!("edited")), "as it was");

        // reconcileIssues: the listed ids as they are now (POST body and GET query).
        let reconcile =
            json!({"jql": "labels = fresh", "fields": ["summary"], "reconcileIssues": [id.parse::<i64>().unwrap()]});
        let (_, body) = api.post("/rest/api/3/search/jql", reconcile).await;
        assert_eq!(search_keys(&body), [key.as_str()]);
        let (_, body) =
            api.get_query("/rest/api/3/search/jql", &[("jql", "labels = fresh"), ("reconcileIssues", &id)]).await;
        assert_eq!(search_keys(&body), [key.as_str()]);
        let many: Vec<i64> = (0..51).collect();
        let (status, _) =
            api.post("/rest/api/3/search/jql", json!({"jql": "project = SHOP", "reconcileIssues": many})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "at most 50 ids");

        // Once the lag is over (here: set to zero), search sees every write.
        sim.set_search_lag(std::time::Duration::ZERO);
        assert_eq!(api.keys("labels in (fresh, edited)").await, [key.clone(), "SHOP-1".to_owned()]);
    }
}
