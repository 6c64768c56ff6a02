//! The configuration file as written: plain serde structs, `deny_unknown_fields` everywhere.
//!
//! These types are the file format (and, through schemars, its JSON Schema): their doc comments are
//! what editors show. A tracker's `scope` and `targets` belong to its connector crate: they are read
//! here as [`ByKind`] (kept in the document), then deserialized by the validator into the connector's
//! own types once the tracker's kind is known, with positions kept.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use secrecy::SecretString;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use twotrack_api::{TrackerKind, TrackerRole};

use crate::classify::{PriorityMatrix, QueueSpec, RuleSpec};

/// twotrack's configuration file (`twotrack.toml`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "twotrack configuration")]
pub struct RawConfig {
    /// The trackers to mirror and correct: at least one product backlog (`role = "product"`) and one
    /// service queue (`role = "service"`).
    #[serde(default)]
    pub tracker: Vec<RawTracker>,
    /// The local mirror.
    #[serde(default)]
    pub mirror: RawMirror,
    /// When the daemon (`twotrack run`) syncs, applies corrections and follows moved items back.
    #[serde(default)]
    pub schedule: RawSchedule,
    /// What twotrack may change, and how sure it must be.
    #[serde(default)]
    pub policy: RawPolicy,
    /// The impact x urgency -> priority lookup for Work (default: ServiceNow's).
    #[serde(default)]
    pub priority: PriorityMatrix,
    /// Service queues (assignment groups) Work is routed to. Entries merge with the defaults by name.
    #[serde(default)]
    pub queue: Vec<QueueSpec>,
    /// Classification rules, added to the built-in ones (an entry with a built-in rule's id replaces it).
    #[serde(default)]
    pub rule: Vec<RuleSpec>,
    /// The daemon's HTTP endpoints (/healthz, /readyz, /metrics).
    #[serde(default)]
    pub daemon: RawDaemon,
    /// Storms: many reports of one event (an outage) found among the open items.
    #[serde(default)]
    pub storm: super::storm::RawStorm,
}

/// One tracker: a Jira project set or a ServiceNow instance.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTracker {
    /// A short unique name ("jira", "servicenow-prod"): letters, digits, `-` and `_`.
    #[schemars(required)]
    pub name: Option<String>,
    /// Which API the tracker speaks.
    #[schemars(required)]
    pub kind: Option<TrackerKind>,
    /// What the tracker is for: `product` (the backlog, holds Value) or `service` (the queue, holds Work).
    #[schemars(required)]
    pub role: Option<TrackerRole>,
    /// Where the tracker lives, e.g. `https://example.atlassian.net` (https; http only to loopback
    /// unless `allow_insecure_http = true`).
    #[schemars(required)]
    pub base_url: Option<String>,
    /// Jira only: `cloud` (default) or `datacenter`.
    pub flavour: Option<twotrack_jira::Flavour>,
    /// How to authenticate.
    #[schemars(required)]
    pub auth: Option<RawAuth>,
    /// Client-side rate limit.
    #[serde(default)]
    pub rate: RawRate,
    /// Page streams pulled at once (the partitions of a full pull), all within `rate`; the connector's
    /// default (6) when absent, 1..=32.
    pub concurrency: Option<u32>,
    /// Network timeouts.
    #[serde(default)]
    pub timeouts: RawTimeouts,
    /// Retries after a failed attempt (rate limited, server error, network failure); 0..=20.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Which items to mirror.
    #[serde(default)]
    #[expect(dead_code, reason = "a place in the schema: read from the document by kind (see ByKind)")]
    pub scope: ByKind<twotrack_jira::JiraScope, twotrack_servicenow::ServiceNowScope>,
    /// Where and how items moved into this tracker are created, and how moved-out items are closed.
    #[serde(default)]
    #[expect(dead_code, reason = "a place in the schema: read from the document by kind (see ByKind)")]
    pub targets: ByKind<twotrack_jira::JiraWrite, twotrack_servicenow::ServiceNowWrite>,
    /// Allow `http://` to a host other than loopback (credentials would cross the network in clear text).
    #[serde(default)]
    pub allow_insecure_http: bool,
}

fn default_max_retries() -> u32 {
    4
}

/// A table whose shape depends on the tracker's kind: `J` for Jira, `S` for ServiceNow, each a type of
/// that connector's crate. Read over here (it stays in the document); the validator deserializes it
/// into the right type once the kind is known.
pub struct ByKind<J, S>(PhantomData<(J, S)>);

impl<J, S> Default for ByKind<J, S> {
    fn default() -> Self {
        ByKind(PhantomData)
    }
}

