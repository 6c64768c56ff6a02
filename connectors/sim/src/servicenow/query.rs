//! Encoded queries (`sysparm_query`): parsing, matching and ordering.
//!
//! `^` is AND, `^OR` an alternative of the preceding condition (OR binds tighter than AND), `^NQ` starts a
//! new query whose matches are added. Conditions on fields the table does not have, and conditions that do
//! not parse, are ignored like the platform does (`glide.invalid_query.returns_no_rows` off). Date-time
//! literals are UTC `yyyy-MM-dd HH:mm:ss` (a bare date means midnight) or
//! `javascript:gs.dateGenerate('yyyy-MM-dd','HH:mm:ss')`, evaluated in the user's time zone, UTC here.

use std::cmp::Ordering;

use super::schema::FieldType;
use super::store::{Db, Record, normalize_bool, parse_datetime};

/// A parsed encoded query.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Query {
    /// `^NQ` groups (ORed) of AND-ed slots, each a list of ORed conditions.
    groups: Vec<Vec<Vec<Condition>>>,
    order: Vec<OrderKey>,
}

#[derive(Debug, Clone, PartialEq)]
struct OrderKey {
    field: String,
    ty: FieldType,
    descending: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Condition {
    field: String,
    ty: FieldType,
    op: Op,
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq(String),
    Ne(String),
    Lt(String),
    Le(String),
    Gt(String),
    Ge(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Like(String),
    NotLike(String),
    StartsWith(String),
    EndsWith(String),
    Between(String, String),
    IsEmpty,
    IsNotEmpty,
    Anything,
    EmptyString,
}

/// Operators, longest first so that a prefix test finds the right one.
const OPERATORS: [&str; 19] = [
    "ISNOTEMPTY",
    "ISEMPTY",
    "ANYTHING",
    "EMPTYSTRING",
    "NOT LIKE",
    "NOTLIKE",
    "NOT IN",
    "NOTIN",
    "STARTSWITH",
    "ENDSWITH",
    "BETWEEN",
    "LIKE",
    "IN",
    "!=",
    ">=",
    "<=",
    "=",
    ">",
    "<",
];

impl Query {
    /// Parses `text` against `table`'s fields (dot-walks through references are allowed).
    pub(crate) fn parse(text: &str, table: &str, db: &Db) -> Query {
        let mut query = Query::default();
        for group_text in text.split("^NQ") {
            let mut group: Vec<Vec<Condition>> = Vec::new();
            // Whether the previous term was a condition slot an `OR` term may join.
            let mut joinable = false;
            for term in group_text.split('^').map(str::trim).filter(|t| !t.is_empty() && *t != "EQ") {
                if let Some(field) = term.strip_prefix("ORDERBYDESC") {
                    query.push_order(field, true, table, db);
                } else if let Some(field) = term.strip_prefix("ORDERBY") {
                    query.push_order(field, false, table, db);
                } else if let Some(alternative) = term.strip_prefix("OR").filter(|_| joinable) {
                    if let (Some(condition), Some(slot)) = (parse_condition(alternative, table, db), group.last_mut()) {
                        slot.push(condition);
                    }
                } else {
                    let term = term.strip_prefix("OR").unwrap_or(term);
                    if let Some(condition) = parse_condition(term, table, db) {
                        group.push(vec![condition]);
                        joinable = true;
                    }
                }
            }
            query.groups.push(group);
        }
        query
    }

    fn push_order(&mut self, field: &str, descending: bool, table: &str, db: &Db) {
        if let Some(ty) = db.field_type(table, field.trim()) {
            self.order.push(OrderKey { field: field.trim().to_owned(), ty, descending });
        }
    }

    /// Whether a record matches.
    pub(crate) fn matches(&self, db: &Db, table: &str, record: &Record) -> bool {
        self.groups.iter().any(|group| {
            group.iter().all(|slot| {
                slot.iter().any(|condition| condition.matches(db.value_at(table, record, &condition.field)))
            })
        })
    }

    /// The page of `table`'s matching records from `offset` (at most `limit`), in query order, and how
    /// many match in all when `count` is asked for.
    ///
    /// Ordered by `sys_updated_on`, then `sys_id` (how keyset pulls read), the records are read in the
    /// order the table keeps, from the least position a match can have ([`Query::lower_bound`]): without
    /// `count`, the read stops once the page is full, so a page costs about what it holds and what it
    /// skips, not the whole table. Any other order filters and sorts the table.
    pub(crate) fn select<'a>(
        &self,
        db: &'a Db,
        table: &str,
        offset: usize,
        limit: usize,
        count: bool,
    ) -> (Vec<&'a Record>, Option<usize>) {
        if self.is_id_order() {
            let (from, below) = (self.id_lower_bound(), self.id_upper_bound());
            let rows = db.rows_by_id(table, &from, below.as_deref()).filter(|r| self.matches(db, table, r));
            return Self::page_of(rows, offset, limit, count);
        }
        if !self.is_keyset_order() {
            let mut matches: Vec<&Record> = db.rows(table).filter(|r| self.matches(db, table, r)).collect();
            self.sort(db, table, &mut matches);
            let total = matches.len();
            let page = matches.into_iter().skip(offset).take(limit).collect();
            return (page, count.then_some(total));
        }
        let (updated, id) = self.lower_bound();
        let rows = db.rows_ordered(table, (&updated, &id)).filter(|r| self.matches(db, table, r));
        Self::page_of(rows, offset, limit, count)
    }

    /// The page from `offset` (at most `limit`) of matching `rows` in query order, and how many there are
    /// when `count` is asked for (else the read stops once the page is full).
    fn page_of<'a>(
        rows: impl Iterator<Item = &'a Record>,
        offset: usize,
        limit: usize,
        count: bool,
    ) -> (Vec<&'a Record>, Option<usize>) {
        let (mut page, mut total) = (Vec::new(), 0);
        for record in rows {
            if total >= offset && page.len() < limit {
                page.push(record);
            } else if !count && page.len() == limit {
                break;
            }
            total += 1;
        }
        (page, count.then_some(total))
    }

