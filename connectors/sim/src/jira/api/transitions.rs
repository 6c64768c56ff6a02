//! `GET|POST issue/{k}/transitions` over the workflow in [`crate::jira::catalog`].

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{Ctx, Params, find_issue, find_writable, json_object};
use crate::jira::catalog::{self, RESOLUTIONS, Status, TRANSITIONS, Transition};
use crate::jira::edit::{self, Change, Screen};
use crate::jira::error::ApiError;
use crate::jira::render::{View, split_list};
use crate::jira::store;

fn render_transition(view: &View<'_>, t: &Transition, available: bool, with_fields: bool) -> Value {
    let to_done = t.to == Status::Done;
    let mut out = json!({
        "id": t.id,
        "name": t.name,
        "to": view.status(t.to),
        "hasScreen": to_done,
        "isGlobal": false,
        "isInitial": false,
        "isAvailable": available,
        "isConditional": false,
        "isLooped": false,
    });
    if let (true, Some(map)) = (with_fields, out.as_object_mut()) {
        let mut fields = Map::new();
        if to_done {
            fields.insert(
                "resolution".into(),
                json!({
                    "required": false,
                    "schema": {"type": "resolution", "system": "resolution"},
                    "name": "Resolution",
                    "key": "resolution",
                    "operations": ["set"],
                    "allowedValues": RESOLUTIONS.iter().map(|r| view.resolution(r)).collect::<Vec<_>>(),
                }),
            );
        }
        map.insert("fields".into(), Value::Object(fields));
    }
    out
}

/// `GET issue/{k}/transitions` (`transitionId`, `includeUnavailableTransitions`, `expand=transitions.fields`).
pub async fn list(
    State(ctx): State<Ctx>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref());
    let store = ctx.shared.store();
    let idx = find_issue(&store, &key)?;
    let status = store.issues[idx].status;
    let include_unavailable = params.flag("includeUnavailableTransitions");
    let with_fields = split_list(&params.all("expand")).any(|e| e == "transitions.fields");
    let wanted = params.get("transitionId");
    let view = ctx.view();
    let transitions: Vec<Value> = TRANSITIONS
        .iter()
        .filter(|t| wanted.is_none_or(|w| w == t.id))
        .filter_map(|t| {
            let available = t.from == status;
            (available || include_unavailable).then(|| render_transition(&view, t, available, with_fields))
        })
        .collect();
    Ok(axum::Json(json!({"expand": "transitions", "transitions": transitions})).into_response())
}

/// `POST issue/{k}/transitions`: 204. Moving to Done sets the resolution (default Done) and the
/// resolution date; leaving Done clears both.
pub async fn transition(
    State(ctx): State<Ctx>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut store = ctx.shared.store();
    let idx = find_writable(&store, &key)?;
    let body = json_object(&headers, &body)?;
    let id = match body.get("transition").and_then(|t| t.get("id")) {
        Some(Value::String(id)) => id.clone(),
        Some(Value::Number(id)) => id.to_string(),
        _ => return Err(ApiError::bad_request("'transition' identifier must be specified.")),
    };
    let status = store.issues[idx].status;
    let transition = TRANSITIONS
        .iter()
        .find(|t| t.id == id && t.from == status)
        .ok_or_else(|| ApiError::bad_request(format!("Transition id '{id}' is not valid for this issue.")))?;
    let empty = Map::new();
    let fields = body.get("fields").and_then(Value::as_object).unwrap_or(&empty);
    let update = body.get("update").and_then(Value::as_object).unwrap_or(&empty);
    let screen = Screen::Transition { resolution_allowed: transition.to == Status::Done };
    let changes = edit::parse_changes(fields, update, screen, ctx.api, &[], None)?;
    let now = store::now();
    let me = ctx.shared.me.clone();
    let resolution = changes.iter().find_map(|c| match c {
        Change::Resolution(r) => Some(*r),
        _ => None,
    });
    edit::apply(&mut store, idx, changes, &me, now);
    let issue = &mut store.issues[idx];
    issue.status = transition.to;
    if transition.to == Status::Done {
        issue.resolution = Some(resolution.unwrap_or(&catalog::RESOLUTIONS[0]));
        issue.resolution_date = Some(now);
    } else {
        issue.resolution = None;
        issue.resolution_date = None;
    }
    store.touch(idx, now);
    Ok(StatusCode::NO_CONTENT.into_response())
}
