//! ServiceNow Table API JSON, as the vendor sends and expects it. Nothing outside this crate sees these types.
//!
//! Every value is a string (`"active":"true"`, `"impact":"2"`). Depending on `sysparm_display_value` a field
//! is a bare string (`false`, the default) or `{"display_value":"…","value":"…"}` (`all`; references add
//! `link` unless `sysparm_exclude_reference_link=true`). [`Value`] reads all of these shapes.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// The fields a pull asks for (`sysparm_fields`); absent ones (e.g. `caller_id` on `sc_req_item`) are
/// simply not returned.
pub const RECORD_FIELDS: &[&str] = &[
    "sys_id",
    "number",
    "short_description",
    "description",
    "state",
    "active",
    "caller_id",
    "requested_for",
    "opened_by",
    "caller_id.email",
    "requested_for.email",
    "opened_by.email",
    "impact",
    "urgency",
    "priority",
    "assignment_group",
    "correlation_id",
    "correlation_display",
    "category",
    "contact_type",
    "close_code",
    "close_notes",
    "sys_created_on",
    "sys_updated_on",
];

/// One field value: the actual value and, when requested, the display value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Value {
    /// The actual value: a sys_id for references, a choice value, a UTC date-time. Empty when unset.
    pub value: String,
    /// What a person sees: the referenced record's name, the choice label, a local date-time.
    pub display: Option<String>,
}

impl Value {
    /// The display value when there is a non-empty one, else the actual value.
    pub fn shown(&self) -> &str {
        match self.display.as_deref() {
            Some(display) if !display.is_empty() => display,
            _ => &self.value,
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a ServiceNow field value (a string or {\"value\",\"display_value\"})")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value { value: v.to_string(), display: None })
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value { value: v, display: None })
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value { value: v.to_string(), display: None })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value { value: v.to_string(), display: None })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value { value: v.to_string(), display: None })
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value { value: v.to_string(), display: None })
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Value::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "value" => out.value = map.next_value::<Option<Value>>()?.map(|v| v.value).unwrap_or_default(),
                "display_value" => out.display = map.next_value::<Option<Value>>()?.map(|v| v.value),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// A task record (incident, sc_req_item, ...) as read by the connector.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Record {
    pub sys_id: Option<Value>,
    pub number: Option<Value>,
    pub short_description: Option<Value>,
    pub description: Option<Value>,
    pub state: Option<Value>,
    pub active: Option<Value>,
    pub caller_id: Option<Value>,
    pub requested_for: Option<Value>,
    pub opened_by: Option<Value>,
    /// The people's e-mail addresses (dot-walked through the references).
    #[serde(rename = "caller_id.email")]
    pub caller_email: Option<Value>,
    #[serde(rename = "requested_for.email")]
    pub requested_for_email: Option<Value>,
    #[serde(rename = "opened_by.email")]
    pub opened_by_email: Option<Value>,
    pub impact: Option<Value>,
    pub urgency: Option<Value>,
    pub priority: Option<Value>,
    pub assignment_group: Option<Value>,
    pub correlation_id: Option<Value>,
    pub correlation_display: Option<Value>,
    pub category: Option<Value>,
    pub contact_type: Option<Value>,
    /// The resolution code (UI: "Resolution code") a resolver chose.
    pub close_code: Option<Value>,
    /// What the resolver wrote (UI: "Resolution notes").
    pub close_notes: Option<Value>,
    pub sys_created_on: Option<Value>,
    pub sys_updated_on: Option<Value>,
}

/// `{"result":[...]}` from a list GET.
#[derive(Debug, Deserialize)]
pub struct ListResponse<T> {
    pub result: Vec<T>,
}

/// `{"result":{...}}` from a single GET, POST, PUT or PATCH.
#[derive(Debug, Deserialize)]
pub struct OneResponse<T> {
    pub result: T,
}

/// A `sys_user_group` row (for resolving a group name to its sys_id).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GroupRow {
    pub sys_id: Value,
    pub name: Value,
}

/// A `sys_user_group` row as listed for an administrator.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GroupInfoRow {
    pub name: Value,
    pub description: Value,
}

/// A `sys_choice` row: one entry of a field's choice list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChoiceRow {
    pub value: Value,
    pub label: Value,
}

/// A `sys_journal_field` row: one comment or work note.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct JournalRow {
    pub value: Value,
    pub element: Value,
    pub sys_created_on: Value,
}

/// A `sys_user` row (for the health check).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UserRow {
    pub user_name: Value,
    pub name: Value,
}

/// The body of a create (POST) or update (PATCH). `None` fields are left out, so a PATCH touches only
/// what it names. Values are actual values: references by sys_id, choices by value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecordBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urgency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignment_group: Option<String>,
    /// The person an incident is for (a `sys_user` sys_id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    /// The person a request is for (a `sys_user` sys_id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_for: Option<String>,
    /// Who opened the record (a `sys_user` sys_id): the person field of a story or defect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_display: Option<String>,
    /// An incident's parent incident (sys_id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_incident: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_notes: Option<String>,
    /// Journal field: writing appends an internal note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_notes: Option<String>,
    /// Journal field: writing appends a note visible to the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
}

impl RecordBody {
    /// Whether writing this body appends a journal entry (and so must not be re-sent blindly).
    pub fn appends_journal(&self) -> bool {
        self.work_notes.is_some() || self.comments.is_some()
    }

    /// Whether the body changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == RecordBody::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_actual_values_display_pairs_and_references() {
        let json = r#"{"result":[{
            "sys_id":{"display_value":"1c741bd70b2322007518478d83673af3","value":"1c741bd70b2322007518478d83673af3"},
            "number":"INC0000060",
            "state":{"display_value":"Closed","value":"7"},
            "assignment_group":{"display_value":"Service Desk","link":"https://x/api/now/table/sys_user_group/287e","value":"287e"},
            "caller_id":{"link":"https://x/api/now/table/sys_user/681c","value":"681c"},
            "impact":2, "active":false, "correlation_id":null,
            "unrequested_field":{"nested":[1,2]}
        }]}"#;
        let list: ListResponse<Record> = serde_json::from_str(json).unwrap();
        let r = &list.result[0];
        assert_eq!(r.number.as_ref().unwrap().shown(), "INC0000060");
        let state = r.state.as_ref().unwrap();
        assert_eq!((state.value.as_str(), state.shown()), ("7", "Closed"));
        let group = r.assignment_group.as_ref().unwrap();
        assert_eq!((group.value.as_str(), group.shown()), ("287e", "Service Desk"));
        assert_eq!(r.caller_id.as_ref().unwrap().display, None);
        assert_eq!(r.impact.as_ref().unwrap().value, "2");
        assert_eq!(r.active.as_ref().unwrap().value, "false");
        assert!(r.correlation_id.is_none(), "null reads as absent");
        assert!(r.description.is_none());
    }

    #[test]
    fn patch_body_names_only_what_changes() {
        let body = RecordBody { work_notes: Some("moved".into()), impact: Some("2".into()), ..RecordBody::default() };
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"impact":"2","work_notes":"moved"}"#);
        assert!(body.appends_journal());
        assert!(RecordBody::default().is_empty());
        assert!(!RecordBody { state: Some("7".into()), ..RecordBody::default() }.appends_journal());
    }
}
