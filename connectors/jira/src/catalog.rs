//! Read-only listings an administrator checks a configuration against: projects with their issue types,
//! resolutions, and the transitions an open issue of a project offers.

use serde::Deserialize;
use twotrack_api::ConnectorError;

use crate::{Flavour, JiraConnector, dto};

/// A project and the issue types it offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectInfo {
    pub key: String,
    pub name: String,
    pub issue_types: Vec<String>,
}

/// `GET /project/{key}?expand=issueTypes`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ProjectBean {
    key: String,
    name: String,
    issue_types: Vec<dto::Named>,
}

/// `GET /project/search`: one page.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ProjectPage {
    values: Vec<ProjectBean>,
    is_last: bool,
}

/// A search answer: keys and statuses.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Found {
    issues: Vec<FoundIssue>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FoundIssue {
    key: String,
    fields: FoundFields,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FoundFields {
    status: dto::Status,
}

/// The transitions an issue in one status offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusTransitions {
    /// The issue asked.
    pub issue: String,
    /// Its status.
    pub status: String,
    pub transitions: Vec<TransitionInfo>,
}

/// One transition: its name and where it leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionInfo {
    pub name: String,
    /// The status it leads to.
    pub to: String,
    /// Whether that status is in the *done* category.
    pub to_done: bool,
}

/// Open issues sampled to find the statuses of a project's workflow.
const SAMPLE: &str = "50";

/// Most projects listed (for suggestions): 20 pages of 50.
const MAX_PROJECT_PAGES: usize = 20;

impl JiraConnector {
    /// The project `key` with its issue types; `None` when the site has no such project (or the account
    /// may not browse it).
    pub async fn project(&self, key: &str) -> Result<Option<ProjectInfo>, ConnectorError> {
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(self.invalid(format!("{key:?} is not a Jira project key")));
        }
        let path = self.api(&format!("/project/{key}"));
        match self.http.get_json::<ProjectBean>(&path, &[("expand", "issueTypes")]).await {
            Ok(response) => {
                let p = response.body;
                let issue_types = p.issue_types.into_iter().map(|t| t.name).filter(|n| !n.is_empty()).collect();
                Ok(Some(ProjectInfo { key: p.key, name: p.name, issue_types }))
            }
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The keys of the projects the account can browse (`GET /project/search`; Data Center: `GET
    /// /project`).
    pub async fn project_keys(&self) -> Result<Vec<String>, ConnectorError> {
        if self.flavour == Flavour::DataCenter {
            let all: Vec<ProjectBean> = self.http.get_json(&self.api("/project"), &[]).await?.body;
            return Ok(all.into_iter().map(|p| p.key).collect());
        }
        let mut keys = Vec::new();
        for page in 0..MAX_PROJECT_PAGES {
            let start = (page * 50).to_string();
            let params = [("startAt", start.as_str()), ("maxResults", "50")];
            let answer: ProjectPage = self.http.get_json(&self.api("/project/search"), &params).await?.body;
            let done = answer.is_last || answer.values.is_empty();
            keys.extend(answer.values.into_iter().map(|p| p.key));
            if done {
                break;
            }
        }
        Ok(keys)
    }

    /// The names of the site's resolutions (`GET /resolution`).
    pub async fn resolutions(&self) -> Result<Vec<String>, ConnectorError> {
        let all: Vec<dto::Named> = self.http.get_json(&self.api("/resolution"), &[]).await?.body;
        Ok(all.into_iter().map(|r| r.name).collect())
    }

    /// The transitions open issues of `project` offer, one issue per status (workflows offer different
    /// transitions in each status): from up to 50 open issues, most recently updated first.
    pub async fn open_transitions(&self, project: &str) -> Result<Vec<StatusTransitions>, ConnectorError> {
        let jql = format!("project = \"{project}\" AND statusCategory != Done ORDER BY updated DESC");
        let params = [("jql", jql.as_str()), ("maxResults", SAMPLE), ("fields", "status")];
        let search = match self.flavour {
            Flavour::Cloud => "/search/jql",
            Flavour::DataCenter => "/search",
        };
        let found: Found = self.http.get_json(&self.api(search), &params).await?.body;
        let mut out: Vec<StatusTransitions> = Vec::new();
        for issue in found.issues.into_iter().filter(|i| !i.key.is_empty()) {
            let status = issue.fields.status.name;
            if out.iter().any(|s| s.status == status) {
                continue;
            }
            let path = self.issue_path(&issue.key, "/transitions")?;
            let answer: dto::Transitions = self.http.get_json(&path, &[]).await?.body;
            let transitions = answer
                .transitions
                .into_iter()
                .map(|t| {
                    let to = t.to.unwrap_or_default();
                    let to_done = to.status_category.as_ref().is_some_and(|c| c.key == "done");
                    TransitionInfo { name: t.name, to: to.name, to_done }
                })
                .collect();
            out.push(StatusTransitions { issue: issue.key, status, transitions });
        }
        Ok(out)
    }
}
