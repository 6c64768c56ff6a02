//! Issue search: the enhanced `search/jql` (Cloud), `search/approximate-count`, and the legacy offset
//! `search` (Data Center; removed in Cloud).
//!
//! The enhanced search evaluates the query once, on the first page, and keeps the ordered result as a
//! snapshot; `nextPageToken`s point into it, so paging is stable while issues change.
//!
//! Every search reads the search index ([`crate::jira::index`]): with a search lag, recent writes are not
//! seen yet, except for the issues listed in `reconcileIssues` (Cloud `search/jql`, at most 50 ids).

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Ctx, Params, json_body};
use crate::jira::catalog::FieldDef;
use crate::jira::error::ApiError;
use crate::jira::jql;
use crate::jira::render::{IssueShape, PropertySelection, select_fields, split_list};
use crate::jira::store::{self, Store};
use crate::jira::write::{self, IssueWriter};

/// Default page size of every search.
const DEFAULT_MAX_RESULTS: i64 = 50;
/// Page cap of `search/jql` when fields are requested.
const MAX_WITH_FIELDS: i64 = 100;
/// Page cap of `search/jql` for ids/keys only.
const MAX_IDS_ONLY: i64 = 5000;
/// Page cap of the Data Center search (`jira.search.views.default.max`).
const MAX_LEGACY: i64 = 1000;
/// Snapshots kept; older ones expire (their tokens answer 400).
const MAX_SNAPSHOTS: usize = 256;
/// How long a `nextPageToken` lives: "The token will expire in 7 days" (the spec's `nextPageToken`).
const TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// The result snapshots behind `nextPageToken`s.
#[derive(Debug, Default)]
pub struct Snapshots {
    next_id: u64,
    list: VecDeque<Snapshot>,
}

#[derive(Debug)]
struct Snapshot {
    id: u64,
    /// Store indices of the matching issues, in query order.
    issues: Arc<[usize]>,
    /// Token -> offset of the page it starts.
    tokens: HashMap<String, usize>,
    /// When the query ran; its tokens expire [`TOKEN_LIFETIME`] later.
    at: std::time::Instant,
}

impl Snapshots {
    fn create(&mut self, issues: Vec<usize>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        if self.list.len() >= MAX_SNAPSHOTS {
            self.list.pop_front();
        }
        self.list.retain(|s| s.at.elapsed() < TOKEN_LIFETIME);
        self.list.push_back(Snapshot {
            id,
            issues: issues.into(),
            tokens: HashMap::new(),
            at: std::time::Instant::now(),
        });
        id
    }

    /// Expire every token handed out so far, as if [`TOKEN_LIFETIME`] had passed.
    pub fn expire_all(&mut self) {
        self.list.clear();
    }

    fn issues(&self, id: u64) -> Option<Arc<[usize]>> {
        self.list.iter().find(|s| s.id == id).map(|s| Arc::clone(&s.issues))
    }

    /// A new opaque token for the page of snapshot `id` starting at `offset`.
    fn token(&mut self, id: u64, offset: usize) -> Option<String> {
        let snapshot = self.list.iter_mut().find(|s| s.id == id)?;
        let nonce: u64 = rand::random();
        let token = URL_SAFE_NO_PAD.encode(format!("{id}:{offset}:{nonce:016x}"));
        snapshot.tokens.insert(token.clone(), offset);
        Some(token)
    }

    /// The snapshot and offset a token points to.
    fn resolve(&self, token: &str) -> Option<(u64, usize)> {
        let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
        let id: u64 = decoded.split(':').next()?.parse().ok()?;
        let snapshot = self.list.iter().find(|s| s.id == id && s.at.elapsed() < TOKEN_LIFETIME)?;
        snapshot.tokens.get(token).map(|offset| (id, *offset))
    }
}

/// The parameters common to GET and POST `search/jql`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JqlSearch {
    jql: Option<String>,
    next_page_token: Option<String>,
    max_results: Option<i64>,
    fields: Option<Vec<String>>,
    expand: Option<String>,
    properties: Option<Vec<String>>,
    #[serde(rename = "fieldsByKeys")]
    _fields_by_keys: Option<bool>,
    #[serde(rename = "failFast")]
    _fail_fast: Option<bool>,
    reconcile_issues: Option<Vec<i64>>,
}

/// The most ids `reconcileIssues` accepts.
const MAX_RECONCILE: usize = 50;

impl JqlSearch {
    /// The ids of `reconcileIssues`, at most [`MAX_RECONCILE`].
    fn reconcile(&self) -> Result<HashSet<u64>, ApiError> {
        let ids = self.reconcile_issues.as_deref().unwrap_or_default();
        if ids.len() > MAX_RECONCILE {
            return Err(ApiError::bad_request(format!(
                "The 'reconcileIssues' parameter accepts at most {MAX_RECONCILE} issue ids."
            )));
        }
        Ok(ids.iter().filter_map(|id| u64::try_from(*id).ok()).collect())
    }
}

