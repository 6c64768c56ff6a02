//! The compiled classifier: every phrase of every rule in one Aho-Corasick automaton, built once.
//!
//! Classifying an item:
//! 1. normalise the summary and description ([`Normalized::ticket`]) and find every phrase occurrence
//!    in one overlapping scan; gap phrases (`"grant .. access"`: up to [`MAX_GAP`] words between the
//!    parts) are assembled from their parts;
//! 2. drop a phrase hit that lies strictly inside a longer hit of another rule with a common effect
//!    ("not urgent" silences "urgent", "feature request" silences "request");
//! 3. a rule fires when all its conditions hold (any phrase, any type, any label, any field); it
//!    counts once, with its weight times the location factor of its best hit (summary 1.0,
//!    description 0.6, log excerpt 0.2);
//! 4. the class is the side with more evidence; the kind follows the kind evidence within the class
//!    (defect/incident = "something is broken", feature/request = "something is wanted");
//! 5. for Work: the queue named by the strongest routing rules (else the queues' terms, else the
//!    fallback queue), impact and urgency from the text (else as filed, else 3), priority from the matrix.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use twotrack_api::{Class, Item, Kind};

use super::facts::{Affected, Counter, FACTS};
use super::rules::{RulesError, overlay, validate};
use super::spec::{PriorityMatrix, QueueSpec, RuleSpec, default_queues};
use super::text::{Field, Fnv, Normalized};
use super::{Reason, Verdict, calibrate};

/// The most words allowed between two parts of a gap phrase (`"reset .. password"`).
pub const MAX_GAP: usize = 4;

/// How much a hit counts, by where it was found.
fn location_factor(field: Field) -> f64 {
    match field {
        Field::Summary => 1.0,
        Field::Description => 0.6,
        Field::Log => 0.2,
    }
}

/// From how many affected people a count becomes the `fact:many` marker rules can match.
const MANY: u64 = 10;

/// How much kind evidence counts when it comes from a rule of the class that lost.
const OPPOSED_KIND: f64 = 0.3;

/// What a rule can say. Hits only silence hits of rules that say something in common.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Effects(u8);

impl Effects {
    const CLASS: u8 = 1;
    const QUEUE: u8 = 2;
    const IMPACT: u8 = 4;
    const URGENCY: u8 = 8;

    fn of(rule: &RuleSpec) -> Effects {
        let mut e = 0;
        if rule.class.is_some() || rule.kind.is_some() {
            e |= Self::CLASS;
        }
        if rule.queue.is_some() {
            e |= Self::QUEUE;
        }
        if rule.impact.is_some() {
            e |= Self::IMPACT;
        }
        if rule.urgency.is_some() {
            e |= Self::URGENCY;
        }
        Effects(e)
    }

    fn overlaps(self, other: Effects) -> bool {
        self.0 & other.0 != 0
    }
}

/// A rule ready to evaluate.
#[derive(Debug)]
struct Rule {
    id: String,
    class: Option<Class>,
    kind: Option<Kind>,
    weight: f64,
    queue: Option<usize>,
    impact: Option<u8>,
    urgency: Option<u8>,
    effects: Effects,
    has_phrases: bool,
    types: Vec<String>,
    labels: Vec<String>,
    /// (field name, required value) pairs, lower-case.
    fields: Vec<(String, Option<String>)>,
    /// A queue's own term list: routes only when no rule names a queue, and is not class evidence.
    queue_terms: bool,
    /// What its class / kind evidence speaks for, as reasons show it: `work/request`, `value`, `kind defect`.
    supports: String,
}

/// A contiguous run of normalised words: one automaton pattern.
#[derive(Debug, Default)]
struct Atom {
    words: usize,
    /// Single-part phrases made of just this atom.
    phrases: Vec<usize>,
    /// Whether some phrase of several parts starts with this atom.
    leads: bool,
}

#[derive(Debug)]
struct Phrase {
    rule: usize,
    /// Automaton patterns in order, each with the most words allowed before it (after the previous).
    parts: Vec<(usize, usize)>,
    /// The words of all parts: a hit spanning more has skipped words in its gaps.
    words: usize,
}

