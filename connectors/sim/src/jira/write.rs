//! Issues written as JSON text straight from the store, for search pages.
//!
//! A search page holds up to 100 issues (1,000 in Data Center). Building each as a `serde_json::Value`
//! tree, serialising it and dropping it was most of the simulator's work during a long pull, on cores a
//! client shares with it. [`IssueWriter`] writes the bytes that [`View::issue`]'s tree serialises to (a
//! test compares them for every issue, API version and flavour): keys in the order serde_json's map
//! writes them (sorted), and the parts that many issues share (a status, an issue type, a priority, a
//! project, a user, a component, an option) rendered once a page through the [`View`] and copied after
//! that. So what an issue looks like is still said in one place, [`super::render`]; fields without a
//! shortcut here go through [`View::field`].

use std::collections::HashMap;
use std::io::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::adf::{self, Body, Inline};
use super::catalog::{self, FieldDef};
use super::render::{ApiVersion, IssueShape, View};
use super::store::{Issue, Store, User};
use super::time;

/// A part many issues of a page share, by what it is rendered from.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Part<'a> {
    Status(&'static str),
    IssueType(&'static str),
    Priority(usize),
    Project(usize),
    Resolution(&'static str),
    Impact(usize),
    Urgency(usize),
    /// A user by everything the rendering reads of it.
    User {
        account_id: &'a str,
        name: &'a str,
        display_name: &'a str,
        email: Option<&'a str>,
    },
    Component {
        project: usize,
        id: u64,
    },
}

/// Writes the issues of one answer; keeps what they share for the next.
pub struct IssueWriter<'a> {
    view: View<'a>,
    store: &'a Store,
    shape: &'a IssueShape,
    /// The shape's fields in the order a serialised map has them.
    fields: Vec<&'static FieldDef>,
    shared: HashMap<Part<'a>, Vec<u8>>,
}

impl<'a> IssueWriter<'a> {
    pub fn new(view: View<'a>, store: &'a Store, shape: &'a IssueShape) -> IssueWriter<'a> {
        let mut fields = shape.fields.clone();
        fields.sort_by_key(|f| f.id);
        IssueWriter { view, store, shape, fields, shared: HashMap::new() }
    }

    /// `[issue, ...]`.
    pub fn write_all(&mut self, out: &mut Vec<u8>, issues: impl IntoIterator<Item = &'a Issue>) {
        out.push(b'[');
        for (i, issue) in issues.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            self.write(out, issue);
        }
        out.push(b']');
    }

    /// One issue, as `serde_json::to_vec(&view.issue(store, issue, shape))` writes it.
    pub fn write(&mut self, out: &mut Vec<u8>, issue: &'a Issue) {
        let mut object = Object::start(out);
        object.key(out, "expand");
        string(out, self.shape.expand);
        if !self.fields.is_empty() {
            object.key(out, "fields");
            let mut fields = Object::start(out);
            for i in 0..self.fields.len() {
                let f = self.fields[i];
                let mark = fields.mark(out);
                fields.key(out, f.id);
                if !self.field(out, issue, f) {
                    fields.undo(out, mark);
                }
            }
            fields.end(out);
        }
        object.key(out, "id");
        string(out, &issue.id.to_string());
        object.key(out, "key");
        string(out, &issue.key);
        if self.shape.names {
            object.key(out, "names");
            out.push(b'{');
            for (i, f) in self.fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(out, f.id);
                out.push(b':');
                string(out, f.name);
            }
            out.push(b'}');
        }
        if !self.shape.properties.is_empty() {
            object.key(out, "properties");
            let mut properties = Object::start(out);
            for (k, v) in issue.properties.iter().filter(|(k, _)| self.shape.properties.wants(k)) {
                properties.key(out, k);
                json(out, v);
            }
            properties.end(out);
        }
        object.key(out, "self");
        string(out, &self.view.url(&format!("issue/{}", issue.id)));
        object.end(out);
    }

    /// The value of field `f`; `false` when the issue has no such field (nothing written).
    fn field(&mut self, out: &mut Vec<u8>, issue: &'a Issue, f: &FieldDef) -> bool {
        let store = self.store;
        let project = issue.project;
        match f.id {
            "summary" => string(out, &issue.summary),
            "description" => match &issue.description {
                Some(body) => self.body(out, body),
                None => out.extend_from_slice(b"null"),
            },
            "issuetype" => self.part(out, Part::IssueType(issue.issue_type.id), |v| v.issue_type(issue.issue_type)),
            "project" => self.part(out, Part::Project(project), |v| v.project(&store.projects[project])),
            "status" => self.part(out, Part::Status(issue.status.id()), |v| v.status(issue.status)),
            "labels" => json(out, &issue.labels),
            "priority" => {
                let priority = &catalog::PRIORITIES[issue.priority];
                self.part(out, Part::Priority(issue.priority), |v| v.priority(priority));
            }
            "reporter" => self.user(out, &issue.reporter),
            "created" => self.timestamp(out, issue.created),
            "updated" => self.timestamp(out, issue.updated),
            "resolution" => match issue.resolution {
                Some(r) => self.part(out, Part::Resolution(r.id), |v| v.resolution(r)),
                None => out.extend_from_slice(b"null"),
            },
            "resolutiondate" => match issue.resolution_date {
                Some(t) => self.timestamp(out, t),
                None => out.extend_from_slice(b"null"),
            },
            catalog::STORY_POINTS_FIELD => json(out, &issue.story_points),
            catalog::IMPACT_FIELD | catalog::URGENCY_FIELD if !store.projects[project].service => return false,
            catalog::IMPACT_FIELD => match issue.impact {
                Some(i) => self.part(out, Part::Impact(i), |v| v.option(&catalog::IMPACT_OPTIONS[i])),
                None => out.extend_from_slice(b"null"),
            },
            catalog::URGENCY_FIELD => match issue.urgency {
                Some(i) => self.part(out, Part::Urgency(i), |v| v.option(&catalog::URGENCY_OPTIONS[i])),
                None => out.extend_from_slice(b"null"),
            },
            "components" => {
                let p = &store.projects[project];
                out.push(b'[');
                for (i, c) in p.components.iter().filter(|c| issue.components.contains(&c.id)).enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.part(out, Part::Component { project, id: c.id }, |v| v.component(p, c));
                }
                out.push(b']');
            }
            id => match self.view.field(store, issue, id) {
                Some(value) => json(out, &value),
                None => return false,
            },
        }
        true
    }

    /// A part many issues share: rendered the first time, copied after.
    fn part(&mut self, out: &mut Vec<u8>, part: Part<'a>, render: impl FnOnce(&View<'a>) -> Value) {
        let view = &self.view;
        let bytes = self.shared.entry(part).or_insert_with(|| {
            let mut bytes = Vec::new();
            json(&mut bytes, &render(view));
            bytes
        });
        out.extend_from_slice(bytes);
    }

    fn user(&mut self, out: &mut Vec<u8>, user: &'a User) {
        let part = Part::User {
            account_id: &user.account_id,
            name: &user.name,
            display_name: &user.display_name,
            email: user.email.as_deref(),
        };
        self.part(out, part, |v| v.user(user));
    }

    fn timestamp(&self, out: &mut Vec<u8>, instant: DateTime<Utc>) {
        // Digits, signs, colons and a dot: nothing to escape.
        let _ = write!(out, "\"{}\"", time::display(instant, self.view.tz));
    }

    /// A description as [`View::body`] renders it.
    fn body(&self, out: &mut Vec<u8>, body: &Body) {
        match (self.view.api, body) {
            (ApiVersion::V2, Body::Text(text)) => string(out, text),
            (ApiVersion::V2, Body::Adf(doc)) => string(out, &adf::adf_to_text(doc)),
            (ApiVersion::V3, Body::Text(text)) => write_adf(out, text),
            (ApiVersion::V3, Body::Adf(doc)) => json(out, doc),
        }
    }
}

