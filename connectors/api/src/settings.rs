//! What connectors say about their own settings: each connector crate owns the types its tracker's
//! `scope` and `targets` tables deserialize into, and checks them itself, without the network.

/// A problem with a connector's settings, found without the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    /// Where, relative to the settings' table, dotted (`"tables.1"`, `"incident_table"`); empty for
    /// the table as a whole.
    pub key: String,
    /// What is wrong, without naming the tracker (the caller does).
    pub message: String,
    /// What to do about it.
    pub help: String,
    /// The value given and the values the key knows, when it must be one of them: the caller may say
    /// which known value the given one is close to ("did you mean `incident`?").
    pub near: Option<(String, Vec<String>)>,
}

impl SettingProblem {
    pub fn new(key: impl Into<String>, message: impl Into<String>, help: impl Into<String>) -> SettingProblem {
        SettingProblem { key: key.into(), message: message.into(), help: help.into(), near: None }
    }

    /// This problem with `value`, given where one of `known` was expected.
    pub fn near<'a>(mut self, value: &str, known: impl IntoIterator<Item = &'a str>) -> SettingProblem {
        self.near = Some((value.to_string(), known.into_iter().map(str::to_string).collect()));
        self
    }

    /// `problems` as one line per problem, for a [`crate::ConnectorError::Invalid`] message.
    pub fn join(problems: &[SettingProblem]) -> String {
        let parts: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
        parts.join("; ")
    }
}

/// How messages name a key of a settings table read from `table` (`"targets"`: `targets.project`).
pub fn key_name(table: &str, key: &str) -> String {
    match table.is_empty() {
        true => key.to_string(),
        false => format!("{table}.{key}"),
    }
}

/// A blank text setting `key` of `table`, whose default is `default`.
pub fn blank(table: &str, key: &str, value: &str, default: &str, problems: &mut Vec<SettingProblem>) {
    if value.trim().is_empty() {
        let help = match default.is_empty() {
            true => "give it a value or remove it".to_string(),
            false => format!("remove it to use the default \"{default}\""),
        };
        problems.push(SettingProblem::new(key, format!("`{}` is empty", key_name(table, key)), help));
    }
}
