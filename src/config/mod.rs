//! The configuration file (`twotrack.toml`): what to sync, where to move things, how careful to be.
//!
//! Two stages, as in ripgrep: the TOML text is deserialized into plain serde structs (`raw`,
//! `deny_unknown_fields`), then `validate` checks and compiles them into a
//! [`Config`]: URLs parsed, cron expressions compiled, secrets read, defaults filled in. Both stages
//! report every problem they find, each with `file:line:col`, what is wrong and how to fix it
//! ([`ConfigErrors`]), so one run of `twotrack config check` shows everything to fix.
//!
//! Secrets are read into [`SecretString`](secrecy::SecretString)s as soon as they are resolved and never
//! appear in Debug output, [`Config::to_redacted_toml`], errors or logs.

mod diag;
mod document;
mod raw;
mod secret;
mod show;
mod storm;
mod validate;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use twotrack_api::connector::Target;
use twotrack_api::secret::Auth;
use twotrack_api::{Kind, TrackerKind, TrackerRole};

pub use diag::{ConfigErrors, Problem, Severity};
pub use twotrack_jira::Flavour as JiraFlavour;

use crate::classify::{PriorityMatrix, QueueSpec, RuleSpec};

/// Where the configuration is read from unless `--config` or `TWOTRACK_CONFIG` says otherwise.
pub const DEFAULT_PATH: &str = "twotrack.toml";

/// The fully commented example configuration (`config/twotrack.example.toml`), as written by
/// `twotrack config init`.
pub const EXAMPLE: &str = include_str!("../../config/twotrack.example.toml");

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this configuration was read from.
    pub source: PathBuf,
    /// The trackers, in file order; at least one product backlog and one service queue.
    pub trackers: Vec<TrackerConfig>,
    pub mirror: MirrorConfig,
    pub schedule: ScheduleConfig,
    pub policy: Policy,
    pub priority: PriorityMatrix,
    /// The queues Work is routed to: the defaults merged with the file's `[[queue]]` entries by name
    /// (new queues go before the fallback, which stays last).
    pub queues: Vec<QueueSpec>,
    /// The file's `[[rule]]` entries; they extend the built-in rules (same id: replace it).
    pub rules: Vec<RuleSpec>,
    pub daemon: DaemonConfig,
    /// How storms are found (`[storm]`).
    pub storm: crate::storm::StormParams,
    /// Things that work but deserve attention (an inline secret, ...), located like errors.
    pub warnings: Vec<Problem>,
}

/// One tracker.
#[derive(Debug, Clone)]
pub struct TrackerConfig {
    /// Unique short name, used in keys, logs and metrics.
    pub name: String,
    pub role: TrackerRole,
    pub base_url: url::Url,
    pub auth: Auth,
    pub rate: RateLimit,
    /// Page streams pulled at once; `None`: the connector's default.
    pub concurrency: Option<u32>,
    pub timeouts: Timeouts,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// What only this tracker's kind has: its connector's own settings.
    pub settings: TrackerSettings,
    /// `http://` to a non-loopback host was explicitly allowed.
    pub allow_insecure_http: bool,
}

/// Client-side rate limit of one tracker.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RateLimit {
    /// Sustained requests per second (> 0).
    pub per_second: f64,
    /// Requests allowed back to back (>= 1).
    pub burst: u32,
}

/// Network timeouts of one tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub request: Duration,
    pub connect: Duration,
}

/// The settings of one tracker that only its kind has, each owned by its connector crate (which
/// deserializes them from the tracker's `scope` and `targets` tables and checks them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackerSettings {
    Jira {
        flavour: JiraFlavour,
        /// Which issues are mirrored.
        scope: twotrack_jira::JiraScope,
        /// Where moved items are created, how moved-out items are closed (boxed: it is the larger).
        write: Box<twotrack_jira::JiraWrite>,
    },
    ServiceNow {
        /// Which records are mirrored.
        scope: twotrack_servicenow::ServiceNowScope,
        /// Where moved items are created, how moved-out items are closed.
        write: twotrack_servicenow::ServiceNowWrite,
    },
}

impl TrackerSettings {
    pub fn kind(&self) -> TrackerKind {
        match self {
            TrackerSettings::Jira { .. } => TrackerKind::Jira,
            TrackerSettings::ServiceNow { .. } => TrackerKind::ServiceNow,
        }
    }
}

impl TrackerConfig {
    /// Which vendor API the tracker speaks.
    pub fn kind(&self) -> TrackerKind {
        self.settings.kind()
    }

