//! A Jira Service Management project as the service queue: the one place that maps twotrack's ITIL
//! values to Jira's and back.
//!
//! - Priority: an item's ITIL priority is impact + urgency - 1 (1..=5, the default lookup ServiceNow and
//!   the ITIL matrix use, [`itil_priority`]); Jira's `priority` field is set by name to
//!   `write.priority_names[priority - 1]` (default Highest, High, Medium, Low, Lowest, a new site's).
//! - Impact and urgency: the ITSM select fields "Impact" and "Urgency" (custom fields whose ids differ per
//!   site, found by name in `GET /field` once). ITIL level 1, 2, 3 is written as the first, second and
//!   third option of `write.impact_options` / `write.urgency_options` (most to least); reading maps those
//!   back, and the fourth, lowest option (Minor / Localized, Low) to 3, ITIL's lowest level.
//! - Queue: the assignment group is the issue's component of that name, when the project has one (`GET
//!   /project/{key}/components`); else the create leaves it out and its work note says so.
//! - Corrections (`update_fields`): the component, the options and the priority they give, in one `PUT`.

use serde_json::Value;
use twotrack_api::ConnectorError;
use twotrack_api::connector::{FieldUpdate, NewItem};
use twotrack_api::http::{Idempotency, Method};

use crate::{JiraConnector, JiraWrite, dto};

/// Jira's priorities of a new site, highest first: the names for ITIL priorities 1..=5.
pub const JIRA_PRIORITIES: [&str; 5] = ["Highest", "High", "Medium", "Low", "Lowest"];
/// The options of Jira Service Management's ITSM "Impact" field, most to least.
pub const IMPACT_OPTIONS: [&str; 4] =
    ["Extensive / Widespread", "Significant / Large", "Moderate / Limited", "Minor / Localized"];
/// The options of Jira Service Management's ITSM "Urgency" field, most to least.
pub const URGENCY_OPTIONS: [&str; 4] = ["Critical", "High", "Medium", "Low"];

/// Field names sites use for story points (company-managed, team-managed projects).
const STORY_POINTS_NAMES: [&str; 2] = ["Story Points", "Story point estimate"];

/// ITIL priority 1 (critical) ..= 5 (planning) of impact and urgency (each 1..=3, clamped): impact +
/// urgency - 1, the default lookup.
pub fn itil_priority(impact: u8, urgency: u8) -> u8 {
    impact.clamp(1, 3) + urgency.clamp(1, 3) - 1
}

/// The Jira priority name for impact and urgency, by `names` (ITIL priority 1..=5).
pub fn priority_name(names: &[String; 5], impact: u8, urgency: u8) -> &str {
    named_priority(names, itil_priority(impact, urgency))
}

/// The Jira priority of ITIL priority `priority` (1 ..= 5, clamped).
pub fn named_priority(names: &[String; 5], priority: u8) -> &str {
    &names[usize::from(priority.clamp(1, 5) - 1)]
}

/// The option written for an ITIL level 1..=3 (clamped).
pub fn level_option(options: &[String; 4], level: u8) -> &str {
    &options[usize::from(level.clamp(1, 3) - 1)]
}

/// The ITIL level 1..=3 an option stands for (case-insensitive; the fourth option is 3), else `None`.
pub fn option_level(options: &[String; 4], option: &str) -> Option<u8> {
    let index = options.iter().position(|o| o.trim().eq_ignore_ascii_case(option.trim()))?;
    Some((index as u8 + 1).min(3))
}

/// The value of a select field as an issue shows it (`{"value": "...", "id": "..."}`).
pub fn option_value(value: &Value) -> Option<&str> {
    match value {
        Value::Object(map) => map.get("value").and_then(Value::as_str),
        Value::String(text) => Some(text),
        _ => None,
    }
}

/// The ids of the custom fields twotrack reads and writes, as the site names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteFields {
    pub story_points: Option<String>,
    pub impact: Option<String>,
    pub urgency: Option<String>,
}

impl SiteFields {
    /// From the `GET /field` answer: each field by name (case-insensitive).
    pub fn from_fields(fields: &[dto::Field], write: &JiraWrite) -> SiteFields {
        let by_name = |wanted: &str| fields.iter().find(|f| f.name.eq_ignore_ascii_case(wanted)).map(|f| f.id.clone());
        SiteFields {
            story_points: STORY_POINTS_NAMES.iter().find_map(|name| by_name(name)),
            impact: by_name(&write.impact_field),
            urgency: by_name(&write.urgency_field),
        }
    }

