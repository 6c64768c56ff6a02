//! Planning: from items and their verdicts to findings (misfiled, misrouted, misprioritised) and the
//! corrections `apply` would carry out. Pure: no I/O, no clock.
//!
//! The guards that never depend on confidence live here too: closed items, items a human marked to
//! keep, items twotrack itself created (twins), and originals a human reopened after their move
//! ([`after`]) are never planned for a move.

pub mod after;
mod keys;
pub mod storm;

use serde::{Deserialize, Serialize};
use twotrack_api::connector::{NewItem, OriginRef, Target};
use twotrack_api::{Class, Item, TrackerKind, TrackerRole};

use crate::classify::site::SiteOptions;
use crate::classify::{Action, Classifier, Site, Verdict};
use crate::config::{Config, TrackerConfig};
use crate::parallel::Decode;
pub use after::{HumanDecision, Moved, Moves, RETURN_LABEL, RETURN_RESOLUTIONS, Returns, label_with, site_label};
pub use keys::ItemKeys;

/// The label every twin twotrack creates carries (besides its origin marker).
pub const MOVED_LABEL: &str = "twotrack-moved";

/// The label by which a human says "this item stays where it is" (`policy.keep_label`), unless configured.
pub const DEFAULT_KEEP_LABEL: &str = "twotrack-keep";

/// What is wrong with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// In the wrong tracker: Work in the product backlog or Value in the service queue.
    Misfiled,
    /// A service item in the wrong queue (assignment group).
    Misrouted,
    /// A service item whose priority disagrees with impact x urgency.
    Misprioritised,
    /// An original a human reopened after twotrack moved it (reported with its twin; never moved again).
    ReopenedAfterMove,
    /// A twin a human returned as not belonging where twotrack put it (reported with its original).
    ReturnedByHuman,
}

impl FindingKind {
    /// Every kind, in the order the report lists them.
    pub const ALL: [FindingKind; 5] = [
        FindingKind::Misfiled,
        FindingKind::Misrouted,
        FindingKind::Misprioritised,
        FindingKind::ReopenedAfterMove,
        FindingKind::ReturnedByHuman,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Misfiled => "misfiled",
            FindingKind::Misrouted => "misrouted",
            FindingKind::Misprioritised => "misprioritised",
            FindingKind::ReopenedAfterMove => "reopened-after-move",
            FindingKind::ReturnedByHuman => "returned-by-human",
        }
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `apply` would do about a finding.
#[derive(Debug, Clone, PartialEq)]
pub enum Correction {
    /// Create the twin in the right tracker, link both ways, tell the reporter, close the original.
    Move(Box<MovePlan>),
    /// Reassign the service item to another queue.
    Reroute { queue: String, group: String, note: String },
    /// Set impact and urgency (the tracker derives the priority).
    Reprioritise { impact: u8, urgency: u8, priority: u8, note: String },
}

/// The exact target of a move, and every text it would write.
#[derive(Debug, Clone, PartialEq)]
pub struct MovePlan {
    pub source: OriginRef,
    pub target_tracker: String,
    pub target_kind: TrackerKind,
    /// Jira project key or ServiceNow table.
    pub container: String,
    /// Jira issue type, or the ServiceNow table again.
    pub item_type: String,
    /// The twin to create.
    pub new_item: NewItem,
    /// The priority name, for Work (Value gets none: the product owner decides).
    pub priority_name: Option<String>,
    /// The comment left on the original for its reporter; `{target_key}` and `{target_url}` are filled in
    /// once the twin exists.
    pub source_note: String,
    /// The note the original is closed with.
    pub close_note: String,
}

/// One finding about one item.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: FindingKind,
    pub item: Item,
    pub filed_as: TrackerRole,
    pub verdict: Verdict,
    /// Move / Review for misfiled items; for misroutes and misprioritisations, Move means "apply would
    /// fix it" (its policy switch is on) and Review "reported only".
    pub action: Action,
    /// Where the item is and where it should be (also for review-only findings, which plan no
    /// correction).
    pub change: Change,
    /// What apply would do; `None` for review-only findings.
    pub correction: Option<Correction>,
}

