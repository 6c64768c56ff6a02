//! A Jira Service Management project as the service queue, against the simulator (Cloud and Data
//! Center): incidents and requests are created with priority, impact, urgency and their queue as a
//! component, and read back as such.

use std::time::Duration;

use twotrack_api::connector::{FieldUpdate, NewItem, OriginRef};
use twotrack_api::http::HttpSettings;
use twotrack_api::secret::Auth;
use twotrack_api::{Connector, ConnectorError, Kind};
use twotrack_jira::{Flavour, JiraConnector, JiraSettings, JiraWrite};
use twotrack_sim::jira::{self as sim, IMPACT_FIELD, JiraOptions, JiraSim, ServiceProject, URGENCY_FIELD};

async fn service_site(flavour: Flavour) -> (JiraSim, JiraConnector) {
    let sim_flavour = match flavour {
        Flavour::Cloud => sim::Flavour::Cloud,
        Flavour::DataCenter => sim::Flavour::DataCenter,
    };
    let opts = JiraOptions {
        flavour: sim_flavour,
        service_projects: vec![ServiceProject::it_service_desk()],
        ..JiraOptions::default()
    };
    let sim = JiraSim::start(opts).await.unwrap();
    let auth = match flavour {
        Flavour::Cloud => Auth::Basic { user: "twotrack@example.com".into(), token: "sim-token".into() },
        Flavour::DataCenter => Auth::Bearer { token: "sim-pat".into() },
    };
    let http = HttpSettings {
        per_second: 0.0,
        request_timeout: Duration::from_secs(5),
        ..HttpSettings::new("jira-its", sim.base_url().parse().unwrap(), auth)
    };
    let settings = JiraSettings {
        write: JiraWrite { project: "ITS".into(), ..JiraWrite::default() },
        ..JiraSettings::new(http, flavour, vec!["ITS".into()])
    };
    (sim, JiraConnector::new(settings).unwrap())
}

fn incident(queue: &str, impact: u8, urgency: u8) -> NewItem {
    NewItem {
        kind: Kind::Incident,
        summary: "Checkout is down for everyone".into(),
        description: "Since 09:00 no order goes through.".into(),
        labels: Vec::new(),
        queue: Some(queue.into()),
        impact: Some(impact),
        urgency: Some(urgency),
        priority: None,
        origin: Some(OriginRef {
            tracker: "jira-shop".into(),
            key: "SHOP-7".into(),
            url: "https://x/browse/SHOP-7".into(),
            summary: "Checkout is down".into(),
        }),
        work_note: Some("Priority derived by twotrack.".into()),
        reporter: None,
    }
}