impl<J, S> fmt::Debug for ByKind<J, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ByKind")
    }
}

impl<'de, J, S> Deserialize<'de> for ByKind<J, S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        de::IgnoredAny::deserialize(deserializer)?;
        Ok(ByKind(PhantomData))
    }
}

impl<J: JsonSchema, S: JsonSchema> JsonSchema for ByKind<J, S> {
    fn schema_name() -> Cow<'static, str> {
        format!("{}_or_{}", J::schema_name(), S::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let (jira, servicenow) = (generator.subschema_for::<J>(), generator.subschema_for::<S>());
        json_schema!({ "anyOf": [jira, servicenow], "description": "A jira tracker's or a servicenow tracker's." })
    }
}

/// Credentials for one tracker.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// `basic` (default: Jira Cloud e-mail + API token, ServiceNow user + password) or `bearer`
    /// (Jira Data Center personal access token, OAuth access token).
    #[serde(rename = "type", default)]
    pub kind: AuthType,
    /// The user name (basic only).
    pub user: Option<String>,
    /// The API token or password.
    #[schemars(required)]
    pub token: Option<RawSecret>,
}

/// The authentication scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthType {
    #[default]
    Basic,
    Bearer,
}

/// Where a secret comes from.
#[derive(Debug)]
pub enum RawSecret {
    /// Written in the file (accepted, with a warning).
    Inline(SecretString),
    /// `{ env = "JIRA_TOKEN" }`: an environment variable.
    Env(String),
    /// `{ file = "/run/secrets/jira" }`: a file (a trailing newline is ignored).
    File(PathBuf),
}

impl<'de> Deserialize<'de> for RawSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawSecret, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = RawSecret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{ env = \"VARIABLE\" }, { file = \"/path\" } or a string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<RawSecret, E> {
        Ok(RawSecret::Inline(SecretString::from(value)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawSecret, A::Error> {
        #[derive(Deserialize)]
        #[serde(field_identifier, rename_all = "lowercase")]
        enum Field {
            Env,
            File,
        }
        let mut secret = None;
        while let Some(field) = map.next_key::<Field>()? {
            if secret.is_some() {
                return Err(de::Error::custom("give either `env` or `file`, not both"));
            }
            secret = Some(match field {
                Field::Env => RawSecret::Env(map.next_value()?),
                Field::File => RawSecret::File(map.next_value()?),
            });
        }
        secret.ok_or_else(|| de::Error::custom("empty table: give `env = \"VARIABLE\"` or `file = \"/path\"`"))
    }
}

impl JsonSchema for RawSecret {
    fn schema_name() -> Cow<'static, str> {
        "Secret".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A secret: `{ env = \"VARIABLE\" }`, `{ file = \"/run/secrets/name\" }`, or the value inline (discouraged).",
            "anyOf": [
                {
                    "type": "object",
                    "properties": { "env": { "type": "string", "description": "An environment variable holding the secret." } },
                    "required": ["env"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": { "file": { "type": "string", "description": "A file holding the secret (relative to the configuration file)." } },
                    "required": ["file"],
                    "additionalProperties": false
                },
                { "type": "string", "description": "The secret itself (accepted with a warning)." }
            ]
        })
    }
}

/// Client-side rate limit: a token bucket.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RawRate {
    /// Sustained requests per second (> 0).
    pub per_second: f64,
    /// Requests allowed back to back before the rate applies (>= 1).
    pub burst: u32,
}

impl Default for RawRate {
    fn default() -> Self {
        RawRate { per_second: 10.0, burst: 10 }
    }
}

/// Network timeouts, in seconds.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RawTimeouts {
    /// Deadline for one request, from sending to the last byte of the answer (seconds, > 0, <= 3600).
    pub request: f64,
    /// Deadline for opening the connection (seconds, > 0, <= 3600).
    pub connect: f64,
}

impl Default for RawTimeouts {
    fn default() -> Self {
        RawTimeouts { request: 30.0, connect: 10.0 }
    }
}

/// The local mirror.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RawMirror {
    /// Directory of the mirror database; relative paths are relative to the configuration file.
    pub path: PathBuf,
}

impl Default for RawMirror {
    fn default() -> Self {
        RawMirror { path: PathBuf::from("twotrack-mirror") }
    }
}

/// Cron schedules of the daemon: six fields, seconds first (`sec min hour day-of-month month day-of-week`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RawSchedule {
    /// IANA time zone the schedules are read in, e.g. "Europe/Berlin".
    pub timezone: String,
    /// Pull every tracker into the mirror.
    pub sync: String,
    /// Plan corrections and carry them out (still a dry run unless `policy.dry_run = false`).
    pub apply: String,
    /// Check on moved items (reopened? commented?) and report.
    pub followback: String,
}

