//! `config check --online`: connect to every tracker, check its credentials, and check the configuration
//! against what the tracker really has.
//!
//! One line per tracker: `OK` with the server and the account the credentials belong to (from
//! [`Connector::health`]), or `FAILED` with what went wrong and what to check. Trackers are checked
//! concurrently; a failing one does not hide the others. Tokens never appear: the connectors' errors
//! carry the vendor's message and the tracker name, never a credential.
//!
//! Then what twotrack will write to, listed from the tracker itself: a ServiceNow instance's active
//! assignment groups (every `[[queue]]` group must be one), its tables and the choice values of the
//! fields twotrack sets when closing (`state`, `close_code`: `sys_choice`), and whether its journal
//! (`sys_journal_field`) can be read (if not, notes are confirmed by markers); a Jira site's projects with
//! their issue types, its resolutions and the transitions an open issue offers. Each configured value
//! the tracker lacks is a `MISSING` line with a did-you-mean.

use super::output::outln;
use futures::future::join_all;
use twotrack_api::connector::Health;
use twotrack_api::{Connector, ConnectorError, TrackerRole};
use twotrack_jira::JiraConnector;
use twotrack_jira::catalog::{StatusTransitions, TransitionInfo};
use twotrack_servicenow::{Choice, Group, ServiceNowConnector};

use crate::classify::{QueueSpec, default_queues, rules::did_you_mean};
use crate::config::{Config, TrackerConfig, TrackerSettings};
use crate::registry::AnyConnector;

/// Retries for a health check: enough to ride out one transient failure, few enough that an unreachable
/// tracker is reported in seconds rather than after the full retry budget of a sync.
const CHECK_RETRIES: u32 = 1;

/// Indentation of the lines under a tracker's status line.
const INDENT: &str = "               ";

/// What the online check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Every tracker answered and accepted the credentials.
    pub reachable: bool,
    /// Configured values the trackers lack (groups, tables, issue types, transitions, close values).
    pub missing: usize,
}

/// Check every tracker, printing what each has and what of the configuration it lacks.
pub async fn check_online(config: &Config) -> anyhow::Result<Outcome> {
    let outcomes = join_all(config.trackers.iter().map(|t| check_tracker(t, &config.queues))).await;
    let mut outcome = Outcome { reachable: true, missing: 0 };
    for (tracker, (health, lines)) in config.trackers.iter().zip(outcomes) {
        outcome.reachable &= health.is_ok();
        outln!("{}", line(tracker, &health));
        for l in lines {
            outcome.missing += usize::from(l.missing);
            let tag = if l.missing { "MISSING " } else { "" };
            outln!("{INDENT}{tag}{}", l.text);
        }
    }
    Ok(outcome)
}

/// One line of what a tracker has, or of what it lacks.
struct Line {
    missing: bool,
    text: String,
}

fn info(text: String) -> Line {
    Line { missing: false, text }
}

fn missing(text: String) -> Line {
    Line { missing: true, text }
}

async fn check_tracker(tracker: &TrackerConfig, queues: &[QueueSpec]) -> (Result<Health, ConnectorError>, Vec<Line>) {
    let mut tracker = tracker.clone();
    tracker.max_retries = tracker.max_retries.min(CHECK_RETRIES);
    let connector = match AnyConnector::build(&tracker) {
        Ok(c) => c,
        Err(e) => return (Err(e), Vec::new()),
    };
    let health = connector.health().await;
    if health.is_err() {
        return (health, Vec::new());
    }
    let lines = match (&connector, &tracker.settings) {
        (AnyConnector::ServiceNow(c), TrackerSettings::ServiceNow { scope, write }) => {
            servicenow(c, &scope.tables, write, queues).await
        }
        (AnyConnector::Jira(c), TrackerSettings::Jira { scope, write, .. }) => {
            jira(c, &scope.projects, write, tracker.role).await
        }
        _ => Vec::new(),
    };
    (health, lines)
}

/// "; did you mean \"x\"?" when a candidate is close to `got`.
fn near<'a>(got: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(got, candidates).map_or(String::new(), |m| format!("; did you mean \"{m}\"?"))
}

fn listed<S: AsRef<str>>(names: &[S]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
}

fn has(names: &[String], wanted: &str) -> bool {
    names.iter().any(|n| n.eq_ignore_ascii_case(wanted))
}

