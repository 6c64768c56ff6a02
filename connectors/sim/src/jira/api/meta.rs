//! Site metadata: server info, the current user, fields, projects, issue types, resolutions, priorities
//! and statuses.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Ctx, Params};
use crate::jira::Flavour;
use crate::jira::catalog::{FIELDS, FieldDef, ISSUE_TYPES, PRIORITIES, RESOLUTIONS, Status};
use crate::jira::error::ApiError;
use crate::jira::store;

/// `GET serverInfo`.
pub async fn server_info(State(ctx): State<Ctx>) -> Response {
    let view = ctx.view();
    let now = view.timestamp(store::now());
    let (version, numbers, deployment, build) = match ctx.shared.flavour {
        Flavour::Cloud => ("1001.0.0-SNAPSHOT", [1001, 0, 0], "Cloud", 100_282),
        Flavour::DataCenter => ("9.12.2", [9, 12, 2], "Server", 9_120_002),
    };
    axum::Json(json!({
        "baseUrl": ctx.shared.base_url,
        "displayUrl": ctx.shared.base_url,
        "version": version,
        "versionNumbers": numbers,
        "deploymentType": deployment,
        "buildNumber": build,
        "buildDate": "2025-09-01T00:00:00.000+0000",
        "serverTime": now,
        "scmInfo": "1f51473f5c7b75c1a69a0090f4832cdc5053702a",
        "serverTitle": "Jira",
        "serverTimeZone": ctx.shared.tz.name(),
        "defaultLocale": {"locale": "en_US"},
    }))
    .into_response()
}

/// `GET myself`.
pub async fn myself(State(ctx): State<Ctx>) -> Response {
    let view = ctx.view();
    let me = &ctx.shared.me;
    let mut user = view.user(me);
    if let Some(map) = user.as_object_mut() {
        map.insert("emailAddress".into(), json!(me.email));
        map.insert("locale".into(), json!("en_US"));
        map.insert("groups".into(), json!({"size": 1, "items": []}));
        map.insert("applicationRoles".into(), json!({"size": 1, "items": []}));
        map.insert("expand".into(), json!("groups,applicationRoles"));
    }
    axum::Json(user).into_response()
}

fn field_details(field: &FieldDef) -> Value {
    let mut schema = json!({"type": field.schema_type});
    if let Some(map) = schema.as_object_mut() {
        if let Some(items) = field.schema_items {
            map.insert("items".into(), json!(items));
        }
        if field.custom {
            let kind = if field.schema_type == "option" { "select" } else { "float" };
            map.insert("custom".into(), json!(format!("com.atlassian.jira.plugin.system.customfieldtypes:{kind}")));
            let custom_id = field.id.trim_start_matches("customfield_").parse::<u64>().unwrap_or_default();
            map.insert("customId".into(), json!(custom_id));
        } else {
            map.insert("system".into(), json!(field.id));
        }
    }
    let mut details = json!({
        "id": field.id,
        "key": field.id,
        "name": field.name,
        "custom": field.custom,
        "orderable": field.orderable,
        "navigable": field.navigable,
        "searchable": true,
        "clauseNames": field.clause_names,
        "schema": schema,
    });
    if let (true, Some(map)) = (field.custom, details.as_object_mut()) {
        map.insert("untranslatedName".into(), json!(field.name));
    }
    details
}

/// `GET field`: the system fields the simulator serves, the story points custom field and the ITSM
/// Impact and Urgency select fields.
pub async fn fields() -> Response {
    axum::Json(FIELDS.iter().map(field_details).collect::<Vec<_>>()).into_response()
}

/// `GET project/search` (`startAt`, `maxResults`).
pub async fn project_search(State(ctx): State<Ctx>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref());
    let start = usize::try_from(params.int("startAt", 0)?.max(0)).unwrap_or(0);
    let max = usize::try_from(params.int("maxResults", 50)?.clamp(1, 100)).unwrap_or(50);
    let store = ctx.shared.store();
    let view = ctx.view();
    let visible: Vec<Value> = store.projects.iter().filter(|p| !p.hidden).map(|p| view.project(p)).collect();
    let total = visible.len();
    let values: Vec<Value> = visible.into_iter().skip(start).take(max).collect();
    Ok(axum::Json(json!({
        "self": view.url(&format!("project/search?startAt={start}&maxResults={max}")),
        "maxResults": max,
        "startAt": start,
        "total": total,
        "isLast": start + values.len() >= total,
        "values": values,
    }))
    .into_response())
}

/// `GET project/{key}` (with its issue types).
pub async fn project(State(ctx): State<Ctx>, Path(key): Path<String>) -> Result<Response, ApiError> {
    let store = ctx.shared.store();
    let idx = store.find_project(&key).ok_or_else(|| {
        ApiError::messages(StatusCode::NOT_FOUND, &[&format!("No project could be found with key '{key}'.")])
    })?;
    let view = ctx.view();
    let service = store.projects[idx].service;
    let mut project = view.project(&store.projects[idx]);
    if let Some(map) = project.as_object_mut() {
        map.insert("description".into(), json!(""));
        let types = ISSUE_TYPES.iter().filter(|t| t.offered_in(service));
        map.insert("issueTypes".into(), types.map(|t| view.issue_type(t)).collect());
        let components = &store.projects[idx].components;
        map.insert("components".into(), components.iter().map(|c| view.component(&store.projects[idx], c)).collect());
    }
    Ok(axum::Json(project).into_response())
}

/// `GET project/{key}/components`: every component of the project.
pub async fn components(State(ctx): State<Ctx>, Path(key): Path<String>) -> Result<Response, ApiError> {
    let store = ctx.shared.store();
    let idx = store.find_project(&key).ok_or_else(|| {
        ApiError::messages(StatusCode::NOT_FOUND, &[&format!("No project could be found with key '{key}'.")])
    })?;
    let view = ctx.view();
    let project = &store.projects[idx];
    Ok(axum::Json(project.components.iter().map(|c| view.component(project, c)).collect::<Vec<_>>()).into_response())
}

/// `GET issuetype`.
pub async fn issue_types(State(ctx): State<Ctx>) -> Response {
    let view = ctx.view();
    axum::Json(ISSUE_TYPES.iter().map(|t| view.issue_type(t)).collect::<Vec<_>>()).into_response()
}

/// `GET resolution`.
pub async fn resolutions(State(ctx): State<Ctx>) -> Response {
    let view = ctx.view();
    axum::Json(RESOLUTIONS.iter().map(|r| view.resolution(r)).collect::<Vec<_>>()).into_response()
}

/// `GET priority`.
pub async fn priorities(State(ctx): State<Ctx>) -> Response {
    let view = ctx.view();
    axum::Json(PRIORITIES.iter().map(|p| view.priority(p)).collect::<Vec<_>>()).into_response()
}

/// `GET status`.
pub async fn statuses(State(ctx): State<Ctx>) -> Response {
    let view = ctx.view();
    axum::Json(Status::ALL.iter().map(|s| view.status(*s)).collect::<Vec<_>>()).into_response()
}