    /// The custom field ids to ask for in searches and fetches.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        [&self.story_points, &self.impact, &self.urgency].into_iter().flatten().map(String::as_str)
    }
}

/// What a create of an incident or request sets besides the common fields.
#[derive(Debug, Default)]
pub(crate) struct ServiceFields {
    pub priority: Option<dto::NameRef>,
    pub components: Vec<dto::NameRef>,
    /// Custom fields by id (impact and urgency).
    pub custom: std::collections::BTreeMap<String, Value>,
    /// What could not be set, for the work note.
    pub remarks: Vec<String>,
}

/// A project component (`GET /project/{key}/components`).
#[derive(Debug, Default, serde::Deserialize)]
struct Component {
    #[serde(default)]
    name: String,
}

impl JiraConnector {
    /// The site's custom field ids, read once (`GET /field`).
    pub(crate) async fn site_fields(&self) -> Result<&SiteFields, ConnectorError> {
        self.site_fields
            .get_or_try_init(|| async {
                let fields: Vec<dto::Field> = self.http.get_json(&self.api("/field"), &[]).await?.body;
                Ok::<_, ConnectorError>(SiteFields::from_fields(&fields, &self.write))
            })
            .await
    }

    /// Priority, impact, urgency and component of a new incident or request in `project`.
    pub(crate) async fn service_fields(&self, project: &str, item: &NewItem) -> Result<ServiceFields, ConnectorError> {
        let mut out = ServiceFields::default();
        let site = self.site_fields().await?.clone();
        let priority = item.priority.or(item.impact.zip(item.urgency).map(|(i, u)| itil_priority(i, u)));
        if let Some(priority) = priority {
            out.priority =
                Some(dto::NameRef { name: named_priority(&self.write.priority_names, priority).to_string() });
        }
        let select = |options: &[String; 4], level: u8| serde_json::json!({ "value": level_option(options, level) });
        for (what, id, level, options) in [
            (&self.write.impact_field, &site.impact, item.impact, &self.write.impact_options),
            (&self.write.urgency_field, &site.urgency, item.urgency, &self.write.urgency_options),
        ] {
            match (id, level) {
                (Some(id), Some(level)) => {
                    out.custom.insert(id.clone(), select(options, level));
                }
                (None, Some(level)) => {
                    out.remarks.push(format!("{what} {level} is not set: the site has no field named {what:?}."))
                }
                _ => {}
            }
        }
        if let Some(queue) = item.queue.as_deref().filter(|q| !q.trim().is_empty()) {
            match self.component(project, queue).await? {
                Some(name) => out.components.push(dto::NameRef { name }),
                None => out.remarks.push(format!(
                    "Assignment group {queue:?}: project {project} has no component of that name, so the issue \
                     has none; add the component to the project (or assign the issue by hand)."
                )),
            }
        }
        Ok(out)
    }

    /// Correct an issue's queue, impact and urgency (a misroute or misprioritisation in a service project):
    /// the component, the Impact and Urgency options and the priority they give, in one idempotent `PUT`.
    /// A queue the project has no component for, or a level the site has no field for, is refused before
    /// anything is written.
    pub(crate) async fn correct_service_fields(&self, key: &str, update: &FieldUpdate) -> Result<(), ConnectorError> {
        let site = self.site_fields().await?.clone();
        let path = self.issue_path(key, "")?;
        let wanted: Vec<String> =
            ["project"].into_iter().map(String::from).chain(site.impact.clone()).chain(site.urgency.clone()).collect();
        let issue: dto::Issue = self.http.get_json(&path, &[("fields", &wanted.join(","))]).await?.body;
        let project = issue.fields.project.as_ref().map(|p| p.key.clone()).unwrap_or_default();
        let current = |id: &Option<String>, options: &[String; 4]| {
            let value = id.as_ref().and_then(|id| issue.fields.other.get(id)).and_then(option_value)?;
            option_level(options, value)
        };
        let mut fields = serde_json::Map::new();
        if let Some(queue) = update.queue.as_deref() {
            let Some(name) = self.component(&project, queue).await? else {
                return Err(self.invalid(format!(
                    "{key}: project {project} has no component {queue:?}; add it to the project to route issues to it"
                )));
            };
            fields.insert("components".into(), serde_json::json!([{ "name": name }]));
        }
        for (what, id, level, options) in [
            (&self.write.impact_field, &site.impact, update.impact, &self.write.impact_options),
            (&self.write.urgency_field, &site.urgency, update.urgency, &self.write.urgency_options),
        ] {
            let Some(level) = level else { continue };
            let Some(id) = id else {
                return Err(self.invalid(format!("{key}: the site has no field named {what:?} to set to {level}")));
            };
            fields.insert(id.clone(), serde_json::json!({ "value": level_option(options, level) }));
        }
        let impact = update.impact.or_else(|| current(&site.impact, &self.write.impact_options));
        let urgency = update.urgency.or_else(|| current(&site.urgency, &self.write.urgency_options));
        if let (Some(impact), Some(urgency), true) =
            (impact, urgency, update.impact.is_some() || update.urgency.is_some())
        {
            let priority = update.priority.unwrap_or_else(|| itil_priority(impact, urgency));
            fields.insert(
                "priority".into(),
                serde_json::json!({ "name": named_priority(&self.write.priority_names, priority) }),
            );
        }
        if fields.is_empty() {
            return Ok(());
        }
        let body = serde_json::json!({ "fields": fields });
        self.http
            .send_json::<serde::de::IgnoredAny, _>(Method::PUT, &path, &[], &body, Idempotency::Idempotent)
            .await?;
        Ok(())
    }

