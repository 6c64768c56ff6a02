//! The Jira simulator: Jira Cloud (REST API v3 with ADF bodies, and v2 with plain-text bodies) or Jira Data
//! Center (v2 only), written from Atlassian's documentation (`shared/specs`, API-NOTES.md §1 and §4.1).
//!
//! # Endpoints (under `/rest/api/3` and `/rest/api/2` in Cloud; `/rest/api/2` and `/rest/api/latest` in DC)
//! - `GET serverInfo`, `GET myself`, `GET field`, `GET project/search`, `GET project/{key}`,
//!   `GET project/{key}/components`, `GET issuetype`,
//!   `GET resolution`, `GET priority`, `GET status`.
//! - Cloud: `GET|POST search/jql` (bounded JQL, opaque `nextPageToken` over a stable snapshot, omitted on
//!   the last page, `isLast`, fields default `id`, `maxResults` 50 by default, at most 100 with fields or 5000
//!   for ids only), `POST search/approximate-count`; legacy `GET|POST search` answers 410.
//! - DC: `GET|POST search` with `startAt`/`maxResults`/`total` (fields default `*navigable`, at most 1000).
//! - `GET|PUT issue/{idOrKey}`, `POST issue`; `GET|POST issue/{k}/comment`, `GET issue/{k}/comment/{id}`;
//!   `GET|POST issue/{k}/transitions`; `GET|POST|DELETE issue/{k}/remotelink` (`?globalId=`),
//!   `GET|DELETE issue/{k}/remotelink/{id}`; `GET issue/{k}/properties`, `GET|PUT|DELETE issue/{k}/properties/{p}`.
//! - Issue links between issues of the site: `POST issueLink`, `GET|DELETE issueLink/{id}`,
//!   `GET issueLinkType`, `GET issueLinkType/{id}` (the four types of a new site: Blocks, Cloners,
//!   Duplicate, Relates), and `fields.issuelinks` on issues (see `api/issuelinks.rs`).
//! - Attachments: `POST issue/{k}/attachments` (multipart, part `file`, only with `X-Atlassian-Token:
//!   no-check`, else 403 "XSRF check failed"), `GET attachment/{id}`, `GET attachment/content/{id}` (Cloud:
//!   a 303 unless `redirect=false`), and `fields.attachment` on issues (see `api/attachments.rs`).
//! - `GET user/search` (Cloud `query=`, Data Center `username=`; see `api::users`); a create's
//!   `fields.reporter` names a user (`accountId` in Cloud, `name` in DC), unless the project's create screen
//!   lacks it ([`JiraOptions::reporter_locked_projects`], a 400 like Jira's).
//!
//! # Semantics worth knowing
//! - Timestamps are rendered like `2024-01-15T10:30:00.000+0000` in the user's time zone
//!   ([`JiraOptions::time_zone`]), which is also the zone of JQL date literals (minute precision).
//! - `updated` strictly increases (millisecond resolution) on every write to an issue: field edits,
//!   comments, transitions, remote links and properties.
//! - Search results without `fields` carry `id`, `key`, `self` and `expand` only.
//! - Issues in [`JiraOptions::hidden_projects`] are invisible (404, omitted from search, unknown in JQL);
//!   writes to issues in [`JiraOptions::read_only_projects`] answer 403.
//! - Workflow: To Do -(11 Start Progress)-> In Progress -(21 Done)-> Done; In Progress -(31 Stop Progress)->
//!   To Do; Done -(41 Reopen)-> To Do. Done sets a resolution (`fields.resolution`, default `Done`; also
//!   `Won't Do`, `Duplicate`) and `resolutiondate`; leaving Done clears them.
//! - Story points are the custom field [`STORY_POINTS_FIELD`] (`customfield_10016`, listed by `GET field`).
//! - A project is a software project, or a Jira Service Management project ([`ServiceProject`]:
//!   `projectTypeKey` `service_desk`) with the ITSM issue types and the select fields Impact and Urgency
//!   (`{"value": ...}` or `{"id": ...}` on create and edit, an option object back; on a software project's
//!   screens they are not: a 400 "cannot be set"). A create offers only the types of its project's scheme
//!   (else 400 `errors.issuetype`). `components: [{"name"}|{"id"}]` names components of the project
//!   (`GET project/{key}/components`); another is a 400 with `errors.components` ("Component name 'X' is
//!   not valid").
//!
//! # JQL subset
//! Field names and keywords are case-insensitive.
//! - `project`, `issuetype`/`type`, `status`, `statusCategory`/`category`, `priority`, `resolution`: `=`, `!=`,
//!   `in`, `not in`, `is [not] EMPTY`; values by name or id; `resolution = Unresolved`.
//! - `key`/`issuekey`, `id`: `=`, `!=`, `in`, `not in`, `<`, `<=`, `>`, `>=` (within a project).
//! - `labels`: `=`, `!=`, `in`, `not in`, `is [not] EMPTY` (case-insensitive).
//! - `created`, `updated`, `resolutiondate`/`resolved`, `"Story Points"`/`cf[10016]`: `=`, `!=`, `<`, `<=`, `>`,
//!   `>=`, `is [not] EMPTY`; dates `"yyyy-MM-dd HH:mm"`, `"yyyy/MM/dd HH:mm"`, `"yyyy-MM-dd"`, `"yyyy/MM/dd"`
//!   (user's time zone), epoch milliseconds, periods such as `-5d` or `"-4w 2d"`.
//! - `AND`, `OR`, `NOT`, parentheses; `ORDER BY updated|created|key [ASC|DESC], ...` (default key DESC).
//!
//! As in Jira, `!=` and `not in` never match an empty field, and unknown projects, types, statuses or issue
//! keys are errors. Everything outside the subset (functions, `~`, `WAS`/`CHANGED`, other fields and sort keys)
//! is a 400 `{"errorMessages":[...],"errors":{}}`, never a silently wrong answer.

