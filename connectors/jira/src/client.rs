//! The connector operations: each is a few REST calls through the shared HTTP layer.

use chrono_tz::Tz;
use serde::de::IgnoredAny;
use twotrack_api::connector::{Created, FieldUpdate, Health, NewItem, OriginRef};
use twotrack_api::http::{Idempotency, Method};
use twotrack_api::{Class, ConnectorError, Cursor, Item, Kind, Page, Partitioning};

use crate::jql::{self, Bound, PageToken};
use crate::mapping::{self, MOVED_LABEL};
use crate::{Flavour, JiraConnector, SCOPE, adf, dto, service};

/// The fields every search and fetch asks for (plus the story points, impact and urgency fields the site
/// has).
const FIELDS: [&str; 12] = [
    "summary",
    "description",
    "status",
    "issuetype",
    "project",
    "labels",
    "priority",
    "reporter",
    "resolution",
    "components",
    "created",
    "updated",
];

/// The most transitions `close` makes to reach a done status.
const MAX_CLOSE_STEPS: usize = 4;

/// Issues per page asked for when only their timestamps are read (Jira caps it: 100 in Cloud, 1,000 in
/// Data Center by default).
const PROBE_PAGE: u32 = 1000;

/// Comments per page when reading notes.
const COMMENT_PAGE: u32 = 100;

/// The answer of `search/approximate-count`.
#[derive(serde::Deserialize)]
struct ApproximateCount {
    count: u64,
}

/// One search answer, either flavour.
pub(crate) struct Fetched {
    pub(crate) issues: Vec<dto::Issue>,
    /// Cloud: the next page's token.
    token: Option<String>,
    /// Data Center: where the page starts and how many issues match.
    start_at: u64,
    total: Option<u64>,
}

/// One page of raw search results.
struct SearchPage {
    issues: Vec<dto::Issue>,
    next: Option<PageToken>,
}

impl JiraConnector {
    fn tracker(&self) -> String {
        self.http.tracker().to_string()
    }

    pub(crate) fn invalid(&self, message: impl Into<String>) -> ConnectorError {
        ConnectorError::Invalid { tracker: self.tracker(), message: message.into() }
    }

    pub(crate) fn api(&self, path: &str) -> String {
        format!("{}{path}", self.flavour.api())
    }

    /// A rich-text value for this flavour: ADF (Cloud, v3) or a plain string (v2).
    pub(crate) fn rich_text(&self, text: &str) -> serde_json::Value {
        match self.flavour {
            Flavour::Cloud => adf::from_text(text),
            Flavour::DataCenter => serde_json::Value::String(text.to_string()),
        }
    }

    /// An issue key or id, checked so that it cannot change the request path.
    pub(crate) fn issue_path(&self, key: &str, rest: &str) -> Result<String, ConnectorError> {
        let valid = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
        if !valid {
            return Err(self.invalid(format!("{key:?} is not a Jira issue key")));
        }
        Ok(self.api(&format!("/issue/{key}{rest}")))
    }

    pub(crate) async fn check_health(&self) -> Result<Health, ConnectorError> {
        let info: dto::ServerInfo = match self.http.get_json(&self.api("/serverInfo"), &[]).await {
            Ok(response) => response.body,
            Err(ConnectorError::NotFound { .. }) => {
                return Err(self.invalid(format!(
                    "no Jira REST API at {}{}: check the base URL, and the flavour setting (Cloud uses /rest/api/3, Data Center /rest/api/2)",
                    self.browse_base,
                    self.flavour.api()
                )));
            }
            Err(error) => return Err(error),
        };
        let deployment = info.deployment_type.as_deref().unwrap_or(match self.flavour {
            Flavour::Cloud => "Cloud",
            Flavour::DataCenter => "DataCenter",
        });
        let is_cloud = deployment.eq_ignore_ascii_case("cloud");
        if is_cloud != (self.flavour == Flavour::Cloud) {
            return Err(self.invalid(format!(
                "configured as Jira {} but the server reports deployment type {deployment:?}; fix the flavour setting",
                if self.flavour == Flavour::Cloud { "Cloud" } else { "Data Center" }
            )));
        }
        let me = self.myself().await?;
        let account = me
            .display_name
            .clone()
            .or_else(|| me.email_address.clone())
            .or_else(|| me.name.clone())
            .or_else(|| me.account_id.clone())
            .unwrap_or_else(|| "(unnamed account)".to_string());
        let server = format!("Jira {} {}", if is_cloud { "Cloud" } else { "Data Center" }, info.version);
        Ok(Health { server, account })
    }

