//! The ServiceNow connector against the ServiceNow simulator: pulls, cursors, paging, every write,
//! unknown outcomes and authentication failures.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use twotrack_api::connector::{FieldUpdate, NewItem, NoteVisibility, OriginRef};
use twotrack_api::http::HttpSettings;
use twotrack_api::secret::Auth;
use twotrack_api::{Connector, ConnectorError, Cursor, Item, Kind};
use twotrack_servicenow::{ServiceNowConnector, ServiceNowSettings};
use twotrack_sim::faults::{FaultKind, FaultPhase, FaultSpec, Injection};
use twotrack_sim::generator::{GenOptions, GeneratedItem, Home, generate};
use twotrack_sim::servicenow::{ServiceNowOptions, ServiceNowSim};

const TRACKER: &str = "snow-test";
const TOKEN: &str = "sim-token";

fn settings(sim: &ServiceNowSim, token: &str) -> ServiceNowSettings {
    let auth = Auth::Basic { user: "twotrack@example.com".into(), token: token.into() };
    let mut http = HttpSettings::new(TRACKER, sim.base_url().parse().unwrap(), auth);
    http.per_second = 0.0;
    http.request_timeout = Duration::from_secs(5);
    http.backoff_base = Duration::from_millis(5);
    http.backoff_cap = Duration::from_millis(50);
    ServiceNowSettings::new(http)
}

fn connector(sim: &ServiceNowSim) -> ServiceNowConnector {
    ServiceNowConnector::new(settings(sim, TOKEN)).unwrap()
}

async fn start(items: Vec<GeneratedItem>) -> ServiceNowSim {
    ServiceNowSim::start(ServiceNowOptions { items, ..ServiceNowOptions::default() }).await.unwrap()
}

/// A generated backlog's ServiceNow items.
fn backlog(items_per_tracker: usize) -> Vec<GeneratedItem> {
    generate(&GenOptions { seed: 7, items_per_tracker, misfiled_share: 0.2 })
        .into_iter()
        .filter(|i| i.home == Home::ServiceNow)
        .collect()
}

/// Pull `scope` from `cursor` to the end, advancing the cursor page by page (as a sync does); returns the
/// items and the number of pages.
async fn pull(c: &ServiceNowConnector, scope: &str, cursor: &mut Cursor) -> (Vec<Item>, usize) {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = c.pull_page(scope, cursor, token.as_deref()).await.unwrap();
        pages += 1;
        for item in &page.items {
            cursor.advance(item);
        }
        items.extend(page.items);
        match page.next {
            Some(next) => token = Some(next),
            None => return (items, pages),
        }
    }
}

fn text<'a>(record: &'a Value, field: &str) -> &'a str {
    record[field].as_str().unwrap_or_default()
}

fn find<'a>(sim: &'a [Value], number: &str) -> &'a Value {
    sim.iter().find(|r| text(r, "number") == number).unwrap()
}

fn group_names(sim: &ServiceNowSim) -> BTreeMap<String, String> {
    sim.snapshot("sys_user_group")
        .iter()
        .map(|g| (text(g, "sys_id").to_string(), text(g, "name").to_string()))
        .collect()
}

fn journal(record: &Value, field: &str) -> Vec<String> {
    record[field].as_array().unwrap().iter().map(|e| text(e, "value").to_string()).collect()
}

