//! A simulated ServiceNow instance serving the Table API (API-NOTES.md §2, §4.2).
//!
//! Tables: `incident`, `sc_request`, `sc_req_item`, `sc_task`, `rm_story`, `rm_defect`, `rm_enhancement`,
//! `sys_user`, `sys_user_group` (seeded with the service queues and product teams), `sys_choice` and
//! `sys_journal_field`. Lists take `sysparm_query` (`^`, `^OR`, `^NQ`, the usual operators,
//! `ORDERBY`/`ORDERBYDESC`; invalid terms are ignored), `sysparm_limit` (default and maximum 10000),
//! `sysparm_offset`, `sysparm_fields` (dot-walks allowed), `sysparm_display_value`,
//! `sysparm_exclude_reference_link`, `sysparm_no_count` and `sysparm_suppress_pagination_header`, and answer
//! with `X-Total-Count` and a `Link` header. Single records can be read, created (201), updated with PATCH or
//! PUT (both partial) and deleted (204). Writes run the default business rules: numbering, priority from
//! impact x urgency, `active` and resolved/closed stamps from the state, journal fields appended to
//! `sys_journal_field`, `sys_updated_on` (UTC, second precision: many records can share a second) and
//! `sys_mod_count` bumped when something changed. `POST /oauth_token.do` hands out the bearer token.
//! The Attachment API (`/api/now/attachment`, see `attachments.rs`) lists, serves and takes the files of
//! records, with their size and SHA-256 `hash`; ACL-denying `sys_attachment` makes it answer 403.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use twotrack_sim::servicenow::{ServiceNowOptions, ServiceNowSim};
//! let sim = ServiceNowSim::start(ServiceNowOptions::default()).await?;
//! println!("{}/api/now/table/incident", sim.base_url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod api;
mod attachments;
mod errors;
mod query;
mod render;
mod schema;
mod store;

use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;

use crate::auth::SimAuth;
use crate::faults::{FaultSpec, Faults};
use crate::generator::{GeneratedItem, Home};
use crate::log::RequestLog;
use crate::server::{BoundListener, SimCore, SimServer};

/// How to start a ServiceNow simulator.
#[derive(Debug, Clone, Default)]
pub struct ServiceNowOptions {
    /// Accepted credentials (default: basic `twotrack@example.com`/`sim-token`, bearer `sim-pat`).
    pub auth: SimAuth,
    /// Items to load; only those with `home == ServiceNow` are loaded, into the table named by `filed_type`.
    pub items: Vec<GeneratedItem>,
    /// Faults to inject from the start.
    pub faults: FaultSpec,
    /// Port on 127.0.0.1; 0 = any free port.
    pub port: u16,
    /// Seed of the generated sys_ids.
    pub seed: u64,
    /// Tables the integration user may not access (403 on every request to them).
    pub acl_denied_tables: Vec<String>,
}

/// A running ServiceNow simulator.
#[derive(Debug)]
pub struct ServiceNowSim {
    server: SimServer,
    core: SimCore,
    state: Arc<api::SnState>,
}

impl std::fmt::Debug for api::SnState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnState").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

impl ServiceNowSim {
    /// Loads the items and starts serving on 127.0.0.1.
    pub async fn start(options: ServiceNowOptions) -> std::io::Result<ServiceNowSim> {
        let listener = BoundListener::bind(options.port).await?;
        let base_url = listener.base_url();
        let mut db = store::Db::new(options.seed, &options.auth.user_name());
        for item in options.items.iter().filter(|item| item.home == Home::ServiceNow) {
            if !db.load_item(item) {
                tracing::warn!(table = %item.filed_type, "servicenow sim: skipped an item filed in an unknown table");
            }
        }
        let state = Arc::new(api::SnState {
            db: RwLock::new(db),
            base_url,
            auth: options.auth.clone(),
            acl_denied_tables: options.acl_denied_tables,
            files: Mutex::default(),
        });
        let core = SimCore::new(options.auth, options.faults);
        let router =
            core.layer(api::router(Arc::clone(&state)), Arc::new(errors::ServiceNowStyle), &["/oauth_token.do"]);
        let server = listener.serve(router, &core);
        Ok(ServiceNowSim { server, core, state })
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The request log.
    pub fn log(&self) -> RequestLog {
        self.core.log.clone()
    }

    /// The fault handle (set or clear faults while running).
    pub fn faults(&self) -> Faults {
        self.core.faults.clone()
    }

    /// The accepted credentials.
    pub fn auth(&self) -> &SimAuth {
        &self.core.auth
    }

    /// Every record of a table, in insertion order, with all stored values as strings (references as
    /// sys_ids) and each journal field (`work_notes`, `comments`) as an array of
    /// `{value, sys_created_on, sys_created_by}`, oldest first. Empty for an unknown table.
    pub fn snapshot(&self, table: &str) -> Vec<Value> {
        let db = self.state.db_read();
        let Some(def) = db.def(table) else { return Vec::new() };
        db.rows(table).map(|record| render::snapshot(&db, def, record)).collect()
    }

    /// Stops the server gracefully (hangs and latency in progress are cut short).
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
