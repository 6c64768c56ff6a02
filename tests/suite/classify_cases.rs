//! Tricky tickets, one line each, through one helper: `check(summary, description, tracker, expect)`.
//!
//! The expectation is a short string of the parts that matter for the case: `"value defect"`,
//! `"work request access"`, `"work incident p1"`, `"move"`, `"keep"`, `"review"`. Also: the classifier
//! compiles user rules on top of the defaults, rejects bad ones with the rule's id, and decides.

use std::sync::LazyLock;

use twotrack::classify::{
    Action, Classifier, PriorityMatrix, QueueSpec, RuleSpec, RulesError, Thresholds, decide, default_queues,
    role_of_name,
};
use twotrack_api::{Class, Item, Kind, TrackerRole};

/// Classify a ticket filed in `tracker` ("jira" or "servicenow") and check every word of `expect`:
/// a class, a kind, a queue name, `p1`..`p5`, or an action.
fn check(summary: &str, description: &str, tracker: &str, expect: &str) {
    static CLASSIFIER: LazyLock<Classifier> = LazyLock::new(Classifier::with_defaults);
    let classifier = &*CLASSIFIER;
    let mut item = Item::new(tracker, "T-1", summary);
    item.description = description.to_string();
    let v = classifier.classify(&item);
    let role = role_of_name(tracker).unwrap();
    let d = decide(&v, role, Thresholds::RULES_ALONE);
    let reasons: Vec<String> = v.reasons.iter().map(ToString::to_string).collect();
    let context = format!("{summary:?}: got {v:?}\n{}", reasons.join("\n"));
    for word in expect.split_whitespace() {
        match word {
            "value" | "work" => assert_eq!(v.class.as_str(), word, "{context}"),
            "feature" | "defect" | "incident" | "request" => assert_eq!(v.kind.as_str(), word, "{context}"),
            "keep" | "review" | "move" => assert_eq!(d.action.as_str(), word, "{context}"),
            p if p.starts_with('p') && p.len() == 2 => {
                assert_eq!(v.priority.map(|p| format!("p{p}")).as_deref(), Some(p), "{context}")
            }
            queue => assert_eq!(v.queue.as_deref(), Some(queue), "{context}"),
        }
    }
}

#[test]
fn a_defect_found_in_production_is_value_an_outage_is_work() {
    check("Tax is wrong for Canadian addresses", "", "servicenow", "value defect");
    check("Checkout is down for everyone since 2am", "", "jira", "work incident p1 move");
    check("checkout returns 500 when the cart has a gift card", "", "servicenow", "value defect");
    check(
        "Storefront returning 502 for all customers",
        "Started 10:40, nothing was deployed.",
        "jira",
        "work incident",
    );
}

#[test]
fn requests_for_people_are_work() {
    check("pls reset my pasword", "", "jira", "work request access");
    check("Please grant me read access to the Finance shared drive", "", "jira", "work request access move");
    check("Restore the orders table from last night's backup", "", "jira", "work request database");
    check("Need a VM provisioned for the analytics team", "", "jira", "work request infrastructure");
    check("Renew the TLS cert on lb-ext-01 before it expires", "", "jira", "work request infrastructure");
    check("new starter monday - laptop + accounts for Ana", "", "servicenow", "work request keep");
    check("How do I set up an out of office reply?", "", "jira", "work request");
    check("dl-finance: add jane.doe please", "", "jira", "work request access");
}

#[test]
fn product_changes_are_value_even_when_they_mention_accounts_or_access() {
    check("Add two-factor authentication to customer accounts", "", "servicenow", "value feature");
    check("Implement SSO via Okta for enterprise tenants", "", "servicenow", "value feature");
    check("Password reset email link expires after 1 minute instead of 24h", "", "servicenow", "value defect");
    check("Allow guest checkout without creating an account", "", "jira", "value feature keep");
    check(
        "As a store manager I want to export the daily sales report",
        "so that I can share it with finance",
        "jira",
        "value feature keep",
    );
}

