//! The Attachment API (ServiceNow REST API reference, "Attachment API"): the `sys_attachment` rows of a
//! record, `GET /api/now/attachment` (`sysparm_query` with `table_name`, `table_sys_id`, `file_name`,
//! `sys_id` terms joined by `^`, other terms and `ORDERBY` ignored: rows come oldest first;
//! `sysparm_limit`, `sysparm_offset`), one row's metadata (`GET /api/now/attachment/{sys_id}`), its content
//! (`GET /api/now/attachment/{sys_id}/file`, with the row in `X-Attachment-Metadata`), and uploads:
//! `POST /api/now/attachment/file?table_name=&table_sys_id=&file_name=` whose body is the file and whose
//! `Content-Type` is the file's, answered 201 with the row. Rows carry `size_bytes` and `hash` (the
//! SHA-256 of the content in hex, as recent releases store it) as strings.
//!
//! When `sys_attachment` is among the simulator's ACL-denied tables, every request here answers 403.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::api::SnState;
use super::errors::{SnError, json_response};
use super::store::format_time;
use crate::server::AuthenticatedUser;

/// The table whose ACL guards attachments.
pub(crate) const TABLE: &str = "sys_attachment";

/// The largest file an instance takes by default (`com.glide.attachment.max_size`, 1 GB, is far larger:
/// this keeps the simulator small).
pub(crate) const MAX_FILE: usize = 10 * 1024 * 1024;

/// One `sys_attachment` row and its content.
#[derive(Debug, Clone)]
pub(crate) struct File {
    pub sys_id: String,
    pub table_name: String,
    pub table_sys_id: String,
    pub file_name: String,
    pub content_type: String,
    pub content: Bytes,
    pub created_on: String,
    pub created_by: String,
}

/// Every attachment of the instance.
#[derive(Debug, Default)]
pub(crate) struct Files {
    files: Vec<File>,
    next: u64,
}

impl Files {
    pub(crate) fn add(&mut self, table: &str, sys_id: &str, name: &str, mime: &str, content: Bytes, by: &str) -> &File {
        self.next += 1;
        let sys_id_new = hex(&Sha256::digest(format!("sys_attachment {}", self.next)))[..32].to_owned();
        self.files.push(File {
            sys_id: sys_id_new,
            table_name: table.to_owned(),
            table_sys_id: sys_id.to_owned(),
            file_name: name.to_owned(),
            content_type: mime.to_owned(),
            content,
            created_on: format_time(Utc::now()),
            created_by: by.to_owned(),
        });
        &self.files[self.files.len() - 1]
    }

