//! The fixed configuration of the simulated Jira site: workflow, statuses, resolutions, issue types,
//! priorities and the field catalogue.
//!
//! Ids follow a freshly created Jira Cloud site (company-managed software project), so clients see
//! realistic values. The workflow is the small one issue 3 asks for:
//!
//! ```text
//! To Do --Start Progress(11)--> In Progress --Done(21)--> Done
//!   ^                              |                        |
//!   +-------Stop Progress(31)------+                        |
//!   +-------------------Reopen(41)--------------------------+
//! ```
//!
//! The `Done` transition sets a resolution (default `Done`); leaving `Done` clears it.

/// A status category as Jira reports it (`statusCategory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Category {
    pub id: u32,
    pub key: &'static str,
    pub name: &'static str,
    pub color: &'static str,
}

pub const CATEGORY_NEW: Category = Category { id: 2, key: "new", name: "To Do", color: "blue-gray" };
pub const CATEGORY_INDETERMINATE: Category =
    Category { id: 4, key: "indeterminate", name: "In Progress", color: "yellow" };
pub const CATEGORY_DONE: Category = Category { id: 3, key: "done", name: "Done", color: "green" };
pub const CATEGORIES: [Category; 3] = [CATEGORY_NEW, CATEGORY_INDETERMINATE, CATEGORY_DONE];

/// The three statuses of the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    ToDo,
    InProgress,
    Done,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::ToDo, Status::InProgress, Status::Done];

    pub fn id(self) -> &'static str {
        match self {
            Status::ToDo => "10000",
            Status::InProgress => "3",
            Status::Done => "10001",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Status::ToDo => "To Do",
            Status::InProgress => "In Progress",
            Status::Done => "Done",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Status::ToDo => "",
            Status::InProgress => "This issue is being actively worked on at the moment by the assignee.",
            Status::Done => "",
        }
    }

    pub fn category(self) -> Category {
        match self {
            Status::ToDo => CATEGORY_NEW,
            Status::InProgress => CATEGORY_INDETERMINATE,
            Status::Done => CATEGORY_DONE,
        }
    }

    /// Looks a status up by name (case-insensitive) or id.
    pub fn find(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(text) || s.id() == text)
    }
}

/// One workflow transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub id: &'static str,
    pub name: &'static str,
    pub from: Status,
    pub to: Status,
}

pub const TRANSITIONS: [Transition; 4] = [
    Transition { id: "11", name: "Start Progress", from: Status::ToDo, to: Status::InProgress },
    Transition { id: "21", name: "Done", from: Status::InProgress, to: Status::Done },
    Transition { id: "31", name: "Stop Progress", from: Status::InProgress, to: Status::ToDo },
    Transition { id: "41", name: "Reopen", from: Status::Done, to: Status::ToDo },
];

/// A resolution (`resolution` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

pub const RESOLUTIONS: [Resolution; 3] = [
    Resolution { id: "10000", name: "Done", description: "Work has been completed on this issue." },
    Resolution { id: "10001", name: "Won't Do", description: "This issue won't be actioned." },
    Resolution { id: "10002", name: "Duplicate", description: "The problem is a duplicate of an existing issue." },
];

/// Looks a resolution up by name (case-insensitive) or id.
pub fn find_resolution(text: &str) -> Option<&'static Resolution> {
    RESOLUTIONS.iter().find(|r| r.name.eq_ignore_ascii_case(text) || r.id == text)
}

/// Which projects offer an issue type: its issue type scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Software and service projects alike.
    Any,
    /// Software projects (projectTypeKey `software`).
    Software,
    /// Jira Service Management projects (`service_desk`, the ITSM template).
    Service,
}

/// An issue type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueType {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub subtask: bool,
    pub hierarchy_level: i32,
    pub scheme: Scheme,
}

impl IssueType {
    /// Whether a project (a service project or not) offers this type.
    pub fn offered_in(&self, service: bool) -> bool {
        match self.scheme {
            Scheme::Any => true,
            Scheme::Software => !service,
            Scheme::Service => service,
        }
    }
}

const fn itsm(id: &'static str, name: &'static str, description: &'static str) -> IssueType {
    IssueType { id, name, description, subtask: false, hierarchy_level: 0, scheme: Scheme::Service }
}

