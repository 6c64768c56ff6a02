//! The instance's records: tables of string-valued records in insertion order, numbering, journals,
//! the business rules that run on writes, and loading generated items.
//!
//! Every stored value is a string, as the Table API shows them. Journal fields are never stored on the
//! record: each write appends a `sys_journal_field` row instead.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use super::schema::{self, FieldType, SEED_GROUPS, TableDef};
use crate::generator::GeneratedItem;

/// A record: field name -> actual value.
pub(crate) type Record = BTreeMap<String, String>;

/// `yyyy-MM-dd HH:mm:ss`, the Table API's actual date-time format (UTC).
pub(crate) const DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// When the seeded records (groups, choices, the integration user) were created.
const INSTALLED_ON: &str = "2020-01-01 00:00:00";

/// The tables a generated ServiceNow item may be filed in.
const ITEM_TABLES: [&str; 6] = ["incident", "sc_req_item", "sc_task", "rm_story", "rm_defect", "rm_enhancement"];

/// Formats a time as the Table API shows it (second precision, UTC).
pub(crate) fn format_time(time: DateTime<Utc>) -> String {
    time.format(DATE_FORMAT).to_string()
}

/// Parses a date-time the way the instance accepts it: `yyyy-MM-dd HH:mm:ss`, ISO `yyyy-MM-ddTHH:mm:ss`
/// (optionally with `Z`), or a bare date (midnight). Returns the normalized actual value.
pub(crate) fn parse_datetime(text: &str) -> Option<String> {
    let text = text.trim().trim_end_matches('Z');
    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
        .map(|t| t.format(DATE_FORMAT).to_string())
}

/// The string a JSON input value is stored as.
pub(crate) fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        // A `{value, display_value, link}` object echoed back by a client: take its value.
        Value::Object(o) => o.get("value").map(value_text).unwrap_or_else(|| value.to_string()),
        Value::Array(_) => value.to_string(),
    }
}

/// Who writes, when, and how inputs are to be read.
#[derive(Debug, Clone)]
pub(crate) struct WriteCtx {
    /// The user name (`sys_user.user_name`) the write is attributed to.
    pub user: String,
    /// The write time, formatted.
    pub now: String,
    /// `sysparm_input_display_value=true`: choice and reference inputs are display values.
    pub display_input: bool,
}

/// Why a write failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WriteError {
    #[error("no such table")]
    InvalidTable,
    #[error("no such record")]
    NotFound,
}

/// Fields clients cannot set.
const READ_ONLY: [&str; 6] =
    ["sys_created_on", "sys_created_by", "sys_updated_on", "sys_updated_by", "sys_mod_count", "sys_class_name"];

struct Table {
    def: Arc<TableDef>,
    /// Insertion sequence -> record.
    rows: BTreeMap<u64, Record>,
    by_id: HashMap<String, u64>,
    /// Every record's [`OrderKey`]: the table kept in `sys_updated_on`, `sys_id` order, as an instance's
    /// database index keeps it, so that a keyset page costs what the page holds (see [`Db::rows_ordered`]).
    ordered: BTreeSet<OrderKey>,
    /// Every record's lowercased `sys_id` and insertion sequence: the table's primary key, read in order by
    /// a partition of a full pull (see [`Db::rows_by_id`]).
    by_sys_id: BTreeSet<(String, u64)>,
    next_number: u64,
}

/// Where a record sits in `sys_updated_on`, `sys_id` order: the two values as they compare (a date-time
/// by its text, a sys_id ignoring case), then its insertion sequence (the sort is stable).
pub(crate) type OrderKey = (String, String, u64);

/// Where a record sits in `sys_id` order (ignoring case, as sys_ids compare).
fn id_key(seq: u64, record: &Record) -> (String, u64) {
    (record.get("sys_id").map_or("", String::as_str).to_lowercase(), seq)
}

fn order_key(seq: u64, record: &Record) -> OrderKey {
    let value = |field: &str| record.get(field).map_or("", String::as_str);
    (value("sys_updated_on").to_owned(), value("sys_id").to_lowercase(), seq)
}

impl Table {
    fn put(&mut self, seq: u64, record: Record) {
        if let Some(old) = self.rows.get(&seq) {
            self.ordered.remove(&order_key(seq, old));
            self.by_sys_id.remove(&id_key(seq, old));
        }
        self.ordered.insert(order_key(seq, &record));
        self.by_sys_id.insert(id_key(seq, &record));
        self.rows.insert(seq, record);
    }

