//! The correction of a storm (issue 16, part 3): its reports are not moved one by one. One parent incident
//! is created in the service queue with the storm's priority; each report is attached to it:
//!
//! - an incident in the parent's service queue becomes its child (ServiceNow `parent_incident`; Jira: a
//!   link) and stays where it is;
//! - another item of a service queue (a requested item, which has no parent incident) is linked to it;
//! - a report in the product backlog is linked to it, its reporter told where the report went (a public
//!   note, once), and closed as handled by the parent, the way a moved original is closed.
//!
//! Pure: the plan of one storm from the storm, its priority and the configuration.

use serde::{Deserialize, Serialize};
use twotrack_api::connector::{NewItem, OriginRef};
use twotrack_api::{Kind, TrackerRole};

use crate::config::Config;
use crate::storm::{Member, Storm, StormPriority, duration};

/// The fewest distinct reporters of a storm that gets a correction.
pub const MIN_REPORTERS: usize = 2;

/// How one report is attached to the parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Attach {
    /// An incident of the parent's queue: becomes the parent's child and stays where it is.
    Child,
    /// Another item of a service queue: linked to the parent, stays where it is.
    Linked,
    /// A report in the product backlog: linked to the parent, its reporter told, closed.
    Gathered,
}

/// One report of a storm and what is done with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberPlan {
    pub tracker: String,
    pub key: String,
    pub url: String,
    pub summary: String,
    pub attach: Attach,
    /// The note for its reporter (`Gathered` only); `{target_key}` / `{target_url}` name the parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The note it is closed with (`Gathered` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_note: Option<String>,
    /// It joined a storm whose parent existed already (growth): the parent's description does not list
    /// it, so a work note on the parent does, once it is attached.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub joined: bool,
}

impl MemberPlan {
    /// `tracker:key`: the member's name in a storm correction's progress.
    pub fn id(&self) -> String {
        format!("{}:{}", self.tracker, self.key)
    }
}

/// The correction of one storm.
#[derive(Debug, Clone, PartialEq)]
pub struct StormPlan {
    /// The first report: names the storm (see [`crate::storm::Storm::anchor`]).
    pub anchor: (String, String),
    /// The service queue the parent is created in.
    pub service_tracker: String,
    /// The parent incident to create (found again by its origin, [`parent_origin`]).
    pub parent: NewItem,
    pub priority: u8,
    pub members: Vec<MemberPlan>,
}

/// The origin key a storm's parent carries (ServiceNow `correlation_id`, Jira label `twotrack-from-<key>`):
/// derived from the storm's first report, distinct from the origin of a moved item's twin.
pub fn parent_origin(anchor_key: &str) -> String {
    format!("storm-{anchor_key}")
}

/// The plan of `storm`: a parent in the first service queue of the configuration, and each of `members`
/// (the storm's reports that may be touched: open, no keep marker, not created by twotrack) attached to
/// it. `group` is the assignment group the parent goes to. `None` without a service queue or members.
pub fn plan_storm(
    config: &Config,
    storm: &Storm,
    priority: &StormPriority,
    members: &[&Member],
    group: Option<String>,
) -> Option<StormPlan> {
    // The first service queue that takes incidents, and where in it the parent goes.
    let (service, parent_target) = config.trackers.iter().find_map(|t| Some((t, t.target(Kind::Incident)?)))?;
    // Many reports from one person (a bulk import, one requester's batch) are no outage many people
    // report: reported by the audit, never gathered.
    if members.is_empty() || storm.reporters < MIN_REPORTERS {
        return None;
    }
    let (anchor_tracker, anchor_key) = storm.anchor();
    let anchor = &storm.members[0];
    let about = storm.words.join(", ");
    let plans = members
        .iter()
        .map(|m| {
            let role = config.tracker(&m.tracker).map(|t| t.role);
            let attach = match role {
                Some(TrackerRole::Service)
                    if m.tracker == service.name && m.filed_type.eq_ignore_ascii_case(&parent_target.item_type) =>
                {
                    Attach::Child
                }
                Some(TrackerRole::Service) => Attach::Linked,
                _ => Attach::Gathered,
            };
            let gathered = attach == Attach::Gathered;
            MemberPlan {
                tracker: m.tracker.clone(),
                key: m.key.clone(),
                url: m.url.clone(),
                summary: m.summary.clone(),
                attach,
                note: gathered.then(|| member_note(m, storm, &about, &config.policy.keep_label)),
                close_note: gathered.then(|| {
                    "Gathered by twotrack under {target_key} ({target_url}) with the other reports of the \
                              same event."
                        .to_string()
                }),
                joined: false,
            }
        })
        .collect();
    let parent = NewItem {
        kind: Kind::Incident,
        summary: format!("Many reports of one event: {about}"),
        description: parent_description(storm, priority),
        // The service queue's connector adds its own markers (Jira: the triage label).
        labels: Vec::new(),
        queue: group,
        impact: Some(priority.impact),
        urgency: Some(priority.urgency),
        priority: Some(priority.priority),
        origin: Some(OriginRef {
            tracker: anchor_tracker.to_string(),
            key: parent_origin(anchor_key),
            url: anchor.url.clone(),
            summary: anchor.summary.clone(),
        }),
        work_note: Some(format!(
            "Priority derived by twotrack for the whole event: {}",
            priority.derivation.join("; ")
        )),
        reporter: None,
    };
    Some(StormPlan {
        anchor: (anchor_tracker.to_string(), anchor_key.to_string()),
        service_tracker: service.name.clone(),
        parent,
        priority: priority.priority,
        members: plans,
    })
}

