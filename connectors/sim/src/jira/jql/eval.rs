//! Compiles a parsed query against the store (resolving names, rejecting what is unsupported) and
//! evaluates it on issues.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::JqlError;
use super::parser::{Clause, Expr, Op, Operand, Query, SortKey};
use crate::jira::catalog::{self, CATEGORIES, Status};
use crate::jira::store::{Issue, Store};
use crate::jira::time;

/// The most ORDER BY keys Jira accepts.
const MAX_SORT_KEYS: usize = 7;

/// Fields Jira has that the simulator's subset does not search on.
const UNSUPPORTED_FIELDS: &[&str] = &[
    "summary",
    "description",
    "text",
    "comment",
    "assignee",
    "reporter",
    "creator",
    "sprint",
    "fixversion",
    "affectedversion",
    "component",
    "parent",
    "duedate",
    "due",
    "environment",
    "watcher",
    "watchers",
    "voter",
    "votes",
    "worklogdate",
    "lastviewed",
    "statuscategorychangeddate",
    "attachments",
    "issuelinktype",
    "filter",
    "epic link",
    "level",
];

/// A compiled query: a filter and a sort order.
#[derive(Debug, Clone)]
pub struct Compiled {
    filter: Option<Pred>,
    sort: Vec<(SortField, bool)>,
}

