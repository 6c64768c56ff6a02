//! Records as the Table API returns them: actual values, display values or both; references as
//! `{link, value}` objects; journal fields read as "" (or their history as display value). Bodies are
//! written straight from the store, with no JSON tree in between: a list page is most of what a pull costs
//! the instance.

use std::borrow::Cow;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
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

/// The fields one response renders, each with its type, in the order the instance writes them (by
/// name): worked out once per response rather than once per record.
pub(crate) struct Columns(Vec<(String, FieldType)>);

impl Columns {
    pub(crate) fn of(db: &Db, def: &TableDef, options: &RenderOptions) -> Columns {
        let mut columns: Vec<(String, FieldType)> = match &options.fields {
            Some(fields) => {
                fields.iter().filter_map(|path| Some((path.clone(), db.field_type(def.name, path)?))).collect()
            }
            None => def.fields.iter().map(|field| (field.name.to_owned(), field.ty)).collect(),
        };
        columns.sort_by(|a, b| a.0.cmp(&b.0));
        columns.dedup_by(|a, b| a.0 == b.0);
        Columns(columns)
    }
}

/// A response body, `{"result": ...}`, serialised straight from the store: a list's page of records, or
/// one record.
pub(crate) fn body(db: &Db, def: &TableDef, records: Records<'_>, options: &RenderOptions) -> Vec<u8> {
    let columns = Columns::of(db, def, options);
    let render = |record| Rendered { db, table: def.name, record, columns: &columns, options };
    let written = match records {
        Records::Page(page) => {
            let page: Vec<Rendered<'_>> = page.iter().copied().map(render).collect();
            serde_json::to_vec(&Envelope { result: page })
        }
        Records::One(record) => serde_json::to_vec(&Envelope { result: render(record) }),
    };
    // Strings and string keys only: writing them to memory cannot fail.
    written.unwrap_or_default()
}

/// What a response body holds.
pub(crate) enum Records<'a> {
    Page(&'a [&'a Record]),
    One(&'a Record),
}

#[derive(Serialize)]
struct Envelope<T> {
    result: T,
}

/// One record as a JSON object.
struct Rendered<'a> {
    db: &'a Db,
    table: &'a str,
    record: &'a Record,
    columns: &'a Columns,
    options: &'a RenderOptions,
}

impl Serialize for Rendered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.columns.0.len()))?;
        for (path, ty) in &self.columns.0 {
            map.serialize_entry(path, &Field { record: self, path, ty: *ty })?;
        }
        map.end()
    }
}

/// One field of a record: its actual value, display value or both, a reference with its link.
struct Field<'a> {
    record: &'a Rendered<'a>,
    path: &'a str,
    ty: FieldType,
}

impl Serialize for Field<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Rendered { db, table, record, options, .. } = *self.record;
        let actual = if self.ty == FieldType::Journal { "" } else { db.value_at(table, record, self.path) };
        let display = || display_value(db, table, record, self.path, self.ty, actual);
        let link = match self.ty {
            FieldType::Reference(target) if !actual.is_empty() && !options.exclude_reference_link => {
                Some(format!("{}/api/now/table/{target}/{actual}", options.base_url))
            }
            _ => None,
        };
        let entries: &[(&str, Part<'_>)] = match (options.mode, &link) {
            (DisplayMode::Actual, None) => return serializer.serialize_str(actual),
            (DisplayMode::Display, None) => return serializer.serialize_str(&display()),
            (DisplayMode::Actual, Some(link)) => &[("link", Part::Str(link)), ("value", Part::Str(actual))],
            (DisplayMode::Display, Some(link)) => {
                &[("display_value", Part::Owned(display())), ("link", Part::Str(link))]
            }
            (DisplayMode::Both, Some(link)) => {
                &[("display_value", Part::Owned(display())), ("link", Part::Str(link)), ("value", Part::Str(actual))]
            }
            (DisplayMode::Both, None) => &[("display_value", Part::Owned(display())), ("value", Part::Str(actual))],
        };
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (key, part) in entries {
            map.serialize_entry(key, part.as_str())?;
        }
        map.end()
    }
}

/// A string of a field's object: borrowed from the store, or worked out.
enum Part<'a> {
    Str(&'a str),
    Owned(Cow<'a, str>),
}

impl Part<'_> {
    fn as_str(&self) -> &str {
        match self {
            Part::Str(text) => text,
            Part::Owned(text) => text,
        }
    }
}

fn display_value<'a>(
    db: &'a Db,
    table: &str,
    record: &'a Record,
    path: &str,
    ty: FieldType,
    actual: &'a str,
) -> Cow<'a, str> {
    match ty {
        FieldType::Choice { choices, .. } => {
            Cow::Borrowed(choices.iter().find(|(value, _)| *value == actual).map_or(actual, |(_, label)| label))
        }
        FieldType::Reference(target) => Cow::Borrowed(db.display_of(target, actual).unwrap_or_default()),
        FieldType::Journal => Cow::Owned(journal_history(db, table, record, path)),
        FieldType::Text | FieldType::Integer | FieldType::Boolean | FieldType::DateTime => Cow::Borrowed(actual),
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
