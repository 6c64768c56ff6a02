//! How well storms are found, on generated backlogs: the reports of each outage found (recall), the
//! ordinary items wrongly pulled into a storm, and no storm where there is none. The figures are
//! printed (`cargo test --test suite storm_quality:: -- --nocapture`) and quoted in the README.

use crate::storm_support;

use std::collections::HashSet;

use twotrack::storm::{StormParams, detect};
use twotrack_sim::generator::StormOptions;

use storm_support::backlog;

/// One backlog's storms against its truth.
#[derive(Default)]
struct Tally {
    reports: usize,
    found: usize,
    ordinary: usize,
    pulled: usize,
    storms: usize,
    found_storms: usize,
}

fn tally(seed: u64, per_tracker: usize, storms: &[StormOptions]) -> Tally {
    let b = backlog(seed, per_tracker, storms);
    let found = detect(&b.items, &StormParams::default());
    let position = |tracker: &str, key: &str| {
        b.items.iter().position(|i| i.tracker == tracker && i.key == key).expect("a member is one of the items")
    };
    let members: HashSet<usize> =
        found.iter().flat_map(|s| s.members.iter().map(|m| position(&m.tracker, &m.key))).collect();
    let truth: HashSet<usize> = b.storms.iter().flatten().copied().collect();
    Tally {
        reports: truth.len(),
        found: members.intersection(&truth).count(),
        ordinary: b.items.len() - truth.len(),
        pulled: members.difference(&truth).count(),
        storms: b.storms.len(),
        found_storms: found.len(),
    }
}

#[test]
fn storms_in_generated_backlogs_are_found_whole_and_alone() {
    let mut total = Tally::default();
    for seed in 1..=6u64 {
        // One to two outages of 12 to 70 reports, a quarter to a third filed in the product backlog.
        let mut storms = vec![StormOptions { reports: 12 + 10 * seed as usize, in_backlog: 0.25 }];
        if seed % 2 == 0 {
            storms.push(StormOptions { reports: 15, in_backlog: 0.35 });
        }
        let t = tally(seed, 1500, &storms);
        println!(
            "seed {seed}: {} of {} reports found, {} of {} ordinary items pulled in, {} storms found of {}",
            t.found, t.reports, t.pulled, t.ordinary, t.found_storms, t.storms
        );
        assert_eq!(t.found_storms, t.storms, "seed {seed}: one storm per outage");
        total.reports += t.reports;
        total.found += t.found;
        total.ordinary += t.ordinary;
        total.pulled += t.pulled;
    }
    let recall = total.found as f64 / total.reports as f64;
    let pulled = total.pulled as f64 / total.ordinary as f64;
    println!(
        "all: recall {recall:.3} ({} of {} reports), ordinary items pulled into a storm {:.3}% ({} of {})",
        total.found,
        total.reports,
        pulled * 100.0,
        total.pulled,
        total.ordinary
    );
    assert!(recall >= 0.95, "recall {recall:.3}");
    assert!(pulled < 0.01, "pulled in {pulled:.4}");
}

#[test]
fn a_backlog_without_an_outage_has_no_storm() {
    // Ordinary traffic only, sparse and dense (5,000 items a tracker over 90 days: over 100 a day,
    // the same templated requests many times a day; 10,000: over 200 a day, where a group of reports
    // alike only as a blend of several requests, each sharing a word or two with it, once passed for
    // a burst).
    for (seed, per_tracker) in
        [(1, 1500), (2, 1500), (3, 1500), (4, 1500), (5, 5000), (6, 5000), (2, 10_000), (4, 10_000)]
    {
        let t = tally(seed, per_tracker, &[]);
        println!("seed {seed}, {per_tracker} items a tracker: {} storms", t.found_storms);
        for s in detect(&backlog(seed, per_tracker, &[]).items, &StormParams::default()) {
            println!(
                "  {} expected {} {:?}",
                s.headline(),
                s.expected,
                s.members.iter().map(|m| m.summary.clone()).take(6).collect::<Vec<_>>()
            );
        }
        assert_eq!(t.found_storms, 0, "seed {seed}: a storm was invented");
    }
}

/// On a busy site (50,000 items a tracker over 90 days, about 1,100 a day), chains of everyday
/// near-duplicates join the reports of a 60-report mail outage into a group of hundreds over half a
/// day, whose centroid resembles none of them. The group's busiest stretch is looked at again: the
/// outage is found there, nearly whole, and nothing else.
#[test]
fn an_outage_joined_into_a_busy_days_chains_is_found_in_its_busiest_stretch() {
    let b = storm_support::every_item(31, 50_000, &storm_support::BUSY_SITE_OUTAGES);
    let found = detect(&b.items, &StormParams::default());
    let position: std::collections::HashMap<(&str, &str), usize> =
        b.items.iter().enumerate().map(|(i, item)| ((item.tracker.as_str(), item.key.as_str()), i)).collect();
    let members: Vec<HashSet<usize>> = found
        .iter()
        .map(|s| s.members.iter().map(|m| position[&(m.tracker.as_str(), m.key.as_str())]).collect())
        .collect();
    let mail = &b.storms[1];
    let best = members.iter().map(|m| m.intersection(mail).count()).max().unwrap_or(0);
    println!("{} storms; the mail outage: {best} of {} reports in one storm", found.len(), mail.len());
    assert!(best * 10 >= mail.len() * 8, "the mail outage: {best} of {} reports found together", mail.len());
    let truth: HashSet<usize> = b.storms.iter().flatten().copied().collect();
    let pulled = members.iter().flatten().filter(|i| !truth.contains(i)).count();
    assert!(pulled <= 10, "{pulled} ordinary items pulled into storms");
}
