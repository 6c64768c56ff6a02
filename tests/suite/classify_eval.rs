//! How well the default rules classify, measured on data they were not written from.
//!
//! - `tests/fixtures/labelled.jsonl`: tickets written by hand, one JSON object per line (id, tracker,
//!   type, summary, description, labels, and the truth: class, kind, queue, impact, urgency);
//! - `tests/fixtures/holdout.jsonl` (same format), when present: kept out of the rules' development;
//! - 2,000 items of the simulator's generator, with their ground truth.
//!
//! Each set prints per-class precision, recall and F1, macro-F1, kind accuracy, the precision of the
//! `move` actions (default thresholds), Work routing and priority agreement, and the calibration table
//! (confidence bins against accuracy); the test fails below the floors. Run with `--nocapture` to see.

use std::path::Path;

use serde::Deserialize;
use twotrack::classify::{Action, Classifier, Thresholds, Verdict, decide, role_of_name};
use twotrack_api::{Class, Item, Kind, TrackerRole};
use twotrack_sim::generator::{GenOptions, GeneratedItem, Home, generate};

/// One labelled example, whatever its source.
struct Example {
    item: Item,
    role: TrackerRole,
    class: Class,
    kind: Kind,
    queue: Option<String>,
    impact: Option<u8>,
    urgency: Option<u8>,
}

/// The truth of a hand-labelled line: at the top level or under `truth`.
#[derive(Deserialize)]
struct Truth {
    class: Class,
    kind: Kind,
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    impact: Option<u8>,
    #[serde(default)]
    urgency: Option<u8>,
}

#[derive(Deserialize)]
struct Line {
    id: String,
    tracker: String,
    #[serde(default, rename = "type")]
    filed_type: Option<String>,
    summary: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    labels: Option<Vec<String>>,
    #[serde(default)]
    truth: Option<Truth>,
    #[serde(flatten)]
    top: Option<Truth>,
}

fn load_jsonl(path: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line: Line = serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), n + 1));
        let truth = line.truth.or(line.top).unwrap_or_else(|| panic!("{}:{}: no truth", path.display(), n + 1));
        let role = role_of_name(&line.tracker).unwrap_or_else(|| panic!("{}:{}: tracker", path.display(), n + 1));
        let mut item = Item::new(line.tracker, line.id, line.summary);
        item.filed_type = line.filed_type.unwrap_or_default();
        item.description = line.description.unwrap_or_default();
        item.labels = line.labels.unwrap_or_default();
        out.push(Example {
            item,
            role,
            class: truth.class,
            kind: truth.kind,
            queue: truth.queue,
            impact: truth.impact,
            urgency: truth.urgency,
        });
    }
    out
}

/// The generator's items as a connector would map them, with their ground truth.
fn generated(seed: u64, per_tracker: usize) -> Vec<Example> {
    let items = generate(&GenOptions { seed, items_per_tracker: per_tracker, misfiled_share: 0.2 });
    items.iter().enumerate().map(|(i, g)| from_generated(g, i)).collect()
}

fn from_generated(g: &GeneratedItem, i: usize) -> Example {
    let (tracker, role) = match g.home {
        Home::Jira => ("jira", TrackerRole::Product),
        Home::ServiceNow => ("servicenow", TrackerRole::Service),
    };
    let mut item = Item::new(tracker, format!("GEN-{i}"), g.summary.clone());
    item.filed_type.clone_from(&g.filed_type);
    item.description.clone_from(&g.description);
    item.labels.clone_from(&g.labels);
    item.impact = g.impact;
    item.urgency = g.urgency;
    for (name, value) in [("category", &g.category), ("contact_type", &g.contact_type)] {
        if let Some(v) = value {
            item.fields.insert(name.into(), v.clone());
        }
    }
    if let Some(points) = g.story_points {
        item.fields.insert("story_points".into(), points.to_string());
    }
    let class = g.truth.class.parse().unwrap();
    let kind = g.truth.kind.parse().unwrap();
    Example { item, role, class, kind, queue: g.truth.queue.clone(), impact: g.truth.impact, urgency: g.truth.urgency }
}

/// What one data set scored.
#[derive(Debug)]
struct Report {
    n: usize,
    macro_f1: f64,
    accuracy: f64,
    kind_accuracy: f64,
    moves: usize,
    move_precision: f64,
    queue_accuracy: f64,
    priority_accuracy: f64,
}