    fn take(&mut self, seq: u64) -> Option<Record> {
        let record = self.rows.remove(&seq)?;
        self.ordered.remove(&order_key(seq, &record));
        self.by_sys_id.remove(&id_key(seq, &record));
        Some(record)
    }
}

/// All tables of one instance.
pub(crate) struct Db {
    tables: HashMap<&'static str, Table>,
    /// Record sys_id -> sequences of its `sys_journal_field` rows.
    journals: HashMap<String, Vec<u64>>,
    /// (table, lowercased display value) -> sys_id of the users and groups created while loading items,
    /// so that loading stays linear.
    loaded_names: HashMap<(&'static str, String), String>,
    seq: u64,
    rng: ChaCha8Rng,
}

impl Db {
    /// An instance with its data dictionary, seed groups, choice lists and the integration user.
    pub(crate) fn new(seed: u64, integration_user: &str) -> Db {
        let tables = schema::all_tables()
            .into_iter()
            .map(|def| {
                let table = Table {
                    def: Arc::new(def),
                    rows: BTreeMap::new(),
                    by_id: HashMap::new(),
                    ordered: BTreeSet::new(),
                    by_sys_id: BTreeSet::new(),
                    next_number: 10001,
                };
                (table.def.name, table)
            })
            .collect();
        let mut db = Db {
            tables,
            journals: HashMap::new(),
            loaded_names: HashMap::new(),
            seq: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
        };
        db.seed_choices();
        for (name, description) in SEED_GROUPS {
            db.insert_seeded("sys_user_group", [("name", *name), ("description", *description)]);
        }
        db.user_by_name_or_create(integration_user, INSTALLED_ON);
        db
    }

    fn seed_choices(&mut self) {
        let mut rows = Vec::new();
        for table in self.tables.values() {
            for field in &table.def.fields {
                if let FieldType::Choice { choices, .. } = field.ty {
                    for (sequence, (value, label)) in choices.iter().enumerate() {
                        rows.push((table.def.name, field.name, *value, *label, sequence.to_string()));
                    }
                }
            }
        }
        rows.sort();
        for (table, element, value, label, sequence) in rows {
            let fields = [("name", table), ("element", element), ("value", value), ("label", label)];
            let sys_id = self.insert_seeded("sys_choice", fields);
            self.set_field("sys_choice", &sys_id, "sequence", sequence);
        }
    }

    fn insert_seeded<const N: usize>(&mut self, table: &str, fields: [(&str, &str); N]) -> String {
        let mut record: Record = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        for key in ["sys_created_on", "sys_updated_on"] {
            record.insert(key.to_owned(), INSTALLED_ON.to_owned());
        }
        for key in ["sys_created_by", "sys_updated_by"] {
            record.insert(key.to_owned(), "system".to_owned());
        }
        self.insert_raw(table, record).unwrap_or_default()
    }

    fn set_field(&mut self, table: &str, sys_id: &str, field: &str, value: String) {
        let Some(mut record) = self.get(table, sys_id).cloned() else { return };
        record.insert(field.to_owned(), value);
        self.replace(table, sys_id, record);
    }

    /// The definition of a table.
    pub(crate) fn def(&self, table: &str) -> Option<&Arc<TableDef>> {
        self.tables.get(table).map(|t| &t.def)
    }

    /// The records of a table in insertion order (none for an unknown table).
    pub(crate) fn rows(&self, table: &str) -> impl Iterator<Item = &Record> {
        self.tables.get(table).into_iter().flat_map(|t| t.rows.values())
    }

    /// One record by sys_id.
    pub(crate) fn get(&self, table: &str, sys_id: &str) -> Option<&Record> {
        let table = self.tables.get(table)?;
        table.by_id.get(sys_id).and_then(|seq| table.rows.get(seq))
    }