mod adf;
mod api;
mod catalog;
mod edit;
mod error;
mod index;
mod jql;
mod links;
mod render;
mod store;
mod time;
mod write;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono_tz::Tz;
use serde_json::Value;

use crate::SimAuth;
use crate::faults::{FaultSpec, Faults};
use crate::generator::GeneratedItem;
use crate::log::RequestLog;
use crate::server::{BoundListener, SimCore, SimServer};

pub use catalog::{IMPACT_FIELD, STORY_POINTS_FIELD, URGENCY_FIELD};

/// Which Jira product is simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavour {
    /// Jira Cloud: `/rest/api/3` (ADF) and `/rest/api/2` (plain text), enhanced search, account ids.
    #[default]
    Cloud,
    /// Jira Data Center: `/rest/api/2` only, offset search with `total`, user names.
    DataCenter,
}

/// A Jira Service Management project (IT service management template): `projectTypeKey`
/// `service_desk`, the issue types Incident, Service Request, Service Request with Approvals, Change,
/// Problem, Task and Sub-task (a software project offers Epic, Story, Task, Bug, Improvement and
/// Sub-task), the select fields Impact ([`IMPACT_FIELD`]) and Urgency ([`URGENCY_FIELD`]) on its screens,
/// and its components (`GET project/{key}/components`, `components` of its issues).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProject {
    pub key: String,
    pub name: String,
    /// Component names (an issue's component is its assignment group).
    pub components: Vec<String>,
}

impl ServiceProject {
    /// `ITS` "IT Service Desk" with a component per assignment group of the generator
    /// ([`crate::generator::ASSIGNMENT_GROUPS`]: "Database Administration", "Identity & Access", ...).
    pub fn it_service_desk() -> ServiceProject {
        ServiceProject {
            key: "ITS".to_owned(),
            name: "IT Service Desk".to_owned(),
            components: crate::generator::ASSIGNMENT_GROUPS.iter().map(|(_, group)| (*group).to_owned()).collect(),
        }
    }
}

