//! Field changes from `fields` and `update` (create, edit and transition bodies): validated as a whole,
//! with Jira's per-field error messages, then applied.

use serde_json::{Map, Value};

use super::adf::{Body, is_adf_doc};
use super::catalog::{self, IssueType, Resolution};
use super::error::ApiError;
use super::render::ApiVersion;
use super::store::{Comment, Issue, Project, Store, User};

/// The longest summary Jira accepts.
const MAX_SUMMARY: usize = 255;
/// The longest label Jira accepts.
const MAX_LABEL: usize = 255;
/// The largest issue property value, in bytes of JSON.
pub const MAX_PROPERTY_BYTES: usize = 32768;
/// The longest issue property key.
pub const MAX_PROPERTY_KEY: usize = 255;

/// Where the changes come from: which fields are on the "screen".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Create,
    Edit,
    /// A transition: only `resolution` (when the transition goes to Done) and a comment.
    Transition {
        resolution_allowed: bool,
    },
}

/// One validated change.
#[derive(Debug, Clone)]
pub enum Change {
    Summary(String),
    Description(Option<Body>),
    SetLabels(Vec<String>),
    AddLabel(String),
    RemoveLabel(String),
    Priority(usize),
    IssueType(&'static IssueType),
    StoryPoints(Option<f64>),
    /// A select field's option (by index into its options), or none.
    Select(&'static str, Option<usize>),
    /// The issue's components, by id.
    Components(Vec<u64>),
    Resolution(&'static Resolution),
    Comment(Body),
}

/// Validates `fields` and `update` against `screen` of an issue of `project` (`None`: unknown, its fields
/// are those of every project). Fields `skip` are handled by the caller (create's `project` and
/// `issuetype`). All errors are reported at once, keyed by field, like Jira.
pub fn parse_changes(
    fields: &Map<String, Value>,
    update: &Map<String, Value>,
    screen: Screen,
    api: ApiVersion,
    skip: &[&str],
    project: Option<&Project>,
) -> Result<Vec<Change>, ApiError> {
    let ctx = FieldCtx { screen, api, project };
    let mut changes = Vec::new();
    let mut errors = Map::new();
    for (field, value) in fields.iter().filter(|(f, _)| !skip.contains(&f.as_str())) {
        if update.contains_key(field) {
            errors
                .insert(field.clone(), format!("Field '{field}' cannot be set in both 'fields' and 'update'.").into());
            continue;
        }
        match field_change(field, value, &ctx) {
            Ok(change) => changes.push(change),
            Err(message) => {
                errors.insert(field.clone(), message.into());
            }
        }
    }
    for (field, ops) in update {
        match update_changes(field, ops, &ctx) {
            Ok(mut list) => changes.append(&mut list),
            Err(message) => {
                errors.insert(field.clone(), message.into());
            }
        }
    }
    if errors.is_empty() { Ok(changes) } else { Err(ApiError::fields(errors)) }
}

pub fn not_on_screen(field: &str) -> String {
    format!("Field '{field}' cannot be set. It is not on the appropriate screen, or unknown.")
}

/// Where a field's value is read: the screen, the API version, the issue's project.
struct FieldCtx<'a> {
    screen: Screen,
    api: ApiVersion,
    project: Option<&'a Project>,
}

fn on_screen(field: &str, ctx: &FieldCtx<'_>) -> bool {
    match ctx.screen {
        Screen::Create | Screen::Edit => {
            matches!(field, "summary" | "description" | "labels" | "priority" | "issuetype" | "components")
                || field == catalog::STORY_POINTS_FIELD
                || (ctx.screen == Screen::Edit && field == "comment")
                // The ITSM fields are on the screens of service projects only.
                || (catalog::select_options(field).is_some() && ctx.project.is_some_and(|p| p.service))
        }
        Screen::Transition { resolution_allowed } => {
            field == "comment" || (resolution_allowed && field == "resolution")
        }
    }
}

/// A field set through `fields`.
fn field_change(field: &str, value: &Value, ctx: &FieldCtx<'_>) -> Result<Change, String> {
    if !on_screen(field, ctx) || field == "comment" {
        return Err(not_on_screen(field));
    }
    match field {
        "labels" => {
            let labels = value.as_array().ok_or("Operation value must be an array of strings")?;
            let labels = labels.iter().map(label).collect::<Result<Vec<_>, _>>()?;
            Ok(Change::SetLabels(labels))
        }
        _ => set_value(field, value, ctx),
    }
}

/// `components`: `[{"name": ...}]` or `[{"id": ...}]`, each a component of the project.
fn components(value: &Value, project: Option<&Project>) -> Result<Change, String> {
    let list = match value {
        Value::Null => return Ok(Change::Components(Vec::new())),
        Value::Array(list) => list,
        _ => return Err("Operation value must be an array of objects".to_owned()),
    };
    let mut ids = Vec::new();
    for entry in list {
        let name = entry.get("name").and_then(Value::as_str);
        let id =
            entry.get("id").and_then(|v| v.as_str().map(str::to_owned).or_else(|| v.as_u64().map(|n| n.to_string())));
        let found = project.and_then(|p| p.component(name, id.as_deref()));
        match (found, name, id) {
            (Some(c), _, _) => ids.push(c.id),
            (None, Some(name), _) => return Err(format!("Component name '{name}' is not valid")),
            (None, None, Some(id)) => return Err(format!("Component with id '{id}' does not exist.")),
            (None, None, None) => return Err("Component name or id must be specified".to_owned()),
        }
    }
    ids.dedup();
    Ok(Change::Components(ids))
}

/// A select field's `{"value": ...}` or `{"id": ...}` (or `null`).
fn select(field: &'static str, options: &[catalog::SelectOption; 4], value: &Value) -> Result<Change, String> {
    if value.is_null() {
        return Ok(Change::Select(field, None));
    }
    let by_value = value.get("value").and_then(Value::as_str);
    let by_id = value.get("id").and_then(Value::as_str);
    let found = options.iter().position(|o| match (by_value, by_id) {
        (Some(v), _) => o.value == v,
        (None, Some(id)) => o.id == id,
        (None, None) => false,
    });
    match (found, by_value, by_id) {
        (Some(index), _, _) => Ok(Change::Select(field, Some(index))),
        (None, Some(v), _) => Err(format!("Option value '{v}' is not valid")),
        (None, None, Some(id)) => Err(format!("Option id '{id}' is not valid")),
        (None, None, None) => Err("Could not find valid 'id' or 'value' in the Parent Option object.".to_owned()),
    }
}

/// The `set` of a single-valued field.
fn set_value(field: &str, value: &Value, ctx: &FieldCtx<'_>) -> Result<Change, String> {
    match field {
        "summary" => summary(value).map(Change::Summary),
        "description" => body(value, ctx.api).map(Change::Description),
        "components" => components(value, ctx.project),
        catalog::IMPACT_FIELD => select(catalog::IMPACT_FIELD, &catalog::IMPACT_OPTIONS, value),
        catalog::URGENCY_FIELD => select(catalog::URGENCY_FIELD, &catalog::URGENCY_OPTIONS, value),
        "priority" => named(value)
            .and_then(catalog::find_priority)
            .map(Change::Priority)
            .ok_or_else(|| "Specify the Priority (id or name) of an existing priority.".to_owned()),
        "issuetype" => named(value)
            .and_then(catalog::find_issue_type)
            .map(Change::IssueType)
            .ok_or_else(|| "Specify a valid issue type".to_owned()),
        "resolution" => named(value)
            .and_then(catalog::find_resolution)
            .map(Change::Resolution)
            .ok_or_else(|| "Specify a valid resolution (id or name).".to_owned()),
        catalog::STORY_POINTS_FIELD => match value {
            Value::Null => Ok(Change::StoryPoints(None)),
            Value::Number(n) => Ok(Change::StoryPoints(n.as_f64())),
            _ => Err("Operation value must be a number".to_owned()),
        },
        other => Err(not_on_screen(other)),
    }
}

/// The operations of one field in `update`.
fn update_changes(field: &str, ops: &Value, ctx: &FieldCtx<'_>) -> Result<Vec<Change>, String> {
    if !on_screen(field, ctx) {
        return Err(not_on_screen(field));
    }
    let ops = ops.as_array().ok_or("Operations must be an array")?;
    let mut changes = Vec::new();
    for op in ops {
        let (name, value) = op
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.iter().next())
            .ok_or("Each operation must be an object with exactly one of set, add, remove, edit, copy")?;
        let change = match (field, name.as_str()) {
            ("labels", "add") => Change::AddLabel(label(value)?),
            ("labels", "remove") => Change::RemoveLabel(label(value)?),
            ("labels", "set") => {
                let labels = value.as_array().ok_or("Operation value must be an array of strings")?;
                Change::SetLabels(labels.iter().map(label).collect::<Result<_, _>>()?)
            }
            ("comment", "add") => {
                let text = value.get("body").ok_or("Comment body can not be empty!")?;
                match body(text, ctx.api)? {
                    Some(b) => Change::Comment(b),
                    None => return Err("Comment body can not be empty!".to_owned()),
                }
            }
            (_, "set") if field != "labels" && field != "comment" => set_value(field, value, ctx)?,
            _ => return Err(format!("Operation '{name}' is not supported for field '{field}'.")),
        };
        changes.push(change);
    }
    Ok(changes)
}

fn summary(value: &Value) -> Result<String, String> {
    let text = value.as_str().map(str::trim).unwrap_or_default();
    if text.is_empty() {
        Err("You must specify a summary of the issue.".to_owned())
    } else if text.chars().count() > MAX_SUMMARY {
        Err("Summary must be less than 255 characters.".to_owned())
    } else if text.contains(['\n', '\r']) {
        Err("The summary is invalid because it contains newline characters.".to_owned())
    } else {
        Ok(text.to_owned())
    }
}

/// A rich-text body in the API version's format: a string in v2, an ADF document in v3.
pub fn body(value: &Value, api: ApiVersion) -> Result<Option<Body>, String> {
    match (api, value) {
        (_, Value::Null) => Ok(None),
        (ApiVersion::V2, Value::String(text)) => Ok((!text.is_empty()).then(|| Body::Text(text.clone()))),
        (ApiVersion::V2, _) => Err("Operation value must be a string".to_owned()),
        (ApiVersion::V3, doc) if is_adf_doc(doc) => Ok(Some(Body::Adf(doc.clone()))),
        (ApiVersion::V3, _) => {
            Err("Operation value must be an Atlassian Document (see the Atlassian Document Format)".to_owned())
        }
    }
}

fn label(value: &Value) -> Result<String, String> {
    let text = value.as_str().ok_or("Operation value must be a string")?;
    if text.is_empty() || text.chars().any(char::is_whitespace) {
        Err(format!("The label '{text}' contains spaces which is invalid."))
    } else if text.chars().count() > MAX_LABEL {
        Err(format!("The label '{text}' exceeds the 255 character limit."))
    } else {
        Ok(text.to_owned())
    }
}

/// `{"id": "..."}` or `{"name": "..."}` (or a bare string) to the text to look up.
pub fn named(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").or_else(|| o.get("name")).or_else(|| o.get("key")).and_then(Value::as_str),
        _ => None,
    }
}

