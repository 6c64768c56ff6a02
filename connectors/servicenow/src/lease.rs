//! The writer heartbeat, kept as a system property (`sys_properties`, one row named after the lease,
//! its `value` the heartbeat's JSON) through the Table API. An empty `value` is no heartbeat.
//!
//! Many instances let only admins write `sys_properties`: grant the integration user read and write on
//! rows named `twotrack.writer.*` (a record ACL) and create on the table (the first claim adds the row).

use serde::{Deserialize, Serialize};
use twotrack_api::ConnectorError;
use twotrack_api::connector::WriterBeat;
use twotrack_api::http::{Idempotency, Method, Response};

use crate::client::{ListRequest, TableClient};
use crate::query;

const TABLE: &str = "sys_properties";

/// A `sys_properties` row as read with `sysparm_display_value=false`.
#[derive(Deserialize)]
struct Row {
    sys_id: String,
    #[serde(default)]
    value: String,
}

/// The body of the row's create.
#[derive(Serialize)]
struct NewRow<'a> {
    name: &'a str,
    value: String,
    #[serde(rename = "type")]
    kind: &'static str,
    description: &'static str,
}

/// The body of a renewal: only the value changes.
#[derive(Serialize)]
struct Value {
    value: String,
}

fn invalid(client: &TableClient, message: String) -> ConnectorError {
    ConnectorError::Invalid { tracker: client.tracker().to_string(), message }
}

/// A 403 says what to grant.
fn denied(client: &TableClient, name: &str, error: ConnectorError) -> ConnectorError {
    match error {
        ConnectorError::Auth { status: 403, .. } => invalid(
            client,
            format!(
                "may not read or write the system property {name} (HTTP 403): the writer heartbeat lives in \
                 sys_properties; grant the integration user read, write and create on sys_properties rows named \
                 twotrack.writer.* (a record ACL)"
            ),
        ),
        other => other,
    }
}

/// The rows named `name`, oldest first: two first claims at once may each create one, and the oldest is
/// the one every instance reads and writes from then on.
async fn rows(client: &TableClient, name: &str) -> Result<Vec<Row>, ConnectorError> {
    let literal = query::literal("property", name).map_err(|e| invalid(client, e.to_string()))?;
    let query = format!("name={literal}^ORDERBYsys_created_on^ORDERBYsys_id");
    let request = ListRequest { table: TABLE, query: &query, fields: "sys_id,value", limit: 10, display_all: false };
    client.list_all::<Row>(&request).await.map_err(|e| denied(client, name, e))
}

pub(crate) async fn read(client: &TableClient, name: &str) -> Result<Option<WriterBeat>, ConnectorError> {
    let Some(row) = rows(client, name).await?.into_iter().next() else { return Ok(None) };
    if row.value.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(&row.value).map(Some).map_err(|e| {
        invalid(
            client,
            format!("the system property {name} is not a twotrack writer heartbeat ({e}); empty its value to free it"),
        )
    })
}

pub(crate) async fn write(client: &TableClient, name: &str, beat: &WriterBeat) -> Result<(), ConnectorError> {
    let value =
        serde_json::to_string(beat).map_err(|e| invalid(client, format!("cannot encode the heartbeat: {e}")))?;
    let path = TableClient::table_path(TABLE);
    let sent: Result<Response<serde_json::Value>, ConnectorError> = match rows(client, name).await?.first() {
        Some(row) => {
            let path = format!("{path}/{}", row.sys_id);
            let query = [("sysparm_fields", "sys_id")];
            client.http.send_json(Method::PATCH, &path, &query, &Value { value }, Idempotency::Idempotent).await
        }
        None => {
            let body = NewRow { name, value, kind: "string", description: "twotrack: the instance that writes" };
            client
                .http
                .send_json(Method::POST, &path, &[("sysparm_fields", "sys_id")], &body, Idempotency::NonIdempotent)
                .await
        }
    };
    sent.map(|_| ()).map_err(|e| denied(client, name, e))
}