#[test]
fn terse_misspelled_and_jargon_tickets() {
    check("outlok keeps crashing on my labtop", "", "servicenow", "work incident end-user");
    check("vpn down again", "", "jira", "work incident network");
    check("NPE in OrderService.total() when cart empty", "", "jira", "value defect");
    check("prod-db-02 disk 98%", "", "jira", "work");
    check("FR: dark mode", "", "jira", "value feature");
}

#[test]
fn log_excerpts_alone_do_not_decide() {
    let trace = "java.lang.NullPointerException\n    at com.acme.cart.CartService.total(CartService.java:42)\n";
    // The same stack trace under a product bug and under an outage: the prose decides.
    check("Cart total crashes when a coupon is removed", trace, "servicenow", "value defect");
    check("Whole site down for all customers", trace, "jira", "work incident");
}

#[test]
fn impact_and_urgency_come_from_the_text() {
    check("Email down for the whole company", "", "servicenow", "work incident p1");
    check("Printer jammed, only me, no rush", "", "servicenow", "work p5");
    check("Recover a file I deleted from my archived mail, no rush", "", "servicenow", "work request p5");
}

#[test]
fn value_never_gets_a_priority_and_work_always_does() {
    let c = Classifier::with_defaults();
    for (summary, class) in [("Add CSV export to reports", Class::Value), ("Unlock my account", Class::Work)] {
        let v = c.classify(&Item::new("jira", "X-1", summary));
        assert_eq!(v.class, class);
        assert_eq!(v.priority.is_some(), class == Class::Work, "{v:?}");
        assert_eq!(v.queue.is_some(), class == Class::Work, "{v:?}");
        assert!(v.confidence > 0.5 && v.confidence <= 1.0);
    }
}

#[test]
fn the_filed_impact_is_the_fallback_then_three() {
    let c = Classifier::with_defaults();
    let mut item = Item::new("servicenow", "INC1", "Request a Visio licence");
    let v = c.classify(&item);
    assert_eq!((v.impact, v.urgency), (Some(3), Some(3)));
    assert!(v.reasons.iter().any(|r| r.rule == "impact-default"));
    item.impact = Some(2);
    let v = c.classify(&item);
    assert_eq!(v.impact, Some(2));
    assert!(v.reasons.iter().any(|r| r.rule == "impact-as-filed"));
}

#[test]
fn decide_follows_the_thresholds() {
    let c = Classifier::with_defaults();
    let v = c.classify(&Item::new("jira", "X-1", "Please reset my password, I am locked out"));
    assert_eq!(v.class, Class::Work);
    assert!(v.confidence >= 0.85, "{v:?}");
    let product = TrackerRole::Product;
    assert_eq!(decide(&v, product, Thresholds { move_at: 0.85, review_at: 0.6 }).action, Action::Move);
    assert_eq!(decide(&v, product, Thresholds { move_at: 1.0, review_at: 0.6 }).action, Action::Review);
    assert_eq!(decide(&v, product, Thresholds { move_at: 1.0, review_at: 1.0 }).action, Action::Keep);
    let here = decide(&v, TrackerRole::Service, Thresholds { move_at: 0.0, review_at: 0.0 });
    assert!(!here.misfiled);
    assert_eq!(here.action, Action::Keep);
}

fn rule(id: &str, phrases: &[&str], class: Option<Class>) -> RuleSpec {
    RuleSpec {
        id: id.into(),
        description: None,
        phrases: phrases.iter().map(|p| p.to_string()).collect(),
        types: vec![],
        labels: vec![],
        fields: vec![],
        class,
        kind: None,
        weight: 5.0,
        queue: None,
        impact: None,
        urgency: None,
        disabled: false,
    }
}