#[tokio::test]
async fn a_full_pull_equals_the_simulators_records() {
    let sim = start(backlog(300)).await;
    let c = connector(&sim);
    assert_eq!(c.scopes(), ["incident", "sc_req_item"]);
    let groups = group_names(&sim);
    for table in c.scopes() {
        let (items, _) = pull(&c, &table, &mut Cursor::default()).await;
        let records = sim.snapshot(&table);
        assert!(!records.is_empty(), "the backlog has {table} records");
        let pulled: BTreeSet<&str> = items.iter().map(|i| i.key.as_str()).collect();
        let stored: BTreeSet<&str> = records.iter().map(|r| text(r, "number")).collect();
        assert_eq!(pulled, stored, "{table}");
        assert_eq!(items.len(), records.len(), "{table}: nothing pulled twice");
        assert!(items.windows(2).all(|w| w[0].updated <= w[1].updated), "{table}: ascending updated");
        for item in &items {
            let r = find(&records, &item.key);
            assert_eq!(item.id, text(r, "sys_id"));
            assert_eq!(item.filed_type, table);
            assert_eq!(item.summary, text(r, "short_description"));
            assert_eq!(item.description, text(r, "description"));
            assert_eq!(item.updated.format("%Y-%m-%d %H:%M:%S").to_string(), text(r, "sys_updated_on"));
            assert_eq!(item.created.format("%Y-%m-%d %H:%M:%S").to_string(), text(r, "sys_created_on"));
            assert_eq!(item.open, text(r, "active") == "true" && !(table == "incident" && text(r, "state") == "6"));
            assert_eq!(item.impact.map(|v| v.to_string()).unwrap_or_default(), text(r, "impact"));
            assert_eq!(item.urgency.map(|v| v.to_string()).unwrap_or_default(), text(r, "urgency"));
            assert_eq!(item.queue.as_deref(), groups.get(text(r, "assignment_group")).map(String::as_str));
            assert!(item.priority.as_deref().unwrap().starts_with(text(r, "priority")), "{:?}", item.priority);
            if table == "incident" {
                assert!(item.status.parse::<i32>().is_err(), "a label, not {}", item.status);
                assert!(item.fields.contains_key("caller"), "{}", item.key);
            }
            assert!(item.reporter.is_some(), "{}", item.key);
            assert!(item.url.ends_with(&format!("/nav_to.do?uri={table}.do?sys_id={}", item.id)), "{}", item.url);
            assert_eq!(item.origin, None);
        }
    }
}

/// 60 records before `at`, 150 at exactly `at`, 40 after: with 100-record pages, the shared second
/// spans two page boundaries.
fn crowded_second(at: DateTime<Utc>) -> Vec<GeneratedItem> {
    let mut items = backlog(400);
    items.truncate(250);
    for (n, item) in items.iter_mut().enumerate() {
        item.filed_type = "incident".into();
        item.status = "2".into();
        let offset = n as i64 - 60;
        item.updated = match n {
            0..60 => at - TimeDelta::minutes(61 - n as i64),
            60..210 => at,
            _ => at + TimeDelta::seconds(offset - 149),
        };
        item.created = item.created.min(item.updated);
    }
    items
}

#[tokio::test]
async fn records_sharing_a_second_across_page_boundaries_are_neither_missed_nor_repeated() {
    let at: DateTime<Utc> = "2025-03-01T12:00:00Z".parse().unwrap();
    let sim = start(crowded_second(at)).await;
    let mut s = settings(&sim, TOKEN);
    s.scope.tables = vec!["incident".into()];
    s.page_size = 100;
    let c = ServiceNowConnector::new(s).unwrap();
    let all: BTreeSet<String> = sim.snapshot("incident").iter().map(|r| text(r, "number").to_string()).collect();
    assert_eq!(all.len(), 250);

    // A full pull: three pages, every record once.
    let (items, pages) = pull(&c, "incident", &mut Cursor::default()).await;
    assert_eq!(pages, 3);
    let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys.iter().copied().collect::<BTreeSet<_>>().len(), 250, "no duplicates");
    assert_eq!(keys.len(), 250);

    // A sync that stopped after the first page (60 before the second, 40 of the 150 at it) resumes
    // from its cursor: the other 110 at the shared second and the 40 after it, nothing twice.
    let mut cursor = Cursor::default();
    let first = c.pull_page("incident", &cursor, None).await.unwrap();
    assert_eq!(first.items.len(), 100);
    first.items.iter().for_each(|i| cursor.advance(i));
    assert_eq!((cursor.since, cursor.seen_at_since.len()), (Some(at), 40));
    let (rest, _) = pull(&c, "incident", &mut cursor).await;
    let first_keys: BTreeSet<String> = first.items.iter().map(|i| i.key.clone()).collect();
    let rest_keys: BTreeSet<String> = rest.iter().map(|i| i.key.clone()).collect();
    assert_eq!(rest.len(), 150);
    assert!(first_keys.is_disjoint(&rest_keys));
    assert_eq!(first_keys.union(&rest_keys).cloned().collect::<BTreeSet<_>>(), all);

    // Nothing changed since: one request, nothing new.
    let log = sim.log();
    log.clear();
    let (again, pages) = pull(&c, "incident", &mut cursor).await;
    assert_eq!((again.len(), pages, log.len()), (0, 1, 1));
}

