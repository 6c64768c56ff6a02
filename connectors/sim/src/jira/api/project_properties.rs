//! Project entity properties: `GET project/{p}/properties` and `GET|PUT|DELETE project/{p}/properties/{key}`,
//! as the Cloud platform REST reference documents them (200/201 on PUT with an empty body, 204 on DELETE,
//! 404 for an unknown project or property; writing needs *Administer Projects*, which the simulated user
//! lacks in a read-only project: 403).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Ctx;
use super::properties::{keys_of, put_answer, remove, value_of, value_to_put};
use crate::jira::error::ApiError;
use crate::jira::store::Store;

fn find(store: &Store, project: &str) -> Result<usize, ApiError> {
    store.find_project(project).ok_or_else(|| {
        ApiError::messages(StatusCode::NOT_FOUND, &[&format!("No project could be found with key '{project}'.")])
    })
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
    Ok(keys_of(&ctx.view(), &format!("project/{}", p.key), &p.properties))
}

/// `GET project/{p}/properties/{key}`: `{"key","value"}`.
pub async fn get_one(
    State(ctx): State<Ctx>,
    Path((project, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let store = ctx.shared.store();
    value_of(&store.projects[find(&store, &project)?].properties, &key)
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
    let value = value_to_put(&key, &headers, &body)?;
    Ok(put_answer(store.projects[idx].properties.insert(key, value)))
}

/// `DELETE project/{p}/properties/{key}`: 204.
pub async fn delete(
    State(ctx): State<Ctx>,
    Path((project, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut store = ctx.shared.store();
    let idx = find_administered(&store, &project)?;
    remove(&mut store.projects[idx].properties, &key)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
