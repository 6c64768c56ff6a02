//! Rules files: the embedded defaults, parsing with file:line:col errors, layering and validation;
//! and the embedded vocabulary (`config/vocabulary.toml`), parsed and checked once.
//!
//! Rules come in layers: the defaults (`config/rules.toml`, embedded in the binary), then the
//! configuration's `[[rule]]`s, then any rules file given on the command line. A rule whose id is
//! already defined replaces it; `disabled = true` removes it. Ids must be unique within one layer.
//!
//! Validation is here and only here: [`check_rules`] and [`check_queues`] find every problem of a
//! list of rules or queues ([`Problem`]: which entry, which key, what is wrong, what to do). The
//! classifier refuses the first problem when it compiles; the configuration reports them all at
//! their `file:line:col`. What only compiling finds (a phrase whose syntax is wrong) comes back from
//! the classifier as a [`RulesError`], which [`Problem::of`] places in the same way.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use twotrack_api::{Class, Kind};

use super::spec::{QueueSpec, RuleSpec, RulesFile, Vocabulary};

/// The default rules and their tests, as shipped.
pub const DEFAULT_RULES: &str = include_str!("../../config/rules.toml");

static DEFAULTS: LazyLock<Result<RulesFile, RulesError>> =
    LazyLock::new(|| parse_rules_file(DEFAULT_RULES, "config/rules.toml (embedded)"));

/// The parsed default rules file.
pub fn default_rules() -> Result<&'static RulesFile, RulesError> {
    DEFAULTS.as_ref().map_err(Clone::clone)
}

/// The classifier's vocabulary as shipped: typo corrections, the words of affected-people counts, the
/// default queues.
pub const DEFAULT_VOCABULARY: &str = include_str!("../../config/vocabulary.toml");

static VOCABULARY: LazyLock<Result<Vocabulary, RulesError>> =
    LazyLock::new(|| parse_vocabulary(DEFAULT_VOCABULARY, "config/vocabulary.toml (embedded)"));

/// The parsed and checked vocabulary.
pub(crate) fn default_vocabulary() -> Result<&'static Vocabulary, RulesError> {
    VOCABULARY.as_ref().map_err(Clone::clone)
}

/// The vocabulary, for the code that cannot fail (normalising a word, counting the affected, the
/// default queues). Not input: the embedded file is checked by the tests, and compiling a classifier
/// asks [`default_vocabulary`] first.
pub(crate) fn vocabulary() -> &'static Vocabulary {
    default_vocabulary().expect("the embedded vocabulary is valid (checked by the tests)")
}

