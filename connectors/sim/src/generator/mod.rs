//! A deterministic generator of realistic mixed backlogs, with the ground truth kept beside each item.
//!
//! [`generate`] files `items_per_tracker` items in each simulated tracker: Jira holds the product backlog (Value:
//! features and defects), ServiceNow the service queue (Work: incidents and requests), and a configurable share of
//! each is misfiled in the other (exactly `round(items_per_tracker * misfiled_share)` per tracker). The output is a
//! pure function of [`GenOptions`]: the same options give the same items, byte for byte once serialized, because all
//! randomness comes from one ChaCha8 stream seeded from `seed` and the timestamps from [`epoch`], not the clock.
//!
//! Items are composed from scenarios (the kind of ticket, its queue and allowed impact/urgency levels), templates with
//! slots (products, screens, users, hosts, ...) and human noise (terse or verbose styles, typos, casing, prefixes, log
//! excerpts and stack traces). Impact and urgency are drawn first and then *said* in the text ("for everyone",
//! "blocked right now", "whenever convenient"), so the truth always matches the wording.
//!
//! [`load_jsonl`] and [`write_jsonl`] read and write items as JSON Lines, so a user can feed their own backlog.
//!
//! # Layout
//! - `model`: [`GeneratedItem`], [`Home`], [`Truth`] (what other modules load).
//! - `catalog`: the scenarios; `vocab`: slot fillers per product domain; `text`: slot filling and noise;
//!   `logs`: log excerpts; `filing`: issue types, tables, statuses and service fields; `jsonl`: files;
//!   `storm`: bursts of reports about one outage ([`generate_with_storms`]), their truth beside them.

mod catalog;
mod filing;
mod jsonl;
mod logs;
mod model;
mod storm;
mod text;
mod vocab;

use chrono::{DateTime, TimeDelta, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use jsonl::{GenError, load_jsonl, write_jsonl};
pub use model::*;
pub use storm::{StormOptions, StormTruth, generate_with_storms};

use catalog::{Kind, Queue, Scenario};
use filing::Facts;
use text::{Ctx, pick};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenOptions {
    /// Seeds every random choice and the [`epoch`].
    pub seed: u64,
    /// Items filed in each tracker (so the output has twice as many).
    pub items_per_tracker: usize,
    /// Share of each tracker's items that belong in the other one, in `0.0..=1.0` (clamped).
    pub misfiled_share: f64,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions { seed: 42, items_per_tracker: 200, misfiled_share: 0.15 }
    }
}

/// The ServiceNow assignment group of each truth queue, as the generator files them.
pub const ASSIGNMENT_GROUPS: [(&str, &str); 6] = [
    (Queue::Database.as_str(), Queue::Database.group()),
    (Queue::Access.as_str(), Queue::Access.group()),
    (Queue::Network.as_str(), Queue::Network.group()),
    (Queue::Infrastructure.as_str(), Queue::Infrastructure.group()),
    (Queue::EndUser.as_str(), Queue::EndUser.group()),
    (Queue::ServiceDesk.as_str(), Queue::ServiceDesk.group()),
];

/// How far back creation dates reach before the epoch.
const HISTORY_DAYS: i64 = 90;

/// The fixed "now" of a generated backlog: midnight UTC on a day of 2025 chosen by the seed. Every item is created
/// within the `HISTORY_DAYS` before it and updated no later than it.
pub fn epoch(seed: u64) -> DateTime<Utc> {
    const DAYS_TO_2025: i64 = 20_089;
    let day = i64::try_from(seed % 365).unwrap_or_default();
    DateTime::UNIX_EPOCH + TimeDelta::days(DAYS_TO_2025 + day)
}

/// Generates `items_per_tracker` items for each tracker, ordered by creation time.
pub fn generate(opts: &GenOptions) -> Vec<GeneratedItem> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let now = epoch(opts.seed);
    let per_tracker = opts.items_per_tracker;
    let misfiled = misfiled_count(per_tracker, opts.misfiled_share);
    let mut items = Vec::with_capacity(per_tracker * 2);
    for home in [Home::Jira, Home::ServiceNow] {
        let mut wrong_home = vec![false; per_tracker];
        wrong_home[..misfiled].fill(true);
        wrong_home.shuffle(&mut rng);
        for misfiled in wrong_home {
            let value = (home == Home::Jira) != misfiled;
            items.push(item(&mut rng, home, value, now));
        }
    }
    items.sort_by_key(|item| item.created);
    items
}

/// `round(n * share)`, with the share clamped to `0..=1` (NaN counts as 0).
fn misfiled_count(per_tracker: usize, share: f64) -> usize {
    let share = if share.is_nan() { 0.0 } else { share.clamp(0.0, 1.0) };
    // Exact for any realistic item count (below 2^52); the result never exceeds `per_tracker`.
    ((per_tracker as f64 * share).round() as usize).min(per_tracker)
}

/// How an item is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// A few words, often no description.
    Terse,
    Plain,
    /// Greeting, several paragraphs, more often a log excerpt, a sign-off.
    Verbose,
}

