//! The in-memory issue store of the simulated Jira site.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::adf::Body;
use super::catalog::{self, IssueType, Resolution, Status};
use super::index::SearchIndex;
use super::time;
use crate::generator::{GeneratedItem, Home};

/// The first issue, project, comment and remote link id (Jira numbers entities from 10000).
const FIRST_ID: u64 = 10000;

/// A project of the site.
#[derive(Debug, Clone)]
pub struct Project {
    pub id: u64,
    pub key: String,
    pub name: String,
    /// Issues may be read but not written (writes answer 403).
    pub read_only: bool,
    /// The user may not browse the project: its issues are invisible (404, omitted from search).
    pub hidden: bool,
    next_number: u64,
    /// Project entity properties (`project/{key}/properties/{propertyKey}`).
    pub properties: BTreeMap<String, Value>,
    /// A Jira Service Management project (`projectTypeKey` `service_desk`, the ITSM issue types and the
    /// Impact and Urgency fields); else a software project.
    pub service: bool,
    /// The project's components.
    pub components: Vec<Component>,
}

/// A project component (`GET project/{key}/components`, an issue's `components`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub id: u64,
    pub name: String,
}

impl Project {
    /// The component called `name` (case-insensitive) or with id `id`.
    pub fn component(&self, name: Option<&str>, id: Option<&str>) -> Option<&Component> {
        self.components.iter().find(|c| match (name, id) {
            (Some(name), _) => c.name.eq_ignore_ascii_case(name.trim()),
            (None, Some(id)) => c.id.to_string() == id.trim(),
            (None, None) => false,
        })
    }
}

/// A user as shown in `reporter`, comment authors and `myself`.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Cloud account id.
    pub account_id: String,
    /// Data Center user name (also its `key`).
    pub name: String,
    pub display_name: String,
    pub email: Option<String>,
}

impl User {
    /// A user known only by a display name or user id, with ids derived deterministically from it.
    pub fn from_display_name(display: &str) -> User {
        let h1 = fnv1a(display.as_bytes(), 0xcbf2_9ce4_8422_2325);
        let h2 = fnv1a(display.as_bytes(), 0x8422_2325_cbf2_9ce4);
        let account_id = format!(
            "712020:{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            h1 >> 32,
            (h1 >> 16) & 0xffff,
            h1 & 0xffff,
            h2 >> 48,
            h2 & 0xffff_ffff_ffff
        );
        let name: String = display
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| if c.is_alphanumeric() || c == '@' { c } else { '.' })
            .collect();
        let email = Some(crate::people::email_of(display));
        User { account_id, name, display_name: display.trim().to_owned(), email }
    }
}

fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    bytes.iter().fold(seed, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// A comment on an issue.
#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub author: User,
    pub body: Body,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// The `visibility` object as written, if any.
    pub visibility: Option<Value>,
    /// Jira Service Management: an internal comment (written with the property `sd.public.comment`
    /// `{"internal": true}`), shown as `jsdPublic: false`.
    pub internal: bool,
}

/// A remote issue link.
#[derive(Debug, Clone)]
pub struct RemoteLink {
    pub id: u64,
    pub global_id: Option<String>,
    pub application: Option<Value>,
    pub relationship: Option<String>,
    pub object: Value,
}

/// One issue with everything attached to it.
#[derive(Debug, Clone)]
pub struct Issue {
    pub id: u64,
    pub project: usize,
    pub number: u64,
    pub key: String,
    pub issue_type: &'static IssueType,
    pub summary: String,
    pub description: Option<Body>,
    pub status: Status,
    pub resolution: Option<&'static Resolution>,
    pub resolution_date: Option<DateTime<Utc>>,
    pub labels: Vec<String>,
    /// Index into [`catalog::PRIORITIES`].
    pub priority: usize,
    pub reporter: User,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub story_points: Option<f64>,
    /// The "Impact" option (an index into [`catalog::IMPACT_OPTIONS`]; service projects only).
    pub impact: Option<usize>,
    /// The "Urgency" option (an index into [`catalog::URGENCY_OPTIONS`]).
    pub urgency: Option<usize>,
    /// Component ids of the issue's project.
    pub components: Vec<u64>,
    pub comments: Vec<Comment>,
    pub remote_links: Vec<RemoteLink>,
    pub properties: BTreeMap<String, Value>,
}