    async fn myself(&self) -> Result<dto::User, ConnectorError> {
        let me: dto::User = self.http.get_json(&self.api("/myself"), &[]).await?.body;
        let zone = parse_zone(me.time_zone.as_deref());
        if zone.is_none() {
            tracing::warn!(tracker = %self.tracker(), zone = ?me.time_zone, "unknown profile time zone; JQL bounds use epoch milliseconds");
        }
        // Only the first answer is kept; a concurrent caller may have set it already.
        let _ = self.time_zone.set(zone);
        Ok(me)
    }

    /// The API user's profile time zone, read once.
    async fn zone(&self) -> Result<Option<Tz>, ConnectorError> {
        if let Some(zone) = self.time_zone.get() {
            return Ok(*zone);
        }
        self.myself().await?;
        Ok(self.time_zone.get().copied().flatten())
    }

    async fn fields(&self) -> Result<Vec<String>, ConnectorError> {
        let mut fields: Vec<String> = FIELDS.iter().map(|f| f.to_string()).collect();
        fields.extend(self.site_fields().await?.ids().map(str::to_string));
        Ok(fields)
    }

    async fn to_items(&self, issues: &[dto::Issue]) -> Result<Vec<Item>, ConnectorError> {
        let site = self.site_fields().await?;
        let tracker = self.tracker();
        let ctx = mapping::MapContext { tracker: &tracker, browse_base: &self.browse_base, site, write: &self.write };
        issues
            .iter()
            .map(|issue| mapping::issue_to_item(issue, &ctx).map_err(|e| self.invalid(e.to_string())))
            .collect()
    }

    pub(crate) async fn pull(&self, scope: &str, cursor: &Cursor, token: Option<&str>) -> Result<Page, ConnectorError> {
        if scope != SCOPE {
            return Err(self.invalid(format!("unknown scope {scope:?}; Jira has one scope, {SCOPE:?}")));
        }
        let token = match token {
            Some(text) => match PageToken::decode(text).ok_or_else(|| self.invalid("unreadable page token"))? {
                PageToken::Window { from, to, skip, token } => return self.pull_window(from, to, skip, token).await,
                token => token,
            },
            None => {
                let bound = Bound::from_since(cursor.since, self.zone().await?);
                if cursor.since.is_some() && self.unchanged(cursor, &bound).await? {
                    return Ok(Page::default());
                }
                match self.flavour {
                    Flavour::Cloud => PageToken::Cloud { bound, token: String::new() },
                    Flavour::DataCenter => PageToken::Offset { bound, skip: 0 },
                }
            }
        };
        let page = self.search(&self.restriction, token).await?;
        let items = self.to_items(&page.issues).await?.into_iter().filter(|item| cursor.is_new(item)).collect();
        Ok(Page { items, next: page.next.map(|t| t.encode()), total: None })
    }

