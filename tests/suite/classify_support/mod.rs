//! The hand-labelled tickets and the generator's tickets as items, shared by the classifier's tests and its benchmark
//! (`#[path]`-included by both).

use std::path::Path;

use twotrack_api::Item;
use twotrack_sim::generator::{GenOptions, Home, generate};

/// Every ticket of the labelled and hold-out sets as an item (only what the classifier reads).
pub fn hand_labelled() -> Vec<Item> {
    let mut out = Vec::new();
    for file in ["labelled.jsonl", "holdout.jsonl"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), n + 1));
            let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
            let mut item = Item::new(s("tracker"), s("id"), s("summary"));
            item.filed_type = s("type");
            item.description = s("description");
            item.labels = v
                .get("labels")
                .and_then(|l| l.as_array())
                .map(|l| l.iter().filter_map(|x| x.as_str().map(String::from)).collect())
                .unwrap_or_default();
            out.push(item);
        }
    }
    out
}

/// The generator's items as a connector maps them (fields included).
pub fn generated(seed: u64, per_tracker: usize) -> Vec<Item> {
    let items = generate(&GenOptions { seed, items_per_tracker: per_tracker, misfiled_share: 0.2 });
    items
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            let tracker = match g.home {
                Home::Jira => "jira",
                Home::ServiceNow => "servicenow",
            };
            let mut item = Item::new(tracker, format!("GEN-{seed}-{i}"), g.summary);
            item.filed_type = g.filed_type;
            item.description = g.description;
            item.labels = g.labels;
            item.impact = g.impact;
            item.urgency = g.urgency;
            item.queue = g.assignment_group;
            for (name, value) in [("category", g.category), ("contact_type", g.contact_type)] {
                if let Some(v) = value {
                    item.fields.insert(name.into(), v);
                }
            }
            if let Some(points) = g.story_points {
                item.fields.insert("story_points".into(), points.to_string());
            }
            item
        })
        .collect()
}