#[test]
fn user_rules_extend_replace_and_disable_the_defaults() {
    let matrix = PriorityMatrix::default();
    let queues = default_queues();
    let item = Item::new("jira", "X-1", "Frobnicator needs a new widget");
    let plain = Classifier::new(&[], &queues, &matrix).unwrap().classify(&item);
    assert_eq!(plain.class, Class::Value);

    let custom = Classifier::new(&[rule("frobnicator", &["frobnicat*"], Some(Class::Work))], &queues, &matrix).unwrap();
    let v = custom.classify(&item);
    assert_eq!(v.class, Class::Work);
    assert!(v.reasons.iter().any(|r| r.rule == "frobnicator" && r.evidence.contains("Frobnicator")), "{v:?}");

    // Same id as a default rule: replaced. `disabled`: gone.
    let outage = Item::new("jira", "X-2", "VPN outage");
    let mut off = rule("work-outage", &["outage"], None);
    off.disabled = true;
    let without = Classifier::new(&[off], &queues, &matrix).unwrap().classify(&outage);
    assert!(without.reasons.iter().all(|r| r.rule != "work-outage"), "{without:?}");
}

#[test]
fn bad_rules_are_refused_with_their_id() {
    let matrix = PriorityMatrix::default();
    let queues = default_queues();
    let refuse = |r: RuleSpec| Classifier::new(&[r], &queues, &matrix).unwrap_err();

    assert!(
        matches!(refuse(rule("r1", &["  ..  "], Some(Class::Work))), RulesError::BadPhrase { id, .. } if id == "r1")
    );
    assert!(matches!(refuse(rule("r2", &["{a,b"], Some(Class::Work))), RulesError::BadPhrase { id, .. } if id == "r2"));
    assert!(
        matches!(refuse(rule("r3", &["fact:nonsense"], Some(Class::Work))), RulesError::BadPhrase { id, .. } if id == "r3")
    );
    let mut q = rule("r4", &["x"], None);
    q.queue = Some("nowhere".into());
    assert!(matches!(refuse(q), RulesError::UnknownQueue { id, .. } if id == "r4"));
    let mut k = rule("r5", &["x"], Some(Class::Value));
    k.kind = Some(Kind::Incident);
    assert!(matches!(refuse(k), RulesError::KindMismatch { id, .. } if id == "r5"));
    let mut i = rule("r6", &["x"], None);
    i.impact = Some(4);
    assert!(matches!(refuse(i), RulesError::BadLevel { id, .. } if id == "r6"));
    assert!(matches!(refuse(rule("r7", &[], Some(Class::Work))), RulesError::NoCondition { id } if id == "r7"));
    assert!(matches!(refuse(rule("r8", &["x"], None)), RulesError::NoEffect { id } if id == "r8"));
    let twice = [rule("dup", &["x"], Some(Class::Work)), rule("dup", &["y"], Some(Class::Work))];
    assert!(
        matches!(Classifier::new(&twice, &queues, &matrix).unwrap_err(), RulesError::DuplicateId { id } if id == "dup")
    );
}

#[test]
fn custom_queues_route_and_the_last_is_the_fallback() {
    let queues = vec![
        QueueSpec { name: "payments".into(), group: "Payments Ops".into(), terms: vec!["stripe".into()] },
        QueueSpec { name: "desk".into(), group: "Service Desk".into(), terms: vec![] },
    ];
    let c = Classifier::new(&[], &queues, &PriorityMatrix::default()).unwrap();
    let routed = c.classify(&Item::new("servicenow", "I-1", "Stripe webhooks down for everyone"));
    assert_eq!(routed.queue.as_deref(), Some("payments"));
    let fallback = c.classify(&Item::new("servicenow", "I-2", "Please reset my password"));
    assert_eq!(fallback.queue.as_deref(), Some("desk"));
}

#[test]
fn the_embedded_rule_tests_pass() {
    let c = Classifier::with_defaults();
    let file = twotrack::classify::default_rules().unwrap();
    let failed: Vec<String> = file
        .tests
        .iter()
        .filter_map(|t| {
            let o = c.run_case(t);
            (!o.failures.is_empty()).then(|| format!("{}: {:?}", t.summary, o.failures))
        })
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}
