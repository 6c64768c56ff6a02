//! The compiled classifier: every phrase of every rule in one word-level trie ([`Matcher`]), built once.
//!
//! Classifying an item:
//! 1. normalise the summary and description ([`Normalized::reset_ticket`]) and find every phrase
//!    occurrence in one pass over its words ([`Matcher::find`]); gap phrases (`"grant .. access"`: up
//!    to [`MAX_GAP`] words between the parts) are assembled from their parts;
//! 2. drop a phrase hit that lies strictly inside a longer hit of another rule with a common effect
//!    ("not urgent" silences "urgent", "feature request" silences "request");
//! 3. a rule fires when all its conditions hold (any phrase, any type, any label, any field); it
//!    counts once, with its weight times the location factor of its best hit (summary 1.0,
//!    description 0.6, log excerpt 0.2);
//! 4. the class is the side with more evidence; the kind follows the kind evidence within the class
//!    (defect/incident = "something is broken", feature/request = "something is wanted");
//! 5. for Work: the queue named by the strongest routing rules (else the queues' terms, else the
//!    fallback queue), impact and urgency from the text (else as filed, else the kind's default),
//!    priority from the matrix.
//!
//! Where: [`compile`] builds the classifier from the rules and queues; [`fire`] does steps 1 to 3;
//! [`evidence`] step 4, with the margin, the calibrated confidence and the evidence quoted as
//! written; [`work`] step 5. This file holds the compiled types, the public methods and the
//! per-thread buffers.
//!
//! Throughput matters (an audit classifies whole trackers): the normalised text and every
//! intermediate list live in per-thread buffers reused from item to item, evidence is quoted only
//! for the rules a reason shows, and allocation is left to the verdict itself.

mod compile;
mod evidence;
mod fire;
mod work;

use std::cell::RefCell;

use twotrack_api::{Class, Item, Kind};

use super::facts::{Affected, Counter};
use super::matcher::{Matcher, Token};
use super::spec::{PriorityMatrix, QueueSpec, RuleSpec};
use super::text::{Field, Normalized};
use super::{Subject, Verdict};

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
    /// The same, typed.
    subject: Subject,
}

/// An atom ([`compile::Atom`]) compiled: small, the value the matcher reports for it.
#[derive(Debug, Clone, Copy)]
struct AtomInfo {
    /// Its index.
    atom: u32,
    words: u32,
    /// Its rules: `atom_rules[rules.0..rules.1]`.
    rules: (u32, u32),
    /// The phrases of several parts it starts, by their second atom: `seconds[pairs.0..pairs.1]`.
    pairs: (u32, u32),
}

/// The phrases of several parts that start with some atom and go on with atom `atom`: their
/// indices are `pair_phrases[phrases.0..phrases.1]`.
#[derive(Debug, Clone, Copy)]
struct Second {
    atom: u32,
    phrases: (u32, u32),
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

/// A rule that fired for an item. Its evidence is quoted only when a reason needs it.
#[derive(Debug, Clone)]
struct Fired {
    rule: usize,
    factor: f64,
    /// Distinct phrase hits (1 for a rule without phrases).
    hits: usize,
    /// The best hit, for a rule with phrases.
    hit: Option<Hit>,
    /// The item's label and the rule's field condition that matched (indices), if the rule has those.
    label: Option<usize>,
    field: Option<usize>,
}

/// The compiled rules, queues and priority matrix. Build once, classify many.
#[derive(Debug)]
pub struct Classifier {
    rules: Vec<Rule>,
    /// Per rule: what it can say, and whether it needs a phrase hit to fire.
    effects: Vec<Effects>,
    needs_hit: Vec<bool>,
    /// The rules of the atoms' single-part phrases, and the gap phrases they start (see [`AtomInfo`]).
    atom_rules: Vec<u32>,
    seconds: Vec<Second>,
    pair_phrases: Vec<u32>,
    phrases: Vec<Phrase>,
    /// The widest gap of any phrase.
    widest_gap: usize,
    matcher: Matcher<AtomInfo>,
    queues: Vec<QueueSpec>,
    matrix: PriorityMatrix,
    /// `queue NAME` for each queue, as reasons show it.
    queue_supports: Vec<String>,
    /// `impact I x urgency U -> NAME` for impact and urgency 1..=3, at `(I - 1) * 3 + U - 1`.
    matrix_reasons: Vec<String>,
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
        self.classify_forced(item, None)
    }

    /// Classify one item as `class` whatever the rules say (its kind, queue and priority then follow
    /// within that class): for an item the site's evidence keeps where it is.
    pub fn classify_as(&self, item: &Item, class: Class) -> Verdict {
        self.classify_forced(item, Some(class))
    }