/// What the reporter of a report in the product backlog is told.
fn member_note(m: &Member, storm: &Storm, about: &str, keep: &str) -> String {
    format!(
        "Hello{reporter}, {n} reports of the same problem arrived at about the same time ({about}), so twotrack \
         gathered the reports under one incident in the service queue: {{target_key}} {{target_url}}\nYour report \
         is linked to it and closed here; please follow the incident there. If your report is about something \
         else, add the label `{keep}` to it and reopen it; twotrack will leave it alone.",
        reporter = m.reporter.as_deref().map(|r| format!(" {r}")).unwrap_or_default(),
        n = storm.members.len(),
    )
}

/// The parent's description: what happened, when, to whom, and every report gathered at its creation.
fn parent_description(storm: &Storm, priority: &StormPriority) -> String {
    let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let mut reporters: Vec<&str> = storm.members.iter().filter_map(|m| m.reporter.as_deref()).collect();
    reporters.sort_unstable();
    reporters.dedup();
    let mut text = format!(
        "Gathered by twotrack: {headline}.\nFirst report {first}, last {last} (span {span}).\nPriority {name}: {why}.\n\
         Reporters ({count}): {who}\n\nReports:\n",
        headline = storm.headline(),
        first = time(storm.first),
        last = time(storm.last),
        span = duration(storm.span()),
        name = priority.name,
        why = priority.derivation.join("; "),
        count = reporters.len(),
        who = reporters.join(", "),
    );
    for m in &storm.members {
        text += &format!(
            "- {} {} ({}, {}): {} {}\n",
            m.tracker,
            m.key,
            m.reporter.as_deref().unwrap_or("unknown reporter"),
            time(m.created),
            m.summary,
            m.url
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta};

    use super::*;
    use crate::storm::{StormParams, prioritise};

    fn config() -> Config {
        crate::config::two_trackers_for_test()
    }

    fn member(tracker: &str, key: &str, filed_type: &str, minute: i64) -> Member {
        Member {
            tracker: tracker.into(),
            key: key.into(),
            url: format!("https://example.com/{key}"),
            summary: "checkout is down".into(),
            filed_type: filed_type.into(),
            reporter: Some(format!("reporter of {key}")),
            created: DateTime::UNIX_EPOCH + TimeDelta::minutes(minute),
            urgency: Some(1),
            similarity: 0.8,
        }
    }

    #[test]
    fn each_report_is_attached_by_where_it_sits() {
        let config = config();
        let members = vec![
            member("jira", "SHOP-1", "Bug", 0),
            member("servicenow", "INC1", "incident", 3),
            member("servicenow", "RITM1", "sc_req_item", 5),
        ];
        let storm = Storm {
            first: members[0].created,
            last: members[2].created,
            members,
            words: vec!["checkout".into(), "down".into()],
            reporters: 3,
            expected: 0.01,
        };
        let priority = prioritise(&storm, None, &StormParams::default(), &config.priority);
        let refs: Vec<&Member> = storm.members.iter().collect();
        let plan = plan_storm(&config, &storm, &priority, &refs, Some("Service Desk".into())).expect("a plan");
        assert_eq!(plan.service_tracker, "servicenow");
        assert_eq!(plan.anchor, ("jira".to_string(), "SHOP-1".to_string()));
        let attach: Vec<Attach> = plan.members.iter().map(|m| m.attach).collect();
        assert_eq!(attach, [Attach::Gathered, Attach::Child, Attach::Linked]);
        // Only the backlog's report is told and closed.
        assert!(
            plan.members[0].note.as_deref().is_some_and(|n| n.contains("{target_key}") && n.contains("twotrack-keep"))
        );
        assert!(plan.members[1].note.is_none() && plan.members[2].close_note.is_none());
        // The parent: an incident with the storm's priority, found again by its own origin.
        assert_eq!((plan.parent.kind, plan.parent.impact, plan.parent.urgency), (Kind::Incident, Some(2), Some(1)));
        assert_eq!(plan.parent.origin.as_ref().map(|o| o.key.as_str()), Some("storm-SHOP-1"));
        assert!(
            plan.parent.description.contains("- servicenow RITM1 (reporter of RITM1"),
            "{}",
            plan.parent.description
        );
        assert_eq!(plan.parent.queue.as_deref(), Some("Service Desk"));
        // Nothing to attach, or one reporter's batch: no correction.
        assert!(plan_storm(&config, &storm, &priority, &[], None).is_none());
        let batch = Storm { reporters: 1, ..storm.clone() };
        assert!(plan_storm(&config, &batch, &priority, &refs, None).is_none());
    }
}
