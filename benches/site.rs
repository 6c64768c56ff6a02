//! The site layer at scale: learn a site of 100,000 mirrored items (the rules over every item, five
//! cross-fitted models, two rounds, each tracker's prior, the routing of the service queue) and judge
//! every item (and route every service item), timed as a whole.
//!
//! `cargo bench --bench site` (`taskset -c 0 cargo bench --bench site` for one core); the target is
//! under 5 s for 100,000 items. `TWOTRACK_SITE_ITEMS=N` sets the items per tracker (default 50,000).

use std::hint::black_box;
use std::time::Instant;

use twotrack::api::TrackerRole;
use twotrack::classify::fuse::MovePolicy;
use twotrack::classify::site::SiteOptions;
use twotrack::classify::{Action, Classifier, Site};

#[path = "../tests/suite/classify_support/mod.rs"]
#[allow(dead_code)] // the hand-labelled loader is for other benches
mod classify_support;

fn main() {
    let per_tracker: usize = std::env::var("TWOTRACK_SITE_ITEMS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let items = classify_support::generated(17, per_tracker);
    let role = |tracker: &str| if tracker == "jira" { TrackerRole::Product } else { TrackerRole::Service };
    let classifier = Classifier::with_defaults();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let started = Instant::now();
    let site = Site::learn(
        &classifier,
        SiteOptions::default(),
        items.iter().map(|i| Ok::<_, std::convert::Infallible>(i.clone())),
        |item| Some(role(&item.tracker)),
        |_| false,
    )
    .unwrap_or_else(|never| match never {});
    let learned = started.elapsed();

    let started = Instant::now();
    let mut moves = 0usize;
    let mut reroutes = 0usize;
    for item in &items {
        let sits = role(&item.tracker);
        let (verdict, placement) = site.judge(&classifier, item, sits, MovePolicy::default());
        moves += usize::from(placement.action == Action::Move);
        if sits == TrackerRole::Service
            && let Some(route) = site.routing(item)
        {
            let (action, _) = route.decide(item.queue.as_deref(), MovePolicy::default().thresholds);
            reroutes += usize::from(action == Action::Move);
        }
        black_box(verdict);
    }
    let judged = started.elapsed();
    let total = (learned + judged).as_secs_f64();
    println!(
        "site of {} items on {cores} core(s): learn {:.2} s, judge {:.2} s, total {:.2} s ({:.0} items/s); {moves} moves, \
         {reroutes} reroutes; {}; {}",
        items.len(),
        learned.as_secs_f64(),
        judged.as_secs_f64(),
        total,
        items.len() as f64 / total,
        site.model.abstains().unwrap_or("site model learned"),
        site.route
            .abstains()
            .map_or_else(|| format!("routing learned ({} groups)", site.route.groups().len()), str::to_string),
    );
}
