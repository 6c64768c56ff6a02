//! Simulators of the Jira REST API (Cloud v3/v2, Data Center v2) and the ServiceNow Table API.
//!
//! Written from the vendors' documentation (`shared/specs`, API-NOTES.md), independently of twotrack's
//! connectors: no types are shared with them. Both run in-process on axum, bound to 127.0.0.1.
//!
//! # Layout
//! - [`generator`]: a deterministic generator of realistic mixed backlogs, with ground truth kept aside.
//! - [`auth`]: the credentials a simulator accepts ([`SimAuth`]).
//! - [`faults`]: fault injection (latency, 429, 5xx, resets, hangs, bad JSON, HTML pages), seeded.
//! - [`log`]: the request log tests assert on.
//! - [`server`]: binding, graceful shutdown, and the middleware (auth -> faults -> logging) both simulators use.
//! - [`jira`]: the Jira simulator.
//! - [`servicenow`]: the ServiceNow simulator.

pub mod auth;
pub mod faults;
pub mod generator;
pub mod jira;
pub mod log;
pub mod people;
pub mod server;
pub mod servicenow;

pub use auth::SimAuth;
