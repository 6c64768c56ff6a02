//! What a ServiceNow connector is configured with, and its validation.

use twotrack_api::connector::Target;
use twotrack_api::http::HttpSettings;
use twotrack_api::settings::{SettingProblem, blank, key_name};
use twotrack_api::{ConnectorError, Kind, TrackerRole};

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

/// The Agile Development 2.0 tables features and defects are created in (`story_table`,
/// `defect_table`) when the instance is the product backlog, or custom tables extending them.
pub const AGILE_WRITE_TABLES: [&str; 3] = ["rm_story", "rm_defect", "rm_enhancement"];

/// Agile Development 2.0 tables: product work (stories, defects, enhancements, epics), with a state
/// model of their own.
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

/// Whether the connector can create service work (incidents, requests) in `table`.
pub fn is_writable_table(table: &str) -> bool {
    WRITE_TABLES.contains(&table) || is_custom_table(table)
}

/// Whether the connector can create product work (stories, defects) in `table`.
pub fn is_agile_writable_table(table: &str) -> bool {
    AGILE_WRITE_TABLES.contains(&table) || is_custom_table(table)
}

/// The tables that can be pulled, for messages ("incident, sc_req_item, ...").
pub fn readable_tables() -> impl Iterator<Item = &'static str> {
    KNOWN_TABLES.iter().map(|(t, _)| *t)
}

/// Which records of an instance are mirrored (the tracker's `scope` table).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceNowScope {
    /// Tables to mirror, each pulled on its own (default `["incident", "sc_req_item"]`); the known
    /// ITSM and Agile 2.0 tables, or custom tables (`u_...`, `x_...`).
    pub tables: Vec<String>,
    /// An encoded query every table is filtered with, e.g. `"active=true"`: plain terms joined by `^` /
    /// `^OR` only (no `^NQ`, no `ORDERBY`: the connector adds its own order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

impl Default for ServiceNowScope {
    fn default() -> ServiceNowScope {
        ServiceNowScope { tables: DEFAULT_TABLES.iter().map(|t| t.to_string()).collect(), query: None }
    }
}

impl ServiceNowScope {
    /// Every problem of this scope, read from the table `table` (for messages: `"scope"`).
    pub fn check(&self, table: &str) -> Vec<SettingProblem> {
        let mut problems = Vec::new();
        if self.tables.is_empty() {
            problems.push(SettingProblem::new(
                "tables",
                format!("`{}` is empty: no tables to pull", key_name(table, "tables")),
                "list at least one table, e.g. [\"incident\"]",
            ));
        }
        for (i, name) in self.tables.iter().enumerate() {
            let key = format!("tables.{i}");
            if !is_table_name(name) {
                problems.push(SettingProblem::new(
                    key,
                    format!("\"{name}\" is not a ServiceNow table name"),
                    "table names are lower-case letters, digits and `_`, e.g. \"incident\" or \"sc_req_item\"",
                ));
            } else if !is_readable_table(name) {
                problems.push(
                    SettingProblem::new(
                        key,
                        format!("twotrack does not read a table \"{name}\" (every sync would fail on it)"),
                        tables_help(readable_tables(), "reads"),
                    )
                    .near(name, readable_tables()),
                );
            }
        }
        match self.query.as_deref() {
            Some(q) if q.trim().is_empty() => problems.push(SettingProblem::new(
                "query",
                format!("`{}` is empty", key_name(table, "query")),
                "write an encoded query or remove the key",
            )),
            Some(q) => {
                if let Err(e) = query::validate_filter(q) {
                    problems.push(SettingProblem::new(
                        "query",
                        e.to_string(),
                        "keep to plain terms joined by ^ and ^OR",
                    ));
                }
            }
            None => {}
        }
        problems
    }
}

/// "twotrack reads incident, sc_req_item, ..., and custom tables".
fn tables_help<'a>(known: impl Iterator<Item = &'a str>, verb: &str) -> String {
    let known: Vec<&str> = known.collect();
    format!("twotrack {verb} {}, and custom tables (u_..., x_...)", known.join(", "))
}

