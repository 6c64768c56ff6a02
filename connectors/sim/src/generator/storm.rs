//! Storms: a burst of reports about one outage, in varied human wording, from many reporters, mixed into
//! ordinary traffic and partly filed in the wrong tracker. The truth (which items are reports of which
//! outage) is kept beside the items, as [`StormTruth`].

use chrono::{DateTime, TimeDelta, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::text::pick;
use super::{GenOptions, GeneratedItem, Home, Truth, epoch, generate, vocab};

/// One storm to mix in.
#[derive(Debug, Clone, PartialEq)]
pub struct StormOptions {
    /// How many reports the outage draws.
    pub reports: usize,
    /// Share of the reports filed in the product backlog (Jira) instead of the service queue.
    pub in_backlog: f64,
}

impl Default for StormOptions {
    fn default() -> Self {
        StormOptions { reports: 40, in_backlog: 0.25 }
    }
}

/// The truth about one generated storm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StormTruth {
    /// What went down ("checkout").
    pub outage: String,
    /// The positions of its reports in the generated items.
    pub members: Vec<usize>,
}

/// An outage: what people call the service, what they cannot do, and how it fails.
struct Outage {
    service: &'static [&'static str],
    action: &'static [&'static str],
    symptom: &'static [&'static str],
    queue: &'static str,
}

const OUTAGES: &[Outage] = &[
    Outage {
        service: &["checkout", "the checkout", "checkout page", "web shop checkout"],
        action: &["pay", "place an order", "complete checkout", "finish my order"],
        symptom: &["payment fails", "spinner never ends", "error 502 at payment", "card declined for everyone"],
        queue: "infrastructure",
    },
    Outage {
        service: &["VPN", "the VPN", "vpn gateway", "remote VPN"],
        action: &["connect from home", "reach the intranet", "work remotely", "log in to VPN"],
        symptom: &["connection times out", "tunnel drops after a minute", "authentication failed", "VPN client hangs"],
        queue: "network",
    },
    Outage {
        service: &["email", "Outlook", "mail server", "the mailbox"],
        action: &["send email", "receive mail", "open my inbox", "send to customers"],
        symptom: &["mails stuck in outbox", "inbox not syncing", "mail bounces back", "Outlook disconnected"],
        queue: "infrastructure",
    },
];

const SUMMARIES: &[&str] = &[
    "{service} is down",
    "{Service} down??",
    "URGENT: {service} not working",
    "can't {action}",
    "Cannot {action} - {service} broken",
    "{service} outage?",
    "Is {service} down for everyone?",
    "{service} not working since this morning",
    "{symptom}",
    "{Service}: {symptom}",
    "problem with {service}",
    "{service} error, cannot {action}",
];

const BODIES: &[&str] = &[
    "Since about {time} {service} does not work for me. {Symptom}. I cannot {action}.",
    "Hi, {service} seems to be down. {Symptom} every time I try. Colleagues have the same problem.",
    "We cannot {action} at all. {Service} just fails: {symptom}.",
    "{Symptom}. Tried twice, restarted my laptop, still the same. Is {service} down?",
    "Customers are calling us: nobody can {action}. {Service} is broken.",
    "{count} people in {dept} cannot {action} since {time}. {Service} gives an error.",
    "Not sure where to file this. {Service} is not working, {symptom}.",
];

const DEPARTMENTS: &[&str] = &["sales", "support", "finance", "the warehouse", "marketing", "our office"];
const COUNTS: &[&str] = &["All of us", "About 30", "Everyone", "12", "The whole team of 40", "Several"];

/// [`generate`], then the storms mixed in: each outage at its own hour of a day of the history, its
/// reports arriving over about two hours, fastest at the start. Items are ordered by creation time;
/// the truth gives each storm's positions in them.
pub fn generate_with_storms(opts: &GenOptions, storms: &[StormOptions]) -> (Vec<GeneratedItem>, Vec<StormTruth>) {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x5707_3a11);
    let now = epoch(opts.seed);
    let mut tagged: Vec<(GeneratedItem, Option<usize>)> = generate(opts).into_iter().map(|i| (i, None)).collect();
    let mut outages: Vec<usize> = (0..OUTAGES.len()).collect();
    outages.shuffle(&mut rng);
    let mut names = Vec::new();
    for (n, storm) in storms.iter().enumerate() {
        let outage = &OUTAGES[outages[n % outages.len()]];
        let start = now - TimeDelta::days(rng.random_range(3..80)) + TimeDelta::minutes(rng.random_range(0..1440));
        for _ in 0..storm.reports {
            // Arrivals: exponential, mean 40 minutes, so most reports land in the first two hours.
            let minutes = -40.0 * (1.0 - rng.random::<f64>()).ln();
            let created = start + TimeDelta::seconds((minutes * 60.0) as i64);
            let home = if rng.random_bool(storm.in_backlog.clamp(0.0, 1.0)) { Home::Jira } else { Home::ServiceNow };
            tagged.push((report(&mut rng, outage, home, created, now), Some(n)));
        }
        names.push(outage.service[0].to_string());
    }
    tagged.sort_by_key(|(item, _)| item.created);
    let mut truth: Vec<StormTruth> =
        names.into_iter().map(|outage| StormTruth { outage, members: Vec::new() }).collect();
    for (i, (_, storm)) in tagged.iter().enumerate() {
        if let Some(n) = storm {
            truth[*n].members.push(i);
        }
    }
    (tagged.into_iter().map(|(item, _)| item).collect(), truth)
}

