//! Stage two: check the raw structs and compile them into a [`Config`], collecting every problem.
//!
//! Each check reports through [`Ctx`], which finds the span of the offending key or value in the
//! document by path. Checks keep going after a problem so that one run reports everything; a value
//! that could not be built is `None` and the configuration as a whole fails at the end.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use twotrack_api::secret::Auth;
use twotrack_api::settings::SettingProblem;
use twotrack_api::{TrackerKind, TrackerRole};
use twotrack_servicenow::settings as servicenow;
use url::{Host, Url};

use super::diag::{self, ConfigErrors, Diag};
use super::document::Document;
use super::raw::{
    AuthType, RawAuth, RawConfig, RawDaemon, RawPolicy, RawRate, RawSchedule, RawSecret, RawTimeouts, RawTracker,
};
use super::secret;
use super::{
    Config, DaemonConfig, JiraFlavour, MirrorConfig, Policy, RateLimit, ScheduleConfig, Timeouts, TrackerConfig,
    TrackerSettings,
};
use crate::classify::rules::{self, Entry, Problem as RulesProblem};
use crate::classify::{Classifier, PriorityMatrix, QueueSpec, RuleSpec, default_queues};

/// Longest accepted timeout, in seconds.
const MAX_TIMEOUT_SECS: f64 = 3600.0;
/// Most accepted retries.
const MAX_RETRIES: u32 = 20;

/// Parse, deserialize and validate `text` (read from `file`).
pub(super) fn parse(text: &str, file: &Path, secrets: super::Secrets) -> Result<Config, ConfigErrors> {
    let mut doc = Document::parse(text).map_err(|diags| ConfigErrors::new(file, text, diags))?;
    let mut errors = Vec::new();
    let raw = doc.deserialize::<RawConfig>(&mut errors);
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut ctx = Ctx { doc: &mut doc, text, dir, errors, warnings: Vec::new(), secrets };
    let config = raw.and_then(|raw| validate(&mut ctx, raw, file));
    match config {
        Some(mut config) if ctx.errors.is_empty() => {
            config.warnings = ctx.warnings.iter().map(|w| w.warning(file, text)).collect();
            Ok(config)
        }
        _ => Err(ConfigErrors::new(file, text, ctx.errors)),
    }
}

/// Where problems go, and how they find their place in the file.
struct Ctx<'a, 't> {
    doc: &'a mut Document<'t>,
    text: &'t str,
    /// The configuration file's directory: relative paths are resolved against it.
    dir: PathBuf,
    errors: Vec<Diag>,
    warnings: Vec<Diag>,
    /// Whether an unset environment variable is an error (it is, except for an offline `config check`).
    secrets: super::Secrets,
}

impl Ctx<'_, '_> {
    /// A problem with the value at `path` (or, if it is missing, with the table it belongs in).
    fn error(&mut self, path: &str, message: impl Into<String>, help: impl Into<String>) {
        self.errors.push(Diag::new(Some(self.doc.locate(path)), message, help));
    }

    /// A problem with the key at `path` itself (it does not belong there).
    fn key_error(&mut self, path: &str, message: impl Into<String>, help: impl Into<String>) {
        self.errors.push(Diag::new(Some(self.doc.locate_key(path)), message, help));
    }

    fn warn(&mut self, path: &str, message: impl Into<String>, help: impl Into<String>) {
        self.warnings.push(Diag::new(Some(self.doc.locate(path)), message, help));
    }

    /// `value`, or a "missing required key" problem at `table` (unless the key was there but had
    /// the wrong type, which is reported already).
    fn required<T>(&mut self, table: &str, key: &str, value: Option<T>, what: &str, help: &str) -> Option<T> {
        let path = format!("{table}.{key}");
        if value.is_none() && !self.doc.was_pruned(&path) {
            self.error(table, format!("{what}: missing required key `{key}`"), help);
        }
        value
    }

    /// The line a path is on, to point from one problem to a related place.
    fn line_of(&self, path: &str) -> usize {
        diag::line_col(self.text, self.doc.locate(path).start).0
    }
}