async fn servicenow(
    c: &ServiceNowConnector,
    tables: &[String],
    t: &twotrack_servicenow::ServiceNowWrite,
    queues: &[QueueSpec],
) -> Vec<Line> {
    let mut lines = Vec::new();
    match c.active_groups().await {
        Ok(groups) => {
            let names: Vec<String> = groups.into_iter().map(|g| g.name).collect();
            lines.push(info(format!("assignment groups ({} active): {}", names.len(), listed(&names))));
            let builtin = default_queues();
            for q in queues.iter().filter(|q| !has(&names, &q.group)) {
                let hint = near(&q.group, names.iter().map(String::as_str));
                if builtin.contains(q) {
                    lines.push(info(format!(
                        "note: built-in queue \"{}\" routes to group \"{}\", which this instance lacks{hint} (set its group with a [[queue]] entry if it should route somewhere)",
                        q.name, q.group
                    )));
                } else {
                    lines.push(missing(format!(
                        "[[queue]] \"{}\": group \"{}\" is not an active assignment group here{hint}",
                        q.name, q.group
                    )));
                }
            }
        }
        Err(e) => lines.push(missing(format!("cannot list the assignment groups (sys_user_group): {e}"))),
    }
    let mut all: Vec<&str> = tables.iter().map(String::as_str).collect();
    for w in [t.incident_table.as_str(), t.request_table.as_str()] {
        if !all.contains(&w) {
            all.push(w);
        }
    }
    for table in &all {
        if let Err(e) = c.check_table(table).await {
            lines.push(missing(format!("table \"{table}\" cannot be read: {e}")));
        }
    }
    lines.push(journal(c).await);
    let agile: Vec<&str> =
        tables.iter().map(String::as_str).filter(|t| twotrack_servicenow::settings::is_agile_table(t)).collect();
    let closing = [t.incident_table.as_str(), t.request_table.as_str()]
        .into_iter()
        .map(|table| (table, "state", "close_state", t.close_state.as_str()))
        .chain(agile.into_iter().map(|table| (table, "state", "agile_close_state", t.agile_close_state.as_str())))
        .chain([(t.incident_table.as_str(), "close_code", "close_code", t.close_code.as_str())]);
    for (table, field, key, value) in closing {
        if value.trim().is_empty() {
            continue;
        }
        match c.choices(table, field).await {
            Ok(choices) if choices.is_empty() => {
                lines.push(info(format!("{table}.{field} has no choice list here: targets.{key} not checked")));
            }
            Ok(choices) => {
                if !choices.iter().any(|ch| ch.value == value) {
                    lines.push(missing(format!(
                        "targets.{key} = \"{value}\" is not a value of {table}.{field}{} (choices: {})",
                        choice_hint(value, &choices),
                        choices.iter().map(|ch| format!("{} {}", ch.value, ch.label)).collect::<Vec<_>>().join(", ")
                    )));
                }
            }
            Err(e) => lines.push(missing(format!("cannot read the choices of {table}.{field} (sys_choice): {e}"))),
        }
    }
    lines
}

/// Whether the move saga can read the notes of an item (`sys_journal_field`) to make sure a note is never
/// posted twice. Both answers are workable, so neither is `MISSING`: where the table is denied (HTTP 403,
/// common for integration users) each note is confirmed by a marker label instead, and the line says so.
async fn journal(c: &ServiceNowConnector) -> Line {
    match c.check_table(JOURNAL).await {
        Ok(()) => info(format!("journal ({JOURNAL}): readable; notes are checked against it before posting")),
        Err(ConnectorError::Auth { status: 403, .. }) => info(format!(
            "journal ({JOURNAL}): denied to this account; each note is confirmed by a marker label instead \
             (README: \"When the journal cannot be read\"); grant read access to check the notes themselves"
        )),
        Err(e) => info(format!("journal ({JOURNAL}): not checked: {e}")),
    }
}

/// The table holding ServiceNow comments and work notes.
const JOURNAL: &str = "sys_journal_field";

/// A label written where the value belongs ("Closed" for 7), or a value close to what was written.
fn choice_hint(value: &str, choices: &[Choice]) -> String {
    if let Some(ch) = choices.iter().find(|ch| ch.label.eq_ignore_ascii_case(value)) {
        return format!("; did you mean \"{}\" (the value of {:?})?", ch.value, ch.label);
    }
    let labels = choices.iter().map(|ch| ch.label.as_str());
    if let Some(label) = did_you_mean(value, labels)
        && let Some(ch) = choices.iter().find(|ch| ch.label == label)
    {
        return format!("; did you mean \"{}\" ({:?})?", ch.value, ch.label);
    }
    near(value, choices.iter().map(|ch| ch.value.as_str()))
}

