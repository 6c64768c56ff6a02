//! The Jira connector: Jira Cloud (REST v3, ADF, `/search/jql` with `nextPageToken`) and Jira Data Center
//! (REST v2, plain text, `/search` with `startAt`/`total`).
//!
//! # Layout
//! - [`dto`]: Jira's JSON, as documented (serde types only).
//! - [`adf`]: Atlassian Document Format to and from plain text.
//! - [`mapping`]: issues to canonical [`twotrack_api::Item`]s; the origin labels.
//! - [`jql`]: the JQL sent (bounded restriction, incremental bound in the user's time zone) and page tokens.
//! - `client`: the [`Connector`] operations over the shared [`HttpClient`].
//!
//! # Behaviour worth knowing
//! - One scope, [`SCOPE`]: the configured projects and JQL combined (Jira rejects unbounded searches).
//! - An incremental pull first asks the same query for `updated` only: when everything it matches is what
//!   the cursor has ingested (the minute before the cursor, which JQL's minute precision always matches),
//!   the pull is empty and no issue is downloaded again.
//! - A partition resumed from a vendor page token Jira rejects (expired) is read again from its start.
//! - Incremental pulls query `updated >= "<since - 1 min>"` in the API user's profile time zone (read from
//!   `GET /myself` once), ordered `updated ASC, key ASC`, and drop what the cursor already saw. Pass the
//!   cursor *as advanced by the previous pages* with each page token: Data Center pages move their lower
//!   bound forward (instead of paging by offset across the whole result, which skips issues updated during
//!   the pull) and may re-read a few issues at a page boundary, which that cursor drops. A page can
//!   therefore be empty and still have a `next`.
//! - A full pull (a first sync, `sync --full`) is split into windows of creation time
//!   ([`Connector::partition`]: `created >= a AND created < b`, in creation order, so an edit moves no
//!   issue between or within pages), sized from the first and last issue created, pulled side by side.
//! - A fresh connector reads `GET /myself` (time zone) and `GET /field` (story points) once, before its
//!   first search; after that an unchanged pull costs one search request.
//! - Writes: `create`, `comment` and the close transition are POSTs that are never re-sent after an unknown
//!   outcome ([`ConnectorError::Unknown`]); look the target up (`find_by_origin`, `notes`, `get`) first.
//!   Labels (PUT) and remote links (upsert by `globalId`) are idempotent.
//! - `link` and `set_parent` join two issues of this site (the target's URL is this site's browse link)
//!   with an issue link of the type `write.link_type` (default [`DEFAULT_LINK_TYPE`]), created only when
//!   the issue's `issuelinks` show none of that type to the target (`links`); a target elsewhere (a
//!   ServiceNow record) gets a remote link.
//! - Search lags behind writes in Jira Cloud, so a twin whose create answer was lost may not be found by
//!   its origin label yet: `creation_mark` (taken before the create) and `find_created_after` find it by
//!   reading the keys numbered after the mark (`adopt`).
//! - `update_fields`: the queue, impact and urgency of an issue of a service project (its component, the
//!   Impact and Urgency options, the priority they give), then the note as a comment; a queue the project
//!   has no component for is [`ConnectorError::Invalid`].
//! - A Jira Service Management project can be the service queue ([`service`]): incidents and requests are
//!   created as `write.incident_type` / `write.request_type` issues with Jira's `priority` (by name, from
//!   impact x urgency), the ITSM `Impact` and `Urgency` select fields where the site has them (found by
//!   name in `GET /field`, read with the story points field), and the queue as the project's component of
//!   that name when it has one. Reading maps them back to `impact`, `urgency` and `queue`.

use chrono_tz::Tz;
use tokio::sync::OnceCell;
use twotrack_api::connector::{
    Attachment, Created, Download, FieldUpdate, Health, NewItem, NoteVisibility, OriginRef, Person, Remark, Target,
    WriterBeat,
};
use twotrack_api::http::{HttpClient, HttpSettings};
use twotrack_api::{Connector, ConnectorError, Cursor, Item, Kind, Page, Partitioning, TrackerKind};

pub mod adf;
mod adopt;
mod attachments;
pub mod catalog;
mod client;
pub mod dto;
mod history;
pub mod jql;
mod lease;
mod links;
pub mod mapping;
mod people;
pub mod service;
pub mod settings;