pub const ISSUE_TYPES: [IssueType; 11] = [
    IssueType {
        id: "10000",
        name: "Epic",
        description: "A big user story that needs to be broken down.",
        subtask: false,
        hierarchy_level: 1,
        scheme: Scheme::Software,
    },
    IssueType {
        id: "10001",
        name: "Story",
        description: "Functionality or a feature expressed as a user goal.",
        subtask: false,
        hierarchy_level: 0,
        scheme: Scheme::Software,
    },
    IssueType {
        id: "10002",
        name: "Task",
        description: "A small, distinct piece of work.",
        subtask: false,
        hierarchy_level: 0,
        scheme: Scheme::Any,
    },
    IssueType {
        id: "10003",
        name: "Bug",
        description: "A problem or error.",
        subtask: false,
        hierarchy_level: 0,
        scheme: Scheme::Software,
    },
    IssueType {
        id: "10004",
        name: "Improvement",
        description: "An improvement or enhancement to an existing feature or task.",
        subtask: false,
        hierarchy_level: 0,
        scheme: Scheme::Software,
    },
    IssueType {
        id: "10005",
        name: "Sub-task",
        description: "A small piece of work that's part of a larger task.",
        subtask: true,
        hierarchy_level: -1,
        scheme: Scheme::Any,
    },
    itsm("10006", "Incident", "For system outages or incidents. Created by Jira Service Management."),
    itsm("10007", "Service Request", "Created by Jira Service Management."),
    itsm(
        "10008",
        "Service Request with Approvals",
        "For requests that require approval. Created by Jira Service Management.",
    ),
    itsm("10009", "Change", "For system upgrades or changes. Created by Jira Service Management."),
    itsm("10010", "Problem", "Track underlying causes of incidents. Created by Jira Service Management."),
];

/// Looks an issue type up by name (case-insensitive) or id.
pub fn find_issue_type(text: &str) -> Option<&'static IssueType> {
    ISSUE_TYPES.iter().find(|t| t.name.eq_ignore_ascii_case(text) || t.id == text)
}

/// A priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority {
    pub id: &'static str,
    pub name: &'static str,
}

pub const PRIORITIES: [Priority; 5] = [
    Priority { id: "1", name: "Highest" },
    Priority { id: "2", name: "High" },
    Priority { id: "3", name: "Medium" },
    Priority { id: "4", name: "Low" },
    Priority { id: "5", name: "Lowest" },
];

/// The priority new issues get when none is given.
pub const DEFAULT_PRIORITY: usize = 2;

/// Looks a priority up by name (case-insensitive) or id, returning its index in [`PRIORITIES`].
pub fn find_priority(text: &str) -> Option<usize> {
    PRIORITIES.iter().position(|p| p.name.eq_ignore_ascii_case(text) || p.id == text)
}

/// The id of the story points custom field (listed by `GET /field`).
pub const STORY_POINTS_FIELD: &str = "customfield_10016";

/// The id of Jira Service Management's ITSM "Impact" select field (on service projects' screens only).
pub const IMPACT_FIELD: &str = "customfield_10050";
/// The id of the ITSM "Urgency" select field.
pub const URGENCY_FIELD: &str = "customfield_10051";

/// One option of a select field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectOption {
    pub id: &'static str,
    pub value: &'static str,
}

/// The options of "Impact", as an ITSM project has them.
pub const IMPACT_OPTIONS: [SelectOption; 4] = [
    SelectOption { id: "10100", value: "Extensive / Widespread" },
    SelectOption { id: "10101", value: "Significant / Large" },
    SelectOption { id: "10102", value: "Moderate / Limited" },
    SelectOption { id: "10103", value: "Minor / Localized" },
];

/// The options of "Urgency".
pub const URGENCY_OPTIONS: [SelectOption; 4] = [
    SelectOption { id: "10110", value: "Critical" },
    SelectOption { id: "10111", value: "High" },
    SelectOption { id: "10112", value: "Medium" },
    SelectOption { id: "10113", value: "Low" },
];

/// The options of a select field (`IMPACT_FIELD`, `URGENCY_FIELD`).
pub fn select_options(field: &str) -> Option<&'static [SelectOption; 4]> {
    match field {
        IMPACT_FIELD => Some(&IMPACT_OPTIONS),
        URGENCY_FIELD => Some(&URGENCY_OPTIONS),
        _ => None,
    }
}

/// One field the simulator exposes on issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    pub id: &'static str,
    pub name: &'static str,
    pub custom: bool,
    /// Returned for `*navigable` (and by default in the legacy search).
    pub navigable: bool,
    pub orderable: bool,
    pub clause_names: &'static [&'static str],
    /// `schema.type`.
    pub schema_type: &'static str,
    /// `schema.items` for arrays.
    pub schema_items: Option<&'static str>,
}