fn evaluate(name: &str, examples: &[Example], classifier: &Classifier) -> Report {
    let verdicts: Vec<Verdict> = examples.iter().map(|e| classifier.classify(&e.item)).collect();
    let n = examples.len();
    let mut lines = vec![format!("== {name}: {n} items")];

    let mut f1s = Vec::new();
    for class in [Class::Value, Class::Work] {
        let tp = count(examples, &verdicts, |e, v| v.class == class && e.class == class);
        let predicted = count(examples, &verdicts, |_, v| v.class == class);
        let actual = count(examples, &verdicts, |e, _| e.class == class);
        let (p, r) = (ratio(tp, predicted), ratio(tp, actual));
        let f1 = if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
        f1s.push(f1);
        lines.push(format!("   {class:<5}  precision {p:.3}  recall {r:.3}  F1 {f1:.3}  (support {actual})"));
    }
    let macro_f1 = f1s.iter().sum::<f64>() / f1s.len() as f64;
    let accuracy = ratio(count(examples, &verdicts, |e, v| e.class == v.class), n);
    let kind_accuracy = ratio(count(examples, &verdicts, |e, v| e.kind == v.kind), n);

    let actions: Vec<Action> =
        examples.iter().zip(&verdicts).map(|(e, v)| decide(v, e.role, Thresholds::RULES_ALONE).action).collect();
    let misfiled = examples.iter().filter(|e| e.class != e.role.holds()).count();
    let moves = actions.iter().filter(|a| **a == Action::Move).count();
    let good_moves =
        examples.iter().zip(&actions).filter(|(e, a)| **a == Action::Move && e.class != e.role.holds()).count();
    let reviews = actions.iter().filter(|a| **a == Action::Review).count();
    let move_precision = if moves == 0 { 1.0 } else { ratio(good_moves, moves) };

    let work = |e: &Example, v: &Verdict| e.class == Class::Work && v.class == Class::Work;
    let routed = count(examples, &verdicts, |e, v| work(e, v) && e.queue.is_some());
    let queue_ok = count(examples, &verdicts, |e, v| work(e, v) && e.queue.is_some() && e.queue == v.queue);
    let prioritised = count(examples, &verdicts, |e, v| work(e, v) && e.impact.is_some() && e.urgency.is_some());
    let priority_ok = count(examples, &verdicts, |e, v| {
        work(e, v)
            && e.impact.zip(e.urgency).map(|(i, u)| classifier.matrix().priority(i, u)) == v.priority
            && e.impact.is_some()
    });
    let impact_ok = count(examples, &verdicts, |e, v| work(e, v) && e.impact.is_some() && e.impact == v.impact);
    let urgency_ok = count(examples, &verdicts, |e, v| work(e, v) && e.urgency.is_some() && e.urgency == v.urgency);

    lines.push(format!(
        "   macro-F1 {macro_f1:.3}  accuracy {accuracy:.3}  kind accuracy {kind_accuracy:.3}  value has no priority: {}",
        verdicts.iter().all(|v| v.class == Class::Work || v.priority.is_none())
    ));
    lines.push(format!(
        "   misfiled {misfiled}: move {moves} (precision {move_precision:.3}, recall {:.3}), review {reviews}",
        ratio(good_moves, misfiled)
    ));
    lines.push(format!(
        "   work: queue {:.3} ({routed}), impact {:.3}, urgency {:.3}, priority {:.3} ({prioritised})",
        ratio(queue_ok, routed),
        ratio(impact_ok, prioritised),
        ratio(urgency_ok, prioritised),
        ratio(priority_ok, prioritised)
    ));
    lines.push("   calibration: confidence bin -> accuracy (items)".into());
    for lo in [0.5, 0.6, 0.7, 0.8, 0.9] {
        let in_bin: Vec<bool> = examples
            .iter()
            .zip(&verdicts)
            .filter(|(_, v)| v.confidence >= lo && (v.confidence < lo + 0.1 || lo == 0.9))
            .map(|(e, v)| e.class == v.class)
            .collect();
        let mean: f64 = examples
            .iter()
            .zip(&verdicts)
            .filter(|(_, v)| v.confidence >= lo && (v.confidence < lo + 0.1 || lo == 0.9))
            .map(|(_, v)| v.confidence)
            .sum::<f64>()
            / in_bin.len().max(1) as f64;
        let right = in_bin.iter().filter(|r| **r).count();
        lines.push(format!(
            "     [{lo:.1}, {:.1}{}  mean {mean:.3} -> {:.3} ({})",
            lo + 0.1,
            if lo == 0.9 { "]" } else { ")" },
            ratio(right, in_bin.len()),
            in_bin.len()
        ));
    }
    println!("{}", lines.join("\n"));
    Report {
        n,
        macro_f1,
        accuracy,
        kind_accuracy,
        moves,
        move_precision,
        queue_accuracy: ratio(queue_ok, routed),
        priority_accuracy: ratio(priority_ok, prioritised),
    }
}

