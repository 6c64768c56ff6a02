//! Records as the Table API returns them: actual values, display values or both; references as
//! `{link, value}` objects; journal fields read as "" (or their history as display value).

use serde_json::{Map, Value, json};

use super::schema::{FieldType, TableDef};
use super::store::{Db, Record};

/// `sysparm_display_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DisplayMode {
    /// `false` (default): actual values.
    Actual,
    /// `true`: display values.
    Display,
    /// `all`: `{display_value, value}` for every field.
    Both,
}

impl DisplayMode {
    pub(crate) fn parse(text: Option<&str>) -> DisplayMode {
        match text.map(|t| t.trim().to_ascii_lowercase()).as_deref() {
            Some("true") => DisplayMode::Display,
            Some("all") => DisplayMode::Both,
            _ => DisplayMode::Actual,
        }
    }
}

/// How to render records of one response.
#[derive(Debug, Clone)]
pub(crate) struct RenderOptions {
    pub mode: DisplayMode,
    pub exclude_reference_link: bool,
    /// `sysparm_fields`, in the order asked; `None` = every field.
    pub fields: Option<Vec<String>>,
    /// The simulator's base URL for reference links.
    pub base_url: String,
}

/// One record as a JSON object.
pub(crate) fn render(db: &Db, def: &TableDef, record: &Record, options: &RenderOptions) -> Value {
    let mut out = Map::new();
    match &options.fields {
        Some(fields) => {
            for path in fields {
                if let Some(ty) = db.field_type(def.name, path) {
                    let value = render_field(db, def.name, record, path, ty, options);
                    out.insert(path.clone(), value);
                }
            }
        }
        None => {
            for field in &def.fields {
                let value = render_field(db, def.name, record, field.name, field.ty, options);
                out.insert(field.name.to_owned(), value);
            }
        }
    }
    Value::Object(out)
}

fn render_field(db: &Db, table: &str, record: &Record, path: &str, ty: FieldType, options: &RenderOptions) -> Value {
    let actual = if ty == FieldType::Journal { "" } else { db.value_at(table, record, path) };
    let display = || display_value(db, table, record, path, ty, actual);
    let link = match ty {
        FieldType::Reference(target) if !actual.is_empty() && !options.exclude_reference_link => {
            Some(format!("{}/api/now/table/{target}/{actual}", options.base_url))
        }
        _ => None,
    };
    match (options.mode, link) {
        (DisplayMode::Actual, Some(link)) => json!({"link": link, "value": actual}),
        (DisplayMode::Actual, None) => Value::String(actual.to_owned()),
        (DisplayMode::Display, Some(link)) => json!({"display_value": display(), "link": link}),
        (DisplayMode::Display, None) => Value::String(display()),
        (DisplayMode::Both, Some(link)) => json!({"display_value": display(), "link": link, "value": actual}),
        (DisplayMode::Both, None) => json!({"display_value": display(), "value": actual}),
    }
}

fn display_value(db: &Db, table: &str, record: &Record, path: &str, ty: FieldType, actual: &str) -> String {
    match ty {
        FieldType::Choice { choices, .. } => {
            choices.iter().find(|(value, _)| *value == actual).map_or(actual, |(_, label)| label).to_owned()
        }
        FieldType::Reference(target) => db.display_of(target, actual).unwrap_or_default().to_owned(),
        FieldType::Journal => journal_history(db, table, record, path),
        FieldType::Text | FieldType::Integer | FieldType::Boolean | FieldType::DateTime => actual.to_owned(),
    }
}

/// A journal field's display value: its entries, newest first, as the form's activity shows them.
fn journal_history(db: &Db, table: &str, record: &Record, path: &str) -> String {
    // A dot-walked journal field shows the history of the referenced record.
    let (owner, element) = match path.rsplit_once('.') {
        Some((reference, element)) => (db.value_at(table, record, reference), element),
        None => (record.get("sys_id").map_or("", String::as_str), path),
    };
    let label = if element == "work_notes" { "Work notes" } else { "Additional comments" };
    db.journal(owner, element)
        .iter()
        .rev()
        .map(|entry| {
            let on = entry.get("sys_created_on").map_or("", String::as_str);
            let by = entry.get("sys_created_by").map_or("", String::as_str);
            let value = entry.get("value").map_or("", String::as_str);
            format!("{on} - {by} ({label})\n{value}\n\n")
        })
        .collect()
}

/// A record with every stored value plus its journal entries (for tests; not an API shape).
pub(crate) fn snapshot(db: &Db, def: &TableDef, record: &Record) -> Value {
    let mut out: Map<String, Value> = record.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    let sys_id = record.get("sys_id").map_or("", String::as_str);
    for field in def.fields.iter().filter(|f| f.ty == FieldType::Journal) {
        let entries = db
            .journal(sys_id, field.name)
            .iter()
            .map(|e| {
                let text = |k: &str| e.get(k).cloned().unwrap_or_default();
                json!({
                    "value": text("value"),
                    "sys_created_on": text("sys_created_on"),
                    "sys_created_by": text("sys_created_by"),
                })
            })
            .collect();
        out.insert(field.name.to_owned(), Value::Array(entries));
    }
    Value::Object(out)
}
