//! Vendor records to canonical [`Item`]s, and the conventions twotrack keeps inside ServiceNow fields.
//!
//! # Conventions (documented for ServiceNow admins)
//! - **Twins**: a record twotrack created from an item in another tracker has `correlation_display =
//!   "twotrack"` and `correlation_id = <the original's key>`; that is [`Item::origin`].
//! - **Links**: an original linked to its twin has `correlation_display = "twotrack-link"` and
//!   `correlation_id = <the twin's key>`; it has no origin. Other integrations' correlation values are
//!   reported in `fields` only.
//! - **Labels / markers**: ServiceNow has no labels and its tags are not writable through the Table API, so
//!   markers are hashtags on a line of the description that holds nothing but hashtags, e.g. a last line
//!   `#twotrack-keep`. An agent adds such a line on the form to keep a record where it is; twotrack adds and
//!   removes its own the same way. Hashtags inside ordinary text ("see #123 in the log") are not labels.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use twotrack_api::{Item, field};

use crate::dto::{Record, Value};
use crate::query::parse_time;

/// `correlation_display` of a record twotrack created (its `correlation_id` is the original's key).
pub const CREATED_MARKER: &str = "twotrack";
/// `correlation_display` of an original twotrack linked to its twin (its `correlation_id` is the twin's key).
pub const LINKED_MARKER: &str = "twotrack-link";

/// Where a record came from: enough to build its [`Item`].
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The configured tracker name.
    pub tracker: &'a str,
    /// The instance URL without a trailing slash, e.g. `https://acme.service-now.com`.
    pub base_url: &'a str,
    pub table: &'a str,
}

/// A record the connector cannot turn into an item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("{table} record {record}: field {field} is missing")]
    Missing { table: String, record: String, field: &'static str },
    #[error("{table} record {record}: field {field} is not a UTC date-time 'yyyy-MM-dd HH:mm:ss': {value:?}")]
    BadTime { table: String, record: String, field: &'static str, value: String },
}

/// The browser URL of a record.
pub fn record_url(base_url: &str, table: &str, sys_id: &str) -> String {
    format!("{base_url}/nav_to.do?uri={table}.do?sys_id={sys_id}")
}

/// Map one record (read with `sysparm_display_value=all`) to an [`Item`].
pub fn to_item(src: Source<'_>, record: &Record) -> Result<Item, MappingError> {
    let sys_id = required(src, record, "sys_id", record.sys_id.as_ref())?;
    let key = match text(record.number.as_ref()) {
        "" => sys_id.clone(),
        number => number.to_string(),
    };
    let missing = |field| MappingError::Missing { table: src.table.into(), record: key.clone(), field };
    let time = |field: &'static str, value: Option<&Value>| -> Result<DateTime<Utc>, MappingError> {
        let value = value.map(|v| v.value.as_str()).filter(|v| !v.is_empty()).ok_or_else(|| missing(field))?;
        parse_time(value).ok_or_else(|| MappingError::BadTime {
            table: src.table.into(),
            record: key.clone(),
            field,
            value: value.into(),
        })
    };
    let updated = time("sys_updated_on", record.sys_updated_on.as_ref())?;
    let created = time("sys_created_on", record.sys_created_on.as_ref())?;
    let state = record.state.as_ref();
    let state_value = state.map(|s| s.value.as_str()).unwrap_or_default();
    let description = text(record.description.as_ref()).to_string();
    let people = [
        (&record.caller_id, &record.caller_email),
        (&record.requested_for, &record.requested_for_email),
        (&record.opened_by, &record.opened_by_email),
    ];
    let (reporter, reporter_email) = people
        .into_iter()
        .find(|(person, _)| !shown(person.as_ref()).is_empty())
        .map(|(person, email)| (Some(shown(person.as_ref()).to_string()), text(email.as_ref())))
        .unwrap_or((None, ""));
    let correlation_id = text(record.correlation_id.as_ref());
    let correlation_display = text(record.correlation_display.as_ref());
    let open = is_open(src.table, state_value, record.active.as_ref().map(|a| a.value.as_str()));

    let mut fields = BTreeMap::new();
    let mut put = |name: &str, value: &str| {
        if !value.is_empty() {
            fields.insert(name.to_string(), value.to_string());
        }
    };
    put("category", text(record.category.as_ref()));
    put("contact_type", text(record.contact_type.as_ref()));
    put("caller", shown(record.caller_id.as_ref()));
    put("requested_for", shown(record.requested_for.as_ref()));
    put(field::REPORTER_EMAIL, reporter_email);
    put("correlation_display", correlation_display);
    if !is_twin(correlation_display) {
        put("correlation_id", correlation_id);
    }
    // A reopened record keeps its old close code and notes: they describe a resolution only while closed.
    if !open {
        put(field::RESOLUTION, shown(record.close_code.as_ref()));
        put(field::RESOLUTION_NOTES, text(record.close_notes.as_ref()));
    }

    Ok(Item {
        tracker: src.tracker.to_string(),
        url: record_url(src.base_url, src.table, &sys_id),
        id: sys_id,
        filed_type: src.table.to_string(),
        summary: text(record.short_description.as_ref()).to_string(),
        labels: labels_in(&description),
        description,
        status: status_label(src.table, state),
        open,
        reporter,
        created,
        updated,
        priority: Some(shown(record.priority.as_ref())).filter(|p| !p.is_empty()).map(str::to_string),
        impact: level(record.impact.as_ref()),
        urgency: level(record.urgency.as_ref()),
        queue: Some(shown(record.assignment_group.as_ref())).filter(|q| !q.is_empty()).map(str::to_string),
        origin: (is_twin(correlation_display) && !correlation_id.is_empty()).then(|| correlation_id.to_string()),
        fields,
        key,
    })
}