#[tokio::test]
async fn an_incident_gets_priority_impact_urgency_and_its_queue_as_a_component() {
    for flavour in [Flavour::Cloud, Flavour::DataCenter] {
        let (sim, connector) = service_site(flavour).await;
        let created = connector.create(&incident("network operations", 2, 1)).await.unwrap();
        let stored = sim.issue(&created.key).unwrap();
        let fields = &stored["fields"];
        assert_eq!(fields["issuetype"]["name"], "Incident", "{flavour:?}");
        // Impact 2 x urgency 1: ITIL priority 2, Jira's "High".
        assert_eq!(fields["priority"]["name"], "High", "{flavour:?}");
        assert_eq!(fields[IMPACT_FIELD]["value"], "Significant / Large");
        assert_eq!(fields[URGENCY_FIELD]["value"], "Critical");
        assert_eq!(fields["components"][0]["name"], "Network Operations", "the project's spelling");

        let item = connector.get(&created.key).await.unwrap();
        assert_eq!((item.impact, item.urgency), (Some(2), Some(1)), "{flavour:?}");
        assert_eq!(item.queue.as_deref(), Some("Network Operations"));
        assert_eq!(item.priority.as_deref(), Some("High"));
        assert_eq!(item.origin.as_deref(), Some("SHOP-7"));

        let request = NewItem { kind: Kind::Request, ..incident("Identity & Access", 3, 3) };
        let created = connector.create(&request).await.unwrap();
        let item = connector.get(&created.key).await.unwrap();
        assert_eq!(item.filed_type, "Service Request");
        assert_eq!((item.impact, item.urgency, item.priority.as_deref()), (Some(3), Some(3), Some("Lowest")));
        assert_eq!(item.queue.as_deref(), Some("Identity & Access"));

        // A configured matrix's priority wins over the default lookup of impact and urgency.
        let ranked = NewItem { priority: Some(2), ..incident("Identity & Access", 3, 3) };
        let item = connector.get(&connector.create(&ranked).await.unwrap().key).await.unwrap();
        assert_eq!((item.impact, item.urgency, item.priority.as_deref()), (Some(3), Some(3), Some("High")));
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_queue_the_project_has_no_component_for_is_left_out_and_said_in_the_note() {
    let (sim, connector) = service_site(Flavour::Cloud).await;
    let created = connector.create(&incident("Payments", 1, 1)).await.unwrap();
    let item = connector.get(&created.key).await.unwrap();
    assert_eq!(item.queue, None);
    assert_eq!(item.priority.as_deref(), Some("Highest"));
    let notes = connector.notes(&created.key).await.unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].starts_with("Priority derived by twotrack."), "{notes:?}");
    assert!(notes[0].contains("\"Payments\": project ITS has no component of that name"), "{notes:?}");
    // One create: nothing was sent twice to get past the missing component.
    let posts = sim.log().entries().iter().filter(|e| e.method == "POST" && e.path == "/rest/api/3/issue").count();
    assert_eq!(posts, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_site_without_the_itsm_fields_still_gets_priority_and_component() {
    // Impact and urgency fields configured under names the site has none of: the connector finds them
    // missing in `GET /field`, leaves them out, and says so in the work note.
    let (sim, base) = service_site(Flavour::Cloud).await;
    drop(base);
    let auth = Auth::Basic { user: "twotrack@example.com".into(), token: "sim-token".into() };
    let http = HttpSettings { per_second: 0.0, ..HttpSettings::new("jira-its", sim.base_url().parse().unwrap(), auth) };
    let write = JiraWrite {
        project: "ITS".into(),
        impact_field: "Business Impact".into(),
        urgency_field: "Time Pressure".into(),
        ..JiraWrite::default()
    };
    let connector =
        JiraConnector::new(JiraSettings { write, ..JiraSettings::new(http, Flavour::Cloud, vec!["ITS".into()]) })
            .unwrap();
    let created = connector.create(&incident("Database Administration", 1, 2)).await.unwrap();
    let fields = sim.issue(&created.key).unwrap()["fields"].clone();
    assert_eq!(fields["priority"]["name"], "High");
    assert_eq!(fields[IMPACT_FIELD], serde_json::Value::Null);
    assert_eq!(fields["components"][0]["name"], "Database Administration");
    let notes = connector.notes(&created.key).await.unwrap();
    assert!(notes[0].contains("the site has no field named \"Business Impact\""), "{notes:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_misrouted_misprioritised_incident_is_corrected_in_one_edit() {
    for flavour in [Flavour::Cloud, Flavour::DataCenter] {
        let (sim, connector) = service_site(flavour).await;
        let created = connector.create(&incident("Identity & Access", 3, 3)).await.unwrap();
        let update = FieldUpdate {
            queue: Some("database administration".into()),
            impact: Some(1),
            urgency: None,
            priority: None,
            note: Some("Rerouted by twotrack.".into()),
        };
        connector.update_fields(&created.key, &update).await.unwrap();
        let item = connector.get(&created.key).await.unwrap();
        assert_eq!(item.queue.as_deref(), Some("Database Administration"), "{flavour:?}");
        // Impact 1 with the urgency it had (3): ITIL priority 3.
        assert_eq!((item.impact, item.urgency, item.priority.as_deref()), (Some(1), Some(3), Some("Medium")));
        assert_eq!(connector.notes(&created.key).await.unwrap().last().unwrap(), "Rerouted by twotrack.");
        // A queue the project has no component for is refused, and nothing is written.
        let edits = || sim.log().entries().iter().filter(|e| e.method == "PUT").count();
        let before = edits();
        let payments = FieldUpdate { queue: Some("Payments".into()), ..FieldUpdate::default() };
        let error = connector.update_fields(&created.key, &payments).await.unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Invalid { message, .. } if message.contains("no component")),
            "{error}"
        );
        assert_eq!(edits(), before);
        sim.shutdown().await;
    }
}
