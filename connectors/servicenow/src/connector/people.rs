//! People: the `sys_user` an e-mail address names, and the field of each table that says whom a record is
//! for (`caller_id` on an incident, `requested_for` on a requested item, `opened_by` on a story).

use serde::Deserialize;
use twotrack_api::ConnectorError;
use twotrack_api::connector::Person;

use super::ServiceNowConnector;
use crate::client::ListRequest;
use crate::dto::Value;

/// A `sys_user` row as looked up by e-mail.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PersonRow {
    sys_id: Value,
    name: Value,
    user_name: Value,
    email: Value,
}

/// The field of `table` naming the person a record is for: `caller_id` on incidents, `requested_for` on
/// requests and requested items, `opened_by` on the other task tables (Agile 2.0 stories and defects,
/// catalog tasks), whose only person field it is; `None` for a table without one.
pub(super) fn person_field(table: &str) -> Option<&'static str> {
    match table {
        "incident" => Some("caller_id"),
        "sc_req_item" | "sc_request" => Some("requested_for"),
        "sc_task" => Some("opened_by"),
        t if crate::settings::is_agile_table(t) => Some("opened_by"),
        _ => None,
    }
}

impl ServiceNowConnector {
    /// The one active `sys_user` whose `email` is `email` (ServiceNow compares it case-insensitively).
    /// Two active users sharing an address name nobody.
    pub(super) async fn person_by_email(&self, email: &str) -> Result<Option<Person>, ConnectorError> {
        let email = email.trim();
        if email.is_empty() || !email.contains('@') {
            return Ok(None);
        }
        let query = format!("email={}^active=true", self.literal("e-mail address", email)?);
        let request = ListRequest {
            table: "sys_user",
            query: &query,
            fields: "sys_id,name,user_name,email",
            limit: 2,
            display_all: false,
        };
        let rows = self.client.list::<PersonRow>(&request).await?.rows;
        let [row] = rows.as_slice() else { return Ok(None) };
        if row.sys_id.value.is_empty() || !row.email.value.trim().eq_ignore_ascii_case(email) {
            return Ok(None);
        }
        let display_name = [&row.name.value, &row.user_name.value, &row.sys_id.value]
            .into_iter()
            .find(|v| !v.is_empty())
            .cloned()
            .unwrap_or_default();
        Ok(Some(Person { id: row.sys_id.value.clone(), display_name, email: email.to_string() }))
    }
}

#[cfg(test)]
mod tests {
    use super::person_field;

    #[test]
    fn each_write_table_names_its_person_in_its_own_field() {
        assert_eq!(person_field("incident"), Some("caller_id"));
        assert_eq!(person_field("sc_req_item"), Some("requested_for"));
        assert_eq!(person_field("u_custom"), None);
    }
}
