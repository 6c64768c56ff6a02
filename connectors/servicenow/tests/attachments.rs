//! Attachments (issue 15) through ServiceNow's Attachment API: a record's `sys_attachment` rows, uploads
//! with the raw body and its `Content-Type`, downloads within a size limit, the SHA-256 `hash` ServiceNow
//! reports, and the 403 an ACL on `sys_attachment` gives.

use std::time::Duration;

use serde_json::Value;
use twotrack_api::connector::Download;
use twotrack_api::http::HttpSettings;
use twotrack_api::secret::Auth;
use twotrack_api::{Connector, ConnectorError};
use twotrack_servicenow::{ServiceNowConnector, ServiceNowSettings};
use twotrack_sim::generator::{GenOptions, Home, generate};
use twotrack_sim::servicenow::{ServiceNowOptions, ServiceNowSim};

async fn start(denied: &[&str]) -> ServiceNowSim {
    let items = generate(&GenOptions { seed: 7, items_per_tracker: 5, misfiled_share: 0.2 })
        .into_iter()
        .filter(|i| i.home == Home::ServiceNow && i.filed_type == "incident")
        .collect();
    let acl_denied_tables = denied.iter().map(|t| t.to_string()).collect();
    ServiceNowSim::start(ServiceNowOptions { items, acl_denied_tables, ..ServiceNowOptions::default() }).await.unwrap()
}

fn connector(sim: &ServiceNowSim) -> ServiceNowConnector {
    let auth = Auth::Basic { user: "twotrack@example.com".into(), token: "sim-token".into() };
    let mut http = HttpSettings::new("snow-test", sim.base_url().parse().unwrap(), auth);
    http.per_second = 0.0;
    http.request_timeout = Duration::from_secs(5);
    ServiceNowConnector::new(ServiceNowSettings::new(http)).unwrap()
}

/// The first incident: (number, sys_id).
fn first_incident(sim: &ServiceNowSim) -> (String, String) {
    let rows = sim.snapshot("incident");
    let text = |r: &Value, f: &str| r[f].as_str().unwrap().to_string();
    (text(&rows[0], "number"), text(&rows[0], "sys_id"))
}

#[tokio::test]
async fn a_file_is_uploaded_listed_with_its_sha256_and_read_back_within_the_limit() {
    let sim = start(&[]).await;
    let c = connector(&sim);
    let (number, sys_id) = first_incident(&sim);
    assert!(c.attachments(&number).await.unwrap().is_empty());
    let content = b"line one\r\nline two\x00\xff".to_vec();
    let made = c.attach(&number, "trace 1.log", "text/plain", content.clone()).await.unwrap();
    assert_eq!(
        (made.file_name.as_str(), made.size, made.mime_type.as_deref()),
        ("trace 1.log", 20, Some("text/plain"))
    );
    // The SHA-256 of the content (`sha256sum`), as ServiceNow reports it.
    assert_eq!(made.sha256.as_deref(), Some("f6617fafbe521258529337b7c36f9d60a50429a3fc17fd1ae0eb59fffd97b752"));
    assert_eq!(sim.files("incident", &sys_id), vec![("trace 1.log".to_string(), content.clone())]);

    let listed = c.attachments(&number).await.unwrap();
    assert_eq!(listed, vec![made.clone()]);
    assert_eq!(c.download(&number, &listed[0], 20).await.unwrap(), Download::Complete(content));
    assert_eq!(c.download(&number, &listed[0], 19).await.unwrap(), Download::TooLarge);
}

#[tokio::test]
async fn a_denied_sys_attachment_is_an_authorisation_error() {
    let sim = start(&["sys_attachment"]).await;
    let c = connector(&sim);
    let (number, _) = first_incident(&sim);
    let listed = c.attachments(&number).await;
    assert!(matches!(listed, Err(ConnectorError::Auth { status: 403, .. })), "{listed:?}");
    let attached = c.attach(&number, "a.txt", "text/plain", b"x".to_vec()).await;
    assert!(matches!(attached, Err(ConnectorError::Auth { status: 403, .. })), "{attached:?}");
}
