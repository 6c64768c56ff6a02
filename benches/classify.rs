//! Classifier throughput on one core: items per second over a mix of generated tickets (both trackers,
//! features, defects, incidents and requests, 20% misfiled; summaries, descriptions, some log excerpts).
//!
//! The hand-written tickets of `tests/fixtures` (longer, wordier, other domains) are measured too.
//!
//! `cargo bench --bench classify`; the target is 100,000 items/s.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use twotrack::classify::Classifier;
use twotrack_api::Item;
use twotrack_sim::generator::{GenOptions, Home, generate};

fn items() -> Vec<Item> {
    let generated = generate(&GenOptions { seed: 11, items_per_tracker: 1000, misfiled_share: 0.2 });
    generated
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            let tracker = match g.home {
                Home::Jira => "jira",
                Home::ServiceNow => "servicenow",
            };
            let mut item = Item::new(tracker, format!("GEN-{i}"), g.summary);
            item.filed_type = g.filed_type;
            item.description = g.description;
            item.labels = g.labels;
            item.impact = g.impact;
            item.urgency = g.urgency;
            item
        })
        .collect()
}

#[path = "../tests/classify_support/mod.rs"]
mod classify_support;

fn bench(c: &mut Criterion) {
    let classifier = Classifier::with_defaults();
    let mut group = c.benchmark_group("classify");
    for (name, items) in [("generated mix", items()), ("hand-written", classify_support::hand_labelled())] {
        group.throughput(Throughput::Elements(items.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for item in &items {
                    black_box(classifier.classify(black_box(item)));
                }
            })
        });
    }
    group.finish();
    c.bench_function("compile default rules", |b| b.iter(|| black_box(Classifier::with_defaults())));
}

criterion_group!(benches, bench);
criterion_main!(benches);