    /// Whether nothing changed since `cursor`: the issues the incremental query (from `bound`) matches,
    /// asked for with their `updated` only, are all ones the cursor has ingested. JQL compares dates to the
    /// minute, so that query always matches the issues of the cursor's last minute; this look at their
    /// ids and timestamps spares downloading them in full again. Jira moves `updated` (to the
    /// millisecond) on every write, so an issue at the cursor's timestamp that the cursor saw is
    /// unchanged. Stops at the first page holding anything new: `false`, pull as usual.
    async fn unchanged(&self, cursor: &Cursor, bound: &Bound) -> Result<bool, ConnectorError> {
        let Some(since) = cursor.since else { return Ok(false) };
        let jql = jql::search(&self.restriction, bound);
        let fields = ["updated".to_string()];
        let (mut token, mut skip) = (String::new(), 0);
        loop {
            let fetched = self.fetch(&jql, &token, skip, PROBE_PAGE, &fields).await?;
            let seen = fetched.issues.iter().all(|issue| {
                match issue.fields.updated.as_deref().and_then(mapping::parse_timestamp) {
                    Some(updated) if updated < since => true,
                    Some(updated) if updated == since => cursor.seen_at_since.contains_key(&issue.key),
                    _ => false,
                }
            });
            let count = fetched.issues.len() as u64;
            match (seen, self.flavour, fetched.token) {
                (false, _, _) => return Ok(false),
                (true, Flavour::Cloud, Some(next)) => token = next,
                (true, Flavour::DataCenter, _) if count > 0 && skip + count < fetched.total.unwrap_or(0) => {
                    skip += count;
                }
                (true, _, _) => return Ok(true),
            }
        }
    }

    /// One page of a partition of a full pull: the issues created in a window, in creation order.
    async fn pull_window(
        &self,
        from: Option<i64>,
        to: Option<i64>,
        skip: u64,
        token: String,
    ) -> Result<Page, ConnectorError> {
        let jql = jql::window_search(&self.restriction, from, to);
        let fields = self.fields().await?;
        let fetched = match self.fetch(&jql, &token, skip, self.page_size, &fields).await {
            // Cloud's `nextPageToken` expires (after 7 days, or when Jira drops it): a pull resumed from a
            // stored one reads its window again from the durable start. What it stored already is read
            // again and found unchanged; a query that is itself rejected fails again, and that error stands.
            Err(ConnectorError::Invalid { message, .. }) if self.flavour == Flavour::Cloud && !token.is_empty() => {
                tracing::warn!(tracker = %self.tracker(), error = %message, "a stored page token was rejected; reading its partition again from the start");
                self.fetch(&jql, "", 0, self.page_size, &fields).await?
            }
            result => result?,
        };
        let count = fetched.issues.len() as u64;
        let next = match self.flavour {
            Flavour::Cloud => fetched.token.map(|token| PageToken::Window { from, to, skip: 0, token }),
            Flavour::DataCenter => (count > 0 && fetched.start_at + count < fetched.total.unwrap_or(0))
                .then(|| PageToken::Window { from, to, skip: skip + count, token: String::new() }),
        };
        let items = self.to_items(&fetched.issues).await?;
        Ok(Page { items, next: next.map(|t| t.encode()), total: fetched.total })
    }