    /// The records of `table` in `sys_updated_on`, `sys_id` order (ties in insertion order), from the
    /// first whose `sys_updated_on` and lowercased `sys_id` are at least `from`.
    pub(crate) fn rows_ordered<'a>(&'a self, table: &str, from: (&str, &str)) -> impl Iterator<Item = &'a Record> {
        let start: OrderKey = (from.0.to_owned(), from.1.to_owned(), 0);
        self.tables
            .get(table)
            .into_iter()
            .flat_map(move |t| t.ordered.range(start.clone()..).filter_map(|(_, _, seq)| t.rows.get(seq)))
    }

    /// The records of `table` in `sys_id` order (ignoring case; ties in insertion order), from the first
    /// whose lowercased `sys_id` is at least `from`, and before the first whose is at least `below`.
    pub(crate) fn rows_by_id<'a>(
        &'a self,
        table: &str,
        from: &str,
        below: Option<&str>,
    ) -> impl Iterator<Item = &'a Record> {
        use std::ops::Bound;
        let start = Bound::Included((from.to_owned(), 0));
        let end = below.map_or(Bound::Unbounded, |below| Bound::Excluded((below.to_owned(), 0)));
        // An empty range (a bound above the other) reads nothing: `range` would panic on it.
        let empty = below.is_some_and(|below| below <= from);
        self.tables
            .get(table)
            .into_iter()
            .filter(move |_| !empty)
            .flat_map(move |t| t.by_sys_id.range((start.clone(), end.clone())).filter_map(|(_, seq)| t.rows.get(seq)))
    }

    /// Stores `record` in place of the record `sys_id` (kept in order); false when there is none.
    fn replace(&mut self, table: &str, sys_id: &str, record: Record) -> bool {
        let Some(table) = self.tables.get_mut(table) else { return false };
        let Some(&seq) = table.by_id.get(sys_id) else { return false };
        table.put(seq, record);
        true
    }

    /// The display value of a referenced record.
    pub(crate) fn display_of(&self, table: &str, sys_id: &str) -> Option<&str> {
        let def = self.def(table)?;
        self.get(table, sys_id)?.get(def.display_field).map(String::as_str)
    }

    /// The journal entries of a record's journal field, oldest first.
    pub(crate) fn journal(&self, sys_id: &str, element: &str) -> Vec<&Record> {
        let Some(seqs) = self.journals.get(sys_id) else { return Vec::new() };
        let Some(table) = self.tables.get("sys_journal_field") else { return Vec::new() };
        seqs.iter()
            .filter_map(|seq| table.rows.get(seq))
            .filter(|row| row.get("element").is_some_and(|e| e == element))
            .collect()
    }

    /// The type of a (possibly dot-walked, e.g. `assignment_group.name`) field.
    pub(crate) fn field_type(&self, table: &str, path: &str) -> Option<FieldType> {
        let (head, rest) = split_path(path);
        let ty = self.def(table)?.field(head)?.ty;
        match (rest, ty) {
            (None, ty) => Some(ty),
            (Some(rest), FieldType::Reference(target)) => self.field_type(target, rest),
            (Some(_), _) => None,
        }
    }

    /// The actual value of a (possibly dot-walked) field; "" when unset, dangling or a journal field.
    pub(crate) fn value_at<'a>(&'a self, table: &str, record: &'a Record, path: &str) -> &'a str {
        let (head, rest) = split_path(path);
        let value = record.get(head).map_or("", String::as_str);
        let Some(rest) = rest else { return value };
        let target = match self.def(table).and_then(|d| d.field(head)).map(|f| f.ty) {
            Some(FieldType::Reference(target)) => target,
            _ => return "",
        };
        match self.get(target, value) {
            Some(referenced) => self.value_at(target, referenced, rest),
            None => "",
        }
    }

    fn new_sys_id(&mut self) -> String {
        format!("{:032x}", self.rng.random::<u128>())
    }

    /// Stores a record as given, adding defaults, a sys_id and a number where missing.
    fn insert_raw(&mut self, table: &str, mut record: Record) -> Option<String> {
        let def = Arc::clone(self.def(table)?);
        for field in def.fields.iter().filter(|f| f.ty != FieldType::Journal) {
            record.entry(field.name.to_owned()).or_insert_with(|| field.default.to_owned());
        }
        if record.get("sys_id").is_none_or(String::is_empty) {
            let sys_id = self.new_sys_id();
            record.insert("sys_id".to_owned(), sys_id);
        }
        let table = self.tables.get_mut(table)?;
        if let Some(prefix) = def.number_prefix
            && record.get("number").is_none_or(String::is_empty)
        {
            record.insert("number".to_owned(), format!("{prefix}{:07}", table.next_number));
            table.next_number += 1;
        }
        let sys_id = record.get("sys_id").cloned().unwrap_or_default();
        self.seq += 1;
        table.by_id.insert(sys_id.clone(), self.seq);
        table.put(self.seq, record);
        Some(sys_id)
    }

    /// Creates a record from API input (POST), running the business rules.
    pub(crate) fn insert(
        &mut self,
        table: &str,
        input: &Map<String, Value>,
        ctx: &WriteCtx,
    ) -> Result<Record, WriteError> {
        let def = Arc::clone(self.def(table).ok_or(WriteError::InvalidTable)?);
        let mut record = Record::new();
        let explicit = self.assign(&def, &mut record, input, ctx.display_input);
        if let Some(sys_id) = input.get("sys_id").map(value_text)
            && is_sys_id(&sys_id)
            && self.get(table, &sys_id).is_none()
        {
            record.insert("sys_id".to_owned(), sys_id);
        }
        for field in def.fields.iter().filter(|f| f.ty != FieldType::Journal) {
            record.entry(field.name.to_owned()).or_insert_with(|| field.default.to_owned());
        }
        apply_business_rules(&def, &mut record, &explicit, None, &ctx.now);
        if def.is_task() {
            fill_if_empty(&mut record, "opened_at", &ctx.now);
            let opener = self.user_id(&ctx.user).unwrap_or_default();
            fill_if_empty(&mut record, "opened_by", &opener);
        }
        for key in ["sys_created_on", "sys_updated_on"] {
            record.insert(key.to_owned(), ctx.now.clone());
        }
        for key in ["sys_created_by", "sys_updated_by"] {
            record.insert(key.to_owned(), ctx.user.clone());
        }
        record.insert("sys_mod_count".to_owned(), "0".to_owned());
        let sys_id = self.insert_raw(table, record).ok_or(WriteError::InvalidTable)?;
        self.append_journals(table, &sys_id, input, ctx);
        self.get(table, &sys_id).cloned().ok_or(WriteError::NotFound)
    }

    /// Updates a record from API input (PATCH or PUT: both change only the given fields). An update that
    /// changes nothing and adds no journal entry is skipped, as the platform does: no bump.
    pub(crate) fn update(
        &mut self,
        table: &str,
        sys_id: &str,
        input: &Map<String, Value>,
        ctx: &WriteCtx,
    ) -> Result<Record, WriteError> {
        let def = Arc::clone(self.def(table).ok_or(WriteError::InvalidTable)?);
        let before = self.get(table, sys_id).cloned().ok_or(WriteError::NotFound)?;
        let mut record = before.clone();
        let explicit = self.assign(&def, &mut record, input, ctx.display_input);
        apply_business_rules(&def, &mut record, &explicit, Some(&before), &ctx.now);
        let journaled = self.append_journals(table, sys_id, input, ctx);
        if record != before || journaled {
            let count = before.get("sys_mod_count").and_then(|c| c.parse::<u64>().ok()).unwrap_or(0);
            record.insert("sys_mod_count".to_owned(), (count + 1).to_string());
            record.insert("sys_updated_on".to_owned(), ctx.now.clone());
            record.insert("sys_updated_by".to_owned(), ctx.user.clone());
        }
        if !self.replace(table, sys_id, record.clone()) {
            return Err(WriteError::NotFound);
        }
        Ok(record)
    }

    /// Deletes a record; false when it does not exist.
    pub(crate) fn delete(&mut self, table: &str, sys_id: &str) -> bool {
        let Some(table) = self.tables.get_mut(table) else { return false };
        match table.by_id.remove(sys_id) {
            Some(seq) => table.take(seq).is_some(),
            None => false,
        }
    }

    /// Writes the input's known, writable, non-journal fields into `record`; returns the fields set.
    fn assign(
        &self,
        def: &TableDef,
        record: &mut Record,
        input: &Map<String, Value>,
        display_input: bool,
    ) -> Vec<&'static str> {
        let mut explicit = Vec::new();
        for (key, value) in input {
            let Some(field) = def.field(key) else { continue };
            if READ_ONLY.contains(&field.name) || field.name == "sys_id" || field.ty == FieldType::Journal {
                continue;
            }
            let text = value_text(value);
            let stored = match field.ty {
                FieldType::Reference(target) => self.resolve_reference(target, &text),
                FieldType::Choice { choices, .. } if display_input => choices
                    .iter()
                    .find(|(_, label)| label.eq_ignore_ascii_case(text.trim()))
                    .map_or(text, |(value, _)| (*value).to_owned()),
                FieldType::Boolean => normalize_bool(&text).map_or(text, str::to_owned),
                FieldType::DateTime => parse_datetime(&text).unwrap_or_default(),
                FieldType::Integer => text.trim().to_owned(),
                _ => text,
            };
            record.insert(field.name.to_owned(), stored);
            explicit.push(field.name);
        }
        explicit
    }

    /// A reference input: a sys_id of the target table, else a display value found there, else kept as given.
    fn resolve_reference(&self, target: &str, text: &str) -> String {
        let text = text.trim();
        if text.is_empty() || self.get(target, text).is_some() {
            return text.to_owned();
        }
        self.find_by_display(target, text).unwrap_or_else(|| text.to_owned())
    }

    fn find_by_display(&self, table: &str, display: &str) -> Option<String> {
        let field = self.def(table)?.display_field;
        self.rows(table)
            .find(|r| r.get(field).is_some_and(|v| v.eq_ignore_ascii_case(display)))
            .and_then(|r| r.get("sys_id").cloned())
    }

    fn user_id(&self, user_name: &str) -> Option<String> {
        self.rows("sys_user")
            .find(|r| r.get("user_name").is_some_and(|u| u == user_name))
            .and_then(|r| r.get("sys_id").cloned())
    }

    /// Appends the input's non-empty journal fields; true when any entry was written.
    fn append_journals(&mut self, table: &str, sys_id: &str, input: &Map<String, Value>, ctx: &WriteCtx) -> bool {
        let Some(def) = self.def(table).map(Arc::clone) else { return false };
        let mut written = false;
        for field in def.fields.iter().filter(|f| f.ty == FieldType::Journal) {
            let text = input.get(field.name).map(value_text).unwrap_or_default();
            if text.trim().is_empty() {
                continue;
            }
            let entry: Record = [
                ("element_id", sys_id),
                ("element", field.name),
                ("name", table),
                ("value", text.as_str()),
                ("sys_created_on", ctx.now.as_str()),
                ("sys_updated_on", ctx.now.as_str()),
                ("sys_created_by", ctx.user.as_str()),
                ("sys_updated_by", ctx.user.as_str()),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
            if self.insert_raw("sys_journal_field", entry).is_some() {
                let seq = self.seq;
                self.journals.entry(sys_id.to_owned()).or_default().push(seq);
                written = true;
            }
        }
        written
    }

    /// The sys_id of the user with this display name, created (with a derived user name) when missing.
    fn user_by_name_or_create(&mut self, name: &str, created: &str) -> String {
        let key = ("sys_user", name.to_lowercase());
        if let Some(sys_id) = self.loaded_names.get(&key) {
            return sys_id.clone();
        }
        let sys_id = match self.find_by_display("sys_user", name).or_else(|| self.user_id(name)) {
            Some(sys_id) => sys_id,
            None => self.create_user(name, created),
        };
        self.loaded_names.insert(key, sys_id.clone());
        sys_id
    }

    fn create_user(&mut self, name: &str, created: &str) -> String {
        let user_name = user_name_of(name);
        let (first, last) = name.split_once(' ').unwrap_or((name, ""));
        let email = if user_name.contains('@') { user_name.clone() } else { format!("{user_name}@example.com") };
        let record: Record = [
            ("user_name", user_name.as_str()),
            ("name", name),
            ("first_name", first),
            ("last_name", last),
            ("email", email.as_str()),
            ("sys_created_on", created),
            ("sys_updated_on", created),
            ("sys_created_by", "system"),
            ("sys_updated_by", "system"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        self.insert_raw("sys_user", record).unwrap_or_default()
    }

    fn group_by_name_or_create(&mut self, name: &str) -> String {
        let key = ("sys_user_group", name.to_lowercase());
        if let Some(sys_id) = self.loaded_names.get(&key) {
            return sys_id.clone();
        }
        let sys_id = match self.find_by_display("sys_user_group", name) {
            Some(sys_id) => sys_id,
            None => self.insert_seeded("sys_user_group", [("name", name)]),
        };
        self.loaded_names.insert(key, sys_id.clone());
        sys_id
    }

    /// Loads a generated item into the table it was filed in (items for other trackers or tables are
    /// skipped; returns whether it was loaded). Dates come from the item; priority follows the lookup.
    pub(crate) fn load_item(&mut self, item: &GeneratedItem) -> bool {
        let table = item.filed_type.as_str();
        let Some(def) = self.def(table).map(Arc::clone).filter(|_| ITEM_TABLES.contains(&table)) else {
            return false;
        };
        let created = format_time(item.created);
        let updated = format_time(item.updated.max(item.created));
        let caller = self.user_by_name_or_create(&item.reporter, &created);
        let caller_name = self.get("sys_user", &caller).and_then(|u| u.get("user_name")).cloned().unwrap_or_default();
        let mut record = Record::new();
        let mut put = |key: &str, value: String| {
            if def.field(key).is_some() {
                record.insert(key.to_owned(), value);
            }
        };
        put("short_description", item.summary.clone());
        put("description", item.description.clone());
        if !item.status.trim().is_empty() {
            put("state", item.status.trim().to_owned());
        }
        if let Some(impact) = item.impact {
            put("impact", impact.to_string());
        }
        if let Some(urgency) = item.urgency {
            put("urgency", urgency.to_string());
        }
        if let Some(group) = item.assignment_group.as_deref() {
            let group = self.group_by_name_or_create(group);
            record.insert("assignment_group".to_owned(), group);
        }
        let mut put = |key: &str, value: String| {
            if def.field(key).is_some() {
                record.insert(key.to_owned(), value);
            }
        };
        put(if table == "incident" { "caller_id" } else { "requested_for" }, caller.clone());
        put("opened_by", caller);
        put("opened_at", created.clone());
        put("category", item.category.clone().unwrap_or_default());
        put("contact_type", item.contact_type.clone().unwrap_or_default());
        if let Some(points) = item.story_points {
            put("story_points", format!("{}", points.round()));
        }
        for field in def.fields.iter().filter(|f| f.ty != FieldType::Journal) {
            record.entry(field.name.to_owned()).or_insert_with(|| field.default.to_owned());
        }
        let explicit = ["state", "impact", "urgency"];
        apply_business_rules(&def, &mut record, &explicit, None, &updated);
        for (key, value) in [
            ("sys_created_on", &created),
            ("sys_updated_on", &updated),
            ("sys_created_by", &caller_name),
            ("sys_updated_by", &caller_name),
        ] {
            record.insert(key.to_owned(), value.clone());
        }
        record.insert("sys_mod_count".to_owned(), if created == updated { "0" } else { "1" }.to_owned());
        if table == "sc_req_item" {
            let request = self.parent_request(&record);
            record.insert("request".to_owned(), request);
        }
        self.insert_raw(table, record).is_some()
    }

    /// Creates the `sc_request` a requested item belongs to.
    fn parent_request(&mut self, item: &Record) -> String {
        let copied =
            ["short_description", "requested_for", "opened_by", "opened_at", "sys_created_on", "sys_updated_on"];
        let record: Record = copied.iter().filter_map(|k| item.get(*k).map(|v| ((*k).to_owned(), v.clone()))).collect();
        self.insert_raw("sc_request", record).unwrap_or_default()
    }
}

fn split_path(path: &str) -> (&str, Option<&str>) {
    match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    }
}

fn is_sys_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn fill_if_empty(record: &mut Record, key: &str, value: &str) {
    let slot = record.entry(key.to_owned()).or_default();
    if slot.is_empty() {
        value.clone_into(slot);
    }
}

/// `true`/`false` for the usual spellings of a boolean.
pub(crate) fn normalize_bool(text: &str) -> Option<&'static str> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some("true"),
        "false" | "0" | "no" => Some("false"),
        _ => None,
    }
}