    /// Where a new item of `kind` is created in this tracker, as its connector decides it; `None` where
    /// the tracker takes no item of that kind (it holds the other class, or its connector does not
    /// create that kind). The plan shows it; the connector's `create` writes the same.
    pub fn target(&self, kind: Kind) -> Option<Target> {
        if kind.class() != self.role.holds() {
            return None;
        }
        match &self.settings {
            TrackerSettings::Jira { write, .. } => write.target(kind),
            TrackerSettings::ServiceNow { write, .. } => write.target(kind),
        }
    }
}

/// The local mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorConfig {
    /// The mirror directory (a relative path in the file is resolved against the file's directory).
    pub path: PathBuf,
}

/// The daemon's schedules, compiled.
#[derive(Clone)]
pub struct ScheduleConfig {
    /// The time zone the schedules are read in.
    pub timezone: chrono_tz::Tz,
    pub sync: cron::Schedule,
    pub apply: cron::Schedule,
    pub followback: cron::Schedule,
    /// The expressions as written, for display.
    pub sync_expr: String,
    pub apply_expr: String,
    pub followback_expr: String,
}

impl fmt::Debug for ScheduleConfig {
    /// The expressions, not the compiled field sets (which run to hundreds of lines).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScheduleConfig")
            .field("timezone", &self.timezone)
            .field("sync", &self.sync_expr)
            .field("apply", &self.apply_expr)
            .field("followback", &self.followback_expr)
            .finish()
    }
}

/// What twotrack may change, and how sure it must be.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    /// Report, change nothing (the default).
    pub dry_run: bool,
    /// The probability of being misfiled at which an item is moved, and flagged for review.
    #[serde(flatten)]
    pub thresholds: crate::classify::Thresholds,
    /// Where the site layer has not learned (too few items), let the rules and the prior move alone.
    pub rules_may_move_alone: bool,
    /// The site layer learns only when each role has at least this many mirrored items.
    pub site_min_items: usize,
    /// At most this many moves per cycle.
    pub max_moves: usize,
    /// Refuse a cycle that would move more than this share of a tracker's items.
    pub max_move_share: f64,
    /// A correction that failed this many runs in a row is parked until an operator retries it.
    pub max_attempts: u32,
    /// Items with this label are never moved.
    pub keep_label: String,
    /// How a human returns a twin (`return_label`, `return_resolutions`).
    #[serde(flatten)]
    pub returns: crate::plan::Returns,
    /// Correct the assignment group of misrouted Work.
    pub fix_routing: bool,
    /// Correct the priority of misprioritised Work.
    pub fix_priority: bool,
    /// The writer heartbeat's time to live (see `crate::writer`).
    pub writer_ttl_seconds: u64,
    /// The largest attachment a move copies to the twin (0: none are copied).
    pub attachment_max_bytes: u64,
}

impl Policy {
    /// How sure a move must be.
    pub fn moves(&self) -> crate::classify::fuse::MovePolicy {
        crate::classify::fuse::MovePolicy {
            thresholds: self.thresholds,
            rules_may_move_alone: self.rules_may_move_alone,
        }
    }
}

/// The daemon's HTTP endpoints.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// Address of /healthz, /readyz, /metrics and the read API.
    pub listen: SocketAddr,
    /// /readyz fails after this many sync periods without a successful sync.
    pub ready_periods: u32,
    /// The bearer token of the read API (`/v1/...`); required when `listen` is not loopback.
    pub token: Option<secrecy::SecretString>,
}

impl Config {
    /// The tracker called `name`.
    pub fn tracker(&self, name: &str) -> Option<&TrackerConfig> {
        self.trackers.iter().find(|t| t.name == name)
    }

    /// The resolved configuration as TOML (defaults filled in, secrets shown as `"[redacted]"`).
    pub fn to_redacted_toml(&self) -> String {
        show::to_redacted_toml(self)
    }
}

/// Read and validate the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_with(path, Secrets::Required)
}

/// Whether every secret must be readable now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// Every secret must resolve (commands that contact trackers).
    Required,
    /// An environment variable that is not set in this shell is a warning, not an error: an offline
    /// `config check` validates the file, while the daemon may get its environment elsewhere
    /// (systemd's EnvironmentFile, a Kubernetes secret). Missing secret files are still errors.
    Deferred,
}

