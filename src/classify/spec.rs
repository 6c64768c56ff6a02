//! The data the classifier is configured with: rules, queues and the priority matrix.
//!
//! These types are deserialized straight from TOML (the embedded `config/rules.toml` and
//! `config/vocabulary.toml`, and the user's `[[rule]]`, `[[queue]]` and `[priority]` sections), so
//! they are the file format: keep them readable.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use twotrack_api::{Class, Kind};

use super::Action;

fn one() -> f64 {
    1.0
}

/// One classification rule: when it matches, it adds `weight` of evidence toward `class` / `kind`
/// (and may route Work to `queue`, or set impact / urgency).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique id. A user rule with the id of a default rule replaces it.
    pub id: String,
    /// What the rule captures, for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Phrases matched on word boundaries, case-insensitively, in summary and description.
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub phrases: Vec<String>,
    /// Types as filed (Jira issue type or ServiceNow table), case-insensitive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// Labels, case-insensitive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Tracker-specific fields (`story_points`, `sprint`, `acceptance_criteria`, `caller`, `category`,
    /// `contact_type`, ...) that must be present and non-empty. A condition `name=value` also checks
    /// the value, case-insensitively.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Evidence toward this class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<Class>,
    /// Evidence toward this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// Strength of the evidence (default 1.0).
    #[serde(default = "one")]
    pub weight: f64,
    /// Route Work matching this rule to this queue (a `[[queue]]` name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Impact 1 (high) ..= 3 (low) implied by a match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<u8>,
    /// Urgency 1 (high) ..= 3 (low) implied by a match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<u8>,
    /// Turn a default rule off without deleting it.
    #[serde(default)]
    pub disabled: bool,
}

/// One test case a rules file carries: an item as filed and what the classifier must say about it.
///
/// Only the expectations given are checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleTest {
    /// The item's summary (title).
    pub summary: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The type as filed ("Story", "Bug", "incident", "sc_req_item", ...).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub filed_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Where it is filed: "jira" / "servicenow" (or a role, "product" / "service"); when given, the
    /// expected `action` is checked against the default thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracker: Option<String>,
    /// Expected class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<Class>,
    /// Expected kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// Expected queue (Work only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Expected impact (Work only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<u8>,
    /// Expected urgency (Work only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<u8>,
    /// Expected priority (Work only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// Expected action where it is filed (needs `tracker`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

/// A rules file: `[[rule]]`s and the `[[test]]`s that check them (the embedded defaults, or a file
/// given to `twotrack rules test`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleSpec>,
    #[serde(default, rename = "test")]
    pub tests: Vec<RuleTest>,
}

/// A service queue (assignment group) Work is routed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    /// Short name used in rules and reports ("database").
    pub name: String,
    /// The assignment group in the service tracker ("Database Operations").
    pub group: String,
    /// Terms that route an item here when no rule names a queue.
    #[serde(default)]
    pub terms: Vec<String>,
}

/// The default queues (`[[queue]]` in `config/vocabulary.toml`): database, access/administration,
/// network, infrastructure/hosting, end-user devices, and the service desk as the fallback (the last).
pub fn default_queues() -> Vec<QueueSpec> {
    super::rules::vocabulary().queues.clone()
}

/// The classifier's vocabulary, `config/vocabulary.toml`: the word lists that are knowledge, not
/// code (its header says what each is for). Embedded; checked when it is read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Vocabulary {
    /// The word meant, and the misspellings and shorthands corrected to it.
    pub corrections: BTreeMap<String, Vec<String>>,
    pub affected: AffectedWords,
    /// The default queues (the last is the fallback).
    #[serde(rename = "queue")]
    pub queues: Vec<QueueSpec>,
}

/// The words of an affected-people count ("40 sales agents").
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AffectedWords {
    /// Nouns that count people or places affected.
    pub population: Vec<String>,
    /// Words that may stand between a count and its noun ("200 of our users").
    pub filler: Vec<String>,
}

/// The impact x urgency -> priority lookup. Rows are impact 1..=3, columns urgency 1..=3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriorityMatrix {
    /// `matrix[impact-1][urgency-1]` = priority 1 (Critical) ..= 5 (Planning).
    #[serde(default = "default_matrix")]
    pub matrix: [[u8; 3]; 3],
    /// Names of priorities 1..=5.
    #[serde(default = "default_names")]
    pub names: [String; 5],
}

fn default_matrix() -> [[u8; 3]; 3] {
    [[1, 2, 3], [2, 3, 4], [3, 4, 5]]
}

fn default_names() -> [String; 5] {
    ["1 - Critical", "2 - High", "3 - Moderate", "4 - Low", "5 - Planning"].map(String::from)
}

impl Default for PriorityMatrix {
    /// ServiceNow's default lookup: priority = impact + urgency - 1.
    fn default() -> Self {
        PriorityMatrix { matrix: default_matrix(), names: default_names() }
    }
}

impl PriorityMatrix {
    /// The priority for impact and urgency (each 1..=3; out-of-range values are clamped).
    pub fn priority(&self, impact: u8, urgency: u8) -> u8 {
        let i = usize::from(impact.clamp(1, 3) - 1);
        let u = usize::from(urgency.clamp(1, 3) - 1);
        self.matrix[i][u]
    }

    /// The display name of a priority 1..=5.
    pub fn name(&self, priority: u8) -> &str {
        &self.names[usize::from(priority.clamp(1, 5) - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_matrix_is_servicenow_lookup() {
        let m = PriorityMatrix::default();
        for i in 1..=3 {
            for u in 1..=3 {
                assert_eq!(m.priority(i, u), i + u - 1);
            }
        }
        assert_eq!(m.name(1), "1 - Critical");
        assert_eq!(m.name(5), "5 - Planning");
    }
}
