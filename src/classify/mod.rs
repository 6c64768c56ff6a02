//! The classifier: Value or Work, kind, queue and ITIL priority, each verdict explained. Pure, no I/O.
//!
//! - `spec`: the rule, queue, matrix and test-case types (the rules file format).
//! - [`rules`]: the embedded default rules (`config/rules.toml`) and vocabulary (`config/vocabulary.toml`:
//!   typo corrections, the words of affected-people counts, the default queues), parsing, layering,
//!   and the one validator of rules and queues (the configuration reports its problems at their
//!   `file:line:col`).
//! - `text`: normalisation shared by phrases and tickets (case, punctuation, typos, stems, log lines).
//! - `facts`: facts read from the text beyond phrases (affected-user counts).
//! - `matcher`: every phrase pattern found in normalised text, a word at a time.
//! - `engine`: the compiled [`Classifier`] and how a verdict is reached, in steps: `engine/compile`
//!   (building it from the rules), `engine/fire` (phrase hits and the rules that fire),
//!   `engine/evidence` (Work against Value: class, kind, margin, confidence, quoted evidence),
//!   `engine/work` (queue, impact, urgency and priority of a Work item).
//!
//! The decision whether an item is misfiled, and what to do about it, is [`decide`].

mod engine;
mod facts;
pub mod fuse;
mod matcher;
pub mod route;
pub mod rules;
pub mod site;
mod spec;
mod text;
pub(crate) use text::Fnv;

use std::fmt;

use serde::{Deserialize, Serialize};
use twotrack_api::{Class, Item, Kind, TrackerRole};

pub use engine::{Classifier, MAX_GAP};
pub use fuse::{Placement, Site, Thresholds};
pub use rules::{DEFAULT_RULES, RulesError, default_rules, parse_rules_file};
pub use spec::*;

/// What the classifier says about one item, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub class: Class,
    /// Feature or defect for Value; incident or request for Work.
    pub kind: Kind,
    /// The probability the class is right, 0.5 ..= 0.995, calibrated on labelled data (see [`calibrate`]).
    pub confidence: f64,
    /// Work evidence minus Value evidence: the raw score the class and confidence come from.
    pub margin: f64,
    /// The evidence for Work and for Value (the sums of the fired rules' weights).
    pub work: f64,
    pub value: f64,
    /// Work only: the queue (a [`QueueSpec`] name).
    pub queue: Option<String>,
    /// Work only: ITIL impact 1 (high) ..= 3 (low).
    pub impact: Option<u8>,
    /// Work only: ITIL urgency 1 (high) ..= 3 (low).
    pub urgency: Option<u8>,
    /// Work only: priority 1 (critical) ..= 5 (planning) from the matrix. Never set for Value: the
    /// product owner prioritises the backlog.
    pub priority: Option<u8>,
    /// The evidence, rule by rule, then how queue, impact, urgency and priority were derived.
    pub reasons: Vec<Reason>,
}

/// One piece of evidence behind a verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// The rule id (or a derivation step: `affected-count`, `impact-as-filed`, `priority-matrix`, ...).
    pub rule: String,
    /// What it speaks for, in words: `work/request`, `value`, `kind defect`, `queue access`, `impact 1`, ...
    pub supports: String,
    /// What it speaks about, typed (set where the reason is made; `supports` is its wording).
    #[serde(skip)]
    pub subject: Subject,
    /// Where and what: `summary "please grant access"`, `type "Bug"`, ...
    pub evidence: String,
    /// The evidence it added (the rule's weight times the location factor); 0 for derivations.
    pub weight: f64,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.weight > 0.0 {
            write!(f, "{} -> {} (+{:.2}): {}", self.rule, self.supports, self.weight, self.evidence)
        } else {
            write!(f, "{} -> {}: {}", self.rule, self.supports, self.evidence)
        }
    }
}

/// What a [`Reason`] speaks about, so that a report can group reasons by the side they support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// Evidence for a class: a rule's, or the site model's toward the tracker that holds it.
    Class(Class),
    /// The fused decision whether the item moves (it names the threshold it passed or missed).
    Decision,
    /// Where a Work item is routed (a queue rule, the fallback queue, the site's routing history).
    Queue,
    /// The kind (feature, defect, incident, request).
    Kind,
    /// An impact or urgency level: `stated` when the text says it, else kept as filed or a default.
    Level { stated: bool },
    /// The priority the matrix derives from impact and urgency.
    Priority,
    /// Speaks for no side: the tracker's prior, a site model that abstains.
    Context,
}

impl Reason {
    /// What this reason speaks about.
    pub fn subject(&self) -> Subject {
        self.subject
    }
}

/// The probability that the class is right, from the evidence for it (`support`) and against it
/// (`against`, the evidence for the other class).
///
/// Logistic (Platt-style) scaling, `p = 1 / (1 + exp(-(A * support - B * against + C)))`: evidence
/// against a verdict lowers the confidence more than the same evidence for it raises it. A, B and C
/// were fitted by logistic regression (maximum likelihood, Newton's method) of "the class is right"
/// on the two sums, over the hand-labelled set (`tests/fixtures/labelled.jsonl`, 440 items, each
/// weighted so that the set counts as much as the generator) and 2,000 items of the simulator's
/// generator (seed 7, 20% misfiled). The calibration table printed by `tests/suite/classify_eval.rs` checks
/// the fit bin by bin on other data. Refit when the rules change.
pub fn calibrate(support: f64, against: f64) -> f64 {
    const A: f64 = 2.2437;
    const B: f64 = 2.6473;
    const C: f64 = 0.9693;
    let p = 1.0 / (1.0 + (-(A * support - B * against + C)).exp());
    p.clamp(0.5, 0.995)
}

