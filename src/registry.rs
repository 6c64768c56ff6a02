//! The only file that names every connector: builds an [`AnyConnector`] per configured tracker.
//!
//! The set of trackers is closed, so dispatch is an enum and a `match`, not a trait object.

use std::collections::BTreeMap;
use std::sync::Arc;

use twotrack_api::connector::{
    Attachment, Created, Download, FieldUpdate, Health, NewItem, NoteVisibility, OriginRef, Person, Remark, WriterBeat,
};
use twotrack_api::http::{HttpSettings, HttpStats};
use twotrack_api::{Connector, ConnectorError, Cursor, Item, Page, Partitioning, TrackerKind};
use twotrack_jira::{JiraConnector, JiraSettings};
use twotrack_servicenow::{ServiceNowConnector, ServiceNowSettings};

use crate::config::{Config, TrackerConfig, TrackerSettings};

/// A connector to any supported tracker.
pub enum AnyConnector {
    Jira(JiraConnector),
    ServiceNow(ServiceNowConnector),
}

/// Every configured tracker's connector, by name.
#[derive(Clone, Default)]
pub struct Registry {
    connectors: BTreeMap<String, Arc<AnyConnector>>,
}

impl Registry {
    /// Build a connector for every tracker in the configuration (no network traffic yet).
    pub fn build(config: &Config) -> Result<Registry, ConnectorError> {
        let mut connectors = BTreeMap::new();
        for t in &config.trackers {
            connectors.insert(t.name.clone(), Arc::new(AnyConnector::build(t)?));
        }
        Ok(Registry { connectors })
    }

    pub fn get(&self, name: &str) -> Option<Arc<AnyConnector>> {
        self.connectors.get(name).cloned()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<AnyConnector>)> {
        self.connectors.iter().map(|(k, v)| (k.as_str(), v))
    }
}

fn http_settings(t: &TrackerConfig) -> HttpSettings {
    HttpSettings {
        per_second: t.rate.per_second,
        burst: t.rate.burst,
        request_timeout: t.timeouts.request,
        connect_timeout: t.timeouts.connect,
        max_retries: t.max_retries,
        ..HttpSettings::new(t.name.clone(), t.base_url.clone(), t.auth.clone())
    }
}

impl AnyConnector {
    /// Build the connector for one tracker.
    pub fn build(t: &TrackerConfig) -> Result<AnyConnector, ConnectorError> {
        match &t.settings {
            TrackerSettings::Jira { flavour, scope, write } => {
                let settings = JiraSettings {
                    scope: scope.clone(),
                    write: write.as_ref().clone(),
                    ..JiraSettings::new(http_settings(t), *flavour, Vec::new())
                };
                let settings = JiraSettings { concurrency: t.concurrency.unwrap_or(settings.concurrency), ..settings };
                Ok(AnyConnector::Jira(JiraConnector::new(settings)?))
            }
            TrackerSettings::ServiceNow { scope, write } => {
                let settings = ServiceNowSettings {
                    scope: scope.clone(),
                    write: write.clone(),
                    role: t.role,
                    ..ServiceNowSettings::new(http_settings(t))
                };
                let settings =
                    ServiceNowSettings { concurrency: t.concurrency.unwrap_or(settings.concurrency), ..settings };
                Ok(AnyConnector::ServiceNow(ServiceNowConnector::new(settings)?))
            }
        }
    }
}