    /// Split a full pull for `streams` streams into windows of creation time, cut along the span from the
    /// first to the last issue created as [`Partitioning::cuts`] says; the total is Jira's approximate
    /// count (Cloud) or the search's total (Data Center).
    pub(crate) async fn plan(&self, scope: &str, streams: usize) -> Result<Partitioning, ConnectorError> {
        if scope != SCOPE {
            return Err(self.invalid(format!("unknown scope {scope:?}; Jira has one scope, {SCOPE:?}")));
        }
        // What every pull reads once (the story points field for the pages, the time zone for the next
        // incremental pull), first: it also checks the credentials cheaply (with a rejected token, no
        // search is sent). Then one round trip: the first and the last issue created, and the count.
        futures::try_join!(self.site_fields(), self.zone())?;
        let created = ["created".to_string()];
        let created = &created;
        let edge = |order: &'static str| {
            let jql = format!("{} ORDER BY created {order}", self.restriction);
            async move {
                let fetched = self.fetch(&jql, "", 0, 1, created).await?;
                let created =
                    fetched.issues.first().and_then(|i| i.fields.created.as_deref()).and_then(mapping::parse_timestamp);
                Ok::<_, ConnectorError>((created, fetched.total))
            }
        };
        let count = async {
            match self.flavour {
                Flavour::Cloud => self.approximate_count().await.map(Some),
                Flavour::DataCenter => Ok(None),
            }
        };
        let ((first, dc_total), (last, _), count) = futures::try_join!(edge("ASC"), edge("DESC"), count)?;
        let total = count.or(dc_total);
        let cuts = Partitioning::cuts(streams, total.map(|total| total.div_ceil(u64::from(self.page_size))));
        let windows = match (first, last) {
            (Some(first), Some(last)) => jql::windows(first, last.max(first), &cuts),
            _ => vec![(None, None)],
        };
        let tokens = windows
            .into_iter()
            .map(|(from, to)| PageToken::Window { from, to, skip: 0, token: String::new() }.encode())
            .collect();
        Ok(Partitioning { tokens, total })
    }

    /// `POST /search/approximate-count` of the restriction (Cloud).
    async fn approximate_count(&self) -> Result<u64, ConnectorError> {
        let body = serde_json::json!({ "jql": self.restriction });
        let path = "/rest/api/3/search/approximate-count";
        let count: ApproximateCount =
            self.http.send_json(Method::POST, path, &[], &body, Idempotency::Idempotent).await?.body;
        Ok(count.count)
    }

    /// One search request: Cloud's enhanced search from the vendor `token` (empty: the first page), or
    /// Data Center's offset search from `skip`.
    pub(crate) async fn fetch(
        &self,
        jql: &str,
        token: &str,
        skip: u64,
        max: u32,
        fields: &[String],
    ) -> Result<Fetched, ConnectorError> {
        match self.flavour {
            Flavour::Cloud => {
                let body = dto::SearchJqlRequest {
                    jql,
                    next_page_token: Some(token).filter(|t| !t.is_empty()),
                    max_results: max,
                    fields,
                };
                let page: dto::SearchJqlResponse = self
                    .http
                    .send_json(Method::POST, "/rest/api/3/search/jql", &[], &body, Idempotency::Idempotent)
                    .await?
                    .body;
                let token = page.next_page_token.filter(|t| !t.is_empty() && page.is_last != Some(true));
                Ok(Fetched { issues: page.issues, token, start_at: 0, total: None })
            }
            Flavour::DataCenter => {
                let (start, max, field_list) = (skip.to_string(), max.to_string(), fields.join(","));
                let query = [("jql", jql), ("startAt", &start), ("maxResults", &max), ("fields", &field_list)];
                let page: dto::SearchOffsetResponse = self.http.get_json("/rest/api/2/search", &query).await?.body;
                Ok(Fetched { issues: page.issues, token: None, start_at: page.start_at, total: Some(page.total) })
            }
        }
    }

    /// One page of a search. `token` says which query (the bound) and where in it.
    async fn search(&self, restriction: &str, token: PageToken) -> Result<SearchPage, ConnectorError> {
        let fields = self.fields().await?;
        match (self.flavour, token) {
            (Flavour::Cloud, PageToken::Cloud { bound, token }) => {
                let jql = jql::search(restriction, &bound);
                let page = self.fetch(&jql, &token, 0, self.page_size, &fields).await?;
                let next = page.token.map(|token| PageToken::Cloud { bound, token });
                Ok(SearchPage { issues: page.issues, next })
            }
            (Flavour::DataCenter, PageToken::Offset { bound, skip }) => {
                let jql = jql::search(restriction, &bound);
                let page = self.fetch(&jql, "", skip, self.page_size, &fields).await?;
                let next = self.next_offset_page(&bound, skip, &page).await?;
                Ok(SearchPage { issues: page.issues, next })
            }
            _ => Err(self.invalid("the page token belongs to another Jira flavour")),
        }
    }

    /// Where a Data Center pull continues: from the minute of the page's last issue when that moves the
    /// bound forward (re-reading that minute's issues, which the cursor drops), else by offset.
    async fn next_offset_page(
        &self,
        bound: &Bound,
        skip: u64,
        page: &Fetched,
    ) -> Result<Option<PageToken>, ConnectorError> {
        let count = page.issues.len() as u64;
        if count == 0 || page.start_at + count >= page.total.unwrap_or(0) {
            return Ok(None);
        }
        let last_updated = page
            .issues
            .last()
            .and_then(|issue| issue.fields.updated.as_deref())
            .and_then(mapping::parse_timestamp)
            .ok_or_else(|| self.invalid("a search result has no readable updated timestamp"))?;
        let moved = Bound::at(last_updated, self.zone().await?);
        let forward = match (&moved, bound) {
            (Bound::Local(new), Bound::Local(old)) => new > old,
            (Bound::EpochMillis(new), Bound::EpochMillis(old)) => new > old,
            (_, Bound::All) => true,
            _ => false,
        };
        Ok(Some(if forward {
            PageToken::Offset { bound: moved, skip: 0 }
        } else {
            PageToken::Offset { bound: bound.clone(), skip: skip + count }
        }))
    }

    pub(crate) async fn get_issue(&self, key: &str) -> Result<Item, ConnectorError> {
        let path = self.issue_path(key, "")?;
        let fields = self.fields().await?.join(",");
        let issue: dto::Issue = self.http.get_json(&path, &[("fields", &fields)]).await?.body;
        let mut items = self.to_items(std::slice::from_ref(&issue)).await?;
        items.pop().ok_or_else(|| self.invalid("empty issue"))
    }

    pub(crate) async fn create_issue(&self, item: &NewItem) -> Result<Created, ConnectorError> {
        let Some(target) = self.write.target(item.kind) else {
            return Err(self.invalid(format!(
                "this Jira takes {}; twotrack does not create a {} here",
                Kind::list(&self.write.creates(), "and"),
                item.kind
            )));
        };
        if target.container.trim().is_empty() {
            return Err(self.invalid("set the project new items are created in (write.project)"));
        }
        let mut labels: Vec<String> = Vec::new();
        let carried = if self.write.carry_labels { item.labels.as_slice() } else { &[] };
        let wanted = carried
            .iter()
            .cloned()
            .chain(item.origin.as_ref().map(|o| mapping::origin_label(&o.key)))
            .chain([MOVED_LABEL.to_string()])
            .chain(self.write.triage_label.clone());
        for label in wanted.map(|l| label_text(&l)).filter(|l| !l.is_empty()) {
            if !labels.contains(&label) {
                labels.push(label);
            }
        }
        let service = match item.kind.class() {
            Class::Work => self.service_fields(&target.container, item).await?,
            Class::Value => service::ServiceFields::default(),
        };
        let body = dto::IssueUpdate {
            fields: Some(dto::CreateFields {
                project: dto::KeyRef { key: target.container },
                issuetype: dto::NameRef { name: target.item_type },
                summary: item.summary.clone(),
                description: self.rich_text(&item.description),
                labels,
                reporter: item.reporter.as_ref().map(|p| self.user_ref(p)),
                priority: service.priority,
                components: service.components,
                custom: service.custom,
            }),
            update: None,
        };
        let created: dto::CreatedIssue =
            self.http.send_json(Method::POST, &self.api("/issue"), &[], &body, Idempotency::NonIdempotent).await?.body;
        let note = item.work_note.iter().map(String::as_str).chain(service.remarks.iter().map(String::as_str));
        let note = note.map(str::trim).filter(|n| !n.is_empty()).collect::<Vec<_>>().join("\n");
        if !note.is_empty()
            && let Err(error) = self.add_comment(&created.key, &note).await
        {
            // The issue exists: report it, and leave the note to the caller's next look at `notes`.
            tracing::warn!(tracker = %self.tracker(), key = %created.key, %error, "created, but adding the work note failed");
        }
        let url = format!("{}/browse/{}", self.browse_base, created.key);
        Ok(Created { key: created.key, id: created.id, url })
    }

    pub(crate) async fn add_comment(&self, key: &str, text: &str) -> Result<(), ConnectorError> {
        let path = self.issue_path(key, "/comment")?;
        let body = dto::CommentBody { body: self.rich_text(text), properties: Vec::new() };
        self.http.send_json::<IgnoredAny, _>(Method::POST, &path, &[], &body, Idempotency::NonIdempotent).await?;
        Ok(())
    }

    pub(crate) async fn comments(&self, key: &str) -> Result<Vec<String>, ConnectorError> {
        let path = self.issue_path(key, "/comment")?;
        let mut texts = Vec::new();
        let mut start = 0u64;
        loop {
            let (start_at, max) = (start.to_string(), COMMENT_PAGE.to_string());
            let query = [("startAt", start_at.as_str()), ("maxResults", &max), ("orderBy", "created")];
            let page: dto::CommentPage = self.http.get_json(&path, &query).await?.body;
            let count = page.comments.len() as u64;
            texts.extend(page.comments.iter().map(|c| mapping::rich_text(&c.body)));
            start = page.start_at + count;
            if count == 0 || start >= page.total {
                return Ok(texts);
            }
        }
    }

    pub(crate) async fn edit_label(&self, key: &str, op: dto::LabelOp) -> Result<(), ConnectorError> {
        let label = match &op {
            dto::LabelOp::Add(label) | dto::LabelOp::Remove(label) => label,
        };
        if label.is_empty() || label.chars().any(char::is_whitespace) {
            return Err(self.invalid(format!("{label:?} is not a valid Jira label (no spaces)")));
        }
        let path = self.issue_path(key, "")?;
        let body =
            dto::IssueUpdate { fields: None, update: Some(dto::UpdateOps { labels: vec![op], ..Default::default() }) };
        self.http.send_json::<IgnoredAny, _>(Method::PUT, &path, &[], &body, Idempotency::Idempotent).await?;
        Ok(())
    }

    /// Close `key`: the configured transition (or any into the *done* category) with the resolution and the
    /// note. When the current status offers neither, step through *in progress* statuses first (workflows
    /// such as To Do -> In Progress -> Done), at most [`MAX_CLOSE_STEPS`] transitions in all.
    pub(crate) async fn close_issue(&self, key: &str, note: &str) -> Result<(), ConnectorError> {
        let issue_path = self.issue_path(key, "")?;
        let path = self.issue_path(key, "/transitions")?;
        let mut passed: Vec<String> = Vec::new();
        for _ in 0..MAX_CLOSE_STEPS {
            let issue: dto::Issue = self.http.get_json(&issue_path, &[("fields", "status")]).await?.body;
            let status = issue.fields.status.unwrap_or_default();
            if category(Some(&status)) == Some("done") {
                return Ok(());
            }
            let transitions: dto::Transitions =
                self.http.get_json(&path, &[("expand", "transitions.fields")]).await?.body;
            if let Some(closing) = self.closing_transition(&transitions.transitions) {
                let body = self.closing_body(closing, note);
                self.http
                    .send_json::<IgnoredAny, _>(Method::POST, &path, &[], &body, Idempotency::NonIdempotent)
                    .await?;
                return Ok(());
            }
            passed.push(status.name.clone());
            let step = transitions.transitions.iter().find(|t| {
                category(t.to.as_ref()) == Some("indeterminate")
                    && t.to.as_ref().is_some_and(|to| !passed.contains(&to.name))
            });
            let Some(step) = step else {
                let available: Vec<&str> = transitions.transitions.iter().map(|t| t.name.as_str()).collect();
                return Err(self.invalid(format!(
                    "{key}: no transition {:?} (nor any towards a done status) from status {:?}; available: {}",
                    self.write.close_transition,
                    status.name,
                    if available.is_empty() { "none".to_string() } else { available.join(", ") }
                )));
            };
            let body = dto::DoTransition { transition: dto::IdRef { id: step.id.clone() }, fields: None, update: None };
            self.http.send_json::<IgnoredAny, _>(Method::POST, &path, &[], &body, Idempotency::NonIdempotent).await?;
        }
        Err(self.invalid(format!("{key}: no done status within {MAX_CLOSE_STEPS} transitions")))
    }

    /// The configured close transition by name, else the first into the *done* category.
    fn closing_transition<'t>(&self, transitions: &'t [dto::Transition]) -> Option<&'t dto::Transition> {
        let wanted = &self.write.close_transition;
        transitions
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(wanted) && category(t.to.as_ref()) != Some("new"))
            .or_else(|| transitions.iter().find(|t| category(t.to.as_ref()) == Some("done")))
    }

    /// The resolution (when the transition's screen has the field) and the note as a comment.
    fn closing_body(&self, transition: &dto::Transition, note: &str) -> dto::DoTransition {
        let fields = (!self.write.resolution.is_empty() && transition.fields.contains_key("resolution"))
            .then(|| dto::ResolutionFields { resolution: dto::NameRef { name: self.write.resolution.clone() } });
        let update = (!note.trim().is_empty()).then(|| dto::UpdateOps {
            comment: vec![dto::CommentOp {
                add: dto::CommentBody { body: self.rich_text(note), properties: Vec::new() },
            }],
            ..Default::default()
        });
        dto::DoTransition { transition: dto::IdRef { id: transition.id.clone() }, fields, update }
    }

    pub(crate) async fn remote_link(&self, key: &str, target: &OriginRef) -> Result<(), ConnectorError> {
        let path = self.issue_path(key, "/remotelink")?;
        let body = dto::RemoteLink {
            global_id: global_id(&target.tracker, &target.key),
            application: dto::RemoteApplication { kind: "twotrack".into(), name: "twotrack".into() },
            relationship: "twotrack".into(),
            object: dto::RemoteObject {
                url: target.url.clone(),
                title: target.key.clone(),
                summary: target.summary.clone(),
            },
        };
        // An upsert by globalId: sending it twice leaves one link.
        self.http.send_json::<IgnoredAny, _>(Method::POST, &path, &[], &body, Idempotency::Idempotent).await?;
        Ok(())
    }

    pub(crate) async fn search_origin(&self, origin_key: &str) -> Result<Vec<Item>, ConnectorError> {
        let restriction = format!("labels = {}", jql::quote(&mapping::origin_label(origin_key)));
        let mut token = match self.flavour {
            Flavour::Cloud => PageToken::Cloud { bound: Bound::All, token: String::new() },
            Flavour::DataCenter => PageToken::Offset { bound: Bound::All, skip: 0 },
        };
        let mut issues = Vec::new();
        loop {
            let page = self.search(&restriction, token).await?;
            issues.extend(page.issues);
            match page.next {
                Some(next) => token = next,
                None => break,
            }
        }
        // A Data Center page boundary may repeat an issue; keep each once.
        let mut seen = std::collections::BTreeSet::new();
        issues.retain(|issue| seen.insert(issue.key.clone()));
        self.to_items(&issues).await
    }

    pub(crate) async fn apply_field_update(&self, key: &str, update: &FieldUpdate) -> Result<(), ConnectorError> {
        if update.queue.is_some() || update.impact.is_some() || update.urgency.is_some() {
            self.correct_service_fields(key, update).await?;
        }
        match update.note.as_deref().filter(|n| !n.trim().is_empty()) {
            Some(note) => self.add_comment(key, note).await,
            None => Ok(()),
        }
    }
}