/// What to do about an item where it is filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Leave it where it is (correctly filed, or not sure enough to say otherwise).
    Keep,
    /// Probably misfiled: ask a human.
    Review,
    /// Misfiled with high confidence: move it to the tracker of its class.
    Move,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Keep => "keep",
            Action::Review => "review",
            Action::Move => "move",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an item is misfiled where it is, and the action that follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub misfiled: bool,
    pub action: Action,
}

/// Decide on the rules' verdict alone (the text, no site): misfiled when its class is not the class
/// `filed_role` holds; then `Move` at or above `t.move_at` confidence, `Review` at or above
/// `t.review_at`, else `Keep`. A correctly filed item is always `Keep`. This is the stream mode of
/// `twotrack classify` and the rules' regression tests; audits, `apply` and `classify --site` decide
/// with the site's evidence too ([`fuse::Site::place`]).
pub fn decide(verdict: &Verdict, filed_role: TrackerRole, t: Thresholds) -> Decision {
    let misfiled = verdict.class != filed_role.holds();
    let action = if !misfiled {
        Action::Keep
    } else if verdict.confidence >= t.move_at {
        Action::Move
    } else if verdict.confidence >= t.review_at {
        Action::Review
    } else {
        Action::Keep
    };
    Decision { misfiled, action }
}

impl Thresholds {
    /// The thresholds of the rules' confidence when the text alone decides ([`decide`]).
    pub const RULES_ALONE: Thresholds = Thresholds { move_at: 0.85, review_at: 0.6 };
}

/// The outcome of one rules-file test case.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    pub verdict: Verdict,
    /// What did not match the expectations; empty when the case passed.
    pub failures: Vec<String>,
}

impl Classifier {
    /// Run one test case of a rules file (decisions use the default thresholds).
    pub fn run_case(&self, case: &RuleTest) -> CaseOutcome {
        let mut item = Item::new(case.tracker.as_deref().unwrap_or("test"), "TEST-1", case.summary.as_str());
        item.description.clone_from(&case.description);
        item.filed_type = case.filed_type.clone().unwrap_or_default();
        item.labels.clone_from(&case.labels);
        let verdict = self.classify(&item);
        let mut failures = Vec::new();
        let mut expect = |what: &str, want: Option<String>, got: Option<String>| {
            if let Some(want) = want
                && Some(&want) != got.as_ref()
            {
                failures.push(format!("{what}: expected {want}, got {}", got.as_deref().unwrap_or("none")));
            }
        };
        let s = |v: Option<u8>| v.map(|v| v.to_string());
        expect("class", case.class.map(|c| c.to_string()), Some(verdict.class.to_string()));
        expect("kind", case.kind.map(|k| k.to_string()), Some(verdict.kind.to_string()));
        expect("queue", case.queue.clone(), verdict.queue.clone());
        expect("impact", s(case.impact), s(verdict.impact));
        expect("urgency", s(case.urgency), s(verdict.urgency));
        expect("priority", s(case.priority), s(verdict.priority));
        if let Some(want) = case.action {
            match case.tracker.as_deref().and_then(role_of_name) {
                Some(role) => {
                    let got = decide(&verdict, role, Thresholds::RULES_ALONE).action;
                    expect("action", Some(want.to_string()), Some(got.to_string()));
                }
                None => failures.push("action: expected needs `tracker` = \"jira\" or \"servicenow\"".into()),
            }
        }
        CaseOutcome { verdict, failures }
    }
}

/// The role a tracker name implies without a configuration: "jira" (or "product") is a product
/// backlog, "servicenow" (or "service") a service queue.
pub fn role_of_name(name: &str) -> Option<TrackerRole> {
    match name.trim().to_ascii_lowercase().as_str() {
        "jira" | "product" => Some(TrackerRole::Product),
        "servicenow" | "service" => Some(TrackerRole::Service),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_says_what_it_speaks_about() {
        let classifier = Classifier::with_defaults();
        let mut item =
            Item::new("servicenow", "INC1", "Checkout is down for all 300 users, urgent: restore the database");
        item.filed_type = "incident".into();
        let verdict = classifier.classify(&item);
        let subjects: Vec<(String, Subject)> = verdict.reasons.iter().map(|r| (r.rule.clone(), r.subject())).collect();
        let of = |rule: &str| subjects.iter().find(|(r, _)| r == rule).map(|(_, s)| *s);
        assert!(subjects.iter().any(|(_, s)| *s == Subject::Class(Class::Work)), "{subjects:?}");
        assert_eq!(of("priority-matrix"), Some(Subject::Priority), "{subjects:?}");
        assert!(subjects.iter().any(|(_, s)| *s == Subject::Queue), "{subjects:?}");
        assert!(subjects.iter().any(|(_, s)| matches!(s, Subject::Level { stated: true })), "{subjects:?}");
        for r in &verdict.reasons {
            match r.subject() {
                Subject::Class(c) => assert!(r.supports.starts_with(c.as_str()), "{r}"),
                Subject::Kind => assert!(r.supports.starts_with("kind "), "{r}"),
                Subject::Queue => assert!(r.supports.starts_with("queue "), "{r}"),
                Subject::Level { .. } => {
                    assert!(r.supports.starts_with("impact ") || r.supports.starts_with("urgency "), "{r}")
                }
                Subject::Priority => assert!(r.supports.starts_with("priority "), "{r}"),
                Subject::Decision | Subject::Context => {}
            }
        }
    }
}