fn validate(ctx: &mut Ctx<'_, '_>, raw: RawConfig, file: &Path) -> Option<Config> {
    let trackers = trackers(ctx, raw.tracker);
    let mirror = mirror(ctx, raw.mirror.path);
    let schedule = schedule(ctx, raw.schedule);
    let policy = policy(ctx, raw.policy);
    let before = ctx.errors.len();
    priority(ctx, &raw.priority);
    let user_queues = raw.queue.clone();
    let queues = queues(ctx, raw.queue, &raw.rule);
    rules(ctx, &raw.rule, &queues);
    // Compiling the rules catches what the checks above cannot (a phrase or term that does not
    // compile); with no rules or queues of the file's there is nothing of its own to compile, and
    // every command starts faster.
    let own = !raw.rule.is_empty() || !user_queues.is_empty();
    if own && ctx.errors.len() == before && !ctx.doc.pruned_under("rule") && !ctx.doc.pruned_under("queue") {
        classifier(ctx, &raw.rule, &user_queues, &queues, &raw.priority);
    }
    let daemon = daemon(ctx, raw.daemon);
    let storm = super::storm::validate(&raw.storm).map_err(|e| e.into_iter().for_each(|(p, m, h)| ctx.error(p, m, h)));
    Some(Config {
        source: file.to_path_buf(),
        trackers,
        mirror,
        schedule: schedule?,
        policy,
        priority: raw.priority,
        queues,
        rules: raw.rule,
        daemon: daemon?,
        storm: storm.ok()?,
        warnings: Vec::new(),
    })
}

// ---------------------------------------------------------------------------------------------------
// Trackers

fn trackers(ctx: &mut Ctx<'_, '_>, raw: Vec<RawTracker>) -> Vec<TrackerConfig> {
    let mut first_use: HashMap<String, usize> = HashMap::new();
    for (i, t) in raw.iter().enumerate() {
        let Some(name) = &t.name else { continue };
        match first_use.get(name) {
            Some(&first) => {
                let line = ctx.line_of(&format!("tracker.{first}.name"));
                ctx.error(
                    &format!("tracker.{i}.name"),
                    format!("duplicate tracker name \"{name}\" (first used on line {line})"),
                    "give every [[tracker]] its own name",
                );
            }
            None => {
                first_use.insert(name.clone(), i);
            }
        }
    }
    let roles: Vec<Option<TrackerRole>> = raw.iter().map(|t| t.role).collect();
    let built: Vec<TrackerConfig> = raw.into_iter().enumerate().filter_map(|(i, t)| tracker(ctx, i, t)).collect();
    role_coverage(ctx, &roles);
    built
}

/// At least one product backlog and one service queue, when every role is known.
fn role_coverage(ctx: &mut Ctx<'_, '_>, roles: &[Option<TrackerRole>]) {
    if roles.is_empty() {
        ctx.error(
            "",
            "no trackers configured",
            "add a [[tracker]] with role = \"product\" and one with role = \"service\" (`twotrack config init` writes an example)",
        );
        return;
    }
    if ctx.doc.pruned_under("tracker") || roles.iter().any(Option::is_none) {
        return;
    }
    for role in [TrackerRole::Product, TrackerRole::Service] {
        if !roles.contains(&Some(role)) {
            let what = match role {
                TrackerRole::Product => "product backlog",
                TrackerRole::Service => "service queue",
            };
            ctx.error(
                "tracker",
                format!("no {what}: no tracker has role = \"{role}\""),
                format!("add a [[tracker]] with role = \"{role}\": twotrack moves items between the two roles"),
            );
        }
    }
}

fn tracker(ctx: &mut Ctx<'_, '_>, i: usize, raw: RawTracker) -> Option<TrackerConfig> {
    let p = format!("tracker.{i}");
    let label = match &raw.name {
        Some(name) => format!("tracker \"{name}\""),
        None => format!("tracker #{}", i + 1),
    };
    let name = ctx
        .required(&p, "name", raw.name, &label, "add a short unique name, e.g. `name = \"jira\"`")
        .filter(|name| tracker_name(ctx, &p, name));
    let kind = ctx.required(&p, "kind", raw.kind, &label, "add `kind = \"jira\"` or `kind = \"servicenow\"`");
    let role = ctx.required(
        &p,
        "role",
        raw.role,
        &label,
        "add `role = \"product\"` (a product backlog) or `role = \"service\"` (a service queue)",
    );
    let base_url = ctx
        .required(&p, "base_url", raw.base_url, &label, "add `base_url = \"https://...\"`")
        .and_then(|url| base_url(ctx, &p, &label, &url, raw.allow_insecure_http));
    let flavour = match (kind, raw.flavour) {
        (Some(TrackerKind::ServiceNow), Some(_)) => {
            ctx.key_error(
                &format!("{p}.flavour"),
                format!("{label}: `flavour` applies to jira trackers only"),
                "remove it",
            );
            JiraFlavour::Cloud
        }
        (_, flavour) => flavour.unwrap_or_default(),
    };
    let auth = ctx
        .required(&p, "auth", raw.auth, &label, "add `auth = { user = \"...\", token = { env = \"TOKEN_VARIABLE\" } }`")
        .and_then(|auth| self::auth(ctx, &p, &label, auth));
    let rate = rate(ctx, &p, &label, &raw.rate);
    concurrency(ctx, &p, &label, kind, raw.concurrency);
    let timeouts = timeouts(ctx, &p, &label, &raw.timeouts);
    if raw.max_retries > MAX_RETRIES {
        ctx.error(
            &format!("{p}.max_retries"),
            format!("{label}: `max_retries` is {}, more than {MAX_RETRIES}", raw.max_retries),
            "a handful is plenty: failed cycles are retried on the next schedule anyway (default 4)",
        );
    }
    let settings = match kind {
        Some(TrackerKind::Jira) => jira(ctx, &p, &label, flavour),
        Some(TrackerKind::ServiceNow) => servicenow(ctx, &p, &label),
        None => None,
    };
    let tracker = TrackerConfig {
        name: name?,
        role: role?,
        base_url: base_url?,
        auth: auth?,
        rate,
        concurrency: raw.concurrency,
        timeouts: timeouts?,
        max_retries: raw.max_retries,
        settings: settings?,
        allow_insecure_http: raw.allow_insecure_http,
    };
    Some(tracker)
}

