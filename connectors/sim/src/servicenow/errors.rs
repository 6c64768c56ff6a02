//! ServiceNow's error bodies and fault responses: the `{"error":{"message","detail"},"status":"failure"}`
//! envelope, rate-limit headers, and what a load balancer in front of an instance sends.

use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::faults::RateLimitInfo;
use crate::server::VendorStyle;

/// `application/json;charset=UTF-8`, as an instance sends it.
pub(crate) const JSON: &str = "application/json;charset=UTF-8";

/// The sys_id of the simulated rate-limit rule (`X-RateLimit-Rule`).
const RATE_LIMIT_RULE: &str = "b0d6a6b61b2330102f0c2f8bcd4bcb5e";

/// A JSON response with the instance's content type.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [(CONTENT_TYPE, HeaderValue::from_static(JSON))], body.to_string()).into_response()
}

/// A JSON response with the instance's content type, from a body already written.
pub(crate) fn json_body(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(CONTENT_TYPE, HeaderValue::from_static(JSON))], body).into_response()
}

/// The documented error envelope.
pub(crate) fn envelope(status: StatusCode, message: &str, detail: Option<&str>) -> Response {
    json_response(status, &json!({"error": {"message": message, "detail": detail}, "status": "failure"}))
}

/// An error the Table API answers with, rendered in the instance's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SnError {
    InvalidTable(String),
    NoRecord,
    /// A read denied by an ACL.
    InsufficientRights,
    /// A write denied by an ACL: `Insert`, `Update` or `Delete`.
    WriteDenied(&'static str),
    UnknownUri,
    MethodNotAllowed,
    /// An unreadable request body, with the reason.
    BadBody(String),
    NotAcceptable,
    UnsupportedMediaType,
}

impl IntoResponse for SnError {
    fn into_response(self) -> Response {
        match self {
            SnError::InvalidTable(table) => envelope(
                StatusCode::BAD_REQUEST,
                &format!("Invalid table {table}"),
                Some(&format!("Table {table} does not exist")),
            ),
            SnError::NoRecord => envelope(
                StatusCode::NOT_FOUND,
                "No Record found",
                Some("Record doesn't exist or ACL restricts the record retrieval"),
            ),
            SnError::InsufficientRights => {
                envelope(StatusCode::FORBIDDEN, "Insufficient rights to query records", None)
            }
            SnError::WriteDenied(operation) => {
                let detail = format!("ACL Exception {operation} Failed due to security constraints");
                envelope(StatusCode::FORBIDDEN, "Operation Failed", Some(&detail))
            }
            // The fixture shows this envelope without `detail` and `status`.
            SnError::UnknownUri => json_response(
                StatusCode::BAD_REQUEST,
                &json!({"error": {"message": "Requested URI does not represent any resource"}}),
            ),
            SnError::MethodNotAllowed => envelope(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not Supported",
                Some("The requested method is not supported by this resource"),
            ),
            SnError::BadBody(detail) => {
                envelope(StatusCode::BAD_REQUEST, "Exception while reading request", Some(&detail))
            }
            SnError::NotAcceptable => envelope(
                StatusCode::NOT_ACCEPTABLE,
                "Not Acceptable",
                Some("The requested response format is not supported"),
            ),
            SnError::UnsupportedMediaType => envelope(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                Some("Send the request body as application/json"),
            ),
        }
    }
}

/// A gateway's error page (502, 503, 504 come from the load balancer, not the Table API).
const GATEWAY_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head><body>\
<h1>Service Unavailable</h1><p>The instance is temporarily unable to service your request.</p></body></html>\n";

/// How ServiceNow answers auth failures and faults.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ServiceNowStyle;

impl VendorStyle for ServiceNowStyle {
    fn unauthorized(&self) -> Response {
        envelope(StatusCode::UNAUTHORIZED, "User Not Authenticated", Some("Required to provide Auth information"))
    }

    fn rate_limited(&self, info: &RateLimitInfo) -> Response {
        let mut response = envelope(
            StatusCode::TOO_MANY_REQUESTS,
            "Rate limit exceeded",
            Some("The number of requests exceeds the rate limit rule configured for this user"),
        );
        let headers = response.headers_mut();
        headers.insert(RETRY_AFTER, HeaderValue::from(info.retry_after));
        headers.insert(HeaderName::from_static("x-ratelimit-limit"), HeaderValue::from(info.limit));
        headers.insert(HeaderName::from_static("x-ratelimit-reset"), HeaderValue::from(info.reset_at.timestamp()));
        headers.insert(HeaderName::from_static("x-ratelimit-rule"), HeaderValue::from_static(RATE_LIMIT_RULE));
        response
    }

    fn server_error(&self, status: StatusCode, rate_limit: Option<&RateLimitInfo>) -> Response {
        let mut response = if status == StatusCode::INTERNAL_SERVER_ERROR {
            envelope(status, "Internal Server Error", Some("An unexpected error occurred while processing the request"))
        } else {
            (status, [(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=UTF-8"))], GATEWAY_PAGE)
                .into_response()
        };
        if let Some(info) = rate_limit {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(info.retry_after));
        }
        response
    }
}
