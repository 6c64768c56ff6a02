//! The Table API over the shared HTTP layer: list pages, single-record reads, creates and patches.
//!
//! This layer knows URLs, `sysparm_*` parameters and paging; it does not know what twotrack does with
//! the records (that is [`crate::connector`]).

use reqwest::header::LINK;
use serde::de::DeserializeOwned;
use twotrack_api::ConnectorError;
use twotrack_api::http::{HttpClient, HttpStats, Idempotency, Method, Response};
use url::Url;

use crate::dto::{ListResponse, OneResponse, Record, RecordBody};
use crate::query;

/// One list request: `GET /api/now/table/{table}` with an encoded query.
#[derive(Debug, Clone)]
pub struct ListRequest<'a> {
    pub table: &'a str,
    pub query: &'a str,
    /// Comma-separated `sysparm_fields`.
    pub fields: &'a str,
    pub limit: u32,
    /// `all` gives `{display_value, value}` pairs (group names, state labels); `false` actual values only.
    pub display_all: bool,
}

/// One page of a list and where the next one is.
#[derive(Debug)]
pub struct ListPage<T> {
    pub rows: Vec<T>,
    /// The URL of the next page: the `Link rel="next"` target, or (when the server sent no `Link`
    /// header) the same request at the next offset while `X-Total-Count` or a full page says there is more.
    pub next: Option<Url>,
}

/// The Table API of one instance.
#[derive(Debug, Clone)]
pub struct TableClient {
    pub(crate) http: HttpClient,
}

impl TableClient {
    pub fn new(http: HttpClient) -> TableClient {
        TableClient { http }
    }

    pub fn tracker(&self) -> &str {
        self.http.tracker()
    }

    pub fn base_url(&self) -> &Url {
        self.http.base_url()
    }

    pub fn stats(&self) -> HttpStats {
        self.http.stats()
    }

    /// The path of a table's collection.
    pub fn table_path(table: &str) -> String {
        format!("/api/now/table/{table}")
    }

    /// The first page of a list request.
    pub async fn list<T: DeserializeOwned + Send + 'static>(
        &self,
        request: &ListRequest<'_>,
    ) -> Result<ListPage<T>, ConnectorError> {
        let url = self.list_url(request, &[]);
        let response = self.http.get_json_url::<ListResponse<T>>(&url).await?;
        Ok(page_of(&url, response))
    }

    /// One page of a keyset-paged list: the first `limit` rows the query matches, and, when `count` is
    /// asked for, how many it matches in all (`X-Total-Count`, when sent). The query itself says where the
    /// page starts, so no `Link` header is asked for. Without `count` the request says
    /// `sysparm_no_count=true`: the instance then reads no further than the page instead of counting
    /// every match (ServiceNow's advice for large tables).
    pub async fn list_rows<T: DeserializeOwned + Send + 'static>(
        &self,
        request: &ListRequest<'_>,
        count: bool,
    ) -> Result<(Vec<T>, Option<u64>), ConnectorError> {
        let mut extra = vec![("sysparm_suppress_pagination_header", "true")];
        if !count {
            extra.push(("sysparm_no_count", "true"));
        }
        let url = self.list_url(request, &extra);
        let response = self.http.get_json_url::<ListResponse<T>>(&url).await?;
        let total = response.total_count();
        Ok((response.body.result, total))
    }

    fn list_url(&self, request: &ListRequest<'_>, extra: &[(&str, &str)]) -> Url {
        let limit = request.limit.to_string();
        let display = if request.display_all { "all" } else { "false" };
        let mut params = vec![
            ("sysparm_query", request.query),
            ("sysparm_fields", request.fields),
            ("sysparm_limit", limit.as_str()),
            ("sysparm_display_value", display),
            ("sysparm_exclude_reference_link", "true"),
        ];
        params.extend_from_slice(extra);
        self.http.url(&Self::table_path(request.table), &params)
    }

    /// A later page, from a URL handed out by [`ListPage::next`]. It must be a list of `table` on this
    /// instance (the HTTP layer refuses other origins).
    pub async fn list_next<T: DeserializeOwned + Send + 'static>(
        &self,
        table: &str,
        url: &Url,
    ) -> Result<ListPage<T>, ConnectorError> {
        let expected = self.http.url(&Self::table_path(table), &[]);
        if url.path() != expected.path() {
            return Err(ConnectorError::Invalid {
                tracker: self.tracker().to_string(),
                message: format!("page token for {} does not continue a pull of table {table}", url.path()),
            });
        }
        let response = self.http.get_json_url::<ListResponse<T>>(url).await?;
        Ok(page_of(url, response))
    }

    /// All rows of a list request, following pages (for small lists: journal entries, twins).
    pub async fn list_all<T: DeserializeOwned + Send + 'static>(
        &self,
        request: &ListRequest<'_>,
    ) -> Result<Vec<T>, ConnectorError> {
        let mut page = self.list::<T>(request).await?;
        let mut rows = std::mem::take(&mut page.rows);
        while let Some(next) = page.next.take() {
            page = self.list_next::<T>(request.table, &next).await?;
            rows.append(&mut page.rows);
        }
        Ok(rows)
    }

    /// `POST /api/now/table/{table}`: never re-sent once it may have arrived (an unknown outcome is
    /// [`ConnectorError::Unknown`]).
    pub async fn create(&self, table: &str, body: &RecordBody, fields: &str) -> Result<Record, ConnectorError> {
        let response: Response<OneResponse<Record>> = self
            .http
            .send_json(
                Method::POST,
                &Self::table_path(table),
                &[("sysparm_fields", fields), ("sysparm_exclude_reference_link", "true")],
                body,
                Idempotency::NonIdempotent,
            )
            .await?;
        Ok(response.body.result)
    }

    /// `PATCH /api/now/table/{table}/{sys_id}`. Setting fields is idempotent and retried; a body that
    /// appends a journal entry (work note, comment) is not, since sending it twice writes two entries.
    pub async fn patch(&self, table: &str, sys_id: &str, body: &RecordBody) -> Result<(), ConnectorError> {
        let idempotency = if body.appends_journal() { Idempotency::NonIdempotent } else { Idempotency::Idempotent };
        let path = format!("{}/{sys_id}", Self::table_path(table));
        let _: Response<serde_json::Value> =
            self.http.send_json(Method::PATCH, &path, &[("sysparm_fields", "sys_id")], body, idempotency).await?;
        Ok(())
    }
}

