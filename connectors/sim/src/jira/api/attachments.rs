//! Attachments of issues, as documented (Jira Cloud platform REST API v3, "Issue attachments"):
//! `POST issue/{key}/attachments` takes `multipart/form-data` (RFC 7578) whose parts named `file` are the
//! files, and only with the header `X-Atlassian-Token: no-check` (else 403 "XSRF check failed"); it answers
//! 200 with the list of attachments it made. `GET attachment/content/{id}` serves the content (Cloud: a 303
//! to the download URL unless `redirect=false`; Data Center: the content itself), `GET attachment/{id}` the
//! metadata, and every issue shows its files in `fields.attachment`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Ctx, Params, find_issue, find_writable};
use crate::jira::Flavour;
use crate::jira::error::ApiError;
use crate::jira::render::View;
use crate::jira::store::{self, Issue, Store, User};

/// The largest file a fresh site takes (Cloud's default attachment limit is far larger; this keeps the
/// simulator's memory small and lets a test see the documented 413).
pub const MAX_FILE: usize = 10 * 1024 * 1024;

/// One stored file.
#[derive(Debug, Clone)]
pub struct File {
    pub id: u64,
    /// The id of the issue it is attached to.
    pub issue: u64,
    pub filename: String,
    pub mime_type: String,
    pub content: Bytes,
    pub author: User,
    pub created: DateTime<Utc>,
}

/// The files of the site.
#[derive(Debug, Clone, Default)]
pub struct Attachments {
    pub files: Vec<File>,
    next_id: u64,
}

impl Attachments {
    /// Store a file on the issue `issue` (its id); returns the new file.
    pub fn add(&mut self, issue: u64, filename: &str, mime_type: &str, content: Bytes, author: User) -> &File {
        self.next_id += 1;
        let id = 20_000 + self.next_id;
        let file = File {
            id,
            issue,
            filename: filename.to_owned(),
            mime_type: mime_type.to_owned(),
            content,
            author,
            created: store::now(),
        };
        self.files.push(file);
        &self.files[self.files.len() - 1]
    }

    fn of(&self, issue: u64) -> impl Iterator<Item = &File> {
        self.files.iter().filter(move |f| f.issue == issue)
    }

    fn find(&self, id: &str) -> Option<&File> {
        self.files.iter().find(|f| f.id.to_string() == id)
    }
}

/// How one file is shown (`fields.attachment`, `GET attachment/{id}`, the answer to an upload).
pub fn render(view: &View<'_>, file: &File) -> Value {
    json!({
        "self": view.url(&format!("attachment/{}", file.id)),
        "id": file.id.to_string(),
        "filename": file.filename,
        "author": view.user(&file.author),
        "created": view.timestamp(file.created),
        "size": file.content.len(),
        "mimeType": file.mime_type,
        "content": view.url(&format!("attachment/content/{}", file.id)),
    })
}

/// The `attachment` field of an issue.
pub fn render_field(view: &View<'_>, store: &Store, issue: &Issue) -> Value {
    Value::Array(store.attachments.of(issue.id).map(|f| render(view, f)).collect())
}

/// `POST issue/{key}/attachments`.
pub async fn upload(
    State(ctx): State<Ctx>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let token = headers.get("x-atlassian-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !matches!(token.trim().to_ascii_lowercase().as_str(), "no-check" | "nocheck") {
        return Ok((StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/plain")], "XSRF check failed").into_response());
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let parts = parse_multipart(content_type, &body).ok_or_else(|| ApiError {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        body: json!({"message": "Unsupported Media Type", "status-code": 415}),
    })?;
    let files: Vec<Part> = parts.into_iter().filter(|p| p.name == "file" && p.filename.is_some()).collect();
    if files.is_empty() {
        return Err(ApiError::bad_request("No file was attached: send the files in parts named 'file'."));
    }
    if files.iter().any(|f| f.content.len() > MAX_FILE) {
        return Err(ApiError::messages(
            StatusCode::PAYLOAD_TOO_LARGE,
            &[&format!("The file is larger than the attachment limit of {MAX_FILE} bytes.")],
        ));
    }
    let mut store = ctx.shared.store();
    let idx = find_writable(&store, &key)?;
    let issue_id = store.issues[idx].id;
    let view = ctx.view();
    let mut made = Vec::new();
    for part in files {
        let filename = part.filename.unwrap_or_default();
        let mime = part.content_type.unwrap_or_else(|| "application/octet-stream".to_owned());
        let file = store.attachments.add(issue_id, &filename, &mime, part.content, ctx.shared.me.clone());
        made.push(render(&view, file));
    }
    store.touch(idx, store::now());
    Ok(axum::Json(Value::Array(made)).into_response())
}

/// `GET attachment/content/{id}` (`redirect`: Cloud answers 303 unless it is `false`).
pub async fn content(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let store = ctx.shared.store();
    let file = visible(&store, &id)?;
    let params = Params::parse(raw.as_deref());
    if ctx.shared.flavour == Flavour::Cloud && params.get("redirect") != Some("false") {
        let location = ctx.view().url(&format!("attachment/content/{}?redirect=false", file.id));
        return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response());
    }
    let mime = file.mime_type.clone();
    Ok(([(header::CONTENT_TYPE, mime)], file.content.clone()).into_response())
}

/// `GET attachment/{id}`: the metadata.
pub async fn meta(State(ctx): State<Ctx>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let store = ctx.shared.store();
    let file = visible(&store, &id)?;
    Ok(axum::Json(render(&ctx.view(), file)).into_response())
}

/// A file whose issue the user may see, or the documented 404.
fn visible<'s>(store: &'s Store, id: &str) -> Result<&'s File, ApiError> {
    let not_found =
        || ApiError::messages(StatusCode::NOT_FOUND, &[&format!("The attachment with id '{id}' does not exist")]);
    let file = store.attachments.find(id).ok_or_else(not_found)?;
    find_issue(store, &file.issue.to_string()).map_err(|_| not_found())?;
    Ok(file)
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub content: Bytes,
}

