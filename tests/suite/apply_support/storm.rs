//! A generated outage for the storm tests: its reports filed partly in the product backlog and partly in
//! the service queue, moved to the last hour.

use chrono::{TimeDelta, Utc};
use twotrack_sim::generator::{GenOptions, GeneratedItem, Home, StormOptions, generate_with_storms};

use super::{value_in_jira, work_in_jira, work_in_servicenow};

/// The reports of one generated outage, moved to the last hour (the simulators file new reports now, and
/// a storm's reports arrive within its window); the last three are held back to arrive later.
pub fn outage() -> (Vec<GeneratedItem>, Vec<GeneratedItem>) {
    let options = GenOptions { seed: 16, items_per_tracker: 20, misfiled_share: 0.0 };
    let (items, truth) = generate_with_storms(&options, &[StormOptions { reports: 14, in_backlog: 0.4 }]);
    let mut reports: Vec<GeneratedItem> = truth[0].members.iter().map(|&i| items[i].clone()).collect();
    let last = reports.iter().map(|r| r.created).max().unwrap();
    let shift = Utc::now() - TimeDelta::minutes(20) - last;
    for r in &mut reports {
        r.created += shift;
        r.updated = r.created;
    }
    let later = reports.split_off(reports.len() - 3);
    assert!(reports.iter().any(|r| r.home == Home::Jira), "some reports are in the backlog");
    assert!(reports.iter().any(|r| r.home == Home::ServiceNow && r.filed_type == "incident"), "some in the queue");
    (reports, later)
}

/// The outage's reports plus a misfiled item (moved as usual) and two correctly filed bystanders.
pub fn world(reports: &[GeneratedItem]) -> Vec<GeneratedItem> {
    let mut items = reports.to_vec();
    items.extend([work_in_jira(), value_in_jira(), work_in_servicenow()]);
    items
}