/// Something wrong with a rule, a queue or a rules file. Every variant names the rule or queue (or the
/// file position); [`RulesError::help`] says what to do. Shown alone, it says both.
///
/// `Parse`: the file is not valid TOML, or not a rules file. `BadPhrase` and `BadTerm`: a rule's
/// phrase or a queue's match term that does not compile (only compiling finds them). `UnknownQueue`:
/// `known` are the queues there are. `BadWord`: in the vocabulary's `list`, `word` is wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum RulesError {
    Parse { origin: String, line: usize, col: usize, message: String },
    DuplicateId { id: String },
    BadPhrase { id: String, phrase: String, why: &'static str },
    EmptyPhrase { id: String },
    UnknownQueue { id: String, queue: String, known: Vec<String> },
    BadLevel { id: String, what: &'static str, value: u8 },
    BadWeight { id: String, weight: f64 },
    KindMismatch { id: String, class: Class, kind: Kind },
    NoCondition { id: String },
    NoEffect { id: String },
    EmptyId,
    NoQueues,
    DuplicateQueue { name: String },
    EmptyQueueName,
    EmptyGroup { name: String },
    EmptyTerm { name: String },
    BadTerm { name: String, term: String, why: &'static str },
    BadWord { list: &'static str, word: String, why: &'static str },
}

/// How phrases are written, for the help of a phrase that does not compile.
const PHRASE_SYNTAX: &str = "phrases are words, with `a .. b` (b within 4 words after a), `word*` (a prefix), \
                             `{a,b}` (alternatives) and `fact:NAME`: see the top of config/rules.toml";

impl RulesError {
    /// What is wrong, naming the rule or queue.
    pub fn what(&self) -> String {
        use RulesError::*;
        match self {
            Parse { origin, line, col, message } => format!("{origin}:{line}:{col}: {message}"),
            DuplicateId { id } => format!("duplicate rule id {id:?}"),
            BadPhrase { id, phrase, why } => format!("rule {id:?}: bad phrase {phrase:?}: {why}"),
            EmptyPhrase { id } => format!("rule {id:?}: empty phrase"),
            UnknownQueue { id, queue, .. } => format!("rule {id:?} routes to unknown queue {queue:?}"),
            BadLevel { id, what, value } => {
                format!("rule {id:?}: `{what}` must be 1 (high), 2 or 3 (low), not {value}")
            }
            BadWeight { id, weight } => format!("rule {id:?}: `weight` must be a finite number >= 0, not {weight}"),
            KindMismatch { id, class, kind } => {
                format!("rule {id:?}: kind \"{kind}\" is {}, but class is \"{class}\"", kind.class())
            }
            NoCondition { id } => format!("rule {id:?} matches nothing"),
            NoEffect { id } => format!("rule {id:?} has no effect"),
            EmptyId => "rule id is empty".into(),
            NoQueues => "no queues".into(),
            DuplicateQueue { name } => format!("duplicate queue {name:?}"),
            EmptyQueueName => "queue name is empty".into(),
            EmptyGroup { name } => format!("queue {name:?}: `group` is empty"),
            EmptyTerm { name } => format!("queue {name:?}: empty match term"),
            BadTerm { name, term, why } => format!("queue {name:?}: bad term {term:?}: {why}"),
            BadWord { list, word, why } => format!("vocabulary: {list} {word:?}: {why}"),
        }
    }

    /// What to do about it (empty for a file that does not parse: its message says all there is).
    pub fn help(&self) -> String {
        use RulesError::*;
        match self {
            Parse { .. } => String::new(),
            DuplicateId { .. } => {
                "give every [[rule]] of a file its own id (to replace a built-in rule, use its id once)".into()
            }
            BadPhrase { .. } | BadTerm { .. } => PHRASE_SYNTAX.into(),
            EmptyPhrase { .. } | EmptyTerm { .. } => "remove the empty string".into(),
            UnknownQueue { queue, known, .. } => match did_you_mean(queue, known.iter().map(String::as_str)) {
                Some(name) => format!("did you mean \"{name}\"?"),
                None => format!("use one of {}, or define it with a [[queue]] entry", known.join(", ")),
            },
            BadLevel { what, .. } => format!("e.g. `{what} = 2`"),
            BadWeight { .. } => "e.g. `weight = 1.0` (the default)".into(),
            KindMismatch { class, .. } => {
                let kinds: Vec<&str> = Kind::ALL.iter().filter(|k| k.class() == *class).map(|k| k.as_str()).collect();
                format!("drop `class` (the kind implies it), or pick a {class} kind: {}", kinds.join(" or "))
            }
            NoCondition { .. } => {
                "give `match = [...]`, `types = [...]`, `labels = [...]` or `fields = [...]` (or `disabled = true`)"
                    .into()
            }
            NoEffect { .. } => "set `class`, `kind`, `queue`, `impact` or `urgency`".into(),
            EmptyId => "give the rule a unique id, e.g. \"vpn-outage\"".into(),
            NoQueues => "define at least one [[queue]] (the last is the fallback)".into(),
            DuplicateQueue { .. } => "merge the two [[queue]] entries".into(),
            EmptyQueueName => "give the queue a short name, e.g. \"database\"".into(),
            EmptyGroup { .. } => "give the assignment group's name in the service tracker".into(),
            BadWord { .. } => "fix config/vocabulary.toml: its header says what each list holds".into(),
        }
    }
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let help = self.help();
        if help.is_empty() { f.write_str(&self.what()) } else { write!(f, "{}; {help}", self.what()) }
    }
}

impl std::error::Error for RulesError {}

/// Which list a [`Problem`] is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Rule,
    Queue,
}

impl Entry {
    /// The table's name in a file: `rule`, `queue`.
    pub fn table(self) -> &'static str {
        match self {
            Entry::Rule => "rule",
            Entry::Queue => "queue",
        }
    }
}

