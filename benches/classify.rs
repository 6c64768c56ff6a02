//! Classifier throughput on one core: items per second over a mix of generated tickets (both trackers,
//! features, defects, incidents and requests, 20% misfiled; summaries, descriptions, some log excerpts).
//!
//! The hand-written tickets of `tests/fixtures` (longer, wordier, other domains) are measured too.
//!
//! `cargo bench --bench classify`; the target is 100,000 items/s.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use twotrack::classify::Classifier;

#[path = "../tests/suite/classify_support/mod.rs"]
mod classify_support;

fn bench(c: &mut Criterion) {
    let classifier = Classifier::with_defaults();
    let mut group = c.benchmark_group("classify");
    for (name, items) in
        [("generated mix", classify_support::generated(11, 1000)), ("hand-written", classify_support::hand_labelled())]
    {
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
