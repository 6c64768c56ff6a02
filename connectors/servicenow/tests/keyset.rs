//! Keyset paging under concurrent edits (issue 13): records edited while a pull pages through a table
//! are neither skipped nor repeated, and an incremental pull with nothing changed downloads nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};
use twotrack_api::http::HttpSettings;
use twotrack_api::secret::Auth;
use twotrack_api::{Connector, Cursor, Item};
use twotrack_servicenow::{ServiceNowConnector, ServiceNowSettings};
use twotrack_sim::generator::{GenOptions, GeneratedItem, Home, generate};
use twotrack_sim::servicenow::{ServiceNowOptions, ServiceNowSim};

const USER: &str = "twotrack@example.com";
const TOKEN: &str = "sim-token";
const RECORDS: usize = 300;
const PAGE: u32 = 20;

/// `RECORDS` incidents updated yesterday, three to a second (so pages split seconds).
fn incidents() -> Vec<GeneratedItem> {
    let start = Utc::now() - TimeDelta::days(1);
    let mut items: Vec<GeneratedItem> =
        generate(&GenOptions { seed: 11, items_per_tracker: 1_200, misfiled_share: 0.2 })
            .into_iter()
            .filter(|i| i.home == Home::ServiceNow)
            .take(RECORDS)
            .collect();
    assert_eq!(items.len(), RECORDS);
    for (n, item) in items.iter_mut().enumerate() {
        item.filed_type = "incident".into();
        item.status = "2".into();
        item.updated = start + TimeDelta::seconds(n as i64 / 3);
        item.created = item.created.min(item.updated);
    }
    items
}

async fn sim() -> ServiceNowSim {
    ServiceNowSim::start(ServiceNowOptions { items: incidents(), ..ServiceNowOptions::default() }).await.unwrap()
}

fn connector(sim: &ServiceNowSim) -> ServiceNowConnector {
    let auth = Auth::Basic { user: USER.into(), token: TOKEN.into() };
    let mut http = HttpSettings::new("snow-keyset", sim.base_url().parse().unwrap(), auth);
    http.per_second = 0.0;
    http.request_timeout = Duration::from_secs(5);
    let mut settings = ServiceNowSettings::new(http);
    settings.scope.tables = vec!["incident".into()];
    settings.page_size = PAGE;
    ServiceNowConnector::new(settings).unwrap()
}

fn text<'a>(record: &'a Value, field: &str) -> &'a str {
    record[field].as_str().unwrap_or_default()
}

/// The sim's incidents in pull order (`sys_updated_on`, then `sys_id`).
fn in_pull_order(sim: &ServiceNowSim) -> Vec<Value> {
    let mut records = sim.snapshot("incident");
    records.sort_by(|a, b| {
        (text(a, "sys_updated_on"), text(a, "sys_id")).cmp(&(text(b, "sys_updated_on"), text(b, "sys_id")))
    });
    records
}

