//! How well twotrack decides to move, measured on sites built from real tickets.
//!
//! ```sh
//! cargo run --release --example eval -- ../shared/data/dev-tickets.jsonl            # the figures
//! cargo run --release --example eval -- ../shared/data/dev-tickets.jsonl --fit      # refit config/fusion.toml
//! cargo run --release --example eval -- ../shared/data/dev-tickets.jsonl --write-sites DIR
//! ```
//!
//! The corpus (its README) holds real Work tickets (service requests of open-source infrastructure
//! help desks) and real Value tickets (product backlogs of 14 organisations). Real trackers are mostly
//! filed right, so each site is built as a company would hold it: one organisation's product backlog
//! with a share of the Work mixed in (5%, 15% or 30% of the backlog), and a service queue holding the
//! rest of the Work with some of that organisation's Value (about 10% of the queue). The data stays
//! outside the repository; nothing here runs in `cargo test`.
//!
//! Each site is judged exactly as `twotrack classify --site` judges its input (the same
//! `Site::learn` and `Site::judge`), with the default policy. `--write-sites DIR` writes each site as
//! the JSON Lines that command reads, so any figure can be checked through the CLI. The figures,
//! per site and in total:
//! - moves, and their precision (a move is right when the item really is in the wrong tracker);
//! - misfiled found: the share of truly misfiled items that were moved or flagged for review;
//! - review: the share of all items flagged for a human;
//! - the same for the text alone (`twotrack classify` without `--site`), as before the site layer;
//! - a reliability table: for the items in each band of the calibrated probability, how many were
//!   really misfiled;
//! - the next cycle: after every move is carried out (a wrong one sent back by a human) and half of
//!   the reviews triaged, the items nobody decided about judged again, with the human decisions
//!   learned as clean labels and without.
//!
//! `--fit` refits the fusion's four coefficients (`config/fusion.toml`) by logistic regression over
//! every item of every site (each site weighing the same, each tracker's true misfiling rate as the
//! offset) and writes the file. `--generator` adds sites from the simulator's generator.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use twotrack::classify::fuse::{Example, MovePolicy, Signals, fit};
use twotrack::classify::site::{Label, SiteOptions};
use twotrack::classify::{Action, Classifier, Site, Thresholds, decide};
use twotrack_api::{Class, Item, TrackerRole};

struct Ticket {
    id: String,
    org: String,
    summary: String,
    description: String,
    work: bool,
}

/// One item of a site, with the truth.
struct Member {
    item: Item,
    sits: TrackerRole,
    misfiled: bool,
}

struct SiteSpec {
    name: String,
    org: String,
    members: Vec<Member>,
}

#[derive(Default, Clone, Copy)]
struct Score {
    items: usize,
    misfiled: usize,
    moves: usize,
    right_moves: usize,
    reviews: usize,
    found: usize,
}

impl Score {
    fn add(&mut self, misfiled: bool, action: Action) {
        self.items += 1;
        self.misfiled += usize::from(misfiled);
        match action {
            Action::Move => {
                self.moves += 1;
                self.right_moves += usize::from(misfiled);
                self.found += usize::from(misfiled);
            }
            Action::Review => {
                self.reviews += 1;
                self.found += usize::from(misfiled);
            }
            Action::Keep => {}
        }
    }

    /// A routing decision: a move is right only where the item was misrouted and goes to its group.
    fn add_route(&mut self, misrouted: bool, action: Action, right_group: bool) {
        self.add(misrouted, action);
        if action == Action::Move && misrouted && !right_group {
            self.right_moves -= 1;
        }
    }

    fn merge(&mut self, o: &Score) {
        self.items += o.items;
        self.misfiled += o.misfiled;
        self.moves += o.moves;
        self.right_moves += o.right_moves;
        self.reviews += o.reviews;
        self.found += o.found;
    }

    fn precision(&self) -> String {
        if self.moves == 0 { "    -".into() } else { format!("{:.3}", self.right_moves as f64 / self.moves as f64) }
    }

    fn recall(&self) -> f64 {
        if self.misfiled == 0 { 0.0 } else { self.found as f64 / self.misfiled as f64 }
    }

    fn review_share(&self) -> f64 {
        self.reviews as f64 / self.items.max(1) as f64
    }