    /// The name of `project`'s component called `name` (case-insensitive), as the project spells it.
    async fn component(&self, project: &str, name: &str) -> Result<Option<String>, ConnectorError> {
        if project.is_empty() || !project.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(self.invalid(format!("{project:?} is not a Jira project key")));
        }
        let path = self.api(&format!("/project/{project}/components"));
        let all: Vec<Component> = self.http.get_json(&path, &[]).await?.body;
        Ok(all.into_iter().map(|c| c.name).find(|c| c.trim().eq_ignore_ascii_case(name.trim())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write() -> JiraWrite {
        JiraWrite::default()
    }

    #[test]
    fn priority_is_impact_plus_urgency_minus_one_by_jira_name() {
        let names = write().priority_names;
        assert_eq!(priority_name(&names, 1, 1), "Highest");
        assert_eq!(priority_name(&names, 1, 2), "High");
        assert_eq!(priority_name(&names, 2, 2), "Medium");
        assert_eq!(priority_name(&names, 3, 2), "Low");
        assert_eq!(priority_name(&names, 3, 3), "Lowest");
        assert_eq!(priority_name(&names, 0, 9), "Medium", "out of range levels are clamped");
    }

    #[test]
    fn levels_map_to_options_and_back() {
        let w = write();
        for level in 1..=3 {
            assert_eq!(option_level(&w.impact_options, level_option(&w.impact_options, level)), Some(level));
            assert_eq!(option_level(&w.urgency_options, level_option(&w.urgency_options, level)), Some(level));
        }
        assert_eq!(level_option(&w.impact_options, 1), "Extensive / Widespread");
        assert_eq!(level_option(&w.urgency_options, 3), "Medium");
        assert_eq!(option_level(&w.impact_options, "minor / localized"), Some(3));
        assert_eq!(option_level(&w.urgency_options, "Low"), Some(3));
        assert_eq!(option_level(&w.urgency_options, "Whenever"), None);
    }

    #[test]
    fn site_fields_are_found_by_name() {
        let fields: Vec<dto::Field> = serde_json::from_value(serde_json::json!([
            {"id": "customfield_10016", "name": "Story Points"},
            {"id": "customfield_10050", "name": "Impact"},
            {"id": "customfield_10051", "name": "urgency"}
        ]))
        .unwrap();
        let site = SiteFields::from_fields(&fields, &write());
        assert_eq!(site.story_points.as_deref(), Some("customfield_10016"));
        assert_eq!(site.impact.as_deref(), Some("customfield_10050"));
        assert_eq!(site.urgency.as_deref(), Some("customfield_10051"));
        assert_eq!(site.ids().count(), 3);
        assert_eq!(SiteFields::from_fields(&[], &write()), SiteFields::default());
    }

    #[test]
    fn options_read_from_objects_or_strings() {
        assert_eq!(option_value(&serde_json::json!({"value": "High", "id": "10"})), Some("High"));
        assert_eq!(option_value(&serde_json::json!("Low")), Some("Low"));
        assert_eq!(option_value(&Value::Null), None);
    }
}