/// What a Jira tracker's projects offer. The target project must have the issue types of what its role
/// receives: features and defects in a product backlog, incidents and requests in a service queue.
async fn jira(
    c: &JiraConnector,
    projects: &[String],
    write: &twotrack_jira::JiraWrite,
    role: TrackerRole,
) -> Vec<Line> {
    let t = write;
    let types: Vec<(&str, &String)> = match role {
        TrackerRole::Product => vec![("feature_type", &write.feature_type), ("defect_type", &write.defect_type)],
        TrackerRole::Service => vec![("incident_type", &write.incident_type), ("request_type", &write.request_type)],
    };
    let mut lines = Vec::new();
    let mut keys: Vec<&str> = projects.iter().map(String::as_str).collect();
    if !keys.contains(&t.project.as_str()) {
        keys.push(&t.project);
    }
    let mut visible: Option<Vec<String>> = None;
    for key in keys {
        match c.project(key).await {
            Ok(Some(p)) => {
                lines.push(info(format!("project {} \"{}\": issue types {}", p.key, p.name, listed(&p.issue_types))));
                if key == t.project {
                    for &(what, wanted) in &types {
                        if !has(&p.issue_types, wanted) {
                            let hint = near(wanted, p.issue_types.iter().map(String::as_str));
                            lines.push(missing(format!(
                                "targets.{what} = \"{wanted}\" is not an issue type of project {}{hint}",
                                p.key
                            )));
                        }
                    }
                }
            }
            Ok(None) => {
                if visible.is_none() {
                    visible = Some(c.project_keys().await.unwrap_or_default());
                }
                let hint = near(key, visible.iter().flatten().map(String::as_str));
                lines.push(missing(format!("project {key} does not exist or this account cannot browse it{hint}")));
            }
            Err(e) => lines.push(missing(format!("cannot read project {key}: {e}"))),
        }
    }
    match c.resolutions().await {
        Ok(names) => {
            lines.push(info(format!("resolutions: {}", listed(&names))));
            if !t.resolution.is_empty() && !has(&names, &t.resolution) {
                let hint = near(&t.resolution, names.iter().map(String::as_str));
                lines
                    .push(missing(format!("targets.resolution = \"{}\" is not a resolution here{hint}", t.resolution)));
            }
        }
        Err(e) => lines.push(missing(format!("cannot list the resolutions: {e}"))),
    }
    match c.open_transitions(&t.project).await {
        Ok(statuses) if statuses.is_empty() => lines.push(info(format!(
            "no open issue in {} to read the transitions of: targets.close_transition not checked",
            t.project
        ))),
        Ok(statuses) => lines.push(close_transition(&t.close_transition, &statuses)),
        Err(e) => lines.push(missing(format!("cannot read the transitions of open {} issues: {e}", t.project))),
    }
    lines
}

/// `jira           OK      Jira Cloud 1001.0.0 as Twotrack Integration` or
/// `jira           FAILED  authentication failed (HTTP 401): ... Check ...`.
fn line(tracker: &TrackerConfig, outcome: &Result<Health, ConnectorError>) -> String {
    match outcome {
        Ok(health) => format!("{:<14} OK      {} as {}", tracker.name, health.server, health.account),
        Err(error) => format!("{:<14} FAILED  {}", tracker.name, advice(tracker, error)),
    }
}

/// What went wrong, without the tracker-name prefix the line already shows, and what to check.
fn advice(tracker: &TrackerConfig, error: &ConnectorError) -> String {
    let url = tracker.base_url.as_str().trim_end_matches('/');
    match error {
        ConnectorError::Auth { status, message, .. } => format!(
            "{url} refused the credentials (HTTP {status}: {message}). Check `user` and the token in [tracker.auth] \
             (is it current, for this account, allowed to use the REST API and to read the configured scope?)"
        ),
        ConnectorError::Transient { message, .. } => format!(
            "cannot reach {url}: {message}. Check `base_url`, the network path to it (DNS, proxy, firewall, VPN) \
             and that the tracker is up; [tracker.timeouts] if it is merely slow"
        ),
        ConnectorError::RateLimited { .. } => {
            format!("{url} rate-limits this account right now. Try again later, or lower [tracker.rate] if it persists")
        }
        ConnectorError::NotFound { what, .. } => format!(
            "{url} has no such API ({what}). Check `base_url`{}",
            if tracker.kind() == twotrack_api::TrackerKind::Jira {
                " and `flavour` (cloud uses /rest/api/3, datacenter /rest/api/2)"
            } else {
                " (the instance URL, without a path) and that the account may read the configured tables"
            }
        ),
        // The connectors already say what to fix in these (a flavour mismatch, an HTML page instead of JSON).
        ConnectorError::Invalid { message, .. } => message.clone(),
        ConnectorError::Unknown { .. } => error.to_string(),
    }
}