/// The parts of a `multipart/form-data` body (RFC 7578), or `None` when the media type is not multipart
/// or the body is not well formed.
pub fn parse_multipart(content_type: &str, body: &Bytes) -> Option<Vec<Part>> {
    let (media, params) = content_type.split_once(';')?;
    if !media.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case("boundary").then(|| v.trim().trim_matches('"').to_owned())
    })?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut at = find(body, &delimiter, 0)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body[at..].starts_with(b"--") {
            return Some(parts);
        }
        at += crlf(&body[at..])?;
        let head_end = find(body, b"\r\n\r\n", at)?;
        let head = std::str::from_utf8(&body[at..head_end]).ok()?;
        let start = head_end + 4;
        let end = find(body, &[b"\r\n".as_slice(), &delimiter].concat(), start)?;
        parts.push(part(head, body.slice(start..end))?);
        at = end + 2 + delimiter.len();
    }
}

fn part(head: &str, content: Bytes) -> Option<Part> {
    let (mut name, mut filename, mut content_type) = (None, None, None);
    for line in head.split("\r\n") {
        let (key, value) = line.split_once(':')?;
        if key.trim().eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_owned());
        } else if key.trim().eq_ignore_ascii_case("content-disposition") {
            for param in value.split(';').skip(1) {
                let Some((k, v)) = param.trim().split_once('=') else { continue };
                let v = v.trim().trim_matches('"').replace("%22", "\"").replace("%0D", "\r").replace("%0A", "\n");
                match k.trim() {
                    "name" => name = Some(v),
                    "filename" => filename = Some(v),
                    _ => {}
                }
            }
        }
    }
    Some(Part { name: name?, filename, content_type, content })
}

fn crlf(rest: &[u8]) -> Option<usize> {
    rest.starts_with(b"\r\n").then_some(2)
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

impl crate::jira::JiraSim {
    /// Attach a file to an issue as a person would in the browser (tests and the demo).
    pub fn attach(&self, key: &str, filename: &str, mime_type: &str, content: &[u8]) -> Option<String> {
        let mut store = self.shared.store();
        let idx = store.find_any(key)?;
        let issue = store.issues[idx].id;
        let reporter = store.issues[idx].reporter.clone();
        let id = store.attachments.add(issue, filename, mime_type, Bytes::copy_from_slice(content), reporter).id;
        store.touch(idx, store::now());
        Some(id.to_string())
    }

    /// The files attached to an issue: (file name, content), oldest first.
    pub fn files(&self, key: &str) -> Vec<(String, Vec<u8>)> {
        let store = self.shared.store();
        let Some(idx) = store.find_any(key) else { return Vec::new() };
        store.attachments.of(store.issues[idx].id).map(|f| (f.filename.clone(), f.content.to_vec())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_body_gives_its_parts() {
        let body = Bytes::from_static(
            b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a %22b%22.txt\"\r\n\
              Content-Type: text/plain\r\n\r\nline 1\r\nline 2\r\n--xyz\r\n\
              Content-Disposition: form-data; name=\"comment\"\r\n\r\nhi\r\n--xyz--\r\n",
        );
        let parts = parse_multipart("multipart/form-data; boundary=xyz", &body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].filename.as_deref(), Some("a \"b\".txt"));
        assert_eq!(parts[0].content_type.as_deref(), Some("text/plain"));
        assert_eq!(&parts[0].content[..], b"line 1\r\nline 2");
        assert_eq!((parts[1].name.as_str(), &parts[1].content[..]), ("comment", b"hi".as_slice()));
        assert!(parse_multipart("application/json", &body).is_none());
        assert!(parse_multipart("multipart/form-data; boundary=other", &body).is_none());
    }
}
