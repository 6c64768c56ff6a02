//! [`ServiceNowConnector`]: the [`Connector`] trait over the Table API.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::Utc;
use twotrack_api::connector::{
    Attachment, Created, Download, FieldUpdate, Health, NewItem, NoteVisibility, OriginRef, Person, Remark, Target,
    WriterBeat,
};
use twotrack_api::http::{HttpClient, HttpSettings, HttpStats};
use twotrack_api::secret::Auth;
use twotrack_api::{Connector, ConnectorError, Cursor, Item, Kind, Page, Partitioning, TrackerKind, TrackerRole};

use crate::client::{ListRequest, TableClient};
use crate::dto::{ChoiceRow, GroupInfoRow, GroupRow, JournalRow, RECORD_FIELDS, Record, RecordBody, UserRow};
use crate::mapping::{self, CREATED_MARKER, LINKED_MARKER, Source};
use crate::query::{self, IdRange, Keyset, QueryError, Start};
use crate::settings::{ServiceNowSettings, ServiceNowWrite};

mod attachments;
mod history;
mod parent;
mod people;

/// Rows per request for small lists (journal entries, twins of one original).
const SMALL_PAGE: u32 = 1_000;

/// A ServiceNow instance as a [`Connector`]. Scopes are the configured tables.
#[derive(Debug)]
pub struct ServiceNowConnector {
    client: TableClient,
    /// The instance URL without a trailing slash, for browser links.
    base: String,
    tables: Vec<String>,
    filter: Option<String>,
    page_size: u32,
    concurrency: u32,
    write: ServiceNowWrite,
    /// What the instance is for: which of the write tables items are created in.
    role: TrackerRole,
    /// The Basic-auth user, reported by the health check.
    user: Option<String>,
    /// `sysparm_fields` of every record read.
    fields: String,
    /// Assignment group name -> sys_id.
    groups: Mutex<HashMap<String, String>>,
    /// Record number -> where it lives, learned from lookups and creates.
    homes: Mutex<HashMap<String, Home>>,
}

/// Where a record lives.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Home {
    table: String,
    sys_id: String,
}

impl ServiceNowConnector {
    /// Validate the settings and build the HTTP client. No request is made (see [`Connector::health`]).
    pub fn new(settings: ServiceNowSettings) -> Result<ServiceNowConnector, ConnectorError> {
        settings.validate()?;
        let user = match &settings.http.auth {
            Auth::Basic { user, .. } => Some(user.clone()),
            Auth::Bearer { .. } => None,
        };
        let http = HttpSettings { concurrency: settings.concurrency, ..settings.http };
        let client = TableClient::new(HttpClient::new(http)?);
        Ok(ServiceNowConnector {
            base: client.base_url().as_str().trim_end_matches('/').to_string(),
            client,
            tables: settings.scope.tables,
            filter: settings.scope.query.filter(|q| !q.trim().is_empty()),
            page_size: settings.page_size,
            concurrency: settings.concurrency,
            write: settings.write,
            role: settings.role,
            user,
            fields: RECORD_FIELDS.join(","),
            groups: Mutex::new(HashMap::new()),
            homes: Mutex::new(HashMap::new()),
        })
    }

    /// Request counters of this connector's HTTP client (requests, retries, statuses, waits).
    pub fn http_stats(&self) -> HttpStats {
        self.client.stats()
    }

    fn source<'a>(&'a self, table: &'a str) -> Source<'a> {
        Source { tracker: self.client.tracker(), base_url: &self.base, table }
    }

    fn invalid(&self, message: impl Into<String>) -> ConnectorError {
        ConnectorError::Invalid { tracker: self.client.tracker().to_string(), message: message.into() }
    }

    fn literal<'a>(&self, what: &'static str, value: &'a str) -> Result<&'a str, ConnectorError> {
        query::literal(what, value).map_err(|e: QueryError| self.invalid(e.to_string()))
    }

    fn to_item(&self, table: &str, record: &Record) -> Result<Item, ConnectorError> {
        mapping::to_item(self.source(table), record).map_err(|e| self.invalid(e.to_string()))
    }

