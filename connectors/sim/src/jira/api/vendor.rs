//! Jira's wording of authentication failures, rate limits, server errors and maintenance pages.

use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::faults::RateLimitInfo;
use crate::jira::Flavour;
use crate::server::{VendorStyle, html_response};

/// The page an unavailable Jira site serves with status 200.
const MAINTENANCE_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><title>Atlassian Cloud Notifications - Page Unavailable</title></head>\
<body><h1>Your Atlassian Cloud site is currently unavailable.</h1><p>We are working to restore service as soon as possible.</p></body></html>\n";

/// The [`VendorStyle`] of Jira Cloud or Data Center.
#[derive(Debug, Clone)]
pub struct JiraStyle {
    flavour: Flavour,
    realm: String,
}

impl JiraStyle {
    pub fn new(flavour: Flavour, base_url: &str) -> Self {
        let realm: String = url::form_urlencoded::byte_serialize(base_url.as_bytes()).collect();
        JiraStyle { flavour, realm }
    }
}

fn header(response: &mut Response, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(HeaderName::from_static(name), value);
    }
}

impl VendorStyle for JiraStyle {
    fn unauthorized(&self) -> Response {
        let body = json!({"message": "Client must be authenticated to access this resource.", "status-code": 401});
        let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
        header(&mut response, "x-seraph-loginreason", "AUTHENTICATED_FAILED".to_owned());
        if let Ok(value) = HeaderValue::from_str(&format!("OAuth realm=\"{}\"", self.realm)) {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response
    }

    fn rate_limited(&self, info: &RateLimitInfo) -> Response {
        let body = json!({"errorMessages": ["Rate limit exceeded."], "errors": {}});
        let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(info.retry_after));
        header(&mut response, "x-ratelimit-limit", info.limit.to_string());
        header(&mut response, "x-ratelimit-remaining", info.remaining.to_string());
        match self.flavour {
            Flavour::Cloud => {
                header(&mut response, "x-ratelimit-reset", info.reset_at.format("%Y-%m-%dT%H:%MZ").to_string());
                let reason = if info.from_token_bucket { "jira-quota-tenant-based" } else { "jira-burst-based" };
                header(&mut response, "ratelimit-reason", reason.to_owned());
                header(&mut response, "x-ratelimit-nearlimit", "true".to_owned());
            }
            Flavour::DataCenter => {
                header(&mut response, "x-ratelimit-interval-seconds", "1".to_owned());
                header(&mut response, "x-ratelimit-fillrate", info.limit.to_string());
            }
        }
        response
    }

    fn server_error(&self, status: StatusCode, rate_limit: Option<&RateLimitInfo>) -> Response {
        let mut response = if status == StatusCode::INTERNAL_SERVER_ERROR {
            let body = json!({"errorMessages": ["Internal server error"], "errors": {}});
            (status, axum::Json(body)).into_response()
        } else {
            let reason = status.canonical_reason().unwrap_or("Error");
            let page = format!(
                "<html><head><title>{} {reason}</title></head><body><h1>{reason}</h1></body></html>\n",
                status.as_u16()
            );
            (status, [(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=UTF-8"))], page).into_response()
        };
        if let Some(info) = rate_limit {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(info.retry_after));
        }
        response
    }

    fn html_page(&self) -> Response {
        html_response(MAINTENANCE_PAGE)
    }

    fn broken_json(&self) -> &'static str {
        "{\"isLast\":false,\"issues\":[{\"expand\":\"\",\"id\":\"10001\",\"self\":\"http://127.0.0.1/rest/api/3/issue/10001\",\"key\":\"SHOP-1\",\"fields\":{\"summ"
    }
}
