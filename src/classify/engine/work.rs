//! The details of a Work item: its queue, impact and urgency (from the text, else as filed, else the
//! kind's default) and the priority from the matrix, each with its reason.

use twotrack_api::{Item, Kind};

use super::evidence::quote;
use super::{Affected, Classifier, Effects, Fired, Hit, Rule, Scratch, location_factor};
use crate::classify::{Reason, Subject, Verdict};

impl Classifier {
    /// Queue, impact, urgency and priority of a Work item, each with its reason.
    pub(super) fn work_details(&self, item: &Item, s: &mut Scratch, affected: &[Affected], v: &mut Verdict) {
        let Scratch { text, fired, by_rule, by_term, why, .. } = s;
        // Queue: the strongest rule routing; else the queues' own terms; else the fallback.
        for scores in [&mut *by_rule, &mut *by_term] {
            scores.clear();
            scores.resize(self.queues.len(), 0.0);
        }
        why.clear();
        why.resize(self.queues.len(), None);
        for (i, f) in fired.iter().enumerate() {
            let rule = &self.rules[f.rule];
            if let Some(q) = rule.queue {
                let score = if rule.queue_terms { &mut by_term[q] } else { &mut by_rule[q] };
                *score += routing_strength(rule, f);
                if why[q].is_none_or(|w: usize| self.rules[fired[w].rule].queue_terms && !rule.queue_terms) {
                    why[q] = Some(i);
                }
            }
        }
        let pick = |scores: &[f64]| {
            scores.iter().enumerate().filter(|(_, s)| **s > 0.0).fold(None, |best: Option<(usize, f64)>, (i, &s)| {
                if best.is_none_or(|(_, b)| s > b) { Some((i, s)) } else { best }
            })
        };
        let fallback = self.queues.len() - 1;
        let queue = match pick(by_rule).or_else(|| pick(by_term)) {
            Some((q, score)) => {
                if let Some(f) = why[q].map(|w| &fired[w]) {
                    v.reasons.push(Reason {
                        rule: self.rules[f.rule].id.clone(),
                        supports: self.queue_supports[q].clone(),
                        subject: Subject::Queue,
                        evidence: self.evidence(item, text, f),
                        weight: score,
                    });
                }
                q
            }
            None => {
                v.reasons.push(Reason {
                    rule: "queue-fallback".into(),
                    supports: self.queue_supports[fallback].clone(),
                    subject: Subject::Queue,
                    evidence: "no routing rule or queue term matched".into(),
                    weight: 0.0,
                });
                fallback
            }
        };
        v.queue = Some(self.queues[queue].name.clone());

        // Impact and urgency: the strongest statement in the text (ties: the more severe level).
        let mut impact: Option<Statement> = None;
        let mut urgency: Option<Statement> = None;
        for (i, f) in fired.iter().enumerate() {
            let rule = &self.rules[f.rule];
            let strength = rule.weight * f.factor;
            if let Some(level) = rule.impact {
                Statement::consider(&mut impact, level, strength, Said::Rule(i));
            }
            if let Some(level) = rule.urgency {
                Statement::consider(&mut urgency, level, strength, Said::Rule(i));
            }
        }
        for (i, a) in affected.iter().enumerate() {
            let strength = COUNT_STRENGTH * location_factor(a.field);
            Statement::consider(&mut impact, a.impact(), strength, Said::Count(i));
        }
        let said = |statement: Option<Statement>| {
            statement.map(|st| {
                let (rule, quoted) = match st.said {
                    Said::Rule(i) => {
                        let f = &fired[i];
                        (self.rules[f.rule].id.clone(), self.evidence(item, text, f))
                    }
                    Said::Count(i) => {
                        let a = &affected[i];
                        let h = Hit { rule: 0, start: a.words.0, end: a.words.1 + 1, field: a.field, gapped: false };
                        ("affected-count".to_string(), quote(item, text, &h, 0))
                    }
                };
                (st.level, rule, quoted)
            })
        };
        let (impact, urgency) = (
            settle(said(impact), item.impact, Level::Impact, v.kind, &mut v.reasons),
            settle(said(urgency), item.urgency, Level::Urgency, v.kind, &mut v.reasons),
        );
        let priority = self.matrix.priority(impact, urgency);
        let evidence = if (1..=3).contains(&impact) && (1..=3).contains(&urgency) {
            self.matrix_reasons[usize::from(impact - 1) * 3 + usize::from(urgency - 1)].clone()
        } else {
            format!("impact {impact} x urgency {urgency} -> {}", self.matrix.name(priority))
        };
        let supports = match priority {
            1 => "priority 1".into(),
            2 => "priority 2".into(),
            3 => "priority 3".into(),
            4 => "priority 4".into(),
            5 => "priority 5".into(),
            p => format!("priority {p}"),
        };
        let subject = Subject::Priority;
        v.reasons.push(Reason { rule: "priority-matrix".into(), supports, subject, evidence, weight: 0.0 });
        v.impact = Some(impact);
        v.urgency = Some(urgency);
        v.priority = Some(priority);
    }
}