/// [`load`] with a choice about secrets.
pub fn load_with(path: &Path, secrets: Secrets) -> Result<Config, ConfigErrors> {
    tracing::debug!(path = %path.display(), "reading configuration");
    let bytes = std::fs::read(path).map_err(|e| {
        let help = if e.kind() == std::io::ErrorKind::NotFound {
            format!("create one with `twotrack config init {}`, or point --config at yours", path.display())
        } else {
            "check the path and its permissions".to_string()
        };
        ConfigErrors::whole_file(path, format!("cannot read the configuration file: {e}"), help)
    })?;
    let text = String::from_utf8(bytes).map_err(|e| ConfigErrors::not_utf8(path, e.as_bytes(), e.utf8_error()))?;
    parse_with(&text, path, secrets)
}

/// Validate configuration `text` as if read from `path` (relative paths in it, such as the mirror's
/// and secret files', are resolved against `path`'s directory).
pub fn parse_str(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
    parse_with(text, path, Secrets::Required)
}

/// A Jira backlog and a ServiceNow queue with inline tokens, nothing else configured (the defaults):
/// for unit tests.
#[cfg(test)]
pub(crate) fn two_trackers_for_test() -> Config {
    let text = r#"tracker = [
  { name = "jira", kind = "jira", role = "product", base_url = "http://127.0.0.1:9", scope = { projects = ["SHOP"] },
     auth = { user = "bot@example.com", token = "inline-test-token" } },
  { name = "servicenow", kind = "servicenow", role = "service", base_url = "http://127.0.0.1:9",
     auth = { user = "bot", token = "inline-test-token" } },
]
"#;
    parse_str(text, Path::new("/tmp/twotrack-test.toml")).expect("a valid test config")
}

/// [`parse_str`] with a choice about secrets.
pub fn parse_with(text: &str, path: &Path, secrets: Secrets) -> Result<Config, ConfigErrors> {
    let config = validate::parse(text, path, secrets)?;
    tracing::debug!(
        path = %path.display(),
        trackers = config.trackers.len(),
        warnings = config.warnings.len(),
        "configuration is valid"
    );
    tracing::trace!(?config, "resolved configuration");
    Ok(config)
}

/// The JSON Schema of the configuration file, for editors (taplo, VS Code's Even Better TOML).
pub fn json_schema() -> serde_json::Value {
    raw::schema().to_value()
}

