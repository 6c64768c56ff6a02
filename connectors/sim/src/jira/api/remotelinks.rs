//! Remote issue links: `GET|POST|DELETE issue/{k}/remotelink` (`?globalId=`) and
//! `GET|DELETE issue/{k}/remotelink/{id}`. POST upserts by `globalId`: 200 when it replaced a link, 201
//! when it created one.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{Ctx, Params, find_issue, find_writable, json_object, json_response};
use crate::jira::error::ApiError;
use crate::jira::store::{self, RemoteLink};

/// The longest `globalId` Jira stores.
const MAX_GLOBAL_ID: usize = 255;

fn link_not_found() -> ApiError {
    ApiError::messages(
        StatusCode::NOT_FOUND,
        &["Remote issue link does not exist or you do not have permission to see it."],
    )
}

/// `GET issue/{k}/remotelink`: every link, or the one with `globalId`.
pub async fn list(
    State(ctx): State<Ctx>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref());
    let store = ctx.shared.store();
    let issue = &store.issues[find_issue(&store, &key)?];
    let view = ctx.view();
    if let Some(global_id) = params.get("globalId") {
        let link =
            issue.remote_links.iter().find(|l| l.global_id.as_deref() == Some(global_id)).ok_or_else(link_not_found)?;
        return Ok(axum::Json(view.remote_link(issue, link)).into_response());
    }
    let links: Vec<Value> = issue.remote_links.iter().map(|l| view.remote_link(issue, l)).collect();
    Ok(axum::Json(links).into_response())
}

/// `GET issue/{k}/remotelink/{id}`.
pub async fn get_one(State(ctx): State<Ctx>, Path((key, id)): Path<(String, String)>) -> Result<Response, ApiError> {
    let store = ctx.shared.store();
    let issue = &store.issues[find_issue(&store, &key)?];
    let link = issue.remote_links.iter().find(|l| l.id.to_string() == id).ok_or_else(link_not_found)?;
    Ok(axum::Json(ctx.view().remote_link(issue, link)).into_response())
}

/// A validated `RemoteIssueLinkRequest`.
struct LinkRequest {
    global_id: Option<String>,
    application: Option<Value>,
    relationship: Option<String>,
    object: Value,
}

/// Validates a `RemoteIssueLinkRequest`; `object.url` and `object.title` are required.
fn parse_link(body: &Map<String, Value>) -> Result<LinkRequest, ApiError> {
    let mut errors = Map::new();
    let object = body.get("object").filter(|o| o.is_object());
    for field in ["url", "title"] {
        let present = object.and_then(|o| o.get(field)).and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty());
        if !present {
            errors.insert(field.into(), json!(format!("'{field}' is required.")));
        }
    }
    let global_id = match body.get("globalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(g)) if g.chars().count() <= MAX_GLOBAL_ID => Some(g.clone()),
        Some(Value::String(_)) => {
            errors.insert("globalId".into(), json!("The global ID must not exceed 255 characters."));
            None
        }
        Some(_) => return Err(ApiError::invalid_payload()),
    };
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    let application = body.get("application").filter(|a| a.is_object()).cloned();
    let relationship = body.get("relationship").and_then(Value::as_str).map(str::to_owned);
    Ok(LinkRequest { global_id, application, relationship, object: object.cloned().unwrap_or(Value::Null) })
}

/// `POST issue/{k}/remotelink`.
pub async fn upsert(
    State(ctx): State<Ctx>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut store = ctx.shared.store();
    let idx = find_writable(&store, &key)?;
    let LinkRequest { global_id, application, relationship, object } = parse_link(&json_object(&headers, &body)?)?;
    let existing = global_id
        .as_deref()
        .and_then(|g| store.issues[idx].remote_links.iter().position(|l| l.global_id.as_deref() == Some(g)));
    let (id, status) = match existing {
        Some(pos) => {
            let link = &mut store.issues[idx].remote_links[pos];
            link.application = application;
            link.relationship = relationship;
            link.object = object;
            (link.id, StatusCode::OK)
        }
        None => {
            let id = store.next_link_id();
            store.issues[idx].remote_links.push(RemoteLink { id, global_id, application, relationship, object });
            (id, StatusCode::CREATED)
        }
    };
    store.touch(idx, store::now());
    let issue_key = store.issues[idx].key.clone();
    let body = json!({"id": id, "self": ctx.view().url(&format!("issue/{issue_key}/remotelink/{id}"))});
    Ok(json_response(status, body))
}

/// `DELETE issue/{k}/remotelink?globalId=`.
pub async fn delete_by_global_id(
    State(ctx): State<Ctx>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref());
    let Some(global_id) = params.get("globalId") else {
        return Err(ApiError::bad_request("A global ID must be provided."));
    };
    remove(&ctx, &key, |l| l.global_id.as_deref() == Some(global_id))
}

/// `DELETE issue/{k}/remotelink/{id}`.
pub async fn delete_one(State(ctx): State<Ctx>, Path((key, id)): Path<(String, String)>) -> Result<Response, ApiError> {
    remove(&ctx, &key, |l| l.id.to_string() == id)
}

fn remove(ctx: &Ctx, key: &str, matches: impl Fn(&RemoteLink) -> bool) -> Result<Response, ApiError> {
    let mut store = ctx.shared.store();
    let idx = find_writable(&store, key)?;
    let links = &mut store.issues[idx].remote_links;
    let pos = links.iter().position(matches).ok_or_else(link_not_found)?;
    links.remove(pos);
    store.touch(idx, store::now());
    Ok(StatusCode::NO_CONTENT.into_response())
}