#[tokio::test]
async fn a_second_pull_with_nothing_changed_makes_one_request_per_table() {
    let sim = start(backlog(200)).await;
    let c = connector(&sim);
    let mut cursors: Vec<Cursor> = Vec::new();
    for scope in c.scopes() {
        let mut cursor = Cursor::default();
        pull(&c, &scope, &mut cursor).await;
        cursors.push(cursor);
    }
    let log = sim.log();
    log.clear();
    for (scope, cursor) in c.scopes().iter().zip(&mut cursors) {
        let (items, _) = pull(&c, scope, cursor).await;
        assert!(items.is_empty(), "{scope}: {} items", items.len());
    }
    let requests = log.entries();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(c.http_stats().retries, 0);
    // Each resumes strictly after the last record ingested (keyset), not at its second inclusive.
    assert!(requests.iter().all(|r| r.method == "GET" && r.query.contains("%5ENQ") && r.query.contains("sys_id%3E")));
}

#[tokio::test]
async fn a_pull_under_twenty_percent_faults_equals_a_clean_pull() {
    let sim = start(backlog(300)).await;
    let mut s = settings(&sim, TOKEN);
    s.page_size = 10;
    s.http.request_timeout = Duration::from_millis(500);
    s.http.max_retries = 10;
    let c = ServiceNowConnector::new(s).unwrap();
    let mut clean = Vec::new();
    for scope in c.scopes() {
        clean.extend(pull(&c, &scope, &mut Cursor::default()).await.0);
    }
    sim.faults().set(FaultSpec {
        seed: 3,
        rate: 0.2,
        kinds: FaultKind::ALL.to_vec(),
        hang: Duration::from_secs(2),
        retry_after: 0,
        ..FaultSpec::default()
    });
    let mut faulty = Vec::new();
    for scope in c.scopes() {
        faulty.extend(pull(&c, &scope, &mut Cursor::default()).await.0);
    }
    let faults = sim.log().entries().iter().filter(|e| e.fault.is_some()).count();
    assert!(faults >= 3, "only {faults} faults were injected");
    assert_eq!(faulty, clean);
}

fn origin(key: &str) -> OriginRef {
    OriginRef {
        tracker: "jira".into(),
        key: key.into(),
        url: format!("https://jira.example/browse/{key}"),
        summary: format!("Original {key}"),
    }
}

fn new_incident(origin_key: &str) -> NewItem {
    NewItem {
        kind: Kind::Incident,
        summary: "Database failover did not trigger".into(),
        description: "Moved from the product backlog.".into(),
        labels: vec!["ignored".into()],
        queue: Some("Network Operations".into()),
        impact: Some(2),
        urgency: Some(1),
        priority: None,
        origin: Some(origin(origin_key)),
        work_note: Some("Priority 2 - High from impact 2 x urgency 1.".into()),
        reporter: None,
    }
}

/// The number of writes the simulator has seen.
fn writes(sim: &ServiceNowSim) -> usize {
    sim.log().writes().len()
}