/// Whether `correlation_display` marks a record twotrack created.
pub fn is_twin(correlation_display: &str) -> bool {
    correlation_display.trim().eq_ignore_ascii_case(CREATED_MARKER)
}

/// The status a person sees: the state's display value, else the documented incident label, else the raw value.
pub fn status_label(table: &str, state: Option<&Value>) -> String {
    let Some(state) = state else { return String::new() };
    if let Some(display) = state.display.as_deref().filter(|d| !d.is_empty()) {
        return display.to_string();
    }
    let documented = match (table, state.value.as_str()) {
        ("incident", "1") => "New",
        ("incident", "2") => "In Progress",
        ("incident", "3") => "On Hold",
        ("incident", "6") => "Resolved",
        ("incident", "7") => "Closed",
        ("incident", "8") => "Canceled",
        (_, other) => other,
    };
    documented.to_string()
}

/// Open means neither resolved, closed nor cancelled. `active` is authoritative when it says `false`; a
/// Resolved incident is still `active` in ServiceNow (until it auto-closes) but is not open work.
pub fn is_open(table: &str, state: &str, active: Option<&str>) -> bool {
    let closed_by_state = match table {
        "incident" => matches!(state, "6" | "7" | "8"),
        "task" | "sc_request" | "sc_req_item" | "sc_task" => matches!(state, "3" | "4" | "7"),
        _ => false,
    };
    !closed_by_state && active.is_none_or(|a| !a.eq_ignore_ascii_case("false"))
}

/// The labels in a description: the hashtags of lines that hold only hashtags.
pub fn labels_in(description: &str) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    for line in description.lines() {
        if let Some(tags) = hashtag_line(line) {
            for tag in tags {
                if !labels.iter().any(|l| l.eq_ignore_ascii_case(tag)) {
                    labels.push(tag.to_string());
                }
            }
        }
    }
    labels
}