    /// Where `record` sits in the pull order of `table`.
    /// A record's `sys_id`, where a partition's next page starts after it.
    fn row_id<'r>(&self, table: &str, record: &'r Record) -> Result<&'r str, ConnectorError> {
        match record.sys_id.as_ref().map(|v| v.value.as_str()) {
            Some(id) if !id.is_empty() && !id.contains('|') && query::literal("sys_id", id).is_ok() => Ok(id),
            _ => Err(self.invalid(format!(
                "a {table} record came without a readable sys_id; the pull cannot continue after it"
            ))),
        }
    }

    fn position(&self, table: &str, record: &Record) -> Result<Keyset, ConnectorError> {
        let value = |v: &Option<crate::dto::Value>| v.as_ref().map(|v| v.value.clone()).unwrap_or_default();
        let (updated, sys_id) = (value(&record.sys_updated_on), value(&record.sys_id));
        let updated = query::parse_time(&updated);
        match updated {
            Some(updated) if !sys_id.is_empty() && query::literal("sys_id", &sys_id).is_ok() => {
                Ok(Keyset { updated, sys_id })
            }
            _ => Err(self.invalid(format!(
                "a {table} record came without a readable sys_updated_on and sys_id; the pull cannot continue after it"
            ))),
        }
    }

    /// The pulled table `scope` names.
    fn table(&self, scope: &str) -> Result<&str, ConnectorError> {
        match self.tables.iter().find(|t| *t == scope) {
            Some(table) => Ok(table),
            None => Err(self.invalid(format!("unknown scope {scope:?}; the scopes are {}", self.tables.join(", ")))),
        }
    }

    fn records<'a>(&'a self, table: &'a str, query: &'a str, limit: u32) -> ListRequest<'a> {
        ListRequest { table, query, fields: &self.fields, limit, display_all: true }
    }

    /// Every table this connector reads or writes, pulled tables first.
    fn known_tables(&self) -> Vec<String> {
        let mut tables: Vec<String> = Vec::new();
        for table in self.tables.iter().cloned().chain(self.write_tables()) {
            if !tables.contains(&table) {
                tables.push(table);
            }
        }
        tables
    }

    /// The kinds items are created as here: those of the instance's role.
    fn creates(&self) -> Vec<Kind> {
        self.write.creates().into_iter().filter(|k| k.class() == self.role.holds()).collect()
    }

    /// The tables items are created in ([`ServiceNowWrite::target`] of the kinds the instance's role
    /// holds: an instance without Agile 2.0 has no rm_* tables to look in), once each.
    fn write_tables(&self) -> Vec<String> {
        let mut tables: Vec<String> = Vec::new();
        for target in self.creates().into_iter().filter_map(|k| self.write.target(k)) {
            if !tables.contains(&target.container) {
                tables.push(target.container);
            }
        }
        tables
    }

    /// Tables to look `key` up in: where it was last seen, then those whose number prefix it carries,
    /// then the rest.
    fn candidate_tables(&self, key: &str) -> Vec<String> {
        let known = self.known_tables();
        let cached = self.homes.lock().unwrap_or_else(PoisonError::into_inner).get(key).map(|h| h.table.clone());
        let (matching, others): (Vec<String>, Vec<String>) =
            known.into_iter().partition(|t| number_prefix(t).is_some_and(|p| has_prefix(key, p)));
        let mut tables: Vec<String> = cached.into_iter().collect();
        for table in matching.into_iter().chain(others) {
            if !tables.contains(&table) {
                tables.push(table);
            }
        }
        tables
    }

    fn remember(&self, key: &str, table: &str, sys_id: &str) {
        let home = Home { table: table.to_string(), sys_id: sys_id.to_string() };
        self.homes.lock().unwrap_or_else(PoisonError::into_inner).insert(key.to_string(), home);
    }

    /// Read the record numbered `key`, fresh, and the table it lives in.
    async fn locate(&self, key: &str) -> Result<(String, Record), ConnectorError> {
        let key = self.literal("record number", key.trim())?;
        let query = format!("number={key}");
        for table in self.candidate_tables(key) {
            let page = self.client.list::<Record>(&self.records(&table, &query, 1)).await?;
            if let Some(record) = page.rows.into_iter().next() {
                let sys_id = record.sys_id.as_ref().map(|v| v.value.clone()).unwrap_or_default();
                if !sys_id.is_empty() {
                    self.remember(key, &table, &sys_id);
                }
                return Ok((table, record));
            }
        }
        Err(ConnectorError::NotFound {
            tracker: self.client.tracker().to_string(),
            what: format!("{key} (looked in {})", self.known_tables().join(", ")),
        })
    }

    /// Where `key` lives: remembered, or looked up.
    async fn home(&self, key: &str) -> Result<Home, ConnectorError> {
        if let Some(home) = self.homes.lock().unwrap_or_else(PoisonError::into_inner).get(key.trim()) {
            return Ok(home.clone());
        }
        let (table, record) = self.locate(key).await?;
        match record.sys_id.map(|v| v.value).filter(|id| !id.is_empty()) {
            Some(sys_id) => Ok(Home { table, sys_id }),
            None => Err(self.invalid(format!("{table} record {key} came without a sys_id"))),
        }
    }

    /// The fresh record as an item, and its table.
    async fn current(&self, key: &str) -> Result<(String, Item), ConnectorError> {
        let (table, record) = self.locate(key).await?;
        let item = self.to_item(&table, &record)?;
        Ok((table, item))
    }

    /// The sys_id of the assignment group named `name`, looked up once.
    async fn group_id(&self, name: &str) -> Result<String, ConnectorError> {
        if let Some(id) = self.groups.lock().unwrap_or_else(PoisonError::into_inner).get(name) {
            return Ok(id.clone());
        }
        let query = format!("name={}", self.literal("assignment group", name)?);
        let request =
            ListRequest { table: "sys_user_group", query: &query, fields: "sys_id,name", limit: 1, display_all: false };
        let page = self.client.list::<GroupRow>(&request).await?;
        let id = page
            .rows
            .into_iter()
            .map(|row| row.sys_id.value)
            .find(|id| !id.is_empty())
            .ok_or_else(|| self.invalid(format!("assignment group {name:?} does not exist in sys_user_group")))?;
        self.groups.lock().unwrap_or_else(PoisonError::into_inner).insert(name.to_string(), id.clone());
        Ok(id)
    }

    fn level(&self, what: &str, value: Option<u8>) -> Result<Option<String>, ConnectorError> {
        match value {
            None => Ok(None),
            Some(v @ 1..=3) => Ok(Some(v.to_string())),
            Some(v) => Err(self.invalid(format!("{what} {v} is not an ITIL level 1 (high) ..= 3 (low)"))),
        }
    }

    fn label<'a>(&self, label: &'a str) -> Result<&'a str, ConnectorError> {
        let label = label.trim();
        match mapping::is_valid_label(label) {
            true => Ok(label),
            false => Err(self.invalid(format!("{label:?} cannot be a ServiceNow marker (one word, no '#')"))),
        }
    }

    /// Set the description of `key` to what `edit` makes of it, unless it returns `None`.
    async fn edit_description(&self, key: &str, edit: impl Fn(&str) -> Option<String>) -> Result<(), ConnectorError> {
        let (table, item) = self.current(key).await?;
        let Some(description) = edit(&item.description) else { return Ok(()) };
        let body = RecordBody { description: Some(description), ..RecordBody::default() };
        self.client.patch(&table, &item.id, &body).await
    }

    async fn note_exists(&self, sys_id: &str, needle: &str) -> Result<bool, ConnectorError> {
        Ok(self.journal(sys_id).await?.iter().any(|note| note.contains(needle)))
    }

    async fn journal(&self, sys_id: &str) -> Result<Vec<String>, ConnectorError> {
        let query = format!("element_id={}^ORDERBYsys_created_on", self.literal("sys_id", sys_id)?);
        let request = ListRequest {
            table: "sys_journal_field",
            query: &query,
            fields: "value,element,sys_created_on",
            limit: SMALL_PAGE,
            display_all: false,
        };
        let rows = self.client.list_all::<JournalRow>(&request).await?;
        Ok(rows
            .into_iter()
            .filter(|row| matches!(row.element.value.as_str(), "" | "comments" | "work_notes"))
            .map(|row| row.value.value)
            .filter(|value| !value.is_empty())
            .collect())
    }
}

