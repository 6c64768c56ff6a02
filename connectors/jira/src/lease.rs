//! The writer heartbeat, kept as a project property: `GET|PUT {api}/project/{projectIdOrKey}/properties/{propertyKey}`
//! (Cloud v3 and Data Center v2 alike) of the first pulled project in key order (a project twotrack reads
//! and writes: it closes and labels the originals there), or of the write project when the scope is JQL
//! alone. Every configuration against the site picks the same project whatever the order it lists them in.
//! Reading needs *Browse Projects*; writing needs *Administer Projects* on that project (or *Administer
//! Jira*), as the REST reference documents.

use serde::Deserialize;
use serde::de::IgnoredAny;
use twotrack_api::ConnectorError;
use twotrack_api::connector::WriterBeat;
use twotrack_api::http::{Idempotency, Method};

use crate::JiraConnector;

/// `GET .../properties/{propertyKey}`: `{"key": "...", "value": <any JSON>}`.
#[derive(Deserialize)]
struct Property {
    value: serde_json::Value,
}

/// The project that holds the heartbeat: the first of `projects` in key order, else `write_project`.
pub(crate) fn home(projects: &[String], write_project: &str) -> String {
    let first = projects.iter().map(|p| p.trim().to_ascii_uppercase()).filter(|p| !p.is_empty()).min();
    first.unwrap_or_else(|| write_project.trim().to_ascii_uppercase())
}

impl JiraConnector {
    fn beat_path(&self, name: &str) -> Result<String, ConnectorError> {
        let project = self.lease_project.as_str();
        if project.is_empty() || !project.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(self.invalid(format!(
                "{project:?} is not a Jira project key to keep the writer heartbeat in: set scope.projects or \
                 targets.project"
            )));
        }
        if name.is_empty() || name.len() > 255 || !name.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        {
            return Err(self.invalid(format!("{name:?} is not a usable project property key")));
        }
        Ok(self.api(&format!("/project/{project}/properties/{name}")))
    }

    pub(crate) async fn get_beat(&self, name: &str) -> Result<Option<WriterBeat>, ConnectorError> {
        let path = self.beat_path(name)?;
        let property: Property = match self.http.get_json(&path, &[]).await {
            Ok(response) => response.body,
            Err(ConnectorError::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(error),
        };
        serde_json::from_value(property.value).map(Some).map_err(|e| {
            self.invalid(format!(
                "the project property {name} of {} is not a twotrack writer heartbeat ({e}); if nothing else uses \
                 that key, delete it (DELETE {path})",
                self.lease_project
            ))
        })
    }

    pub(crate) async fn put_beat(&self, name: &str, beat: &WriterBeat) -> Result<(), ConnectorError> {
        let path = self.beat_path(name)?;
        match self.http.send_json::<IgnoredAny, _>(Method::PUT, &path, &[], beat, Idempotency::Idempotent).await {
            Ok(_) => Ok(()),
            Err(ConnectorError::Auth { status: 403, .. }) => Err(self.invalid(format!(
                "may not set project properties of {} (HTTP 403): the writer heartbeat is a project property, \
                 which needs the Administer Projects permission on that project; grant it to the account",
                self.lease_project
            ))),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::home;

    #[test]
    fn the_heartbeat_lives_in_the_first_pulled_project_whatever_the_order() {
        let listed = |keys: &[&str]| keys.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        assert_eq!(home(&listed(&["shop", "APP"]), "SHOP"), "APP");
        assert_eq!(home(&listed(&["APP", "SHOP"]), "GONE"), "APP");
        assert_eq!(home(&[], "shop"), "SHOP", "a JQL scope: the write project");
    }
}