/// `concurrency` within what the tracker's connector allows (each connector says so itself).
fn concurrency(ctx: &mut Ctx<'_, '_>, p: &str, label: &str, kind: Option<TrackerKind>, value: Option<u32>) {
    let max = match kind {
        Some(TrackerKind::Jira) => twotrack_jira::MAX_CONCURRENCY,
        Some(TrackerKind::ServiceNow) => servicenow::MAX_CONCURRENCY,
        None => return,
    };
    if let Some(n) = value.filter(|n| !(1..=max).contains(n)) {
        ctx.error(
            &format!("{p}.concurrency"),
            format!("{label}: `concurrency` is {n}, not within 1..={max}"),
            "the page streams pulled at once, all within `rate` (default 6)",
        );
    }
}

fn tracker_name(ctx: &mut Ctx<'_, '_>, p: &str, name: &str) -> bool {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        ctx.error(
            &format!("{p}.name"),
            format!("tracker name \"{name}\" is not a plain name"),
            "use letters, digits, `-` and `_` only, e.g. \"jira-prod\"",
        );
    }
    ok
}

fn base_url(ctx: &mut Ctx<'_, '_>, p: &str, label: &str, text: &str, allow_insecure: bool) -> Option<Url> {
    let path = format!("{p}.base_url");
    // The URL itself is never quoted back: it might carry credentials.
    let url = match Url::parse(text) {
        Ok(url) => url,
        Err(e) => {
            ctx.error(
                &path,
                format!("{label}: `base_url` is not a valid URL ({e})"),
                "write the full address, e.g. \"https://example.atlassian.net\"",
            );
            return None;
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        ctx.error(
            &path,
            format!("{label}: `base_url` contains credentials"),
            "remove `user:password@` from the URL and put them in the tracker's `auth` table",
        );
        return None;
    }
    if url.query().is_some() || url.fragment().is_some() {
        ctx.error(
            &path,
            format!("{label}: `base_url` has a query or fragment"),
            "remove everything from `?` or `#` on: the base URL is where the REST API lives",
        );
        return None;
    }
    match url.scheme() {
        "https" => Some(url),
        "http" if is_loopback(&url) => Some(url),
        "http" if allow_insecure => {
            ctx.warn(
                &path,
                format!("{label}: plain http:// to a non-loopback host: credentials cross the network unencrypted"),
                "use https:// as soon as the tracker offers it",
            );
            Some(url)
        }
        "http" => {
            ctx.error(
                &path,
                format!("{label}: `base_url` uses http:// to a host that is not loopback"),
                "use https:// (credentials would cross the network in clear text), or set `allow_insecure_http = true` on this tracker if you must",
            );
            None
        }
        scheme => {
            ctx.error(
                &path,
                format!("{label}: `base_url` has scheme \"{scheme}\", expected https"),
                "write an https:// address, e.g. \"https://example.service-now.com\"",
            );
            None
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn auth(ctx: &mut Ctx<'_, '_>, p: &str, label: &str, raw: RawAuth) -> Option<Auth> {
    let ap = format!("{p}.auth");
    let token = ctx.required(
        &ap,
        "token",
        raw.token,
        &format!("{label} auth"),
        "add `token = { env = \"TOKEN_VARIABLE\" }` (or `{ file = \"/run/secrets/name\" }`)",
    );
    let token = token.and_then(|t| token_value(ctx, &ap, label, &t));
    match raw.kind {
        AuthType::Basic => {
            let user = match raw.user {
                Some(user) if user.trim().is_empty() => {
                    ctx.error(&format!("{ap}.user"), format!("{label}: `auth.user` is empty"), "write the user name");
                    None
                }
                Some(user) => Some(user),
                None => {
                    if !ctx.doc.was_pruned(&format!("{ap}.user")) {
                        ctx.error(
                            &ap,
                            format!("{label}: basic authentication needs `user`"),
                            "add `user = \"...\"` (Jira Cloud: the account's e-mail), or set `type = \"bearer\"` for a token without a user",
                        );
                    }
                    None
                }
            };
            Some(Auth::Basic { user: user?, token: token? })
        }
        AuthType::Bearer => {
            if raw.user.is_some() {
                ctx.key_error(
                    &format!("{ap}.user"),
                    format!("{label}: `user` is not used with bearer authentication"),
                    "remove `user`, or set `type = \"basic\"`",
                );
            }
            Some(Auth::Bearer { token: token? })
        }
    }
}

/// Read the token; problems point at `env = ...` / `file = ...`.
fn token_value(ctx: &mut Ctx<'_, '_>, ap: &str, label: &str, raw: &RawSecret) -> Option<secrecy::SecretString> {
    let path = match raw {
        RawSecret::Inline(_) => {
            ctx.warn(
                &format!("{ap}.token"),
                format!("{label}: the token is written in the configuration file"),
                "move it to an environment variable (`token = { env = \"JIRA_TOKEN\" }`) or a file (`token = { file = \"/run/secrets/jira\" }`) so this file can be shared safely",
            );
            format!("{ap}.token")
        }
        RawSecret::Env(_) => format!("{ap}.token.env"),
        RawSecret::File(_) => format!("{ap}.token.file"),
    };
    match secret::resolve(raw, &ctx.dir) {
        Ok(token) => Some(token),
        Err(e)
            if ctx.secrets == super::Secrets::Deferred
                && matches!(raw, RawSecret::Env(name) if std::env::var_os(name).is_none()) =>
        {
            ctx.warn(
                &path,
                format!("{label}: {} in this shell", e.message),
                format!("{}; commands that contact the tracker need it", e.help),
            );
            Some(twotrack_api::secret::SecretString::from(String::new()))
        }
        Err(e) => {
            ctx.error(&path, format!("{label}: {}", e.message), e.help);
            None
        }
    }
}

fn rate(ctx: &mut Ctx<'_, '_>, p: &str, label: &str, raw: &RawRate) -> RateLimit {
    if !(raw.per_second.is_finite() && raw.per_second > 0.0) {
        ctx.error(
            &format!("{p}.rate.per_second"),
            format!("{label}: `rate.per_second` must be greater than 0"),
            "give the sustained request rate, e.g. `rate = { per_second = 10.0, burst = 10 }`",
        );
    }
    if raw.burst == 0 {
        ctx.error(
            &format!("{p}.rate.burst"),
            format!("{label}: `rate.burst` must be at least 1"),
            "give how many requests may go back to back, e.g. `burst = 10`",
        );
    }
    RateLimit { per_second: raw.per_second, burst: raw.burst }
}

fn timeouts(ctx: &mut Ctx<'_, '_>, p: &str, label: &str, raw: &RawTimeouts) -> Option<Timeouts> {
    let mut seconds = |key: &str, value: f64| {
        let d = Some(value)
            .filter(|v| *v > 0.0 && *v <= MAX_TIMEOUT_SECS)
            .and_then(|v| Duration::try_from_secs_f64(v).ok());
        if d.is_none() {
            ctx.error(
                &format!("{p}.timeouts.{key}"),
                format!("{label}: `timeouts.{key}` must be more than 0 and at most {MAX_TIMEOUT_SECS} seconds"),
                "give seconds, e.g. `timeouts = { request = 30, connect = 10 }`",
            );
        }
        d
    };
    let request = seconds("request", raw.request);
    let connect = seconds("connect", raw.connect);
    Some(Timeouts { request: request?, connect: connect? })
}

/// The keys a connector's settings table knows, from its schema.
fn schema_keys<T: schemars::JsonSchema>() -> Vec<String> {
    let schema = schemars::schema_for!(T);
    schema.get("properties").and_then(|p| p.as_object()).map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

/// Deserialize the tracker's `table` (`scope`, `targets`) as its connector's `T` and report what the
/// connector's `check` finds, each at its place. Keys that belong to the other kind's `O` are reported
/// as such (and left out) first.
fn connector_table<T, O>(ctx: &mut Ctx<'_, '_>, p: &str, label: &str, table: &str, other: TrackerKind) -> Option<T>
where
    T: serde::de::DeserializeOwned + schemars::JsonSchema,
    O: schemars::JsonSchema,
{
    let path = format!("{p}.{table}");
    let (own, theirs) = (schema_keys::<T>(), schema_keys::<O>());
    for key in ctx.doc.keys_at(&path) {
        if !own.contains(&key) && theirs.contains(&key) {
            ctx.key_error(
                &format!("{path}.{key}"),
                format!("{label}: `{table}.{key}` applies to {other} trackers only"),
                "remove it (see the commented example from `twotrack config init` for this tracker kind)",
            );
            ctx.doc.drop_entry(&format!("{path}.{key}"));
        }
    }
    ctx.doc.deserialize_at(&path, &mut ctx.errors)
}

/// Report a connector's problems with its `table` (`scope`, `targets`), each at its key.
fn setting_problems(ctx: &mut Ctx<'_, '_>, p: &str, label: &str, table: &str, problems: Vec<SettingProblem>) {
    let path = format!("{p}.{table}");
    for problem in problems {
        let at = if problem.key.is_empty() { path.clone() } else { format!("{path}.{}", problem.key) };
        // A table that lost entries to earlier errors cannot be judged as a whole.
        if problem.key.is_empty() && ctx.doc.pruned_under(&path) {
            continue;
        }
        let near = problem.near.as_ref().and_then(|(got, known)| {
            rules::did_you_mean(got, known.iter().map(String::as_str)).map(|near| format!("did you mean `{near}`? "))
        });
        let help = match near {
            Some(near) => format!("{near}({})", problem.help),
            None => problem.help,
        };
        ctx.error(&at, format!("{label}: {}", problem.message), help);
    }
}

fn jira(ctx: &mut Ctx<'_, '_>, p: &str, label: &str, flavour: JiraFlavour) -> Option<TrackerSettings> {
    use twotrack_jira::{JiraScope, JiraWrite};
    use twotrack_servicenow::{ServiceNowScope, ServiceNowWrite};
    let scope = connector_table::<JiraScope, ServiceNowScope>(ctx, p, label, "scope", TrackerKind::ServiceNow);
    let write = connector_table::<JiraWrite, ServiceNowWrite>(ctx, p, label, "targets", TrackerKind::ServiceNow);
    let scope = scope.inspect(|scope| setting_problems(ctx, p, label, "scope", scope.check("scope")))?;
    let write = write?.with_project_from(&scope);
    let problems = write.check("targets");
    // No project because the scope's were rejected: reported already.
    let unsure = write.project.is_empty() && ctx.doc.pruned_under(&format!("{p}.scope"));
    if !unsure {
        setting_problems(ctx, p, label, "targets", problems);
    }
    Some(TrackerSettings::Jira { flavour, scope, write: Box::new(write) })
}

fn servicenow(ctx: &mut Ctx<'_, '_>, p: &str, label: &str) -> Option<TrackerSettings> {
    use twotrack_jira::{JiraScope, JiraWrite};
    use twotrack_servicenow::{ServiceNowScope, ServiceNowWrite};
    let scope = connector_table::<ServiceNowScope, JiraScope>(ctx, p, label, "scope", TrackerKind::Jira);
    let write = connector_table::<ServiceNowWrite, JiraWrite>(ctx, p, label, "targets", TrackerKind::Jira);
    let scope = scope.inspect(|scope| setting_problems(ctx, p, label, "scope", scope.check("scope")))?;
    let write = write.inspect(|write| setting_problems(ctx, p, label, "targets", write.check("targets")))?;
    Some(TrackerSettings::ServiceNow { scope, write })
}

// ---------------------------------------------------------------------------------------------------
// The other sections

fn mirror(ctx: &mut Ctx<'_, '_>, path: PathBuf) -> MirrorConfig {
    let resolved = ctx.dir.join(&path);
    if path.as_os_str().is_empty() {
        ctx.error("mirror.path", "`mirror.path` is empty", "give a directory, e.g. \"twotrack-mirror\"");
    } else if let Err((message, help)) = mirror_place(&resolved) {
        ctx.error("mirror.path", format!("`mirror.path`: {message}"), help);
    }
    MirrorConfig { path: resolved }
}

/// Whether the mirror directory can be used or created at `path`: it is a directory, or it does not
/// exist and its nearest existing ancestor is a directory; and that directory is writable (tried by
/// creating and removing a file: permission bits say nothing of ACLs, read-only mounts or root).
fn mirror_place(path: &Path) -> Result<(), (String, String)> {
    let shown = path.display();
    let mut existing = path;
    while !existing.exists() {
        match existing.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => existing = parent,
            _ => return Ok(()),
        }
    }
    if !existing.is_dir() {
        let message = if existing == path {
            format!("{shown} is a file, not a directory")
        } else {
            format!("{} is a file, so the mirror directory {shown} cannot be created in it", existing.display())
        };
        return Err((
            message,
            "give the path of a directory (it is created if missing), e.g. \"twotrack-mirror\"".into(),
        ));
    }
    let probe = existing.join(format!(".twotrack-write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        // Left over by an earlier check that died: the directory was writable then.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => {
            let what = if existing == path { "the mirror directory" } else { "the directory the mirror is created in" };
            Err((
                format!("cannot write to {what} {} ({e})", existing.display()),
                "run twotrack as a user that may write there, fix the directory's permissions, or choose another path"
                    .into(),
            ))
        }
    }
}

fn schedule(ctx: &mut Ctx<'_, '_>, raw: RawSchedule) -> Option<ScheduleConfig> {
    let timezone = match chrono_tz::Tz::from_str(&raw.timezone) {
        Ok(tz) => Some(tz),
        Err(_) => {
            let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
            let help = match diag::did_you_mean(&raw.timezone, names) {
                Some(name) => format!("did you mean \"{name}\"?"),
                None => "use an IANA time zone name, e.g. \"UTC\" or \"Europe/Berlin\"".to_string(),
            };
            ctx.error("schedule.timezone", format!("unknown time zone \"{}\"", raw.timezone), help);
            None
        }
    };
    let tz = timezone.unwrap_or(chrono_tz::UTC);
    let sync = cron(ctx, "sync", &raw.sync, tz);
    let apply = cron(ctx, "apply", &raw.apply, tz);
    let followback = cron(ctx, "followback", &raw.followback, tz);
    Some(ScheduleConfig {
        timezone: timezone?,
        sync: sync?,
        apply: apply?,
        followback: followback?,
        sync_expr: raw.sync,
        apply_expr: raw.apply,
        followback_expr: raw.followback,
    })
}

fn cron(ctx: &mut Ctx<'_, '_>, key: &str, expr: &str, tz: chrono_tz::Tz) -> Option<cron::Schedule> {
    let path = format!("schedule.{key}");
    match cron::Schedule::from_str(expr) {
        Ok(schedule) if schedule.upcoming(tz).next().is_none() => {
            ctx.error(
                &path,
                format!("`schedule.{key}` = \"{expr}\" never fires"),
                "check the day, month and year fields",
            );
            None
        }
        Ok(schedule) => Some(schedule),
        Err(_) => {
            let fields = expr.split_whitespace().count();
            let help = if fields == 5 {
                format!("twotrack's cron expressions start with a seconds field: try \"0 {}\"", expr.trim())
            } else {
                "write six fields, seconds first: `sec min hour day-of-month month day-of-week`, e.g. \"0 */15 * * * *\"".into()
            };
            ctx.error(&path, format!("`schedule.{key}` is not a valid cron expression: \"{expr}\""), help);
            None
        }
    }
}

fn policy(ctx: &mut Ctx<'_, '_>, raw: RawPolicy) -> Policy {
    let mut share = |key: &str, value: f64, lowest: f64, example: &str| {
        if !(value.is_finite() && value >= lowest && value <= 1.0) {
            let range = if lowest > 0.0 { "above 0 and at most 1" } else { "between 0 and 1" };
            ctx.error(
                &format!("policy.{key}"),
                format!("`policy.{key}` is {value}, must be {range}"),
                format!("e.g. `{key} = {example}`"),
            );
        }
    };
    share("move_threshold", raw.move_threshold, 0.0, "0.95");
    share("review_threshold", raw.review_threshold, 0.0, "0.35");
    share("max_move_share", raw.max_move_share, f64::MIN_POSITIVE, "0.2");
    if raw.review_threshold > raw.move_threshold {
        ctx.error(
            "policy.review_threshold",
            format!(
                "`policy.review_threshold` ({}) is above `policy.move_threshold` ({})",
                raw.review_threshold, raw.move_threshold
            ),
            "items are flagged for review below the move threshold: lower review_threshold or raise move_threshold",
        );
    }
    for (key, label, example) in
        [("keep_label", &raw.keep_label, "twotrack-keep"), ("return_label", &raw.return_label, "twotrack-return")]
    {
        if label.trim().is_empty() || label.contains(char::is_whitespace) {
            ctx.error(
                &format!("policy.{key}"),
                format!("`policy.{key}` must be a single word"),
                format!("labels cannot be empty or contain spaces, e.g. \"{example}\""),
            );
        }
    }
    if raw.return_label == raw.keep_label {
        ctx.error(
            "policy.return_label",
            format!("`policy.return_label` is {:?}, the same as `policy.keep_label`", raw.return_label),
            "one marker says \"keep it here\", the other \"send it back\": give them different labels",
        );
    }
    if raw.return_resolutions.iter().any(|r| r.trim().is_empty()) {
        ctx.error(
            "policy.return_resolutions",
            "`policy.return_resolutions` holds an empty name",
            "name each resolution or close code as the tracker shows it, e.g. [\"Misfiled\", \"Not ours\"]",
        );
    }
    if raw.max_attempts == 0 {
        ctx.error(
            "policy.max_attempts",
            "`policy.max_attempts` is 0, must be at least 1",
            "it is how many runs in a row a correction may fail before it is parked; e.g. `max_attempts = 5`",
        );
    }
    if raw.writer_ttl_seconds < 10 {
        ctx.error(
            "policy.writer_ttl_seconds",
            format!("`policy.writer_ttl_seconds` is {}, must be at least 10", raw.writer_ttl_seconds),
            "the writer's heartbeat is renewed every third of it; e.g. `writer_ttl_seconds = 120`",
        );
    }
    if raw.site_min_items < 10 {
        ctx.error(
            "policy.site_min_items",
            format!("`policy.site_min_items` is {}, must be at least 10", raw.site_min_items),
            "a model learned from fewer items says nothing about a site; e.g. `site_min_items = 40`",
        );
    }
    Policy {
        dry_run: raw.dry_run,
        thresholds: crate::classify::Thresholds { move_at: raw.move_threshold, review_at: raw.review_threshold },
        rules_may_move_alone: raw.rules_may_move_alone,
        site_min_items: raw.site_min_items,
        max_moves: raw.max_moves,
        max_move_share: raw.max_move_share,
        max_attempts: raw.max_attempts,
        keep_label: raw.keep_label,
        returns: crate::plan::Returns { label: raw.return_label, resolutions: raw.return_resolutions },
        fix_routing: raw.fix_routing,
        fix_priority: raw.fix_priority,
        writer_ttl_seconds: raw.writer_ttl_seconds,
        attachment_max_bytes: raw.attachment_max_bytes,
    }
}

fn priority(ctx: &mut Ctx<'_, '_>, m: &PriorityMatrix) {
    for (i, row) in m.matrix.iter().enumerate() {
        for (j, &p) in row.iter().enumerate() {
            if !(1..=5).contains(&p) {
                ctx.error(
                    &format!("priority.matrix.{i}.{j}"),
                    format!("priority {p} for impact {} and urgency {} is out of range", i + 1, j + 1),
                    "priorities run from 1 (Critical) to 5 (Planning)",
                );
            }
        }
    }
    for (i, name) in m.names.iter().enumerate() {
        if name.trim().is_empty() {
            ctx.error(
                &format!("priority.names.{i}"),
                format!("the name of priority {} is empty", i + 1),
                "name every priority, e.g. \"3 - Moderate\"",
            );
        }
    }
}

/// The default queues with the file's entries merged in by name (an entry without `terms` keeps the
/// built-in terms); new queues go before the last default (the fallback), which stays last.
fn queues(ctx: &mut Ctx<'_, '_>, user: Vec<QueueSpec>, rules: &[RuleSpec]) -> Vec<QueueSpec> {
    for problem in rules::check_queues(&user) {
        report(ctx, problem);
    }
    let mut merged = default_queues();
    misspelt_queues(ctx, &user, &merged, rules);
    for q in user {
        match merged.iter_mut().find(|d| d.name == q.name) {
            // Renaming a built-in queue's group keeps its match terms unless the entry gives its own.
            Some(slot) if q.terms.is_empty() => slot.group = q.group,
            Some(slot) => *slot = q,
            None => {
                let at = merged.len().saturating_sub(1);
                merged.insert(at, q);
            }
        }
    }
    merged
}

/// A new queue (not a built-in one) without `terms` that no rule routes to receives nothing; when its
/// name is close to a built-in queue's, it was meant to set that queue's group (`databse` for `database`).
fn misspelt_queues(ctx: &mut Ctx<'_, '_>, user: &[QueueSpec], defaults: &[QueueSpec], rules: &[RuleSpec]) {
    let builtin = || defaults.iter().map(|q| q.name.as_str());
    for (i, q) in user.iter().enumerate() {
        let routed = rules.iter().any(|r| r.queue.as_deref() == Some(q.name.as_str()));
        if !q.terms.is_empty() || routed || builtin().any(|name| name == q.name) {
            continue;
        }
        if let Some(near) = diag::did_you_mean(&q.name, builtin()) {
            ctx.error(
                &format!("queue.{i}.name"),
                format!(
                    "queue \"{}\" is not a built-in queue, has no `terms` and no rule routes to it: nothing would \
                     ever be routed to group \"{}\"",
                    q.name, q.group
                ),
                format!(
                    "did you mean `{near}`? (an entry named like a built-in queue sets that queue's group and keeps \
                     its match terms; a new queue needs `terms = [...]` or a [[rule]] with `queue = \"{}\"`)",
                    q.name
                ),
            );
        }
    }
}

/// The file's rules, checked by the classifier's own validator; against the queues only when every
/// `[[queue]]` entry could be read (else a rule naming a queue of a broken entry would look wrong).
fn rules(ctx: &mut Ctx<'_, '_>, rules: &[RuleSpec], queues: &[QueueSpec]) {
    let queues = (!ctx.doc.pruned_under("queue")).then_some(queues);
    for problem in rules::check_rules(rules, queues) {
        report(ctx, problem);
    }
}

/// The classifier must compile with these rules and queues on top of the built-in ones: compiling
/// checks each phrase and match term. Report what it refuses of the file's entries, at the entry.
/// (A problem in the built-in rules is a bug of twotrack's, not the file's: their own tests catch it.)
fn classifier(
    ctx: &mut Ctx<'_, '_>,
    rules: &[RuleSpec],
    user_queues: &[QueueSpec],
    queues: &[QueueSpec],
    matrix: &PriorityMatrix,
) {
    let Err(e) = Classifier::new(rules, queues, matrix) else { return };
    if let Some(problem) = RulesProblem::of(e, rules, user_queues) {
        report(ctx, problem);
    }
}

/// A problem the classifier's validator found with a `[[rule]]` or `[[queue]]` entry, at its key.
fn report(ctx: &mut Ctx<'_, '_>, p: RulesProblem) {
    let entry = format!("{}.{}", p.entry.table(), p.index);
    let path = if p.key.is_empty() { entry.clone() } else { format!("{entry}.{}", p.key) };
    let mut message = p.error.what();
    if let Some(first) = p.first {
        let line = ctx.line_of(&format!("{}.{first}.{}", p.entry.table(), p.key));
        let verb = if p.entry == Entry::Rule { "used" } else { "defined" };
        message = format!("{message} (first {verb} on line {line})");
    }
    ctx.error(&path, message, p.error.help());
}

fn daemon(ctx: &mut Ctx<'_, '_>, raw: RawDaemon) -> Option<DaemonConfig> {
    let listen = match raw.listen.parse() {
        Ok(addr) => Some(addr),
        Err(_) => {
            ctx.error(
                "daemon.listen",
                format!("`daemon.listen` = \"{}\" is not an address", raw.listen),
                "write ip:port, e.g. \"127.0.0.1:9464\" or \"[::1]:9464\"",
            );
            None
        }
    };
    if raw.ready_periods == 0 {
        ctx.error("daemon.ready_periods", "`daemon.ready_periods` must be at least 1", "e.g. `ready_periods = 3`");
    }
    let token = raw.token.as_ref().map(|t| token_value(ctx, "daemon", "daemon", t));
    let listen: SocketAddr = listen?;
    if token.is_none() && !listen.ip().is_loopback() {
        ctx.error(
            "daemon.listen",
            format!(
                "`daemon.listen` = \"{listen}\" can be reached from other machines, and the daemon's read API \
                 (reports, items, outbox) would answer anyone"
            ),
            "set a bearer token: `token = { env = \"TWOTRACK_DAEMON_TOKEN\" }` (or `{ file = \"/run/secrets/twotrack\" }`) \
             in [daemon], or listen on 127.0.0.1",
        );
    }
    let token = match token {
        None => None,
        Some(resolved) => Some(resolved?),
    };
    Some(DaemonConfig { listen, ready_periods: raw.ready_periods, token })
}
