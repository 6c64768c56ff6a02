//! jira connector (being written).
