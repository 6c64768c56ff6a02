//! The Jira connector against the Jira simulator (Cloud and Data Center): pulls, incremental pulls
//! across a shared timestamp, every write, the never-duplicate rule for creates, and auth failures.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;
use twotrack_api::connector::{FieldUpdate, NewItem, NoteVisibility, OriginRef};
use twotrack_api::http::HttpSettings;
use twotrack_api::secret::Auth;
use twotrack_api::{Connector, ConnectorError, Cursor, Item, Kind};
use twotrack_jira::{Flavour, JiraConnector, JiraSettings, JiraWrite, SCOPE};
use twotrack_sim::faults::{FaultKind, FaultPhase, FaultSpec, Injection};
use twotrack_sim::generator::{GenOptions, GeneratedItem, Home, Truth, generate};
use twotrack_sim::jira::{self as sim, JiraOptions, JiraSim};

const FLAVOURS: [Flavour; 2] = [Flavour::Cloud, Flavour::DataCenter];

fn sim_flavour(flavour: Flavour) -> sim::Flavour {
    match flavour {
        Flavour::Cloud => sim::Flavour::Cloud,
        Flavour::DataCenter => sim::Flavour::DataCenter,
    }
}

async fn start(flavour: Flavour, items: Vec<GeneratedItem>, time_zone: Tz) -> JiraSim {
    JiraSim::start(JiraOptions { flavour: sim_flavour(flavour), items, time_zone, ..JiraOptions::default() })
        .await
        .unwrap()
}

fn auth(flavour: Flavour) -> Auth {
    match flavour {
        Flavour::Cloud => Auth::Basic { user: "twotrack@example.com".into(), token: "sim-token".into() },
        Flavour::DataCenter => Auth::Bearer { token: "sim-pat".into() },
    }
}

fn http(sim: &JiraSim, auth: Auth) -> HttpSettings {
    HttpSettings {
        per_second: 0.0,
        request_timeout: Duration::from_secs(5),
        max_retries: 4,
        backoff_base: Duration::from_millis(2),
        backoff_cap: Duration::from_millis(20),
        ..HttpSettings::new("jira-sim", sim.base_url().parse().unwrap(), auth)
    }
}

fn settings(sim: &JiraSim, flavour: Flavour, page_size: u32) -> JiraSettings {
    JiraSettings {
        page_size,
        write: JiraWrite { project: "SHOP".into(), resolution: "Won't Do".into(), ..JiraWrite::default() },
        ..JiraSettings::new(http(sim, auth(flavour)), flavour, vec!["SHOP".into()])
    }
}

fn connector(sim: &JiraSim, flavour: Flavour, page_size: u32) -> JiraConnector {
    JiraConnector::new(settings(sim, flavour, page_size)).unwrap()
}

/// Pull every page as the sync loop does: advance the cursor over each page before asking for the next.
async fn pull_all(connector: &JiraConnector, cursor: &mut Cursor) -> Vec<Item> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = connector.pull_page(SCOPE, cursor, token.as_deref()).await.unwrap();
        for item in &page.items {
            cursor.advance(item);
        }
        items.extend(page.items);
        match page.next {
            Some(next) => token = Some(next),
            None => return items,
        }
    }
}

fn keys(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.key.clone()).collect()
}

fn sim_keys(sim: &JiraSim) -> BTreeSet<String> {
    sim.issues().iter().map(|i| i["key"].as_str().unwrap().to_string()).collect()
}

