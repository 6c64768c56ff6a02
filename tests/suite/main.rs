//! twotrack's integration tests, one module per file, linked into one test binary: fifty binaries that
//! each link the whole crate took gigabytes of disk and minutes of linking. Run one file's tests with
//! `cargo test --test suite apply_crash::` (a module path is a filter).

// The harnesses each file shares; each module uses its own part of them.
#[allow(dead_code)]
#[macro_use] // crash_cases!
mod apply_support;
#[allow(dead_code)]
mod classify_support;
#[allow(dead_code)]
mod report_support;
mod run;
#[allow(dead_code)]
mod storm_support;
#[allow(dead_code)]
mod sync_support;

mod apply_agile;
mod apply_attachments;
mod apply_corrections;
mod apply_crash;
mod apply_faults;
mod apply_followback;
mod apply_guards;
mod apply_history;
mod apply_humans;
mod apply_jira_service;
mod apply_journal_denied;
mod apply_labels;
mod apply_people;
mod apply_replan;
mod apply_search_lag;
mod apply_storm;
mod apply_writers;
mod classify_cases;
mod classify_cli;
mod classify_eval;
mod classify_golden;
mod cli_output;
mod config_cli;
mod config_errors;
mod config_online;
mod config_online_jira_service;
mod config_secrets;
mod daemon_e2e;
mod daemon_reads;
mod daemon_storm_metrics;
mod daemon_unit;
mod demo_flavours;
mod mirror_cli;
mod mirror_crash;
mod mirror_damage;
mod mirror_records;
mod mirror_store;
mod outbox_cli;
mod report_audit;
mod report_browser;
mod report_scale;
mod report_storms;
mod storm_quality;
mod sync_cli;
mod sync_reliability;