/// Another user edits a record through the Table API (it moves to the end of the pull order).
async fn edit(sim: &ServiceNowSim, record: &Value, summary: &str) {
    let url = format!("{}/api/now/table/incident/{}", sim.base_url(), text(record, "sys_id"));
    let response = reqwest::Client::new()
        .patch(url)
        .basic_auth(USER, Some(TOKEN))
        .json(&json!({ "short_description": summary }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

/// How many rows the sim answers to a logged list request (replayed: the data has not changed since).
async fn rows_answered(sim: &ServiceNowSim, query: &str) -> usize {
    let url = format!("{}/api/now/table/incident?{query}", sim.base_url());
    let body: Value =
        reqwest::Client::new().get(url).basic_auth(USER, Some(TOKEN)).send().await.unwrap().json().await.unwrap();
    body["result"].as_array().unwrap().len()
}

#[tokio::test]
async fn records_edited_while_a_pull_pages_are_neither_skipped_nor_repeated() {
    let sim = sim().await;
    let c = connector(&sim);
    let order = in_pull_order(&sim);
    let all: BTreeSet<String> = order.iter().map(|r| text(r, "number").to_string()).collect();

    // Page through the table as a sync does (cursor advanced over each page), storing into a "mirror"
    // where a later version of a key replaces the earlier one. Between pages, edit records the pull has
    // already passed and records it has not reached yet.
    let mut cursor = Cursor::default();
    let mut mirror: BTreeMap<String, Item> = BTreeMap::new();
    let mut pulled: Vec<String> = Vec::new();
    let mut token: Option<String> = None;
    let mut edited_behind: BTreeSet<String> = BTreeSet::new();
    let mut edited_ahead: BTreeSet<String> = BTreeSet::new();
    let mut pages = 0;
    loop {
        let page = c.pull_page("incident", &cursor, token.as_deref()).await.unwrap();
        pages += 1;
        for item in page.items {
            cursor.advance(&item);
            pulled.push(item.key.clone());
            mirror.insert(item.key.clone(), item);
        }
        if let Some(round) = [2, 5, 9].iter().position(|p| *p == pages) {
            let seen = pulled.len();
            for at in [1 + round * 7, seen - 3 - round] {
                let record = &order[at];
                edit(&sim, record, &format!("edited behind the pull, round {round}")).await;
                edited_behind.insert(text(record, "number").to_string());
            }
            for at in [seen + 2 + round, RECORDS - 40 + round * 11] {
                let record = &order[at];
                edit(&sim, record, &format!("edited ahead of the pull, round {round}")).await;
                edited_ahead.insert(text(record, "number").to_string());
            }
        }
        match page.next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!((edited_behind.len(), edited_ahead.len()), (6, 6));
    assert!(pages > RECORDS / PAGE as usize, "{pages} pages");

    // Every record is in the mirror, with its latest version.
    assert_eq!(mirror.keys().cloned().collect::<BTreeSet<_>>(), all, "no record skipped");
    for record in sim.snapshot("incident") {
        let number = text(&record, "number");
        assert_eq!(mirror[number].summary, text(&record, "short_description"), "{number} is the latest version");
    }
    // Each record came once, except those edited behind the pull: before and after the edit.
    let mut times: BTreeMap<&str, usize> = BTreeMap::new();
    for key in &pulled {
        *times.entry(key.as_str()).or_default() += 1;
    }
    for (key, n) in times {
        let expected = if edited_behind.contains(key) { 2 } else { 1 };
        assert_eq!(n, expected, "{key} pulled {n} times");
    }

    // The edits are recent, so the next pull re-reads their second (inclusive) and finds nothing new.
    let page = c.pull_page("incident", &cursor, None).await.unwrap();
    assert!(page.items.is_empty() && page.next.is_none(), "{:?}", page.items);
}

#[tokio::test]
async fn an_incremental_pull_with_nothing_changed_downloads_nothing() {
    let sim = sim().await;
    let c = connector(&sim);
    let order = in_pull_order(&sim);
    let mut cursor = Cursor::default();
    let mut token: Option<String> = None;
    loop {
        let page = c.pull_page("incident", &cursor, token.as_deref()).await.unwrap();
        page.items.iter().for_each(|item| cursor.advance(item));
        match page.next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    // The last second holds three records: the cursor resumes after the last of them, not at the second.
    let last = &order[RECORDS - 1];
    assert_eq!(cursor.last_id_at_since.as_deref(), Some(text(last, "sys_id")));
    assert_eq!(cursor.seen_at_since.len(), 3);

    // Nothing changed: one request, which matches no row.
    let log = sim.log();
    log.clear();
    let page = c.pull_page("incident", &cursor, None).await.unwrap();
    assert!(page.items.is_empty() && page.next.is_none());
    let requests = log.entries();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(rows_answered(&sim, &requests[0].query).await, 0, "nothing downloaded: {}", requests[0].query);

    // An edit is the only row the next pull downloads.
    edit(&sim, &order[100], "edited after the pull").await;
    log.clear();
    let page = c.pull_page("incident", &cursor, None).await.unwrap();
    let keys: Vec<&str> = page.items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, [text(&order[100], "number")]);
    assert_eq!(rows_answered(&sim, &log.entries()[0].query).await, 1);
}

#[tokio::test]
async fn only_a_streams_first_page_asks_the_instance_to_count() {
    let sim = sim().await;
    let c = connector(&sim);
    let log = sim.log();
    let (mut cursor, mut token, mut pulled) = (Cursor::default(), None::<String>, 0);
    loop {
        let page = c.pull_page("incident", &cursor, token.as_deref()).await.unwrap();
        pulled += page.items.len();
        page.items.iter().for_each(|item| cursor.advance(item));
        match page.next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!(pulled, RECORDS);
    let no_count: Vec<bool> = log.entries().iter().map(|e| e.query.contains("sysparm_no_count=true")).collect();
    // 300 records in pages of 20: the 15th page is full, so a 16th (empty) one says the table ended.
    assert_eq!(no_count.len(), RECORDS / PAGE as usize + 1, "{no_count:?}");
    assert!(!no_count[0] && no_count[1..].iter().all(|n| *n), "{no_count:?}");
}

#[tokio::test]
async fn a_cursor_stored_before_keyset_paging_resumes_at_its_second() {
    let sim = sim().await;
    let c = connector(&sim);
    let order = in_pull_order(&sim);
    // An old cursor: the second of records 0..=2, of which it saw 0 and 1 (by key), no sys_id.
    let mut cursor = Cursor::default();
    let first = c.pull_page("incident", &cursor, None).await.unwrap();
    for item in first.items.iter().take(2) {
        cursor.advance(item);
    }
    cursor.last_id_at_since = None;
    let json = serde_json::to_string(&cursor).unwrap();
    let mut old: Cursor = serde_json::from_str(&json).unwrap();
    assert_eq!(old.last_id_at_since, None);

    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = c.pull_page("incident", &old, token.as_deref()).await.unwrap();
        for item in page.items {
            old.advance(&item);
            keys.push(item.key);
        }
        match page.next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    let expected: Vec<String> = order[2..].iter().map(|r| text(r, "number").to_string()).collect();
    assert_eq!(keys, expected, "the rest, in order, nothing twice");
    assert!(old.last_id_at_since.is_some(), "the cursor is keyset from now on");
}
