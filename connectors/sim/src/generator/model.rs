//! What the generator produces: items as a human would file them, plus the ground truth kept aside.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which simulated tracker an item is filed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Home {
    Jira,
    #[serde(rename = "servicenow")]
    ServiceNow,
}

/// The truth about an item, never visible through the simulated APIs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    /// "value" or "work".
    pub class: String,
    /// "feature", "defect", "incident" or "request".
    pub kind: String,
    /// For work: "database", "access", "network", "infrastructure", "end-user" or "service-desk".
    pub queue: Option<String>,
    /// For work: ITIL impact 1 (high) ..= 3 (low).
    pub impact: Option<u8>,
    /// For work: ITIL urgency 1 (high) ..= 3 (low).
    pub urgency: Option<u8>,
}

/// One generated ticket as filed by a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratedItem {
    /// Where it was filed (may be the wrong tracker: that is the point).
    pub home: Home,
    /// Jira: issue type name ("Story", "Bug", "Task", "Improvement"); ServiceNow: table
    /// ("incident", "sc_req_item", "sc_task", "rm_story", "rm_defect", "rm_enhancement").
    pub filed_type: String,
    pub summary: String,
    /// Empty when absent from a loaded file.
    #[serde(default)]
    pub description: String,
    /// Jira labels (no spaces). Empty for ServiceNow, and when absent from a loaded file.
    #[serde(default)]
    pub labels: Vec<String>,
    /// A display name or user id of the reporter / caller.
    pub reporter: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// Status as a tracker would show it: Jira "To Do" / "In Progress" / "Done"; ServiceNow state number as text.
    pub status: String,
    /// ServiceNow only: the assignment group name as filed (possibly wrong), impact and urgency as filed.
    pub assignment_group: Option<String>,
    pub impact: Option<u8>,
    pub urgency: Option<u8>,
    /// ServiceNow only: category ("software", "hardware", "network", "database", "inquiry"), contact_type ("email", "phone", "self-service", "walk-in").
    pub category: Option<String>,
    pub contact_type: Option<String>,
    /// Jira only: story points.
    pub story_points: Option<f64>,
    pub truth: Truth,
}
