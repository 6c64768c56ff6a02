//! `GET|PUT issue/{idOrKey}` and `POST issue`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{Ctx, Params, find_issue, find_writable, json_object, json_response, users};
use crate::jira::catalog::{self, IssueType};
use crate::jira::edit::{self, Change, Screen};
use crate::jira::error::ApiError;
use crate::jira::render::{IssueShape, PropertySelection, select_fields, split_list};
use crate::jira::store::{self, Store};

/// `GET issue/{idOrKey}` (`fields` default `*all`, `expand=names`, `properties`).
pub async fn get_issue(
    State(ctx): State<Ctx>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref());
    let store = ctx.shared.store();
    let idx = find_issue(&store, &key)?;
    Ok(axum::Json(render(&ctx, &store, idx, &params)).into_response())
}

fn render(ctx: &Ctx, store: &Store, idx: usize, params: &Params) -> Value {
    let fields = select_fields(&params.all("fields"), "*all");
    let names = split_list(&params.all("expand")).any(|e| e == "names");
    let shape = IssueShape::for_get(fields, names, PropertySelection::parse(&params.all("properties")));
    ctx.view().issue(store, &store.issues[idx], &shape)
}

fn object(body: &Map<String, Value>, key: &str) -> Result<Map<String, Value>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(_) => Err(ApiError::invalid_payload()),
    }
}

/// Merges the field errors of `result` into `errors`, returning its value when it succeeded.
fn collect<T>(result: Result<T, ApiError>, errors: &mut Map<String, Value>) -> Result<Option<T>, ApiError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.status == StatusCode::BAD_REQUEST => {
            if let Some(map) = err.body.get("errors").and_then(Value::as_object) {
                errors.extend(map.clone());
            }
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// `POST issue`: 201 `{id, key, self}`; 400 with every field error at once; 403 in a read-only project.
pub async fn create(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let body = json_object(&headers, &body)?;
    let mut fields = object(&body, "fields")?;
    let update = object(&body, "update")?;
    let properties = edit::parse_properties(body.get("properties"))?;
    let reporter = fields.remove("reporter");
    let mut store = ctx.shared.store();
    let mut errors = Map::new();

    let project = fields.get("project").and_then(edit::named).and_then(|p| store.find_project(p));
    if project.is_none() {
        errors.insert("project".into(), json!("Specify a valid project ID or key"));
    }
    let service = project.map(|p| store.projects[p].service);
    let issue_type = issue_type(fields.get("issuetype"), service, &mut errors);
    if !fields.contains_key("summary") && !update.contains_key("summary") {
        errors.insert("summary".into(), json!("You must specify a summary of the issue."));
    }
    let changes = collect(
        edit::parse_changes(
            &fields,
            &update,
            Screen::Create,
            ctx.api,
            &["project", "issuetype"],
            project.map(|p| &store.projects[p]),
        ),
        &mut errors,
    )?;
    let reporter = match (reporter, project) {
        (None | Some(Value::Null), _) | (_, None) => None,
        (Some(value), Some(project)) => users::reporter(&ctx, &store.projects[project].key, &value, &mut errors),
    };
    let (Some(project), Some(issue_type), Some(changes), true) = (project, issue_type, changes, errors.is_empty())
    else {
        return Err(ApiError::fields(errors));
    };
    if store.projects[project].read_only {
        return Err(ApiError::forbidden("You do not have permission to create issues in this project."));
    }
    let now = store::now();
    let me = ctx.shared.me.clone();
    let idx = store.create(project, issue_type, String::new(), reporter.unwrap_or_else(|| me.clone()), now);
    edit::apply(&mut store, idx, changes, &me, now);
    store.issues[idx].properties.extend(properties);
    let issue = &store.issues[idx];
    let body =
        json!({"id": issue.id.to_string(), "key": issue.key, "self": ctx.view().url(&format!("issue/{}", issue.id))});
    Ok(json_response(StatusCode::CREATED, body))
}

/// The issue type of a create, one the project's scheme offers (`service`: a service project; `None`: no
/// valid project, any type).
fn issue_type(
    value: Option<&Value>,
    service: Option<bool>,
    errors: &mut Map<String, Value>,
) -> Option<&'static IssueType> {
    let Some(value) = value else {
        errors.insert("issuetype".into(), json!("Specify an issue type"));
        return None;
    };
    let offered = |t: &&IssueType| service.is_none_or(|service| t.offered_in(service));
    match edit::named(value).and_then(catalog::find_issue_type).filter(offered) {
        Some(t) if t.subtask => {
            errors.insert("parent".into(), json!("Issue type is a sub-task but parent issue key or id not specified."));
            None
        }
        Some(t) => Some(t),
        None => {
            errors.insert("issuetype".into(), json!("Specify a valid issue type"));
            None
        }
    }
}

/// `PUT issue/{idOrKey}`: 204 (200 with the issue when `returnIssue=true`).
pub async fn edit(
    State(ctx): State<Ctx>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref());
    let mut store = ctx.shared.store();
    let idx = find_writable(&store, &key)?;
    let body = json_object(&headers, &body)?;
    let fields = object(&body, "fields")?;
    let update = object(&body, "update")?;
    let properties = edit::parse_properties(body.get("properties"))?;
    let project = &store.projects[store.issues[idx].project];
    let changes = edit::parse_changes(&fields, &update, Screen::Edit, ctx.api, &[], Some(project))?;
    if changes.iter().any(|c| matches!(c, Change::IssueType(t) if t.subtask)) {
        return Err(ApiError::field("issuetype", "The issue type cannot be changed to a sub-task here."));
    }
    if changes.iter().any(|c| matches!(c, Change::IssueType(t) if !t.offered_in(project.service))) {
        return Err(ApiError::field("issuetype", "Specify a valid issue type"));
    }
    if !changes.is_empty() || !properties.is_empty() {
        let now = store::now();
        let me = ctx.shared.me.clone();
        edit::apply(&mut store, idx, changes, &me, now);
        store.issues[idx].properties.extend(properties);
        store.touch(idx, now);
    }
    if params.flag("returnIssue") {
        return Ok(axum::Json(render(&ctx, &store, idx, &params)).into_response());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