/// One report of `outage`, as one person writes and files it.
fn report(
    rng: &mut ChaCha8Rng,
    outage: &Outage,
    home: Home,
    created: DateTime<Utc>,
    now: DateTime<Utc>,
) -> GeneratedItem {
    let service = *pick(rng, outage.service);
    let action = *pick(rng, outage.action);
    let symptom = *pick(rng, outage.symptom);
    let time = format!("{:02}:{:02}", rng.random_range(6..23), rng.random_range(0..60));
    let dept = *pick(rng, DEPARTMENTS);
    let count = *pick(rng, COUNTS);
    let fill = |template: &str| {
        template
            .replace("{Service}", &capitalised(service))
            .replace("{service}", service)
            .replace("{action}", action)
            .replace("{Symptom}", &capitalised(symptom))
            .replace("{symptom}", symptom)
            .replace("{time}", &time)
            .replace("{dept}", dept)
            .replace("{count}", count)
    };
    let template = *pick(rng, SUMMARIES);
    let mut summary = fill(template);
    if rng.random_bool(0.3) {
        summary = summary.to_lowercase();
    }
    let body = *pick(rng, BODIES);
    let description = if rng.random_bool(0.8) { fill(body) } else { String::new() };
    let first = *pick(rng, vocab::FIRST_NAMES);
    let last = *pick(rng, vocab::LAST_NAMES);
    let (filed_type, reporter, status) = match home {
        Home::Jira => (*pick(rng, &["Bug", "Bug", "Task"]), format!("{first} {last}"), "To Do"),
        Home::ServiceNow => (
            *pick(rng, &["incident", "incident", "incident", "sc_req_item"]),
            format!("{}.{}", first.to_lowercase(), last.to_lowercase()),
            "1",
        ),
    };
    let servicenow = home == Home::ServiceNow;
    let updated = (created + TimeDelta::minutes(rng.random_range(0..120))).min(now);
    GeneratedItem {
        home,
        filed_type: filed_type.to_string(),
        summary,
        description,
        labels: Vec::new(),
        reporter,
        created,
        updated: updated.max(created),
        status: status.to_string(),
        assignment_group: servicenow.then(|| "Service Desk".to_string()),
        impact: servicenow.then_some(3),
        urgency: servicenow.then_some(*pick(rng, &[1u8, 2, 3])),
        category: servicenow.then(|| "software".to_string()),
        contact_type: servicenow.then(|| (*pick(rng, &["email", "phone", "self-service"])).to_string()),
        story_points: None,
        truth: Truth {
            class: "work".into(),
            kind: "incident".into(),
            queue: Some(outage.queue.into()),
            impact: Some(1),
            urgency: Some(1),
        },
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storms_are_mixed_in_with_their_truth_and_nothing_else_changes() {
        let opts = GenOptions { seed: 3, items_per_tracker: 200, misfiled_share: 0.1 };
        let plain = generate(&opts);
        let (items, truth) = generate_with_storms(&opts, &[StormOptions { reports: 30, in_backlog: 0.3 }]);
        assert_eq!(items.len(), plain.len() + 30);
        assert_eq!(truth.len(), 1);
        assert_eq!(truth[0].members.len(), 30);
        let members: Vec<&GeneratedItem> = truth[0].members.iter().map(|&i| &items[i]).collect();
        assert!(members.iter().any(|m| m.home == Home::Jira), "some reports are filed in the backlog");
        assert!(members.iter().any(|m| m.home == Home::ServiceNow));
        let reporters: std::collections::HashSet<&str> = members.iter().map(|m| m.reporter.as_str()).collect();
        assert!(reporters.len() > 15, "many reporters: {}", reporters.len());
        let summaries: std::collections::HashSet<&str> = members.iter().map(|m| m.summary.as_str()).collect();
        assert!(summaries.len() > 10, "varied wording: {summaries:?}");
        assert!(items.windows(2).all(|w| w[0].created <= w[1].created));
        let span = members[members.len() - 1].created - members[0].created;
        assert!(span < TimeDelta::hours(12), "a burst: {span}");
        // The same options give the same storm.
        assert_eq!(generate_with_storms(&opts, &[StormOptions { reports: 30, in_backlog: 0.3 }]).1, truth);
    }
}