/// Plain text as the ADF document [`adf::text_to_adf`] makes of it.
fn write_adf(out: &mut Vec<u8>, text: &str) {
    let text = adf::normalize(text);
    out.extend_from_slice(b"{\"content\":[");
    for (i, paragraph) in adf::paragraphs(&text).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"content\":[");
        for (j, inline) in paragraph.enumerate() {
            if j > 0 {
                out.push(b',');
            }
            match inline {
                Inline::Text(line) => {
                    out.extend_from_slice(b"{\"text\":");
                    string(out, line);
                    out.extend_from_slice(b",\"type\":\"text\"}");
                }
                Inline::HardBreak => out.extend_from_slice(b"{\"type\":\"hardBreak\"}"),
            }
        }
        out.extend_from_slice(b"],\"type\":\"paragraph\"}");
    }
    out.extend_from_slice(b"],\"type\":\"doc\",\"version\":1}");
}

/// The keys of a JSON object being written: a comma before every key but the first.
struct Object {
    empty: bool,
}

impl Object {
    fn start(out: &mut Vec<u8>) -> Object {
        out.push(b'{');
        Object { empty: true }
    }

    fn key(&mut self, out: &mut Vec<u8>, key: &str) {
        if !self.empty {
            out.push(b',');
        }
        self.empty = false;
        string(out, key);
        out.push(b':');
    }

    /// Where the next key would start, to take it back with [`Object::undo`].
    fn mark(&self, out: &[u8]) -> (usize, bool) {
        (out.len(), self.empty)
    }

    fn undo(&mut self, out: &mut Vec<u8>, (len, empty): (usize, bool)) {
        out.truncate(len);
        self.empty = empty;
    }

    fn end(self, out: &mut Vec<u8>) {
        out.push(b'}');
    }
}

/// A JSON string.
pub fn string(out: &mut Vec<u8>, text: &str) {
    json(out, text);
}