/// A valid configuration of two trackers (Jira Cloud product backlog `jira`, project SHOP; ServiceNow
/// service queue `sn`), each token given as the TOML value passed (`{ file = "..." }`, `{ env = "..." }`).
#[cfg(test)]
pub(crate) fn two_trackers(jira_token: &str, sn_token: &str) -> String {
    format!(
        r#"
[[tracker]]
name = "jira"
kind = "jira"
role = "product"
base_url = "https://example.atlassian.net"
auth = {{ user = "bot@example.com", token = {jira_token} }}
scope = {{ projects = ["SHOP"] }}

[[tracker]]
name = "sn"
kind = "servicenow"
role = "service"
base_url = "https://example.service-now.com"
auth = {{ type = "bearer", token = {sn_token} }}
"#
    )
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    /// A minimal valid configuration with its secrets in files, in a fresh directory.
    struct Fixture {
        dir: tempfile::TempDir,
    }

    /// The two-tracker configuration every test starts from, its secrets in `jira.token` and `sn.token`.
    fn minimal() -> String {
        two_trackers(r#"{ file = "jira.token" }"#, r#"{ file = "sn.token" }"#)
    }

    impl Fixture {
        fn new() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("jira.token"), "jira-file-secret\n").unwrap();
            std::fs::write(dir.path().join("sn.token"), "sn-file-secret").unwrap();
            Fixture { dir }
        }

        fn path(&self) -> PathBuf {
            self.dir.path().join("twotrack.toml")
        }

        fn parse(&self, text: &str) -> Result<Config, ConfigErrors> {
            parse_str(text, &self.path())
        }

        fn problems(&self, text: &str) -> Vec<Problem> {
            self.parse(text).unwrap_err().problems().to_vec()
        }
    }

    #[test]
    fn a_minimal_file_gets_every_default() {
        let f = Fixture::new();
        let c = f.parse(&minimal()).unwrap();
        assert_eq!(c.source, f.path());
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);

        let jira = c.tracker("jira").unwrap();
        assert_eq!((jira.kind(), jira.role), (TrackerKind::Jira, TrackerRole::Product));
        assert_eq!(jira.rate, RateLimit { per_second: 10.0, burst: 10 });
        assert_eq!(jira.timeouts, Timeouts { request: Duration::from_secs(30), connect: Duration::from_secs(10) });
        assert_eq!(jira.max_retries, 4);
        let TrackerSettings::Jira { flavour, scope, write: t } = &jira.settings else { panic!("{:?}", jira.settings) };
        assert_eq!(
            (*flavour, scope.projects.as_slice(), scope.jql.as_deref()),
            (JiraFlavour::Cloud, &["SHOP".to_string()][..], None)
        );
        assert_eq!((t.project.as_str(), t.feature_type.as_str(), t.defect_type.as_str()), ("SHOP", "Story", "Bug"));
        assert_eq!((t.close_transition.as_str(), t.resolution.as_str()), ("Done", "Won't Do"));
        assert_eq!(t.triage_label.as_deref(), Some("twotrack-triage"));
        match &jira.auth {
            Auth::Basic { user, token } => {
                assert_eq!(user, "bot@example.com");
                assert_eq!(token.expose_secret(), "jira-file-secret");
            }
            other => panic!("{other:?}"),
        }

        let sn = c.tracker("sn").unwrap();
        let TrackerSettings::ServiceNow { scope, write: t } = &sn.settings else { panic!("{:?}", sn.settings) };
        assert_eq!(
            (scope.tables.as_slice(), scope.query.as_deref()),
            (&["incident".to_string(), "sc_req_item".to_string()][..], None)
        );
        assert_eq!((t.incident_table.as_str(), t.request_table.as_str()), ("incident", "sc_req_item"));
        assert_eq!((t.close_state.as_str(), t.close_code.as_str()), ("7", "Closed/Resolved by Caller"));
        assert!(matches!(&sn.auth, Auth::Bearer { token } if token.expose_secret() == "sn-file-secret"));
        assert!(c.tracker("nope").is_none());

        assert_eq!(c.mirror.path, f.dir.path().join("twotrack-mirror"));
        assert_eq!(c.schedule.timezone, chrono_tz::UTC);
        assert_eq!(c.schedule.sync_expr, "0 */15 * * * *");
        assert_eq!(c.schedule.sync.source(), "0 */15 * * * *");
        assert_eq!(
            c.policy,
            Policy {
                dry_run: true,
                thresholds: crate::classify::Thresholds::DEFAULT,
                rules_may_move_alone: false,
                site_min_items: 40,
                max_moves: 50,
                max_move_share: 0.2,
                max_attempts: 5,
                keep_label: "twotrack-keep".into(),
                returns: crate::plan::Returns::default(),
                fix_routing: false,
                fix_priority: false,
                writer_ttl_seconds: 120,
                attachment_max_bytes: 10 * 1024 * 1024,
            }
        );
        assert_eq!(c.priority, PriorityMatrix::default());
        assert_eq!(c.queues, crate::classify::default_queues());
        assert!(c.rules.is_empty());
        assert_eq!((c.daemon.listen, c.daemon.ready_periods), ("127.0.0.1:9464".parse().unwrap(), 3));
        assert!(c.daemon.token.is_none());
    }

    #[test]
    fn queues_merge_with_the_defaults_and_the_fallback_stays_last() {
        let f = Fixture::new();
        let text = format!(
            "{}\n[[queue]]\nname = \"database\"\ngroup = \"DBA Team\"\n\n[[queue]]\nname = \"payments\"\ngroup = \"Payments Ops\"\nterms = [\"refund\"]\n\n[[rule]]\nid = \"refunds\"\nmatch = [\"refund failed\"]\nkind = \"incident\"\nqueue = \"payments\"\n",
            minimal()
        );
        let c = f.parse(&text).unwrap();
        let names: Vec<&str> = c.queues.iter().map(|q| q.name.as_str()).collect();
        let defaults = crate::classify::default_queues();
        assert_eq!(names.len(), defaults.len() + 1);
        assert_eq!(names.last(), defaults.last().map(|q| q.name.as_str()).as_ref());
        assert_eq!(names[names.len() - 2], "payments");
        assert_eq!(c.queues[0].group, "DBA Team");
        assert_eq!(c.rules.len(), 1);
        assert_eq!(c.rules[0].queue.as_deref(), Some("payments"));
    }

    #[test]
    fn every_problem_is_reported_in_one_run_with_positions() {
        let f = Fixture::new();
        let text =
            minimal().replace("role = \"product\"", "role = \"prodct\"").replace("kind = \"servicenow\"", "kind = 7")
                + "\n[policy]\nmove_threshold = 2.0\nbogus = true\n";
        let problems = f.problems(&text);
        let got: Vec<(usize, usize)> = problems.iter().map(|p| (p.line, p.col)).collect();
        assert_eq!(got, [(5, 8), (12, 8), (18, 18), (19, 1)], "{problems:#?}");
        assert!(problems[0].message.contains("\"prodct\"") && problems[0].help.contains("`product`"));
        assert!(problems[1].message.contains("wrong type for `tracker.kind`"));
        assert!(problems[2].message.contains("between 0 and 1"));
        assert_eq!(problems[3].message, "unknown key `bogus` in `policy`");
        assert!(problems.iter().all(|p| p.file == f.path()));
    }

    #[test]
    fn the_return_markers_are_configurable_and_never_the_keep_marker() {
        let f = Fixture::new();
        let policy = "[policy]\nreturn_label = \"not-ours\"\nreturn_resolutions = [\"Misrouted\"]\n";
        let c = f.parse(&format!("{}\n{policy}", minimal())).unwrap();
        let expected = crate::plan::Returns { label: "not-ours".into(), resolutions: vec!["Misrouted".into()] };
        assert_eq!(c.policy.returns, expected);
        let problems = f.problems(&format!("{}\n[policy]\nreturn_label = \"twotrack-keep\"\n", minimal()));
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].message.contains("the same as `policy.keep_label`"), "{}", problems[0].message);
        assert_eq!((problems[0].line, problems[0].col), (18, 16));
    }

    #[test]
    fn a_jira_service_queue_reads_its_connectors_own_keys() {
        let f = Fixture::new();
        let text = minimal().replace("scope = { projects = [\"SHOP\"] }", "scope = { projects = [\"SHOP\"] }\ntargets = { incident_type = \"Outage\", priority_names = [\"P1\", \"P2\", \"P3\", \"P4\", \"P5\"] }");
        let c = f.parse(&text).unwrap();
        let TrackerSettings::Jira { write, .. } = &c.tracker("jira").unwrap().settings else { panic!() };
        assert_eq!((write.incident_type.as_str(), write.priority_names[0].as_str()), ("Outage", "P1"));
        assert_eq!(write.request_type, "Service Request", "the connector's default");
        let problems = f.problems(&minimal().replace(
            "scope = { projects = [\"SHOP\"] }",
            "scope = { projects = [\"SHOP\"] }\ntargets = { incident_type = \" \" }",
        ));
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert_eq!(problems[0].message, "tracker \"jira\": `targets.incident_type` is empty");
        assert_eq!((problems[0].line, problems[0].col), (9, 29));
    }

    #[test]
    fn max_attempts_is_at_least_one() {
        let f = Fixture::new();
        let c = f.parse(&format!("{}\n[policy]\nmax_attempts = 2\n", minimal())).unwrap();
        assert_eq!(c.policy.max_attempts, 2);
        let problems = f.problems(&format!("{}\n[policy]\nmax_attempts = 0\n", minimal()));
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert_eq!(problems[0].message, "`policy.max_attempts` is 0, must be at least 1");
        assert_eq!((problems[0].line, problems[0].col), (18, 16));
        assert!(problems[0].help.contains("max_attempts = 5"), "{:?}", problems[0].help);
        let schema = json_schema();
        let key = &schema["$defs"]["RawPolicy"]["properties"]["max_attempts"];
        assert_eq!(key["default"], 5, "{key}");
        assert!(key["description"].as_str().is_some_and(|d| d.contains("parked")), "{key}");
    }

    #[test]
    fn a_wrongly_typed_required_key_is_reported_once() {
        let f = Fixture::new();
        let problems = f.problems(&minimal().replace("name = \"jira\"", "name = 5"));
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert_eq!((problems[0].line, problems[0].col), (3, 8));
    }

    #[test]
    fn kind_specific_keys_are_checked() {
        let f = Fixture::new();
        let text =
            minimal().replace("scope = { projects = [\"SHOP\"] }", "scope = { tables = [\"incident\"] }").replace(
                "base_url = \"https://example.service-now.com\"",
                "base_url = \"https://example.service-now.com\"\nflavour = \"cloud\"",
            );
        let messages: Vec<String> = f.problems(&text).into_iter().map(|p| p.message).collect();
        assert!(
            messages.iter().any(|m| m.contains("`scope.tables` applies to servicenow trackers only")),
            "{messages:?}"
        );
        assert!(messages.iter().any(|m| m.contains("needs `scope.projects` or `scope.jql`")), "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("`flavour` applies to jira trackers only")), "{messages:?}");
    }

    #[test]
    fn rules_are_checked_against_queues_and_the_classifier() {
        let f = Fixture::new();
        let rule = |body: &str| format!("{}\n[[rule]]\nid = \"r\"\n{body}\n", minimal());
        let first = |text: String| f.problems(&text).remove(0).message;
        assert!(first(rule("match = [\"x\"]\nqueue = \"nowhere\"")).contains("unknown queue \"nowhere\""));
        assert!(first(rule("match = [\"x\"]")).contains("has no effect"));
        assert!(first(rule("class = \"work\"")).contains("matches nothing"));
        assert!(
            first(rule("match = [\"x\"]\nclass = \"value\"\nkind = \"incident\""))
                .contains("kind \"incident\" is work")
        );
        assert!(first(rule("match = [\"x\"]\nkind = \"incident\"\nurgency = 4")).contains("`urgency` must be 1"));
        // A rule the classifier cannot compile (checked by the classifier itself) is the file's problem.
        let bad_phrase = f.problems(&rule("match = [\"***\"]\nkind = \"incident\""));
        assert_eq!(bad_phrase.len(), 1, "{bad_phrase:#?}");
        assert!(bad_phrase[0].message.contains("rule \"r\""), "{bad_phrase:#?}");
    }

    #[test]
    fn inline_secrets_work_with_a_warning_that_does_not_quote_them() {
        let f = Fixture::new();
        let text = minimal().replace("{ file = \"jira.token\" }", "\"inline-secret-value\"");
        let c = f.parse(&text).unwrap();
        assert_eq!(c.warnings.len(), 1);
        let warning = c.warnings[0].to_string();
        assert!(warning.starts_with(&format!("{}:7:", f.path().display())), "{warning}");
        assert!(warning.contains("warning: tracker \"jira\": the token is written in the configuration file"));
        assert!(!warning.contains("inline-secret-value"));
        assert_eq!(c.warnings[0].severity, Severity::Warning);
    }

    #[test]
    fn secrets_never_show_in_debug_or_the_redacted_toml() {
        let f = Fixture::new();
        let c = f.parse(&minimal().replace("{ file = \"jira.token\" }", "\"inline-secret-value\"")).unwrap();
        let debug = format!("{c:?} {c:#?}");
        let shown = c.to_redacted_toml();
        for secret in ["inline-secret-value", "sn-file-secret"] {
            assert!(!debug.contains(secret), "Debug leaks {secret}");
            assert!(!shown.contains(secret), "config show leaks {secret}");
        }
        assert_eq!(shown.matches("token = \"[redacted]\"").count(), 2, "{shown}");
    }

    #[test]
    fn the_redacted_toml_reads_back_as_the_same_configuration() {
        let f = Fixture::new();
        let c = f.parse(&minimal()).unwrap();
        let again = f.parse(&c.to_redacted_toml()).unwrap();
        assert_eq!(again.trackers.len(), 2);
        assert_eq!(again.policy, c.policy);
        assert_eq!(again.queues, c.queues);
        assert_eq!(again.mirror, c.mirror);
        assert_eq!(again.tracker("sn").unwrap().settings, c.tracker("sn").unwrap().settings);
        assert_eq!(again.tracker("jira").unwrap().settings, c.tracker("jira").unwrap().settings);
        assert_eq!(again.warnings.len(), 2, "the redacted tokens come back as inline secrets");
    }

    #[test]
    fn an_unreadable_file_is_one_problem_without_a_position() {
        let f = Fixture::new();
        let e = load(&f.dir.path().join("missing.toml")).unwrap_err();
        assert_eq!(e.problems().len(), 1);
        assert_eq!(e.problems()[0].line, 0);
        assert!(e.to_string().contains("twotrack config init"), "{e}");
    }

    #[test]
    fn the_schema_describes_the_file() {
        let schema = json_schema();
        let props = &schema["properties"];
        for key in ["tracker", "mirror", "schedule", "policy", "priority", "queue", "rule", "daemon"] {
            assert!(props.get(key).is_some(), "schema lacks {key}");
        }
        assert_eq!(schema["additionalProperties"], serde_json::Value::Bool(false));
        let tracker = &schema["$defs"]["RawTracker"];
        let required: Vec<&str> = tracker["required"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        for key in ["name", "kind", "role", "base_url", "auth"] {
            assert!(required.contains(&key), "{key} not required: {required:?}");
        }
    }
}
