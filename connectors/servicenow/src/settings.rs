//! What a ServiceNow connector is configured with, and its validation.

use twotrack_api::connector::Target;
use twotrack_api::http::HttpSettings;
use twotrack_api::{ConnectorError, Kind};

use crate::query;

/// The tables pulled when none are configured.
pub const DEFAULT_TABLES: [&str; 2] = ["incident", "sc_req_item"];
/// Records per list request. ServiceNow caps a page at 10,000.
pub const DEFAULT_PAGE_SIZE: u32 = 500;
/// The largest page ServiceNow serves.
pub const MAX_PAGE_SIZE: u32 = 10_000;

/// Page streams pulled at once by default (the partitions of a full pull, and the tables side by side).
pub const DEFAULT_CONCURRENCY: u32 = 6;
/// The most page streams an instance may be pulled with at once.
pub const MAX_CONCURRENCY: u32 = 32;

/// The tables the connector knows, with the number prefix of their records (it finds a record by key
/// through the prefix). Other tables are read only if they are custom ones ([`is_custom_table`]).
pub const KNOWN_TABLES: [(&str, &str); 10] = [
    ("incident", "INC"),
    ("sc_req_item", "RITM"),
    ("sc_request", "REQ"),
    ("sc_task", "SCTASK"),
    ("problem", "PRB"),
    ("change_request", "CHG"),
    ("rm_story", "STRY"),
    ("rm_defect", "DFCT"),
    ("rm_enhancement", "ENHC"),
    ("rm_epic", "EPIC"),
];

/// The tables incidents and requests are created in (`incident_table`, `request_table`): task tables
/// whose fields and states the connector writes (short_description, impact, urgency, assignment_group,
/// correlation_id; closed with `close_state`), or custom tables extending them.
pub const WRITE_TABLES: [&str; 4] = ["incident", "sc_req_item", "sc_request", "sc_task"];

/// Agile Development 2.0 tables: product work (stories, defects, enhancements, epics). They can be read;
/// twotrack never creates records in them.
pub fn is_agile_table(table: &str) -> bool {
    table.starts_with("rm_")
}

/// A custom table: `u_...` (global scope) or `x_...` (a scoped application), as ServiceNow names them.
pub fn is_custom_table(table: &str) -> bool {
    is_table_name(table) && (table.starts_with("u_") || table.starts_with("x_"))
}

/// Whether the connector can pull `table`: one it knows, or a custom table.
pub fn is_readable_table(table: &str) -> bool {
    KNOWN_TABLES.iter().any(|(t, _)| *t == table) || is_custom_table(table)
}

/// Whether the connector can create records in `table`.
pub fn is_writable_table(table: &str) -> bool {
    WRITE_TABLES.contains(&table) || is_custom_table(table)
}

/// The tables that can be pulled, for messages ("incident, sc_req_item, ...").
pub fn readable_tables() -> impl Iterator<Item = &'static str> {
    KNOWN_TABLES.iter().map(|(t, _)| *t)
}

/// How to reach and read one ServiceNow instance.
#[derive(Debug, Clone)]
pub struct ServiceNowSettings {
    /// The instance (`https://acme.service-now.com`), credentials, rate limit, timeouts, retries.
    pub http: HttpSettings,
    /// The tables pulled, each a scope with its own cursor (default: incident, sc_req_item).
    pub tables: Vec<String>,
    /// An encoded-query filter applied to every pull (e.g. `active=true^assignment_groupISNOTEMPTY`); plain
    /// terms joined by `^` / `^OR` only: no `^NQ`, no `ORDERBY` (the connector adds its own).
    pub query: Option<String>,
    /// Records per list request (1..=10,000; default 500).
    pub page_size: u32,
    /// Page streams pulled at once (1..=[`MAX_CONCURRENCY`]): the partitions of a full pull (`sys_id`
    /// ranges), and the most requests in flight, all within the one rate limit of `http`.
    pub concurrency: u32,
    /// Where and how twotrack writes.
    pub write: ServiceNowWrite,
}

impl ServiceNowSettings {
    /// Settings with the default tables, no filter, the default page size and default write settings.
    pub fn new(http: HttpSettings) -> ServiceNowSettings {
        ServiceNowSettings {
            http,
            tables: DEFAULT_TABLES.iter().map(|t| t.to_string()).collect(),
            query: None,
            page_size: DEFAULT_PAGE_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
            write: ServiceNowWrite::default(),
        }
    }