/// How to start a Jira simulator.
#[derive(Debug, Clone)]
pub struct JiraOptions {
    pub flavour: Flavour,
    /// The credentials accepted (basic and bearer).
    pub auth: SimAuth,
    /// Items to load; only those with `home == Jira` are used. They go into the first project, keyed in
    /// order of creation.
    pub items: Vec<GeneratedItem>,
    /// `(key, name)` of each project; the first receives the loaded items.
    pub projects: Vec<(String, String)>,
    /// Jira Service Management projects added after `projects` (see [`ServiceProject`]).
    pub service_projects: Vec<ServiceProject>,
    /// Projects whose issues may be read but not written (writes answer 403).
    pub read_only_projects: Vec<String>,
    /// Projects the user may not browse (their issues are invisible).
    pub hidden_projects: Vec<String>,
    /// Faults to inject from the start (changeable later through [`JiraSim::faults`]).
    pub faults: FaultSpec,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The API user's profile time zone: timestamps are rendered and JQL dates interpreted in it.
    /// Fixed offsets are available as `Etc/GMT±N` zones.
    pub time_zone: Tz,
    /// How long after a write search still sees the issue as it was before (and a new issue not at all),
    /// as Jira Cloud documents for its search ("recent updates might not be immediately visible"); ids in
    /// a search's `reconcileIssues` are seen as they are. Zero (the default): search sees writes at once.
    /// Reads by key, comments, properties and remote links are always current. Changeable while running
    /// with [`JiraSim::set_search_lag`].
    pub search_lag: std::time::Duration,
    /// E-mail addresses their users' privacy setting hides (Cloud): left out of every representation of
    /// the user, and matched by `user/search` only in full.
    pub private_emails: Vec<String>,
    /// Projects whose create screen lacks `reporter`: a create that sets it answers 400 ("Field
    /// 'reporter' cannot be set. It is not on the appropriate screen, or unknown.").
    pub reporter_locked_projects: Vec<String>,
}

impl Default for JiraOptions {
    fn default() -> Self {
        JiraOptions {
            flavour: Flavour::Cloud,
            auth: SimAuth::default(),
            items: Vec::new(),
            projects: vec![("SHOP".to_owned(), "Web Shop".to_owned())],
            service_projects: Vec::new(),
            read_only_projects: Vec::new(),
            hidden_projects: Vec::new(),
            faults: FaultSpec::default(),
            port: 0,
            time_zone: Tz::UTC,
            search_lag: std::time::Duration::ZERO,
            private_emails: Vec::new(),
            reporter_locked_projects: Vec::new(),
        }
    }
}

fn lag(lag: std::time::Duration) -> chrono::Duration {
    // At most a century: far beyond any test, and `now - lag` stays a valid time.
    chrono::Duration::from_std(lag).unwrap_or(chrono::Duration::MAX).min(chrono::Duration::days(36_500))
}

/// State shared by all handlers of one simulator.
#[derive(Debug)]
struct Shared {
    store: Mutex<store::Store>,
    snapshots: Mutex<api::search::Snapshots>,
    base_url: String,
    flavour: Flavour,
    tz: Tz,
    /// The API user (`myself`, author of comments and reporter of created issues).
    me: store::User,
    /// Everyone the site knows (`user/search`, a create's `reporter`).
    users: Mutex<api::users::Directory>,
    /// See [`JiraOptions::private_emails`] (lower case).
    private_emails: Mutex<std::collections::BTreeSet<String>>,
    /// See [`JiraOptions::reporter_locked_projects`].
    reporter_locked_projects: Mutex<Vec<String>>,
}

impl Shared {
    /// The store, locked, its search index told of the writes made under the previous lock.
    fn store(&self) -> MutexGuard<'_, store::Store> {
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        store.record_writes();
        store
    }

    fn view(&self, api: render::ApiVersion) -> render::View<'_> {
        render::View {
            base_url: &self.base_url,
            api,
            flavour: self.flavour,
            tz: self.tz,
            private_emails: &self.private_emails,
        }
    }

    fn users(&self) -> MutexGuard<'_, api::users::Directory> {
        self.users.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running Jira simulator.
#[derive(Debug)]
pub struct JiraSim {
    shared: Arc<Shared>,
    core: SimCore,
    server: SimServer,
}

