//! JSON representations of issues and their parts, per API version and flavour.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use super::Flavour;
use super::adf::Body;
use super::catalog::{self, FIELDS, FieldDef, IssueType, Priority, Resolution, SelectOption, Status};
use super::store::{Comment, Component, Issue, Project, RemoteLink, Store, User};
use super::time;

/// The `expand` string Jira puts on a fetched issue.
const ISSUE_EXPAND: &str = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations";

/// The REST API version a request came in through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// `/rest/api/2`: plain-text (wiki markup) bodies.
    V2,
    /// `/rest/api/3`: ADF bodies.
    V3,
}

impl ApiVersion {
    pub fn segment(self) -> &'static str {
        match self {
            ApiVersion::V2 => "2",
            ApiVersion::V3 => "3",
        }
    }
}

/// Everything a representation depends on besides the data.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub base_url: &'a str,
    pub api: ApiVersion,
    pub flavour: Flavour,
    pub tz: Tz,
    /// The (lower-case) e-mail addresses their users' privacy setting hides (Cloud).
    pub private_emails: &'a std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl View<'_> {
    /// `{base}/rest/api/{version}/{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/rest/api/{}/{path}", self.base_url, self.api.segment())
    }

    pub fn timestamp(&self, instant: DateTime<Utc>) -> String {
        time::format(instant, self.tz)
    }

    pub fn body(&self, body: &Body) -> Value {
        match self.api {
            ApiVersion::V2 => Value::String(body.to_text()),
            ApiVersion::V3 => body.to_adf(),
        }
    }

    /// Whether a user's privacy setting hides `email` (Cloud).
    pub fn hides(&self, email: &str) -> bool {
        let private = self.private_emails.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        !private.is_empty() && private.contains(&email.to_lowercase())
    }

    pub fn user(&self, user: &User) -> Value {
        match self.flavour {
            Flavour::Cloud => {
                let mut shown = json!({
                    "self": self.url(&format!("user?accountId={}", user.account_id)),
                    "accountId": user.account_id,
                    "accountType": "atlassian",
                    "displayName": user.display_name,
                    "active": true,
                    "timeZone": self.tz.name(),
                });
                // A hidden address is left out, not null (the profile visibility rules).
                let email = user.email.as_ref().filter(|e| !self.hides(e));
                if let (Some(map), Some(email)) = (shown.as_object_mut(), email) {
                    map.insert("emailAddress".into(), json!(email));
                }
                shown
            }
            Flavour::DataCenter => json!({
                "self": self.url(&format!("user?username={}", user.name)),
                "name": user.name,
                "key": user.name,
                "emailAddress": user.email,
                "displayName": user.display_name,
                "active": true,
                "timeZone": self.tz.name(),
            }),
        }
    }

    pub fn project(&self, project: &Project) -> Value {
        json!({
            "self": self.url(&format!("project/{}", project.id)),
            "id": project.id.to_string(),
            "key": project.key,
            "name": project.name,
            "projectTypeKey": if project.service { "service_desk" } else { "software" },
            "simplified": false,
        })
    }

    /// A component as `GET project/{key}/components` and an issue's `components` show it.
    pub fn component(&self, project: &Project, component: &Component) -> Value {
        json!({
            "self": self.url(&format!("component/{}", component.id)),
            "id": component.id.to_string(),
            "name": component.name,
            "description": "",
            "assigneeType": "PROJECT_DEFAULT",
            "realAssigneeType": "PROJECT_DEFAULT",
            "isAssigneeTypeValid": false,
            "project": project.key,
            "projectId": project.id,
        })
    }

    /// A select field's option as an issue shows it.
    pub fn option(&self, option: &SelectOption) -> Value {
        json!({"self": self.url(&format!("customFieldOption/{}", option.id)), "value": option.value, "id": option.id})
    }

    pub fn issue_type(&self, t: &IssueType) -> Value {
        json!({
            "self": self.url(&format!("issuetype/{}", t.id)),
            "id": t.id,
            "description": t.description,
            "iconUrl": format!("{}/images/icons/issuetypes/{}.svg", self.base_url, t.name.to_lowercase()),
            "name": t.name,
            "subtask": t.subtask,
            "hierarchyLevel": t.hierarchy_level,
        })
    }

    pub fn status(&self, status: Status) -> Value {
        let category = status.category();
        json!({
            "self": self.url(&format!("status/{}", status.id())),
            "description": status.description(),
            "iconUrl": format!("{}/images/icons/statuses/generic.png", self.base_url),
            "name": status.name(),
            "id": status.id(),
            "statusCategory": {
                "self": self.url(&format!("statuscategory/{}", category.id)),
                "id": category.id,
                "key": category.key,
                "colorName": category.color,
                "name": category.name,
            },
        })
    }

    pub fn resolution(&self, r: &Resolution) -> Value {
        json!({"self": self.url(&format!("resolution/{}", r.id)), "id": r.id, "description": r.description, "name": r.name})
    }

    pub fn priority(&self, p: &Priority) -> Value {
        json!({
            "self": self.url(&format!("priority/{}", p.id)),
            "iconUrl": format!("{}/images/icons/priorities/{}.svg", self.base_url, p.name.to_lowercase()),
            "name": p.name,
            "id": p.id,
        })
    }

    pub fn comment(&self, issue: &Issue, comment: &Comment) -> Value {
        let mut out = json!({
            "self": self.url(&format!("issue/{}/comment/{}", issue.id, comment.id)),
            "id": comment.id.to_string(),
            "author": self.user(&comment.author),
            "body": self.body(&comment.body),
            "updateAuthor": self.user(&comment.author),
            "created": self.timestamp(comment.created),
            "updated": self.timestamp(comment.updated),
            "jsdPublic": !comment.internal,
        });
        if let (Some(visibility), Some(map)) = (&comment.visibility, out.as_object_mut()) {
            map.insert("visibility".into(), visibility.clone());
        }
        out
    }

    /// The `comment` field of an issue: the first page of its comments.
    pub fn comment_page(&self, issue: &Issue) -> Value {
        let comments: Vec<Value> = issue.comments.iter().map(|c| self.comment(issue, c)).collect();
        json!({
            "comments": comments,
            "self": self.url(&format!("issue/{}/comment", issue.id)),
            "maxResults": comments.len(),
            "total": comments.len(),
            "startAt": 0,
        })
    }

    pub fn remote_link(&self, issue: &Issue, link: &RemoteLink) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(link.id));
        out.insert("self".into(), json!(self.url(&format!("issue/{}/remotelink/{}", issue.key, link.id))));
        if let Some(global_id) = &link.global_id {
            out.insert("globalId".into(), json!(global_id));
        }
        if let Some(application) = &link.application {
            out.insert("application".into(), application.clone());
        }
        if let Some(relationship) = &link.relationship {
            out.insert("relationship".into(), json!(relationship));
        }
        out.insert("object".into(), link.object.clone());
        Value::Object(out)
    }

    /// One field's value, or `None` for an unknown field id.
    pub fn field(&self, store: &Store, issue: &Issue, id: &str) -> Option<Value> {
        Some(match id {
            "summary" => json!(issue.summary),
            "description" => issue.description.as_ref().map_or(Value::Null, |b| self.body(b)),
            "issuetype" => self.issue_type(issue.issue_type),
            "project" => self.project(&store.projects[issue.project]),
            "status" => self.status(issue.status),
            "labels" => json!(issue.labels),
            "priority" => self.priority(&catalog::PRIORITIES[issue.priority]),
            "reporter" => self.user(&issue.reporter),
            "created" => json!(self.timestamp(issue.created)),
            "updated" => json!(self.timestamp(issue.updated)),
            "resolution" => issue.resolution.map_or(Value::Null, |r| self.resolution(r)),
            "resolutiondate" => issue.resolution_date.map_or(Value::Null, |t| json!(self.timestamp(t))),
            catalog::STORY_POINTS_FIELD => issue.story_points.map_or(Value::Null, |p| json!(p)),
            // The ITSM fields exist in service projects only (elsewhere Jira leaves them out).
            catalog::IMPACT_FIELD | catalog::URGENCY_FIELD if !store.projects[issue.project].service => return None,
            catalog::IMPACT_FIELD => issue.impact.map_or(Value::Null, |i| self.option(&catalog::IMPACT_OPTIONS[i])),
            catalog::URGENCY_FIELD => issue.urgency.map_or(Value::Null, |i| self.option(&catalog::URGENCY_OPTIONS[i])),
            "components" => {
                let project = &store.projects[issue.project];
                let shown = project.components.iter().filter(|c| issue.components.contains(&c.id));
                Value::Array(shown.map(|c| self.component(project, c)).collect())
            }
            "comment" => self.comment_page(issue),
            "issuelinks" => super::links::render_field(self, store, issue),
            "attachment" => super::api::attachments::render_field(self, store, issue),
            _ => return None,
        })
    }

    /// An issue with the selected fields, the requested properties, and optionally `names`.
    pub fn issue(&self, store: &Store, issue: &Issue, shape: &IssueShape) -> Value {
        let mut out = Map::new();
        out.insert("expand".into(), json!(shape.expand));
        out.insert("id".into(), json!(issue.id.to_string()));
        out.insert("self".into(), json!(self.url(&format!("issue/{}", issue.id))));
        out.insert("key".into(), json!(issue.key));
        if !shape.fields.is_empty() {
            let fields: Map<String, Value> = shape
                .fields
                .iter()
                .filter_map(|f| self.field(store, issue, f.id).map(|v| (f.id.to_owned(), v)))
                .collect();
            out.insert("fields".into(), Value::Object(fields));
        }
        if shape.names {
            let names: Map<String, Value> = shape.fields.iter().map(|f| (f.id.to_owned(), json!(f.name))).collect();
            out.insert("names".into(), Value::Object(names));
        }
        if !shape.properties.is_empty() {
            let properties: Map<String, Value> = issue
                .properties
                .iter()
                .filter(|(k, _)| shape.properties.wants(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            out.insert("properties".into(), Value::Object(properties));
        }
        Value::Object(out)
    }

    /// The full stored issue for test assertions: all fields, remote links and properties.
    pub fn full_issue(&self, store: &Store, issue: &Issue) -> Value {
        let shape = IssueShape {
            fields: FIELDS.iter().collect(),
            names: false,
            properties: PropertySelection::All,
            expand: ISSUE_EXPAND,
        };
        let mut out = self.issue(store, issue, &shape);
        if let Some(map) = out.as_object_mut() {
            let links: Vec<Value> = issue.remote_links.iter().map(|l| self.remote_link(issue, l)).collect();
            map.insert("remotelinks".into(), Value::Array(links));
        }
        out
    }
}

/// Which issue properties to include.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertySelection {
    All,
    Keys(Vec<String>),
}