/// One problem with one `[[rule]]` or `[[queue]]` entry: which entry, which of its keys, what is wrong
/// (`error`, which names the rule or queue) and what to do (`error.help()`).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub entry: Entry,
    /// The entry's position in the list checked.
    pub index: usize,
    /// The key it is about, as a path inside the entry: `weight`, `match.2` (the third phrase); empty
    /// when it is about the entry as a whole.
    pub key: String,
    pub error: RulesError,
    /// For a duplicate id or name: the position of the entry that has it first.
    pub first: Option<usize>,
}

impl Problem {
    /// The problem a classifier's refusal is, placed among `rules` and `queues` (the lists given to
    /// it); `None` when it concerns neither (a default rule, or no queues at all).
    pub fn of(error: RulesError, rules: &[RuleSpec], queues: &[QueueSpec]) -> Option<Problem> {
        use RulesError::*;
        let rule = |id: &str| rules.iter().position(|r| r.id == id);
        let queue = |name: &str| queues.iter().position(|q| q.name == name);
        let (entry, index, key) = match &error {
            BadPhrase { id, phrase, .. } => {
                let i = rule(id)?;
                let j = rules[i].phrases.iter().position(|p| p == phrase);
                (Entry::Rule, i, j.map_or(String::new(), |j| format!("match.{j}")))
            }
            BadTerm { name, term, .. } => {
                let i = queue(name)?;
                let j = queues[i].terms.iter().position(|t| t == term);
                (Entry::Queue, i, j.map_or(String::new(), |j| format!("terms.{j}")))
            }
            DuplicateId { id }
            | EmptyPhrase { id }
            | UnknownQueue { id, .. }
            | BadLevel { id, .. }
            | BadWeight { id, .. }
            | KindMismatch { id, .. }
            | NoCondition { id }
            | NoEffect { id } => (Entry::Rule, rule(id)?, String::new()),
            DuplicateQueue { name } | EmptyGroup { name } | EmptyTerm { name } => {
                (Entry::Queue, queue(name)?, String::new())
            }
            Parse { .. } | EmptyId | NoQueues | EmptyQueueName | BadWord { .. } => return None,
        };
        Some(Problem { entry, index, key, error, first: None })
    }
}

/// Parse a rules file (`[[rule]]` and `[[test]]` tables); errors carry `origin:line:col`.
pub fn parse_rules_file(text: &str, origin: &str) -> Result<RulesFile, RulesError> {
    let file: RulesFile = parse_toml(text, origin)?;
    check_unique(&file.rules)?;
    Ok(file)
}

/// Parse and check a vocabulary file.
fn parse_vocabulary(text: &str, origin: &str) -> Result<Vocabulary, RulesError> {
    let vocabulary: Vocabulary = parse_toml(text, origin)?;
    check_vocabulary(&vocabulary)?;
    Ok(vocabulary)
}

fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T, RulesError> {
    toml::from_str(text).map_err(|e| {
        let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        RulesError::Parse { origin: origin.to_string(), line, col, message: e.message().trim().to_string() }
    })
}