    /// Moves, their precision, the misfiled found and the review share, as table columns.
    fn columns(&self) -> String {
        format!(
            "{:>5} {:>6} {:>6.2} {:>5.1}%",
            self.moves,
            self.precision(),
            self.recall(),
            self.review_share() * 100.0
        )
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: eval DEV-TICKETS.jsonl [--fit | --cross-validate] [--generator] [--write-sites DIR]");
        std::process::exit(2);
    };
    let fit_mode = args.iter().any(|a| a == "--fit");
    let cross_validate_mode = args.iter().any(|a| a == "--cross-validate");
    let with_generator = args.iter().any(|a| a == "--generator");
    let write_dir = args.iter().position(|a| a == "--write-sites").and_then(|i| args.get(i + 1)).map(PathBuf::from);

    let tickets = load(Path::new(path));
    let mut sites = build_sites(&tickets);
    if with_generator {
        sites.extend(generator_sites());
    }
    if let Some(dir) = &write_dir {
        write_sites(dir, &sites);
    }
    let classifier = Classifier::with_defaults();
    if fit_mode {
        refit(&classifier, &sites);
        return;
    }
    if cross_validate_mode {
        cross_validate(&classifier, &sites);
        return;
    }
    evaluate(&classifier, &sites);
    second_cycle(&classifier, &sites);
    let mut route_sites = real_route_sites(&tickets);
    if with_generator {
        route_sites.extend(generator_route_sites());
    }
    evaluate_routing(&classifier, &route_sites);
}

fn load(path: &Path) -> Vec<Ticket> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("cannot read {}: {e}", path.display());
        std::process::exit(2);
    });
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON object per line");
            let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
            Ticket {
                id: s("id"),
                org: s("org"),
                summary: s("summary"),
                description: s("description"),
                work: s("label") == "work",
            }
        })
        .collect()
}