/// A finding's from -> to: where the item is, and where the evidence puts it.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Misfiled: from its tracker to the tracker that holds its class (`to` is `None` where no such
    /// tracker is configured).
    Tracker { from: String, from_role: TrackerRole, to: Option<String>, to_role: TrackerRole },
    /// Misrouted: from its assignment group (`None`: unassigned) to the proposed group.
    Group { from: Option<String>, to: String },
    /// Misprioritised: from the priority its filed impact x urgency give to the one the text gives.
    Priority { from: PriorityLevel, to: PriorityLevel },
    /// Reopened after move / returned by a human: the original and its twin, as they are now
    /// ([`Moved::from_to`] says it in words).
    AfterMove(Box<Moved>),
}

/// A priority with the impact and urgency it derives from (via the priority matrix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorityLevel {
    pub impact: u8,
    pub urgency: u8,
    pub priority: u8,
}

/// Everything twotrack learned about one item in a planning pass (also for items without findings).
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub item: Item,
    pub filed_as: TrackerRole,
    pub verdict: Verdict,
    pub misfiled: bool,
    pub action: Action,
    /// Why the item is exempt from moves, if it is.
    pub exempt: Option<Exemption>,
    /// The calibrated probability that the item is in the wrong tracker (rules, site model, prior).
    pub p_misfiled: f64,
    /// The move this item is a side of, where a human acted on it after it was made.
    pub after_move: Option<Moved>,
}

/// Why an item is never moved, whatever its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exemption {
    Closed,
    /// A human put the keep marker on it.
    KeepMarker,
    /// twotrack created it (a twin): never moved again, so no ping-pong.
    Twin,
    /// twotrack moved it and a human reopened it afterwards: the human's word wins.
    AfterMove,
}

/// What a planning pass needs.
pub struct Planner<'a> {
    pub config: &'a Config,
    pub classifier: &'a Classifier,
    /// The site as learned from the mirror ([`learn_site`]).
    pub site: &'a Site,
    /// Whether the `[[queue]]` rules may judge routing here: not on a site whose service queues hold
    /// none of their groups (it names its groups otherwise, and every item would read as misrouted).
    pub queue_rules_apply: bool,
    /// The moves twotrack made, with both sides as they are now ([`Planner::with_moves`]); empty unless
    /// given.
    pub moves: Moves,
}

impl<'a> Planner<'a> {
    pub fn new(config: &'a Config, classifier: &'a Classifier, site: &'a Site) -> Self {
        let fallback = config.queues.len().saturating_sub(1);
        let queue_rules_apply = site.groups().is_empty()
            || config
                .queues
                .iter()
                .take(fallback)
                .any(|q| site.groups().keys().any(|g| g.eq_ignore_ascii_case(&q.group)));
        Planner { config, classifier, site, queue_rules_apply, moves: Moves::default() }
    }

    /// The same planner, knowing the moves made so far: an original reopened after its move is never
    /// moved again, and the sides of a move a human acted on are reported ([`after`]).
    pub fn with_moves(mut self, moves: Moves) -> Self {
        self.moves = moves;
        self
    }

    /// Classify one item and decide what it needs. `None` when its tracker is not configured.
    ///
    /// The verdict says where the item belongs by all the evidence: for a move or a review, the
    /// class of the other tracker; for an item that stays, the class of its own (its kind, queue and
    /// priority follow within that class). Its confidence is the probability of that.
    pub fn assess(&self, item: Item) -> Option<Assessment> {
        let tracker = self.config.tracker(&item.tracker)?;
        let policy = &self.config.policy;
        let (verdict, placement) = self.site.judge(self.classifier, &item, tracker.role, policy.moves());
        let p = placement.p_misfiled;
        let exempt = if !item.open {
            Some(Exemption::Closed)
        } else if item.has_label(&policy.keep_label) {
            Some(Exemption::KeepMarker)
        } else if is_twin(&item) {
            Some(Exemption::Twin)
        } else if self.moves.of_original(&item).is_some() {
            Some(Exemption::AfterMove)
        } else {
            None
        };
        let after_move = match self.moves.of_original(&item) {
            Some(m) => Some(m),
            // A twin is reported only where it was returned; a reopened original speaks for the pair.
            None => self.moves.of_twin(&item).filter(|m| m.returned),
        }
        .filter(|m| m.decision().is_some())
        .cloned();
        Some(Assessment {
            filed_as: tracker.role,
            misfiled: placement.action != Action::Keep,
            action: placement.action,
            verdict,
            item,
            exempt,
            p_misfiled: p,
            after_move,
        })
    }

