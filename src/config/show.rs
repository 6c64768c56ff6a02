//! `twotrack config show`: the resolved configuration as TOML, in the file's own shape, with every
//! default filled in and every secret replaced by `"[redacted]"`.

use serde::Serialize;
use twotrack_api::secret::Auth;
use twotrack_api::{TrackerKind, TrackerRole};

use super::{Config, JiraFlavour, Policy, RateLimit, TrackerConfig, TrackerSettings};
use crate::classify::{PriorityMatrix, QueueSpec, RuleSpec};

/// What a secret is shown as.
pub const REDACTED: &str = "[redacted]";

#[derive(Serialize)]
struct Shown<'a> {
    tracker: Vec<ShownTracker<'a>>,
    mirror: ShownMirror,
    schedule: ShownSchedule<'a>,
    policy: &'a Policy,
    priority: &'a PriorityMatrix,
    queue: &'a [QueueSpec],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    rule: &'a [RuleSpec],
    daemon: ShownDaemon,
    storm: &'a crate::storm::StormParams,
}

#[derive(Serialize)]
struct ShownTracker<'a> {
    name: &'a str,
    kind: TrackerKind,
    role: TrackerRole,
    base_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    flavour: Option<JiraFlavour>,
    max_retries: u32,
    allow_insecure_http: bool,
    auth: ShownAuth<'a>,
    rate: RateLimit,
    #[serde(skip_serializing_if = "Option::is_none")]
    concurrency: Option<u32>,
    timeouts: ShownTimeouts,
    scope: ShownSettings<'a, twotrack_jira::JiraScope, twotrack_servicenow::ServiceNowScope>,
    targets: ShownSettings<'a, twotrack_jira::JiraWrite, twotrack_servicenow::ServiceNowWrite>,
}

/// A table of a connector's own settings, as the connector writes it.
#[derive(Serialize)]
#[serde(untagged)]
enum ShownSettings<'a, J, S> {
    Jira(&'a J),
    ServiceNow(&'a S),
}

#[derive(Serialize)]
struct ShownAuth<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    token: &'static str,
}

#[derive(Serialize)]
struct ShownTimeouts {
    request: f64,
    connect: f64,
}

#[derive(Serialize)]
struct ShownMirror {
    path: String,
}

#[derive(Serialize)]
struct ShownSchedule<'a> {
    timezone: &'a str,
    sync: &'a str,
    apply: &'a str,
    followback: &'a str,
}

#[derive(Serialize)]
struct ShownDaemon {
    listen: String,
    ready_periods: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'static str>,
}

fn tracker(t: &TrackerConfig) -> ShownTracker<'_> {
    let auth = match &t.auth {
        Auth::Basic { user, .. } => ShownAuth { kind: "basic", user: Some(user), token: REDACTED },
        Auth::Bearer { .. } => ShownAuth { kind: "bearer", user: None, token: REDACTED },
    };
    let (flavour, scope, targets) = match &t.settings {
        TrackerSettings::Jira { flavour, scope, write } => {
            (Some(*flavour), ShownSettings::Jira(scope), ShownSettings::Jira(write.as_ref()))
        }
        TrackerSettings::ServiceNow { scope, write } => {
            (None, ShownSettings::ServiceNow(scope), ShownSettings::ServiceNow(write))
        }
    };
    ShownTracker {
        name: &t.name,
        kind: t.kind(),
        role: t.role,
        base_url: t.base_url.as_str(),
        flavour,
        max_retries: t.max_retries,
        allow_insecure_http: t.allow_insecure_http,
        auth,
        rate: t.rate,
        concurrency: t.concurrency,
        timeouts: ShownTimeouts {
            request: t.timeouts.request.as_secs_f64(),
            connect: t.timeouts.connect.as_secs_f64(),
        },
        scope,
        targets,
    }
}

pub(super) fn to_redacted_toml(config: &Config) -> String {
    let shown = Shown {
        tracker: config.trackers.iter().map(tracker).collect(),
        mirror: ShownMirror { path: config.mirror.path.display().to_string() },
        schedule: ShownSchedule {
            timezone: config.schedule.timezone.name(),
            sync: &config.schedule.sync_expr,
            apply: &config.schedule.apply_expr,
            followback: &config.schedule.followback_expr,
        },
        policy: &config.policy,
        priority: &config.priority,
        queue: &config.queues,
        rule: &config.rules,
        daemon: ShownDaemon {
            listen: config.daemon.listen.to_string(),
            ready_periods: config.daemon.ready_periods,
            token: config.daemon.token.as_ref().map(|_| REDACTED),
        },
        storm: &config.storm,
    };
    let header = format!(
        "# The configuration read from {}, with defaults filled in and secrets redacted.\n\n",
        config.source.display()
    );
    match toml::to_string_pretty(&shown) {
        Ok(body) => header + &body,
        Err(e) => format!("{header}# cannot render the configuration as TOML: {e}\n"),
    }
}
