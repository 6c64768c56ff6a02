//! The simulated instance's data dictionary: tables, their fields and field types, choice lists, and the
//! default priority lookup.

/// Choice list entries: (value, label).
pub(crate) type Choices = &'static [(&'static str, &'static str)];

/// The type of a field, which decides how it is written, compared, sorted and displayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    Text,
    Integer,
    Boolean,
    /// UTC `yyyy-MM-dd HH:mm:ss`.
    DateTime,
    /// A choice list; `numeric` choices compare and sort as numbers.
    Choice {
        numeric: bool,
        choices: Choices,
    },
    /// A reference to a record (sys_id) of another table.
    Reference(&'static str),
    /// A journal field (work notes, comments): writes append to `sys_journal_field`, reads give "".
    Journal,
}

/// One field of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldDef {
    pub name: &'static str,
    pub ty: FieldType,
    /// The value of a new record that does not set the field.
    pub default: &'static str,
}

/// One table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableDef {
    pub name: &'static str,
    /// The prefix of generated numbers (`INC` gives `INC0010001`); `None` for tables without numbers.
    pub number_prefix: Option<&'static str>,
    /// The field whose value is the record's display value (shown for references to it).
    pub display_field: &'static str,
    pub fields: Vec<FieldDef>,
}

impl TableDef {
    pub(crate) fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Whether the table extends `task` (has number, state, assignment group, journals, ...).
    pub(crate) fn is_task(&self) -> bool {
        self.field("number").is_some() && self.field("work_notes").is_some()
    }

    /// The states after which a record is no longer active.
    pub(crate) fn inactive_states(&self) -> &'static [&'static str] {
        match self.name {
            "incident" => &["7", "8"],
            name if name.starts_with("rm_") => &["3", "4"],
            _ => &["3", "4", "7"],
        }
    }
}

pub(crate) const INCIDENT_STATES: Choices =
    &[("1", "New"), ("2", "In Progress"), ("3", "On Hold"), ("6", "Resolved"), ("7", "Closed"), ("8", "Canceled")];
/// Generic task states.
pub(crate) const TASK_STATES: Choices = &[
    ("-5", "Pending"),
    ("1", "Open"),
    ("2", "Work in Progress"),
    ("3", "Closed Complete"),
    ("4", "Closed Incomplete"),
    ("7", "Closed Skipped"),
];
/// Agile Development 2.0 story, defect and enhancement states.
pub(crate) const AGILE_STATES: Choices = &[
    ("-6", "Draft"),
    ("1", "Ready"),
    ("2", "Work in progress"),
    ("-7", "Ready for testing"),
    ("-8", "Testing"),
    ("3", "Complete"),
    ("4", "Cancelled"),
];
const IMPACT_URGENCY: Choices = &[("1", "1 - High"), ("2", "2 - Medium"), ("3", "3 - Low")];
const PRIORITIES: Choices =
    &[("1", "1 - Critical"), ("2", "2 - High"), ("3", "3 - Moderate"), ("4", "4 - Low"), ("5", "5 - Planning")];
const CONTACT_TYPES: Choices = &[
    ("email", "Email"),
    ("phone", "Phone"),
    ("self-service", "Self-service"),
    ("walk-in", "Walk-in"),
    ("virtual_agent", "Virtual Agent"),
];
const CATEGORIES: Choices = &[
    ("inquiry", "Inquiry / Help"),
    ("software", "Software"),
    ("hardware", "Hardware"),
    ("network", "Network"),
    ("database", "Database"),
];
const REQUEST_STATES: Choices = &[
    ("requested", "Pending Approval"),
    ("in_process", "Approved"),
    ("closed_complete", "Closed Complete"),
    ("closed_incomplete", "Closed Incomplete"),
    ("closed_cancelled", "Closed Cancelled"),
];

/// The default priority lookup (impact x urgency): 1/1 Critical ... 3/3 Planning.
pub(crate) fn derived_priority(impact: &str, urgency: &str) -> Option<&'static str> {
    let level = |v: &str| v.trim().parse::<u8>().ok().filter(|n| (1..=3).contains(n));
    Some(match level(impact)? + level(urgency)? {
        2 => "1",
        3 => "2",
        4 => "3",
        5 => "4",
        _ => "5",
    })
}

const fn field(name: &'static str, ty: FieldType) -> FieldDef {
    FieldDef { name, ty, default: "" }
}

const fn with_default(name: &'static str, ty: FieldType, default: &'static str) -> FieldDef {
    FieldDef { name, ty, default }
}

