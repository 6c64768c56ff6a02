//! The mixed-backlog generator: determinism, shares, truth consistency, variety, JSON Lines and speed.

use std::collections::HashSet;
use std::io::Cursor;
use std::time::{Duration, Instant};

use twotrack_sim::generator::{
    ASSIGNMENT_GROUPS, GenError, GenOptions, GeneratedItem, Home, epoch, generate, load_jsonl, write_jsonl,
};

fn options(seed: u64, items_per_tracker: usize) -> GenOptions {
    GenOptions { seed, items_per_tracker, ..GenOptions::default() }
}

fn to_jsonl(items: &[GeneratedItem]) -> Vec<u8> {
    let mut out = Vec::new();
    write_jsonl(&mut out, items).unwrap();
    out
}

fn is_value(item: &GeneratedItem) -> bool {
    item.truth.class == "value"
}

fn is_misfiled(item: &GeneratedItem) -> bool {
    match item.home {
        Home::Jira => !is_value(item),
        Home::ServiceNow => is_value(item),
    }
}

fn text(item: &GeneratedItem) -> String {
    format!("{}\n{}", item.summary, item.description).to_lowercase()
}

fn group_of(queue: &str) -> &'static str {
    ASSIGNMENT_GROUPS.iter().find(|(q, _)| *q == queue).map(|(_, g)| *g).unwrap()
}

#[test]
fn defaults_are_seed_42_200_items_and_15_percent() {
    let defaults = GenOptions::default();
    assert_eq!((defaults.seed, defaults.items_per_tracker, defaults.misfiled_share), (42, 200, 0.15));
}

#[test]
fn same_options_give_the_same_bytes_and_another_seed_does_not() {
    let first = to_jsonl(&generate(&options(7, 300)));
    let second = to_jsonl(&generate(&options(7, 300)));
    assert_eq!(first, second);
    let other = to_jsonl(&generate(&options(8, 300)));
    assert_ne!(first, other);
}

#[test]
fn timestamps_come_from_the_seed_not_the_clock() {
    for seed in [0, 1, 42, 364, 365, u64::MAX] {
        let now = epoch(seed);
        assert_eq!(now, epoch(seed), "epoch is a function of the seed");
        let items = generate(&options(seed, 200));
        for item in &items {
            assert!(item.created < now, "created {} not before epoch {now}", item.created);
            assert!(item.created >= now - chrono::TimeDelta::days(90), "created {} too old", item.created);
            assert!(item.updated >= item.created && item.updated <= now, "updated {} out of range", item.updated);
        }
        assert!(items.windows(2).all(|w| w[0].created <= w[1].created), "items are ordered by creation time");
    }
    assert_ne!(epoch(1), epoch(2));
}

#[test]
fn each_tracker_gets_its_items_and_the_exact_misfiled_share() {
    for (per_tracker, share, expected) in [
        (1000, 0.15, 150),
        (200, 0.15, 30),
        (7, 0.15, 1),
        (10, 0.0, 0),
        (10, 1.0, 10),
        (10, 7.5, 10),
        (10, f64::NAN, 0),
    ] {
        let items = generate(&GenOptions { seed: 3, items_per_tracker: per_tracker, misfiled_share: share });
        for home in [Home::Jira, Home::ServiceNow] {
            let filed: Vec<_> = items.iter().filter(|i| i.home == home).collect();
            assert_eq!(filed.len(), per_tracker, "{home:?} holds items_per_tracker items");
            let misfiled = filed.iter().filter(|i| is_misfiled(i)).count();
            assert_eq!(misfiled, expected, "{home:?}: {per_tracker} items at share {share}");
        }
    }
}

#[test]
fn truth_is_consistent_with_kind_class_queue_and_levels() {
    let queues: HashSet<&str> = ASSIGNMENT_GROUPS.iter().map(|(q, _)| *q).collect();
    for item in generate(&options(11, 2000)) {
        let truth = &item.truth;
        match truth.kind.as_str() {
            "feature" | "defect" => {
                assert_eq!(truth.class, "value");
                assert_eq!((truth.queue.as_deref(), truth.impact, truth.urgency), (None, None, None), "{item:?}");
            }
            "incident" | "request" => {
                assert_eq!(truth.class, "work");
                assert!(queues.contains(truth.queue.as_deref().unwrap()), "{item:?}");
                assert!(matches!(truth.impact, Some(1..=3)) && matches!(truth.urgency, Some(1..=3)), "{item:?}");
            }
            other => panic!("unknown kind {other}"),
        }
    }
}

