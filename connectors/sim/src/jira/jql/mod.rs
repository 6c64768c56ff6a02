//! The JQL subset the simulator understands (listed in the `jira` module docs), with Jira-like errors for
//! everything else: [`parse`] builds the syntax tree, [`compile`] resolves it against the store.

mod eval;
mod lexer;
mod parser;

pub use eval::compile;
pub use parser::parse;

/// A JQL query Jira would reject (or the simulator cannot answer faithfully).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JqlError {
    /// The message for `errorMessages`.
    pub message: String,
}

impl JqlError {
    /// A syntax error: Jira prefixes those with "Error in the JQL Query:".
    pub fn syntax(detail: impl AsRef<str>) -> Self {
        JqlError { message: format!("Error in the JQL Query: {}", detail.as_ref()) }
    }

    /// A semantic error (unknown field, value or operator), worded like Jira's.
    pub fn semantic(message: impl Into<String>) -> Self {
        JqlError { message: message.into() }
    }

    /// Valid JQL the simulator does not implement.
    pub fn unsupported(message: impl Into<String>) -> Self {
        JqlError { message: message.into() }
    }
}