impl JiraSim {
    /// Binds 127.0.0.1 and starts serving.
    pub async fn start(opts: JiraOptions) -> std::io::Result<JiraSim> {
        let listener = BoundListener::bind(opts.port).await?;
        let base_url = listener.base_url();
        let mut store = store::Store::new(&opts.projects, &opts.read_only_projects, &opts.hidden_projects);
        for project in &opts.service_projects {
            store.add_service_project(&project.key, &project.name, &project.components);
        }
        store.load(&opts.items);
        store.set_search_lag(lag(opts.search_lag));
        let user_name = opts.auth.user_name();
        let mut me = store::User::from_display_name(&user_name);
        me.display_name = "Twotrack Integration".to_owned();
        let mut users = api::users::Directory::default();
        users.add(me.clone());
        for item in opts.items.iter().filter(|i| i.home == crate::generator::Home::Jira) {
            users.add(store::User::from_display_name(&item.reporter));
        }
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            snapshots: Mutex::new(api::search::Snapshots::default()),
            base_url: base_url.clone(),
            flavour: opts.flavour,
            tz: opts.time_zone,
            me,
            users: Mutex::new(users),
            private_emails: Mutex::new(opts.private_emails.iter().map(|e| e.trim().to_lowercase()).collect()),
            reporter_locked_projects: Mutex::new(opts.reporter_locked_projects.clone()),
        });
        let core = SimCore::new(opts.auth, opts.faults);
        let vendor = Arc::new(api::vendor::JiraStyle::new(opts.flavour, &base_url));
        let router = core.layer(api::router(Arc::clone(&shared)), vendor, &[]);
        let server = listener.serve(router, &core);
        Ok(JiraSim { shared, core, server })
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The simulated product.
    pub fn flavour(&self) -> Flavour {
        self.shared.flavour
    }

    /// The log of every request answered.
    pub fn log(&self) -> RequestLog {
        self.core.log.clone()
    }

    /// The fault handle (set or clear faults while running).
    pub fn faults(&self) -> Faults {
        self.core.faults.clone()
    }

    /// The full stored issue (by key or id, visible or not) as v2 JSON (plain-text bodies): all fields
    /// including `comment`, all properties, and its remote links under `remotelinks`.
    pub fn issue(&self, id_or_key: &str) -> Option<Value> {
        let store = self.shared.store();
        let idx = store.find_any(id_or_key)?;
        Some(self.shared.view(render::ApiVersion::V2).full_issue(&store, &store.issues[idx]))
    }

    /// Every stored issue as [`JiraSim::issue`] shows it, in order of creation.
    pub fn issues(&self) -> Vec<Value> {
        let store = self.shared.store();
        let view = self.shared.view(render::ApiVersion::V2);
        store.issues.iter().map(|issue| view.full_issue(&store, issue)).collect()
    }

    /// Set how long writes stay invisible to search (see [`JiraOptions::search_lag`]); what search sees
    /// starts from the issues as they are now.
    pub fn set_search_lag(&self, search_lag: std::time::Duration) {
        self.shared.store().set_search_lag(lag(search_lag));
    }

    /// The search lag in effect.
    pub fn search_lag(&self) -> std::time::Duration {
        self.shared.store().index.lag().to_std().unwrap_or_default()
    }

    /// Expire every `nextPageToken` handed out so far, as if their 7 days had passed (they answer 400
    /// "The provided next page token is invalid or expired.").
    pub fn expire_page_tokens(&self) {
        self.shared.snapshots.lock().unwrap_or_else(PoisonError::into_inner).expire_all();
    }

    /// Adds a user to the site (as `user/search` finds them, and a create may name them as reporter);
    /// their e-mail address is `email`. Returns their account id (Cloud) or user name (Data Center).
    pub fn add_user(&self, display_name: &str, email: &str) -> String {
        let mut user = store::User::from_display_name(email);
        user.display_name = display_name.trim().to_owned();
        let id = match self.shared.flavour {
            Flavour::Cloud => user.account_id.clone(),
            Flavour::DataCenter => user.name.clone(),
        };
        self.shared.users().add(user);
        id
    }

    /// Hide `email` from every representation of its user, as their privacy setting may (Cloud).
    pub fn hide_email(&self, email: &str) {
        self.shared.private_emails.lock().unwrap_or_else(PoisonError::into_inner).insert(email.trim().to_lowercase());
    }

    /// Take `reporter` off the create screen of `project` (see [`JiraOptions::reporter_locked_projects`]).
    pub fn lock_reporter(&self, project: &str) {
        self.shared.reporter_locked_projects.lock().unwrap_or_else(PoisonError::into_inner).push(project.to_owned());
    }

    /// Stops the server (in-flight requests finish, hangs are cut short).
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