impl Connector for ServiceNowConnector {
    fn name(&self) -> &str {
        self.client.tracker()
    }

    fn kind(&self) -> TrackerKind {
        TrackerKind::ServiceNow
    }

    fn scopes(&self) -> Vec<String> {
        self.tables.clone()
    }

    /// A one-row read of every pulled table (so a missing table ACL shows), then who the user is.
    async fn health(&self) -> Result<Health, ConnectorError> {
        for table in &self.tables {
            let request = ListRequest { table, query: "", fields: "sys_id", limit: 1, display_all: false };
            self.client.list::<serde_json::Value>(&request).await?;
        }
        let account = match &self.user {
            Some(user) => self.describe_user(user).await,
            None => "(bearer token)".to_string(),
        };
        Ok(Health { server: format!("ServiceNow ({} readable)", self.tables.join(", ")), account })
    }

    fn concurrency(&self) -> usize {
        self.concurrency as usize
    }

    /// Ranges of `sys_id` cut as [`Partitioning::cuts`] says; the total is the table's `X-Total-Count` (a
    /// one-row read).
    async fn partition(&self, scope: &str, streams: usize) -> Result<Partitioning, ConnectorError> {
        let table = self.table(scope)?;
        let query = query::pull_query(self.filter.as_deref(), &Start::All);
        let request = ListRequest { table, query: &query, fields: "sys_id", limit: 1, display_all: false };
        let (_, total) = self.client.list_rows::<serde_json::Value>(&request, true).await?;
        let cuts = Partitioning::cuts(streams, total.map(|total| total.div_ceil(u64::from(self.page_size))));
        let tokens = IdRange::split(&cuts).iter().map(|range| range.to_token(None)).collect();
        Ok(Partitioning { tokens, total })
    }