impl PropertySelection {
    pub fn is_empty(&self) -> bool {
        matches!(self, PropertySelection::Keys(keys) if keys.is_empty())
    }

    pub fn wants(&self, key: &str) -> bool {
        match self {
            PropertySelection::All => true,
            PropertySelection::Keys(keys) => keys.iter().any(|k| k == key),
        }
    }

    /// Parses the `properties` parameter (`*all`, keys, `-key` exclusions are ignored).
    pub fn parse(values: &[String]) -> PropertySelection {
        let keys: Vec<String> = split_list(values).filter(|k| !k.starts_with('-')).map(str::to_owned).collect();
        if keys.iter().any(|k| k == "*all") { PropertySelection::All } else { PropertySelection::Keys(keys) }
    }
}

/// What to put in an issue representation.
#[derive(Debug, Clone)]
pub struct IssueShape {
    pub fields: Vec<&'static FieldDef>,
    pub names: bool,
    pub properties: PropertySelection,
    /// The `expand` attribute of the issue.
    pub expand: &'static str,
}

impl IssueShape {
    /// The shape of a fetched issue (`GET /issue/{key}`).
    pub fn for_get(fields: Vec<&'static FieldDef>, names: bool, properties: PropertySelection) -> IssueShape {
        IssueShape { fields, names, properties, expand: ISSUE_EXPAND }
    }