/// How to reach and read one ServiceNow instance.
#[derive(Debug, Clone)]
pub struct ServiceNowSettings {
    /// The instance (`https://acme.service-now.com`), credentials, rate limit, timeouts, retries.
    pub http: HttpSettings,
    /// The tables pulled (each a scope with its own cursor) and their filter.
    pub scope: ServiceNowScope,
    /// Records per list request (1..=10,000; default 500).
    pub page_size: u32,
    /// Page streams pulled at once (1..=[`MAX_CONCURRENCY`]): the partitions of a full pull (`sys_id`
    /// ranges), and the most requests in flight, all within the one rate limit of `http`.
    pub concurrency: u32,
    /// Where and how twotrack writes.
    pub write: ServiceNowWrite,
    /// What the instance is for: a service queue (incidents and requests are created in it) or, with
    /// Agile 2.0, the product backlog (stories and defects).
    pub role: TrackerRole,
}

impl ServiceNowSettings {
    /// Settings with the default tables, no filter, the default page size and default write settings.
    pub fn new(http: HttpSettings) -> ServiceNowSettings {
        ServiceNowSettings {
            http,
            scope: ServiceNowScope::default(),
            page_size: DEFAULT_PAGE_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
            write: ServiceNowWrite::default(),
            role: TrackerRole::Service,
        }
    }

    /// Check everything that can be checked without the network; one message naming every problem.
    pub fn validate(&self) -> Result<(), ConnectorError> {
        let mut problems = self.scope.check("tables");
        problems.extend(self.write.check("write"));
        let mut messages: Vec<String> = problems.into_iter().map(|p| p.message).collect();
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            messages.push(format!("page size {} is not within 1..={MAX_PAGE_SIZE}", self.page_size));
        }
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            messages.push(format!("concurrency {} is not within 1..={MAX_CONCURRENCY}", self.concurrency));
        }
        match messages.is_empty() {
            true => Ok(()),
            false => Err(ConnectorError::Invalid { tracker: self.http.tracker.clone(), message: messages.join("; ") }),
        }
    }
}

/// Where twotrack creates records and how it closes them (the tracker's `targets` table).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceNowWrite {
    /// Table for incidents (default "incident").
    pub incident_table: String,
    /// Table for requests (default "sc_req_item").
    pub request_table: String,
    /// Agile 2.0 table for features, when this instance is the product backlog (default "rm_story";
    /// "rm_enhancement" is the other choice).
    pub story_table: String,
    /// Agile 2.0 table for defects, when this instance is the product backlog (default "rm_defect").
    pub defect_table: String,
    /// The state value that closes a moved-out record (default "7", Closed).
    pub close_state: String,
    /// The state value that closes a moved-out record of an Agile 2.0 table (rm_story, rm_defect,
    /// rm_enhancement), whose states differ (default "4", Cancelled).
    pub agile_close_state: String,
    /// The close code of a moved-out record (default "Closed/Resolved by Caller"); empty to leave it
    /// alone (tables without one, like `sc_req_item`, ignore it).
    pub close_code: String,
    /// The close notes of a moved-out record, when the move gives none.
    pub close_notes: String,
    /// Carry the original's labels and components (Jira) to the record created from it, as markers:
    /// hashtag lines of its description (default true).
    pub carry_labels: bool,
}

impl ServiceNowWrite {
    /// Where a new item of `kind` is created: the one decision the plan shows and `create` writes (a
    /// table is its own type). Service work goes to `incident_table` / `request_table`; product work to
    /// the Agile 2.0 `story_table` / `defect_table` (used when the instance is the product backlog).
    pub fn target(&self, kind: Kind) -> Option<Target> {
        let table = match kind {
            Kind::Incident => &self.incident_table,
            Kind::Request => &self.request_table,
            Kind::Feature => &self.story_table,
            Kind::Defect => &self.defect_table,
        };
        Some(Target { container: table.clone(), item_type: table.clone() })
    }

    /// The kinds [`ServiceNowWrite::target`] places.
    pub fn creates(&self) -> Vec<Kind> {
        Kind::ALL.into_iter().filter(|k| self.target(*k).is_some()).collect()
    }