/// `GET search/jql`.
pub async fn jql_get(State(ctx): State<Ctx>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref());
    let request = JqlSearch {
        jql: params.get("jql").map(str::to_owned),
        next_page_token: params.get("nextPageToken").filter(|t| !t.is_empty()).map(str::to_owned),
        max_results: Some(params.int("maxResults", DEFAULT_MAX_RESULTS)?),
        fields: Some(params.all("fields")),
        expand: params.get("expand").map(str::to_owned),
        properties: Some(params.all("properties")),
        reconcile_issues: Some(reconcile_param(&params)?),
        ..JqlSearch::default()
    };
    search_off_runtime(ctx, request).await
}

/// `POST search/jql`.
pub async fn jql_post(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    search_off_runtime(ctx, json_body(&headers, &body)?).await
}

/// A site answers many searches at once (a worker thread each): a page is selected and rendered off the
/// server's runtime, which keeps answering (and timing the injected latency of) the other requests.
async fn search_off_runtime(ctx: Ctx, request: JqlSearch) -> Result<Response, ApiError> {
    match tokio::task::spawn_blocking(move || search_jql(&ctx, request)).await {
        Ok(answer) => answer,
        Err(_) => Err(ApiError::messages(StatusCode::INTERNAL_SERVER_ERROR, &["Internal server error"])),
    }
}

/// `reconcileIssues` of a GET: repeated and/or comma-separated ids.
fn reconcile_param(params: &Params) -> Result<Vec<i64>, ApiError> {
    split_list(&params.all("reconcileIssues"))
        .map(|id| {
            id.parse().map_err(|_| {
                ApiError::bad_request(format!("The issue id '{id}' in 'reconcileIssues' is not a number."))
            })
        })
        .collect()
}

/// Compiles `jql` and returns the visible matching issues in query order, as the search index sees them
/// (see [`crate::jira::index`]; the issues whose ids are in `reconcile` as they are now).
fn run_query(
    ctx: &Ctx,
    store: &mut Store,
    jql: &str,
    require_bounded: bool,
    reconcile: &HashSet<u64>,
) -> Result<Vec<usize>, ApiError> {
    let now = store::now();
    store.index.settle(now);
    let store = &*store;
    let query = jql::parse(jql).map_err(|e| ApiError::bad_request(e.message))?;
    let compiled = jql::compile(&query, store, ctx.shared.tz, now).map_err(|e| ApiError::bad_request(e.message))?;
    if require_bounded && !compiled.is_bounded() {
        return Err(ApiError::bad_request(
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
        ));
    }
    let seen = |i: usize| store.index.view(i, &store.issues[i], reconcile);
    let mut hits: Vec<(usize, &store::Issue)> = (0..store.issues.len())
        .filter(|&i| store.visible(i))
        .filter_map(|i| seen(i).map(|issue| (i, issue)))
        .filter(|(_, issue)| compiled.matches(store, issue))
        .collect();
    hits.sort_by(|(_, a), (_, b)| compiled.compare(store, a, b));
    Ok(hits.into_iter().map(|(i, _)| i).collect())
}

/// Write the issues at `indices` (a result) as search sees them now; one it does not see yet (found
/// through `reconcileIssues`) as it is.
fn write_issues(
    out: &mut Vec<u8>,
    ctx: &Ctx,
    store: &Store,
    indices: &[usize],
    shape: &IssueShape,
    reconcile: &HashSet<u64>,
) {
    let seen = indices.iter().map(|&i| {
        let live = &store.issues[i];
        store.index.view(i, live, reconcile).unwrap_or(live)
    });
    IssueWriter::new(ctx.view(), store, shape).write_all(out, seen);
}

