//! A child incident's parent (`parent_incident`): how the reports of one outage (a storm) are gathered
//! under one incident.

use serde::Deserialize;
use twotrack_api::connector::OriginRef;
use twotrack_api::{Connector, ConnectorError};

use super::ServiceNowConnector;
use crate::client::ListRequest;
use crate::dto::{RecordBody, Value};

/// The one field read and written here: the incident table's reference to a parent incident.
const FIELD: &str = "parent_incident";

/// An incident's sys_id and parent, as read before writing.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ParentRow {
    sys_id: Option<Value>,
    parent_incident: Option<Value>,
}

impl ServiceNowConnector {
    /// Set `parent_incident` of the incident numbered `key` to the incident `parent`, with a work note
    /// naming the parent, in one PATCH; nothing is written when it is set already (so a re-run after an
    /// unknown outcome writes nothing twice). A record of another table (no `parent_incident`) is linked
    /// to the parent instead ([`Connector::link`]).
    pub(super) async fn set_parent_incident(&self, key: &str, parent: &OriginRef) -> Result<(), ConnectorError> {
        let table = self.write.incident_table.clone();
        let number = self.literal("record number", key.trim())?;
        let query = format!("number={number}");
        let fields = format!("sys_id,{FIELD}");
        let request = ListRequest { table: &table, query: &query, fields: &fields, limit: 1, display_all: false };
        let Some(row) = self.client.list::<ParentRow>(&request).await?.rows.into_iter().next() else {
            return self.link(key, parent).await;
        };
        let sys_id = row.sys_id.map(|v| v.value).filter(|id| !id.is_empty());
        let Some(sys_id) = sys_id else {
            return Err(self.invalid(format!("{table} record {key} came without a sys_id")));
        };
        let parent_id = self.home(&parent.key).await?.sys_id;
        if row.parent_incident.is_some_and(|p| p.value == parent_id) {
            return Ok(());
        }
        let body = RecordBody {
            parent_incident: Some(parent_id),
            work_notes: Some(format!(
                "twotrack: one of many reports of one event, gathered under the parent incident {} \"{}\": {}",
                parent.key, parent.summary, parent.url
            )),
            ..RecordBody::default()
        };
        self.client.patch(&table, &sys_id, &body).await
    }
}