    /// Whether the order is `ORDERBYsys_id` alone: the table's primary key, which [`Db`] keeps in order.
    fn is_id_order(&self) -> bool {
        matches!(self.order.as_slice(), [key] if key.field == "sys_id" && !key.descending)
    }

    /// The least lowercased `sys_id` a matching record can have: for each `^NQ` group, what its
    /// single-condition `sys_id` slots allow; the least over the groups ("" when a group allows anything).
    fn id_lower_bound(&self) -> String {
        let group_bound = |group: &Vec<Vec<Condition>>| {
            let single = group.iter().filter(|slot| slot.len() == 1).map(|slot| &slot[0]);
            let bounds = single.filter(|c| c.field == "sys_id").filter_map(|condition| match &condition.op {
                Op::Gt(id) => Some(format!("{}\0", id.to_lowercase())),
                Op::Ge(id) | Op::Eq(id) | Op::Between(id, _) => Some(id.to_lowercase()),
                _ => None,
            });
            bounds.max().unwrap_or_default()
        };
        self.groups.iter().map(group_bound).min().unwrap_or_default()
    }

    /// The least lowercased `sys_id` no matching record reaches (the read stops there, as an index range
    /// scan does): for each `^NQ` group, the least its single-condition `sys_id` slots allow; the greatest
    /// over the groups. `None` when a group allows any `sys_id` above its lower bound.
    fn id_upper_bound(&self) -> Option<String> {
        let group_bound = |group: &Vec<Vec<Condition>>| {
            let single = group.iter().filter(|slot| slot.len() == 1).map(|slot| &slot[0]);
            let bounds = single.filter(|c| c.field == "sys_id").filter_map(|condition| match &condition.op {
                Op::Lt(id) => Some(id.to_lowercase()),
                // The least text above `id` is `id` followed by the least character.
                Op::Le(id) | Op::Eq(id) | Op::Between(_, id) => Some(format!("{}\0", id.to_lowercase())),
                _ => None,
            });
            bounds.min()
        };
        self.groups.iter().map(group_bound).collect::<Option<Vec<String>>>()?.into_iter().max()
    }