impl Issue {
    /// Sets the labels, keeping Jira's order (sorted, without duplicates).
    pub fn set_labels(&mut self, labels: impl IntoIterator<Item = String>) {
        let mut labels: Vec<String> = labels.into_iter().collect();
        labels.sort();
        labels.dedup();
        self.labels = labels;
    }
}

/// The issue store. All state of one simulator instance lives here, behind one mutex.
#[derive(Debug)]
pub struct Store {
    pub projects: Vec<Project>,
    pub issues: Vec<Issue>,
    by_key: HashMap<String, usize>,
    by_id: HashMap<u64, usize>,
    next_issue_id: u64,
    next_comment_id: u64,
    next_link_id: u64,
    next_component_id: u64,
    /// What searches see (lagging behind the writes when a search lag is set).
    pub index: SearchIndex,
    /// Issue links between issues of the site.
    pub links: super::links::Links,
    /// The files attached to issues.
    pub attachments: super::api::attachments::Attachments,
}

impl Store {
    /// An empty store with the given `(key, name)` projects.
    pub fn new(projects: &[(String, String)], read_only: &[String], hidden: &[String]) -> Store {
        let projects = projects
            .iter()
            .enumerate()
            .map(|(i, (key, name))| Project {
                id: FIRST_ID + i as u64,
                key: key.to_uppercase(),
                name: name.clone(),
                read_only: read_only.iter().any(|k| k.eq_ignore_ascii_case(key)),
                hidden: hidden.iter().any(|k| k.eq_ignore_ascii_case(key)),
                next_number: 1,
                properties: BTreeMap::new(),
                service: false,
                components: Vec::new(),
            })
            .collect();
        Store {
            projects,
            issues: Vec::new(),
            by_key: HashMap::new(),
            by_id: HashMap::new(),
            next_issue_id: FIRST_ID,
            next_comment_id: FIRST_ID,
            next_link_id: FIRST_ID,
            next_component_id: FIRST_ID,
            index: SearchIndex::default(),
            links: super::links::Links::default(),
            attachments: Default::default(),
        }
    }

    /// Adds a Jira Service Management project with `components` (see [`Project::service`]).
    pub fn add_service_project(&mut self, key: &str, name: &str, components: &[String]) {
        let components = components
            .iter()
            .map(|name| {
                self.next_component_id += 1;
                Component { id: self.next_component_id - 1, name: name.trim().to_owned() }
            })
            .collect();
        self.projects.push(Project {
            id: FIRST_ID + self.projects.len() as u64,
            key: key.to_uppercase(),
            name: name.to_owned(),
            read_only: false,
            hidden: false,
            next_number: 1,
            properties: BTreeMap::new(),
            service: true,
            components,
        });
    }

    /// Make the search index learn of the writes made since the last lock of the store.
    pub fn record_writes(&mut self) {
        self.index.record(&self.issues);
    }

    /// Set the search lag; what search sees starts from the issues as they are now.
    pub fn set_search_lag(&mut self, lag: Duration) {
        self.index.set_lag(lag, &self.issues);
    }

    /// Loads the generated items filed in Jira into the first project, in order of creation.
    ///
    /// Unknown issue types load as `Task`; a `Done` status gets resolution `Done` at the `updated` time.
    pub fn load(&mut self, items: &[GeneratedItem]) {
        if self.projects.is_empty() {
            return;
        }
        let mut items: Vec<&GeneratedItem> = items.iter().filter(|i| i.home == Home::Jira).collect();
        items.sort_by_key(|i| i.created);
        for item in items {
            let issue_type = catalog::find_issue_type(&item.filed_type)
                .filter(|t| t.offered_in(self.projects[0].service))
                .unwrap_or(&catalog::ISSUE_TYPES[2]);
            let created = time::to_millis(item.created);
            let idx =
                self.create(0, issue_type, item.summary.clone(), User::from_display_name(&item.reporter), created);
            let issue = &mut self.issues[idx];
            issue.description = (!item.description.is_empty()).then(|| Body::Text(item.description.clone()));
            issue.set_labels(item.labels.iter().filter(|l| !l.is_empty()).cloned());
            issue.story_points = item.story_points;
            issue.status = Status::find(&item.status).unwrap_or(Status::ToDo);
            issue.updated = time::to_millis(item.updated).max(created);
            if issue.status == Status::Done {
                issue.resolution = Some(&catalog::RESOLUTIONS[0]);
                issue.resolution_date = Some(issue.updated);
            }
        }
    }