/// A user name from a display name: `Jane Doe` -> `jane.doe`; user ids and e-mails stay as they are.
fn user_name_of(name: &str) -> String {
    let name = name.trim();
    if name.contains('@') || !name.contains(' ') {
        return name.to_ascii_lowercase();
    }
    name.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>().join(".")
}

/// The rules a default instance runs on every write of a task record: incident state mirrors, the
/// impact x urgency priority lookup (unless priority is set explicitly), `active` from the state, and the
/// resolved/closed stamps.
fn apply_business_rules(def: &TableDef, record: &mut Record, explicit: &[&str], before: Option<&Record>, now: &str) {
    if !def.is_task() {
        return;
    }
    let set = |field: &str| explicit.contains(&field);
    let incident = def.name == "incident";
    if incident {
        if set("incident_state") && !set("state") {
            let state = record.get("incident_state").cloned().unwrap_or_default();
            record.insert("state".to_owned(), state);
        } else {
            let state = record.get("state").cloned().unwrap_or_default();
            record.insert("incident_state".to_owned(), state);
        }
        if !set("priority") && (before.is_none() || set("impact") || set("urgency")) {
            let impact = record.get("impact").map_or("", String::as_str);
            let urgency = record.get("urgency").map_or("", String::as_str);
            if let Some(priority) = schema::derived_priority(impact, urgency) {
                record.insert("priority".to_owned(), priority.to_owned());
            }
        }
    }
    let state = record.get("state").cloned().unwrap_or_default();
    let state_changed = before.is_none_or(|b| b.get("state") != Some(&state));
    if !state_changed {
        return;
    }
    let closed = def.inactive_states().contains(&state.as_str());
    if !set("active") {
        record.insert("active".to_owned(), if closed { "false" } else { "true" }.to_owned());
    }
    if incident && state == "6" {
        fill_if_empty(record, "resolved_at", now);
    }
    if closed {
        if incident {
            fill_if_empty(record, "resolved_at", now);
        }
        fill_if_empty(record, "closed_at", now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(now: &str) -> WriteCtx {
        WriteCtx { user: "admin".into(), now: now.into(), display_input: false }
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn inserts_number_and_derive_priority_and_updates_bump() {
        let mut db = Db::new(1, "admin");
        let created = db
            .insert(
                "incident",
                &object(json!({"short_description": "x", "impact": 2, "urgency": "1"})),
                &ctx("2024-01-01 10:00:00"),
            )
            .unwrap();
        assert_eq!(created["number"], "INC0010001");
        assert_eq!(created["priority"], "2");
        assert_eq!(created["sys_mod_count"], "0");
        let sys_id = created["sys_id"].clone();
        let same =
            db.update("incident", &sys_id, &object(json!({"impact": "2"})), &ctx("2024-01-01 10:00:05")).unwrap();
        assert_eq!((same["sys_mod_count"].as_str(), same["sys_updated_on"].as_str()), ("0", "2024-01-01 10:00:00"));
        let noted = db
            .update(
                "incident",
                &sys_id,
                &object(json!({"work_notes": "looked", "state": "7"})),
                &ctx("2024-01-01 10:00:09"),
            )
            .unwrap();
        assert_eq!(noted["sys_mod_count"], "1");
        assert_eq!(noted["sys_updated_on"], "2024-01-01 10:00:09");
        assert_eq!((noted["active"].as_str(), noted["closed_at"].as_str()), ("false", "2024-01-01 10:00:09"));
        assert!(!noted.contains_key("work_notes"));
        let entries = db.journal(&sys_id, "work_notes");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["value"], "looked");
    }

    #[test]
    fn references_resolve_by_sys_id_or_display_value() {
        let mut db = Db::new(1, "admin");
        let group = db.find_by_display("sys_user_group", "Service Desk").unwrap();
        let by_name = db
            .insert("incident", &object(json!({"assignment_group": "service desk"})), &ctx("2024-01-01 10:00:00"))
            .unwrap();
        assert_eq!(by_name["assignment_group"], group);
        let (table, record) = ("incident", by_name);
        assert_eq!(db.value_at(table, &record, "assignment_group.name"), "Service Desk");
        assert_eq!(db.field_type(table, "assignment_group.name"), Some(FieldType::Text));
        assert_eq!(db.field_type(table, "short_description.name"), None);
    }

    #[test]
    fn parses_the_accepted_date_forms() {
        assert_eq!(parse_datetime("2024-01-15 10:30:00").as_deref(), Some("2024-01-15 10:30:00"));
        assert_eq!(parse_datetime("2024-01-15T10:30:00Z").as_deref(), Some("2024-01-15 10:30:00"));
        assert_eq!(parse_datetime("2024-01-15").as_deref(), Some("2024-01-15 00:00:00"));
        assert_eq!(parse_datetime("15/01/2024"), None);
    }
}
