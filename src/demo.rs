//! The simulated world behind `twotrack demo` and `twotrack sim`: both simulators on 127.0.0.1 with a
//! generated mixed backlog, and a configuration file pointing at them.

use std::io;
use std::path::{Path, PathBuf};

use twotrack_sim::SimAuth;
use twotrack_sim::faults::FaultSpec;
use twotrack_sim::generator::{GenOptions, GeneratedItem, Home, StormOptions, generate_with_storms};
use twotrack_sim::jira::{JiraOptions, JiraSim};
use twotrack_sim::servicenow::{ServiceNowOptions, ServiceNowSim};

/// How to start the world.
#[derive(Debug, Clone)]
pub struct WorldOptions {
    pub seed: u64,
    /// Items filed in each tracker.
    pub items: usize,
    pub misfiled_share: f64,
    pub jira_port: u16,
    pub servicenow_port: u16,
    pub faults: FaultSpec,
    /// Load these items instead of generating them.
    pub items_from: Option<Vec<GeneratedItem>>,
    /// Mix one storm (a burst of reports about one outage) into the generated items.
    pub storm: bool,
    /// ServiceNow tables the simulator denies to the API user (HTTP 403), e.g. `sys_journal_field`.
    pub servicenow_denied_tables: Vec<String>,
}

impl Default for WorldOptions {
    fn default() -> Self {
        WorldOptions {
            seed: 42,
            items: 200,
            misfiled_share: 0.15,
            jira_port: 0,
            servicenow_port: 0,
            faults: FaultSpec::default(),
            items_from: None,
            storm: false,
            servicenow_denied_tables: Vec::new(),
        }
    }
}

/// Both simulators, running.
pub struct World {
    pub jira: JiraSim,
    pub servicenow: ServiceNowSim,
    pub items: Vec<GeneratedItem>,
    pub auth: SimAuth,
}

impl World {
    pub async fn start(opts: &WorldOptions) -> io::Result<World> {
        let items = match &opts.items_from {
            Some(items) => items.clone(),
            None => {
                let options =
                    GenOptions { seed: opts.seed, items_per_tracker: opts.items, misfiled_share: opts.misfiled_share };
                // A storm of about a tenth of the backlog (at least 12 reports), a quarter of it filed in the backlog.
                let storms: &[StormOptions] = if opts.storm {
                    &[StormOptions { reports: (opts.items / 10).max(12), in_backlog: 0.25 }]
                } else {
                    &[]
                };
                generate_with_storms(&options, storms).0
            }
        };
        let auth = SimAuth::default();
        let jira = JiraSim::start(JiraOptions {
            auth: auth.clone(),
            items: items.clone(),
            faults: opts.faults.clone(),
            port: opts.jira_port,
            ..JiraOptions::default()
        })
        .await?;
        let servicenow = ServiceNowSim::start(ServiceNowOptions {
            auth: auth.clone(),
            items: items.clone(),
            faults: opts.faults.clone(),
            port: opts.servicenow_port,
            seed: opts.seed,
            acl_denied_tables: opts.servicenow_denied_tables.clone(),
        })
        .await?;
        Ok(World { jira, servicenow, items, auth })
    }

    /// Items filed in each tracker: (jira, servicenow).
    pub fn counts(&self) -> (usize, usize) {
        let jira = self.items.iter().filter(|i| i.home == Home::Jira).count();
        (jira, self.items.len() - jira)
    }

    /// The (user, token) the simulators accept with basic auth.
    pub fn basic(&self) -> (String, String) {
        self.auth.basic.clone().unwrap_or_else(|| ("twotrack@example.com".into(), "sim-token".into()))
    }

    /// Write `dir/twotrack.toml` (and the token in `dir/secrets/`) for these simulators.
    pub fn write_config(&self, dir: &Path, dry_run: bool, moves_allowed: usize) -> io::Result<PathBuf> {
        std::fs::create_dir_all(dir.join("secrets"))?;
        let (user, token) = self.basic();
        let token_path = dir.join("secrets").join("sim-token");
        std::fs::write(&token_path, format!("{token}\n"))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&token_path, std::fs::Permissions::from_mode(0o600))?;
        }
        let text = format!(
            r#"# Written by twotrack for its simulators (twotrack demo / twotrack sim).
# The simulators accept basic auth {user:?} with the token in secrets/sim-token.

[[tracker]]
name = "jira"
kind = "jira"
role = "product"
base_url = "{jira}"
flavour = "cloud"

[tracker.auth]
user = "{user}"
token = {{ file = "secrets/sim-token" }}

[tracker.rate]
per_second = 200.0
burst = 50

[tracker.scope]
projects = ["SHOP"]

[[tracker]]
name = "servicenow"
kind = "servicenow"
role = "service"
base_url = "{sn}"

[tracker.auth]
user = "{user}"
token = {{ file = "secrets/sim-token" }}

[tracker.rate]
per_second = 200.0
burst = 50

[tracker.scope]
tables = ["incident", "sc_req_item", "sc_task", "rm_story", "rm_defect", "rm_enhancement"]

[mirror]
path = "mirror"

[schedule]
sync = "*/20 * * * * *"
apply = "5/20 * * * * *"
followback = "10/20 * * * * *"

[policy]
dry_run = {dry_run}
# A generated backlog is misfiled on purpose (about 15% each way): allow the demo to move it all.
max_moves = {moves_allowed}
max_move_share = 0.3

[daemon]
listen = "127.0.0.1:0"
{queues}"#,
            jira = self.jira.base_url(),
            sn = self.servicenow.base_url(),
            queues = queue_section(),
        );
        let path = dir.join("twotrack.toml");
        std::fs::write(&path, text)?;
        Ok(path)
    }

    pub async fn shutdown(self) {
        self.jira.shutdown().await;
        self.servicenow.shutdown().await;
    }
}

/// The simulated ServiceNow's assignment groups, mapped onto twotrack's built-in queues (an
/// administrator does the same for a real instance: the queue names stay, the group names are theirs).
fn queue_section() -> String {
    let mut out = String::from("\n# The simulated instance's assignment groups for the built-in queues.\n");
    for (name, group) in twotrack_sim::generator::ASSIGNMENT_GROUPS {
        out.push_str(&format!("\n[[queue]]\nname = {name:?}\ngroup = {group:?}\n"));
    }
    out
}
