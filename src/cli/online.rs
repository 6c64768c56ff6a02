//! `config check --online`: connect to every tracker and check its credentials.

use twotrack_api::{Connector, ConnectorError};

use crate::config::Config;
use crate::registry::AnyConnector;

/// Check every tracker; prints one line each. Returns whether all of them are fine.
pub async fn check_online(config: &Config) -> anyhow::Result<bool> {
    let mut ok = true;
    for t in &config.trackers {
        let result = match AnyConnector::build(t) {
            Ok(c) => c.health().await,
            Err(e) => Err(e),
        };
        match result {
            Ok(h) => println!("{:<14} OK      {} as {}", t.name, h.server, h.account),
            Err(e) => {
                ok = false;
                println!("{:<14} FAILED  {}", t.name, advice(&e));
            }
        }
    }
    Ok(ok)
}

fn advice(e: &ConnectorError) -> String {
    match e {
        ConnectorError::Auth { .. } => format!("{e}"),
        ConnectorError::Transient { .. } | ConnectorError::RateLimited { .. } => {
            format!("{e}. Check base_url, the network path to the tracker (proxy, firewall) and that it is up")
        }
        ConnectorError::NotFound { .. } => format!("{e}. Check base_url (and `flavour` for Jira)"),
        _ => e.to_string(),
    }
}