    /// Every problem of these write settings, read from the table `table` (for messages: `"targets"`).
    pub fn check(&self, table: &str) -> Vec<SettingProblem> {
        let mut problems = Vec::new();
        let defaults = ServiceNowWrite::default();
        let service = [("incident_table", &self.incident_table), ("request_table", &self.request_table)];
        let product = [("story_table", &self.story_table), ("defect_table", &self.defect_table)];
        for (key, value) in service.iter().chain(&product) {
            if !is_table_name(value) {
                problems.push(SettingProblem::new(
                    *key,
                    format!("\"{value}\" is not a ServiceNow table name"),
                    "table names are lower-case letters, digits and `_`, e.g. \"incident\"",
                ));
            }
        }
        for (key, value) in service.into_iter().filter(|(_, v)| is_table_name(v)) {
            let default = if key == "incident_table" { &defaults.incident_table } else { &defaults.request_table };
            if is_agile_table(value) {
                problems.push(SettingProblem::new(
                    key,
                    format!(
                        "`{}` = \"{value}\" is an Agile 2.0 table of product work: incidents and requests go to \
                         task tables",
                        key_name(table, key)
                    ),
                    format!(
                        "set `{key} = \"{default}\"` (or remove it); stories and defects go to `story_table` and \
                         `defect_table` when this instance is the product backlog"
                    ),
                ));
            } else if !is_writable_table(value) {
                problems.push(
                    SettingProblem::new(
                        key,
                        format!("twotrack cannot create records in a table \"{value}\" (every move here would fail)"),
                        tables_help(WRITE_TABLES.into_iter(), "creates incidents and requests in"),
                    )
                    .near(value, WRITE_TABLES),
                );
            }
        }
        for (key, value) in product.into_iter().filter(|(_, v)| is_table_name(v)) {
            if !is_agile_writable_table(value) {
                problems.push(
                    SettingProblem::new(
                        key,
                        format!(
                            "`{}` = \"{value}\" is not an Agile 2.0 table: features and defects go to rm_story, \
                             rm_enhancement or rm_defect",
                            key_name(table, key)
                        ),
                        tables_help(AGILE_WRITE_TABLES.into_iter(), "creates features and defects in"),
                    )
                    .near(value, AGILE_WRITE_TABLES),
                );
            }
        }
        blank(table, "close_state", &self.close_state, &defaults.close_state, &mut problems);
        blank(table, "agile_close_state", &self.agile_close_state, &defaults.agile_close_state, &mut problems);
        blank(table, "close_notes", &self.close_notes, &defaults.close_notes, &mut problems);
        problems
    }
}

impl Default for ServiceNowWrite {
    fn default() -> ServiceNowWrite {
        ServiceNowWrite {
            incident_table: "incident".into(),
            request_table: "sc_req_item".into(),
            story_table: "rm_story".into(),
            defect_table: "rm_defect".into(),
            close_state: "7".into(),
            agile_close_state: "4".into(),
            close_code: "Closed/Resolved by Caller".into(),
            close_notes: "Moved by twotrack: this now lives in the other tracker, linked here.".into(),
            carry_labels: true,
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
        assert_eq!(s.scope.tables, ["incident", "sc_req_item"]);
        assert_eq!(s.page_size, 500);
        assert!(s.validate().is_ok());
    }

    #[test]
    fn every_problem_is_reported_at_once_with_the_tracker() {
        let mut s = settings();
        s.scope.tables = vec!["Incident".into()];
        s.scope.query = Some("active=true^NQactive=false".into());
        s.page_size = 0;
        s.write.request_table = "sc req".into();
        let message = s.validate().unwrap_err().to_string();
        for part in ["snow:", "\"Incident\"", "\"sc req\"", "^NQ", "page size 0"] {
            assert!(message.contains(part), "{part} missing from {message}");
        }
        s = settings();
        s.write.incident_table = "rm_defect".into();
        assert!(s.validate().unwrap_err().to_string().contains("\"rm_defect\" is an Agile 2.0 table"));
        s = settings();
        s.write.story_table = "incident".into();
        assert!(s.validate().unwrap_err().to_string().contains("`write.story_table` = \"incident\" is not an Agile"));
        s = settings();
        s.scope.tables.clear();
        assert!(s.validate().unwrap_err().to_string().contains("no tables"));
    }
}