/// The first problem of a vocabulary: every entry is one word as the normaliser writes it; a typo is
/// listed once, differs from its word and is not a word corrected to (corrections do not chain); a
/// count word is in one list once and is not a typo (the counter never sees one); the queues are
/// valid and there is one at least.
fn check_vocabulary(v: &Vocabulary) -> Result<(), RulesError> {
    let bad = |list: &'static str, word: &str, why| Err(RulesError::BadWord { list, word: word.into(), why });
    let is_word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    const NOT_A_WORD: &str = "not a word (lower-case letters and digits)";
    let mut typos: HashMap<&str, &str> = HashMap::new();
    for (word, its) in &v.corrections {
        if !is_word(word) {
            return bad("correction", word, NOT_A_WORD);
        }
        for typo in its {
            if !is_word(typo) {
                return bad("typo", typo, NOT_A_WORD);
            }
            if typo == word {
                return bad("typo", typo, "is the word itself");
            }
            if typos.insert(typo, word).is_some() {
                return bad("typo", typo, "listed twice");
            }
        }
    }
    if let Some(word) = v.corrections.keys().find(|w| typos.contains_key(w.as_str())) {
        return bad("correction", word, "is itself a typo: corrections do not chain");
    }
    let mut counted: HashMap<&str, ()> = HashMap::new();
    for (list, words) in [("population", &v.affected.population), ("filler", &v.affected.filler)] {
        for word in words {
            if !is_word(word) {
                return bad(list, word, NOT_A_WORD);
            }
            if typos.contains_key(word.as_str()) {
                return bad(list, word, "is a typo: write the word it is corrected to");
            }
            if counted.insert(word, ()).is_some() {
                return bad(list, word, "listed twice (or in both lists)");
            }
        }
    }
    if v.queues.is_empty() {
        return Err(RulesError::NoQueues);
    }
    check_queues(&v.queues).into_iter().next().map_or(Ok(()), |p| Err(p.error))
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn check_unique(rules: &[RuleSpec]) -> Result<(), RulesError> {
    match repeats(rules.iter().map(|r| r.id.as_str())).iter().position(Option::is_some) {
        Some(i) => Err(RulesError::DuplicateId { id: rules[i].id.clone() }),
        None => Ok(()),
    }
}

/// Apply rule layers in order: the same id replaces, `disabled` removes. Returns the effective rules
/// (in first-definition order) and, for each, whether it came from the defaults (layer 0).
pub(crate) fn overlay<'a>(layers: &[&'a [RuleSpec]]) -> Result<Vec<(&'a RuleSpec, bool)>, RulesError> {
    let mut out: Vec<(&RuleSpec, bool)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (n, layer) in layers.iter().enumerate() {
        check_unique(layer)?;
        for rule in layer.iter() {
            match index.get(rule.id.as_str()) {
                Some(&i) => out[i] = (rule, n == 0),
                None => {
                    index.insert(&rule.id, out.len());
                    out.push((rule, n == 0));
                }
            }
        }
    }
    out.retain(|(r, _)| !r.disabled);
    Ok(out)
}

/// Every problem of one list of rules (a rules file, or the configuration's `[[rule]]`s), entry by
/// entry. With `queues`, each rule must route to one of them.
pub fn check_rules(rules: &[RuleSpec], queues: Option<&[QueueSpec]>) -> Vec<Problem> {
    let repeats = repeats(rules.iter().map(|r| r.id.as_str()));
    let mut out = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let mut problem =
            |key: String, error, first| out.push(Problem { entry: Entry::Rule, index, key, error, first });
        if rule.id.trim().is_empty() {
            problem("id".into(), RulesError::EmptyId, None);
        } else if let Some(first) = repeats[index] {
            problem("id".into(), RulesError::DuplicateId { id: rule.id.clone() }, Some(first));
        }
        check_rule(rule, queues, |key, error| problem(key, error, None));
    }
    out
}

/// Check one rule on its own, as the classifier does before compiling it (phrases are checked when
/// they are compiled): its first problem. With `queues`, it must route to one of them.
pub(crate) fn validate(rule: &RuleSpec, queues: Option<&[QueueSpec]>) -> Result<(), RulesError> {
    if rule.id.trim().is_empty() {
        return Err(RulesError::EmptyId);
    }
    let mut first = None;
    check_rule(rule, queues, |_, error| {
        first.get_or_insert(error);
    });
    first.map_or(Ok(()), Err)
}

