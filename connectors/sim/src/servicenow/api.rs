//! The Table API routes: list, read, create, update, delete; plus `/oauth_token.do`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE, LINK, LOCATION};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::errors::{SnError, json_body, json_response};
use super::query::Query;
use super::render::{DisplayMode, Records, RenderOptions, body};
use super::store::{Db, Record, WriteCtx, WriteError, format_time};
use crate::auth::SimAuth;
use crate::server::{AuthenticatedUser, VendorStyle};

/// `sysparm_limit` when none is given, and the most one page returns.
const MAX_PAGE: usize = 10_000;
/// The refresh token `/oauth_token.do` hands out.
const REFRESH_TOKEN: &str = "sim-refresh-token";
/// Access token lifetime reported by `/oauth_token.do` (seconds).
const TOKEN_LIFETIME: u64 = 1799;

/// What the handlers share.
pub(crate) struct SnState {
    pub db: RwLock<Db>,
    pub base_url: String,
    pub auth: SimAuth,
    pub acl_denied_tables: Vec<String>,
    /// The `sys_attachment` rows and their content.
    pub files: Mutex<super::attachments::Files>,
}

impl SnState {
    /// The database, for a write (or a read that writes may not interleave with).
    pub(crate) fn db(&self) -> RwLockWriteGuard<'_, Db> {
        self.db.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The database, for a read that others may share.
    pub(crate) fn db_read(&self) -> RwLockReadGuard<'_, Db> {
        self.db.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn files(&self) -> MutexGuard<'_, super::attachments::Files> {
        self.files.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

type Shared = State<Arc<SnState>>;
type Params = Path<HashMap<String, String>>;

/// The routes (unwrapped: the caller adds the simulator middleware).
pub(crate) fn router(state: Arc<SnState>) -> Router {
    Router::new()
        .route("/api/now/table/{table}", get(list).post(create))
        .route("/api/now/{version}/table/{table}", get(list).post(create))
        .route("/api/now/table/{table}/{sys_id}", get(read).put(update).patch(update).delete(remove))
        .route("/api/now/{version}/table/{table}/{sys_id}", get(read).put(update).patch(update).delete(remove))
        .route("/api/now/attachment", get(super::attachments::list))
        .route("/api/now/attachment/file", post(super::attachments::upload))
        .route("/api/now/attachment/{sys_id}", get(super::attachments::meta))
        .route("/api/now/attachment/{sys_id}/file", get(super::attachments::content))
        .route("/oauth_token.do", post(oauth_token))
        .fallback(|| async { SnError::UnknownUri })
        .method_not_allowed_fallback(|| async { SnError::MethodNotAllowed })
        .with_state(state)
}

/// The query string's decoded pairs, in order.
struct Sysparms(Vec<(String, String)>);

impl Sysparms {
    fn of(request: &Request) -> Sysparms {
        let query = request.uri().query().unwrap_or_default();
        Sysparms(url::form_urlencoded::parse(query.as_bytes()).into_owned().collect())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    fn number(&self, name: &str) -> Option<usize> {
        self.get(name).and_then(|v| v.trim().parse().ok())
    }

    fn render_options(&self, base_url: &str) -> RenderOptions {
        let fields: Option<Vec<String>> = self
            .get("sysparm_fields")
            .map(|f| f.split(',').map(str::trim).filter(|f| !f.is_empty()).map(str::to_owned).collect());
        RenderOptions {
            mode: DisplayMode::parse(self.get("sysparm_display_value")),
            exclude_reference_link: self.flag("sysparm_exclude_reference_link"),
            fields: fields.filter(|f| !f.is_empty()),
            base_url: base_url.to_owned(),
        }
    }

    /// The query string of a page link: every parameter echoed, with this offset and the page size.
    fn with_offset(&self, offset: usize, limit: usize) -> String {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        let mut limit_seen = false;
        for (key, value) in &self.0 {
            match key.as_str() {
                "sysparm_offset" => continue,
                "sysparm_limit" => {
                    limit_seen = true;
                    serializer.append_pair(key, &limit.to_string());
                }
                _ => {
                    serializer.append_pair(key, value);
                }
            }
        }
        if !limit_seen {
            serializer.append_pair("sysparm_limit", &limit.to_string());
        }
        serializer.append_pair("sysparm_offset", &offset.to_string());
        serializer.finish()
    }
}

/// Checks what every table request needs: a known API version, an acceptable `Accept`, a known table and
/// no ACL denial (`denied` is the error for this operation). Returns the table name.
fn check_table(
    state: &SnState,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    denied: SnError,
) -> Result<String, SnError> {
    if params.get("version").is_some_and(|v| v != "v1" && v != "v2") {
        return Err(SnError::UnknownUri);
    }
    if !accepts_json(headers) {
        return Err(SnError::NotAcceptable);
    }
    let table = params.get("table").cloned().unwrap_or_default();
    if state.db_read().def(&table).is_none() {
        return Err(SnError::InvalidTable(table));
    }
    if state.acl_denied_tables.contains(&table) {
        return Err(denied);
    }
    Ok(table)
}

fn accepts_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(ACCEPT).and_then(|v| v.to_str().ok()) else { return true };
    accept
        .split(',')
        .map(|m| m.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .any(|m| m.is_empty() || m == "*/*" || m == "application/*" || m == "application/json")
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn write_error(table: &str, error: WriteError) -> SnError {
    match error {
        WriteError::InvalidTable => SnError::InvalidTable(table.to_owned()),
        WriteError::NotFound => SnError::NoRecord,
    }
}

async fn list(State(state): Shared, Path(params): Params, request: Request) -> Result<Response, SnError> {
    let table = check_table(&state, &params, request.headers(), SnError::InsufficientRights)?;
    let sysparms = Sysparms::of(&request);
    let url = format!("{}{}", state.base_url, request.uri().path());
    // An instance answers many requests at once (a worker thread each): the page is read and rendered off
    // the server's runtime, under a read lock, so that concurrent lists render side by side.
    let shared = Arc::clone(&state);
    match tokio::task::spawn_blocking(move || list_page(&shared, &table, &sysparms, &url)).await {
        Ok(result) => result,
        Err(_) => Ok(super::errors::ServiceNowStyle.server_error(StatusCode::INTERNAL_SERVER_ERROR, None)),
    }
}

/// One list answer: the page the query selects, rendered, with `X-Total-Count` and `Link`.
fn list_page(state: &SnState, table: &str, sysparms: &Sysparms, url: &str) -> Result<Response, SnError> {
    let limit = sysparms.number("sysparm_limit").filter(|l| *l > 0).unwrap_or(MAX_PAGE).min(MAX_PAGE);
    let offset = sysparms.number("sysparm_offset").unwrap_or(0);
    let options = sysparms.render_options(&state.base_url);
    let no_count = sysparms.flag("sysparm_no_count");
    let (body, returned, total) = {
        let db = state.db_read();
        let def = db.def(table).cloned().ok_or_else(|| SnError::InvalidTable(table.to_owned()))?;
        let query = Query::parse(sysparms.get("sysparm_query").unwrap_or_default(), table, &db);
        let (matches, total) = query.select(&db, table, offset, limit, !no_count);
        (body(&db, &def, Records::Page(&matches), &options), matches.len(), total)
    };
    let mut response = json_body(StatusCode::OK, body);
    let headers = response.headers_mut();
    if let Some(total) = total {
        headers.insert(HeaderName::from_static("x-total-count"), HeaderValue::from(total));
    }
    if !sysparms.flag("sysparm_suppress_pagination_header")
        && let Some(link) = link_header(url, sysparms, offset, limit, total, returned)
    {
        headers.insert(LINK, header_value(&link));
    }
    Ok(response)
}

/// `<url>;rel="first",<url>;rel="prev",<url>;rel="next",<url>;rel="last"`, prev and next only when they
/// exist, and no header at all for a single page. Without a count, `next` follows a full page and there is
/// no `last`.
fn link_header(
    url: &str,
    sysparms: &Sysparms,
    offset: usize,
    limit: usize,
    total: Option<usize>,
    returned: usize,
) -> Option<String> {
    let has_next = match total {
        Some(total) => offset + limit < total,
        None => returned == limit,
    };
    if offset == 0 && !has_next {
        return None;
    }
    let link = |offset: usize, rel: &str| format!("<{url}?{}>;rel=\"{rel}\"", sysparms.with_offset(offset, limit));
    let mut links = vec![link(0, "first")];
    if offset > 0 {
        links.push(link(offset.saturating_sub(limit), "prev"));
    }
    if has_next {
        links.push(link(offset + limit, "next"));
    }
    if let Some(total) = total {
        links.push(link(total.saturating_sub(1) / limit * limit, "last"));
    }
    Some(links.join(","))
}

async fn read(State(state): Shared, Path(params): Params, request: Request) -> Result<Response, SnError> {
    let table = check_table(&state, &params, request.headers(), SnError::InsufficientRights)?;
    let options = Sysparms::of(&request).render_options(&state.base_url);
    let sys_id = params.get("sys_id").map_or("", String::as_str);
    let db = state.db_read();
    match (db.def(&table), db.get(&table, sys_id)) {
        (Some(def), Some(record)) => Ok(json_body(StatusCode::OK, body(&db, def, Records::One(record), &options))),
        _ => Err(SnError::NoRecord),
    }
}

/// A write request, read: the JSON object it sends (for an array, its first element: only one record is
/// processed), its headers and sysparms, and the user it acts as.
struct WriteRequest {
    input: Map<String, Value>,
    headers: HeaderMap,
    sysparms: Sysparms,
    user: String,
}

impl WriteRequest {
    async fn read(request: Request) -> Result<WriteRequest, SnError> {
        let sysparms = Sysparms::of(&request);
        let user = request.extensions().get::<AuthenticatedUser>().map_or_else(String::new, |u| u.0.clone());
        let (parts, body) = request.into_parts();
        let json_body =
            parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_none_or(|t| {
                t.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json")
            });
        if !json_body {
            return Err(SnError::UnsupportedMediaType);
        }
        let bytes: Bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .map_err(|_| SnError::BadBody("Unreadable request body".to_owned()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(SnError::BadBody("No request body".to_owned()));
        }
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| SnError::BadBody(format!("Invalid JSON: {e}")))?;
        let input = match value {
            Value::Object(object) => object,
            Value::Array(mut items) if !items.is_empty() => match items.swap_remove(0) {
                Value::Object(object) => object,
                _ => return Err(SnError::BadBody("Expected a JSON object".to_owned())),
            },
            _ => return Err(SnError::BadBody("Expected a JSON object".to_owned())),
        };
        Ok(WriteRequest { input, headers: parts.headers, sysparms, user })
    }

    fn ctx(&self) -> WriteCtx {
        WriteCtx {
            user: self.user.clone(),
            now: format_time(chrono::Utc::now()),
            display_input: self.sysparms.flag("sysparm_input_display_value"),
        }
    }

    /// The response of the write: the record (or nothing with `X-no-response-body: true`).
    fn respond(&self, state: &SnState, status: StatusCode, table: &str, record: &Record) -> Result<Response, SnError> {
        let suppress = self
            .headers
            .get("x-no-response-body")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let mut response = if suppress {
            status.into_response()
        } else {
            let options = self.sysparms.render_options(&state.base_url);
            let db = state.db_read();
            let def = db.def(table).ok_or_else(|| SnError::InvalidTable(table.to_owned()))?;
            json_body(status, body(&db, def, Records::One(record), &options))
        };
        if status == StatusCode::CREATED {
            let sys_id = record.get("sys_id").map_or("", String::as_str);
            let location = format!("{}/api/now/table/{table}/{sys_id}", state.base_url);
            response.headers_mut().insert(LOCATION, header_value(&location));
        }
        Ok(response)
    }
}

async fn create(State(state): Shared, Path(params): Params, request: Request) -> Result<Response, SnError> {
    let table = check_table(&state, &params, request.headers(), SnError::WriteDenied("Insert"))?;
    let write = WriteRequest::read(request).await?;
    let record = state.db().insert(&table, &write.input, &write.ctx()).map_err(|e| write_error(&table, e))?;
    write.respond(&state, StatusCode::CREATED, &table, &record)
}

async fn update(State(state): Shared, Path(params): Params, request: Request) -> Result<Response, SnError> {
    let table = check_table(&state, &params, request.headers(), SnError::WriteDenied("Update"))?;
    let sys_id = params.get("sys_id").cloned().unwrap_or_default();
    if state.db_read().get(&table, &sys_id).is_none() {
        return Err(SnError::NoRecord);
    }
    let write = WriteRequest::read(request).await?;
    let record = state.db().update(&table, &sys_id, &write.input, &write.ctx()).map_err(|e| write_error(&table, e))?;
    write.respond(&state, StatusCode::OK, &table, &record)
}

async fn remove(State(state): Shared, Path(params): Params, request: Request) -> Result<Response, SnError> {
    let table = check_table(&state, &params, request.headers(), SnError::WriteDenied("Delete"))?;
    let sys_id = params.get("sys_id").map_or("", String::as_str);
    if state.db().delete(&table, sys_id) { Ok(StatusCode::NO_CONTENT.into_response()) } else { Err(SnError::NoRecord) }
}

/// `POST /oauth_token.do` with a form body: the `password` grant (the basic credentials) and the
/// `refresh_token` grant both hand out the configured bearer token.
async fn oauth_token(State(state): Shared, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map_or("", String::as_str);
    let granted = match field("grant_type") {
        "password" => state.auth.check_password(field("username"), field("password")),
        "refresh_token" => field("refresh_token") == REFRESH_TOKEN,
        _ => false,
    };
    match (&state.auth.bearer, granted) {
        (Some(token), true) => json_response(
            StatusCode::OK,
            &json!({
                "access_token": token,
                "refresh_token": REFRESH_TOKEN,
                "scope": "useraccount",
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME,
            }),
        ),
        _ => json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"error_description": "access_denied", "error": "server_error"}),
        ),
    }
}