#[derive(Debug, Clone)]
enum Pred {
    And(Box<Pred>, Box<Pred>),
    Or(Box<Pred>, Box<Pred>),
    Not(Box<Pred>),
    /// A single-valued field is (not) one of `values`; `None` in `values` stands for "empty".
    Member {
        field: SetField,
        values: Vec<Option<String>>,
        negate: bool,
    },
    IsEmpty {
        field: SetField,
        empty: bool,
    },
    KeyCompare {
        project: usize,
        number: u64,
        op: Op,
    },
    Labels {
        values: Vec<String>,
        negate: bool,
    },
    LabelsEmpty(bool),
    Date {
        field: DateField,
        op: Op,
        at: DateTime<Utc>,
    },
    DateEmpty {
        field: DateField,
        empty: bool,
    },
    Number {
        op: Op,
        value: f64,
    },
    NumberEmpty(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetField {
    Project,
    IssueType,
    Status,
    Category,
    Priority,
    Resolution,
    Issue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateField {
    Created,
    Updated,
    Resolved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortField {
    Created,
    Updated,
    Key,
}

/// What a clause's field resolves to.
#[derive(Debug, Clone, Copy)]
enum Field {
    Set(SetField, &'static str),
    Labels,
    Date(DateField, &'static str),
    StoryPoints,
}

/// Compiles `query` against the store; `tz` is the user's time zone for date literals, `now` the
/// reference for relative periods.
pub fn compile(query: &Query, store: &Store, tz: Tz, now: DateTime<Utc>) -> Result<Compiled, JqlError> {
    let ctx = Ctx { store, tz, now };
    let filter = query.filter.as_ref().map(|e| ctx.expr(e)).transpose()?;
    if query.order_by.len() > MAX_SORT_KEYS {
        return Err(JqlError::semantic(format!("The ORDER BY clause may have at most {MAX_SORT_KEYS} fields.")));
    }
    let sort = query.order_by.iter().map(sort_key).collect::<Result<_, _>>()?;
    Ok(Compiled { filter, sort })
}

impl Compiled {
    /// Whether the query has a search restriction (Jira's "bounded query").
    pub fn is_bounded(&self) -> bool {
        self.filter.is_some()
    }

    /// Whether the issue matches the filter.
    pub fn matches(&self, store: &Store, issue: &Issue) -> bool {
        self.filter.as_ref().is_none_or(|p| eval(p, store, issue))
    }

    /// The query's order (key descending when it has no ORDER BY); ties broken by ascending id.
    pub fn compare(&self, store: &Store, a: &Issue, b: &Issue) -> Ordering {
        let default = [(SortField::Key, true)];
        let keys = if self.sort.is_empty() { &default[..] } else { &self.sort[..] };
        keys.iter()
            .map(|(field, descending)| {
                let order = match field {
                    SortField::Created => a.created.cmp(&b.created),
                    SortField::Updated => a.updated.cmp(&b.updated),
                    SortField::Key => {
                        let pa = &store.projects[a.project].key;
                        let pb = &store.projects[b.project].key;
                        pa.cmp(pb).then(a.number.cmp(&b.number))
                    }
                };
                if *descending { order.reverse() } else { order }
            })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.id.cmp(&b.id))
    }
}

fn sort_key(key: &SortKey) -> Result<(SortField, bool), JqlError> {
    let field = match key.field.to_ascii_lowercase().as_str() {
        "created" | "createddate" => SortField::Created,
        "updated" | "updateddate" => SortField::Updated,
        "key" | "issuekey" | "id" => SortField::Key,
        other if is_known_field(other) => {
            return Err(JqlError::unsupported(format!(
                "Sorting by '{}' is not supported by the simulator's JQL subset (use updated, created or key).",
                key.field
            )));
        }
        _ => return Err(JqlError::semantic(format!("Not able to sort using field '{}'.", key.field))),
    };
    Ok((field, key.descending))
}

fn is_known_field(lower: &str) -> bool {
    UNSUPPORTED_FIELDS.contains(&lower)
        || resolve_field(lower).is_some()
        || lower == "priority"
        || lower.starts_with("cf[")
        || lower.starts_with("customfield_")
}

fn resolve_field(lower: &str) -> Option<Field> {
    Some(match lower {
        "project" => Field::Set(SetField::Project, "project"),
        "issuetype" | "type" => Field::Set(SetField::IssueType, "issuetype"),
        "status" => Field::Set(SetField::Status, "status"),
        "statuscategory" | "category" => Field::Set(SetField::Category, "statusCategory"),
        "priority" => Field::Set(SetField::Priority, "priority"),
        "resolution" => Field::Set(SetField::Resolution, "resolution"),
        "key" | "issuekey" | "issue" => Field::Set(SetField::Issue, "key"),
        "id" => Field::Set(SetField::Issue, "id"),
        "labels" => Field::Labels,
        "created" | "createddate" => Field::Date(DateField::Created, "created"),
        "updated" | "updateddate" => Field::Date(DateField::Updated, "updated"),
        "resolutiondate" | "resolved" => Field::Date(DateField::Resolved, "resolutiondate"),
        "cf[10016]" | "story points" | "story points[number]" | "customfield_10016" => Field::StoryPoints,
        _ => return None,
    })
}

struct Ctx<'a> {
    store: &'a Store,
    tz: Tz,
    now: DateTime<Utc>,
}

impl Ctx<'_> {
    fn expr(&self, expr: &Expr) -> Result<Pred, JqlError> {
        Ok(match expr {
            Expr::And(a, b) => Pred::And(Box::new(self.expr(a)?), Box::new(self.expr(b)?)),
            Expr::Or(a, b) => Pred::Or(Box::new(self.expr(a)?), Box::new(self.expr(b)?)),
            Expr::Not(a) => Pred::Not(Box::new(self.expr(a)?)),
            Expr::Clause(c) => self.clause(c)?,
        })
    }

    fn clause(&self, clause: &Clause) -> Result<Pred, JqlError> {
        let lower = clause.field.to_ascii_lowercase();
        let Some(field) = resolve_field(&lower) else {
            if UNSUPPORTED_FIELDS.contains(&lower.as_str()) {
                return Err(JqlError::unsupported(format!(
                    "Field '{}' is not supported by the simulator's JQL subset.",
                    clause.field
                )));
            }
            return Err(JqlError::semantic(format!(
                "Field '{}' does not exist or you do not have permission to view it.",
                clause.field
            )));
        };
        if let Operand::Function(name) = &clause.operand {
            return Err(JqlError::unsupported(format!(
                "The JQL function '{name}' is not supported by the simulator's JQL subset."
            )));
        }
        let (op, operand) = normalize_empty(clause.op, &clause.operand);
        check_operator(field, op, &clause.field)?;
        check_operand(op, operand, &clause.field)?;
        match field {
            Field::Set(set, name) => self.set_clause(set, name, op, operand),
            Field::Labels => Ok(match (op, operand) {
                (Op::Is | Op::IsNot, _) => Pred::LabelsEmpty(op == Op::Is),
                (_, operand) => {
                    Pred::Labels { values: values(operand).map(str::to_lowercase).collect(), negate: is_negated(op) }
                }
            }),
            Field::Date(date, name) => match (op, operand) {
                (Op::Is | Op::IsNot, _) => Ok(Pred::DateEmpty { field: date, empty: op == Op::Is }),
                (_, Operand::Value(text)) => {
                    let at = time::parse_jql_date(text, self.tz, self.now).ok_or_else(|| invalid_date(text, name))?;
                    Ok(Pred::Date { field: date, op, at })
                }
                _ => Err(JqlError::semantic(format!("Invalid value for field '{name}'."))),
            },
            Field::StoryPoints => match (op, operand) {
                (Op::Is | Op::IsNot, _) => Ok(Pred::NumberEmpty(op == Op::Is)),
                (_, Operand::Value(text)) => {
                    let value: f64 = text.trim().parse().map_err(|_| {
                        JqlError::semantic(format!("The value '{text}' for field 'Story Points' is invalid."))
                    })?;
                    Ok(Pred::Number { op, value })
                }
                _ => Err(JqlError::semantic("Invalid value for field 'Story Points'.")),
            },
        }
    }

    fn set_clause(&self, field: SetField, name: &str, op: Op, operand: &Operand) -> Result<Pred, JqlError> {
        if matches!(op, Op::Is | Op::IsNot) {
            return Ok(Pred::IsEmpty { field, empty: op == Op::Is });
        }
        if field == SetField::Issue && matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge) {
            let text = values(operand).next().unwrap_or_default();
            let idx = self.issue(text, name)?;
            let issue = &self.store.issues[idx];
            return Ok(Pred::KeyCompare { project: issue.project, number: issue.number, op });
        }
        let resolved = values(operand).map(|v| self.resolve_value(field, name, v)).collect::<Result<_, _>>()?;
        Ok(Pred::Member { field, values: resolved, negate: is_negated(op) })
    }

    /// Resolves a value to the normalized form [`set_value`] produces, or a Jira-like error.
    fn resolve_value(&self, field: SetField, name: &str, text: &str) -> Result<Option<String>, JqlError> {
        let missing = || JqlError::semantic(format!("The value '{text}' does not exist for the field '{name}'."));
        let found = match field {
            SetField::Project => self.store.find_project(text).map(|p| self.store.projects[p].id.to_string()),
            SetField::IssueType => catalog::find_issue_type(text).map(|t| t.id.to_owned()),
            SetField::Status => Status::find(text).map(|s| s.id().to_owned()),
            SetField::Category => CATEGORIES
                .iter()
                .find(|c| {
                    c.key.eq_ignore_ascii_case(text) || c.name.eq_ignore_ascii_case(text) || c.id.to_string() == text
                })
                .map(|c| c.key.to_owned()),
            SetField::Priority => catalog::find_priority(text).map(|p| catalog::PRIORITIES[p].id.to_owned()),
            SetField::Resolution => {
                if ["unresolved", "empty", "null"].iter().any(|u| u.eq_ignore_ascii_case(text)) {
                    return Ok(None);
                }
                catalog::find_resolution(text).map(|r| r.id.to_owned())
            }
            SetField::Issue => return self.issue(text, name).map(|idx| Some(self.store.issues[idx].id.to_string())),
        };
        found.map(Some).ok_or_else(missing)
    }

    /// Finds an issue named in a `key`/`id` clause; Jira rejects keys that do not exist.
    fn issue(&self, text: &str, name: &str) -> Result<usize, JqlError> {
        let numeric = text.parse::<u64>().is_ok();
        if !numeric && !looks_like_key(text) {
            return Err(JqlError::semantic(format!("The issue key '{text}' for field '{name}' is invalid.")));
        }
        self.store.find(text).ok_or_else(|| {
            if numeric {
                JqlError::semantic(format!("An issue with id '{text}' does not exist for field '{name}'."))
            } else {
                JqlError::semantic(format!("An issue with key '{text}' does not exist for field '{name}'."))
            }
        })
    }
}

/// `= EMPTY` means `IS EMPTY`, `!= EMPTY` means `IS NOT EMPTY`.
fn normalize_empty(op: Op, operand: &Operand) -> (Op, &Operand) {
    match (op, operand) {
        (Op::Eq, Operand::Empty) => (Op::Is, operand),
        (Op::NotEq, Operand::Empty) => (Op::IsNot, operand),
        _ => (op, operand),
    }
}

fn looks_like_key(text: &str) -> bool {
    text.split_once('-').is_some_and(|(p, n)| {
        !p.is_empty()
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
    })
}

fn values(operand: &Operand) -> impl Iterator<Item = &str> {
    let list: Vec<&str> = match operand {
        Operand::Value(v) => vec![v.as_str()],
        Operand::List(vs) => vs.iter().map(String::as_str).collect(),
        Operand::Empty | Operand::Function(_) => Vec::new(),
    };
    list.into_iter()
}

fn is_negated(op: Op) -> bool {
    matches!(op, Op::NotEq | Op::NotIn)
}

fn check_operator(field: Field, op: Op, name: &str) -> Result<(), JqlError> {
    use Op::*;
    let allowed: &[Op] = match field {
        Field::Set(SetField::Issue, _) => &[Eq, NotEq, In, NotIn, Lt, Le, Gt, Ge],
        Field::Set(..) | Field::Labels => &[Eq, NotEq, In, NotIn, Is, IsNot],
        Field::Date(..) | Field::StoryPoints => &[Eq, NotEq, Lt, Le, Gt, Ge, Is, IsNot],
    };
    if allowed.contains(&op) {
        Ok(())
    } else {
        Err(JqlError::semantic(format!("The operator '{}' is not supported by the '{name}' field.", op.name())))
    }
}

fn check_operand(op: Op, operand: &Operand, name: &str) -> Result<(), JqlError> {
    match (op, operand) {
        (Op::In | Op::NotIn, Operand::List(_)) => Ok(()),
        (Op::In | Op::NotIn, _) => Err(JqlError::semantic(format!(
            "Operator '{}' does not support the non-list value for field '{name}'.",
            op.name()
        ))),
        (Op::Is | Op::IsNot, Operand::Empty) => Ok(()),
        (Op::Is | Op::IsNot, _) => Err(JqlError::semantic(format!(
            "The operator '{}' only supports EMPTY or NULL values for field '{name}'.",
            op.name()
        ))),
        (_, Operand::List(_)) => Err(JqlError::semantic(format!(
            "Operator '{}' does not support the list value for field '{name}'.",
            op.name()
        ))),
        (_, Operand::Empty) => Err(JqlError::semantic(format!(
            "The operator '{}' does not support searching for EMPTY values for field '{name}'.",
            op.name()
        ))),
        _ => Ok(()),
    }
}

fn invalid_date(text: &str, field: &str) -> JqlError {
    JqlError::semantic(format!(
        "Date value '{text}' for field '{field}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', \
         'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
    ))
}

fn set_value(store: &Store, issue: &Issue, field: SetField) -> Option<String> {
    match field {
        SetField::Project => Some(store.projects[issue.project].id.to_string()),
        SetField::IssueType => Some(issue.issue_type.id.to_owned()),
        SetField::Status => Some(issue.status.id().to_owned()),
        SetField::Category => Some(issue.status.category().key.to_owned()),
        SetField::Priority => Some(catalog::PRIORITIES[issue.priority].id.to_owned()),
        SetField::Resolution => issue.resolution.map(|r| r.id.to_owned()),
        SetField::Issue => Some(issue.id.to_string()),
    }
}

fn date_value(issue: &Issue, field: DateField) -> Option<DateTime<Utc>> {
    match field {
        DateField::Created => Some(issue.created),
        DateField::Updated => Some(issue.updated),
        DateField::Resolved => issue.resolution_date,
    }
}

fn compare_with<T: PartialOrd>(value: T, op: Op, other: T) -> bool {
    match op {
        Op::Eq => value == other,
        Op::NotEq => value != other,
        Op::Lt => value < other,
        Op::Le => value <= other,
        Op::Gt => value > other,
        Op::Ge => value >= other,
        _ => false,
    }
}

fn eval(pred: &Pred, store: &Store, issue: &Issue) -> bool {
    match pred {
        Pred::And(a, b) => eval(a, store, issue) && eval(b, store, issue),
        Pred::Or(a, b) => eval(a, store, issue) || eval(b, store, issue),
        Pred::Not(a) => !eval(a, store, issue),
        Pred::Member { field, values, negate } => {
            let value = set_value(store, issue, *field);
            if *negate { value.is_some() && !values.contains(&value) } else { values.contains(&value) }
        }
        Pred::IsEmpty { field, empty } => set_value(store, issue, *field).is_none() == *empty,
        Pred::KeyCompare { project, number, op } => {
            issue.project == *project && compare_with(issue.number, *op, *number)
        }
        Pred::Labels { values, negate } => {
            let hit = issue.labels.iter().any(|l| values.contains(&l.to_lowercase()));
            if *negate { !issue.labels.is_empty() && !hit } else { hit }
        }
        Pred::LabelsEmpty(empty) => issue.labels.is_empty() == *empty,
        Pred::Date { field, op, at } => date_value(issue, *field).is_some_and(|v| compare_with(v, *op, *at)),
        Pred::DateEmpty { field, empty } => date_value(issue, *field).is_none() == *empty,
        Pred::Number { op, value } => issue.story_points.is_some_and(|v| compare_with(v, *op, *value)),
        Pred::NumberEmpty(empty) => issue.story_points.is_none() == *empty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jira::jql::parse;
    use crate::jira::store::{User, now};
    use chrono::TimeZone;

    fn store() -> Store {
        let mut store = Store::new(&[("SHOP".into(), "Web Shop".into()), ("PAY".into(), "Payroll".into())], &[], &[]);
        let base = Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 0).unwrap();
        for (i, (project, labels, status)) in [
            (0, vec!["sn-INC1", "triaged"], Status::ToDo),
            (0, vec![], Status::InProgress),
            (0, vec!["Triaged"], Status::Done),
            (1, vec!["other"], Status::ToDo),
        ]
        .into_iter()
        .enumerate()
        {
            let t = base + chrono::Duration::seconds(30 * i as i64);
            let idx = store.create(project, &catalog::ISSUE_TYPES[3], format!("s{i}"), User::from_display_name("A"), t);
            let issue = &mut store.issues[idx];
            issue.set_labels(labels.into_iter().map(String::from));
            issue.status = status;
            if status == Status::Done {
                issue.resolution = Some(&catalog::RESOLUTIONS[1]);
                issue.resolution_date = Some(t);
            }
        }
        store
    }

    fn keys(store: &Store, jql: &str) -> Vec<String> {
        keys_in(store, jql, Tz::UTC)
    }

    fn keys_in(store: &Store, jql: &str, tz: Tz) -> Vec<String> {
        let compiled = compile(&parse(jql).unwrap(), store, tz, now()).unwrap();
        let mut hits: Vec<&Issue> = store.issues.iter().filter(|i| compiled.matches(store, i)).collect();
        hits.sort_by(|a, b| compiled.compare(store, a, b));
        hits.iter().map(|i| i.key.clone()).collect()
    }

    fn error(store: &Store, jql: &str) -> String {
        match parse(jql) {
            Ok(q) => compile(&q, store, Tz::UTC, now()).unwrap_err().message,
            Err(e) => e.message,
        }
    }

    #[test]
    fn filters_by_project_labels_status_and_resolution() {
        let s = store();
        assert_eq!(keys(&s, "project = shop ORDER BY key"), ["SHOP-1", "SHOP-2", "SHOP-3"]);
        assert_eq!(keys(&s, "project in (\"Payroll\")"), ["PAY-1"]);
        assert_eq!(keys(&s, "labels = triaged ORDER BY key"), ["SHOP-1", "SHOP-3"]);
        assert_eq!(keys(&s, "labels != triaged"), ["PAY-1"]);
        assert_eq!(keys(&s, "labels is EMPTY"), ["SHOP-2"]);
        assert_eq!(keys(&s, "status = \"In Progress\""), ["SHOP-2"]);
        assert_eq!(keys(&s, "statusCategory != done AND project = SHOP ORDER BY key ASC"), ["SHOP-1", "SHOP-2"]);
        assert_eq!(keys(&s, "resolution = Unresolved AND project = PAY"), ["PAY-1"]);
        assert_eq!(keys(&s, "resolution = \"Won't Do\""), ["SHOP-3"]);
        assert_eq!(keys(&s, "resolution != Done"), ["SHOP-3"]);
        assert_eq!(keys(&s, "resolution IS NOT EMPTY"), ["SHOP-3"]);
        assert_eq!(keys(&s, "key in (shop-1, PAY-1) ORDER BY key DESC"), ["SHOP-1", "PAY-1"]);
        assert_eq!(keys(&s, "key > SHOP-1 ORDER BY key"), ["SHOP-2", "SHOP-3"]);
        assert_eq!(keys(&s, "issuetype = Bug AND NOT (project = SHOP)"), ["PAY-1"]);
    }

    #[test]
    fn compares_dates_at_minute_precision_in_the_user_zone() {
        let s = store();
        // Issues at 10:30:00, 10:30:30, 10:31:00, 10:31:30 UTC.
        assert_eq!(keys(&s, "updated >= \"2024-01-15 10:31\" ORDER BY updated"), ["SHOP-3", "PAY-1"]);
        assert_eq!(keys(&s, "updated > \"2024/01/15 10:30\" ORDER BY updated"), ["SHOP-2", "SHOP-3", "PAY-1"]);
        assert_eq!(keys(&s, "updated < \"2024-01-15 10:31\" ORDER BY updated DESC"), ["SHOP-2", "SHOP-1"]);
        assert_eq!(keys_in(&s, "created >= \"2024-01-15 11:31\"", Tz::Europe__Berlin), ["SHOP-3", "PAY-1"]);
        let ms = Utc.with_ymd_and_hms(2024, 1, 15, 10, 31, 0).unwrap().timestamp_millis();
        assert_eq!(keys(&s, &format!("updated > {ms}")), ["PAY-1"]);
        assert_eq!(keys(&s, "created <= \"2024-01-15\""), Vec::<String>::new());
        assert_eq!(keys(&s, "resolutiondate is not EMPTY"), ["SHOP-3"]);
    }

    #[test]
    fn rejects_what_jira_rejects_and_what_the_subset_lacks() {
        let s = store();
        assert_eq!(error(&s, "project = NOPE"), "The value 'NOPE' does not exist for the field 'project'.");
        assert_eq!(error(&s, "key = SHOP-99"), "An issue with key 'SHOP-99' does not exist for field 'key'.");
        assert_eq!(error(&s, "foo = bar"), "Field 'foo' does not exist or you do not have permission to view it.");
        assert_eq!(error(&s, "project ~ SHOP"), "The operator '~' is not supported by the 'project' field.");
        assert!(
            error(&s, "updated >= \"15/01/2024\"")
                .starts_with("Date value '15/01/2024' for field 'updated' is invalid.")
        );
        assert!(error(&s, "assignee = currentUser()").contains("not supported by the simulator"));
        assert!(error(&s, "summary ~ boom").contains("not supported by the simulator"));
        assert!(error(&s, "project = SHOP ORDER BY foo").contains("Not able to sort using field 'foo'"));
        assert!(error(&s, "project in SHOP").contains("non-list value"));
        assert!(error(&s, "status = EMPTY OR status is Done").contains("only supports EMPTY"));
    }

    #[test]
    fn bounded_means_a_search_restriction() {
        let s = store();
        let unbounded = compile(&parse("order by key desc").unwrap(), &s, Tz::UTC, now()).unwrap();
        assert!(!unbounded.is_bounded());
        assert!(compile(&parse("project = SHOP").unwrap(), &s, Tz::UTC, now()).unwrap().is_bounded());
    }
}