    /// The findings for one assessed item (none, one, or for a service item possibly two).
    pub fn findings(&self, a: &Assessment) -> Vec<Finding> {
        let mut out = Vec::new();
        if let Some(m) = &a.after_move {
            out.extend(self.after_move(a, m));
        }
        if a.exempt.is_some() {
            return out;
        }
        if a.misfiled {
            if a.action == Action::Keep {
                return out;
            }
            let correction = match a.action {
                Action::Move => self.move_plan(a).map(|p| Correction::Move(Box::new(p))),
                _ => None,
            };
            // A move with nowhere to go is a review.
            let action = if correction.is_some() { a.action } else { Action::Review };
            let to_role = a.verdict.class.home();
            let change = Change::Tracker {
                from: a.item.tracker.clone(),
                from_role: a.filed_as,
                to: self.target_tracker(a).map(|(t, _)| t.name.clone()),
                to_role,
            };
            out.push(Finding {
                kind: FindingKind::Misfiled,
                item: a.item.clone(),
                filed_as: a.filed_as,
                verdict: a.verdict.clone(),
                action,
                change,
                correction,
            });
            return out;
        }
        if a.filed_as == TrackerRole::Service && a.verdict.class == Class::Work {
            out.extend(self.misroute(a));
            out.extend(self.misprioritisation(a));
        }
        out
    }

    /// What a human did after the move of which the item is a side: reported with both keys, for a
    /// human to act on (never corrected by twotrack).
    fn after_move(&self, a: &Assessment, m: &Moved) -> Option<Finding> {
        let kind = match m.decision()? {
            HumanDecision::Reopened => FindingKind::ReopenedAfterMove,
            HumanDecision::Returned => FindingKind::ReturnedByHuman,
        };
        Some(Finding {
            kind,
            item: a.item.clone(),
            filed_as: a.filed_as,
            verdict: a.verdict.clone(),
            action: Action::Review,
            change: Change::AfterMove(Box::new(m.clone())),
            correction: None,
        })
    }

    /// Whether a service item sits in the wrong group: by the site's own routing history where it
    /// learned one ([`Site::routing`]), else by the `[[queue]]` rules.
    fn misroute(&self, a: &Assessment) -> Option<Finding> {
        let current = a.item.queue.as_deref().map(str::trim).filter(|c| !c.is_empty());
        // The verdict is copied only for a finding (most service items sit in the right group).
        let mut verdict;
        let (queue, group, action) = match self.site.routing(&a.item) {
            Some(e) => {
                let (action, _) = e.decide(current, self.config.policy.moves().thresholds);
                if action == Action::Keep {
                    return None;
                }
                verdict = a.verdict.clone();
                verdict.reasons.insert(0, self.site.route_reason(&a.item, &e, action));
                (e.group.clone(), e.group, action)
            }
            None => {
                let queues = &self.config.queues;
                let queue = queues.iter().find(|q| Some(q.name.as_str()) == a.verdict.queue.as_deref())?;
                // The fallback queue (the last one) is where unrouted work goes: no evidence, no finding.
                if queues.last().is_some_and(|last| last.name == queue.name) {
                    return None;
                }
                if current.is_some_and(|c| c.eq_ignore_ascii_case(&queue.group) || c.eq_ignore_ascii_case(&queue.name))
                {
                    return None;
                }
                // On a site that names its groups otherwise the rules cannot judge (the audit's notes
                // say so).
                if !self.queue_rules_apply {
                    return None;
                }
                verdict = a.verdict.clone();
                (queue.name.clone(), queue.group.clone(), Action::Move)
            }
        };
        let fix = self.config.policy.fix_routing && action == Action::Move;
        let note = format!(
            "twotrack: reassigned from {} to {group} ({}).",
            current.unwrap_or("no group"),
            reasons_line(&verdict, 3),
        );
        Some(Finding {
            kind: FindingKind::Misrouted,
            item: a.item.clone(),
            filed_as: a.filed_as,
            verdict,
            action: if fix { Action::Move } else { Action::Review },
            change: Change::Group { from: current.map(str::to_string), to: group.clone() },
            correction: fix.then_some(Correction::Reroute { queue, group, note }),
        })
    }