    async fn pull_page(&self, scope: &str, cursor: &Cursor, page_token: Option<&str>) -> Result<Page, ConnectorError> {
        let table = self.table(scope)?;
        let bad_token = |token: &str| self.invalid(format!("bad page token for {table}: {token:?}"));
        let (range, query) = match page_token {
            Some(token) if token.starts_with("p|") => {
                let (range, after) = IdRange::from_token(token).ok_or_else(|| bad_token(token))?;
                let query = range.query(self.filter.as_deref(), after.as_deref());
                (Some(range), query)
            }
            Some(token) => {
                let after = Keyset::from_token(token).ok_or_else(|| bad_token(token))?;
                (None, query::pull_query(self.filter.as_deref(), &Start::After(after)))
            }
            None => {
                let last_id = cursor.last_id_at_since.as_deref().map(|id| self.literal("sys_id", id)).transpose()?;
                (None, query::pull_query(self.filter.as_deref(), &query::resume(cursor.since, last_id, Utc::now())))
            }
        };
        // Only a stream's first page asks for the count (the progress bar's total); a later page, or a
        // partition's (whose scope's total `partition` read), ends on a short page instead.
        let count = page_token.is_none();
        let request = self.records(table, &query, self.page_size);
        let (rows, total) = self.client.list_rows::<Record>(&request, count).await?;
        let more = match total {
            Some(total) => total > rows.len() as u64,
            None => rows.len() >= self.page_size as usize,
        };
        // The next page starts after the last row, read or not (an unreadable row is skipped, not re-read).
        let next = match rows.last() {
            Some(last) if more => Some(match &range {
                Some(range) => range.to_token(Some(self.row_id(table, last)?)),
                None => self.position(table, last)?.to_token(),
            }),
            _ => None,
        };
        let mut items = Vec::with_capacity(rows.len());
        for record in &rows {
            match mapping::to_item(self.source(table), record) {
                Ok(item) if cursor.is_new(&item) => items.push(item),
                Ok(_) => {}
                Err(error) => tracing::warn!(tracker = self.client.tracker(), %error, "skipping an unreadable record"),
            }
        }
        Ok(Page { items, next, total })
    }

    async fn get(&self, key: &str) -> Result<Item, ConnectorError> {
        Ok(self.current(key).await?.1)
    }