    /// Whether the order is `ORDERBYsys_updated_on^ORDERBYsys_id`: the order [`Db`] keeps each table in.
    fn is_keyset_order(&self) -> bool {
        let keys: Vec<(&str, bool)> = self.order.iter().map(|k| (k.field.as_str(), k.descending)).collect();
        keys == [("sys_updated_on", false), ("sys_id", false)]
    }

    /// The least (`sys_updated_on`, lowercased `sys_id`) a matching record can have: for each `^NQ` group,
    /// what its conditions on `sys_updated_on` (and, under `sys_updated_on=t`, on `sys_id`) allow; the
    /// least over the groups. A group without such a condition allows anything: ("", "").
    fn lower_bound(&self) -> (String, String) {
        let group_bound = |group: &Vec<Vec<Condition>>| {
            let mut bound = (String::new(), String::new());
            let mut at: Option<&str> = None;
            // Only single-condition slots restrict (an `^OR` alternative may match anything).
            let single = group.iter().filter(|slot| slot.len() == 1).map(|slot| &slot[0]);
            for condition in single.clone().filter(|c| c.field == "sys_updated_on") {
                let least = match &condition.op {
                    // The least text above `t` is `t` followed by the least character.
                    Op::Gt(t) => format!("{t}\0"),
                    Op::Ge(t) | Op::Between(t, _) => t.clone(),
                    Op::Eq(t) => {
                        at = Some(t);
                        t.clone()
                    }
                    _ => continue,
                };
                if least > bound.0 {
                    bound = (least, String::new());
                }
            }
            if at.is_some_and(|t| *t == bound.0) {
                for condition in single.filter(|c| c.field == "sys_id") {
                    let least = match &condition.op {
                        Op::Gt(id) => format!("{}\0", id.to_lowercase()),
                        Op::Ge(id) | Op::Eq(id) | Op::Between(id, _) => id.to_lowercase(),
                        _ => continue,
                    };
                    bound.1 = bound.1.max(least);
                }
            }
            bound
        };
        self.groups.iter().map(group_bound).min().unwrap_or_default()
    }