pub use links::DEFAULT_LINK_TYPE;
pub use mapping::{MOVED_LABEL, ORIGIN_LABEL_PREFIX, origin_label};
pub use settings::JiraScope;

/// The name of the one scope a Jira tracker is pulled in.
pub const SCOPE: &str = "jql";

/// Page streams pulled at once by default (the partitions of a full pull).
pub const DEFAULT_CONCURRENCY: u32 = 6;
/// The most page streams a tracker may be pulled with at once.
pub const MAX_CONCURRENCY: u32 = 32;

/// Which Jira product the tracker runs: it decides the REST API version and the search endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Flavour {
    /// Jira Cloud: REST v3, ADF rich text, `/rest/api/3/search/jql`.
    #[default]
    Cloud,
    /// Jira Data Center / Server: REST v2, plain strings, `/rest/api/2/search`.
    DataCenter,
}

impl Flavour {
    /// The REST API root for this flavour.
    pub fn api(self) -> &'static str {
        match self {
            Flavour::Cloud => "/rest/api/3",
            Flavour::DataCenter => "/rest/api/2",
        }
    }
}

/// How twotrack writes to this Jira: where moved-in items are created, how moved-out items are closed
/// (the tracker's `targets` table in the configuration).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct JiraWrite {
    /// The project moved-in items are created in (default: the first of `scope.projects`).
    pub project: String,
    /// The issue type for features (default "Story").
    pub feature_type: String,
    /// The issue type for defects (default "Bug").
    pub defect_type: String,
    /// The transition that closes a moved-out issue, by name (default "Done"). When absent from an
    /// issue's workflow, the first transition to a status in the *done* category is used.
    pub close_transition: String,
    /// The resolution set on a moved-out issue when the transition's screen has the field (default
    /// "Won't Do").
    pub resolution: String,
    /// A label put on every item twotrack creates, so that a human triages it (default
    /// "twotrack-triage"; empty: none).
    #[serde(serialize_with = "settings::text_or_empty", deserialize_with = "settings::empty_is_none")]
    #[schemars(with = "String")]
    pub triage_label: Option<String>,
    /// The issue link type that joins two issues of this site, e.g. a report to the incident that
    /// gathers a storm (default "Relates", on every new site).
    pub link_type: String,
    /// Carry the original's labels (ServiceNow markers) to the issue created from it (default true).
    pub carry_labels: bool,
    /// The issue type for incidents; default "Incident" (a Jira Service Management ITSM project's type).
    pub incident_type: String,
    /// The issue type for requests; default "Service Request" (a Jira Service Management ITSM project's
    /// type).
    pub request_type: String,
    /// The names of the Jira priorities for ITIL priorities 1..=5 (impact x urgency, see
    /// [`service::itil_priority`]); default Jira's own: Highest, High, Medium, Low, Lowest.
    pub priority_names: [String; 5],
    /// The select field holding an incident's or request's impact, by name; default "Impact" (Jira Service
    /// Management ITSM). Left out where the site has no field of that name.
    pub impact_field: String,
    /// Its options for ITIL impact 1, 2, 3 and below (the fourth is read as 3, never written); default
    /// "Extensive / Widespread", "Significant / Large", "Moderate / Limited", "Minor / Localized".
    pub impact_options: [String; 4],
    /// The select field holding the urgency, by name; default "Urgency".
    pub urgency_field: String,
    /// Its options for ITIL urgency 1, 2, 3 and below (the fourth read as 3); default "Critical", "High",
    /// "Medium", "Low".
    pub urgency_options: [String; 4],
}

impl Default for JiraWrite {
    fn default() -> Self {
        JiraWrite {
            project: String::new(),
            feature_type: "Story".into(),
            defect_type: "Bug".into(),
            close_transition: "Done".into(),
            resolution: "Won't Do".into(),
            triage_label: Some(settings::TRIAGE_LABEL.into()),
            link_type: DEFAULT_LINK_TYPE.into(),
            carry_labels: true,
            incident_type: "Incident".into(),
            request_type: "Service Request".into(),
            priority_names: service::JIRA_PRIORITIES.map(String::from),
            impact_field: "Impact".into(),
            impact_options: service::IMPACT_OPTIONS.map(String::from),
            urgency_field: "Urgency".into(),
            urgency_options: service::URGENCY_OPTIONS.map(String::from),
        }
    }
}