fn count(examples: &[Example], verdicts: &[Verdict], f: impl Fn(&Example, &Verdict) -> bool) -> usize {
    examples.iter().zip(verdicts).filter(|(e, v)| f(e, v)).count()
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

#[test]
fn hand_labelled_set_meets_the_floors() {
    let examples = load_jsonl(&fixture("labelled.jsonl"));
    assert!(examples.len() >= 100, "the labelled set is too small to measure anything: {}", examples.len());
    let r = evaluate("labelled (hand-written)", &examples, &Classifier::with_defaults());
    assert!(r.macro_f1 >= 0.90, "labelled macro-F1 {:.3} < 0.90", r.macro_f1);
    assert!(r.move_precision >= 0.97, "labelled move precision {:.3} < 0.97", r.move_precision);
    assert!(r.kind_accuracy >= 0.80, "labelled kind accuracy {:.3} < 0.80", r.kind_accuracy);
    assert!(r.moves > 0, "no item of the labelled set is moved");
    // Work's ITIL priority, exactly right (impact and urgency read from the text alone): 0.481 when
    // the per-kind defaults and the outage and population rules came in (0.382 before).
    assert!(r.priority_accuracy >= 0.45, "labelled priority accuracy {:.3} < 0.45", r.priority_accuracy);
    // Work's queue: 0.745 once how-to questions and licences went to the desk and network terms
    // outweighed the device named (0.693 before).
    assert!(r.queue_accuracy >= 0.72, "labelled queue accuracy {:.3} < 0.72", r.queue_accuracy);
}

#[test]
fn holdout_set_meets_the_floors() {
    let path = fixture("holdout.jsonl");
    if !path.exists() {
        println!("no holdout set at {}", path.display());
        return;
    }
    let examples = load_jsonl(&path);
    let r = evaluate("holdout (hand-written, unseen)", &examples, &Classifier::with_defaults());
    assert!(r.n > 0);
    // Floors: what the rules achieved on this set when it was first measured (160 items: macro-F1
    // 0.856, move precision 0.935 over 31 moves), minus a margin. The rules were never tuned on it.
    assert!(r.macro_f1 >= 0.82, "holdout macro-F1 {:.3} < 0.82", r.macro_f1);
    assert!(r.move_precision >= 0.88, "holdout move precision {:.3} < 0.88", r.move_precision);
    // Priority: 0.239 at first, 0.380 after the rules above (tuned on the labelled set only).
    assert!(r.priority_accuracy >= 0.33, "holdout priority accuracy {:.3} < 0.33", r.priority_accuracy);
    // Queue: 0.620 at first, 0.718 after the routing weights above.
    assert!(r.queue_accuracy >= 0.66, "holdout queue accuracy {:.3} < 0.66", r.queue_accuracy);
}

#[test]
fn generated_set_meets_the_floors() {
    let examples = generated(2024, 1000);
    let r = evaluate("generator (seed 2024)", &examples, &Classifier::with_defaults());
    assert_eq!(r.n, 2000);
    // Floors: measured 0.969 accuracy, 0.984 move precision, 0.931 kind, 0.818 queue, 0.819 priority.
    assert!(r.accuracy >= 0.94, "generator accuracy {:.3} < 0.94", r.accuracy);
    assert!(r.macro_f1 >= 0.94, "generator macro-F1 {:.3} < 0.94", r.macro_f1);
    assert!(r.move_precision >= 0.97, "generator move precision {:.3} < 0.97", r.move_precision);
    assert!(r.kind_accuracy >= 0.88, "generator kind accuracy {:.3} < 0.88", r.kind_accuracy);
    assert!(r.queue_accuracy >= 0.72, "generator queue accuracy {:.3} < 0.72", r.queue_accuracy);
    assert!(r.priority_accuracy >= 0.65, "generator priority accuracy {:.3} < 0.65", r.priority_accuracy);
}
