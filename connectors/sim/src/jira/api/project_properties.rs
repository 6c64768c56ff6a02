//! Project entity properties: `GET project/{p}/properties` and `GET|PUT|DELETE project/{p}/properties/{key}`,
//! as the Cloud platform REST reference documents them (200/201 on PUT with an empty body, 204 on DELETE,
//! 404 for an unknown project or property; writing needs *Administer Projects*, which the simulated user
//! lacks in a read-only project: 403).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Ctx, json_body};
use crate::jira::edit;
use crate::jira::error::ApiError;
use crate::jira::store::Store;

fn project_not_found(key: &str) -> ApiError {
    ApiError::messages(StatusCode::NOT_FOUND, &[&format!("No project could be found with key '{key}'.")])
}

fn property_not_found(key: &str) -> ApiError {
    ApiError::messages(StatusCode::NOT_FOUND, &[&format!("The property with key '{key}' does not exist.")])
}

fn find(store: &Store, project: &str) -> Result<usize, ApiError> {
    store.find_project(project).ok_or_else(|| project_not_found(project))
}

fn find_administered(store: &Store, project: &str) -> Result<usize, ApiError> {
    let idx = find(store, project)?;
    if store.projects[idx].read_only {
        return Err(ApiError::forbidden("You do not have permission to administer this project."));
    }
    Ok(idx)
}

/// `GET project/{p}/properties`: `{"keys":[{"key","self"}]}`.
pub async fn keys(State(ctx): State<Ctx>, Path(project): Path<String>) -> Result<Response, ApiError> {
    let store = ctx.shared.store();
    let p = &store.projects[find(&store, &project)?];
    let view = ctx.view();
    let keys: Vec<Value> = p
        .properties
        .keys()
        .map(|k| json!({"key": k, "self": view.url(&format!("project/{}/properties/{k}", p.key))}))
        .collect();
    Ok(axum::Json(json!({"keys": keys})).into_response())
}

/// `GET project/{p}/properties/{key}`: `{"key","value"}`.
pub async fn get_one(
    State(ctx): State<Ctx>,
    Path((project, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let store = ctx.shared.store();
    let p = &store.projects[find(&store, &project)?];
    let value = p.properties.get(&key).ok_or_else(|| property_not_found(&key))?;
    Ok(axum::Json(json!({"key": key, "value": value})).into_response())
}

/// `PUT project/{p}/properties/{key}`: 201 created, 200 updated (empty bodies).
pub async fn put(
    State(ctx): State<Ctx>,
    Path((project, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut store = ctx.shared.store();
    let idx = find_administered(&store, &project)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("The property value must be a valid, non-empty JSON value."));
    }
    let value: Value = json_body(&headers, &body)?;
    edit::check_property(&key, &value)?;
    let created = store.projects[idx].properties.insert(key, value).is_none();
    Ok(if created { StatusCode::CREATED } else { StatusCode::OK }.into_response())
}

/// `DELETE project/{p}/properties/{key}`: 204.
pub async fn delete(
    State(ctx): State<Ctx>,
    Path((project, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut store = ctx.shared.store();
    let idx = find_administered(&store, &project)?;
    store.projects[idx].properties.remove(&key).ok_or_else(|| property_not_found(&key))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