    /// Creates an issue in status To Do and returns its index.
    pub fn create(
        &mut self,
        project: usize,
        issue_type: &'static IssueType,
        summary: String,
        reporter: User,
        now: DateTime<Utc>,
    ) -> usize {
        let number = self.projects[project].next_number;
        self.projects[project].next_number += 1;
        let key = format!("{}-{number}", self.projects[project].key);
        let id = self.next_issue_id;
        self.next_issue_id += 1;
        let idx = self.issues.len();
        self.issues.push(Issue {
            id,
            project,
            number,
            key: key.clone(),
            issue_type,
            summary,
            description: None,
            status: Status::ToDo,
            resolution: None,
            resolution_date: None,
            labels: Vec::new(),
            priority: catalog::DEFAULT_PRIORITY,
            reporter,
            created: now,
            updated: now,
            story_points: None,
            impact: None,
            urgency: None,
            components: Vec::new(),
            comments: Vec::new(),
            remote_links: Vec::new(),
            properties: BTreeMap::new(),
        });
        self.by_key.insert(key, idx);
        self.by_id.insert(id, idx);
        idx
    }

    /// Finds a visible issue by id or key (keys are case-insensitive).
    pub fn find(&self, id_or_key: &str) -> Option<usize> {
        self.find_any(id_or_key).filter(|&idx| self.visible(idx))
    }

    /// Finds an issue by id or key, visible or not.
    pub fn find_any(&self, id_or_key: &str) -> Option<usize> {
        match id_or_key.parse::<u64>() {
            Ok(id) => self.by_id.get(&id).copied(),
            Err(_) => self.by_key.get(&id_or_key.to_uppercase()).copied(),
        }
    }

    /// Whether the user may browse the issue at `idx`.
    pub fn visible(&self, idx: usize) -> bool {
        !self.projects[self.issues[idx].project].hidden
    }

    /// Finds a visible project by key or name (case-insensitive) or id.
    pub fn find_project(&self, text: &str) -> Option<usize> {
        self.projects.iter().position(|p| {
            !p.hidden
                && (p.key.eq_ignore_ascii_case(text) || p.name.eq_ignore_ascii_case(text) || p.id.to_string() == text)
        })
    }

    /// Marks the issue at `idx` as updated now. `updated` strictly increases on every write.
    pub fn touch(&mut self, idx: usize, now: DateTime<Utc>) {
        let issue = &mut self.issues[idx];
        issue.updated = now.max(issue.updated + Duration::milliseconds(1));
    }

    /// Allocates a comment id.
    pub fn next_comment_id(&mut self) -> u64 {
        let id = self.next_comment_id;
        self.next_comment_id += 1;
        id
    }

    /// Allocates a remote link id.
    pub fn next_link_id(&mut self) -> u64 {
        let id = self.next_link_id;
        self.next_link_id += 1;
        id
    }
}

/// The current instant at Jira's millisecond resolution.
pub fn now() -> DateTime<Utc> {
    time::to_millis(Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_and_ids_work() {
        let mut store = Store::new(&[("SHOP".into(), "Web Shop".into())], &[], &[]);
        let idx = store.create(0, &catalog::ISSUE_TYPES[3], "s".into(), User::from_display_name("Ann Lee"), now());
        assert_eq!(store.issues[idx].key, "SHOP-1");
        assert_eq!(store.find("shop-1"), Some(idx));
        assert_eq!(store.find("10000"), Some(idx));
        assert_eq!(store.find("SHOP-2"), None);
    }

    #[test]
    fn hidden_projects_are_invisible() {
        let mut store = Store::new(&[("SHOP".into(), "Web Shop".into())], &[], &["shop".into()]);
        store.create(0, &catalog::ISSUE_TYPES[3], "s".into(), User::from_display_name("Ann Lee"), now());
        assert_eq!(store.find("SHOP-1"), None);
        assert_eq!(store.find_project("SHOP"), None);
    }

    #[test]
    fn touch_strictly_increases_updated() {
        let mut store = Store::new(&[("SHOP".into(), "Web Shop".into())], &[], &[]);
        let t = now();
        let idx = store.create(0, &catalog::ISSUE_TYPES[3], "s".into(), User::from_display_name("Ann Lee"), t);
        store.touch(idx, t);
        assert_eq!(store.issues[idx].updated, t + Duration::milliseconds(1));
    }

    #[test]
    fn derived_users_are_stable() {
        let a = User::from_display_name("Ann Lee");
        assert_eq!(a, User::from_display_name("Ann Lee"));
        assert_ne!(a.account_id, User::from_display_name("Bob Day").account_id);
        assert_eq!(a.name, "ann.lee");
    }
}