/// How strongly a stated count of affected people ("40 users") speaks for an impact level: more than a
/// group word ("the team"), less than "everyone".
const COUNT_STRENGTH: f64 = 2.5;

/// Who stated an impact or urgency level: a fired rule, or a count of affected people (indices).
#[derive(Clone, Copy)]
enum Said {
    Rule(usize),
    Count(usize),
}

/// An impact or urgency level stated by the text, with how strongly and where.
struct Statement {
    level: u8,
    strength: f64,
    said: Said,
}

impl Statement {
    /// Keep the stronger statement; on a tie, the more severe level.
    fn consider(slot: &mut Option<Statement>, level: u8, strength: f64, said: Said) {
        let better = slot.as_ref().is_none_or(|s| strength > s.strength || (strength == s.strength && level < s.level));
        if better {
            *slot = Some(Statement { level, strength, said });
        }
    }
}

/// How strongly a fired rule routes to its queue. A rule that only routes counts its weight for each
/// distinct phrase found (up to [`ROUTING_HITS`]); a rule that also speaks for a class or kind is one
/// vote. Both times the location factor.
fn routing_strength(rule: &Rule, f: &Fired) -> f64 {
    if rule.effects == Effects(Effects::QUEUE) {
        rule.weight * f.factor * f.hits.min(ROUTING_HITS) as f64
    } else {
        f.factor
    }
}

/// The most distinct phrases of one routing rule that count.
const ROUTING_HITS: usize = 3;

/// Impact or urgency: what [`settle`] decides.
#[derive(Clone, Copy)]
enum Level {
    Impact,
    Urgency,
}

impl Level {
    /// `impact 1`, ... as reasons show it (levels are 1..=3).
    fn supports(self, level: u8) -> String {
        match (self, level) {
            (Level::Impact, 1) => "impact 1".into(),
            (Level::Impact, 2) => "impact 2".into(),
            (Level::Impact, 3) => "impact 3".into(),
            (Level::Urgency, 1) => "urgency 1".into(),
            (Level::Urgency, 2) => "urgency 2".into(),
            (Level::Urgency, 3) => "urgency 3".into(),
            (Level::Impact, l) => format!("impact {l}"),
            (Level::Urgency, l) => format!("urgency {l}"),
        }
    }
}

/// The level when neither the text nor the fields say: 2 (medium) for an incident, 3 (low) for a
/// request. An incident is something broken now for the people who reported it, and the ITIL
/// practice is to score an unknown scope and urgency as medium, not as the lowest; a request with no
/// stated deadline or population is routine. On the hand-labelled set, 24 of the 26 incidents whose
/// text states no urgency are labelled urgency 1 or 2, and only 6 of the 29 that state no scope are
/// labelled impact 3. (Defaulting incidents to 1 would fit that set a little better, but it would
/// make every vague incident a priority 1 or 2: inflation that buries the real ones.)
fn default_level(kind: Kind) -> u8 {
    match kind {
        Kind::Incident => 2,
        Kind::Feature | Kind::Defect | Kind::Request => 3,
    }
}

/// The level from the text (level, rule, quoted evidence), else as filed, else the kind's default
/// ([`default_level`]); with the reason saying which.
fn settle(
    found: Option<(u8, String, String)>,
    filed: Option<u8>,
    what: Level,
    kind: Kind,
    reasons: &mut Vec<Reason>,
) -> u8 {
    let (as_filed, default) = match what {
        Level::Impact => ("impact-as-filed", "impact-default"),
        Level::Urgency => ("urgency-as-filed", "urgency-default"),
    };
    let stated = found.is_some();
    let (level, rule, evidence) = match (found, filed.filter(|l| (1..=3).contains(l))) {
        (Some((level, rule, quoted)), _) => {
            let mut evidence = String::with_capacity(quoted.len() + 15);
            evidence.push_str("from the text: ");
            evidence.push_str(&quoted);
            (level, rule, evidence)
        }
        (None, Some(l)) => (l, as_filed.into(), "no statement in the text; kept as filed".into()),
        (None, None) => {
            (default_level(kind), default.into(), format!("no statement in the text and none filed ({kind})"))
        }
    };
    let subject = Subject::Level { stated };
    reasons.push(Reason { rule, supports: what.supports(level), subject, evidence, weight: 0.0 });
    level
}