/// One phrase found in the text: words `start..end`.
#[derive(Debug, Clone, Copy)]
struct Hit {
    rule: usize,
    start: usize,
    end: usize,
    field: Field,
    /// Whether the hit spans words it did not match (`a .. b` with words between): such a hit never
    /// silences the hits inside it.
    gapped: bool,
}

/// A rule that fired for an item.
#[derive(Debug, Clone)]
struct Fired {
    rule: usize,
    factor: f64,
    /// Distinct phrase hits (1 for a rule without phrases).
    hits: usize,
    evidence: String,
}

/// The compiled rules, queues and priority matrix. Build once, classify many.
#[derive(Debug)]
pub struct Classifier {
    rules: Vec<Rule>,
    atoms: Vec<Atom>,
    phrases: Vec<Phrase>,
    /// Phrases of several parts by their first two atoms.
    pairs: HashMap<(usize, usize), Vec<usize>, Fnv>,
    /// The widest gap of any phrase.
    widest_gap: usize,
    automaton: AhoCorasick,
    queues: Vec<QueueSpec>,
    matrix: PriorityMatrix,
    counter: CounterHandle,
}

/// `Counter` has no useful Debug; keep the classifier's Debug short.
struct CounterHandle(Counter);

impl std::fmt::Debug for CounterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Counter")
    }
}

impl Classifier {
    /// The default rules with `user_rules` on top (same id replaces, `disabled` removes), routing
    /// to `queues` (the last is the fallback) and prioritising with `matrix`.
    pub fn new(
        user_rules: &[RuleSpec],
        queues: &[QueueSpec],
        matrix: &PriorityMatrix,
    ) -> Result<Classifier, RulesError> {
        Classifier::with_layers(&[user_rules], queues, matrix)
    }

    /// The default rules, default queues and ServiceNow's priority matrix.
    pub fn with_defaults() -> Classifier {
        // Not input: the embedded defaults are compiled and run by the test suite.
        Classifier::new(&[], &default_queues(), &PriorityMatrix::default())
            .expect("the embedded default rules compile (checked by the tests)")
    }

    /// The default rules, then each layer of user rules in order (the configuration's, then files').
    pub fn with_layers(
        layers: &[&[RuleSpec]],
        queues: &[QueueSpec],
        matrix: &PriorityMatrix,
    ) -> Result<Classifier, RulesError> {
        let defaults = super::rules::default_rules()?;
        let mut all: Vec<&[RuleSpec]> = vec![&defaults.rules];
        all.extend_from_slice(layers);
        let effective = overlay(&all)?;
        Classifier::compile(&effective, queues, matrix)
    }

