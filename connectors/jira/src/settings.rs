//! What a Jira tracker is configured with, as its `scope` and `targets` tables read, and the checks of
//! them that need no network. The application deserializes these types straight from its
//! configuration file and reports [`SettingProblem`]s at their place in it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use twotrack_api::settings::{SettingProblem, blank, key_name};

use crate::JiraWrite;

/// The label every item twotrack creates carries by default, so that a human triages it.
pub const TRIAGE_LABEL: &str = "twotrack-triage";

/// Which issues of a Jira site are mirrored (the tracker's `scope` table).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct JiraScope {
    /// Project keys to mirror, e.g. `["SHOP"]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<String>,
    /// A JQL filter, combined with `projects` by AND when both are given; without `ORDER BY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jql: Option<String>,
}

impl JiraScope {
    /// Every problem of this scope, read from the table `table` (for messages: `"scope"`).
    pub fn check(&self, table: &str) -> Vec<SettingProblem> {
        let mut problems = Vec::new();
        for (i, key) in self.projects.iter().enumerate() {
            if !is_project_key(key) {
                problems.push(SettingProblem::new(
                    format!("projects.{i}"),
                    format!("\"{key}\" is not a Jira project key"),
                    "project keys are letters, digits and `_`, starting with a letter, e.g. \"SHOP\"",
                ));
            }
        }
        match self.jql.as_deref() {
            Some(jql) if jql.trim().is_empty() => problems.push(SettingProblem::new(
                "jql",
                format!("`{}` is empty", key_name(table, "jql")),
                "write a JQL filter or remove the key",
            )),
            Some(jql) if jql.to_ascii_lowercase().contains("order by") => problems.push(SettingProblem::new(
                "jql",
                format!("`{}` must not contain ORDER BY", key_name(table, "jql")),
                "remove the ORDER BY clause: twotrack orders its pulls itself (by creation or update time)",
            )),
            _ => {}
        }
        if self.projects.is_empty() && self.jql.is_none() {
            problems.push(SettingProblem::new(
                "",
                format!("a jira tracker needs `{}` or `{}`", key_name(table, "projects"), key_name(table, "jql")),
                format!("add `{table} = {{ projects = [\"SHOP\"] }}` (and/or `jql = \"...\"`): Jira only answers bounded searches"),
            ));
        }
        problems
    }
}

impl JiraWrite {
    /// These write settings with the project taken from `scope` where none is given: the first of its
    /// projects.
    pub fn with_project_from(mut self, scope: &JiraScope) -> JiraWrite {
        if self.project.is_empty()
            && let Some(first) = scope.projects.first()
        {
            self.project = first.clone();
        }
        self
    }

    /// Every problem of these write settings, read from the table `table` (for messages: `"targets"`).
    pub fn check(&self, table: &str) -> Vec<SettingProblem> {
        let mut problems = Vec::new();
        let defaults = JiraWrite::default();
        if self.project.is_empty() {
            problems.push(SettingProblem::new(
                "",
                "no project to create moved items in",
                format!("add `{table} = {{ project = \"SHOP\" }}` (it defaults to the first of `scope.projects`)"),
            ));
        } else if !is_project_key(&self.project) {
            problems.push(SettingProblem::new(
                "project",
                format!("\"{}\" is not a Jira project key", self.project),
                "project keys are letters, digits and `_`, starting with a letter, e.g. \"SHOP\"",
            ));
        }
        let texts = [
            ("feature_type", &self.feature_type, &defaults.feature_type),
            ("defect_type", &self.defect_type, &defaults.defect_type),
            ("close_transition", &self.close_transition, &defaults.close_transition),
            ("resolution", &self.resolution, &defaults.resolution),
            ("link_type", &self.link_type, &defaults.link_type),
            ("incident_type", &self.incident_type, &defaults.incident_type),
            ("request_type", &self.request_type, &defaults.request_type),
        ];
        for (key, value, default) in texts {
            blank(table, key, value, default, &mut problems);
        }
        problems
    }
}

/// A Jira project key: a letter, then letters, digits and `_`.
pub fn is_project_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An optional text written as text, empty for none.
pub(crate) fn text_or_empty<S: Serializer>(value: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.as_deref().unwrap_or(""))
}

/// Text read as an optional text: empty (or blank) is none.
pub(crate) fn empty_is_none<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(deserializer)?;
    Ok(Some(text).filter(|t| !t.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_must_be_bounded_and_its_keys_well_formed() {
        let problems =
            |scope: JiraScope| scope.check("scope").into_iter().map(|p| (p.key, p.message)).collect::<Vec<_>>();
        assert_eq!(problems(JiraScope { projects: vec!["SHOP".into()], jql: None }), []);
        let got = problems(JiraScope::default());
        assert_eq!(got, [(String::new(), "a jira tracker needs `scope.projects` or `scope.jql`".to_string())]);
        let got = problems(JiraScope { projects: vec!["1x".into()], jql: Some("x ORDER BY key".into()) });
        assert_eq!(got.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["projects.0", "jql"], "{got:?}");
    }

    #[test]
    fn the_project_defaults_to_the_first_of_the_scope() {
        let scope = JiraScope { projects: vec!["SHOP".into(), "OPS".into()], jql: None };
        assert_eq!(JiraWrite::default().with_project_from(&scope).project, "SHOP");
        let given = JiraWrite { project: "OPS".into(), ..JiraWrite::default() };
        assert_eq!(given.with_project_from(&scope).project, "OPS");
        let none = JiraWrite::default().with_project_from(&JiraScope::default()).check("targets");
        assert_eq!(none[0].message, "no project to create moved items in");
        let blank = JiraWrite { project: "SHOP".into(), feature_type: " ".into(), ..JiraWrite::default() };
        let got = blank.check("targets");
        assert_eq!((got[0].key.as_str(), got[0].message.as_str()), ("feature_type", "`targets.feature_type` is empty"));
    }

    #[test]
    fn an_empty_triage_label_is_none_and_reads_back() {
        let write: JiraWrite = serde_json::from_str(r#"{"triage_label": ""}"#).unwrap();
        assert_eq!(write.triage_label, None);
        let write: JiraWrite = serde_json::from_str("{}").unwrap();
        assert_eq!(write.triage_label.as_deref(), Some(TRIAGE_LABEL));
        let again: JiraWrite = serde_json::from_value(serde_json::to_value(&write).unwrap()).unwrap();
        assert_eq!(again, write);
    }
}
