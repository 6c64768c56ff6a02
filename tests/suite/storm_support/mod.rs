//! Generated backlogs with storms, as the open items the audit reads: shared by the storm quality test
//! and the storm benchmark (`#[path]`-included by both).

use std::collections::HashSet;

use twotrack_api::Item;
use twotrack_sim::generator::{GenOptions, GeneratedItem, Home, StormOptions, generate_with_storms};

/// A generated backlog's open items, and for each storm the positions (in the returned items) of its
/// reports.
pub struct Backlog {
    pub items: Vec<Item>,
    pub storms: Vec<HashSet<usize>>,
}

/// The outages of the storm benchmark's busy site (and of the quality test that checks the middle one
/// is found there): 500, 60 and 15 reports, a quarter filed in the product backlog.
pub const BUSY_SITE_OUTAGES: [StormOptions; 3] = [
    StormOptions { reports: 500, in_backlog: 0.25 },
    StormOptions { reports: 60, in_backlog: 0.25 },
    StormOptions { reports: 15, in_backlog: 0.25 },
];

/// `per_tracker` ordinary items per tracker (10% misfiled) with `storms` mixed in; the open items only.
pub fn backlog(seed: u64, per_tracker: usize, storms: &[StormOptions]) -> Backlog {
    generated(seed, per_tracker, storms, true)
}

/// As [`backlog`], every item, open or closed (the benchmark's exact count).
#[allow(dead_code)] // for the benchmark
pub fn every_item(seed: u64, per_tracker: usize, storms: &[StormOptions]) -> Backlog {
    generated(seed, per_tracker, storms, false)
}

fn generated(seed: u64, per_tracker: usize, storms: &[StormOptions], open_only: bool) -> Backlog {
    let options = GenOptions { seed, items_per_tracker: per_tracker, misfiled_share: 0.1 };
    let (generated, truth) = generate_with_storms(&options, storms);
    let mut position = vec![None; generated.len()];
    let mut items = Vec::new();
    for (i, g) in generated.into_iter().enumerate() {
        if !open_only || is_open(&g) {
            position[i] = Some(items.len());
            items.push(item(seed, i, g));
        }
    }
    let storms = truth.iter().map(|t| t.members.iter().filter_map(|&i| position[i]).collect()).collect();
    Backlog { items, storms }
}

/// As the generator files them: Jira "Done"; an incident resolved (6) or closed (7); a request or
/// task closed complete (3).
fn is_open(g: &GeneratedItem) -> bool {
    match (g.home, g.filed_type.as_str()) {
        (Home::Jira, _) => g.status != "Done",
        (Home::ServiceNow, "incident") => !matches!(g.status.as_str(), "6" | "7"),
        (Home::ServiceNow, _) => g.status != "3",
    }
}

/// What the storm detector reads of an item, as a connector maps it.
fn item(seed: u64, i: usize, g: GeneratedItem) -> Item {
    let tracker = match g.home {
        Home::Jira => "jira",
        Home::ServiceNow => "servicenow",
    };
    let mut item = Item::new(tracker, format!("S{seed}-{i}"), g.summary);
    item.description = g.description;
    item.filed_type = g.filed_type;
    item.reporter = Some(g.reporter);
    item.created = g.created;
    item.updated = g.updated;
    item.urgency = g.urgency;
    item
}
