//! The journal of a record as carried to a twin: each `comments` (public) and `work_notes` (internal)
//! entry of `sys_journal_field`, with who wrote it and when.

use serde::Deserialize;
use twotrack_api::ConnectorError;
use twotrack_api::connector::Remark;

use super::{SMALL_PAGE, ServiceNowConnector};
use crate::client::ListRequest;
use crate::dto::Value;
use crate::query;

/// A `sys_journal_field` row as carried.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EntryRow {
    sys_id: Value,
    value: Value,
    element: Value,
    sys_created_on: Value,
    sys_created_by: Value,
}

impl ServiceNowConnector {
    /// The `comments` and `work_notes` entries of the record `sys_id`, oldest first.
    pub(super) async fn journal_history(&self, sys_id: &str) -> Result<Vec<Remark>, ConnectorError> {
        let query = format!("element_id={}^ORDERBYsys_created_on", self.literal("sys_id", sys_id)?);
        let request = ListRequest {
            table: "sys_journal_field",
            query: &query,
            fields: "sys_id,value,element,sys_created_on,sys_created_by",
            limit: SMALL_PAGE,
            display_all: false,
        };
        let rows = self.client.list_all::<EntryRow>(&request).await?;
        Ok(rows.into_iter().filter_map(remark).collect())
    }
}

fn remark(row: EntryRow) -> Option<Remark> {
    let internal = match row.element.value.as_str() {
        "comments" => false,
        "work_notes" => true,
        _ => return None,
    };
    Some(Remark {
        id: row.sys_id.value,
        author: Some(row.sys_created_by.value).filter(|a| !a.is_empty()),
        created: query::parse_time(&row.sys_created_on.value),
        text: row.value.value,
        internal,
    })
}