    fn misprioritisation(&self, a: &Assessment) -> Option<Finding> {
        let (impact, urgency, priority) = (a.verdict.impact?, a.verdict.urgency?, a.verdict.priority?);
        let (filed_impact, filed_urgency) = (a.item.impact?, a.item.urgency?);
        let filed = self.config.priority.priority(filed_impact, filed_urgency);
        if filed == priority {
            return None;
        }
        let fix = self.config.policy.fix_priority;
        let m = &self.config.priority;
        let note = format!(
            "twotrack: priority {} -> {} (impact {impact} x urgency {urgency} via the priority matrix; {}).",
            m.name(filed),
            m.name(priority),
            reasons_line(&a.verdict, 3),
        );
        Some(Finding {
            kind: FindingKind::Misprioritised,
            item: a.item.clone(),
            filed_as: a.filed_as,
            verdict: a.verdict.clone(),
            action: if fix { Action::Move } else { Action::Review },
            change: Change::Priority {
                from: PriorityLevel { impact: filed_impact, urgency: filed_urgency, priority: filed },
                to: PriorityLevel { impact, urgency, priority },
            },
            correction: fix.then_some(Correction::Reprioritise { impact, urgency, priority, note }),
        })
    }

    /// The tracker a misfiled item would move to, and where in it: the first other tracker that holds
    /// its class and takes its kind.
    fn target_tracker(&self, a: &Assessment) -> Option<(&'a TrackerConfig, Target)> {
        let home = a.verdict.class.home();
        self.config
            .trackers
            .iter()
            .filter(|t| t.role == home && t.name != a.item.tracker)
            .find_map(|t| Some((t, t.target(a.verdict.kind)?)))
    }

    /// Where a misfiled item would go, and what would be written.
    pub fn move_plan(&self, a: &Assessment) -> Option<MovePlan> {
        let (target, place) = self.target_tracker(a)?;
        let source_cfg = self.config.tracker(&a.item.tracker)?;
        // Work goes to the group the site's history routes it to, where it is sure of one; else to
        // the group of the `[[queue]]` the rules chose.
        let learned = (a.verdict.class == Class::Work)
            .then(|| self.site.route.score(&a.item.key, &a.item.summary, &a.item.description, None))
            .flatten()
            .filter(|e| e.p >= 0.5)
            .map(|e| e.group);
        Some(build_move(a, source_cfg, (target, place), self.config, learned))
    }
}

/// Whether twotrack created the item (a twin).
pub fn is_twin(item: &Item) -> bool {
    item.origin.is_some() || item.has_label(MOVED_LABEL)
}

/// [`learn_site_with_moves`] where no moves are known (a set of items, not a mirror).
pub fn learn_site<T: Decode<E>, E: Send>(
    config: &Config,
    classifier: &Classifier,
    items: impl IntoIterator<Item = Result<T, E>, IntoIter: Send>,
) -> Result<Site, E> {
    learn_site_with_moves(config, classifier, items, &Moves::default())
}

/// Learn the site from its mirror ([`Site::learn`]), in one pass over every mirrored item, each labelled
/// by [`site_label`]: items a human decided about (the keep marker; twins twotrack created, which stayed
/// where they were put; twins returned by a human, labelled with the tracker they were returned to;
/// originals reopened after their move) count as clean labels.
pub fn learn_site_with_moves<T: Decode<E>, E: Send>(
    config: &Config,
    classifier: &Classifier,
    items: impl IntoIterator<Item = Result<T, E>, IntoIter: Send>,
    moves: &Moves,
) -> Result<Site, E> {
    let options = SiteOptions { min_per_role: config.policy.site_min_items, ..SiteOptions::default() };
    Site::learn_labelled(
        classifier,
        options,
        items,
        |item| config.tracker(&item.tracker).map(|t| t.role),
        |item| site_label(config, moves, item),
    )
}