/// Any serialisable value as serde_json writes it.
pub fn json(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    // Writing into memory cannot fail, and these values (strings, numbers, `Value`s) always serialise.
    let _ = serde_json::to_writer(out, value);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;
    use crate::generator::{GenOptions, generate};
    use crate::jira::Flavour;
    use crate::jira::render::{PropertySelection, select_fields};
    use crate::jira::store::{Comment, RemoteLink};

    /// A store with what a site has besides generated issues: a service project with components and
    /// ITSM fields, ADF and awkward text, comments, properties, remote links.
    fn store() -> Store {
        let mut store = Store::new(&[("SHOP".into(), "Web \"Shop\"".into())], &[], &[]);
        store.load(&generate(&GenOptions { seed: 7, items_per_tracker: 300, misfiled_share: 0.15 }));
        store.add_service_project("OPS", "Ops", &["Database".into(), "Network".into(), "Access".into()]);
        let user = User::from_display_name("Zoë O'Brien");
        for (n, text) in ["a\r\nb\r\n\r\nc", "\n\nonly\n\n\n", "", "tab\tquote\" back\\slash \u{1F600}", "\u{7}"]
            .into_iter()
            .enumerate()
        {
            let t = &catalog::ISSUE_TYPES[n % catalog::ISSUE_TYPES.len()];
            let idx = store.create(1, t, format!("ops {n} \"{text}\""), user.clone(), super::super::store::now());
            let issue = &mut store.issues[idx];
            issue.description = Some(Body::Text(text.into()));
            issue.impact = (n % 2 == 0).then_some(n % catalog::IMPACT_OPTIONS.len());
            issue.urgency = Some(n % catalog::URGENCY_OPTIONS.len());
            issue.components = [10000, 10002].into_iter().take(n % 3).collect();
            issue.properties.insert("twotrack".into(), json!({"moved": n, "to": "INC1"}));
            issue.properties.insert("other".into(), json!([1, "x"]));
        }
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "bold", "marks": [{"type": "strong"}]}]}]});
        let first = &mut store.issues[0];
        first.description = Some(Body::Adf(doc.clone()));
        first.comments.push(Comment {
            id: 1,
            author: User::from_display_name("Ann Lee"),
            body: Body::Adf(doc),
            created: first.created,
            updated: first.updated,
            visibility: Some(json!({"type": "role", "value": "Administrators"})),
            internal: true,
        });
        first.remote_links.push(RemoteLink {
            id: 1,
            global_id: Some("g".into()),
            application: None,
            relationship: None,
            object: json!({"url": "https://x.test"}),
        });
        store
    }

    #[test]
    fn issues_are_written_as_their_value_serialises() {
        let store = store();
        let private = Mutex::new(BTreeSet::from(["ann.lee@example.com".to_owned()]));
        let shapes = [
            // What twotrack's connector asks for.
            IssueShape::for_search(
                select_fields(
                    &["summary,description,status,issuetype,project,labels,priority,reporter,resolution,components,created,updated,customfield_10016,customfield_10050,customfield_10051".into()],
                    "id",
                ),
                false,
                PropertySelection::parse(&[]),
            ),
            IssueShape::for_search(select_fields(&["*all".into()], "id"), true, PropertySelection::All),
            IssueShape::for_get(
                select_fields(&["*navigable".into()], "id"),
                false,
                PropertySelection::parse(&["twotrack".into()]),
            ),
            IssueShape::for_search(Vec::new(), false, PropertySelection::parse(&[])),
        ];
        let mut checked = 0;
        for (flavour, api, tz) in [
            (Flavour::Cloud, ApiVersion::V3, chrono_tz::Tz::UTC),
            (Flavour::Cloud, ApiVersion::V2, chrono_tz::Tz::Europe__Berlin),
            (Flavour::DataCenter, ApiVersion::V2, chrono_tz::Tz::America__New_York),
        ] {
            let view = View { base_url: "http://127.0.0.1:1/a\"b", api, flavour, tz, private_emails: &private };
            for shape in &shapes {
                let mut writer = IssueWriter::new(view, &store, shape);
                let mut page = Vec::new();
                writer.write_all(&mut page, &store.issues);
                let expected: Vec<Value> = store.issues.iter().map(|i| view.issue(&store, i, shape)).collect();
                let expected = serde_json::to_vec(&expected).unwrap();
                if page != expected {
                    let (page, expected) = (String::from_utf8_lossy(&page), String::from_utf8_lossy(&expected));
                    let at = page.bytes().zip(expected.bytes()).position(|(a, b)| a != b).unwrap_or(0);
                    panic!(
                        "{flavour:?} {api:?} differs at byte {at}:\n written  {}\n expected {}",
                        &page[at.saturating_sub(80)..(at + 80).min(page.len())],
                        &expected[at.saturating_sub(80)..(at + 80).min(expected.len())]
                    );
                }
                checked += store.issues.len();
            }
        }
        assert!(checked > 3 * 4 * 300, "{checked}");
    }
}
