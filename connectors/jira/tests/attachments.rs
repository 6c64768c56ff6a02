//! Attachments (issue 15): the connector lists an issue's files from its `attachment` field, uploads as
//! Jira documents it (multipart, part `file`, `X-Atlassian-Token: no-check`) and downloads the content
//! within a size limit, in Cloud and Data Center; the simulator refuses an upload without the XSRF header.

use std::time::Duration;

use serde_json::json;
use twotrack_api::connector::Download;
use twotrack_api::http::HttpSettings;
use twotrack_api::secret::Auth;
use twotrack_api::{Connector, ConnectorError};
use twotrack_jira::{Flavour, JiraConnector, JiraSettings};
use twotrack_sim::jira::{self as sim, JiraOptions, JiraSim};

async fn start(flavour: Flavour) -> JiraSim {
    let flavour = match flavour {
        Flavour::Cloud => sim::Flavour::Cloud,
        Flavour::DataCenter => sim::Flavour::DataCenter,
    };
    let sim = JiraSim::start(JiraOptions { flavour, ..JiraOptions::default() }).await.unwrap();
    let fields = json!({ "fields": {
        "project": { "key": "SHOP" }, "issuetype": { "name": "Task" }, "summary": "checkout is down" } });
    let response = reqwest::Client::new()
        .post(format!("{}/rest/api/2/issue", sim.base_url()))
        .basic_auth("twotrack@example.com", Some("sim-token"))
        .json(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    sim
}

fn connector(sim: &JiraSim, flavour: Flavour) -> JiraConnector {
    let auth = match flavour {
        Flavour::Cloud => Auth::Basic { user: "twotrack@example.com".into(), token: "sim-token".into() },
        Flavour::DataCenter => Auth::Bearer { token: "sim-pat".into() },
    };
    let http = HttpSettings {
        per_second: 0.0,
        request_timeout: Duration::from_secs(5),
        backoff_base: Duration::from_millis(2),
        backoff_cap: Duration::from_millis(20),
        ..HttpSettings::new("jira-sim", sim.base_url().parse().unwrap(), auth)
    };
    JiraConnector::new(JiraSettings::new(http, flavour, vec!["SHOP".into()])).unwrap()
}

/// Bytes a careless multipart encoder would break: line breaks, a would-be delimiter, every byte value.
fn awkward_bytes() -> Vec<u8> {
    let mut bytes = b"--twotrack-boundary-10a\r\n\r\n--\r\n".to_vec();
    bytes.extend((0..=255u8).cycle().take(233));
    bytes
}

#[tokio::test]
async fn a_file_is_uploaded_listed_and_read_back_byte_for_byte_in_both_flavours() {
    for flavour in [Flavour::Cloud, Flavour::DataCenter] {
        let sim = start(flavour).await;
        let c = connector(&sim, flavour);
        assert!(c.attachments("SHOP-1").await.unwrap().is_empty());
        let content = awkward_bytes();
        let made = c.attach("SHOP-1", "dump \"final\".bin", "application/octet-stream", content.clone()).await.unwrap();
        assert_eq!((made.file_name.as_str(), made.size), ("dump \"final\".bin", content.len() as u64), "{flavour:?}");
        assert_eq!(sim.files("SHOP-1"), vec![("dump \"final\".bin".to_string(), content.clone())], "{flavour:?}");

        let listed = c.attachments("SHOP-1").await.unwrap();
        assert_eq!(listed.len(), 1, "{flavour:?}: {listed:?}");
        assert_eq!(
            (listed[0].id.as_str(), listed[0].mime_type.as_deref()),
            (made.id.as_str(), Some("application/octet-stream"))
        );
        assert!(listed[0].url.as_deref().is_some_and(|u| u.contains(&format!("/attachment/content/{}", made.id))));
        assert_eq!(sim.issue("SHOP-1").unwrap()["fields"]["attachment"][0]["filename"], "dump \"final\".bin");

        let whole = c.download("SHOP-1", &listed[0], content.len() as u64).await.unwrap();
        assert_eq!(whole, Download::Complete(content.clone()), "{flavour:?}");
        let cut = c.download("SHOP-1", &listed[0], content.len() as u64 - 1).await.unwrap();
        assert_eq!(cut, Download::TooLarge, "{flavour:?}: one byte over the limit is not read");
    }
}

#[tokio::test]
async fn an_upload_without_the_xsrf_header_is_refused_as_jira_does() {
    let sim = start(Flavour::Cloud).await;
    let body = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhi\r\n--b--\r\n";
    let post = |token: Option<&'static str>| {
        let mut request = reqwest::Client::new()
            .post(format!("{}/rest/api/3/issue/SHOP-1/attachments", sim.base_url()))
            .basic_auth("twotrack@example.com", Some("sim-token"))
            .header("Content-Type", "multipart/form-data; boundary=b")
            .body(body);
        if let Some(token) = token {
            request = request.header("X-Atlassian-Token", token);
        }
        request.send()
    };
    let refused = post(None).await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.text().await.unwrap(), "XSRF check failed");
    assert!(sim.files("SHOP-1").is_empty());
    let accepted = post(Some("no-check")).await.unwrap();
    assert_eq!(accepted.status(), 200);
    let made: serde_json::Value = accepted.json().await.unwrap();
    assert_eq!((made[0]["filename"].as_str(), made[0]["size"].as_u64()), (Some("a.txt"), Some(2)));
}

#[tokio::test]
async fn the_attachments_of_an_unknown_issue_are_not_found() {
    let sim = start(Flavour::Cloud).await;
    let c = connector(&sim, Flavour::Cloud);
    assert!(matches!(c.attachments("SHOP-99").await, Err(ConnectorError::NotFound { .. })));
    assert!(matches!(
        c.attach("SHOP-99", "a.txt", "text/plain", b"x".to_vec()).await,
        Err(ConnectorError::NotFound { .. })
    ));
}
