//! Jira's JSON, as the REST API v2/v3 documents it (only the parts twotrack reads or writes).
//!
//! Unknown fields are ignored; everything that may be absent or `null` is an `Option` or defaults.
//! `description` and comment bodies are kept as raw JSON: a string in v2, an ADF document in v3.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `IssueBean`: an issue from `GET /issue/{key}` or a search.
#[derive(Debug, Clone, Deserialize)]
pub struct Issue {
    pub id: String,
    pub key: String,
    #[serde(default)]
    pub fields: IssueFields,
}

/// The `fields` of an issue (the ones requested).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IssueFields {
    pub summary: Option<String>,
    /// v2: a string (wiki markup); v3: an ADF document; either may be `null`.
    pub description: Option<Value>,
    pub status: Option<Status>,
    pub issuetype: Option<Named>,
    pub project: Option<Project>,
    pub labels: Vec<String>,
    pub priority: Option<Named>,
    pub reporter: Option<User>,
    pub resolution: Option<Named>,
    pub components: Vec<Named>,
    pub created: Option<String>,
    pub updated: Option<String>,
    /// Custom fields (`customfield_10016`, ...), by id.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// Anything with a name (issue type, priority, resolution, component).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Named {
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Status {
    #[serde(default)]
    pub name: String,
    #[serde(rename = "statusCategory")]
    pub status_category: Option<StatusCategory>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatusCategory {
    /// `new`, `indeterminate` or `done`.
    #[serde(default)]
    pub key: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Project {
    #[serde(default)]
    pub key: String,
}

/// A user (`reporter`, comment `author`, `GET /myself`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub display_name: Option<String>,
    pub email_address: Option<String>,
    /// Data Center user name.
    pub name: Option<String>,
    pub account_id: Option<String>,
    /// The profile time zone (an IANA name) JQL dates are read in.
    pub time_zone: Option<String>,
    /// Whether the account is active (user search answers it).
    pub active: Option<bool>,
    /// Cloud: `atlassian`, `app` or `customer`.
    pub account_type: Option<String>,
}

/// `GET /serverInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServerInfo {
    pub version: String,
    /// `Cloud`, `Server` or `DataCenter` (absent on old servers).
    pub deployment_type: Option<String>,
    pub server_title: Option<String>,
}

/// `GET /field` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct Field {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// `POST /rest/api/3/search/jql` body (`SearchAndReconcileRequestBean`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchJqlRequest<'a> {
    pub jql: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<&'a str>,
    pub max_results: u32,
    pub fields: &'a [String],
}

/// `SearchAndReconcileResults`: `nextPageToken` is omitted on the last page.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchJqlResponse {
    #[serde(default)]
    pub issues: Vec<Issue>,
    pub next_page_token: Option<String>,
    pub is_last: Option<bool>,
}

/// The offset search of Data Center (`GET /rest/api/2/search`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchOffsetResponse {
    #[serde(default)]
    pub start_at: u64,
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub issues: Vec<Issue>,
}

/// `POST /issue` body (`IssueUpdateDetails`), also `PUT /issue/{key}` with `update`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IssueUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<CreateFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateOps>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CreateFields {
    pub project: KeyRef,
    pub issuetype: NameRef,
    pub summary: String,
    /// A string (v2) or an ADF document (v3).
    pub description: Value,
    pub labels: Vec<String>,
    /// The person the issue is created for: `{"accountId"}` (Cloud) or `{"name"}` (Data Center). Absent:
    /// the API user reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporter: Option<UserRef>,
    /// Jira's priority, by name (incidents and requests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<NameRef>,
    /// Components by name (an incident's or request's queue).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<NameRef>,
    /// Custom fields by id (`{"customfield_10050": {"value": "Significant / Large"}}`).
    #[serde(flatten)]
    pub custom: BTreeMap<String, Value>,
}