impl Default for RawSchedule {
    fn default() -> Self {
        RawSchedule {
            timezone: "UTC".into(),
            sync: "0 */15 * * * *".into(),
            apply: "0 0 * * * *".into(),
            followback: "0 30 6 * * *".into(),
        }
    }
}

/// What twotrack may change, and how sure it must be.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RawPolicy {
    /// Report what would change, change nothing. Set to false to let twotrack write.
    pub dry_run: bool,
    /// Probability (0..=1) of being misfiled at which an item is moved (when the rules and the site
    /// model agree).
    pub move_threshold: f64,
    /// Probability (0..=1, <= move_threshold) of being misfiled at which an item is flagged for a human.
    pub review_threshold: f64,
    /// Where the site model has not learned (fewer than `site_min_items` per role), let the rules
    /// and the prior move items alone. Off: such a site only gets reviews.
    pub rules_may_move_alone: bool,
    /// The site model learns only when the product backlogs and the service queues each have at
    /// least this many mirrored items (>= 10).
    pub site_min_items: usize,
    /// At most this many moves per cycle, the most confident first; the rest wait for the next cycle
    /// (0 pauses moves).
    pub max_moves: usize,
    /// Circuit breaker: refuse a cycle that would move more than this share (0 < share <= 1) of a tracker's
    /// open items (a fault: a bad rule or configuration), naming the rules behind those moves. A dry run never
    /// trips it.
    pub max_move_share: f64,
    /// A correction that failed this many runs in a row (>= 1) is parked with its last error: not attempted
    /// again until `twotrack outbox retry`.
    pub max_attempts: u32,
    /// Items carrying this label are never moved (a human said "keep here").
    pub keep_label: String,
    /// A twin carrying this label was returned by a human ("not ours: it belongs where it came from"):
    /// never moved again, reported, and learned from.
    pub return_label: String,
    /// Resolutions (Jira) and close codes (ServiceNow) that return a closed twin, compared
    /// case-insensitively. Vendors ship none of the defaults: name your instance's own, or add one of
    /// these to its choice list.
    pub return_resolutions: Vec<String>,
    /// Also correct the assignment group of misrouted Work.
    pub fix_routing: bool,
    /// Also correct the priority of misprioritised Work (never the product owner's priority of Value).
    pub fix_priority: bool,
    /// One writer per tracker pair: the writing instance's heartbeat in the trackers is fresh this many
    /// seconds (>= 10) after its last renewal (renewed every third of it); another instance refuses to
    /// write while it is fresh, and takes over a stale one.
    pub writer_ttl_seconds: u64,
    /// A move copies the original's attachments to its twin, each file up to this many bytes (larger ones
    /// stay behind, and the twin says which); 0 copies none.
    pub attachment_max_bytes: u64,
}

impl Default for RawPolicy {
    fn default() -> Self {
        RawPolicy {
            dry_run: true,
            move_threshold: crate::classify::Thresholds::DEFAULT.move_at,
            review_threshold: crate::classify::Thresholds::DEFAULT.review_at,
            rules_may_move_alone: false,
            site_min_items: 40,
            max_moves: 50,
            max_move_share: 0.2,
            max_attempts: 5,
            keep_label: crate::plan::DEFAULT_KEEP_LABEL.into(),
            return_label: crate::plan::RETURN_LABEL.into(),
            return_resolutions: crate::plan::RETURN_RESOLUTIONS.iter().map(|r| r.to_string()).collect(),
            fix_routing: false,
            fix_priority: false,
            writer_ttl_seconds: 120,
            attachment_max_bytes: DEFAULT_ATTACHMENT_MAX_BYTES,
        }
    }
}

/// `policy.attachment_max_bytes` by default: 10 MiB.
pub const DEFAULT_ATTACHMENT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// The daemon's HTTP endpoints.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RawDaemon {
    /// Address of /healthz, /readyz, /metrics and the read API (/v1/...), `host:port`.
    pub listen: String,
    /// /readyz fails after this many sync periods without a successful sync (>= 1).
    pub ready_periods: u32,
    /// The bearer token the read API (/v1/...) requires: `{ env = "VAR" }` or `{ file = "/path" }`.
    /// Required when `listen` is not a loopback address.
    pub token: Option<RawSecret>,
}

impl Default for RawDaemon {
    fn default() -> Self {
        RawDaemon { listen: "127.0.0.1:9464".into(), ready_periods: 3, token: None }
    }
}

/// The JSON Schema of the configuration file.
pub fn schema() -> Schema {
    schemars::schema_for!(RawConfig)
}