    /// Check everything that can be checked without the network; one message naming every problem.
    pub fn validate(&self) -> Result<(), ConnectorError> {
        let mut problems = Vec::new();
        if self.tables.is_empty() {
            problems.push("no tables to pull: list at least one (e.g. incident)".to_string());
        }
        let write_tables = [&self.write.incident_table, &self.write.request_table];
        for table in self.tables.iter().chain(write_tables) {
            if !is_table_name(table) {
                problems.push(format!("{table:?} is not a table name (lower-case letters, digits and _)"));
            }
        }
        for table in write_tables.into_iter().filter(|t| is_table_name(t) && !is_writable_table(t)) {
            problems.push(format!(
                "cannot create records in {table:?}: incidents and requests go to {} or a custom table",
                WRITE_TABLES.join(", ")
            ));
        }
        if let Some(filter) = &self.query
            && let Err(e) = query::validate_filter(filter)
        {
            problems.push(e.to_string());
        }
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            problems.push(format!("page size {} is not within 1..={MAX_PAGE_SIZE}", self.page_size));
        }
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            problems.push(format!("concurrency {} is not within 1..={MAX_CONCURRENCY}", self.concurrency));
        }
        if self.write.close_state.trim().is_empty() {
            problems.push("the close state must not be empty (e.g. 7 for Closed)".to_string());
        }
        match problems.is_empty() {
            true => Ok(()),
            false => Err(ConnectorError::Invalid { tracker: self.http.tracker.clone(), message: problems.join("; ") }),
        }
    }
}

/// Where twotrack creates records and how it closes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNowWrite {
    /// Table for new incidents (default `incident`).
    pub incident_table: String,
    /// Table for new service requests (default `sc_req_item`).
    pub request_table: String,
    /// The `state` value written when closing (default `7`, Closed).
    pub close_state: String,
    /// The `state` value written when closing a record of an agile table (`rm_story`, `rm_defect`,
    /// `rm_enhancement`), whose state model differs (default `4`, Cancelled).
    pub agile_close_state: String,
    /// The `close_code` written when closing (default `Duplicate`: the work lives on in the other tracker);
    /// empty to leave it alone (tables without one, like `sc_req_item`, ignore it).
    pub close_code: String,
    /// The `close_notes` written when `close` is given an empty note.
    pub close_notes: String,
}

impl ServiceNowWrite {
    /// Where a new item of `kind` is created: the one decision the plan shows and `create` writes (a
    /// table is its own type). `None` where this instance does not take that kind: it holds service
    /// work, incidents (`incident_table`) and requests (`request_table`), so it can be a service queue.
    pub fn target(&self, kind: Kind) -> Option<Target> {
        let table = match kind {
            Kind::Incident => &self.incident_table,
            Kind::Request => &self.request_table,
            Kind::Feature | Kind::Defect => return None,
        };
        Some(Target { container: table.clone(), item_type: table.clone() })
    }

    /// The kinds [`ServiceNowWrite::target`] places.
    pub fn creates(&self) -> Vec<Kind> {
        Kind::ALL.into_iter().filter(|k| self.target(*k).is_some()).collect()
    }
}

impl Default for ServiceNowWrite {
    fn default() -> ServiceNowWrite {
        ServiceNowWrite {
            incident_table: "incident".into(),
            request_table: "sc_req_item".into(),
            close_state: "7".into(),
            agile_close_state: "4".into(),
            close_code: "Duplicate".into(),
            close_notes: "Moved to the product backlog by twotrack.".into(),
        }
    }
}

fn is_table_name(table: &str) -> bool {
    !table.is_empty()
        && table.len() <= 80
        && table.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use twotrack_api::secret::Auth;

    fn settings() -> ServiceNowSettings {
        let auth = Auth::Basic { user: "u".into(), token: "t".into() };
        ServiceNowSettings::new(HttpSettings::new("snow", "https://sn.example".parse().unwrap(), auth))
    }

    #[test]
    fn defaults_are_valid() {
        let s = settings();
        assert_eq!(s.tables, ["incident", "sc_req_item"]);
        assert_eq!(s.page_size, 500);
        assert!(s.validate().is_ok());
    }

    #[test]
    fn every_problem_is_reported_at_once_with_the_tracker() {
        let mut s = settings();
        s.tables = vec!["Incident".into()];
        s.query = Some("active=true^NQactive=false".into());
        s.page_size = 0;
        s.write.request_table = "sc req".into();
        let message = s.validate().unwrap_err().to_string();
        for part in ["snow:", "\"Incident\"", "\"sc req\"", "^NQ", "page size 0"] {
            assert!(message.contains(part), "{part} missing from {message}");
        }
        s = settings();
        s.write.incident_table = "rm_defect".into();
        assert!(s.validate().unwrap_err().to_string().contains("cannot create records in \"rm_defect\""));
        s = settings();
        s.tables.clear();
        assert!(s.validate().unwrap_err().to_string().contains("no tables"));
    }
}
