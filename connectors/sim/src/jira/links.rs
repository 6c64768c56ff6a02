//! Issue links between two issues of the site (not remote links): the link types of a fresh site, the
//! links, and how they are shown (`GET issueLink/{id}`, `fields.issuelinks` of an issue).
//!
//! As documented (Jira Cloud platform REST API v3, "Issue links" and "Issue link types"): a link has a
//! type, an inward and an outward issue; an issue lists each of its links with the *other* issue under
//! the key of that issue's side (`outwardIssue` on the link's inward issue, `inwardIssue` on its outward
//! issue), the linked issue shown by id, key, self and a few fields (summary, status, priority, issue type).

use serde_json::{Value, json};

use super::catalog;
use super::render::View;
use super::store::{Issue, Store};

/// One issue link type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkType {
    pub id: &'static str,
    pub name: &'static str,
    pub inward: &'static str,
    pub outward: &'static str,
}

/// The link types every new Jira site has (ids as a fresh Cloud site numbers them).
pub const LINK_TYPES: [LinkType; 4] = [
    LinkType { id: "10000", name: "Blocks", inward: "is blocked by", outward: "blocks" },
    LinkType { id: "10001", name: "Cloners", inward: "is cloned by", outward: "clones" },
    LinkType { id: "10002", name: "Duplicate", inward: "is duplicated by", outward: "duplicates" },
    LinkType { id: "10003", name: "Relates", inward: "relates to", outward: "relates to" },
];

/// Looks a link type up by name (case-insensitive, as Jira matches it) or id.
pub fn find_type(name: Option<&str>, id: Option<&str>) -> Option<&'static LinkType> {
    LINK_TYPES.iter().find(|t| match (id, name) {
        (Some(id), _) => t.id == id,
        (None, Some(name)) => t.name.eq_ignore_ascii_case(name.trim()),
        (None, None) => false,
    })
}

/// One link: `outward` <outward description> `inward` (issue ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueLink {
    pub id: u64,
    pub link_type: &'static LinkType,
    pub inward: u64,
    pub outward: u64,
}

/// The links of the site.
#[derive(Debug, Clone, Default)]
pub struct Links {
    pub links: Vec<IssueLink>,
    next_id: u64,
}

impl Links {
    /// The link of this type between these two issues, if one exists (Jira keeps one per type and pair).
    pub fn find(&self, link_type: &LinkType, inward: u64, outward: u64) -> Option<&IssueLink> {
        self.links.iter().find(|l| l.link_type.id == link_type.id && l.inward == inward && l.outward == outward)
    }

    /// Adds a link and returns its id (Jira numbers links from 10000).
    pub fn add(&mut self, link_type: &'static LinkType, inward: u64, outward: u64) -> u64 {
        let id = 10000 + self.next_id;
        self.next_id += 1;
        self.links.push(IssueLink { id, link_type, inward, outward });
        id
    }

    pub fn get(&self, id: u64) -> Option<&IssueLink> {
        self.links.iter().find(|l| l.id == id)
    }

    pub fn remove(&mut self, id: u64) -> Option<IssueLink> {
        let pos = self.links.iter().position(|l| l.id == id)?;
        Some(self.links.remove(pos))
    }

    /// The links of one issue, in order of creation.
    pub fn of(&self, issue: u64) -> impl Iterator<Item = &IssueLink> {
        self.links.iter().filter(move |l| l.inward == issue || l.outward == issue)
    }
}

/// `IssueLinkType`.
pub fn render_type(view: &View<'_>, t: &LinkType) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "inward": t.inward,
        "outward": t.outward,
        "self": view.url(&format!("issueLinkType/{}", t.id)),
    })
}

/// `LinkedIssue`: the issue with a few of its fields.
fn linked_issue(view: &View<'_>, issue: &Issue) -> Value {
    json!({
        "id": issue.id.to_string(),
        "key": issue.key,
        "self": view.url(&format!("issue/{}", issue.id)),
        "fields": {
            "summary": issue.summary,
            "status": view.status(issue.status),
            "priority": view.priority(&catalog::PRIORITIES[issue.priority]),
            "issuetype": view.issue_type(issue.issue_type),
        },
    })
}

fn issue_by_id(store: &Store, id: u64) -> Option<&Issue> {
    store.find_any(&id.to_string()).map(|idx| &store.issues[idx])
}

/// `IssueLink` as `GET issueLink/{id}` shows it.
pub fn render_link(view: &View<'_>, store: &Store, link: &IssueLink) -> Value {
    let side = |id| issue_by_id(store, id).map_or(Value::Null, |i| linked_issue(view, i));
    json!({
        "id": link.id.to_string(),
        "self": view.url(&format!("issueLink/{}", link.id)),
        "type": render_type(view, link.link_type),
        "inwardIssue": side(link.inward),
        "outwardIssue": side(link.outward),
    })
}

/// The `issuelinks` field of `issue`: each link with the other issue (links to issues the user may not
/// browse are left out).
pub fn render_field(view: &View<'_>, store: &Store, issue: &Issue) -> Value {
    let entries: Vec<Value> = store
        .links
        .of(issue.id)
        .filter_map(|l| {
            let (side, other) =
                if l.outward == issue.id { ("inwardIssue", l.inward) } else { ("outwardIssue", l.outward) };
            let idx = store.find(&other.to_string())?;
            Some(json!({
                "id": l.id.to_string(),
                "self": view.url(&format!("issueLink/{}", l.id)),
                "type": render_type(view, l.link_type),
                side: linked_issue(view, &store.issues[idx]),
            }))
        })
        .collect();
    Value::Array(entries)
}
