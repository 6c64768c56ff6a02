//! Jira issues to canonical [`Item`]s, and the few values twotrack writes back.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use twotrack_api::{Item, field};

use crate::service::{self, SiteFields};
use crate::{JiraWrite, adf, dto};

/// The label prefix recording which original a twin was moved from: `twotrack-from-<KEY>`.
pub const ORIGIN_LABEL_PREFIX: &str = "twotrack-from-";
/// The label on every item twotrack created by a move (such items are never moved again).
pub const MOVED_LABEL: &str = "twotrack-moved";

/// The origin label for an original's key.
pub fn origin_label(origin_key: &str) -> String {
    format!("{ORIGIN_LABEL_PREFIX}{origin_key}")
}

/// The origin key recorded in the labels, if any (`twotrack-from-INC0010001` -> `INC0010001`).
pub fn origin_from_labels(labels: &[String]) -> Option<String> {
    labels.iter().find_map(|label| {
        let prefix = label.get(..ORIGIN_LABEL_PREFIX.len())?;
        let key = &label[ORIGIN_LABEL_PREFIX.len()..];
        (prefix.eq_ignore_ascii_case(ORIGIN_LABEL_PREFIX) && !key.is_empty()).then(|| key.to_string())
    })
}

/// Why an issue could not be mapped.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("issue {key}: {field} is missing")]
    Missing { key: String, field: &'static str },
    #[error("issue {key}: cannot read {field} timestamp {value:?}")]
    Timestamp { key: String, field: &'static str, value: String },
}

/// What mapping needs to know about the tracker.
#[derive(Debug, Clone)]
pub struct MapContext<'a> {
    /// The configured tracker name.
    pub tracker: &'a str,
    /// The site's base URL, for browse links (no trailing slash).
    pub browse_base: &'a str,
    /// The ids of the site's custom fields (story points, impact, urgency).
    pub site: &'a SiteFields,
    /// The write settings: the incident and request types, the impact and urgency options.
    pub write: &'a JiraWrite,
}

/// Map one issue.
pub fn issue_to_item(issue: &dto::Issue, ctx: &MapContext<'_>) -> Result<Item, MapError> {
    let f = &issue.fields;
    let key = issue.key.clone();
    let created = timestamp(&key, "created", f.created.as_deref())?;
    let updated = timestamp(&key, "updated", f.updated.as_deref())?;
    let status_category = f.status.as_ref().and_then(|s| s.status_category.as_ref()).map(|c| c.key.as_str());
    let mut fields = BTreeMap::new();
    let mut put = |name: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            fields.insert(name.to_string(), value);
        }
    };
    put("project", f.project.as_ref().map(|p| p.key.clone()));
    put(field::REPORTER_EMAIL, f.reporter.as_ref().and_then(|r| r.email_address.clone()));
    put("status_category", status_category.map(str::to_string));
    put(field::RESOLUTION, f.resolution.as_ref().map(|r| r.name.clone()));
    put(field::COMPONENTS, Some(f.components.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")));
    put("story_points", ctx.site.story_points.as_ref().and_then(|id| f.other.get(id)).and_then(number_text));
    let filed_type = f.issuetype.as_ref().map(|t| t.name.clone()).unwrap_or_default();
    let level = |id: &Option<String>, options: &[String; 4]| {
        let value = id.as_ref().and_then(|id| f.other.get(id)).and_then(service::option_value)?;
        service::option_level(options, value)
    };
    // An incident's or request's queue is its component (the first, where it has several).
    let service_type =
        [&ctx.write.incident_type, &ctx.write.request_type].iter().any(|t| t.eq_ignore_ascii_case(&filed_type));
    let queue = service_type.then(|| f.components.first().map(|c| c.name.clone())).flatten().filter(|q| !q.is_empty());
    Ok(Item {
        tracker: ctx.tracker.to_string(),
        url: format!("{}/browse/{key}", ctx.browse_base),
        id: issue.id.clone(),
        filed_type,
        summary: f.summary.clone().unwrap_or_default(),
        description: f.description.as_ref().map(rich_text).unwrap_or_default(),
        labels: f.labels.clone(),
        status: f.status.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
        open: status_category != Some("done"),
        reporter: f.reporter.as_ref().and_then(|r| r.display_name.clone().or_else(|| r.name.clone())),
        created,
        updated,
        priority: f.priority.as_ref().map(|p| p.name.clone()).filter(|p| !p.is_empty()),
        impact: level(&ctx.site.impact, &ctx.write.impact_options),
        urgency: level(&ctx.site.urgency, &ctx.write.urgency_options),
        queue,
        origin: origin_from_labels(&f.labels),
        fields,
        key,
    })
}

/// Text of a rich-text value: a v2 string as is, a v3 ADF document flattened, `null` empty.
pub fn rich_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => adf::to_text(other),
    }
}

