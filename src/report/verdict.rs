//! One item's verdict: the JSON Lines of `twotrack classify` (and `explain --json`), and the text of
//! `twotrack explain`.

use std::io::Write;

use serde::Serialize;
use twotrack_api::{Class, Item, Kind, TrackerRole};

use crate::classify::{Action, Placement, PriorityMatrix, Thresholds, Verdict, decide};
use crate::plan::{Change, Exemption, Finding};

/// One output line of `twotrack classify` (and of `explain --json`).
#[derive(Debug, Serialize)]
pub struct VerdictLine<'a> {
    pub id: &'a str,
    pub class: Class,
    pub kind: Kind,
    pub confidence: f64,
    pub filed_as: TrackerRole,
    pub misfiled: bool,
    pub action: Action,
    pub queue: Option<&'a str>,
    pub impact: Option<u8>,
    pub urgency: Option<u8>,
    pub priority: Option<u8>,
    /// With the site's evidence: the calibrated probability that the item is in the wrong tracker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_misfiled: Option<f64>,
    pub reasons: Vec<String>,
}

impl<'a> VerdictLine<'a> {
    /// A verdict by the text alone.
    pub fn by_text(id: &'a str, verdict: &'a Verdict, role: TrackerRole) -> VerdictLine<'a> {
        let decision = decide(verdict, role, Thresholds::RULES_ALONE);
        VerdictLine::with(id, verdict, role, decision.misfiled, decision.action, None)
    }

    /// A verdict with the site's evidence ([`crate::classify::Site::judge`]).
    pub fn judged(id: &'a str, verdict: &'a Verdict, role: TrackerRole, placement: &Placement) -> VerdictLine<'a> {
        let action = placement.action;
        VerdictLine::with(id, verdict, role, action != Action::Keep, action, Some(placement.p_misfiled))
    }

    fn with(
        id: &'a str,
        verdict: &'a Verdict,
        role: TrackerRole,
        misfiled: bool,
        action: Action,
        p_misfiled: Option<f64>,
    ) -> VerdictLine<'a> {
        let round = |p: f64| (p * 1000.0).round() / 1000.0;
        VerdictLine {
            id,
            class: verdict.class,
            kind: verdict.kind,
            confidence: round(verdict.confidence),
            filed_as: role,
            misfiled,
            action,
            p_misfiled: p_misfiled.map(round),
            queue: verdict.queue.as_deref(),
            impact: verdict.impact,
            urgency: verdict.urgency,
            priority: verdict.priority,
            reasons: verdict.reasons.iter().map(ToString::to_string).collect(),
        }
    }

    /// Write the line: JSON, then a newline.
    pub fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        serde_json::to_writer(&mut *out, self)?;
        out.write_all(b"\n")
    }
}

fn exemption(why: Exemption) -> &'static str {
    match why {
        Exemption::Closed => "closed",
        Exemption::KeepMarker => "a human put the keep marker on it",
        Exemption::Twin => "twotrack created it",
        Exemption::AfterMove => "a human acted on it after twotrack moved it",
    }
}

/// One finding as the audit reports it: where the item is and where it would go (as in the report's
/// from -> to).
fn describe_finding(f: &Finding) -> String {
    use crate::plan::Correction;
    let what = if f.action == Action::Move && f.correction.is_some() { "apply would fix it" } else { "for review" };
    let change = match &f.change {
        Change::Tracker { from, to, to_role, .. } => {
            let to = match (&f.correction, to) {
                (Some(Correction::Move(m)), _) => format!("{} ({} {})", m.target_tracker, m.container, m.item_type),
                (_, Some(to)) => to.clone(),
                (_, None) => format!("the {to_role}"),
            };
            format!("{from} -> {to}")
        }
        Change::Group { from, to } => format!("{} -> {to}", from.as_deref().unwrap_or("none")),
        Change::Priority { from, to } => {
            format!("impact {}, urgency {} -> impact {}, urgency {}", from.impact, from.urgency, to.impact, to.urgency)
        }
        Change::AfterMove(m) => m.describe(),
    };
    format!("{}: {change} ({what})", f.kind.as_str())
}

/// What `explain` prints about one item: what it is, where it belongs, what to do, and why.
pub fn explanation(
    item: &Item,
    verdict: &Verdict,
    filed: Option<(TrackerRole, &Placement)>,
    assessed: Option<&(Vec<Finding>, Option<Exemption>)>,
    matrix: &PriorityMatrix,
) -> String {
    let mut s = format!("{} in {}: {}\n", item.key, item.tracker, item.summary);
    s += &format!("  verdict:    {} / {} (confidence {:.2})\n", verdict.class, verdict.kind, verdict.confidence);
    match filed {
        Some((role, placement)) => {
            let filed = match placement.action {
                Action::Keep => "in the right tracker",
                Action::Review => "possibly misfiled",
                Action::Move => "misfiled",
            };
            s += &format!(
                "  filed in:   a {} tracker: {filed} (P(misfiled) {:.3}); action: {}\n",
                role.as_str(),
                placement.p_misfiled,
                placement.action
            );
        }
        None => s += "  filed in:   a tracker the configuration does not name\n",
    }
    if let Some((findings, exempt)) = assessed {
        match exempt {
            Some(why) => s += &format!("  exempt:     {} (never moved)\n", exemption(*why)),
            None if findings.is_empty() => s += "  findings:   none\n",
            None => {
                for f in findings {
                    s += &format!("  finding:    {}\n", describe_finding(f));
                }
            }
        }
    }
    if let (Some(queue), Some(priority)) = (&verdict.queue, verdict.priority) {
        s += &format!("  queue:      {queue}\n  priority:   {}\n", matrix.name(priority));
    }
    s += "  reasons:\n";
    for r in &verdict.reasons {
        s += &format!("    - {r}\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use twotrack_api::{Class, Kind};

    use super::*;
    use crate::plan::FindingKind;

    fn finding(kind: FindingKind, change: Change) -> Finding {
        let verdict = Verdict {
            class: Class::Work,
            kind: Kind::Request,
            confidence: 0.9,
            margin: 1.0,
            work: 2.0,
            value: 0.0,
            // The rules' queue: not where the site's routing history sends the item.
            queue: Some("database".into()),
            impact: Some(1),
            urgency: Some(1),
            priority: Some(1),
            reasons: Vec::new(),
        };
        let mut item = Item::new("servicenow", "INC0010001", "Restore the orders database");
        item.queue = Some("Database Administration".into());
        Finding {
            kind,
            item,
            filed_as: TrackerRole::Service,
            verdict,
            action: Action::Review,
            change,
            correction: None,
        }
    }

    #[test]
    fn explain_shows_a_finding_from_and_to_as_the_report_does() {
        let routed =
            Change::Group { from: Some("Database Administration".into()), to: "Hosting & Infrastructure".into() };
        assert_eq!(
            describe_finding(&finding(FindingKind::Misrouted, routed)),
            "misrouted: Database Administration -> Hosting & Infrastructure (for review)",
            "the proposed group, not the rules' queue name"
        );
        let misfiled = Change::Tracker {
            from: "servicenow".into(),
            from_role: TrackerRole::Service,
            to: Some("jira".into()),
            to_role: TrackerRole::Product,
        };
        assert_eq!(
            describe_finding(&finding(FindingKind::Misfiled, misfiled)),
            "misfiled: servicenow -> jira (for review)"
        );
    }
}