/// The description with `label` added as a hashtag, or `None` when it already carries it.
pub fn with_label(description: &str, label: &str) -> Option<String> {
    if labels_in(description).iter().any(|l| l.eq_ignore_ascii_case(label)) {
        return None;
    }
    let body = description.trim_end();
    let last_line = body.rsplit('\n').next().unwrap_or_default();
    Some(if body.is_empty() {
        format!("#{label}")
    } else if hashtag_line(last_line).is_some() {
        format!("{body} #{label}")
    } else {
        format!("{body}\n\n#{label}")
    })
}

/// The description with each of `labels` added as a marker (spaces become `-`; a label that cannot be a
/// hashtag is left out).
pub fn with_labels(description: &str, labels: &[String]) -> String {
    let mut text = description.to_string();
    for label in labels.iter().map(|l| l.split_whitespace().collect::<Vec<_>>().join("-")) {
        if is_valid_label(&label)
            && let Some(with) = with_label(&text, &label)
        {
            text = with;
        }
    }
    text
}

/// The description without the hashtag `label`, or `None` when it does not carry it.
pub fn without_label(description: &str, label: &str) -> Option<String> {
    let mut changed = false;
    let mut lines: Vec<String> = Vec::new();
    for line in description.lines() {
        match hashtag_line(line) {
            Some(tags) if tags.iter().any(|t| t.eq_ignore_ascii_case(label)) => {
                changed = true;
                let kept: Vec<String> =
                    tags.into_iter().filter(|t| !t.eq_ignore_ascii_case(label)).map(|t| format!("#{t}")).collect();
                if !kept.is_empty() {
                    lines.push(kept.join(" "));
                }
            }
            _ => lines.push(line.to_string()),
        }
    }
    changed.then(|| lines.join("\n").trim_end().to_string())
}

/// Whether `label` can be written as a hashtag (one word, no `#`).
pub fn is_valid_label(label: &str) -> bool {
    !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/'))
}

/// The tags of a line made only of `#tag` words, or `None` for any other line.
fn hashtag_line(line: &str) -> Option<Vec<&str>> {
    let mut tags = Vec::new();
    for word in line.split_whitespace() {
        let tag = word.strip_prefix('#').filter(|t| is_valid_label(t))?;
        tags.push(tag);
    }
    (!tags.is_empty()).then_some(tags)
}

fn required(
    src: Source<'_>,
    record: &Record,
    field: &'static str,
    value: Option<&Value>,
) -> Result<String, MappingError> {
    match text(value) {
        "" => Err(MappingError::Missing {
            table: src.table.into(),
            record: text(record.number.as_ref()).to_string(),
            field,
        }),
        v => Ok(v.to_string()),
    }
}

/// The actual value, or "".
fn text(value: Option<&Value>) -> &str {
    value.map(|v| v.value.as_str()).unwrap_or_default()
}

/// The display value when there is one, else the actual value, or "".
fn shown(value: Option<&Value>) -> &str {
    value.map(Value::shown).unwrap_or_default()
}