#[tokio::test]
async fn creates_twins_in_the_write_tables_and_finds_them_by_origin() {
    let sim = start(backlog(50)).await;
    let c = connector(&sim);
    let created = c.create(&new_incident("SHOP-7")).await.unwrap();
    assert!(created.key.starts_with("INC"), "{created:?}");
    assert!(created.url.ends_with(&format!("/nav_to.do?uri=incident.do?sys_id={}", created.id)));
    let incidents = sim.snapshot("incident");
    let r = find(&incidents, &created.key);
    assert_eq!(text(r, "sys_id"), created.id);
    assert_eq!((text(r, "correlation_id"), text(r, "correlation_display")), ("SHOP-7", "twotrack"));
    assert_eq!(group_names(&sim)[text(r, "assignment_group")], "Network Operations");
    assert_eq!((text(r, "impact"), text(r, "urgency"), text(r, "priority")), ("2", "1", "2"));
    assert_eq!(journal(r, "work_notes"), ["Priority 2 - High from impact 2 x urgency 1."]);

    let twin = c.get(&created.key).await.unwrap();
    assert_eq!(twin.origin.as_deref(), Some("SHOP-7"));
    assert_eq!(twin.queue.as_deref(), Some("Network Operations"));
    assert_eq!(twin.status, "New");
    let found = c.find_by_origin("SHOP-7").await.unwrap();
    assert_eq!(found.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(), [created.key.as_str()]);
    assert!(c.find_by_origin("SHOP-8").await.unwrap().is_empty());

    let request = NewItem { kind: Kind::Request, queue: None, origin: Some(origin("SHOP-9")), ..new_incident("x") };
    let created = c.create(&request).await.unwrap();
    assert!(created.key.starts_with("RITM"), "{created:?}");
    assert_eq!(c.find_by_origin("SHOP-9").await.unwrap()[0].filed_type, "sc_req_item");

    let before = writes(&sim);
    let feature = NewItem { kind: Kind::Feature, ..new_incident("SHOP-10") };
    assert!(matches!(c.create(&feature).await, Err(ConnectorError::Invalid { .. })));
    let unknown_group = NewItem { queue: Some("No Such Team".into()), ..new_incident("SHOP-11") };
    let err = c.create(&unknown_group).await.unwrap_err();
    assert!(err.to_string().contains("No Such Team"), "{err}");
    assert_eq!(writes(&sim), before, "nothing written for rejected creates");
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_unknown_and_found_by_origin_without_a_duplicate() {
    let sim = start(Vec::new()).await;
    let c = connector(&sim);
    let mut injection = Injection::next_with_method(FaultKind::Reset, FaultPhase::AfterHandling, "POST");
    injection.path_contains = Some("/api/now/table/incident".into());
    sim.faults().inject(injection);
    let err = c.create(&new_incident("SHOP-21")).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unknown { .. }), "{err}");
    assert_eq!(sim.log().count("POST", "/api/now/table/incident"), 1, "the POST was not re-sent");
    let found = c.find_by_origin("SHOP-21").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(sim.snapshot("incident").len(), 1, "no duplicate");
    assert_eq!(found[0].origin.as_deref(), Some("SHOP-21"));
}

#[tokio::test]
async fn comments_and_work_notes_are_appended_and_read_back_in_order() {
    let sim = start(Vec::new()).await;
    let c = connector(&sim);
    let created = c.create(&new_incident("SHOP-1")).await.unwrap();
    c.comment(&created.key, "We are on it.", NoteVisibility::Public).await.unwrap();
    c.comment(&created.key, "Checked the replica lag.", NoteVisibility::Internal).await.unwrap();
    let r = find(&sim.snapshot("incident"), &created.key).clone();
    assert_eq!(journal(&r, "comments"), ["We are on it."]);
    assert_eq!(journal(&r, "work_notes"), ["Priority 2 - High from impact 2 x urgency 1.", "Checked the replica lag."]);
    let notes = c.notes(&created.key).await.unwrap();
    assert_eq!(notes, ["Priority 2 - High from impact 2 x urgency 1.", "We are on it.", "Checked the replica lag."]);

    // A note whose answer is lost is not re-sent: the caller reads the notes first.
    sim.faults().inject(Injection::next_with_method(FaultKind::Reset, FaultPhase::AfterHandling, "PATCH"));
    let err = c.comment(&created.key, "Once only.", NoteVisibility::Internal).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unknown { .. }), "{err}");
    assert_eq!(c.notes(&created.key).await.unwrap().iter().filter(|n| *n == "Once only.").count(), 1);
    assert!(matches!(c.notes("INC9999999").await, Err(ConnectorError::NotFound { .. })));
}