/// A user in a write: Cloud names users by account id, Data Center by user name.
#[derive(Debug, Clone, Serialize)]
pub enum UserRef {
    #[serde(rename = "accountId")]
    AccountId(String),
    #[serde(rename = "name")]
    Name(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyRef {
    pub key: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NameRef {
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdRef {
    pub id: String,
}

/// `update` operations (`{"labels":[{"add":"x"}]}`, `{"comment":[{"add":{"body":..}}]}`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdateOps {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<LabelOp>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub comment: Vec<CommentOp>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelOp {
    Add(String),
    Remove(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct CommentOp {
    pub add: CommentBody,
}

/// `POST /issue/{key}/comment` body.
#[derive(Debug, Clone, Serialize)]
pub struct CommentBody {
    pub body: Value,
    /// `[{"key":"sd.public.comment","value":{"internal":true}}]` makes a Jira Service Management comment
    /// internal (elsewhere it is a plain property of the comment).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Value>,
}

/// `201` of `POST /issue`.
#[derive(Debug, Clone, Deserialize)]
pub struct CreatedIssue {
    pub id: String,
    pub key: String,
}

/// `GET /issue/{key}/comment` page.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentPage {
    #[serde(default)]
    pub comments: Vec<Comment>,
    #[serde(default)]
    pub start_at: u64,
    #[serde(default)]
    pub total: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Comment {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub body: Value,
    #[serde(default)]
    pub author: Option<User>,
    #[serde(default)]
    pub created: Option<String>,
    /// Jira Service Management: `false` for an internal comment (absent outside service projects).
    #[serde(default, rename = "jsdPublic")]
    pub jsd_public: Option<bool>,
}

/// `GET /issue/{key}/transitions`.
#[derive(Debug, Clone, Deserialize)]
pub struct Transitions {
    #[serde(default)]
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Transition {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub to: Option<Status>,
    /// Screen fields, present with `expand=transitions.fields`, by field id.
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
}

/// `POST /issue/{key}/transitions` body.
#[derive(Debug, Clone, Serialize)]
pub struct DoTransition {
    pub transition: IdRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<ResolutionFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateOps>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResolutionFields {
    pub resolution: NameRef,
}

/// `POST /issue/{key}/remotelink` body (`RemoteIssueLinkRequest`), upserted by `globalId`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteLink {
    pub global_id: String,
    pub application: RemoteApplication,
    pub relationship: String,
    pub object: RemoteObject,
}

#[derive(Debug, Clone, Serialize)]
pub struct RemoteApplication {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RemoteObject {
    pub url: String,
    pub title: String,
    pub summary: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_jql_page_reads_with_and_without_a_token() {
        let page: SearchJqlResponse = serde_json::from_str(
            r#"{"issues":[{"expand":"","id":"10002","key":"ED-1","self":"https://x/rest/api/3/issue/10002",
                "fields":{"summary":"s","updated":"2024-01-15T00:00:00.000+0000","customfield_10016":3.0}}],
                "nextPageToken":"abc","isLast":false}"#,
        )
        .unwrap();
        assert_eq!(page.next_page_token.as_deref(), Some("abc"));
        assert_eq!(page.issues[0].fields.other.get("customfield_10016"), Some(&serde_json::json!(3.0)));
        let last: SearchJqlResponse = serde_json::from_str(r#"{"issues":[],"isLast":true}"#).unwrap();
        assert!(last.next_page_token.is_none());
    }

    #[test]
    fn update_bodies_serialize_like_the_docs() {
        let labels = IssueUpdate {
            update: Some(UpdateOps {
                labels: vec![LabelOp::Add("a".into()), LabelOp::Remove("b".into())],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&labels).unwrap(),
            serde_json::json!({"update":{"labels":[{"add":"a"},{"remove":"b"}]}})
        );
        let request = SearchJqlRequest {
            jql: "project = A",
            next_page_token: None,
            max_results: 100,
            fields: &["summary".into()],
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({"jql":"project = A","maxResults":100,"fields":["summary"]})
        );
    }

    #[test]
    fn a_service_create_carries_priority_components_and_select_fields() {
        let fields = CreateFields {
            project: KeyRef { key: "ITS".into() },
            issuetype: NameRef { name: "Incident".into() },
            summary: "s".into(),
            description: Value::String("d".into()),
            labels: Vec::new(),
            reporter: None,
            priority: Some(NameRef { name: "High".into() }),
            components: vec![NameRef { name: "Network".into() }],
            custom: [("customfield_10050".to_string(), serde_json::json!({"value": "Significant / Large"}))].into(),
        };
        assert_eq!(
            serde_json::to_value(&fields).unwrap(),
            serde_json::json!({"project":{"key":"ITS"},"issuetype":{"name":"Incident"},"summary":"s","description":"d",
                "labels":[],"priority":{"name":"High"},"components":[{"name":"Network"}],
                "customfield_10050":{"value":"Significant / Large"}})
        );
    }
}