fn system_fields() -> Vec<FieldDef> {
    vec![
        field("sys_id", FieldType::Text),
        field("sys_created_on", FieldType::DateTime),
        field("sys_created_by", FieldType::Text),
        field("sys_updated_on", FieldType::DateTime),
        field("sys_updated_by", FieldType::Text),
        with_default("sys_mod_count", FieldType::Integer, "0"),
    ]
}

/// The fields every task table has, with that table's states and default priority.
fn task_fields(
    table: &'static str,
    states: Choices,
    default_state: &'static str,
    priority: &'static str,
) -> Vec<FieldDef> {
    let choice = |choices| FieldType::Choice { numeric: true, choices };
    let mut fields = system_fields();
    fields.extend([
        field("number", FieldType::Text),
        field("short_description", FieldType::Text),
        field("description", FieldType::Text),
        with_default("state", choice(states), default_state),
        with_default("active", FieldType::Boolean, "true"),
        with_default("impact", choice(IMPACT_URGENCY), "3"),
        with_default("urgency", choice(IMPACT_URGENCY), "3"),
        with_default("priority", choice(PRIORITIES), priority),
        field("assignment_group", FieldType::Reference("sys_user_group")),
        field("assigned_to", FieldType::Reference("sys_user")),
        field("opened_at", FieldType::DateTime),
        field("opened_by", FieldType::Reference("sys_user")),
        field("closed_at", FieldType::DateTime),
        field("contact_type", FieldType::Choice { numeric: false, choices: CONTACT_TYPES }),
        field("correlation_id", FieldType::Text),
        field("correlation_display", FieldType::Text),
        field("work_notes", FieldType::Journal),
        field("comments", FieldType::Journal),
        with_default("sys_class_name", FieldType::Text, table),
    ]);
    fields
}

fn incident() -> TableDef {
    let mut fields = task_fields("incident", INCIDENT_STATES, "1", "5");
    fields.extend([
        field("caller_id", FieldType::Reference("sys_user")),
        field("category", FieldType::Choice { numeric: false, choices: CATEGORIES }),
        field("subcategory", FieldType::Text),
        with_default("incident_state", FieldType::Choice { numeric: true, choices: INCIDENT_STATES }, "1"),
        with_default("severity", FieldType::Choice { numeric: true, choices: IMPACT_URGENCY }, "3"),
        field("close_code", FieldType::Text),
        field("close_notes", FieldType::Text),
        field("resolved_at", FieldType::DateTime),
        with_default("reassignment_count", FieldType::Integer, "0"),
        // The parent of a child incident (the incident data dictionary's `parent_incident`, a reference to
        // another incident): how a major incident gathers the reports of one outage.
        field("parent_incident", FieldType::Reference("incident")),
    ]);
    TableDef { name: "incident", number_prefix: Some("INC"), display_field: "number", fields }
}

fn catalog_tables() -> [TableDef; 3] {
    let mut request = task_fields("sc_request", TASK_STATES, "1", "4");
    request.extend([
        field("requested_for", FieldType::Reference("sys_user")),
        with_default("request_state", FieldType::Choice { numeric: false, choices: REQUEST_STATES }, "requested"),
    ]);
    let mut item = task_fields("sc_req_item", TASK_STATES, "1", "4");
    item.extend([
        field("request", FieldType::Reference("sc_request")),
        field("requested_for", FieldType::Reference("sys_user")),
        field("cat_item", FieldType::Text),
        with_default("stage", FieldType::Text, "waiting_for_approval"),
        with_default("quantity", FieldType::Integer, "1"),
    ]);
    let mut task = task_fields("sc_task", TASK_STATES, "1", "4");
    task.extend([
        field("request_item", FieldType::Reference("sc_req_item")),
        field("request", FieldType::Reference("sc_request")),
    ]);
    [
        TableDef { name: "sc_request", number_prefix: Some("REQ"), display_field: "number", fields: request },
        TableDef { name: "sc_req_item", number_prefix: Some("RITM"), display_field: "number", fields: item },
        TableDef { name: "sc_task", number_prefix: Some("SCTASK"), display_field: "number", fields: task },
    ]
}

fn agile_tables() -> [TableDef; 3] {
    let mut story = task_fields("rm_story", AGILE_STATES, "-6", "4");
    story.extend([
        field("story_points", FieldType::Integer),
        field("acceptance_criteria", FieldType::Text),
        field("classification", FieldType::Text),
        field("product", FieldType::Text),
    ]);
    let mut defect = task_fields("rm_defect", AGILE_STATES, "-6", "4");
    defect.extend([field("product", FieldType::Text), field("steps_to_reproduce", FieldType::Text)]);
    let mut enhancement = task_fields("rm_enhancement", AGILE_STATES, "-6", "4");
    enhancement.extend([field("product", FieldType::Text)]);
    [
        TableDef { name: "rm_story", number_prefix: Some("STRY"), display_field: "number", fields: story },
        TableDef { name: "rm_defect", number_prefix: Some("DFCT"), display_field: "number", fields: defect },
        TableDef { name: "rm_enhancement", number_prefix: Some("ENHC"), display_field: "number", fields: enhancement },
    ]
}

