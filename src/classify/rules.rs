//! Rules files: the embedded defaults, parsing with file:line:col errors, layering and validation.
//!
//! Rules come in layers: the defaults (`config/rules.toml`, embedded in the binary), then the
//! configuration's `[[rule]]`s, then any rules file given on the command line. A rule whose id is
//! already defined replaces it; `disabled = true` removes it. Ids must be unique within one layer.

use std::collections::HashMap;
use std::sync::LazyLock;

use twotrack_api::Class;

use super::spec::{RuleSpec, RulesFile};

/// The default rules and their tests, as shipped.
pub const DEFAULT_RULES: &str = include_str!("../../config/rules.toml");

static DEFAULTS: LazyLock<Result<RulesFile, RulesError>> =
    LazyLock::new(|| parse_rules_file(DEFAULT_RULES, "config/rules.toml (embedded)"));

/// The parsed default rules file.
pub fn default_rules() -> Result<&'static RulesFile, RulesError> {
    DEFAULTS.as_ref().map_err(Clone::clone)
}

/// Something wrong with a rule or a rules file. Every variant names the rule (or file position).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RulesError {
    #[error("{origin}:{line}:{col}: {message}")]
    Parse { origin: String, line: usize, col: usize, message: String },
    #[error("rule {id:?} is defined twice in the same file")]
    DuplicateId { id: String },
    #[error("rule {id:?}: bad phrase {phrase:?}: {why}")]
    BadPhrase { id: String, phrase: String, why: &'static str },
    #[error("rule {id:?}: unknown queue {queue:?} (not a [[queue]] name)")]
    UnknownQueue { id: String, queue: String },
    #[error("rule {id:?}: {what} must be 1, 2 or 3, not {value}")]
    BadLevel { id: String, what: &'static str, value: u8 },
    #[error("rule {id:?}: weight must be a finite number >= 0, not {weight}")]
    BadWeight { id: String, weight: f64 },
    #[error("rule {id:?}: kind {kind} is not of class {class}")]
    KindMismatch { id: String, class: Class, kind: twotrack_api::Kind },
    #[error("rule {id:?} has no condition: give `match`, `types`, `labels` or `fields`")]
    NoCondition { id: String },
    #[error("rule {id:?} has no effect: give `class`, `kind`, `queue`, `impact` or `urgency`")]
    NoEffect { id: String },
    #[error("rule id must not be empty")]
    EmptyId,
    #[error("no queues: at least one [[queue]] is needed (the last is the fallback)")]
    NoQueues,
    #[error("queue {name:?} is defined twice")]
    DuplicateQueue { name: String },
}

/// Parse a rules file (`[[rule]]` and `[[test]]` tables); errors carry `origin:line:col`.
pub fn parse_rules_file(text: &str, origin: &str) -> Result<RulesFile, RulesError> {
    let file: RulesFile = toml::from_str(text).map_err(|e| {
        let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        RulesError::Parse { origin: origin.to_string(), line, col, message: e.message().trim().to_string() }
    })?;
    check_unique(&file.rules)?;
    Ok(file)
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn check_unique(rules: &[RuleSpec]) -> Result<(), RulesError> {
    let mut seen = HashMap::new();
    for r in rules {
        if seen.insert(r.id.as_str(), ()).is_some() {
            return Err(RulesError::DuplicateId { id: r.id.clone() });
        }
    }
    Ok(())
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

/// Check one rule on its own (phrases are checked when they are compiled).
pub(crate) fn validate(rule: &RuleSpec) -> Result<(), RulesError> {
    let id = || rule.id.clone();
    if rule.id.trim().is_empty() {
        return Err(RulesError::EmptyId);
    }
    if rule.phrases.is_empty() && rule.types.is_empty() && rule.labels.is_empty() && rule.fields.is_empty() {
        return Err(RulesError::NoCondition { id: id() });
    }
    if rule.class.is_none()
        && rule.kind.is_none()
        && rule.queue.is_none()
        && rule.impact.is_none()
        && rule.urgency.is_none()
    {
        return Err(RulesError::NoEffect { id: id() });
    }
    if !rule.weight.is_finite() || rule.weight < 0.0 {
        return Err(RulesError::BadWeight { id: id(), weight: rule.weight });
    }
    if let (Some(class), Some(kind)) = (rule.class, rule.kind)
        && kind.class() != class
    {
        return Err(RulesError::KindMismatch { id: id(), class, kind });
    }
    for (what, level) in [("impact", rule.impact), ("urgency", rule.urgency)] {
        if let Some(value) = level.filter(|v| !(1..=3).contains(v)) {
            return Err(RulesError::BadLevel { id: id(), what, value });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let rule = |id: &str, w: f64, disabled: bool| RuleSpec {
            id: id.into(),
            description: None,
            phrases: vec!["x".into()],
            types: vec![],
            labels: vec![],
            fields: vec![],
            class: Some(Class::Work),
            kind: None,
            weight: w,
            queue: None,
            impact: None,
            urgency: None,
            disabled,
        };
        let base = [rule("a", 1.0, false), rule("b", 1.0, false)];
        let user = [rule("a", 2.0, false), rule("b", 1.0, true), rule("c", 1.0, false)];
        let out = overlay(&[&base, &user]).unwrap();
        let got: Vec<(&str, f64, bool)> = out.iter().map(|(r, d)| (r.id.as_str(), r.weight, *d)).collect();
        assert_eq!(got, [("a", 2.0, false), ("c", 1.0, false)]);
        assert!(overlay(&[&[rule("a", 1.0, false), rule("a", 1.0, false)]]).is_err());
    }
}
