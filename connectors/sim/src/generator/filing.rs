//! How an item lands in a tracker: the issue type or table someone picked, its status, and the service fields a
//! caller or an agent filled in (sometimes wrongly: misrouted and misprioritised tickets are part of the mix).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::catalog::{Kind, Queue};
use super::model::Home;
use super::text::pick;
use super::vocab::Domain;

/// Share of correctly filed Work whose assignment group is wrong (misrouted).
const MISROUTED: f64 = 0.10;
/// Share of correctly filed Work whose filed impact or urgency is wrong (misprioritised).
const MISPRIORITISED: f64 = 0.10;

/// Everything about an item that depends on where it was filed.
pub(super) struct Filing {
    pub filed_type: &'static str,
    pub status: &'static str,
    /// Whether `status` is a closed one (Done, Resolved, Closed, Closed Complete).
    pub closed: bool,
    pub assignment_group: Option<String>,
    pub impact: Option<u8>,
    pub urgency: Option<u8>,
    pub category: Option<String>,
    pub contact_type: Option<String>,
    pub labels: Vec<String>,
    pub story_points: Option<f64>,
}

/// The truth of an item, as far as filing needs it.
pub(super) struct Facts<'d> {
    pub home: Home,
    pub kind: Kind,
    pub queue: Option<Queue>,
    pub impact: u8,
    pub urgency: u8,
    pub domain: &'d Domain,
}

pub(super) fn file(rng: &mut ChaCha8Rng, facts: &Facts<'_>) -> Filing {
    match facts.home {
        Home::Jira => jira(rng, facts),
        Home::ServiceNow => servicenow(rng, facts),
    }
}

fn weighted<T: Copy>(rng: &mut ChaCha8Rng, choices: &[(T, u32)]) -> T {
    let total: u32 = choices.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for &(choice, weight) in choices {
        if roll < weight {
            return choice;
        }
        roll -= weight;
    }
    choices[choices.len() - 1].0
}

fn jira(rng: &mut ChaCha8Rng, facts: &Facts<'_>) -> Filing {
    let filed_type = weighted(
        rng,
        match facts.kind {
            Kind::Feature => &[("Story", 65), ("Improvement", 25), ("Task", 10)],
            Kind::Defect => &[("Bug", 85), ("Task", 10), ("Story", 5)],
            Kind::Incident => &[("Bug", 60), ("Task", 35), ("Story", 5)],
            Kind::Request => &[("Task", 65), ("Story", 20), ("Bug", 15)],
        },
    );
    let (status, closed) = weighted(rng, &[(("To Do", false), 55), (("In Progress", false), 25), (("Done", true), 20)]);
    let points_share = if facts.kind.is_value() { 0.6 } else { 0.2 };
    let story_points =
        (filed_type == "Story" && rng.random_bool(points_share)).then(|| f64::from(*pick(rng, &[1u8, 2, 3, 5, 8, 13])));
    Filing {
        filed_type,
        status,
        closed,
        assignment_group: None,
        impact: None,
        urgency: None,
        category: None,
        contact_type: None,
        labels: jira_labels(rng, facts),
        story_points,
    }
}

fn jira_labels(rng: &mut ChaCha8Rng, facts: &Facts<'_>) -> Vec<String> {
    let mut labels = Vec::new();
    if rng.random_bool(0.45) {
        return labels;
    }
    labels.push(pick(rng, facts.domain.labels).to_string());
    if rng.random_bool(0.35) {
        let extra: &[&str] = if facts.kind.is_value() {
            &["customer-reported", "tech-debt", "ux", "regression", "roadmap", "quick-win", "backend"]
        } else {
            &["ops", "support", "prod-issue", "it-request", "urgent", "backend"]
        };
        let label = pick(rng, extra).to_string();
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    labels
}

fn servicenow(rng: &mut ChaCha8Rng, facts: &Facts<'_>) -> Filing {
    let filed_type = weighted(
        rng,
        match facts.kind {
            Kind::Incident => &[("incident", 95), ("sc_req_item", 5)],
            Kind::Request => &[("sc_req_item", 60), ("sc_task", 20), ("incident", 20)],
            Kind::Feature => &[("sc_req_item", 45), ("incident", 30), ("rm_story", 15), ("rm_enhancement", 10)],
            Kind::Defect => &[("incident", 65), ("sc_req_item", 15), ("rm_defect", 10), ("rm_story", 10)],
        },
    );
    let (status, closed) = if filed_type == "incident" {
        weighted(
            rng,
            &[(("1", false), 45), (("2", false), 25), (("3", false), 8), (("6", true), 12), (("7", true), 10)],
        )
    } else {
        weighted(rng, &[(("1", false), 50), (("2", false), 25), (("-5", false), 5), (("3", true), 20)])
    };
    let (group, impact, urgency, category) = match facts.queue {
        Some(queue) => service_fields(rng, queue, facts.impact, facts.urgency),
        None => product_item_fields(rng),
    };
    let contact_type = weighted(rng, &[("self-service", 50), ("email", 30), ("phone", 15), ("walk-in", 5)]);
    Filing {
        filed_type,
        status,
        closed,
        assignment_group: Some(group.to_string()),
        impact: Some(impact),
        urgency: Some(urgency),
        category: category.map(str::to_string),
        contact_type: Some(contact_type.to_string()),
        labels: Vec::new(),
        story_points: None,
    }
}

/// Group, impact, urgency and category of a Work item in the service queue, now and then deliberately wrong.
fn service_fields(
    rng: &mut ChaCha8Rng,
    queue: Queue,
    impact: u8,
    urgency: u8,
) -> (&'static str, u8, u8, Option<&'static str>) {
    let group = if rng.random_bool(MISROUTED) {
        let others: Vec<Queue> = Queue::ALL.into_iter().filter(|q| *q != queue).collect();
        pick(rng, &others).group()
    } else {
        queue.group()
    };
    let (impact, urgency) =
        if rng.random_bool(MISPRIORITISED) { wrong_levels(rng, impact, urgency) } else { (impact, urgency) };
    let category = rng.random_bool(0.92).then(|| *pick(rng, queue.categories()));
    (group, impact, urgency, category)
}

/// A different (impact, urgency) pair: one or both levels changed.
fn wrong_levels(rng: &mut ChaCha8Rng, impact: u8, urgency: u8) -> (u8, u8) {
    let shift = |rng: &mut ChaCha8Rng, level: u8| {
        let others: Vec<u8> = (1..=3).filter(|l| *l != level).collect();
        *pick(rng, &others)
    };
    match rng.random_range(0..3u8) {
        0 => (shift(rng, impact), urgency),
        1 => (impact, shift(rng, urgency)),
        _ => (shift(rng, impact), shift(rng, urgency)),
    }
}

/// What a caller fills in when they put a product feature or defect into the service queue.
fn product_item_fields(rng: &mut ChaCha8Rng) -> (&'static str, u8, u8, Option<&'static str>) {
    let group = if rng.random_bool(0.6) { Queue::ServiceDesk.group() } else { pick(rng, &Queue::ALL).group() };
    let (impact, urgency) =
        if rng.random_bool(0.5) { (3, 3) } else { (rng.random_range(1..=3u8), rng.random_range(1..=3u8)) };
    let category = weighted(rng, &[(Some("software"), 70), (Some("inquiry"), 20), (None, 10)]);
    (group, impact, urgency, category)
}