/// The remote link id for an item in another tracker: `twotrack:<tracker>:<key>`.
pub fn global_id(tracker: &str, key: &str) -> String {
    format!("twotrack:{tracker}:{key}")
}

/// A label as Jira accepts it: whitespace becomes `-`.
fn label_text(label: &str) -> String {
    label.split_whitespace().collect::<Vec<_>>().join("-")
}

/// The status category key (`new`, `indeterminate`, `done`) of a status.
fn category(status: Option<&dto::Status>) -> Option<&str> {
    status.and_then(|s| s.status_category.as_ref()).map(|c| c.key.as_str())
}

fn parse_zone(name: Option<&str>) -> Option<Tz> {
    name.and_then(|n| n.trim().parse::<Tz>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_lose_their_spaces() {
        assert_eq!(label_text("  needs triage "), "needs-triage");
        assert_eq!(label_text("ok"), "ok");
    }

    #[test]
    fn zones_parse_from_iana_names() {
        assert_eq!(parse_zone(Some("Europe/Berlin")), Some(Tz::Europe__Berlin));
        assert_eq!(parse_zone(Some("Mars/Olympus")), None);
        assert_eq!(parse_zone(None), None);
    }

    #[test]
    fn global_ids_name_tracker_and_key() {
        assert_eq!(global_id("sn-prod", "INC0010001"), "twotrack:sn-prod:INC0010001");
    }
}