/// A page written as JSON text: `application/json`, as `axum::Json` answers.
fn json_page(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

fn wants_names(expand: Option<&str>) -> bool {
    expand.is_some_and(|e| e.split(',').any(|x| x.trim() == "names"))
}

fn names(fields: &[&'static FieldDef]) -> Value {
    Value::Object(fields.iter().map(|f| (f.id.to_owned(), json!(f.name))).collect::<Map<_, _>>())
}

fn search_jql(ctx: &Ctx, request: JqlSearch) -> Result<Response, ApiError> {
    let reconcile = request.reconcile()?;
    let fields = select_fields(&request.fields.unwrap_or_default(), "id");
    let cap = if fields.is_empty() { MAX_IDS_ONLY } else { MAX_WITH_FIELDS };
    let max = request.max_results.unwrap_or(DEFAULT_MAX_RESULTS).clamp(1, cap);
    let max = usize::try_from(max).unwrap_or(1);
    let mut store = ctx.shared.store();
    let mut snapshots = ctx.shared.snapshots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (snapshot, offset) = match request.next_page_token.as_deref() {
        Some(token) => snapshots
            .resolve(token)
            .ok_or_else(|| ApiError::bad_request("The provided next page token is invalid or expired."))?,
        None => {
            let hits = run_query(ctx, &mut store, request.jql.as_deref().unwrap_or_default(), true, &reconcile)?;
            (snapshots.create(hits), 0)
        }
    };
    let issues = snapshots.issues(snapshot).unwrap_or_else(|| Arc::from(Vec::new()));
    let end = (offset + max).min(issues.len());
    let page = issues.get(offset..end).unwrap_or_default();
    let properties = PropertySelection::parse(&request.properties.unwrap_or_default());
    let shape = IssueShape::for_search(fields.clone(), false, properties);
    let is_last = end >= issues.len();
    // Keys in the order serde_json's map writes them: isLast, issues, names, nextPageToken.
    let mut body = Vec::with_capacity(1024 * page.len());
    body.extend_from_slice(if is_last { b"{\"isLast\":true,\"issues\":" } else { b"{\"isLast\":false,\"issues\":" });
    write_issues(&mut body, ctx, &store, page, &shape, &reconcile);
    if wants_names(request.expand.as_deref()) {
        body.extend_from_slice(b",\"names\":");
        write::json(&mut body, &names(&fields));
    }
    if !is_last && let Some(token) = snapshots.token(snapshot, end) {
        body.extend_from_slice(b",\"nextPageToken\":");
        write::string(&mut body, &token);
    }
    body.push(b'}');
    // The page is the store's as of now: other requests may go on while it is written out.
    drop((snapshots, store));
    Ok(json_page(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountRequest {
    jql: Option<String>,
}

/// `POST search/approximate-count`.
pub async fn approximate_count(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let request: CountRequest = json_body(&headers, &body)?;
    let mut store = ctx.shared.store();
    let hits = run_query(&ctx, &mut store, request.jql.as_deref().unwrap_or_default(), true, &HashSet::new())?;
    Ok(axum::Json(json!({"count": hits.len()})).into_response())
}

/// Legacy `GET|POST search` in Cloud: removed (CHANGE-2046).
pub async fn removed() -> ApiError {
    ApiError::messages(
        StatusCode::GONE,
        &["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."],
    )
}

/// The Data Center search request (`SearchRequestBean`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacySearch {
    jql: Option<String>,
    start_at: Option<i64>,
    max_results: Option<i64>,
    fields: Option<Vec<String>>,
    expand: Option<Vec<String>>,
    properties: Option<Vec<String>>,
}

/// Data Center `GET search`.
pub async fn legacy_get(State(ctx): State<Ctx>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref());
    let request = LegacySearch {
        jql: params.get("jql").map(str::to_owned),
        start_at: Some(params.int("startAt", 0)?),
        max_results: Some(params.int("maxResults", DEFAULT_MAX_RESULTS)?),
        fields: Some(params.all("fields")),
        expand: Some(params.all("expand")),
        properties: Some(params.all("properties")),
    };
    legacy_search(&ctx, request)
}

/// Data Center `POST search`.
pub async fn legacy_post(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    legacy_search(&ctx, json_body(&headers, &body)?)
}

fn legacy_search(ctx: &Ctx, request: LegacySearch) -> Result<Response, ApiError> {
    let start = request.start_at.unwrap_or(0);
    if start < 0 {
        return Err(ApiError::bad_request("The 'startAt' parameter must not be negative."));
    }
    let start = usize::try_from(start).unwrap_or(0);
    let max = usize::try_from(request.max_results.unwrap_or(DEFAULT_MAX_RESULTS).clamp(0, MAX_LEGACY)).unwrap_or(0);
    let fields = select_fields(&request.fields.unwrap_or_default(), "*navigable");
    let expand: Vec<String> = request.expand.unwrap_or_default();
    let mut store = ctx.shared.store();
    let hits = run_query(ctx, &mut store, request.jql.as_deref().unwrap_or_default(), false, &HashSet::new())?;
    let properties = PropertySelection::parse(&request.properties.unwrap_or_default());
    let shape = IssueShape::for_search(fields.clone(), false, properties);
    let page = hits.get(start.min(hits.len())..(start.saturating_add(max)).min(hits.len())).unwrap_or_default();
    // Keys in the order serde_json's map writes them.
    let mut body = Vec::with_capacity(1024 * page.len());
    body.extend_from_slice(b"{\"expand\":\"schema,names\",\"issues\":");
    write_issues(&mut body, ctx, &store, page, &shape, &HashSet::new());
    let _ = write!(body, ",\"maxResults\":{max}");
    if split_list(&expand).any(|e| e == "names") {
        body.extend_from_slice(b",\"names\":");
        write::json(&mut body, &names(&fields));
    }
    let _ = write!(body, ",\"startAt\":{start},\"total\":{}}}", hits.len());
    drop(store);
    Ok(json_page(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_resolve_only_while_their_snapshot_lives() {
        let mut snapshots = Snapshots::default();
        let id = snapshots.create(vec![3, 1, 2]);
        let token = snapshots.token(id, 2).unwrap();
        assert_eq!(snapshots.resolve(&token), Some((id, 2)));
        assert_eq!(snapshots.resolve("bm90LWEtdG9rZW4"), None);
        for _ in 0..MAX_SNAPSHOTS {
            snapshots.create(vec![]);
        }
        assert_eq!(snapshots.resolve(&token), None, "evicted snapshots expire their tokens");
        let id = snapshots.create(vec![1]);
        let token = snapshots.token(id, 0).unwrap();
        snapshots.expire_all();
        assert_eq!(snapshots.resolve(&token), None, "expired");
    }
}
