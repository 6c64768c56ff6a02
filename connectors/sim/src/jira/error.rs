//! Jira's error bodies.
//!
//! Most errors are an `ErrorCollection` (`{"errorMessages":[...],"errors":{field: message}}`); authentication
//! failures and unknown resources use the servlet container's `{"message":...,"status-code":...}` shape.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// An error answer of the simulated Jira.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Value,
}

impl ApiError {
    /// An `ErrorCollection` with general messages.
    pub fn messages(status: StatusCode, messages: &[&str]) -> Self {
        ApiError { status, body: json!({"errorMessages": messages, "errors": {}}) }
    }

    /// A 400 `ErrorCollection` with one general message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError { status: StatusCode::BAD_REQUEST, body: json!({"errorMessages": [message.into()], "errors": {}}) }
    }

    /// A 400 `ErrorCollection` with per-field messages.
    pub fn fields(errors: Map<String, Value>) -> Self {
        ApiError { status: StatusCode::BAD_REQUEST, body: json!({"errorMessages": [], "errors": errors}) }
    }

    /// A 400 `ErrorCollection` with one per-field message.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Map::new();
        errors.insert(field.to_owned(), Value::String(message.into()));
        ApiError::fields(errors)
    }

    /// The 404 for an issue that does not exist or is not visible.
    pub fn issue_not_found() -> Self {
        ApiError::messages(StatusCode::NOT_FOUND, &["Issue does not exist or you do not have permission to see it."])
    }

    /// The 403 for a write the user is not allowed to make.
    pub fn forbidden(message: &str) -> Self {
        ApiError::messages(StatusCode::FORBIDDEN, &[message])
    }

    /// The 400 Jira gives for a body it cannot deserialize.
    pub fn invalid_payload() -> Self {
        ApiError::bad_request("Invalid request payload. Refer to the REST API documentation and try again.")
    }

    /// The container's 404 for a path no resource serves.
    pub fn no_resource(uri: &str) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            body: json!({"message": format!("null for uri: {uri}"), "status-code": 404}),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}