/// The problems of one rule's own keys (not its id), each with its key. A disabled rule needs neither
/// a condition nor an effect.
fn check_rule(rule: &RuleSpec, queues: Option<&[QueueSpec]>, mut problem: impl FnMut(String, RulesError)) {
    let id = || rule.id.clone();
    let r = rule;
    if !r.disabled && r.phrases.is_empty() && r.types.is_empty() && r.labels.is_empty() && r.fields.is_empty() {
        problem(String::new(), RulesError::NoCondition { id: id() });
    }
    if !r.disabled
        && r.class.is_none()
        && r.kind.is_none()
        && r.queue.is_none()
        && r.impact.is_none()
        && r.urgency.is_none()
    {
        problem(String::new(), RulesError::NoEffect { id: id() });
    }
    for (j, phrase) in r.phrases.iter().enumerate() {
        if phrase.trim().is_empty() {
            problem(format!("match.{j}"), RulesError::EmptyPhrase { id: id() });
        }
    }
    if let (Some(class), Some(kind)) = (r.class, r.kind)
        && kind.class() != class
    {
        problem("kind".into(), RulesError::KindMismatch { id: id(), class, kind });
    }
    if !(r.weight.is_finite() && r.weight >= 0.0) {
        problem("weight".into(), RulesError::BadWeight { id: id(), weight: r.weight });
    }
    for (what, level) in [("impact", r.impact), ("urgency", r.urgency)] {
        if let Some(value) = level.filter(|v| !(1..=3).contains(v)) {
            problem(what.into(), RulesError::BadLevel { id: id(), what, value });
        }
    }
    if let (Some(queue), Some(queues)) = (&r.queue, queues)
        && !queues.iter().any(|q| &q.name == queue)
    {
        let known = queues.iter().map(|q| q.name.clone()).collect();
        problem("queue".into(), RulesError::UnknownQueue { id: id(), queue: queue.clone(), known });
    }
}

/// Every problem of one list of queues, entry by entry (that there is at least one is the
/// classifier's concern: a configuration's queues extend the defaults).
pub fn check_queues(queues: &[QueueSpec]) -> Vec<Problem> {
    let repeats = repeats(queues.iter().map(|q| q.name.as_str()));
    let mut out = Vec::new();
    for (index, q) in queues.iter().enumerate() {
        let mut problem =
            |key: String, error, first| out.push(Problem { entry: Entry::Queue, index, key, error, first });
        let name = || q.name.clone();
        if q.name.trim().is_empty() {
            problem("name".into(), RulesError::EmptyQueueName, None);
        } else if let Some(first) = repeats[index] {
            problem("name".into(), RulesError::DuplicateQueue { name: name() }, Some(first));
        }
        if q.group.trim().is_empty() {
            problem("group".into(), RulesError::EmptyGroup { name: name() }, None);
        }
        for (j, term) in q.terms.iter().enumerate() {
            if term.trim().is_empty() {
                problem(format!("terms.{j}"), RulesError::EmptyTerm { name: name() }, None);
            }
        }
    }
    out
}

/// For each entry, the position of the first entry with the same name, if that is an earlier one.
fn repeats<'a>(names: impl Iterator<Item = &'a str>) -> Vec<Option<usize>> {
    let mut first: HashMap<&str, usize> = HashMap::new();
    names.enumerate().map(|(i, name)| Some(*first.entry(name).or_insert(i)).filter(|&f| f != i)).collect()
}