    /// POST into the incident or request table. A lost answer is [`ConnectorError::Unknown`]: look for the
    /// twin with [`Connector::find_by_origin`] before trying again.
    async fn create(&self, item: &NewItem) -> Result<Created, ConnectorError> {
        let target = self.write.target(item.kind).filter(|_| item.kind.class() == self.role.holds());
        let Some(Target { container: table, .. }) = target else {
            return Err(self.invalid(format!(
                "this instance takes {}; twotrack does not create a {} here",
                Kind::list(&self.creates(), "and"),
                item.kind
            )));
        };
        let assignment_group = match item.queue.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            Some(queue) => Some(self.group_id(queue).await?),
            None => None,
        };
        let non_empty = |text: &str| Some(text.to_string()).filter(|t| !t.trim().is_empty());
        // The person it is for, in the one field of the table that names them.
        let person_field = people::person_field(&table);
        let person_in =
            |field: &str| item.reporter.as_ref().filter(|_| person_field == Some(field)).map(|p| p.id.clone());
        let carried = if self.write.carry_labels { item.labels.as_slice() } else { &[] };
        let description = mapping::with_labels(&item.description, carried);
        let body = RecordBody {
            short_description: Some(item.summary.clone()),
            description: non_empty(&description),
            impact: self.level("impact", item.impact)?,
            urgency: self.level("urgency", item.urgency)?,
            assignment_group,
            caller_id: person_in("caller_id"),
            requested_for: person_in("requested_for"),
            opened_by: person_in("opened_by"),
            correlation_id: item.origin.as_ref().map(|o| o.key.clone()),
            correlation_display: item.origin.as_ref().map(|_| CREATED_MARKER.to_string()),
            work_notes: item.work_note.as_deref().and_then(non_empty),
            ..RecordBody::default()
        };
        let record = self.client.create(&table, &body, "sys_id,number").await?;
        let value = |v: &Option<crate::dto::Value>| v.as_ref().map(|v| v.value.clone()).unwrap_or_default();
        let (sys_id, number) = (value(&record.sys_id), value(&record.number));
        if sys_id.is_empty() || number.is_empty() {
            return Err(ConnectorError::Unknown {
                tracker: self.client.tracker().to_string(),
                what: format!("POST {}", TableClient::table_path(&table)),
                message: "the answer names no sys_id or number".into(),
            });
        }
        self.remember(&number, &table, &sys_id);
        Ok(Created { url: mapping::record_url(&self.base, &table, &sys_id), key: number, id: sys_id })
    }

    /// PATCH `comments` (public) or `work_notes` (internal). Journal appends are not re-sent after an
    /// unknown outcome: check [`Connector::notes`] first.
    async fn comment(&self, key: &str, text: &str, visibility: NoteVisibility) -> Result<(), ConnectorError> {
        let home = self.home(key).await?;
        let body = match visibility {
            NoteVisibility::Public => RecordBody { comments: Some(text.to_string()), ..RecordBody::default() },
            NoteVisibility::Internal => RecordBody { work_notes: Some(text.to_string()), ..RecordBody::default() },
        };
        self.client.patch(&home.table, &home.sys_id, &body).await
    }

    async fn notes(&self, key: &str) -> Result<Vec<String>, ConnectorError> {
        let home = self.home(key).await?;
        self.journal(&home.sys_id).await
    }

    /// Markers are hashtag lines of the description (see [`crate::mapping`]).
    async fn add_label(&self, key: &str, label: &str) -> Result<(), ConnectorError> {
        let label = self.label(label)?;
        self.edit_description(key, |description| mapping::with_label(description, label)).await
    }

    async fn remove_label(&self, key: &str, label: &str) -> Result<(), ConnectorError> {
        let label = self.label(label)?;
        self.edit_description(key, |description| mapping::without_label(description, label)).await
    }

    /// PATCH the configured close state and code, with `note` as the close notes. A no-op on a record that
    /// is no longer open (resolved, closed, cancelled or inactive).
    async fn close(&self, key: &str, note: &str) -> Result<(), ConnectorError> {
        let (table, item) = self.current(key).await?;
        if !item.open {
            return Ok(());
        }
        let close_notes = if note.trim().is_empty() { self.write.close_notes.clone() } else { note.to_string() };
        let body = RecordBody {
            state: Some(if crate::settings::is_agile_table(&table) {
                self.write.agile_close_state.clone()
            } else {
                self.write.close_state.clone()
            }),
            close_code: Some(self.write.close_code.clone()).filter(|c| !c.trim().is_empty()),
            close_notes: Some(close_notes),
            ..RecordBody::default()
        };
        self.client.patch(&table, &item.id, &body).await
    }

    /// Record the other item in `correlation_id` / `correlation_display = "twotrack-link"` with a work note
    /// naming it, in one PATCH. A twin keeps its origin in those fields and only gets the note. Idempotent:
    /// nothing is written when the link (or, on a twin, the note) is already there.
    async fn link(&self, key: &str, target: &OriginRef) -> Result<(), ConnectorError> {
        let (table, item) = self.current(key).await?;
        let note =
            format!("twotrack: linked to {} {} \"{}\": {}", target.tracker, target.key, target.summary, target.url);
        let body = if item.origin.is_some() {
            // A twin: its correlation fields name its origin and must stay; the note is the link. Where the
            // journal is denied (403 on sys_journal_field), a marker line `#twotrack-linked-<key>` written in
            // the same PATCH as the note says it is there (one PATCH: both or neither).
            let marker = format!("twotrack-linked-{}", target.key);
            match self.note_exists(&item.id, &target.url).await {
                Ok(true) => return Ok(()),
                Ok(false) => RecordBody { work_notes: Some(note), ..RecordBody::default() },
                Err(ConnectorError::Auth { status: 403, .. }) if mapping::is_valid_label(&marker) => {
                    let Some(description) = mapping::with_label(&item.description, &marker) else { return Ok(()) };
                    RecordBody { work_notes: Some(note), description: Some(description), ..RecordBody::default() }
                }
                Err(e) => return Err(e),
            }
        } else {
            if item.fields.get("correlation_id") == Some(&target.key) {
                return Ok(());
            }
            RecordBody {
                correlation_id: Some(target.key.clone()),
                correlation_display: Some(LINKED_MARKER.to_string()),
                work_notes: Some(note),
                ..RecordBody::default()
            }
        };
        self.client.patch(&table, &item.id, &body).await
    }

    /// Records in the write tables with `correlation_id = origin_key` and `correlation_display = "twotrack"`.
    async fn find_by_origin(&self, origin_key: &str) -> Result<Vec<Item>, ConnectorError> {
        let origin_key = self.literal("origin key", origin_key.trim())?;
        let query = format!("correlation_id={origin_key}^correlation_display={CREATED_MARKER}^ORDERBYsys_created_on");
        let mut items = Vec::new();
        for table in self.write_tables() {
            for record in self.client.list_all::<Record>(&self.records(&table, &query, SMALL_PAGE)).await? {
                let item = self.to_item(&table, &record)?;
                // The platform ignores query terms it does not understand: check again.
                if item.origin.as_deref() == Some(origin_key) {
                    self.remember(&item.key, &table, &item.id);
                    items.push(item);
                }
            }
        }
        Ok(items)
    }

    /// PATCH the fields that differ, with the note as a work note. When nothing differs (e.g. the same update
    /// is retried after an unknown outcome) nothing is written, the note included.
    async fn update_fields(&self, key: &str, update: &FieldUpdate) -> Result<(), ConnectorError> {
        let (table, item) = self.current(key).await?;
        let mut body = RecordBody::default();
        if let Some(queue) = update.queue.as_deref().map(str::trim).filter(|q| !q.is_empty())
            && !item.queue.as_deref().is_some_and(|current| current.eq_ignore_ascii_case(queue))
        {
            body.assignment_group = Some(self.group_id(queue).await?);
        }
        if update.impact.is_some() && update.impact != item.impact {
            body.impact = self.level("impact", update.impact)?;
        }
        if update.urgency.is_some() && update.urgency != item.urgency {
            body.urgency = self.level("urgency", update.urgency)?;
        }
        if body.is_empty() {
            return Ok(());
        }
        body.work_notes = update.note.clone().filter(|n| !n.trim().is_empty());
        self.client.patch(&table, &item.id, &body).await
    }

    async fn set_parent(&self, key: &str, parent: &OriginRef) -> Result<(), ConnectorError> {
        self.set_parent_incident(key, parent).await
    }

    async fn read_beat(&self, name: &str) -> Result<Option<WriterBeat>, ConnectorError> {
        crate::lease::read(&self.client, name).await
    }

    async fn write_beat(&self, name: &str, beat: &WriterBeat) -> Result<(), ConnectorError> {
        crate::lease::write(&self.client, name, beat).await
    }

    async fn find_person(&self, email: &str) -> Result<Option<Person>, ConnectorError> {
        self.person_by_email(email).await
    }

    async fn remarks(&self, key: &str) -> Result<Vec<Remark>, ConnectorError> {
        let home = self.home(key).await?;
        self.journal_history(&home.sys_id).await
    }

    async fn attachments(&self, key: &str) -> Result<Vec<Attachment>, ConnectorError> {
        self.list_attachments(key).await
    }

    async fn download(&self, _key: &str, attachment: &Attachment, limit: u64) -> Result<Download, ConnectorError> {
        self.download_attachment(attachment, limit).await
    }

    async fn attach(
        &self,
        key: &str,
        file_name: &str,
        mime_type: &str,
        content: Vec<u8>,
    ) -> Result<Attachment, ConnectorError> {
        self.upload_attachment(key, file_name, mime_type, content).await
    }
}

