//! Issue entity properties: `GET issue/{k}/properties` and `GET|PUT|DELETE issue/{k}/properties/{key}`; the answers
//! every entity's properties share (project properties too).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Ctx, find_issue, find_writable, json_body};
use crate::jira::edit;
use crate::jira::error::ApiError;
use crate::jira::render::View;
use crate::jira::store;

fn property_not_found(key: &str) -> ApiError {
    ApiError::messages(StatusCode::NOT_FOUND, &[&format!("The property with key '{key}' does not exist.")])
}

/// The answer of `GET .../properties` for the entity at `entity` (e.g. `issue/EX-1`).
pub(super) fn keys_of(view: &View<'_>, entity: &str, properties: &BTreeMap<String, Value>) -> Response {
    let keys: Vec<Value> =
        properties.keys().map(|k| json!({"key": k, "self": view.url(&format!("{entity}/properties/{k}"))})).collect();
    axum::Json(json!({"keys": keys})).into_response()
}

/// The answer of `GET .../properties/{key}`.
pub(super) fn value_of(properties: &BTreeMap<String, Value>, key: &str) -> Result<Response, ApiError> {
    let value = properties.get(key).ok_or_else(|| property_not_found(key))?;
    Ok(axum::Json(json!({"key": key, "value": value})).into_response())
}

/// A `PUT .../properties/{key}` body, checked: a non-empty JSON value within the size limit.
pub(super) fn value_to_put(key: &str, headers: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("The property value must be a valid, non-empty JSON value."));
    }
    let value: Value = json_body(headers, body)?;
    edit::check_property(key, &value)?;
    Ok(value)
}

/// The answer of a `PUT` that stored a value: 201 when the property is new, 200 when it was replaced.
pub(super) fn put_answer(replaced: Option<Value>) -> Response {
    if replaced.is_none() { StatusCode::CREATED } else { StatusCode::OK }.into_response()
}

/// Remove `key` for a `DELETE .../properties/{key}` (404 when there is none).
pub(super) fn remove(properties: &mut BTreeMap<String, Value>, key: &str) -> Result<(), ApiError> {
    properties.remove(key).map(|_| ()).ok_or_else(|| property_not_found(key))
}

/// `GET issue/{k}/properties`: `{"keys":[{"key","self"}]}`.
pub async fn keys(State(ctx): State<Ctx>, Path(issue_key): Path<String>) -> Result<Response, ApiError> {
    let store = ctx.shared.store();
    let issue = &store.issues[find_issue(&store, &issue_key)?];
    Ok(keys_of(&ctx.view(), &format!("issue/{}", issue.key), &issue.properties))
}

/// `GET issue/{k}/properties/{key}`: `{"key","value"}`.
pub async fn get_one(
    State(ctx): State<Ctx>,
    Path((issue_key, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let store = ctx.shared.store();
    let issue = &store.issues[find_issue(&store, &issue_key)?];
    value_of(&issue.properties, &key)
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
    let value = value_to_put(&key, &headers, &body)?;
    let replaced = store.issues[idx].properties.insert(key, value);
    store.touch(idx, store::now());
    Ok(put_answer(replaced))
}

/// `DELETE issue/{k}/properties/{key}`: 204.
pub async fn delete(
    State(ctx): State<Ctx>,
    Path((issue_key, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut store = ctx.shared.store();
    let idx = find_writable(&store, &issue_key)?;
    remove(&mut store.issues[idx].properties, &key)?;
    store.touch(idx, store::now());
    Ok(StatusCode::NO_CONTENT.into_response())
}