pub const FIELDS: [FieldDef; 19] = [
    FieldDef {
        id: "summary",
        name: "Summary",
        custom: false,
        navigable: true,
        orderable: true,
        clause_names: &["summary"],
        schema_type: "string",
        schema_items: None,
    },
    FieldDef {
        id: "description",
        name: "Description",
        custom: false,
        navigable: true,
        orderable: true,
        clause_names: &["description"],
        schema_type: "string",
        schema_items: None,
    },
    FieldDef {
        id: "issuetype",
        name: "Issue Type",
        custom: false,
        navigable: true,
        orderable: true,
        clause_names: &["issuetype", "type"],
        schema_type: "issuetype",
        schema_items: None,
    },
    FieldDef {
        id: "project",
        name: "Project",
        custom: false,
        navigable: true,
        orderable: false,
        clause_names: &["project"],
        schema_type: "project",
        schema_items: None,
    },
    FieldDef {
        id: "status",
        name: "Status",
        custom: false,
        navigable: true,
        orderable: false,
        clause_names: &["status"],
        schema_type: "status",
        schema_items: None,
    },
    FieldDef {
        id: "labels",
        name: "Labels",
        custom: false,
        navigable: true,
        orderable: true,
        clause_names: &["labels"],
        schema_type: "array",
        schema_items: Some("string"),
    },
    FieldDef {
        id: "priority",
        name: "Priority",
        custom: false,
        navigable: true,
        orderable: true,
        clause_names: &["priority"],
        schema_type: "priority",
        schema_items: None,
    },
    FieldDef {
        id: "reporter",
        name: "Reporter",
        custom: false,
        navigable: true,
        orderable: true,
        clause_names: &["reporter"],
        schema_type: "user",
        schema_items: None,
    },
    FieldDef {
        id: "created",
        name: "Created",
        custom: false,
        navigable: true,
        orderable: false,
        clause_names: &["created", "createdDate"],
        schema_type: "datetime",
        schema_items: None,
    },
    FieldDef {
        id: "updated",
        name: "Updated",
        custom: false,
        navigable: true,
        orderable: false,
        clause_names: &["updated", "updatedDate"],
        schema_type: "datetime",
        schema_items: None,
    },
    FieldDef {
        id: "resolution",
        name: "Resolution",
        custom: false,
        navigable: true,
        orderable: true,
        clause_names: &["resolution"],
        schema_type: "resolution",
        schema_items: None,
    },
    FieldDef {
        id: "resolutiondate",
        name: "Resolved",
        custom: false,
        navigable: true,
        orderable: false,
        clause_names: &["resolutiondate", "resolved"],
        schema_type: "datetime",
        schema_items: None,
    },
    FieldDef {
        id: STORY_POINTS_FIELD,
        name: "Story Points",
        custom: true,
        navigable: true,
        orderable: true,
        clause_names: &["cf[10016]", "Story Points", "Story Points[Number]"],
        schema_type: "number",
        schema_items: None,
    },
    FieldDef {
        id: IMPACT_FIELD,
        name: "Impact",
        custom: true,
        navigable: true,
        orderable: true,
        clause_names: &["cf[10050]", "Impact", "Impact[Dropdown]"],
        schema_type: "option",
        schema_items: None,
    },
    FieldDef {
        id: URGENCY_FIELD,
        name: "Urgency",
        custom: true,
        navigable: true,
        orderable: true,
        clause_names: &["cf[10051]", "Urgency", "Urgency[Dropdown]"],
        schema_type: "option",
        schema_items: None,
    },
    FieldDef {
        id: "components",
        name: "Components",
        custom: false,
        navigable: true,
        orderable: true,
        clause_names: &["component"],
        schema_type: "array",
        schema_items: Some("component"),
    },
    FieldDef {
        id: "comment",
        name: "Comment",
        custom: false,
        navigable: false,
        orderable: true,
        clause_names: &["comment"],
        schema_type: "comments-page",
        schema_items: None,
    },
    FieldDef {
        id: "issuelinks",
        name: "Linked Issues",
        custom: false,
        navigable: true,
        orderable: true,
        clause_names: &["issuelinks"],
        schema_type: "array",
        schema_items: Some("issuelinks"),
    },
    FieldDef {
        id: "attachment",
        name: "Attachment",
        custom: false,
        navigable: true,
        orderable: true,
        clause_names: &["attachments"],
        schema_type: "array",
        schema_items: Some("attachment"),
    },
];