/// An ITIL level 1..=3 from `"2"` (or a display value such as `"2 - Medium"` if that is all there is).
fn level(value: Option<&Value>) -> Option<u8> {
    let value = value?;
    let digits: String = value.value.trim().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|n| (1..=5).contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::ListResponse;
    use chrono::TimeZone;

    const SRC: Source<'static> =
        Source { tracker: "snow", base_url: "https://acme.service-now.com", table: "incident" };

    fn record(json: &str) -> Record {
        let list: ListResponse<Record> = serde_json::from_str(&format!(r#"{{"result":[{json}]}}"#)).unwrap();
        list.result.into_iter().next().unwrap()
    }

    /// The documented incident, as read with display_value=all and exclude_reference_link=true.
    const DOCUMENTED: &str = r#"{
        "number":{"display_value":"INC0000060","value":"INC0000060"},
        "sys_id":{"display_value":"1c741bd70b2322007518478d83673af3","value":"1c741bd70b2322007518478d83673af3"},
        "short_description":{"display_value":"Unable to connect to email","value":"Unable to connect to email"},
        "description":{"display_value":"I am unable to connect to the email server.","value":"I am unable to connect to the email server."},
        "impact":{"display_value":"2 - Medium","value":"2"},"urgency":{"display_value":"2 - Medium","value":"2"},
        "priority":{"display_value":"3 - Moderate","value":"3"},
        "state":{"display_value":"Closed","value":"7"},"active":{"display_value":"false","value":"false"},
        "category":{"display_value":"Inquiry / Help","value":"inquiry"},
        "assignment_group":{"display_value":"Service Desk","value":"287ebd7da9fe198100f92cc8d1d2154e"},
        "caller_id":{"display_value":"Joe Employee","value":"681ccaf9c0a8016400b98a06818d57c7"},
        "correlation_id":{"display_value":"","value":""},"correlation_display":{"display_value":"","value":""},
        "contact_type":{"display_value":"Self-service","value":"self-service"},
        "sys_created_on":{"display_value":"12/12/2016 07:19:57","value":"2016-12-12 15:19:57"},
        "sys_updated_on":{"display_value":"13/12/2016 18:46:44","value":"2016-12-14 02:46:44"}
    }"#;

    #[test]
    fn maps_the_documented_incident() {
        let item = to_item(SRC, &record(DOCUMENTED)).unwrap();
        assert_eq!(item.key, "INC0000060");
        assert_eq!(item.id, "1c741bd70b2322007518478d83673af3");
        assert_eq!(
            item.url,
            "https://acme.service-now.com/nav_to.do?uri=incident.do?sys_id=1c741bd70b2322007518478d83673af3"
        );
        assert_eq!(item.filed_type, "incident");
        assert_eq!(item.summary, "Unable to connect to email");
        assert_eq!((item.status.as_str(), item.open), ("Closed", false));
        assert_eq!(item.reporter.as_deref(), Some("Joe Employee"));
        assert_eq!((item.impact, item.urgency, item.priority.as_deref()), (Some(2), Some(2), Some("3 - Moderate")));
        assert_eq!(item.queue.as_deref(), Some("Service Desk"), "the group's name, not its sys_id");
        assert_eq!(item.created, Utc.with_ymd_and_hms(2016, 12, 12, 15, 19, 57).unwrap());
        assert_eq!(item.updated, Utc.with_ymd_and_hms(2016, 12, 14, 2, 46, 44).unwrap(), "actual value is UTC");
        assert_eq!(item.origin, None);
        assert!(item.labels.is_empty());
        let fields: Vec<(&str, &str)> = item.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(fields, [("caller", "Joe Employee"), ("category", "inquiry"), ("contact_type", "self-service")]);
    }

    #[test]
    fn origin_only_for_twins_and_labels_from_hashtag_lines() {
        let json = r#"{"sys_id":"abc","number":"RITM0010001","sys_created_on":"2024-01-01 00:00:00",
            "sys_updated_on":"2024-01-02 00:00:00","state":"1","active":"true",
            "description":"Please add #123 to the list\n\n#twotrack-keep #vip",
            "correlation_id":"SHOP-12","correlation_display":"twotrack","requested_for":"u1"}"#;
        let item = to_item(Source { table: "sc_req_item", ..SRC }, &record(json)).unwrap();
        assert_eq!(item.origin.as_deref(), Some("SHOP-12"));
        assert_eq!(item.labels, ["twotrack-keep", "vip"]);
        assert!(item.has_label("twotrack-keep"));
        assert_eq!((item.status.as_str(), item.open), ("1", true));
        assert_eq!(item.reporter.as_deref(), Some("u1"));

        let linked = json.replace(r#""correlation_display":"twotrack""#, r#""correlation_display":"twotrack-link""#);
        let item = to_item(Source { table: "sc_req_item", ..SRC }, &record(&linked)).unwrap();
        assert_eq!(item.origin, None, "a linked original was not created from its twin");
        assert_eq!(item.fields.get("correlation_id").map(String::as_str), Some("SHOP-12"));
    }

    #[test]
    fn close_code_and_notes_are_the_resolution_of_a_closed_record_only() {
        let closed = DOCUMENTED.replace(
            r#""contact_type""#,
            r#""close_code":{"display_value":"Misfiled","value":"misfiled"},
            "close_notes":{"display_value":"Not ours: a product change.","value":"Not ours: a product change."},
            "contact_type""#,
        );
        let item = to_item(SRC, &record(&closed)).unwrap();
        assert_eq!(item.resolution(), Some("Misfiled"), "the code as the resolver saw it");
        assert_eq!(item.resolution_notes(), Some("Not ours: a product change."));
        let reopened = closed
            .replace(
                r#""state":{"display_value":"Closed","value":"7"}"#,
                r#""state":{"display_value":"New","value":"1"}"#,
            )
            .replace(r#""active":{"display_value":"false","value":"false"}"#, r#""active":"true""#);
        let item = to_item(SRC, &record(&reopened)).unwrap();
        assert!(item.open);
        assert_eq!((item.resolution(), item.resolution_notes()), (None, None), "a reopened record is unresolved");
    }

    #[test]
    fn records_without_sys_id_or_timestamps_are_rejected_with_context() {
        let err = to_item(SRC, &record(r#"{"number":"INC1","sys_updated_on":"2024-01-01 00:00:00"}"#)).unwrap_err();
        assert!(matches!(err, MappingError::Missing { field: "sys_id", .. }), "{err}");
        let err = to_item(SRC, &record(r#"{"sys_id":"a","number":"INC1","sys_updated_on":"01/01/2024"}"#)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "incident record INC1: field sys_updated_on is not a UTC date-time 'yyyy-MM-dd HH:mm:ss': \"01/01/2024\""
        );
    }

    #[test]
    fn open_follows_active_and_the_state_models() {
        let check = |table, state, active, expect: bool| {
            assert_eq!(is_open(table, state, active), expect, "{table} state {state} active {active:?}");
        };
        check("incident", "2", Some("true"), true);
        check("incident", "3", None, true);
        check("incident", "6", Some("true"), false);
        check("incident", "8", None, false);
        check("sc_req_item", "3", None, false);
        check("sc_req_item", "2", Some("false"), false);
        check("rm_story", "3", Some("true"), true);
        assert_eq!(status_label("incident", Some(&Value { value: "3".into(), display: None })), "On Hold");
        assert_eq!(status_label("sc_task", Some(&Value { value: "3".into(), display: None })), "3");
    }

    #[test]
    fn label_lines_are_added_and_removed_idempotently() {
        assert_eq!(with_label("", "twotrack-keep").as_deref(), Some("#twotrack-keep"));
        let added = with_label("Printer broken.\n", "twotrack-keep").unwrap();
        assert_eq!(added, "Printer broken.\n\n#twotrack-keep");
        assert_eq!(with_label(&added, "TWOTRACK-KEEP"), None);
        let two = with_label(&added, "vip").unwrap();
        assert_eq!(two, "Printer broken.\n\n#twotrack-keep #vip");
        assert_eq!(labels_in(&two), ["twotrack-keep", "vip"]);
        assert_eq!(without_label(&two, "twotrack-keep").as_deref(), Some("Printer broken.\n\n#vip"));
        assert_eq!(without_label(&added, "twotrack-keep").as_deref(), Some("Printer broken."));
        assert_eq!(without_label("Printer broken.", "twotrack-keep"), None);
        assert_eq!(labels_in("see #123 in the log\n# heading"), Vec::<String>::new());
        assert!(!is_valid_label("two words") && !is_valid_label("#x") && is_valid_label("twotrack-from-SHOP-1"));
    }
}
