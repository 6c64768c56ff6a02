//! twotrack: keep Work in the service queue and Value in the product backlog.
//!
//! # Layout
//! Each layer uses only the layers below it:
//! `main -> cli -> daemon -> {report, outbox, sync} -> {plan, registry} -> {classify, config, mirror} ->
//! {parallel, api}`.
//! - [`cli`]: clap commands, one file per command; the only place that prints for humans.
//! - [`config`]: the TOML file: raw serde structs -> `validate()` -> [`config::Config`], all errors at once.
//! - [`classify`]: rules, signals, priority matrix, routing: pure functions, no I/O.
//! - [`plan`]: findings (misfiled, misrouted, misprioritised) and the corrections apply would make. Pure.
//! - [`mirror`]: the sled store of items, history, cursors and the outbox; the only code that knows sled.
//! - [`registry`]: the only file that names every connector (`AnyConnector`, enum dispatch).
//! - [`sync`]: the pull loop, concurrent across trackers, page + cursor committed atomically.
//! - [`audit`] and [`report`]: the dry-run audit and its renderers (HTML, Markdown, JSON, CSV).
//! - [`parallel`]: a stream of items mapped on every core, the results taken in order (a leaf: the site
//!   learner reads the mirror through it).
//! - [`storm`]: storms, many reports of one event found among the open items, and their priority. Pure.
//! - [`outbox`]: durable corrections and the crash-safe move saga; follow-back.
//! - [`daemon`]: cron schedules, lifecycle, signals, `/healthz` `/readyz` `/metrics`.
//! - [`demo`]: the simulated world behind `twotrack demo` and `twotrack sim`.
//! - [`exit`]: the documented exit codes and how errors map to them.
//! - [`logging`]: tracing subscriber setup (human or JSON), called from `main` only.
//! - the model, the `Connector` trait and the HTTP layer live in the `twotrack-api` crate (`connectors/api`).

pub mod audit;
pub mod classify;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod exit;
pub mod logging;
pub mod mirror;
pub mod outbox;
pub mod parallel;
pub mod plan;
pub mod registry;
pub mod report;
pub mod storm;
pub mod sync;
pub mod writer;

pub use twotrack_api as api;