    /// The shape of a search hit.
    pub fn for_search(fields: Vec<&'static FieldDef>, names: bool, properties: PropertySelection) -> IssueShape {
        IssueShape { fields, names, properties, expand: "" }
    }
}

/// Splits repeated and comma-separated list parameters into trimmed, non-empty items.
pub fn split_list(values: &[String]) -> impl Iterator<Item = &str> {
    values.iter().flat_map(|v| v.split(',')).map(str::trim).filter(|s| !s.is_empty())
}

/// Resolves a `fields` parameter: `*all`, `*navigable`, field ids, `-id` exclusions; `id` and `key` add
/// nothing. Unknown ids are ignored, as Jira does. When only exclusions are given they apply to `default`.
pub fn select_fields(values: &[String], default: &str) -> Vec<&'static FieldDef> {
    let mut items: Vec<&str> = split_list(values).collect();
    if items.iter().all(|i| i.starts_with('-')) {
        items.insert(0, default);
    }
    let mut wanted = vec![false; FIELDS.len()];
    let mut excluded = vec![false; FIELDS.len()];
    for item in items {
        let (target, value) = match item.strip_prefix('-') {
            Some(rest) => (&mut excluded, rest),
            None => (&mut wanted, item),
        };
        for (i, field) in FIELDS.iter().enumerate() {
            let hit = match value {
                "*all" => true,
                "*navigable" => field.navigable,
                other => field.id == other,
            };
            target[i] |= hit;
        }
    }
    FIELDS.iter().enumerate().filter(|(i, _)| wanted[*i] && !excluded[*i]).map(|(_, f)| f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(values: &[&str], default: &str) -> Vec<&'static str> {
        let values: Vec<String> = values.iter().map(|s| (*s).to_owned()).collect();
        select_fields(&values, default).iter().map(|f| f.id).collect()
    }

    #[test]
    fn selects_fields_like_jira() {
        assert!(ids(&[], "id").is_empty());
        assert!(ids(&["id", "key"], "id").is_empty());
        assert_eq!(ids(&["summary,labels", "updated"], "id"), ["summary", "labels", "updated"]);
        let navigable = ids(&["*navigable"], "id");
        assert!(navigable.contains(&"summary") && !navigable.contains(&"comment"));
        let all = ids(&["*all", "-comment", "-description"], "id");
        assert!(all.contains(&"summary") && !all.contains(&"comment") && !all.contains(&"description"));
        assert!(ids(&["-comment"], "*all").contains(&"status"));
        assert_eq!(ids(&["nosuchfield"], "id"), Vec::<&str>::new());
    }

    #[test]
    fn parses_property_selections() {
        assert_eq!(PropertySelection::parse(&["a,b".into()]), PropertySelection::Keys(vec!["a".into(), "b".into()]));
        assert_eq!(PropertySelection::parse(&["*all".into()]), PropertySelection::All);
    }
}