    /// Compile effective rules (each flagged whether it is a default rule).
    fn compile(
        rules: &[(&RuleSpec, bool)],
        queues: &[QueueSpec],
        matrix: &PriorityMatrix,
    ) -> Result<Classifier, RulesError> {
        if queues.is_empty() {
            return Err(RulesError::NoQueues);
        }
        for (i, q) in queues.iter().enumerate() {
            if queues[..i].iter().any(|p| p.name == q.name) {
                return Err(RulesError::DuplicateQueue { name: q.name.clone() });
            }
        }
        let mut b = Builder::default();
        for &(spec, default) in rules {
            validate(spec)?;
            let queue = match &spec.queue {
                None => None,
                Some(name) => match queues.iter().position(|q| &q.name == name) {
                    Some(i) => Some(i),
                    // A default rule may name a default queue the configuration does not have: it
                    // then just does not route. A user rule must name a configured queue.
                    None if default => None,
                    None => return Err(RulesError::UnknownQueue { id: spec.id.clone(), queue: name.clone() }),
                },
            };
            let lower = |v: &[String]| v.iter().map(|s| s.trim().to_lowercase()).collect::<Vec<_>>();
            let fields = spec
                .fields
                .iter()
                .map(|f| match f.split_once('=') {
                    Some((k, v)) => (k.trim().to_lowercase(), Some(v.trim().to_lowercase())),
                    None => (f.trim().to_lowercase(), None),
                })
                .collect();
            let rule = Rule {
                id: spec.id.clone(),
                class: spec.class,
                kind: spec.kind,
                weight: spec.weight,
                queue,
                impact: spec.impact,
                urgency: spec.urgency,
                effects: Effects::of(spec),
                has_phrases: !spec.phrases.is_empty(),
                types: lower(&spec.types),
                labels: lower(&spec.labels),
                fields,
                queue_terms: false,
                supports: supports(spec.class, spec.kind),
            };
            b.add_rule(rule, &spec.phrases)?;
        }
        for (i, q) in queues.iter().enumerate() {
            if q.terms.is_empty() {
                continue;
            }
            let rule = Rule {
                id: format!("queue:{}", q.name),
                class: None,
                kind: None,
                weight: 1.0,
                queue: Some(i),
                impact: None,
                urgency: None,
                effects: Effects(Effects::QUEUE),
                has_phrases: true,
                types: vec![],
                labels: vec![],
                fields: vec![],
                queue_terms: true,
                supports: String::new(),
            };
            b.add_rule(rule, &q.terms)?;
        }
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&b.patterns)
            .map_err(|e| RulesError::BadPhrase {
                id: "(all)".into(),
                phrase: e.to_string(),
                why: "automaton too large",
            })?;
        Ok(Classifier {
            widest_gap: b.phrases.iter().flat_map(|p| p.parts.iter().map(|&(_, gap)| gap)).max().unwrap_or(0),
            rules: b.rules,
            atoms: b.atoms,
            phrases: b.phrases,
            pairs: b.pairs,
            automaton,
            queues: queues.to_vec(),
            matrix: matrix.clone(),
            counter: CounterHandle(Counter::default()),
        })
    }

    /// The queues items are routed to (the last is the fallback).
    pub fn queues(&self) -> &[QueueSpec] {
        &self.queues
    }

    /// The priority matrix.
    pub fn matrix(&self) -> &PriorityMatrix {
        &self.matrix
    }

    /// The number of effective rules (queue term lists not counted).
    pub fn rule_count(&self) -> usize {
        self.rules.iter().filter(|r| !r.queue_terms).count()
    }

    /// Classify one item. Pure and deterministic.
    pub fn classify(&self, item: &Item) -> Verdict {
        let mut text = Normalized::ticket(&item.summary, &item.description);
        let affected = self.counter.0.find(&text, &item.summary, &item.description);
        if let Some(a) = affected.iter().find(|a| a.count >= MANY) {
            let (first, last) = (text.words[a.words.0], text.words[a.words.1]);
            text.add_fact("fact:many", a.field, (first.source.0, last.source.1));
        }
        text.finish();
        let hits = self.hits(&text);
        let fired = self.fire(item, &text, &hits);
        self.verdict(item, &text, fired, &affected)
    }

    /// Every phrase hit, with contained hits of rules with a common effect removed.
    fn hits(&self, text: &Normalized) -> Vec<Hit> {
        // (first word, atom, sentence) of every atom occurrence, in text order.
        let mut occ: Vec<(usize, usize, u32)> = Vec::with_capacity(text.words.len());
        for m in self.automaton.find_overlapping_iter(&text.text) {
            if let Some(w) = text.word_at(m.start() + 1) {
                occ.push((w, m.pattern().as_usize(), text.words[w].sentence));
            }
        }
        occ.sort_unstable();
        let mut hits = Vec::with_capacity(occ.len());
        for (i, &(start, atom, sentence)) in occ.iter().enumerate() {
            let a = &self.atoms[atom];
            let field = text.words[start].field;
            for &p in &a.phrases {
                hits.push(Hit { rule: self.phrases[p].rule, start, end: start + a.words, field, gapped: false });
            }
            if !a.leads {
                continue;
            }
            // Gap phrases starting here: pair this occurrence with those that follow within the gap.
            let from = start + a.words;
            for &(next, second, n) in occ[i + 1..].iter().take_while(|o| o.0 <= from + self.widest_gap) {
                let Some(phrases) = (n == sentence && next >= from).then(|| self.pairs.get(&(atom, second))).flatten()
                else {
                    continue;
                };
                for &p in phrases {
                    let phrase = &self.phrases[p];
                    if next - from > phrase.parts[1].1 {
                        continue;
                    }
                    let after = next + self.atoms[second].words;
                    if let Some(end) = self.follow(&occ, &phrase.parts[2..], after, sentence) {
                        hits.push(Hit { rule: phrase.rule, start, end, field, gapped: end - start > phrase.words });
                    }
                }
            }
        }
        // Only a contiguous hit of two or more words can contain another.
        let containers: Vec<&Hit> = hits.iter().filter(|h| !h.gapped && h.end - h.start >= 2).collect();
        let contained = |h: &Hit| {
            containers.iter().any(|o| {
                o.rule != h.rule
                    && o.start <= h.start
                    && o.end >= h.end
                    && (o.end - o.start) > (h.end - h.start)
                    && self.rules[o.rule].effects.overlaps(self.rules[h.rule].effects)
            })
        };
        let keep: Vec<bool> = hits.iter().map(|h| !contained(h)).collect();
        hits.into_iter().zip(keep).filter_map(|(h, k)| k.then_some(h)).collect()
    }

    /// Where the remaining parts of a phrase end, if each follows the previous within its gap.
    /// `occ` is every occurrence ordered by first word.
    fn follow(
        &self,
        occ: &[(usize, usize, u32)],
        parts: &[(usize, usize)],
        from: usize,
        sentence: u32,
    ) -> Option<usize> {
        let Some((&(part, gap), rest)) = parts.split_first() else { return Some(from) };
        let first = occ.partition_point(|o| o.0 < from);
        occ[first..]
            .iter()
            .take_while(|o| o.0 <= from + gap)
            .filter(|o| o.1 == part && o.2 == sentence)
            .find_map(|o| self.follow(occ, rest, o.0 + self.atoms[part].words, sentence))
    }

    /// The rules that fire, each once, with the location factor of its best hit.
    fn fire(&self, item: &Item, text: &Normalized, hits: &[Hit]) -> Vec<Fired> {
        let mut best: Vec<Option<Hit>> = vec![None; self.rules.len()];
        let mut count = vec![0usize; self.rules.len()];
        for h in hits {
            count[h.rule] += 1;
            let slot = &mut best[h.rule];
            if slot.is_none_or(|b| location_factor(h.field) > location_factor(b.field)) {
                *slot = Some(*h);
            }
        }
        let filed_type = item.filed_type.trim();
        let mut fired = Vec::with_capacity(32);
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.has_phrases && best[i].is_none() {
                continue;
            }
            let label = || item.labels.iter().find(|l| rule.labels.iter().any(|r| l.eq_ignore_ascii_case(r)));
            let field = || {
                rule.fields.iter().find_map(|(name, want)| {
                    let value = item.fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty() && *v != "0")?;
                    want.as_ref().is_none_or(|w| value.eq_ignore_ascii_case(w)).then_some((name, value))
                })
            };
            let typed = rule.types.is_empty() || rule.types.iter().any(|t| t.eq_ignore_ascii_case(filed_type));
            let (label, field) = (label(), field());
            if !typed || (!rule.labels.is_empty() && label.is_none()) || (!rule.fields.is_empty() && field.is_none()) {
                continue;
            }
            let mut factor = 1.0;
            let mut evidence = String::new();
            if let Some(h) = best[i] {
                factor = location_factor(h.field);
                evidence = quote(item, text, &h);
            }
            let mut add = |what: std::fmt::Arguments<'_>| {
                if !evidence.is_empty() {
                    evidence.push_str(", ");
                }
                let _ = std::fmt::Write::write_fmt(&mut evidence, what);
            };
            if !rule.types.is_empty() {
                add(format_args!("type {:?}", item.filed_type));
            }
            if let Some(label) = label {
                add(format_args!("label {label:?}"));
            }
            if let Some((name, value)) = field {
                add(format_args!("{name} {value:?}"));
            }
            fired.push(Fired { rule: i, factor, hits: count[i].max(1), evidence });
        }
        fired
    }

    fn verdict(&self, item: &Item, text: &Normalized, mut fired: Vec<Fired>, affected: &[Affected]) -> Verdict {
        let mut reasons = Vec::with_capacity(fired.len() + 4);
        let (mut work, mut value) = (0.0, 0.0);
        for f in &mut fired {
            let rule = &self.rules[f.rule];
            if rule.queue_terms {
                continue;
            }
            let w = rule.weight * f.factor;
            let class = rule.class;
            match class {
                Some(Class::Work) => work += w,
                Some(Class::Value) => value += w,
                None => {}
            }
            if rule.class.is_some() || rule.kind.is_some() {
                // The evidence is needed again only by a rule that also routes or grades.
                let evidence = if rule.effects.0 & !Effects::CLASS == 0 {
                    std::mem::take(&mut f.evidence)
                } else {
                    f.evidence.clone()
                };
                reasons.push(Reason { rule: rule.id.clone(), supports: rule.supports.clone(), evidence, weight: w });
            }
        }
        let margin = work - value;
        let class = if margin > 0.0 { Class::Work } else { Class::Value };
        // Kind evidence from rules of the other class counts little: "please reset" in a Value item
        // does not make it a feature.
        let (mut broken, mut wanted) = (0.0, 0.0);
        for f in &fired {
            let rule = &self.rules[f.rule];
            let w = rule.weight * f.factor * if rule.class.is_none_or(|c| c == class) { 1.0 } else { OPPOSED_KIND };
            match rule.kind {
                Some(Kind::Defect | Kind::Incident) => broken += w,
                Some(Kind::Feature | Kind::Request) => wanted += w,
                None => {}
            }
        }
        let kind = match (class, broken > wanted) {
            (Class::Value, true) => Kind::Defect,
            (Class::Value, false) => Kind::Feature,
            (Class::Work, true) => Kind::Incident,
            (Class::Work, false) => Kind::Request,
        };
        let (support, against) = if class == Class::Work { (work, value) } else { (value, work) };
        let confidence = calibrate(support, against);
        let mut verdict = Verdict {
            class,
            kind,
            confidence,
            margin,
            queue: None,
            impact: None,
            urgency: None,
            priority: None,
            reasons,
        };
        if class == Class::Work {
            self.work_details(item, text, &fired, affected, &mut verdict);
        }
        verdict
    }

    /// Queue, impact, urgency and priority of a Work item, each with its reason.
    fn work_details(&self, item: &Item, text: &Normalized, fired: &[Fired], affected: &[Affected], v: &mut Verdict) {
        // Queue: the strongest rule routing; else the queues' own terms; else the fallback.
        let mut by_rule = vec![0.0; self.queues.len()];
        let mut by_term = vec![0.0; self.queues.len()];
        let mut why: Vec<Option<&Fired>> = vec![None; self.queues.len()];
        for f in fired {
            let rule = &self.rules[f.rule];
            if let Some(q) = rule.queue {
                let score = if rule.queue_terms { &mut by_term[q] } else { &mut by_rule[q] };
                *score += routing_strength(rule, f);
                if why[q].is_none_or(|w| self.rules[w.rule].queue_terms && !rule.queue_terms) {
                    why[q] = Some(f);
                }
            }
        }
        let pick = |scores: &[f64]| {
            scores.iter().enumerate().filter(|(_, s)| **s > 0.0).fold(None, |best: Option<(usize, f64)>, (i, &s)| {
                if best.is_none_or(|(_, b)| s > b) { Some((i, s)) } else { best }
            })
        };
        let fallback = self.queues.len() - 1;
        let queue = match pick(&by_rule).or_else(|| pick(&by_term)) {
            Some((q, score)) => {
                if let Some(f) = why[q] {
                    v.reasons.push(Reason {
                        rule: self.rules[f.rule].id.clone(),
                        supports: format!("queue {}", self.queues[q].name),
                        evidence: f.evidence.clone(),
                        weight: score,
                    });
                }
                q
            }
            None => {
                v.reasons.push(Reason {
                    rule: "queue-fallback".into(),
                    supports: format!("queue {}", self.queues[fallback].name),
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
        for f in fired {
            let rule = &self.rules[f.rule];
            let strength = rule.weight * f.factor;
            if let Some(level) = rule.impact {
                Statement::consider(&mut impact, level, strength, &rule.id, &f.evidence);
            }
            if let Some(level) = rule.urgency {
                Statement::consider(&mut urgency, level, strength, &rule.id, &f.evidence);
            }
        }
        for a in affected {
            let h = Hit { rule: 0, start: a.words.0, end: a.words.1 + 1, field: a.field, gapped: false };
            let strength = COUNT_STRENGTH * location_factor(a.field);
            Statement::consider(&mut impact, a.impact(), strength, "affected-count", &quote(item, text, &h));
        }
        let (impact, urgency) = (
            settle(impact, item.impact, "impact", &mut v.reasons),
            settle(urgency, item.urgency, "urgency", &mut v.reasons),
        );
        let priority = self.matrix.priority(impact, urgency);
        v.reasons.push(Reason {
            rule: "priority-matrix".into(),
            supports: format!("priority {priority}"),
            evidence: format!("impact {impact} x urgency {urgency} -> {}", self.matrix.name(priority)),
            weight: 0.0,
        });
        v.impact = Some(impact);
        v.urgency = Some(urgency);
        v.priority = Some(priority);
    }
}

/// How strongly a stated count of affected people ("40 users") speaks for an impact level: more than a
/// group word ("the team"), less than "everyone".
const COUNT_STRENGTH: f64 = 2.5;

/// An impact or urgency level stated by the text, with how strongly and where.
struct Statement {
    level: u8,
    strength: f64,
    rule: String,
    evidence: String,
}

impl Statement {
    /// Keep the stronger statement; on a tie, the more severe level.
    fn consider(slot: &mut Option<Statement>, level: u8, strength: f64, rule: &str, evidence: &str) {
        let better = slot.as_ref().is_none_or(|s| strength > s.strength || (strength == s.strength && level < s.level));
        if better {
            *slot = Some(Statement { level, strength, rule: rule.to_string(), evidence: evidence.to_string() });
        }
    }
}

/// What class / kind evidence speaks for, as reasons show it.
fn supports(class: Option<Class>, kind: Option<Kind>) -> String {
    match (class, kind) {
        (Some(c), Some(k)) => format!("{c}/{k}"),
        (Some(c), None) => c.to_string(),
        (None, Some(k)) => format!("kind {k}"),
        (None, None) => String::new(),
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

/// The level from the text, else as filed, else 3; with the reason saying which.
fn settle(found: Option<Statement>, filed: Option<u8>, what: &str, reasons: &mut Vec<Reason>) -> u8 {
    let (level, rule, evidence) = match (found, filed.filter(|l| (1..=3).contains(l))) {
        (Some(s), _) => (s.level, s.rule, format!("from the text: {}", s.evidence)),
        (None, Some(l)) => (l, format!("{what}-as-filed"), "no statement in the text; kept as filed".into()),
        (None, None) => (3, format!("{what}-default"), "no statement in the text and none filed".into()),
    };
    reasons.push(Reason { rule, supports: format!("{what} {level}"), evidence, weight: 0.0 });
    level
}

/// The original words of a hit, with where they were found: `summary "Reset my password"` (at most 80
/// characters, white space collapsed).
fn quote(item: &Item, text: &Normalized, h: &Hit) -> String {
    let (first, last) = (&text.words[h.start], &text.words[h.end.saturating_sub(1).max(h.start)]);
    let source = if first.field == Field::Summary { &item.summary } else { &item.description };
    let span = source.get(first.source.0 as usize..last.source.1 as usize).unwrap_or_default();
    let mut s = String::with_capacity(span.len().min(84) + 16);
    s.push_str(h.field.as_str());
    s.push_str(" \"");
    for (i, word) in span.split_whitespace().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.extend(word.chars().filter(|&c| c != '"'));
        if s.len() > 90 {
            s.push('…');
            break;
        }
    }
    s.push('"');
    s
}

/// The most phrases one written phrase may expand to through `{a,b}` alternatives.
const MAX_EXPANSION: usize = 1024;

/// Expand `{a,b}` alternatives: `"{reset,unlock} .. {password,account}"` is four phrases.
fn expand(phrase: &str) -> Result<Vec<String>, &'static str> {
    let mut out = vec![String::new()];
    let mut rest = phrase;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map(|c| open + c).ok_or("`{` without `}`")?;
        let alternatives: Vec<&str> = rest[open + 1..close].split(',').map(str::trim).collect();
        if alternatives.iter().any(|a| a.is_empty() || a.contains('{')) {
            return Err("empty or nested `{...}` alternative");
        }
        let head = &rest[..open];
        out = out.iter().flat_map(|o| alternatives.iter().map(move |a| format!("{o}{head}{a}"))).collect();
        if out.len() > MAX_EXPANSION {
            return Err("too many `{...}` combinations (more than 1024)");
        }
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err("`}` without `{`");
    }
    Ok(out.into_iter().map(|o| o + rest).collect())
}

/// Collects rules, phrases and automaton patterns during compilation.
#[derive(Default)]
struct Builder {
    rules: Vec<Rule>,
    atoms: Vec<Atom>,
    phrases: Vec<Phrase>,
    patterns: Vec<String>,
    index: HashMap<String, usize>,
    pairs: HashMap<(usize, usize), Vec<usize>, Fnv>,
}

impl Builder {
    fn add_rule(&mut self, rule: Rule, phrases: &[String]) -> Result<(), RulesError> {
        let r = self.rules.len();
        for written in phrases {
            let bad = |why| RulesError::BadPhrase { id: rule.id.clone(), phrase: written.clone(), why };
            for phrase in expand(written).map_err(bad)? {
                self.add_phrase(r, &phrase).map_err(bad)?;
            }
        }
        self.rules.push(rule);
        Ok(())
    }

    /// Add one phrase (alternatives already expanded) of rule `r`.
    fn add_phrase(&mut self, r: usize, phrase: &str) -> Result<(), &'static str> {
        let mut parts = Vec::new();
        for (i, part) in phrase.split("..").enumerate() {
            // `a .. b`: up to MAX_GAP words between; `a ..1 b`: at most one.
            let (gap, part) = match part.strip_prefix(|c: char| c.is_ascii_digit()) {
                Some(rest) if i > 0 => (usize::from(part.as_bytes()[0] - b'0'), rest),
                _ => (if i == 0 { 0 } else { MAX_GAP }, part),
            };
            if let Some(fact) = part.trim().strip_prefix("fact:") {
                if !FACTS.iter().any(|f| f[5..] == *fact) {
                    return Err("unknown fact (known: version, code, host, ip, person, ticket, share, many)");
                }
                parts.push((self.atom(format!(" fact:{fact} "), 1), gap));
                continue;
            }
            // A prefix word (`word*`) ends an automaton pattern; what follows it is the next
            // pattern, immediately after.
            let mut pieces = part.split_inclusive('*').map(str::trim).filter(|p| !p.is_empty()).peekable();
            if pieces.peek().is_none() {
                return Err("no words in it (a part around `..` is empty?)");
            }
            let mut first = true;
            for piece in pieces {
                let (body, prefix) = match piece.strip_suffix('*') {
                    Some(b) => (b.trim_end(), true),
                    None => (piece, false),
                };
                if prefix && !piece[..piece.len() - 1].ends_with(|c: char| c.is_alphanumeric()) {
                    return Err("`*` must follow a word");
                }
                let n = Normalized::phrase(body);
                if n.words.is_empty() {
                    return Err("no words in it (a part around `..` is empty?)");
                }
                // A prefix is matched against the stemmed words of the text, so it is stemmed too
                // and left open at its end.
                let pattern = if prefix { n.text.trim_end().to_string() } else { n.text };
                let atom = self.atom(pattern, n.words.len());
                parts.push((atom, if first { gap } else { 0 }));
                first = false;
            }
        }
        let p = self.phrases.len();
        if parts.len() == 1 {
            self.atoms[parts[0].0].phrases.push(p);
        } else {
            self.atoms[parts[0].0].leads = true;
            self.pairs.entry((parts[0].0, parts[1].0)).or_default().push(p);
        }
        let words = parts.iter().map(|&(a, _)| self.atoms[a].words).sum();
        self.phrases.push(Phrase { rule: r, parts, words });
        Ok(())
    }

    fn atom(&mut self, pattern: String, words: usize) -> usize {
        if let Some(&i) = self.index.get(&pattern) {
            return i;
        }
        let i = self.atoms.len();
        self.atoms.push(Atom { words, ..Atom::default() });
        self.index.insert(pattern.clone(), i);
        self.patterns.push(pattern);
        i
    }
}
