//! The simulated world behind `twotrack demo` and `twotrack sim`: both simulators on 127.0.0.1 with a
//! generated mixed backlog, and a configuration file pointing at them.

use std::io;
use std::path::{Path, PathBuf};

use twotrack_sim::SimAuth;
use twotrack_sim::faults::FaultSpec;
use twotrack_sim::generator::{GenOptions, GeneratedItem, Home, StormOptions, generate_with_storms};
pub use twotrack_sim::jira::Flavour as JiraFlavour;
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
    /// Which Jira the simulator is: Cloud (REST v3, enhanced search, e-mail + API token) or Data Center
    /// (REST v2, offset search, a personal access token).
    pub jira_flavour: JiraFlavour,
    /// Jira Service Management projects added to the Jira site beside SHOP (none by default).
    pub jira_service_projects: Vec<twotrack_sim::jira::ServiceProject>,
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
            jira_flavour: JiraFlavour::Cloud,
            jira_service_projects: Vec::new(),
        }
    }
}

/// Both simulators, running.
pub struct World {
    pub jira: JiraSim,
    pub servicenow: ServiceNowSim,
    pub items: Vec<GeneratedItem>,
    pub auth: SimAuth,
    pub jira_flavour: JiraFlavour,
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
            flavour: opts.jira_flavour,
            auth: auth.clone(),
            items: items.clone(),
            faults: opts.faults.clone(),
            port: opts.jira_port,
            service_projects: opts.jira_service_projects.clone(),
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
        Ok(World { jira, servicenow, items, auth, jira_flavour: opts.jira_flavour })
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

    /// The Jira simulator's name for people: "Jira (Cloud)" or "Jira (Data Center)".
    pub fn jira_label(&self) -> &'static str {
        match self.jira_flavour {
            JiraFlavour::Cloud => "Jira (Cloud)",
            JiraFlavour::DataCenter => "Jira (Data Center)",
        }
    }

    /// Write the simulators' secrets in `dir/secrets/` (readable by the owner only): `sim-token` (basic
    /// auth's API token) and `sim-pat` (a Data Center personal access token).
    pub fn write_secrets(&self, dir: &Path) -> io::Result<()> {
        let secrets = dir.join("secrets");
        std::fs::create_dir_all(&secrets)?;
        let (_, token) = self.basic();
        let pat = self.auth.bearer.clone().unwrap_or_else(|| "sim-pat".into());
        for (name, secret) in [("sim-token", token), ("sim-pat", pat)] {
            let path = secrets.join(name);
            std::fs::write(&path, format!("{secret}\n"))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
        }
        Ok(())
    }

    /// The TOML lines of the Jira tracker that depend on the simulator's flavour: `flavour` and its
    /// `[tracker.auth]` table (Cloud: e-mail and API token; Data Center: a personal access token), with
    /// the secrets [`World::write_secrets`] writes.
    pub fn jira_flavour_toml(&self) -> String {
        let (user, _) = self.basic();
        match self.jira_flavour {
            JiraFlavour::Cloud => format!(
                "flavour = \"cloud\"\n\n[tracker.auth]\nuser = \"{user}\"\ntoken = {{ file = \"secrets/sim-token\" }}\n"
            ),
            JiraFlavour::DataCenter => "flavour = \"datacenter\"\n\n[tracker.auth]\ntype = \"bearer\"\n\
                 token = { file = \"secrets/sim-pat\" }\n"
                .to_owned(),
        }
    }

    /// Write `dir/twotrack.toml` (and the secrets in `dir/secrets/`) for these simulators.
    pub fn write_config(&self, dir: &Path, dry_run: bool, moves_allowed: usize) -> io::Result<PathBuf> {
        self.write_secrets(dir)?;
        let (user, _) = self.basic();
        let text = format!(
            r#"# Written by twotrack for its simulators (twotrack demo / twotrack sim).
# The simulators accept basic auth {user:?} with the token in secrets/sim-token
# (and the simulated Jira Data Center the personal access token in secrets/sim-pat).

[[tracker]]
name = "jira"
kind = "jira"
role = "product"
base_url = "{jira}"
{jira_auth}
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
            jira_auth = self.jira_flavour_toml(),
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