impl AnyConnector {
    /// Request counters of this connector's HTTP client (requests by status, retries, rate-limit waits).
    pub fn http_stats(&self) -> HttpStats {
        match self {
            AnyConnector::Jira(c) => c.http().stats(),
            AnyConnector::ServiceNow(c) => c.http_stats(),
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $c:ident => $e:expr) => {
        match $self {
            AnyConnector::Jira($c) => $e,
            AnyConnector::ServiceNow($c) => $e,
        }
    };
}

impl Connector for AnyConnector {
    fn name(&self) -> &str {
        dispatch!(self, c => c.name())
    }
    fn kind(&self) -> TrackerKind {
        dispatch!(self, c => c.kind())
    }
    fn scopes(&self) -> Vec<String> {
        dispatch!(self, c => c.scopes())
    }
    fn concurrency(&self) -> usize {
        dispatch!(self, c => c.concurrency())
    }
    async fn partition(&self, scope: &str, streams: usize) -> Result<Partitioning, ConnectorError> {
        dispatch!(self, c => c.partition(scope, streams).await)
    }
    async fn health(&self) -> Result<Health, ConnectorError> {
        dispatch!(self, c => c.health().await)
    }
    async fn pull_page(&self, scope: &str, cursor: &Cursor, page_token: Option<&str>) -> Result<Page, ConnectorError> {
        dispatch!(self, c => c.pull_page(scope, cursor, page_token).await)
    }
    async fn get(&self, key: &str) -> Result<Item, ConnectorError> {
        dispatch!(self, c => c.get(key).await)
    }
    async fn create(&self, item: &NewItem) -> Result<Created, ConnectorError> {
        dispatch!(self, c => c.create(item).await)
    }
    async fn comment(&self, key: &str, text: &str, visibility: NoteVisibility) -> Result<(), ConnectorError> {
        dispatch!(self, c => c.comment(key, text, visibility).await)
    }
    async fn notes(&self, key: &str) -> Result<Vec<String>, ConnectorError> {
        dispatch!(self, c => c.notes(key).await)
    }
    async fn add_label(&self, key: &str, label: &str) -> Result<(), ConnectorError> {
        dispatch!(self, c => c.add_label(key, label).await)
    }
    async fn remove_label(&self, key: &str, label: &str) -> Result<(), ConnectorError> {
        dispatch!(self, c => c.remove_label(key, label).await)
    }
    async fn close(&self, key: &str, note: &str) -> Result<(), ConnectorError> {
        dispatch!(self, c => c.close(key, note).await)
    }
    async fn link(&self, key: &str, target: &OriginRef) -> Result<(), ConnectorError> {
        dispatch!(self, c => c.link(key, target).await)
    }
    async fn find_by_origin(&self, origin_key: &str) -> Result<Vec<Item>, ConnectorError> {
        dispatch!(self, c => c.find_by_origin(origin_key).await)
    }
    async fn update_fields(&self, key: &str, update: &FieldUpdate) -> Result<(), ConnectorError> {
        dispatch!(self, c => c.update_fields(key, update).await)
    }
    async fn set_parent(&self, key: &str, parent: &OriginRef) -> Result<(), ConnectorError> {
        dispatch!(self, c => c.set_parent(key, parent).await)
    }

    async fn creation_mark(&self) -> Result<Option<String>, ConnectorError> {
        dispatch!(self, c => c.creation_mark().await)
    }
    async fn find_created_after(&self, origin_key: &str, mark: &str) -> Result<Vec<Item>, ConnectorError> {
        dispatch!(self, c => c.find_created_after(origin_key, mark).await)
    }

    async fn read_beat(&self, name: &str) -> Result<Option<WriterBeat>, ConnectorError> {
        dispatch!(self, c => c.read_beat(name).await)
    }
    async fn write_beat(&self, name: &str, beat: &WriterBeat) -> Result<(), ConnectorError> {
        dispatch!(self, c => c.write_beat(name, beat).await)
    }

    async fn find_person(&self, email: &str) -> Result<Option<Person>, ConnectorError> {
        dispatch!(self, c => c.find_person(email).await)
    }
    async fn remarks(&self, key: &str) -> Result<Vec<Remark>, ConnectorError> {
        dispatch!(self, c => c.remarks(key).await)
    }
    fn refuses_person(&self, error: &ConnectorError) -> bool {
        dispatch!(self, c => c.refuses_person(error))
    }

    async fn attachments(&self, key: &str) -> Result<Vec<Attachment>, ConnectorError> {
        dispatch!(self, c => c.attachments(key).await)
    }
    async fn download(&self, key: &str, attachment: &Attachment, limit: u64) -> Result<Download, ConnectorError> {
        dispatch!(self, c => c.download(key, attachment, limit).await)
    }
    async fn attach(&self, key: &str, name: &str, mime: &str, content: Vec<u8>) -> Result<Attachment, ConnectorError> {
        dispatch!(self, c => c.attach(key, name, mime, content).await)
    }
}