/// Whether the open issues' statuses offer the close transition. Workflows offer different transitions
/// in each status (To Do -> In Progress -> Done), so it is missing only when every open status an
/// offered transition leads to was asked and none offers it; otherwise it cannot be told.
fn close_transition(wanted: &str, statuses: &[StatusTransitions]) -> Line {
    let offered: Vec<&TransitionInfo> = statuses.iter().flat_map(|s| &s.transitions).collect();
    let asked: Vec<String> = statuses.iter().map(|s| format!("{} ({})", s.status, s.issue)).collect();
    let mut names: Vec<String> = Vec::new();
    for t in &offered {
        if !has(&names, &t.name) {
            names.push(t.name.clone());
        }
    }
    let summary = format!("transitions from {}: {}", asked.join(", "), listed(&names));
    if has(&names, wanted) {
        return info(summary);
    }
    let unasked: Vec<&str> = offered
        .iter()
        .filter(|t| !t.to_done && !statuses.iter().any(|s| s.status.eq_ignore_ascii_case(&t.to)))
        .map(|t| t.to.as_str())
        .collect();
    if unasked.is_empty() {
        let hint = near(wanted, names.iter().map(String::as_str));
        missing(format!("targets.close_transition = \"{wanted}\" is not offered in any open status ({summary}){hint}"))
    } else {
        info(format!(
            "{summary}; targets.close_transition = \"{wanted}\" not seen, and no open issue is in {} to ask: not checked",
            unasked.join(", ")
        ))
    }
}

/// `config queues --online`: `[[queue]]` entries proposed from each ServiceNow instance's active
/// assignment groups, as TOML to edit and paste. Fails when an instance cannot be read.
pub async fn propose_queues(config: &Config) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut taken: Vec<String> = config.queues.iter().map(|q| q.name.clone()).collect();
    let mut seen: Vec<String> = Vec::new();
    for tracker in config.trackers.iter().filter(|t| t.kind() == twotrack_api::TrackerKind::ServiceNow) {
        let connector = match AnyConnector::build(tracker)? {
            AnyConnector::ServiceNow(c) => c,
            AnyConnector::Jira(_) => continue,
        };
        let groups = connector.active_groups().await?;
        let groups: Vec<Group> = groups.into_iter().filter(|g| !has(&seen, &g.name)).collect();
        seen.extend(groups.iter().map(|g| g.name.clone()));
        out.push_str(&format!(
            "# PROPOSED [[queue]] entries from the {} active assignment groups of tracker \"{}\" ({}).\n\
             # Edit before pasting into {}: check each name and its match terms, and delete the groups Work\n\
             # should not be routed to (product teams, ...). A rule routes to a queue by its name.\n",
            groups.len(),
            tracker.name,
            tracker.base_url.as_str().trim_end_matches('/'),
            config.source.display(),
        ));
        out.push_str(&proposals(&groups, &config.queues, &mut taken));
    }
    if out.is_empty() {
        anyhow::bail!("no ServiceNow tracker is configured: the assignment groups are read from one");
    }
    Ok(out)
}

/// Words that say nothing about what a group handles.
const NOT_TERMS: [&str; 17] = [
    "and", "the", "for", "with", "team", "teams", "group", "groups", "services", "service", "support", "line", "first",
    "second", "third", "level", "product",
];

/// The entries for `groups`: a group already some queue's is a comment; a group that fits a built-in queue
/// not set by the file sets that queue's group (its terms stay); any other is a new queue, named after the
/// group, with the words of its name and description as match terms. `taken` holds the queue names in use.
fn proposals(groups: &[Group], queues: &[QueueSpec], taken: &mut Vec<String>) -> String {
    let builtin = default_queues();
    let mut free: Vec<&QueueSpec> = queues.iter().filter(|q| builtin.contains(q)).collect();
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut out = String::new();
    for g in groups {
        let about = g.description.trim().lines().next().unwrap_or_default();
        out.push('\n');
        let words = words(&format!("{} {about}", g.name));
        if let Some(q) = queues.iter().find(|q| q.group.eq_ignore_ascii_case(&g.name)) {
            out.push_str(&format!("# {}: already the group of queue {}\n", quote(&g.name), quote(&q.name)));
            free.retain(|f| f.name != q.name);
            continue;
        }
        if !about.is_empty() {
            out.push_str(&format!("# {}: {about}\n", g.name));
        }
        let fits = free.iter().position(|q| q.terms.iter().any(|t| words.contains(t)) || words.contains(&q.name));
        if let Some(i) = fits {
            let q = free.remove(i);
            out.push_str(&format!(
                "[[queue]]\nname = {}\ngroup = {}\n# sets the group of the built-in queue {} (was {}); its match terms stay\n",
                quote(&q.name),
                quote(&g.name),
                quote(&q.name),
                quote(&q.group)
            ));
            continue;
        }
        let name = unique(slug(&g.name), taken);
        taken.push(name.clone());
        out.push_str(&format!("[[queue]]\nname = {}\ngroup = {}\n", quote(&name), quote(&g.name)));
        if words.is_empty() {
            out.push_str("# no match terms found in the name: add `terms = [...]`, or route to it with a [[rule]]\n");
        } else {
            let terms: Vec<String> = words.iter().map(|w| quote(w)).collect();
            out.push_str(&format!("terms = [{}]\n", terms.join(", ")));
        }
    }
    out
}