/// Applies validated changes to the issue at `idx`; comments are authored by `author` at `now`.
pub fn apply(store: &mut Store, idx: usize, changes: Vec<Change>, author: &User, now: chrono::DateTime<chrono::Utc>) {
    for change in changes {
        let comment_id = matches!(change, Change::Comment(_)).then(|| store.next_comment_id());
        let issue: &mut Issue = &mut store.issues[idx];
        match change {
            Change::Summary(s) => issue.summary = s,
            Change::Description(d) => issue.description = d,
            Change::SetLabels(labels) => issue.set_labels(labels),
            Change::AddLabel(l) => {
                let mut labels = std::mem::take(&mut issue.labels);
                labels.push(l);
                issue.set_labels(labels);
            }
            Change::RemoveLabel(l) => issue.labels.retain(|x| *x != l),
            Change::Priority(p) => issue.priority = p,
            Change::IssueType(t) => issue.issue_type = t,
            Change::StoryPoints(p) => issue.story_points = p,
            Change::Select(catalog::IMPACT_FIELD, option) => issue.impact = option,
            Change::Select(_, option) => issue.urgency = option,
            Change::Components(ids) => issue.components = ids,
            Change::Resolution(r) => issue.resolution = Some(r),
            Change::Comment(body) => issue.comments.push(Comment {
                id: comment_id.unwrap_or_default(),
                author: author.clone(),
                body,
                created: now,
                updated: now,
                visibility: None,
                internal: false,
            }),
        }
    }
}

