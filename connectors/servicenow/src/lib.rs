//! servicenow connector (being written).