    /// Classify one item, then, where `settle` (given that verdict) places it in another class, as
    /// that class: [`Classifier::classify`] and [`Classifier::classify_as`] with the text read once.
    pub fn classify_settled<T>(&self, item: &Item, settle: impl FnOnce(&Verdict) -> (Class, T)) -> (Verdict, T) {
        let run = |s: &mut Scratch| {
            let affected = self.prepare(item, s);
            let verdict = self.verdict(item, s, &affected, None);
            let (class, settled) = settle(&verdict);
            if class == verdict.class {
                (verdict, settled)
            } else {
                (self.verdict(item, s, &affected, Some(class)), settled)
            }
        };
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => {
                let out = run(&mut scratch);
                if scratch.text.text.capacity() > SCRATCH_LIMIT {
                    *scratch = Scratch::default();
                }
                out
            }
            Err(_) => run(&mut Scratch::default()),
        })
    }

    /// The evidence for Work and for Value ([`Verdict::work`], [`Verdict::value`]) without the rest
    /// of a verdict: what learning a site needs of every item, at a fraction of the cost.
    pub fn class_evidence(&self, item: &Item) -> (f64, f64) {
        let sums = |s: &mut Scratch| {
            self.prepare(item, s);
            let (mut work, mut value) = (0.0, 0.0);
            for f in &s.fired {
                let rule = &self.rules[f.rule];
                if rule.queue_terms {
                    continue;
                }
                match rule.class {
                    Some(Class::Work) => work += rule.weight * f.factor,
                    Some(Class::Value) => value += rule.weight * f.factor,
                    None => {}
                }
            }
            (work, value)
        };
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => sums(&mut scratch),
            Err(_) => sums(&mut Scratch::default()),
        })
    }

    /// The largest count of affected people the item's text states ("40 users", "hundreds of
    /// customers"), as the impact derivation reads it; `None` when it states none.
    pub fn affected_count(&self, item: &Item) -> Option<u64> {
        let mut text = super::text::Normalized::default();
        text.reset_ticket(&item.summary, &item.description);
        self.counter.0.find(&text, &item.summary, &item.description).iter().map(|a| a.count).max()
    }

    fn classify_forced(&self, item: &Item, forced: Option<Class>) -> Verdict {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => {
                let verdict = self.classify_in(item, &mut scratch, forced);
                // A huge ticket does not keep its buffers for the life of the thread.
                if scratch.text.text.capacity() > SCRATCH_LIMIT {
                    *scratch = Scratch::default();
                }
                verdict
            }
            // Only if classifying re-entered itself on this thread: work in fresh buffers.
            Err(_) => self.classify_in(item, &mut Scratch::default(), forced),
        })
    }

    fn classify_in(&self, item: &Item, s: &mut Scratch, forced: Option<Class>) -> Verdict {
        let affected = self.prepare(item, s);
        self.verdict(item, s, &affected, forced)
    }

    /// Normalise the item's text, find the phrase hits and fire the rules (into `s`); the counts of
    /// affected people found on the way.
    fn prepare(&self, item: &Item, s: &mut Scratch) -> Vec<Affected> {
        s.text.reset_ticket(&item.summary, &item.description);
        let affected = self.counter.0.find(&s.text, &item.summary, &item.description);
        if let Some(a) = affected.iter().find(|a| a.count >= MANY) {
            let (first, last) = (s.text.words[a.words.0], s.text.words[a.words.1]);
            s.text.add_fact("fact:many", a.field, (first.source.0, last.source.1));
        }
        s.text.finish();
        self.hits(s);
        self.fire(item, s);
        affected
    }
}

/// Buffers reused from one item to the next on a thread: classifying allocates only the verdict.
#[derive(Default)]
struct Scratch {
    text: Normalized,
    tokens: Vec<Token>,
    /// (first word, atom, sentence) of every phrase pattern found.
    occ: Vec<(usize, AtomInfo, u32)>,
    hits: Vec<Hit>,
    /// The hits that may contain others.
    containers: Vec<Hit>,
    /// What containers say, per word.
    cover: Vec<u8>,
    /// Per rule: its best hit (an index of `hits`, or [`NO_HIT`]) and how many hits it has. Unset
    /// between items, unless `dirty`.
    best: Vec<usize>,
    count: Vec<usize>,
    dirty: bool,
    fired: Vec<Fired>,
    /// Per queue: routing strength from rules and from the queues' terms, and the rule to quote.
    by_rule: Vec<f64>,
    by_term: Vec<f64>,
    why: Vec<Option<usize>>,
}

/// The normalised text a thread's [`Scratch`] may keep room for between items (bytes).
const SCRATCH_LIMIT: usize = 1 << 20;

/// No hit for a rule (in [`Scratch::best`]).
const NO_HIT: usize = usize::MAX;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_alone_is_the_evidence_of_the_verdict() {
        let c = Classifier::with_defaults();
        for (summary, description) in [
            ("Please reset my password, I am locked out", ""),
            ("Checkout is down for everyone since 2am", "40 users cannot pay. Feature request: dark mode?"),
            ("Add dark mode to the settings page", "As a user I want a dark theme."),
            ("", ""),
        ] {
            let mut item = Item::new("jira", "T-1", summary);
            item.description = description.into();
            let v = c.classify(&item);
            assert_eq!(c.class_evidence(&item), (v.work, v.value), "{summary}");
        }
    }
}
