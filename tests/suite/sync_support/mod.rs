//! The harness of the `sync_*` tests: both simulators in the test process with a generated backlog
//! ([`twotrack::demo::World`]), configuration files pointing at them with the rate limit, timeouts and
//! retries a test needs, the `twotrack` binary as a child process, and readers of the mirror.
//!
//! The simulators' request logs are the judges of what went over the wire; the mirror (read through the
//! library, or `twotrack mirror export`) is the judge of what was stored.

use std::path::{Path, PathBuf};

use twotrack::api::model::Item;
use twotrack::api::{Connector, Cursor};
use twotrack::config::Config;
use twotrack::demo::{World, WorldOptions};
use twotrack::mirror::Mirror;
use twotrack::registry::AnyConnector;
use twotrack_sim::faults::FaultSpec;
use twotrack_sim::log::RequestLog;

pub const JIRA: &str = "jira";
pub const SN: &str = "servicenow";
/// Every table the generator files records into; the ServiceNow tracker pulls them all.
pub const TABLES: [&str; 6] = ["incident", "sc_req_item", "sc_task", "rm_story", "rm_defect", "rm_enhancement"];
/// The Jira Cloud search endpoint (one request per page).
pub const JIRA_SEARCH: &str = "/rest/api/3/search/jql";
/// The ServiceNow Table API prefix (one request per page of a table).
pub const SN_TABLE: &str = "/api/now/table/";

/// Both simulators with `items` generated items filed in each, from `seed`.
pub async fn world(items: usize, seed: u64, faults: FaultSpec) -> World {
    World::start(&WorldOptions { seed, items, faults, ..WorldOptions::default() }).await.unwrap()
}

/// The per-tracker settings a test configures (`[tracker.rate]`, `[tracker.timeouts]`, `max_retries`).
#[derive(Debug, Clone)]
pub struct Tuning {
    pub per_second: f64,
    pub burst: u32,
    /// Seconds.
    pub request_timeout: f64,
    pub max_retries: u32,
    /// `concurrency` of every tracker.
    pub concurrency: u32,
}

impl Default for Tuning {
    /// A limit the tests never reach, the default timeouts' order of magnitude, the default retries.
    fn default() -> Self {
        Tuning { per_second: 10_000.0, burst: 1_000, request_timeout: 10.0, max_retries: 4, concurrency: 6 }
    }
}

/// Write `dir/twotrack.toml` (mirror in `dir/mirror`, the token in `dir/secrets/sim-token`) for the world's
/// simulators: Jira Cloud project SHOP, and every ServiceNow table the generator fills.
pub fn write_config(world: &World, dir: &Path, tuning: &Tuning) -> PathBuf {
    let (user, token) = world.basic();
    write_token(dir, &token);
    let tracker = |name: &str, kind: &str, role: &str, url: String, scope: &str| {
        format!(
            "[[tracker]]\nname = \"{name}\"\nkind = \"{kind}\"\nrole = \"{role}\"\nbase_url = \"{url}\"\n\
             max_retries = {retries}\nconcurrency = {concurrency}\n\n[tracker.auth]\nuser = \"{user}\"\ntoken = {{ file = \"secrets/sim-token\" }}\n\n\
             [tracker.rate]\nper_second = {rate:?}\nburst = {burst}\n\n\
             [tracker.timeouts]\nrequest = {timeout:?}\nconnect = 5.0\n\n[tracker.scope]\n{scope}\n\n",
            retries = tuning.max_retries,
            concurrency = tuning.concurrency,
            rate = tuning.per_second,
            burst = tuning.burst,
            timeout = tuning.request_timeout,
        )
    };
    let tables: Vec<String> = TABLES.iter().map(|t| format!("{t:?}")).collect();
    let text = format!(
        "{}{}[mirror]\npath = \"mirror\"\n",
        tracker(JIRA, "jira", "product", world.jira.base_url(), "projects = [\"SHOP\"]"),
        tracker(SN, "servicenow", "service", world.servicenow.base_url(), &format!("tables = [{}]", tables.join(", "))),
    );
    let path = dir.join("twotrack.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// (Re)write the token file the configuration points at.
pub fn write_token(dir: &Path, token: &str) {
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    let path = dir.join("secrets").join("sim-token");
    std::fs::write(&path, format!("{token}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

pub fn load(config: &Path) -> Config {
    twotrack::config::load(config).unwrap_or_else(|e| panic!("{e}"))
}

pub use crate::run::Run;

/// The `twotrack` binary with `--config` set and no colours; for a child the test manages itself.
pub fn command(config: &Path, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_twotrack"));
    command.arg("--config").arg(config).args(args).env("NO_COLOR", "1").env_remove("RUST_LOG").kill_on_drop(true);
    // Never the test's own stdin (tokio's `output` would pass it on).
    command.stdin(std::process::Stdio::null());
    command
}

/// Run `twotrack --config <config> <args>` to completion (the simulators keep serving meanwhile).
pub async fn twotrack(config: &Path, args: &[&str]) -> Run {
    Run::of(command(config, args).output().await.unwrap())
}

/// Like [`twotrack`], but the run must succeed.
pub async fn ok(config: &Path, args: &[&str]) -> Run {
    let run = twotrack(config, args).await;
    assert_eq!(run.code(), Some(0), "twotrack {args:?} failed:\n{}", run.all());
    run
}

/// Every item of the mirror, ordered by tracker and key.
pub fn items(mirror: &Mirror) -> Vec<Item> {
    let mut items: Vec<Item> = mirror.items(None).collect::<Result<_, _>>().unwrap();
    items.sort_by(|a, b| (&a.tracker, &a.key).cmp(&(&b.tracker, &b.key)));
    items
}

/// The stored cursor of every scope of `connector`.
pub fn cursors(mirror: &Mirror, connector: &AnyConnector) -> Vec<(String, Option<Cursor>)> {
    connector.scopes().into_iter().map(|s| (s.clone(), mirror.cursor(connector.name(), &s).unwrap())).collect()
}

/// `twotrack mirror export` of the configured mirror, its lines sorted.
pub async fn export(config: &Path) -> Vec<String> {
    let run = ok(config, &["mirror", "export"]).await;
    let mut lines: Vec<String> = run.stdout.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

/// Requests in `log` whose path starts with `prefix` (any method).
pub fn requests_to(log: &RequestLog, prefix: &str) -> usize {
    log.entries().iter().filter(|e| e.path.starts_with(prefix)).count()
}

/// List requests per ServiceNow table (reads of single records not included).
pub fn table_requests(log: &RequestLog) -> Vec<(&'static str, usize)> {
    let entries = log.entries();
    TABLES
        .iter()
        .map(|t| {
            let path = format!("{SN_TABLE}{t}");
            (*t, entries.iter().filter(|e| e.method == "GET" && e.path == path).count())
        })
        .collect()
}