/// Parse Jira's `2024-01-15T10:30:00.000+0000` (any offset; RFC 3339 accepted too).
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn timestamp(key: &str, field: &'static str, value: Option<&str>) -> Result<DateTime<Utc>, MapError> {
    let value = value.ok_or_else(|| MapError::Missing { key: key.to_string(), field })?;
    parse_timestamp(value).ok_or_else(|| MapError::Timestamp { key: key.to_string(), field, value: value.to_string() })
}

/// `3.0` -> "3", `2.5` -> "2.5"; strings kept; other shapes ignored.
fn number_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => {
            let f = n.as_f64()?;
            Some(if f.fract() == 0.0 && f.abs() < 1e15 { format!("{}", f as i64) } else { f.to_string() })
        }
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    static SITE: std::sync::LazyLock<SiteFields> = std::sync::LazyLock::new(|| SiteFields {
        story_points: Some("customfield_10016".into()),
        impact: Some("customfield_10050".into()),
        urgency: Some("customfield_10051".into()),
    });
    static WRITE: std::sync::LazyLock<JiraWrite> = std::sync::LazyLock::new(JiraWrite::default);

    fn ctx() -> MapContext<'static> {
        MapContext { tracker: "jira-prod", browse_base: "https://shop.atlassian.net", site: &SITE, write: &WRITE }
    }

    fn issue(json: &str) -> dto::Issue {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_v3_issue_maps_every_field() {
        let item = issue_to_item(
            &issue(
                r#"{"id":"10002","key":"SHOP-1","self":"https://shop.atlassian.net/rest/api/3/issue/10002","fields":{
                "summary":"Tax wrong for Canadian addresses",
                "description":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"GST missing."}]}]},
                "status":{"id":"10001","name":"Done","statusCategory":{"id":3,"key":"done","name":"Done"}},
                "issuetype":{"id":"10003","name":"Bug","subtask":false},
                "project":{"id":"10000","key":"SHOP","name":"Shop"},
                "labels":["checkout","twotrack-from-INC0010001","twotrack-moved"],
                "priority":{"id":"2","name":"High"},
                "reporter":{"accountId":"712020:x","displayName":"Ann Lee","active":true},
                "resolution":{"name":"Done"},
                "components":[{"name":"Cart"},{"name":"Tax"}],
                "created":"2024-01-15T10:30:00.000+0000",
                "updated":"2024-01-15T11:30:00.123+0100",
                "customfield_10016":3.0}}"#,
            ),
            &ctx(),
        )
        .unwrap();
        assert_eq!(item.key, "SHOP-1");
        assert_eq!(item.id, "10002");
        assert_eq!(item.tracker, "jira-prod");
        assert_eq!(item.url, "https://shop.atlassian.net/browse/SHOP-1");
        assert_eq!(item.filed_type, "Bug");
        assert_eq!(item.description, "GST missing.");
        assert_eq!(item.status, "Done");
        assert!(!item.open);
        assert_eq!(item.reporter.as_deref(), Some("Ann Lee"));
        assert_eq!(item.priority.as_deref(), Some("High"));
        assert_eq!(item.origin.as_deref(), Some("INC0010001"));
        assert_eq!(item.created, Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 0).unwrap());
        assert_eq!(
            item.updated,
            Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 0).unwrap() + chrono::Duration::milliseconds(123)
        );
        assert_eq!(item.fields["story_points"], "3");
        assert_eq!(item.fields["resolution"], "Done");
        assert_eq!(item.fields["components"], "Cart, Tax");
        assert_eq!(item.components().collect::<Vec<_>>(), ["Cart", "Tax"]);
        assert_eq!(item.fields["project"], "SHOP");
    }

    #[test]
    fn a_v2_issue_with_nulls_maps_to_an_open_item() {
        let item = issue_to_item(
            &issue(
                r#"{"id":"1","key":"PAY-7","fields":{"summary":"Add half-day leave","description":"Plain *wiki* text",
                "status":{"name":"In Progress","statusCategory":{"key":"indeterminate"}},"issuetype":{"name":"Story"},
                "labels":[],"priority":null,"reporter":{"name":"jdoe"},"resolution":null,"customfield_10016":null,
                "created":"2024-01-15T10:30:00.000-0500","updated":"2024-01-15T10:30:00.000-0500"}}"#,
            ),
            &ctx(),
        )
        .unwrap();
        assert!(item.open);
        assert_eq!(item.description, "Plain *wiki* text");
        assert_eq!(item.reporter.as_deref(), Some("jdoe"));
        assert_eq!(item.priority, None);
        assert_eq!(item.origin, None);
        assert!(!item.fields.contains_key("story_points") && !item.fields.contains_key("resolution"));
        assert_eq!(item.created, Utc.with_ymd_and_hms(2024, 1, 15, 15, 30, 0).unwrap());
    }

    #[test]
    fn a_bad_timestamp_is_an_error_naming_the_issue() {
        let error =
            issue_to_item(&issue(r#"{"id":"1","key":"A-1","fields":{"created":"yesterday","updated":"x"}}"#), &ctx())
                .unwrap_err();
        assert_eq!(error.to_string(), r#"issue A-1: cannot read created timestamp "yesterday""#);
        let missing = issue_to_item(&issue(r#"{"id":"1","key":"A-1"}"#), &ctx()).unwrap_err();
        assert!(matches!(missing, MapError::Missing { field: "created", .. }));
    }

    #[test]
    fn a_service_issue_maps_impact_urgency_and_its_component_as_the_queue() {
        let json = |issue_type: &str| {
            format!(
                r#"{{"id":"1","key":"ITS-1","fields":{{"issuetype":{{"name":"{issue_type}"}},
                "components":[{{"name":"Network"}},{{"name":"Database"}}],"priority":{{"name":"High"}},
                "customfield_10050":{{"self":"x","value":"Minor / Localized","id":"10003"}},
                "customfield_10051":{{"value":"Critical","id":"10010"}},
                "created":"2024-01-15T10:30:00.000+0000","updated":"2024-01-15T10:30:00.000+0000"}}}}"#
            )
        };
        let item = issue_to_item(&issue(&json("Incident")), &ctx()).unwrap();
        assert_eq!((item.impact, item.urgency), (Some(3), Some(1)));
        assert_eq!(item.queue.as_deref(), Some("Network"));
        assert_eq!(item.priority.as_deref(), Some("High"));
        let request = issue_to_item(&issue(&json("service request")), &ctx()).unwrap();
        assert_eq!(request.queue.as_deref(), Some("Network"));
        // A product issue's components are no queue.
        let story = issue_to_item(&issue(&json("Story")), &ctx()).unwrap();
        assert_eq!(story.queue, None);
        assert_eq!(story.fields["components"], "Network, Database");
    }

    #[test]
    fn origin_labels_round_trip_case_insensitively() {
        assert_eq!(origin_label("INC0010001"), "twotrack-from-INC0010001");
        assert_eq!(origin_from_labels(&["x".into(), "TwoTrack-From-RITM0001".into()]).as_deref(), Some("RITM0001"));
        assert_eq!(origin_from_labels(&["twotrack-from-".into(), "twotrack-moved".into()]), None);
    }

    #[test]
    fn story_points_render_as_numbers() {
        assert_eq!(number_text(&serde_json::json!(5.0)).as_deref(), Some("5"));
        assert_eq!(number_text(&serde_json::json!(2.5)).as_deref(), Some("2.5"));
        assert_eq!(number_text(&serde_json::json!({"a":1})), None);
    }
}