/// The closest candidate to `got`, if it is close enough to be what was meant.
pub(crate) fn did_you_mean<'a>(got: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let got = got.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&got, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str) -> RuleSpec {
        RuleSpec {
            id: id.into(),
            description: None,
            phrases: vec!["x".into()],
            types: vec![],
            labels: vec![],
            fields: vec![],
            class: Some(Class::Work),
            kind: None,
            weight: 1.0,
            queue: None,
            impact: None,
            urgency: None,
            disabled: false,
        }
    }

    fn queue(name: &str, group: &str, terms: &[&str]) -> QueueSpec {
        QueueSpec { name: name.into(), group: group.into(), terms: terms.iter().map(|t| t.to_string()).collect() }
    }

    #[test]
    fn defaults_parse() {
        let file = default_rules().unwrap();
        assert!(file.rules.len() > 50);
        assert!(file.tests.len() > 30);
    }

    #[test]
    fn parse_errors_carry_line_and_column() {
        let err = parse_rules_file("[[rule]]\nid = \"x\"\nweight = \"heavy\"\n", "r.toml").unwrap_err();
        match err {
            RulesError::Parse { origin, line, col, .. } => assert_eq!((origin.as_str(), line, col), ("r.toml", 3, 10)),
            other => panic!("{other:?}"),
        }
        let err = parse_rules_file("[[rule]]\nid = \"x\"\nmatch = [\"a\"]\nclass = \"work\"\n[[rule]]\nid = \"x\"\nmatch = [\"b\"]\nclass = \"work\"\n", "r").unwrap_err();
        assert_eq!(err, RulesError::DuplicateId { id: "x".into() });
    }

    #[test]
    fn overlay_replaces_and_disables() {
        let rule = |id: &str, weight: f64, disabled: bool| RuleSpec { weight, disabled, ..spec(id) };
        let base = [rule("a", 1.0, false), rule("b", 1.0, false)];
        let user = [rule("a", 2.0, false), rule("b", 1.0, true), rule("c", 1.0, false)];
        let out = overlay(&[&base, &user]).unwrap();
        let got: Vec<(&str, f64, bool)> = out.iter().map(|(r, d)| (r.id.as_str(), r.weight, *d)).collect();
        assert_eq!(got, [("a", 2.0, false), ("c", 1.0, false)]);
        assert!(overlay(&[&[rule("a", 1.0, false), rule("a", 1.0, false)]]).is_err());
    }

    /// `found` is `want`: (entry, key, what is wrong, first entry) of each problem.
    #[track_caller]
    fn assert_problems(found: &[Problem], want: &[(usize, &str, &str, Option<usize>)]) {
        let whats: Vec<String> = found.iter().map(|p| p.error.what()).collect();
        let got: Vec<(usize, &str, &str, Option<usize>)> =
            found.iter().zip(&whats).map(|(p, what)| (p.index, p.key.as_str(), what.as_str(), p.first)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn every_problem_of_a_rule_list_is_found_at_its_key() {
        let bare = RuleSpec { phrases: vec![], class: None, ..spec("bare") };
        let mixed = RuleSpec {
            phrases: vec!["x".into(), " ".into()],
            class: Some(Class::Value),
            kind: Some(Kind::Incident),
            weight: -1.0,
            impact: Some(0),
            urgency: Some(4),
            queue: Some("databse".into()),
            ..spec("mixed")
        };
        let rules = [
            spec("ok"),
            spec("ok"),
            spec(" "),
            bare.clone(),
            RuleSpec { id: "off".into(), disabled: true, ..bare },
            mixed,
        ];
        let queues = [queue("database", "DBA", &[])];
        let found = check_rules(&rules, Some(&queues));
        let want = [
            (1, "id", "duplicate rule id \"ok\"", Some(0)),
            (2, "id", "rule id is empty", None),
            (3, "", "rule \"bare\" matches nothing", None),
            (3, "", "rule \"bare\" has no effect", None),
            (5, "match.1", "rule \"mixed\": empty phrase", None),
            (5, "kind", "rule \"mixed\": kind \"incident\" is work, but class is \"value\"", None),
            (5, "weight", "rule \"mixed\": `weight` must be a finite number >= 0, not -1", None),
            (5, "impact", "rule \"mixed\": `impact` must be 1 (high), 2 or 3 (low), not 0", None),
            (5, "urgency", "rule \"mixed\": `urgency` must be 1 (high), 2 or 3 (low), not 4", None),
            (5, "queue", "rule \"mixed\" routes to unknown queue \"databse\"", None),
        ];
        assert_problems(&found, &want);
        assert!(found.iter().all(|p| p.entry == Entry::Rule && !p.error.help().is_empty()));
        assert_eq!(found.last().unwrap().error.help(), "did you mean \"database\"?");
        assert_eq!(
            found[5].error.help(),
            "drop `class` (the kind implies it), or pick a value kind: feature or defect"
        );
        // Without the queues, a rule's queue is not checked; the classifier refuses the first problem.
        assert_eq!(check_rules(&rules[5..], None).len(), 5);
        assert_eq!(validate(&rules[5], None), Err(RulesError::EmptyPhrase { id: "mixed".into() }));
        assert_eq!(validate(&rules[2], Some(&queues)), Err(RulesError::EmptyId));
        assert_eq!(validate(&rules[0], Some(&queues)), Ok(()));
    }

    #[test]
    fn every_problem_of_a_queue_list_is_found_at_its_key() {
        let queues = [queue("db", "DBA", &["sql"]), queue("db", " ", &["x", " "]), queue("", "Desk", &[])];
        let found = check_queues(&queues);
        let want = [
            (1, "name", "duplicate queue \"db\"", Some(0)),
            (1, "group", "queue \"db\": `group` is empty", None),
            (1, "terms.1", "queue \"db\": empty match term", None),
            (2, "name", "queue name is empty", None),
        ];
        assert_problems(&found, &want);
        assert!(found.iter().all(|p| p.entry == Entry::Queue));
        assert!(check_queues(&crate::classify::default_queues()).is_empty());
    }

    #[test]
    fn a_refusal_of_the_classifier_is_placed_at_its_entry_and_key() {
        let rules = [spec("a"), RuleSpec { phrases: vec!["x".into(), "{y".into()], ..spec("b") }];
        let queues = [queue("db", "DBA", &["sql", "x*y"])];
        let bad = RulesError::BadPhrase { id: "b".into(), phrase: "{y".into(), why: "`{` without `}`" };
        let p = Problem::of(bad.clone(), &rules, &queues).unwrap();
        assert_eq!((p.entry, p.index, p.key.as_str()), (Entry::Rule, 1, "match.1"));
        let term = RulesError::BadTerm { name: "db".into(), term: "x*y".into(), why: "`*` must follow a word" };
        let p = Problem::of(term, &rules, &queues).unwrap();
        assert_eq!((p.entry.table(), p.index, p.key.as_str()), ("queue", 0, "terms.1"));
        // A built-in rule's problem is not the file's.
        let builtin = RulesError::BadPhrase { id: "type-story".into(), phrase: "x".into(), why: "?" };
        assert_eq!(Problem::of(builtin, &rules, &queues), None);
        // Shown alone, an error says what to do too.
        assert_eq!(bad.to_string(), format!("rule \"b\": bad phrase \"{{y\": `{{` without `}}`; {PHRASE_SYNTAX}"));
    }

    #[test]
    fn the_vocabulary_is_checked_when_read() {
        let v = default_vocabulary().unwrap();
        assert!(v.corrections["password"].iter().any(|t| t == "pasword"));
        assert!(v.affected.population.iter().any(|w| w == "users"));
        assert_eq!(v.queues.last().map(|q| q.name.as_str()), Some("service-desk"));

        let file = |corrections: &str, population: &str, filler: &str| {
            format!(
                "[corrections]\n{corrections}\n[affected]\npopulation = [{population}]\nfiller = [{filler}]\n\n\
                 [[queue]]\nname = \"desk\"\ngroup = \"Desk\"\n"
            )
        };
        assert!(parse_vocabulary(&file("password = [\"pasword\"]", "\"user\"", "\"of\""), "v").is_ok());
        let refused = |text: String| match parse_vocabulary(&text, "v") {
            Err(RulesError::BadWord { list, word, .. }) => (list, word),
            other => panic!("{other:?}"),
        };
        let (user, of) = ("\"user\"", "\"of\"");
        let cases = [
            (file("password = [\"Pasword\"]", user, of), ("typo", "Pasword")),
            (file("\"pass word\" = [\"pw\"]", user, of), ("correction", "pass word")),
            (file("password = [\"password\"]", user, of), ("typo", "password")),
            (file("password = [\"pw\"]\npwd = [\"pw\"]", user, of), ("typo", "pw")),
            (file("password = [\"pwd\"]\npwd = [\"pw\"]", user, of), ("correction", "pwd")),
            (file("password = [\"pasword\"]", "\"pasword\"", of), ("population", "pasword")),
            (file("", "\"sales agents\"", of), ("population", "sales agents")),
            (file("", user, "\"of\", \"user\""), ("filler", "user")),
        ];
        for (text, (list, word)) in cases {
            assert_eq!(refused(text), (list, word.to_string()));
        }
        let no_group = file("", user, of).replace("group = \"Desk\"", "group = \"\"");
        assert_eq!(parse_vocabulary(&no_group, "v"), Err(RulesError::EmptyGroup { name: "desk".into() }));
        let no_queue =
            format!("queue = []\n{}", file("", user, of).replace("[[queue]]\nname = \"desk\"\ngroup = \"Desk\"\n", ""));
        assert_eq!(parse_vocabulary(&no_queue, "v"), Err(RulesError::NoQueues));
        let typo = file("", user, of).replace("filler", "fillers");
        let err = parse_vocabulary(&typo, "v").unwrap_err();
        assert!(
            matches!(&err, RulesError::Parse { line: 5, col: 1, message, .. } if message.contains("`fillers`")),
            "{err:?}"
        );
    }
}