#[test]
fn filing_fields_match_the_tracker() {
    for item in generate(&options(5, 2000)) {
        match item.home {
            Home::Jira => {
                assert!(["Story", "Bug", "Improvement", "Task"].contains(&item.filed_type.as_str()), "{item:?}");
                assert!(["To Do", "In Progress", "Done"].contains(&item.status.as_str()));
                assert!(item.assignment_group.is_none() && item.impact.is_none() && item.category.is_none());
                assert!(item.contact_type.is_none() && item.urgency.is_none());
                assert!(item.labels.iter().all(|l| !l.is_empty() && !l.contains(' ')), "{:?}", item.labels);
                assert!(item.story_points.is_none() || item.filed_type == "Story");
                assert!(!item.reporter.contains('.'), "Jira shows display names: {}", item.reporter);
            }
            Home::ServiceNow => {
                let tables = ["incident", "sc_req_item", "sc_task", "rm_story", "rm_enhancement", "rm_defect"];
                assert!(tables.contains(&item.filed_type.as_str()), "{item:?}");
                assert!(item.filed_type.starts_with("rm_") <= is_value(&item), "only Value lands in rm_* tables");
                assert!(item.status.parse::<i32>().is_ok(), "state is a number: {}", item.status);
                assert!(item.assignment_group.is_some() && item.contact_type.is_some());
                assert!(matches!(item.impact, Some(1..=3)) && matches!(item.urgency, Some(1..=3)));
                assert!(item.labels.is_empty() && item.story_points.is_none());
            }
        }
    }
}

#[test]
fn misfiled_work_in_jira_lands_mostly_as_task_or_bug_and_stories_sometimes_have_points() {
    let items = generate(&options(9, 4000));
    let misfiled_work: Vec<_> = items.iter().filter(|i| i.home == Home::Jira && !is_value(i)).collect();
    let task_or_bug = misfiled_work.iter().filter(|i| i.filed_type == "Task" || i.filed_type == "Bug").count();
    assert!(task_or_bug * 10 >= misfiled_work.len() * 7, "{task_or_bug} of {}", misfiled_work.len());
    let stories: Vec<_> = items.iter().filter(|i| i.filed_type == "Story").collect();
    let pointed = stories.iter().filter(|i| i.story_points.is_some()).count();
    assert!(pointed > 0 && pointed < stories.len(), "{pointed} of {} stories have points", stories.len());
}

#[test]
fn about_ten_percent_of_service_tickets_are_misrouted_or_misprioritised() {
    let items = generate(&options(13, 5000));
    let work: Vec<_> = items.iter().filter(|i| i.home == Home::ServiceNow && !is_value(i)).collect();
    let misrouted =
        work.iter().filter(|i| i.assignment_group.as_deref() != Some(group_of(i.truth.queue.as_deref().unwrap())));
    let misprioritised = work.iter().filter(|i| (i.impact, i.urgency) != (i.truth.impact, i.truth.urgency));
    for (what, count) in [("misrouted", misrouted.count()), ("misprioritised", misprioritised.count())] {
        let share = count as f64 / work.len() as f64;
        assert!((0.07..=0.13).contains(&share), "{what}: {share:.3}");
    }
}

