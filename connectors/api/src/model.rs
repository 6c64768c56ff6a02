//! The canonical item model: what twotrack knows about a ticket, whatever tracker it lives in.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which vendor API a tracker speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TrackerKind {
    Jira,
    #[serde(rename = "servicenow")]
    ServiceNow,
}

/// What a tracker is for: the product backlog holds Value, the service queue holds Work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TrackerRole {
    /// A product backlog (Jira-style): features and defects, prioritised by the product owner.
    Product,
    /// A service queue (ServiceNow-style): incidents and requests, prioritised by impact x urgency.
    Service,
}

impl TrackerRole {
    /// The class of item this role is meant to hold.
    pub fn holds(self) -> Class {
        match self {
            TrackerRole::Product => Class::Value,
            TrackerRole::Service => Class::Work,
        }
    }

    /// The other role.
    pub fn other(self) -> TrackerRole {
        match self {
            TrackerRole::Product => TrackerRole::Service,
            TrackerRole::Service => TrackerRole::Product,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TrackerRole::Product => "product",
            TrackerRole::Service => "service",
        }
    }
}

/// Value (product backlog) or Work (service queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Value,
    Work,
}

impl Class {
    /// The tracker role that should hold items of this class.
    pub fn home(self) -> TrackerRole {
        match self {
            Class::Value => TrackerRole::Product,
            Class::Work => TrackerRole::Service,
        }
    }

    /// The other class.
    pub fn other(self) -> Class {
        match self {
            Class::Value => Class::Work,
            Class::Work => Class::Value,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Value => "value",
            Class::Work => "work",
        }
    }
}

/// The finer kind of an item. Feature and Defect are Value; Incident and Request are Work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Feature,
    Defect,
    Incident,
    Request,
}

impl Kind {
    pub fn class(self) -> Class {
        match self {
            Kind::Feature | Kind::Defect => Class::Value,
            Kind::Incident | Kind::Request => Class::Work,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Feature => "feature",
            Kind::Defect => "defect",
            Kind::Incident => "incident",
            Kind::Request => "request",
        }
    }

    pub const ALL: [Kind; 4] = [Kind::Feature, Kind::Defect, Kind::Incident, Kind::Request];

    /// `kinds` in words, for messages: "features and defects", "incidents, requests and features",
    /// "nothing".
    pub fn list(kinds: &[Kind], and: &str) -> String {
        let words: Vec<String> = kinds.iter().map(|k| format!("{k}s")).collect();
        match words.split_last() {
            None => "nothing".to_string(),
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} {and} {last}", rest.join(", ")),
        }
    }
}

macro_rules! display_via_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // `pad`, not `write_str`: a width in the format (`{:<8}`) is honoured.
                f.pad(self.as_str())
            }
        }
    )*};
}
display_via_as_str!(TrackerRole, Class, Kind);

impl TrackerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackerKind::Jira => "jira",
            TrackerKind::ServiceNow => "servicenow",
        }
    }
}
display_via_as_str!(TrackerKind);

/// Error for parsing one of the small enums above from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {got:?}; expected one of: {expected}")]
pub struct ParseEnumError {
    pub what: &'static str,
    pub got: String,
    pub expected: &'static str,
}

macro_rules! from_str_lower {
    ($t:ty, $what:literal, $expected:literal, { $($s:literal => $v:expr),* $(,)? }) => {
        impl FromStr for $t {
            type Err = ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($s => Ok($v),)*
                    _ => Err(ParseEnumError { what: $what, got: s.to_string(), expected: $expected }),
                }
            }
        }
    };
}
from_str_lower!(TrackerKind, "tracker kind", "jira, servicenow", { "jira" => TrackerKind::Jira, "servicenow" => TrackerKind::ServiceNow });
from_str_lower!(TrackerRole, "tracker role", "product, service", { "product" => TrackerRole::Product, "service" => TrackerRole::Service });
from_str_lower!(Class, "class", "value, work", { "value" => Class::Value, "work" => Class::Work });
from_str_lower!(Kind, "kind", "feature, defect, incident, request", {
    "feature" => Kind::Feature, "defect" => Kind::Defect, "incident" => Kind::Incident, "request" => Kind::Request
});