impl ServiceNowConnector {
    /// "Full Name (user_name)" when `sys_user` is readable, else the configured user name.
    async fn describe_user(&self, user: &str) -> String {
        let Ok(name) = self.literal("user", user) else { return user.to_string() };
        let query = format!("user_name={name}");
        let request =
            ListRequest { table: "sys_user", query: &query, fields: "user_name,name", limit: 1, display_all: false };
        match self.client.list::<UserRow>(&request).await {
            Ok(page) => match page.rows.into_iter().next() {
                Some(row) if !row.name.value.is_empty() && row.name.value != user => {
                    format!("{} ({user})", row.name.value)
                }
                _ => user.to_string(),
            },
            Err(error) => {
                tracing::debug!(tracker = self.client.tracker(), %error, "sys_user not readable; reporting the configured user");
                user.to_string()
            }
        }
    }
}

/// An assignment group, as `sys_user_group` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub description: String,
}

/// One entry of a field's choice list (`sys_choice`): the stored value and what a person sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// What an administrator checks a configuration against: read-only listings of the instance.
impl ServiceNowConnector {
    /// The active assignment groups, by name (`sys_user_group`, `active=true`).
    pub async fn active_groups(&self) -> Result<Vec<Group>, ConnectorError> {
        let request = ListRequest {
            table: "sys_user_group",
            query: "active=true^ORDERBYname",
            fields: "name,description",
            limit: SMALL_PAGE,
            display_all: false,
        };
        let rows = self.client.list_all::<GroupInfoRow>(&request).await?;
        Ok(rows
            .into_iter()
            .filter(|row| !row.name.value.trim().is_empty())
            .map(|row| Group { name: row.name.value, description: row.description.value })
            .collect())
    }