/// Blank-line-separated paragraphs, each trimmed at its end: what survives a trip through ADF.
fn paragraphs(text: &str) -> String {
    text.replace("\r\n", "\n")
        .split("\n\n")
        .map(|p| p.trim_matches('\n').trim_end())
        .filter(|p| !p.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn label_list(issue: &Value) -> Vec<String> {
    issue["fields"]["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_full_pull_of_both_flavours_equals_the_simulator() {
    let items = generate(&GenOptions { seed: 7, items_per_tracker: 120, misfiled_share: 0.2 });
    for flavour in FLAVOURS {
        let sim = start(flavour, items.clone(), Tz::Europe__Berlin).await;
        let connector = connector(&sim, flavour, 50);
        let mut cursor = Cursor::default();
        let pulled = pull_all(&connector, &mut cursor).await;
        let pulled_keys: BTreeSet<String> = keys(&pulled).into_iter().collect();
        assert_eq!(pulled_keys.len(), pulled.len(), "{flavour:?}: no item twice");
        assert_eq!(pulled_keys, sim_keys(&sim), "{flavour:?}");
        assert!(pulled.windows(2).all(|w| w[0].updated <= w[1].updated), "{flavour:?}: ascending updated");
        let with_points = pulled.iter().filter(|i| i.fields.contains_key("story_points")).count();
        assert!(with_points > 0, "{flavour:?}: story points discovered");
        for item in &pulled {
            let issue = sim.issue(&item.key).unwrap();
            let f = &issue["fields"];
            assert_eq!(item.summary, f["summary"].as_str().unwrap());
            assert_eq!(item.filed_type, f["issuetype"]["name"].as_str().unwrap());
            assert_eq!(item.status, f["status"]["name"].as_str().unwrap());
            assert_eq!(item.open, f["status"]["statusCategory"]["key"] != "done");
            assert_eq!(item.labels, label_list(&issue));
            assert_eq!(item.id, issue["id"].as_str().unwrap());
            assert_eq!(item.tracker, "jira-sim");
            assert_eq!(item.url, format!("{}/browse/{}", sim.base_url(), item.key));
            let text = f["description"].as_str().unwrap_or("");
            match flavour {
                Flavour::DataCenter => assert_eq!(item.description, text),
                Flavour::Cloud => assert_eq!(item.description, paragraphs(text)),
            }
            let points = f[sim::STORY_POINTS_FIELD].as_f64();
            assert_eq!(item.fields.get("story_points").map(|p| p.parse::<f64>().unwrap()), points);
        }
        // The pull moved forward: nothing changed, nothing new.
        let again = pull_all(&connector, &mut cursor).await;
        assert!(again.is_empty(), "{flavour:?}: {:?}", keys(&again));
    }
}

/// `n` issues updated at exactly `at`, after `earlier` issues updated a minute apart before it.
fn shared_timestamp_backlog(earlier: usize, n: usize, at: DateTime<Utc>) -> Vec<GeneratedItem> {
    let item = |i: usize, updated: DateTime<Utc>| GeneratedItem {
        home: Home::Jira,
        filed_type: "Story".into(),
        summary: format!("Story {i}"),
        description: format!("Body {i}"),
        labels: vec!["bulk".into()],
        reporter: "Ann Lee".into(),
        created: at - chrono::Duration::days(30) + chrono::Duration::seconds(i as i64),
        updated,
        status: "To Do".into(),
        assignment_group: None,
        impact: None,
        urgency: None,
        category: None,
        contact_type: None,
        story_points: None,
        truth: Truth { class: "value".into(), kind: "feature".into(), queue: None, impact: None, urgency: None },
    };
    let mut items: Vec<GeneratedItem> =
        (0..earlier).map(|i| item(i, at - chrono::Duration::minutes((earlier - i) as i64))).collect();
    items.extend((earlier..earlier + n).map(|i| item(i, at)));
    items
}

#[tokio::test]
async fn an_incremental_pull_across_a_shared_timestamp_misses_nothing_and_repeats_nothing() {
    let at = Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 12).unwrap();
    for flavour in FLAVOURS {
        // A zone behind UTC: a bound written in UTC would be read hours too late and miss changes.
        let sim = start(flavour, shared_timestamp_backlog(30, 150, at), Tz::America__Los_Angeles).await;
        let connector = connector(&sim, flavour, 40);
        // Start from a cursor that already holds the first 10 issues, as a previous sync would.
        let mut cursor = Cursor::default();
        let first = pull_all(&connector, &mut Cursor::default()).await;
        assert_eq!(first.len(), 180, "{flavour:?}");
        for item in &first[..10] {
            cursor.advance(item);
        }
        let pulled = pull_all(&connector, &mut cursor).await;
        let unique: BTreeSet<String> = keys(&pulled).into_iter().collect();
        assert_eq!(unique.len(), pulled.len(), "{flavour:?}: repeated {:?}", pulled.len() - unique.len());
        let expected: BTreeSet<String> = keys(&first[10..]).into_iter().collect();
        assert_eq!(unique, expected, "{flavour:?}");
        assert_eq!(cursor.since, Some(at));
        assert_eq!(cursor.seen_at_since.len(), 150);

        // Nothing changed: nothing comes back.
        let log = sim.log();
        log.clear();
        assert!(pull_all(&connector, &mut cursor).await.is_empty(), "{flavour:?}");
        let searches = log.entries().iter().filter(|e| e.path.contains("/search")).count();
        assert!(searches <= 2, "{flavour:?}: {searches} searches to look at the 150 shared issues");
        let downloads = log
            .entries()
            .iter()
            .filter(|e| e.path.contains("/search"))
            .filter(|e| {
                !e.query.ends_with("fields=updated")
                    && !e.body.as_deref().unwrap_or("").contains(r#""fields":["updated"]"#)
            })
            .count();
        assert_eq!(downloads, 0, "{flavour:?}: only ids and timestamps are read, no issue is downloaded again");

        // One issue changes: exactly it comes back.
        let changed = first[42].key.clone();
        connector.add_label(&changed, "touched").await.unwrap();
        let delta = pull_all(&connector, &mut cursor).await;
        assert_eq!(keys(&delta), vec![changed.clone()], "{flavour:?}");
        assert!(delta[0].has_label("touched"));
        assert!(pull_all(&connector, &mut cursor).await.is_empty(), "{flavour:?}");
    }
}

#[tokio::test]
async fn an_issue_updated_during_a_pull_does_not_make_the_pull_skip_another() {
    let at = Utc.with_ymd_and_hms(2024, 3, 1, 9, 0, 0).unwrap();
    for flavour in FLAVOURS {
        let sim = start(flavour, shared_timestamp_backlog(120, 0, at), Tz::UTC).await;
        let connector = connector(&sim, flavour, 20);
        let mut cursor = Cursor::default();
        let first = connector.pull_page(SCOPE, &cursor, None).await.unwrap();
        for item in &first.items {
            cursor.advance(item);
        }
        // Someone edits an issue of the first page while the pull is under way: it moves to the end of the
        // result, and an offset-paged pull would skip the issue that slides into its place.
        connector.add_label(&first.items[3].key, "edited").await.unwrap();
        let mut pulled = first.items.clone();
        let mut token = first.next;
        while let Some(next) = token {
            let page = connector.pull_page(SCOPE, &cursor, Some(&next)).await.unwrap();
            for item in &page.items {
                cursor.advance(item);
            }
            pulled.extend(page.items);
            token = page.next;
        }
        pulled.extend(pull_all(&connector, &mut cursor).await);
        let pulled_keys: BTreeSet<String> = keys(&pulled).into_iter().collect();
        assert_eq!(pulled_keys, sim_keys(&sim), "{flavour:?}");
        let latest = pulled.iter().rev().find(|i| i.key == first.items[3].key).unwrap();
        assert!(latest.has_label("edited"), "{flavour:?}: the edit was pulled");
    }
}

fn new_item(origin_key: &str) -> NewItem {
    NewItem {
        kind: Kind::Defect,
        summary: "Checkout total wrong with two coupons".into(),
        description: "Steps:\n1. add two coupons\n\nExpected one discount.".into(),
        labels: vec!["checkout".into()],
        queue: None,
        impact: Some(2),
        urgency: Some(2),
        priority: None,
        origin: Some(OriginRef {
            tracker: "sn-prod".into(),
            key: origin_key.into(),
            url: format!("https://sn.example/incident.do?sysparm_query=number={origin_key}"),
            summary: "Checkout total wrong".into(),
        }),
        work_note: Some("Moved from the service queue by twotrack.".into()),
        reporter: None,
    }
}

#[tokio::test]
async fn every_write_lands_in_the_simulator() {
    for flavour in FLAVOURS {
        let sim = start(flavour, Vec::new(), Tz::UTC).await;
        let connector = connector(&sim, flavour, 50);

        let created = connector.create(&new_item("INC0010001")).await.unwrap();
        assert_eq!(created.url, format!("{}/browse/{}", sim.base_url(), created.key));
        let issue = sim.issue(&created.key).unwrap();
        assert_eq!(issue["fields"]["issuetype"]["name"], "Bug", "{flavour:?}");
        assert_eq!(issue["fields"]["description"], "Steps:\n1. add two coupons\n\nExpected one discount.");
        assert_eq!(label_list(&issue), ["checkout", "twotrack-from-INC0010001", "twotrack-moved", "twotrack-triage"]);
        let item = connector.get(&created.key).await.unwrap();
        assert_eq!(item.origin.as_deref(), Some("INC0010001"));
        assert_eq!(item.description, "Steps:\n1. add two coupons\n\nExpected one discount.");

        connector.comment(&created.key, "First line\nsecond line", NoteVisibility::Internal).await.unwrap();
        let notes = connector.notes(&created.key).await.unwrap();
        assert_eq!(notes, ["Moved from the service queue by twotrack.", "First line\nsecond line"], "{flavour:?}");

        connector.add_label(&created.key, "twotrack-keep").await.unwrap();
        connector.add_label(&created.key, "twotrack-keep").await.unwrap();
        connector.remove_label(&created.key, "checkout").await.unwrap();
        connector.remove_label(&created.key, "never-there").await.unwrap();
        let labels = label_list(&sim.issue(&created.key).unwrap());
        assert_eq!(
            labels,
            ["twotrack-from-INC0010001", "twotrack-keep", "twotrack-moved", "twotrack-triage"],
            "{flavour:?}"
        );

        let target = OriginRef {
            tracker: "sn-prod".into(),
            key: "INC0010001".into(),
            url: "https://sn.example/nav_to.do?uri=incident.do?sys_id=abc".into(),
            summary: "Checkout total wrong".into(),
        };
        connector.link(&created.key, &target).await.unwrap();
        connector.link(&created.key, &target).await.unwrap();
        let links = sim.issue(&created.key).unwrap()["remotelinks"].as_array().unwrap().clone();
        assert_eq!(links.len(), 1, "{flavour:?}: the link is upserted: {links:?}");
        assert_eq!(links[0]["globalId"], "twotrack:sn-prod:INC0010001");
        assert_eq!(links[0]["object"]["url"], target.url);
        assert_eq!(links[0]["object"]["title"], "INC0010001");

        let found = connector.find_by_origin("INC0010001").await.unwrap();
        assert_eq!(keys(&found), vec![created.key.clone()]);
        assert!(connector.find_by_origin("INC0099999").await.unwrap().is_empty());

        let log = sim.log();
        connector.close(&created.key, "Closed: moved back to the queue.").await.unwrap();
        let closed = sim.issue(&created.key).unwrap();
        assert_eq!(closed["fields"]["status"]["statusCategory"]["key"], "done", "{flavour:?}");
        assert_eq!(closed["fields"]["resolution"]["name"], "Won't Do", "{flavour:?}");
        assert_eq!(connector.notes(&created.key).await.unwrap().last().unwrap(), "Closed: moved back to the queue.");
        let transitions_posted =
            || log.entries().iter().filter(|e| e.method == "POST" && e.path.ends_with("/transitions")).count();
        // The simulated workflow has no To Do -> Done transition: Start Progress, then Done.
        assert_eq!(transitions_posted(), 2);
        connector.close(&created.key, "again").await.unwrap();
        assert_eq!(transitions_posted(), 2, "closing a closed issue is a no-op");
        assert!(!connector.get(&created.key).await.unwrap().open);

        let routed = FieldUpdate { queue: Some("Network".into()), ..FieldUpdate::default() };
        let error = connector.update_fields(&created.key, &routed).await.unwrap_err();
        assert!(matches!(error, ConnectorError::Invalid { .. }), "{error}");
        let note_only =
            FieldUpdate { note: Some("Priority stays with the product owner.".into()), ..FieldUpdate::default() };
        connector.update_fields(&created.key, &note_only).await.unwrap();
        assert_eq!(
            connector.notes(&created.key).await.unwrap().last().unwrap(),
            "Priority stays with the product owner."
        );

        let missing = connector.get("SHOP-9999").await.unwrap_err();
        assert!(matches!(missing, ConnectorError::NotFound { .. }), "{missing}");
        let work = NewItem { kind: Kind::Incident, ..new_item("INC0010002") };
        assert!(matches!(connector.create(&work).await, Err(ConnectorError::Invalid { .. })));
    }
}

#[tokio::test]
async fn notes_are_read_across_comment_pages() {
    let sim = start(Flavour::DataCenter, Vec::new(), Tz::UTC).await;
    let connector = connector(&sim, Flavour::DataCenter, 50);
    let created = connector.create(&NewItem { work_note: None, ..new_item("INC1") }).await.unwrap();
    for i in 0..105 {
        connector.comment(&created.key, &format!("note {i}"), NoteVisibility::Public).await.unwrap();
    }
    let notes = connector.notes(&created.key).await.unwrap();
    assert_eq!(notes.len(), 105);
    assert_eq!(notes[104], "note 104");
}

#[tokio::test]
async fn a_create_whose_response_is_lost_is_not_repeated() {
    for flavour in FLAVOURS {
        let sim = start(flavour, Vec::new(), Tz::UTC).await;
        let connector = connector(&sim, flavour, 50);
        let issue_path = format!("{}/issue", flavour.api());
        sim.faults().inject(Injection {
            kind: FaultKind::Reset,
            phase: FaultPhase::AfterHandling,
            method: Some("POST".into()),
            path_contains: Some(issue_path.clone()),
        });
        let error = connector.create(&NewItem { work_note: None, ..new_item("INC0010009") }).await.unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Unknown { what, .. } if what.contains("/issue")),
            "{flavour:?}: {error:?}"
        );
        let posts = sim.log().entries().iter().filter(|e| e.method == "POST" && e.path == issue_path).count();
        assert_eq!(posts, 1, "{flavour:?}: the create was sent once");
        // The caller reads the target before trying again, and finds the twin.
        let found = connector.find_by_origin("INC0010009").await.unwrap();
        assert_eq!(found.len(), 1, "{flavour:?}");
        assert_eq!(sim.issues().len(), 1);
    }
}

#[tokio::test]
async fn a_pull_under_injected_faults_equals_a_clean_pull() {
    let items = generate(&GenOptions { seed: 11, items_per_tracker: 150, misfiled_share: 0.2 });
    for flavour in FLAVOURS {
        let sim = start(flavour, items.clone(), Tz::Asia__Kolkata).await;
        let clean = {
            let connector = connector(&sim, flavour, 10);
            pull_all(&connector, &mut Cursor::default()).await
        };
        let faults = sim.faults();
        faults.set(FaultSpec {
            seed: 1,
            rate: 0.2,
            kinds: FaultKind::ALL.to_vec(),
            hang: Duration::from_millis(300),
            retry_after: 0,
            ..FaultSpec::default()
        });
        // Besides the random 20%, every kind strikes a search once, each phase where it makes sense.
        for (kind, phase) in [
            (FaultKind::Reset, FaultPhase::AfterHandling),
            (FaultKind::MalformedJson, FaultPhase::AfterHandling),
            (FaultKind::HtmlPage, FaultPhase::BeforeHandling),
            (FaultKind::Hang, FaultPhase::BeforeHandling),
            (FaultKind::ServerError, FaultPhase::BeforeHandling),
            (FaultKind::RateLimited, FaultPhase::BeforeHandling),
        ] {
            faults.inject(Injection { kind, phase, method: None, path_contains: Some("/search".into()) });
        }
        let mut settings = settings(&sim, flavour, 10);
        settings.http.max_retries = 10;
        settings.http.request_timeout = Duration::from_millis(1500);
        let connector = JiraConnector::new(settings).unwrap();
        let faulty = pull_all(&connector, &mut Cursor::default()).await;
        let by_key = |items: &[Item]| items.iter().map(|i| (i.key.clone(), i.clone())).collect::<BTreeMap<_, _>>();
        assert_eq!(by_key(&faulty), by_key(&clean), "{flavour:?}");
        let seen: BTreeSet<String> = sim
            .log()
            .entries()
            .iter()
            .filter_map(|e| e.fault.as_deref().and_then(|f| f.split(' ').next()).map(str::to_string))
            .collect();
        for kind in FaultKind::ALL {
            assert!(seen.contains(kind.name()), "{flavour:?}: {kind:?} was not injected: {seen:?}");
        }
        assert!(connector.http().stats().retries > 0);
    }
}

#[tokio::test]
async fn the_client_side_rate_limit_holds_at_the_simulator() {
    let items = generate(&GenOptions { seed: 5, items_per_tracker: 60, misfiled_share: 0.1 });
    let sim = start(Flavour::Cloud, items, Tz::UTC).await;
    let mut settings = settings(&sim, Flavour::Cloud, 5);
    settings.http.per_second = 20.0;
    settings.http.burst = 2;
    let connector = JiraConnector::new(settings).unwrap();
    pull_all(&connector, &mut Cursor::default()).await;
    let log = sim.log();
    assert!(log.len() >= 12, "{} requests", log.len());
    // 20/s with a burst of 2: at most 2 + 10 (+1 for arrival jitter) in any half second.
    let most = log.max_requests_in_window(Duration::from_millis(500));
    assert!(most <= 13, "{most} requests in 500 ms");
}

#[tokio::test]
async fn health_reports_server_and_account_and_catches_a_wrong_flavour() {
    for flavour in FLAVOURS {
        let sim = start(flavour, Vec::new(), Tz::UTC).await;
        let health = connector(&sim, flavour, 50).health().await.unwrap();
        let product = if flavour == Flavour::Cloud { "Jira Cloud " } else { "Jira Data Center " };
        assert!(health.server.starts_with(product), "{health:?}");
        assert!(!health.account.is_empty());
        let other = if flavour == Flavour::Cloud { Flavour::DataCenter } else { Flavour::Cloud };
        let mut wrong = settings(&sim, other, 50);
        wrong.http.auth = auth(flavour);
        let error = JiraConnector::new(wrong).unwrap().health().await.unwrap_err();
        assert!(error.to_string().contains("flavour"), "{error}");
    }
}

#[tokio::test]
async fn a_401_names_the_tracker_and_hides_the_token() {
    let sim = start(Flavour::Cloud, Vec::new(), Tz::UTC).await;
    let bad = Auth::Basic { user: "twotrack@example.com".into(), token: "wrong-token-1234".into() };
    let settings = JiraSettings::new(http(&sim, bad), Flavour::Cloud, vec!["SHOP".into()]);
    let error = JiraConnector::new(settings).unwrap().health().await.unwrap_err();
    assert!(matches!(error, ConnectorError::Auth { status: 401, .. }), "{error:?}");
    let text = format!("{error} / {error:?}");
    assert!(text.starts_with("jira-sim: authentication failed"), "{text}");
    assert!(text.contains("Client must be authenticated"), "{text}");
    assert!(!text.contains("wrong-token-1234"), "{text}");
    assert_eq!(sim.log().len(), 1, "auth failures are not retried");
}

#[tokio::test]
async fn settings_are_validated() {
    let sim = start(Flavour::Cloud, Vec::new(), Tz::UTC).await;
    let unbounded = JiraSettings::new(http(&sim, auth(Flavour::Cloud)), Flavour::Cloud, Vec::new());
    assert!(matches!(JiraConnector::new(unbounded), Err(ConnectorError::Invalid { .. })));
    let ordered = JiraSettings {
        scope: twotrack_jira::JiraScope { projects: Vec::new(), jql: Some("project = SHOP ORDER BY key".into()) },
        ..settings(&sim, Flavour::Cloud, 10)
    };
    assert!(matches!(JiraConnector::new(ordered), Err(ConnectorError::Invalid { .. })));
    let connector = connector(&sim, Flavour::Cloud, 10);
    assert_eq!(connector.scopes(), vec![SCOPE.to_string()]);
    assert!(matches!(
        connector.pull_page("other", &Cursor::default(), None).await,
        Err(ConnectorError::Invalid { .. })
    ));
    assert!(matches!(connector.get("../../serverInfo").await, Err(ConnectorError::Invalid { .. })));
}

/// Search lags behind writes (Jira Cloud): a twin created a moment ago is not found by its origin label,
/// but among the keys numbered after the mark taken before its create, read by key.
#[tokio::test]
async fn a_twin_search_does_not_show_yet_is_found_after_the_creation_mark() {
    for flavour in FLAVOURS {
        let items: Vec<GeneratedItem> = generate(&GenOptions { seed: 3, items_per_tracker: 4, misfiled_share: 0.0 })
            .into_iter()
            .filter(|i| i.home == Home::Jira)
            .collect();
        let loaded = items.len() as u64;
        let sim = JiraSim::start(JiraOptions {
            flavour: sim_flavour(flavour),
            items,
            search_lag: Duration::from_secs(3600),
            ..JiraOptions::default()
        })
        .await
        .unwrap();
        let connector = connector(&sim, flavour, 50);
        let mark = connector.creation_mark().await.unwrap().unwrap();
        assert_eq!(mark, format!("SHOP-{loaded}"), "{flavour:?}");
        let other = connector.create(&NewItem { work_note: None, ..new_item("INC0010001") }).await.unwrap();
        let twin = connector.create(&NewItem { work_note: None, ..new_item("INC0010002") }).await.unwrap();

        assert!(connector.find_by_origin("INC0010002").await.unwrap().is_empty(), "{flavour:?}: search lags");
        let found = connector.find_created_after("INC0010002", &mark).await.unwrap();
        assert_eq!(keys(&found), [twin.key.as_str()], "{flavour:?}");
        assert_eq!(keys(&connector.find_created_after("INC0010001", &mark).await.unwrap()), [other.key.as_str()]);
        assert!(connector.find_created_after("INC0099999", &mark).await.unwrap().is_empty());
        let gets = sim.log().entries().iter().filter(|e| e.method == "GET" && e.path.contains("/issue/SHOP-")).count();
        // Per look-up: the two new keys, then three missing ones.
        assert_eq!(gets, 3 * 5, "{flavour:?}: reads by key, only after the mark");
        let error = connector.find_created_after("INC0010002", "no mark").await.unwrap_err();
        assert!(error.to_string().contains("unreadable creation mark"), "{error}");
    }
}

/// A partition resumed from a stored page token that Jira Cloud no longer accepts (tokens expire after 7
/// days) reads its window again from the start instead of failing the scope.
#[tokio::test]
async fn an_expired_page_token_restarts_its_partition() {
    let items = generate(&GenOptions { seed: 9, items_per_tracker: 40, misfiled_share: 0.0 });
    let sim = start(Flavour::Cloud, items, Tz::UTC).await;
    let connector = connector(&sim, Flavour::Cloud, 5);
    let plan = connector.partition(SCOPE, 1).await.unwrap();
    let first = connector.pull_page(SCOPE, &Cursor::default(), Some(&plan.tokens[0])).await.unwrap();
    let stored = first.next.expect("more than one page");
    let second = connector.pull_page(SCOPE, &Cursor::default(), Some(&stored)).await.unwrap();

    sim.expire_page_tokens();
    let resumed = connector.pull_page(SCOPE, &Cursor::default(), Some(&stored)).await.unwrap();
    assert_eq!(keys(&resumed.items), keys(&first.items), "the window is read again from its start");
    assert_ne!(keys(&resumed.items), keys(&second.items));
    let mut all = resumed.items;
    // The rest of that window, then the other windows.
    let starts = std::iter::once(resumed.next).chain(plan.tokens[1..].iter().cloned().map(Some));
    for mut next in starts {
        while let Some(token) = next {
            let page = connector.pull_page(SCOPE, &Cursor::default(), Some(&token)).await.unwrap();
            all.extend(page.items);
            next = page.next;
        }
    }
    let expected = sim.issues().len();
    assert_eq!(all.len(), expected, "every window once, the restarted one from its start");
    let rejected = sim.log().entries().iter().filter(|e| e.status == 400).count();
    assert_eq!(rejected, 1, "one rejected token, then the window from its start");
}