    /// Sorts records by the `ORDERBY` keys; ties (and no keys) keep insertion order.
    pub(crate) fn sort(&self, db: &Db, table: &str, records: &mut [&Record]) {
        if self.order.is_empty() {
            return;
        }
        // Look each record's sort values up once (a lookup walks references), then sort stably by them.
        let mut keyed: Vec<(Vec<&str>, &Record)> = records
            .iter()
            .map(|r| (self.order.iter().map(|key| db.value_at(table, r, &key.field)).collect(), *r))
            .collect();
        keyed.sort_by(|(a, _), (b, _)| {
            self.order
                .iter()
                .zip(a.iter().zip(b.iter()))
                .map(|(key, (x, y))| {
                    let ordering = compare(key.ty, x, y);
                    if key.descending { ordering.reverse() } else { ordering }
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        for (slot, (_, record)) in records.iter_mut().zip(keyed) {
            *slot = record;
        }
    }
}

fn parse_condition(term: &str, table: &str, db: &Db) -> Option<Condition> {
    let split = term
        .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'))
        .unwrap_or(term.len());
    let (field, rest) = term.split_at(split);
    let ty = db.field_type(table, field).filter(|_| !field.is_empty())?;
    let operator = OPERATORS.iter().find(|op| rest.starts_with(**op))?;
    let raw = &rest[operator.len()..];
    let literal = |text: &str| normalize_literal(ty, text);
    let list = || raw.split(',').map(literal).collect::<Vec<_>>();
    let op = match *operator {
        "ISNOTEMPTY" | "ISEMPTY" | "ANYTHING" | "EMPTYSTRING" if !raw.is_empty() => return None,
        "ISNOTEMPTY" => Op::IsNotEmpty,
        "ISEMPTY" => Op::IsEmpty,
        "ANYTHING" => Op::Anything,
        "EMPTYSTRING" => Op::EmptyString,
        "NOT LIKE" | "NOTLIKE" => Op::NotLike(raw.to_lowercase()),
        "NOT IN" | "NOTIN" => Op::NotIn(list()),
        "STARTSWITH" => Op::StartsWith(raw.to_lowercase()),
        "ENDSWITH" => Op::EndsWith(raw.to_lowercase()),
        "LIKE" => Op::Like(raw.to_lowercase()),
        "IN" => Op::In(list()),
        "BETWEEN" => {
            let (low, high) = raw.split_once('@')?;
            Op::Between(literal(low), literal(high))
        }
        "!=" => Op::Ne(literal(raw)),
        ">=" => Op::Ge(literal(raw)),
        "<=" => Op::Le(literal(raw)),
        ">" => Op::Gt(literal(raw)),
        "<" => Op::Lt(literal(raw)),
        _ => Op::Eq(literal(raw)),
    };
    Some(Condition { field: field.to_owned(), ty, op })
}

/// A literal as the stored values of a field of this type spell it.
fn normalize_literal(ty: FieldType, text: &str) -> String {
    match ty {
        FieldType::DateTime => date_literal(text).unwrap_or_else(|| text.trim().to_owned()),
        FieldType::Boolean => normalize_bool(text).map_or_else(|| text.to_owned(), str::to_owned),
        _ => text.to_owned(),
    }
}

/// `yyyy-MM-dd HH:mm:ss`, a bare date, or `javascript:gs.dateGenerate('yyyy-MM-dd','HH:mm:ss'|'start'|'end')`.
fn date_literal(text: &str) -> Option<String> {
    let text = text.trim();
    let Some(arguments) = text.strip_prefix("javascript:gs.dateGenerate(").and_then(|t| t.strip_suffix(')')) else {
        return parse_datetime(text);
    };
    let mut parts = arguments.split(',').map(|p| p.trim().trim_matches(|c| c == '\'' || c == '"'));
    let date = parts.next()?;
    let time = match parts.next().unwrap_or("start") {
        "start" => "00:00:00",
        "end" => "23:59:59",
        time => time,
    };
    parse_datetime(&format!("{date} {time}"))
}

impl Condition {
    fn matches(&self, value: &str) -> bool {
        let eq = |literal: &str| compare(self.ty, value, literal).is_eq();
        let lower = || value.to_lowercase();
        let ordered =
            |accept: fn(Ordering) -> bool, literal: &str| !value.is_empty() && accept(compare(self.ty, value, literal));
        match &self.op {
            Op::Eq(literal) => eq(literal),
            Op::Ne(literal) => !eq(literal),
            Op::Lt(literal) => ordered(Ordering::is_lt, literal),
            Op::Le(literal) => ordered(Ordering::is_le, literal),
            Op::Gt(literal) => ordered(Ordering::is_gt, literal),
            Op::Ge(literal) => ordered(Ordering::is_ge, literal),
            Op::In(list) => list.iter().any(|l| eq(l)),
            Op::NotIn(list) => !list.iter().any(|l| eq(l)),
            Op::Like(needle) => lower().contains(needle.as_str()),
            Op::NotLike(needle) => !lower().contains(needle.as_str()),
            Op::StartsWith(prefix) => lower().starts_with(prefix.as_str()),
            Op::EndsWith(suffix) => lower().ends_with(suffix.as_str()),
            Op::Between(low, high) => ordered(Ordering::is_ge, low) && ordered(Ordering::is_le, high),
            Op::IsEmpty | Op::EmptyString => value.is_empty(),
            Op::IsNotEmpty => !value.is_empty(),
            Op::Anything => true,
        }
    }
}

/// Compares two values of a field: numbers numerically, date-times as their sortable text, other text
/// case-insensitively (as the instance's database collation does). Empty sorts first.
pub(crate) fn compare(ty: FieldType, a: &str, b: &str) -> Ordering {
    let numeric = matches!(ty, FieldType::Integer | FieldType::Choice { numeric: true, .. });
    if numeric && let (Ok(x), Ok(y)) = (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        return x.total_cmp(&y);
    }
    match ty {
        FieldType::DateTime | FieldType::Reference(_) => a.cmp(b),
        _ => compare_caseless(a, b),
    }
}

/// `a` and `b` compared as their lowercase forms. ASCII text (sys_ids, numbers, most values) is compared
/// byte by byte without building the lowercase copies: a keyset page tests every record it skips.
fn compare_caseless(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.bytes().map(|c| c.to_ascii_lowercase()).cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    } else {
        a.to_lowercase().cmp(&b.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servicenow::store::WriteCtx;
    use serde_json::json;

    fn db_with_incidents() -> Db {
        let mut db = Db::new(3, "admin");
        let rows = [
            json!({"short_description": "VPN down", "state": "1", "impact": "1", "urgency": "1", "category": "network"}),
            json!({"short_description": "Printer jam", "state": "2", "impact": "3", "urgency": "3",
                "category": "hardware"}),
            json!({"short_description": "vpn slow", "state": "6", "impact": "2", "urgency": "3", "category": "network"}),
            json!({"short_description": "Password reset", "state": "7", "impact": "3", "urgency": "2", "category": ""}),
        ];
        for (i, row) in rows.iter().enumerate() {
            let ctx =
                WriteCtx { user: "admin".into(), now: format!("2024-01-0{} 10:00:00", i + 1), display_input: false };
            db.insert("incident", row.as_object().unwrap(), &ctx).unwrap();
        }
        db
    }

    fn run(db: &Db, query: &str) -> Vec<String> {
        let query = Query::parse(query, "incident", db);
        let mut rows: Vec<&Record> = db.rows("incident").filter(|r| query.matches(db, "incident", r)).collect();
        query.sort(db, "incident", &mut rows);
        rows.iter().map(|r| r["short_description"].clone()).collect()
    }

    #[test]
    fn evaluates_operators_and_connectives() {
        let db = db_with_incidents();
        let cases: &[(&str, &[&str])] = &[
            ("", &["VPN down", "Printer jam", "vpn slow", "Password reset"]),
            ("category=network", &["VPN down", "vpn slow"]),
            ("category!=network", &["Printer jam", "Password reset"]),
            ("stateIN1,2", &["VPN down", "Printer jam"]),
            ("stateNOT IN1,2", &["vpn slow", "Password reset"]),
            ("short_descriptionLIKEvpn", &["VPN down", "vpn slow"]),
            ("short_descriptionSTARTSWITHp", &["Printer jam", "Password reset"]),
            ("categoryISEMPTY", &["Password reset"]),
            ("categoryISNOTEMPTY^priority<=2", &["VPN down"]),
            ("state=1^ORstate=7", &["VPN down", "Password reset"]),
            ("category=network^state=6^ORstate=1", &["VPN down", "vpn slow"]),
            ("state=1^NQstate=7", &["VPN down", "Password reset"]),
            ("state>2^ORDERBYDESCstate", &["Password reset", "vpn slow"]),
            ("sys_updated_on>=2024-01-02 10:00:00^sys_updated_on<2024-01-04", &["Printer jam", "vpn slow"]),
            ("sys_created_on>javascript:gs.dateGenerate('2024-01-03','start')", &["vpn slow", "Password reset"]),
            ("sys_created_onBETWEEN2024-01-02@2024-01-03 10:00:00", &["Printer jam", "vpn slow"]),
            ("active=true^ORDERBYpriority", &["VPN down", "vpn slow", "Printer jam"]),
        ];
        for (query, expected) in cases {
            assert_eq!(run(&db, query), *expected, "{query}");
        }
    }

    #[test]
    fn keyset_continuation_orders_both_groups_together() {
        let mut db = db_with_incidents();
        // Two more records in the second of the second one, to tie-break by sys_id.
        for name in ["Tie one", "Tie two"] {
            let ctx = WriteCtx { user: "admin".into(), now: "2024-01-02 10:00:00".into(), display_input: false };
            db.insert("incident", json!({"short_description": name}).as_object().unwrap(), &ctx).unwrap();
        }
        let order = "^ORDERBYsys_updated_on^ORDERBYsys_id";
        let all = run(&db, &order[1..]);
        assert_eq!(all.len(), 6);
        let id_of = |name: &str| {
            db.rows("incident").find(|r| r["short_description"] == name).map(|r| r["sys_id"].clone()).unwrap()
        };
        // After each record in turn: exactly the records that follow it in the order.
        for (at, name) in all.iter().enumerate() {
            let record = db.rows("incident").find(|r| r["short_description"] == *name).unwrap();
            let t = &record["sys_updated_on"];
            let query = format!("sys_updated_on>{t}^NQsys_updated_on={t}^sys_id>{}{order}", id_of(name));
            assert_eq!(run(&db, &query), all[at + 1..], "{query}");
        }
    }

    /// What `select` must equal: filter every record, sort, cut the page.
    fn reference<'a>(db: &'a Db, query: &Query, offset: usize, limit: usize) -> (Vec<&'a Record>, usize) {
        let mut rows: Vec<&Record> = db.rows("incident").filter(|r| query.matches(db, "incident", r)).collect();
        query.sort(db, "incident", &mut rows);
        let total = rows.len();
        (rows.into_iter().skip(offset).take(limit).collect(), total)
    }

    #[test]
    fn a_page_read_in_a_kept_order_is_the_page_a_full_sort_gives() {
        let mut db = Db::new(7, "admin");
        // 120 records over 6 seconds (many ties, broken by sys_id), then 20 of them edited (moved to the end).
        for i in 0..120 {
            let ctx =
                WriteCtx { user: "admin".into(), now: format!("2024-03-01 10:00:0{}", i % 6), display_input: false };
            let input =
                json!({"short_description": format!("r{i}"), "category": if i % 3 == 0 { "network" } else { "" }});
            db.insert("incident", input.as_object().unwrap(), &ctx).unwrap();
        }
        let ids: Vec<String> = db.rows("incident").map(|r| r["sys_id"].clone()).collect();
        for id in ids.iter().step_by(6) {
            let ctx = WriteCtx { user: "admin".into(), now: "2024-03-01 10:00:09".into(), display_input: false };
            db.update("incident", id, json!({"state": "2"}).as_object().unwrap(), &ctx).unwrap();
        }
        db.delete("incident", &ids[1]);
        let order = "^ORDERBYsys_updated_on^ORDERBYsys_id";
        let mut queries = vec![order[1..].to_owned(), format!("category=network{order}")];
        for record in db.rows("incident").step_by(7) {
            let (t, id) = (&record["sys_updated_on"], &record["sys_id"]);
            queries.push(format!("sys_updated_on>{t}^NQsys_updated_on={t}^sys_id>{id}{order}"));
            let range = "sys_id>=4000^sys_id<c000";
            queries.push(format!("{range}^sys_updated_on>{t}^NQ{range}^sys_updated_on={t}^sys_id>{id}{order}"));
            queries.push(format!("sys_updated_on>={t}^ORcategory=network{order}"));
            queries.push(format!("sys_updated_on>{t}^NQcategory=network{order}"));
        }
        // A partition read in sys_id order (the primary key), from its start and after a record.
        queries.push("ORDERBYsys_id".to_owned());
        queries.push("category=network^sys_id>=4000^sys_id<c000^ORDERBYsys_id".to_owned());
        for record in db.rows("incident").step_by(9) {
            let id = &record["sys_id"];
            queries.push(format!("sys_id>{id}^sys_id<c000^ORDERBYsys_id"));
            queries.push(format!("sys_id>{}^ORDERBYsys_id", id.to_uppercase()));
            queries.push(format!("sys_id>{id}^NQcategory=network^ORDERBYsys_id"));
            // Upper bounds (where the read stops): exclusive, inclusive, exact, between, in upper case,
            // per ^NQ group, and an ^OR slot that bounds nothing.
            queries.push(format!("sys_id<{}^ORDERBYsys_id", id.to_uppercase()));
            queries.push(format!("sys_id<={id}^ORDERBYsys_id"));
            queries.push(format!("sys_id={id}^ORDERBYsys_id"));
            queries.push(format!("sys_idBETWEEN4000@{id}^ORDERBYsys_id"));
            queries.push(format!("sys_id<{id}^NQsys_id>=c000^sys_id<e000^ORDERBYsys_id"));
            queries.push(format!("sys_id<{id}^NQcategory=network^ORDERBYsys_id"));
            queries.push(format!("sys_id<{id}^ORcategory=network^ORDERBYsys_id"));
        }
        // An empty range, and one a single id wide.
        queries.push("sys_id>=c000^sys_id<4000^ORDERBYsys_id".to_owned());
        queries.push("sys_id>=4000^sys_id<4000^ORDERBYsys_id".to_owned());
        // Another order is sorted as before.
        queries.push("sys_updated_on>2024-03-01 10:00:02^ORDERBYsys_updated_on".to_owned());
        queries.push("sys_id>4000^ORDERBYDESCsys_id".to_owned());
        for text in &queries {
            let query = Query::parse(text, "incident", &db);
            for (offset, limit) in [(0, 5), (0, 500), (3, 4), (200, 5)] {
                let (page, total) = reference(&db, &query, offset, limit);
                assert_eq!(query.select(&db, "incident", offset, limit, true), (page.clone(), Some(total)), "{text}");
                assert_eq!(query.select(&db, "incident", offset, limit, false), (page, None), "{text}");
            }
        }
    }

    #[test]
    fn caseless_comparison_is_the_comparison_of_the_lowercase_forms() {
        let words =
            ["", "a", "A", "ab", "aB", "b", "B", "Z", "_", "9", "abc", "ABD", "é", "É", "Straße", "STRASSE", "ΣΑΣ"];
        for a in words {
            for b in words {
                assert_eq!(compare_caseless(a, b), a.to_lowercase().cmp(&b.to_lowercase()), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn ignores_invalid_terms_like_the_platform() {
        let db = db_with_incidents();
        assert_eq!(run(&db, "no_such_field=1^category=hardware"), ["Printer jam"]);
        assert_eq!(run(&db, "state~~1^category=hardware^ORDERBYbogus"), ["Printer jam"]);
        assert_eq!(run(&db, "no_such_field=1").len(), 4);
    }

    #[test]
    fn dot_walks_through_references() {
        let mut db = db_with_incidents();
        let ctx = WriteCtx { user: "admin".into(), now: "2024-02-01 00:00:00".into(), display_input: false };
        let input = json!({"short_description": "DB slow", "assignment_group": "Database Administration"});
        db.insert("incident", input.as_object().unwrap(), &ctx).unwrap();
        assert_eq!(run(&db, "assignment_group.name=database administration"), ["DB slow"]);
    }
}