#[tokio::test]
async fn markers_round_trip_through_a_pull_and_are_idempotent() {
    let sim = start(backlog(50)).await;
    let c = connector(&sim);
    let key = text(&sim.snapshot("incident")[0], "number").to_string();
    c.add_label(&key, "twotrack-keep").await.unwrap();
    let writes_after_add = writes(&sim);
    c.add_label(&key, "twotrack-keep").await.unwrap();
    assert_eq!(writes(&sim), writes_after_add, "adding an existing marker writes nothing");
    let (items, _) = pull(&c, "incident", &mut Cursor::default()).await;
    let item = items.iter().find(|i| i.key == key).unwrap();
    assert!(item.has_label("twotrack-keep"), "{:?}", item.labels);
    assert!(item.description.ends_with("#twotrack-keep"));

    c.remove_label(&key, "twotrack-keep").await.unwrap();
    let item = c.get(&key).await.unwrap();
    assert!(!item.has_label("twotrack-keep"));
    assert!(!item.description.contains("#twotrack-keep"));
    let writes_after_remove = writes(&sim);
    c.remove_label(&key, "twotrack-keep").await.unwrap();
    assert_eq!(writes(&sim), writes_after_remove);
    assert!(matches!(c.add_label(&key, "two words").await, Err(ConnectorError::Invalid { .. })));
}

#[tokio::test]
async fn close_resolves_open_records_once() {
    let sim = start(Vec::new()).await;
    let c = connector(&sim);
    let created = c.create(&new_incident("SHOP-3")).await.unwrap();
    c.close(&created.key, "Moved to SHOP-3.").await.unwrap();
    let r = find(&sim.snapshot("incident"), &created.key).clone();
    assert_eq!((text(&r, "state"), text(&r, "active")), ("7", "false"));
    assert_eq!((text(&r, "close_code"), text(&r, "close_notes")), ("Closed/Resolved by Caller", "Moved to SHOP-3."));
    let item = c.get(&created.key).await.unwrap();
    assert_eq!((item.status.as_str(), item.open), ("Closed", false));
    let before = writes(&sim);
    c.close(&created.key, "again").await.unwrap();
    assert_eq!(writes(&sim), before, "closing a closed record is a no-op");
}

#[tokio::test]
async fn links_set_correlation_and_a_work_note_once() {
    let sim = start(backlog(50)).await;
    let c = connector(&sim);
    let original = text(&sim.snapshot("incident")[0], "number").to_string();
    let target = origin("SHOP-40");
    c.link(&original, &target).await.unwrap();
    let r = find(&sim.snapshot("incident"), &original).clone();
    assert_eq!((text(&r, "correlation_id"), text(&r, "correlation_display")), ("SHOP-40", "twotrack-link"));
    let notes = journal(&r, "work_notes");
    assert_eq!(notes.len(), 1);
    assert!(notes[0].contains("SHOP-40") && notes[0].contains(&target.url), "{notes:?}");
    let before = writes(&sim);
    c.link(&original, &target).await.unwrap();
    assert_eq!(writes(&sim), before, "an existing link is not written again");
    let item = c.get(&original).await.unwrap();
    assert_eq!(item.origin, None, "a linked original is no twin");
    assert!(c.find_by_origin("SHOP-40").await.unwrap().is_empty());

    // A twin keeps its origin in the correlation fields; the link is the note.
    let twin = c.create(&NewItem { work_note: None, ..new_incident("SHOP-41") }).await.unwrap();
    c.link(&twin.key, &origin("SHOP-41")).await.unwrap();
    c.link(&twin.key, &origin("SHOP-41")).await.unwrap();
    let r = find(&sim.snapshot("incident"), &twin.key).clone();
    assert_eq!((text(&r, "correlation_id"), text(&r, "correlation_display")), ("SHOP-41", "twotrack"));
    assert_eq!(journal(&r, "work_notes").len(), 1);
}