/// The distinct words of `text` worth matching on (lower case, three letters or more), at most eight.
fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in text.split(|c: char| !c.is_alphanumeric()).map(str::to_lowercase) {
        if w.chars().count() >= 3 && !NOT_TERMS.contains(&w.as_str()) && !out.contains(&w) && out.len() < 8 {
            out.push(w);
        }
    }
    out
}

/// `Web Shop Team` -> `web-shop-team`.
fn slug(name: &str) -> String {
    let lower = name.to_lowercase();
    let parts: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|p| !p.is_empty()).collect();
    if parts.is_empty() { "queue".to_string() } else { parts.join("-") }
}

/// `name`, or `name-2`, `name-3`, ... when taken.
fn unique(name: String, taken: &[String]) -> String {
    if !taken.contains(&name) {
        return name;
    }
    (2..).map(|i| format!("{name}-{i}")).find(|n| !taken.contains(n)).unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, description: &str) -> Group {
        Group { name: name.into(), description: description.into() }
    }

    fn status(issue: &str, status: &str, transitions: &[(&str, &str, bool)]) -> StatusTransitions {
        let transitions = transitions
            .iter()
            .map(|(name, to, to_done)| TransitionInfo { name: (*name).into(), to: (*to).into(), to_done: *to_done })
            .collect();
        StatusTransitions { issue: issue.into(), status: status.into(), transitions }
    }

    #[test]
    fn a_close_transition_is_missing_only_when_every_open_status_was_asked() {
        let todo = status("SHOP-1", "To Do", &[("Start Progress", "In Progress", false)]);
        let doing = status("SHOP-2", "In Progress", &[("Done", "Done", true), ("Stop Progress", "To Do", false)]);
        // Only To Do seen: "Done" may well be offered from In Progress, which the close walks through.
        let only_todo = close_transition("Done", std::slice::from_ref(&todo));
        assert!(!only_todo.missing && only_todo.text.contains("not checked"), "{}", only_todo.text);
        let both = [todo, doing];
        assert!(!close_transition("done", &both).missing);
        let finish = close_transition("Finish", &both);
        assert!(finish.missing, "{}", finish.text);
        assert!(finish.text.contains("To Do (SHOP-1), In Progress (SHOP-2)"), "{}", finish.text);
        assert!(close_transition("Don", &both).text.ends_with("did you mean \"Done\"?"));
    }

    #[test]
    fn groups_become_queues_named_after_them_with_their_words_as_terms() {
        let queues = default_queues();
        let mut taken: Vec<String> = queues.iter().map(|q| q.name.clone()).collect();
        let groups = [
            group("Payments \"Ops\" Team", "Refunds, chargebacks and payouts"),
            group("Service Desk", "First-line support"),
            group("DB Admins", "Database performance and backups"),
            group("Payments Ops Team", ""),
        ];
        let text = proposals(&groups, &queues, &mut taken);
        assert!(text.contains("[[queue]]\nname = \"payments-ops-team\"\ngroup = "), "{text}");
        assert!(text.contains("\"refunds\", \"chargebacks\", \"payouts\""), "{text}");
        assert!(text.contains("# \"Service Desk\": already the group of queue \"service-desk\""), "{text}");
        assert!(
            text.contains("name = \"database\"\ngroup = \"DB Admins\"\n# sets the group of the built-in queue"),
            "{text}"
        );
        assert!(text.contains("name = \"payments-ops-team-2\""), "a second group of the same slug: {text}");
        #[derive(serde::Deserialize)]
        struct File {
            queue: Vec<QueueSpec>,
        }
        let parsed: File = toml::from_str(&text).unwrap();
        assert_eq!(parsed.queue.len(), 3, "{text}");
        assert_eq!(parsed.queue[0].group, "Payments \"Ops\" Team");
    }
}
