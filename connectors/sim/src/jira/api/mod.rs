//! The HTTP surface: routes per API version, request helpers, and the handlers (one module per resource).

pub mod attachments;
mod comments;
mod issuelinks;
mod issues;
mod meta;
mod project_properties;
mod properties;
mod remotelinks;
pub mod search;
mod transitions;
pub mod users;
pub mod vendor;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;
use super::render::{ApiVersion, View};
use super::store::Store;
use super::{Flavour, Shared};

/// The state of every handler: the simulator and the API version the route belongs to.
#[derive(Debug, Clone)]
pub struct Ctx {
    shared: Arc<Shared>,
    api: ApiVersion,
}

impl Ctx {
    fn view(&self) -> View<'_> {
        self.shared.view(self.api)
    }
}

/// The whole router: `/rest/api/3` and `/rest/api/2` in Cloud, `/rest/api/2` and `/rest/api/latest` in DC.
pub fn router(shared: Arc<Shared>) -> Router {
    let mounts: [(&str, ApiVersion); 2] = match shared.flavour {
        Flavour::Cloud => [("/rest/api/3", ApiVersion::V3), ("/rest/api/2", ApiVersion::V2)],
        Flavour::DataCenter => [("/rest/api/2", ApiVersion::V2), ("/rest/api/latest", ApiVersion::V2)],
    };
    let mut router = Router::new();
    for (prefix, api) in mounts {
        let ctx = Ctx { shared: Arc::clone(&shared), api };
        router = router.nest(prefix, routes(shared.flavour).with_state(ctx));
    }
    router.fallback(no_resource)
}

fn routes(flavour: Flavour) -> Router<Ctx> {
    let router = Router::new()
        .route("/serverInfo", get(meta::server_info))
        .route("/myself", get(meta::myself))
        .route("/field", get(meta::fields))
        .route("/project/search", get(meta::project_search))
        .route("/project/{key}", get(meta::project))
        .route("/project/{key}/components", get(meta::components))
        .route("/project/{key}/properties", get(project_properties::keys))
        .route(
            "/project/{key}/properties/{property}",
            get(project_properties::get_one).put(project_properties::put).delete(project_properties::delete),
        )
        .route("/issuetype", get(meta::issue_types))
        .route("/resolution", get(meta::resolutions))
        .route("/priority", get(meta::priorities))
        .route("/status", get(meta::statuses))
        .route("/user/search", get(users::search))
        .route("/issue", axum::routing::post(issues::create))
        .route("/issue/{key}", get(issues::get_issue).put(issues::edit))
        .route("/issue/{key}/comment", get(comments::list).post(comments::add))
        .route("/issue/{key}/attachments", axum::routing::post(attachments::upload))
        .route("/attachment/content/{id}", get(attachments::content))
        .route("/attachment/{id}", get(attachments::meta))
        .route("/issue/{key}/comment/{id}", get(comments::get_one))
        .route("/issue/{key}/transitions", get(transitions::list).post(transitions::transition))
        .route(
            "/issue/{key}/remotelink",
            get(remotelinks::list).post(remotelinks::upsert).delete(remotelinks::delete_by_global_id),
        )
        .route("/issue/{key}/remotelink/{id}", get(remotelinks::get_one).delete(remotelinks::delete_one))
        .route("/issue/{key}/properties", get(properties::keys))
        .route("/issueLink", axum::routing::post(issuelinks::create))
        .route("/issueLink/{id}", get(issuelinks::get_one).delete(issuelinks::delete))
        .route("/issueLinkType", get(issuelinks::types))
        .route("/issueLinkType/{id}", get(issuelinks::one_type))
        .route(
            "/issue/{key}/properties/{property}",
            get(properties::get_one).put(properties::put).delete(properties::delete),
        );
    match flavour {
        Flavour::Cloud => router
            .route("/search", get(search::removed).post(search::removed))
            .route("/search/jql", get(search::jql_get).post(search::jql_post))
            .route("/search/approximate-count", axum::routing::post(search::approximate_count)),
        Flavour::DataCenter => router.route("/search", get(search::legacy_get).post(search::legacy_post)),
    }
}

/// Unknown paths (and v3 on Data Center) answer like Jira's servlet container.
async fn no_resource(uri: Uri) -> Response {
    ApiError::no_resource(&uri.to_string()).into_response()
}

/// Query parameters in order, with repeated keys kept (`fields=a&fields=b`).
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Params {
        Params(url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect())
    }

    /// The last value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    /// An integer parameter, `default` when absent; a 400 when not an integer.
    pub fn int(&self, name: &str, default: i64) -> Result<i64, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "The value '{v}' is not valid for the parameter '{name}'; expected an integer."
                ))
            }),
        }
    }

    /// A boolean parameter (`true`/`false`), `false` when absent.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// Parses a JSON request body, with Jira's answers for a wrong media type and an unreadable payload.
pub fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.to_ascii_lowercase().contains("json") {
        return Err(ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            body: serde_json::json!({"message": "Unsupported Media Type", "status-code": 415}),
        });
    }
    serde_json::from_slice(body).map_err(|_| ApiError::invalid_payload())
}

/// A JSON object body (`{}` when empty is not allowed: the body is required).
pub fn json_object(headers: &HeaderMap, body: &Bytes) -> Result<serde_json::Map<String, Value>, ApiError> {
    match json_body::<Value>(headers, body)? {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::invalid_payload()),
    }
}

/// Finds a visible issue or answers the documented 404.
pub fn find_issue(store: &Store, key: &str) -> Result<usize, ApiError> {
    store.find(key).ok_or_else(ApiError::issue_not_found)
}

/// Finds a visible issue the user may write, or answers 404 / 403.
pub fn find_writable(store: &Store, key: &str) -> Result<usize, ApiError> {
    let idx = find_issue(store, key)?;
    if store.projects[store.issues[idx].project].read_only {
        return Err(ApiError::forbidden("You do not have permission to edit issues in this project."));
    }
    Ok(idx)
}

/// A JSON response with a status.
pub fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}