#[tokio::test]
async fn field_updates_change_only_what_differs() {
    let sim = start(Vec::new()).await;
    let c = connector(&sim);
    let created = c.create(&new_incident("SHOP-5")).await.unwrap();
    let update = FieldUpdate {
        queue: Some("Database Administration".into()),
        impact: Some(1),
        urgency: Some(1),
        priority: None,
        note: Some("Rerouted: the failover is a database matter.".into()),
    };
    c.update_fields(&created.key, &update).await.unwrap();
    let item = c.get(&created.key).await.unwrap();
    assert_eq!((item.queue.as_deref(), item.impact, item.urgency), (Some("Database Administration"), Some(1), Some(1)));
    assert_eq!(item.priority.as_deref(), Some("1 - Critical"));
    let before = writes(&sim);
    c.update_fields(&created.key, &update).await.unwrap();
    assert_eq!(writes(&sim), before, "a repeated update writes nothing");
    let r = find(&sim.snapshot("incident"), &created.key).clone();
    assert_eq!(journal(&r, "work_notes").iter().filter(|n| n.starts_with("Rerouted")).count(), 1);
    let bad = FieldUpdate { impact: Some(4), ..FieldUpdate::default() };
    assert!(matches!(c.update_fields(&created.key, &bad).await, Err(ConnectorError::Invalid { .. })));
}

#[tokio::test]
async fn health_reads_each_table_and_names_the_account() {
    let sim = start(Vec::new()).await;
    let health = connector(&sim).health().await.unwrap();
    assert_eq!(health.server, "ServiceNow (incident, sc_req_item readable)");
    assert_eq!(health.account, "twotrack@example.com");
    let requests = sim.log().entries();
    assert!(requests.iter().any(|r| r.path == "/api/now/table/incident" && r.query.contains("sysparm_limit=1")));

    let denied = ServiceNowSim::start(ServiceNowOptions {
        acl_denied_tables: vec!["sc_req_item".into()],
        ..ServiceNowOptions::default()
    })
    .await
    .unwrap();
    let err = connector(&denied).health().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Auth { status: 403, .. }), "{err}");
}

#[tokio::test]
async fn a_401_names_the_tracker_and_hides_the_token() {
    let sim = start(Vec::new()).await;
    let secret = "wrong-secret-4711";
    let c = ServiceNowConnector::new(settings(&sim, secret)).unwrap();
    let err = c.pull_page("incident", &Cursor::default(), None).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Auth { status: 401, .. }), "{err:?}");
    let shown = format!("{err} {err:?} {c:?}");
    assert!(shown.contains(TRACKER), "{shown}");
    assert!(shown.contains("User Not Authenticated"), "{shown}");
    assert!(!shown.contains(secret), "{shown}");
    assert!(matches!(c.health().await, Err(ConnectorError::Auth { .. })));
}

#[tokio::test]
async fn unknown_scopes_and_foreign_page_tokens_are_refused() {
    let sim = start(Vec::new()).await;
    let c = connector(&sim);
    assert!(matches!(c.pull_page("rm_story", &Cursor::default(), None).await, Err(ConnectorError::Invalid { .. })));
    let foreign = "http://198.51.100.7/api/now/table/incident?sysparm_offset=100";
    assert!(matches!(
        c.pull_page("incident", &Cursor::default(), Some(foreign)).await,
        Err(ConnectorError::Invalid { .. })
    ));
    let other_table = format!("{}/api/now/table/sys_user?sysparm_offset=1", sim.base_url());
    let err = c.pull_page("incident", &Cursor::default(), Some(&other_table)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Invalid { .. }), "{err}");
    assert!(sim.log().is_empty(), "nothing was sent");
}