impl JiraWrite {
    /// Where a new item of `kind` is created: the one decision the plan shows and `create` writes.
    /// Every kind has its issue type of `project`: features and defects (`feature_type` / `defect_type`)
    /// for a product backlog, incidents and requests (`incident_type` / `request_type`, a Jira Service
    /// Management project's types) for a service queue.
    pub fn target(&self, kind: Kind) -> Option<Target> {
        let issue_type = match kind {
            Kind::Feature => &self.feature_type,
            Kind::Defect => &self.defect_type,
            Kind::Incident => &self.incident_type,
            Kind::Request => &self.request_type,
        };
        Some(Target { container: self.project.clone(), item_type: issue_type.clone() })
    }

    /// The kinds [`JiraWrite::target`] places.
    pub fn creates(&self) -> Vec<Kind> {
        Kind::ALL.into_iter().filter(|k| self.target(*k).is_some()).collect()
    }
}

/// Everything the connector needs.
#[derive(Debug, Clone)]
pub struct JiraSettings {
    pub http: HttpSettings,
    pub flavour: Flavour,
    /// The projects and JQL pulled.
    pub scope: JiraScope,
    /// Issues per search page (Cloud returns at most 100 full issues per page).
    pub page_size: u32,
    /// Page streams pulled at once (1..=[`MAX_CONCURRENCY`]): the partitions of a full pull (`created`
    /// windows), and the most requests in flight, all within the one rate limit of `http`.
    pub concurrency: u32,
    pub write: JiraWrite,
}

impl JiraSettings {
    /// Settings with 100 issues per page and the default write settings.
    pub fn new(http: HttpSettings, flavour: Flavour, projects: Vec<String>) -> JiraSettings {
        JiraSettings {
            http,
            flavour,
            scope: JiraScope { projects, jql: None },
            page_size: 100,
            concurrency: DEFAULT_CONCURRENCY,
            write: JiraWrite::default(),
        }
    }
}

/// A Jira tracker client.
#[derive(Debug)]
pub struct JiraConnector {
    http: HttpClient,
    flavour: Flavour,
    /// The bounded restriction every pull uses.
    restriction: String,
    page_size: u32,
    concurrency: u32,
    /// Boxed: the service queue's names make it the bulk of the connector.
    write: Box<JiraWrite>,
    /// `https://site` without a trailing slash, for browse links.
    browse_base: String,
    /// The API user's profile time zone (`None`: unknown, JQL bounds use epoch milliseconds).
    time_zone: OnceCell<Option<Tz>>,
    /// The ids of the custom fields read and written (story points, impact, urgency), from `GET /field`
    /// once.
    site_fields: OnceCell<service::SiteFields>,
    /// The project whose property holds the writer heartbeat (see `lease.rs`).
    lease_project: String,
}

impl JiraConnector {
    /// Validate the settings and build the client (no network access).
    pub fn new(settings: JiraSettings) -> Result<JiraConnector, ConnectorError> {
        let tracker = settings.http.tracker.clone();
        let invalid = |message: String| ConnectorError::Invalid { tracker: tracker.clone(), message };
        let problems = settings.scope.check("scope");
        if !problems.is_empty() {
            return Err(invalid(twotrack_api::settings::SettingProblem::join(&problems)));
        }
        let restriction = jql::base_restriction(&settings.scope.projects, settings.scope.jql.as_deref())
            .ok_or_else(|| invalid("set projects or jql: Jira only answers bounded searches".into()))?;
        if settings.page_size == 0 {
            return Err(invalid("page_size must be at least 1".into()));
        }
        if !(1..=MAX_CONCURRENCY).contains(&settings.concurrency) {
            return Err(invalid(format!("concurrency {} is not within 1..={MAX_CONCURRENCY}", settings.concurrency)));
        }
        let browse_base = settings.http.base_url.as_str().trim_end_matches('/').to_string();
        let lease_project = lease::home(&settings.scope.projects, &settings.write.project);
        Ok(JiraConnector {
            http: HttpClient::new(HttpSettings { concurrency: settings.concurrency, ..settings.http })?,
            concurrency: settings.concurrency,
            flavour: settings.flavour,
            restriction,
            page_size: settings.page_size,
            write: Box::new(settings.write),
            browse_base,
            time_zone: OnceCell::new(),
            site_fields: OnceCell::new(),
            lease_project,
        })
    }