fn build_move(
    a: &Assessment,
    _source: &TrackerConfig,
    (target, place): (&TrackerConfig, Target),
    config: &Config,
    learned_group: Option<String>,
) -> MovePlan {
    let item = &a.item;
    let v = &a.verdict;
    let Target { container, item_type } = place;
    let work = v.class == Class::Work;
    let group = learned_group.or_else(|| {
        v.queue.as_deref().and_then(|q| config.queues.iter().find(|s| s.name == q)).map(|s| s.group.clone())
    });
    let priority_name = if work { v.priority.map(|p| config.priority.name(p).to_string()) } else { None };
    let reporter = item.reporter.as_deref().unwrap_or("unknown");
    let description = format!(
        "Moved by twotrack from {tracker} {key} ({url}).\nReported by {reporter} on {created}.\n\n{body}",
        tracker = item.tracker,
        key = item.key,
        url = item.url,
        created = item.created.format("%Y-%m-%d %H:%M UTC"),
        body = item.description,
    );
    let work_note = work.then(|| {
        format!(
            "Priority derived by twotrack: impact {} x urgency {} = {} via the priority matrix. Why: {}",
            v.impact.map_or("?".into(), |i| i.to_string()),
            v.urgency.map_or("?".into(), |u| u.to_string()),
            priority_name.as_deref().unwrap_or("?"),
            reasons_line(v, 5),
        )
    });
    let new_item = NewItem {
        kind: v.kind,
        summary: item.summary.clone(),
        description,
        // The target's connector adds its own markers (Jira: the triage label) and decides whether to
        // carry these.
        labels: carried_labels(item, config),
        queue: if work { group.clone() } else { None },
        impact: if work { v.impact } else { None },
        urgency: if work { v.urgency } else { None },
        priority: if work { v.priority } else { None },
        origin: Some(OriginRef {
            tracker: item.tracker.clone(),
            key: item.key.clone(),
            url: item.url.clone(),
            summary: item.summary.clone(),
        }),
        work_note,
        reporter: None,
    };
    let (what, place) = match v.class {
        Class::Work => ("service work", "the service queue"),
        Class::Value => ("product work (a feature or defect)", "the product backlog"),
    };
    let source_note = format!(
        "Hello{reporter_part}, this looks like {what} ({kind}), so twotrack moved it to {place}: \
         {{target_key}} {{target_url}}\nWhy: {why}\nPlease follow it there. If this was wrong, add the label \
         `{keep}` to this item and reopen it; twotrack will leave it alone.",
        reporter_part = item.reporter.as_deref().map(|r| format!(" {r}")).unwrap_or_default(),
        kind = v.kind.as_str(),
        why = reasons_line(v, 3),
        keep = config.policy.keep_label,
    );
    let close_note = "Moved by twotrack to {target_key} ({target_url}).".to_string();
    MovePlan {
        source: OriginRef {
            tracker: item.tracker.clone(),
            key: item.key.clone(),
            url: item.url.clone(),
            summary: item.summary.clone(),
        },
        target_tracker: target.name.clone(),
        target_kind: target.kind(),
        container,
        item_type,
        new_item,
        priority_name,
        source_note,
        close_note,
    }
}

/// The original's labels and components a twin may carry: all but twotrack's own markers (the origin and
/// moved labels, the keep and return markers).
pub fn carried_labels(item: &Item, config: &Config) -> Vec<String> {
    let ours = |label: &str| {
        label.to_ascii_lowercase().starts_with("twotrack-")
            || label.eq_ignore_ascii_case(&config.policy.keep_label)
            || label.eq_ignore_ascii_case(&config.policy.returns.label)
    };
    let mut carried: Vec<String> = Vec::new();
    for label in item.labels.iter().map(String::as_str).chain(item.components()) {
        if !ours(label) && !carried.iter().any(|c| c.eq_ignore_ascii_case(label)) {
            carried.push(label.to_string());
        }
    }
    carried
}

/// The strongest reasons of a verdict on one line.
pub fn reasons_line(v: &Verdict, max: usize) -> String {
    let mut reasons: Vec<_> = v.reasons.iter().collect();
    reasons.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
    let parts: Vec<String> = reasons.iter().take(max).map(|r| format!("{} ({})", r.rule, r.evidence)).collect();
    if parts.is_empty() { "no strong signal".to_string() } else { parts.join("; ") }
}

/// Fill `{target_key}` / `{target_url}` in a note template.
pub fn fill(template: &str, target_key: &str, target_url: &str) -> String {
    template.replace("{target_key}", target_key).replace("{target_url}", target_url)
}
