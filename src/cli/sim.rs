//! `twotrack sim`: serve both simulators until Ctrl-C, with a ready-to-use configuration.

use super::output::outln;
use std::path::PathBuf;

use anyhow::Context;

use crate::demo::{JiraFlavour, World, WorldOptions};
use crate::exit::{Exit, usage};

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Seed of the generated backlog.
    #[arg(long, default_value_t = 42, value_name = "N")]
    pub seed: u64,
    /// Items filed in each simulated tracker.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub items: usize,
    /// Load the items from this JSON Lines file instead of generating them.
    #[arg(long, value_name = "FILE")]
    pub items_from: Option<PathBuf>,
    /// Port of the Jira simulator (0 = any free port).
    #[arg(long, default_value_t = 0, value_name = "P")]
    pub jira_port: u16,
    /// Port of the ServiceNow simulator (0 = any free port).
    #[arg(long, default_value_t = 0, value_name = "P")]
    pub servicenow_port: u16,
    /// Faults to inject, e.g. "rate=0.2,kinds=429+5xx+reset,latency=20ms,seed=7".
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<String>,
    /// Seconds after a write during which the Jira simulator's search still sees the issue as it was
    /// (a new issue not at all), as Jira Cloud's search index lags; reads by key are current at once.
    #[arg(long, default_value_t = 0.0, value_name = "SECONDS", value_parser = search_lag)]
    pub jira_search_lag: f64,
    /// Which Jira to simulate: `cloud` (REST v3, enhanced search, e-mail + API token) or `datacenter`
    /// (REST v2, offset search, a personal access token).
    #[arg(long, default_value = "cloud", value_name = "FLAVOUR", value_parser = jira_flavour)]
    pub jira_flavour: JiraFlavour,
    /// Where to write the configuration for these simulators.
    #[arg(long, default_value = "twotrack-sim", value_name = "DIR")]
    pub out: PathBuf,
}

/// `cloud` or `datacenter`, as the configuration's `flavour` spells them.
pub(super) fn jira_flavour(text: &str) -> Result<JiraFlavour, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "cloud" => Ok(JiraFlavour::Cloud),
        "datacenter" | "data-center" | "dc" | "server" => Ok(JiraFlavour::DataCenter),
        _ => Err(format!("{text:?} is not a Jira flavour: use cloud or datacenter")),
    }
}

/// A lag in seconds: finite, from 0 to a day.
fn search_lag(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if (0.0..=86_400.0).contains(&s) => Ok(s),
        _ => Err(format!("{text:?} is not a number of seconds from 0 to 86400 (e.g. 5 or 0.5)")),
    }
}

pub async fn run(args: SimArgs, _g: &super::Global) -> anyhow::Result<Exit> {
    let faults = match &args.faults {
        Some(spec) => {
            twotrack_sim::faults::FaultSpec::parse(spec).map_err(|e| usage(anyhow::anyhow!("--faults: {e}")))?
        }
        None => Default::default(),
    };
    let items_from = match &args.items_from {
        Some(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("could not open {}", path.display()))
                .map_err(usage)?;
            Some(
                twotrack_sim::generator::load_jsonl(std::io::BufReader::new(file))
                    .map_err(|e| usage(anyhow::anyhow!("{}: {e}", path.display())))?,
            )
        }
        None => None,
    };
    let opts = WorldOptions {
        seed: args.seed,
        items: args.items,
        jira_port: args.jira_port,
        servicenow_port: args.servicenow_port,
        faults,
        items_from,
        jira_flavour: args.jira_flavour,
        ..WorldOptions::default()
    };
    let world = World::start(&opts).await.context("could not start the simulators on 127.0.0.1")?;
    world.jira.set_search_lag(std::time::Duration::from_secs_f64(args.jira_search_lag));
    let config = world.write_config(&args.out, true, 50).context("could not write the configuration")?;
    let (user, token) = world.basic();
    let (jira_n, sn_n) = world.counts();
    let lag = if args.jira_search_lag > 0.0 {
        format!(", search {} s behind writes", args.jira_search_lag)
    } else {
        String::new()
    };
    outln!("{:<20}{}   {jira_n} issues, project SHOP{lag}", world.jira_label(), world.jira.base_url());
    outln!("{:<20}{}   {sn_n} records", "ServiceNow", world.servicenow.base_url());
    outln!("{:<20}basic {user} / {token}   (bearer: sim-pat)", "Credentials");
    outln!("{:<20}{}", "Config", config.display());
    let (auth, search) = match world.jira_flavour {
        JiraFlavour::Cloud => (format!("-u {user}:{token}"), "rest/api/3/search/jql"),
        JiraFlavour::DataCenter => ("-H 'Authorization: Bearer sim-pat'".to_owned(), "rest/api/2/search"),
    };
    outln!(
        "{:<20}curl {auth} '{}/{search}?jql=project%3DSHOP&fields=summary&maxResults=2'",
        "Try",
        world.jira.base_url()
    );
    outln!("{:<20}curl -u {user}:{token} '{}/api/now/table/incident?sysparm_limit=2'", "", world.servicenow.base_url());
    outln!("{:<20}twotrack --config {} audit", "", config.display());
    outln!("Serving until Ctrl-C.");
    tokio::signal::ctrl_c().await.context("could not wait for Ctrl-C")?;
    world.shutdown().await;
    Ok(Exit::Ok)
}
