//! Building a [`Classifier`]: the default rules with the user's layered on top, checked, and every
//! phrase of every rule compiled into one word-level trie of atoms (contiguous runs of words) and the
//! gap phrases assembled from them.

use std::collections::HashMap;

use twotrack_api::{Class, Kind};

use super::{AtomInfo, Classifier, CounterHandle, Effects, MAX_GAP, Phrase, Rule, Second};
use crate::classify::Subject;
use crate::classify::facts::{Counter, FACTS};
use crate::classify::matcher::Matcher;
use crate::classify::rules::{RulesError, check_queues, default_rules, default_vocabulary, overlay, validate};
use crate::classify::spec::{PriorityMatrix, QueueSpec, RuleSpec, default_queues};
use crate::classify::text::{Fnv, Normalized};

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
        let defaults = default_rules()?;
        // Normalising phrases and counting the affected need the vocabulary: a broken one is an error here.
        default_vocabulary()?;
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
        if let Some(problem) = check_queues(queues).into_iter().next() {
            return Err(problem.error);
        }
        let mut b = Builder::default();
        for &(spec, default) in rules {
            // A default rule may name a default queue the configuration does not have: it then just
            // does not route. A user rule must name a configured queue.
            validate(spec, (!default).then_some(queues))?;
            let queue = spec.queue.as_ref().and_then(|name| queues.iter().position(|q| &q.name == name));
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
                subject: match (spec.class, spec.kind) {
                    (Some(class), _) => Subject::Class(class),
                    (None, Some(_)) => Subject::Kind,
                    (None, None) => Subject::Context,
                },
            };
            b.add_rule(rule, &spec.phrases, |phrase, why| RulesError::BadPhrase {
                id: spec.id.clone(),
                phrase: phrase.into(),
                why,
            })?;
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
                subject: Subject::Queue,
            };
            b.add_rule(rule, &q.terms, |term, why| RulesError::BadTerm {
                name: q.name.clone(),
                term: term.into(),
                why,
            })?;
        }
        // Lay the atoms' rules and the pairs starting gap phrases out flat, each atom's pairs sorted.
        let mut pairs: Vec<(&(usize, usize), &Vec<usize>)> = b.pairs.iter().collect();
        pairs.sort_unstable_by_key(|(k, _)| **k);
        let mut pairs = pairs.into_iter().peekable();
        let (mut atom_rules, mut seconds, mut pair_phrases) = (Vec::new(), Vec::new(), Vec::new());
        let mut atoms = Vec::with_capacity(b.atoms.len());
        for (i, a) in b.atoms.iter().enumerate() {
            let rules = range(&mut atom_rules, a.rules.iter().map(|&r| r as u32));
            let first = seconds.len() as u32;
            while let Some(((_, second), phrases)) = pairs.next_if(|((lead, _), _)| *lead == i) {
                let phrases = range(&mut pair_phrases, phrases.iter().map(|&p| p as u32));
                seconds.push(Second { atom: *second as u32, phrases });
            }
            atoms.push(AtomInfo { atom: i as u32, words: a.words as u32, rules, pairs: (first, seconds.len() as u32) });
        }
        let matcher = Matcher::new(b.patterns.iter().map(String::as_str).zip(atoms.iter().copied()));
        Ok(Classifier {
            widest_gap: b.phrases.iter().flat_map(|p| p.parts.iter().map(|&(_, gap)| gap)).max().unwrap_or(0),
            effects: b.rules.iter().map(|r| r.effects).collect(),
            needs_hit: b.rules.iter().map(|r| r.has_phrases).collect(),
            rules: b.rules,
            atom_rules,
            seconds,
            pair_phrases,
            phrases: b.phrases,
            matcher,
            queues: queues.to_vec(),
            matrix: matrix.clone(),
            queue_supports: queues.iter().map(|q| format!("queue {}", q.name)).collect(),
            matrix_reasons: (1..=3)
                .flat_map(|i| (1..=3).map(move |u| (i, u)))
                .map(|(i, u)| format!("impact {i} x urgency {u} -> {}", matrix.name(matrix.priority(i, u))))
                .collect(),
            counter: CounterHandle(Counter::default()),
        })
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

/// Append `items` to `v`; where they are.
fn range(v: &mut Vec<u32>, items: impl Iterator<Item = u32>) -> (u32, u32) {
    let start = v.len() as u32;
    v.extend(items);
    (start, v.len() as u32)
}

/// A contiguous run of normalised words: one matcher pattern, as the builder collects it.
#[derive(Debug, Default)]
struct Atom {
    words: usize,
    /// The rules of the single-part phrases made of just this atom.
    rules: Vec<usize>,
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

/// Collects rules, phrases and matcher patterns during compilation.
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
    /// Add a rule and its phrases; `bad` makes the error for a phrase that does not compile.
    fn add_rule(
        &mut self,
        rule: Rule,
        phrases: &[String],
        bad: impl Fn(&str, &'static str) -> RulesError,
    ) -> Result<(), RulesError> {
        let r = self.rules.len();
        for written in phrases {
            let bad = |why| bad(written, why);
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
            // A prefix word (`word*`) ends a matcher pattern; what follows it is the next
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
            self.atoms[parts[0].0].rules.push(r);
        } else {
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