    /// The HTTP client (for its [`twotrack_api::http::HttpStats`]).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    pub fn flavour(&self) -> Flavour {
        self.flavour
    }
}

impl Connector for JiraConnector {
    fn name(&self) -> &str {
        self.http.tracker()
    }

    fn kind(&self) -> TrackerKind {
        TrackerKind::Jira
    }

    fn scopes(&self) -> Vec<String> {
        vec![SCOPE.to_string()]
    }

    async fn health(&self) -> Result<Health, ConnectorError> {
        self.check_health().await
    }

    fn concurrency(&self) -> usize {
        self.concurrency as usize
    }

    async fn partition(&self, scope: &str, streams: usize) -> Result<Partitioning, ConnectorError> {
        self.plan(scope, streams).await
    }

    async fn pull_page(&self, scope: &str, cursor: &Cursor, page_token: Option<&str>) -> Result<Page, ConnectorError> {
        self.pull(scope, cursor, page_token).await
    }

    async fn get(&self, key: &str) -> Result<Item, ConnectorError> {
        self.get_issue(key).await
    }

    async fn create(&self, item: &NewItem) -> Result<Created, ConnectorError> {
        self.create_issue(item).await
    }

    /// An internal note is a Jira Service Management internal comment (`sd.public.comment`).
    async fn comment(&self, key: &str, text: &str, visibility: NoteVisibility) -> Result<(), ConnectorError> {
        match visibility {
            NoteVisibility::Public => self.add_comment(key, text).await,
            NoteVisibility::Internal => self.add_internal_comment(key, text).await,
        }
    }

    async fn notes(&self, key: &str) -> Result<Vec<String>, ConnectorError> {
        self.comments(key).await
    }

    async fn add_label(&self, key: &str, label: &str) -> Result<(), ConnectorError> {
        self.edit_label(key, dto::LabelOp::Add(label.to_string())).await
    }

    async fn remove_label(&self, key: &str, label: &str) -> Result<(), ConnectorError> {
        self.edit_label(key, dto::LabelOp::Remove(label.to_string())).await
    }

    async fn close(&self, key: &str, note: &str) -> Result<(), ConnectorError> {
        self.close_issue(key, note).await
    }

    /// An issue link to an issue of this site, else a remote link.
    async fn link(&self, key: &str, target: &OriginRef) -> Result<(), ConnectorError> {
        if self.on_this_site(target) { self.issue_link(key, target).await } else { self.remote_link(key, target).await }
    }

    async fn find_by_origin(&self, origin_key: &str) -> Result<Vec<Item>, ConnectorError> {
        self.search_origin(origin_key).await
    }

    async fn update_fields(&self, key: &str, update: &FieldUpdate) -> Result<(), ConnectorError> {
        self.apply_field_update(key, update).await
    }

    /// Jira has no parent incident: the issue is joined to the incident that gathers its event as by
    /// [`Connector::link`] (an issue link when the parent is on this site, else a remote link).
    async fn set_parent(&self, key: &str, parent: &OriginRef) -> Result<(), ConnectorError> {
        self.link(key, parent).await
    }

    async fn creation_mark(&self) -> Result<Option<String>, ConnectorError> {
        self.mark_creations().await
    }

    async fn find_created_after(&self, origin_key: &str, mark: &str) -> Result<Vec<Item>, ConnectorError> {
        self.created_after(origin_key, mark).await
    }

    async fn read_beat(&self, name: &str) -> Result<Option<WriterBeat>, ConnectorError> {
        self.get_beat(name).await
    }

    async fn write_beat(&self, name: &str, beat: &WriterBeat) -> Result<(), ConnectorError> {
        self.put_beat(name, beat).await
    }

    async fn find_person(&self, email: &str) -> Result<Option<Person>, ConnectorError> {
        self.person_by_email(email).await
    }

    async fn remarks(&self, key: &str) -> Result<Vec<Remark>, ConnectorError> {
        self.comment_history(key).await
    }

    /// A 400 naming the `reporter` field (not on the create screen, not a user).
    fn refuses_person(&self, error: &ConnectorError) -> bool {
        people::names_reporter(error)
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