/// Validates `properties: [{"key", "value"}]` of a create or edit body.
pub fn parse_properties(value: Option<&Value>) -> Result<Vec<(String, Value)>, ApiError> {
    let Some(value) = value else { return Ok(Vec::new()) };
    let list = value.as_array().ok_or_else(ApiError::invalid_payload)?;
    list.iter()
        .map(|p| {
            let key = p.get("key").and_then(Value::as_str).ok_or_else(ApiError::invalid_payload)?;
            let value = p.get("value").cloned().unwrap_or(Value::Null);
            check_property(key, &value)?;
            Ok((key.to_owned(), value))
        })
        .collect()
}

/// Jira's limits on an issue property.
pub fn check_property(key: &str, value: &Value) -> Result<(), ApiError> {
    if key.is_empty() || key.chars().count() > MAX_PROPERTY_KEY {
        return Err(ApiError::bad_request("The property key must be between 1 and 255 characters long."));
    }
    if value.to_string().len() > MAX_PROPERTY_BYTES {
        return Err(ApiError::bad_request(format!(
            "The property '{key}' exceeds the maximum size of {MAX_PROPERTY_BYTES} bytes."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn collects_all_field_errors() {
        let err = parse_changes(
            &obj(json!({"summary": "", "status": {"name": "Done"}, "labels": ["a b"]})),
            &Map::new(),
            Screen::Edit,
            ApiVersion::V2,
            &[],
            None,
        )
        .unwrap_err();
        let errors = &err.body["errors"];
        assert_eq!(errors["summary"], "You must specify a summary of the issue.");
        assert_eq!(errors["status"], "Field 'status' cannot be set. It is not on the appropriate screen, or unknown.");
        assert_eq!(errors["labels"], "The label 'a b' contains spaces which is invalid.");
    }

    #[test]
    fn bodies_follow_the_api_version() {
        assert!(body(&json!("text"), ApiVersion::V3).is_err());
        assert!(body(&json!({"type": "doc", "version": 1, "content": []}), ApiVersion::V2).is_err());
        assert!(matches!(body(&json!("text"), ApiVersion::V2), Ok(Some(Body::Text(_)))));
    }

    #[test]
    fn rejects_a_field_in_both_sections_and_resolution_outside_done() {
        let err = parse_changes(
            &obj(json!({"labels": []})),
            &obj(json!({"labels": [{"add": "x"}]})),
            Screen::Edit,
            ApiVersion::V2,
            &[],
            None,
        )
        .unwrap_err();
        assert!(err.body["errors"]["labels"].as_str().unwrap().contains("both"));
        let screen = Screen::Transition { resolution_allowed: false };
        assert!(
            parse_changes(
                &obj(json!({"resolution": {"name": "Done"}})),
                &Map::new(),
                screen,
                ApiVersion::V2,
                &[],
                None
            )
            .is_err()
        );
    }
}