/// A deterministic shuffle.
fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
    for i in (1..v.len()).rev() {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let j = ((state >> 33) % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

fn item(t: &Ticket, tracker: &str) -> Item {
    let mut item = Item::new(tracker, t.id.clone(), t.summary.clone());
    item.description = t.description.clone();
    item
}

/// The least Work a site's service queue keeps.
const QUEUE_WORK: usize = 40;

/// One site per Value organisation and Work share of its backlog.
fn build_sites(tickets: &[Ticket]) -> Vec<SiteSpec> {
    let work: Vec<&Ticket> = tickets.iter().filter(|t| t.work).collect();
    let mut orgs: BTreeMap<&str, Vec<&Ticket>> = BTreeMap::new();
    for t in tickets.iter().filter(|t| !t.work) {
        orgs.entry(t.org.as_str()).or_default().push(t);
    }
    let mut sites = Vec::new();
    for (o, (org, value)) in orgs.iter().enumerate() {
        for (s, (share, most_work_in_queue)) in
            [(0.05, true), (0.15, true), (0.30, true), (0.30, false)].into_iter().enumerate()
        {
            let seed = (o * 10 + s) as u64 + 1;
            let mut value = value.clone();
            let mut work = work.clone();
            shuffle(&mut value, seed);
            shuffle(&mut work, seed * 7919);
            // Work in the backlog: `share` of the backlog, leaving at least 40 Work items in the service
            // queue (where the backlog would need more Work than that, it is made smaller); Value in the
            // queue: a tenth of the queue.
            let available = value.len() - value.len() / 20;
            // Realistic sites keep most of their Work in the service queue (twice what the backlog
            // holds); the stress sites put most of it in the backlog.
            let most = if most_work_in_queue { work.len() / 3 } else { work.len() - QUEUE_WORK };
            let work_in_backlog = ((share / (1.0 - share) * available as f64).round() as usize).min(most);
            let backlog_value = ((work_in_backlog as f64 * (1.0 - share) / share).round() as usize).min(available);
            let value_in_queue = ((work.len() - work_in_backlog) as f64 / 9.0).round().max(2.0) as usize;
            let value = &value[..(backlog_value + value_in_queue).min(value.len())];
            let backlog_value = value.len() - value_in_queue;
            let mut members = Vec::new();
            for t in &value[..backlog_value] {
                members.push(Member { item: item(t, "jira"), sits: TrackerRole::Product, misfiled: false });
            }
            for t in &work[..work_in_backlog] {
                members.push(Member { item: item(t, "jira"), sits: TrackerRole::Product, misfiled: true });
            }
            for t in &work[work_in_backlog..] {
                members.push(Member { item: item(t, "servicenow"), sits: TrackerRole::Service, misfiled: false });
            }
            for t in &value[backlog_value..] {
                members.push(Member { item: item(t, "servicenow"), sits: TrackerRole::Service, misfiled: true });
            }
            shuffle(&mut members, seed * 31);
            sites.push(SiteSpec {
                name: format!(
                    "{org} / {:.0}% Work in backlog{}",
                    share * 100.0,
                    if most_work_in_queue { "" } else { ", most Work there" }
                ),
                org: org.to_string(),
                members,
            });
        }
    }
    sites
}

/// Sites from the simulator's generator (its own truth), 8% misfiled, three seeds.
fn generator_sites() -> Vec<SiteSpec> {
    use twotrack_sim::generator::{GenOptions, Home, generate};
    let mut sites = Vec::new();
    for seed in [11u64, 12, 13] {
        let generated = generate(&GenOptions { seed, items_per_tracker: 1000, misfiled_share: 0.08 });
        let members = generated
            .into_iter()
            .enumerate()
            .map(|(i, g)| {
                let (tracker, sits) = match g.home {
                    Home::Jira => ("jira", TrackerRole::Product),
                    Home::ServiceNow => ("servicenow", TrackerRole::Service),
                };
                let mut item = Item::new(tracker, format!("GEN-{seed}-{i}"), g.summary);
                item.filed_type = g.filed_type;
                item.description = g.description;
                item.labels = g.labels;
                let class = if g.truth.class == "work" { Class::Work } else { Class::Value };
                Member { item, sits, misfiled: class != sits.holds() }
            })
            .collect();
        sites.push(SiteSpec { name: format!("generator seed {seed}"), org: "generator".into(), members });
    }
    sites
}

/// A service queue whose routing is judged: every item with the group it really belongs in.
struct RouteSite {
    name: String,
    /// The item (its `queue` is the group it sits in), the group it belongs in (`None`: not Work, so
    /// not judged for routing), and the rules' queue name for it where that names the truth directly.
    members: Vec<(Item, Option<String>)>,
    /// Group -> the `[[queue]]` name for it, where the site's groups are the rules' queues (the
    /// generator's), so that the rules can be scored too.
    queue_names: HashMap<String, String>,
}

/// Share of a routing site's Work put in a wrong group.
const MISROUTED: f64 = 0.08;

/// Routing sites from the real Work tickets: one service queue where each organisation's tickets
/// are handled by a group of their own (a company with one team per service), 8% put in another
/// group at random; three seeds.
fn real_route_sites(tickets: &[Ticket]) -> Vec<RouteSite> {
    let work: Vec<&Ticket> = tickets.iter().filter(|t| t.work).collect();
    let orgs: Vec<&str> = {
        let mut o: Vec<&str> = work.iter().map(|t| t.org.as_str()).collect();
        o.sort_unstable();
        o.dedup();
        o
    };
    [1u64, 2, 3]
        .into_iter()
        .map(|seed| {
            let mut members: Vec<(Item, Option<String>)> = work
                .iter()
                .map(|t| {
                    let mut item = item(t, "servicenow");
                    item.queue = Some(t.org.clone());
                    (item, Some(t.org.clone()))
                })
                .collect();
            shuffle(&mut members, seed * 104_729);
            let wrong = (members.len() as f64 * MISROUTED).round() as usize;
            for (i, (item, truth)) in members.iter_mut().take(wrong).enumerate() {
                let others: Vec<&&str> = orgs.iter().filter(|o| Some(**o) != truth.as_deref()).collect();
                item.queue = Some(others[(i * 7 + seed as usize) % others.len()].to_string());
            }
            RouteSite {
                name: format!("real Work, a group per organisation, seed {seed}"),
                members,
                queue_names: HashMap::new(),
            }
        })
        .collect()
}

/// Routing sites from the simulator's generator: its service queue with the assignment groups its
/// callers and agents chose (about 10% of the Work misrouted), the truth beside it.
fn generator_route_sites() -> Vec<RouteSite> {
    use twotrack_sim::generator::{GenOptions, Home, generate};
    let mut sites = Vec::new();
    for seed in [21u64, 22, 23] {
        let generated = generate(&GenOptions { seed, items_per_tracker: 2000, misfiled_share: 0.08 });
        let service: Vec<_> = generated.into_iter().filter(|g| g.home == Home::ServiceNow).collect();
        // The group of each true queue: the one most of its Work sits in.
        let mut votes: HashMap<(String, String), usize> = HashMap::new();
        for g in &service {
            if let (Some(q), Some(group)) = (&g.truth.queue, &g.assignment_group) {
                *votes.entry((q.clone(), group.clone())).or_default() += 1;
            }
        }
        let mut group_of: HashMap<String, (String, usize)> = HashMap::new();
        for ((q, group), n) in votes {
            let best = group_of.entry(q).or_insert((group.clone(), 0));
            if n > best.1 || (n == best.1 && group < best.0) {
                *best = (group, n);
            }
        }
        let members = service
            .into_iter()
            .enumerate()
            .map(|(i, g)| {
                let mut item = Item::new("servicenow", format!("GEN-{seed}-{i}"), g.summary);
                item.filed_type = g.filed_type;
                item.description = g.description;
                item.queue = g.assignment_group;
                let truth = (g.truth.class == "work")
                    .then(|| g.truth.queue.as_ref().and_then(|q| group_of.get(q)).map(|(group, _)| group.clone()))
                    .flatten();
                (item, truth)
            })
            .collect();
        let queue_names = group_of.into_iter().map(|(q, (group, _))| (group, q)).collect();
        sites.push(RouteSite { name: format!("generator seed {seed}"), members, queue_names });
    }
    sites
}

/// Routing decisions on each routing site, by the site's learned routing and by the rules.
fn evaluate_routing(classifier: &Classifier, sites: &[RouteSite]) {
    let thresholds = Thresholds::DEFAULT;
    println!(
        "\ntwotrack routing decisions on {} service queues (reroute when the site's history routes the item \
         elsewhere with P >= {:.2}, review at P(misrouted) >= {:.2}; only Work is judged)\n",
        sites.len(),
        thresholds.move_at,
        thresholds.review_at
    );
    println!(
        "{:<52} {:>5} {:>4} | {:>5} {:>6} {:>6} {:>6} | {:>5} {:>6} {:>6}",
        "site", "work", "mis", "moves", "prec", "found", "review", "moves", "prec", "found"
    );
    println!("{:<63}| {:<28}| [[queue]] rules", "", "learned from the site");
    let (mut total, mut total_rules) = (Score::default(), Score::default());
    let mut moves: Vec<(f64, bool)> = Vec::new();
    let queues = twotrack::classify::default_queues();
    for site in sites {
        let learned = Site::learn(
            classifier,
            SiteOptions::default(),
            site.members.iter().map(|(item, _)| Ok::<Item, std::convert::Infallible>(item.clone())),
            |_| Some(TrackerRole::Service),
            |_| false,
        )
        .unwrap_or_else(|never| match never {});
        let (mut score, mut rules) = (Score::default(), Score::default());
        for (item, truth) in &site.members {
            let Some(truth) = truth else { continue };
            let current = item.queue.as_deref();
            let misrouted = current.is_none_or(|c| !c.eq_ignore_ascii_case(truth));
            let (action, target, p) = match learned.routing(item) {
                Some(e) => {
                    let (action, _) = e.decide(current, thresholds);
                    (action, e.group.clone(), e.p)
                }
                None => (Action::Keep, String::new(), 0.0),
            };
            score.add_route(misrouted, action, target.eq_ignore_ascii_case(truth));
            if show_wrong() && action == Action::Move && !(misrouted && target.eq_ignore_ascii_case(truth)) {
                println!(
                    "  wrong reroute: {} in {:?} to {target} p={p:.3}, belongs in {truth}: {}",
                    item.key,
                    current.unwrap_or(""),
                    item.summary.chars().take(70).collect::<String>()
                );
            }
            if action == Action::Move {
                moves.push((p, misrouted && target.eq_ignore_ascii_case(truth)));
            }
            if !site.queue_names.is_empty() {
                // The rules route to a `[[queue]]` (the fallback queue routes nothing); with the queues
                // configured as the site's groups, a route elsewhere than where the item sits is a move.
                let verdict = classifier.classify(item);
                let target = verdict.queue.filter(|q| queues.last().is_none_or(|last| &last.name != q));
                let name = |group: Option<&str>| group.and_then(|g| site.queue_names.get(g));
                let action = match &target {
                    Some(t) if name(current) != Some(t) => Action::Move,
                    _ => Action::Keep,
                };
                rules.add_route(misrouted, action, target.as_ref() == name(Some(truth)));
            }
        }
        let abstained = learned.route.abstains().map(|why| format!("  ({why})")).unwrap_or_default();
        let rules_columns = if !site.queue_names.is_empty() {
            format!("{:>5} {:>6} {:>6.2}", rules.moves, rules.precision(), rules.recall())
        } else {
            format!("{:>5} {:>6} {:>6}", "-", "-", "-")
        };
        println!(
            "{:<52} {:>5} {:>4} | {} | {rules_columns}{abstained}",
            site.name,
            score.items,
            score.misfiled,
            score.columns()
        );
        total.merge(&score);
        total_rules.merge(&rules);
    }
    println!("\n{:<52} {:>5} {:>4} | {} |", "ALL QUEUES", total.items, total.misfiled, total.columns());
    println!("\nreroutes by P of the group routed to:");
    band_table(&moves, "P(group)", "moves", "right", &[0.95, 0.97, 0.99, 0.999, 1.0001], 3);
}

fn write_sites(dir: &Path, sites: &[SiteSpec]) {
    std::fs::create_dir_all(dir).expect("create the sites directory");
    for (i, site) in sites.iter().enumerate() {
        let path = dir.join(format!("site-{i:02}.jsonl"));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create a site file"));
        for m in &site.members {
            let line = serde_json::json!({
                "id": m.item.key, "tracker": m.item.tracker, "type": m.item.filed_type,
                "summary": m.item.summary, "description": m.item.description, "labels": m.item.labels,
                "misfiled": m.misfiled,
            });
            writeln!(out, "{line}").expect("write a site file");
        }
        eprintln!("{}: {}", path.display(), site.name);
    }
}

/// The next cycle, after humans acted on the first one's findings: every move carried out (a right
/// one stays where it was put; a wrong one a human sends back), and half of the reviews triaged by a
/// human (a misfiled item moved by hand, a well-filed one given the keep marker). The items a human
/// decided about are exempt in the next audit, as in twotrack; the rest are judged again, by a site
/// layer that learns those decisions as clean labels, and by one that does not (every item labelled
/// where it sits), to show what the decisions are worth.
fn second_cycle(classifier: &Classifier, sites: &[SiteSpec]) {
    let policy = MovePolicy { thresholds: Thresholds::DEFAULT, rules_may_move_alone: false };
    println!(
        "\nthe next cycle, after humans acted on the first: every move carried out (a wrong one sent back), half \
         of the reviews triaged (a misfiled item moved, a well-filed one marked to keep); the items not decided \
         about, judged again\n"
    );
    println!(
        "{:<52} {:>5} {:>4} | {:>5} {:>6} {:>6} {:>6} | {:>5} {:>6} {:>6} {:>6}",
        "site", "items", "mis", "moves", "prec", "found", "review", "moves", "prec", "found", "review"
    );
    println!("{:<63}| {:<28}| decisions not learned", "", "decisions as clean labels");
    let mut by_share: BTreeMap<String, (Score, Score)> = BTreeMap::new();
    let mut total = (Score::default(), Score::default());
    let (mut decided, mut returned) = (0usize, 0usize);
    for site in sites {
        let first = learn(classifier, site);
        let tracker_of: HashMap<TrackerRole, String> =
            site.members.iter().map(|m| (m.sits, m.item.tracker.clone())).collect();
        // The site as the next cycle finds it: (member, where it sits now, its label, exempt).
        let mut next: Vec<(&Member, TrackerRole, Label)> = Vec::new();
        for (i, m) in site.members.iter().enumerate() {
            let (_, placement) = first.judge(classifier, &m.item, m.sits, policy);
            let triaged = i % 2 == 0;
            let (sits, label) = match placement.action {
                Action::Move if m.misfiled => (other(m.sits), Label::Decided),
                Action::Move => (other(m.sits), Label::Returned),
                Action::Review if triaged && m.misfiled => (other(m.sits), Label::Decided),
                Action::Review if triaged => (m.sits, Label::Decided),
                _ => (m.sits, Label::Sits),
            };
            decided += usize::from(label == Label::Decided);
            returned += usize::from(label == Label::Returned);
            next.push((m, sits, label));
        }
        let items: Vec<Item> = next
            .iter()
            .map(|&(m, sits, _)| {
                let mut item = m.item.clone();
                item.tracker = tracker_of.get(&sits).cloned().unwrap_or_else(|| sits.as_str().to_string());
                item
            })
            .collect();
        let labels: HashMap<&str, Label> = next.iter().map(|&(m, _, label)| (m.item.key.as_str(), label)).collect();
        let roles: HashMap<&str, TrackerRole> = tracker_of.iter().map(|(r, t)| (t.as_str(), *r)).collect();
        let relearn = |with_labels: bool| {
            Site::learn_labelled(
                classifier,
                SiteOptions::default(),
                items.iter().map(|i| Ok::<Item, std::convert::Infallible>(i.clone())),
                |item| roles.get(item.tracker.as_str()).copied(),
                |item| match labels.get(item.key.as_str()) {
                    Some(&label) if with_labels => label,
                    _ => Label::Sits,
                },
            )
            .unwrap_or_else(|never| match never {})
        };
        let (with, without) = (relearn(true), relearn(false));
        let (mut a, mut b) = (Score::default(), Score::default());
        for (item, &(m, sits, label)) in items.iter().zip(&next) {
            if label != Label::Sits {
                continue;
            }
            a.add(m.misfiled, with.judge(classifier, item, sits, policy).1.action);
            b.add(m.misfiled, without.judge(classifier, item, sits, policy).1.action);
        }
        let share = site.name.rsplit(" / ").next().unwrap_or_default().to_string();
        let s = by_share.entry(share).or_default();
        s.0.merge(&a);
        s.1.merge(&b);
        total.0.merge(&a);
        total.1.merge(&b);
    }
    let line = |name: &str, s: &Score, r: &Score| {
        println!("{name:<52} {:>5} {:>4} | {} | {}", s.items, s.misfiled, s.columns(), r.columns())
    };
    for (share, (s, r)) in &by_share {
        line(share, s, r);
    }
    println!();
    line("ALL SITES, NEXT CYCLE", &total.0, &total.1);
    println!(
        "decided by humans after the first cycle: {decided} items kept or placed; wrong moves sent back: {returned}"
    );
}

fn learn(classifier: &Classifier, site: &SiteSpec) -> Site {
    let roles: HashMap<&str, TrackerRole> = site.members.iter().map(|m| (m.item.tracker.as_str(), m.sits)).collect();
    let learned = Site::learn(
        classifier,
        SiteOptions::default(),
        site.members.iter().map(|m| Ok::<Item, std::convert::Infallible>(m.item.clone())),
        |item| roles.get(item.tracker.as_str()).copied(),
        |_| false,
    );
    match learned {
        Ok(s) => s,
        Err(never) => match never {},
    }
}

fn evaluate(classifier: &Classifier, sites: &[SiteSpec]) {
    let thresholds = Thresholds::DEFAULT;
    println!(
        "twotrack move decisions on {} sites (default policy: move at P(misfiled) >= {:.2} when the rules and the \
         site model agree, review at >= {:.2})\n",
        sites.len(),
        thresholds.move_at,
        thresholds.review_at
    );
    println!(
        "{:<52} {:>5} {:>4} | {:>5} {:>6} {:>6} {:>6} | {:>5} {:>6} {:>6} {:>6}",
        "site", "items", "mis", "moves", "prec", "found", "review", "moves", "prec", "found", "review"
    );
    println!("{:<63}| {:<28}| text alone (rules)", "", "with the site layer");
    let mut total = Score::default();
    let mut total_rules = Score::default();
    let mut by_org: BTreeMap<String, (Score, Score)> = BTreeMap::new();
    let mut by_share: BTreeMap<String, (Score, Score)> = BTreeMap::new();
    // (p, misfiled) of every item, for the reliability table; and of every move.
    let mut all: Vec<(f64, bool)> = Vec::new();
    let mut moves: Vec<(f64, bool)> = Vec::new();
    let mut abstained = 0;
    for site in sites {
        let learned = learn(classifier, site);
        abstained += usize::from(learned.model.abstains().is_some());
        let (mut score, mut rules) = (Score::default(), Score::default());
        for m in &site.members {
            let (_, placement) =
                learned.judge(classifier, &m.item, m.sits, MovePolicy { thresholds, rules_may_move_alone: false });
            if show_wrong() && placement.action == Action::Move && !m.misfiled {
                let s = placement.signals;
                println!(
                    "  wrong move: {} in {} p={:.3} away={:.2} here={:.2} site={:.2} prior={:.3}: {}",
                    m.item.key,
                    m.sits.as_str(),
                    placement.p_misfiled,
                    s.away,
                    s.here,
                    s.site.unwrap_or(f64::NAN),
                    placement.prior,
                    m.item.summary.chars().take(70).collect::<String>()
                );
            }
            score.add(m.misfiled, placement.action);
            all.push((placement.p_misfiled, m.misfiled));
            if placement.action == Action::Move {
                moves.push((placement.p_misfiled, m.misfiled));
            }
            let alone = decide(&classifier.classify(&m.item), m.sits, Thresholds::RULES_ALONE);
            rules.add(m.misfiled, alone.action);
        }
        println!(
            "{:<52} {:>5} {:>4} | {} | {}{}",
            site.name,
            score.items,
            score.misfiled,
            score.columns(),
            rules.columns(),
            if learned.model.abstains().is_some() { "  (site model abstained)" } else { "" }
        );
        total.merge(&score);
        total_rules.merge(&rules);
        let o = by_org.entry(site.org.clone()).or_default();
        o.0.merge(&score);
        o.1.merge(&rules);
        let share = site.name.rsplit(" / ").next().unwrap_or_default().to_string();
        let s = by_share.entry(share).or_default();
        s.0.merge(&score);
        s.1.merge(&rules);
    }
    println!();
    let line = |name: &str, s: &Score, r: &Score| {
        println!("{name:<52} {:>5} {:>4} | {} | {}", s.items, s.misfiled, s.columns(), r.columns())
    };
    println!("by organisation of the backlog:");
    for (org, (s, r)) in &by_org {
        line(org, s, r);
    }
    println!("\nby share of Work in the backlog:");
    for (share, (s, r)) in &by_share {
        line(share, s, r);
    }
    println!();
    line("ALL SITES", &total, &total_rules);
    println!("site model abstained on {abstained} of {} sites\n", sites.len());

    println!("reliability: items by calibrated P(misfiled), and how many really were misfiled");
    band_table(
        &all,
        "P(misfiled)",
        "items",
        "observed",
        &[0.0, 0.05, 0.2, 0.35, 0.5, 0.7, 0.85, 0.95, 0.99, 1.0001],
        2,
    );
    println!("\nmoves by calibrated P(misfiled):");
    band_table(&moves, "P(misfiled)", "moves", "right", &[0.95, 0.97, 0.99, 0.999, 1.0001], 3);
}

/// For each band of P: how many (P, misfiled) pairs fall in it, their mean P and the share misfiled.
fn band_table(points: &[(f64, bool)], p: &str, what: &str, outcome: &str, bands: &[f64], decimals: usize) {
    println!("{p:<14} {what:>7} {:>10} {outcome:>10}", "mean P");
    for w in bands.windows(2) {
        let inside: Vec<&(f64, bool)> = points.iter().filter(|(p, _)| *p >= w[0] && *p < w[1]).collect();
        if inside.is_empty() {
            continue;
        }
        let mean = inside.iter().map(|(p, _)| p).sum::<f64>() / inside.len() as f64;
        let misfiled = inside.iter().filter(|(_, m)| *m).count() as f64 / inside.len() as f64;
        let band = format!("[{:.d$}, {:.d$})", w[0], w[1].min(1.0), d = decimals);
        println!("{band:<14} {:>7} {mean:>10.3} {misfiled:>10.3}", inside.len());
    }
}

fn show_wrong() -> bool {
    std::env::var_os("EVAL_SHOW_WRONG").is_some()
}

/// The fusion's training examples from one site: every item's signals (the site model learned with
/// the committed coefficients), the site's true misfiling rate per role as the prior, each site
/// weighing the same.
fn examples_of(classifier: &Classifier, site: &SiteSpec) -> Vec<Example> {
    let learned = learn(classifier, site);
    let mut rate: HashMap<TrackerRole, (usize, usize)> = HashMap::new();
    for m in &site.members {
        let r = rate.entry(m.sits).or_default();
        r.0 += usize::from(m.misfiled);
        r.1 += 1;
    }
    let weight = 1.0 / site.members.len() as f64;
    site.members
        .iter()
        .map(|m| {
            let verdict = classifier.classify(&m.item);
            let evidence = learned.model.score(&m.item.key, &m.item.summary, &m.item.description);
            let (bad, n) = rate[&m.sits];
            Example {
                signals: Signals::new(&verdict, m.sits, evidence.as_ref()),
                prior: (bad as f64 / n as f64).clamp(0.005, 0.5),
                misfiled: m.misfiled,
                weight,
            }
        })
        .collect()
}

/// Leave one organisation out: for each organisation, fit the fusion on the other organisations'
/// sites and judge its own sites with those coefficients, as a site the fit never saw would be.
fn cross_validate(classifier: &Classifier, sites: &[SiteSpec]) {
    let examples: Vec<Vec<Example>> = sites.iter().map(|s| examples_of(classifier, s)).collect();
    let orgs: Vec<&str> = {
        let mut o: Vec<&str> = sites.iter().map(|s| s.org.as_str()).collect();
        o.sort_unstable();
        o.dedup();
        o
    };
    let thresholds = Thresholds::DEFAULT;
    println!(
        "leave one organisation out: the fusion fitted on the other organisations' sites, then each site judged \
         with it (default policy)\n"
    );
    println!(
        "{:<52} {:>5} {:>4} | {:>5} {:>6} {:>6} {:>6}",
        "organisation", "items", "mis", "moves", "prec", "found", "review"
    );
    let mut total = Score::default();
    let mut moves: Vec<(f64, bool)> = Vec::new();
    for org in orgs {
        let train: Vec<Example> =
            sites.iter().zip(&examples).filter(|(s, _)| s.org != org).flat_map(|(_, e)| e.iter().cloned()).collect();
        let fusion = fit(&train);
        let mut score = Score::default();
        for site in sites.iter().filter(|s| s.org == org) {
            let roles: HashMap<&str, TrackerRole> =
                site.members.iter().map(|m| (m.item.tracker.as_str(), m.sits)).collect();
            let learned = Site::learn_with(
                fusion,
                classifier,
                SiteOptions::default(),
                site.members.iter().map(|m| Ok::<Item, std::convert::Infallible>(m.item.clone())),
                |item| roles.get(item.tracker.as_str()).copied(),
                |_| Label::Sits,
            )
            .unwrap_or_else(|never| match never {});
            for m in &site.members {
                let (_, placement) =
                    learned.judge(classifier, &m.item, m.sits, MovePolicy { thresholds, rules_may_move_alone: false });
                score.add(m.misfiled, placement.action);
                if placement.action == Action::Move {
                    moves.push((placement.p_misfiled, m.misfiled));
                }
            }
        }
        println!("{org:<52} {:>5} {:>4} | {}", score.items, score.misfiled, score.columns());
        total.merge(&score);
    }
    println!("\n{:<52} {:>5} {:>4} | {}", "ALL SITES, out of sample", total.items, total.misfiled, total.columns());
    println!("\nmoves by calibrated P(misfiled), out of sample:");
    band_table(&moves, "P(misfiled)", "moves", "right", &[0.95, 0.97, 0.99, 0.999, 1.0001], 3);
}

fn refit(classifier: &Classifier, sites: &[SiteSpec]) {
    let examples: Vec<Example> = sites.iter().flat_map(|s| examples_of(classifier, s)).collect();
    let fusion = fit(&examples);
    let text = format!(
        "# The fusion's coefficients (src/classify/fuse.rs): P(misfiled) = sigmoid(intercept\n\
         # + rules_away * ln(1 + away) + rules_here * ln(1 + here) + site * site_logodds + logit(prior)).\n\
         # Written by `cargo run --release --example eval -- DEV-TICKETS.jsonl --fit`: a weighted logistic\n\
         # regression over {} items of {} sites built from real tickets, each site weighing the same.\n\
         # Do not edit by hand; refit when the rules or the site layer change.\n\
         intercept = {:.4}\nrules_away = {:.4}\nrules_here = {:.4}\nsite = {:.4}\n",
        examples.len(),
        sites.len(),
        fusion.intercept,
        fusion.rules_away,
        fusion.rules_here,
        fusion.site
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/fusion.toml");
    std::fs::write(&path, &text).expect("write config/fusion.toml");
    print!("{text}");
    eprintln!("wrote {}", path.display());
}

/// The role of the other tracker.
fn other(role: TrackerRole) -> TrackerRole {
    role.holds().other().home()
}
