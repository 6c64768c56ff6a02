//! `GET|POST issue/{k}/comment` and `GET issue/{k}/comment/{id}`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Ctx, Params, find_issue, find_writable, json_object, json_response};
use crate::jira::edit;
use crate::jira::error::ApiError;
use crate::jira::store::{self, Comment};

/// The default and largest page of comments.
const DEFAULT_MAX_COMMENTS: i64 = 100;
const MAX_COMMENTS: i64 = 5000;

/// `GET issue/{k}/comment` (`startAt`, `maxResults`, `orderBy=created|-created|+created`).
pub async fn list(
    State(ctx): State<Ctx>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref());
    let start = usize::try_from(params.int("startAt", 0)?.max(0)).unwrap_or(0);
    let max = usize::try_from(params.int("maxResults", DEFAULT_MAX_COMMENTS)?.clamp(0, MAX_COMMENTS)).unwrap_or(0);
    let descending = match params.get("orderBy") {
        None | Some("created" | "+created") => false,
        Some("-created") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!("The orderBy value '{other}' is not supported; use created.")));
        }
    };
    let store = ctx.shared.store();
    let idx = find_issue(&store, &key)?;
    let issue = &store.issues[idx];
    let view = ctx.view();
    let mut ordered: Vec<&Comment> = issue.comments.iter().collect();
    if descending {
        ordered.reverse();
    }
    let comments: Vec<Value> = ordered.iter().skip(start).take(max).map(|c| view.comment(issue, c)).collect();
    Ok(axum::Json(json!({
        "comments": comments,
        "maxResults": max,
        "total": issue.comments.len(),
        "startAt": start,
    }))
    .into_response())
}

/// `GET issue/{k}/comment/{id}`.
pub async fn get_one(State(ctx): State<Ctx>, Path((key, id)): Path<(String, String)>) -> Result<Response, ApiError> {
    let store = ctx.shared.store();
    let idx = find_issue(&store, &key)?;
    let issue = &store.issues[idx];
    let comment = issue.comments.iter().find(|c| c.id.to_string() == id).ok_or_else(|| {
        ApiError::messages(StatusCode::NOT_FOUND, &[&format!("Can not find a comment for the id: {id}.")])
    })?;
    Ok(axum::Json(ctx.view().comment(issue, comment)).into_response())
}

/// `POST issue/{k}/comment`: 201 with the comment.
pub async fn add(
    State(ctx): State<Ctx>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut store = ctx.shared.store();
    let idx = find_writable(&store, &key)?;
    let request = json_object(&headers, &body)?;
    let text = request.get("body").unwrap_or(&Value::Null);
    let body = match edit::body(text, ctx.api) {
        Ok(Some(body)) => body,
        Ok(None) => return Err(ApiError::field("comment", "Comment body can not be empty!")),
        Err(message) => return Err(ApiError::field("comment", message)),
    };
    let now = store::now();
    let id = store.next_comment_id();
    let comment = Comment {
        id,
        author: ctx.shared.me.clone(),
        body,
        created: now,
        updated: now,
        visibility: request.get("visibility").filter(|v| v.is_object()).cloned(),
        internal: edit::parse_properties(request.get("properties"))?
            .iter()
            .any(|(key, value)| key == "sd.public.comment" && value["internal"] == true),
    };
    store.issues[idx].comments.push(comment);
    store.touch(idx, now);
    let issue = &store.issues[idx];
    let rendered = issue.comments.last().map(|c| ctx.view().comment(issue, c)).unwrap_or(Value::Null);
    Ok(json_response(StatusCode::CREATED, rendered))
}