    /// The files of one record, oldest first: (file name, content).
    pub(crate) fn of(&self, table: &str, sys_id: &str) -> Vec<(String, Vec<u8>)> {
        self.files
            .iter()
            .filter(|f| f.table_name == table && f.table_sys_id == sys_id)
            .map(|f| (f.file_name.clone(), f.content.to_vec()))
            .collect()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A row as the Attachment API shows it.
fn row(base_url: &str, f: &File) -> Value {
    json!({
        "sys_id": f.sys_id,
        "table_name": f.table_name,
        "table_sys_id": f.table_sys_id,
        "file_name": f.file_name,
        "content_type": f.content_type,
        "size_bytes": f.content.len().to_string(),
        "size_compressed": f.content.len().to_string(),
        "compressed": "false",
        "hash": hex(&Sha256::digest(&f.content)),
        "download_link": format!("{base_url}/api/now/attachment/{}/file", f.sys_id),
        "sys_created_on": f.created_on,
        "sys_created_by": f.created_by,
        "sys_updated_on": f.created_on,
        "sys_updated_by": f.created_by,
        "sys_mod_count": "0",
    })
}

fn query_pairs(request: &Request) -> Vec<(String, String)> {
    let query = request.uri().query().unwrap_or_default();
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn check_acl(state: &SnState, denied: SnError) -> Result<(), SnError> {
    if state.acl_denied_tables.iter().any(|t| t == TABLE) { Err(denied) } else { Ok(()) }
}

/// `GET /api/now/attachment`.
pub(crate) async fn list(State(state): State<Arc<SnState>>, request: Request) -> Result<Response, SnError> {
    check_acl(&state, SnError::InsufficientRights)?;
    let pairs = query_pairs(&request);
    let terms: Vec<(String, String)> = param(&pairs, "sysparm_query")
        .unwrap_or_default()
        .split('^')
        .filter_map(|t| t.split_once('='))
        .filter(|(k, _)| matches!(*k, "table_name" | "table_sys_id" | "file_name" | "sys_id"))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let number = |name: &str| param(&pairs, name).and_then(|v| v.trim().parse::<usize>().ok());
    let (offset, limit) = (number("sysparm_offset").unwrap_or(0), number("sysparm_limit").unwrap_or(10_000));
    let files = state.files();
    let matching: Vec<Value> = files
        .files
        .iter()
        .filter(|f| {
            terms.iter().all(|(k, v)| match k.as_str() {
                "table_name" => &f.table_name == v,
                "table_sys_id" => &f.table_sys_id == v,
                "file_name" => &f.file_name == v,
                _ => &f.sys_id == v,
            })
        })
        .skip(offset)
        .take(limit)
        .map(|f| row(&state.base_url, f))
        .collect();
    Ok(json_response(StatusCode::OK, &json!({ "result": matching })))
}

/// `GET /api/now/attachment/{sys_id}`.
pub(crate) async fn meta(State(state): State<Arc<SnState>>, Path(sys_id): Path<String>) -> Result<Response, SnError> {
    check_acl(&state, SnError::InsufficientRights)?;
    let files = state.files();
    let file = files.files.iter().find(|f| f.sys_id == sys_id).ok_or(SnError::NoRecord)?;
    Ok(json_response(StatusCode::OK, &json!({ "result": row(&state.base_url, file) })))
}

/// `GET /api/now/attachment/{sys_id}/file`.
pub(crate) async fn content(
    State(state): State<Arc<SnState>>,
    Path(sys_id): Path<String>,
) -> Result<Response, SnError> {
    check_acl(&state, SnError::InsufficientRights)?;
    let files = state.files();
    let file = files.files.iter().find(|f| f.sys_id == sys_id).ok_or(SnError::NoRecord)?;
    let metadata = HeaderValue::from_str(&row(&state.base_url, file).to_string()).ok();
    let mut response = file.content.clone().into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(&file.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Some(metadata) = metadata {
        headers.insert("x-attachment-metadata", metadata);
    }
    Ok(response)
}

/// `POST /api/now/attachment/file?table_name=&table_sys_id=&file_name=`.
pub(crate) async fn upload(State(state): State<Arc<SnState>>, request: Request) -> Result<Response, SnError> {
    check_acl(&state, SnError::WriteDenied("Insert"))?;
    let pairs = query_pairs(&request);
    let user = request.extensions().get::<AuthenticatedUser>().map_or_else(String::new, |u| u.0.clone());
    let required = |name: &str| {
        param(&pairs, name)
            .filter(|v| !v.trim().is_empty())
            .map(str::to_owned)
            .ok_or_else(|| SnError::BadBody(format!("Missing parameter: {name}")))
    };
    let (table, sys_id, name) = (required("table_name")?, required("table_sys_id")?, required("file_name")?);
    let mime = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
        .unwrap_or("application/octet-stream")
        .to_owned();
    if state.db().get(&table, &sys_id).is_none() {
        return Err(SnError::BadBody(format!("Invalid table name or sys_id: {table} {sys_id}")));
    }
    let body = axum::body::to_bytes(request.into_body(), MAX_FILE)
        .await
        .map_err(|_| SnError::BadBody(format!("The file is larger than the attachment limit of {MAX_FILE} bytes")))?;
    let mut files = state.files();
    let file = files.add(&table, &sys_id, &name, &mime, body, &user);
    let location = format!("{}/api/now/attachment/{}", state.base_url, file.sys_id);
    let mut response = json_response(StatusCode::CREATED, &json!({ "result": row(&state.base_url, file) }));
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

impl super::ServiceNowSim {
    /// Attach a file to the record `sys_id` of `table` as a person would in the browser (tests, the demo).
    pub fn attach(&self, table: &str, sys_id: &str, file_name: &str, mime: &str, content: &[u8]) -> String {
        let mut files = self.state.files();
        files.add(table, sys_id, file_name, mime, Bytes::copy_from_slice(content), "admin").sys_id.clone()
    }

    /// The files attached to the record `sys_id` of `table`: (file name, content), oldest first.
    pub fn files(&self, table: &str, sys_id: &str) -> Vec<(String, Vec<u8>)> {
        self.state.files().of(table, sys_id)
    }
}
