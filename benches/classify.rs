//! Classifier throughput on one core: items per second over a mix of generated tickets (both trackers,
//! features, defects, incidents and requests, 20% misfiled; summaries, descriptions, some log excerpts).
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

/// TEMPORARY: passes timed by thread CPU time (schedstat), robust against a loaded machine.
fn quick() {
    let classifier = Classifier::with_defaults();
    let items = items();
    let cpu = || -> u64 {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let passes: usize = std::env::var("CLASSIFY_QUICK").unwrap().parse().unwrap_or(40);
    let (mut walls, mut cpus) = (vec![], vec![]);
    for _ in 0..passes {
        let (t, c) = (std::time::Instant::now(), cpu());
        for item in &items {
            black_box(classifier.classify(black_box(item)));
        }
        cpus.push((cpu() - c) as f64 / 1e9);
        walls.push(t.elapsed().as_secs_f64());
    }
    for (name, mut v) in [("wall", walls), ("cpu", cpus)] {
        v.sort_by(f64::total_cmp);
        let n = items.len() as f64;
        println!("{name}: best {:.0}/s median {:.0}/s", n / v[0], n / v[v.len() / 2]);
    }
}

fn bench(c: &mut Criterion) {
    if std::env::var_os("CLASSIFY_QUICK").is_some() {
        quick();
        std::process::exit(0);
    }
    let classifier = Classifier::with_defaults();
    let items = items();
    let mut group = c.benchmark_group("classify");
    group.throughput(Throughput::Elements(items.len() as u64));
    group.bench_function("generated mix", |b| {
        b.iter(|| {
            for item in &items {
                black_box(classifier.classify(black_box(item)));
            }
        })
    });
    group.finish();
    c.bench_function("compile default rules", |b| b.iter(|| black_box(Classifier::with_defaults())));
}

criterion_group!(benches, bench);
criterion_main!(benches);