/// One ticket, as twotrack sees it, whatever tracker it lives in.
///
/// Connectors map vendor JSON to this; nothing above the connectors sees vendor JSON.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Item {
    /// The configured tracker name (e.g. "jira-prod"), not the vendor.
    pub tracker: String,
    /// The human key: "SHOP-123" in Jira, "INC0010001" in ServiceNow.
    pub key: String,
    /// The vendor's stable id: the Jira issue id, the ServiceNow sys_id.
    pub id: String,
    /// A link a human can open in a browser.
    pub url: String,
    /// The type as filed: the Jira issue type name ("Story", "Bug", ...) or the ServiceNow table ("incident", ...).
    pub filed_type: String,
    pub summary: String,
    /// Plain text (ADF and HTML are flattened by the connector).
    pub description: String,
    /// Jira labels; ServiceNow has none natively, its connector may map tags here.
    pub labels: Vec<String>,
    /// The status name as the tracker shows it ("In Progress", "New", ...).
    pub status: String,
    /// Whether the item is still open (not resolved, closed or cancelled).
    pub open: bool,
    pub reporter: Option<String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// The tracker's priority as text ("High", "2 - High", ...).
    pub priority: Option<String>,
    /// ITIL impact 1 (high) ..= 3 (low), where the tracker has it.
    pub impact: Option<u8>,
    /// ITIL urgency 1 (high) ..= 3 (low), where the tracker has it.
    pub urgency: Option<u8>,
    /// The queue / assignment group, where the tracker has it.
    pub queue: Option<String>,
    /// Correlation: for an item twotrack created, the key of the original it was moved from
    /// (Jira label `twotrack-from-<KEY>`, ServiceNow `correlation_id`).
    pub origin: Option<String>,
    /// Other tracker-specific signals useful to the classifier, by a stable lower-case name:
    /// `story_points`, `sprint`, `acceptance_criteria`, `caller`, `category`, `contact_type`, `resolution`, ...
    /// The names every connector fills the same way are in [`field`] (read them through the accessors,
    /// e.g. [`Item::resolution`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

/// The names of [`Item::fields`] that mean the same in every tracker (each connector maps its own
/// vendor fields to them).
pub mod field {
    /// How a closed item was resolved: the Jira resolution's name, the ServiceNow close code (as shown).
    pub const RESOLUTION: &str = "resolution";
    /// What the resolver wrote about it, where the tracker has a field for that: ServiceNow
    /// `close_notes` (Jira has none: its resolution notes are the comments).
    pub const RESOLUTION_NOTES: &str = "resolution_notes";
    /// The e-mail address of the person who reported the item (Jira `reporter.emailAddress`, where the
    /// user's privacy setting shows it; ServiceNow the caller's, or requester's, `sys_user.email`): how the
    /// same person is found in the other tracker when the item moves.
    pub const REPORTER_EMAIL: &str = "reporter_email";
    /// The components of an item (Jira), their names joined by `", "` ([`super::Item::components`]).
    pub const COMPONENTS: &str = "components";
}

impl Item {
    /// A minimal open item, for tests and for `twotrack classify` input.
    pub fn new(tracker: impl Into<String>, key: impl Into<String>, summary: impl Into<String>) -> Item {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let key = key.into();
        Item {
            tracker: tracker.into(),
            id: key.clone(),
            key,
            url: String::new(),
            filed_type: String::new(),
            summary: summary.into(),
            description: String::new(),
            labels: Vec::new(),
            status: "Open".into(),
            open: true,
            reporter: None,
            created: now,
            updated: now,
            priority: None,
            impact: None,
            urgency: None,
            queue: None,
            origin: None,
            fields: BTreeMap::new(),
        }
    }

    pub fn has_label(&self, label: &str) -> bool {
        self.labels.iter().any(|l| l.eq_ignore_ascii_case(label))
    }

    /// How the item was resolved, where the tracker says ([`field::RESOLUTION`]).
    pub fn resolution(&self) -> Option<&str> {
        self.field(field::RESOLUTION)
    }

    /// What its resolver wrote, where the tracker has a field for it ([`field::RESOLUTION_NOTES`]).
    pub fn resolution_notes(&self) -> Option<&str> {
        self.field(field::RESOLUTION_NOTES)
    }

    /// The reporter's e-mail address, where the tracker shows it ([`field::REPORTER_EMAIL`]).
    pub fn reporter_email(&self) -> Option<&str> {
        self.field(field::REPORTER_EMAIL)
    }

    /// The names of its components (Jira), where the tracker has them ([`field::COMPONENTS`]).
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.field(field::COMPONENTS).into_iter().flat_map(|c| c.split(", ")).map(str::trim).filter(|c| !c.is_empty())
    }

    /// A non-blank entry of [`Item::fields`], trimmed.
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_small_enums_print_as_their_names_and_honour_a_width() {
        assert_eq!(format!("{}", TrackerKind::ServiceNow), "servicenow");
        assert_eq!(format!("[{:<8}]", TrackerRole::Service), "[service ]");
        assert_eq!(format!("[{:>7}]", Class::Work), "[   work]");
        assert_eq!(format!("[{:^9}]", Kind::Request), "[ request ]");
    }
}