fn item(rng: &mut ChaCha8Rng, home: Home, value: bool, now: DateTime<Utc>) -> GeneratedItem {
    let kind = match (value, rng.random_bool(if value { 0.55 } else { 0.45 })) {
        (true, true) => Kind::Feature,
        (true, false) => Kind::Defect,
        (false, true) => Kind::Incident,
        (false, false) => Kind::Request,
    };
    let scenarios = match kind {
        Kind::Feature => catalog::FEATURES,
        Kind::Defect => catalog::DEFECTS,
        Kind::Incident => catalog::INCIDENTS,
        Kind::Request => catalog::REQUESTS,
    };
    let scenario = pick(rng, scenarios);
    let domain = match scenario.domain {
        Some(index) => vocab::DOMAINS[index],
        None => *pick(rng, vocab::DOMAINS),
    };
    let levels = if value { (0, 0) } else { (*pick(rng, scenario.impacts), *pick(rng, scenario.urgencies)) };
    let first = *pick(rng, vocab::FIRST_NAMES);
    let last = *pick(rng, vocab::LAST_NAMES);
    let reporter = match home {
        Home::Jira => format!("{first} {last}"),
        Home::ServiceNow => format!("{}.{}", first.to_lowercase(), last.to_lowercase()),
    };
    let created = created_at(rng, now, kind);
    let style = match rng.random_range(0..10u8) {
        0..=2 => Style::Terse,
        3..=7 => Style::Plain,
        _ => Style::Verbose,
    };

    let mut ctx = Ctx::new(rng, domain, kind, levels, first);
    let summary = summary(&mut ctx, scenario, style);
    let description = description(&mut ctx, scenario, style, created);
    let rng = ctx.rng;

    let filing =
        filing::file(rng, &Facts { home, kind, queue: scenario.queue, impact: levels.0, urgency: levels.1, domain });
    let updated = updated_at(rng, created, now, filing.closed);
    GeneratedItem {
        home,
        filed_type: filing.filed_type.to_string(),
        summary,
        description,
        labels: filing.labels,
        reporter,
        created,
        updated,
        status: filing.status.to_string(),
        assignment_group: filing.assignment_group,
        impact: filing.impact,
        urgency: filing.urgency,
        category: filing.category,
        contact_type: filing.contact_type,
        story_points: filing.story_points,
        truth: Truth {
            class: kind.class().to_string(),
            kind: kind.as_str().to_string(),
            queue: scenario.queue.map(|q| q.as_str().to_string()),
            impact: (!value).then_some(levels.0),
            urgency: (!value).then_some(levels.1),
        },
    }
}

fn summary(ctx: &mut Ctx<'_>, scenario: &Scenario, style: Style) -> String {
    let terse = style == Style::Terse && !scenario.terse.is_empty();
    let template = *pick(ctx.rng, if terse { scenario.terse } else { scenario.summaries });
    let mut summary = ctx.render(template);
    if ctx.rng.random_bool(0.08) {
        let prefix = *pick(ctx.rng, text::prefixes(ctx.kind, ctx.urgency));
        summary.insert_str(0, prefix);
    }
    let (typo_rate, lower_share) = if style == Style::Terse { (0.05, 0.3) } else { (0.02, 0.08) };
    let summary = text::typos(ctx.rng, &summary, typo_rate);
    text::casing(ctx.rng, summary, lower_share)
}

fn description(ctx: &mut Ctx<'_>, scenario: &Scenario, style: Style, created: DateTime<Utc>) -> String {
    let mut prose = Vec::new();
    let with_body = style != Style::Terse || ctx.rng.random_bool(0.5);
    if with_body {
        let body = *pick(ctx.rng, scenario.bodies);
        prose.push(ctx.render(body));
    }
    if style == Style::Verbose {
        let extras = text::extra_paragraphs(ctx.kind);
        let extra = *pick(ctx.rng, extras);
        prose.push(ctx.render(extra));
    }
    let mut parts: Vec<String> = prose.iter().map(|p| text::typos(ctx.rng, p, 0.01)).collect();
    if style == Style::Verbose {
        parts.insert(0, (*pick(ctx.rng, text::GREETINGS)).to_string());
    }
    if !ctx.kind.is_value() {
        let incident = ctx.kind == Kind::Incident;
        if !ctx.said.scope && (incident || ctx.impact != 3) {
            parts.push(ctx.level_sentence(true));
        }
        if !ctx.said.urgency && (incident || ctx.urgency != 3) {
            parts.push(ctx.level_sentence(false));
        }
    }
    let log_share = match style {
        Style::Terse => 0.1,
        Style::Plain => 0.3,
        Style::Verbose => 0.6,
    };
    if !scenario.logs.is_empty() && ctx.rng.random_bool(log_share) {
        let log = *pick(ctx.rng, scenario.logs);
        parts.push(logs::excerpt(ctx, log, created));
    }
    if style == Style::Verbose {
        let sign_off = *pick(ctx.rng, text::SIGN_OFFS);
        parts.push(ctx.render(sign_off));
    }
    parts.join("\n\n")
}

/// A creation time within the history window, mostly in working hours (incidents happen at night too).
fn created_at(rng: &mut ChaCha8Rng, now: DateTime<Utc>, kind: Kind) -> DateTime<Utc> {
    let days_back = rng.random_range(1..=HISTORY_DAYS);
    let hour =
        if kind == Kind::Incident && rng.random_bool(0.2) { rng.random_range(0..24) } else { rng.random_range(7..19) };
    let second = rng.random_range(0..3600);
    now - TimeDelta::days(days_back) + TimeDelta::hours(hour) + TimeDelta::seconds(second)
}

/// The last update: untouched for about a third of open items, later otherwise, never after `now`.
fn updated_at(rng: &mut ChaCha8Rng, created: DateTime<Utc>, now: DateTime<Utc>, closed: bool) -> DateTime<Utc> {
    let room = (now - created).num_seconds();
    if room <= 0 || (!closed && rng.random_bool(0.35)) {
        return created;
    }
    created + TimeDelta::seconds(rng.random_range(1..=room))
}