fn platform_tables() -> [TableDef; 4] {
    let with = |extra: Vec<FieldDef>| {
        let mut fields = system_fields();
        fields.extend(extra);
        fields
    };
    let group = with(vec![
        field("name", FieldType::Text),
        field("description", FieldType::Text),
        field("email", FieldType::Text),
        field("type", FieldType::Text),
        field("manager", FieldType::Reference("sys_user")),
        with_default("active", FieldType::Boolean, "true"),
    ]);
    let user = with(vec![
        field("user_name", FieldType::Text),
        field("name", FieldType::Text),
        field("first_name", FieldType::Text),
        field("last_name", FieldType::Text),
        field("email", FieldType::Text),
        field("title", FieldType::Text),
        with_default("active", FieldType::Boolean, "true"),
    ]);
    let journal = with(vec![
        field("element_id", FieldType::Text),
        field("element", FieldType::Text),
        field("name", FieldType::Text),
        field("value", FieldType::Text),
    ]);
    let choice = with(vec![
        field("name", FieldType::Text),
        field("element", FieldType::Text),
        field("value", FieldType::Text),
        field("label", FieldType::Text),
        field("sequence", FieldType::Integer),
        with_default("inactive", FieldType::Boolean, "false"),
        with_default("language", FieldType::Text, "en"),
    ]);
    [
        TableDef { name: "sys_user_group", number_prefix: None, display_field: "name", fields: group },
        TableDef { name: "sys_user", number_prefix: None, display_field: "name", fields: user },
        TableDef { name: "sys_journal_field", number_prefix: None, display_field: "value", fields: journal },
        TableDef { name: "sys_choice", number_prefix: None, display_field: "label", fields: choice },
    ]
}

/// `sys_properties`: system properties (name, value, type), rows any script or integration may read and,
/// where an ACL allows, write.
fn sys_properties() -> TableDef {
    let mut fields = system_fields();
    fields.extend([
        field("name", FieldType::Text),
        field("value", FieldType::Text),
        field("description", FieldType::Text),
        with_default("type", FieldType::Text, "string"),
    ]);
    TableDef { name: "sys_properties", number_prefix: None, display_field: "name", fields }
}

/// Every table of the simulated instance.
pub(crate) fn all_tables() -> Vec<TableDef> {
    let mut tables = vec![incident(), sys_properties()];
    tables.extend(catalog_tables());
    tables.extend(agile_tables());
    tables.extend(platform_tables());
    tables
}

/// The assignment groups every instance starts with: the service queues, then the product teams.
pub(crate) const SEED_GROUPS: &[(&str, &str)] = &[
    ("Database Administration", "Database administration, performance and backups"),
    ("Identity & Access", "Accounts, passwords, roles and permissions"),
    ("Network Operations", "LAN, WAN, VPN, DNS and firewalls"),
    ("Hosting & Infrastructure", "Servers, storage, virtualisation and cloud hosting"),
    ("End User Services", "Laptops, phones, printers and desktop software"),
    ("Service Desk", "First-line support"),
    ("Web Shop Team", "Product team: the online shop"),
    ("Payroll & HR Apps Team", "Product team: payroll and HR applications"),
    ("Mobile App Team", "Product team: the customer mobile app"),
    ("Data Platform Team", "Product team: the data platform and reporting"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_priority_lookup_matches_the_default_matrix() {
        let matrix = [["1", "2", "3"], ["2", "3", "4"], ["3", "4", "5"]];
        for (i, row) in matrix.iter().enumerate() {
            for (u, expected) in row.iter().enumerate() {
                assert_eq!(derived_priority(&(i + 1).to_string(), &(u + 1).to_string()), Some(*expected));
            }
        }
        assert_eq!(derived_priority("4", "1"), None);
        assert_eq!(derived_priority("", "1"), None);
    }

    #[test]
    fn task_tables_are_recognised_and_have_their_number_prefixes() {
        let tables = all_tables();
        let prefixes: Vec<_> = tables.iter().filter(|t| t.is_task()).filter_map(|t| t.number_prefix).collect();
        assert_eq!(prefixes, ["INC", "REQ", "RITM", "SCTASK", "STRY", "DFCT", "ENHC"]);
        assert!(tables.iter().all(|t| t.field("sys_id").is_some() && t.field(t.display_field).is_some()));
    }
}