#[test]
fn the_wording_says_what_the_truth_says() {
    let mut checked = 0;
    for item in generate(&options(17, 5000)).iter().filter(|i| !is_value(i)) {
        let text = text(item);
        let (impact, urgency) = (item.truth.impact.unwrap(), item.truth.urgency.unwrap());
        if item.truth.kind == "incident" {
            for phrase in ["for everyone", "this affects everyone", "company-wide", "impact: the whole company"] {
                if text.contains(phrase) {
                    assert_eq!(impact, 1, "{phrase:?} in {text:?}");
                    checked += 1;
                }
            }
            for phrase in ["only me so far", "just one user affected", "only on my machine"] {
                if text.contains(phrase) {
                    assert_eq!(impact, 3, "{phrase:?} in {text:?}");
                    checked += 1;
                }
            }
        }
        for (phrase, level) in
            [("blocked right now", 1), ("cannot work without it", 1), ("no rush", 3), ("whenever", 3)]
        {
            if text.contains(phrase) {
                assert_eq!(urgency, level, "{phrase:?} in {text:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "only {checked} phrases checked");
}

#[test]
fn ten_thousand_items_are_varied() {
    let items = generate(&options(42, 5000));
    let summaries: HashSet<&str> = items.iter().map(|i| i.summary.as_str()).collect();
    let distinct = summaries.len() as f64 / items.len() as f64;
    assert!(distinct > 0.6, "only {:.1}% distinct summaries", distinct * 100.0);

    let kinds: HashSet<&str> = items.iter().map(|i| i.truth.kind.as_str()).collect();
    assert_eq!(kinds.len(), 4);
    let queues: HashSet<&str> = items.iter().filter_map(|i| i.truth.queue.as_deref()).collect();
    assert_eq!(queues.len(), 6);
    let share = |pred: &dyn Fn(&GeneratedItem) -> bool| items.iter().filter(|i| pred(i)).count() as f64 / 10_000.0;
    let styles = [
        ("empty description", share(&|i| i.description.is_empty())),
        ("stack trace or log", share(&|i| i.description.contains("\tat ") || i.description.contains("Traceback"))),
        ("shouted", share(&|i| i.summary.len() > 10 && i.summary == i.summary.to_uppercase())),
        ("lower case", share(&|i| i.summary == i.summary.to_lowercase())),
        ("greeting", share(&|i| i.description.starts_with("Hi") || i.description.starts_with("Hello"))),
        ("multi-paragraph", share(&|i| i.description.matches("\n\n").count() >= 3)),
        ("closed", share(&|i| ["Done", "6", "7", "3"].contains(&i.status.as_str()))),
    ];
    for (what, share) in styles {
        assert!((0.01..0.6).contains(&share), "{what}: {share:.3}");
    }
}

#[test]
fn hard_cases_are_in_the_mix() {
    let items = generate(&options(23, 5000));
    let has = |kind: &str, needle: &str| items.iter().any(|i| i.truth.kind == kind && text(i).contains(needle));
    assert!(has("defect", "slower since release"), "a performance regression is a defect");
    assert!(has("defect", "customer"), "a customer-reported production bug is a defect");
    assert!(has("incident", "checkout"), "a checkout outage is an incident");
    assert!(has("feature", "sso") && has("request", "okta"), "SSO as a feature and as a configuration change");
    assert!(has("feature", "dashboard") && has("request", "dashboard"), "a dashboard tile vs dashboard access");
    assert!(has("request", "how do i"), "how-to questions are requests");
}

#[test]
fn items_survive_a_round_trip_through_json_lines() {
    let items = generate(&options(1, 150));
    let bytes = to_jsonl(&items);
    assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), items.len());
    let loaded = load_jsonl(Cursor::new(&bytes)).unwrap();
    assert_eq!(loaded, items);
    assert_eq!(to_jsonl(&loaded), bytes);
}

const MINIMAL: &str = r#"{"home":"servicenow","filed_type":"incident","summary":"VPN down","reporter":"a.b","created":"2025-01-01T10:00:00Z","updated":"2025-01-01T10:00:00Z","status":"1","truth":{"class":"work","kind":"incident","queue":"network","impact":1,"urgency":1}}"#;

#[test]
fn hand_written_items_load_with_optional_fields_left_out_and_blank_lines_skipped() {
    let input = format!("{MINIMAL}\n\n   \n{MINIMAL}\n");
    let items = load_jsonl(Cursor::new(input)).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].description, "");
    assert!(items[0].labels.is_empty() && items[0].assignment_group.is_none());
}

#[test]
fn a_bad_line_is_named_in_the_error() {
    let broken = format!("{MINIMAL}\n{MINIMAL}\n{{\"home\": \"jira\",\n");
    let err = load_jsonl(Cursor::new(broken)).unwrap_err();
    assert!(matches!(err, GenError::Parse { line: 3, .. }), "{err:?}");
    assert!(err.to_string().starts_with("line 3: "), "{err}");

    let cases = [
        (MINIMAL.replace("\"class\":\"work\"", "\"class\":\"value\""), "does not match"),
        (MINIMAL.replace("\"queue\":\"network\"", "\"queue\":\"plumbing\""), "queue"),
        (MINIMAL.replace("\"impact\":1", "\"impact\":4"), "1, 2 or 3"),
        (MINIMAL.replace("\"kind\":\"incident\"", "\"kind\":\"epic\""), "epic"),
        (MINIMAL.replace("\"updated\":\"2025-01-01T10:00:00Z\"", "\"updated\":\"2024-01-01T10:00:00Z\""), "before"),
    ];
    for (line, reason) in cases {
        let err = load_jsonl(Cursor::new(format!("\n{line}\n"))).unwrap_err();
        assert!(matches!(err, GenError::Invalid { line: 2, .. }), "{err:?}");
        assert!(err.to_string().contains(reason), "{err} should mention {reason:?}");
    }
}

#[test]
fn twenty_thousand_items_generate_quickly_even_in_debug() {
    let started = Instant::now();
    let items = generate(&options(99, 10_000));
    let took = started.elapsed();
    assert_eq!(items.len(), 20_000);
    assert!(took < Duration::from_secs(10), "20,000 items took {took:?}");
}
