//! Issue entity properties: `GET issue/{k}/properties` and `GET|PUT|DELETE issue/{k}/properties/{key}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Ctx, find_issue, find_writable, json_body};
use crate::jira::edit;
use crate::jira::error::ApiError;
use crate::jira::store;

fn property_not_found(key: &str) -> ApiError {
    ApiError::messages(StatusCode::NOT_FOUND, &[&format!("The property with key '{key}' does not exist.")])
}

/// `GET issue/{k}/properties`: `{"keys":[{"key","self"}]}`.
pub async fn keys(State(ctx): State<Ctx>, Path(issue_key): Path<String>) -> Result<Response, ApiError> {
    let store = ctx.shared.store();
    let issue = &store.issues[find_issue(&store, &issue_key)?];
    let view = ctx.view();
    let keys: Vec<Value> = issue
        .properties
        .keys()
        .map(|k| json!({"key": k, "self": view.url(&format!("issue/{}/properties/{k}", issue.key))}))
        .collect();
    Ok(axum::Json(json!({"keys": keys})).into_response())
}

/// `GET issue/{k}/properties/{key}`: `{"key","value"}`.
pub async fn get_one(
    State(ctx): State<Ctx>,
    Path((issue_key, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let store = ctx.shared.store();
    let issue = &store.issues[find_issue(&store, &issue_key)?];
    let value = issue.properties.get(&key).ok_or_else(|| property_not_found(&key))?;
    Ok(axum::Json(json!({"key": key, "value": value})).into_response())
}

/// `PUT issue/{k}/properties/{key}`: 201 created, 200 updated (empty bodies).
pub async fn put(
    State(ctx): State<Ctx>,
    Path((issue_key, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut store = ctx.shared.store();
    let idx = find_writable(&store, &issue_key)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("The property value must be a valid, non-empty JSON value."));
    }
    let value: Value = json_body(&headers, &body)?;
    edit::check_property(&key, &value)?;
    let created = store.issues[idx].properties.insert(key, value).is_none();
    store.touch(idx, store::now());
    Ok(if created { StatusCode::CREATED } else { StatusCode::OK }.into_response())
}

/// `DELETE issue/{k}/properties/{key}`: 204.
pub async fn delete(
    State(ctx): State<Ctx>,
    Path((issue_key, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut store = ctx.shared.store();
    let idx = find_writable(&store, &issue_key)?;
    store.issues[idx].properties.remove(&key).ok_or_else(|| property_not_found(&key))?;
    store.touch(idx, store::now());
    Ok(StatusCode::NO_CONTENT.into_response())
}
