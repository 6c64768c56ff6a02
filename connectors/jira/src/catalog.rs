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

/// A search answer, keys only.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Keys {
    issues: Vec<KeyOnly>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct KeyOnly {
    key: String,
}

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

    /// The transitions an open issue of `project` offers (`GET /issue/{key}/transitions`), with that
    /// issue's key; `None` when the project has no open issue to ask about. Workflows differ by status,
    /// so this is what closing an issue in that status would find.
    pub async fn open_issue_transitions(&self, project: &str) -> Result<Option<(String, Vec<String>)>, ConnectorError> {
        let jql = format!("project = \"{project}\" AND statusCategory != Done ORDER BY updated DESC");
        let params = [("jql", jql.as_str()), ("maxResults", "1"), ("fields", "status")];
        let search = match self.flavour {
            Flavour::Cloud => "/search/jql",
            Flavour::DataCenter => "/search",
        };
        let found: Keys = self.http.get_json(&self.api(search), &params).await?.body;
        let Some(issue) = found.issues.into_iter().map(|i| i.key).find(|k| !k.is_empty()) else { return Ok(None) };
        let path = self.issue_path(&issue, "/transitions")?;
        let transitions: dto::Transitions = self.http.get_json(&path, &[]).await?.body;
        Ok(Some((issue, transitions.transitions.into_iter().map(|t| t.name).collect())))
    }
}