/// Where the page after `url` is: the `Link rel="next"` target when the server sent a `Link` header;
/// otherwise offset paging, ended by `X-Total-Count` or by a short page.
fn page_of<T>(url: &Url, response: Response<ListResponse<T>>) -> ListPage<T> {
    let total = response.total_count();
    let rows = response.body.result;
    let links: Vec<&str> = response.headers.get_all(LINK).iter().filter_map(|v| v.to_str().ok()).collect();
    let next = if rows.is_empty() {
        None
    } else if links.is_empty() {
        next_offset(url, rows.len(), total)
    } else {
        query::next_link(&links.join(",")).and_then(|next| url.join(&next).ok())
    };
    ListPage { rows, next }
}

/// The same request at the next offset, or `None` when this page was the last.
fn next_offset(url: &Url, got: usize, total: Option<u64>) -> Option<Url> {
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).and_then(|(_, v)| v.parse::<u64>().ok());
    let offset = param("sysparm_offset").unwrap_or(0);
    let limit = param("sysparm_limit");
    let reached = offset + got as u64;
    let more = match (total, limit) {
        (Some(total), _) => reached < total,
        (None, Some(limit)) => got as u64 >= limit,
        (None, None) => false,
    };
    if !more {
        return None;
    }
    let mut next = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "sysparm_offset")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    next.query_pairs_mut().clear().extend_pairs(pairs).append_pair("sysparm_offset", &reached.to_string());
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(query: &str) -> Url {
        Url::parse(&format!("https://sn.example/api/now/table/incident?{query}")).unwrap()
    }

    fn offset_of(url: &Url) -> Option<String> {
        url.query_pairs().find(|(k, _)| k == "sysparm_offset").map(|(_, v)| v.into_owned())
    }

    #[test]
    fn offset_paging_uses_the_total_count_when_present() {
        let first = url("sysparm_query=a%3Db&sysparm_limit=100");
        let next = next_offset(&first, 100, Some(250)).unwrap();
        assert_eq!(offset_of(&next).as_deref(), Some("100"));
        assert!(next.query_pairs().any(|(k, v)| k == "sysparm_query" && v == "a=b"), "{next}");
        let last = next_offset(&next, 100, Some(250)).unwrap();
        assert_eq!(offset_of(&last).as_deref(), Some("200"));
        assert!(last.query().unwrap().matches("sysparm_offset").count() == 1, "{last}");
        assert_eq!(next_offset(&last, 50, Some(250)), None);
    }

    fn response(rows: usize, headers: &[(&'static str, &str)]) -> Response<ListResponse<u8>> {
        let mut map = twotrack_api::http::HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        Response { status: 200, headers: map, body: ListResponse { result: vec![0; rows] } }
    }

    #[test]
    fn the_link_header_decides_when_present() {
        let first = url("sysparm_limit=2");
        let next = "<https://sn.example/api/now/table/incident?sysparm_limit=2&sysparm_offset=2>;rel=\"next\"";
        let page = page_of(&first, response(2, &[("link", next), ("x-total-count", "3")]));
        assert_eq!(offset_of(&page.next.unwrap()).as_deref(), Some("2"));
        let last = "<https://sn.example/api/now/table/incident?sysparm_limit=2&sysparm_offset=0>;rel=\"first\"";
        let page = page_of(&url("sysparm_limit=2&sysparm_offset=2"), response(2, &[("link", last)]));
        assert_eq!(page.next, None, "a Link header without next ends the list, even after a full page");
        let page = page_of(&first, response(2, &[("x-total-count", "3")]));
        assert_eq!(offset_of(&page.next.unwrap()).as_deref(), Some("2"), "no Link header: offset paging");
        assert_eq!(page_of(&first, response(0, &[("link", next)])).next, None, "an empty page ends the list");
    }

    #[test]
    fn offset_paging_without_a_count_ends_on_a_short_page() {
        let first = url("sysparm_limit=100");
        assert!(next_offset(&first, 100, None).is_some());
        assert_eq!(next_offset(&first, 99, None), None);
        assert_eq!(next_offset(&url(""), 100, None), None, "no limit sent: the server returned everything");
    }
}