    /// The active choices of `table`.`element` (`sys_choice`), in their order; empty when the field has
    /// no choice list on this instance.
    pub async fn choices(&self, table: &str, element: &str) -> Result<Vec<Choice>, ConnectorError> {
        let query = format!(
            "name={}^element={}^inactive=false^ORDERBYsequence",
            self.literal("table", table)?,
            self.literal("field", element)?
        );
        let request = ListRequest {
            table: "sys_choice",
            query: &query,
            fields: "value,label",
            limit: SMALL_PAGE,
            display_all: false,
        };
        let rows = self.client.list_all::<ChoiceRow>(&request).await?;
        let mut choices: Vec<Choice> = Vec::new();
        for row in rows {
            // Each language has its own row of a choice: keep the first of each value.
            if !choices.iter().any(|c| c.value == row.value.value) {
                choices.push(Choice { value: row.value.value, label: row.label.value });
            }
        }
        Ok(choices)
    }

    /// Read one record of `table`: an error when the table does not exist or the account may not read it.
    pub async fn check_table(&self, table: &str) -> Result<(), ConnectorError> {
        let request = ListRequest { table, query: "", fields: "sys_id", limit: 1, display_all: false };
        self.client.list::<GroupRow>(&request).await.map(|_| ())
    }
}

/// The number prefix of well-known tables.
fn number_prefix(table: &str) -> Option<&'static str> {
    crate::settings::KNOWN_TABLES.iter().find(|(t, _)| *t == table).map(|(_, prefix)| *prefix)
}

/// Whether `key` is `prefix` followed by digits (so `REQ` does not claim `REQUEST1`).
fn has_prefix(key: &str, prefix: &str) -> bool {
    match (key.get(..prefix.len()), key.get(prefix.len()..)) {
        (Some(head), Some(digits)) => {
            head.eq_ignore_ascii_case(prefix) && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_prefixes_pick_the_table() {
        assert!(has_prefix("INC0010001", "INC"));
        assert!(has_prefix("ritm0010001", "RITM"));
        assert!(!has_prefix("REQUEST1", "REQ"));
        assert!(!has_prefix("INC", "INC"));
        assert!(!has_prefix("SCTASK001", "SC"));
    }
}
