//! Issue links: `POST issueLink`, `GET|DELETE issueLink/{linkId}`, `GET issueLinkType` and
//! `GET issueLinkType/{id}`, as the Jira Cloud platform REST API documents them:
//!
//! - `POST issueLink` (`LinkIssueRequestJsonBean`: `type` by name or id, `inwardIssue` and `outwardIssue`
//!   by key or id, an optional `comment`) answers **201 with no body**. A request that duplicates a link
//!   "indicates that the issue link was created" (201) and adds no second link; its comment, if any, is
//!   added to the outward issue. An unknown link type, an issue that does not exist or cannot be browsed,
//!   or no permission to link issues in the outward issue's project answers **404**; a comment that cannot
//!   be created answers 400 and creates no link.
//! - `GET issueLink/{id}`: the link; `DELETE issueLink/{id}`: 204. A link id that is not a number is a 400,
//!   an unknown one a 404.
//! - Both issues' `updated` move on a new or deleted link (a link is in both issues' history).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::{Ctx, json_object};
use crate::jira::edit;
use crate::jira::error::ApiError;
use crate::jira::links::{self, LINK_TYPES, LinkType};
use crate::jira::store::{self, Comment, Store};

fn link_not_found(id: &str) -> ApiError {
    ApiError::messages(StatusCode::NOT_FOUND, &[&format!("No issue link with id '{id}' exists.")])
}

fn type_not_found(what: &str) -> ApiError {
    ApiError::messages(StatusCode::NOT_FOUND, &[&format!("No issue link type with name '{what}' found.")])
}

/// The link id of a path: a number, else the documented 400.
fn link_id(id: &str) -> Result<u64, ApiError> {
    id.trim().parse().map_err(|_| ApiError::bad_request(format!("The issue link id '{id}' is invalid.")))
}

/// `GET issueLinkType`.
pub async fn types(State(ctx): State<Ctx>) -> Response {
    let view = ctx.view();
    let types: Vec<Value> = LINK_TYPES.iter().map(|t| links::render_type(&view, t)).collect();
    axum::Json(serde_json::json!({ "issueLinkTypes": types })).into_response()
}

/// `GET issueLinkType/{id}`.
pub async fn one_type(State(ctx): State<Ctx>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let t = links::find_type(None, Some(id.trim())).ok_or_else(|| {
        ApiError::messages(StatusCode::NOT_FOUND, &[&format!("No issue link type with id '{id}' found.")])
    })?;
    Ok(axum::Json(links::render_type(&ctx.view(), t)).into_response())
}

/// `GET issueLink/{linkId}`.
pub async fn get_one(State(ctx): State<Ctx>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let n = link_id(&id)?;
    let store = ctx.shared.store();
    let link =
        store.links.get(n).filter(|l| both_visible(&store, l.inward, l.outward)).ok_or_else(|| link_not_found(&id))?;
    Ok(axum::Json(links::render_link(&ctx.view(), &store, link)).into_response())
}

/// `DELETE issueLink/{linkId}`: 204.
pub async fn delete(State(ctx): State<Ctx>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let n = link_id(&id)?;
    let mut store = ctx.shared.store();
    let link = store.links.get(n).filter(|l| both_visible(&store, l.inward, l.outward)).cloned();
    let link = link.ok_or_else(|| link_not_found(&id))?;
    let writable = [link.inward, link.outward].iter().any(|i| writable(&store, *i).is_some());
    if !writable {
        return Err(link_not_found(&id));
    }
    store.links.remove(n);
    touch_both(&mut store, link.inward, link.outward);
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn both_visible(store: &Store, a: u64, b: u64) -> bool {
    [a, b].iter().all(|i| store.find(&i.to_string()).is_some())
}

/// The index of a visible issue the user may write (link) in.
fn writable(store: &Store, id: u64) -> Option<usize> {
    store.find(&id.to_string()).filter(|&idx| !store.projects[store.issues[idx].project].read_only)
}

fn touch_both(store: &mut Store, a: u64, b: u64) {
    let now = store::now();
    for id in [a, b] {
        if let Some(idx) = store.find_any(&id.to_string()) {
            store.touch(idx, now);
        }
    }
}

/// `type` of a request: by id, else by name; 404 when the site has no such type.
fn requested_type(body: &Map<String, Value>) -> Result<&'static LinkType, ApiError> {
    let t = body
        .get("type")
        .filter(|t| t.is_object())
        .ok_or_else(|| ApiError::field("issueLinkType", "Issue link type is required."))?;
    let id = t.get("id").and_then(Value::as_str);
    let name = t.get("name").and_then(Value::as_str);
    if id.is_none() && name.is_none() {
        return Err(ApiError::field("issueLinkType", "Issue link type is required."));
    }
    links::find_type(name, id).ok_or_else(|| type_not_found(name.or(id).unwrap_or_default()))
}

/// `inwardIssue` / `outwardIssue` of a request: by id, else by key; the issue's index, or 404.
fn requested_issue(store: &Store, body: &Map<String, Value>, side: &str) -> Result<usize, ApiError> {
    let issue = body
        .get(side)
        .filter(|i| i.is_object())
        .ok_or_else(|| ApiError::field(side, format!("'{side}' is required.")))?;
    let id = issue.get("id").and_then(|v| v.as_str().map(str::to_owned).or_else(|| v.as_u64().map(|n| n.to_string())));
    let key = issue.get("key").and_then(Value::as_str).map(str::to_owned);
    let Some(text) = id.or(key) else {
        return Err(ApiError::field(side, format!("'{side}' needs an id or a key.")));
    };
    store.find(&text).ok_or_else(ApiError::issue_not_found)
}

/// `POST issueLink`: 201, no body.
pub async fn create(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let request = json_object(&headers, &body)?;
    let mut store = ctx.shared.store();
    let link_type = requested_type(&request)?;
    let inward = requested_issue(&store, &request, "inwardIssue")?;
    let outward = requested_issue(&store, &request, "outwardIssue")?;
    // Linking needs the "Link issues" permission in the outward issue's project: 404 without it.
    if store.projects[store.issues[outward].project].read_only {
        return Err(ApiError::messages(
            StatusCode::NOT_FOUND,
            &["You do not have the permission to link issues in this project."],
        ));
    }
    let comment = match request.get("comment").filter(|c| !c.is_null()) {
        None => None,
        Some(c) => match edit::body(c.get("body").unwrap_or(&Value::Null), ctx.api) {
            Ok(Some(body)) => Some((body, c.get("visibility").filter(|v| v.is_object()).cloned())),
            Ok(None) => return Err(ApiError::field("comment", "Comment body can not be empty!")),
            Err(message) => return Err(ApiError::field("comment", message)),
        },
    };
    let (inward_id, outward_id) = (store.issues[inward].id, store.issues[outward].id);
    if store.links.find(link_type, inward_id, outward_id).is_none() {
        store.links.add(link_type, inward_id, outward_id);
        touch_both(&mut store, inward_id, outward_id);
    }
    if let Some((body, visibility)) = comment {
        let now = store::now();
        let id = store.next_comment_id();
        let author = ctx.shared.me.clone();
        store.issues[outward].comments.push(Comment {
            id,
            author,
            body,
            created: now,
            updated: now,
            visibility,
            internal: false,
        });
        store.touch(outward, now);
    }
    Ok(StatusCode::CREATED.into_response())
}
