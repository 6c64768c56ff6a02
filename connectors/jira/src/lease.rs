//! The writer heartbeat, kept as a project property of the project twotrack creates issues in:
//! `GET|PUT {api}/project/{projectIdOrKey}/properties/{propertyKey}` (Cloud v3 and Data Center v2 alike).
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

impl JiraConnector {
    fn beat_path(&self, name: &str) -> Result<String, ConnectorError> {
        let project = self.write.project.trim();
        if project.is_empty() || !project.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(self.invalid(format!(
                "{project:?} is not a Jira project key: set the project twotrack writes to (targets.project)"
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
                self.write.project
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
                self.write.project
            ))),
            Err(error) => Err(error),
        }
    }
}
